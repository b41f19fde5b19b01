/* The run state of a population (population_internal.h): settings
 * checks, the per-run allocation, ranking a generation, the history and
 * the hall of fame. The generation loop (population.c), evaluation
 * (population_eval.c), steady-state evolution (steady.c) and resuming
 * (resume.c) build on these; this file calls none of them. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "evolve/population_internal.h"

#define MAX_SIZE 1000000
#define MAX_HALL_OF_FAME 1000000

/* ---- settings ----------------------------------------------------------- */

static const char *const setting_names[EVO_POP_SETTING_COUNT] = {
    "size", "generations", "elites", "tournament",
    "run seed", "workers", "fresh seeds", "hall of fame", "cache",
    "algorithm", "rungs", "promote", "budget", "window"};

/* The header's names of the settings, for the typed calls' messages. */
static const char *const setting_keys[EVO_POP_SETTING_COUNT] = {
    "EVO_POP_SIZE",        "EVO_POP_GENERATIONS", "EVO_POP_ELITES",
    "EVO_POP_TOURNAMENT",  "EVO_POP_RUN_SEED",    "EVO_POP_WORKERS",
    "EVO_POP_FRESH_SEEDS", "EVO_POP_HALL_OF_FAME", "EVO_POP_CACHE",
    "EVO_POP_ALGORITHM",   "EVO_POP_RUNGS",       "EVO_POP_PROMOTE",
    "EVO_POP_BUDGET",      "EVO_POP_WINDOW"};

bool evo_population_setting_spec(evo_pop_setting setting,
                                 evo_option_spec *out) {
  int64_t lo = INT64_MIN, hi = INT64_MAX;
  switch (setting) {
  case EVO_POP_SIZE: lo = 2; hi = MAX_SIZE; break;
  case EVO_POP_GENERATIONS: lo = 1; hi = UINT32_MAX; break;
  case EVO_POP_ELITES: lo = 0; hi = MAX_SIZE - 1; break;
  case EVO_POP_TOURNAMENT: lo = 1; hi = MAX_SIZE; break;
  case EVO_POP_RUN_SEED: break; /* any value: its 64 bits seed the GA */
  case EVO_POP_WORKERS: lo = 1; hi = 256; break;
  case EVO_POP_FRESH_SEEDS: lo = 0; hi = 1; break;
  case EVO_POP_HALL_OF_FAME: lo = 1; hi = MAX_HALL_OF_FAME; break;
  case EVO_POP_CACHE: lo = EVO_CACHE_OFF; hi = EVO_CACHE_EXACT; break;
  case EVO_POP_ALGORITHM: lo = EVO_ALGO_GA; hi = EVO_ALGO_STEADY; break;
  case EVO_POP_RUNGS: lo = 1; hi = EVO_POP_MAX_RUNGS; break;
  case EVO_POP_PROMOTE: lo = 2; hi = 1000; break;
  case EVO_POP_BUDGET: lo = 0; hi = INT64_C(1) << 40; break;
  case EVO_POP_WINDOW: lo = 1; hi = INT64_C(1) << 20; break;
  default: return false;
  }
  *out = (evo_option_spec){setting_keys[setting], false, lo, hi, 0, 0, 0};
  return true;
}

int evo_population_check_setting(evo_pop_setting setting, int64_t value) {
  evo_option_spec s;
  if (!evo_population_setting_spec(setting, &s))
    return evo_set_error(EVO_EINVAL, "unknown population setting %d",
                         (int)setting);
  if (value < s.lo || value > s.hi)
    return evo_set_error(EVO_ERANGE,
                         "population %s (%s) = %lld is outside %lld..%lld",
                         setting_names[setting], s.name, (long long)value,
                         (long long)s.lo, (long long)s.hi);
  return EVO_OK;
}

int evo_population_check_settings(const evo_population *pop) {
  const int64_t *s = pop->settings;
  if (s[EVO_POP_ELITES] >= s[EVO_POP_SIZE])
    return evo_set_error(EVO_ERANGE,
                         "population elites = %lld must be below the size "
                         "%lld",
                         (long long)s[EVO_POP_ELITES],
                         (long long)s[EVO_POP_SIZE]);
  if (s[EVO_POP_TOURNAMENT] > s[EVO_POP_SIZE])
    return evo_set_error(EVO_ERANGE,
                         "population tournament = %lld exceeds the size %lld",
                         (long long)s[EVO_POP_TOURNAMENT],
                         (long long)s[EVO_POP_SIZE]);
  if ((int64_t)pop->n_initial > s[EVO_POP_SIZE])
    return evo_set_error(EVO_ERANGE,
                         "%zu initial genomes exceed the population size "
                         "%lld",
                         pop->n_initial, (long long)s[EVO_POP_SIZE]);
  return EVO_OK;
}

/* ---- allocation and history --------------------------------------------- */

