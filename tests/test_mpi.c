/* The MPI back end (mpi.h). Built with MPI, it runs under mpirun in one
 * of three modes (the first argument), rank 0 running a Check suite
 * (without forking: MPI does not survive a fork):
 *   (none)  `-np 3`: ranks 1 and 2 serve a pure rung-less fitness written
 *           here, on 2 threads each. Messages carry genomes, rungs, parts
 *           and reports (costs included) bit for bit; a population on MPI
 *           ends as the same population on threads; results driven
 *           through evo_backend_submit() and evo_backend_collect() equal
 *           the fitness computed here; a rung the workers cannot serve
 *           comes back as a failed evaluation saying why; misuse, another
 *           fitness setup and another protocol are refused.
 *   rungs   `-np 2` or 3: the workers serve a pure fitness that takes the
 *           rung and reports a cost; a multi-fidelity population
 *           (EVO_POP_RUNGS = 3) on MPI ends as on threads, and its compute
 *           is the sum of the costs the callback reported; steady-state
 *           evolution with multi-fidelity evaluation on and off ends on
 *           MPI as on threads, checkpoint byte for byte.
 *   parts   `-np 2` or 3: the workers serve an evaluator (the bundled
 *           digits, twice, few steps); evaluations split into (task,
 *           seed) parts give the bits of whole evaluations, on MPI and on
 *           threads, for a multi-fidelity population; a failed part fails
 *           its evaluation with the first failed part's message.
 * Built without MPI, every call must say EVO_EUNSUPPORTED. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common_internal.h"
#include "evoopt/mpi.h"
#include "evoopt/population.h"
#include "pop_testlib.h"

#ifdef EVO_TEST_MPI
#include "dist/mpi_internal.h"
#include "train/report_internal.h"

#define TAG "test_mpi: fitness v1"
#define WORKER_THREADS 2
#define SLOTS (2 * WORKER_THREADS) /* ranks 1 and 2 */

/* ---- a pure fitness, computed alike on every rank ------------------------ */

static double gene(const evo_genome *g, evo_gene which) {
  double v = 0.0;
  evo_genome_get(g, which, &v);
  return v;
}

/* A function of the genes and the seed that takes 0 to 3 ms (so results
 * come back out of order); genomes with four terms fail, with a message.
 * No ck_assert: the workers run it outside the test runner. */
static int fitness(void *user, const evo_genome *g, uint64_t seed,
                   evo_report *report) {
  (void)user;
  double lr = gene(g, EVO_GENE_LR_LOG10), b2 = gene(g, EVO_GENE_BETA2);
  struct timespec nap = {0, (long)(fmod(fabs(lr) * 7919.0, 3.0) * 1e6)};
  nanosleep(&nap, NULL);
  if (evo_genome_term_count(g) == 4)
    return evo_set_error(EVO_ERANGE, "four terms, seed %llu",
                         (unsigned long long)seed);
  double f = sin(lr * 3.1) * 0.3 + 0.5 - (b2 - 0.99) * (b2 - 0.99) +
             1e-7 * (double)(seed % 1009);
  evo_report_add_task(report, "a", f + 1e-3);
  evo_report_add_task(report, "b", f - 1e-3);
  return evo_report_set_fitness(report, f);
}

/* ---- messages
 * ---------------------------------------------------------------- */

static void inbox_from(evo_mpi_inbox *in, const evo_wbuf *w, size_t size) {
  in->data = w->data;
  in->size = size;
  in->source = 1;
}

START_TEST(test_job_round_trip) {
  /* Genes with no short decimal form must come back with the same bits. */
  evo_genome *g = NULL, *back = NULL;
  ck_assert_int_eq(evo_genome_random(&g, 12345), EVO_OK);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_BETA1, 0.1 + 0.2), EVO_OK);
  evo_wbuf w = {0};
  evo_mpi_job job = {77, UINT64_MAX - 3, 5, 123456};
  ck_assert_int_eq(evo_mpi_put_job(&w, &job, g), EVO_OK);
  evo_mpi_inbox in = {0};
  inbox_from(&in, &w, w.size);
  evo_mpi_job got = {0};
  char *json = NULL;
  ck_assert_int_eq(evo_mpi_get_job(&in, &got, &json), EVO_OK);
  ck_assert_uint_eq(got.ticket, 77);
  ck_assert(got.seed == UINT64_MAX - 3);
  ck_assert_uint_eq(got.rung, 5);
  ck_assert_uint_eq(got.part, 123456);
  ck_assert_int_eq(evo_genome_from_json(&back, json), EVO_OK);
  ck_assert_int_eq(evo_genome_equal(g, back), 1);
  ck_assert(pt_same_bits(gene(back, EVO_GENE_BETA1), 0.1 + 0.2));
  free(json);
  /* Every shorter message is refused. */
  for (size_t n = 0; n < w.size; n++) {
    inbox_from(&in, &w, n);
    ck_assert_int_eq(evo_mpi_get_job(&in, &got, &json), EVO_EIO);
    ck_assert_ptr_null(json);
  }
  evo_wbuf_free(&w);
  evo_genome_free(g);
  evo_genome_free(back);
}
END_TEST

