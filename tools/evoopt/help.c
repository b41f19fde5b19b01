/* Usage texts: `evoopt help [COMMAND]` and `evoopt COMMAND --help`. The
 * full manual is doc/evoopt.1. */
#include <string.h>

#include "cli_internal.h"
#include "evoopt/genome.h"

/* The overview: overview, then the library's presets (print_presets), then
 * overview_tail. */
static const char overview[] =
    "usage: evoopt [COMMAND [OPTIONS] [ARGS]]\n"
    "\n"
    "Evolves deep-learning optimizers (\"Evolving Deep Learning Optimizers\")\n"
    "and compares them with SGD, Adam, AdamW and RMSprop.\n"
    "\n"
    "Commands:\n"
    "  evolve    run the genetic algorithm into a run folder, then the final\n"
    "            comparison table\n"
    "  eval      fitness of genomes on tasks\n"
    "  compare   the final table: genomes against the four baselines\n"
    "  ablate    each term removed, each flag flipped, Adam's betas: the\n"
    "            fitness change of each variant of a genome\n"
    "  show      describe a genome\n"
    "  plot      SVG of a run's history, a comparison or an ablation table\n"
    "  data      list the data sets and where they are found; fetch them\n"
    "  help      this text, or a command's: evoopt help evolve\n"
    "\n"
    "With no arguments, evoopt runs 'evolve --preset quick' on the bundled\n"
    "digits task (a few minutes on 2 cores; no data sets needed).\n"
    "\n"
    "A GENOME is a JSON file, a run folder (its best.json), JSON text or a\n"
    "preset:";

static const char overview_tail[] =
    "\n"
    "Tasks: digits (bundled), mnist, fashion_mnist, cifar10 (the paper's\n"
    "CNNs) and shakespeare_char (a character-level GPT of 818,241\n"
    "parameters on tiny Shakespeare's input.txt, folder tinyshakespeare),\n"
    "looked for in --data DIR, else in $EVOOPT_DATA_PATH, then in\n"
    "$XDG_DATA_HOME/evoopt where 'evoopt data fetch' puts them, then in\n"
    "/usr/share/datasets. Any mix: --tasks shakespeare_char,digits.\n"
    "\n"
    "Exit status: 0 success, 1 runtime error, 2 usage error, 130 stopped by\n"
    "Ctrl-C (a run can then be resumed). evoopt --version prints the\n"
    "library's version. See evoopt(1) for the details.\n";

static const char evolve_help[] =
    "usage: evoopt evolve [--preset paper|quick|smoke|discover] [OPTIONS]\n"
    "       evoopt evolve --resume RUNDIR [--workers N] [--budget B] [--json]\n"
    "                     [--quiet]\n"
    "       mpirun -np N evoopt evolve [OPTIONS]\n"
    "\n"
    "Runs the search and writes a run folder: settings.json,\n"
    "checkpoint.evo, history.csv, compute.csv, best.json,\n"
    "hall_of_fame.json, plot.svg, final.csv and final.md.\n"
    "\n"
    "Presets (default quick):\n"
    "  paper   fashion_mnist,cifar10,mnist; population 50, generations 50,\n"
    "          elites 3, tournament 4, 500 steps x 2 seeds, seed 42; final\n"
    "          table 1000 steps x 3 seeds (needs the data sets; takes days\n"
    "          on a CPU)\n"
    "  quick   digits; population 20, generations 15, elites 2, tournament\n"
    "          3, 400 steps x 2 seeds; final table 800 steps x 3 seeds\n"
    "  smoke   digits; population 6, generations 3, 20 steps x 1 seed;\n"
    "          final 30 steps x 1 seed (seconds; for tests)\n"
    "  discover  the paper's tasks and full evaluation with multi-fidelity\n"
    "          rungs 200x1@2000,500x1@5000, promote 3, population 30,\n"
    "          generations 16, budget 17 core-hours (a tenth of paper)\n"
    "\n"
    "Options (each overrides the preset):\n"
    "  --tasks A,B          tasks to evolve on\n"
    "  --population N       individuals per generation\n"
    "  --generations N      generations\n"
    "  --elites N           best individuals copied unchanged\n"
    "  --tournament N       tournament size\n"
    "  --steps N            training steps per evaluation\n"
    "  --seeds N            seeds per task (0..N-1 for every genome)\n"
    "  --seed N             seed of the genetic operators\n"
    "  --final-steps N      steps of the final table\n"
    "  --final-seeds N      seeds of the final table (0: no final table)\n"
    "  --algorithm A        ga (the paper's genetic algorithm), random\n"
    "                       (random search) or steady (steady-state aging\n"
    "                       evolution: no generation barrier); default ga\n"
    "  --rungs LIST         multi-fidelity evaluation: cheap rungs\n"
    "                       STEPSxSEEDS[@TEST],... before the full one\n"
    "                       (--steps x --seeds); TEST: first test images\n"
    "                       scored (0 or none: all); default none\n"
    "  --promote N          of the genomes a generation scored at a rung,\n"
    "                       the best ceil(n/N) go on to the next (3)\n"
    "  --window W           steady: child k is bred once results 0..k-W\n"
    "                       are in; the run depends on W, not on the\n"
    "                       workers; at most W evaluations out; about\n"
    "                       twice the workers keeps them busy (4)\n"
    "  --budget B           stop once the evaluations cost B CPU\n"
    "                       core-hours (or Bs, Bm, Bh); with --resume,\n"
    "                       raise it to go on; 0: none\n"
    "  --data DIR           folder holding the data sets\n"
    "  -o, --out DIR        run folder (default evoopt-run-PRESET-DATE-TIME)\n"
    "  --resume DIR         continue the run in DIR with its stored settings\n"
    "  -j, --workers N      evaluation threads (default: online CPUs);\n"
    "                       under mpirun: evaluations per worker rank\n"
    "                       (default 1)\n"
    "  --no-cache           evaluate every genome, even one already scored\n"
    "                       (the exact cache never changes results)\n"
    "  --eval-timeout S     under mpirun: seconds before an evaluation is\n"
    "                       sent to another rank (default 3600; 0: never)\n"
    "  --json               JSON lines on stdout (evaluation, generation,\n"
    "                       summary, final events)\n"
    "  -v, --verbose        a log line per evaluation\n"
    "  -q, --quiet          no progress output\n"
    "\n"
    "Under mpirun, rank 0 runs the algorithm, writes the run folder and\n"
    "prints; the other ranks evaluate. See evoopt(1), MPI.\n";

