/* The genetic algorithm (doc/algorithm.md §4): settings, generation 0, the
 * generation loop (evaluate, record history and hall of fame, breed) and
 * the getters. The run state (settings checks, allocation, ranking,
 * history and hall of fame) lives in run.c, evaluation and its worker
 * threads in population_eval.c, the checkpoint encoder in checkpoint.c,
 * resuming in resume.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "evolve/population_internal.h"

/* Tags mixed into evo_seed_derive so that the streams of generation 0
 * (run seed, "init", index) and of breeding (run seed, generation,
 * "breed") never meet the evaluation seeds (run seed, generation, index):
 * ASCII "init" and "breed", both far above any index. */
#define SEED_TAG_INIT UINT64_C(0x696e6974)
#define SEED_TAG_BREED UINT64_C(0x6272656564)
/* Random search's genomes: (run seed, generation, "random") then index. */
#define SEED_TAG_RANDOM UINT64_C(0x72616e646f6d)

/* ---- settings ----------------------------------------------------------- */

/* The `paper` settings (doc/algorithm.md §4), indexed by evo_pop_setting. */
static const int64_t setting_defaults[EVO_POP_SETTING_COUNT] = {
    50, 50, 3, 4, 42, 1, 0, 10, 0, EVO_ALGO_GA, 1, 3, 0, 4};

static bool setting_known(evo_pop_setting s) {
  return (unsigned)s < EVO_POP_SETTING_COUNT;
}

static int check_idle(const evo_population *pop, const char *what) {
  if (pop->busy)
    return evo_set_error(EVO_ESTATE, "%s: not allowed from a callback "
                         "during a step", what);
  return EVO_OK;
}

static int check_not_started(const evo_population *pop, const char *what) {
  int rc = check_idle(pop, what);
  if (rc == EVO_OK && pop->started)
    rc = evo_set_error(EVO_ESTATE, "%s: the run has started", what);
  return rc;
}

/* ---- creation ----------------------------------------------------------- */

static const char *const baselines[] = {"sgd", "adam", "adamw", "rmsprop"};
#define N_BASELINES (sizeof baselines / sizeof baselines[0])

static int load_baselines(evo_population *pop) {
  pop->initial = evo_calloc(N_BASELINES, sizeof *pop->initial);
  if (pop->initial == NULL)
    return EVO_ENOMEM;
  for (size_t i = 0; i < N_BASELINES; i++) {
    evo_genome *g = NULL;
    int rc = evo_genome_preset(&g, baselines[i]);
    if (rc != EVO_OK)
      return rc;
    pop->initial[i] = *g;
    evo_genome_free(g);
  }
  pop->n_initial = N_BASELINES;
  return EVO_OK;
}

EVO_API int evo_population_new(evo_population **out) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  evo_population *pop = evo_calloc(1, sizeof *pop);
  if (pop == NULL)
    return EVO_ENOMEM;
  memcpy(pop->settings, setting_defaults, sizeof pop->settings);
  int rc = load_baselines(pop);
  if (rc != EVO_OK) {
    evo_population_free(pop);
    return rc;
  }
  *out = pop;
  return EVO_OK;
}

EVO_API void evo_population_free(evo_population *pop) {
  if (pop == NULL)
    return;
  free(pop->initial);
  free(pop->ckpt_path);
  free(pop->ckpt_tag);
  for (size_t i = 0; i < pop->n_history; i++)
    free(pop->history[i]);
  free(pop->history);
  evo_cache_free(&pop->cache);
  evo_steady_free(&pop->steady);
  evo_population_free_run(pop);
  free(pop);
}

/* ---- configuration ------------------------------------------------------ */

/* evo_population_set() and its aliases; a refusal names @p fn, the call
 * the user made. */
static int population_set(evo_population *pop, evo_pop_setting setting,
                          int64_t value, const char *fn) {
  EVO_CHECK_ARG(pop);
  int rc = evo_population_check_setting(setting, value);
  if (rc != EVO_OK)
    return rc;
  /* Workers never change results, and the budget only where the run
   * stops, so they may change between steps. */
  rc = setting == EVO_POP_WORKERS || setting == EVO_POP_BUDGET
           ? check_idle(pop, fn)
           : check_not_started(pop, fn);
  if (rc != EVO_OK)
    return rc;
  pop->settings[setting] = value;
  return EVO_OK;
}

EVO_API int evo_population_set(evo_population *pop, evo_pop_setting setting,
                               int64_t value) {
  return population_set(pop, setting, value, __func__);
}