START_TEST(test_result_round_trip) {
  evo_report rep, back;
  evo_report_clear(&rep);
  ck_assert_int_eq(evo_report_add_task(&rep, "fashion_mnist", 1.0 / 3.0),
                   EVO_OK);
  ck_assert_int_eq(evo_report_add_task(&rep, "mnist", -0.0), EVO_OK);
  rep.fitness = nextafter(0.7, 1.0);
  ck_assert_int_eq(evo_report_set_cost(&rep, nextafter(255.0, 0.0)), EVO_OK);
  evo_wbuf w = {0};
  evo_mpi_put_result(&w, 9, EVO_EDIVERGED, &rep, "lost at step 12");
  evo_mpi_inbox in = {0};
  inbox_from(&in, &w, w.size);
  uint64_t ticket = 0;
  int status = 0;
  char message[EVO_BACKEND_MESSAGE_CAP];
  ck_assert_int_eq(
      evo_mpi_get_result(&in, &ticket, &status, &back, message, sizeof message),
      EVO_OK);
  ck_assert_uint_eq(ticket, 9);
  ck_assert_int_eq(status, EVO_EDIVERGED);
  ck_assert_str_eq(message, "lost at step 12");
  pt_assert_same_report(&rep, &back);
  ck_assert(pt_same_bits(back.task_fitness[1], -0.0));
  double cost = 0.0;
  ck_assert_int_eq(evo_report_cost(&back, &cost), EVO_OK);
  ck_assert(pt_same_bits(cost, nextafter(255.0, 0.0)));
  /* Layout: u64 ticket, u32 status, f64 fitness, f64 cost, u32 tasks. A
   * negative cost and a garbled task count are refused, not trusted. */
  const double negative = -1.0;
  memcpy(w.data + 8 + 4 + 8, &negative, sizeof negative); /* little-endian */
  ck_assert_int_eq(
      evo_mpi_get_result(&in, &ticket, &status, &back, message, sizeof message),
      EVO_EIO);
  w.size = 0;
  evo_mpi_put_result(&w, 9, EVO_OK, &rep, "");
  inbox_from(&in, &w, w.size);
  w.data[8 + 4 + 8 + 8] = 0xff;
  ck_assert_int_eq(
      evo_mpi_get_result(&in, &ticket, &status, &back, message, sizeof message),
      EVO_EIO);
  evo_wbuf_free(&w);
}
END_TEST

START_TEST(test_hello_protocol) {
  evo_wbuf w = {0};
  evo_mpi_put_hello(&w, 3, "setup", EVO_MPI_SERVES_PARTS);
  evo_mpi_inbox in = {0};
  inbox_from(&in, &w, w.size);
  uint32_t protocol = 0, threads = 0, serves = 0;
  char *tag = NULL;
  ck_assert_int_eq(evo_mpi_get_hello(&in, &protocol, &threads, &tag, &serves),
                   EVO_OK);
  ck_assert_uint_eq(protocol, 2);
  ck_assert_uint_eq(threads, 3);
  ck_assert_str_eq(tag, "setup");
  ck_assert_uint_eq(serves, EVO_MPI_SERVES_PARTS);
  free(tag);
  /* A protocol-1 HELLO (u32 1, u32 threads, str tag: no serves) is read as
   * far as its protocol, so that rank 0 can say which it speaks. */
  evo_wbuf old = {0};
  evo_wbuf_u32(&old, 1);
  evo_wbuf_u32(&old, 2);
  evo_wbuf_str(&old, "setup");
  inbox_from(&in, &old, old.size);
  ck_assert_int_eq(evo_mpi_get_hello(&in, &protocol, &threads, &tag, &serves),
                   EVO_OK);
  ck_assert_uint_eq(protocol, 1);
  ck_assert_uint_eq(threads, 0);
  ck_assert_ptr_null(tag);
  /* A protocol-2 HELLO cut short is malformed. */
  inbox_from(&in, &w, w.size - 1);
  ck_assert_int_eq(evo_mpi_get_hello(&in, &protocol, &threads, &tag, &serves),
                   EVO_EIO);
  ck_assert_ptr_null(tag);
  evo_wbuf_free(&w);
  evo_wbuf_free(&old);
}
END_TEST

/* ---- the back end
 * ------------------------------------------------------------ */

/* A population of @p size, @p generations and @p elites, run seed @p seed,
 * without a fitness yet. */
static evo_population *population(int64_t size, int64_t generations,
                                  int64_t elites, uint64_t seed) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, size), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_GENERATIONS, generations),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_ELITES, elites), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_RUN_SEED, (int64_t)seed),
                   EVO_OK);
  return pop;
}

static evo_population *small_population(uint64_t seed) {
  evo_population *pop = population(12, 4, 2, seed);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_CACHE, 2), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, fitness, NULL), EVO_OK);
  return pop;
}

START_TEST(test_population_as_threads) {
  evo_backend *b = NULL;
  ck_assert_int_eq(evo_backend_mpi_new(&b, 60.0, TAG), EVO_OK);
  ck_assert_uint_eq(evo_backend_slots(b), SLOTS);
  for (uint64_t seed = 1; seed <= 3; seed++) {
    evo_population *on_mpi = small_population(seed);
    evo_population *on_threads = small_population(seed);
    ck_assert_int_eq(evo_population_set(on_threads, EVO_POP_WORKERS, 3),
                     EVO_OK);
    ck_assert_int_eq(evo_population_set_backend(on_mpi, b), EVO_OK);
    ck_assert_int_eq(evo_population_run(on_mpi), EVO_OK);
    ck_assert_int_eq(evo_population_run(on_threads), EVO_OK);
    pt_assert_same_run(on_mpi, on_threads, true);
    evo_population_free(on_mpi);
    evo_population_free(on_threads);
  }
  evo_backend_free(b);
}
END_TEST

