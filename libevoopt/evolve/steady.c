/* Steady-state ("aging", regularized) evolution (doc/algorithm.md §9.4;
 * Real et al. 2019), with asynchronous successive halving when there are
 * rungs. Every evaluation is a job numbered 0, 1, 2, ...; results are
 * committed in job order, each commit retiring the oldest individual, and
 * job k is created (bred, or a promotion) at the moment the commits reach
 * max(k - W + 1, N). Creation reads only committed state (the population,
 * the cache, the rungs' records), so the jobs, their results and the
 * checkpoints are the same for any back end, number of workers or
 * finishing order. Evaluation goes through the back end as in
 * population_eval.c, whose pieces it shares. */
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "evolve/population_internal.h"

/* The streams of child k: (run seed, k, "select") for its tournaments,
 * (run seed, k, "steady") for crossover and mutation, as
 * evo_genome_breed() draws them (ASCII tags, far above any job number a
 * run reaches, and apart from the GA's "init", "breed" and "random"). */
#define SEED_TAG_SELECT UINT64_C(0x73656c656374)
#define SEED_TAG_STEADY UINT64_C(0x737465616479)

static uint64_t pop_size(const evo_population *pop) {
  return (uint64_t)pop->settings[EVO_POP_SIZE];
}

/* The number of jobs of the whole run, N × G. */
static uint64_t total_jobs(const evo_population *pop) {
  return pop_size(pop) * (uint64_t)pop->settings[EVO_POP_GENERATIONS];
}

static evo_steady_job *job_at(evo_steady *s, uint64_t k) {
  return &s->jobs[k % s->cap];
}

uint64_t evo_steady_seed(const evo_population *pop, uint64_t origin) {
  if (pop->settings[EVO_POP_FRESH_SEEDS] == 0)
    return 0;
  uint64_t n = pop_size(pop); /* job k is individual k mod N of k / N */
  return evo_seed_derive((uint64_t)pop->settings[EVO_POP_RUN_SEED], origin / n,
                         origin % n);
}

/* ---- state ---------------------------------------------------------------
 */

void evo_steady_free(evo_steady *s) {
  if (s->jobs != NULL)
    for (size_t i = 0; i < s->cap; i++)
      free(s->jobs[i].result);
  free(s->jobs);
  free(s->queue);
  for (size_t r = 0; r < EVO_POP_MAX_RUNGS - 1; r++)
    free(s->rungs[r].sorted);
  memset(s, 0, sizeof *s);
}

/* Room for every job that can exist uncommitted: generation 0 (N), then
 * W children, never more than the run has. */
int evo_steady_alloc(evo_population *pop) {
  evo_steady *s = &pop->steady;
  evo_steady_free(s);
  uint64_t n = pop_size(pop), w = (uint64_t)pop->settings[EVO_POP_WINDOW];
  uint64_t cap = n > w ? n : w;
  if (cap > total_jobs(pop))
    cap = total_jobs(pop);
  s->jobs = evo_calloc((size_t)cap, sizeof *s->jobs);
  if (s->jobs == NULL)
    return evo_set_error(EVO_ENOMEM,
                         "out of memory for %llu steady-state "
                         "jobs",
                         (unsigned long long)cap);
  s->cap = (size_t)cap;
  return EVO_OK;
}

int evo_steady_start(evo_population *pop) {
  int rc = evo_steady_alloc(pop);
  if (rc != EVO_OK)
    return rc;
  evo_steady *s = &pop->steady;
  for (size_t i = 0; i < pop->n_ind; i++) /* generation 0 */
    *job_at(s, i) = (evo_steady_job){.genome = pop->ind[i].genome, .origin = i};
  s->created = pop->n_ind;
  return EVO_OK;
}

/* ---- promotions (asynchronous successive halving) ---------------------- */

/* Room for one more promotion in the queue. */
static int queue_reserve(evo_steady *s) {
  if (s->q_tail == s->q_cap && s->q_head > 0) { /* room at the front */
    memmove(s->queue, s->queue + s->q_head,
            (s->q_tail - s->q_head) * sizeof *s->queue);
    s->q_tail -= s->q_head;
    s->q_head = 0;
  }
  if (s->q_tail == s->q_cap) {
    size_t cap = s->q_cap ? 2 * s->q_cap : 16;
    evo_steady_job *q = realloc(s->queue, cap * sizeof *q);
    if (q == NULL)
      return evo_set_error(EVO_ENOMEM, "out of memory queueing a promotion");
    s->queue = q;
    s->q_cap = cap;
  }
  return EVO_OK;
}

/* Room for one more result in rung @p rung's record and for a promotion,
 * taken before the commit changes anything. */