EVO_API int evo_population_get(const evo_population *pop,
                               evo_pop_setting setting, int64_t *out) {
  EVO_CHECK_ARG(pop);
  EVO_CHECK_ARG(out);
  if (!setting_known(setting))
    return evo_set_error(EVO_EINVAL, "unknown population setting %d",
                         (int)setting);
  *out = pop->settings[setting];
  return EVO_OK;
}

EVO_API int evo_population_set_option(evo_population *pop,
                                      evo_pop_setting setting, int64_t value) {
  return population_set(pop, setting, value, __func__);
}

EVO_API int evo_population_get_option(const evo_population *pop,
                                      evo_pop_setting setting, int64_t *out) {
  return evo_population_get(pop, setting, out);
}

/* The typed calls (doc/api-conventions.md): every setting is an integer. */

/* The spec of @p setting, or false with EVO_EINVAL set. */
static bool setting_spec(evo_pop_setting setting, const char *fn,
                         evo_option_spec *out) {
  if (evo_population_setting_spec(setting, out))
    return true;
  evo_set_error(EVO_EINVAL, "%s: unknown population setting %d", fn,
                (int)setting);
  return false;
}

EVO_API int evo_population_option_bounds(evo_pop_setting setting,
                                         evo_option_bounds *out) {
  EVO_CHECK_ARG(out);
  evo_option_spec s;
  if (!setting_spec(setting, __func__, &s))
    return EVO_EINVAL;
  evo_option_spec_bounds(&s, out);
  return EVO_OK;
}

EVO_API int evo_population_set_option_i64(evo_population *pop,
                                          evo_pop_setting setting,
                                          int64_t value) {
  return population_set(pop, setting, value, __func__);
}

EVO_API int evo_population_get_option_i64(const evo_population *pop,
                                          evo_pop_setting setting,
                                          int64_t *out) {
  return evo_population_get(pop, setting, out);
}

EVO_API int evo_population_set_option_f64(evo_population *pop,
                                          evo_pop_setting setting,
                                          double value) {
  (void)value;
  EVO_CHECK_ARG(pop);
  evo_option_spec s;
  if (!setting_spec(setting, __func__, &s))
    return EVO_EINVAL;
  return evo_option_check_type(__func__, &s, true);
}

EVO_API int evo_population_get_option_f64(const evo_population *pop,
                                          evo_pop_setting setting,
                                          double *out) {
  EVO_CHECK_ARG(pop);
  EVO_CHECK_ARG(out);
  evo_option_spec s;
  if (!setting_spec(setting, __func__, &s))
    return EVO_EINVAL;
  return evo_option_check_type(__func__, &s, true);
}

EVO_API int evo_population_set_initial(evo_population *pop,
                                       const evo_genome *const *genomes,
                                       size_t n) {
  EVO_CHECK_ARG(pop);
  if (n > 0)
    EVO_CHECK_ARG(genomes);
  int rc = check_not_started(pop, "evo_population_set_initial");
  if (rc != EVO_OK)
    return rc;
  if ((int64_t)n > pop->settings[EVO_POP_SIZE])
    return evo_set_error(EVO_ERANGE,
                         "%zu initial genomes exceed the population size "
                         "%lld",
                         n, (long long)pop->settings[EVO_POP_SIZE]);
  for (size_t i = 0; i < n; i++)
    if (genomes[i] == NULL)
      return evo_set_error(EVO_EINVAL, "initial genome %zu is NULL", i);
  evo_genome *copy = evo_calloc(n, sizeof *copy);
  if (copy == NULL)
    return EVO_ENOMEM;
  for (size_t i = 0; i < n; i++)
    copy[i] = *genomes[i];
  free(pop->initial);
  pop->initial = copy;
  pop->n_initial = n;
  return EVO_OK;
}

EVO_API int evo_population_set_fitness(evo_population *pop, evo_fitness_fn fn,
                                       void *user) {
  EVO_CHECK_ARG(pop);
  EVO_CHECK_ARG(fn);
  int rc = check_idle(pop, "evo_population_set_fitness");
  if (rc != EVO_OK)
    return rc;
  pop->fitness_fn = fn;
  pop->fitness_rung_fn = NULL;
  pop->fitness_user = user;
  return EVO_OK;
}

