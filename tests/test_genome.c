/* Check suite for the genome (genome.h): defaults and presets against
 * doc/algorithm.md §1, §4, §5 (numbers written here, not read from the
 * library), JSON round trips, every malformed input, range checks and
 * describe(). Usage: test_genome [path of
 * tests/fixtures/genome/paper-evolved.json] */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evoopt/genome.h"

static const char *fixture_path;

/* doc/algorithm.md §5, verbatim. */
static const char paper_json[] =
    "{\"term_types\": [4, 4, 3, 3],\n"
    " \"alphas\": [0.41205802174892475, 0.32238621456272765,\n"
    "            2.0030004279455267, 1.6322011630060542],\n"
    " \"lr_log10\": -2.9198932483267144, \"beta1\": 0.8553020861538518,\n"
    " \"beta2\": 0.9357561078635277, \"eps_log10\": -8.26423960220415,\n"
    " \"wd_log10\": -3.0112238437153316, \"use_m\": true, \"use_v\": true,\n"
    " \"use_bias_correction\": false, \"use_gradient_clipping\": false,\n"
    " \"clip_value\": 1.0, \"use_warmup\": true, \"warmup_steps\": 100,\n"
    " \"use_cosine_decay\": true}";

/* doc/algorithm.md §1's keys in the order of its table. */
static const char *const json_keys[15] = {
    "term_types", "alphas", "lr_log10", "beta1", "beta2",
    "eps_log10", "wd_log10", "use_m", "use_v", "use_bias_correction",
    "use_gradient_clipping", "clip_value", "use_warmup", "warmup_steps",
    "use_cosine_decay"};

/* ---- helpers -------------------------------------------------------------- */

/* The expected genome, written out in full. */
typedef struct expect {
  const char *name;
  size_t n;
  evo_term terms[4];
  double alphas[4];
  double lr, beta1, beta2, eps, wd, clip, warmup;
  int flags[6]; /* use_m, use_v, bias corr, clipping, warmup, cosine */
} expect;

static bool same_bits(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

static void assert_genome(const evo_genome *g, const expect *e) {
  const double genes[7] = {e->lr, e->beta1, e->beta2, e->eps,
                           e->wd, e->clip, e->warmup};
  ck_assert_uint_eq(evo_genome_term_count(g), e->n);
  for (size_t i = 0; i < e->n; i++) {
    evo_term t;
    double a;
    ck_assert_int_eq(evo_genome_get_term(g, i, &t, &a), EVO_OK);
    ck_assert_msg(t == e->terms[i] && same_bits(a, e->alphas[i]),
                  "%s: term %zu is %d %.17g", e->name, i, (int)t, a);
  }
  for (int k = 0; k < 7; k++) {
    double v;
    ck_assert_int_eq(evo_genome_get(g, (evo_gene)k, &v), EVO_OK);
    ck_assert_msg(same_bits(v, genes[k]), "%s: gene %d is %.17g, not %.17g",
                  e->name, k, v, genes[k]);
  }
  for (int k = 0; k < 6; k++) {
    int f;
    ck_assert_int_eq(evo_genome_get_flag(g, (evo_flag)k, &f), EVO_OK);
    ck_assert_msg(f == e->flags[k], "%s: flag %d is %d", e->name, k, f);
  }
}

static void assert_error_names(int rc, int want, const char *needle) {
  ck_assert_msg(rc == want, "status %d, expected %d (%s)", rc, want,
                evo_last_error());
  ck_assert_msg(strstr(evo_last_error(), needle) != NULL,
                "message '%s' does not name '%s'", evo_last_error(), needle);
}

/* splitmix64: the test's own generator, independent of the library's. */
static uint64_t mix(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *s, double lo, double hi) {
  return lo + (hi - lo) * ((double)(mix(s) >> 11) * 0x1.0p-53);
}

/* ---- defaults and presets (doc/algorithm.md §1, §4, §5) ------------------ */

START_TEST(test_defaults) {
  static const expect e = {"defaults", 1, {EVO_TERM_GRAD}, {1.0},
                           -3.0, 0.9, 0.999, -8.0, -4.0, 1.0, 100.0,
                           {1, 1, 1, 0, 0, 0}};
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_new(&g), EVO_OK);
  assert_genome(g, &e);
  evo_genome_free(g);
}
END_TEST

