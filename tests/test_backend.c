/* Evaluation back ends (backend.h): user back ends that hand results back
 * out of order (inline, last in first out; and on a thread of their own)
 * give the thread pool's run bit for bit; failed evaluations pass through;
 * a back end that fails mid-generation leaves a checkpoint from which a
 * resumed run ends as the uninterrupted one; misuse is refused. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evoopt/backend.h"
#include "evoopt/population.h"
#include "pop_testlib.h"

/* ---- a pure fitness ------------------------------------------------------ */

static double gene(const evo_genome *g, evo_gene which) {
  double v;
  ck_assert_int_eq(evo_genome_get(g, which, &v), EVO_OK);
  return v;
}

/* A smooth function of the genes and the seed; genomes with four terms
 * fail (a library call that fails), as a diverged run would not. */
static int fitness(void *user, const evo_genome *g, uint64_t seed,
                   evo_report *report) {
  (void)user;
  if (evo_genome_term_count(g) == 4) {
    evo_genome *none = NULL;
    return evo_genome_preset(&none, "four-terms");
  }
  double lr = gene(g, EVO_GENE_LR_LOG10), b1 = gene(g, EVO_GENE_BETA1);
  double s = 0.0;
  for (size_t i = 0; i < evo_genome_term_count(g); i++) {
    evo_term t;
    double a;
    ck_assert_int_eq(evo_genome_get_term(g, i, &t, &a), EVO_OK);
    s += a * (t == EVO_TERM_ADAM ? 1.0 : -0.2);
  }
  double f = 0.9 - 0.05 * (lr + 2.5) * (lr + 2.5) -
             0.3 * (b1 - 0.85) * (b1 - 0.85) - 0.02 * (s - 2.0) * (s - 2.0) +
             1e-6 * (double)(seed % 97);
  ck_assert_int_eq(evo_report_add_task(report, "x", f + 0.01), EVO_OK);
  ck_assert_int_eq(evo_report_add_task(report, "y", f - 0.01), EVO_OK);
  return evo_report_set_fitness(report, f);
}

/* ---- a last-in-first-out back end ---------------------------------------- */

#define MAX_JOBS 64

typedef struct lifo_job {
  uint64_t id, seed;
  const evo_genome *g;
} lifo_job;

/* Runs the newest job first. Inline (in collect) or on its own thread. */
typedef struct lifo {
  lifo_job stack[MAX_JOBS];
  size_t n;
  /* results of the thread, oldest first */
  lifo_job done[MAX_JOBS];
  evo_report *done_rep[MAX_JOBS];
  int done_status[MAX_JOBS];
  size_t n_done, head_done;
  size_t submits, collects, closes;
  size_t fail_submit_at, fail_collect_at; /* 1-based; 0: never */
  int bad_job;                            /* hand back a job never given */
  int threaded;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int quit;
} lifo;

static int lifo_submit(void *user, uint64_t job, const evo_genome *g,
                       uint64_t seed) {
  lifo *b = user;
  pthread_mutex_lock(&b->mu);
  b->submits++;
  if (b->fail_submit_at != 0 && b->submits == b->fail_submit_at) {
    pthread_mutex_unlock(&b->mu);
    return EVO_EIO; /* no message set: the population names the status */
  }
  ck_assert_uint_lt(b->n, MAX_JOBS);
  b->stack[b->n++] = (lifo_job){job, seed, g};
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  return EVO_OK;
}

static void run_into(const lifo_job *j, evo_report *rep, int *status) {
  evo_report_clear(rep);
  *status = fitness(NULL, j->g, j->seed, rep);
}

