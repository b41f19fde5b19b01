/* Evaluation of a generation (population.h, "Threads" and "The evaluation
 * cache"). On the population's thread: plan the generation (cache hits,
 * groups of individuals with the same key, jobs), record the hits, then
 * hand the jobs to the back end (backend.h) a slot at a time and record
 * each result as it comes back, with its checkpoint and progress event.
 * Results depend only on (genome, seed), and hits only on what was
 * evaluated before, so a run is the same for any back end, any number of
 * workers and any finishing order. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/common_internal.h"
#include "evolve/population_internal.h"

/* What happens to an individual in this evaluation. */
enum {
  PLAN_DONE,    /* evaluated before, or recorded now */
  PLAN_JOB,     /* queued for the back end */
  PLAN_FLYING,  /* submitted, not yet collected */
  PLAN_HIT,     /* its key is in the cache */
  PLAN_FOLLOWER /* takes the result of the first with its key */
};

#define NO_INDEX SIZE_MAX

typedef struct eval_state {
  evo_population *pop;
  size_t head, tail; /* jobs to submit: scratch.todo[head..tail) */
  evo_pop_flight f;  /* f.o.stopping: no more submits (a stop or an error) */
} eval_state;

/* The evaluation seed (doc/algorithm.md §4, "The paper settings"): the common
 * seed 0, or (run seed, generation, index) with EVO_POP_FRESH_SEEDS. */
static uint64_t evaluation_seed(const evo_population *pop, size_t index) {
  if (pop->settings[EVO_POP_FRESH_SEEDS] == 0)
    return 0;
  return evo_seed_derive((uint64_t)pop->settings[EVO_POP_RUN_SEED],
                         (uint64_t)pop->generation, (uint64_t)index);
}

static int cache_mode(const evo_population *pop) {
  return (int)pop->settings[EVO_POP_CACHE];
}

void evo_pop_outcome_merge(evo_pop_outcome *o, int now) {
  if (now == EVO_OK)
    return;
  if (o->rc == EVO_OK || o->rc == EVO_ECANCELED) {
    o->rc = now;
    snprintf(o->message, sizeof o->message, "%s", evo_last_error());
  }
  o->stopping = true;
}

int evo_pop_outcome_status(const evo_pop_outcome *o) {
  return o->rc == EVO_OK ? EVO_OK : evo_set_error(o->rc, "%s", o->message);
}

static void merge_status(eval_state *st, int now) {
  evo_pop_outcome_merge(&st->f.o, now);
}

/* ---- recording ---------------------------------------------------------- */

/* Takes a finished result into the generation, writes the checkpoint, and
 * (unless the run is stopping) reports the event. */
static int record_evaluation(evo_population *pop, size_t index, bool stopping) {
  pop->ind[index].evaluated = true;
  pop->n_evaluated++;
  int rc = pop->ckpt_path ? evo_checkpoint_write(pop) : EVO_OK;
  if (rc != EVO_OK || stopping || pop->progress_fn == NULL)
    return rc;
  if (pop->progress_fn(pop->progress_user, EVO_EVENT_EVALUATION, pop,
                       pop->generation, index) != 0)
    return evo_set_error(EVO_ECANCELED,
                         "the progress callback stopped the "
                         "run in generation %zu",
                         pop->generation);
  return EVO_OK;
}

/* A result taken without evaluating: from the cache, or from the first
 * individual of the group. */
static int record_hit(eval_state *st, size_t index, const evo_report *rep) {
  evo_individual *ind = &st->pop->ind[index];
  if (rep != &ind->report)
    evo_report_copy(&ind->report, rep);
  ind->fitness = rep->fitness;
  ind->status = EVO_OK;
  ind->error[0] = 0;
  ind->cached = true;
  st->pop->scratch.plan[index] = PLAN_DONE;
  return record_evaluation(st->pop, index, st->f.o.stopping);
}

/* Stores what collect handed back. A failed evaluation scores -1 and the
 * run goes on (population.h). */
void evo_pop_take_result(evo_individual *ind, const evo_report *rep,
                         int status, const char *message) {
  if (status == EVO_OK && !isfinite(rep->fitness)) {
    status = EVO_ECALLBACK;
    message = "the fitness callback reported a non-finite fitness";
  }
  ind->cached = false;
  if (status == EVO_OK) {
    evo_report_copy(&ind->report, rep);
    ind->fitness = rep->fitness;
    ind->status = EVO_OK;
    ind->error[0] = 0;
    return;
  }
  ind->status = status < 0 ? status : EVO_ECALLBACK;
  ind->fitness = -1.0;
  snprintf(ind->error, sizeof ind->error, "%s", message);
  evo_report_clear(&ind->report);
}

/* ---- the plan ------------------------------------------------------------ */

static void queue_job(eval_state *st, size_t index) {
  st->pop->scratch.plan[index] = PLAN_JOB;
  st->pop->scratch.todo[st->tail++] = index;
}

/* The first individual of this generation with @p index's key (@p index
 * itself when it is the first), through the scratch's hash table. */