/* Frees what evo_population_alloc_run() made (all NULL-safe). */
void evo_population_free_run(evo_population *pop) {
  evo_pop_scratch *s = &pop->scratch;
  free(pop->ind);
  free(pop->hof);
  free(s->next);
  free(s->fitness);
  free(s->ranked);
  free(s->perm);
  free(s->todo);
  free(s->plan);
  free(s->group_next);
  free(s->group_tail);
  free(s->keyed);
  free(s->keys);
  free(s->hashes);
  free(s->table);
  free(s->report);
  free(s->message);
  memset(s, 0, sizeof *s);
  pop->ind = NULL;
  pop->hof = NULL;
  pop->n_ind = 0;
}

/* The evaluation plan's scratch (population_eval.c); keys, hashes and
 * the group table only with the cache. */
static bool alloc_plan(evo_pop_scratch *s, size_t n, bool cache) {
  s->todo = evo_calloc(n, sizeof *s->todo);
  s->plan = evo_calloc(n, sizeof *s->plan);
  s->group_next = evo_calloc(n, sizeof *s->group_next);
  s->group_tail = evo_calloc(n, sizeof *s->group_tail);
  s->keyed = evo_calloc(n, sizeof *s->keyed);
  s->report = evo_calloc(1, sizeof *s->report);
  s->message = evo_calloc(EVO_POP_ERROR_CAP, 1);
  bool ok = s->todo && s->plan && s->group_next && s->group_tail &&
            s->keyed && s->report && s->message;
  if (!ok || !cache)
    return ok;
  for (s->table_size = 16; s->table_size < 2 * n;)
    s->table_size *= 2;
  s->keys = evo_calloc(n, sizeof *s->keys);
  s->hashes = evo_calloc(n, sizeof *s->hashes);
  s->table = evo_calloc(s->table_size, sizeof *s->table);
  return s->keys && s->hashes && s->table;
}

int evo_population_alloc_run(evo_population *pop) {
  size_t n = (size_t)pop->settings[EVO_POP_SIZE];
  evo_pop_scratch *s = &pop->scratch;
  evo_population_free_run(pop); /* a start that failed half-way may have left some */
  pop->ind = evo_calloc(n, sizeof *pop->ind);
  pop->hof = evo_calloc((size_t)pop->settings[EVO_POP_HALL_OF_FAME],
                        sizeof *pop->hof);
  s->next = evo_calloc(n, sizeof *s->next);
  s->fitness = evo_calloc(n, sizeof *s->fitness);
  s->ranked = evo_calloc(n, sizeof *s->ranked);
  s->perm = evo_calloc(n, sizeof *s->perm);
  bool plan = alloc_plan(s, n, pop->settings[EVO_POP_CACHE] != 0);
  if (!pop->ind || !pop->hof || !s->next || !s->fitness || !s->ranked ||
      !s->perm || !plan)
    return EVO_ENOMEM; /* freed by the next attempt or the population's
                          free */
  pop->n_ind = n;
  return EVO_OK;
}

int evo_population_add_record(evo_population *pop, evo_gen_record **out) {
  if (pop->n_history == pop->cap_history) {
    size_t cap = pop->cap_history ? 2 * pop->cap_history : 16;
    evo_gen_record **h = realloc(pop->history, cap * sizeof *h);
    if (h == NULL)
      return evo_set_error(EVO_ENOMEM, "out of memory growing the history");
    pop->history = h;
    pop->cap_history = cap;
  }
  evo_gen_record *rec = evo_calloc(1, sizeof *rec);
  if (rec == NULL)
    return EVO_ENOMEM;
  pop->history[pop->n_history++] = rec;
  *out = rec;
  return EVO_OK;
}

/* ---- ranking, history record, hall of fame ------------------------------ */

static uint32_t top_rung(const evo_population *pop) {
  return (uint32_t)pop->settings[EVO_POP_RUNGS] - 1;
}

/* The rung a result ranks at (doc/algorithm.md §9.2): its own, but -1,
 * below every rung, for a failed evaluation or one whose runs all
 * diverged (fitness -1), so that reaching a higher rung only to fail there
 * never beats a sound result of a lower one. */
static int64_t ranking_rung(const evo_individual *ind) {
  if (ind->status != EVO_OK || ind->fitness <= -1.0)
    return -1;
  return (int64_t)ind->rung;
}

/* Ranks the current generation into scratch (selection scores, ranked):
 * by rung reached, then fitness (doc/algorithm.md §9). With one rung the
 * score is the fitness. With more it is the genome's place in that order
 * (equal rung and fitness, equal score), so that a higher rung ranks
 * above a lower one whatever the fitness values (a user's callback may
 * return any finite fitness). */
