/* `evoopt eval` (fitness of genomes, doc/algorithm.md §3) and `evoopt compare`
 * (doc/algorithm.md §6's table, by default against the four baselines). Both
 * train every genome on every task with seeds 0..n-1 on a few threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

typedef struct eval_cmd {
  const char *name; /* "eval" or "compare" */
  cli_run run;      /* tasks, steps, seeds, workers, data, quiet */
  const char *csv, *md, *out;
  const char *curve_csv, *curve_svg; /* the held-out curve's files */
  int json, baselines;
  size_t n;
  evo_genome *genomes[CLI_MAX_GENOMES];
  char names[CLI_MAX_GENOMES][64];
} eval_cmd;

enum {
  OPT_JSON = 1,
  OPT_CSV,
  OPT_MD,
  OPT_OUT,
  OPT_NO_BASELINES,
  OPT_CURVE_EVERY,
  OPT_CURVE_CSV,
  OPT_CURVE_SVG
};

/* clang-format off */
#define CURVE_OPTS                                                             \
  {"curve-every", 0, 1, OPT_CURVE_EVERY}, {"curve-csv", 0, 1, OPT_CURVE_CSV},  \
      {"curve-svg", 0, 1, OPT_CURVE_SVG}
/* clang-format on */

static const cli_opt eval_opts[] = {
    CLI_RUN_OPTS,
    CURVE_OPTS,
    {"json", 0, 0, OPT_JSON},
    {NULL, 0, 0, 0},
};

static const cli_opt compare_opts[] = {
    CLI_RUN_OPTS,
    CURVE_OPTS,
    {"json", 0, 0, OPT_JSON},
    {"csv", 0, 1, OPT_CSV},
    {"md", 0, 1, OPT_MD},
    {"out", 'o', 1, OPT_OUT},
    {"no-baselines", 0, 0, OPT_NO_BASELINES},
    {NULL, 0, 0, 0},
};

static int add_genome(eval_cmd *c, const char *arg) {
  if (c->n == CLI_MAX_GENOMES)
    return cli_usage_error(c->name, "at most %d genomes", CLI_MAX_GENOMES);
  int rc = cli_genome_resolve(arg, &c->genomes[c->n], c->names[c->n],
                              sizeof c->names[c->n]);
  if (rc == CLI_EXIT_OK)
    c->n++;
  return rc;
}

static int parse_option(eval_cmd *c, int id, const char *v) {
  int rc = cli_run_option(&c->run, id, v);
  if (rc >= 0)
    return rc;
  switch (id) {
  case OPT_CURVE_EVERY:
    return cli_parse_u64(c->name, "curve-every", v, 1, EVO_MAX_STEPS,
                         &c->run.curve_every) == 0
               ? CLI_EXIT_OK
               : CLI_EXIT_USAGE;
  case OPT_CURVE_CSV: c->curve_csv = v; break;
  case OPT_CURVE_SVG: c->curve_svg = v; break;
  case OPT_JSON: c->json = 1; break;
  case OPT_CSV: c->csv = v; break;
  case OPT_MD: c->md = v; break;
  case OPT_OUT: c->out = v; break;
  case OPT_NO_BASELINES: c->baselines = 0; break;
  default: break;
  }
  return CLI_EXIT_OK;
}

/* Options first, then the genomes (so a bad option is a usage error even
 * when a genome file is missing too). */
static int parse(eval_cmd *c, const cli_opt *opts, int argc, char **argv) {
  cli_parser p;
  const char *v;
  const char *args[CLI_MAX_GENOMES];
  size_t n_args = 0;
  int rc = CLI_EXIT_OK;
  cli_parser_init(&p, c->name, opts, argc, argv);
  for (int id;
       rc == CLI_EXIT_OK && (id = cli_parser_next(&p, &v)) != CLI_OPT_END;) {
    if (id == CLI_OPT_ERROR)
      return CLI_EXIT_USAGE;
    if (id == CLI_OPT_HELP) {
      cli_help_print(stdout, c->name);
      return CLI_DONE;
    }
    if (id == CLI_OPT_POSITIONAL && n_args == CLI_MAX_GENOMES)
      return cli_usage_error(c->name, "at most %d genomes", CLI_MAX_GENOMES);
    if (id == CLI_OPT_POSITIONAL)
      args[n_args++] = v;
    else
      rc = parse_option(c, id, v);
  }
  if (rc == CLI_EXIT_OK && n_args == 0 && !c->baselines)
    return cli_usage_error(c->name, "no GENOME given");
  if (rc == CLI_EXIT_OK)
    rc = cli_curve_check(c->name, &c->run, c->curve_csv, c->curve_svg);
  for (size_t i = 0; i < n_args && rc == CLI_EXIT_OK; i++)
    rc = add_genome(c, args[i]);
  return rc;
}

