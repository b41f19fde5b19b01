/* `evoopt ablate GENOME` (issue 12, item 3): which parts of a genome
 * matter. Variants of the genome, each one change away from it: every
 * active term kind removed, every flag flipped, β1/β2 set to Adam's; the
 * genome and its variants are trained on the same tasks and seeds as
 * `evoopt eval` does (the same grid), and each variant's fitness change
 * against the genome is reported per seed (the same seed on both sides),
 * as its mean and min..max over the seeds: a table, a CSV and a bar
 * chart. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

/* Term kinds (one per kind), six flags, the betas. */
#define MAX_VARIANTS (EVO_MAX_TERMS + 6 + 1)
#define ADAM_BETA1 0.9
#define ADAM_BETA2 0.999

typedef struct ablate_cmd {
  cli_run run;
  const char *csv, *svg;
  int list;
  evo_genome *base;
  char base_name[64];
  size_t n; /* genomes: the base, then the variants */
  evo_genome *genomes[1 + MAX_VARIANTS];
  char names[1 + MAX_VARIANTS][64];
} ablate_cmd;

enum { OPT_CSV = 1, OPT_SVG, OPT_LIST };

static const cli_opt ablate_opts[] = {
    CLI_RUN_OPTS,           {"csv", 0, 1, OPT_CSV},
    {"svg", 0, 1, OPT_SVG}, {"list", 0, 0, OPT_LIST},
    {NULL, 0, 0, 0},
};

/* The flags in evo_flag order, as the variants name them. */
static const struct {
  evo_flag flag;
  const char *name;
} flags[] = {
    {EVO_FLAG_USE_M, "use_m"},
    {EVO_FLAG_USE_V, "use_v"},
    {EVO_FLAG_BIAS_CORRECTION, "bias_correction"},
    {EVO_FLAG_GRADIENT_CLIPPING, "gradient_clipping"},
    {EVO_FLAG_WARMUP, "warmup"},
    {EVO_FLAG_COSINE_DECAY, "cosine_decay"},
};

/* --- the variants ------------------------------------------------------- */

/* Appends a copy of the base named @p name; NULL after an error. */
static evo_genome *new_variant(ablate_cmd *c, const char *name) {
  evo_genome *v = NULL;
  int st = evo_genome_clone(&v, c->base);
  if (st != EVO_OK) {
    cli_lib_error(st, "copying the genome");
    return NULL;
  }
  c->genomes[c->n] = v;
  snprintf(c->names[c->n], sizeof c->names[c->n], "%s", name);
  c->n++;
  return v;
}

/* The sum of the α of every term of kind @p kind (doc/algorithm.md §2:
 * the update adds them up), and how many terms are of another kind. */
static double kind_alpha(const evo_genome *g, evo_term kind, size_t *others) {
  double sum = 0.0;
  *others = 0;
  for (size_t i = 0; i < evo_genome_term_count(g); i++) {
    evo_term t;
    double a;
    evo_genome_get_term(g, i, &t, &a);
    if (t == kind)
      sum += a;
    else
      (*others)++;
  }
  return sum;
}

/* "-sign": every term of a kind the update uses (its α summing to
 * non-zero) removed, when a term of another kind is left. */
static int term_variants(ablate_cmd *c) {
  int seen[EVO_TERM_COUNT] = {0};
  for (size_t i = 0; i < evo_genome_term_count(c->base); i++) {
    evo_term kind;
    double alpha;
    evo_genome_get_term(c->base, i, &kind, &alpha);
    size_t others = 0;
    if (seen[kind]++ || kind_alpha(c->base, kind, &others) == 0.0 ||
        others == 0)
      continue;
    char name[64];
    snprintf(name, sizeof name, "-%s", evo_term_name(kind));
    evo_genome *v = new_variant(c, name);
    if (v == NULL)
      return CLI_EXIT_RUNTIME;
    for (size_t j = evo_genome_term_count(v); j-- > 0;) {
      evo_term t;
      evo_genome_get_term(v, j, &t, &alpha);
      int st = t == kind ? evo_genome_remove_term(v, j) : EVO_OK;
      if (st != EVO_OK)
        return cli_lib_error(st, "variant '%s'", name);
    }
  }
  return CLI_EXIT_OK;
}

