/* evolve's settings: the presets, the command line, settings.json (all a
 * resumed run needs) and the checkpoint tag. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_internal.h"

typedef struct evolve_preset {
  const char *name;
  const char *tasks;
  uint64_t values[11]; /* in the order of num_settings[] */
  const char *algorithm, *rungs;
  double budget_hours; /* 0: none */
} evolve_preset;

/* paper: doc/algorithm.md §4 exactly (population, generations, elites,
 * tournament, steps, seeds, run seed) and §4's final table (1000 steps × 3
 * seeds). quick: the bundled digits, ~115 CPU seconds: about a minute on 2 idle
 * cores, 2.5 minutes on 2 busy ones. smoke: seconds. */
/* discover: the paper's tasks and full evaluation (500 steps × 2 seeds)
 * at a tenth of the paper's compute with multi-fidelity evaluation
 * (doc/algorithm.md §9): rung 0 trains 200 steps on one seed and scores on
 * 2,000 test images (about 0.2 of a full evaluation; not shorter, so that
 * warmups of up to 200 steps are not judged before they end), rung 1 500
 * steps on one seed and 5,000 images, the best third goes on each time:
 * about 15 full evaluations' worth per generation of 30, so 16 generations
 * are about 17 core-hours here (doc/discovery.md); the budget stops it
 * there. */
static const evolve_preset presets[] = {
    {"paper",
     "fashion_mnist,cifar10,mnist",
     {50, 50, 3, 4, 500, 2, 42, 1000, 3, 3, 4},
     "ga", "", 0.0},
    {"quick", "digits", {20, 15, 2, 3, 400, 2, 42, 800, 3, 3, 4}, "ga", "",
     0.0},
    {"smoke", "digits", {6, 3, 2, 3, 20, 1, 42, 30, 1, 3, 4}, "ga", "", 0.0},
    {"discover",
     "fashion_mnist,cifar10,mnist",
     {30, 16, 3, 4, 500, 2, 42, 1000, 3, 3, 4},
     "ga", "200x1@2000,500x1@5000", 17.0},
};
#define N_PRESETS (sizeof presets / sizeof presets[0])

static const char *const algorithms[] = {"ga", "random", "steady"};
#define N_ALGORITHMS (sizeof algorithms / sizeof algorithms[0])

enum {
  OPT_PRESET = 1,
  OPT_TASKS,
  OPT_DATA,
  OPT_OUT,
  OPT_RESUME,
  OPT_WORKERS,
  OPT_JSON,
  OPT_QUIET,
  OPT_VERBOSE,
  OPT_EVAL_TIMEOUT,
  OPT_NO_CACHE,
  OPT_ALGORITHM,
  OPT_RUNGS,
  OPT_BUDGET,
  OPT_NUM /* the numeric settings follow: OPT_NUM + index */
};

typedef struct num_setting {
  const char *name; /* option "--name" and settings.json key (- as _) */
  size_t offset;    /* in evolve_cfg */
  int pop_key;      /* the population setting whose range the library
                       gives (evo_population_option_bounds), or -1 */
  uint64_t min, max; /* the range when pop_key is -1 */
  const char *absent; /* its value in runs from before it existed, or NULL */
} num_setting;

#define FIELD(f) offsetof(evolve_cfg, f)
static const num_setting num_settings[] = {
    {"population", FIELD(population), EVO_POP_SIZE, 0, 0, NULL},
    {"generations", FIELD(generations), EVO_POP_GENERATIONS, 0, 0, NULL},
    {"elites", FIELD(elites), EVO_POP_ELITES, 0, 0, NULL},
    {"tournament", FIELD(tournament), EVO_POP_TOURNAMENT, 0, 0, NULL},
    {"steps", FIELD(steps), -1, 1, EVO_MAX_STEPS, NULL},
    {"seeds", FIELD(seeds), -1, 1, 1000, NULL},
    {"seed", FIELD(seed), -1, 0, INT64_MAX, NULL},
    {"final-steps", FIELD(final_steps), -1, 1, EVO_MAX_STEPS, NULL},
    {"final-seeds", FIELD(final_seeds), -1, 0, 1000, NULL},
    {"promote", FIELD(promote), EVO_POP_PROMOTE, 0, 0, "3"},
    {"window", FIELD(window), EVO_POP_WINDOW, 0, 0, "4"},
};
#define N_NUM (sizeof num_settings / sizeof num_settings[0])

/* The accepted range of numeric setting @p i: the library's for the
 * population's settings (issue 10 item 3: one source), else the table's. */
static void num_range(size_t i, uint64_t *min, uint64_t *max) {
  const num_setting *s = &num_settings[i];
  evo_option_bounds b;
  if (s->pop_key >= 0 &&
      evo_population_option_bounds((evo_pop_setting)s->pop_key, &b) ==
          EVO_OK &&
      b.min_i64 >= 0) {
    *min = (uint64_t)b.min_i64;
    *max = (uint64_t)b.max_i64;
    return;
  }
  *min = s->min;
  *max = s->max;
}

