/* evolve's settings: the presets, the command line, settings.json (all a
 * resumed run needs) and the checkpoint tag. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_internal.h"

typedef struct evolve_preset {
  const char *name;
  const char *tasks;
  uint64_t values[9]; /* in the order of num_settings[] */
} evolve_preset;

/* paper: doc/algorithm.md §4 exactly (population, generations, elites,
 * tournament, steps, seeds, run seed) and §4's final table (1000 steps × 3
 * seeds). quick: the bundled digits, ~115 CPU seconds: about a minute on 2 idle
 * cores, 2.5 minutes on 2 busy ones. smoke: seconds. */
static const evolve_preset presets[] = {
    {"paper",
     "fashion_mnist,cifar10,mnist",
     {50, 50, 3, 4, 500, 2, 42, 1000, 3}},
    {"quick", "digits", {20, 15, 2, 3, 400, 2, 42, 800, 3}},
    {"smoke", "digits", {6, 3, 2, 3, 20, 1, 42, 30, 1}},
};

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
  OPT_NUM /* the numeric settings follow: OPT_NUM + index */
};

typedef struct num_setting {
  const char *name; /* option "--name" and settings.json key (- as _) */
  size_t offset;    /* in evolve_cfg */
  uint64_t min, max;
} num_setting;

#define FIELD(f) offsetof(evolve_cfg, f)
static const num_setting num_settings[] = {
    {"population", FIELD(population), 2, 1000000},
    {"generations", FIELD(generations), 1, 4294967295u},
    {"elites", FIELD(elites), 0, 999999},
    {"tournament", FIELD(tournament), 1, 1000000},
    {"steps", FIELD(steps), 1, 4294967296u},
    {"seeds", FIELD(seeds), 1, 1000},
    {"seed", FIELD(seed), 0, INT64_MAX},
    {"final-steps", FIELD(final_steps), 1, 4294967296u},
    {"final-seeds", FIELD(final_seeds), 0, 1000},
};
#define N_NUM (sizeof num_settings / sizeof num_settings[0])

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
    {"population", 0, 1, OPT_NUM + 0},
    {"generations", 0, 1, OPT_NUM + 1},
    {"elites", 0, 1, OPT_NUM + 2},
    {"tournament", 0, 1, OPT_NUM + 3},
    {"steps", 0, 1, OPT_NUM + 4},
    {"seeds", 0, 1, OPT_NUM + 5},
    {"seed", 0, 1, OPT_NUM + 6},
    {"final-steps", 0, 1, OPT_NUM + 7},
    {"final-seeds", 0, 1, OPT_NUM + 8},
    {NULL, 0, 0, 0},
};

static int apply_preset(evolve_cfg *cfg, const char *name) {
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
    if (strcmp(presets[i].name, name) != 0)
      continue;
    snprintf(cfg->preset, sizeof cfg->preset, "%s", name);
    for (size_t k = 0; k < N_NUM; k++)
      *num_field(cfg, k) = presets[i].values[k];
    return cli_tasks_parse(&cfg->tasks, "evolve", presets[i].tasks);
  }
  cli_usage_error("evolve",
                  "unknown preset '%s' (presets: paper, quick, smoke)", name);
  return -1;
}

/* The options as given, before they are applied. */
typedef struct given {
  const char *preset, *tasks, *data, *out, *resume, *workers, *eval_timeout;
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
    default: gv->num[id - OPT_NUM] = v; break;
    }
  }
  return CLI_EXIT_OK;
}

/* A new run: the preset, then every override. */
static int apply_new(const given *gv, evolve_cfg *cfg) {
  if (apply_preset(cfg, gv->preset != NULL ? gv->preset : "quick") != 0)
    return CLI_EXIT_USAGE;
  if (gv->tasks != NULL && cli_tasks_parse(&cfg->tasks, "evolve", gv->tasks))
    return CLI_EXIT_USAGE;
  for (size_t k = 0; k < N_NUM; k++)
    if (gv->num[k] != NULL &&
        cli_parse_u64("evolve", num_settings[k].name, gv->num[k],
                      num_settings[k].min, num_settings[k].max,
                      num_field(cfg, k)) != 0)
      return CLI_EXIT_USAGE;
  if (gv->data != NULL)
    snprintf(cfg->data, sizeof cfg->data, "%s", gv->data);
  cfg->cache = !gv->no_cache;
  return CLI_EXIT_OK;
}

