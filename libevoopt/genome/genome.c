/* The genome (doc/algorithm.md §1): defaults, presets (§4, §5), accessors with
 * the range checks documented in genome.h, comparison and the one-line
 * description. The JSON reader and writer live in genome_json.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "genome/genome_internal.h"

/* ---- accepted ranges (genome.h, "Accepted ranges") ---------------------- */

/* A closed or half-open interval; names are the JSON keys (doc/algorithm.md
 * §1), so that a message reads the same from the API and from a file. */
typedef struct gene_range {
  const char *name;
  double lo, hi;
  bool lo_open, hi_open;
} gene_range;

static const gene_range gene_ranges[] = {
    [EVO_GENE_LR_LOG10] = {"lr_log10", -10.0, 2.0, false, false},
    [EVO_GENE_BETA1] = {"beta1", 0.0, 1.0, false, true},
    [EVO_GENE_BETA2] = {"beta2", 0.0, 1.0, false, true},
    [EVO_GENE_EPS_LOG10] = {"eps_log10", -20.0, 0.0, false, false},
    [EVO_GENE_WD_LOG10] = {"wd_log10", -12.0, 0.0, false, false},
    [EVO_GENE_CLIP_VALUE] = {"clip_value", 0.0, 1e6, true, false},
    [EVO_GENE_WARMUP_STEPS] = {"warmup_steps", 1.0, 1e9, false, false},
};

#define GENE_COUNT (sizeof gene_ranges / sizeof gene_ranges[0])
#define ALPHA_LIMIT 5.0

static const char *const term_names[EVO_TERM_COUNT] = {
    "grad", "momentum", "rms", "adam", "sign", "unit", "nesterov"};

/* The shortest of %.15g / %.17g that reads back as @p v, so messages show
 * 0.1 rather than 0.10000000000000001 yet never hide a difference. */
static const char *fmt_value(char buf[32], double v) {
  snprintf(buf, 32, "%.15g", v);
  if (strtod(buf, NULL) != v)
    snprintf(buf, 32, "%.17g", v);
  return buf;
}

static bool gene_known(evo_gene gene) {
  return (unsigned)gene < GENE_COUNT;
}

static bool term_known(evo_term type) {
  return (unsigned)type < EVO_TERM_COUNT;
}

int evo_genome_check_gene(evo_gene gene, double value, const char *key) {
  if (!gene_known(gene))
    return evo_set_error(EVO_EINVAL, "unknown gene %d", (int)gene);
  const gene_range *r = &gene_ranges[gene];
  char buf[32];
  if (key == NULL)
    key = r->name;
  if (gene == EVO_GENE_WD_LOG10 && value == -INFINITY)
    return EVO_OK; /* exactly zero decay, doc/algorithm.md §1 extension */
  if (!isfinite(value))
    return evo_set_error(EVO_ERANGE, "%s = %s is not a finite number", key,
                         fmt_value(buf, value));
  bool below = r->lo_open ? value <= r->lo : value < r->lo;
  bool above = r->hi_open ? value >= r->hi : value > r->hi;
  if (below || above)
    return evo_set_error(EVO_ERANGE,
                         "%s = %s is outside the accepted range %c%g, %g%c",
                         key, fmt_value(buf, value), r->lo_open ? '(' : '[',
                         r->lo, r->hi, r->hi_open ? ')' : ']');
  if (gene == EVO_GENE_WARMUP_STEPS && floor(value) != value)
    return evo_set_error(EVO_ERANGE, "%s = %s is not a whole number", key,
                         fmt_value(buf, value));
  return EVO_OK;
}

static int check_alpha(size_t index, double alpha) {
  char buf[32];
  if (!isfinite(alpha) || alpha < -ALPHA_LIMIT || alpha > ALPHA_LIMIT)
    return evo_set_error(EVO_ERANGE,
                         "alphas[%zu] = %s is outside the accepted range "
                         "[-5, 5]",
                         index, fmt_value(buf, alpha));
  return EVO_OK;
}