static const expect presets[] = {
    {"sgd", 1, {EVO_TERM_MOMENTUM}, {1.0}, -2.0, 0.9, 0.999, -8.0, -4.0,
     1.0, 100.0, {1, 0, 0, 0, 0, 0}},
    {"adam", 1, {EVO_TERM_ADAM}, {1.0}, -3.0, 0.9, 0.999, -8.0, -4.0, 1.0,
     100.0, {1, 1, 1, 0, 0, 0}},
    {"adamw", 1, {EVO_TERM_ADAM}, {1.0}, -3.0, 0.9, 0.999, -8.0, -2.0, 1.0,
     100.0, {1, 1, 1, 0, 0, 0}},
    {"rmsprop", 1, {EVO_TERM_RMS_NORM}, {1.0}, -3.0, 0.9, 0.99, -8.0, -4.0,
     1.0, 100.0, {0, 1, 0, 0, 0, 0}},
    {"paper-evolved", 4,
     {EVO_TERM_SIGN, EVO_TERM_SIGN, EVO_TERM_ADAM, EVO_TERM_ADAM},
     {0.41205802174892475, 0.32238621456272765, 2.0030004279455267,
      1.6322011630060542},
     -2.9198932483267144, 0.8553020861538518, 0.9357561078635277,
     -8.26423960220415, -3.0112238437153316, 1.0, 100.0,
     {1, 1, 0, 0, 1, 1}},
    {"plain-sgd", 1, {EVO_TERM_GRAD}, {1.0}, -2.0, 0.9, 0.999, -8.0,
     -INFINITY, 1.0, 100.0, {0, 0, 1, 0, 0, 0}},
    {"sgd-nesterov", 1, {EVO_TERM_NESTEROV}, {1.0}, -2.0, 0.9, 0.999, -8.0,
     -INFINITY, 1.0, 100.0, {1, 0, 0, 0, 0, 0}},
    {"sign-descent", 1, {EVO_TERM_SIGN}, {1.0}, -3.0, 0.9, 0.999, -8.0,
     -INFINITY, 1.0, 100.0, {0, 0, 1, 0, 0, 0}},
    {"adam-nowd", 1, {EVO_TERM_ADAM}, {1.0}, -3.0, 0.9, 0.999, -8.0,
     -INFINITY, 1.0, 100.0, {1, 1, 1, 0, 0, 0}},
    /* torch.optim's defaults (genome.h); their updates are checked
     * against torch in test_optimizer.c */
    {"torch-sgd", 1, {EVO_TERM_GRAD}, {1.0}, -3.0, 0.9, 0.999, -8.0,
     -INFINITY, 1.0, 100.0, {0, 0, 0, 0, 0, 0}},
    {"torch-sgd-momentum", 1, {EVO_TERM_MOMENTUM}, {1.0}, -2.0, 0.9, 0.999,
     -8.0, -INFINITY, 1.0, 100.0, {1, 0, 0, 0, 0, 0}},
    {"torch-sgd-nesterov", 2, {EVO_TERM_GRAD, EVO_TERM_MOMENTUM}, {0.1, 0.9},
     -2.0, 0.9, 0.999, -8.0, -INFINITY, 1.0, 100.0, {1, 0, 0, 0, 0, 0}},
    {"torch-adam", 1, {EVO_TERM_ADAM}, {1.0}, -3.0, 0.9, 0.999, -8.0,
     -INFINITY, 1.0, 100.0, {1, 1, 1, 0, 0, 0}},
    {"torch-adamw", 1, {EVO_TERM_ADAM}, {1.0}, -3.0, 0.9, 0.999, -8.0, -2.0,
     1.0, 100.0, {1, 1, 1, 0, 0, 0}},
    {"torch-rmsprop", 1, {EVO_TERM_RMS_NORM}, {1.0}, -2.0, 0.9, 0.99, -8.0,
     -INFINITY, 1.0, 100.0, {0, 1, 0, 0, 0, 0}},
};

#define N_PRESETS (sizeof presets / sizeof presets[0])

START_TEST(test_presets) {
  ck_assert_uint_eq(evo_genome_preset_count(), N_PRESETS);
  for (size_t i = 0; i < N_PRESETS; i++) {
    evo_genome *g = NULL;
    ck_assert_str_eq(evo_genome_preset_name(i), presets[i].name);
    ck_assert_int_eq(evo_genome_preset(&g, presets[i].name), EVO_OK);
    assert_genome(g, &presets[i]);
    evo_genome_free(g);
  }
  ck_assert_ptr_null(evo_genome_preset_name(N_PRESETS));
  evo_genome *g = NULL;
  assert_error_names(evo_genome_preset(&g, "adagrad"), EVO_ENOTFOUND,
                     "adagrad");
  ck_assert_msg(strstr(evo_last_error(), "paper-evolved") != NULL,
                "the message lists the known presets");
  ck_assert_ptr_null(g);
}
END_TEST

START_TEST(test_paper_json_loads) {
  evo_genome *j = NULL, *p = NULL, *f = NULL;
  ck_assert_int_eq(evo_genome_from_json(&j, paper_json), EVO_OK);
  ck_assert_int_eq(evo_genome_preset(&p, "paper-evolved"), EVO_OK);
  assert_genome(j, &presets[4]);
  ck_assert(evo_genome_equal(j, p));
  if (fixture_path != NULL) {
    ck_assert_int_eq(evo_genome_load(&f, fixture_path), EVO_OK);
    ck_assert(evo_genome_equal(f, p));
  }
  evo_genome_free(j);
  evo_genome_free(p);
  evo_genome_free(f);
}
END_TEST

/* ---- JSON writer and round trips ----------------------------------------- */