EVO_API int evo_population_set_fitness_rung(evo_population *pop,
                                            evo_fitness_rung_fn fn,
                                            void *user) {
  EVO_CHECK_ARG(pop);
  EVO_CHECK_ARG(fn);
  int rc = check_idle(pop, "evo_population_set_fitness_rung");
  if (rc != EVO_OK)
    return rc;
  pop->fitness_fn = NULL;
  pop->fitness_rung_fn = fn;
  pop->fitness_user = user;
  return EVO_OK;
}

EVO_API int evo_population_set_backend(evo_population *pop,
                                       evo_backend *backend) {
  EVO_CHECK_ARG(pop);
  int rc = check_idle(pop, "evo_population_set_backend");
  if (rc == EVO_OK)
    pop->backend = backend;
  return rc;
}

EVO_API int evo_population_set_progress(evo_population *pop,
                                        evo_progress_fn fn, void *user) {
  EVO_CHECK_ARG(pop);
  int rc = check_idle(pop, "evo_population_set_progress");
  if (rc != EVO_OK)
    return rc;
  pop->progress_fn = fn;
  pop->progress_user = user;
  return EVO_OK;
}

EVO_API int evo_population_set_checkpoint(evo_population *pop,
                                          const char *path, const char *tag) {
  EVO_CHECK_ARG(pop);
  int rc = check_idle(pop, "evo_population_set_checkpoint");
  if (rc != EVO_OK)
    return rc;
  char *p = NULL, *t = NULL;
  if (path != NULL) {
    p = evo_strdup(path);
    t = evo_strdup(tag ? tag : "");
    if (p == NULL || t == NULL) {
      free(p);
      free(t);
      return EVO_ENOMEM;
    }
  }
  free(pop->ckpt_path);
  free(pop->ckpt_tag);
  pop->ckpt_path = p;
  pop->ckpt_tag = t;
  return EVO_OK;
}

EVO_API int evo_population_get_checkpoint(const evo_population *pop,
                                          const char **path,
                                          const char **tag) {
  EVO_CHECK_ARG(pop);
  if (path != NULL)
    *path = pop->ckpt_path;
  if (tag != NULL)
    *tag = pop->ckpt_path != NULL ? pop->ckpt_tag : NULL;
  return EVO_OK;
}

static uint32_t top_rung(const evo_population *pop) {
  return evo_population_top_rung(pop);
}

/* ---- the generation loop ------------------------------------------------ */

static void clear_result(evo_individual *ind) {
  ind->evaluated = false;
  ind->cached = false;
  ind->rung = 0;
  ind->fitness = NAN;
  ind->status = EVO_OK;
  ind->error[0] = 0;
  evo_report_clear(&ind->report);
}

/* Generation 0 (doc/algorithm.md §4, "Initial population"): the initial
 * genomes, then random genomes seeded by (run seed, "init", index). */
static int start_run(evo_population *pop) {
  int rc = evo_population_check_settings(pop);
  if (rc == EVO_OK)
    rc = evo_population_alloc_run(pop);
  if (rc != EVO_OK)
    return rc;
  uint64_t run_seed = (uint64_t)pop->settings[EVO_POP_RUN_SEED];
  for (size_t i = 0; i < pop->n_ind; i++) {
    if (i < pop->n_initial) {
      pop->ind[i].genome = pop->initial[i];
    } else {
      evo_rng r;
      evo_rng_seed(&r, evo_seed_derive(run_seed, SEED_TAG_INIT, i));
      evo_breed_random(&pop->ind[i].genome, &r);
    }
    clear_result(&pop->ind[i]);
  }
  pop->started = true;
  return EVO_OK;
}

/* Breeds the next generation in place of the current one, which
 * record_generation() has just ranked into scratch (doc/algorithm.md §4, "One
 * generation", steps 2 and 3). Mutation follows the schedule of the
 * generation just evaluated: the children of generation g get d = 1 -
 * 0.5·g/G. */
