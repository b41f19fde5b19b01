/* Crafted checkpoints (issue 14, items 3 and 4): a valid checkpoint is
 * written by a short run with a small fake fitness; one field is patched
 * and the CRC fixed up, so that only the reader's own checks stand between
 * the bytes and the run. Every field must be refused (EVO_EFORMAT, a
 * message naming the file and the field, the population not created) or,
 * at its bounds, accepted. The layout below is the version 5 payload as
 * libevoopt/evolve/checkpoint.c documents it; the test stops with a clear
 * message when the library writes another version.
 *
 * Also: gzip bombs (a small file inflating to 1.2 GiB) are refused without
 * being inflated. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bomb_testlib.h"
#include "core/io_internal.h"
#include "evolve/population_internal.h"
#include "genome/genome_internal.h"
#include "pop_testlib.h"

#define LAYOUT_VERSION 5u
#define POP_SIZE 8
#define GENERATIONS 3
#define HOF 4
#define COST 0.25 /* core-seconds reported by every evaluation */

/* ---- the run ------------------------------------------------------------- */

/* A smooth fitness in [0.4, 0.65] with one task and a cost. */
static int fake_fitness(void *user, const evo_genome *g, uint64_t seed,
                        evo_report *report) {
  (void)user;
  (void)seed;
  double lr = 0.0;
  ck_assert_int_eq(evo_genome_get(g, EVO_GENE_LR_LOG10, &lr), EVO_OK);
  double f = 0.5 + 0.1 * sin(lr) + 0.01 * (double)evo_genome_term_count(g);
  ck_assert_int_eq(evo_report_add_task(report, "fake", f), EVO_OK);
  ck_assert_int_eq(evo_report_set_cost(report, COST), EVO_OK);
  return evo_report_set_fitness(report, f);
}

static unsigned char *read_bytes(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n);
  ck_assert_ptr_nonnull(b);
  ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *size = (size_t)n;
  return b;
}

static void write_bytes(const char *path, const void *b, size_t n) {
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(b, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

/* The checkpoint of a finished run of GENERATIONS generations. */
static unsigned char *valid_checkpoint(const char *path, size_t *size) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, fake_fitness, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, POP_SIZE), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_GENERATIONS, GENERATIONS),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_ELITES, 1), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_TOURNAMENT, 2), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_HALL_OF_FAME, HOF), EVO_OK);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, path, NULL), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  evo_population_free(pop);
  unsigned char *b = read_bytes(path, size);
  uint32_t version = (uint32_t)b[8] | (uint32_t)b[9] << 8 |
                     (uint32_t)b[10] << 16 | (uint32_t)b[11] << 24;
  ck_assert_msg(version == LAYOUT_VERSION,
                "the library writes checkpoint version %u; this test knows "
                "the layout of version %u: update it",
                version, LAYOUT_VERSION);
  return b;
}

/* ---- the layout: offsets of the fields in the whole file ----------------- */

typedef struct layout {
  size_t n_ind, n_hist, n_hof;
  size_t ind_genome[POP_SIZE];
  uint32_t ind_terms[POP_SIZE];
  size_t ind_task_fitness[POP_SIZE]; /* its report's first task */
  size_t hist_value[GENERATIONS][EVO_HIST_COUNT];
  size_t hist_terms[GENERATIONS]; /* EVO_TERM_COUNT u32 */
  size_t hof_genome[HOF], hof_fitness[HOF];
  size_t cost_count;          /* the costs section's u32 count */
  size_t ind_cost[POP_SIZE];  /* the individuals' report costs */
  size_t hist_cost[GENERATIONS]; /* the history's best reports' costs */
} layout;

typedef struct cursor {
  const unsigned char *b;
  size_t pos;
} cursor;

static uint32_t u32_at(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
         (uint32_t)p[3] << 24;
}

static uint32_t take_u32(cursor *c) {
  uint32_t v = u32_at(c->b + c->pos);
  c->pos += 4;
  return v;
}

static void skip_str(cursor *c) {
  c->pos += take_u32(c);
}

/* A report; returns the offset of its first task's fitness (0: none). */
static size_t skip_report(cursor *c) {
  c->pos += 8;
  uint32_t n = take_u32(c);
  size_t first = 0;
  for (uint32_t i = 0; i < n; i++) {
    skip_str(c);
    if (i == 0)
      first = c->pos;
    c->pos += 8;
  }
  return first;
}

