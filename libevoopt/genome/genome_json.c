/* Genome JSON with the reference notebook's keys (doc/algorithm.md §1), read
 * and written with Jansson. Reals are printed with 17 significant digits, which
 * is enough for strtod to give back the same bits. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "genome/genome_internal.h"
#include "core/io_internal.h"

/* A genome file is a few hundred bytes; anything past this is not one. */
#define GENOME_FILE_LIMIT ((size_t)1 << 20)

typedef enum key_kind {
  KEY_TERMS,  /* term_types: array of integer codes */
  KEY_ALPHAS, /* alphas: array of numbers, as long as term_types */
  KEY_REAL,   /* a number; wd_log10 may also be null (zero decay) */
  KEY_FLAG,   /* a JSON boolean */
  KEY_STEPS   /* a JSON integer */
} key_kind;

typedef struct key_spec {
  const char *key;
  key_kind kind;
  int id; /* evo_gene or evo_flag */
} key_spec;

/* doc/algorithm.md §1's table, in its order: the writer follows it, the reader
 * requires every entry and nothing else. */
static const key_spec keys[] = {
    {"term_types", KEY_TERMS, 0},
    {"alphas", KEY_ALPHAS, 0},
    {"lr_log10", KEY_REAL, EVO_GENE_LR_LOG10},
    {"beta1", KEY_REAL, EVO_GENE_BETA1},
    {"beta2", KEY_REAL, EVO_GENE_BETA2},
    {"eps_log10", KEY_REAL, EVO_GENE_EPS_LOG10},
    {"wd_log10", KEY_REAL, EVO_GENE_WD_LOG10},
    {"use_m", KEY_FLAG, EVO_FLAG_USE_M},
    {"use_v", KEY_FLAG, EVO_FLAG_USE_V},
    {"use_bias_correction", KEY_FLAG, EVO_FLAG_BIAS_CORRECTION},
    {"use_gradient_clipping", KEY_FLAG, EVO_FLAG_GRADIENT_CLIPPING},
    {"clip_value", KEY_REAL, EVO_GENE_CLIP_VALUE},
    {"use_warmup", KEY_FLAG, EVO_FLAG_WARMUP},
    {"warmup_steps", KEY_STEPS, EVO_GENE_WARMUP_STEPS},
    {"use_cosine_decay", KEY_FLAG, EVO_FLAG_COSINE_DECAY},
};

#define KEY_COUNT (sizeof keys / sizeof keys[0])

/* ---- writer --------------------------------------------------------------- */

static json_t *terms_to_json(const evo_genome *g, bool alphas) {
  json_t *a = json_array();
  for (size_t i = 0; a != NULL && i < g->n_terms; i++) {
    json_t *v = alphas ? json_real(g->alphas[i]) : json_integer(g->terms[i]);
    if (json_array_append_new(a, v) != 0) { /* consumes v */
      json_decref(a);
      a = NULL;
    }
  }
  return a;
}

/* A new reference to the key's value, or NULL when out of memory. */
static json_t *key_to_json(const evo_genome *g, const key_spec *k) {
  double v = 0.0;
  int flag = 0;
  switch (k->kind) {
  case KEY_TERMS: return terms_to_json(g, false);
  case KEY_ALPHAS: return terms_to_json(g, true);
  case KEY_REAL:
    evo_genome_get(g, (evo_gene)k->id, &v);
    /* Zero decay has no log: written as null (doc/algorithm.md §1
     * extension). */
    return v == -INFINITY ? json_null() : json_real(v);
  case KEY_FLAG:
    evo_genome_get_flag(g, (evo_flag)k->id, &flag);
    return json_boolean(flag);
  case KEY_STEPS: return json_integer((json_int_t)g->warmup_steps);
  }
  return NULL;
}

/* The genome as JSON text in a buffer of ours (not Jansson's allocator, so
 * that evo_free() is right even when the application replaced it), with an
 * optional final newline for files. */
