/* `evoopt show GENOME`: the one-line description, every gene, the JSON. */
#include <math.h>
#include <string.h>

#include "cli_internal.h"

static const struct {
  evo_gene gene;
  const char *name;
} genes[] = {
    {EVO_GENE_LR_LOG10, "lr_log10"},
    {EVO_GENE_BETA1, "beta1"},
    {EVO_GENE_BETA2, "beta2"},
    {EVO_GENE_EPS_LOG10, "eps_log10"},
    {EVO_GENE_WD_LOG10, "wd_log10"},
    {EVO_GENE_CLIP_VALUE, "clip_value"},
    {EVO_GENE_WARMUP_STEPS, "warmup_steps"},
};

static const struct {
  evo_flag flag;
  const char *name;
} flags[] = {
    {EVO_FLAG_USE_M, "use_m"},
    {EVO_FLAG_USE_V, "use_v"},
    {EVO_FLAG_BIAS_CORRECTION, "use_bias_correction"},
    {EVO_FLAG_GRADIENT_CLIPPING, "use_gradient_clipping"},
    {EVO_FLAG_WARMUP, "use_warmup"},
    {EVO_FLAG_COSINE_DECAY, "use_cosine_decay"},
};

/* A log10 gene also as its plain value: "lr_log10 -2.9199 (1.20e-03)". */
static void print_gene(const evo_genome *g, size_t i) {
  double v = 0.0;
  evo_genome_get(g, genes[i].gene, &v);
  printf("  %-22s ", genes[i].name);
  if (isinf(v))
    printf("none (exactly zero)\n");
  else if (genes[i].gene == EVO_GENE_WARMUP_STEPS)
    printf("%.0f\n", v);
  else if (strstr(genes[i].name, "_log10") != NULL)
    printf("%.4f  (%.3e)\n", v, pow(10.0, v));
  else
    printf("%.4f\n", v);
}

static void print_genome(const char *name, const evo_genome *g) {
  char *desc = NULL, *json = NULL;
  evo_genome_describe(g, &desc);
  evo_genome_to_json(g, &json);
  printf("%s: %s\n", name, desc != NULL ? desc : "");
  printf("  %-21s", "terms");
  for (size_t i = 0; i < evo_genome_term_count(g); i++) {
    evo_term type = EVO_TERM_GRAD;
    double alpha = 0.0;
    evo_genome_get_term(g, i, &type, &alpha);
    printf(" %+.4f·%s", alpha, evo_term_name(type));
  }
  printf("\n");
  for (size_t i = 0; i < sizeof genes / sizeof genes[0]; i++)
    print_gene(g, i);
  for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
    int on = 0;
    evo_genome_get_flag(g, flags[i].flag, &on);
    printf("  %-22s %s\n", flags[i].name, on ? "true" : "false");
  }
  printf("  %-22s %s\n", "json", json != NULL ? json : "");
  evo_free(desc);
  evo_free(json);
}

int cli_cmd_show(int argc, char **argv) {
  static const cli_opt opts[] = {{"json", 0, 0, 1}, {NULL, 0, 0, 0}};
  cli_parser p;
  const char *v, *arg = NULL;
  int json = 0;
  cli_parser_init(&p, "show", opts, argc, argv);
  for (int id; (id = cli_parser_next(&p, &v)) != CLI_OPT_END;) {
    if (id == CLI_OPT_ERROR)
      return CLI_EXIT_USAGE;
    if (id == CLI_OPT_HELP)
      return cli_help_print(stdout, "show"), CLI_EXIT_OK;
    if (id == 1)
      json = 1;
    else if (arg != NULL)
      return cli_usage_error("show", "one GENOME at a time");
    else
      arg = v;
  }
  if (arg == NULL)
    return cli_usage_error("show", "no GENOME given");
  evo_genome *g = NULL;
  char name[256];
  int rc = cli_genome_resolve(arg, &g, name, sizeof name);
  if (rc != CLI_EXIT_OK)
    return rc;
  char *text = NULL;
  if (json && evo_genome_to_json(g, &text) == EVO_OK)
    printf("%s\n", text);
  else if (!json)
    print_genome(name, g);
  evo_free(text);
  evo_genome_free(g);
  return CLI_EXIT_OK;
}