static int reserve_rung(evo_steady *s, uint32_t rung) {
  evo_steady_rung *sr = &s->rungs[rung];
  if (sr->m == sr->cap) {
    size_t cap = sr->cap ? 2 * sr->cap : 64;
    double *v = realloc(sr->sorted, cap * sizeof *v);
    if (v == NULL)
      return evo_set_error(EVO_ENOMEM, "out of memory recording rung %u",
                           (unsigned)rung);
    sr->sorted = v;
    sr->cap = cap;
  }
  return queue_reserve(s);
}

/* The place of @p f among a rung's successes, highest first, after the
 * equal ones (they were committed earlier). */
static size_t rank_in(const evo_steady_rung *sr, double f) {
  size_t lo = 0, hi = sr->m;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (sr->sorted[mid] >= f)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Enters a committed result at rung @p ind->rung < R - 1 into the rung's
 * record; promotes its genome (a job at the next rung, queued) when its
 * rank among the rung's n results so far is below n/η (doc/algorithm.md
 * §9.4). Failures rank last and never go on. */
static void record_rung(evo_population *pop, const evo_individual *ind,
                        uint64_t origin) {
  evo_steady *s = &pop->steady;
  evo_steady_rung *sr = &s->rungs[ind->rung];
  sr->n++;
  if (ind->status != EVO_OK)
    return;
  size_t rank = rank_in(sr, ind->fitness);
  memmove(sr->sorted + rank + 1, sr->sorted + rank,
          (sr->m - rank) * sizeof *sr->sorted);
  sr->sorted[rank] = ind->fitness;
  sr->m++;
  uint64_t eta = (uint64_t)pop->settings[EVO_POP_PROMOTE];
  if ((uint64_t)rank * eta >= sr->n)
    return;
  s->queue[s->q_tail++] = (evo_steady_job){.genome = ind->genome,
                                           .origin = origin,
                                           .rung = (uint8_t)(ind->rung + 1)};
}

/* ---- creating jobs ------------------------------------------------------ */

/* Child @p k: two tournaments over the population (ranked by rung, then
 * fitness), crossover and mutation at schedule generation k / N; no
 * elites (doc/algorithm.md §9.4). */
static void breed_child(evo_population *pop, uint64_t k, evo_genome *child) {
  evo_pop_scratch *sc = &pop->scratch;
  size_t n = pop->n_ind, t = (size_t)pop->settings[EVO_POP_TOURNAMENT];
  uint64_t run_seed = (uint64_t)pop->settings[EVO_POP_RUN_SEED];
  evo_population_rank(pop);
  evo_rng r;
  evo_rng_seed(&r, evo_seed_derive(run_seed, k, SEED_TAG_SELECT));
  size_t a = evo_breed_tournament(sc->fitness, n, t, sc->perm, &r);
  size_t b = evo_breed_tournament(sc->fitness, n, t, sc->perm, &r);
  evo_rng_seed(&r, evo_seed_derive(run_seed, k, SEED_TAG_STEADY));
  evo_breed_crossover(child, &pop->ind[a].genome, &pop->ind[b].genome, &r);
  evo_breed_mutate(child, (uint32_t)(k / n),
                   (uint32_t)pop->settings[EVO_POP_GENERATIONS], &r);
}

/* Whether the cache holds @p job's result; its key through @p key. */
static bool cache_has(const evo_population *pop, const evo_steady_job *job,
                      evo_genome *key) {
  int mode = (int)pop->settings[EVO_POP_CACHE];
  return mode != EVO_CACHE_OFF &&
         evo_cache_key_genome(mode, &job->genome, key) &&
         evo_cache_find(&pop->cache, key, evo_steady_seed(pop, job->origin),
                        job->rung) != NULL;
}

/* Creates job @p k: the oldest waiting promotion, else a new child. */
static void create_job(evo_population *pop, uint64_t k) {
  evo_steady *s = &pop->steady;
  evo_steady_job *job = job_at(s, k);
  free(job->result);
  if (s->q_head < s->q_tail) {
    *job = s->queue[s->q_head++];
  } else {
    *job = (evo_steady_job){.origin = k};
    breed_child(pop, k, &job->genome);
  }
  job->result = NULL;
  job->cost_us = 0;
  evo_genome key;
  job->hit = cache_has(pop, job, &key);
  job->state = job->hit ? EVO_STEADY_DONE : EVO_STEADY_CREATED;
}

/* Creates every job whose time has come: job k >= N once jobs
 * 0..k-W are committed (and generation 0 is). */
static void create_jobs(evo_population *pop) {
  evo_steady *s = &pop->steady;
  uint64_t w = (uint64_t)pop->settings[EVO_POP_WINDOW];
  if (s->committed < pop_size(pop))
    return;
  while (s->created < total_jobs(pop) && s->created < s->committed + w)
    create_job(pop, s->created++);
}