static uint64_t *num_field(evolve_cfg *cfg, size_t i) {
  return (uint64_t *)(void *)((char *)cfg + num_settings[i].offset);
}

static uint64_t num_value(const evolve_cfg *cfg, size_t i) {
  return *(const uint64_t *)(const void *)((const char *)cfg +
                                           num_settings[i].offset);
}

static const cli_opt evolve_opts_table[] = {
    {"preset", 0, 1, OPT_PRESET},
    {"tasks", 0, 1, OPT_TASKS},
    {"data", 0, 1, OPT_DATA},
    {"out", 'o', 1, OPT_OUT},
    {"resume", 0, 1, OPT_RESUME},
    {"workers", 'j', 1, OPT_WORKERS},
    {"json", 0, 0, OPT_JSON},
    {"quiet", 'q', 0, OPT_QUIET},
    {"verbose", 'v', 0, OPT_VERBOSE},
    {"eval-timeout", 0, 1, OPT_EVAL_TIMEOUT},
    {"no-cache", 0, 0, OPT_NO_CACHE},
    {"algorithm", 0, 1, OPT_ALGORITHM},
    {"rungs", 0, 1, OPT_RUNGS},
    {"budget", 0, 1, OPT_BUDGET},
    {"population", 0, 1, OPT_NUM + 0},
    {"generations", 0, 1, OPT_NUM + 1},
    {"elites", 0, 1, OPT_NUM + 2},
    {"tournament", 0, 1, OPT_NUM + 3},
    {"steps", 0, 1, OPT_NUM + 4},
    {"seeds", 0, 1, OPT_NUM + 5},
    {"seed", 0, 1, OPT_NUM + 6},
    {"final-steps", 0, 1, OPT_NUM + 7},
    {"final-seeds", 0, 1, OPT_NUM + 8},
    {"promote", 0, 1, OPT_NUM + 9},
    {"window", 0, 1, OPT_NUM + 10},
    {NULL, 0, 0, 0},
};

/* An unsigned decimal number at *at (digits only), advancing *at; false
 * when there is none or it overflows. */
static bool take_number(const char **at, unsigned long long *out) {
  if (**at < '0' || **at > '9')
    return false;
  char *end = NULL;
  errno = 0;
  *out = strtoull(*at, &end, 10);
  *at = end;
  return errno == 0;
}

int evolve_parse_rungs(const char *text, evolve_cfg *cfg, char *why,
                       size_t why_size) {
  cfg->n_cheap = 0;
  for (const char *at = text; *at != '\0';) {
    const char *start = at;
    unsigned long long steps = 0, seeds = 0, test = 0;
    if (cfg->n_cheap == CLI_MAX_CHEAP_RUNGS) {
      snprintf(why, why_size, "at most %d cheap rungs", CLI_MAX_CHEAP_RUNGS);
      return -1;
    }
    bool ok = take_number(&at, &steps) && *at++ == 'x' &&
              take_number(&at, &seeds);
    if (ok && *at == '@') {
      at++;
      ok = take_number(&at, &test);
    }
    if (!ok || (*at != ',' && *at != '\0') || (*at == ',' && at[1] == '\0')) {
      snprintf(why, why_size, "'%.40s' is not STEPSxSEEDS[@TEST][,...]",
               start);
      return -1;
    }
    if (steps < 1 || steps > EVO_MAX_STEPS || seeds < 1 || seeds > 1000) {
      snprintf(why, why_size,
               "rung %zu: steps must be in 1..%llu and seeds in 1..1000",
               cfg->n_cheap, (unsigned long long)EVO_MAX_STEPS);
      return -1;
    }
    cfg->rung_steps[cfg->n_cheap] = steps;
    cfg->rung_seeds[cfg->n_cheap] = seeds;
    cfg->rung_test[cfg->n_cheap++] = test;
    if (*at == ',')
      at++;
  }
  return 0;
}

/* --budget: core-hours, or a number with a unit s, m or h. */
static int parse_budget(const char *text, double *seconds) {
  char *end = NULL;
  double v = strtod(text, &end), unit = 3600.0;
  if (end != text && *end != '\0' && end[1] == '\0')
    unit = *end == 's' ? 1.0 : *end == 'm' ? 60.0 : *end == 'h' ? 3600.0 : 0.0;
  else if (end == text || *end != '\0')
    unit = 0.0;
  if (unit == 0.0 || !(v >= 0.0) || v * unit > 1e12)
    return cli_usage_error("evolve",
                           "--budget '%s' is not a compute budget (core-hours, "
                           "or a number with s, m or h; 0: none)",
                           text);
  *seconds = v * unit;
  return CLI_EXIT_OK;
}