static void parse(const unsigned char *file, layout *l) {
  memset(l, 0, sizeof *l);
  cursor c = {file, EVO_FRAME_HEAD};
  c.pos += 8 * EVO_POP_SETTING_COUNT;
  skip_str(&c);                             /* tag */
  c.pos += take_u32(&c) * EVO_GENOME_BYTES; /* initial genomes */
  c.pos += 8 + 4 + 8 + 8; /* generation, phase, compute, evaluations */
  l->n_ind = take_u32(&c);
  ck_assert_uint_eq(l->n_ind, POP_SIZE);
  for (size_t i = 0; i < l->n_ind; i++) {
    l->ind_genome[i] = c.pos;
    l->ind_terms[i] = u32_at(file + c.pos);
    c.pos += EVO_GENOME_BYTES;
    int evaluated = file[c.pos];
    c.pos += 2; /* evaluated, rung */
    ck_assert(evaluated);
    c.pos += 8 + 4; /* fitness, status */
    skip_str(&c);   /* error */
    l->ind_task_fitness[i] = skip_report(&c);
    c.pos += 1; /* cached */
  }
  l->n_hist = take_u32(&c);
  ck_assert_uint_eq(l->n_hist, GENERATIONS);
  for (size_t g = 0; g < l->n_hist; g++) {
    for (size_t k = 0; k < EVO_HIST_COUNT; k++, c.pos += 8)
      l->hist_value[g][k] = c.pos;
    c.pos += EVO_GENOME_BYTES;
    skip_report(&c);
    l->hist_terms[g] = c.pos;
    c.pos += 4 * EVO_TERM_COUNT;
  }
  l->n_hof = take_u32(&c);
  ck_assert_uint_ge(l->n_hof, 2);
  for (size_t i = 0; i < l->n_hof; i++) {
    l->hof_genome[i] = c.pos;
    c.pos += EVO_GENOME_BYTES;
    l->hof_fitness[i] = c.pos;
    c.pos += 8 + 8;
  }
  ck_assert_uint_eq(take_u32(&c), 0); /* the cache: off */
  l->cost_count = c.pos;
  ck_assert_uint_eq(take_u32(&c), POP_SIZE + GENERATIONS);
  for (size_t i = 0; i < POP_SIZE; i++, c.pos += 8)
    l->ind_cost[i] = c.pos;
  for (size_t g = 0; g < GENERATIONS; g++, c.pos += 8)
    l->hist_cost[g] = c.pos;
  uint64_t payload = 0; /* the frame's payload size, after the version */
  for (int i = 0; i < 8; i++)
    payload |= (uint64_t)file[12 + i] << (8 * i);
  ck_assert_uint_eq(c.pos, EVO_FRAME_HEAD + payload); /* the costs end it */
}

/* ---- patching ------------------------------------------------------------ */

static double f64_at(const unsigned char *p) {
  uint64_t u = 0;
  for (int i = 0; i < 8; i++)
    u |= (uint64_t)p[i] << (8 * i);
  double v;
  memcpy(&v, &u, 8);
  return v;
}

static void put_f64(unsigned char *p, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(u >> (8 * i));
}

static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

/* The CRC-32 of everything before it, as the frame has it. */
static void fix_crc(unsigned char *file, size_t size) {
  put_u32(file + size - 4, evo_crc32(file, size - 4));
}

typedef struct fixture {
  pt_tmp tmp;
  unsigned char *good, *work;
  size_t size;
  layout l;
} fixture;

static void fixture_make(fixture *fx) {
  pt_tmp_make(&fx->tmp);
  fx->good = valid_checkpoint(fx->tmp.file, &fx->size);
  fx->work = malloc(fx->size);
  ck_assert_ptr_nonnull(fx->work);
  parse(fx->good, &fx->l);
}

static void fixture_free(fixture *fx) {
  free(fx->good);
  free(fx->work);
  pt_tmp_remove(&fx->tmp);
}

/* A fresh copy of the valid checkpoint to patch. */
static unsigned char *fresh(fixture *fx) {
  memcpy(fx->work, fx->good, fx->size);
  return fx->work;
}

/* Fixes the CRC of the patched copy and resumes it: refused with
 * EVO_EFORMAT naming the file and @p field, or (@p field NULL) accepted. */