static int genome_dump(const evo_genome *g, bool newline, char **out,
                       size_t *len) {
  const size_t flags = JSON_REAL_PRECISION(17);
  char *text = NULL;
  size_t n = 0;
  json_t *obj = json_object();
  if (obj == NULL)
    goto fail;
  for (size_t i = 0; i < KEY_COUNT; i++)
    if (json_object_set_new(obj, keys[i].key, key_to_json(g, &keys[i])) != 0)
      goto fail;
  n = json_dumpb(obj, NULL, 0, flags);
  text = n == 0 ? NULL : evo_calloc(n + 2, 1);
  if (text == NULL || json_dumpb(obj, text, n, flags) != n)
    goto fail;
  if (newline)
    text[n++] = '\n';
  *out = text;
  *len = n;
  json_decref(obj);
  return EVO_OK;
fail:
  free(text);
  json_decref(obj);
  return evo_set_error(EVO_ENOMEM, "out of memory writing a genome as JSON");
}

EVO_API int evo_genome_to_json(const evo_genome *g, char **out) {
  EVO_CHECK_ARG(g);
  EVO_CHECK_ARG(out);
  size_t len;
  return genome_dump(g, false, out, &len);
}

EVO_API int evo_genome_save(const evo_genome *g, const char *path) {
  EVO_CHECK_ARG(g);
  EVO_CHECK_ARG(path);
  char *text = NULL;
  size_t len = 0;
  int rc = genome_dump(g, true, &text, &len);
  if (rc == EVO_OK)
    rc = evo_write_file_atomic(path, text, len);
  free(text);
  return rc;
}

/* ---- reader --------------------------------------------------------------- */

static const char *type_name(const json_t *v) {
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER: return "an integer";
  case JSON_REAL: return "a real number";
  case JSON_TRUE: return "true";
  case JSON_FALSE: return "false";
  case JSON_NULL: return "null";
  }
  return "unknown";
}

/* Checks that @p v is an array of 1 to EVO_MAX_TERMS entries. */
static int read_array_shape(const json_t *v, const char *key, size_t *n) {
  if (!json_is_array(v))
    return evo_set_error(EVO_EPARSE, "'%s' must be an array, not %s", key,
                         type_name(v));
  *n = json_array_size(v);
  if (*n < 1 || *n > EVO_MAX_TERMS)
    return evo_set_error(EVO_EPARSE,
                         "'%s' has %zu entries; a genome has 1 to %d terms",
                         key, *n, EVO_MAX_TERMS);
  return EVO_OK;
}

static int read_term_types(evo_genome *g, const json_t *v) {
  int rc = read_array_shape(v, "term_types", &g->n_terms);
  for (size_t i = 0; rc == EVO_OK && i < g->n_terms; i++) {
    const json_t *e = json_array_get(v, i);
    if (!json_is_integer(e))
      return evo_set_error(EVO_EPARSE,
                           "'term_types[%zu]' must be an integer term code, "
                           "not %s", i, type_name(e));
    json_int_t code = json_integer_value(e);
    if (code < 0 || code >= EVO_TERM_COUNT)
      return evo_set_error(EVO_ERANGE,
                           "'term_types[%zu]' = %lld is not a term code "
                           "(0 to 6)", i, (long long)code);
    g->terms[i] = (int)code;
  }
  return rc;
}

/* Runs after read_term_types (keys[] order), so n_terms is known. Ranges are
 * checked later by evo_genome_validate(). */
static int read_alphas(evo_genome *g, const json_t *v) {
  size_t n = 0;
  int rc = read_array_shape(v, "alphas", &n);
  if (rc == EVO_OK && n != g->n_terms)
    return evo_set_error(EVO_EPARSE,
                         "'alphas' has %zu entries but 'term_types' has %zu",
                         n, g->n_terms);
  for (size_t i = 0; rc == EVO_OK && i < n; i++) {
    const json_t *e = json_array_get(v, i);
    if (!json_is_number(e))
      return evo_set_error(EVO_EPARSE, "'alphas[%zu]' must be a number, not %s",
                           i, type_name(e));
    g->alphas[i] = json_number_value(e);
  }
  return rc;
}