static int set_rungs(evolve_cfg *cfg, const char *text, const char *where) {
  char why[160];
  if (strlen(text) >= sizeof cfg->rungs)
    snprintf(why, sizeof why, "longer than %zu bytes", sizeof cfg->rungs - 1);
  else if (evolve_parse_rungs(text, cfg, why, sizeof why) == 0) {
    snprintf(cfg->rungs, sizeof cfg->rungs, "%s", text);
    return CLI_EXIT_OK;
  }
  if (where != NULL)
    return cli_error("'%s': 'rungs' \"%.80s\": %s", where, text, why);
  return cli_usage_error("evolve", "--rungs '%s': %s", text, why);
}

static int set_algorithm(evolve_cfg *cfg, const char *name) {
  for (size_t i = 0; i < N_ALGORITHMS; i++)
    if (strcmp(name, algorithms[i]) == 0) {
      snprintf(cfg->algorithm, sizeof cfg->algorithm, "%s", name);
      return CLI_EXIT_OK;
    }
  return cli_usage_error("evolve",
                         "unknown --algorithm '%s' (ga, random or steady)",
                         name);
}

static int apply_preset(evolve_cfg *cfg, const char *name) {
  for (size_t i = 0; i < N_PRESETS; i++) {
    if (strcmp(presets[i].name, name) != 0)
      continue;
    snprintf(cfg->preset, sizeof cfg->preset, "%s", name);
    for (size_t k = 0; k < N_NUM; k++)
      *num_field(cfg, k) = presets[i].values[k];
    snprintf(cfg->algorithm, sizeof cfg->algorithm, "%s",
             presets[i].algorithm);
    cfg->budget = presets[i].budget_hours * 3600.0;
    if (set_rungs(cfg, presets[i].rungs, NULL) != CLI_EXIT_OK)
      return -1;
    return cli_tasks_parse(&cfg->tasks, "evolve", presets[i].tasks);
  }
  cli_usage_error("evolve",
                  "unknown preset '%s' (presets: paper, quick, smoke, "
                  "discover)",
                  name);
  return -1;
}

/* The options as given, before they are applied. */
typedef struct given {
  const char *preset, *tasks, *data, *out, *resume, *workers, *eval_timeout;
  const char *algorithm, *rungs, *budget;
  int no_cache;
  const char *num[N_NUM];
} given;

static int collect(int argc, char **argv, given *gv, evolve_opts *opts) {
  cli_parser p;
  cli_parser_init(&p, "evolve", evolve_opts_table, argc, argv);
  const char *v;
  for (int id; (id = cli_parser_next(&p, &v)) != CLI_OPT_END;) {
    switch (id) {
    case CLI_OPT_ERROR: return CLI_EXIT_USAGE;
    case CLI_OPT_HELP: cli_help_print(stdout, "evolve"); return CLI_DONE;
    case CLI_OPT_POSITIONAL:
      return cli_usage_error("evolve", "unexpected argument '%s'", v);
    case OPT_PRESET: gv->preset = v; break;
    case OPT_TASKS: gv->tasks = v; break;
    case OPT_DATA: gv->data = v; break;
    case OPT_OUT: gv->out = v; break;
    case OPT_RESUME: gv->resume = v; break;
    case OPT_WORKERS: gv->workers = v; break;
    case OPT_JSON: opts->json = 1; break;
    case OPT_QUIET: opts->quiet = 1; break;
    case OPT_VERBOSE: opts->verbose = 1; break;
    case OPT_EVAL_TIMEOUT: gv->eval_timeout = v; break;
    case OPT_NO_CACHE: gv->no_cache = 1; break;
    case OPT_ALGORITHM: gv->algorithm = v; break;
    case OPT_RUNGS: gv->rungs = v; break;
    case OPT_BUDGET: gv->budget = v; break;
    default: gv->num[id - OPT_NUM] = v; break;
    }
  }
  return CLI_EXIT_OK;
}

/* settings.json holds only UTF-8 (JSON's encoding): a task name or data
 * folder that is not would be dropped from it, so refuse it up front. */
static int utf8_ok(const char *text) {
  json_t *j = json_string(text);
  json_decref(j);
  return j != NULL;
}

static int check_utf8(const evolve_cfg *cfg) {
  for (size_t i = 0; i < cfg->tasks.n; i++)
    if (!utf8_ok(cfg->tasks.names[i]))
      return cli_usage_error("evolve", "task name %zu is not valid UTF-8 "
                             "(settings.json holds only UTF-8)", i + 1);
  if (!utf8_ok(cfg->data))
    return cli_usage_error("evolve", "--data: the folder's name is not "
                           "valid UTF-8 (settings.json holds only UTF-8)");
  return CLI_EXIT_OK;
}

