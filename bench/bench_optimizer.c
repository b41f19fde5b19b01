/* Optimizer step throughput (issue 2): time per evo_optimizer_step() on
 * 2^24 parameters for the sgd, adam and paper-evolved presets, with 1 and
 * T threads (EVO_OPT_THREADS), as memory bandwidth, beside a STREAM-style
 * triad and torch.optim.Adam(foreach=True) measured in the same run.
 *
 * Bytes counted per parameter and step, what the fused pass must move:
 * p read + written (8), g read (4), m read + written (8) when the genome
 * keeps m, v likewise (8): sgd 20, adam and paper-evolved 28. The triad
 * a[i] = b[i] + s·c[i] is counted as STREAM does, 3 streams × 4 bytes = 12
 * per element; the hardware also reads a before writing it (write-allocate),
 * so the triad's true traffic is 16 bytes and its printed figure is
 * conservative by 3/4, whereas every array the optimizer writes it also
 * reads, so its count is the true traffic.
 *
 * The reference is the single-thread triad (issue 2: the step at >= 80 % of
 * it); a triad on T threads is printed too. Both run before every optimizer
 * step (and in the torch process a triad with torch's own threads before
 * every torch step), so that each ratio compares runs under the same load
 * of a shared machine; the torch ratios are also given in units of the
 * triad with the same thread count for that reason. Every figure is the
 * best of the timed steps.
 *
 * Usage: bench_optimizer [steps [threads]]
 * (default 10 timed steps after 2 warm-up steps; T = 2) */
#define _POSIX_C_SOURCE 200809L
#include <evoopt/evoopt.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define N_PARAMS ((size_t)1 << 24)
#define MAX_THREADS 64

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *checked_malloc(size_t bytes) {
  void *x = malloc(bytes);
  if (x == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return x;
}

static float *filled(size_t n, float scale) {
  float *x = checked_malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++)
    x[i] = scale * (float)((i * 2654435761u) % 2001) / 1000.0f - scale;
  return x;
}

/* ---- the reference: a STREAM triad over arrays of the same size --------- */

/* The triad's three arrays in one block, 64 KiB + 256 B apart: arrays
 * from separate mallocs all start at the same offset of 64 MiB + 4 KiB
 * strides, which here costs the triad 30 % (DRAM bank conflicts), and the
 * reference should be the best the memory system does. On T threads each
 * takes a contiguous 1/T of the arrays; the helpers live as long as the
 * benchmark and meet the caller at two barriers per triad, as the
 * optimizer's own threads do per step. */
#define TRIAD_PAD 16448
typedef struct triad_team triad_team;

typedef struct helper_arg {
  triad_team *t;
  size_t index;
} helper_arg;

struct triad_team {
  float *block, *a, *b, *c;
  size_t threads;
  float s; /* the current triad's scalar */
  bool stop;
  pthread_barrier_t start, done;
  pthread_t helpers[MAX_THREADS];
  helper_arg args[MAX_THREADS];
};

static void triad_slice(triad_team *t, size_t i) {
  size_t lo = N_PARAMS * i / t->threads, hi = N_PARAMS * (i + 1) / t->threads;
  float *restrict a = t->a;
  const float *restrict b = t->b, *restrict c = t->c;
  const float s = t->s;
  for (size_t j = lo; j < hi; j++)
    a[j] = b[j] + s * c[j];
}

static void *triad_helper(void *p) {
  helper_arg *h = p;
  for (;;) {
    pthread_barrier_wait(&h->t->start);
    if (h->t->stop)
      return NULL;
    triad_slice(h->t, h->index);
    pthread_barrier_wait(&h->t->done);
  }
}

static void triad_new(triad_team *t, float *block, size_t threads) {
  t->block = block;
  t->a = block;
  t->b = t->a + N_PARAMS + TRIAD_PAD;
  t->c = t->b + N_PARAMS + TRIAD_PAD;
  t->threads = threads;
  t->stop = false;
  pthread_barrier_init(&t->start, NULL, (unsigned)threads);
  pthread_barrier_init(&t->done, NULL, (unsigned)threads);
  for (size_t i = 1; i < threads; i++) {
    t->args[i] = (helper_arg){t, i};
    if (pthread_create(&t->helpers[i], NULL, triad_helper, &t->args[i]) !=
        0) {
      fprintf(stderr, "cannot start triad thread %zu\n", i);
      exit(1);
    }
  }
}

static void triad_free(triad_team *t) {
  t->stop = true;
  if (t->threads > 1)
    pthread_barrier_wait(&t->start);
  for (size_t i = 1; i < t->threads; i++)
    pthread_join(t->helpers[i], NULL);
  pthread_barrier_destroy(&t->start);
  pthread_barrier_destroy(&t->done);
}