static void breed_generation(evo_population *pop) {
  evo_pop_scratch *s = &pop->scratch;
  size_t n = pop->n_ind, elites = (size_t)pop->settings[EVO_POP_ELITES];
  size_t k = (size_t)pop->settings[EVO_POP_TOURNAMENT];
  uint32_t gen = (uint32_t)pop->generation;
  uint32_t total = (uint32_t)pop->settings[EVO_POP_GENERATIONS];
  uint64_t run_seed = (uint64_t)pop->settings[EVO_POP_RUN_SEED];
  evo_rng r;
  if (pop->settings[EVO_POP_ALGORITHM] == EVO_ALGO_RANDOM) {
    /* Random search: generation g + 1 is drawn from (run seed, g + 1,
     * "random", index), whatever came before. */
    uint64_t base = evo_seed_derive(run_seed, (uint64_t)gen + 1,
                                    SEED_TAG_RANDOM);
    for (size_t i = 0; i < n; i++) {
      evo_rng_seed(&r, evo_seed_derive(base, i, 0));
      evo_breed_random(&s->next[i], &r);
    }
    elites = n;
  } else {
    evo_rng_seed(&r, evo_seed_derive(run_seed, gen, SEED_TAG_BREED));
    for (size_t i = 0; i < elites; i++) /* the best, in rank order */
      s->next[i] = pop->ind[s->ranked[i].index].genome;
  }
  for (size_t i = elites; i < n; i++) {
    size_t a = evo_breed_tournament(s->fitness, n, k, s->perm, &r);
    size_t b = evo_breed_tournament(s->fitness, n, k, s->perm, &r);
    evo_breed_crossover(&s->next[i], &pop->ind[a].genome,
                        &pop->ind[b].genome, &r);
    evo_breed_mutate(&s->next[i], gen, total, &r);
  }
  for (size_t i = 0; i < n; i++) {
    pop->ind[i].genome = s->next[i];
    clear_result(&pop->ind[i]);
  }
  pop->n_evaluated = 0;
  pop->phase = 0;
}

static bool is_last_generation(const evo_population *pop) {
  return (int64_t)pop->generation + 1 >= pop->settings[EVO_POP_GENERATIONS];
}

/* Closes a fully evaluated generation: history, hall of fame, the
 * generation event, breeding (unless it was the last), checkpoint. The
 * event comes before breeding so that the callback still sees the
 * evaluated individuals. */
static int close_generation(evo_population *pop) {
  int rc = evo_population_record(pop);
  if (rc != EVO_OK)
    return rc;
  bool stop = pop->progress_fn != NULL &&
              pop->progress_fn(pop->progress_user, EVO_EVENT_GENERATION, pop,
                               pop->generation, 0) != 0;
  if (!is_last_generation(pop))
    breed_generation(pop);
  pop->generation++;
  if (pop->ckpt_path != NULL && (rc = evo_checkpoint_write(pop)) != EVO_OK)
    return rc;
  if (stop)
    return evo_set_error(EVO_ECANCELED, "the progress callback stopped the "
                         "run after generation %zu",
                         pop->generation - 1);
  return EVO_OK;
}

/* Multi-fidelity search needs the rung to reach the fitness. */
static int check_rungs(const evo_population *pop) {
  if (pop->settings[EVO_POP_RUNGS] == 1)
    return EVO_OK;
  bool ok = pop->backend != NULL ? evo_backend_has_rungs(pop->backend)
                                 : pop->fitness_rung_fn != NULL;
  if (!ok)
    return evo_set_error(EVO_EUNSUPPORTED,
                         "evo_population_step: %lld rungs need a fitness "
                         "callback that takes the rung "
                         "(evo_population_set_fitness_rung) or a back end "
                         "made with evo_backend_new_rung",
                         (long long)pop->settings[EVO_POP_RUNGS]);
  return EVO_OK;
}

/* Sends the best ceil(n/η) of the n individuals evaluated at the current
 * rung on to the next (doc/algorithm.md §9); failures never go on, ties go
 * to the lower index. */
static void promote(evo_population *pop) {
  evo_pop_scratch *s = &pop->scratch;
  size_t n = 0, m = 0;
  for (size_t i = 0; i < pop->n_ind; i++) {
    const evo_individual *ind = &pop->ind[i];
    if (ind->rung != pop->phase)
      continue;
    n++;
    if (ind->status == EVO_OK)
      s->fitness[m] = ind->fitness, s->perm[m++] = i;
  }
  size_t eta = (size_t)pop->settings[EVO_POP_PROMOTE];
  size_t k = (n + eta - 1) / eta;
  evo_breed_rank(s->fitness, m, s->ranked);
  for (size_t r = 0; r < k && r < m; r++) {
    evo_individual *ind = &pop->ind[s->perm[s->ranked[r].index]];
    ind->rung = (uint8_t)(pop->phase + 1);
    ind->evaluated = false;
    pop->n_evaluated--;
  }
  pop->phase++;
}

/* Evaluates the generation rung by rung, up to the full evaluation, or
 * until the budget is spent (the generation then stays open). */