/* A new run: the preset, then every override. */
static int apply_new(const given *gv, evolve_cfg *cfg) {
  if (apply_preset(cfg, gv->preset != NULL ? gv->preset : "quick") != 0)
    return CLI_EXIT_USAGE;
  if (gv->tasks != NULL && cli_tasks_parse(&cfg->tasks, "evolve", gv->tasks))
    return CLI_EXIT_USAGE;
  for (size_t k = 0; k < N_NUM; k++) {
    uint64_t min, max;
    num_range(k, &min, &max);
    if (gv->num[k] != NULL &&
        cli_parse_u64("evolve", num_settings[k].name, gv->num[k], min, max,
                      num_field(cfg, k)) != 0)
      return CLI_EXIT_USAGE;
  }
  if (gv->data != NULL)
    snprintf(cfg->data, sizeof cfg->data, "%s", gv->data);
  cfg->cache = !gv->no_cache;
  if (gv->algorithm != NULL && set_algorithm(cfg, gv->algorithm) != 0)
    return CLI_EXIT_USAGE;
  if (gv->rungs != NULL && set_rungs(cfg, gv->rungs, NULL) != 0)
    return CLI_EXIT_USAGE;
  if (gv->budget != NULL && parse_budget(gv->budget, &cfg->budget) != 0)
    return CLI_EXIT_USAGE;
  return check_utf8(cfg);
}

/* Settings @p a and @p b do not fit together: a usage error naming the
 * options, or (@p path not NULL) an error naming that settings.json's
 * keys. */
static int together_error(const char *path, const char *a, uint64_t va,
                          const char *relation, const char *b, uint64_t vb) {
  if (path != NULL)
    return cli_error("'%s': '%s' (%llu) must %s '%s' (%llu)", path, a,
                     (unsigned long long)va, relation, b,
                     (unsigned long long)vb);
  return cli_usage_error("evolve", "--%s (%llu) must %s --%s (%llu)", a,
                         (unsigned long long)va, relation, b,
                         (unsigned long long)vb);
}

static int check_together(const evolve_cfg *cfg, const char *path) {
  if (cfg->elites >= cfg->population)
    return together_error(path, "elites", cfg->elites, "be below", "population",
                          cfg->population);
  if (cfg->tournament > cfg->population)
    return together_error(path, "tournament", cfg->tournament, "not exceed",
                          "population", cfg->population);
  return CLI_EXIT_OK;
}

/* --- settings.json ------------------------------------------------------ */

static void json_key(const char *name, char *key, size_t size) {
  snprintf(key, size, "%s", name);
  for (char *c = key; *c != '\0'; c++)
    if (*c == '-')
      *c = '_';
}

int evolve_save_settings(const evolve_cfg *cfg, const char *dir) {
  char path[CLI_PATH_MAX], stamp[32], key[32];
  time_t now = time(NULL);
  struct tm tm;
  strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S%z", localtime_r(&now, &tm));
  json_t *tasks = json_array();
  for (size_t i = 0; i < cfg->tasks.n; i++)
    json_array_append_new(tasks, json_string(cfg->tasks.names[i]));
  json_t *root =
      json_pack("{s:s, s:i, s:s, s:s, s:o}", "format", "evoopt run",
                "format_version", 1, "evoopt_version", evo_version_string(),
                "preset", cfg->preset, "tasks", tasks);
  for (size_t k = 0; k < N_NUM && root != NULL; k++) {
    json_key(num_settings[k].name, key, sizeof key);
    json_object_set_new(root, key, json_integer((json_int_t)num_value(cfg, k)));
  }
  if (root != NULL) {
    json_object_set_new(root, "data",
                        cfg->data[0] != '\0' ? json_string(cfg->data)
                                             : json_null());
    json_object_set_new(root, "cache", json_boolean(cfg->cache));
    json_object_set_new(root, "algorithm", json_string(cfg->algorithm));
    json_object_set_new(root, "rungs", cfg->rungs[0] != '\0'
                                           ? json_string(cfg->rungs)
                                           : json_null());
    json_object_set_new(root, "budget", json_real(cfg->budget));
    json_object_set_new(root, "created", json_string(stamp));
  }
  cli_buf b = {0};
  cli_buf_json(&b, root, JSON_INDENT(2));
  cli_buf_printf(&b, "\n");
  json_decref(root);
  if (cli_path_join(path, sizeof path, dir, "settings.json") != 0) {
    cli_buf_free(&b);
    return cli_error("run folder path too long: '%s'", dir);
  }
  return cli_buf_save(&b, path);
}

/* --- reading settings.json: a table of keys ---------------------------- */

/* What a key of settings.json holds, and where it goes in evolve_cfg. To
 * add a key: a row in settings_keys[] (a numeric option goes in
 * num_settings[] instead, which makes it both an option and a key) and its
 * value in evolve_save_settings(). Every key is checked on read: a missing
 * or unknown key, a wrong type or a value out of range is refused with a
 * message that names the key. */