/* Submits @p n random genomes (some with four terms) and collects them:
 * each result must be the fitness computed here, bit for bit. */
static void drive(evo_backend *b, size_t n, uint64_t salt) {
  evo_genome *g[SLOTS] = {NULL};
  bool seen[SLOTS] = {false};
  for (size_t i = 0; i < n; i++) {
    ck_assert_int_eq(evo_genome_random(&g[i], salt * 100 + i), EVO_OK);
    ck_assert_int_eq(evo_backend_submit(b, 10 + i, g[i], salt + i), EVO_OK);
  }
  char message[EVO_BACKEND_MESSAGE_CAP];
  evo_report *got = NULL, *want = NULL;
  ck_assert_int_eq(evo_report_new(&got), EVO_OK);
  ck_assert_int_eq(evo_report_new(&want), EVO_OK);
  for (size_t k = 0; k < n; k++) {
    uint64_t job = 0;
    int status = 1;
    ck_assert_int_eq(
        evo_backend_collect(b, &job, got, &status, message, sizeof message),
        EVO_OK);
    ck_assert(job >= 10 && job < 10 + n && !seen[job - 10]);
    size_t i = (size_t)(job - 10);
    seen[i] = true;
    evo_report_clear(want);
    int expect = fitness(NULL, g[i], salt + i, want);
    ck_assert_int_eq(status, expect);
    if (expect == EVO_OK)
      pt_assert_same_report(got, want);
    else
      ck_assert_ptr_nonnull(strstr(message, "four terms"));
  }
  for (size_t i = 0; i < n; i++)
    evo_genome_free(g[i]);
  evo_report_free(got);
  evo_report_free(want);
}

START_TEST(test_submit_collect) {
  evo_backend *b = NULL;
  ck_assert_int_eq(evo_backend_mpi_new(&b, 0.0, TAG), EVO_OK);
  for (uint64_t salt = 1; salt <= 20; salt++)
    drive(b, 1 + salt % SLOTS, salt);
  evo_backend_free(b);
}
END_TEST

/* Workers started with evo_mpi_worker_run() serve rung 0 only: another
 * rung comes back failed, saying why; the split back end refuses them. */
START_TEST(test_rungs_refused) {
  evo_backend *b = NULL;
  ck_assert_int_eq(evo_backend_mpi_new(&b, 0.0, TAG), EVO_OK);
  ck_assert_int_eq(evo_backend_has_rungs(b), 1);
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, "adam"), EVO_OK);
  evo_report *rep = NULL, *want = NULL;
  ck_assert_int_eq(evo_report_new(&rep), EVO_OK);
  ck_assert_int_eq(evo_report_new(&want), EVO_OK);
  char message[EVO_BACKEND_MESSAGE_CAP] = "";
  uint64_t job = 0;
  int status = EVO_OK;
  ck_assert_int_eq(evo_backend_submit_rung(b, 5, g, 3, 2), EVO_OK);
  ck_assert_int_eq(
      evo_backend_collect(b, &job, rep, &status, message, sizeof message),
      EVO_OK);
  ck_assert_uint_eq(job, 5);
  ck_assert_int_eq(status, EVO_EUNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(message, "evo_mpi_worker_run_rung"));
  ck_assert_ptr_nonnull(strstr(message, "rung 2"));
  /* Rung 0 still works, with the fitness computed here. */
  message[0] = 0;
  ck_assert_int_eq(evo_backend_submit_rung(b, 6, g, 3, 0), EVO_OK);
  ck_assert_int_eq(
      evo_backend_collect(b, &job, rep, &status, message, sizeof message),
      EVO_OK);
  ck_assert_uint_eq(job, 6);
  ck_assert_int_eq(status, fitness(NULL, g, 3, want));
  pt_assert_same_report(rep, want);
  evo_backend_free(b);
  /* The split back end needs evaluator workers. */
  evo_task *task = NULL;
  evo_evaluator *e = NULL;
  ck_assert_int_eq(evo_task_open(&task, "digits", NULL), EVO_OK);
  ck_assert_int_eq(evo_evaluator_new(&e), EVO_OK);
  ck_assert_int_eq(evo_backend_mpi_new_parts(&b, e, 5.0, TAG), EVO_ESTATE);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "no tasks"));
  ck_assert_int_eq(evo_evaluator_add_task(e, task), EVO_OK);
  ck_assert_int_eq(evo_backend_mpi_new_parts(&b, e, 5.0, TAG), EVO_EMISMATCH);
  ck_assert_ptr_null(b);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "rank 1"));
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "evo_mpi_worker_run()"));
  ck_assert_int_eq(evo_backend_mpi_new_parts(&b, NULL, 5.0, TAG), EVO_EINVAL);
  /* And the refusal left no back end behind. */
  ck_assert_int_eq(evo_backend_mpi_new(&b, 5.0, TAG), EVO_OK);
  evo_backend_free(b);
  evo_evaluator_free(e);
  evo_task_free(task);
  evo_report_free(rep);
  evo_report_free(want);
  evo_genome_free(g);
}
END_TEST

