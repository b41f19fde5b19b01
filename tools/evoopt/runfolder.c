/* The run folder's derived files, rewritten from the population after
 * every generation so that they always agree with checkpoint.evo (also
 * after a resume): history.csv, best.json, hall_of_fame.json, plot.svg. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_internal.h"
#include "core/atomic_file_internal.h"

/* Every file this program writes into a run folder (final.svg by `evoopt
 * plot`): their atomic writes' temporaries are the only names a resume may
 * remove. */
static const char *const run_files[] = {
    "settings.json", "checkpoint.evo",    "history.csv", "best.json",
    "plot.svg",      "hall_of_fame.json", "final.md",    "final.csv",
    "final.svg",     "compute.csv"};

static const evo_history_key hist_keys[RUNFOLDER_HIST_N] = {
    EVO_HIST_BEST,  EVO_HIST_MEAN,   EVO_HIST_MEDIAN,
    EVO_HIST_WORST, EVO_HIST_FAILED, EVO_HIST_CACHE_HITS};
static const char *const hist_names[RUNFOLDER_HIST_N] = {
    "best", "mean", "median", "worst", "failed", "cache_hits"};

void runfolder_history(const evo_population *pop, size_t gen,
                       double v[RUNFOLDER_HIST_N]) {
  for (size_t k = 0; k < RUNFOLDER_HIST_N; k++) {
    v[k] = 0.0;
    evo_population_history(pop, gen, hist_keys[k], &v[k]);
  }
}

static void history_header(cli_buf *b, const evolve_cfg *cfg) {
  cli_buf_printf(b, "generation");
  for (size_t k = 0; k < RUNFOLDER_HIST_N; k++)
    cli_buf_printf(b, ",%s", hist_names[k]);
  for (size_t i = 0; i < cfg->tasks.n; i++)
    cli_buf_printf(b, ",best_%s", cfg->tasks.names[i]);
  for (int t = 0; t < EVO_TERM_COUNT; t++)
    cli_buf_printf(b, ",terms_%s", evo_term_name((evo_term)t));
  cli_buf_printf(b, ",best_genome\n");
}

/* The best genome's fitness on task @p name, from its report. */
static int report_task(const evo_report *rep, const char *name, double *out) {
  for (size_t i = 0; i < evo_report_task_count(rep); i++) {
    const char *n = NULL;
    if (evo_report_task(rep, i, &n, out) == EVO_OK && strcmp(n, name) == 0)
      return 1;
  }
  return 0;
}

static void history_row(cli_buf *b, const evolve_cfg *cfg,
                        const evo_population *pop, size_t gen) {
  double v[RUNFOLDER_HIST_N];
  runfolder_history(pop, gen, v);
  cli_buf_printf(b, "%zu", gen);
  for (size_t k = 0; k < RUNFOLDER_HIST_N; k++) /* counts as integers */
    cli_buf_printf(b, k < 4 ? ",%.6f" : ",%.0f", v[k]);
  const evo_genome *g = NULL;
  const evo_report *rep = NULL;
  evo_population_history_best(pop, gen, &g, &rep);
  for (size_t i = 0; i < cfg->tasks.n; i++) {
    double f;
    if (rep != NULL && report_task(rep, cfg->tasks.names[i], &f))
      cli_buf_printf(b, ",%.6f", f);
    else
      cli_buf_printf(b, ",");
  }
  uint32_t counts[EVO_TERM_COUNT] = {0};
  evo_population_history_terms(pop, gen, counts);
  for (int t = 0; t < EVO_TERM_COUNT; t++)
    cli_buf_printf(b, ",%u", counts[t]);
  char *desc = NULL;
  cli_buf_printf(b, ",");
  if (g != NULL && evo_genome_describe(g, &desc) == EVO_OK)
    cli_buf_csv_field(b, desc);
  evo_free(desc);
  cli_buf_printf(b, "\n");
}

static int save_buf(const char *dir, const char *name, cli_buf *b) {
  char path[CLI_PATH_MAX];
  if (cli_path_join(path, sizeof path, dir, name) != 0) {
    cli_buf_free(b);
    return cli_error("run folder path too long: '%s'", dir);
  }
  return cli_buf_save(b, path);
}

static int write_history(const char *dir, const evolve_cfg *cfg,
                         const evo_population *pop) {
  cli_buf b = {0};
  history_header(&b, cfg);
  for (size_t gen = 0; gen < evo_population_history_count(pop); gen++)
    history_row(&b, cfg, pop, gen);
  return save_buf(dir, "history.csv", &b);
}

/* compute.csv: after each generation, the evaluations run (cache hits
 * not counted, every rung counted), the CPU core-seconds they cost and the
 * best fitness so far (of the generations' bests, which rank genomes
 * fully evaluated first): the anytime curve of the search. Measured, so unlike history.csv it is not
 * the same in two runs. */