typedef enum key_kind {
  KEY_INT,    /* an integer in min..max; uint64_t */
  KEY_REAL,   /* a number in real_min..real_max; double */
  KEY_BOOL,   /* true or false; int */
  KEY_CHOICE, /* one of the strings choice(0), choice(1), ...; char[] */
  KEY_TEXT,   /* any string: informational, never stored */
  KEY_PATH,   /* a non-empty string, or null for none (""); char[] */
  KEY_SPEC,   /* a rung list (evolve_parse_rungs), or null for none */
  KEY_TASKS   /* an array of distinct task names; cli_tasks */
} key_kind;

typedef struct settings_key {
  const char *name;
  key_kind kind;
  /* The JSON text an absent key stands for (runs written before the key
   * existed); NULL: the key is required. */
  const char *absent;
  size_t offset, size; /* the field (STORED), or size 0: only checked */
  uint64_t min, max;
  double real_min, real_max;
  const char *(*choice)(size_t i); /* the i-th value, NULL past the last */
} settings_key;

#define STORED(f)                                                              \
  .offset = offsetof(evolve_cfg, f), .size = sizeof(((evolve_cfg *)0)->f)

static const char *format_choice(size_t i) {
  return i == 0 ? "evoopt run" : NULL;
}

static const char *preset_choice(size_t i) {
  return i < N_PRESETS ? presets[i].name : NULL;
}

static const char *algorithm_choice(size_t i) {
  return i < N_ALGORITHMS ? algorithms[i] : NULL;
}

/* clang-format off: one row per key */
static const settings_key settings_keys[] = {
    {.name = "format", .kind = KEY_CHOICE, .choice = format_choice},
    {.name = "format_version", .kind = KEY_INT, .min = 1, .max = 1},
    {.name = "evoopt_version", .kind = KEY_TEXT, .absent = "\"\""},
    {.name = "created", .kind = KEY_TEXT, .absent = "\"\""},
    {.name = "preset", .kind = KEY_CHOICE, .choice = preset_choice,
     STORED(preset)},
    {.name = "tasks", .kind = KEY_TASKS, STORED(tasks)},
    {.name = "data", .kind = KEY_PATH, STORED(data)},
    /* Runs from before the cache was the default have no "cache" key. */
    {.name = "cache", .kind = KEY_BOOL, .absent = "false", STORED(cache)},
    /* Search settings (runs from before them: the paper's GA, no rungs,
     * no budget). */
    {.name = "algorithm", .kind = KEY_CHOICE, .absent = "\"ga\"",
     .choice = algorithm_choice, STORED(algorithm)},
    {.name = "rungs", .kind = KEY_SPEC, .absent = "null", STORED(rungs)},
    {.name = "budget", .kind = KEY_REAL, .absent = "0", .real_min = 0.0,
     .real_max = 1e12, STORED(budget)},
};
/* clang-format on */
#define N_KEYS (sizeof settings_keys / sizeof settings_keys[0])

/* The row of numeric setting @p i: its option's name with '_' for '-'. */
static settings_key num_key(size_t i, char *name, size_t size) {
  json_key(num_settings[i].name, name, size);
  uint64_t min, max;
  num_range(i, &min, &max);
  settings_key k = {.name = name,
                    .kind = KEY_INT,
                    .min = min,
                    .max = max,
                    .absent = num_settings[i].absent};
  k.offset = num_settings[i].offset;
  k.size = sizeof(uint64_t);
  return k;
}

/* "a string \"bogus\"", "an integer 5", "true", "an array": what a value
 * is, for messages; long values only by their type. */