static size_t group_first(evo_population *pop, size_t index) {
  evo_pop_scratch *s = &pop->scratch;
  size_t mask = s->table_size - 1, at = (size_t)s->hashes[index] & mask;
  for (; s->table[at] != 0; at = (at + 1) & mask) {
    size_t j = s->table[at] - 1;
    if (s->hashes[j] == s->hashes[index] &&
        evo_genome_equal(&s->keys[j], &s->keys[index]))
      return j;
  }
  s->table[at] = index + 1;
  return index;
}

/* Plans one individual not yet evaluated under the cache: a hit, the
 * first of its group (a job), or a follower appended to its group. */
static void plan_cached(eval_state *st, size_t index) {
  evo_population *pop = st->pop;
  evo_pop_scratch *s = &pop->scratch;
  uint64_t seed = evaluation_seed(pop, index);
  s->keyed[index] = evo_cache_key_genome(
      cache_mode(pop), &pop->ind[index].genome, &s->keys[index]);
  if (!s->keyed[index]) {
    queue_job(st, index); /* an invalid genome is never cached */
    return;
  }
  uint32_t rung = pop->ind[index].rung;
  s->hashes[index] = evo_cache_hash(&s->keys[index], seed, rung);
  if (evo_cache_find(&pop->cache, &s->keys[index], seed, rung) != NULL) {
    s->plan[index] = PLAN_HIT;
    return;
  }
  size_t first = group_first(pop, index);
  if (first == index) {
    s->group_tail[index] = index;
    queue_job(st, index);
  } else {
    s->plan[index] = PLAN_FOLLOWER;
    s->group_next[s->group_tail[first]] = index;
    s->group_tail[first] = index;
  }
}

static void plan_generation(eval_state *st) {
  evo_population *pop = st->pop;
  evo_pop_scratch *s = &pop->scratch;
  if (s->table != NULL)
    memset(s->table, 0, s->table_size * sizeof *s->table);
  for (size_t i = 0; i < pop->n_ind; i++) {
    s->group_next[i] = NO_INDEX;
    s->keyed[i] = false;
    if (pop->ind[i].evaluated)
      s->plan[i] = PLAN_DONE;
    else if (cache_mode(pop) != EVO_CACHE_OFF)
      plan_cached(st, i);
    else
      queue_job(st, i);
  }
}

/* Records the hits found by the plan, in index order. */
static void record_planned_hits(eval_state *st) {
  evo_population *pop = st->pop;
  for (size_t i = 0; i < pop->n_ind && !st->f.o.stopping; i++) {
    if (pop->scratch.plan[i] != PLAN_HIT)
      continue;
    const evo_cache_entry *e =
        evo_cache_find(&pop->cache, &pop->scratch.keys[i],
                       evaluation_seed(pop, i), pop->ind[i].rung);
    evo_cache_get_report(&pop->cache, e, pop->scratch.report);
    merge_status(st, record_hit(st, i, pop->scratch.report));
  }
}

/* After the first of a group is recorded: the others take its result, or,
 * when it failed, the next of them becomes a job. */
static void settle_group(eval_state *st, size_t first) {
  evo_population *pop = st->pop;
  size_t next = pop->scratch.group_next[first];
  if (next == NO_INDEX)
    return;
  if (pop->ind[first].status != EVO_OK) {
    queue_job(st, next); /* failures are not cached: evaluate it */
    return;
  }
  for (size_t i = next; i != NO_INDEX; i = pop->scratch.group_next[i])
    merge_status(st, record_hit(st, i, &pop->ind[first].report));
}

/* ---- the back end ---------------------------------------------------------
 */

/* The step's error for a back end that cannot go on. */
int evo_pop_backend_failed(int rc, const char *call) {
  if (rc > 0)
    rc = EVO_ECALLBACK;
  if (evo_last_error()[0] == 0)
    evo_set_error(rc, "%s", evo_status_str(rc));
  return evo_wrap_error(rc, "evaluation back end: %s failed", call);
}

bool evo_pop_flight_room(const evo_population *pop, const evo_pop_flight *f) {
  return !f->o.stopping && f->in_flight < f->be->slots &&
         !evo_population_budget_spent(pop);
}

bool evo_pop_flight_submit(evo_pop_flight *f, uint64_t job,
                           const evo_genome *g, uint64_t seed, uint32_t rung) {
  evo_set_error(EVO_OK, "%s", "");
  int rc = evo_backend_call_submit(f->be, job, g, seed, rung);
  if (rc != EVO_OK) {
    evo_pop_outcome_merge(&f->o, evo_pop_backend_failed(rc, "submit"));
    f->failed = true;
    return false;
  }
  f->in_flight++;
  return true;
}

