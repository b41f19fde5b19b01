/* Resuming a population (evo_population_resume(), population.h): decodes
 * a checkpoint written by checkpoint.c (payload described there) and
 * rebuilds the run state with the population's own allocation and
 * history calls (run.c) and the steady-state queue (steady.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "core/io_internal.h"
#include "evolve/population_internal.h"

#include "evolve/checkpoint_internal.h"

/* ---- reader -------------------------------------------------------------- */

/* Reading stops at the first fault: the reader's ok flag covers a short
 * payload, `bad` names the first value that makes no sense. */
typedef struct ckpt_reader {
  evo_rbuf r;
  const char *bad;
  uint32_t version; /* CKPT_VERSION_OLD to CKPT_VERSION */
} ckpt_reader;

static bool reading(const ckpt_reader *c) { return c->r.ok && !c->bad; }

static bool is_steady(const evo_population *pop) {
  return pop->settings[EVO_POP_ALGORITHM] == EVO_ALGO_STEADY;
}

/* A short payload is reported as such, not as the value it cut off. */
static void fault(ckpt_reader *c, const char *what) {
  if (c->bad == NULL && c->r.ok)
    c->bad = what;
}

/* A u32 count that must not exceed @p max. */
static size_t get_count(ckpt_reader *c, size_t max, const char *what) {
  uint32_t n = evo_rbuf_u32(&c->r);
  if (n > max)
    fault(c, what);
  return reading(c) ? n : 0;
}

static double get_f64(ckpt_reader *c) { return evo_rbuf_f64(&c->r); }

/* The slots beyond the term count are kept bit for bit (a removed term
 * leaves its code and α there), but must hold what a term slot can hold:
 * a term code and a finite α within the genome's range, as the used ones. */
static bool unused_slots_valid(const evo_genome *g) {
  evo_genome all = *g;
  all.n_terms = EVO_MAX_TERMS;
  return evo_genome_validate(&all) == EVO_OK;
}

static void get_genome(ckpt_reader *c, evo_genome *g) {
  const char *bad = evo_genome_read(&c->r, g);
  if (bad != NULL)
    fault(c, bad);
  else if (reading(c) && !unused_slots_valid(g))
    fault(c, "genome (unused term slot)");
}

static void get_report(ckpt_reader *c, evo_report *rep) {
  evo_report_clear(rep);
  rep->fitness = get_f64(c);
  rep->n_tasks = get_count(c, EVO_REPORT_MAX_TASKS, "report task count");
  for (size_t i = 0; i < rep->n_tasks && reading(c); i++) {
    char *name = evo_rbuf_str(&c->r, EVO_REPORT_NAME_CAP - 1);
    if (name != NULL)
      memcpy(rep->names[i], name, strlen(name) + 1);
    free(name);
    rep->task_fitness[i] = get_f64(c);
    if (reading(c) && !isfinite(rep->task_fitness[i]))
      fault(c, "report task fitness");
  }
  if (reading(c) && !isfinite(rep->fitness))
    fault(c, "report fitness");
}

static void get_individual(ckpt_reader *c, evo_individual *ind) {
  get_genome(c, &ind->genome);
  ind->evaluated = evo_rbuf_u8(&c->r) != 0;
  ind->rung = c->version == CKPT_VERSION_OLD ? 0 : evo_rbuf_u8(&c->r);
  ind->fitness = NAN;
  ind->status = EVO_OK;
  ind->error[0] = 0;
  evo_report_clear(&ind->report);
  if (!ind->evaluated)
    return;
  ind->fitness = get_f64(c);
  uint32_t status = evo_rbuf_u32(&c->r);
  memcpy(&ind->status, &status, sizeof status);
  char *err = evo_rbuf_str(&c->r, EVO_POP_ERROR_CAP - 1);
  if (err != NULL)
    memcpy(ind->error, err, strlen(err) + 1);
  free(err);
  get_report(c, &ind->report);
  uint8_t cached = evo_rbuf_u8(&c->r);
  ind->cached = cached == 1;
  if (reading(c) && (!isfinite(ind->fitness) || ind->status > 0 ||
                     cached > 1 || (ind->cached && ind->status != EVO_OK)))
    fault(c, "individual result");
}

