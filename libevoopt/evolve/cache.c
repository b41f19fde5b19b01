/* The exact evaluation cache (cache_internal.h): the canonical form of a
 * genome and a hash table of results keyed by (key genome, seed). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "evolve/cache_internal.h"
#include "core/common_internal.h"
#include "core/rng_internal.h"

/* ---- canonical form ----------------------------------------------------- */

static bool has_term(const evo_genome *g, unsigned kinds) {
  for (size_t i = 0; i < g->n_terms; i++)
    if (kinds & (1u << g->terms[i]))
      return true;
  return false;
}

#define KIND(t) (1u << (t))
/* doc/algorithm.md §2's table: the terms that read m̂, v̂, and ε. */
#define READS_M                                                                \
  (KIND(EVO_TERM_MOMENTUM) | KIND(EVO_TERM_ADAM) | KIND(EVO_TERM_NESTEROV))
#define READS_V (KIND(EVO_TERM_RMS_NORM) | KIND(EVO_TERM_ADAM))
#define READS_EPS                                                              \
  (KIND(EVO_TERM_RMS_NORM) | KIND(EVO_TERM_ADAM) | KIND(EVO_TERM_UNIT))

/* -0 adds what +0 adds: the optimizer's per-kind sums start at +0, and
 * +0 + -0 = +0 (so a sum is never -0 and x + -0 = x + +0 = x). */
static double plus_zero(double a) {
  return a == 0.0 ? 0.0 : a;
}

static void swap_terms(evo_genome *c, size_t i, size_t j) {
  int t = c->terms[i];
  double a = c->alphas[i];
  c->terms[i] = c->terms[j];
  c->alphas[i] = c->alphas[j];
  c->terms[j] = t;
  c->alphas[j] = a;
}

/* Terms stably sorted by kind (insertion sort: four at most), -0 weights
 * as +0, unused slots cleared. Then the first two terms of a kind in
 * ascending weight: the optimizer's sum for a kind is ((0 + a1) + a2) +
 * ..., and (0 + a1) + a2 = a1 + a2 = a2 + a1 exactly (a1 ≠ -0), so only
 * those two may trade places. */
static void sort_terms(evo_genome *c) {
  for (size_t i = 0; i < EVO_MAX_TERMS; i++) {
    c->alphas[i] = i < c->n_terms ? plus_zero(c->alphas[i]) : 0.0;
    if (i >= c->n_terms)
      c->terms[i] = 0;
  }
  for (size_t i = 1; i < c->n_terms; i++)
    for (size_t j = i; j > 0 && c->terms[j] < c->terms[j - 1]; j--)
      swap_terms(c, j, j - 1);
  for (size_t i = 0; i + 1 < c->n_terms; i++) {
    bool first_of_kind = i == 0 || c->terms[i - 1] != c->terms[i];
    if (first_of_kind && c->terms[i + 1] == c->terms[i] &&
        c->alphas[i + 1] < c->alphas[i])
      swap_terms(c, i, i + 1);
  }
}

void evo_genome_canonical(const evo_genome *g, evo_genome *out) {
  evo_genome d, c = *g;
  evo_genome_init_defaults(&d);
  bool reads_m = has_term(g, READS_M), reads_v = has_term(g, READS_V);
  bool m_live = reads_m && g->use_m, v_live = reads_v && g->use_v;
  sort_terms(&c);
  if (!reads_m)
    c.use_m = d.use_m;
  if (!reads_v)
    c.use_v = d.use_v;
  if (!m_live)
    c.beta1 = d.beta1;
  if (!v_live)
    c.beta2 = d.beta2;
  if (!m_live && !v_live)
    c.use_bias_correction = d.use_bias_correction;
  if (!has_term(g, READS_EPS))
    c.eps_log10 = d.eps_log10;
  if (!g->use_gradient_clipping)
    c.clip_value = d.clip_value;
  if (!g->use_warmup)
    c.warmup_steps = d.warmup_steps;
  *out = c;
}

bool evo_cache_key_genome(int mode, const evo_genome *g, evo_genome *key) {
  if (evo_genome_validate(g) != EVO_OK)
    return false;
  if (mode == EVO_CACHE_CANONICAL) {
    evo_genome_canonical(g, key);
    return true;
  }
  *key = *g;
  for (size_t i = key->n_terms; i < EVO_MAX_TERMS; i++) {
    key->terms[i] = 0;
    key->alphas[i] = 0.0;
  }
  return true;
}

/* ---- hash table --------------------------------------------------------- */

static uint64_t bits_of(double x) {
  uint64_t u;
  memcpy(&u, &x, sizeof u);
  return u;
}