START_TEST(test_json_keys_in_order) {
  evo_genome *g = NULL;
  char *text = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, "paper-evolved"), EVO_OK);
  ck_assert_int_eq(evo_genome_to_json(g, &text), EVO_OK);
  json_t *root = json_loads(text, 0, NULL);
  ck_assert_ptr_nonnull(root);
  ck_assert_uint_eq(json_object_size(root), 15);
  const char *prev = text;
  for (int k = 0; k < 15; k++) {
    char quoted[64];
    snprintf(quoted, sizeof quoted, "\"%s\":", json_keys[k]);
    const char *at = strstr(text, quoted);
    ck_assert_msg(at != NULL && at >= prev, "key %s out of order in %s",
                  json_keys[k], text);
    prev = at;
  }
  /* 17 significant digits, ints for codes and warmup, booleans for flags. */
  ck_assert_ptr_nonnull(strstr(text, "\"term_types\": [4, 4, 3, 3]"));
  ck_assert_ptr_nonnull(strstr(text, "-2.9198932483267144"));
  ck_assert_ptr_nonnull(strstr(text, "\"warmup_steps\": 100,"));
  ck_assert_ptr_nonnull(strstr(text, "\"use_bias_correction\": false"));
  json_decref(root);
  evo_free(text);
  evo_genome_free(g);
}
END_TEST

/* A genome with every gene drawn over its whole accepted range. */
static void random_genome(evo_genome *g, uint64_t *s) {
  static const double lo[7] = {-10, 0, 0, -20, -12, 0, 1};
  static const double hi[7] = {2, 1, 1, 0, 0, 1e6, 1e9};
  size_t n = 1 + (size_t)(mix(s) % 4);
  while (evo_genome_term_count(g) > 1)
    ck_assert_int_eq(evo_genome_remove_term(g, 0), EVO_OK);
  for (size_t i = 0; i < n; i++) {
    evo_term t = (evo_term)(mix(s) % EVO_TERM_COUNT);
    double a = uniform(s, -5, 5);
    ck_assert_int_eq(i == 0 ? evo_genome_set_term(g, 0, t, a)
                            : evo_genome_add_term(g, t, a), EVO_OK);
  }
  for (int k = 0; k < 7; k++) {
    double v = uniform(s, lo[k], hi[k]);
    if (k == EVO_GENE_WARMUP_STEPS)
      v = floor(v);
    if (k == EVO_GENE_CLIP_VALUE && v == 0)
      v = 1;
    if (k == EVO_GENE_WD_LOG10 && mix(s) % 5 == 0)
      v = -INFINITY;
    ck_assert_int_eq(evo_genome_set(g, (evo_gene)k, v), EVO_OK);
  }
  for (int k = 0; k < 6; k++)
    ck_assert_int_eq(evo_genome_set_flag(g, (evo_flag)k, (int)(mix(s) & 1)),
                     EVO_OK);
}

/* Compares through the getters, bit for bit, independently of
 * evo_genome_equal(). */
static void assert_same(const evo_genome *a, const evo_genome *b) {
  ck_assert_uint_eq(evo_genome_term_count(a), evo_genome_term_count(b));
  for (size_t i = 0; i < evo_genome_term_count(a); i++) {
    evo_term ta, tb;
    double aa, ab;
    evo_genome_get_term(a, i, &ta, &aa);
    evo_genome_get_term(b, i, &tb, &ab);
    ck_assert(ta == tb && same_bits(aa, ab));
  }
  for (int k = 0; k < 7; k++) {
    double va, vb;
    evo_genome_get(a, (evo_gene)k, &va);
    evo_genome_get(b, (evo_gene)k, &vb);
    ck_assert_msg(same_bits(va, vb), "gene %d: %.17g vs %.17g", k, va, vb);
  }
  for (int k = 0; k < 6; k++) {
    int fa, fb;
    evo_genome_get_flag(a, (evo_flag)k, &fa);
    evo_genome_get_flag(b, (evo_flag)k, &fb);
    ck_assert_int_eq(fa, fb);
  }
}

static void assert_round_trip(const evo_genome *g) {
  char *text = NULL;
  evo_genome *back = NULL;
  ck_assert_int_eq(evo_genome_to_json(g, &text), EVO_OK);
  ck_assert_msg(evo_genome_from_json(&back, text) == EVO_OK, "%s: %s", text,
                evo_last_error());
  assert_same(g, back);
  ck_assert(evo_genome_equal(g, back));
  evo_free(text);
  evo_genome_free(back);
}

START_TEST(test_round_trip_random) {
  uint64_t s = 12345;
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_new(&g), EVO_OK);
  for (int i = 0; i < 2000; i++) {
    random_genome(g, &s);
    assert_round_trip(g);
  }
  evo_genome_free(g);
}
END_TEST

START_TEST(test_round_trip_extremes) {
  /* Bounds, signed zero, the smallest subnormal, the largest double below 1. */
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_new(&g), EVO_OK);
  ck_assert_int_eq(evo_genome_set_term(g, 0, EVO_TERM_NESTEROV, -0.0), 0);
  ck_assert_int_eq(evo_genome_add_term(g, EVO_TERM_UNIT, 5.0), 0);
  ck_assert_int_eq(evo_genome_add_term(g, EVO_TERM_SIGN, -5.0), 0);
  ck_assert_int_eq(evo_genome_add_term(g, EVO_TERM_GRAD, 4.9e-324), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_LR_LOG10, -10.0), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_BETA1, nextafter(1.0, 0.0)), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_BETA2, 0.0), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_EPS_LOG10, -20.0), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_WD_LOG10, 0.0), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_CLIP_VALUE, 1e6), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_WARMUP_STEPS, 1e9), 0);
  assert_round_trip(g);
  evo_genome_free(g);
}
END_TEST