static void get_record(ckpt_reader *c, evo_gen_record *rec) {
  size_t n = c->version == CKPT_VERSION_OLD ? V2_HIST_VALUES : EVO_HIST_COUNT;
  for (size_t k = 0; k < n; k++)
    rec->values[k] = get_f64(c);
  get_genome(c, &rec->best);
  get_report(c, &rec->best_report);
  for (size_t k = 0; k < EVO_TERM_COUNT; k++)
    rec->terms[k] = evo_rbuf_u32(&c->r);
}

static void get_settings(ckpt_reader *c, evo_population *pop) {
  size_t n = c->version == CKPT_VERSION_OLD ? V2_SETTINGS
             : c->version == CKPT_VERSION_V3 ? V3_SETTINGS
             : c->version == CKPT_VERSION_V4 ? V4_SETTINGS
                                             : EVO_POP_SETTING_COUNT;
  for (size_t k = 0; k < n; k++) {
    pop->settings[k] = (int64_t)evo_rbuf_u64(&c->r);
    if (reading(c) &&
        evo_population_check_setting((evo_pop_setting)k, pop->settings[k]))
      fault(c, "settings");
  }
  if (reading(c) && c->version < CKPT_VERSION_V4 &&
      pop->settings[EVO_POP_ALGORITHM] == EVO_ALGO_STEADY)
    fault(c, "settings (steady-state evolution before version 4)");
}

static int get_initial(ckpt_reader *c, evo_population *pop) {
  size_t n = get_count(c, (size_t)pop->settings[EVO_POP_SIZE],
                       "initial genome count");
  free(pop->initial);
  pop->initial = evo_calloc(n, sizeof *pop->initial);
  pop->n_initial = 0;
  if (pop->initial == NULL)
    return EVO_ENOMEM;
  for (size_t i = 0; i < n && reading(c); i++)
    get_genome(c, &pop->initial[i]);
  pop->n_initial = n;
  if (reading(c) && evo_population_check_settings(pop) != EVO_OK)
    fault(c, "settings");
  return EVO_OK;
}

static void get_individuals(ckpt_reader *c, evo_population *pop) {
  if (get_count(c, pop->n_ind, "individual count") != pop->n_ind)
    fault(c, "individual count");
  for (size_t i = 0; i < pop->n_ind && reading(c); i++) {
    get_individual(c, &pop->ind[i]);
    pop->n_evaluated += pop->ind[i].evaluated;
    uint32_t max_rung = is_steady(pop)
                            ? (uint32_t)pop->settings[EVO_POP_RUNGS] - 1
                            : pop->phase;
    if (reading(c) && pop->ind[i].rung > max_rung)
      fault(c, "individual rung");
  }
  if ((int64_t)pop->generation >= pop->settings[EVO_POP_GENERATIONS] &&
      pop->n_evaluated != pop->n_ind)
    fault(c, "individuals of the last generation");
}

/* A whole number from 0 to @p max (false for NaN). */
static bool is_count(double v, double max) {
  return v >= 0.0 && v <= max && v == floor(v);
}

/* A history entry against the run: fitness values finite; failures and
 * cache hits whole numbers up to the population size; compute and
 * evaluations (running totals) never below @p prev's (the entry before, or
 * NULL) nor above the run's own; every genome has 1 to EVO_MAX_TERMS
 * terms, so the term counts add up to that many per individual. */