START_TEST(test_misuse) {
  evo_backend *b = NULL, *second = NULL;
  ck_assert_int_eq(evo_backend_mpi_new(&b, -1.0, TAG), EVO_ERANGE);
  ck_assert_int_eq(evo_backend_mpi_new(&b, NAN, TAG), EVO_ERANGE);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(evo_backend_mpi_new(&b, 5.0, "another setup"),
                   EVO_EMISMATCH);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "rank 1"));
  ck_assert_int_eq(evo_backend_mpi_new(&b, 5.0, TAG), EVO_OK);
  ck_assert_int_eq(evo_backend_mpi_new(&second, 5.0, TAG), EVO_ESTATE);
  evo_backend_free(b);
  ck_assert_int_eq(evo_mpi_worker_run(fitness, NULL, 1, TAG), EVO_ESTATE);
  ck_assert_int_eq(evo_mpi_worker_run_rung(NULL, NULL, 1, TAG), EVO_EINVAL);
  ck_assert_int_eq(evo_mpi_worker_run_evaluator(NULL, 1, TAG), EVO_EINVAL);
  ck_assert_int_eq(evo_mpi_init(NULL, NULL), EVO_ESTATE);
  int rank = -1, size = -1;
  ck_assert_int_eq(evo_mpi_rank(&rank, &size), EVO_OK);
  ck_assert_int_eq(rank, 0);
  ck_assert_int_eq(size, 3);
  ck_assert_int_eq(evo_mpi_supported(), 1);
}
END_TEST

/* ---- mode "rungs": a fitness that takes the rung and reports a cost ---- */

#define TAG_RUNGS "test_mpi: fitness_rung v1"

/* What rank 0's own evaluations reported (the threads runs). */
typedef struct cost_sum {
  uint64_t us; /* costs, in microseconds */
  size_t calls;
} cost_sum;

/* `fitness` shifted by the rung, costing a whole number of microseconds
 * that depends on the rung, the seed and the genome; failures (four
 * terms) cost too. @p user is a cost_sum to add to, or NULL. */
static int fitness_rung(void *user, const evo_genome *g, uint64_t seed,
                        uint32_t rung, evo_report *report) {
  uint64_t us = (UINT64_C(250000) << rung) +
                1000 * ((seed + evo_genome_term_count(g)) % 7);
  if (user != NULL) {
    cost_sum *c = user;
    c->us += us;
    c->calls++;
  }
  int rc = fitness(NULL, g, seed, report);
  double f = 0.0;
  if (rc == EVO_OK)
    rc = evo_report_fitness(report, &f);
  if (rc == EVO_OK)
    rc = evo_report_set_fitness(report, f + 1e-3 * (double)rung);
  int cost_rc = evo_report_set_cost(report, (double)us * 1e-6);
  return rc != EVO_OK ? rc : cost_rc;
}

static evo_population *rung_population(uint64_t seed, cost_sum *sum) {
  evo_population *pop = small_population(seed);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_RUNGS, 3), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness_rung(pop, fitness_rung, sum),
                   EVO_OK);
  return pop;
}

/* Every individual ended at the same rung. */
static void assert_same_rungs(const evo_population *a,
                              const evo_population *b) {
  ck_assert_uint_eq(evo_population_size(a), evo_population_size(b));
  for (size_t i = 0; i < evo_population_size(a); i++) {
    uint32_t ra = 9, rb = 8;
    ck_assert_int_eq(evo_population_individual_rung(a, i, &ra), EVO_OK);
    ck_assert_int_eq(evo_population_individual_rung(b, i, &rb), EVO_OK);
    ck_assert_uint_eq(ra, rb);
  }
}

static double last_history(const evo_population *pop, evo_history_key key) {
  double v = -1.0;
  size_t n = evo_population_history_count(pop);
  ck_assert_uint_gt(n, 0);
  ck_assert_int_eq(evo_population_history(pop, n - 1, key, &v), EVO_OK);
  return v;
}

START_TEST(test_rungs_as_threads) {
  evo_backend *b = NULL;
  ck_assert_int_eq(evo_backend_mpi_new(&b, 60.0, TAG_RUNGS), EVO_OK);
  ck_assert_int_eq(evo_backend_has_rungs(b), 1);
  for (uint64_t seed = 1; seed <= 3; seed++) {
    cost_sum sum = {0, 0};
    evo_population *on_mpi = rung_population(seed, NULL);
    evo_population *on_threads = rung_population(seed, &sum);
    ck_assert_int_eq(evo_population_set_backend(on_mpi, b), EVO_OK);
    ck_assert_int_eq(evo_population_run(on_mpi), EVO_OK);
    ck_assert_int_eq(evo_population_run(on_threads), EVO_OK);
    pt_assert_same_run(on_mpi, on_threads, true);
    assert_same_rungs(on_mpi, on_threads);
    /* Some genomes went beyond rung 0, so costs of several rungs count. */
    ck_assert_uint_gt(sum.us, 250000 * sum.calls);
    ck_assert_int_eq(llround(evo_population_compute(on_mpi) * 1e6),
                     (long long)sum.us);
    ck_assert_int_eq(llround(evo_population_compute(on_threads) * 1e6),
                     (long long)sum.us);
    ck_assert(last_history(on_mpi, EVO_HIST_EVALUATIONS) == (double)sum.calls);
    evo_population_free(on_mpi);
    evo_population_free(on_threads);
  }
  evo_backend_free(b);
}
END_TEST

