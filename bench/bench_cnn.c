/* CNN training throughput (issue 3): images/s of SmallCNN and Cifar10CNN
 * training steps (forward with dropout, loss, backward, a plain SGD step) at
 * batch 128 with 1 and 2 BLAS threads, the GFLOP/s reached in the conv
 * layers beside OpenBLAS's sgemm GFLOP/s on comparable shapes, and
 * PyTorch's images/s on the same networks in the same run
 * (bench_cnn_torch.py through /usr/bin/python3; skipped without torch).
 *
 * Usage: bench_cnn [SECONDS per measurement, default 3]
 *
 * Images/s are per second of wall clock, measured back to back in the same
 * run; with one thread the images per second of process CPU time are
 * printed too, a fairer clock when other processes share the machine.
 *
 * Threads: "t threads" is t engine threads (evo_net_set_threads: every
 * layer's loops and products are cut into slices for them) and ONE BLAS
 * thread, set here with openblas_set_num_threads(1) (the library never
 * changes the BLAS's threads; OPENBLAS_NUM_THREADS=1 does the same). More
 * BLAS threads only hurt: the engine's per-chunk products are below
 * OpenBLAS's threading size, and OpenBLAS's idle threads busy-wait for a
 * while (OPENBLAS_THREAD_TIMEOUT) after each threaded call, taking the core
 * the engine's second thread needs. PyTorch runs with t threads
 * (torch.set_num_threads and OMP/OPENBLAS/MKL_NUM_THREADS=t). Conv FLOPs:
 * 2·Cout·Cin·9·H·W·N per forward, twice that per backward (once for the
 * first layer, which needs no input gradient). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/nn_internal.h"

#define BATCH 128
#ifndef BENCH_DIR
#define BENCH_DIR "bench"
#endif

static double clock_s(clockid_t id) {
  struct timespec ts;
  clock_gettime(id, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double now(void) {
  return clock_s(CLOCK_MONOTONIC);
}
static double cpu_now(void) {
  return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

typedef struct run {
  double img_s, img_cpu_s; /* per second of wall clock, of CPU time */
  double conv_gflops;
  evo_net_timing t;
  double step_s;
} run;

static void sgd(evo_net *net, float lr) {
  float *p = evo_net_params(net);
  const float *g = evo_net_grads(net);
  for (size_t i = 0, n = evo_net_param_count(net); i < n; i++)
    p[i] -= lr * g[i];
}

static int train_steps(evo_net *net, const float *x, const uint8_t *y,
                       evo_rng *rng, size_t steps) {
  for (size_t s = 0; s < steps; s++) {
    double loss;
    int rc = evo_net_forward(net, x, BATCH, true, rng);
    if (!rc)
      rc = evo_net_loss(net, y, &loss);
    if (!rc)
      rc = evo_net_backward(net);
    if (rc)
      return rc;
    sgd(net, 0.01f);
  }
  return 0;
}

static int bench_net(evo_arch arch, int threads, double seconds, run *r) {
  evo_net *net;
  evo_rng rng;
  int rc = evo_net_new(&net, arch, BATCH);
  if (rc)
    return rc;
  openblas_set_num_threads(1);
  evo_rng_seed(&rng, 1);
  evo_net_init(net, &rng);
  size_t nx = BATCH * evo_net_input_size(net);
  float *x = malloc(nx * sizeof *x);
  uint8_t *y = malloc(BATCH);
  if ((rc = evo_net_set_threads(net, (size_t)threads)))
    goto done;
  if (!x || !y) {
    rc = -2;
    goto done;
  }
  for (size_t i = 0; i < nx; i++)
    x[i] = (float)evo_rng_normal(&rng);
  for (size_t i = 0; i < BATCH; i++)
    y[i] = (uint8_t)evo_rng_below(&rng, 10);
  if ((rc = train_steps(net, x, y, &rng, 2)))
    goto done;
  evo_net_set_timing(net, true);
  size_t steps = 0;
  double t0 = now(), c0 = cpu_now(), el;
  do {
    if ((rc = train_steps(net, x, y, &rng, 1)))
      goto done;
    steps++;
    el = now() - t0;
  } while (el < seconds);
  evo_net_get_timing(net, &r->t);
  r->img_s = (double)(BATCH * steps) / el;
  r->img_cpu_s = (double)(BATCH * steps) / (cpu_now() - c0);
  r->step_s = el / (double)steps;
  const double *f = r->t.flops[EVO_LAYER_CONV],
               *s = r->t.seconds[EVO_LAYER_CONV];
  r->conv_gflops = (f[0] + f[1]) / (s[0] + s[1]) * 1e-9;
  for (int k = 0; k < EVO_LAYER_KIND_COUNT; k++)
    for (int d = 0; d < 2; d++)
      r->t.seconds[k][d] /= (double)steps;
done:
  free(x);
  free(y);
  evo_net_free(net);
  return rc;
}