/* "bias_correction on": each flag flipped. */
static int flag_variants(ablate_cmd *c) {
  for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
    int on = 0;
    evo_genome_get_flag(c->base, flags[f].flag, &on);
    char name[64];
    snprintf(name, sizeof name, "%s %s", flags[f].name, on ? "off" : "on");
    evo_genome *v = new_variant(c, name);
    if (v == NULL)
      return CLI_EXIT_RUNTIME;
    int st = evo_genome_set_flag(v, flags[f].flag, !on);
    if (st != EVO_OK)
      return cli_lib_error(st, "variant '%s'", name);
  }
  return CLI_EXIT_OK;
}

/* "adam betas": β1 = 0.9, β2 = 0.999, unless the genome has them. */
static int beta_variant(ablate_cmd *c) {
  double b1 = 0.0, b2 = 0.0;
  evo_genome_get(c->base, EVO_GENE_BETA1, &b1);
  evo_genome_get(c->base, EVO_GENE_BETA2, &b2);
  if (b1 == ADAM_BETA1 && b2 == ADAM_BETA2)
    return CLI_EXIT_OK;
  evo_genome *v = new_variant(c, "adam betas");
  if (v == NULL)
    return CLI_EXIT_RUNTIME;
  int st = evo_genome_set(v, EVO_GENE_BETA1, ADAM_BETA1);
  if (st == EVO_OK)
    st = evo_genome_set(v, EVO_GENE_BETA2, ADAM_BETA2);
  return st == EVO_OK ? CLI_EXIT_OK : cli_lib_error(st, "variant 'adam betas'");
}

static int make_variants(ablate_cmd *c) {
  c->genomes[0] = c->base;
  snprintf(c->names[0], sizeof c->names[0], "%s", c->base_name);
  c->n = 1;
  int rc = term_variants(c);
  if (rc == CLI_EXIT_OK)
    rc = flag_variants(c);
  if (rc == CLI_EXIT_OK)
    rc = beta_variant(c);
  return rc;
}

/* --list: one JSON line per variant, {"variant": name, "genome": {...}}. */
static int list_variants(const ablate_cmd *c) {
  for (size_t i = 1; i < c->n; i++) {
    char *text = NULL;
    int st = evo_genome_to_json(c->genomes[i], &text);
    json_t *g = st == EVO_OK ? json_loads(text, 0, NULL) : NULL;
    evo_free(text);
    if (g == NULL)
      return st != EVO_OK ? cli_lib_error(st, "variant '%s'", c->names[i])
                          : cli_error("out of memory");
    cli_json_emit(json_pack("{s:s, s:o}", "variant", c->names[i], "genome", g));
  }
  return CLI_EXIT_OK;
}

/* --- the results -------------------------------------------------------- */

/* Genome @p i's fitness with seed @p s: the mean over the tasks
 * (doc/algorithm.md §3, multi-task). */
static double seed_fitness(const cli_grid *g, const ablate_cmd *c, size_t i,
                           size_t s) {
  double sum = 0.0;
  for (size_t t = 0; t < c->run.tasks.n; t++)
    sum += cli_grid_run_fitness(g, i, t, s);
  return sum / (double)c->run.tasks.n;
}

typedef struct change {
  double mean, min, max; /* over the seeds of (variant - genome) */
} change;

static change seed_change(const cli_grid *g, const ablate_cmd *c, size_t i) {
  change d = {0.0, INFINITY, -INFINITY};
  for (size_t s = 0; s < c->run.seeds; s++) {
    double x = seed_fitness(g, c, i, s) - seed_fitness(g, c, 0, s);
    d.mean += x;
    d.min = fmin(d.min, x);
    d.max = fmax(d.max, x);
  }
  d.mean /= (double)c->run.seeds;
  return d;
}

static unsigned diverged_runs(const cli_grid *g, const ablate_cmd *c,
                              size_t i) {
  unsigned total = 0;
  for (size_t t = 0; t < c->run.tasks.n; t++) {
    unsigned d = 0;
    cli_grid_task_accuracy(g, i, t, &d);
    total += d;
  }
  return total;
}

static int name_width(const ablate_cmd *c) {
  size_t w = strlen("variant");
  for (size_t i = 0; i < c->n; i++) {
    size_t len = strlen(c->names[i]) + (i == 0 ? 9 : 0); /* " (genome)" */
    if (len > w)
      w = len;
  }
  return (int)w;
}

/* A task column's width: its name, at least a "-0.1234". */
static int task_width(const ablate_cmd *c, size_t t) {
  size_t w = strlen(c->run.tasks.names[t]);
  return w > 7 ? (int)w : 7;
}

