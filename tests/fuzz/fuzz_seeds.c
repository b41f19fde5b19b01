/* Writes seed inputs for the fuzz targets with the library's own writers
 * (make_corpus.py runs it; doc/fuzzing.md): genome JSON of every preset,
 * optimizer states after a few steps (version 2: a gradient scale, frozen
 * tensors, an open round), checkpoints of small runs (cache, rungs,
 * failures, hall of fame; generational and steady-state) and the
 * settings.json of a few command lines. Each file gets the mode byte its
 * target reads first.
 * Usage: fuzz_seeds OUTDIR (OUTDIR/<target>/ must exist). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "cli_internal.h"
#include "evoopt/evoopt.h"

static const char *out_dir;

_Noreturn static void die(const char *what) {
  fprintf(stderr, "fuzz_seeds: %s: %s\n", what, evo_last_error());
  exit(1);
}

/* OUTDIR/target/name: an optional mode byte, then the bytes. */
static void put(const char *target, const char *name, int mode,
                const void *data, size_t size) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s/%s", out_dir, target, name);
  FILE *f = fopen(path, "wb");
  unsigned char m = (unsigned char)mode;
  if (f == NULL || (mode >= 0 && fwrite(&m, 1, 1, f) != 1) ||
      fwrite(data, 1, size, f) != size || fclose(f) != 0)
    die(path);
}