static double triad_seconds(triad_team *t, int k) {
  double t0 = now();
  t->s = 0.5f + (float)k;
  if (t->threads > 1)
    pthread_barrier_wait(&t->start);
  triad_slice(t, 0);
  if (t->threads > 1)
    pthread_barrier_wait(&t->done);
  return now() - t0;
}

/* GB/s of a triad that took @p seconds, as STREAM counts it. */
static double triad_gbs(double seconds) {
  return 12.0 * (double)N_PARAMS / seconds / 1e9;
}

/* ---- the optimizer -------------------------------------------------------- */

typedef struct result {
  double ms, gbs;               /* best step; its traffic */
  double triad1_gbs, triadt_gbs; /* best triads on 1 and T threads */
} result;

_Noreturn static void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, evo_last_error());
  exit(1);
}

static evo_optimizer *make_optimizer(const char *preset, size_t threads,
                                     double *bytes_per_param) {
  evo_genome *g;
  evo_optimizer *opt;
  if (evo_genome_preset(&g, preset) != EVO_OK ||
      evo_optimizer_new(&opt, g) != EVO_OK ||
      evo_optimizer_set_total_steps(opt, 1000) != EVO_OK ||
      evo_optimizer_set_option(opt, EVO_OPT_THREADS, (double)threads) !=
          EVO_OK)
    die(preset);
  int use_m, use_v;
  evo_genome_get_flag(g, EVO_FLAG_USE_M, &use_m);
  evo_genome_get_flag(g, EVO_FLAG_USE_V, &use_v);
  evo_genome_free(g);
  *bytes_per_param = 12.0 + (use_m ? 8.0 : 0.0) + (use_v ? 8.0 : 0.0);
  return opt;
}

/* Best of @p steps steps on @p threads threads over @p n_tensors equal
 * tensors holding N_PARAMS parameters together, each step right after a
 * triad on 1 and on T threads, so that all see the same load on a shared
 * machine. */
static result bench_preset(const char *preset, size_t threads,
                           size_t n_tensors, int steps, triad_team *tr1,
                           triad_team *trt) {
  double bytes_per_param;
  evo_optimizer *opt = make_optimizer(preset, threads, &bytes_per_param);
  float *p = filled(N_PARAMS, 1), *dp = filled(N_PARAMS, 0.01f);
  size_t per = N_PARAMS / n_tensors;
  for (size_t k = 0; k < n_tensors; k++)
    if (evo_optimizer_add_params(opt, p + k * per, dp + k * per, per) != EVO_OK)
      die("add_params");
  double best = 1e30, best1 = 1e30, bestt = 1e30;
  for (int k = 0; k < steps + 2; k++) { /* 2 warm-up steps touch the state */
    double t1 = triad_seconds(tr1, k), tt = triad_seconds(trt, k);
    double t0 = now();
    if (evo_optimizer_step(opt) != EVO_OK)
      die("step");
    double t = now() - t0;
    if (k < 2)
      continue;
    best = t < best ? t : best;
    best1 = t1 < best1 ? t1 : best1;
    bestt = tt < bestt ? tt : bestt;
  }
  evo_optimizer_free(opt);
  free(p);
  free(dp);
  return (result){best * 1e3, bytes_per_param * (double)N_PARAMS / best / 1e9,
                  triad_gbs(best1), triad_gbs(bestt)};
}

/* ---- torch, when Debian's Python has it ---------------------------------- */

typedef struct torch_result {
  double ms, triad_ms; /* best step; best triad on torch's threads */
  int threads;         /* as torch reports them */
  char version[64];
} torch_result;

/* torch.optim.Adam(foreach=True) on @p threads threads (OMP_NUM_THREADS
 * and torch.set_num_threads); false when torch is not available. */
static bool torch_adam(int steps, size_t threads, torch_result *r) {
#if defined(TORCH_SCRIPT) && defined(DEBIAN_PYTHON)
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=%zu '%s' '%s' %zu %d %zu "
           "2>/dev/null", threads, DEBIAN_PYTHON, TORCH_SCRIPT, N_PARAMS,
           steps, threads);
  FILE *f = popen(cmd, "r");
  if (f == NULL)
    return false;
  char line[256];
  bool ok = false;
  while (fgets(line, sizeof line, f) != NULL)
    ok = sscanf(line, "torch %63s threads %d ms_per_step %lf triad_ms %lf",
                r->version, &r->threads, &r->ms, &r->triad_ms) == 4;
  pclose(f);
  return ok;