START_TEST(test_zero_weight_decay) {
  evo_genome *g = NULL, *back = NULL, *nowd = NULL;
  char *text = NULL;
  double wd = 0;
  ck_assert_int_eq(evo_genome_preset(&g, "adam"), EVO_OK);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_WD_LOG10, -INFINITY), EVO_OK);
  ck_assert_int_eq(evo_genome_get(g, EVO_GENE_WD_LOG10, &wd), EVO_OK);
  ck_assert(isinf(wd) && wd < 0);
  ck_assert_int_eq(evo_genome_preset(&nowd, "adam-nowd"), EVO_OK);
  ck_assert(evo_genome_equal(g, nowd));
  ck_assert_int_eq(evo_genome_to_json(g, &text), EVO_OK);
  ck_assert_ptr_nonnull(strstr(text, "\"wd_log10\": null"));
  ck_assert_int_eq(evo_genome_from_json(&back, text), EVO_OK);
  ck_assert_int_eq(evo_genome_get(back, EVO_GENE_WD_LOG10, &wd), EVO_OK);
  ck_assert(isinf(wd) && wd < 0);
  ck_assert(evo_genome_equal(back, nowd));
  evo_free(text);
  evo_genome_free(g);
  evo_genome_free(back);
  evo_genome_free(nowd);
}
END_TEST

/* ---- malformed JSON -------------------------------------------------------- */

/* doc/algorithm.md §5's genome with @p key replaced by @p value (JSON text), or
 * removed when @p value is NULL; a key not in it is added. */
static char *mutated(const char *key, const char *value) {
  json_t *root = json_loads(paper_json, 0, NULL);
  ck_assert_ptr_nonnull(root);
  if (value == NULL) {
    ck_assert_int_eq(json_object_del(root, key), 0);
  } else {
    json_t *v = json_loads(value, JSON_DECODE_ANY, NULL);
    ck_assert_ptr_nonnull(v);
    json_object_set_new(root, key, v);
  }
  char *text = json_dumps(root, JSON_REAL_PRECISION(17));
  json_decref(root);
  return text;
}

typedef struct bad_case {
  const char *key, *value; /* NULL value: key removed */
  int status;
  const char *needle; /* the message must contain this */
} bad_case;

static const bad_case bad_cases[] = {
    /* unknown key */
    {"learning_rate", "0.001", EVO_EPARSE, "learning_rate"},
    /* wrong types */
    {"term_types", "\"adam\"", EVO_EPARSE, "term_types"},
    {"term_types", "[4, 4.0, 3, 3]", EVO_EPARSE, "term_types[1]"},
    {"term_types", "[4, true, 3, 3]", EVO_EPARSE, "term_types[1]"},
    {"alphas", "{}", EVO_EPARSE, "alphas"},
    {"alphas", "[1, \"2\", 3, 4]", EVO_EPARSE, "alphas[1]"},
    {"lr_log10", "\"-3\"", EVO_EPARSE, "lr_log10"},
    {"lr_log10", "null", EVO_EPARSE, "lr_log10"},
    {"beta1", "true", EVO_EPARSE, "beta1"},
    {"beta2", "[0.9]", EVO_EPARSE, "beta2"},
    {"eps_log10", "null", EVO_EPARSE, "eps_log10"},
    {"wd_log10", "\"none\"", EVO_EPARSE, "wd_log10"},
    {"use_m", "1", EVO_EPARSE, "use_m"},
    {"use_v", "\"true\"", EVO_EPARSE, "use_v"},
    {"use_bias_correction", "null", EVO_EPARSE, "use_bias_correction"},
    {"use_gradient_clipping", "0", EVO_EPARSE, "use_gradient_clipping"},
    {"clip_value", "null", EVO_EPARSE, "clip_value"},
    {"use_warmup", "{}", EVO_EPARSE, "use_warmup"},
    {"warmup_steps", "100.0", EVO_EPARSE, "warmup_steps"},
    {"warmup_steps", "\"100\"", EVO_EPARSE, "warmup_steps"},
    {"use_cosine_decay", "1.0", EVO_EPARSE, "use_cosine_decay"},
    /* shapes */
    {"alphas", "[1, 2, 3]", EVO_EPARSE, "alphas"},
    {"alphas", "[1, 2, 3, 4, 5]", EVO_EPARSE, "alphas"},
    {"term_types", "[]", EVO_EPARSE, "term_types"},
    {"term_types", "[0, 1, 2, 3, 4]", EVO_EPARSE, "term_types"},
    /* out of range */
    {"term_types", "[4, 7, 3, 3]", EVO_ERANGE, "term_types[1]"},
    {"term_types", "[4, 4, -1, 3]", EVO_ERANGE, "term_types[2]"},
    {"term_types", "[4, 4, 3, 99999999999]", EVO_ERANGE, "term_types[3]"},
    {"alphas", "[1, 2, 3, 5.5]", EVO_ERANGE, "alphas[3]"},
    {"alphas", "[-5.0000001, 2, 3, 4]", EVO_ERANGE, "alphas[0]"},
    {"lr_log10", "2.5", EVO_ERANGE, "lr_log10"},
    {"lr_log10", "-11", EVO_ERANGE, "lr_log10"},
    {"beta1", "1.0", EVO_ERANGE, "beta1"},
    {"beta1", "-0.01", EVO_ERANGE, "beta1"},
    {"beta2", "1", EVO_ERANGE, "beta2"},
    {"eps_log10", "0.5", EVO_ERANGE, "eps_log10"},
    {"eps_log10", "-21", EVO_ERANGE, "eps_log10"},
    {"wd_log10", "0.1", EVO_ERANGE, "wd_log10"},
    {"wd_log10", "-13", EVO_ERANGE, "wd_log10"},
    {"clip_value", "0", EVO_ERANGE, "clip_value"},
    {"clip_value", "-1.0", EVO_ERANGE, "clip_value"},
    {"clip_value", "1000001", EVO_ERANGE, "clip_value"},
    {"warmup_steps", "0", EVO_ERANGE, "warmup_steps"},
    {"warmup_steps", "1000000001", EVO_ERANGE, "warmup_steps"},
    {"warmup_steps", "-5", EVO_ERANGE, "warmup_steps"},
};