/* sgemm GFLOP/s of C[m][n] = A[m][k] × B[n][k]ᵀ, the conv's orientation. */
static double sgemm_gflops(int threads, int m, int n, int k, double seconds) {
  float *a = malloc(sizeof(float) * (size_t)m * (size_t)k);
  float *b = malloc(sizeof(float) * (size_t)n * (size_t)k);
  float *c = malloc(sizeof(float) * (size_t)m * (size_t)n);
  double gf = 0.0;
  if (a && b && c) {
    openblas_set_num_threads(threads);
    for (size_t i = 0; i < (size_t)m * (size_t)k; i++)
      a[i] = (float)(i % 13) * 0.01f;
    for (size_t i = 0; i < (size_t)n * (size_t)k; i++)
      b[i] = (float)(i % 7) * 0.01f;
    size_t reps = 0;
    double t0 = now(), el;
    do {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, a, k,
                  b, k, 0.0f, c, n);
      reps++;
      el = now() - t0;
    } while (el < seconds);
    gf = 2.0 * m * (double)n * k * (double)reps / el * 1e-9;
  }
  free(a);
  free(b);
  free(c);
  return gf;
}

/* PyTorch's images/s per wall-clock and per CPU second from
 * bench_cnn_torch.py; < 0 when unavailable. */
static void torch_img_s(const char *arch, int threads, double seconds,
                        double *wall, double *cpu) {
  char cmd[512], line[256];
  /* torch.set_num_threads does not reach the BLAS under PyTorch's linear
   * layers (OpenBLAS on Debian, all cores by default): the environment
   * does. */
  snprintf(cmd, sizeof cmd,
           "OMP_NUM_THREADS=%d OPENBLAS_NUM_THREADS=%d MKL_NUM_THREADS=%d "
           "/usr/bin/python3 %s/bench_cnn_torch.py %s %d %d %g 2>/dev/null",
           threads, threads, threads, BENCH_DIR, arch, threads, BATCH, seconds);
  FILE *p = popen(cmd, "r");
  *wall = *cpu = -1.0;
  if (!p)
    return;
  while (fgets(line, sizeof line, p)) {
    sscanf(line, "images_per_s %lf", wall);
    sscanf(line, "images_per_cpu_s %lf", cpu);
  }
  pclose(p);
}

static void print_breakdown(const run *r) {
  printf("    per step %.1f ms:", r->step_s * 1e3);
  for (int k = 0; k < EVO_LAYER_KIND_COUNT; k++) {
    double s = r->t.seconds[k][0] + r->t.seconds[k][1];
    if (s > 0)
      printf(" %s %.1f+%.1f", evo_layer_kind_name((evo_layer_kind)k),
             r->t.seconds[k][0] * 1e3, r->t.seconds[k][1] * 1e3);
  }
  printf(" ms (fwd+bwd)\n");
}

int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 3.0;
  /* The largest conv of each net as one batch-wide GEMM
   * [N·H·W × 9·Cin] × [9·Cin × Cout], and a cache-sized 1024-row block. */
  static const struct {
    evo_arch arch;
    int pixels, k, cout;
  } nets[] = {{EVO_ARCH_SMALL_CNN, BATCH * 14 * 14, 288, 64},
              {EVO_ARCH_CIFAR10_CNN, BATCH * 32 * 32, 288, 32}};
  int status = 0;
  printf("batch %d, %g s per measurement\n", BATCH, seconds);
  for (size_t a = 0; a < sizeof nets / sizeof nets[0]; a++) {
    const char *name = evo_arch_name(nets[a].arch);
    for (int threads = 1; threads <= 2; threads++) {
      run r;
      if (bench_net(nets[a].arch, threads, seconds, &r)) {
        fprintf(stderr, "bench_cnn: %s failed\n", name);
        status = 1;
        continue;
      }
      double big = sgemm_gflops(threads, nets[a].pixels, nets[a].cout,
                                nets[a].k, seconds / 3);
      double blk =
          sgemm_gflops(threads, 1024, nets[a].cout, nets[a].k, seconds / 3);
      double pt, pt_cpu;
      torch_img_s(name, threads, seconds, &pt, &pt_cpu);
      printf("%-12s %d thread%s: %7.1f images/s", name, threads,
             threads > 1 ? "s" : " ", r.img_s);
      if (pt > 0)
        printf("   PyTorch %7.1f images/s   ratio %.2f\n", pt, r.img_s / pt);
      else
        printf("   PyTorch: skipped (no torch at /usr/bin/python3)\n");
      /* With one thread, CPU time is a fair clock on a busy machine. */
      if (threads == 1 && pt_cpu > 0)
        printf("    per CPU second: %.1f images against PyTorch's %.1f, "
               "ratio %.2f\n",
               r.img_cpu_s, pt_cpu, r.img_cpu_s / pt_cpu);
      printf("    conv layers %.1f GFLOP/s; sgemm %dx%dx%d %.1f GFLOP/s "
             "(ratio %.2f), 1024-row block %.1f GFLOP/s (ratio %.2f)\n",
             r.conv_gflops, nets[a].pixels, nets[a].cout, nets[a].k, big,
             r.conv_gflops / big, blk, r.conv_gflops / blk);
      print_breakdown(&r);
    }
  }
  return status;
}