static void *lifo_thread(void *arg) {
  lifo *b = arg;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    while (!b->quit && b->n == 0)
      pthread_cond_wait(&b->cv, &b->mu);
    if (b->quit)
      break;
    lifo_job j = b->stack[--b->n];
    pthread_mutex_unlock(&b->mu);
    evo_report *rep = NULL;
    int status;
    ck_assert_int_eq(evo_report_new(&rep), EVO_OK);
    run_into(&j, rep, &status);
    pthread_mutex_lock(&b->mu);
    size_t at = (b->head_done + b->n_done++) % MAX_JOBS;
    b->done[at] = j;
    b->done_rep[at] = rep;
    b->done_status[at] = status;
    pthread_cond_broadcast(&b->cv);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

/* Copies a report through the public API, as a user back end would. */
static void copy_report(evo_report *dst, const evo_report *src) {
  double f;
  ck_assert_int_eq(evo_report_fitness(src, &f), EVO_OK);
  for (size_t i = 0; i < evo_report_task_count(src); i++) {
    const char *name;
    double t;
    ck_assert_int_eq(evo_report_task(src, i, &name, &t), EVO_OK);
    ck_assert_int_eq(evo_report_add_task(dst, name, t), EVO_OK);
  }
  if (isfinite(f))
    ck_assert_int_eq(evo_report_set_fitness(dst, f), EVO_OK);
}

static int lifo_collect(void *user, uint64_t *job, evo_report *report,
                        int *status, char *message, size_t cap) {
  lifo *b = user;
  ck_assert_uint_ge(cap, EVO_BACKEND_MESSAGE_CAP);
  ck_assert_str_eq(message, "");
  pthread_mutex_lock(&b->mu);
  b->collects++;
  if (b->fail_collect_at != 0 && b->collects == b->fail_collect_at) {
    b->n = 0; /* the back end forgets what it was given */
    pthread_mutex_unlock(&b->mu);
    return EVO_EIO;
  }
  if (b->bad_job) {
    pthread_mutex_unlock(&b->mu);
    *job = 1000;
    return EVO_OK;
  }
  if (!b->threaded) {
    ck_assert_uint_gt(b->n, 0);
    lifo_job j = b->stack[--b->n];
    pthread_mutex_unlock(&b->mu);
    *job = j.id;
    evo_report *rep = NULL;
    ck_assert_int_eq(evo_report_new(&rep), EVO_OK);
    run_into(&j, rep, status);
    copy_report(report, rep);
    evo_report_free(rep);
  } else {
    while (b->n_done == 0)
      pthread_cond_wait(&b->cv, &b->mu);
    size_t at = b->head_done;
    b->head_done = (b->head_done + 1) % MAX_JOBS;
    b->n_done--;
    pthread_mutex_unlock(&b->mu);
    *job = b->done[at].id;
    *status = b->done_status[at];
    copy_report(report, b->done_rep[at]);
    evo_report_free(b->done_rep[at]);
  }
  if (*status != EVO_OK)
    snprintf(message, cap, "remote: %s", evo_last_error());
  return EVO_OK;
}

static void lifo_close(void *user) {
  lifo *b = user;
  b->closes++;
  if (!b->threaded)
    return;
  pthread_mutex_lock(&b->mu);
  b->quit = 1;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
  pthread_join(b->thread, NULL);
  for (; b->n_done > 0; b->n_done--) { /* results never collected */
    evo_report_free(b->done_rep[b->head_done]);
    b->head_done = (b->head_done + 1) % MAX_JOBS;
  }
}

/* A LIFO back end with @p slots; the caller frees it (then @p b is
 * closed). */
static evo_backend *lifo_new(lifo *b, size_t slots, int threaded) {
  memset(b, 0, sizeof *b);
  b->threaded = threaded;
  ck_assert_int_eq(pthread_mutex_init(&b->mu, NULL), 0);
  ck_assert_int_eq(pthread_cond_init(&b->cv, NULL), 0);
  if (threaded)
    ck_assert_int_eq(pthread_create(&b->thread, NULL, lifo_thread, b), 0);
  evo_backend *be = NULL;
  ck_assert_int_eq(
      evo_backend_new(&be, slots, lifo_submit, lifo_collect, lifo_close, b),
      EVO_OK);
  ck_assert_uint_eq(evo_backend_slots(be), slots);
  return be;
}

static void lifo_free(evo_backend *be, lifo *b) {
  evo_backend_free(be);
  ck_assert_uint_eq(b->closes, 1);
  pthread_cond_destroy(&b->cv);
  pthread_mutex_destroy(&b->mu);
}

/* ---- runs ---------------------------------------------------------------- */

static evo_population *make_pop(int64_t cache) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  const struct {
    evo_pop_setting s;
    int64_t v;
  } set[] = {{EVO_POP_SIZE, 13},     {EVO_POP_GENERATIONS, 5},
             {EVO_POP_ELITES, 2},    {EVO_POP_TOURNAMENT, 3},
             {EVO_POP_RUN_SEED, 11}, {EVO_POP_HALL_OF_FAME, 50},
             {EVO_POP_CACHE, cache}};
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
    ck_assert_int_eq(evo_population_set(pop, set[i].s, set[i].v), EVO_OK);
  return pop;
}