/* The gene's value as a double (warmup steps converted exactly, since the
 * accepted range is far below 2^53). */
static double gene_value(const evo_genome *g, evo_gene gene) {
  switch (gene) {
  case EVO_GENE_LR_LOG10: return g->lr_log10;
  case EVO_GENE_BETA1: return g->beta1;
  case EVO_GENE_BETA2: return g->beta2;
  case EVO_GENE_EPS_LOG10: return g->eps_log10;
  case EVO_GENE_WD_LOG10: return g->wd_log10;
  case EVO_GENE_CLIP_VALUE: return g->clip_value;
  case EVO_GENE_WARMUP_STEPS: return (double)g->warmup_steps;
  }
  return NAN; /* unreachable: callers check gene_known() */
}

int evo_genome_validate(const evo_genome *g) {
  EVO_CHECK_ARG(g);
  if (g->n_terms < 1 || g->n_terms > EVO_MAX_TERMS)
    return evo_set_error(EVO_ERANGE,
                         "term_types: a genome has 1 to %d terms, not %zu",
                         EVO_MAX_TERMS, g->n_terms);
  for (size_t i = 0; i < g->n_terms; i++) {
    if (!term_known((evo_term)g->terms[i]))
      return evo_set_error(EVO_ERANGE,
                           "term_types[%zu] = %d is not a term code (0 to 6)",
                           i, g->terms[i]);
    int rc = check_alpha(i, g->alphas[i]);
    if (rc != EVO_OK)
      return rc;
  }
  for (unsigned k = 0; k < GENE_COUNT; k++) {
    int rc = evo_genome_check_gene((evo_gene)k, gene_value(g, (evo_gene)k),
                                   NULL);
    if (rc != EVO_OK)
      return rc;
  }
  return EVO_OK;
}

/* ---- creation, presets --------------------------------------------------- */

void evo_genome_init_defaults(evo_genome *g) {
  /* doc/algorithm.md §1, column "default". */
  *g = (evo_genome){
      .n_terms = 1,
      .terms = {EVO_TERM_GRAD},
      .alphas = {1.0},
      .lr_log10 = -3.0,
      .beta1 = 0.9,
      .beta2 = 0.999,
      .eps_log10 = -8.0,
      .wd_log10 = -4.0,
      .use_m = true,
      .use_v = true,
      .use_bias_correction = true,
      .use_gradient_clipping = false,
      .clip_value = 1.0,
      .use_warmup = false,
      .warmup_steps = 100,
      .use_cosine_decay = false,
  };
}

static void set_single_term(evo_genome *g, evo_term type, double lr_log10) {
  g->n_terms = 1;
  g->terms[0] = (int)type;
  g->alphas[0] = 1.0;
  g->lr_log10 = lr_log10;
}

/* doc/algorithm.md §4, "Baselines and presets"; each starts from the
 * defaults. */
static void preset_sgd(evo_genome *g) {
  set_single_term(g, EVO_TERM_MOMENTUM, -2.0);
  g->use_v = false;
  g->use_bias_correction = false;
}

static void preset_adam(evo_genome *g) {
  set_single_term(g, EVO_TERM_ADAM, -3.0);
}

static void preset_adamw(evo_genome *g) {
  preset_adam(g);
  g->wd_log10 = -2.0;
}

static void preset_rmsprop(evo_genome *g) {
  set_single_term(g, EVO_TERM_RMS_NORM, -3.0);
  g->beta2 = 0.99;
  g->use_m = false;
  g->use_bias_correction = false;
}

/* doc/algorithm.md §5, digit for digit. */
static void preset_paper_evolved(evo_genome *g) {
  static const int terms[4] = {EVO_TERM_SIGN, EVO_TERM_SIGN, EVO_TERM_ADAM,
                               EVO_TERM_ADAM};
  static const double alphas[4] = {0.41205802174892475, 0.32238621456272765,
                                   2.0030004279455267, 1.6322011630060542};
  g->n_terms = 4;
  memcpy(g->terms, terms, sizeof terms);
  memcpy(g->alphas, alphas, sizeof alphas);
  g->lr_log10 = -2.9198932483267144;
  g->beta1 = 0.8553020861538518;
  g->beta2 = 0.9357561078635277;
  g->eps_log10 = -8.26423960220415;
  g->wd_log10 = -3.0112238437153316;
  g->use_bias_correction = false;
  g->use_warmup = true;
  g->warmup_steps = 100;
  g->use_cosine_decay = true;
}