static void expect(fixture *fx, const char *field, int line) {
  fix_crc(fx->work, fx->size);
  write_bytes(fx->tmp.file, fx->work, fx->size);
  static int sentinel;
  evo_population *pop = (evo_population *)&sentinel;
  int rc = evo_population_resume(&pop, fx->tmp.file, NULL);
  const char *msg = evo_last_error();
  if (field == NULL) {
    ck_assert_msg(rc == EVO_OK, "line %d: a valid patch was refused: %s", line,
                  msg);
    evo_population_free(pop);
    return;
  }
  ck_assert_msg(rc == EVO_EFORMAT,
                "line %d: status %d (%s), expected "
                "EVO_EFORMAT naming '%s'",
                line, rc, rc ? msg : "", field);
  ck_assert_ptr_null(pop);
  ck_assert_msg(strstr(msg, field) != NULL && strstr(msg, fx->tmp.file),
                "line %d: message '%s' does not name the file and '%s'", line,
                msg, field);
}
#define EXPECT_REFUSED(fx, field) expect(fx, field, __LINE__)
#define EXPECT_ACCEPTED(fx) expect(fx, NULL, __LINE__)

/* ---- history values ------------------------------------------------------ */

/* Fitness values: any finite number (a fitness callback may return any, as
 * evo_report_set_fitness() allows); NaN and infinities refused. */
START_TEST(history_fitness) {
  fixture fx;
  fixture_make(&fx);
  static const char *const names[] = {
      "history best fitness", "history mean fitness", "history median fitness",
      "history worst fitness"};
  for (size_t k = EVO_HIST_BEST; k <= EVO_HIST_WORST; k++) {
    const double bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < 3; i++) {
      put_f64(fresh(&fx) + fx.l.hist_value[1][k], bad[i]);
      EXPECT_REFUSED(&fx, names[k]);
    }
    put_f64(fresh(&fx) + fx.l.hist_value[1][k], -3.5);
    EXPECT_ACCEPTED(&fx);
    put_f64(fresh(&fx) + fx.l.hist_value[1][k], 7.0);
    EXPECT_ACCEPTED(&fx);
  }
  fixture_free(&fx);
}
END_TEST

/* Failures and cache hits: whole numbers from 0 to the population size. */
START_TEST(history_counts) {
  fixture fx;
  fixture_make(&fx);
  const struct {
    size_t key;
    const char *name;
  } counts[] = {{EVO_HIST_FAILED, "history failure count"},
                {EVO_HIST_CACHE_HITS, "history cache-hit count"}};
  for (size_t c = 0; c < 2; c++) {
    size_t at = fx.l.hist_value[2][counts[c].key];
    const double bad[] = {-1.0, POP_SIZE + 1.0, 0.5, 1e300, NAN, -1e-9};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      put_f64(fresh(&fx) + at, bad[i]);
      EXPECT_REFUSED(&fx, counts[c].name);
    }
    put_f64(fresh(&fx) + at, 0.0);
    EXPECT_ACCEPTED(&fx);
    put_f64(fresh(&fx) + at, POP_SIZE);
    EXPECT_ACCEPTED(&fx);
  }
  fixture_free(&fx);
}
END_TEST

/* Compute and evaluations are running totals: never below the generation
 * before, never above the run's own (every evaluation here costs COST, so
 * the last generation's values are the run's totals). */
START_TEST(history_totals) {
  fixture fx;
  fixture_make(&fx);
  const size_t last = GENERATIONS - 1;
  const size_t keys[] = {EVO_HIST_COMPUTE, EVO_HIST_EVALUATIONS};
  const char *const names[] = {"history compute", "history evaluation count"};
  for (size_t k = 0; k < 2; k++) {
    size_t at0 = fx.l.hist_value[0][keys[k]];
    size_t at_last = fx.l.hist_value[last][keys[k]];
    double total = f64_at(fx.good + at_last);
    double first = f64_at(fx.good + at0);
    ck_assert(first > 0 && total > first); /* generation 0 evaluated */
    if (keys[k] == EVO_HIST_COMPUTE)       /* POP_SIZE evaluations at least */
      ck_assert_double_ge(first, POP_SIZE * COST - 1e-9);
    const double bad[] = {-1.0, NAN, INFINITY, total * 2.0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      put_f64(fresh(&fx) + at_last, bad[i]);
      EXPECT_REFUSED(&fx, names[k]);
    }
    /* above the generation after it */
    put_f64(fresh(&fx) + at0,
            f64_at(fx.good + fx.l.hist_value[1][keys[k]]) + 1.0);
    EXPECT_REFUSED(&fx, names[k]);
    /* bounds: 0 in generation 0, the run's total in generation 1 */
    put_f64(fresh(&fx) + at0, 0.0);
    EXPECT_ACCEPTED(&fx);
    put_f64(fresh(&fx) + fx.l.hist_value[1][keys[k]], total);
    EXPECT_ACCEPTED(&fx);
  }
  put_f64(fresh(&fx) + fx.l.hist_value[1][EVO_HIST_EVALUATIONS], 2.5);
  EXPECT_REFUSED(&fx, "history evaluation count");
  fixture_free(&fx);
}
END_TEST

