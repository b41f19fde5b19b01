/* Population checkpoints (population.h): the whole state of a run in the
 * library's framed format (io_internal.h: magic, version, size, payload,
 * CRC-32), written atomically after every evaluation and generation. This
 * file only encodes (run state in, bytes out); resume.c decodes them back
 * into a population for evo_population_resume().
 *
 * Payload, version 5, little-endian (u32/u64 integers, f64 as IEEE bits):
 *   settings     14 × u64, indexed by evo_pop_setting
 *   tag          str (u32 length + bytes)
 *   initial      u32 count, then genomes
 *   generation   u64
 *   progress     u32 phase (the rung being evaluated), u64 compute in
 *                core-microseconds, u64 evaluations run
 *   individuals  u32 count (= size), each: genome, u8 evaluated, u8 rung,
 *                and when evaluated: f64 fitness, u32 status (two's
 *                complement), str error, report, u8 cached (a cache hit)
 *   history      u32 count (= generation), each: 8 × f64 values, genome,
 *                report, 7 × u32 term counts
 *   hall of fame u32 count, each: genome, f64 fitness, u64 generation
 *   cache        u32 count (0 without EVO_POP_CACHE), each: key genome,
 *                u64 seed, u32 rung, report; sorted by (hash, seed, rung,
 *                key bytes), so that equal runs write equal bytes
 *   steady       only with EVO_ALGO_STEADY (steady.c): u64 committed, u64
 *                created; the jobs committed..created-1, each: genome, u64
 *                origin, u8 rung, u8 hit; u32 promotions waiting, each:
 *                genome, u64 origin, u8 rung; for each rung 0..R-2: u64
 *                results committed, u32 successes, their f64 fitness
 *                (highest first). The individuals are then the population
 *                ring (job j at j mod N). Results not yet committed are
 *                not saved: a resumed run evaluates them again.
 *   costs        u32 count (= evaluated individuals + history entries),
 *                each f64: the cost in core-seconds (evo_report_cost(),
 *                finite, 0 to the run's compute) of the evaluated
 *                individuals' reports in their order, then of the history
 *                entries' best reports. Cache entries keep no cost (a hit
 *                costs nothing). At the end, so that the sections above
 *                are version 4's byte for byte.
 * Version 4 (before the costs section) is read with every report's cost
 * 0 (unknown); the run's compute (progress) is kept. Version 3 (before
 * steady-state evolution: 13 settings, no steady section) is read with the
 * window at its default. Version 2 (before multi-fidelity search: 9
 * settings, no progress, rung nor cache rung, 6 history values) is read
 * with the new settings at their defaults and zero compute. Version 1 (no cache setting, flag nor
 * section) is refused with a message naming the versions.
 * genome: evo_genome_write's binary form (genome_internal.h): all four
 *   term slots, so a genome comes back bit for bit.
 * report: f64 fitness, u32 task count, each: str name, f64 fitness. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "core/io_internal.h"
#include "evolve/population_internal.h"

#include "evolve/checkpoint_internal.h"

/* ---- writer ------------------------------------------------------------- */

static void put_report(evo_wbuf *w, const evo_report *rep) {
  evo_wbuf_f64(w, rep->fitness);
  evo_wbuf_u32(w, (uint32_t)rep->n_tasks);
  for (size_t i = 0; i < rep->n_tasks; i++) {
    evo_wbuf_str(w, rep->names[i]);
    evo_wbuf_f64(w, rep->task_fitness[i]);
  }
}

static void put_individual(evo_wbuf *w, const evo_individual *ind) {
  evo_genome_write(w, &ind->genome);
  evo_wbuf_u8(w, ind->evaluated);
  evo_wbuf_u8(w, ind->rung);
  if (!ind->evaluated) /* not yet back */
    return;
  evo_wbuf_f64(w, ind->fitness);
  evo_wbuf_u32(w, (uint32_t)ind->status);
  evo_wbuf_str(w, ind->error);
  put_report(w, &ind->report);
  evo_wbuf_u8(w, ind->cached);
}

static void put_record(evo_wbuf *w, const evo_gen_record *rec) {
  for (size_t k = 0; k < EVO_HIST_COUNT; k++)
    evo_wbuf_f64(w, rec->values[k]);
  evo_genome_write(w, &rec->best);
  put_report(w, &rec->best_report);
  for (size_t k = 0; k < EVO_TERM_COUNT; k++)
    evo_wbuf_u32(w, rec->terms[k]);
}

/* Orders cache entries canonically: by hash, seed, rung, then the key's
 * bytes (equal hashes of different keys are as good as never seen). */
static int compare_entries(const void *pa, const void *pb) {
  const evo_cache_entry *a = *(const evo_cache_entry *const *)pa;
  const evo_cache_entry *b = *(const evo_cache_entry *const *)pb;
  if (a->hash != b->hash)
    return a->hash < b->hash ? -1 : 1;
  if (a->seed != b->seed)
    return a->seed < b->seed ? -1 : 1;
  if (a->rung != b->rung)
    return a->rung < b->rung ? -1 : 1;
  evo_wbuf wa = {0}, wb = {0};
  evo_genome_write(&wa, &a->genome);
  evo_genome_write(&wb, &b->genome);
  int c = wa.status == EVO_OK && wb.status == EVO_OK && wa.size == wb.size
              ? memcmp(wa.data, wb.data, wa.size)
              : 0;
  evo_wbuf_free(&wa);
  evo_wbuf_free(&wb);
  return c;
}

