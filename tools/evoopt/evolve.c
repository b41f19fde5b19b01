/* `evoopt evolve`: the genetic algorithm of doc/algorithm.md §4 over the chosen
 * tasks, checkpointed into a run folder after every evaluation, then the
 * final comparison table (doc/algorithm.md §4, last paragraph, and §6). The
 * evaluations run on threads, or under mpirun on the other ranks
 * (mpi_role.c); the exact evaluation cache is on unless --no-cache. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_internal.h"

typedef struct evolve_run {
  evolve_cfg cfg;
  evolve_opts opts;
  evo_evaluator *evaluator;
  evo_population *pop;
  evo_backend *backend; /* the clock around threads or MPI */
  cli_eval_clock clock;
  cli_mpi mpi;
  cli_progress progress;
  double best; /* best fitness seen, for the progress bar (NaN: none) */
  char checkpoint[CLI_PATH_MAX];
  /* Steady-state evolution runs without stopping between generations: the
   * run folder is written at each generation event instead, and its
   * status kept here. */
  int write_at_events, write_rc;
} evolve_run;

/* --- progress events ---------------------------------------------------- */

/* "seed 0" or "seeds 0 to 2": the final table's seeds (doc/algorithm.md §3). */
static void seeds_text(uint64_t n, char *buf, size_t size) {
  if (n == 1)
    snprintf(buf, size, "seed 0");
  else
    snprintf(buf, size, "seeds 0 to %llu", (unsigned long long)n - 1);
}

/* Results taken from the cache so far: the recorded generations' counts,
 * plus the hits of the generation being evaluated (not yet recorded). */
static size_t run_hits(const evo_population *pop) {
  size_t hits = 0, recorded = evo_population_history_count(pop);
  for (size_t g = 0; g < recorded; g++) {
    double v = 0.0;
    evo_population_history(pop, g, EVO_HIST_CACHE_HITS, &v);
    hits += (size_t)v;
  }
  if (!evo_population_finished(pop) &&
      recorded == evo_population_generation(pop))
    for (size_t i = 0; i < evo_population_size(pop); i++) {
      int cached = 0;
      evo_population_individual_cached(pop, i, &cached);
      hits += (size_t)cached;
    }
  return hits;
}

static void draw_bar(evolve_run *r, size_t generation) {
  char label[64];
  size_t per = (size_t)r->cfg.population;
  if (r->cfg.cache)
    snprintf(label, sizeof label, "generation %zu/%llu, %zu hits",
             generation + 1, (unsigned long long)r->cfg.generations,
             run_hits(r->pop));
  else
    snprintf(label, sizeof label, "generation %zu/%llu", generation + 1,
             (unsigned long long)r->cfg.generations);
  cli_progress_bar(&r->progress, label,
                   generation * per + evo_population_evaluated(r->pop),
                   (size_t)r->cfg.generations * per, r->best);
}

static json_t *genome_json(const evo_genome *g) {
  char *text = NULL;
  json_t *j = NULL;
  if (g != NULL && evo_genome_to_json(g, &text) == EVO_OK)
    j = json_loads(text, 0, NULL);
  evo_free(text);
  return j;
}

static void on_evaluation(evolve_run *r, size_t generation, size_t index) {
  const evo_genome *g = NULL;
  double fitness = NAN;
  int status = EVO_OK;
  const char *message = "";
  char *desc = NULL;
  int cached = 0;
  evo_population_individual(r->pop, index, &g, &fitness);
  evo_population_individual_error(r->pop, index, &status, &message);
  evo_population_individual_cached(r->pop, index, &cached);
  if (status == EVO_OK && !(fitness <= r->best))
    r->best = fitness; /* also replaces NaN */
  if (g != NULL)
    evo_genome_describe(g, &desc);
  /* Humans count from 1; the files and JSON count from 0, as the library. */
  if (status != EVO_OK)
    cli_progress_log(&r->progress, "generation %zu, genome %zu failed: %s",
                     generation + 1, index + 1,
                     message[0] != '\0' ? message : evo_status_str(status));
  else if (r->progress.verbose)
    cli_progress_log(&r->progress,
                     "generation %zu, genome %zu: fitness %.4f%s  %s",
                     generation + 1, index + 1, fitness,
                     cached ? " (cache hit)" : "", desc != NULL ? desc : "");
  if (r->opts.json)
    cli_json_emit(json_pack(
        "{s:s, s:I, s:I, s:f, s:s, s:s, s:b, s:s, s:o*}", "event", "evaluation",
        "generation", (json_int_t)generation, "index", (json_int_t)index,
        "fitness", fitness == fitness ? fitness : -1.0, "status",
        status == EVO_OK ? "ok" : evo_status_str(status), "error", message,
        "cached", cached, "description", desc != NULL ? desc : "", "genome",
        genome_json(g)));
  evo_free(desc);
  draw_bar(r, generation);
}