/* compare: the four baselines join unless one of the genomes equals them. */
static int add_baselines(eval_cmd *c) {
  for (size_t b = 0; b < CLI_N_BASELINES && c->baselines; b++) {
    int rc = add_genome(c, cli_baselines[b]);
    if (rc != CLI_EXIT_OK)
      return rc;
    for (size_t i = 0; i + 1 < c->n; i++)
      if (evo_genome_equal(c->genomes[i], c->genomes[c->n - 1])) {
        evo_genome_free(c->genomes[--c->n]);
        break;
      }
  }
  return CLI_EXIT_OK;
}

static int run_grid(eval_cmd *c, cli_grid **grid) {
  return cli_run_grid(&c->run, (const evo_genome *const *)c->genomes, c->n,
                      grid);
}

/* The held-out curve's CSV and SVG, when asked for. */
static int save_curve(eval_cmd *c, const cli_grid *g) {
  return cli_curve_save(g, &c->run, c->names, c->n, c->curve_csv, c->curve_svg);
}

static json_t *eval_json(const eval_cmd *c, const cli_grid *g, size_t i) {
  char *desc = NULL;
  json_t *tasks = json_object();
  for (size_t t = 0; t < c->run.tasks.n; t++) {
    unsigned diverged = 0;
    double acc = cli_grid_task_accuracy(g, i, t, &diverged);
    json_object_set_new(tasks, c->run.tasks.names[t],
                        json_pack("{s:f, s:f, s:I}", "fitness",
                                  cli_grid_task_fitness(g, i, t), "accuracy",
                                  acc, "diverged", (json_int_t)diverged));
  }
  evo_genome_describe(c->genomes[i], &desc);
  json_t *j =
      json_pack("{s:s, s:s, s:f, s:I, s:I, s:o}", "genome", c->names[i],
                "description", desc != NULL ? desc : "", "fitness",
                cli_grid_overall(g, i), "steps", (json_int_t)c->run.steps,
                "seeds", (json_int_t)c->run.seeds, "tasks", tasks);
  evo_free(desc);
  return j;
}

static void eval_print(const eval_cmd *c, const cli_grid *g, size_t i) {
  char *desc = NULL;
  size_t w = strlen("overall");
  for (size_t t = 0; t < c->run.tasks.n; t++)
    if (strlen(c->run.tasks.names[t]) > w)
      w = strlen(c->run.tasks.names[t]);
  evo_genome_describe(c->genomes[i], &desc);
  printf("%s: %s\n", c->names[i], desc != NULL ? desc : "");
  evo_free(desc);
  for (size_t t = 0; t < c->run.tasks.n; t++) {
    unsigned diverged = 0;
    double acc = cli_grid_task_accuracy(g, i, t, &diverged);
    printf("  %-*s  fitness %.4f  accuracy %.4f", (int)w, c->run.tasks.names[t],
           cli_grid_task_fitness(g, i, t), acc);
    if (diverged > 0)
      printf("  (%u of %llu runs diverged)", diverged,
             (unsigned long long)c->run.seeds);
    printf("\n");
  }
  printf("  %-*s  fitness %.4f  (%llu steps x %llu seeds)\n", (int)w, "overall",
         cli_grid_overall(g, i), (unsigned long long)c->run.steps,
         (unsigned long long)c->run.seeds);
}

static int eval_body(eval_cmd *c) {
  cli_grid *g = NULL;
  int rc = run_grid(c, &g);
  for (size_t i = 0; rc == CLI_EXIT_OK && i < c->n; i++) {
    if (c->json)
      cli_json_emit(eval_json(c, g, i));
    else
      eval_print(c, g, i);
  }
  if (rc == CLI_EXIT_OK)
    rc = save_curve(c, g);
  cli_grid_free(g);
  return rc;
}

/* compare's files must not exist yet: refused before any training (evoopt
 * never replaces a file; doc/evoopt.1). */