uint64_t evo_cache_hash(const evo_genome *g, uint64_t seed, uint32_t rung) {
  uint64_t h = evo_seed_derive(seed, (uint64_t)g->n_terms, rung);
  for (size_t i = 0; i < g->n_terms; i++)
    h = evo_seed_derive(h, (uint64_t)g->terms[i], bits_of(g->alphas[i]));
  const double reals[] = {g->lr_log10,  g->beta1,    g->beta2,
                          g->eps_log10, g->wd_log10, g->clip_value};
  for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
    h = evo_seed_derive(h, bits_of(reals[i]), i);
  uint64_t flags = (uint64_t)g->use_m | (uint64_t)g->use_v << 1 |
                   (uint64_t)g->use_bias_correction << 2 |
                   (uint64_t)g->use_gradient_clipping << 3 |
                   (uint64_t)g->use_warmup << 4 |
                   (uint64_t)g->use_cosine_decay << 5;
  return evo_seed_derive(h, (uint64_t)g->warmup_steps, flags);
}

/* The slot holding (key, seed, rung), or the empty slot where it would
 * go. */
static size_t probe(const evo_cache *c, const evo_genome *key, uint64_t seed,
                    uint32_t rung, uint64_t hash) {
  size_t mask = c->n_slots - 1, s = (size_t)hash & mask;
  for (; c->slots[s] != 0; s = (s + 1) & mask) {
    const evo_cache_entry *e = &c->entries[c->slots[s] - 1];
    if (e->hash == hash && e->seed == seed && e->rung == rung &&
        evo_genome_equal(&e->genome, key))
      break;
  }
  return s;
}

const evo_cache_entry *evo_cache_find(const evo_cache *c, const evo_genome *key,
                                      uint64_t seed, uint32_t rung) {
  if (c->n == 0)
    return NULL;
  size_t s = probe(c, key, seed, rung, evo_cache_hash(key, seed, rung));
  return c->slots[s] ? &c->entries[c->slots[s] - 1] : NULL;
}

/* Rebuilds the table with @p n_slots slots. */
static int rehash(evo_cache *c, size_t n_slots) {
  size_t *slots = evo_calloc(n_slots, sizeof *slots);
  if (slots == NULL)
    return EVO_ENOMEM;
  free(c->slots);
  c->slots = slots;
  c->n_slots = n_slots;
  for (size_t i = 0; i < c->n; i++) {
    const evo_cache_entry *e = &c->entries[i];
    c->slots[probe(c, &e->genome, e->seed, e->rung, e->hash)] = i + 1;
  }
  return EVO_OK;
}

/* Makes room for one more entry and @p n_tasks more tasks. */
static int reserve(evo_cache *c, size_t n_tasks) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 64;
    evo_cache_entry *e = realloc(c->entries, cap * sizeof *e);
    if (e == NULL)
      return evo_set_error(EVO_ENOMEM, "out of memory growing the cache");
    c->entries = e;
    c->cap = cap;
  }
  if (c->n_tasks + n_tasks > c->cap_tasks) {
    size_t cap = c->cap_tasks ? 2 * c->cap_tasks : 256;
    while (cap < c->n_tasks + n_tasks)
      cap *= 2;
    evo_cache_task *t = realloc(c->tasks, cap * sizeof *t);
    if (t == NULL)
      return evo_set_error(EVO_ENOMEM, "out of memory growing the cache");
    c->tasks = t;
    c->cap_tasks = cap;
  }
  return 2 * (c->n + 1) > c->n_slots
             ? rehash(c, c->n_slots ? 2 * c->n_slots : 128)
             : EVO_OK;
}

int evo_cache_insert(evo_cache *c, const evo_genome *key, uint64_t seed,
                     uint32_t rung, const evo_report *rep) {
  if (evo_cache_find(c, key, seed, rung) != NULL)
    return EVO_OK;
  int rc = reserve(c, rep->n_tasks);
  if (rc != EVO_OK)
    return rc;
  evo_cache_entry *e = &c->entries[c->n];
  *e = (evo_cache_entry){.genome = *key,
                         .seed = seed,
                         .rung = rung,
                         .hash = evo_cache_hash(key, seed, rung),
                         .fitness = rep->fitness,
                         .n_tasks = rep->n_tasks,
                         .first_task = c->n_tasks};
  for (size_t i = 0; i < rep->n_tasks; i++) {
    evo_cache_task *t = &c->tasks[c->n_tasks++];
    memcpy(t->name, rep->names[i], sizeof t->name);
    t->fitness = rep->task_fitness[i];
  }
  c->slots[probe(c, key, seed, rung, e->hash)] = ++c->n;
  return EVO_OK;
}

void evo_cache_get_report(const evo_cache *c, const evo_cache_entry *e,
                          evo_report *rep) {
  evo_report_clear(rep);
  rep->fitness = e->fitness;
  rep->n_tasks = e->n_tasks;
  for (size_t i = 0; i < e->n_tasks; i++) {
    const evo_cache_task *t = &c->tasks[e->first_task + i];
    memcpy(rep->names[i], t->name, sizeof rep->names[i]);
    rep->task_fitness[i] = t->fitness;
  }
}

void evo_cache_free(evo_cache *c) {
  free(c->entries);
  free(c->tasks);
  free(c->slots);
  memset(c, 0, sizeof *c);
}
