/* The evoopt command-line program: declarations shared by its files. The
 * program uses only libevoopt's public API (include/evoopt/). */
#ifndef EVOOPT_CLI_INTERNAL_H
#define EVOOPT_CLI_INTERNAL_H

#include <getopt.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <evoopt/evoopt.h>
#include <jansson.h>

/* Exit codes, documented in doc/evoopt.1. */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_RUNTIME = 1,
  CLI_EXIT_USAGE = 2,
  CLI_EXIT_INTERRUPTED = 130, /* 128 + SIGINT, the shell's convention */
  CLI_DONE = -1 /* internal: the command's work is done (e.g. --help) */
};

#define CLI_MAX_TASKS 16
#define CLI_MAX_GENOMES 64
#define CLI_PATH_MAX 4096

/* --- messages (messages.c) --------------------------------------------- */

/* Prints "evoopt: error: <message>" and returns CLI_EXIT_RUNTIME. */
int cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* As cli_error, followed by the library's message for @p status (its
 * evo_last_error(), else the status name). */
int cli_lib_error(int status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* As cli_lib_error, for a call about the file @p path: the path is
 * printed once, "<message>: <library's message>" when that names
 * '<path>', else "<message> '<path>': <library's message>". */
int cli_lib_file_error(int status, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prints the message and a hint to `evoopt help CMD`; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints "evoopt: <message>" to stderr (a note, not an error). */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Under MPI, the process's rank: the messages of ranks > 0 say which rank
 * they come from, and their usage errors are left to rank 0. */
void cli_set_rank(int rank);

/* --- MPI roles (mpi_role.c) --------------------------------------------- */

typedef struct cli_mpi {
  int active; /* MPI was started: call cli_mpi_end() */
  int rank, size;
} cli_mpi;

/* Whether a launcher (mpirun, srun) started this process; its rank and
 * the job's size from the launcher's variables (0 and 1 otherwise). */
int cli_mpi_env(int *rank, int *size);
/* Starts MPI when launched by mpirun (never as a singleton); ranks > 0
 * lose stdout. Returns an exit code. */
int cli_mpi_start(cli_mpi *m, int *argc, char ***argv);
/* Stops the workers and finalizes MPI (rank 0 ends the whole job when a
 * worker rank is silent); returns @p rc or an error's exit code. */
int cli_mpi_end(const cli_mpi *m, int rc);

/* --- timing evaluations (evalclock.c) ----------------------------------- */

typedef struct cli_eval_clock {
  evo_backend *inner;
  double *started; /* per job id */
  size_t n;
  double seconds; /* summed over the collected jobs */
  size_t count;
} cli_eval_clock;

/* A back end that passes everything to @p inner (which it then owns and
 * frees) and times each job in @p c; job ids below @p max_jobs. Returns a
 * status. */
int cli_eval_clock_wrap(evo_backend **out, cli_eval_clock *c,
                        evo_backend *inner, size_t max_jobs);
/* Mean seconds per collected job, 0 when none. */
double cli_eval_clock_mean(const cli_eval_clock *c);

/* --- help texts (help.c) ------------------------------------------------ */

/* Prints the usage of @p cmd (NULL: the overview) to @p f; returns 0, or
 * -1 for an unknown command. */
int cli_help_print(FILE *f, const char *cmd);
int cli_cmd_help(int argc, char **argv);

/* --- option parsing (options.c) ----------------------------------------- */

/* One option of a command: "--name", "--name VALUE" or "--name=VALUE",
 * and "-c" / "-c VALUE" / "-cVALUE" when it has a short name. Short
 * options without a value may be grouped ("-qv"). Long names are taken in
 * full only (no abbreviations). */
typedef struct cli_opt {
  const char *name; /* long name without "--" */
  char short_name;  /* 0 when none; never 'h' (help) */
  int has_value;
  int id; /* > 0, returned by cli_parser_next */
} cli_opt;

enum {
  CLI_OPT_END = 0,
  CLI_OPT_POSITIONAL = -1,
  CLI_OPT_ERROR = -2,
  CLI_OPT_HELP = -3
};

/* The most options a command has (without --help). */
#define CLI_MAX_OPTS 48

/* A parse of one command line with getopt_long. getopt_long keeps its
 * state in globals (optind, optarg): one parser at a time, from init to
 * CLI_OPT_END or the caller's last call (not reentrant, not
 * thread-safe); each cli_parser_init starts afresh. */
typedef struct cli_parser {
  int argc;
  char **argv;
  int next;            /* the next positional once getopt_long is done */
  int only_positional; /* getopt_long is done: the end or "--" */
  int too_many;        /* the table exceeds CLI_MAX_OPTS (a bug) */
  const char *cmd;
  const cli_opt *opts;
  size_t n_opts;
  struct option longopts[CLI_MAX_OPTS + 2]; /* the table, --help, end */
  char shortopts[3 + 2 * CLI_MAX_OPTS + 1]; /* "-:h", "c" or "c:" each */
} cli_parser;

/* Starts parsing @p argv (argv[0] the command's name) for command @p cmd
 * with the options @p opts (ended by a NULL name). */
void cli_parser_init(cli_parser *p, const char *cmd, const cli_opt *opts,
                     int argc, char **argv);
/* The next argument, in command-line order: an option's id (with *value
 * set when it takes one), CLI_OPT_POSITIONAL (*value the argument; every
 * argument after "--" is one), CLI_OPT_HELP ("-h", "--help"),
 * CLI_OPT_END, or CLI_OPT_ERROR after printing a usage error (an unknown
 * option, a missing value, a value given to an option without one). */
int cli_parser_next(cli_parser *p, const char **value);
/* Parses an integer option value in [min, max]; prints a usage error and
 * returns -1 when it is not one. */
int cli_parse_u64(const char *cmd, const char *opt, const char *text,
                  uint64_t min, uint64_t max, uint64_t *out);

/* A list of task names, parsed from "a,b,c", and the opened tasks. */
typedef struct cli_tasks {
  char names[CLI_MAX_TASKS][64];
  evo_task *tasks[CLI_MAX_TASKS];
  size_t n;
} cli_tasks;

/* Parses a comma-separated list; prints a usage error and returns -1 on
 * an empty, too long or repeated name. */
int cli_tasks_parse(cli_tasks *t, const char *cmd, const char *list);
/* "a,b,c" into @p buf. */
void cli_tasks_join(const cli_tasks *t, char *buf, size_t size);
/* Opens every task (data folder @p data, or NULL to search); returns an
 * exit code. */
int cli_tasks_open(cli_tasks *t, const char *data);
void cli_tasks_close(cli_tasks *t);

/* Online CPUs, at least 1. */
unsigned cli_cpu_count(void);

/* --- genome arguments (genome_arg.c) ------------------------------------ */

/* The paper's baselines, compared in every final table (doc/algorithm.md
 * §4). */
#define CLI_N_BASELINES 4
extern const char *const cli_baselines[CLI_N_BASELINES];

/* Resolves a GENOME argument: a preset name, a JSON file, a run folder
 * (its best.json) or JSON text. @p name receives a short display name.
 * Returns an exit code (the error printed). */
int cli_genome_resolve(const char *arg, evo_genome **out, char *name,
                       size_t name_size);

/* --- the evaluation grid: genomes × tasks × seeds (grid.c) ------------- */

typedef struct cli_grid cli_grid;
/* Called (serialised) after each finished run with done/total runs. */
typedef void (*cli_grid_progress_fn)(void *user, size_t done, size_t total);

typedef struct cli_grid_spec {
  const evo_genome *const *genomes;
  size_t n_genomes;
  const cli_tasks *tasks;
  uint64_t steps;
  uint32_t seeds; /* seeds 0 .. seeds-1, as doc/algorithm.md §3 */
  unsigned workers;
  cli_grid_progress_fn progress;
  void *progress_user;
} cli_grid_spec;

/* Runs every (genome, task, seed) training run on @p spec->workers
 * threads. Stops handing out runs once cli_interrupted() is set. Returns
 * an exit code (CLI_EXIT_INTERRUPTED after a stop), the error printed. */
int cli_grid_run(cli_grid **out, const cli_grid_spec *spec);
void cli_grid_free(cli_grid *g);
/* Mean fitness of a genome on a task over the seeds, computed in the
 * evaluator's order (doc/algorithm.md §3). */
double cli_grid_task_fitness(const cli_grid *g, size_t genome, size_t task);
/* Mean over the tasks of the task means (doc/algorithm.md §3, multi-task). */
double cli_grid_overall(const cli_grid *g, size_t genome);
/* Mean test accuracy over the seeds, and the number of diverged runs. */
double cli_grid_task_accuracy(const cli_grid *g, size_t genome, size_t task,
                              unsigned *diverged);
/* The fitness of one run (-1 when it diverged). */
double cli_grid_run_fitness(const cli_grid *g, size_t genome, size_t task,
                            size_t seed);
/* The held-out points per run: floor(steps / K) when the tasks score a
 * curve every K steps (EVO_TASK_EVAL_EVERY), else 0. Point p is after
 * step (p + 1)·K. */
size_t cli_grid_curve_points(const cli_grid *g);
/* A run's test accuracy at point @p point; NaN once the run diverged. */
double cli_grid_curve_accuracy(const cli_grid *g, size_t genome, size_t task,
                               size_t seed, size_t point);

/* --- comparison tables (table.c) ---------------------------------------- */

typedef struct cli_table {
  size_t n_rows;
  size_t n_tasks;
  char task_names[CLI_MAX_TASKS][64];
  char row_names[CLI_MAX_GENOMES][64];
  double cells[CLI_MAX_GENOMES][CLI_MAX_TASKS + 1]; /* tasks, then overall */
} cli_table;

/* Fills a table from a finished grid, rows sorted by overall fitness,
 * ascending (doc/algorithm.md §6's layout). */
void cli_table_from_grid(cli_table *t, const cli_grid *g,
                         const cli_tasks *tasks, char names[][64],
                         size_t n_genomes);
/* The table as aligned markdown text (doc/algorithm.md §6). */
void cli_table_print(const cli_table *t, FILE *f);
/* The table as a JSON array, one object per row (NULL: out of memory). */
json_t *cli_table_json(const cli_table *t);
/* Writes text to @p path atomically; returns an exit code. @p replace: 1
 * only for a run folder's own files (final.csv, final.md), written again
 * on resume; 0 refuses an existing file (a user's files are never
 * replaced: cli_buf_save_new). */
int cli_table_save_csv(const cli_table *t, const char *path, int replace);
int cli_table_save_md(const cli_table *t, const char *path, const char *title,
                      int replace);

/* --- files (files.c) ---------------------------------------------------- */

/* Reads a whole (small) text file; malloc'ed, NUL-terminated, or NULL with
 * errno set. */
char *cli_read_text(const char *path, size_t max_size);
/* "dir/name" into @p buf; returns -1 when it does not fit. */
int cli_path_join(char *buf, size_t size, const char *dir, const char *name);
int cli_is_dir(const char *path);
/* How many names folder @p dir holds (without "." and ".."), and the first
 * CLI_DIR_SHOWN of them in byte order, quoted, as "'a', 'b', 'c' and 4
 * more" into @p text. Returns -1 with errno set when it cannot be read. */
#define CLI_DIR_SHOWN 3
long cli_dir_summary(const char *dir, char *text, size_t size);
int cli_is_file(const char *path);

/* Text built in memory, then saved atomically: a thin wrapper over an
 * open_memstream stream that checks every write (glibc's memstream does
 * not flag a failed allocation on the stream). Start from a zeroed
 * struct ({0}); it must stay where it is until it is closed. */
typedef struct cli_buf {
  FILE *f;           /* opened on the first write */
  char *data;        /* the text, NUL-terminated, once closed */
  size_t len;        /* its length without the NUL */
  int failed;        /* the text is unusable ... */
  const char *fault; /* ... because of this (NULL: out of memory) */
} cli_buf;

void cli_buf_printf(cli_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends @p s as one CSV field (quoted when needed). */
void cli_buf_csv_field(cli_buf *b, const char *s);
/* Appends @p json as json_dumpf with @p flags writes it; a value jansson
 * cannot encode marks the text unusable with that fault, NULL (a value
 * that could not be built) as out of memory. */
void cli_buf_json(cli_buf *b, const json_t *json, size_t flags);
/* Marks the text unusable because of @p fault (a string literal saying
 * what went wrong; NULL: out of memory). The first fault is kept. */
void cli_buf_fail(cli_buf *b, const char *fault);
/* Ends the writes: returns 0 with the text in data and len, or -1 when it
 * is unusable. */
int cli_buf_close(cli_buf *b);
/* Writes the text atomically to @p path and frees it; returns an exit
 * code (the error printed: out of memory, the fault, or why the file
 * cannot be written). */
int cli_buf_save(cli_buf *b, const char *path);
/* Frees the stream and the text (also of a failed or unused buffer). */
void cli_buf_free(cli_buf *b);
/* As cli_buf_save, but never over an existing file, even one made
 * meanwhile: the text is saved atomically beside @p path, then linked to
 * it (link() refuses an existing name). Returns an exit code. */
int cli_buf_save_new(cli_buf *b, const char *path);
/* Refuses a file the command would write (--csv and the like) when
 * something already has that name: this program never replaces a user's
 * file. Returns an exit code (the error printed). */
int cli_refuse_existing(const char *option, const char *path);

/* --- CSV reading (csv.c) ------------------------------------------------ */

typedef struct cli_csv {
  size_t n_cols;
  size_t n_rows;
  char **header; /* n_cols strings */
  char **cells;  /* n_rows × n_cols strings */
} cli_csv;

/* Parses a CSV file (RFC 4180 quoting); returns an exit code. */
int cli_csv_load(cli_csv *csv, const char *path);
void cli_csv_free(cli_csv *csv);
/* The index of column @p name, or -1. */
long cli_csv_column(const cli_csv *csv, const char *name);
const char *cli_csv_cell(const cli_csv *csv, size_t row, size_t col);

/* --- SVG plots (plot.c) ------------------------------------------------- */

/* Writes the fitness-per-generation plot of a history.csv. Returns an exit
 * code. @p replace as for cli_table_save_csv: 1 only for a run folder's own
 * plot.svg. */
int cli_plot_history(const char *csv_path, const char *svg_path, int replace);
/* Writes a bar chart of a comparison CSV (final.csv); never replaces a
 * file. */
int cli_plot_comparison(const char *csv_path, const char *svg_path);

/* A line of points (x[i], y[i]); NaN y values are left out. */
typedef struct cli_line {
  const char *label;
  size_t n;
  const double *x, *y;
} cli_line;
/* The SVG of @p n_lines lines, into @p b (then saved by the caller). */
void cli_plot_lines(cli_buf *b, const char *title, const char *xlabel,
                    const char *ylabel, const cli_line *lines, size_t n_lines);

/* A bar of height value with a whisker from lo to hi (NaN: none). An
 * off-scale bar (e.g. a variant whose runs diverged, at -1 each) does not
 * set the axis: it is cut at the axis's end, hatched, with its value
 * written, so that it does not flatten the others. */
typedef struct cli_bar {
  const char *label;
  double value, lo, hi;
  int off_scale;
} cli_bar;
/* The SVG of @p n bars around a zero line, into @p b. */
void cli_plot_bars(cli_buf *b, const char *title, const char *ylabel,
                   const cli_bar *bars, size_t n);
/* The bar chart of an ablation (evoopt ablate): each variant's mean change
 * against @p genome, whiskers min..max over @p seeds seeds. */
void cli_plot_ablation(cli_buf *b, const char *genome, size_t seeds,
                       const cli_bar *bars, size_t n);

/* --- progress, signals, JSON events (progress.c) ------------------------ */

/* Installs the SIGINT/SIGTERM handlers: the first sets the stop flag, the
 * second ends the program at once. */
void cli_signals_install(void);
int cli_interrupted(void);

typedef enum cli_progress_mode {
  CLI_PROGRESS_NONE = 0, /* --quiet */
  CLI_PROGRESS_LOG = 1,  /* plain lines: stderr is not a terminal */
  CLI_PROGRESS_BAR = 2   /* a bar redrawn in place */
} cli_progress_mode;

typedef struct cli_progress {
  cli_progress_mode mode;
  int verbose;
  double start;
  size_t restored; /* units already done before start (a resume) */
  int bar_drawn;
} cli_progress;

void cli_progress_init(cli_progress *p, int quiet, int verbose);
/* Seconds since an arbitrary point (monotonic). */
double cli_now(void);
/* Redraws the bar: a label ("generation 3/10"), units done/total, the best
 * fitness so far (NaN: none) and the ETA from this session's rate. */
void cli_progress_bar(cli_progress *p, const char *label, size_t done,
                      size_t total, double best);
/* Prints a log line (clearing the bar first); stderr, unless quiet. */
void cli_progress_log(cli_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Removes the bar (end of a phase). */
void cli_progress_clear(cli_progress *p);
/* Starts a new phase of the bar: the clock and the units already done. */
void cli_progress_restart(cli_progress *p, size_t restored);
/* Writes @p obj as one compact line to stdout and frees it (NULL: no-op). */
void cli_json_emit(json_t *obj);
/* Formats seconds as "1:05" or "1:02:03". */
void cli_format_duration(double seconds, char *buf, size_t size);

/* --- eval, compare, ablate (grid.c) ----------------------------------- */

/* What eval, compare and ablate share: the options --tasks, --steps,
 * --seeds, --data, --workers and --quiet, and the grid run with its
 * progress bar. Option ids of a command's table (cli_opt) that
 * cli_run_option() takes. */
enum {
  CLI_RUN_TASKS = 1000,
  CLI_RUN_STEPS,
  CLI_RUN_SEEDS,
  CLI_RUN_DATA,
  CLI_RUN_WORKERS,
  CLI_RUN_QUIET
};
/* clang-format off */
#define CLI_RUN_OPTS                                                           \
  {"tasks", 0, 1, CLI_RUN_TASKS}, {"steps", 0, 1, CLI_RUN_STEPS},              \
      {"seeds", 0, 1, CLI_RUN_SEEDS}, {"data", 0, 1, CLI_RUN_DATA},            \
      {"workers", 'j', 1, CLI_RUN_WORKERS}, {"quiet", 'q', 0, CLI_RUN_QUIET}
/* clang-format on */

typedef struct cli_run {
  const char *cmd; /* the command's name, for messages */
  cli_tasks tasks;
  uint64_t steps, seeds, workers; /* workers 0: online CPUs */
  uint64_t curve_every;           /* held-out curve every K steps; 0: none */
  const char *data;               /* NULL: searched */
  int quiet;
  cli_progress progress;
} cli_run;

/* Takes option @p id with value @p v when it is one of CLI_RUN_OPTS:
 * returns an exit code (a usage error printed), or -1 for another id. */
int cli_run_option(cli_run *r, int id, const char *v);
/* Opens the tasks (each scoring the held-out set every r->curve_every
 * steps), then runs every (genome, task, seed) with a progress bar.
 * Returns an exit code, the error printed. */
int cli_run_grid(cli_run *r, const evo_genome *const *genomes, size_t n,
                 cli_grid **out);

/* The held-out curve of eval and compare (curve.c): --curve-every K with
 * --curve-csv and/or --curve-svg. Checks them once every option is read
 * (a usage error, or a runtime error for a file that exists); returns an
 * exit code. */
int cli_curve_check(const char *cmd, const cli_run *r, const char *csv,
                    const char *svg);
/* Writes the curve's CSV (one row per genome, task and point: the step,
 * each seed's accuracy, their mean) and SVG (the mean per genome and
 * task) when asked for. Returns an exit code. */
int cli_curve_save(const cli_grid *g, const cli_run *r, char names[][64],
                   size_t n_genomes, const char *csv, const char *svg);

/* --- evolve (evolve.c, evolve_settings.c, runfolder.c) ----------------- */

/* The settings of a run, as stored in its settings.json. */
/* The most cheap rungs (the evaluator's limit; the full one comes after). */
#define CLI_MAX_CHEAP_RUNGS 7

typedef struct evolve_cfg {
  char preset[16];
  cli_tasks tasks;
  uint64_t population, generations, elites, tournament, steps, seeds, seed,
      final_steps, final_seeds;
  char data[CLI_PATH_MAX]; /* "" when searched */
  int cache;               /* the evaluation cache (EVO_POP_CACHE = 1) */
  /* Search (doc/algorithm.md §9): the method, the cheap rungs of
   * multi-fidelity evaluation ("" none; "STEPSxSEEDS@TEST,..."), parsed
   * into rung_*, the promotion divisor and the compute budget. */
  char algorithm[16]; /* "ga", "random" or "steady" */
  char rungs[256];
  size_t n_cheap;
  uint64_t rung_steps[CLI_MAX_CHEAP_RUNGS], rung_seeds[CLI_MAX_CHEAP_RUNGS],
      rung_test[CLI_MAX_CHEAP_RUNGS];
  uint64_t promote;
  uint64_t window; /* steady-state evolution's in-flight window */
  double budget;      /* CPU core-seconds, 0: none */
  int budget_changed; /* --resume with another --budget: saved anew */
} evolve_cfg;

/* Parses a rung list "STEPSxSEEDS[@TEST],..." into @p cfg (n_cheap and
 * rung_*); "" means none. Returns 0, or -1 after writing a message
 * to @p why. */
int evolve_parse_rungs(const char *text, evolve_cfg *cfg, char *why,
                       size_t why_size);

/* --eval-timeout's default: seconds before an evaluation sent to an MPI
 * rank is sent to another one (a paper-preset evaluation takes minutes). */
#define CLI_EVAL_TIMEOUT 3600.0

/* Options of one invocation that are not stored with the run. */
typedef struct evolve_opts {
  char out[CLI_PATH_MAX];
  int resume;
  unsigned workers; /* 0: the default */
  int json, quiet, verbose;
  double eval_timeout; /* seconds, 0: none (MPI only) */
} evolve_opts;

/* Parses evolve's command line; for --resume reads the run's
 * settings.json and refuses conflicting options. Returns an exit code. */
int evolve_parse(int argc, char **argv, evolve_cfg *cfg, evolve_opts *opts);
/* Writes settings.json into the run folder (atomically). */
int evolve_save_settings(const evolve_cfg *cfg, const char *dir);
/* The checkpoint tag: the settings that decide fitness values. */
void evolve_tag(const evolve_cfg *cfg, char *buf, size_t size);

/* A generation's history: best, mean, median, worst, failed, cache_hits. */
#define RUNFOLDER_HIST_N 6
void runfolder_history(const evo_population *pop, size_t gen,
                       double v[RUNFOLDER_HIST_N]);
/* Rewrites history.csv, best.json, hall_of_fame.json and plot.svg from
 * the population. Returns an exit code. */
int runfolder_write(const char *dir, const evolve_cfg *cfg,
                    const evo_population *pop);
/* Counts, and removes when @p remove, the temporary files that this
 * program's atomic writes of the run folder's files leave when killed
 * ("history.csv.tmpXXXXXX" and the like; never any other name). Returns
 * an exit code. */
int runfolder_temporaries(const char *dir, int remove, size_t *count);

/* --- commands ----------------------------------------------------------- */

int cli_cmd_evolve(int argc, char **argv);
int cli_cmd_eval(int argc, char **argv);
int cli_cmd_compare(int argc, char **argv);
int cli_cmd_show(int argc, char **argv);
int cli_cmd_plot(int argc, char **argv);
int cli_cmd_ablate(int argc, char **argv);

#endif /* EVOOPT_CLI_INTERNAL_H */