/* The library's extra presets (genome.h). */
static void preset_plain_sgd(evo_genome *g) {
  set_single_term(g, EVO_TERM_GRAD, -2.0);
  g->use_m = false;
  g->use_v = false;
  g->wd_log10 = -INFINITY;
}

static void preset_sgd_nesterov(evo_genome *g) {
  preset_sgd(g);
  g->terms[0] = EVO_TERM_NESTEROV;
  g->wd_log10 = -INFINITY;
}

static void preset_sign_descent(evo_genome *g) {
  set_single_term(g, EVO_TERM_SIGN, -3.0);
  g->use_m = false;
  g->use_v = false;
  g->wd_log10 = -INFINITY;
}

static void preset_adam_nowd(evo_genome *g) {
  preset_adam(g);
  g->wd_log10 = -INFINITY;
}

/* torch.optim with its defaults (genome.h, the torch-* presets): no weight
 * decay unless torch has one by default, no bias correction unless torch
 * corrects. torch's momentum buffer b = μ·b + g is m/(1 - μ) for the
 * genome's EMA m = μ·m + (1 - μ)·g (both start at 0), so torch's lr
 * becomes η = lr/(1 - μ): 1e-3 / 0.1 = 1e-2. */
static void preset_torch_sgd(evo_genome *g) {
  set_single_term(g, EVO_TERM_GRAD, -3.0);
  g->use_m = false;
  g->use_v = false;
  g->use_bias_correction = false;
  g->wd_log10 = -INFINITY;
}

static void preset_torch_sgd_momentum(evo_genome *g) {
  set_single_term(g, EVO_TERM_MOMENTUM, -2.0); /* η·m = 1e-3·b */
  g->use_v = false;
  g->use_bias_correction = false;
  g->wd_log10 = -INFINITY;
}

/* torch's Nesterov step is lr·(g + μ·b) = η·(0.1·g + 0.9·m) with η =
 * 10·lr, m = 0.1·b. (The NESTEROV term, m + 0.9·(g - m), weighs g and m
 * otherwise.) */
static void preset_torch_sgd_nesterov(evo_genome *g) {
  preset_torch_sgd_momentum(g);
  g->n_terms = 2;
  g->terms[0] = EVO_TERM_GRAD;
  g->alphas[0] = 0.1;
  g->terms[1] = EVO_TERM_MOMENTUM;
  g->alphas[1] = 0.9;
}

static void preset_torch_rmsprop(evo_genome *g) {
  set_single_term(g, EVO_TERM_RMS_NORM, -2.0);
  g->beta2 = 0.99;
  g->use_m = false;
  g->use_bias_correction = false;
  g->wd_log10 = -INFINITY;
}

static const struct {
  const char *name;
  void (*fill)(evo_genome *g);
} presets[] = {
    {"sgd", preset_sgd},
    {"adam", preset_adam},
    {"adamw", preset_adamw},
    {"rmsprop", preset_rmsprop},
    {"paper-evolved", preset_paper_evolved},
    {"plain-sgd", preset_plain_sgd},
    {"sgd-nesterov", preset_sgd_nesterov},
    {"sign-descent", preset_sign_descent},
    {"adam-nowd", preset_adam_nowd},
    {"torch-sgd", preset_torch_sgd},
    {"torch-sgd-momentum", preset_torch_sgd_momentum},
    {"torch-sgd-nesterov", preset_torch_sgd_nesterov},
    {"torch-adam", preset_adam_nowd},
    {"torch-adamw", preset_adamw},
    {"torch-rmsprop", preset_torch_rmsprop},
};