static evo_population *thread_pool_run(int64_t cache, int64_t workers) {
  evo_population *pop = make_pop(cache);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_WORKERS, workers), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, fitness, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  return pop;
}

START_TEST(test_out_of_order_identical) {
  for (int64_t cache = 0; cache <= 2; cache += 2) {
    evo_population *ref = thread_pool_run(cache, 1);
    for (int threaded = 0; threaded <= 1; threaded++) {
      for (size_t slots = 1; slots <= 7; slots += 3) {
        lifo b;
        evo_backend *be = lifo_new(&b, slots, threaded);
        evo_population *pop = make_pop(cache); /* no fitness callback */
        ck_assert_int_eq(evo_population_set_backend(pop, be), EVO_OK);
        ck_assert_int_eq(evo_population_run(pop), EVO_OK);
        pt_assert_same_run(ref, pop, true);
        ck_assert_uint_eq(b.submits, b.collects);
        evo_population_free(pop);
        lifo_free(be, &b);
      }
    }
    /* the thread pool as a back end, shared by two populations in turn */
    evo_backend *pool = NULL;
    ck_assert_int_eq(evo_backend_threads_new(&pool, fitness, NULL, 3), EVO_OK);
    ck_assert_uint_eq(evo_backend_slots(pool), 3);
    for (int k = 0; k < 2; k++) {
      evo_population *pop = make_pop(cache);
      ck_assert_int_eq(evo_population_set_backend(pop, pool), EVO_OK);
      ck_assert_int_eq(evo_population_run(pop), EVO_OK);
      pt_assert_same_run(ref, pop, true);
      evo_population_free(pop);
    }
    evo_backend_free(pool);
    evo_population *four = thread_pool_run(cache, 4);
    pt_assert_same_run(ref, four, true);
    evo_population_free(four);
    evo_population_free(ref);
  }
}
END_TEST

/* ---- failures -------------------------------------------------------------
 */

/* A back end whose evaluations report outcomes by term count: 1 term
 * EVO_EDIVERGED with a message, 2 terms a positive status, else success
 * with fitness 0.25 · terms. */
static int odd_collect(void *user, uint64_t *job, evo_report *report,
                       int *status, char *message, size_t cap) {
  lifo *b = user;
  lifo_job j = b->stack[--b->n];
  *job = j.id;
  size_t k = evo_genome_term_count(j.g);
  *status = k == 1 ? EVO_EDIVERGED : k == 2 ? 7 : EVO_OK;
  if (k == 1)
    snprintf(message, cap, "rank %d lost its GPU", 3);
  else if (k > 2)
    ck_assert_int_eq(evo_report_set_fitness(report, 0.25 * (double)k), EVO_OK);
  return EVO_OK;
}

START_TEST(test_failed_evaluations) {
  lifo b;
  evo_backend *be = lifo_new(&b, 2, 0);
  evo_backend *odd = NULL;
  ck_assert_int_eq(evo_backend_new(&odd, 2, lifo_submit, odd_collect, NULL, &b),
                   EVO_OK);
  evo_population *pop = make_pop(0);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_GENERATIONS, 1), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, 40), EVO_OK);
  ck_assert_int_eq(evo_population_set_backend(pop, odd), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  size_t seen[5] = {0};
  for (size_t i = 0; i < evo_population_size(pop); i++) {
    const evo_genome *g;
    double f;
    int status;
    const char *msg;
    ck_assert_int_eq(evo_population_individual(pop, i, &g, &f), EVO_OK);
    ck_assert_int_eq(evo_population_individual_error(pop, i, &status, &msg),
                     EVO_OK);
    size_t k = evo_genome_term_count(g);
    seen[k]++;
    if (k == 1) {
      ck_assert_int_eq(status, EVO_EDIVERGED);
      ck_assert_str_eq(msg, "rank 3 lost its GPU");
      ck_assert(f == -1.0);
    } else if (k == 2) {
      ck_assert_int_eq(status, EVO_ECALLBACK); /* a positive status */
      ck_assert(f == -1.0);
    } else {
      ck_assert_int_eq(status, EVO_OK);
      ck_assert_str_eq(msg, "");
      ck_assert(f == 0.25 * (double)k);
    }
  }
  ck_assert_msg(seen[1] > 0 && seen[2] > 0 && seen[3] + seen[4] > 0,
                "terms seen: %zu %zu %zu %zu", seen[1], seen[2], seen[3],
                seen[4]);
  evo_population_free(pop);
  evo_backend_free(odd);
  lifo_free(be, &b);
}
END_TEST