/* Steady-state evolution (doc/algorithm.md §9.4) with multi-fidelity
 * evaluation off (1 rung) and on (3 rungs): on the MPI back end (1 or 2
 * worker ranks, 2 threads each) the run of one process on 2 threads, its
 * history, hall of fame, last population, rungs, accounting and final
 * checkpoint byte for byte (costs included; the workers setting aside). */
START_TEST(test_steady_as_threads) {
  evo_backend *b = NULL;
  ck_assert_int_eq(evo_backend_mpi_new(&b, 60.0, TAG_RUNGS), EVO_OK);
  const int64_t rungs[] = {1, 3};
  for (size_t r = 0; r < 2; r++)
    for (uint64_t seed = 1; seed <= 2; seed++) {
      pt_tmp ta, tb;
      pt_tmp_make_shm(&ta);
      pt_tmp_make_shm(&tb);
      cost_sum sum = {0, 0};
      evo_population *on_mpi = rung_population(seed, NULL);
      evo_population *on_threads = rung_population(seed, &sum);
      evo_population *both[] = {on_mpi, on_threads};
      for (size_t k = 0; k < 2; k++) {
        pt_set_ok(both[k], EVO_POP_ALGORITHM, EVO_ALGO_STEADY);
        pt_set_ok(both[k], EVO_POP_RUNGS, rungs[r]);
        pt_set_ok(both[k], EVO_POP_WINDOW, 5);
        pt_set_ok(both[k], EVO_POP_FRESH_SEEDS, (int64_t)(seed % 2));
        ck_assert_int_eq(evo_population_set_checkpoint(
                             both[k], k == 0 ? ta.file : tb.file, TAG_RUNGS),
                         EVO_OK);
      }
      pt_set_ok(on_threads, EVO_POP_WORKERS, 2);
      ck_assert_int_eq(evo_population_set_backend(on_mpi, b), EVO_OK);
      ck_assert_int_eq(evo_population_run(on_mpi), EVO_OK);
      ck_assert_int_eq(evo_population_run(on_threads), EVO_OK);
      pt_assert_same_end(on_threads, on_mpi, tb.file, ta.file, true, 5);
      assert_same_rungs(on_mpi, on_threads);
      ck_assert_int_eq(llround(evo_population_compute(on_mpi) * 1e6),
                       (long long)sum.us);
      ck_assert_uint_eq(evo_population_generation(on_mpi), 4);
      /* with rungs, promoted results are in the last population */
      uint32_t top = 0;
      for (size_t i = 0; i < evo_population_size(on_mpi); i++) {
        uint32_t ir = 0;
        ck_assert_int_eq(evo_population_individual_rung(on_mpi, i, &ir),
                         EVO_OK);
        top = ir > top ? ir : top;
      }
      ck_assert_uint_eq(top > 0, rungs[r] > 1);
      evo_population_free(on_mpi);
      evo_population_free(on_threads);
      pt_tmp_remove(&ta);
      pt_tmp_remove(&tb);
    }
  evo_backend_free(b);
}
END_TEST

START_TEST(test_rung_workers_refuse_parts) {
  evo_task *task = NULL;
  evo_evaluator *e = NULL;
  evo_backend *b = NULL;
  ck_assert_int_eq(evo_task_open(&task, "digits", NULL), EVO_OK);
  ck_assert_int_eq(evo_evaluator_new(&e), EVO_OK);
  ck_assert_int_eq(evo_evaluator_add_task(e, task), EVO_OK);
  ck_assert_int_eq(evo_backend_mpi_new_parts(&b, e, 5.0, TAG_RUNGS),
                   EVO_EMISMATCH);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "rank 1"));
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "evo_mpi_worker_run_rung()"));
  evo_evaluator_free(e);
  evo_task_free(task);
}
END_TEST

/* ---- mode "parts": an evaluator, evaluations split into parts --------- */

#define TAG_PARTS "test_mpi: digits x2 (500 images each), 30 steps x 2 seeds"
#define PART_TASKS 3 /* the most tasks an evaluator here has */

typedef struct digits_setup {
  evo_task *tasks[PART_TASKS];
  evo_evaluator *e;
} digits_setup;

static void setup_free(digits_setup *s) {
  evo_evaluator_free(s->e);
  for (size_t i = 0; i < PART_TASKS; i++)
    evo_task_free(s->tasks[i]);
  memset(s, 0, sizeof *s);
}

/* @p n digits tasks, each on 500 training images drawn with its own data
 * seed; 30 steps x 2 seeds, with cheap rungs 0 (10 steps, 1 seed, 100 test
 * images) and 1 (20 steps, 2 seeds). Workers call it too: no ck_assert. */