static void rank_generation(evo_population *pop) {
  evo_pop_scratch *s = &pop->scratch;
  size_t n = pop->n_ind, k = 0;
  for (size_t i = 0; i < n; i++)
    s->fitness[i] = pop->ind[i].fitness;
  evo_breed_rank(s->fitness, n, s->ranked);
  if (top_rung(pop) == 0)
    return;
  /* by rung, then fitness; failures and total divergence last */
  for (int64_t r = (int64_t)top_rung(pop); r >= -1; r--)
    for (size_t j = 0; j < n; j++)
      if (ranking_rung(&pop->ind[s->ranked[j].index]) == r)
        s->perm[k++] = s->ranked[j].index;
  double score = 0.0;
  for (size_t j = n; j-- > 0;) { /* from the last, counting up */
    const evo_individual *a = &pop->ind[s->perm[j]];
    const evo_individual *b = j + 1 < n ? &pop->ind[s->perm[j + 1]] : a;
    if (ranking_rung(a) != ranking_rung(b) || a->fitness != b->fitness)
      score += 1.0;
    s->fitness[s->perm[j]] = score;
  }
  evo_breed_rank(s->fitness, n, s->ranked);
}

static void hof_bubble_up(evo_hof_entry *hof, size_t j) {
  for (; j > 0 && hof[j].fitness > hof[j - 1].fitness; j--) {
    evo_hof_entry t = hof[j];
    hof[j] = hof[j - 1];
    hof[j - 1] = t;
  }
}

/* Offers a genome to the hall of fame: a genome already there keeps its
 * first-seen generation and the best fitness it has had; a new one enters
 * when there is room or when it beats the last entry. Equal fitness never
 * overtakes, so earlier entries stay ahead. */
static void hof_offer(evo_population *pop, const evo_genome *g,
                      double fitness) {
  evo_hof_entry *hof = pop->hof;
  size_t cap = (size_t)pop->settings[EVO_POP_HALL_OF_FAME], j;
  for (j = 0; j < pop->n_hof; j++) {
    if (evo_genome_equal(&hof[j].genome, g)) {
      if (fitness > hof[j].fitness) {
        hof[j].fitness = fitness;
        hof_bubble_up(hof, j);
      }
      return;
    }
  }
  if (pop->n_hof < cap)
    j = pop->n_hof++;
  else if (fitness > hof[cap - 1].fitness)
    j = cap - 1;
  else
    return;
  hof[j] = (evo_hof_entry){*g, fitness, (uint64_t)pop->generation};
  hof_bubble_up(hof, j);
}

/* The fitness of the individual ranked @p rank (not its score). */
static double ranked_fitness(const evo_population *pop, size_t rank) {
  return pop->ind[pop->scratch.ranked[rank].index].fitness;
}

static double median_of_ranked(const evo_population *pop, size_t n) {
  return n % 2 ? ranked_fitness(pop, n / 2)
               : 0.5 * (ranked_fitness(pop, n / 2 - 1) +
                        ranked_fitness(pop, n / 2));
}

/* Fills a history entry from the ranked, fully evaluated generation. */
static void fill_record(const evo_population *pop, evo_gen_record *rec) {
  const evo_ranked *ranked = pop->scratch.ranked;
  size_t n = pop->n_ind, failed = 0, hits = 0;
  double sum = 0.0;
  for (size_t i = 0; i < n; i++) {
    const evo_individual *ind = &pop->ind[i];
    sum += ind->fitness; /* index order: the same sum for any worker count */
    failed += ind->status != EVO_OK;
    hits += ind->cached;
    for (size_t t = 0; t < ind->genome.n_terms; t++)
      rec->terms[ind->genome.terms[t]]++;
  }
  rec->values[EVO_HIST_BEST] = ranked_fitness(pop, 0);
  rec->values[EVO_HIST_MEAN] = sum / (double)n;
  rec->values[EVO_HIST_MEDIAN] = median_of_ranked(pop, n);
  rec->values[EVO_HIST_WORST] = ranked_fitness(pop, n - 1);
  rec->values[EVO_HIST_FAILED] = (double)failed;
  rec->values[EVO_HIST_CACHE_HITS] = (double)hits;
  rec->values[EVO_HIST_COMPUTE] = (double)pop->compute_us * 1e-6;
  rec->values[EVO_HIST_EVALUATIONS] = (double)pop->evaluations;
  const evo_individual *best = &pop->ind[ranked[0].index];
  rec->best = best->genome;
  evo_report_copy(&rec->best_report, &best->report);
}

/* Records the evaluated generation in the history and hall of fame. */
static int record_generation(evo_population *pop) {
  evo_gen_record *rec = NULL;
  int rc = evo_population_add_record(pop, &rec);
  if (rc != EVO_OK)
    return rc;
  rank_generation(pop);
  fill_record(pop, rec);
  for (size_t i = 0; i < pop->n_ind; i++) /* failures have no real fitness;
                                             the hall holds full ones */
    if (pop->ind[i].status == EVO_OK && pop->ind[i].rung == top_rung(pop))
      hof_offer(pop, &pop->ind[i].genome, pop->ind[i].fitness);
  return EVO_OK;
}

void evo_population_rank(evo_population *pop) { rank_generation(pop); }

int evo_population_record(evo_population *pop) {
  return record_generation(pop);
}

uint32_t evo_population_top_rung(const evo_population *pop) {
  return top_rung(pop);
}

bool evo_population_budget_spent(const evo_population *pop) {
  int64_t budget = pop->settings[EVO_POP_BUDGET];
  return budget > 0 && pop->compute_us >= (uint64_t)budget * 1000000u;
}