bool evo_pop_flight_collect(evo_population *pop, evo_pop_flight *f,
                            bool (*flying)(const evo_population *pop,
                                           uint64_t job),
                            uint64_t *job, int *status) {
  evo_pop_scratch *s = &pop->scratch;
  *job = UINT64_MAX;
  *status = EVO_OK;
  evo_report_clear(s->report);
  s->message[0] = 0;
  evo_set_error(EVO_OK, "%s", "");
  int rc = f->be->collect(f->be->user, job, s->report, status, s->message,
                          EVO_POP_ERROR_CAP);
  if (rc == EVO_OK && !flying(pop, *job))
    rc = evo_set_error(EVO_ECALLBACK, "job %llu is not in flight",
                       (unsigned long long)*job);
  if (rc != EVO_OK) {
    evo_pop_outcome_merge(&f->o, evo_pop_backend_failed(rc, "collect"));
    f->failed = true;
    return false;
  }
  f->in_flight--;
  s->message[EVO_POP_ERROR_CAP - 1] = 0;
  return true;
}

static void submit_jobs(eval_state *st) {
  evo_population *pop = st->pop;
  while (st->head < st->tail && evo_pop_flight_room(pop, &st->f)) {
    size_t index = pop->scratch.todo[st->head++];
    if (!evo_pop_flight_submit(&st->f, (uint64_t)index,
                               &pop->ind[index].genome,
                               evaluation_seed(pop, index),
                               pop->ind[index].rung))
      return;
    pop->scratch.plan[index] = PLAN_FLYING;
  }
}

/* An evaluation's cost in whole core-microseconds, so that the run's
 * total is the same in any order. */
uint64_t evo_pop_cost_us(const evo_report *rep) {
  double us = rep->cost * 1e6;
  if (!(isfinite(us) && us > 0.0))
    return 0;
  return us < 1e18 ? (uint64_t)llround(us) : UINT64_C(1) << 60;
}

/* Adds an evaluation's cost to the run's compute. */
static void add_cost(evo_population *pop, const evo_report *rep) {
  pop->compute_us += evo_pop_cost_us(rep);
  pop->evaluations++;
}

static bool job_flying(const evo_population *pop, uint64_t job) {
  return job < pop->n_ind && pop->scratch.plan[job] == PLAN_FLYING;
}

/* Collects one result and records it (and its group). False when the back
 * end failed: the jobs in flight are then abandoned. */
static bool collect_one(eval_state *st) {
  evo_population *pop = st->pop;
  evo_pop_scratch *s = &pop->scratch;
  uint64_t job = UINT64_MAX;
  int status = EVO_OK;
  if (!evo_pop_flight_collect(pop, &st->f, job_flying, &job, &status))
    return false;
  size_t index = (size_t)job;
  add_cost(pop, s->report);
  s->plan[index] = PLAN_DONE;
  evo_pop_take_result(&pop->ind[index], s->report, status, s->message);
  if (s->keyed[index] && pop->ind[index].status == EVO_OK)
    merge_status(st, evo_cache_insert(&pop->cache, &s->keys[index],
                                      evaluation_seed(pop, index),
                                      pop->ind[index].rung,
                                      &pop->ind[index].report));
  merge_status(st, record_evaluation(pop, index, st->f.o.stopping));
  settle_group(st, index);
  return true;
}

/* Hands out the jobs and records the results until none is left or in
 * flight. After a stop it still records the jobs in flight, so that none
 * is lost; after a back end failure it abandons them. */
static void run_jobs(eval_state *st) {
  for (;;) {
    submit_jobs(st);
    if (st->f.in_flight == 0 || !collect_one(st))
      return;
  }
}

/* The thread pool used when no back end is set: no more threads than
 * jobs that may come. */
int evo_pop_default_backend(evo_population *pop, size_t n_jobs,
                            evo_backend **out) {
  size_t workers = (size_t)pop->settings[EVO_POP_WORKERS];
  if (workers > n_jobs)
    workers = n_jobs;
  if (pop->fitness_rung_fn != NULL)
    return evo_backend_threads_new_rung(out, pop->fitness_rung_fn,
                                        pop->fitness_user,
                                        workers ? workers : 1);
  return evo_backend_threads_new(out, pop->fitness_fn, pop->fitness_user,
                                 workers ? workers : 1);
}

static size_t count_jobs(const evo_population *pop) {
  size_t n = 0;
  for (size_t i = 0; i < pop->n_ind; i++)
    n += pop->scratch.plan[i] == PLAN_JOB ||
         pop->scratch.plan[i] == PLAN_FOLLOWER;
  return n;
}

int evo_population_evaluate(evo_population *pop) {
  eval_state st = {.pop = pop, .f = {.be = pop->backend}};
  plan_generation(&st);
  record_planned_hits(&st);
  if (st.f.o.stopping || st.head == st.tail)
    return evo_pop_outcome_status(&st.f.o);
  evo_backend *own = NULL;
  if (st.f.be == NULL) {
    int rc = evo_pop_default_backend(pop, count_jobs(pop), &own);
    if (rc != EVO_OK)
      return rc;
    st.f.be = own;
  }
  run_jobs(&st);
  evo_backend_free(own);
  /* A checkpoint for the resume, even when no result came back. */
  if (st.f.failed && pop->ckpt_path != NULL)
    merge_status(&st, evo_checkpoint_write(pop));
  return evo_pop_outcome_status(&st.f.o);
}