static int read_real(evo_genome *g, const key_spec *k, const json_t *v) {
  bool is_wd = k->id == EVO_GENE_WD_LOG10;
  double x;
  if (is_wd && json_is_null(v))
    x = -INFINITY;
  else if (json_is_number(v))
    x = json_number_value(v);
  else
    return evo_set_error(EVO_EPARSE, "'%s' must be a number%s, not %s",
                         k->key, is_wd ? " or null" : "", type_name(v));
  int rc = evo_genome_check_gene((evo_gene)k->id, x, k->key);
  return rc != EVO_OK ? rc : evo_genome_set(g, (evo_gene)k->id, x);
}

static int read_key(evo_genome *g, const key_spec *k, const json_t *v) {
  switch (k->kind) {
  case KEY_TERMS: return read_term_types(g, v);
  case KEY_ALPHAS: return read_alphas(g, v);
  case KEY_REAL: return read_real(g, k, v);
  case KEY_FLAG:
    if (!json_is_boolean(v))
      return evo_set_error(EVO_EPARSE, "'%s' must be true or false, not %s",
                           k->key, type_name(v));
    return evo_genome_set_flag(g, (evo_flag)k->id, json_is_true(v));
  case KEY_STEPS:
    /* Integers only, as the notebook writes them: 100.0 is refused. */
    if (!json_is_integer(v))
      return evo_set_error(EVO_EPARSE, "'%s' must be an integer, not %s",
                           k->key, type_name(v));
    return evo_genome_set(g, (evo_gene)k->id,
                          (double)json_integer_value(v));
  }
  return evo_set_error(EVO_EINVAL, "internal: bad key kind");
}

static int check_known_keys(json_t *root) {
  const char *name;
  json_t *value;
  json_object_foreach(root, name, value) {
    size_t i = 0;
    while (i < KEY_COUNT && strcmp(name, keys[i].key) != 0)
      i++;
    if (i == KEY_COUNT)
      return evo_set_error(EVO_EPARSE, "unknown key '%s'", name);
  }
  return EVO_OK;
}

static int genome_from_root(evo_genome **out, json_t *root) {
  if (!json_is_object(root))
    return evo_set_error(EVO_EPARSE, "a genome must be a JSON object, not %s",
                         type_name(root));
  int rc = check_known_keys(root);
  evo_genome g;
  evo_genome_init_defaults(&g);
  for (size_t i = 0; rc == EVO_OK && i < KEY_COUNT; i++) {
    const json_t *v = json_object_get(root, keys[i].key);
    rc = v == NULL ? evo_set_error(EVO_EPARSE, "missing key '%s'", keys[i].key)
                   : read_key(&g, &keys[i], v);
  }
  if (rc == EVO_OK)
    rc = evo_genome_validate(&g);
  return rc != EVO_OK ? rc : evo_genome_clone(out, &g);
}

static int genome_from_text(evo_genome **out, const char *text, size_t len) {
  json_error_t err;
  json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
  if (root == NULL)
    return evo_set_error(EVO_EPARSE, "not valid JSON: %s (line %d, column %d)",
                         err.text, err.line, err.column);
  int rc = genome_from_root(out, root);
  json_decref(root);
  return rc;
}

EVO_API int evo_genome_from_json(evo_genome **out, const char *json) {
  EVO_CHECK_ARG(out);
  EVO_CHECK_ARG(json);
  return genome_from_text(out, json, strlen(json));
}

EVO_API int evo_genome_load(evo_genome **out, const char *path) {
  EVO_CHECK_ARG(out);
  EVO_CHECK_ARG(path);
  unsigned char *buf = NULL;
  size_t size = 0;
  int rc = evo_read_file(path, GENOME_FILE_LIMIT, &buf, &size);
  if (rc != EVO_OK)
    return rc; /* the message names the path */
  rc = genome_from_text(out, (const char *)buf, size);
  free(buf);
  return rc == EVO_OK ? rc : evo_wrap_error(rc, "'%s'", path);
}