static int setup_open(digits_setup *s, size_t n) {
  memset(s, 0, sizeof *s);
  int rc = evo_evaluator_new(&s->e);
  for (size_t i = 0; i < n && rc == EVO_OK; i++) {
    rc = evo_task_open(&s->tasks[i], "digits", NULL);
    if (rc == EVO_OK)
      rc = evo_task_set_option(s->tasks[i], EVO_TASK_TRAIN_SUBSET, 500);
    if (rc == EVO_OK)
      rc = evo_task_set_option(s->tasks[i], EVO_TASK_DATA_SEED,
                               (int64_t)(i % 2));
    if (rc == EVO_OK)
      rc = evo_evaluator_add_task(s->e, s->tasks[i]);
  }
  if (rc == EVO_OK)
    rc = evo_evaluator_set_steps(s->e, 30);
  if (rc == EVO_OK)
    rc = evo_evaluator_set_seeds(s->e, 2);
  if (rc == EVO_OK)
    rc = evo_evaluator_set_rung(s->e, 0, 10, 1, 100);
  if (rc == EVO_OK)
    rc = evo_evaluator_set_rung(s->e, 1, 20, 2, 0);
  if (rc != EVO_OK)
    setup_free(s);
  return rc;
}

static digits_setup setup; /* rank 0's: 2 tasks, as the workers' */

static void open_setup(void) {
  ck_assert_msg(setup_open(&setup, 2) == EVO_OK, "%s", evo_last_error());
}

static void close_setup(void) {
  setup_free(&setup);
}

static double report_value(const evo_report *r, size_t task) {
  double v = 0.0;
  ck_assert_int_eq(evo_report_task(r, task, NULL, &v), EVO_OK);
  return v;
}

/* One evaluation of @p e (@p tasks tasks, @p seeds seeds at @p rung) run
 * whole and as parts combined: the same bits; the fitness is the mean
 * over seeds, then over tasks, of the parts' (doc/algorithm.md §3), added
 * left to right (with 3 terms the order shows in the bits). */
static void check_combine(const evo_evaluator *e, size_t tasks,
                          const evo_genome *g, uint64_t seed, uint32_t rung,
                          size_t seeds) {
  enum { MAX = PART_TASKS * 3 };
  size_t n = evo_evaluator_parts(e, rung);
  ck_assert_uint_eq(n, tasks * seeds);
  ck_assert_uint_le(n, MAX);
  evo_report *whole = NULL, *got = NULL, *parts[MAX] = {NULL};
  ck_assert_int_eq(evo_report_new(&whole), EVO_OK);
  ck_assert_int_eq(evo_report_new(&got), EVO_OK);
  ck_assert_int_eq(evo_evaluator_run_rung(e, g, seed, rung, whole), EVO_OK);
  double f[MAX] = {0}, cost = 0.0;
  for (size_t k = 0; k < n; k++) {
    ck_assert_int_eq(evo_report_new(&parts[k]), EVO_OK);
    ck_assert_int_eq(evo_evaluator_run_part(e, g, seed, rung, k, parts[k]),
                     EVO_OK);
    ck_assert_int_eq(evo_report_fitness(parts[k], &f[k]), EVO_OK);
    ck_assert_uint_eq(evo_report_task_count(parts[k]), 1);
    ck_assert(pt_same_bits(report_value(parts[k], 0), f[k]));
    double c = -1.0;
    ck_assert_int_eq(evo_report_cost(parts[k], &c), EVO_OK);
    ck_assert(c > 0.0);
    cost += c;
  }
  const evo_report *const *view = (const evo_report *const *)parts;
  ck_assert_int_eq(evo_evaluator_combine(e, rung, view, n, got), EVO_OK);
  pt_assert_same_report(got, whole);
  double total = 0.0;
  for (size_t t = 0; t < tasks; t++) {
    double sum = 0.0;
    for (size_t k = 0; k < seeds; k++)
      sum += f[t * seeds + k];
    ck_assert(pt_same_bits(report_value(got, t), sum / (double)seeds));
    total += sum / (double)seeds;
  }
  double fit = 0.0, c = 0.0;
  ck_assert_int_eq(evo_report_fitness(got, &fit), EVO_OK);
  ck_assert(pt_same_bits(fit, total / (double)tasks));
  ck_assert_int_eq(evo_report_cost(got, &c), EVO_OK);
  ck_assert(pt_same_bits(c, cost));
  /* Misuse: too few parts, a NULL part, the output among the parts. */
  ck_assert_int_eq(evo_evaluator_combine(e, rung, view, n - 1, got),
                   EVO_ERANGE);
  ck_assert_int_eq(evo_evaluator_run_part(e, g, seed, rung, n, got),
                   EVO_ERANGE);
  evo_report *saved = parts[n - 1];
  parts[n - 1] = NULL;
  ck_assert_int_eq(evo_evaluator_combine(e, rung, view, n, got), EVO_EINVAL);
  parts[n - 1] = got;
  ck_assert_int_eq(evo_evaluator_combine(e, rung, view, n, got), EVO_EINVAL);
  parts[n - 1] = saved;
  for (size_t k = 0; k < n; k++)
    evo_report_free(parts[k]);
  evo_report_free(whole);
  evo_report_free(got);
}