#define PRESET_COUNT (sizeof presets / sizeof presets[0])

EVO_API int evo_genome_new(evo_genome **out) {
  EVO_CHECK_ARG(out);
  evo_genome *g = evo_calloc(1, sizeof *g);
  if (g == NULL)
    return EVO_ENOMEM;
  evo_genome_init_defaults(g);
  *out = g;
  return EVO_OK;
}

EVO_API size_t evo_genome_preset_count(void) { return PRESET_COUNT; }

EVO_API const char *evo_genome_preset_name(size_t index) {
  return index < PRESET_COUNT ? presets[index].name : NULL;
}

EVO_API int evo_genome_preset(evo_genome **out, const char *name) {
  EVO_CHECK_ARG(out);
  EVO_CHECK_ARG(name);
  for (size_t i = 0; i < PRESET_COUNT; i++) {
    if (strcmp(name, presets[i].name) != 0)
      continue;
    int rc = evo_genome_new(out);
    if (rc == EVO_OK)
      presets[i].fill(*out);
    return rc;
  }
  char known[512];
  size_t used = 0;
  known[0] = '\0';
  for (size_t i = 0; i < PRESET_COUNT && used < sizeof known; i++) {
    int n = snprintf(known + used, sizeof known - used, "%s%s",
                     i > 0 ? ", " : "", presets[i].name);
    used += n > 0 ? (size_t)n : 0;
  }
  return evo_set_error(EVO_ENOTFOUND, "unknown preset '%s' (known: %s)", name,
                       known);
}

EVO_API int evo_genome_clone(evo_genome **out, const evo_genome *g) {
  EVO_CHECK_ARG(out);
  EVO_CHECK_ARG(g);
  evo_genome *c = evo_calloc(1, sizeof *c);
  if (c == NULL)
    return EVO_ENOMEM;
  *c = *g;
  *out = c;
  return EVO_OK;
}

EVO_API void evo_genome_free(evo_genome *g) { free(g); }

static bool same_bits(double a, double b) {
  return memcmp(&a, &b, sizeof a) == 0;
}

EVO_API int evo_genome_equal(const evo_genome *a, const evo_genome *b) {
  if (a == NULL || b == NULL || a->n_terms != b->n_terms)
    return 0;
  for (size_t i = 0; i < a->n_terms && i < EVO_MAX_TERMS; i++)
    if (a->terms[i] != b->terms[i] || !same_bits(a->alphas[i], b->alphas[i]))
      return 0;
  for (unsigned k = 0; k < GENE_COUNT; k++)
    if (!same_bits(gene_value(a, (evo_gene)k), gene_value(b, (evo_gene)k)))
      return 0;
  return a->use_m == b->use_m && a->use_v == b->use_v &&
         a->use_bias_correction == b->use_bias_correction &&
         a->use_gradient_clipping == b->use_gradient_clipping &&
         a->use_warmup == b->use_warmup &&
         a->use_cosine_decay == b->use_cosine_decay;
}

/* ---- genes and flags ------------------------------------------------------ */

EVO_API int evo_genome_get(const evo_genome *g, evo_gene gene, double *out) {
  EVO_CHECK_ARG(g);
  EVO_CHECK_ARG(out);
  if (!gene_known(gene))
    return evo_set_error(EVO_EINVAL, "unknown gene %d", (int)gene);
  *out = gene_value(g, gene);
  return EVO_OK;
}

EVO_API int evo_genome_set(evo_genome *g, evo_gene gene, double value) {
  EVO_CHECK_ARG(g);
  int rc = evo_genome_check_gene(gene, value, NULL);
  if (rc != EVO_OK)
    return rc;
  switch (gene) {
  case EVO_GENE_LR_LOG10: g->lr_log10 = value; break;
  case EVO_GENE_BETA1: g->beta1 = value; break;
  case EVO_GENE_BETA2: g->beta2 = value; break;
  case EVO_GENE_EPS_LOG10: g->eps_log10 = value; break;
  case EVO_GENE_WD_LOG10: g->wd_log10 = value; break;
  case EVO_GENE_CLIP_VALUE: g->clip_value = value; break;
  case EVO_GENE_WARMUP_STEPS: g->warmup_steps = (int64_t)value; break;
  }
  return EVO_OK;
}

