/* Optimizer step throughput (issue 2): time per evo_optimizer_step() on
 * 2^24 parameters for the sgd, adam and paper-evolved presets, as memory
 * bandwidth, beside a STREAM-style triad and torch.optim.Adam(foreach=True)
 * measured in the same run.
 *
 * Bytes counted per parameter and step, what the fused pass must move:
 * p read + written (8), g read (4), m read + written (8) when the genome
 * keeps m, v likewise (8): sgd 20, adam and paper-evolved 28. The triad
 * a[i] = b[i] + s·c[i] is counted as STREAM does, 3 streams × 4 bytes = 12
 * per element; the hardware also reads a before writing it (write-allocate),
 * so the triad's true traffic is 16 bytes and its printed figure is
 * conservative by 3/4, whereas every array the optimizer writes it also
 * reads, so its count is the true traffic. A triad runs before every
 * optimizer step (and in the torch process before every torch step), so
 * that each ratio compares runs under the same load of a shared machine;
 * the torch ratio is also given in triad units for that reason.
 *
 * Usage: bench_optimizer [steps]   (default 10 timed steps, best reported) */
#define _POSIX_C_SOURCE 200809L
#include <evoopt/evoopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_PARAMS ((size_t)1 << 24)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *filled(size_t n, float scale) {
  float *x = malloc(n * sizeof(float));
  if (x == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++)
    x[i] = scale * (float)((i * 2654435761u) % 2001) / 1000.0f - scale;
  return x;
}

/* ---- the reference: a STREAM triad over arrays of the same size --------- */

/* The triad's three arrays in one block, 64 KiB + 256 B apart: arrays
 * from separate mallocs all start at the same offset of 64 MiB + 4 KiB
 * strides, which here costs the triad 30 % (DRAM bank conflicts), and the
 * reference should be the best the memory system does. */
#define TRIAD_PAD 16448
typedef struct triad_arrays {
  float *block, *a, *b, *c;
} triad_arrays;

static triad_arrays triad_new(void) {
  triad_arrays t;
  t.block = filled(3 * (N_PARAMS + TRIAD_PAD), 1);
  t.a = t.block;
  t.b = t.a + N_PARAMS + TRIAD_PAD;
  t.c = t.b + N_PARAMS + TRIAD_PAD;
  return t;
}

static void triad(float *restrict a, const float *restrict b,
                  const float *restrict c, float s, size_t n) {
  for (size_t i = 0; i < n; i++)
    a[i] = b[i] + s * c[i];
}

static double triad_seconds(const triad_arrays *t, int k) {
  double t0 = now();
  triad(t->a, t->b, t->c, 0.5f + (float)k, N_PARAMS);
  return now() - t0;
}

/* ---- the optimizer -------------------------------------------------------- */

typedef struct result {
  double ms, gbs, triad_gbs; /* best step; its traffic; the triad's */
} result;

static void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, evo_last_error());
  exit(1);
}

/* Best of @p steps steps over @p n_tensors equal tensors holding N_PARAMS
 * parameters together, each step right after a triad, so that both see the
 * same load on a shared machine. */
static result bench_preset(const char *preset, size_t n_tensors, int steps,
                           const triad_arrays *tr) {
  evo_genome *g;
  evo_optimizer *opt;
  if (evo_genome_preset(&g, preset) != EVO_OK ||
      evo_optimizer_new(&opt, g) != EVO_OK ||
      evo_optimizer_set_total_steps(opt, 1000) != EVO_OK)
    die(preset);
  int use_m, use_v;
  evo_genome_get_flag(g, EVO_FLAG_USE_M, &use_m);
  evo_genome_get_flag(g, EVO_FLAG_USE_V, &use_v);
  float *p = filled(N_PARAMS, 1), *dp = filled(N_PARAMS, 0.01f);
  size_t per = N_PARAMS / n_tensors;
  for (size_t k = 0; k < n_tensors; k++)
    if (evo_optimizer_add_params(opt, p + k * per, dp + k * per, per) != EVO_OK)
      die("add_params");
  double best = 1e30, best_triad = 1e30;
  for (int k = 0; k < steps + 2; k++) { /* 2 warm-up steps touch the state */
    double tt = triad_seconds(tr, k);
    double t0 = now();
    if (evo_optimizer_step(opt) != EVO_OK)
      die("step");
    double t = now() - t0;
    if (k >= 2 && t < best)
      best = t;
    if (k >= 2 && tt < best_triad)
      best_triad = tt;
  }
  double bytes = (double)N_PARAMS * (12.0 + (use_m ? 8.0 : 0.0) +
                                     (use_v ? 8.0 : 0.0));
  evo_optimizer_free(opt);
  evo_genome_free(g);
  free(p);
  free(dp);
  return (result){best * 1e3, bytes / best / 1e9,
                  12.0 * (double)N_PARAMS / best_triad / 1e9};
}