START_TEST(test_parts_combine) {
  ck_assert_uint_eq(evo_evaluator_parts(NULL, 0), 0);
  ck_assert_uint_eq(evo_evaluator_parts(setup.e, 99), 4); /* full */
  digits_setup three; /* 3 tasks x 3 seeds: the order of the sums shows */
  ck_assert_int_eq(setup_open(&three, 3), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_seeds(three.e, 3), EVO_OK);
  ck_assert_int_eq(evo_evaluator_set_steps(three.e, 8), EVO_OK);
  for (uint64_t k = 0; k < 4; k++) {
    evo_genome *g = NULL;
    ck_assert_int_eq(evo_genome_random(&g, 700 + k), EVO_OK);
    check_combine(setup.e, 2, g, 10 * k, 0, 1);
    check_combine(setup.e, 2, g, 10 * k, 1, 2);
    check_combine(setup.e, 2, g, 10 * k, 2, 2);
    check_combine(three.e, 3, g, 10 * k, 2, 3);
    evo_genome_free(g);
  }
  setup_free(&three);
}
END_TEST

static evo_population *digits_population(uint64_t seed) {
  evo_population *pop = population(8, 3, 1, seed);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_FRESH_SEEDS, 1), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_RUNGS, 3), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_WORKERS, 2), EVO_OK);
  ck_assert_int_eq(
      evo_population_set_fitness_rung(pop, evo_evaluator_fitness_rung, setup.e),
      EVO_OK);
  return pop;
}

/* A multi-fidelity run with evaluations split into parts, whole over MPI,
 * and on threads: the same run, bit for bit. */
START_TEST(test_parts_as_whole) {
  int size = 0;
  ck_assert_int_eq(evo_mpi_rank(NULL, &size), EVO_OK);
  evo_population *split = digits_population(5), *whole = digits_population(5),
                 *threads = digits_population(5);
  evo_backend *b = NULL;
  ck_assert_int_eq(evo_backend_mpi_new_parts(&b, setup.e, 60.0, TAG_PARTS),
                   EVO_OK);
  ck_assert_int_eq(evo_backend_has_rungs(b), 1);
  /* W worker slots (one per rank): W + 1 evaluations in flight. */
  size_t w = (size_t)size - 1;
  ck_assert_uint_eq(evo_backend_slots(b), w + 1);
  ck_assert_int_eq(evo_population_set_backend(split, b), EVO_OK);
  ck_assert_int_eq(evo_population_run(split), EVO_OK);
  evo_backend_free(b);
  ck_assert_int_eq(evo_backend_mpi_new(&b, 60.0, TAG_PARTS), EVO_OK);
  ck_assert_uint_eq(evo_backend_slots(b), w);
  ck_assert_int_eq(evo_population_set_backend(whole, b), EVO_OK);
  ck_assert_int_eq(evo_population_run(whole), EVO_OK);
  evo_backend_free(b);
  ck_assert_int_eq(evo_population_run(threads), EVO_OK);
  pt_assert_same_run(split, whole, true);
  pt_assert_same_run(split, threads, true);
  assert_same_rungs(split, threads);
  ck_assert(evo_population_compute(split) > 0.0);
  /* Individuals reached all three rungs. */
  uint32_t top = 0;
  for (size_t i = 0; i < evo_population_size(split); i++) {
    uint32_t r = 0;
    ck_assert_int_eq(evo_population_individual_rung(split, i, &r), EVO_OK);
    top = r > top ? r : top;
  }
  ck_assert_uint_eq(top, 2);
  evo_population_free(split);
  evo_population_free(whole);
  evo_population_free(threads);
}
END_TEST

/* Rank 0 counts 3 tasks, the workers have 2: parts 2 x seeds and on fail
 * there (evo_evaluator_run_part: out of range), and so does the
 * evaluation, with the first failed part's message; the answers of later
 * parts are dropped, and the back end goes on. */
START_TEST(test_failed_part) {
  digits_setup three;
  ck_assert_int_eq(setup_open(&three, 3), EVO_OK);
  evo_backend *b = NULL;
  ck_assert_int_eq(evo_backend_mpi_new_parts(&b, three.e, 60.0, TAG_PARTS),
                   EVO_OK);
  size_t slots = evo_backend_slots(b);
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, "adam"), EVO_OK);
  evo_report *rep = NULL;
  ck_assert_int_eq(evo_report_new(&rep), EVO_OK);
  char message[EVO_BACKEND_MESSAGE_CAP];
  for (int round = 0; round < 3; round++) {
    for (size_t k = 0; k < slots; k++)
      ck_assert_int_eq(evo_backend_submit_rung(b, k, g, 0, (uint32_t)(k % 3)),
                       EVO_OK);
    for (size_t k = 0; k < slots; k++) {
      uint64_t job = 99;
      int status = EVO_OK;
      message[0] = 0;
      ck_assert_int_eq(
          evo_backend_collect(b, &job, rep, &status, message, sizeof message),
          EVO_OK);
      ck_assert_uint_lt(job, slots);
      ck_assert_int_eq(status, EVO_ERANGE);
      /* Rung 0 has 1 seed: part 2 (task 3) fails first; else part 4. */
      const char *want = job % 3 == 0 ? "part 2 of an evaluation with 2"
                                      : "part 4 of an evaluation with 4";
      ck_assert_msg(strstr(message, want) != NULL, "%s", message);
      double cost = -1.0;
      ck_assert_int_eq(evo_report_cost(rep, &cost), EVO_OK);
      ck_assert(cost > 0.0); /* the parts before it ran */
    }
  }
  evo_backend_free(b);
  evo_report_free(rep);
  evo_genome_free(g);
  setup_free(&three);
}
END_TEST