/* The flag's storage, or NULL for an unknown flag. */
static bool *flag_slot(evo_genome *g, evo_flag flag) {
  switch (flag) {
  case EVO_FLAG_USE_M: return &g->use_m;
  case EVO_FLAG_USE_V: return &g->use_v;
  case EVO_FLAG_BIAS_CORRECTION: return &g->use_bias_correction;
  case EVO_FLAG_GRADIENT_CLIPPING: return &g->use_gradient_clipping;
  case EVO_FLAG_WARMUP: return &g->use_warmup;
  case EVO_FLAG_COSINE_DECAY: return &g->use_cosine_decay;
  }
  return NULL;
}

EVO_API int evo_genome_get_flag(const evo_genome *g, evo_flag flag, int *out) {
  EVO_CHECK_ARG(g);
  EVO_CHECK_ARG(out);
  /* flag_slot only computes an address; nothing is written through it. */
  const bool *slot = flag_slot((evo_genome *)g, flag);
  if (slot == NULL)
    return evo_set_error(EVO_EINVAL, "unknown flag %d", (int)flag);
  *out = *slot ? 1 : 0;
  return EVO_OK;
}

EVO_API int evo_genome_set_flag(evo_genome *g, evo_flag flag, int value) {
  EVO_CHECK_ARG(g);
  bool *slot = flag_slot(g, flag);
  if (slot == NULL)
    return evo_set_error(EVO_EINVAL, "unknown flag %d", (int)flag);
  *slot = value != 0;
  return EVO_OK;
}

/* ---- terms ---------------------------------------------------------------- */

EVO_API size_t evo_genome_term_count(const evo_genome *g) {
  return g == NULL ? 0 : g->n_terms;
}

static int check_index(const evo_genome *g, size_t index) {
  if (index >= g->n_terms)
    return evo_set_error(EVO_ERANGE, "no term %zu: the genome has %zu terms",
                         index, g->n_terms);
  return EVO_OK;
}

static int check_kind(evo_term type) {
  if (!term_known(type))
    return evo_set_error(EVO_EINVAL, "unknown term kind %d (0 to 6)",
                         (int)type);
  return EVO_OK;
}

EVO_API int evo_genome_get_term(const evo_genome *g, size_t index,
                                evo_term *type, double *alpha) {
  EVO_CHECK_ARG(g);
  int rc = check_index(g, index);
  if (rc != EVO_OK)
    return rc;
  if (type != NULL)
    *type = (evo_term)g->terms[index];
  if (alpha != NULL)
    *alpha = g->alphas[index];
  return EVO_OK;
}

EVO_API int evo_genome_set_term(evo_genome *g, size_t index, evo_term type,
                                double alpha) {
  EVO_CHECK_ARG(g);
  int rc = check_kind(type);
  if (rc == EVO_OK)
    rc = check_index(g, index);
  if (rc == EVO_OK)
    rc = check_alpha(index, alpha);
  if (rc != EVO_OK)
    return rc;
  g->terms[index] = (int)type;
  g->alphas[index] = alpha;
  return EVO_OK;
}

EVO_API int evo_genome_add_term(evo_genome *g, evo_term type, double alpha) {
  EVO_CHECK_ARG(g);
  int rc = check_kind(type);
  if (rc != EVO_OK)
    return rc;
  if (g->n_terms >= EVO_MAX_TERMS)
    return evo_set_error(EVO_ERANGE, "cannot add a term: the genome already "
                         "has the most, %d", EVO_MAX_TERMS);
  rc = check_alpha(g->n_terms, alpha);
  if (rc != EVO_OK)
    return rc;
  g->terms[g->n_terms] = (int)type;
  g->alphas[g->n_terms] = alpha;
  g->n_terms++;
  return EVO_OK;
}