/* Term counts: every genome has 1 to 4 terms, so the counts of a
 * generation add up to POP_SIZE .. 4 POP_SIZE. */
START_TEST(history_terms) {
  fixture fx;
  fixture_make(&fx);
  size_t at = fx.l.hist_terms[1];
  const uint32_t bad_first[] = {UINT32_MAX, 4 * POP_SIZE + 1, POP_SIZE - 1};
  for (size_t i = 0; i < 3; i++) {
    unsigned char *w = fresh(&fx);
    memset(w + at, 0, 4 * EVO_TERM_COUNT);
    put_u32(w + at, bad_first[i]);
    EXPECT_REFUSED(&fx, "history term counts");
  }
  unsigned char *w = fresh(&fx);
  put_u32(w + at + 4 * (EVO_TERM_COUNT - 1), UINT32_MAX); /* with the rest */
  EXPECT_REFUSED(&fx, "history term counts");
  const uint32_t good_first[] = {POP_SIZE, 4 * POP_SIZE};
  for (size_t i = 0; i < 2; i++) {
    w = fresh(&fx);
    memset(w + at, 0, 4 * EVO_TERM_COUNT);
    put_u32(w + at, good_first[i]);
    EXPECT_ACCEPTED(&fx);
  }
  fixture_free(&fx);
}
END_TEST

/* ---- hall of fame, reports, genomes ------------------------------------ */

START_TEST(hall_of_fame) {
  fixture fx;
  fixture_make(&fx);
  const double bad[] = {NAN, INFINITY, -INFINITY};
  for (size_t i = 0; i < 3; i++) {
    put_f64(fresh(&fx) + fx.l.hof_fitness[0], bad[i]);
    EXPECT_REFUSED(&fx, "hall-of-fame fitness");
  }
  /* best first: the second above the first is refused, equal is not */
  double top = f64_at(fx.good + fx.l.hof_fitness[0]);
  put_f64(fresh(&fx) + fx.l.hof_fitness[1], top + 0.25);
  EXPECT_REFUSED(&fx, "hall-of-fame order");
  put_f64(fresh(&fx) + fx.l.hof_fitness[1], top);
  EXPECT_ACCEPTED(&fx);
  put_f64(fresh(&fx) + fx.l.hof_fitness[0], 5.0); /* any finite fitness */
  EXPECT_ACCEPTED(&fx);
  fixture_free(&fx);
}
END_TEST

START_TEST(report_task_fitness) {
  fixture fx;
  fixture_make(&fx);
  ck_assert_uint_ne(fx.l.ind_task_fitness[3], 0);
  put_f64(fresh(&fx) + fx.l.ind_task_fitness[3], NAN);
  EXPECT_REFUSED(&fx, "report task fitness");
  put_f64(fresh(&fx) + fx.l.ind_task_fitness[3], INFINITY);
  EXPECT_REFUSED(&fx, "report task fitness");
  fixture_free(&fx);
}
END_TEST

/* Reports' costs (version 5): finite, from 0 to the run's compute (the
 * last generation's EVO_HIST_COMPUTE here); as many as the evaluated
 * individuals and the history entries. */
START_TEST(report_costs) {
  fixture fx;
  fixture_make(&fx);
  double total =
      f64_at(fx.good + fx.l.hist_value[GENERATIONS - 1][EVO_HIST_COMPUTE]);
  ck_assert_double_ge(total, COST * POP_SIZE * GENERATIONS / 2.0);
  const size_t at[] = {fx.l.ind_cost[0], fx.l.ind_cost[POP_SIZE - 1],
                       fx.l.hist_cost[0], fx.l.hist_cost[GENERATIONS - 1]};
  for (size_t k = 0; k < 4; k++) {
    ck_assert_double_eq(f64_at(fx.good + at[k]), COST); /* as written */
    const double bad[] = {NAN, INFINITY, -INFINITY, -0.25, -1e-300,
                          total + 1e-3, 1e300};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      put_f64(fresh(&fx) + at[k], bad[i]);
      EXPECT_REFUSED(&fx, "report cost");
    }
    put_f64(fresh(&fx) + at[k], 0.0);
    EXPECT_ACCEPTED(&fx);
    put_f64(fresh(&fx) + at[k], total);
    EXPECT_ACCEPTED(&fx);
  }
  const uint32_t counts[] = {0, POP_SIZE + GENERATIONS - 1,
                             POP_SIZE + GENERATIONS + 1, UINT32_MAX};
  for (size_t i = 0; i < 4; i++) {
    put_u32(fresh(&fx) + fx.l.cost_count, counts[i]);
    EXPECT_REFUSED(&fx, "report cost count");
  }
  fixture_free(&fx);
}
END_TEST