START_TEST(test_bad_values) {
  const bad_case *c = &bad_cases[_i];
  char *text = mutated(c->key, c->value);
  evo_genome *g = NULL;
  int rc = evo_genome_from_json(&g, text);
  ck_assert_msg(rc == c->status, "%s = %s: status %d, expected %d (%s)",
                c->key, c->value, rc, c->status, evo_last_error());
  assert_error_names(rc, c->status, c->needle);
  ck_assert_ptr_null(g);
  free(text);
}
END_TEST

START_TEST(test_missing_key) {
  char *text = mutated(json_keys[_i], NULL);
  evo_genome *g = NULL;
  assert_error_names(evo_genome_from_json(&g, text), EVO_EPARSE,
                     json_keys[_i]);
  ck_assert_ptr_null(g);
  free(text);
}
END_TEST

START_TEST(test_not_json) {
  static const char *const texts[] = {
      "", "{", "hello", "[1, 2]", "42", "{\"term_types\": [0],}",
      "{} x", /* trailing garbage after a valid document */
  };
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
    evo_genome *g = NULL;
    int rc = evo_genome_from_json(&g, texts[i]);
    ck_assert_msg(rc == EVO_EPARSE, "'%s' gave %d", texts[i], rc);
    ck_assert_ptr_null(g);
  }
  /* Jansson's position is reported for a syntax error. */
  evo_genome *g = NULL;
  char text[sizeof paper_json + 32];
  snprintf(text, sizeof text, "%s\n}", paper_json);
  assert_error_names(evo_genome_from_json(&g, text), EVO_EPARSE, "line 10");
  assert_error_names(evo_genome_from_json(&g, "[1]"), EVO_EPARSE, "object");
  /* A duplicate key is refused, not silently overwritten. */
  snprintf(text, sizeof text, "{\"beta1\": 0.5,%s", paper_json + 1);
  assert_error_names(evo_genome_from_json(&g, text), EVO_EPARSE, "beta1");
  ck_assert_ptr_null(g);
}
END_TEST

/* ---- setters: ranges, terms ------------------------------------------------ */

typedef struct bad_set {
  evo_gene gene;
  double value;
  const char *name;
} bad_set;

START_TEST(test_set_range_unchanged) {
  static const bad_set cases[] = {
      {EVO_GENE_LR_LOG10, 2.0000001, "lr_log10"},
      {EVO_GENE_LR_LOG10, -10.5, "lr_log10"},
      {EVO_GENE_LR_LOG10, NAN, "lr_log10"},
      {EVO_GENE_LR_LOG10, -INFINITY, "lr_log10"},
      {EVO_GENE_BETA1, 1.0, "beta1"},
      {EVO_GENE_BETA1, -1e-300, "beta1"},
      {EVO_GENE_BETA2, 1.0, "beta2"},
      {EVO_GENE_BETA2, INFINITY, "beta2"},
      {EVO_GENE_EPS_LOG10, 0.001, "eps_log10"},
      {EVO_GENE_EPS_LOG10, -20.001, "eps_log10"},
      {EVO_GENE_WD_LOG10, INFINITY, "wd_log10"},
      {EVO_GENE_WD_LOG10, NAN, "wd_log10"},
      {EVO_GENE_WD_LOG10, 0.5, "wd_log10"},
      {EVO_GENE_WD_LOG10, -12.5, "wd_log10"},
      {EVO_GENE_CLIP_VALUE, 0.0, "clip_value"},
      {EVO_GENE_CLIP_VALUE, 2e6, "clip_value"},
      {EVO_GENE_WARMUP_STEPS, 0.0, "warmup_steps"},
      {EVO_GENE_WARMUP_STEPS, 100.5, "warmup_steps"},
      {EVO_GENE_WARMUP_STEPS, 2e9, "warmup_steps"},
  };
  evo_genome *g = NULL, *before = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, "paper-evolved"), EVO_OK);
  ck_assert_int_eq(evo_genome_clone(&before, g), EVO_OK);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    assert_error_names(evo_genome_set(g, cases[i].gene, cases[i].value),
                       EVO_ERANGE, cases[i].name);
    assert_same(g, before);
  }
  ck_assert_int_eq(evo_genome_set(g, (evo_gene)7, 0.0), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_set(g, (evo_gene)-1, 0.0), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_set_flag(g, (evo_flag)6, 1), EVO_EINVAL);
  assert_same(g, before);
  evo_genome_free(g);
  evo_genome_free(before);
}
END_TEST

