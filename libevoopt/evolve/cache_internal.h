/* The exact evaluation cache of a population (population.h, "The
 * evaluation cache"): results of successful evaluations kept under (key
 * genome, evaluation seed), where the key genome is the canonical form or
 * the genome itself. Never installed. */
#ifndef EVOOPT_CACHE_INTERNAL_H
#define EVOOPT_CACHE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "genome/genome_internal.h"
#include "train/report_internal.h"

/* The values of EVO_POP_CACHE. */
enum { EVO_CACHE_OFF = 0, EVO_CACHE_CANONICAL = 1, EVO_CACHE_EXACT = 2 };

/* The canonical form of @p g (valid): a genome whose update (doc/algorithm.md
 * §2, as libevoopt/optimizer/optimizer.c computes it, so keep the two in step)
 * is bit for bit that of @p g, with
 * every gene that cannot change that update set to a fixed value, so that
 * genomes differing only in such genes get the same form:
 * - terms stably sorted by kind: the optimizer sums the weights of each
 *   kind, in term order starting from +0, into one value per kind (then
 *   rounded to float) and combines the kinds in a fixed order, so only
 *   the order within a kind matters; and there the first two in ascending
 *   weight (addition commutes, so they may trade places; a third may not:
 *   (a + b) + c ≠ (a + c) + b); slots past the last term cleared;
 * - a weight of -0 as +0 (+0 + -0 = +0, so the sums are never -0). Not
 *   rounded to float: the sums are taken before rounding;
 * - use_m when no term reads m̂ (MOMENTUM, ADAM_TERM, NESTEROV), use_v when
 *   none reads v̂ (RMS_NORM, ADAM_TERM): doc/algorithm.md §1's default (true);
 * - β1 unless m̂ is read and use_m is on, β2 unless v̂ is read and use_v
 *   is on, bias correction unless one of those two holds: their defaults;
 * - ε unless RMS_NORM, ADAM_TERM or UNIT_GRAD is present: its default;
 * - clip_value without clipping, warmup_steps without warmup: defaults.
 * Kept as they are, being always live: lr_log10, wd_log10, clipping,
 * warmup, cosine decay. Not merged, being not provably identical: terms of
 * one kind (their summed weight rounds differently from a single term),
 * terms with α = 0 (0·T is NaN where T is infinite). Idempotent; @p out
 * may be @p g. */
void evo_genome_canonical(const evo_genome *g, evo_genome *out);

/* The key genome of @p g under cache @p mode (EVO_CACHE_CANONICAL or
 * EVO_CACHE_EXACT): the canonical form, or @p g with its unused term
 * slots cleared. False when @p g is not a valid genome: it is then never
 * cached (its evaluation fails or is not the optimizer's). */
bool evo_cache_key_genome(int mode, const evo_genome *g, evo_genome *key);

/* A cached result: the key and the report, the tasks of which live in
 * the cache's shared task array. */
typedef struct evo_cache_task {
  char name[EVO_REPORT_NAME_CAP];
  double fitness;
} evo_cache_task;

typedef struct evo_cache_entry {
  evo_genome genome; /* the key genome */
  uint64_t seed;
  uint32_t rung; /* the evaluation rung (doc/algorithm.md §9) */
  uint64_t hash;
  double fitness;
  size_t n_tasks, first_task; /* into evo_cache.tasks */
} evo_cache_entry;

typedef struct evo_cache {
  evo_cache_entry *entries; /* in insertion order (the checkpoint's) */
  size_t n, cap;
  evo_cache_task *tasks;
  size_t n_tasks, cap_tasks;
  size_t *slots;  /* open addressing: entry index + 1, 0 for empty */
  size_t n_slots; /* a power of two, at least twice n, or 0 */
} evo_cache;

/* A hash of (@p key, @p seed) over what evo_genome_equal() compares. */
uint64_t evo_cache_hash(const evo_genome *key, uint64_t seed, uint32_t rung);

/* Frees what the cache holds and empties it (NULL-safe fields). */
void evo_cache_free(evo_cache *c);

/* The entry for (@p key, @p seed), or NULL. */
const evo_cache_entry *evo_cache_find(const evo_cache *c, const evo_genome *key,
                                      uint64_t seed, uint32_t rung);

/* Adds a result under (@p key, @p seed); an existing entry is kept. */
int evo_cache_insert(evo_cache *c, const evo_genome *key, uint64_t seed,
                     uint32_t rung, const evo_report *rep);

/* Copies entry @p e's result into @p rep. */
void evo_cache_get_report(const evo_cache *c, const evo_cache_entry *e,
                          evo_report *rep);

#endif