/* A markdown rule under a column of @p width, right-aligned or not. */
static void print_rule(int width, int right) {
  for (int k = 0; k <= width; k++)
    putchar('-');
  printf("%c|", right ? ':' : '-');
}

static void print_header(const ablate_cmd *c, int w) {
  printf("| %-*s | %7s | %7s | %-16s |", w, "variant", "fitness", "change",
         "min..max");
  for (size_t t = 0; t < c->run.tasks.n; t++)
    printf(" %*s |", task_width(c, t), c->run.tasks.names[t]);
  printf(" diverged |\n|");
  print_rule(w, 0);
  print_rule(7, 1);
  print_rule(7, 1);
  print_rule(16, 0);
  for (size_t t = 0; t < c->run.tasks.n; t++)
    print_rule(task_width(c, t), 1);
  print_rule(8, 1);
  printf("\n");
}

static void print_table(const cli_grid *g, const ablate_cmd *c) {
  char tasks[1024];
  cli_tasks_join(&c->run.tasks, tasks, sizeof tasks);
  /* "seed 0 ... the 1 seed" for one seed, "seeds 0..n-1 ... the n seeds". */
  char seeds[64];
  const char *s = c->run.seeds == 1 ? "" : "s";
  if (c->run.seeds == 1)
    snprintf(seeds, sizeof seeds, "seed 0");
  else
    snprintf(seeds, sizeof seeds, "seeds 0..%llu",
             (unsigned long long)c->run.seeds - 1);
  printf("Ablation of %s on %s, %llu steps, %s. change = "
         "variant - genome with the same seed: mean and min..max over the "
         "%llu seed%s; per task: the change of its mean over the seed%s (the "
         "genome's row: its fitness).\n\n",
         c->base_name, tasks, (unsigned long long)c->run.steps, seeds,
         (unsigned long long)c->run.seeds, s, s);
  int w = name_width(c);
  print_header(c, w);
  for (size_t i = 0; i < c->n; i++) {
    char name[80], range[48] = "";
    snprintf(name, sizeof name, "%s%s", c->names[i], i == 0 ? " (genome)" : "");
    change d = seed_change(g, c, i);
    if (i > 0)
      snprintf(range, sizeof range, "%+.4f..%+.4f", d.min, d.max);
    printf("| %-*s | %7.4f |", w, name, cli_grid_overall(g, i));
    if (i == 0)
      printf(" %7s |", "");
    else
      printf(" %+7.4f |", d.mean);
    printf(" %-16s |", range);
    for (size_t t = 0; t < c->run.tasks.n; t++) {
      double f = cli_grid_task_fitness(g, i, t);
      if (i == 0)
        printf(" %*.4f |", task_width(c, t), f);
      else
        printf(" %+*.4f |", task_width(c, t),
               f - cli_grid_task_fitness(g, 0, t));
    }
    printf(" %8u |\n", diverged_runs(g, c, i));
  }
}

/* One row per genome (the genome first): its fitness, the change's mean,
 * min and max, its fitness per seed, and per task its mean fitness and
 * the change of that mean. */
static int save_csv(const cli_grid *g, const ablate_cmd *c) {
  cli_buf b = {0};
  cli_buf_printf(&b, "variant,fitness,change_mean,change_min,change_max");
  for (size_t s = 0; s < c->run.seeds; s++)
    cli_buf_printf(&b, ",seed_%zu", s);
  for (size_t t = 0; t < c->run.tasks.n; t++) {
    cli_buf_printf(&b, ",");
    cli_buf_csv_field(&b, c->run.tasks.names[t]);
    cli_buf_printf(&b, ",%s_change", c->run.tasks.names[t]);
  }
  cli_buf_printf(&b, ",diverged_runs\n");
  for (size_t i = 0; i < c->n; i++) {
    change d = seed_change(g, c, i);
    cli_buf_csv_field(&b, c->names[i]);
    cli_buf_printf(&b, ",%.6f,%.6f,%.6f,%.6f", cli_grid_overall(g, i), d.mean,
                   d.min, d.max);
    for (size_t s = 0; s < c->run.seeds; s++)
      cli_buf_printf(&b, ",%.6f", seed_fitness(g, c, i, s));
    for (size_t t = 0; t < c->run.tasks.n; t++) {
      double f = cli_grid_task_fitness(g, i, t);
      cli_buf_printf(&b, ",%.6f,%.6f", f, f - cli_grid_task_fitness(g, 0, t));
    }
    cli_buf_printf(&b, ",%u\n", diverged_runs(g, c, i));
  }
  return cli_buf_save_new(&b, c->csv);
}