static json_t *best_tasks_json(const evo_population *pop, size_t generation) {
  const evo_report *rep = NULL;
  json_t *tasks = json_object();
  evo_population_history_best(pop, generation, NULL, &rep);
  for (size_t i = 0; i < evo_report_task_count(rep); i++) {
    const char *name = NULL;
    double f = 0.0;
    if (evo_report_task(rep, i, &name, &f) == EVO_OK)
      json_object_set_new(tasks, name, json_real(f));
  }
  return tasks;
}

static void on_generation(evolve_run *r, size_t generation) {
  double v[RUNFOLDER_HIST_N];
  runfolder_history(r->pop, generation, v);
  const evo_genome *best = NULL;
  char *desc = NULL, elapsed[32];
  evo_population_history_best(r->pop, generation, &best, NULL);
  if (best != NULL)
    evo_genome_describe(best, &desc);
  cli_format_duration(cli_now() - r->progress.start, elapsed, sizeof elapsed);
  cli_progress_log(&r->progress,
                   "generation %zu/%llu: best %.4f mean %.4f median %.4f "
                   "failed %.0f hits %.0f [%s]  %s",
                   generation + 1, (unsigned long long)r->cfg.generations, v[0],
                   v[1], v[2], v[4], v[5], elapsed, desc != NULL ? desc : "");
  if (r->opts.json)
    cli_json_emit(json_pack(
        "{s:s, s:I, s:I, s:f, s:f, s:f, s:f, s:I, s:I, s:o, s:s, s:o*}",
        "event", "generation", "generation", (json_int_t)generation,
        "generations", (json_int_t)r->cfg.generations, "best", v[0], "mean",
        v[1], "median", v[2], "worst", v[3], "failed", (json_int_t)v[4],
        "cache_hits", (json_int_t)v[5], "tasks",
        best_tasks_json(r->pop, generation), "description",
        desc != NULL ? desc : "", "genome", genome_json(best)));
  evo_free(desc);
}

/* The population's progress callback; a non-zero return stops the run
 * cleanly (Ctrl-C), leaving a checkpoint that --resume continues. */
static int on_progress(void *user, evo_event event, const evo_population *pop,
                       size_t generation, size_t index) {
  evolve_run *r = user;
  if (event == EVO_EVENT_EVALUATION) {
    on_evaluation(r, generation, index);
  } else {
    on_generation(r, generation);
    if (r->write_at_events &&
        (r->write_rc = runfolder_write(r->opts.out, &r->cfg, pop)) !=
            CLI_EXIT_OK)
      return 1;
  }
  return cli_interrupted();
}

/* --- set-up ------------------------------------------------------------- */