EVO_API int evo_genome_remove_term(evo_genome *g, size_t index) {
  EVO_CHECK_ARG(g);
  int rc = check_index(g, index);
  if (rc != EVO_OK)
    return rc;
  if (g->n_terms == 1)
    return evo_set_error(EVO_ERANGE, "cannot remove the only term: a genome "
                         "keeps at least one");
  size_t tail = g->n_terms - index - 1;
  memmove(&g->terms[index], &g->terms[index + 1], tail * sizeof g->terms[0]);
  memmove(&g->alphas[index], &g->alphas[index + 1],
          tail * sizeof g->alphas[0]);
  g->n_terms--;
  return EVO_OK;
}

EVO_API const char *evo_term_name(evo_term type) {
  return term_known(type) ? term_names[type] : NULL;
}

/* ---- description (format documented at evo_genome_describe) ------------- */

typedef struct text {
  char buf[512]; /* the longest description is about 150 bytes */
  size_t len;
} text;

static void text_add(text *t, const char *fmt, ...) EVO_PRINTF(2, 3);

static void text_add(text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
  va_end(ap);
  if (n > 0)
    t->len += (size_t)n;
  if (t->len >= sizeof t->buf)
    t->len = sizeof t->buf - 1;
}

/* "%.*e" with the exponent as e-3 rather than e-03 or e+00 (1.20e-3). */
static void text_add_sci(text *t, int digits, double v) {
  char raw[40];
  snprintf(raw, sizeof raw, "%.*e", digits, v);
  char *e = strchr(raw, 'e');
  if (e == NULL) {
    text_add(t, "%s", raw);
    return;
  }
  *e = 0;
  text_add(t, "%se%d", raw, atoi(e + 1));
}

static void describe_terms(text *t, const evo_genome *g) {
  double sum[EVO_TERM_COUNT] = {0};
  int order[EVO_MAX_TERMS], kinds = 0;
  for (size_t i = 0; i < g->n_terms; i++) {
    int k = g->terms[i];
    bool seen = false;
    for (int j = 0; j < kinds; j++)
      seen = seen || order[j] == k;
    if (!seen)
      order[kinds++] = k;
    sum[k] += g->alphas[i];
  }
  for (int j = 0; j < kinds; j++) {
    double a = sum[order[j]];
    const char *sign = a < 0 ? (j == 0 ? "-" : " - ") : (j == 0 ? "" : " + ");
    text_add(t, "%s%.3f·%s", sign, fabs(a), term_names[order[j]]);
  }
}

/* The set of term kinds the genome uses, one bit per kind. */
static unsigned term_mask(const evo_genome *g) {
  unsigned mask = 0;
  for (size_t i = 0; i < g->n_terms; i++)
    mask |= 1u << g->terms[i];
  return mask;
}

#define KIND(t) (1u << (t))

static void describe_hyper(text *t, const evo_genome *g) {
  text_add(t, " | lr ");
  text_add_sci(t, 2, pow(10.0, g->lr_log10));
  if (g->use_m && g->use_v)
    text_add(t, " β %.3f/%.3f", g->beta1, g->beta2);
  else if (g->use_m)
    text_add(t, " β1 %.3f", g->beta1);
  else if (g->use_v)
    text_add(t, " β2 %.3f", g->beta2);
  if (g->wd_log10 == -INFINITY) {
    text_add(t, " no wd");
  } else {
    text_add(t, " wd ");
    text_add_sci(t, 1, pow(10.0, g->wd_log10));
  }
}