START_TEST(test_set_accepts_bounds) {
  static const double ok[][2] = {
      {EVO_GENE_LR_LOG10, -10}, {EVO_GENE_LR_LOG10, 2},
      {EVO_GENE_LR_LOG10, 0}, {EVO_GENE_BETA1, 0},
      {EVO_GENE_BETA2, 0.99999}, {EVO_GENE_EPS_LOG10, 0},
      {EVO_GENE_EPS_LOG10, -20}, {EVO_GENE_WD_LOG10, -12},
      {EVO_GENE_WD_LOG10, 0}, {EVO_GENE_CLIP_VALUE, 1e-9},
      {EVO_GENE_CLIP_VALUE, 1e6}, {EVO_GENE_WARMUP_STEPS, 1},
      {EVO_GENE_WARMUP_STEPS, 1e9},
  };
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_new(&g), EVO_OK);
  for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
    double v = -1;
    ck_assert_int_eq(evo_genome_set(g, (evo_gene)ok[i][0], ok[i][1]), 0);
    ck_assert_int_eq(evo_genome_get(g, (evo_gene)ok[i][0], &v), 0);
    ck_assert(v == ok[i][1]);
  }
  evo_genome_free(g);
}
END_TEST

static void assert_terms(const evo_genome *g, size_t n, const int *codes,
                         const double *alphas) {
  ck_assert_uint_eq(evo_genome_term_count(g), n);
  for (size_t i = 0; i < n; i++) {
    evo_term t;
    double a;
    ck_assert_int_eq(evo_genome_get_term(g, i, &t, &a), EVO_OK);
    ck_assert_int_eq((int)t, codes[i]);
    ck_assert(a == alphas[i]);
  }
}

START_TEST(test_terms) {
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_new(&g), EVO_OK);
  ck_assert_int_eq(evo_genome_add_term(g, EVO_TERM_SIGN, 0.5), EVO_OK);
  ck_assert_int_eq(evo_genome_add_term(g, EVO_TERM_ADAM, -2.0), EVO_OK);
  ck_assert_int_eq(evo_genome_add_term(g, EVO_TERM_UNIT, 3.0), EVO_OK);
  assert_terms(g, 4, (int[]){0, 4, 3, 5}, (double[]){1.0, 0.5, -2.0, 3.0});
  assert_error_names(evo_genome_add_term(g, EVO_TERM_GRAD, 1.0), EVO_ERANGE,
                     "4");
  ck_assert_int_eq(evo_genome_remove_term(g, 1), EVO_OK);
  assert_terms(g, 3, (int[]){0, 3, 5}, (double[]){1.0, -2.0, 3.0});
  ck_assert_int_eq(evo_genome_set_term(g, 2, EVO_TERM_NESTEROV, -0.25), 0);
  assert_terms(g, 3, (int[]){0, 3, 6}, (double[]){1.0, -2.0, -0.25});
  /* Refusals leave the terms as they were. */
  assert_error_names(evo_genome_set_term(g, 1, EVO_TERM_GRAD, 5.5),
                     EVO_ERANGE, "alphas[1]");
  assert_error_names(evo_genome_set_term(g, 0, EVO_TERM_GRAD, NAN),
                     EVO_ERANGE, "alphas[0]");
  assert_error_names(evo_genome_add_term(g, EVO_TERM_GRAD, -6),
                     EVO_ERANGE, "alphas[3]");
  ck_assert_int_eq(evo_genome_set_term(g, 3, EVO_TERM_GRAD, 1.0), EVO_ERANGE);
  ck_assert_int_eq(evo_genome_set_term(g, 0, (evo_term)7, 1.0), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_add_term(g, (evo_term)-1, 1.0), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_get_term(g, 3, NULL, NULL), EVO_ERANGE);
  ck_assert_int_eq(evo_genome_remove_term(g, 3), EVO_ERANGE);
  assert_terms(g, 3, (int[]){0, 3, 6}, (double[]){1.0, -2.0, -0.25});
  ck_assert_int_eq(evo_genome_remove_term(g, 2), EVO_OK);
  ck_assert_int_eq(evo_genome_remove_term(g, 0), EVO_OK);
  assert_terms(g, 1, (int[]){3}, (double[]){-2.0});
  ck_assert_int_eq(evo_genome_remove_term(g, 0), EVO_ERANGE);
  assert_terms(g, 1, (int[]){3}, (double[]){-2.0});
  evo_genome_free(g);
}
END_TEST