static int make_folder(const char *dir) {
  char path[CLI_PATH_MAX];
  if (cli_path_join(path, sizeof path, dir, "settings.json") != 0)
    return cli_error("run folder path too long: '%s'", dir);
  if (cli_is_file(path))
    return cli_error("'%s' already holds a run: continue it with "
                     "'evoopt evolve --resume %s' or choose another --out",
                     dir, dir);
  if (mkdir(dir, 0777) == 0)
    return CLI_EXIT_OK;
  if (errno != EEXIST)
    return cli_error("cannot create the run folder '%s': %s", dir,
                     strerror(errno));
  if (!cli_is_dir(dir))
    return cli_error("'%s' exists and is not a folder", dir);
  /* An existing folder is used only when empty: the run's files would
   * replace a user's own best.json, history.csv and the like. Or when it
   * holds only this program's temporaries: a run killed before its
   * settings.json was saved, which --resume cannot continue. */
  char names[1024];
  long n = cli_dir_summary(dir, names, sizeof names);
  if (n < 0)
    return cli_error("cannot read the folder '%s': %s", dir, strerror(errno));
  size_t temporaries = 0;
  int rc = n > 0 ? runfolder_temporaries(dir, 0, &temporaries) : CLI_EXIT_OK;
  if (rc != CLI_EXIT_OK)
    return rc;
  if ((size_t)n > temporaries)
    return cli_error("'%s' is not empty and is not an evoopt run folder "
                     "(it holds %s): choose another --out, or an empty or "
                     "new folder",
                     dir, names);
  return n > 0 ? runfolder_temporaries(dir, 1, &temporaries) : CLI_EXIT_OK;
}

/* EVO_POP_ALGORITHM's value for the run's "algorithm". */
static uint64_t cli_algorithm(const evolve_cfg *c) {
  if (strcmp(c->algorithm, "steady") == 0)
    return EVO_ALGO_STEADY;
  return strcmp(c->algorithm, "random") == 0 ? EVO_ALGO_RANDOM : EVO_ALGO_GA;
}

static int configure_new(evolve_run *r, const char *tag) {
  const evolve_cfg *c = &r->cfg;
  const struct {
    evo_pop_setting key;
    uint64_t value;
  } settings[] = {
      {EVO_POP_SIZE, c->population},
      {EVO_POP_GENERATIONS, c->generations},
      {EVO_POP_ELITES, c->elites},
      {EVO_POP_TOURNAMENT, c->tournament},
      {EVO_POP_RUN_SEED, c->seed},
      {EVO_POP_CACHE, c->cache ? 1u : 0u}, /* canonical keys: the fitness
                                              sees only the optimizer */
      {EVO_POP_ALGORITHM, cli_algorithm(c)},
      {EVO_POP_RUNGS, c->n_cheap + 1},
      {EVO_POP_PROMOTE, c->promote},
      {EVO_POP_WINDOW, c->window},
  };
  int rc = evo_population_new(&r->pop);
  for (size_t i = 0; rc == EVO_OK && i < sizeof settings / sizeof settings[0];
       i++)
    rc =
        evo_population_set(r->pop, settings[i].key, (int64_t)settings[i].value);
  if (rc == EVO_OK)
    rc = evo_population_set_checkpoint(r->pop, r->checkpoint, tag);
  return rc == EVO_OK ? CLI_EXIT_OK
                      : cli_lib_error(rc, "cannot set up the population");
}

/* A resumed population must carry the settings of settings.json. */
static int check_resumed(evolve_run *r) {
  const evolve_cfg *c = &r->cfg;
  const struct {
    evo_pop_setting key;
    const char *name;
    uint64_t value;
  } settings[] = {
      {EVO_POP_SIZE, "population", c->population},
      {EVO_POP_GENERATIONS, "generations", c->generations},
      {EVO_POP_ELITES, "elites", c->elites},
      {EVO_POP_TOURNAMENT, "tournament", c->tournament},
      {EVO_POP_RUN_SEED, "seed", c->seed},
      {EVO_POP_CACHE, "cache", c->cache ? 1u : 0u},
      {EVO_POP_ALGORITHM, "algorithm", cli_algorithm(c)},
      {EVO_POP_RUNGS, "rungs (the cheap ones and the full one)",
       c->n_cheap + 1},
      {EVO_POP_PROMOTE, "promote", c->promote},
      {EVO_POP_WINDOW, "window", c->window},
  };
  for (size_t i = 0; i < sizeof settings / sizeof settings[0]; i++) {
    int64_t v = -1;
    evo_population_get(r->pop, settings[i].key, &v);
    if ((uint64_t)v != settings[i].value)
      return cli_error("'%s' has %s %lld but settings.json says %llu",
                       r->checkpoint, settings[i].name, (long long)v,
                       (unsigned long long)settings[i].value);
  }
  return CLI_EXIT_OK;
}