static void check_record(ckpt_reader *c, const evo_population *pop,
                         const evo_gen_record *rec,
                         const evo_gen_record *prev) {
  static const char *const fitness_names[] = {
      "history best fitness", "history mean fitness", "history median fitness",
      "history worst fitness"};
  const double *v = rec->values;
  double n = (double)pop->n_ind;
  for (size_t k = EVO_HIST_BEST; k <= EVO_HIST_WORST; k++)
    if (!isfinite(v[k]))
      fault(c, fitness_names[k]);
  if (!is_count(v[EVO_HIST_FAILED], n))
    fault(c, "history failure count");
  if (!is_count(v[EVO_HIST_CACHE_HITS], n))
    fault(c, "history cache-hit count");
  double compute = v[EVO_HIST_COMPUTE], evals = v[EVO_HIST_EVALUATIONS];
  if (!(compute >= (prev ? prev->values[EVO_HIST_COMPUTE] : 0.0) &&
        compute <= (double)pop->compute_us * 1e-6))
    fault(c, "history compute");
  if (!is_count(evals, (double)pop->evaluations) ||
      (prev != NULL && evals < prev->values[EVO_HIST_EVALUATIONS]))
    fault(c, "history evaluation count");
  uint64_t terms = 0;
  for (size_t k = 0; k < EVO_TERM_COUNT; k++)
    terms += rec->terms[k];
  if (terms < pop->n_ind || terms > (uint64_t)EVO_MAX_TERMS * pop->n_ind)
    fault(c, "history term counts");
}

static int get_history(ckpt_reader *c, evo_population *pop) {
  size_t n = get_count(c, pop->generation, "history count");
  if (reading(c) && n != pop->generation)
    fault(c, "history count");
  for (size_t i = 0; i < n && reading(c); i++) {
    evo_gen_record *rec = NULL;
    int rc = evo_population_add_record(pop, &rec);
    if (rc != EVO_OK)
      return rc;
    get_record(c, rec);
    if (reading(c))
      check_record(c, pop, rec, i > 0 ? pop->history[i - 1] : NULL);
  }
  return EVO_OK;
}

static void get_hof(ckpt_reader *c, evo_population *pop) {
  size_t cap = (size_t)pop->settings[EVO_POP_HALL_OF_FAME];
  pop->n_hof = get_count(c, cap, "hall-of-fame count");
  for (size_t i = 0; i < pop->n_hof && reading(c); i++) {
    get_genome(c, &pop->hof[i].genome);
    pop->hof[i].fitness = get_f64(c);
    pop->hof[i].generation = evo_rbuf_u64(&c->r);
    if (reading(c) && pop->hof[i].generation >= pop->generation)
      fault(c, "hall-of-fame generation");
    if (reading(c) && !isfinite(pop->hof[i].fitness))
      fault(c, "hall-of-fame fitness");
    if (reading(c) && i > 0 && pop->hof[i].fitness > pop->hof[i - 1].fitness)
      fault(c, "hall-of-fame order (best first)");
  }
}

/* The cache entries, each checked as a genome and a report; entries only
 * with the cache on. */
static int get_cache(ckpt_reader *c, evo_population *pop) {
  /* A genome, a seed, a report: never fewer bytes than this. */
  size_t min_entry = EVO_GENOME_BYTES + 8 + 8 + 4;
  size_t n = get_count(c, (c->r.size - c->r.pos) / min_entry, "cache count");
  if (n > 0 && pop->settings[EVO_POP_CACHE] == EVO_CACHE_OFF)
    fault(c, "cache count");
  evo_genome key;
  evo_report rep;
  for (size_t i = 0; i < n && reading(c); i++) {
    get_genome(c, &key);
    uint64_t seed = evo_rbuf_u64(&c->r);
    uint32_t rung = c->version == CKPT_VERSION_OLD ? 0 : evo_rbuf_u32(&c->r);
    get_report(c, &rep);
    if (!reading(c))
      break;
    if (rung >= (uint32_t)pop->settings[EVO_POP_RUNGS])
      fault(c, "cache entry rung");
    if (evo_cache_find(&pop->cache, &key, seed, rung) != NULL)
      fault(c, "cache entry (twice)");
    int rc = evo_cache_insert(&pop->cache, &key, seed, rung, &rep);
    if (rc != EVO_OK)
      return rc;
  }
  return EVO_OK;
}

/* A job or promotion: its genome, a creator before @p created, a rung
 * below the run's (@p min_rung and up). */