/* ---- committing --------------------------------------------------------- */

/* What one call of evo_steady_advance() does and has seen. */
typedef struct steady_run {
  evo_population *pop;
  uint64_t next;   /* the next job to look at for submitting */
  uint64_t target; /* commit up to this many jobs */
  bool broken;     /* a commit failed: no more commits in this call */
  evo_pop_flight f; /* f.o.stopping: no more submits and no more events */
} steady_run;

static void merge_status(steady_run *st, int now) {
  evo_pop_outcome_merge(&st->f.o, now);
}

static int write_checkpoint(const evo_population *pop) {
  return pop->ckpt_path != NULL ? evo_checkpoint_write(pop) : EVO_OK;
}

/* Fills @p ind with job @p job's result: from the cache for a hit, else
 * what came back (its cost and the cache entry then counted). */
static int take_job_result(evo_population *pop, evo_steady_job *job,
                           evo_individual *ind) {
  evo_genome key;
  ind->genome = job->genome;
  ind->rung = job->rung;
  ind->evaluated = true;
  if (job->hit) {
    evo_report *rep = pop->scratch.report;
    const evo_cache_entry *e =
        cache_has(pop, job, &key)
            ? evo_cache_find(&pop->cache, &key,
                             evo_steady_seed(pop, job->origin), job->rung)
            : NULL;
    if (e == NULL) /* the cache only grows: never */
      return evo_set_error(EVO_EFORMAT,
                           "steady-state job %llu: its cached "
                           "result is gone",
                           (unsigned long long)pop->steady.committed);
    evo_cache_get_report(&pop->cache, e, rep);
    evo_report_copy(&ind->report, rep);
    ind->fitness = rep->fitness;
    ind->status = EVO_OK;
    ind->error[0] = 0;
    ind->cached = true;
    return EVO_OK;
  }
  const evo_individual *res = job->result;
  int mode = (int)pop->settings[EVO_POP_CACHE];
  if (mode != EVO_CACHE_OFF && res->status == EVO_OK &&
      evo_cache_key_genome(mode, &job->genome, &key)) {
    int rc =
        evo_cache_insert(&pop->cache, &key, evo_steady_seed(pop, job->origin),
                         job->rung, &res->report);
    if (rc != EVO_OK)
      return rc;
  }
  ind->fitness = res->fitness;
  ind->status = res->status;
  memcpy(ind->error, res->error, sizeof ind->error);
  evo_report_copy(&ind->report, &res->report);
  ind->cached = false;
  pop->compute_us += job->cost_us;
  pop->evaluations++;
  return EVO_OK;
}

/* Records the generation whose N results are all committed: history, hall
 * of fame, its event (unless stopping), checkpoint. */
static int close_generation(evo_population *pop, bool stopping) {
  int rc = evo_population_record(pop);
  if (rc != EVO_OK)
    return rc;
  bool stop = !stopping && pop->progress_fn != NULL &&
              pop->progress_fn(pop->progress_user, EVO_EVENT_GENERATION, pop,
                               pop->generation, 0) != 0;
  pop->generation++;
  pop->n_evaluated = 0;
  if ((rc = write_checkpoint(pop)) != EVO_OK)
    return rc;
  if (stop)
    return evo_set_error(EVO_ECANCELED,
                         "the progress callback stopped the "
                         "run after generation %zu",
                         pop->generation - 1);
  return EVO_OK;
}

/* Commits the next job, whose result (or hit) is there: it takes the
 * place of the oldest individual; then the jobs its commit allows are
 * created, the checkpoint written, the event reported (unless stopping)
 * and a completed generation recorded. */
static int commit_next(steady_run *st) {
  evo_population *pop = st->pop;
  evo_steady *s = &pop->steady;
  uint64_t j = s->committed, n = pop_size(pop);
  evo_steady_job *job = job_at(s, j);
  evo_individual *ind = &pop->ind[j % n];
  bool cheap = job->rung < evo_population_top_rung(pop);
  int rc = cheap ? reserve_rung(s, job->rung) : EVO_OK;
  if (rc == EVO_OK) /* fails before it changes the run, if at all */
    rc = take_job_result(pop, job, ind);
  if (rc != EVO_OK)
    return rc;
  if (cheap)
    record_rung(pop, ind, job->origin);
  free(job->result);
  job->result = NULL;
  s->committed++;
  pop->n_evaluated = (size_t)(s->committed - (uint64_t)pop->generation * n);
  create_jobs(pop);
  if ((rc = write_checkpoint(pop)) != EVO_OK)
    return rc;
  if (!st->f.o.stopping && pop->progress_fn != NULL &&
      pop->progress_fn(pop->progress_user, EVO_EVENT_EVALUATION, pop,
                       pop->generation, (size_t)(j % n)) != 0) {
    merge_status(st, evo_set_error(EVO_ECANCELED,
                                   "the progress callback stopped the run "
                                   "in generation %zu",
                                   pop->generation));
  }
  if (s->committed % n == 0)
    return close_generation(pop, st->f.o.stopping);
  return EVO_OK;
}