static int evaluate_rungs(evo_population *pop) {
  for (;;) {
    int rc = evo_population_evaluate(pop);
    if (rc != EVO_OK || pop->n_evaluated < pop->n_ind ||
        pop->phase == top_rung(pop))
      return rc;
    promote(pop);
  }
}

/* One step of the run: a generation of the GA or of random search; for
 * steady-state evolution, commits up to the end of the current
 * generation or (@p to_end) of the run. */
static int advance(evo_population *pop, bool to_end) {
  int rc = check_idle(pop, "evo_population_step");
  if (rc != EVO_OK)
    return rc;
  if (pop->fitness_fn == NULL && pop->fitness_rung_fn == NULL &&
      pop->backend == NULL)
    return evo_set_error(EVO_ESTATE, "evo_population_step: no fitness "
                         "callback (evo_population_set_fitness or "
                         "evo_population_set_fitness_rung) and no back end "
                         "(evo_population_set_backend)");
  if (evo_population_finished(pop))
    return evo_set_error(EVO_ESTATE,
                         evo_population_budget_spent(pop)
                             ? "evo_population_step: the compute budget is "
                               "spent (%zu generations done); raise "
                               "EVO_POP_BUDGET to go on"
                             : "evo_population_step: the run is finished "
                               "(%zu generations)",
                         pop->generation);
  bool steady = pop->settings[EVO_POP_ALGORITHM] == EVO_ALGO_STEADY;
  if (!pop->started && (rc = start_run(pop)) != EVO_OK)
    return rc;
  if (steady && pop->steady.jobs == NULL &&
      (rc = evo_steady_start(pop)) != EVO_OK)
    return rc;
  if ((rc = check_rungs(pop)) != EVO_OK)
    return rc;
  pop->busy = true;
  if (steady) {
    rc = evo_steady_advance(pop, to_end);
  } else {
    rc = evaluate_rungs(pop);
    if (rc == EVO_OK && pop->n_evaluated == pop->n_ind &&
        pop->phase == top_rung(pop))
      rc = close_generation(pop);
  }
  pop->busy = false;
  return rc;
}

EVO_API int evo_population_step(evo_population *pop) {
  EVO_CHECK_ARG(pop);
  return advance(pop, false);
}

EVO_API int evo_population_run(evo_population *pop) {
  EVO_CHECK_ARG(pop);
  int rc = EVO_OK;
  while (rc == EVO_OK && !evo_population_finished(pop))
    rc = advance(pop, true);
  return rc;
}

/* ---- getters ------------------------------------------------------------ */

EVO_API size_t evo_population_generation(const evo_population *pop) {
  return pop ? pop->generation : 0;
}

EVO_API int evo_population_finished(const evo_population *pop) {
  return pop != NULL &&
         ((int64_t)pop->generation >= pop->settings[EVO_POP_GENERATIONS] ||
          evo_population_budget_spent(pop));
}

EVO_API double evo_population_compute(const evo_population *pop) {
  return pop ? (double)pop->compute_us * 1e-6 : 0.0;
}


EVO_API size_t evo_population_size(const evo_population *pop) {
  return pop ? pop->n_ind : 0;
}

static int check_individual(const evo_population *pop, size_t index) {
  if (index >= pop->n_ind)
    return evo_set_error(EVO_ERANGE, "no individual %zu: the generation "
                         "holds %zu",
                         index, pop->n_ind);
  return EVO_OK;
}

EVO_API int evo_population_individual(const evo_population *pop, size_t index,
                                      const evo_genome **g, double *fitness) {
  EVO_CHECK_ARG(pop);
  int rc = check_individual(pop, index);
  if (rc != EVO_OK)
    return rc;
  const evo_individual *ind = &pop->ind[index];
  if (g != NULL)
    *g = &ind->genome;
  if (fitness != NULL) /* result fields are a worker's until evaluated */
    *fitness = ind->evaluated ? ind->fitness : NAN;
  return EVO_OK;
}

EVO_API int evo_population_individual_error(const evo_population *pop,
                                            size_t index, int *status,
                                            const char **message) {
  EVO_CHECK_ARG(pop);
  int rc = check_individual(pop, index);
  if (rc != EVO_OK)
    return rc;
  const evo_individual *ind = &pop->ind[index];
  if (status != NULL)
    *status = ind->evaluated ? ind->status : EVO_OK;
  if (message != NULL)
    *message = ind->evaluated ? ind->error : "";
  return EVO_OK;
}