static int check_together(const evolve_cfg *cfg) {
  if (cfg->elites >= cfg->population)
    return cli_usage_error(
        "evolve", "--elites (%llu) must be below --population (%llu)",
        (unsigned long long)cfg->elites, (unsigned long long)cfg->population);
  if (cfg->tournament > cfg->population)
    return cli_usage_error(
        "evolve", "--tournament (%llu) must not exceed --population (%llu)",
        (unsigned long long)cfg->tournament,
        (unsigned long long)cfg->population);
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
    json_object_set_new(root, "created", json_string(stamp));
  }
  char *text = root != NULL ? json_dumps(root, JSON_INDENT(2)) : NULL;
  json_decref(root);
  cli_buf b = {0};
  if (text == NULL)
    b.failed = 1;
  else
    cli_buf_printf(&b, "%s\n", text);
  free(text);
  if (cli_path_join(path, sizeof path, dir, "settings.json") != 0) {
    cli_buf_free(&b);
    return cli_error("run folder path too long: '%s'", dir);
  }
  return cli_buf_save(&b, path);
}

static int load_numbers(json_t *root, evolve_cfg *cfg, const char *path) {
  char key[32];
  for (size_t k = 0; k < N_NUM; k++) {
    json_key(num_settings[k].name, key, sizeof key);
    json_t *v = json_object_get(root, key);
    json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
    if (x < 0 || (uint64_t)x < num_settings[k].min ||
        (uint64_t)x > num_settings[k].max)
      return cli_error("'%s': '%s' is missing or not a valid number", path,
                       key);
    *num_field(cfg, k) = (uint64_t)x;
  }
  return CLI_EXIT_OK;
}

static int load_tasks(json_t *root, evolve_cfg *cfg, const char *path) {
  json_t *tasks = json_object_get(root, "tasks");
  char list[CLI_MAX_TASKS * 64] = "";
  size_t used = 0;
  for (size_t i = 0; i < json_array_size(tasks); i++) {
    const char *name = json_string_value(json_array_get(tasks, i));
    int n = snprintf(list + used, sizeof list - used, "%s%s", i ? "," : "",
                     name != NULL ? name : "");
    if (n < 0 || (size_t)n >= sizeof list - used)
      break;
    used += (size_t)n;
  }
  if (used == 0 || cli_tasks_parse(&cfg->tasks, "evolve", list) != 0)
    return cli_error("'%s': 'tasks' is missing or invalid", path);
  return CLI_EXIT_OK;
}

static int load_settings(evolve_cfg *cfg, const char *dir) {
  char path[CLI_PATH_MAX];
  if (cli_path_join(path, sizeof path, dir, "settings.json") != 0)
    return cli_error("run folder path too long: '%s'", dir);
  if (!cli_is_file(path))
    return cli_error("'%s' is not a run folder: %s is missing", dir, path);
  json_error_t err;
  json_t *root = json_load_file(path, 0, &err);
  if (root == NULL)
    return cli_error("cannot read '%s': line %d: %s", path, err.line, err.text);
  int rc = CLI_EXIT_OK;
  const char *format = json_string_value(json_object_get(root, "format"));
  const char *preset = json_string_value(json_object_get(root, "preset"));
  json_t *data = json_object_get(root, "data");
  if (format == NULL || strcmp(format, "evoopt run") != 0 ||
      json_integer_value(json_object_get(root, "format_version")) != 1)
    rc = cli_error("'%s' is not an evoopt run's settings (format)", path);
  else if (preset == NULL)
    rc = cli_error("'%s': 'preset' is missing", path);
  if (rc == CLI_EXIT_OK)
    rc = load_tasks(root, cfg, path);
  if (rc == CLI_EXIT_OK)
    rc = load_numbers(root, cfg, path);
  if (rc == CLI_EXIT_OK) {
    /* Runs from before the cache was the default have no "cache" key. */
    cfg->cache = json_is_true(json_object_get(root, "cache"));
    snprintf(cfg->preset, sizeof cfg->preset, "%s", preset);
    snprintf(cfg->data, sizeof cfg->data, "%s",
             json_is_string(data) ? json_string_value(data) : "");
  }
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
  return rc == CLI_EXIT_OK ? check_together(cfg) : rc;
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
  for (size_t i = 0; i < cfg->tasks.n; i++) {
    cli_buf_printf(&b, "; task %s", cfg->tasks.names[i]);
    for (size_t k = 0; k < sizeof options / sizeof options[0]; k++) {
      int64_t v = -1;
      if (cfg->tasks.tasks[i] != NULL)
        evo_task_get_option(cfg->tasks.tasks[i], options[k].option, &v);
      cli_buf_printf(&b, " %s=%lld", options[k].name, (long long)v);
    }
  }
  snprintf(buf, size, "%s", b.failed ? "evoopt-cli 1" : b.data);
  cli_buf_free(&b);
}