/* Commits every job whose turn has come, up to the target. */
static void commit_ready(steady_run *st) {
  evo_steady *s = &st->pop->steady;
  while (!st->broken && s->committed < st->target &&
         s->committed < s->created &&
         job_at(s, s->committed)->state == EVO_STEADY_DONE) {
    int rc = commit_next(st);
    merge_status(st, rc);
    st->broken = rc != EVO_OK && rc != EVO_ECANCELED;
  }
}

/* ---- the back end ------------------------------------------------------- */

static void submit_jobs(steady_run *st) {
  evo_population *pop = st->pop;
  evo_steady *s = &pop->steady;
  while (st->next < s->created && st->next < st->target &&
         evo_pop_flight_room(pop, &st->f)) {
    uint64_t k = st->next++;
    evo_steady_job *job = job_at(s, k);
    if (job->state != EVO_STEADY_CREATED)
      continue;
    if (!evo_pop_flight_submit(&st->f, k, &job->genome,
                               evo_steady_seed(pop, job->origin), job->rung))
      return;
    job->state = EVO_STEADY_FLYING;
  }
}

static bool job_flying(const evo_population *pop, uint64_t k) {
  const evo_steady *s = &pop->steady;
  return k >= s->committed && k < s->created &&
         s->jobs[k % s->cap].state == EVO_STEADY_FLYING;
}

/* Collects one result and keeps it with its job until the job's turn.
 * False when the back end failed. */
static bool collect_one(steady_run *st) {
  evo_population *pop = st->pop;
  evo_steady *s = &pop->steady;
  evo_pop_scratch *sc = &pop->scratch;
  uint64_t k = UINT64_MAX;
  int status = EVO_OK;
  if (!evo_pop_flight_collect(pop, &st->f, job_flying, &k, &status))
    return false;
  evo_steady_job *job = job_at(s, k);
  job->result = evo_calloc(1, sizeof *job->result);
  if (job->result == NULL) { /* submitted again by a later step */
    job->state = EVO_STEADY_CREATED;
    merge_status(st, evo_set_error(EVO_ENOMEM,
                                   "out of memory keeping the "
                                   "result of job %llu",
                                   (unsigned long long)k));
    return true;
  }
  job->cost_us = evo_pop_cost_us(sc->report);
  evo_pop_take_result(job->result, sc->report, status, sc->message);
  job->state = EVO_STEADY_DONE;
  return true;
}

/* Jobs abandoned by a failed back end go out again next time. */
static void reset_flying(evo_steady *s) {
  for (uint64_t k = s->committed; k < s->created; k++)
    if (job_at(s, k)->state == EVO_STEADY_FLYING)
      job_at(s, k)->state = EVO_STEADY_CREATED;
}

int evo_steady_advance(evo_population *pop, bool to_end) {
  evo_steady *s = &pop->steady;
  uint64_t n = pop_size(pop), end = total_jobs(pop);
  uint64_t target = to_end ? end : ((uint64_t)pop->generation + 1) * n;
  steady_run st = {.pop = pop,
                   .next = s->committed,
                   .target = target < end ? target : end,
                   .f = {.be = pop->backend}};
  /* A generation completed but not recorded (a stop or a failure between
   * its last commit and its record). */
  if (s->committed == ((uint64_t)pop->generation + 1) * n)
    merge_status(&st, close_generation(pop, false));
  create_jobs(pop);
  commit_ready(&st);
  evo_backend *own = NULL;
  if (st.f.be == NULL && !st.f.o.stopping && s->committed < st.target) {
    int rc = evo_pop_default_backend(pop, s->cap, &own);
    if (rc != EVO_OK)
      return rc;
    st.f.be = own;
  }
  while (!st.f.failed && s->committed < st.target && st.f.be != NULL) {
    submit_jobs(&st);
    if (st.f.in_flight == 0 || !collect_one(&st))
      break;
    commit_ready(&st);
  }
  evo_backend_free(own);
  if (st.f.failed) {
    reset_flying(s);
    merge_status(&st, write_checkpoint(pop)); /* for the resume */
  }
  return evo_pop_outcome_status(&st.f.o);
}