/* ---- torch, when Debian's Python has it ---------------------------------- */

/* ms per step of torch.optim.Adam(foreach=True), or a negative value; the
 * ms of a triad run in the same process just before each step. */
static double torch_adam_ms(int steps, int *threads, double *triad_ms,
                            char *version, size_t vsize) {
#if defined(TORCH_SCRIPT) && defined(DEBIAN_PYTHON)
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "'%s' '%s' %zu %d 2>/dev/null", DEBIAN_PYTHON,
           TORCH_SCRIPT, N_PARAMS, steps);
  FILE *f = popen(cmd, "r");
  if (f == NULL)
    return -1;
  char line[256], v[64] = "";
  double ms = -1;
  while (fgets(line, sizeof line, f) != NULL)
    if (sscanf(line, "torch %63s threads %d ms_per_step %lf triad_ms %lf", v,
               threads, &ms, triad_ms) != 4)
      ms = -1;
  pclose(f);
  snprintf(version, vsize, "%s", v);
  return ms;
#else
  (void)steps, (void)threads, (void)triad_ms, (void)version, (void)vsize;
  return -1;
#endif
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 10;
  if (steps < 1)
    steps = 10;
  printf("libevoopt %s: optimizer step on %zu parameters (2^24 floats), "
         "best of %d steps, 1 thread\n"
         "triad a = b + s*c on arrays of the same size, run before each "
         "step; GB/s as STREAM counts it (12 B/element)\n",
         evo_version_string(), N_PARAMS, steps);
  triad_arrays tr = triad_new();
  static const char *const presets[] = {"sgd", "adam", "paper-evolved"};
  static const size_t tensor_counts[] = {1, 64};
  result adam = {0, 0, 0};
  printf("%-26s %9s %11s %11s %11s\n", "optimizer", "step", "traffic",
         "triad", "ours/triad");
  for (size_t t = 0; t < 2; t++)
    for (size_t k = 0; k < 3; k++) {
      result r = bench_preset(presets[k], tensor_counts[t], steps, &tr);
      char name[64];
      snprintf(name, sizeof name, "%s, %zu tensor%s", presets[k],
               tensor_counts[t], tensor_counts[t] > 1 ? "s" : "");
      printf("%-26s %6.2f ms %6.2f GB/s %6.2f GB/s %11.2f\n", name, r.ms,
             r.gbs, r.triad_gbs, r.gbs / r.triad_gbs);
      if (t == 0 && strcmp(presets[k], "adam") == 0)
        adam = r;
    }
  free(tr.block);
  printf("(the triad's write also costs a read, write-allocate: its true "
         "traffic is 16 B/element, 4/3 of the figure shown)\n");
  int threads = 0;
  char version[64];
  double torch_triad_ms = 0;
  double torch_ms = torch_adam_ms(steps, &threads, &torch_triad_ms, version,
                                  sizeof version);
  if (torch_ms > 0) {
    /* Each run's time in units of a triad measured beside it: the ratio
     * holds even when the machine's load changed between the two runs. */
    double ours_triad_ms = 12.0 * (double)N_PARAMS / adam.triad_gbs / 1e6;
    printf("%-26s %6.2f ms   (torch %s, %d thread%s; its triad %.2f ms, "
           "ours %.2f ms)\n",
           "torch Adam(foreach=True)", torch_ms, version, threads,
           threads == 1 ? "" : "s", torch_triad_ms, ours_triad_ms);
    printf("torch/ours for adam: %.1fx (target >= 10); in triad units "
           "(load-independent): %.1fx\n",
           torch_ms / adam.ms,
           (torch_ms / torch_triad_ms) / (adam.ms / ours_triad_ms));
  } else
    printf("torch: not available (Debian's python3 with torch needed)\n");
  return 0;
}