static const char eval_help[] =
    "usage: evoopt eval GENOME... [--tasks A,B] [--steps N] [--seeds N]\n"
    "                   [--data DIR] [--workers N] [--json] [--quiet]\n"
    "                   [--curve-every K (--curve-csv FILE|--curve-svg FILE)]\n"
    "\n"
    "Trains each genome on each task with seeds 0..N-1 and prints its\n"
    "fitness and test accuracy per task, and the overall fitness (the mean\n"
    "over the tasks of the means over the seeds). One run's fitness is its\n"
    "test accuracy + 0.05 * max(0, 1 - L), L the mean of its last 50\n"
    "training losses (shakespeare_char: held-out next-character accuracy\n"
    "+ 0.05 * max(0, 1 - L / ln 65)); a run that diverges scores -1 (see\n"
    "evoopt(1)).\n"
    "Defaults: --tasks digits --steps 500 --seeds 2.\n"
    "\n"
    "Learning curves: --curve-every K scores the test set after steps K,\n"
    "2K, ... of every run (the training itself is unchanged);\n"
    "--curve-csv FILE writes genome, task, step, each seed's accuracy and\n"
    "their mean; --curve-svg FILE draws the means. Existing files are\n"
    "never replaced.\n";

static const char compare_help[] =
    "usage: evoopt compare [GENOME...] [--tasks A,B] [--steps N] [--seeds N]\n"
    "                      [--data DIR] [--workers N] [--no-baselines]\n"
    "                      [--csv FILE] [--md FILE] [-o DIR] [--json]\n"
    "\n"
    "The final comparison table: fitness per task and overall (the mean\n"
    "over the tasks), rows by overall fitness. The genomes are compared\n"
    "with sgd, adam, adamw and rmsprop unless --no-baselines. Defaults:\n"
    "--tasks digits --steps 1000 --seeds 3. --csv and --md save the table;\n"
    "-o DIR writes compare.csv, compare.md and compare.svg into the folder\n"
    "DIR. --curve-every K, --curve-csv FILE, --curve-svg FILE: learning\n"
    "curves, as for eval (evoopt help eval).\n";

static const char ablate_help[] =
    "usage: evoopt ablate GENOME [--tasks A,B] [--steps N] [--seeds N]\n"
    "                     [--data DIR] [--workers N] [--csv FILE]\n"
    "                     [--svg FILE] [--list] [--quiet]\n"
    "\n"
    "Which parts of a genome matter: its variants, each one change away\n"
    "from it, are trained with the genome as eval trains (seeds 0..N-1 on\n"
    "every task), and each variant's fitness change against the genome is\n"
    "shown. The variants: '-KIND' removes every term of a kind the update\n"
    "uses (while another kind is left); 'FLAG on' or 'FLAG off' flips each\n"
    "of use_m, use_v, bias_correction, gradient_clipping, warmup and\n"
    "cosine_decay; 'adam betas' sets beta1 0.9 and beta2 0.999 (unless the\n"
    "genome has them). The change is taken per seed (the same seed on both\n"
    "sides) and reported as its mean and its min..max over the seeds.\n"
    "Defaults: --tasks digits --steps 500 --seeds 2.\n"
    "  --csv FILE   per variant: fitness, change mean/min/max, fitness per\n"
    "               seed, per task fitness and change, diverged runs\n"
    "  --svg FILE   bar chart of the changes, whiskers min..max\n"
    "  --list       print the variants (JSON lines) without training\n"
    "Existing files are never replaced.\n";