static int write_compute(const char *dir, const evo_population *pop) {
  cli_buf b = {0};
  cli_buf_printf(&b, "generation,evaluations,core_seconds,best_so_far\n");
  double best = -INFINITY;
  for (size_t gen = 0; gen < evo_population_history_count(pop); gen++) {
    double evals = 0.0, secs = 0.0, gen_best = -INFINITY;
    evo_population_history(pop, gen, EVO_HIST_EVALUATIONS, &evals);
    evo_population_history(pop, gen, EVO_HIST_COMPUTE, &secs);
    evo_population_history(pop, gen, EVO_HIST_BEST, &gen_best);
    best = gen_best > best ? gen_best : best;
    cli_buf_printf(&b, "%zu,%.0f,%.3f,%.6f\n", gen, evals, secs,
                   isfinite(best) ? best : -1.0);
  }
  return save_buf(dir, "compute.csv", &b);
}

/* One hall-of-fame entry: rank (1 = best), fitness, generation first seen,
 * description and the genome itself. */
static json_t *hof_entry(const evo_population *pop, size_t rank) {
  const evo_genome *g = NULL;
  double fitness = 0.0;
  size_t gen = 0;
  char *json = NULL, *desc = NULL;
  json_t *entry = NULL;
  if (evo_population_hof(pop, rank, &g, &fitness, &gen) == EVO_OK &&
      evo_genome_to_json(g, &json) == EVO_OK &&
      evo_genome_describe(g, &desc) == EVO_OK)
    entry =
        json_pack("{s:I, s:f, s:I, s:s, s:o*}", "rank", (json_int_t)rank + 1,
                  "fitness", fitness, "generation", (json_int_t)gen,
                  "description", desc, "genome", json_loads(json, 0, NULL));
  evo_free(json);
  evo_free(desc);
  return entry;
}

/* One entry per line: readable, and a diff shows which entries moved. */
static int write_hof(const char *dir, const evo_population *pop) {
  cli_buf b = {0};
  size_t n = evo_population_hof_count(pop);
  cli_buf_printf(&b, "[\n");
  for (size_t r = 0; r < n && !b.failed; r++) {
    json_t *entry = hof_entry(pop, r);
    cli_buf_printf(&b, "  ");
    cli_buf_json(&b, entry, 0);
    cli_buf_printf(&b, "%s\n", r + 1 < n ? "," : "");
    json_decref(entry);
  }
  cli_buf_printf(&b, "]\n");
  return save_buf(dir, "hall_of_fame.json", &b);
}

static int write_best(const char *dir, const evo_population *pop) {
  const evo_genome *g = NULL;
  char path[CLI_PATH_MAX];
  if (evo_population_hof_count(pop) == 0 ||
      evo_population_hof(pop, 0, &g, NULL, NULL) != EVO_OK)
    return CLI_EXIT_OK; /* nothing evaluated successfully yet */
  if (cli_path_join(path, sizeof path, dir, "best.json") != 0)
    return cli_error("run folder path too long: '%s'", dir);
  int rc = evo_genome_save(g, path);
  return rc == EVO_OK ? CLI_EXIT_OK
                      : cli_lib_file_error(rc, path, "cannot save");
}

int runfolder_write(const char *dir, const evolve_cfg *cfg,
                    const evo_population *pop) {
  char csv[CLI_PATH_MAX], svg[CLI_PATH_MAX];
  int rc = write_history(dir, cfg, pop);
  if (rc == CLI_EXIT_OK)
    rc = write_best(dir, pop);
  if (rc == CLI_EXIT_OK)
    rc = write_hof(dir, pop);
  if (rc == CLI_EXIT_OK)
    rc = write_compute(dir, pop);
  if (rc == CLI_EXIT_OK && evo_population_history_count(pop) > 0 &&
      cli_path_join(csv, sizeof csv, dir, "history.csv") == 0 &&
      cli_path_join(svg, sizeof svg, dir, "plot.svg") == 0)
    rc = cli_plot_history(csv, svg, 1); /* the run's own plot.svg */
  return rc;
}

static int own_temporary(const char *name) {
  for (size_t i = 0; i < sizeof run_files / sizeof run_files[0]; i++)
    if (evo_atomic_is_temp(name, run_files[i]))
      return 1;
  return 0;
}

int runfolder_temporaries(const char *dir, int remove, size_t *count) {
  *count = 0;
  DIR *d = opendir(dir);
  if (d == NULL)
    return cli_error("cannot read the run folder '%s': %s", dir,
                     strerror(errno));
  int rc = CLI_EXIT_OK;
  char path[CLI_PATH_MAX];
  struct stat st;
  for (struct dirent *e; rc == CLI_EXIT_OK && (e = readdir(d)) != NULL;) {
    if (!own_temporary(e->d_name) ||
        cli_path_join(path, sizeof path, dir, e->d_name) != 0 ||
        lstat(path, &st) != 0 || !S_ISREG(st.st_mode))
      continue;
    if (!remove || unlink(path) == 0)
      (*count)++;
    else if (errno != ENOENT)
      rc = cli_error("cannot remove the temporary file '%s': %s", path,
                     strerror(errno));
  }
  closedir(d);
  return rc;
}