static int under_mpi(const evolve_run *r) {
  return r->mpi.active && r->mpi.size > 1;
}

/* The back end: the other MPI ranks, or a thread pool that lives as long
 * as the run; timed either way, to price the cache's hits. */
static int open_backend(evolve_run *r, const char *tag) {
  evo_backend *inner = NULL;
  int st = under_mpi(r)
               ? evo_backend_mpi_new_parts(&inner, r->evaluator,
                                           r->opts.eval_timeout, tag)
               : evo_backend_threads_new_rung(&inner,
                                              evo_evaluator_fitness_rung,
                                              r->evaluator, r->opts.workers);
  if (st == EVO_OK)
    st = cli_eval_clock_wrap(&r->backend, &r->clock, inner,
                             (size_t)r->cfg.population);
  if (st == EVO_OK)
    st = evo_population_set_backend(r->pop, r->backend);
  if (st == EVO_OK)
    return CLI_EXIT_OK;
  return cli_lib_error(st, under_mpi(r) ? "cannot use the MPI worker ranks"
                                        : "cannot start the evaluations");
}

static int open_population(evolve_run *r) {
  char tag[2048];
  evolve_tag(&r->cfg, tag, sizeof tag);
  if (cli_path_join(r->checkpoint, sizeof r->checkpoint, r->opts.out,
                    "checkpoint.evo") != 0)
    return cli_error("run folder path too long: '%s'", r->opts.out);
  int rc = CLI_EXIT_OK;
  if (r->opts.resume && cli_is_file(r->checkpoint)) {
    int st = evo_population_resume(&r->pop, r->checkpoint, tag);
    if (st == EVO_EMISMATCH)
      return cli_lib_file_error(st, r->checkpoint,
                                "the run's checkpoint was made with other "
                                "tasks, steps, seeds or data settings");
    if (st != EVO_OK)
      return cli_lib_file_error(st, r->checkpoint, "cannot resume");
    rc = check_resumed(r);
  } else {
    rc = configure_new(r, tag); /* also a run killed before its first save */
  }
  /* The threads of the back end (open_backend) and of the final table.
   * The population always gets a back end: its own EVO_POP_WORKERS and
   * fitness callback, used only without one, are left unset. */
  unsigned workers = r->opts.workers;
  if (workers == 0)
    workers = cli_cpu_count();
  if (workers > r->cfg.population)
    workers = (unsigned)r->cfg.population;
  r->opts.workers = workers;
  int st = EVO_OK;
  if (rc == CLI_EXIT_OK) /* the budget may be raised */
    st = evo_population_set(r->pop, EVO_POP_BUDGET,
                            (int64_t)ceil(r->cfg.budget));
  if (st == EVO_OK && rc == CLI_EXIT_OK)
    st = evo_population_set_progress(r->pop, on_progress, r);
  if (st != EVO_OK)
    rc = cli_lib_error(st, "cannot set up the population");
  return rc == CLI_EXIT_OK ? open_backend(r, tag) : rc;
}

static int open_evaluator(evolve_run *r) {
  int rc = cli_tasks_open(&r->cfg.tasks, r->cfg.data[0] ? r->cfg.data : NULL);
  if (rc != CLI_EXIT_OK)
    return rc;
  int st = evo_evaluator_new(&r->evaluator);
  for (size_t i = 0; st == EVO_OK && i < r->cfg.tasks.n; i++)
    st = evo_evaluator_add_task(r->evaluator, r->cfg.tasks.tasks[i]);
  if (st == EVO_OK)
    st = evo_evaluator_set_steps(r->evaluator, r->cfg.steps);
  if (st == EVO_OK)
    st = evo_evaluator_set_seeds(r->evaluator, (uint32_t)r->cfg.seeds);
  for (size_t i = 0; st == EVO_OK && i < r->cfg.n_cheap; i++)
    st = evo_evaluator_set_rung(r->evaluator, (uint32_t)i,
                                r->cfg.rung_steps[i],
                                (uint32_t)r->cfg.rung_seeds[i],
                                r->cfg.rung_test[i]);
  return st == EVO_OK ? CLI_EXIT_OK
                      : cli_lib_error(st, "cannot set up the evaluator");
}