/* Runs with a back end that fails at its @p at-th submit or collect, then
 * resumes from the checkpoint with the thread pool and finishes. */
static void fail_and_resume(const evo_population *ref, int64_t cache,
                            int on_collect, size_t at, size_t slots) {
  pt_tmp t;
  pt_tmp_make(&t);
  lifo b;
  evo_backend *be = lifo_new(&b, slots, on_collect && at % 2);
  if (on_collect)
    b.fail_collect_at = at;
  else
    b.fail_submit_at = at;
  evo_population *pop = make_pop(cache);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, t.file, "be"), EVO_OK);
  ck_assert_int_eq(evo_population_set_backend(pop, be), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_EIO);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "evaluation back end"));
  ck_assert_ptr_nonnull(
      strstr(evo_last_error(), on_collect ? "collect" : "submit"));
  size_t done = evo_population_evaluated(pop);
  size_t gen = evo_population_generation(pop);
  evo_population_free(pop);
  lifo_free(be, &b);
  ck_assert_int_eq(evo_population_resume(&pop, t.file, "be"), EVO_OK);
  ck_assert_uint_eq(evo_population_evaluated(pop), done);
  ck_assert_uint_eq(evo_population_generation(pop), gen);
  ck_assert_int_eq(evo_population_set_fitness(pop, fitness, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_WORKERS, 2), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  pt_assert_same_run(ref, pop, true);
  evo_population_free(pop);
  pt_tmp_remove(&t);
}

START_TEST(test_failure_then_resume) {
  for (int64_t cache = 0; cache <= 2; cache += 2) {
    evo_population *ref = thread_pool_run(cache, 1);
    /* at the first collect (nothing recorded yet: the checkpoint is
     * written anyway), mid-generation, in a later generation */
    const size_t at[] = {1, 6, 31};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++)
      fail_and_resume(ref, cache, (int)(i + (size_t)cache / 2) % 2, at[i],
                      3 + i);
    evo_population_free(ref);
  }
}
END_TEST

/* A population (no cache) on a new LIFO back end. */
static evo_population *pop_on_lifo(lifo *b, evo_backend **be, size_t slots,
                                   int threaded) {
  *be = lifo_new(b, slots, threaded);
  evo_population *pop = make_pop(0);
  ck_assert_int_eq(evo_population_set_backend(pop, *be), EVO_OK);
  return pop;
}

START_TEST(test_submit_failure_collects_in_flight) {
  /* The jobs taken before a submit failed are collected and recorded. */
  lifo b;
  evo_backend *be;
  evo_population *pop = pop_on_lifo(&b, &be, 4, 0);
  b.fail_submit_at = 3;
  ck_assert_int_eq(evo_population_step(pop), EVO_EIO);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "EVO_EIO")); /* no message
                                                                 given */
  ck_assert_uint_eq(b.collects, 2);
  ck_assert_uint_eq(evo_population_evaluated(pop), 2);
  /* the back end works again: the step goes on where it stopped */
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  evo_population *ref = thread_pool_run(0, 1);
  pt_assert_same_run(ref, pop, true);
  evo_population_free(ref);
  evo_population_free(pop);
  lifo_free(be, &b);
}
END_TEST

START_TEST(test_unknown_job_refused) {
  lifo b;
  evo_backend *be;
  evo_population *pop = pop_on_lifo(&b, &be, 2, 0);
  b.bad_job = 1;
  ck_assert_int_eq(evo_population_step(pop), EVO_ECALLBACK);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "job 1000"));
  ck_assert_uint_eq(evo_population_evaluated(pop), 0);
  evo_population_free(pop);
  lifo_free(be, &b);
}
END_TEST

/* Stops at the first evaluation event. */
static int stop_first(void *user, evo_event event, const evo_population *pop,
                      size_t generation, size_t index) {
  size_t *events = user;
  (void)pop;
  (void)generation;
  (void)index;
  if (event == EVO_EVENT_EVALUATION)
    ++*events;
  return 1;
}