static int compare_refuse_existing(const eval_cmd *c) {
  static const char *const out_files[] = {"compare.md", "compare.csv",
                                          "compare.svg"};
  char path[CLI_PATH_MAX], option[64];
  int rc = CLI_EXIT_OK;
  if (c->csv != NULL && c->md != NULL && strcmp(c->csv, c->md) == 0)
    return cli_usage_error(c->name, "--csv and --md name the same file");
  if (c->csv != NULL)
    rc = cli_refuse_existing("--csv", c->csv);
  if (rc == CLI_EXIT_OK && c->md != NULL)
    rc = cli_refuse_existing("--md", c->md);
  if (rc != CLI_EXIT_OK || c->out == NULL)
    return rc;
  if (!cli_is_dir(c->out))
    return cli_error("--out '%s' is not a folder", c->out);
  for (size_t i = 0; i < 3 && rc == CLI_EXIT_OK; i++) {
    if (cli_path_join(path, sizeof path, c->out, out_files[i]) != 0)
      return cli_error("path too long: '%s'", c->out);
    snprintf(option, sizeof option, "--out's %s", out_files[i]);
    rc = cli_refuse_existing(option, path);
  }
  return rc;
}

static int compare_save(const eval_cmd *c, const cli_table *t) {
  char path[CLI_PATH_MAX];
  int rc = CLI_EXIT_OK;
  if (c->csv != NULL)
    rc = cli_table_save_csv(t, c->csv, 0);
  if (rc == CLI_EXIT_OK && c->md != NULL)
    rc = cli_table_save_md(t, c->md, NULL, 0);
  if (rc != CLI_EXIT_OK || c->out == NULL)
    return rc;
  if (!cli_is_dir(c->out))
    return cli_error("--out '%s' is not a folder", c->out);
  if (cli_path_join(path, sizeof path, c->out, "compare.md") != 0)
    return cli_error("path too long: '%s'", c->out);
  rc = cli_table_save_md(t, path, NULL, 0);
  cli_path_join(path, sizeof path, c->out, "compare.csv");
  if (rc == CLI_EXIT_OK)
    rc = cli_table_save_csv(t, path, 0);
  char svg[CLI_PATH_MAX];
  if (rc == CLI_EXIT_OK &&
      cli_path_join(svg, sizeof svg, c->out, "compare.svg") == 0)
    rc = cli_plot_comparison(path, svg);
  return rc;
}

static int compare_body(eval_cmd *c) {
  cli_grid *g = NULL;
  cli_table table;
  int rc = compare_refuse_existing(c);
  if (rc == CLI_EXIT_OK)
    rc = add_baselines(c);
  if (rc == CLI_EXIT_OK)
    rc = run_grid(c, &g);
  if (rc != CLI_EXIT_OK)
    return rc;
  cli_table_from_grid(&table, g, &c->run.tasks, c->names, c->n);
  if (c->json)
    cli_json_emit(
        json_pack("{s:I, s:I, s:o}", "steps", (json_int_t)c->run.steps, "seeds",
                  (json_int_t)c->run.seeds, "rows", cli_table_json(&table)));
  else
    cli_table_print(&table, stdout);
  rc = save_curve(c, g);
  cli_grid_free(g);
  return rc == CLI_EXIT_OK ? compare_save(c, &table) : rc;
}

static int run_cmd(const char *name, const cli_opt *opts, uint64_t steps,
                   uint64_t seeds, int argc, char **argv) {
  eval_cmd *c = calloc(1, sizeof *c);
  if (c == NULL)
    return cli_error("out of memory");
  c->name = name;
  c->run.cmd = name;
  c->run.steps = steps;
  c->run.seeds = seeds;
  c->baselines = opts == compare_opts;
  cli_tasks_parse(&c->run.tasks, name, "digits");
  int rc = parse(c, opts, argc, argv);
  if (rc == CLI_EXIT_OK)
    rc = opts == compare_opts ? compare_body(c) : eval_body(c);
  for (size_t i = 0; i < c->n; i++)
    evo_genome_free(c->genomes[i]);
  cli_tasks_close(&c->run.tasks);
  free(c);
  return rc == CLI_DONE ? CLI_EXIT_OK : rc;
}

/* eval: doc/algorithm.md §3's evaluation (500 steps, 2 seeds); compare: §6's
 * final table (1000 steps, 3 seeds). */
int cli_cmd_eval(int argc, char **argv) {
  return run_cmd("eval", eval_opts, 500, 2, argc, argv);
}

int cli_cmd_compare(int argc, char **argv) {
  return run_cmd("compare", compare_opts, 1000, 3, argc, argv);
}