static int save_svg(const cli_grid *g, const ablate_cmd *c) {
  cli_bar bars[MAX_VARIANTS];
  for (size_t i = 1; i < c->n; i++) {
    change d = seed_change(g, c, i);
    bars[i - 1] = (cli_bar){c->names[i], d.mean, d.min, d.max,
                            diverged_runs(g, c, i) > 0};
  }
  cli_buf b = {0};
  cli_plot_ablation(&b, c->base_name, (size_t)c->run.seeds, bars, c->n - 1);
  return cli_buf_save_new(&b, c->svg);
}

/* --- the command -------------------------------------------------------- */

static int parse(ablate_cmd *c, int argc, char **argv) {
  cli_parser p;
  const char *v, *genome = NULL;
  int rc = CLI_EXIT_OK;
  cli_parser_init(&p, "ablate", ablate_opts, argc, argv);
  for (int id;
       rc == CLI_EXIT_OK && (id = cli_parser_next(&p, &v)) != CLI_OPT_END;) {
    if (id == CLI_OPT_ERROR)
      return CLI_EXIT_USAGE;
    if (id == CLI_OPT_HELP) {
      cli_help_print(stdout, "ablate");
      return CLI_DONE;
    }
    if (id == CLI_OPT_POSITIONAL && genome != NULL)
      return cli_usage_error("ablate", "one GENOME at a time");
    if (id == CLI_OPT_POSITIONAL)
      genome = v;
    else if (id == OPT_CSV)
      c->csv = v;
    else if (id == OPT_SVG)
      c->svg = v;
    else if (id == OPT_LIST)
      c->list = 1;
    else
      rc = cli_run_option(&c->run, id, v);
  }
  if (rc != CLI_EXIT_OK)
    return rc;
  if (genome == NULL)
    return cli_usage_error("ablate", "no GENOME given");
  /* --list trains nothing: a file asked for would silently not be made. */
  if (c->list && (c->csv != NULL || c->svg != NULL))
    return cli_usage_error("ablate",
                           "--list trains nothing and writes no %s: use "
                           "--list or %s FILE, not both",
                           c->csv != NULL ? "--csv" : "--svg",
                           c->csv != NULL ? "--csv" : "--svg");
  if (c->csv != NULL && c->svg != NULL && strcmp(c->csv, c->svg) == 0)
    return cli_usage_error("ablate", "--csv and --svg name the same file");
  /* Before hours of training, not after. */
  if (c->csv != NULL)
    rc = cli_refuse_existing("--csv", c->csv);
  if (rc == CLI_EXIT_OK && c->svg != NULL)
    rc = cli_refuse_existing("--svg", c->svg);
  if (rc == CLI_EXIT_OK)
    rc =
        cli_genome_resolve(genome, &c->base, c->base_name, sizeof c->base_name);
  return rc;
}

static int ablate_body(ablate_cmd *c) {
  int rc = make_variants(c);
  if (rc != CLI_EXIT_OK)
    return rc;
  if (c->list)
    return list_variants(c);
  if (c->n == 1)
    return cli_error("'%s' has no variant to try", c->base_name);
  cli_grid *g = NULL;
  rc = cli_run_grid(&c->run, (const evo_genome *const *)c->genomes, c->n, &g);
  if (rc != CLI_EXIT_OK)
    return rc;
  print_table(g, c);
  if (c->csv != NULL)
    rc = save_csv(g, c);
  if (rc == CLI_EXIT_OK && c->svg != NULL)
    rc = save_svg(g, c);
  cli_grid_free(g);
  return rc;
}

int cli_cmd_ablate(int argc, char **argv) {
  ablate_cmd *c = calloc(1, sizeof *c);
  if (c == NULL)
    return cli_error("out of memory");
  c->run.cmd = "ablate";
  c->run.steps = 500; /* eval's defaults: doc/algorithm.md §3 */
  c->run.seeds = 2;
  cli_tasks_parse(&c->run.tasks, "ablate", "digits");
  int rc = parse(c, argc, argv);
  if (rc == CLI_EXIT_OK)
    rc = ablate_body(c);
  for (size_t i = 1; i < c->n; i++)
    evo_genome_free(c->genomes[i]);
  evo_genome_free(c->base);
  cli_tasks_close(&c->run.tasks);
  free(c);
  return rc == CLI_DONE ? CLI_EXIT_OK : rc;
}