START_TEST(test_term_names_and_flags) {
  static const char *const names[7] = {"grad", "momentum", "rms", "adam",
                                       "sign", "unit", "nesterov"};
  for (int k = 0; k < 7; k++)
    ck_assert_str_eq(evo_term_name((evo_term)k), names[k]);
  ck_assert_ptr_null(evo_term_name((evo_term)7));
  ck_assert_ptr_null(evo_term_name((evo_term)-1));
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_new(&g), EVO_OK);
  for (int k = 0; k < 6; k++) {
    int f = -1;
    ck_assert_int_eq(evo_genome_set_flag(g, (evo_flag)k, 42), EVO_OK);
    ck_assert_int_eq(evo_genome_get_flag(g, (evo_flag)k, &f), EVO_OK);
    ck_assert_int_eq(f, 1);
    ck_assert_int_eq(evo_genome_set_flag(g, (evo_flag)k, 0), EVO_OK);
    ck_assert_int_eq(evo_genome_get_flag(g, (evo_flag)k, &f), EVO_OK);
    ck_assert_int_eq(f, 0);
  }
  evo_genome_free(g);
}
END_TEST

START_TEST(test_equal_and_clone) {
  evo_genome *a = NULL, *b = NULL;
  ck_assert_int_eq(evo_genome_preset(&a, "paper-evolved"), EVO_OK);
  ck_assert_int_eq(evo_genome_clone(&b, a), EVO_OK);
  ck_assert(evo_genome_equal(a, b));
  ck_assert_int_eq(evo_genome_set_flag(b, EVO_FLAG_USE_V, 0), EVO_OK);
  ck_assert(!evo_genome_equal(a, b));
  ck_assert_int_eq(evo_genome_set_flag(b, EVO_FLAG_USE_V, 1), EVO_OK);
  ck_assert_int_eq(evo_genome_set(b, EVO_GENE_BETA1,
                                  nextafter(0.8553020861538518, 1.0)), 0);
  ck_assert(!evo_genome_equal(a, b));
  ck_assert_int_eq(evo_genome_set(b, EVO_GENE_BETA1, 0.8553020861538518), 0);
  ck_assert(evo_genome_equal(a, b));
  /* -0.0 and 0.0 differ in their bits, hence in equality. */
  ck_assert_int_eq(evo_genome_set_term(a, 0, EVO_TERM_SIGN, 0.0), 0);
  ck_assert_int_eq(evo_genome_set_term(b, 0, EVO_TERM_SIGN, -0.0), 0);
  ck_assert(!evo_genome_equal(a, b));
  ck_assert_int_eq(evo_genome_set_term(b, 0, EVO_TERM_SIGN, 0.0), 0);
  ck_assert_int_eq(evo_genome_remove_term(b, 3), 0);
  ck_assert(!evo_genome_equal(a, b));
  evo_genome_free(a);
  evo_genome_free(b);
}
END_TEST

/* ---- describe ------------------------------------------------------------- */

static void assert_describes(const evo_genome *g, const char *want) {
  char *s = NULL;
  ck_assert_int_eq(evo_genome_describe(g, &s), EVO_OK);
  ck_assert_str_eq(s, want);
  evo_free(s);
}

static void assert_preset_describes(const char *name, const char *want) {
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, name), EVO_OK);
  assert_describes(g, want);
  evo_genome_free(g);
}

START_TEST(test_describe) {
  /* doc/algorithm.md §5 "in words": 0.412 + 0.322 = 0.734, 2.003 + 1.632 =
   * 3.635, 10^-2.9199 = 1.2025e-3, 10^-3.0112 = 9.745e-4. */
  assert_preset_describes("paper-evolved",
                          "0.734·sign + 3.635·adam | lr 1.20e-3 "
                          "β 0.855/0.936 wd 9.7e-4 | no bias-corr | "
                          "warmup 100 | cosine");
  assert_preset_describes("sgd", "1.000·momentum | lr 1.00e-2 β1 0.900 "
                                 "wd 1.0e-4 | no bias-corr");
  assert_preset_describes("rmsprop", "1.000·rms | lr 1.00e-3 β2 0.990 "
                                     "wd 1.0e-4 | no bias-corr");
  assert_preset_describes("adam-nowd",
                          "1.000·adam | lr 1.00e-3 β 0.900/0.999 no wd");
  assert_preset_describes("plain-sgd", "1.000·grad | lr 1.00e-2 no wd");

  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_new(&g), EVO_OK);
  ck_assert_int_eq(evo_genome_set_term(g, 0, EVO_TERM_GRAD, -0.5), 0);
  ck_assert_int_eq(evo_genome_add_term(g, EVO_TERM_RMS_NORM, 0.25), 0);
  ck_assert_int_eq(evo_genome_add_term(g, EVO_TERM_GRAD, -0.25), 0);
  ck_assert_int_eq(evo_genome_add_term(g, EVO_TERM_NESTEROV, -1.5), 0);
  ck_assert_int_eq(evo_genome_set_flag(g, EVO_FLAG_USE_V, 0), 0);
  ck_assert_int_eq(evo_genome_set_flag(g, EVO_FLAG_USE_M, 0), 0);
  ck_assert_int_eq(evo_genome_set_flag(g, EVO_FLAG_GRADIENT_CLIPPING, 1), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_CLIP_VALUE, 1.5), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_LR_LOG10, 0.0), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_WD_LOG10, -INFINITY), 0);
  assert_describes(g, "-0.750·grad + 0.250·rms - 1.500·nesterov | lr 1.00e0 "
                      "no wd | no m | no v | clip 1.5");
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_CLIP_VALUE, 2.0), 0);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_LR_LOG10, 1.0), 0);
  ck_assert_int_eq(evo_genome_remove_term(g, 3), 0);
  ck_assert_int_eq(evo_genome_set_flag(g, EVO_FLAG_USE_M, 1), 0);
  assert_describes(g, "-0.750·grad + 0.250·rms | lr 1.00e1 β1 0.900 no wd "
                      "| no v | clip 2.0");
  evo_genome_free(g);
}
END_TEST