/* The cache in canonical order (item 8 of the hardening: two equal runs
 * write equal bytes, whatever order the workers finished in). */
static void put_cache(evo_wbuf *w, const evo_cache *cache) {
  const evo_cache_entry **order = evo_calloc(cache->n ? cache->n : 1,
                                             sizeof *order);
  if (order == NULL) {
    w->status = EVO_ENOMEM;
    return;
  }
  for (size_t i = 0; i < cache->n; i++)
    order[i] = &cache->entries[i];
  qsort(order, cache->n, sizeof *order, compare_entries);
  evo_wbuf_u32(w, (uint32_t)cache->n);
  for (size_t i = 0; i < cache->n; i++) {
    evo_report rep;
    evo_cache_get_report(cache, order[i], &rep);
    evo_genome_write(w, &order[i]->genome);
    evo_wbuf_u64(w, order[i]->seed);
    evo_wbuf_u32(w, order[i]->rung);
    put_report(w, &rep);
  }
  free(order);
}

static void put_steady_job(evo_wbuf *w, const evo_steady_job *job) {
  evo_genome_write(w, &job->genome);
  evo_wbuf_u64(w, job->origin);
  evo_wbuf_u8(w, job->rung);
}

/* The committed state of a steady-state run and the jobs created since. */
static void put_steady(evo_wbuf *w, const evo_population *pop) {
  const evo_steady *s = &pop->steady;
  evo_wbuf_u64(w, s->committed);
  evo_wbuf_u64(w, s->created);
  for (uint64_t k = s->committed; k < s->created; k++) {
    put_steady_job(w, &s->jobs[k % s->cap]);
    evo_wbuf_u8(w, s->jobs[k % s->cap].hit);
  }
  evo_wbuf_u32(w, (uint32_t)(s->q_tail - s->q_head));
  for (size_t i = s->q_head; i < s->q_tail; i++)
    put_steady_job(w, &s->queue[i]);
  for (int64_t r = 0; r + 1 < pop->settings[EVO_POP_RUNGS]; r++) {
    evo_wbuf_u64(w, s->rungs[r].n);
    evo_wbuf_u32(w, (uint32_t)s->rungs[r].m);
    for (size_t i = 0; i < s->rungs[r].m; i++)
      evo_wbuf_f64(w, s->rungs[r].sorted[i]);
  }
}

/* The reports' costs (version 5): the evaluated individuals', then the
 * history's best reports'. */
static void put_costs(evo_wbuf *w, const evo_population *pop) {
  size_t n = pop->n_history;
  for (size_t i = 0; i < pop->n_ind; i++)
    n += pop->ind[i].evaluated;
  evo_wbuf_u32(w, (uint32_t)n);
  for (size_t i = 0; i < pop->n_ind; i++)
    if (pop->ind[i].evaluated)
      evo_wbuf_f64(w, pop->ind[i].report.cost);
  for (size_t i = 0; i < pop->n_history; i++)
    evo_wbuf_f64(w, pop->history[i]->best_report.cost);
}

static void put_population(evo_wbuf *w, const evo_population *pop) {
  for (size_t k = 0; k < EVO_POP_SETTING_COUNT; k++)
    evo_wbuf_u64(w, (uint64_t)pop->settings[k]);
  evo_wbuf_str(w, pop->ckpt_tag ? pop->ckpt_tag : "");
  evo_wbuf_u32(w, (uint32_t)pop->n_initial);
  for (size_t i = 0; i < pop->n_initial; i++)
    evo_genome_write(w, &pop->initial[i]);
  evo_wbuf_u64(w, (uint64_t)pop->generation);
  evo_wbuf_u32(w, pop->phase);
  evo_wbuf_u64(w, pop->compute_us);
  evo_wbuf_u64(w, pop->evaluations);
  evo_wbuf_u32(w, (uint32_t)pop->n_ind);
  for (size_t i = 0; i < pop->n_ind; i++)
    put_individual(w, &pop->ind[i]);
  evo_wbuf_u32(w, (uint32_t)pop->n_history);
  for (size_t i = 0; i < pop->n_history; i++)
    put_record(w, pop->history[i]);
  evo_wbuf_u32(w, (uint32_t)pop->n_hof);
  for (size_t i = 0; i < pop->n_hof; i++) {
    evo_genome_write(w, &pop->hof[i].genome);
    evo_wbuf_f64(w, pop->hof[i].fitness);
    evo_wbuf_u64(w, pop->hof[i].generation);
  }
  put_cache(w, &pop->cache);
  if (pop->settings[EVO_POP_ALGORITHM] == EVO_ALGO_STEADY)
    put_steady(w, pop);
  put_costs(w, pop);
}

int evo_checkpoint_write(const evo_population *pop) {
  evo_wbuf w = {0};
  unsigned char *file = NULL;
  size_t size = 0;
  put_population(&w, pop);
  int rc = evo_frame_wrap(CKPT_MAGIC, CKPT_VERSION, &w, &file, &size);
  evo_wbuf_free(&w);
  if (rc == EVO_OK)
    rc = evo_write_file_atomic(pop->ckpt_path, file, size);
  free(file);
  return rc;
}