static void get_steady_job(ckpt_reader *c, const evo_population *pop,
                           evo_steady_job *job, uint64_t created,
                           uint32_t min_rung) {
  *job = (evo_steady_job){0};
  get_genome(c, &job->genome);
  job->origin = evo_rbuf_u64(&c->r);
  job->rung = evo_rbuf_u8(&c->r);
  if (reading(c) && job->origin >= created)
    fault(c, "steady-state job origin");
  if (reading(c) && (job->rung < min_rung ||
                     job->rung >= (uint32_t)pop->settings[EVO_POP_RUNGS]))
    fault(c, "steady-state job rung");
}

/* The counters against the run: generation g's results, all of them when
 * the run is over, no more jobs than the run has nor uncommitted than the
 * window allows; the individuals evaluated exactly when committed. */
static void check_steady_counts(ckpt_reader *c, const evo_population *pop) {
  const evo_steady *s = &pop->steady;
  uint64_t n = (uint64_t)pop->settings[EVO_POP_SIZE];
  uint64_t total = n * (uint64_t)pop->settings[EVO_POP_GENERATIONS];
  uint64_t g = (uint64_t)pop->generation;
  if (s->committed < g * n || s->committed > (g + 1) * n ||
      s->committed > total || (g * n == total && s->committed != total))
    fault(c, "steady-state committed count");
  else if (s->created < n || s->created > total ||
           s->created < s->committed ||
           s->created - s->committed > s->cap)
    fault(c, "steady-state created count");
  for (size_t i = 0; i < pop->n_ind && reading(c); i++)
    if (pop->ind[i].evaluated != (s->committed >= n || i < s->committed))
      fault(c, "steady-state individual (evaluated or not)");
}

/* A rung's record: successes no more than results, highest first. */
static int get_steady_rung(ckpt_reader *c, evo_steady_rung *sr) {
  sr->n = evo_rbuf_u64(&c->r);
  size_t m = get_count(c, (c->r.size - c->r.pos) / 8, "rung record count");
  if (reading(c) && m > sr->n)
    fault(c, "rung record count");
  if (!reading(c) || m == 0)
    return EVO_OK;
  sr->sorted = evo_calloc(m, sizeof *sr->sorted);
  if (sr->sorted == NULL)
    return EVO_ENOMEM;
  sr->cap = m;
  for (size_t i = 0; i < m && reading(c); i++) {
    sr->sorted[i] = get_f64(c);
    sr->m = i + 1;
    if (reading(c) && (!isfinite(sr->sorted[i]) ||
                       (i > 0 && sr->sorted[i] > sr->sorted[i - 1])))
      fault(c, "rung record fitness");
  }
  return EVO_OK;
}

static int get_steady(ckpt_reader *c, evo_population *pop) {
  int rc = evo_steady_alloc(pop);
  if (rc != EVO_OK)
    return rc;
  evo_steady *s = &pop->steady;
  s->committed = evo_rbuf_u64(&c->r);
  s->created = evo_rbuf_u64(&c->r);
  if (reading(c))
    check_steady_counts(c, pop);
  for (uint64_t k = s->committed; k < s->created && reading(c); k++) {
    evo_steady_job *job = &s->jobs[k % s->cap];
    get_steady_job(c, pop, job, k + 1, 0);
    uint8_t hit = evo_rbuf_u8(&c->r);
    job->hit = hit == 1;
    job->state = job->hit ? EVO_STEADY_DONE : EVO_STEADY_CREATED;
    evo_genome key;
    int mode = (int)pop->settings[EVO_POP_CACHE];
    if (reading(c) &&
        (hit > 1 || (job->hit && !(mode != EVO_CACHE_OFF &&
                                   evo_cache_key_genome(mode, &job->genome,
                                                        &key) &&
                                   evo_cache_find(&pop->cache, &key,
                                                  evo_steady_seed(pop,
                                                                  job->origin),
                                                  job->rung)))))
      fault(c, "steady-state job (a hit not in the cache)");
  }
  size_t nq = get_count(c, (c->r.size - c->r.pos) / EVO_GENOME_BYTES,
                        "promotion count");
  if (reading(c) && pop->settings[EVO_POP_RUNGS] == 1 && nq > 0)
    fault(c, "promotion count");
  if (reading(c) && nq > 0) {
    s->queue = evo_calloc(nq, sizeof *s->queue);
    if (s->queue == NULL)
      return EVO_ENOMEM;
    s->q_cap = nq;
  }
  for (size_t i = 0; i < nq && reading(c); i++) {
    get_steady_job(c, pop, &s->queue[i], s->created, 1);
    s->q_tail = i + 1;
  }
  for (int64_t r = 0; r + 1 < pop->settings[EVO_POP_RUNGS] && reading(c);
       r++)
    if ((rc = get_steady_rung(c, &s->rungs[r])) != EVO_OK)
      return rc;
  pop->n_evaluated = (size_t)(s->committed - (uint64_t)pop->generation *
                                                 (uint64_t)pop->n_ind);
  return EVO_OK;
}