/* ---- NULL arguments, files ------------------------------------------------ */

START_TEST(test_null_arguments) {
  evo_genome *g = NULL, *out = NULL;
  char *s = NULL;
  double d;
  int f;
  ck_assert_int_eq(evo_genome_new(&g), EVO_OK);
  ck_assert_int_eq(evo_genome_new(NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_preset(NULL, "adam"), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_preset(&out, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_clone(NULL, g), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_clone(&out, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_equal(NULL, g), 0);
  ck_assert_int_eq(evo_genome_equal(g, NULL), 0);
  ck_assert_int_eq(evo_genome_get(NULL, EVO_GENE_BETA1, &d), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_get(g, EVO_GENE_BETA1, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_set(NULL, EVO_GENE_BETA1, 0.5), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_get_flag(NULL, EVO_FLAG_USE_M, &f), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_get_flag(g, EVO_FLAG_USE_M, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_set_flag(NULL, EVO_FLAG_USE_M, 1), EVO_EINVAL);
  ck_assert_uint_eq(evo_genome_term_count(NULL), 0);
  ck_assert_int_eq(evo_genome_get_term(NULL, 0, NULL, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_set_term(NULL, 0, EVO_TERM_GRAD, 1), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_add_term(NULL, EVO_TERM_GRAD, 1), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_remove_term(NULL, 0), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_to_json(NULL, &s), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_to_json(g, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_from_json(NULL, paper_json), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_from_json(&out, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_load(NULL, "x.json"), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_load(&out, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_save(NULL, "x.json"), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_save(g, NULL), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_describe(NULL, &s), EVO_EINVAL);
  ck_assert_int_eq(evo_genome_describe(g, NULL), EVO_EINVAL);
  ck_assert_ptr_null(out);
  ck_assert_ptr_null(s);
  evo_genome_free(NULL);
  evo_free(NULL);
  evo_genome_free(g);
}
END_TEST

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
}

START_TEST(test_save_load) {
  char dir[] = "/tmp/test_genome.XXXXXX", path[128], bad[128], missing[128];
  ck_assert_ptr_nonnull(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/g.json", dir);
  snprintf(bad, sizeof bad, "%s/bad.json", dir);
  snprintf(missing, sizeof missing, "%s/no-such.json", dir);
  evo_genome *g = NULL, *back = NULL;
  uint64_t s = 7;
  ck_assert_int_eq(evo_genome_new(&g), EVO_OK);
  random_genome(g, &s);
  ck_assert_int_eq(evo_genome_save(g, path), EVO_OK);
  ck_assert_int_eq(evo_genome_load(&back, path), EVO_OK);
  assert_same(g, back);
  evo_genome_free(back);
  back = NULL;

  assert_error_names(evo_genome_load(&back, missing), EVO_EIO, missing);
  char *text = mutated("beta2", "1.5");
  write_text(bad, text);
  free(text);
  assert_error_names(evo_genome_load(&back, bad), EVO_ERANGE, "beta2");
  ck_assert_ptr_nonnull(strstr(evo_last_error(), bad));
  write_text(bad, "{\"term_types\": [0]");
  assert_error_names(evo_genome_load(&back, bad), EVO_EPARSE, bad);
  snprintf(bad, sizeof bad, "%s/no-dir/g.json", dir);
  assert_error_names(evo_genome_save(g, bad), EVO_EIO, bad);
  ck_assert_ptr_null(back);

  unlink(path);
  snprintf(bad, sizeof bad, "%s/bad.json", dir);
  unlink(bad);
  rmdir(dir);
  evo_genome_free(g);
}
END_TEST

static Suite *genome_suite(void) {
  Suite *s = suite_create("genome");
  TCase *c = tcase_create("core");
  tcase_add_test(c, test_defaults);
  tcase_add_test(c, test_presets);
  tcase_add_test(c, test_paper_json_loads);
  tcase_add_test(c, test_json_keys_in_order);
  tcase_add_test(c, test_round_trip_random);
  tcase_add_test(c, test_round_trip_extremes);
  tcase_add_test(c, test_zero_weight_decay);
  tcase_add_loop_test(c, test_bad_values, 0,
                      (int)(sizeof bad_cases / sizeof bad_cases[0]));
  tcase_add_loop_test(c, test_missing_key, 0, 15);
  tcase_add_test(c, test_not_json);
  tcase_add_test(c, test_set_range_unchanged);
  tcase_add_test(c, test_set_accepts_bounds);
  tcase_add_test(c, test_terms);
  tcase_add_test(c, test_term_names_and_flags);
  tcase_add_test(c, test_equal_and_clone);
  tcase_add_test(c, test_describe);
  tcase_add_test(c, test_null_arguments);
  tcase_add_test(c, test_save_load);
  suite_add_tcase(s, c);
  return s;
}

int main(int argc, char **argv) {
  fixture_path = argc > 1 ? argv[1] : NULL;
  SRunner *r = srunner_create(genome_suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