/* --- the run ------------------------------------------------------------ */

/* Why a run stopped before its end. */
typedef enum stop_kind {
  STOP_ASKED, /* Ctrl-C: every finished evaluation is in the checkpoint */
  STOP_ERROR, /* the last save may have failed: claim nothing */
  STOP_FINAL  /* in the final table, which is never checkpointed */
} stop_kind;

/* How to continue, and only what is true of the checkpoint: how many
 * evaluations it holds, and whether this session added any
 * (@p done_before: the count when the session started). */
static void resume_hint(const evolve_run *r, stop_kind why,
                        size_t done_before) {
  size_t per = (size_t)r->cfg.population;
  size_t total = (size_t)r->cfg.generations * per;
  size_t done = evo_population_generation(r->pop) * per +
                evo_population_evaluated(r->pop);
  const char *out = r->opts.out;
  if (why == STOP_FINAL)
    cli_note("the evolution's %zu evaluations are saved, the final table "
             "is not; make it with: evoopt evolve --resume %s",
             total, out);
  else if (why == STOP_ERROR)
    cli_note("continue from the last saved checkpoint with: evoopt evolve "
             "--resume %s",
             out);
  else if (done == 0)
    cli_note("stopped before an evaluation was saved; start the run again "
             "with: evoopt evolve --resume %s",
             out);
  else if (done == done_before)
    cli_note("stopped before a new evaluation was saved; the checkpoint "
             "still holds %zu of %zu evaluations; continue with: evoopt "
             "evolve --resume %s",
             done, total, out);
  else
    cli_note("stopped; the checkpoint holds %zu of %zu evaluations; "
             "continue with: evoopt evolve --resume %s",
             done, total, out);
  if (r->opts.json)
    cli_json_emit(
        json_pack("{s:s, s:s}", "event", "stopped", "resume", r->opts.out));
}

static int evolve_generations(evolve_run *r) {
  size_t per = (size_t)r->cfg.population;
  size_t done = evo_population_generation(r->pop) * per +
                evo_population_evaluated(r->pop);
  cli_progress_restart(&r->progress, done);
  if (evo_population_hof_count(r->pop) > 0) /* a resumed run */
    evo_population_hof(r->pop, 0, NULL, &r->best, NULL);
  if (done > 0 && !evo_population_finished(r->pop))
    cli_progress_log(&r->progress,
                     "resuming at generation %zu/%llu (%zu of "
                     "%zu evaluations done)",
                     evo_population_generation(r->pop) + 1,
                     (unsigned long long)r->cfg.generations, done,
                     (size_t)r->cfg.generations * per);
  /* Steady-state evolution: one call, the window kept full across
   * generations (a step would let it drain at each generation's end). */
  r->write_at_events = strcmp(r->cfg.algorithm, "steady") == 0;
  while (!evo_population_finished(r->pop)) {
    int st = cli_interrupted()    ? EVO_ECANCELED
             : r->write_at_events ? evo_population_run(r->pop)
                                  : evo_population_step(r->pop);
    int rc = runfolder_write(r->opts.out, &r->cfg, r->pop);
    if (r->write_rc != CLI_EXIT_OK) {
      cli_progress_clear(&r->progress);
      return r->write_rc;
    }
    if (st == EVO_ECANCELED) {
      cli_progress_clear(&r->progress);
      resume_hint(r, STOP_ASKED, done);
      return CLI_EXIT_INTERRUPTED;
    }
    if (st != EVO_OK) {
      cli_progress_clear(&r->progress);
      rc = cli_lib_error(st, "the evolution stopped");
      resume_hint(r, STOP_ERROR, done);
      return rc;
    }
    if (rc != CLI_EXIT_OK)
      return rc;
  }
  cli_progress_clear(&r->progress);
  return runfolder_write(r->opts.out, &r->cfg, r->pop);
}

static void on_final_run(void *user, size_t done, size_t total) {
  evolve_run *r = user;
  cli_progress_bar(&r->progress, "final table", done, total, NAN);
}