static Suite *rungs_suite(void) {
  Suite *s = suite_create("mpi_rungs");
  TCase *tc = tcase_create("rungs and costs");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_rungs_as_threads);
  tcase_add_test(tc, test_steady_as_threads);
  tcase_add_test(tc, test_rung_workers_refuse_parts);
  suite_add_tcase(s, tc);
  return s;
}

static Suite *parts_suite(void) {
  Suite *s = suite_create("mpi_parts");
  TCase *tc = tcase_create("parts");
  tcase_set_timeout(tc, 300);
  tcase_add_unchecked_fixture(tc, open_setup, close_setup);
  tcase_add_test(tc, test_parts_combine);
  tcase_add_test(tc, test_parts_as_whole);
  tcase_add_test(tc, test_failed_part);
  suite_add_tcase(s, tc);
  return s;
}

static Suite *mpi_suite(void) {
  Suite *s = suite_create("mpi");
  TCase *wire = tcase_create("messages");
  tcase_add_test(wire, test_job_round_trip);
  tcase_add_test(wire, test_result_round_trip);
  tcase_add_test(wire, test_hello_protocol);
  suite_add_tcase(s, wire);
  TCase *be = tcase_create("back end");
  tcase_set_timeout(be, 120);
  tcase_add_test(be, test_population_as_threads);
  tcase_add_test(be, test_submit_collect);
  tcase_add_test(be, test_rungs_refused);
  tcase_add_test(be, test_misuse);
  suite_add_tcase(s, be);
  return s;
}

/* A worker rank of @p mode; 0 when it served until told to stop. */
static int serve(const char *mode) {
  if (strcmp(mode, "rungs") == 0)
    return evo_mpi_worker_run_rung(fitness_rung, NULL, WORKER_THREADS,
                                   TAG_RUNGS) != EVO_OK;
  if (strcmp(mode, "parts") == 0) {
    digits_setup s;
    int rc = setup_open(&s, 2);
    if (rc == EVO_OK)
      rc = evo_mpi_worker_run_evaluator(s.e, 1, TAG_PARTS);
    if (rc != EVO_OK)
      printf("worker: %s\n", evo_last_error());
    setup_free(&s);
    return rc != EVO_OK;
  }
  return evo_mpi_worker_run(fitness, NULL, WORKER_THREADS, TAG) != EVO_OK;
}

int main(int argc, char **argv) {
  if (evo_mpi_init(&argc, &argv) != EVO_OK) {
    printf("cannot start MPI: %s\n", evo_last_error());
    return 1;
  }
  const char *mode = argc > 1 ? argv[1] : "";
  bool plain = mode[0] == 0;
  int rank = 0, size = 0, failed = 1;
  evo_mpi_rank(&rank, &size);
  if ((plain && size != 3) || (!plain && (size < 2 || size > 4)) ||
      (!plain && strcmp(mode, "rungs") != 0 && strcmp(mode, "parts") != 0)) {
    if (rank == 0)
      printf("usage: mpirun -np 3 test_mpi, or mpirun -np 2..4 test_mpi "
             "rungs|parts (got %d processes, mode '%s')\n",
             size, mode);
    evo_mpi_finalize();
    return 1;
  }
  if (rank > 0) {
    failed = serve(mode);
  } else {
    Suite *s = plain                        ? mpi_suite()
               : strcmp(mode, "rungs") == 0 ? rungs_suite()
                                            : parts_suite();
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr) != 0;
    srunner_free(sr);
  }
  if (evo_mpi_finalize() != EVO_OK) {
    printf("rank %d: %s\n", rank, evo_last_error());
    evo_mpi_abort(1);
  }
  return failed ? 1 : 0;
}

#else /* built without MPI */

START_TEST(test_unsupported) {
  ck_assert_int_eq(evo_mpi_supported(), 0);
  ck_assert_int_eq(evo_mpi_init(NULL, NULL), EVO_EUNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "without MPI"));
  int rank = 7, size = 7;
  ck_assert_int_eq(evo_mpi_rank(&rank, &size), EVO_EUNSUPPORTED);
  evo_backend *b = (evo_backend *)&rank;
  ck_assert_int_eq(evo_backend_mpi_new(&b, 1.0, "x"), EVO_EUNSUPPORTED);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(evo_mpi_worker_run(NULL, NULL, 1, "x"), EVO_EUNSUPPORTED);
  ck_assert_int_eq(evo_mpi_worker_run_rung(NULL, NULL, 1, "x"),
                   EVO_EUNSUPPORTED);
  ck_assert_int_eq(evo_mpi_worker_run_evaluator(NULL, 1, "x"),
                   EVO_EUNSUPPORTED);
  b = (evo_backend *)&rank;
  ck_assert_int_eq(evo_backend_mpi_new_parts(&b, NULL, 1.0, "x"),
                   EVO_EUNSUPPORTED);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(evo_mpi_finalize(), EVO_EUNSUPPORTED);
  evo_mpi_abort(3); /* returns: nothing to end */
}
END_TEST

int main(void) {
  Suite *s = suite_create("mpi_stub");
  TCase *tc = tcase_create("stubs");
  tcase_add_test(tc, test_unsupported);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

#endif