static const char show_help[] =
    "usage: evoopt show GENOME [--json]\n"
    "\n"
    "Prints the genome's one-line description, its genes and its JSON\n"
    "(--json: only the JSON).\n";

static const char plot_help[] =
    "usage: evoopt plot RUNDIR|FILE.csv [-o OUT.svg]\n"
    "\n"
    "Draws a run's history.csv (best and mean fitness per generation and\n"
    "the best genome's fitness per task), a comparison table (final.csv,\n"
    "compare.csv) as bars, or an ablation table (evoopt ablate --csv) as\n"
    "the variants' changes. Default output: RUNDIR/plot.svg, or the CSV's\n"
    "name with .svg. Prints the SVG's path.\n";

static const char data_help[] =
    "usage: evoopt data list [--json] [--no-verify] [--manifest FILE]\n"
    "       evoopt data fetch NAME...|all [--dir DIR] [--mirror URL]\n"
    "                         [--manifest FILE] [--timeout S] [--quiet]\n"
    "\n"
    "list: for each data set (mnist, fashion_mnist, cifar10,\n"
    "shakespeare_char), the folders the library looks in, in its order\n"
    "($EVOOPT_DATA_PATH's folders, then $XDG_DATA_HOME/evoopt, else\n"
    "~/.local/share/evoopt, then /usr/share/datasets), the one it reads,\n"
    "each file's size and whether its contents match the SHA-256 built\n"
    "into evoopt (--no-verify: skip the hashing). Exit 1 when a file found\n"
    "does not match.\n"
    "\n"
    "fetch: downloads the published files (MNIST from the ossci-datasets\n"
    "mirror or yann.lecun.com, Fashion-MNIST from Zalando's, CIFAR-10's\n"
    "binary archive from cs.toronto.edu, unpacked, tiny Shakespeare from\n"
    "karpathy/char-rnn), checks them against the built-in checksums, then\n"
    "moves them into DIR/FOLDER (default DIR: $XDG_DATA_HOME/evoopt, else\n"
    "~/.local/share/evoopt, which the library searches). A failed, corrupt\n"
    "or interrupted download leaves nothing behind; an existing file is\n"
    "never replaced (a verified one counts as already present).\n"
    "  --dir DIR        root to put the data set folders in\n"
    "  --mirror URL     fetch URL/FOLDER/FILE instead (http://, https://\n"
    "                   or file://; laid out like the data sets' folders,\n"
    "                   cifar10/cifar-10-binary.tar.gz for CIFAR-10)\n"
    "  --manifest FILE  data sets, files and checksums from a JSON manifest\n"
    "                   instead of the built-in ones (evoopt(1), DATA)\n"
    "  --timeout S      give up on a server silent for S seconds (30)\n"
    "  -q, --quiet      no progress output\n";

static const char help_help[] = "usage: evoopt help [COMMAND]\n";

static const struct {
  const char *cmd;
  const char *text;
} texts[] = {
    {"evolve", evolve_help}, {"eval", eval_help},     {"compare", compare_help},
    {"show", show_help},     {"plot", plot_help},     {"help", help_help},
    {"data", data_help},     {"ablate", ablate_help},
};

/* The preset names evo_genome_preset() accepts, as the library lists them
 * (so the text cannot fall behind it), comma-separated, lines wrapped at
 * 72 columns; @p column is where the first name's line already is. */
static void print_presets(FILE *f, size_t column) {
  size_t count = evo_genome_preset_count();
  for (size_t i = 0; i < count; i++) {
    const char *name = evo_genome_preset_name(i);
    if (name == NULL)
      continue;
    size_t len = strlen(name) + 2; /* the space before, the , or . after */
    if (column + len > 72) {
      fputc('\n', f);
      column = 0;
    } else {
      fputc(' ', f);
      column++;
    }
    fprintf(f, "%s%c", name, i + 1 < count ? ',' : '.');
    column += len - 1;
  }
  fputc('\n', f);
}

int cli_help_print(FILE *f, const char *cmd) {
  if (cmd == NULL) {
    fputs(overview, f);
    print_presets(f, strlen("preset:"));
    fputs(overview_tail, f);
    return 0;
  }
  for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
    if (strcmp(texts[i].cmd, cmd) == 0) {
      fputs(texts[i].text, f);
      return 0;
    }
  return -1;
}

int cli_cmd_help(int argc, char **argv) {
  if (argc > 2)
    return cli_usage_error("help", "one COMMAND at a time");
  if (argc < 2) {
    cli_help_print(stdout, NULL);
    return CLI_EXIT_OK;
  }
  if (cli_help_print(stdout, argv[1]) != 0)
    return cli_usage_error(NULL, "unknown command '%s'", argv[1]);
  return CLI_EXIT_OK;
}