static int final_title(const evolve_run *r, char *buf, size_t size) {
  const evo_genome *best = NULL;
  double fitness = 0.0;
  size_t gen = 0;
  char *desc = NULL, tasks[1024], seeds[64];
  if (evo_population_hof(r->pop, 0, &best, &fitness, &gen) != EVO_OK ||
      evo_genome_describe(best, &desc) != EVO_OK)
    return cli_error("the run has no successfully evaluated genome");
  cli_tasks_join(&r->cfg.tasks, tasks, sizeof tasks);
  seeds_text(r->cfg.final_seeds, seeds, sizeof seeds);
  snprintf(buf, size,
           "# Final comparison\n\nTasks %s; %llu steps, %s. `evolved` is the "
           "run's best genome (fitness %.4f in generation %zu): %s",
           tasks, (unsigned long long)r->cfg.final_steps, seeds, fitness, gen,
           desc);
  evo_free(desc);
  return CLI_EXIT_OK;
}

static int final_grid(evolve_run *r, cli_table *table) {
  const evo_genome *genomes[1 + CLI_N_BASELINES] = {NULL};
  evo_genome *owned[CLI_N_BASELINES] = {NULL};
  char names[1 + CLI_N_BASELINES][64] = {"evolved"};
  evo_population_hof(r->pop, 0, &genomes[0], NULL, NULL);
  int rc = CLI_EXIT_OK;
  for (size_t i = 0; i < CLI_N_BASELINES && rc == CLI_EXIT_OK; i++) {
    int st = evo_genome_preset(&owned[i], cli_baselines[i]);
    if (st != EVO_OK)
      rc = cli_lib_error(st, "preset '%s'", cli_baselines[i]);
    genomes[i + 1] = owned[i];
    snprintf(names[i + 1], sizeof names[i + 1], "%s", cli_baselines[i]);
  }
  cli_grid_spec spec = {genomes,
                        1 + CLI_N_BASELINES,
                        &r->cfg.tasks,
                        r->cfg.final_steps,
                        (uint32_t)r->cfg.final_seeds,
                        r->opts.workers,
                        on_final_run,
                        r};
  cli_grid *grid = NULL;
  cli_progress_restart(&r->progress, 0);
  char seeds[64];
  seeds_text(r->cfg.final_seeds, seeds, sizeof seeds);
  cli_progress_log(&r->progress,
                   "final table: the best genome and 4 "
                   "baselines, %llu steps, %s",
                   (unsigned long long)r->cfg.final_steps, seeds);
  if (rc == CLI_EXIT_OK)
    rc = cli_grid_run(&grid, &spec);
  cli_progress_clear(&r->progress);
  if (rc == CLI_EXIT_OK)
    cli_table_from_grid(table, grid, &r->cfg.tasks, names, 1 + CLI_N_BASELINES);
  cli_grid_free(grid);
  for (size_t i = 0; i < CLI_N_BASELINES; i++)
    evo_genome_free(owned[i]);
  return rc;
}

static int final_table(evolve_run *r) {
  char title[2048], csv[CLI_PATH_MAX], md[CLI_PATH_MAX];
  cli_table table;
  int rc = final_title(r, title, sizeof title);
  if (rc == CLI_EXIT_OK)
    rc = final_grid(r, &table);
  if (rc == CLI_EXIT_INTERRUPTED)
    resume_hint(r, STOP_FINAL, 0);
  if (rc != CLI_EXIT_OK)
    return rc;
  if (cli_path_join(csv, sizeof csv, r->opts.out, "final.csv") != 0 ||
      cli_path_join(md, sizeof md, r->opts.out, "final.md") != 0)
    return cli_error("run folder path too long: '%s'", r->opts.out);
  /* The run folder's own files (1: written again on resume). */
  rc = cli_table_save_md(&table, md, title, 1);
  if (rc == CLI_EXIT_OK) /* final.csv last: it marks the run complete */
    rc = cli_table_save_csv(&table, csv, 1);
  if (rc == CLI_EXIT_OK && r->opts.json)
    cli_json_emit(json_pack("{s:s, s:I, s:I, s:o, s:s}", "event", "final",
                            "steps", (json_int_t)r->cfg.final_steps, "seeds",
                            (json_int_t)r->cfg.final_seeds, "rows",
                            cli_table_json(&table), "run", r->opts.out));
  else if (rc == CLI_EXIT_OK) {
    char seeds[64];
    seeds_text(r->cfg.final_seeds, seeds, sizeof seeds);
    printf("\nFinal table (%llu steps, %s):\n",
           (unsigned long long)r->cfg.final_steps, seeds);
    cli_table_print(&table, stdout);
  }
  return rc;
}