/* The term slots beyond a genome's term count are kept bit for bit (a
 * removed term leaves its code and α there) but must hold a term code and
 * an α in [-5, 5], like a used slot: in an individual, a hall-of-fame
 * entry, anywhere a genome is stored. */
START_TEST(unused_term_slots) {
  fixture fx;
  fixture_make(&fx);
  size_t at = 0;
  for (size_t i = 0; i < fx.l.n_ind && at == 0; i++)
    if (fx.l.ind_terms[i] < EVO_MAX_TERMS)
      at = fx.l.ind_genome[i];
  ck_assert_msg(at != 0, "no individual with fewer than 4 terms");
  const size_t genomes[] = {at, fx.l.hof_genome[1]};
  const size_t slot = EVO_MAX_TERMS - 1; /* unused unless it has 4 terms */
  for (size_t gi = 0; gi < 2; gi++) {
    size_t code = genomes[gi] + 4 + 4 * slot,
           alpha = genomes[gi] + 4 + 4 * EVO_MAX_TERMS + 8 * slot;
    if (u32_at(fx.good + genomes[gi]) == EVO_MAX_TERMS)
      continue;
    put_u32(fresh(&fx) + code, 99);
    EXPECT_REFUSED(&fx, "unused term slot");
    put_u32(fresh(&fx) + code, UINT32_MAX); /* -1 */
    EXPECT_REFUSED(&fx, "unused term slot");
    const double bad[] = {NAN, INFINITY, 5.5, -1e300};
    for (size_t i = 0; i < 4; i++) {
      put_f64(fresh(&fx) + alpha, bad[i]);
      EXPECT_REFUSED(&fx, "unused term slot");
    }
    unsigned char *w = fresh(&fx); /* a stale term: kept */
    put_u32(w + code, EVO_TERM_COUNT - 1);
    put_f64(w + alpha, -5.0);
    EXPECT_ACCEPTED(&fx);
  }
  fixture_free(&fx);
}
END_TEST

/* ---- gzip bombs (item 3) ----------------------------------------------- */

/* A header declaring 2 GiB, and the valid checkpoint followed by 1.2 GiB of
 * zeros: both refused after reading the header or the declared bytes, in
 * under 2 s and with the peak memory up by less than 16 MiB. */
START_TEST(gzip_bombs) {
  fixture fx;
  fixture_make(&fx);
  unsigned char head[EVO_FRAME_HEAD];
  memcpy(head, fx.good, 12);
  uint64_t declared = (uint64_t)2 << 30;
  for (int i = 0; i < 8; i++)
    head[12 + i] = (unsigned char)(declared >> (8 * i));
  const struct {
    const void *head;
    size_t len;
    const char *needle;
  } bombs[] = {{head, sizeof head, "declares 2147483648 bytes"},
               {fx.good, fx.size, "larger than"}};
  for (size_t b = 0; b < 2; b++) {
    ck_assert_int_eq(bomb_write(fx.tmp.file, bombs[b].head, bombs[b].len, 1200),
                     0);
    size_t rss = bomb_peak_rss();
    double start = bomb_now();
    evo_population *pop = NULL;
    int rc = evo_population_resume(&pop, fx.tmp.file, NULL);
    double seconds = bomb_now() - start;
    size_t grown = bomb_peak_rss() - rss;
    ck_assert_msg(rc == EVO_EFORMAT &&
                      strstr(evo_last_error(), bombs[b].needle),
                  "bomb %zu: status %d, '%s'", b, rc, evo_last_error());
    ck_assert_ptr_nonnull(strstr(evo_last_error(), fx.tmp.file));
    ck_assert_msg(grown < ((size_t)16 << 20) && seconds < 2.0,
                  "bomb %zu: peak memory up by %zu MiB, %.2f s", b, grown >> 20,
                  seconds);
  }
  fixture_free(&fx);
}
END_TEST

int main(void) {
  Suite *s = suite_create("checkpoint_fields");
  TCase *tc = tcase_create("fields");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, history_fitness);
  tcase_add_test(tc, history_counts);
  tcase_add_test(tc, history_totals);
  tcase_add_test(tc, history_terms);
  tcase_add_test(tc, hall_of_fame);
  tcase_add_test(tc, report_task_fitness);
  tcase_add_test(tc, report_costs);
  tcase_add_test(tc, unused_term_slots);
  tcase_add_test(tc, gzip_bombs);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}