START_TEST(test_cancel_with_backend) {
  /* After a stop nothing is submitted; the jobs in flight are collected,
   * recorded and checkpointed, without events. */
  lifo b;
  evo_backend *be;
  evo_population *pop = pop_on_lifo(&b, &be, 5, 1);
  size_t events = 0;
  ck_assert_int_eq(evo_population_set_progress(pop, stop_first, &events),
                   EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_ECANCELED);
  ck_assert_uint_eq(events, 1);
  ck_assert_uint_eq(b.submits, 5);
  ck_assert_uint_eq(b.collects, 5);
  ck_assert_uint_eq(evo_population_evaluated(pop), 5);
  evo_population_free(pop);
  lifo_free(be, &b);
}
END_TEST

/* ---- the API ------------------------------------------------------------- */

static int never_submit(void *user, uint64_t job, const evo_genome *g,
                        uint64_t seed) {
  (void)user;
  (void)job;
  (void)g;
  (void)seed;
  return EVO_OK;
}

static int never_collect(void *user, uint64_t *job, evo_report *report,
                         int *status, char *message, size_t cap) {
  (void)user;
  (void)job;
  (void)report;
  (void)status;
  (void)message;
  (void)cap;
  return EVO_EIO;
}

static void count_close(void *user) {
  ++*(int *)user;
}

START_TEST(test_api) {
  evo_backend *be = (evo_backend *)&be;
  ck_assert_int_eq(evo_backend_new(&be, 1, NULL, never_collect, NULL, NULL),
                   EVO_EINVAL);
  ck_assert_ptr_null(be);
  ck_assert_int_eq(evo_backend_new(&be, 1, never_submit, NULL, NULL, NULL),
                   EVO_EINVAL);
  ck_assert_int_eq(
      evo_backend_new(NULL, 1, never_submit, never_collect, NULL, NULL),
      EVO_EINVAL);
  ck_assert_int_eq(
      evo_backend_new(&be, 0, never_submit, never_collect, NULL, NULL),
      EVO_ERANGE);
  ck_assert_int_eq(evo_backend_new(&be, ((size_t)1 << 20) + 1, never_submit,
                                   never_collect, NULL, NULL),
                   EVO_ERANGE);
  int closed = 0;
  ck_assert_int_eq(evo_backend_new(&be, 1, never_submit, never_collect,
                                   count_close, &closed),
                   EVO_OK);
  evo_backend_free(be);
  ck_assert_int_eq(closed, 1);
  evo_backend_free(NULL);
  ck_assert_uint_eq(evo_backend_slots(NULL), 0);
  ck_assert_int_eq(evo_backend_threads_new(&be, NULL, NULL, 1), EVO_EINVAL);
  ck_assert_int_eq(evo_backend_threads_new(&be, fitness, NULL, 0), EVO_ERANGE);
  ck_assert_int_eq(evo_backend_threads_new(&be, fitness, NULL, 257),
                   EVO_ERANGE);
  ck_assert_int_eq(evo_backend_threads_new(NULL, fitness, NULL, 2), EVO_EINVAL);
  /* a population needs a fitness callback or a back end */
  evo_population *pop = make_pop(0);
  ck_assert_int_eq(evo_population_step(pop), EVO_ESTATE);
  ck_assert_int_eq(
      evo_backend_new(&be, 1, never_submit, never_collect, NULL, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_set_backend(pop, be), EVO_OK);
  ck_assert_int_eq(evo_population_set_backend(pop, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_ESTATE);
  ck_assert_int_eq(evo_population_set_backend(NULL, be), EVO_EINVAL);
  /* the broken back end: its status, the step stops */
  ck_assert_int_eq(evo_population_set_backend(pop, be), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_EIO);
  ck_assert_uint_eq(evo_population_evaluated(pop), 0);
  evo_population_free(pop);
  evo_backend_free(be);
}
END_TEST

static Suite *backend_suite(void) {
  Suite *s = suite_create("backend");
  TCase *tc = tcase_create("backend");
  tcase_add_test(tc, test_out_of_order_identical);
  tcase_add_test(tc, test_failed_evaluations);
  tcase_add_test(tc, test_failure_then_resume);
  tcase_add_test(tc, test_submit_failure_collects_in_flight);
  tcase_add_test(tc, test_unknown_job_refused);
  tcase_add_test(tc, test_cancel_with_backend);
  tcase_add_test(tc, test_api);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(backend_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