/* The cache's share of the run's results, and the evaluation time it
 * saved: hits x the mean evaluation time measured in this session (0 when
 * this session evaluated nothing). */
typedef struct cache_figures {
  size_t hits, results;
  double rate, mean, saved;
} cache_figures;

static cache_figures cache_summary(const evolve_run *r) {
  cache_figures c = {run_hits(r->pop),
                     (size_t)(r->cfg.generations * r->cfg.population), 0.0,
                     cli_eval_clock_mean(&r->clock), 0.0};
  c.rate = c.results > 0 ? (double)c.hits / (double)c.results : 0.0;
  c.saved = (double)c.hits * c.mean;
  return c;
}

static void print_cache(const evolve_run *r, const cache_figures *c) {
  char saved[32];
  if (!r->cfg.cache) {
    printf("Evaluation cache: off (--no-cache)\n");
    return;
  }
  printf("Evaluation cache: %zu of %zu results were hits (%.1f%%)", c->hits,
         c->results, 100.0 * c->rate);
  if (c->mean > 0.0) {
    if (c->saved < 60.0)
      snprintf(saved, sizeof saved, "%.1f s", c->saved);
    else
      cli_format_duration(c->saved, saved, sizeof saved);
    printf(", which saved about %s of evaluation time (%zu x %.3f s, the "
           "mean evaluation)",
           saved, c->hits, c->mean);
  }
  printf("\n");
}

static void print_summary(const evolve_run *r) {
  const evo_genome *best = NULL;
  double fitness = 0.0;
  size_t gen = 0;
  char *desc = NULL;
  if (evo_population_hof(r->pop, 0, &best, &fitness, &gen) != EVO_OK ||
      evo_genome_describe(best, &desc) != EVO_OK)
    return;
  cache_figures c = cache_summary(r);
  if (r->opts.json)
    cli_json_emit(json_pack(
        "{s:s, s:f, s:I, s:s, s:b, s:I, s:I, s:f, s:f, s:f, s:s}", "event",
        "summary", "fitness", fitness, "generation", (json_int_t)gen,
        "description", desc, "cache", r->cfg.cache, "cache_hits",
        (json_int_t)c.hits, "results", (json_int_t)c.results, "hit_rate",
        c.rate, "evaluation_seconds", c.mean, "saved_seconds", c.saved, "run",
        r->opts.out));
  else {
    printf("Best genome (fitness %.4f, generation %zu): %s\n", fitness, gen,
           desc);
    print_cache(r, &c);
    printf("Run folder: %s\n", r->opts.out);
  }
  evo_free(desc);
}

/* Prints final.md of a complete run instead of recomputing it. */
static int print_complete(const evolve_run *r) {
  char md[CLI_PATH_MAX];
  cli_path_join(md, sizeof md, r->opts.out, "final.md");
  char *text = cli_read_text(md, 1 << 20);
  cli_note("the run in '%s' is complete", r->opts.out);
  if (text != NULL && !r->opts.json)
    fputs(text, stdout);
  free(text);
  return CLI_EXIT_OK;
}

/* A run killed while it saved a file leaves that write's temporary file:
 * the resume removes them (only this program's own names). */
static int remove_leftovers(evolve_run *r) {
  size_t n = 0;
  int rc = runfolder_temporaries(r->opts.out, 1, &n);
  if (rc == CLI_EXIT_OK && n > 0)
    cli_progress_log(&r->progress,
                     "removed %zu temporary file%s left in %s by an "
                     "interrupted run",
                     n, n == 1 ? "" : "s", r->opts.out);
  return rc;
}