/* One report's cost (version 5): finite, from 0 to the run's compute. */
static void get_cost(ckpt_reader *c, const evo_population *pop,
                     evo_report *rep) {
  rep->cost = get_f64(c);
  if (reading(c) && !(isfinite(rep->cost) && rep->cost >= 0.0 &&
                      evo_pop_cost_us(rep) <= pop->compute_us))
    fault(c, "report cost");
}

/* The costs of the evaluated individuals' and the history's best reports
 * (version 5; before it they stay 0, unknown). */
static void get_costs(ckpt_reader *c, evo_population *pop) {
  size_t want = pop->n_history;
  for (size_t i = 0; i < pop->n_ind; i++)
    want += pop->ind[i].evaluated;
  if (get_count(c, want, "report cost count") != want)
    fault(c, "report cost count");
  for (size_t i = 0; i < pop->n_ind && reading(c); i++)
    if (pop->ind[i].evaluated)
      get_cost(c, pop, &pop->ind[i].report);
  for (size_t i = 0; i < pop->n_history && reading(c); i++)
    get_cost(c, pop, &pop->history[i]->best_report);
}

/* Reads the tag and checks it against @p want (NULL: any). */
static int get_tag(ckpt_reader *c, evo_population *pop, const char *want) {
  pop->ckpt_tag = evo_rbuf_str(&c->r, CKPT_LIMIT);
  if (pop->ckpt_tag == NULL)
    return reading(c) ? EVO_ENOMEM : EVO_OK; /* truncation is found later */
  if (want != NULL && strcmp(want, pop->ckpt_tag) != 0)
    return evo_set_error(EVO_EMISMATCH,
                         "the checkpoint's tag '%.200s' differs from the "
                         "expected '%.200s' (another fitness setup)",
                         pop->ckpt_tag, want);
  return EVO_OK;
}

/* Fills a fresh population from a payload. */
static int get_population(ckpt_reader *c, evo_population *pop,
                          const char *tag) {
  get_settings(c, pop);
  int rc = reading(c) ? get_tag(c, pop, tag) : EVO_OK;
  if (rc == EVO_OK && reading(c))
    rc = get_initial(c, pop);
  if (rc != EVO_OK || !reading(c))
    return rc;
  pop->generation = (size_t)evo_rbuf_u64(&c->r);
  if ((int64_t)pop->generation > pop->settings[EVO_POP_GENERATIONS])
    fault(c, "generation");
  if (c->version != CKPT_VERSION_OLD) {
    pop->phase = evo_rbuf_u32(&c->r);
    pop->compute_us = evo_rbuf_u64(&c->r);
    pop->evaluations = evo_rbuf_u64(&c->r);
    if (reading(c) && (pop->phase >= (uint32_t)pop->settings[EVO_POP_RUNGS] ||
                       (is_steady(pop) && pop->phase != 0)))
      fault(c, "rung phase");
    if (reading(c) && pop->compute_us > (UINT64_C(1) << 62))
      fault(c, "compute");
  }
  /* Allocate only what the payload can fill: a damaged size must not ask
   * for gigabytes. */
  if ((size_t)pop->settings[EVO_POP_SIZE] >
      (c->r.size - c->r.pos) / EVO_GENOME_BYTES)
    fault(c, "population size");
  if (!reading(c) || (rc = evo_population_alloc_run(pop)) != EVO_OK)
    return rc;
  get_individuals(c, pop);
  rc = get_history(c, pop);
  if (rc == EVO_OK)
    get_hof(c, pop);
  if (rc == EVO_OK && reading(c))
    rc = get_cache(c, pop);
  if (rc == EVO_OK && reading(c) && is_steady(pop))
    rc = get_steady(c, pop);
  if (rc == EVO_OK && reading(c) && c->version >= CKPT_VERSION)
    get_costs(c, pop);
  return rc;
}