static void describe(const json_t *v, char *buf, size_t size) {
  static const char *const types[] = {
      [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array",
      [JSON_STRING] = "a string",  [JSON_INTEGER] = "an integer",
      [JSON_REAL] = "a number",    [JSON_TRUE] = "",
      [JSON_FALSE] = "",           [JSON_NULL] = ""};
  const char *type = types[json_typeof(v)];
  char *text = json_is_object(v) || json_is_array(v)
                   ? NULL
                   : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  if (text == NULL || strlen(text) > 40)
    snprintf(buf, size, "%s", type[0] != '\0' ? type : "a value");
  else
    snprintf(buf, size, "%s%s%s", type, type[0] != '\0' ? " " : "", text);
  free(text);
}

/* "\"a\", \"b\" or \"c\"": the values of a KEY_CHOICE. */
static void choices_text(const settings_key *k, char *buf, size_t size) {
  size_t used = 0, n = 0;
  while (k->choice(n) != NULL)
    n++;
  buf[0] = '\0';
  for (size_t i = 0; i < n && used < size; i++) {
    int w = snprintf(buf + used, size - used, "%s\"%s\"",
                     i == 0       ? ""
                     : i + 1 == n ? " or "
                                  : ", ",
                     k->choice(i));
    used += w > 0 ? (size_t)w : 0;
  }
}

static void *field(evolve_cfg *cfg, const settings_key *k) {
  return (char *)cfg + k->offset;
}

/* The task names of a KEY_TASKS array: 1..CLI_MAX_TASKS distinct names
 * without commas (the command line's list separator). */
static int read_tasks(const json_t *v, cli_tasks *t, const char *path,
                      const char *key) {
  size_t n = json_array_size(v);
  memset(t, 0, sizeof *t);
  if (n == 0 || n > CLI_MAX_TASKS)
    return cli_error("'%s': '%s' must list 1 to %d tasks, not %zu", path, key,
                     CLI_MAX_TASKS, n);
  for (size_t i = 0; i < n; i++) {
    const char *name = json_string_value(json_array_get(v, i));
    char what[64];
    if (name == NULL) {
      describe(json_array_get(v, i), what, sizeof what);
      return cli_error("'%s': '%s' must hold task names (strings), not %s",
                       path, key, what);
    }
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof t->names[0] || strchr(name, ',') != NULL)
      return cli_error("'%s': '%s' holds a bad task name \"%.80s\" (empty, "
                       "longer than %zu bytes, or with a comma)",
                       path, key, name, sizeof t->names[0] - 1);
    for (size_t j = 0; j < i; j++)
      if (strcmp(t->names[j], name) == 0)
        return cli_error("'%s': '%s' lists task '%s' twice", path, key, name);
    memcpy(t->names[i], name, len + 1);
    t->n = i + 1;
  }
  return CLI_EXIT_OK;
}

/* A string into a char[] field, or refused as too long. */
static int store_text(evolve_cfg *cfg, const settings_key *k, const char *s,
                      const char *path) {
  if (k->size == 0)
    return CLI_EXIT_OK;
  if (strlen(s) >= k->size)
    return cli_error("'%s': '%s' is longer than %zu bytes", path, k->name,
                     k->size - 1);
  memcpy(field(cfg, k), s, strlen(s) + 1);
  return CLI_EXIT_OK;
}

/* Checks value @p v of key @p k and stores it. */
static int read_key(const settings_key *k, const json_t *v, evolve_cfg *cfg,
                    const char *path) {
  char what[96], want[160];
  describe(v, what, sizeof what);
  switch (k->kind) {
  case KEY_INT: {
    json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
    if (x >= 0 && (uint64_t)x >= k->min && (uint64_t)x <= k->max) {
      if (k->size != 0)
        *(uint64_t *)field(cfg, k) = (uint64_t)x;
      return CLI_EXIT_OK;
    }
    if (k->min == k->max)
      snprintf(want, sizeof want, "%llu", (unsigned long long)k->min);
    else
      snprintf(want, sizeof want, "an integer in %llu..%llu",
               (unsigned long long)k->min, (unsigned long long)k->max);
    break;
  }
  case KEY_REAL: {
    double x = json_number_value(v);
    if (json_is_number(v) && x >= k->real_min && x <= k->real_max) {
      if (k->size != 0)
        *(double *)field(cfg, k) = x;
      return CLI_EXIT_OK;
    }
    snprintf(want, sizeof want, "a number in %g..%g", k->real_min, k->real_max);
    break;
  }
  case KEY_BOOL:
    if (json_is_boolean(v)) {
      if (k->size != 0)
        *(int *)field(cfg, k) = json_is_true(v);
      return CLI_EXIT_OK;
    }
    snprintf(want, sizeof want, "true or false");
    break;
  case KEY_CHOICE:
    for (size_t i = 0; json_is_string(v) && k->choice(i) != NULL; i++)
      if (strcmp(json_string_value(v), k->choice(i)) == 0)
        return store_text(cfg, k, k->choice(i), path);
    choices_text(k, want, sizeof want);
    break;
  case KEY_TEXT:
    if (json_is_string(v))
      return store_text(cfg, k, json_string_value(v), path);
    snprintf(want, sizeof want, "a string");
    break;
  case KEY_PATH:
    if (json_is_null(v))
      return store_text(cfg, k, "", path);
    if (json_is_string(v) && json_string_length(v) > 0)
      return store_text(cfg, k, json_string_value(v), path);
    snprintf(want, sizeof want, "a folder (a non-empty string) or null");
    break;
  case KEY_SPEC:
    if (json_is_null(v))
      return set_rungs(cfg, "", path);
    if (json_is_string(v) && json_string_length(v) > 0)
      return set_rungs(cfg, json_string_value(v), path);
    snprintf(want, sizeof want, "a rung list (a non-empty string) or null");
    break;
  case KEY_TASKS:
    if (json_is_array(v))
      return read_tasks(v, (cli_tasks *)field(cfg, k), path, k->name);
    snprintf(want, sizeof want, "an array of task names");
    break;
  }
  return cli_error("'%s': '%s' must be %s, not %s", path, k->name, want, what);
}