static int evolve_body(evolve_run *r) {
  int rc = open_evaluator(r);
  if (rc == CLI_EXIT_OK && !r->opts.resume)
    rc = make_folder(r->opts.out);
  if (rc == CLI_EXIT_OK && (!r->opts.resume || r->cfg.budget_changed))
    rc = evolve_save_settings(&r->cfg, r->opts.out);
  if (rc == CLI_EXIT_OK && r->opts.resume)
    rc = remove_leftovers(r);
  if (rc == CLI_EXIT_OK)
    rc = open_population(r);
  if (rc != CLI_EXIT_OK)
    return rc;
  if (r->opts.workers > 1) /* one BLAS thread per worker: no oversubscribing */
    evo_blas_set_threads(1);
  char tasks[1024], csv[CLI_PATH_MAX], where[128];
  cli_tasks_join(&r->cfg.tasks, tasks, sizeof tasks);
  if (under_mpi(r))
    snprintf(where, sizeof where, "%d MPI worker ranks with %zu slots",
             r->mpi.size - 1, evo_backend_slots(r->backend));
  else
    snprintf(where, sizeof where, "%u workers", r->opts.workers);
  cli_progress_log(
      &r->progress,
      "run folder %s: preset %s, tasks %s, "
      "population %llu, generations %llu, %llu steps x %llu "
      "seeds, %s, cache %s",
      r->opts.out, r->cfg.preset, tasks, (unsigned long long)r->cfg.population,
      (unsigned long long)r->cfg.generations, (unsigned long long)r->cfg.steps,
      (unsigned long long)r->cfg.seeds, where, r->cfg.cache ? "on" : "off");
  rc = evolve_generations(r);
  if (rc != CLI_EXIT_OK)
    return rc;
  cli_path_join(csv, sizeof csv, r->opts.out, "final.csv");
  if (r->opts.resume && cli_is_file(csv))
    return print_complete(r);
  print_summary(r);
  return r->cfg.final_seeds > 0 ? final_table(r) : CLI_EXIT_OK;
}

/* A worker rank under mpirun: the same tasks as rank 0 (data loaded once
 * per rank), then evaluations until rank 0 is done. Its --workers (default
 * 1) evaluations run at once, each with one BLAS thread. */
static int evolve_serve(evolve_run *r) {
  int rc = open_evaluator(r);
  if (rc != CLI_EXIT_OK)
    return rc;
  char tag[2048];
  evolve_tag(&r->cfg, tag, sizeof tag);
  evo_blas_set_threads(1);
  /* every (task, seed) run a job of its own, rungs included */
  int st = evo_mpi_worker_run_evaluator(
      r->evaluator, r->opts.workers > 0 ? r->opts.workers : 1, tag);
  return st == EVO_OK ? CLI_EXIT_OK
                      : cli_lib_error(st, "cannot serve evaluations");
}

int cli_cmd_evolve(int argc, char **argv) {
  evolve_run *r = calloc(1, sizeof *r);
  if (r == NULL)
    return cli_error("out of memory");
  r->best = NAN;
  int rc = cli_mpi_start(&r->mpi, &argc, &argv);
  if (rc == CLI_EXIT_OK)
    rc = evolve_parse(argc, argv, &r->cfg, &r->opts);
  if (rc == CLI_DONE)
    rc = CLI_EXIT_OK;
  else if (rc == CLI_EXIT_OK && r->mpi.rank > 0)
    rc = evolve_serve(r);
  else if (rc == CLI_EXIT_OK) {
    cli_signals_install();
    cli_progress_init(&r->progress, r->opts.quiet, r->opts.verbose);
    rc = evolve_body(r);
  }
  evo_population_free(r->pop);
  evo_backend_free(r->backend); /* after the population that borrowed it */
  evo_evaluator_free(r->evaluator);
  cli_tasks_close(&r->cfg.tasks);
  cli_mpi mpi = r->mpi;
  free(r);
  return cli_mpi_end(&mpi, rc);
}
