/* Helpers shared by the population's test suites (pop_testlib.h). */
#define _POSIX_C_SOURCE 200809L
#include "pop_testlib.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/io_internal.h"
#include "core/rng_internal.h"

bool pt_same_bits(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

void pt_assert_same_report(const evo_report *a, const evo_report *b) {
  double fa, fb;
  ck_assert_int_eq(evo_report_fitness(a, &fa), EVO_OK);
  ck_assert_int_eq(evo_report_fitness(b, &fb), EVO_OK);
  ck_assert(pt_same_bits(fa, fb));
  ck_assert_uint_eq(evo_report_task_count(a), evo_report_task_count(b));
  for (size_t i = 0; i < evo_report_task_count(a); i++) {
    const char *na, *nb;
    ck_assert_int_eq(evo_report_task(a, i, &na, &fa), EVO_OK);
    ck_assert_int_eq(evo_report_task(b, i, &nb, &fb), EVO_OK);
    ck_assert_str_eq(na, nb);
    ck_assert(pt_same_bits(fa, fb));
  }
}

static void assert_same_history(const evo_population *a,
                                const evo_population *b, bool hits) {
  ck_assert_uint_eq(evo_population_history_count(a),
                    evo_population_history_count(b));
  int last = hits ? EVO_HIST_CACHE_HITS : EVO_HIST_CACHE_HITS - 1;
  for (size_t g = 0; g < evo_population_history_count(a); g++) {
    for (int k = EVO_HIST_BEST; k <= last; k++) {
      double va, vb;
      ck_assert_int_eq(evo_population_history(a, g, (evo_history_key)k, &va),
                       EVO_OK);
      ck_assert_int_eq(evo_population_history(b, g, (evo_history_key)k, &vb),
                       EVO_OK);
      ck_assert_msg(pt_same_bits(va, vb),
                    "generation %zu key %d: %.17g vs %.17g", g, k, va, vb);
    }
    const evo_genome *ga, *gb;
    const evo_report *ra, *rb;
    ck_assert_int_eq(evo_population_history_best(a, g, &ga, &ra), EVO_OK);
    ck_assert_int_eq(evo_population_history_best(b, g, &gb, &rb), EVO_OK);
    ck_assert(evo_genome_equal(ga, gb));
    pt_assert_same_report(ra, rb);
    uint32_t ta[EVO_TERM_COUNT], tb[EVO_TERM_COUNT];
    ck_assert_int_eq(evo_population_history_terms(a, g, ta), EVO_OK);
    ck_assert_int_eq(evo_population_history_terms(b, g, tb), EVO_OK);
    ck_assert(memcmp(ta, tb, sizeof ta) == 0);
  }
}

static void assert_same_hof(const evo_population *a, const evo_population *b) {
  ck_assert_uint_eq(evo_population_hof_count(a), evo_population_hof_count(b));
  for (size_t r = 0; r < evo_population_hof_count(a); r++) {
    const evo_genome *ga, *gb;
    double fa, fb;
    size_t na, nb;
    ck_assert_int_eq(evo_population_hof(a, r, &ga, &fa, &na), EVO_OK);
    ck_assert_int_eq(evo_population_hof(b, r, &gb, &fb, &nb), EVO_OK);
    ck_assert(evo_genome_equal(ga, gb));
    ck_assert(pt_same_bits(fa, fb));
    ck_assert_uint_eq(na, nb);
  }
}

void pt_assert_same_run(const evo_population *a, const evo_population *b,
                        bool hits) {
  ck_assert(evo_population_finished(a) && evo_population_finished(b));
  assert_same_history(a, b, hits);
  assert_same_hof(a, b);
  ck_assert_uint_eq(evo_population_size(a), evo_population_size(b));
  for (size_t i = 0; i < evo_population_size(a); i++) {
    const evo_genome *ga, *gb;
    double fa, fb;
    int sa, sb;
    ck_assert_int_eq(evo_population_individual(a, i, &ga, &fa), EVO_OK);
    ck_assert_int_eq(evo_population_individual(b, i, &gb, &fb), EVO_OK);
    ck_assert(evo_genome_equal(ga, gb));
    ck_assert(pt_same_bits(fa, fb));
    ck_assert_int_eq(evo_population_individual_error(a, i, &sa, NULL), 0);
    ck_assert_int_eq(evo_population_individual_error(b, i, &sb, NULL), 0);
    ck_assert_int_eq(sa, sb);
  }
}

void pt_tmp_make(pt_tmp *t) {
  snprintf(t->dir, sizeof t->dir, "/tmp/evo_pop_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(t->dir));
  snprintf(t->file, sizeof t->file, "%s/run.ckpt", t->dir);
}

void pt_tmp_make_shm(pt_tmp *t) {
  if (access("/dev/shm", W_OK | X_OK) != 0) {
    pt_tmp_make(t);
    return;
  }
  snprintf(t->dir, sizeof t->dir, "/dev/shm/evo_pop_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(t->dir));
  snprintf(t->file, sizeof t->file, "%s/run.ckpt", t->dir);
}

void pt_tmp_remove(pt_tmp *t) {
  unlink(t->file);
  rmdir(t->dir);
}

void pt_fuzz_checkpoint(const char *path, const unsigned char *payload,
                        size_t n, size_t from, uint32_t version, int trials,
                        uint64_t seed) {
  evo_rng r;
  evo_rng_seed(&r, seed);
  unsigned char *fuzz = malloc(n);
  ck_assert_ptr_nonnull(fuzz);
  ck_assert_uint_lt(from, n);
  for (int trial = 0; trial < trials; trial++) {
    memcpy(fuzz, payload, n);
    for (int k = 0; k < 1 + trial % 4; k++)
      fuzz[from + evo_rng_below(&r, n - from)] =
          (unsigned char)evo_rng_below(&r, 256);
    evo_wbuf w = {0};
    evo_wbuf_bytes(&w, fuzz, n);
    unsigned char *file;
    size_t size;
    ck_assert_int_eq(evo_frame_wrap("EVOOPTCK", version, &w, &file, &size),
                     EVO_OK);
    ck_assert_int_eq(evo_write_file_atomic(path, file, size), EVO_OK);
    evo_population *pop = NULL;
    int rc = evo_population_resume(&pop, path, NULL);
    ck_assert(rc == EVO_OK || rc == EVO_EFORMAT);
    evo_population_free(pop);
    free(file);
    evo_wbuf_free(&w);
  }
  free(fuzz);
}

uint64_t pt_mix64(uint64_t x) {
  x ^= x >> 30;
  x *= UINT64_C(0xbf58476d1ce4e5b9);
  x ^= x >> 27;
  x *= UINT64_C(0x94d049bb133111eb);
  return x ^ (x >> 31);
}

uint64_t pt_bits_of(double v) {
  uint64_t u;
  memcpy(&u, &v, sizeof u);
  return u;
}

double pt_gene(const evo_genome *g, evo_gene which) {
  double v;
  PT_REQUIRE(evo_genome_get(g, which, &v) == EVO_OK);
  return v;
}

int pt_flag(const evo_genome *g, evo_flag which) {
  int v;
  PT_REQUIRE(evo_genome_get_flag(g, which, &v) == EVO_OK);
  return v;
}

uint64_t pt_genome_hash(const evo_genome *g, uint64_t salt) {
  size_t k = evo_genome_term_count(g);
  uint64_t h = pt_mix64(k + salt);
  for (size_t i = 0; i < k; i++) {
    evo_term t;
    double a;
    PT_REQUIRE(evo_genome_get_term(g, i, &t, &a) == EVO_OK);
    h = pt_mix64(h ^ (uint64_t)t);
    h = pt_mix64(h ^ pt_bits_of(a));
  }
  for (int j = EVO_GENE_LR_LOG10; j <= EVO_GENE_WARMUP_STEPS; j++)
    h = pt_mix64(h ^ pt_bits_of(pt_gene(g, (evo_gene)j)));
  for (int j = EVO_FLAG_USE_M; j <= EVO_FLAG_COSINE_DECAY; j++)
    h = pt_mix64(h ^ ((uint64_t)pt_flag(g, (evo_flag)j) << j));
  return h;
}

void pt_set_ok(evo_population *pop, evo_pop_setting s, int64_t v) {
  ck_assert_int_eq(evo_population_set(pop, s, v), EVO_OK);
}

void pt_assert_same_accounting(const evo_population *a,
                               const evo_population *b, bool hits) {
  ck_assert_uint_eq(evo_population_history_count(a),
                    evo_population_history_count(b));
  int first = hits ? EVO_HIST_CACHE_HITS : EVO_HIST_COMPUTE;
  for (size_t g = 0; g < evo_population_history_count(a); g++)
    for (int k = first; k <= EVO_HIST_EVALUATIONS; k++) {
      double va, vb;
      ck_assert_int_eq(evo_population_history(a, g, (evo_history_key)k, &va),
                       EVO_OK);
      ck_assert_int_eq(evo_population_history(b, g, (evo_history_key)k, &vb),
                       EVO_OK);
      ck_assert_msg(pt_same_bits(va, vb), "generation %zu key %d: %g vs %g",
                    g, k, va, vb);
    }
  ck_assert(pt_same_bits(evo_population_compute(a),
                         evo_population_compute(b)));
  if (hits)
    ck_assert_uint_eq(evo_population_cache_count(a),
                      evo_population_cache_count(b));
}

/* The payload opens with the settings as u64, indexed by evo_pop_setting
 * (checkpoint.c, versions 3 and later). */
unsigned char *pt_ckpt_payload(const char *path, size_t *n, uint32_t want) {
  unsigned char *file = NULL;
  size_t size = 0;
  ck_assert_int_eq(evo_read_file(path, (size_t)1 << 30, &file, &size),
                   EVO_OK);
  uint32_t version = 0;
  const unsigned char *payload = NULL;
  ck_assert_int_eq(evo_frame_open("EVOOPTCK", "checkpoint", file, size,
                                  &version, &payload, n),
                   EVO_OK);
  if (want != 0)
    ck_assert_uint_eq(version, want);
  ck_assert_uint_ge(version, 3); /* the payload opens with the settings */
  ck_assert_uint_ge(*n, 8 * (EVO_POP_WORKERS + 1));
  unsigned char *copy = malloc(*n);
  ck_assert_ptr_nonnull(copy);
  memcpy(copy, payload, *n);
  memset(copy + 8 * EVO_POP_WORKERS, 0, 8);
  free(file);
  return copy;
}

void pt_assert_same_checkpoint(const char *a, const char *b,
                               uint32_t version) {
  size_t na, nb;
  unsigned char *pa = pt_ckpt_payload(a, &na, version);
  unsigned char *pb = pt_ckpt_payload(b, &nb, version);
  ck_assert_uint_eq(na, nb);
  ck_assert_msg(memcmp(pa, pb, na) == 0, "checkpoints %s and %s differ", a,
                b);
  free(pa);
  free(pb);
}

void pt_assert_same_end(const evo_population *ref, const evo_population *pop,
                        const char *ref_file, const char *file, bool hits,
                        uint32_t version) {
  pt_assert_same_run(ref, pop, true);
  pt_assert_same_accounting(ref, pop, hits);
  pt_assert_same_checkpoint(ref_file, file, version);
}

evo_population *pt_resume_until_done(const char *path, const char *tag,
                                     void (*attach)(evo_population *pop,
                                                    void *user),
                                     void *user) {
  evo_population *pop = NULL;
  int rc = EVO_ECANCELED;
  for (int resumes = 0; rc == EVO_ECANCELED; resumes++) {
    ck_assert_int_lt(resumes, 200);
    ck_assert_int_eq(evo_population_resume(&pop, path, tag), EVO_OK);
    attach(pop, user);
    rc = evo_population_run(pop);
    if (rc == EVO_ECANCELED)
      evo_population_free(pop);
  }
  ck_assert_int_eq(rc, EVO_OK);
  return pop;
}