/* A present key, or its stand-in when absent and allowed to be. */
static int read_row(const settings_key *k, const json_t *root, evolve_cfg *cfg,
                    const char *path) {
  const json_t *v = json_object_get(root, k->name);
  if (v != NULL)
    return read_key(k, v, cfg, path);
  if (k->absent == NULL)
    return cli_error("'%s': '%s' is missing", path, k->name);
  json_t *stand_in = json_loads(k->absent, JSON_DECODE_ANY, NULL);
  int rc = stand_in != NULL ? read_key(k, stand_in, cfg, path)
                            : cli_error("out of memory");
  json_decref(stand_in);
  return rc;
}

static int known_key(const char *key) {
  char name[32];
  for (size_t i = 0; i < N_KEYS; i++)
    if (strcmp(key, settings_keys[i].name) == 0)
      return 1;
  for (size_t i = 0; i < N_NUM; i++) {
    json_key(num_settings[i].name, name, sizeof name);
    if (strcmp(key, name) == 0)
      return 1;
  }
  return 0;
}

static int read_settings(const json_t *root, evolve_cfg *cfg,
                         const char *path) {
  char name[32];
  int rc = CLI_EXIT_OK;
  for (size_t i = 0; rc == CLI_EXIT_OK && i < N_KEYS; i++)
    rc = read_row(&settings_keys[i], root, cfg, path);
  for (size_t i = 0; rc == CLI_EXIT_OK && i < N_NUM; i++) {
    settings_key k = num_key(i, name, sizeof name);
    rc = read_row(&k, root, cfg, path);
  }
  const char *key;
  const json_t *v;
  json_object_foreach((json_t *)root, key, v) {
    if (rc == CLI_EXIT_OK && !known_key(key))
      rc = cli_error("'%s': unknown key '%.80s'", path, key);
  }
  return rc == CLI_EXIT_OK ? check_together(cfg, path) : rc;
}