static int parse_checkpoint(evo_population *pop, const unsigned char *file,
                            size_t size, const char *path, const char *tag) {
  const unsigned char *payload;
  size_t n;
  uint32_t version;
  int rc = evo_frame_open(CKPT_MAGIC, CKPT_WHAT, file, size, &version,
                          &payload, &n);
  if (rc != EVO_OK)
    return evo_wrap_error(rc, "'%s'", path);
  if (version < CKPT_VERSION_OLD || version > CKPT_VERSION)
    return evo_set_error(EVO_EFORMAT,
                         "'%s': checkpoint format version %u, this library "
                         "reads versions %u to %u",
                         path, version, CKPT_VERSION_OLD, CKPT_VERSION);
  ckpt_reader c = {.r = {payload, n, 0, true}, .bad = NULL,
                   .version = version};
  rc = get_population(&c, pop, tag);
  if (rc != EVO_OK)
    return evo_wrap_error(rc, "'%s'", path);
  if (c.bad != NULL)
    return evo_set_error(EVO_EFORMAT, "'%s': invalid %s in the checkpoint",
                         path, c.bad);
  if (!c.r.ok || c.r.pos != c.r.size)
    return evo_set_error(EVO_EFORMAT, "'%s': the checkpoint's payload is %s",
                         path, c.r.ok ? "followed by extra bytes"
                                      : "shorter than its contents");
  pop->started = true;
  pop->ckpt_path = evo_strdup(path);
  return pop->ckpt_path ? EVO_OK : EVO_ENOMEM;
}

/* Reads the file whole, its header first: never more than the payload it
 * declares (one byte more, so that a padded file is named so), which must
 * be within CKPT_LIMIT (a gzip bomb declares little or a lot, and
 * inflates to gigabytes). */
static int read_checkpoint_file(const char *path, unsigned char **file,
                                size_t *size) {
  uint32_t version = 0;
  uint64_t declared = 0;
  int rc = evo_frame_peek(path, CKPT_MAGIC, CKPT_WHAT, &version, &declared);
  if (rc != EVO_OK)
    return rc;
  if (declared > CKPT_LIMIT - EVO_FRAME_BYTES)
    return evo_set_error(EVO_EFORMAT,
                         "'%s': " CKPT_WHAT ": declares %llu bytes, more "
                         "than the %zu a checkpoint may hold",
                         path, (unsigned long long)declared,
                         CKPT_LIMIT - EVO_FRAME_BYTES);
  return evo_read_file(path, EVO_FRAME_BYTES + (size_t)declared + 1, file,
                       size);
}

EVO_API int evo_population_resume(evo_population **out, const char *path,
                                  const char *tag) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  EVO_CHECK_ARG(path);
  unsigned char *file = NULL;
  size_t size = 0;
  evo_population *pop = NULL;
  int rc = read_checkpoint_file(path, &file, &size);
  if (rc == EVO_OK)
    rc = evo_population_new(&pop);
  if (rc == EVO_OK)
    rc = parse_checkpoint(pop, file, size, path, tag);
  free(file);
  if (rc != EVO_OK) {
    evo_population_free(pop);
    return rc;
  }
  *out = pop;
  return EVO_OK;
}