/* The bytes gzip-compressed (a real .gz file for the raw modes). */
static void *gzipped(const void *data, size_t size, size_t *out) {
  uLong cap = compressBound((uLong)size) + 32;
  unsigned char *buf = malloc(cap);
  z_stream z;
  memset(&z, 0, sizeof z);
  if (buf == NULL ||
      deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    die("zlib");
  z.next_in = (Bytef *)(uintptr_t)data;
  z.avail_in = (uInt)size;
  z.next_out = buf;
  z.avail_out = (uInt)cap;
  if (deflate(&z, Z_FINISH) != Z_STREAM_END)
    die("deflate");
  *out = z.total_out;
  deflateEnd(&z);
  return buf;
}

static void genomes(void) {
  for (size_t i = 0; i < evo_genome_preset_count(); i++) {
    const char *name = evo_genome_preset_name(i);
    evo_genome *g;
    char *json;
    if (evo_genome_preset(&g, name) != EVO_OK ||
        evo_genome_to_json(g, &json) != EVO_OK)
      die(name);
    put("genome_json", name, -1, json, strlen(json));
    evo_free(json);
    evo_genome_free(g);
  }
}

/* The optimizer states written: a preset after 3 steps on tensors of 5
 * and 2 floats, in the modes of @p modes (bit m: mode m), and, with
 * @p raw_gz, gzip-compressed for the raw mode 3. The version-2 fields
 * (optimizer.c): a gradient scale other than 1, a frozen tensor, a round
 * left open by one evo_optimizer_step_tensor after the steps. */
typedef struct state_seed {
  const char *label, *preset;
  unsigned modes;
  bool raw_gz;
  double grad_scale;
  int frozen; /* the tensor frozen before the steps, or -1 */
  int open;   /* the tensor stepped alone after them, or -1 */
} state_seed;

static const state_seed state_seeds[] = {
    {"paper-evolved", "paper-evolved", 0xf, true, 1.0, -1, -1}, /* m, v */
    {"sgd", "sgd", 0x3, true, 1.0, -1, -1},                     /* m only */
    {"rmsprop", "rmsprop", 0x1, true, 1.0, -1, -1},             /* v only */
    {"plain-sgd", "plain-sgd", 0x1, true, 1.0, -1, -1},         /* none */
    {"v2-paper-evolved-frozen", "paper-evolved", 0x1, false, 0.5, 1, -1},
    {"v2-torch-adam-frozen-open", "torch-adam", 0x1, false, 1.0, 0, 1},
    {"v2-torch-rmsprop", "torch-rmsprop", 0x1, false, 1024.0, -1, -1},
    {"v2-torch-sgd-nesterov-open", "torch-sgd-nesterov", 0x2, false, 1.0, -1,
     0},
};

static void state(const state_seed *sd) {
  evo_genome *g;
  evo_optimizer *opt;
  float p1[5] = {1, -2, 3, -4, 5}, g1[5] = {0.5f, -0.25f, 1, 2, -1};
  float p2[2] = {0.1f, 0.2f}, g2[2] = {-3, 4};
  if (evo_genome_preset(&g, sd->preset) != EVO_OK ||
      evo_optimizer_new(&opt, g) != EVO_OK ||
      evo_optimizer_add_params(opt, p1, g1, 5) != EVO_OK ||
      evo_optimizer_add_params(opt, p2, g2, 2) != EVO_OK ||
      evo_optimizer_set_total_steps(opt, 10) != EVO_OK ||
      evo_optimizer_set_option(opt, EVO_OPT_GRAD_SCALE, sd->grad_scale) !=
          EVO_OK ||
      (sd->frozen >= 0 &&
       evo_optimizer_set_param_option(opt, (size_t)sd->frozen,
                                      EVO_PARAM_FROZEN, 1.0) != EVO_OK))
    die(sd->label);
  for (int s = 0; s < 3; s++)
    if (evo_optimizer_step(opt) != EVO_OK)
      die("step");
  if (sd->open >= 0 &&
      evo_optimizer_step_tensor(opt, (size_t)sd->open, NULL) != EVO_OK)
    die("step_tensor");
  void *buf;
  size_t size;
  if (evo_optimizer_save_mem(opt, &buf, &size) != EVO_OK)
    die("save");
  char name[128];
  for (int mode = 0; mode < 4; mode++) {
    if (!(sd->modes >> mode & 1u))
      continue;
    snprintf(name, sizeof name, "%s-mode%d", sd->label, mode);
    put("optimizer_state", name, mode, buf, size);
  }
  if (sd->raw_gz) {
    size_t zsize;
    void *z = gzipped(buf, size, &zsize);
    snprintf(name, sizeof name, "%s-raw-gz", sd->label);
    put("optimizer_state", name, 3, z, zsize);
    free(z);
  }
  evo_free(buf);
  evo_optimizer_free(opt);
  evo_genome_free(g);
}

static void states(void) {
  for (size_t i = 0; i < sizeof state_seeds / sizeof state_seeds[0]; i++)
    state(&state_seeds[i]);
}

/* Cheap, deterministic; the genomes with three terms fail. */
static int fitness(void *user, const evo_genome *g, uint64_t seed,
                   uint32_t rung, evo_report *report) {
  (void)user;
  double lr = 0.0;
  evo_genome_get(g, EVO_GENE_LR_LOG10, &lr);
  if (evo_genome_term_count(g) == 3)
    return EVO_ECALLBACK;
  if (evo_report_add_task(report, "digits", 0.5 - 0.01 * lr) != EVO_OK)
    return EVO_ENOMEM;
  return evo_report_set_fitness(report,
                                0.5 - 0.01 * lr + 1e-3 * (double)(seed % 5) +
                                    1e-4 * rung);
}

static int stop_at;
static int progress(void *user, evo_event event, const evo_population *pop,
                    size_t generation, size_t index) {
  (void)user, (void)pop, (void)index;
  return event == EVO_EVENT_GENERATION && (int)generation == stop_at;
}

/* A run of 4 genomes by @p algorithm (steady-state: a window of 3 jobs):
 * stopped after generation @p stop (or run to the end when -1); its
 * checkpoint in every mode. */
static void checkpoint(const char *label, int64_t algorithm, int64_t rungs,
                       int64_t cache, int stop) {
  char path[4096];
  snprintf(path, sizeof path, "%s/checkpoint/.tmp.evo", out_dir);
  remove(path);
  evo_population *pop;
  stop_at = stop;
  if (evo_population_new(&pop) != EVO_OK ||
      evo_population_set(pop, EVO_POP_SIZE, 4) != EVO_OK ||
      evo_population_set(pop, EVO_POP_GENERATIONS, 3) != EVO_OK ||
      evo_population_set(pop, EVO_POP_ELITES, 1) != EVO_OK ||
      evo_population_set(pop, EVO_POP_TOURNAMENT, 2) != EVO_OK ||
      evo_population_set(pop, EVO_POP_HALL_OF_FAME, 3) != EVO_OK ||
      evo_population_set(pop, EVO_POP_CACHE, cache) != EVO_OK ||
      evo_population_set(pop, EVO_POP_RUNGS, rungs) != EVO_OK ||
      evo_population_set(pop, EVO_POP_PROMOTE, 2) != EVO_OK ||
      evo_population_set(pop, EVO_POP_ALGORITHM, algorithm) != EVO_OK ||
      (algorithm == EVO_ALGO_STEADY &&
       evo_population_set(pop, EVO_POP_WINDOW, 3) != EVO_OK) ||
      evo_population_set_fitness_rung(pop, fitness, NULL) != EVO_OK ||
      evo_population_set_progress(pop, progress, NULL) != EVO_OK ||
      evo_population_set_checkpoint(pop, path, "fuzz seed") != EVO_OK)
    die("population");
  int rc = evo_population_run(pop);
  if (rc != EVO_OK && rc != EVO_ECANCELED)
    die("run");
  evo_population_free(pop);
  FILE *f = fopen(path, "rb");
  static unsigned char buf[1 << 20];
  size_t size = f != NULL ? fread(buf, 1, sizeof buf, f) : 0;
  if (f == NULL || size == 0 || size == sizeof buf)
    die(path);
  fclose(f);
  remove(path);
  char name[128];
  for (int mode = 0; mode < 3; mode++) {
    snprintf(name, sizeof name, "%s-mode%d", label, mode);
    put("checkpoint", name, mode, buf, size);
  }
}

static void checkpoints(void) {
  checkpoint("stopped-gen0-cache", EVO_ALGO_GA, 1, 1, 0);
  checkpoint("finished-rungs2-cache2", EVO_ALGO_GA, 2, 2, -1);
  /* the steady section: jobs created and queued promotions, the rungs'
   * records (doc/algorithm.md §9.4) */
  checkpoint("steady-stopped-gen1-rungs2-cache", EVO_ALGO_STEADY, 2, 1, 1);
}

/* settings.json as `evoopt evolve ARGS` writes it. */
static void settings(const char *name, int argc, char **argv) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s/settings", out_dir);
  evolve_cfg *cfg = calloc(1, sizeof *cfg);
  evolve_opts opts;
  if (cfg == NULL || evolve_parse(argc, argv, cfg, &opts) != CLI_EXIT_OK ||
      evolve_save_settings(cfg, dir) != CLI_EXIT_OK)
    die(name);
  char from[4200], to[4200];
  snprintf(from, sizeof from, "%s/settings.json", dir);
  snprintf(to, sizeof to, "%s/%s", dir, name);
  if (rename(from, to) != 0)
    die(to);
  free(cfg);
}

static void all_settings(void) {
  char *smoke[] = {"evolve", "--preset", "smoke", NULL};
  char *random[] = {"evolve",      "--preset", "quick", "--algorithm",
                    "random",      "--no-cache", "--data", "/tmp/data",
                    "--tasks", "digits,mnist", NULL};
  char *rungs[] = {"evolve", "--preset", "discover", "--budget", "2",
                   "--rungs", "100x1@500,300x2", NULL};
  settings("smoke", 3, smoke);
  settings("random-no-cache", 10, random);
  settings("discover-rungs", 7, rungs);
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: fuzz_seeds OUTDIR\n");
    return 2;
  }
  out_dir = argv[1];
  genomes();
  states();
  checkpoints();
  all_settings();
  return 0;
}
