/* Fuzz target: population checkpoints (evo_population_resume).
 *
 * Input: one mode byte, then the checkpoint file. Mode % 3: 0 a plain
 * file, 1 a gzip file the harness compresses, both after fixing the
 * frame's size and CRC (fuzz_fix_frame) so that mutations reach the
 * fields; 2 the bytes exactly as given (the frame checks themselves).
 * Invariants: a refused file gets a negative status and a message; an
 * accepted one round-trips (written again, resumed, written: the same
 * bytes), its getters answer for every generation, individual and
 * hall-of-fame entry, and one more generation runs on it with a cheap
 * deterministic fitness. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/io_internal.h"
#include "evoopt/population.h"
#include "evolve/population_internal.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char ckpt_magic[8] = {'E', 'V', 'O', 'O', 'P', 'T', 'C', 'K'};

/* Reads a whole file the harness wrote. */
static unsigned char *slurp(const char *path, size_t *size) {
  unsigned char *buf = NULL;
  if (evo_read_file(path, (size_t)1 << 30, &buf, size) != EVO_OK)
    fuzz_fail("cannot read back %s: %s", path, evo_last_error());
  return buf;
}

/* Writes @p pop's checkpoint to fuzz_dir()/@p name. */
static void write_to(evo_population *pop, const char *name, char *path,
                     size_t cap) {
  fuzz_path(path, cap, name);
  free(pop->ckpt_path);
  pop->ckpt_path = strdup(path);
  if (pop->ckpt_path == NULL || evo_checkpoint_write(pop) != EVO_OK)
    fuzz_fail("cannot write a resumed population's checkpoint: %s",
              evo_last_error());
}

/* write -> resume -> write: the same bytes. */
static void check_round_trip(evo_population *pop) {
  char a[4352], b[4352];
  write_to(pop, "again.evo", a, sizeof a);
  evo_population *back = NULL;
  int rc = evo_population_resume(&back, a, NULL);
  if (rc != EVO_OK)
    fuzz_fail("a written checkpoint is refused (%d): %s", rc,
              evo_last_error());
  write_to(back, "third.evo", b, sizeof b);
  size_t na, nb;
  unsigned char *ba = slurp(a, &na), *bb = slurp(b, &nb);
  if (na != nb || memcmp(ba, bb, na) != 0)
    fuzz_fail("resume -> write -> resume -> write changes the checkpoint");
  free(ba);
  free(bb);
  evo_population_free(back);
}

/* Every getter on every recorded thing. */
static void read_everything(const evo_population *pop) {
  double v;
  const evo_genome *g;
  const evo_report *rep;
  uint32_t counts[EVO_TERM_COUNT];
  size_t gen;
  for (size_t i = 0; i < evo_population_history_count(pop); i++) {
    for (int k = EVO_HIST_BEST; k <= EVO_HIST_EVALUATIONS; k++)
      if (evo_population_history(pop, i, (evo_history_key)k, &v) != EVO_OK)
        fuzz_fail("history %zu/%d: %s", i, k, evo_last_error());
    if (evo_population_history_best(pop, i, &g, &rep) != EVO_OK ||
        evo_population_history_terms(pop, i, counts) != EVO_OK)
      fuzz_fail("history %zu: %s", i, evo_last_error());
    double f;
    evo_report_fitness(rep, &f);
    for (size_t t = 0; t < evo_report_task_count(rep); t++) {
      const char *name;
      double tf;
      evo_report_task(rep, t, &name, &tf);
    }
  }
  for (size_t i = 0; i < evo_population_hof_count(pop); i++)
    if (evo_population_hof(pop, i, &g, &v, &gen) != EVO_OK)
      fuzz_fail("hall of fame %zu: %s", i, evo_last_error());
  for (size_t i = 0; i < evo_population_size(pop); i++) {
    int cached;
    evo_population_individual(pop, i, &g, &v);
    evo_population_individual_cached(pop, i, &cached);
  }
}

/* A pure function of (genome, seed, rung): a run on it is cheap and
 * deterministic. */
static int fitness(void *user, const evo_genome *g, uint64_t seed,
                   uint32_t rung, evo_report *report) {
  (void)user;
  double lr = 0.0, b1 = 0.0;
  evo_genome_get(g, EVO_GENE_LR_LOG10, &lr);
  evo_genome_get(g, EVO_GENE_BETA1, &b1);
  double f = 0.5 + 0.1 * b1 - 0.01 * lr + 1e-3 * (double)(seed % 7) +
             1e-4 * rung;
  if (evo_genome_term_count(g) == 3)
    return EVO_ECALLBACK; /* some evaluations fail */
  return evo_report_set_fitness(report, f);
}

static void step_once(evo_population *pop) {
  if (evo_population_finished(pop))
    return;
  /* Settings a file may hold but the harness sets: one thread, no
   * checkpoint writes, no unbounded work per input. */
  evo_population_set(pop, EVO_POP_WORKERS, 1);
  evo_population_set_checkpoint(pop, NULL, NULL);
  evo_population_set_fitness_rung(pop, fitness, NULL);
  int64_t n = 0;
  evo_population_get(pop, EVO_POP_SIZE, &n);
  if (n > 512)
    return;
  fuzz_reset_error();
  int rc = evo_population_step(pop);
  if (rc != EVO_OK)
    fuzz_check_error(rc, "evo_population_step after a resume");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned mode = 0;
  size_t n = 0;
  unsigned char *buf =
      fuzz_framed_input(data, size, 3, 2, ckpt_magic, &mode, &n);
  if (buf == NULL)
    return 0;
  char path[4352];
  fuzz_clear();
  fuzz_write("checkpoint.evo", buf, n, mode == 1, path, sizeof path);
  free(buf);
  evo_population *pop = NULL;
  fuzz_reset_error();
  int rc = evo_population_resume(&pop, path, NULL);
  if (rc != EVO_OK) {
    if (pop != NULL)
      fuzz_fail("resume failed (%d) but set its output", rc);
    fuzz_check_error(rc, "evo_population_resume");
    return 0;
  }
  read_everything(pop);
  check_round_trip(pop);
  step_once(pop);
  evo_population_free(pop);
  return 0;
}