EVO_API int evo_population_individual_cached(const evo_population *pop,
                                             size_t index, int *cached) {
  EVO_CHECK_ARG(pop);
  EVO_CHECK_ARG(cached);
  int rc = check_individual(pop, index);
  if (rc == EVO_OK)
    *cached = pop->ind[index].evaluated && pop->ind[index].cached;
  return rc;
}

EVO_API size_t evo_population_cache_count(const evo_population *pop) {
  return pop ? pop->cache.n : 0;
}

EVO_API size_t evo_population_evaluated(const evo_population *pop) {
  return pop ? pop->n_evaluated : 0;
}

EVO_API size_t evo_population_history_count(const evo_population *pop) {
  return pop ? pop->n_history : 0;
}

static int get_record(const evo_population *pop, size_t generation,
                      const evo_gen_record **out) {
  EVO_CHECK_ARG(pop);
  if (generation >= pop->n_history)
    return evo_set_error(EVO_ERANGE, "generation %zu is not recorded (%zu "
                         "are)",
                         generation, pop->n_history);
  *out = pop->history[generation];
  return EVO_OK;
}

EVO_API int evo_population_history(const evo_population *pop,
                                   size_t generation, evo_history_key key,
                                   double *out) {
  EVO_CHECK_ARG(out);
  if ((unsigned)key >= EVO_HIST_COUNT)
    return evo_set_error(EVO_EINVAL, "unknown history key %d", (int)key);
  const evo_gen_record *rec = NULL;
  int rc = get_record(pop, generation, &rec);
  if (rc == EVO_OK)
    *out = rec->values[key];
  return rc;
}

EVO_API int evo_population_history_best(const evo_population *pop,
                                        size_t generation,
                                        const evo_genome **g,
                                        const evo_report **report) {
  const evo_gen_record *rec = NULL;
  int rc = get_record(pop, generation, &rec);
  if (rc != EVO_OK)
    return rc;
  if (g != NULL)
    *g = &rec->best;
  if (report != NULL)
    *report = &rec->best_report;
  return EVO_OK;
}

EVO_API int evo_population_history_terms(const evo_population *pop,
                                         size_t generation,
                                         uint32_t counts[EVO_TERM_COUNT]) {
  EVO_CHECK_ARG(counts);
  const evo_gen_record *rec = NULL;
  int rc = get_record(pop, generation, &rec);
  if (rc == EVO_OK)
    memcpy(counts, rec->terms, sizeof rec->terms);
  return rc;
}

EVO_API int evo_population_history_terms_n(const evo_population *pop,
                                           size_t generation, uint32_t *counts,
                                           size_t n, size_t *written) {
  if (counts == NULL && n > 0)
    return evo_set_error(EVO_EINVAL,
                         "evo_population_history_terms_n: counts is NULL "
                         "with n = %zu",
                         n);
  const evo_gen_record *rec = NULL;
  int rc = get_record(pop, generation, &rec);
  if (rc != EVO_OK)
    return rc;
  size_t kinds = sizeof rec->terms / sizeof rec->terms[0];
  size_t m = n < kinds ? n : kinds;
  if (m > 0)
    memcpy(counts, rec->terms, m * sizeof rec->terms[0]);
  if (written != NULL)
    *written = m;
  return EVO_OK;
}

EVO_API size_t evo_population_hof_count(const evo_population *pop) {
  return pop ? pop->n_hof : 0;
}

EVO_API int evo_population_hof(const evo_population *pop, size_t rank,
                               const evo_genome **g, double *fitness,
                               size_t *generation) {
  EVO_CHECK_ARG(pop);
  if (rank >= pop->n_hof)
    return evo_set_error(EVO_ERANGE, "no hall-of-fame rank %zu (%zu "
                         "entries)",
                         rank, pop->n_hof);
  const evo_hof_entry *e = &pop->hof[rank];
  if (g != NULL)
    *g = &e->genome;
  if (fitness != NULL)
    *fitness = e->fitness;
  if (generation != NULL)
    *generation = (size_t)e->generation;
  return EVO_OK;
}

EVO_API int evo_population_individual_rung(const evo_population *pop,
                                           size_t index, uint32_t *rung) {
  EVO_CHECK_ARG(pop);
  EVO_CHECK_ARG(rung);
  int rc = check_individual(pop, index);
  if (rc == EVO_OK)
    *rung = pop->ind[index].rung;
  return rc;
}