static int load_settings(evolve_cfg *cfg, const char *dir) {
  char path[CLI_PATH_MAX];
  if (cli_path_join(path, sizeof path, dir, "settings.json") != 0)
    return cli_error("run folder path too long: '%s'", dir);
  if (!cli_is_file(path))
    return cli_error("'%s' is not a run folder: %s is missing", dir, path);
  char *text = cli_read_text(path, 1 << 20); /* a few hundred bytes */
  if (text == NULL)
    return cli_error("cannot read '%s': %s", path,
                     errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
  json_error_t err;
  json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
  free(text);
  if (root == NULL)
    return cli_error("cannot read '%s': line %d: %s", path, err.line, err.text);
  int rc = json_is_object(root)
               ? read_settings(root, cfg, path)
               : cli_error("'%s' is not an evoopt run's settings (not a JSON "
                           "object)",
                           path);
  json_decref(root);
  return rc;
}

/* --resume: the stored settings win; a given option must agree with them.
 * --data only says where the data lives, so it may change. */
static int apply_resume(const given *gv, evolve_cfg *cfg, const char *dir) {
  int rc = load_settings(cfg, dir);
  if (rc != CLI_EXIT_OK)
    return rc;
  if (gv->out != NULL)
    return cli_usage_error("evolve",
                           "--out cannot be combined with --resume "
                           "(the run folder is '%s')",
                           dir);
  if (gv->preset != NULL && strcmp(gv->preset, cfg->preset) != 0)
    return cli_usage_error("evolve",
                           "--preset %s conflicts with the run's "
                           "preset %s",
                           gv->preset, cfg->preset);
  if (gv->tasks != NULL) {
    cli_tasks t;
    char a[1024], b[1024];
    if (cli_tasks_parse(&t, "evolve", gv->tasks) != 0)
      return CLI_EXIT_USAGE;
    cli_tasks_join(&t, a, sizeof a);
    cli_tasks_join(&cfg->tasks, b, sizeof b);
    if (strcmp(a, b) != 0)
      return cli_usage_error("evolve",
                             "--tasks %s conflicts with the run's "
                             "tasks %s",
                             a, b);
  }
  for (size_t k = 0; k < N_NUM; k++) {
    uint64_t v;
    if (gv->num[k] == NULL)
      continue;
    if (cli_parse_u64("evolve", num_settings[k].name, gv->num[k],
                      num_settings[k].min, num_settings[k].max, &v) != 0)
      return CLI_EXIT_USAGE;
    if (v != num_value(cfg, k))
      return cli_usage_error("evolve",
                             "--%s %llu conflicts with the run's "
                             "setting %llu (in %s/settings.json)",
                             num_settings[k].name, (unsigned long long)v,
                             (unsigned long long)num_value(cfg, k), dir);
  }
  if (gv->no_cache && cfg->cache)
    return cli_usage_error("evolve",
                           "--no-cache conflicts with the run, which "
                           "started with the evaluation cache (in "
                           "%s/settings.json)",
                           dir);
  if (gv->algorithm != NULL && strcmp(gv->algorithm, cfg->algorithm) != 0)
    return cli_usage_error("evolve",
                           "--algorithm %s conflicts with the run's "
                           "algorithm %s",
                           gv->algorithm, cfg->algorithm);
  if (gv->rungs != NULL && strcmp(gv->rungs, cfg->rungs) != 0)
    return cli_usage_error("evolve",
                           "--rungs '%s' conflicts with the run's rungs "
                           "'%s'",
                           gv->rungs, cfg->rungs);
  /* The budget only says where the run stops: raise it to go on. */
  double stored = cfg->budget;
  if (gv->budget != NULL && parse_budget(gv->budget, &cfg->budget) != 0)
    return CLI_EXIT_USAGE;
  cfg->budget_changed = cfg->budget != stored;
  if (gv->data != NULL)
    snprintf(cfg->data, sizeof cfg->data, "%s", gv->data);
  return CLI_EXIT_OK;
}

/* --eval-timeout: seconds, a decimal number; 0 waits forever. */
static int parse_timeout(const char *text, double *out) {
  char *end = NULL;
  double v = strtod(text, &end);
  if (end == text || *end != '\0' || !(v >= 0.0 && v <= 1e7))
    return cli_usage_error("evolve",
                           "--eval-timeout '%s' is not a number of seconds "
                           "in 0..10000000",
                           text);
  *out = v;
  return CLI_EXIT_OK;
}

static void default_out(const evolve_cfg *cfg, char *out, size_t size) {
  char stamp[32];
  time_t now = time(NULL);
  struct tm tm;
  strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", localtime_r(&now, &tm));
  snprintf(out, size, "evoopt-run-%s-%s", cfg->preset, stamp);
}

int evolve_parse(int argc, char **argv, evolve_cfg *cfg, evolve_opts *opts) {
  given gv;
  memset(&gv, 0, sizeof gv);
  memset(cfg, 0, sizeof *cfg);
  memset(opts, 0, sizeof *opts);
  int rc = collect(argc, argv, &gv, opts);
  if (rc != CLI_EXIT_OK)
    return rc;
  uint64_t workers = 0;
  if (gv.workers != NULL &&
      cli_parse_u64("evolve", "workers", gv.workers, 1, 256, &workers) != 0)
    return CLI_EXIT_USAGE;
  opts->workers = (unsigned)workers;
  opts->eval_timeout = CLI_EVAL_TIMEOUT;
  if (gv.eval_timeout != NULL &&
      parse_timeout(gv.eval_timeout, &opts->eval_timeout) != CLI_EXIT_OK)
    return CLI_EXIT_USAGE;
  if (gv.resume != NULL) {
    opts->resume = 1;
    snprintf(opts->out, sizeof opts->out, "%s", gv.resume);
    rc = apply_resume(&gv, cfg, gv.resume);
  } else {
    rc = apply_new(&gv, cfg);
    if (rc == CLI_EXIT_OK && gv.out != NULL)
      snprintf(opts->out, sizeof opts->out, "%s", gv.out);
    else if (rc == CLI_EXIT_OK)
      default_out(cfg, opts->out, sizeof opts->out);
  }
  return rc == CLI_EXIT_OK ? check_together(cfg, NULL) : rc;
}

void evolve_tag(const evolve_cfg *cfg, char *buf, size_t size) {
  static const struct {
    evo_task_option option;
    const char *name;
  } options[] = {
      {EVO_TASK_TRAIN_SUBSET, "subset"},
      {EVO_TASK_DATA_SEED, "data_seed"},
      {EVO_TASK_BATCH_SIZE, "batch"},
      {EVO_TASK_TEST_LIMIT, "test_limit"},
      {EVO_TASK_DECAY_ALL, "decay_all"},
      {EVO_TASK_REFUSE_NONFINITE, "refuse_nonfinite"},
  };
  cli_buf b = {0};
  cli_buf_printf(&b, "evoopt-cli 1; steps %llu; seeds %llu",
                 (unsigned long long)cfg->steps,
                 (unsigned long long)cfg->seeds);
  if (cfg->rungs[0] != '\0') /* rung fitness values come from these */
    cli_buf_printf(&b, "; rungs %s", cfg->rungs);
  for (size_t i = 0; i < cfg->tasks.n; i++) {
    cli_buf_printf(&b, "; task %s", cfg->tasks.names[i]);
    for (size_t k = 0; k < sizeof options / sizeof options[0]; k++) {
      int64_t v = -1;
      if (cfg->tasks.tasks[i] != NULL)
        evo_task_get_option(cfg->tasks.tasks[i], options[k].option, &v);
      cli_buf_printf(&b, " %s=%lld", options[k].name, (long long)v);
    }
  }
  snprintf(buf, size, "%s", cli_buf_close(&b) == 0 ? b.data : "evoopt-cli 1");
  cli_buf_free(&b);
}