static void describe_flags(text *t, const evo_genome *g) {
  /* A missing moment matters only when a term reads it (doc/algorithm.md
   * §2). */
  unsigned used = term_mask(g);
  if (!g->use_m && (used & (KIND(EVO_TERM_MOMENTUM) | KIND(EVO_TERM_ADAM) |
                            KIND(EVO_TERM_NESTEROV))))
    text_add(t, " | no m");
  if (!g->use_v && (used & (KIND(EVO_TERM_RMS_NORM) | KIND(EVO_TERM_ADAM))))
    text_add(t, " | no v");
  if (!g->use_bias_correction && (g->use_m || g->use_v))
    text_add(t, " | no bias-corr");
  if (g->use_gradient_clipping) {
    char c[32];
    snprintf(c, sizeof c, "%.3g", g->clip_value);
    text_add(t, " | clip %s%s", c, strpbrk(c, ".e") ? "" : ".0");
  }
  if (g->use_warmup)
    text_add(t, " | warmup %lld", (long long)g->warmup_steps);
  if (g->use_cosine_decay)
    text_add(t, " | cosine");
}

EVO_API int evo_genome_describe(const evo_genome *g, char **out) {
  EVO_CHECK_ARG(g);
  EVO_CHECK_ARG(out);
  text t = {.len = 0};
  t.buf[0] = 0;
  describe_terms(&t, g);
  describe_hyper(&t, g);
  describe_flags(&t, g);
  char *s = evo_strdup(t.buf);
  if (s == NULL)
    return EVO_ENOMEM;
  *out = s;
  return EVO_OK;
}

/* ---- binary form (genome_internal.h) ---------------------------------- */

#define N_FLAGS 6

void evo_genome_write(evo_wbuf *w, const evo_genome *g) {
  const bool f[N_FLAGS] = {g->use_m, g->use_v, g->use_bias_correction,
                           g->use_gradient_clipping, g->use_warmup,
                           g->use_cosine_decay};
  uint8_t bits = 0;
  for (unsigned k = 0; k < N_FLAGS; k++)
    bits = (uint8_t)(bits | (f[k] ? 1u << k : 0u));
  evo_wbuf_u32(w, (uint32_t)g->n_terms);
  for (size_t i = 0; i < EVO_MAX_TERMS; i++)
    evo_wbuf_u32(w, (uint32_t)g->terms[i]);
  for (size_t i = 0; i < EVO_MAX_TERMS; i++)
    evo_wbuf_f64(w, g->alphas[i]);
  const double reals[] = {g->lr_log10,  g->beta1,    g->beta2,
                          g->eps_log10, g->wd_log10, g->clip_value};
  for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
    evo_wbuf_f64(w, reals[i]);
  evo_wbuf_u64(w, (uint64_t)g->warmup_steps);
  evo_wbuf_u8(w, bits);
}

const char *evo_genome_read(evo_rbuf *r, evo_genome *g) {
  evo_genome_init_defaults(g);
  uint32_t n = evo_rbuf_u32(r);
  if (n > EVO_MAX_TERMS)
    return r->ok ? "genome term count" : NULL;
  g->n_terms = n;
  for (size_t i = 0; i < EVO_MAX_TERMS; i++) {
    uint32_t bits = evo_rbuf_u32(r);
    int32_t code;
    memcpy(&code, &bits, sizeof code); /* two's complement, as written */
    g->terms[i] = (int)code;
  }
  for (size_t i = 0; i < EVO_MAX_TERMS; i++)
    g->alphas[i] = evo_rbuf_f64(r);
  double *reals[] = {&g->lr_log10,  &g->beta1,    &g->beta2,
                     &g->eps_log10, &g->wd_log10, &g->clip_value};
  for (size_t i = 0; i < sizeof reals / sizeof reals[0]; i++)
    *reals[i] = evo_rbuf_f64(r);
  g->warmup_steps = (int64_t)evo_rbuf_u64(r);
  uint8_t bits = evo_rbuf_u8(r);
  bool *flags[N_FLAGS] = {&g->use_m, &g->use_v, &g->use_bias_correction,
                          &g->use_gradient_clipping, &g->use_warmup,
                          &g->use_cosine_decay};
  for (unsigned k = 0; k < N_FLAGS; k++)
    *flags[k] = ((unsigned)bits >> k) & 1u;
  if (!r->ok)
    return NULL;
  if (bits >> N_FLAGS)
    return "genome flags";
  return evo_genome_validate(g) == EVO_OK ? NULL : "genome";
}