#else
  (void)steps, (void)threads, (void)r;
  return false;
#endif
}

/* ---- the report ----------------------------------------------------------- */

static void print_row(size_t threads, const char *preset, size_t n_tensors,
                      const result *r) {
  char name[64];
  snprintf(name, sizeof name, "%s, %zu tensor%s", preset, n_tensors,
           n_tensors > 1 ? "s" : "");
  printf("%7zu  %-24s %6.2f ms %6.2f GB/s %6.2f GB/s %6.2f %6.2f GB/s "
         "%6.2f\n",
         threads, name, r->ms, r->gbs, r->triad1_gbs, r->gbs / r->triad1_gbs,
         r->triadt_gbs, r->gbs / r->triadt_gbs);
}

/* The torch line and the torch/ours ratios for adam on @p threads. */
static void print_torch(int steps, size_t threads, const result *adam,
                        size_t t_threads) {
  torch_result tr;
  if (!torch_adam(steps, threads, &tr)) {
    printf("torch, %zu thread%s: not available (Debian's python3 with torch "
           "needed)\n",
           threads, threads == 1 ? "" : "s");
    return;
  }
  /* Each run's time in units of a triad on as many threads measured beside
   * it: the ratio holds even when the machine's load changed between the
   * two runs. */
  double triad_gbs_same = threads == 1 ? adam->triad1_gbs : adam->triadt_gbs;
  double ours_triad_ms = 12.0 * (double)N_PARAMS / triad_gbs_same / 1e6;
  printf("torch %s Adam(foreach=True), %d thread%s: %.2f ms (its triad "
         "%.2f ms, ours on %zu thread%s %.2f ms)\n",
         tr.version, tr.threads, tr.threads == 1 ? "" : "s", tr.ms,
         tr.triad_ms, threads == 1 ? 1 : t_threads,
         threads == 1 ? "" : "s", ours_triad_ms);
  printf("  torch/ours for adam, both on %zu thread%s: %.1fx (target >= 10); "
         "in triad units (load-independent): %.1fx\n",
         threads, threads == 1 ? "" : "s", tr.ms / adam->ms,
         (tr.ms / tr.triad_ms) / (adam->ms / ours_triad_ms));
}

int main(int argc, char **argv) {
  int steps = argc > 1 ? atoi(argv[1]) : 10;
  long t_arg = argc > 2 ? atol(argv[2]) : 2;
  if (steps < 1)
    steps = 10;
  size_t t_threads = t_arg >= 1 && t_arg <= MAX_THREADS ? (size_t)t_arg : 2;
  printf("libevoopt %s: optimizer step on %zu parameters (2^24 floats), "
         "best of %d steps, on 1 and %zu threads\n"
         "triad a = b + s*c on arrays of the same size, on 1 and %zu "
         "threads, run before each step; GB/s as STREAM counts it "
         "(12 B/element)\n",
         evo_version_string(), N_PARAMS, steps, t_threads, t_threads);
  float *block = filled(3 * (N_PARAMS + TRIAD_PAD), 1);
  static triad_team tr1, trt;
  triad_new(&tr1, block, 1);
  triad_new(&trt, block, t_threads);
  static const char *const presets[] = {"sgd", "adam", "paper-evolved"};
  static const size_t tensor_counts[] = {1, 64};
  const size_t thread_counts[] = {1, t_threads};
  result adam[2] = {{0, 0, 0, 0}, {0, 0, 0, 0}};
  printf("%7s  %-24s %9s %11s %11s %6s %11s %6s\n", "threads", "optimizer",
         "step", "traffic", "triad 1T", "/1T", "triad TT", "/TT");
  for (size_t h = 0; h < (t_threads > 1 ? 2u : 1u); h++)
    for (size_t t = 0; t < 2; t++)
      for (size_t k = 0; k < 3; k++) {
        result r = bench_preset(presets[k], thread_counts[h],
                                tensor_counts[t], steps, &tr1, &trt);
        print_row(thread_counts[h], presets[k], tensor_counts[t], &r);
        if (t == 0 && strcmp(presets[k], "adam") == 0)
          adam[h] = r;
      }
  triad_free(&tr1);
  triad_free(&trt);
  free(block);
  printf("(/1T, /TT: ours/triad on 1 and %zu threads; the triad's write "
         "also costs a read, write-allocate: its true traffic is "
         "16 B/element, 4/3 of the figure shown)\n",
         t_threads);
  print_torch(steps, 1, &adam[0], t_threads);
  if (t_threads > 1)
    print_torch(steps, t_threads, &adam[1], t_threads);
  return 0;
}
