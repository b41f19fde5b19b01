/* The drop-in optimizer (optimizer.h): doc/algorithm.md §2 applied to tensors
 * in the caller's memory, one fused pass per tensor; state save and load in the
 * library's framed format (io_internal.h).
 *
 * Numerics: elements are float; the per-step scalars (η_s, decay factor,
 * bias corrections) are computed in double and rounded once to float. The
 * kernel uses no fused multiply-add and no reassociation, so every element's
 * result is the same with or without vectorisation and on every x86-64
 * level: a run is bit-reproducible across machines. */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "core/io_internal.h"
#include "core/option_internal.h"
#include "optimizer/optimizer_internal.h"

/* No FMA, also in the AVX-512 clones below: GCC contracts nothing in ISO
 * C mode, clang would. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

#define EVO_PI 3.14159265358979323846
/* doc/algorithm.md §2, NESTEROV: a constant, not β1 (as in the paper). */
#define NESTEROV_MIX 0.9f

/* ---- the kernel ---------------------------------------------------------- */

/* Everything one tensor's pass needs, scalars already rounded to float. */
typedef struct kernel_args {
  float *params;
  const float *grads;
  float *state; /* (m, v) pairs, or m or v alone (optimizer_internal.h) */
  size_t n;
  float grad_scale; /* EVO_OPT_GRAD_SCALE; 1 leaves g exactly as given */
  float lr;       /* η_s times the tensor's scale */
  float decay;    /* 1 - lr·λ; exactly 1 when decay is off (p·1 = p) */
  float clip;     /* c, or +inf without clipping (clamping is then exact) */
  float beta1, one_minus_beta1, beta2, one_minus_beta2;
  float m_corr;   /* 1/(1-β1^t) with bias correction and m, else 1 */
  float v_corr;   /* 1/sqrt(1-β2^t) with bias correction and v, else 1 */
  float eps;
  float alpha[EVO_TERM_COUNT]; /* α summed per term kind */
  uint32_t keep[EVO_TERM_COUNT]; /* all ones when the kind is present */
} kernel_args;

/* @p x when @p keep is all ones, +0 when it is zero: an absent term adds
 * exactly nothing, even where its formula would give NaN (e.g. 0·inf). */
static inline float gate(float x, uint32_t keep) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  u &= keep;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* sign(g) with sign(0) = 0 (doc/algorithm.md §2); a NaN stays NaN. Each select
 * evaluates its comparison unconditionally, so that GCC if-converts it
 * (nested selects would be control flow, which stops the vectoriser). */
static inline float sign_of(float g) {
  float s = g > 0.0f ? 1.0f : g;
  return g < 0.0f ? -1.0f : s;
}

/* clamp(g, -c, c), NaN kept; with c = +inf exactly g. */
static inline float clamp(float g, float c) {
  float lo = g < -c ? -c : g;
  return lo > c ? c : lo;
}

/* Which parts of the update an instance computes; compile-time constants
 * in each instance, so the loop has no branches. */
#define SHAPE_M 1u      /* keeps m */
#define SHAPE_V 2u      /* keeps v */
#define SHAPE_LINEAR 4u /* GRAD, MOMENTUM, NESTEROV or SIGN_GRAD present */
#define SHAPE_DIVIDE 8u /* RMS_NORM or ADAM_TERM present */
#define SHAPE_UNIT 16u  /* UNIT_GRAD present */

/* One fused pass (doc/algorithm.md §2 steps 1-6): reads p, g, m, v once and
 * writes p, m, v once; GCC vectorises it (the interleaved moments with even/odd
 * shuffles). Terms of a group that is compiled in but absent from the
 * genome are gated off. */
static inline __attribute__((always_inline)) void
update_pass(float *restrict p, const float *restrict gr, float *restrict st,
            const kernel_args *a, const unsigned shape) {
  const bool use_m = shape & SHAPE_M, use_v = shape & SHAPE_V;
  const bool linear = shape & SHAPE_LINEAR, divide = shape & SHAPE_DIVIDE;
  const bool unit = shape & SHAPE_UNIT;
  const size_t stride = (size_t)use_m + (size_t)use_v, v_at = use_m ? 1 : 0;
  const size_t n = a->n;
  const float lr = a->lr, decay = a->decay, c = a->clip, eps = a->eps;
  const float gs = a->grad_scale;
  const float b1 = a->beta1, ob1 = a->one_minus_beta1;
  const float b2 = a->beta2, ob2 = a->one_minus_beta2;
  const float mc = a->m_corr, vc = a->v_corr;
  const float *al = a->alpha;
  const uint32_t *k = a->keep;
  for (size_t i = 0; i < n; i++) {
    const float g = clamp(gs * gr[i], c);           /* 1: clipping */
    const float pd = p[i] * decay;                  /* 2: weight decay */
    float m = g, v = g * g;                         /* 3, 4: moments */
    if (use_m) {
      m = b1 * st[stride * i] + ob1 * g;
      st[stride * i] = m;
    }
    if (use_v) {
      v = b2 * st[stride * i + v_at] + ob2 * (g * g);
      st[stride * i + v_at] = v;
    }
    const float mh = m * mc;                        /* 5: bias correction */
    float u = 0.0f;                                 /* 6: Σ α_k T_k */
    if (linear)
      u = gate(al[EVO_TERM_GRAD] * g, k[EVO_TERM_GRAD]) +
          gate(al[EVO_TERM_MOMENTUM] * mh, k[EVO_TERM_MOMENTUM]) +
          gate(al[EVO_TERM_NESTEROV] * (mh + NESTEROV_MIX * (g - mh)),
               k[EVO_TERM_NESTEROV]) +
          gate(al[EVO_TERM_SIGN] * sign_of(g), k[EVO_TERM_SIGN]);
    if (divide) {
      float d = (gate(al[EVO_TERM_RMS_NORM] * g, k[EVO_TERM_RMS_NORM]) +
                 gate(al[EVO_TERM_ADAM] * mh, k[EVO_TERM_ADAM])) /
                (sqrtf(v) * vc + eps);
      u = linear ? u + d : d;
    }
    if (unit) {
      float t = al[EVO_TERM_UNIT] * (g / (fabsf(g) + eps));
      u = (linear || divide) ? u + t : t;
    }
    p[i] = pd - lr * u;
  }
}

/* On x86-64 every instance is also compiled for AVX2 and AVX-512, chosen
 * at load time. Measured with paper-evolved on 2^16 (in cache) and 2^24
 * (from memory) floats: AVX2 1.9x and 1.7x faster than SSE2, AVX-512 a
 * further 1.45x and 1.2x.
 * The results are bit-identical (IEEE operations only; no FMA, since ISO C
 * mode leaves contraction off). */
/* ThreadSanitizer's runtime is not up yet when the loader resolves the
 * ifuncs, so TSan builds go without clones. The kernels are static: clang
 * 14 links a multiversioned function only from its own file. */
#if defined(__clang__) && defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define EVO_NO_CLONES 1
#endif
#elif defined(__SANITIZE_THREAD__)
#define EVO_NO_CLONES 1
#endif
#if defined(__GNUC__) && defined(__x86_64__) &&                             \
    defined(__GLIBC__) /* target_clones needs the loader's ifunc support */ \
    && !defined(EVO_NO_CLONES)
#define EVO_KERNEL_CLONES                                                   \
  __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define EVO_KERNEL_CLONES
#endif

typedef void (*kernel_fn)(const kernel_args *a);

#define DEFINE_KERNEL(SHAPE)                                                \
  EVO_KERNEL_CLONES static void kernel_##SHAPE(const kernel_args *a) {      \
    update_pass(a->params, a->grads, a->state, a, SHAPE##u);                \
  }
/* The four moment layouts of one shape (SHAPE_M, SHAPE_V are bits 0, 1). */
#define DEFINE_KERNELS(S0, S1, S2, S3)                                      \
  DEFINE_KERNEL(S0) DEFINE_KERNEL(S1) DEFINE_KERNEL(S2) DEFINE_KERNEL(S3)
DEFINE_KERNELS(4, 5, 6, 7)     /* linear */
DEFINE_KERNELS(12, 13, 14, 15) /* linear + divide */
DEFINE_KERNELS(20, 21, 22, 23) /* linear + unit */
DEFINE_KERNELS(28, 29, 30, 31) /* linear + divide + unit */
/* Divide only (adam, adamw, rmsprop): without the gated linear group, 1.5x
 * faster in cache. */
DEFINE_KERNELS(8, 9, 10, 11)

/* Indexed by shape; pick_kernel() never asks for the missing ones. */
static const kernel_fn kernels[32] = {
    [4] = kernel_4,   [5] = kernel_5,   [6] = kernel_6,   [7] = kernel_7,
    [8] = kernel_8,   [9] = kernel_9,   [10] = kernel_10, [11] = kernel_11,
    [12] = kernel_12, [13] = kernel_13, [14] = kernel_14, [15] = kernel_15,
    [20] = kernel_20, [21] = kernel_21, [22] = kernel_22, [23] = kernel_23,
    [28] = kernel_28, [29] = kernel_29, [30] = kernel_30, [31] = kernel_31};

/* The instance for a genome: the divide-only fast path when RMS_NORM and
 * ADAM_TERM are its only terms, else the linear group plus whatever
 * divisions it needs. */
static kernel_fn pick_kernel(const evo_genome *g, const uint32_t *keep) {
  unsigned shape = (g->use_m ? SHAPE_M : 0) | (g->use_v ? SHAPE_V : 0);
  bool divide = keep[EVO_TERM_RMS_NORM] || keep[EVO_TERM_ADAM];
  bool only_divide = divide;
  for (int k = 0; k < EVO_TERM_COUNT; k++)
    if (keep[k] && k != EVO_TERM_RMS_NORM && k != EVO_TERM_ADAM)
      only_divide = false;
  if (only_divide)
    return kernels[shape | SHAPE_DIVIDE];
  shape |= SHAPE_LINEAR | (divide ? SHAPE_DIVIDE : 0) |
           (keep[EVO_TERM_UNIT] ? SHAPE_UNIT : 0);
  return kernels[shape];
}

/* ---- per-step coefficients ----------------------------------------------- */

/* The genome's part of the kernel arguments: the same for every tensor and
 * every step. Alphas of the same kind are summed. */
static void genome_args(const evo_genome *g, kernel_args *a, kernel_fn *fn) {
  double alpha[EVO_TERM_COUNT] = {0};
  memset(a, 0, sizeof *a);
  for (size_t k = 0; k < g->n_terms; k++) {
    alpha[g->terms[k]] += g->alphas[k];
    a->keep[g->terms[k]] = UINT32_MAX;
  }
  for (int k = 0; k < EVO_TERM_COUNT; k++)
    a->alpha[k] = (float)alpha[k];
  a->clip = g->use_gradient_clipping ? (float)g->clip_value : INFINITY;
  a->beta1 = (float)g->beta1;
  a->one_minus_beta1 = (float)(1.0 - g->beta1);
  a->beta2 = (float)g->beta2;
  a->one_minus_beta2 = (float)(1.0 - g->beta2);
  a->eps = (float)pow(10.0, g->eps_log10);
  a->grad_scale = 1.0f;
  *fn = pick_kernel(g, a->keep);
}

/* The tensor's part for its step number t (already incremented). */
static void tensor_args(const evo_genome *g, const evo_param_tensor *pt,
                        double lr_s, kernel_args *a) {
  double lr = lr_s * pt->lr_scale;
  double lambda = pow(10.0, g->wd_log10); /* 10^-inf = 0: no decay */
  a->params = pt->params;
  a->grads = pt->use_grad;
  a->state = pt->state;
  a->n = pt->n;
  a->lr = (float)lr;
  a->decay = (pt->weight_decay && lambda != 0.0) ? (float)(1.0 - lr * lambda)
                                                 : 1.0f;
  double t = (double)pt->t;
  bool bc = g->use_bias_correction;
  a->m_corr = (bc && g->use_m) ? (float)(1.0 / (1.0 - pow(g->beta1, t))) : 1.0f;
  a->v_corr =
      (bc && g->use_v) ? (float)(1.0 / sqrt(1.0 - pow(g->beta2, t))) : 1.0f;
}

/* doc/algorithm.md §2, η_s for global step @p s. Past S the cosine keeps going,
 * as PyTorch's CosineAnnealingLR does: the rate climbs back towards η over
 * (S, 2S] (documented in optimizer.h). The caller has checked that S is
 * set when the genome uses cosine decay (check_schedule). */
static double schedule(const evo_optimizer *opt, uint64_t s) {
  const evo_genome *g = &opt->genome;
  double lr = opt->base_lr;
  if (g->use_warmup && s < (uint64_t)g->warmup_steps)
    lr *= (double)(s + 1) / (double)g->warmup_steps;
  if (g->use_cosine_decay)
    lr *= 0.5 * (1.0 + cos(EVO_PI * (double)s / (double)opt->total_steps));
  return lr;
}

static int check_schedule(const evo_optimizer *opt, const char *fn) {
  if (opt->genome.use_cosine_decay && opt->total_steps == 0)
    return evo_set_error(EVO_ESTATE,
                         "%s: the genome uses cosine decay: call "
                         "evo_optimizer_set_total_steps() first",
                         fn);
  return EVO_OK;
}

/* ---- slicing a step across threads (EVO_OPT_THREADS) --------------------- */

/* The tensors are laid end to end (tensor k's elements at offset_k ..
 * offset_k + n_k - 1, W in all) and cut into m contiguous slices: slice i
 * is [b(i), b(i+1)), b(j) being j·W/m moved to the nearer edge of its
 * tensor when the tensor is small (not worth splitting), else down to a
 * 64-byte boundary of the tensor's parameters (a slice starts on a cache
 * line, so no line of parameters is written by two threads, and its loop
 * runs whole vectors from the start). Each element's update is the same
 * operations whichever thread runs it (no reduction), so the results do
 * not depend on m. */
#define SLICE_MIN ((size_t)1 << 16) /* elements: smaller tensors stay
                                     * whole; no slice is planned smaller */
#define SLICE_ALIGN 64              /* bytes */

/* The elements a step covers, [lo, lo + w) of the concatenation: all of
 * them for evo_optimizer_step(), one tensor's for
 * evo_optimizer_step_tensor(). The cuts below stay inside it, since a cut
 * only moves to an edge of the tensor it falls in. */
typedef struct span {
  size_t lo, w;
} span;

/* The number of slices of a span of @p w elements: one per thread, but
 * none under SLICE_MIN elements (waking a thread costs more than it
 * saves). */
static size_t span_slices(const evo_optimizer *opt, size_t w) {
  size_t m = w / SLICE_MIN;
  return m < 1 ? 1 : (m < opt->threads ? m : opt->threads);
}

size_t evo_optimizer_slices(const evo_optimizer *opt) {
  return span_slices(opt, opt->n_elements);
}

/* The tensor holding element @p e of the concatenation (e < W). */
static size_t tensor_of(const evo_optimizer *opt, size_t e) {
  size_t lo = 0, hi = opt->n_tensors; /* offset[lo] <= e < offset[hi] */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (opt->tensors[mid].offset <= e)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

/* b(j) of span @p sp cut into @p m slices; non-decreasing in j. */
static size_t span_boundary(const evo_optimizer *opt, span sp, size_t j,
                            size_t m) {
  size_t w = sp.w;
  if (j == 0 || j >= m)
    return j == 0 ? sp.lo : sp.lo + w;
  /* lo + j·w/m without overflow */
  size_t e = sp.lo + (w / m) * j + (w % m) * j / m;
  const evo_param_tensor *pt = &opt->tensors[tensor_of(opt, e)];
  size_t o = e - pt->offset;
  if (pt->n < SLICE_MIN) {
    o = o < pt->n - o ? 0 : pt->n;
  } else {
    size_t back = (size_t)((uintptr_t)(pt->params + o) % SLICE_ALIGN) /
                  sizeof(float);
    o = o < back ? 0 : o - back;
  }
  return pt->offset + o;
}

size_t evo_optimizer_boundary(const evo_optimizer *opt, size_t j, size_t m) {
  return span_boundary(opt, (span){0, opt->n_elements}, j, m);
}

/* Calls @p visit(ctx, k, lo, hi) for each tensor k that slice @p i of @p m
 * of span @p sp covers, with the part [lo, hi) of its elements, in tensor
 * order. */
typedef void (*piece_fn)(void *ctx, size_t k, size_t lo, size_t hi);

static void for_slice(const evo_optimizer *opt, span sp, size_t i, size_t m,
                      piece_fn visit, void *ctx) {
  size_t lo = span_boundary(opt, sp, i, m),
         hi = span_boundary(opt, sp, i + 1, m);
  if (lo >= hi)
    return;
  for (size_t k = tensor_of(opt, lo);
       k < opt->n_tensors && opt->tensors[k].offset < hi; k++) {
    const evo_param_tensor *pt = &opt->tensors[k];
    size_t a = lo > pt->offset ? lo - pt->offset : 0;
    size_t b = hi - pt->offset < pt->n ? hi - pt->offset : pt->n;
    visit(ctx, k, a, b);
  }
}

/* ---- the step ------------------------------------------------------------- */

/* The index of the first element of @p x that is not finite, or @p n. */
static size_t first_nonfinite(const float *x, size_t n) {
  uint32_t bad = 0; /* branch-free, so that the scan vectorises */
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &x[i], sizeof u);
    bad |= (uint32_t)((u & 0x7f800000u) == 0x7f800000u);
  }
  size_t i = 0;
  if (bad != 0)
    while (isfinite(x[i]))
      i++;
  return bad != 0 ? i : n;
}

/* EVO_OPT_REFUSE_NONFINITE's scan, one slice per thread: each slice keeps
 * the concatenation index of its first non-finite gradient. Tensors that
 * the step leaves alone (use_grad NULL) are not read. */
typedef struct scan_job {
  const evo_optimizer *opt;
  span sp;
  size_t first[EVO_OPT_MAX_THREADS]; /* per slice; SIZE_MAX: none */
} scan_job;

typedef struct scan_slice {
  const evo_optimizer *opt;
  size_t first;
} scan_slice;

static void scan_piece(void *ctx, size_t k, size_t lo, size_t hi) {
  scan_slice *sl = ctx;
  const evo_param_tensor *pt = &sl->opt->tensors[k];
  if (sl->first != SIZE_MAX || pt->use_grad == NULL)
    return; /* an earlier piece had one, or no gradient is read */
  size_t i = first_nonfinite(pt->use_grad + lo, hi - lo);
  if (i < hi - lo)
    sl->first = pt->offset + lo + i;
}

static void scan_task(void *ctx, size_t i, size_t m) {
  scan_job *j = ctx;
  scan_slice sl = {j->opt, SIZE_MAX};
  for_slice(j->opt, j->sp, i, m, scan_piece, &sl);
  j->first[i] = sl.first;
}

/* Scans before anything is written; reports the first non-finite element
 * in tensor order, whatever the slicing. */
static int scan_gradients(evo_optimizer *opt, span sp, size_t m,
                          const char *fn) {
  scan_job j;
  j.opt = opt;
  j.sp = sp;
  evo_workers_run(opt->team, m, scan_task, &j);
  size_t e = SIZE_MAX;
  for (size_t i = 0; i < m; i++)
    e = j.first[i] < e ? j.first[i] : e;
  if (e == SIZE_MAX)
    return EVO_OK;
  size_t k = tensor_of(opt, e), i = e - opt->tensors[k].offset;
  return evo_set_error(EVO_ENONFINITE,
                       "%s: gradient of tensor %zu, element %zu is %g: step "
                       "refused, nothing changed",
                       fn, k, i, (double)opt->tensors[k].use_grad[i]);
}

/* The update, one slice per thread. */
typedef struct update_job {
  const evo_optimizer *opt;
  span sp;
  kernel_args genome; /* genome_args() */
  kernel_fn fn;
  double lr_s;
} update_job;

static void update_piece(void *ctx, size_t k, size_t lo, size_t hi) {
  const update_job *j = ctx;
  const evo_param_tensor *pt = &j->opt->tensors[k];
  if (pt->use_grad == NULL)
    return; /* frozen, or no gradient for this step */
  kernel_args a = j->genome;
  tensor_args(&j->opt->genome, pt, j->lr_s, &a);
  a.params += lo;
  a.grads += lo;
  if (a.state != NULL)
    a.state += lo * evo_optimizer_moments(&j->opt->genome);
  a.n = hi - lo;
  j->fn(&a);
}

static void update_task(void *ctx, size_t i, size_t m) {
  const update_job *j = ctx;
  for_slice(j->opt, j->sp, i, m, update_piece, ctx);
}

/* Steps tensors [k0, k1) at global step @p s, each that has use_grad set:
 * the scan when refusing, then its t up by one and one pass. @p fn names
 * the API call in messages. */
static int run_step(evo_optimizer *opt, size_t k0, size_t k1, uint64_t s,
                    const char *fn) {
  size_t lo = opt->tensors[k0].offset;
  size_t hi = k1 < opt->n_tensors ? opt->tensors[k1].offset : opt->n_elements;
  span sp = {lo, hi - lo};
  const size_t m = span_slices(opt, sp.w);
  if (opt->refuse_nonfinite) {
    int rc = scan_gradients(opt, sp, m, fn);
    if (rc != EVO_OK)
      return rc;
  }
  update_job j;
  j.opt = opt;
  j.sp = sp;
  j.lr_s = schedule(opt, s);
  genome_args(&opt->genome, &j.genome, &j.fn);
  j.genome.grad_scale = (float)opt->grad_scale;
  for (size_t k = k0; k < k1; k++)
    if (opt->tensors[k].use_grad != NULL)
      opt->tensors[k].t++;
  evo_workers_run(opt->team, m, update_task, &j);
  return EVO_OK;
}

/* The gradient a step reads for @p pt (optimizer.h, "Gradients"): none
 * when frozen, else the one given for this step, else the bound one. */
static const float *step_grad(const evo_param_tensor *pt) {
  if (pt->frozen)
    return NULL;
  return pt->next_grad != NULL ? pt->next_grad : pt->grads;
}

/* The round of evo_optimizer_step_tensor() (optimizer.h, "Per-tensor
 * steps"): open while a tensor was stepped since s last advanced. */
static bool round_open(const evo_optimizer *opt) {
  for (size_t k = 0; k < opt->n_tensors; k++)
    if (opt->tensors[k].in_round)
      return true;
  return false;
}

/* Every tensor that is not frozen was stepped in the round. */
static bool round_complete(const evo_optimizer *opt) {
  for (size_t k = 0; k < opt->n_tensors; k++)
    if (!opt->tensors[k].frozen && !opt->tensors[k].in_round)
      return false;
  return true;
}

static void close_round(evo_optimizer *opt) {
  for (size_t k = 0; k < opt->n_tensors; k++)
    opt->tensors[k].in_round = false;
  opt->step++;
}

/* evo_optimizer_step() and evo_optimizer_step_grads(), named @p fn. */
static int step_all(evo_optimizer *opt, const char *fn) {
  if (opt->n_tensors == 0)
    return evo_set_error(EVO_ESTATE,
                         "%s: no tensors registered "
                         "(evo_optimizer_add_params)",
                         fn);
  int rc = check_schedule(opt, fn);
  if (rc != EVO_OK)
    return rc;
  size_t frozen = 0, missing = 0;
  for (size_t k = 0; k < opt->n_tensors; k++) {
    evo_param_tensor *pt = &opt->tensors[k];
    pt->use_grad = step_grad(pt);
    frozen += pt->frozen ? 1 : 0;
    missing += (!pt->frozen && pt->use_grad == NULL) ? 1 : 0;
  }
  if (frozen + missing == opt->n_tensors)
    return evo_set_error(EVO_ESTATE,
                         "%s: no tensor to update: %zu frozen, %zu without "
                         "a gradient (give one with "
                         "evo_optimizer_set_grad()); nothing changed",
                         fn, frozen, missing);
  bool open = round_open(opt);
  rc = run_step(opt, 0, opt->n_tensors, opt->step + (open ? 1 : 0), fn);
  if (rc != EVO_OK)
    return rc;
  if (open)
    close_round(opt);
  for (size_t k = 0; k < opt->n_tensors; k++)
    opt->tensors[k].next_grad = NULL;
  opt->step++;
  return EVO_OK;
}

EVO_API int evo_optimizer_step(evo_optimizer *opt) {
  EVO_CHECK_ARG(opt);
  return step_all(opt, __func__);
}

static int tensor_at(const evo_optimizer *opt, size_t index, const char *fn);
static int check_arrays(const char *fn, const float *params, const float *grads,
                        size_t n);
static bool overlap(const float *params, const float *grads, size_t n);

EVO_API int evo_optimizer_step_grads(evo_optimizer *opt,
                                     const float *const *grads, size_t count) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(grads);
  if (count != opt->n_tensors)
    return evo_set_error(EVO_EINVAL,
                         "%s: %zu gradient pointers for %zu tensors", __func__,
                         count, opt->n_tensors);
  for (size_t k = 0; k < count; k++)
    if (overlap(opt->tensors[k].params, grads[k], opt->tensors[k].n))
      return evo_set_error(EVO_EINVAL,
                           "%s: grads[%zu] overlaps the params of tensor %zu",
                           __func__, k, k);
  for (size_t k = 0; k < count; k++)
    if (grads[k] != NULL)
      opt->tensors[k].next_grad = grads[k];
  return step_all(opt, __func__);
}

EVO_API int evo_optimizer_set_grad(evo_optimizer *opt, size_t index,
                                   const float *grad) {
  EVO_CHECK_ARG(opt);
  int rc = tensor_at(opt, index, __func__);
  if (rc == EVO_OK)
    rc = check_arrays(__func__, opt->tensors[index].params, grad,
                      opt->tensors[index].n);
  if (rc != EVO_OK)
    return rc;
  opt->tensors[index].next_grad = grad;
  return EVO_OK;
}

EVO_API int evo_optimizer_step_tensor(evo_optimizer *opt, size_t index,
                                      const float *grad) {
  EVO_CHECK_ARG(opt);
  int rc = tensor_at(opt, index, __func__);
  if (rc == EVO_OK)
    rc = check_schedule(opt, __func__);
  if (rc == EVO_OK)
    rc = check_arrays(__func__, opt->tensors[index].params, grad,
                      opt->tensors[index].n);
  if (rc != EVO_OK)
    return rc;
  evo_param_tensor *pt = &opt->tensors[index];
  if (pt->frozen) {
    pt->next_grad = NULL; /* consumed: never read later */
    return EVO_OK;
  }
  pt->use_grad = grad != NULL ? grad : step_grad(pt);
  if (pt->use_grad == NULL)
    return evo_set_error(EVO_ESTATE,
                         "%s: tensor %zu has no gradient (pass one, or give "
                         "one with evo_optimizer_set_grad()); nothing "
                         "changed",
                         __func__, index);
  bool closes = pt->in_round; /* a second step of this tensor: new round */
  rc = run_step(opt, index, index + 1, opt->step + (closes ? 1 : 0), __func__);
  if (rc != EVO_OK)
    return rc;
  pt->next_grad = NULL;
  if (closes)
    close_round(opt);
  pt->in_round = true;
  if (round_complete(opt))
    close_round(opt);
  return EVO_OK;
}

EVO_API int evo_optimizer_current_lr(const evo_optimizer *opt, double *out) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(out);
  int rc = check_schedule(opt, __func__);
  if (rc != EVO_OK)
    return rc;
  *out = schedule(opt, opt->step);
  return EVO_OK;
}

EVO_API int evo_optimizer_step_count(const evo_optimizer *opt, uint64_t *out) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(out);
  *out = opt->step;
  return EVO_OK;
}

/* ---- creation, tensors, options ------------------------------------------ */

EVO_API int evo_optimizer_new(evo_optimizer **out, const evo_genome *g) {
  EVO_CHECK_ARG(out);
  EVO_CHECK_ARG(g);
  int rc = evo_genome_validate(g);
  if (rc != EVO_OK)
    return rc;
  evo_optimizer *opt = evo_calloc(1, sizeof *opt);
  if (opt == NULL)
    return EVO_ENOMEM;
  opt->genome = *g;
  opt->base_lr = pow(10.0, g->lr_log10);
  opt->grad_scale = 1.0;
  opt->threads = 1;
  *out = opt;
  return EVO_OK;
}

EVO_API void evo_optimizer_free(evo_optimizer *opt) {
  if (opt == NULL)
    return;
  for (size_t k = 0; k < opt->n_tensors; k++)
    free(opt->tensors[k].state);
  free(opt->tensors);
  evo_workers_free(opt->team);
  free(opt);
}

/* The kernel declares params and grads restrict: they must not overlap.
 * A NULL @p grads overlaps nothing. */
static bool overlap(const float *params, const float *grads, size_t n) {
  uintptr_t p = (uintptr_t)params, g = (uintptr_t)grads;
  uintptr_t bytes = (uintptr_t)n * sizeof(float);
  return grads != NULL && p < g + bytes && g < p + bytes;
}

/* @p params must be given; @p grads may be NULL (no gradient bound or
 * given). */
static int check_arrays(const char *fn, const float *params, const float *grads,
                        size_t n) {
  if (params == NULL)
    return evo_set_error(EVO_EINVAL, "%s: argument 'params' is NULL", fn);
  if (overlap(params, grads, n))
    return evo_set_error(EVO_EINVAL, "%s: params and grads overlap", fn);
  return EVO_OK;
}

/* Room for one more tensor. */
static int reserve_tensor(evo_optimizer *opt, const char *fn) {
  if (opt->n_tensors < opt->cap_tensors)
    return EVO_OK;
  size_t cap = opt->cap_tensors ? 2 * opt->cap_tensors : 8;
  evo_param_tensor *t = realloc(opt->tensors, cap * sizeof *t);
  if (t == NULL)
    return evo_set_error(EVO_ENOMEM, "%s: out of memory adding tensor %zu", fn,
                         opt->n_tensors);
  opt->tensors = t;
  opt->cap_tensors = cap;
  return EVO_OK;
}

EVO_API int evo_optimizer_add_params(evo_optimizer *opt, float *params,
                                     const float *grads, size_t n) {
  EVO_CHECK_ARG(opt);
  /* The bound keeps byte sizes and the step's slicing (Σ n) in range. */
  const size_t max_elements = SIZE_MAX / (2 * sizeof(float));
  if (n == 0 || n > max_elements - opt->n_elements)
    return evo_set_error(EVO_EINVAL,
                         "%s: n = %zu elements (%zu registered before)",
                         __func__, n, opt->n_elements);
  int rc = check_arrays(__func__, params, grads, n);
  if (rc == EVO_OK)
    rc = reserve_tensor(opt, __func__);
  if (rc != EVO_OK)
    return rc;
  evo_param_tensor pt = {.params = params,
                         .grads = grads,
                         .n = n,
                         .offset = opt->n_elements,
                         .lr_scale = 1.0,
                         .weight_decay = true};
  size_t moments = evo_optimizer_moments(&opt->genome);
  if (moments > 0 &&
      (pt.state = evo_calloc(n * moments, sizeof(float))) == NULL)
    return evo_wrap_error(EVO_ENOMEM, "%s", __func__);
  opt->tensors[opt->n_tensors++] = pt;
  opt->n_elements += n;
  return EVO_OK;
}

static int tensor_at(const evo_optimizer *opt, size_t index, const char *fn) {
  if (index >= opt->n_tensors)
    return evo_set_error(EVO_ERANGE, "%s: no tensor %zu (%zu registered)", fn,
                         index, opt->n_tensors);
  return EVO_OK;
}

EVO_API int evo_optimizer_rebind(evo_optimizer *opt, size_t index,
                                 float *params, const float *grads) {
  EVO_CHECK_ARG(opt);
  int rc = tensor_at(opt, index, __func__);
  if (rc == EVO_OK)
    rc = check_arrays(__func__, params, grads, opt->tensors[index].n);
  if (rc != EVO_OK)
    return rc;
  opt->tensors[index].params = params;
  opt->tensors[index].grads = grads;
  opt->tensors[index].next_grad = NULL; /* given for the old memory */
  return EVO_OK;
}

static int set_threads(evo_optimizer *opt, double value);

EVO_API int evo_optimizer_clone(evo_optimizer **out, const evo_optimizer *opt) {
  EVO_CHECK_ARG(out);
  EVO_CHECK_ARG(opt);
  evo_optimizer *c = evo_calloc(1, sizeof *c);
  if (c == NULL)
    return evo_wrap_error(EVO_ENOMEM, "%s", __func__);
  *c = *opt;
  c->team = NULL;
  c->threads = 1;
  c->tensors = NULL;
  c->n_tensors = c->cap_tensors = 0;
  int rc = EVO_OK;
  if (opt->n_tensors > 0 &&
      (c->tensors = evo_calloc(opt->n_tensors, sizeof *c->tensors)) == NULL)
    rc = EVO_ENOMEM;
  c->cap_tensors = c->tensors != NULL ? opt->n_tensors : 0;
  size_t moments = evo_optimizer_moments(&opt->genome);
  for (size_t k = 0; rc == EVO_OK && k < opt->n_tensors; k++) {
    evo_param_tensor pt = opt->tensors[k];
    pt.next_grad = pt.use_grad = NULL; /* never copied (optimizer.h) */
    if (pt.state != NULL) {
      pt.state = malloc(pt.n * moments * sizeof(float));
      if (pt.state == NULL) {
        rc = evo_set_error(EVO_ENOMEM, "out of memory");
        break;
      }
      memcpy(pt.state, opt->tensors[k].state, pt.n * moments * sizeof(float));
    }
    c->tensors[c->n_tensors++] = pt;
  }
  if (rc == EVO_OK && opt->threads > 1)
    rc = set_threads(c, (double)opt->threads);
  if (rc != EVO_OK) {
    evo_optimizer_free(c);
    return evo_wrap_error(rc, "%s", __func__);
  }
  *out = c;
  return EVO_OK;
}

EVO_API size_t evo_optimizer_param_count(const evo_optimizer *opt) {
  return opt == NULL ? 0 : opt->n_tensors;
}

static bool finite_nonneg(double x) { return isfinite(x) && x >= 0.0; }

/* A 0/1 switch. */
static bool is_switch(double value) {
  return value == 0.0 || value == 1.0;
}

/* A per-tensor 0/1 option, named @p what in the message. */
static int set_switch(bool *flag, double value, size_t index,
                      const char *what) {
  if (!is_switch(value))
    return evo_set_error(EVO_ERANGE,
                         "evo_optimizer_set_param_option: tensor %zu: %s must "
                         "be 0 or 1, not %g",
                         index, what, value);
  *flag = value == 1.0;
  return EVO_OK;
}

EVO_API int evo_optimizer_set_param_option(evo_optimizer *opt, size_t index,
                                           evo_param_option option,
                                           double value) {
  EVO_CHECK_ARG(opt);
  int rc = tensor_at(opt, index, __func__);
  if (rc != EVO_OK)
    return rc;
  evo_param_tensor *pt = &opt->tensors[index];
  switch (option) {
  case EVO_PARAM_LR_SCALE:
    if (!finite_nonneg(value))
      return evo_set_error(EVO_ERANGE,
                           "%s: tensor %zu: learning-rate scale "
                           "(EVO_PARAM_LR_SCALE) %g is not a finite value "
                           ">= 0",
                           __func__, index, value);
    pt->lr_scale = value;
    return EVO_OK;
  case EVO_PARAM_WEIGHT_DECAY:
    return set_switch(&pt->weight_decay, value, index,
                      "weight decay switch (EVO_PARAM_WEIGHT_DECAY)");
  case EVO_PARAM_FROZEN:
    return set_switch(&pt->frozen, value, index, "EVO_PARAM_FROZEN");
  }
  return evo_set_error(EVO_EINVAL, "%s: unknown per-tensor option %d", __func__,
                       (int)option);
}

EVO_API int evo_optimizer_get_param_option(const evo_optimizer *opt,
                                           size_t index,
                                           evo_param_option option,
                                           double *out) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(out);
  int rc = tensor_at(opt, index, __func__);
  if (rc != EVO_OK)
    return rc;
  const evo_param_tensor *pt = &opt->tensors[index];
  switch (option) {
  case EVO_PARAM_LR_SCALE: *out = pt->lr_scale; return EVO_OK;
  case EVO_PARAM_WEIGHT_DECAY:
    *out = pt->weight_decay ? 1.0 : 0.0;
    return EVO_OK;
  case EVO_PARAM_FROZEN: *out = pt->frozen ? 1.0 : 0.0; return EVO_OK;
  }
  return evo_set_error(EVO_EINVAL, "%s: unknown per-tensor option %d", __func__,
                       (int)option);
}

/* EVO_OPT_THREADS: a new team first, so that a failure keeps the old one. */
static int set_threads(evo_optimizer *opt, double value) {
  if (!(value >= 1.0 && value <= EVO_OPT_MAX_THREADS) || value != floor(value))
    return evo_set_error(EVO_ERANGE,
                         "evo_optimizer_set_option: EVO_OPT_THREADS must be "
                         "an integer from 1 to %d, not %g",
                         EVO_OPT_MAX_THREADS, value);
  size_t n = (size_t)value;
  if (n == opt->threads)
    return EVO_OK;
  evo_workers *team = NULL;
  int rc = n > 1 ? evo_workers_new(&team, n) : EVO_OK;
  if (rc != EVO_OK)
    return evo_wrap_error(rc, "EVO_OPT_THREADS = %zu", n);
  evo_workers_free(opt->team);
  opt->team = team;
  opt->threads = n;
  return EVO_OK;
}

/* EVO_OPT_GRAD_SCALE's range: finite, not zero, and within float (the
 * kernel multiplies in float). */
static bool grad_scale_ok(double value) {
  return isfinite(value) && value != 0.0 && fabs(value) <= FLT_MAX &&
         fabs(value) >= FLT_MIN;
}

EVO_API int evo_optimizer_set_option(evo_optimizer *opt,
                                     evo_optimizer_option option,
                                     double value) {
  EVO_CHECK_ARG(opt);
  switch (option) {
  case EVO_OPT_REFUSE_NONFINITE:
    if (!is_switch(value))
      return evo_set_error(EVO_ERANGE,
                           "%s: EVO_OPT_REFUSE_NONFINITE must be 0 or 1, not "
                           "%g",
                           __func__, value);
    opt->refuse_nonfinite = value == 1.0;
    return EVO_OK;
  case EVO_OPT_BASE_LR:
    if (!finite_nonneg(value))
      return evo_set_error(EVO_ERANGE,
                           "%s: EVO_OPT_BASE_LR %g is not a finite value >= "
                           "0",
                           __func__, value);
    opt->base_lr = value;
    return EVO_OK;
  case EVO_OPT_THREADS:
    return set_threads(opt, value);
  case EVO_OPT_GRAD_SCALE:
    if (!grad_scale_ok(value))
      return evo_set_error(EVO_ERANGE,
                           "%s: EVO_OPT_GRAD_SCALE %g is not a finite value "
                           "with magnitude in [%g, %g]",
                           __func__, value, (double)FLT_MIN, (double)FLT_MAX);
    opt->grad_scale = value;
    return EVO_OK;
  }
  return evo_set_error(EVO_EINVAL, "%s: unknown optimizer option %d", __func__,
                       (int)option);
}

EVO_API int evo_optimizer_get_option(const evo_optimizer *opt,
                                     evo_optimizer_option option,
                                     double *out) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(out);
  switch (option) {
  case EVO_OPT_REFUSE_NONFINITE:
    *out = opt->refuse_nonfinite ? 1.0 : 0.0;
    return EVO_OK;
  case EVO_OPT_BASE_LR:
    *out = opt->base_lr;
    return EVO_OK;
  case EVO_OPT_THREADS:
    *out = (double)opt->threads;
    return EVO_OK;
  case EVO_OPT_GRAD_SCALE: *out = opt->grad_scale; return EVO_OK;
  }
  return evo_set_error(EVO_EINVAL, "%s: unknown optimizer option %d", __func__,
                       (int)option);
}

/* ---- typed options (0.2; doc/api-conventions.md) ------------------------- */

/* Each key's value type and range, as optimizer.h documents them; the
 * checks themselves stay in the setters above. */
static const evo_option_spec opt_specs[] = {
    [EVO_OPT_REFUSE_NONFINITE] = {"EVO_OPT_REFUSE_NONFINITE", false, 0, 1, 0,
                                  0, 0},
    [EVO_OPT_BASE_LR] = {"EVO_OPT_BASE_LR", true, 0, 0, 0.0, DBL_MAX, 0.0},
    [EVO_OPT_THREADS] = {"EVO_OPT_THREADS", false, 1, EVO_OPT_MAX_THREADS, 0,
                         0, 0},
    [EVO_OPT_GRAD_SCALE] = {"EVO_OPT_GRAD_SCALE", true, 0, 0, -FLT_MAX,
                            FLT_MAX, FLT_MIN},
};
#define N_OPT_SPECS (sizeof opt_specs / sizeof opt_specs[0])

static const evo_option_spec param_specs[] = {
    [EVO_PARAM_LR_SCALE] = {"EVO_PARAM_LR_SCALE", true, 0, 0, 0.0, DBL_MAX,
                            0.0},
    [EVO_PARAM_WEIGHT_DECAY] = {"EVO_PARAM_WEIGHT_DECAY", false, 0, 1, 0, 0,
                                0},
    [EVO_PARAM_FROZEN] = {"EVO_PARAM_FROZEN", false, 0, 1, 0, 0, 0},
};
#define N_PARAM_SPECS (sizeof param_specs / sizeof param_specs[0])

/* The spec of an optimizer-wide key, or NULL with EVO_EINVAL set. */
static const evo_option_spec *opt_spec(evo_optimizer_option option,
                                       const char *fn) {
  if ((unsigned)option >= N_OPT_SPECS) {
    evo_set_error(EVO_EINVAL, "%s: unknown optimizer option %d", fn,
                  (int)option);
    return NULL;
  }
  return &opt_specs[option];
}

static const evo_option_spec *param_spec(evo_param_option option,
                                         const char *fn) {
  if ((unsigned)option >= N_PARAM_SPECS) {
    evo_set_error(EVO_EINVAL, "%s: unknown per-tensor option %d", fn,
                  (int)option);
    return NULL;
  }
  return &param_specs[option];
}

EVO_API int evo_optimizer_option_bounds(evo_optimizer_option option,
                                        evo_option_bounds *out) {
  EVO_CHECK_ARG(out);
  const evo_option_spec *s = opt_spec(option, __func__);
  if (s == NULL)
    return EVO_EINVAL;
  evo_option_spec_bounds(s, out);
  return EVO_OK;
}

EVO_API int evo_optimizer_set_option_i64(evo_optimizer *opt,
                                         evo_optimizer_option option,
                                         int64_t value) {
  EVO_CHECK_ARG(opt);
  const evo_option_spec *s = opt_spec(option, __func__);
  if (s == NULL)
    return EVO_EINVAL;
  int rc = evo_option_check_type(__func__, s, false);
  if (rc == EVO_OK)
    rc = evo_option_check_i64(__func__, s, value);
  /* in range, so exact as a double */
  return rc != EVO_OK ? rc : evo_optimizer_set_option(opt, option,
                                                      (double)value);
}

EVO_API int evo_optimizer_set_option_f64(evo_optimizer *opt,
                                         evo_optimizer_option option,
                                         double value) {
  EVO_CHECK_ARG(opt);
  const evo_option_spec *s = opt_spec(option, __func__);
  if (s == NULL)
    return EVO_EINVAL;
  int rc = evo_option_check_type(__func__, s, true);
  return rc != EVO_OK ? rc : evo_optimizer_set_option(opt, option, value);
}

EVO_API int evo_optimizer_get_option_i64(const evo_optimizer *opt,
                                         evo_optimizer_option option,
                                         int64_t *out) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(out);
  const evo_option_spec *s = opt_spec(option, __func__);
  if (s == NULL)
    return EVO_EINVAL;
  int rc = evo_option_check_type(__func__, s, false);
  double v = 0.0;
  if (rc == EVO_OK)
    rc = evo_optimizer_get_option(opt, option, &v);
  if (rc == EVO_OK)
    *out = (int64_t)v; /* an integer in the key's range */
  return rc;
}

EVO_API int evo_optimizer_get_option_f64(const evo_optimizer *opt,
                                         evo_optimizer_option option,
                                         double *out) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(out);
  const evo_option_spec *s = opt_spec(option, __func__);
  if (s == NULL)
    return EVO_EINVAL;
  int rc = evo_option_check_type(__func__, s, true);
  return rc != EVO_OK ? rc : evo_optimizer_get_option(opt, option, out);
}

EVO_API int evo_optimizer_param_option_bounds(evo_param_option option,
                                              evo_option_bounds *out) {
  EVO_CHECK_ARG(out);
  const evo_option_spec *s = param_spec(option, __func__);
  if (s == NULL)
    return EVO_EINVAL;
  evo_option_spec_bounds(s, out);
  return EVO_OK;
}

EVO_API int evo_optimizer_set_param_option_i64(evo_optimizer *opt,
                                               size_t index,
                                               evo_param_option option,
                                               int64_t value) {
  EVO_CHECK_ARG(opt);
  const evo_option_spec *s = param_spec(option, __func__);
  if (s == NULL)
    return EVO_EINVAL;
  int rc = evo_option_check_type(__func__, s, false);
  if (rc == EVO_OK)
    rc = tensor_at(opt, index, __func__);
  if (rc == EVO_OK)
    rc = evo_option_check_i64(__func__, s, value);
  return rc != EVO_OK ? rc : evo_optimizer_set_param_option(opt, index, option,
                                                            (double)value);
}

EVO_API int evo_optimizer_set_param_option_f64(evo_optimizer *opt,
                                               size_t index,
                                               evo_param_option option,
                                               double value) {
  EVO_CHECK_ARG(opt);
  const evo_option_spec *s = param_spec(option, __func__);
  if (s == NULL)
    return EVO_EINVAL;
  int rc = evo_option_check_type(__func__, s, true);
  return rc != EVO_OK ? rc : evo_optimizer_set_param_option(opt, index, option,
                                                            value);
}

EVO_API int evo_optimizer_get_param_option_i64(const evo_optimizer *opt,
                                               size_t index,
                                               evo_param_option option,
                                               int64_t *out) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(out);
  const evo_option_spec *s = param_spec(option, __func__);
  if (s == NULL)
    return EVO_EINVAL;
  int rc = evo_option_check_type(__func__, s, false);
  double v = 0.0;
  if (rc == EVO_OK)
    rc = evo_optimizer_get_param_option(opt, index, option, &v);
  if (rc == EVO_OK)
    *out = (int64_t)v; /* a 0/1 switch */
  return rc;
}

EVO_API int evo_optimizer_get_param_option_f64(const evo_optimizer *opt,
                                               size_t index,
                                               evo_param_option option,
                                               double *out) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(out);
  const evo_option_spec *s = param_spec(option, __func__);
  if (s == NULL)
    return EVO_EINVAL;
  int rc = evo_option_check_type(__func__, s, true);
  return rc != EVO_OK ? rc : evo_optimizer_get_param_option(opt, index, option,
                                                            out);
}

EVO_API int evo_optimizer_set_total_steps(evo_optimizer *opt,
                                          uint64_t total) {
  EVO_CHECK_ARG(opt);
  if (total == 0)
    return evo_set_error(EVO_ERANGE, "%s: total steps must be at least 1",
                         __func__);
  opt->total_steps = total;
  return EVO_OK;
}

EVO_API int evo_optimizer_get_total_steps(const evo_optimizer *opt,
                                          uint64_t *out) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(out);
  *out = opt->total_steps;
  return EVO_OK;
}

/* ---- state save and load ---------------------------------------------------
 * Payload of format version 2 (little-endian; framing in io_internal.h):
 *   genome: evo_genome_write's binary form (genome_internal.h)
 *   options: u8 refuse_nonfinite, f64 base_lr, f64 grad_scale
 *   schedule: u64 global step, u64 total steps (0: unset)
 *   u64 tensor count, then per tensor: u64 n, f64 lr_scale, u8 weight
 *           decay, u8 frozen, u8 stepped in the open round, u64 t, the
 *           moments as kept: n × (f32 m, f32 v) with both, n × f32 with
 *           one, nothing with none
 * Version 1 (still read) lacks grad_scale (then 1), frozen and the round
 * flag (then 0). Every double is stored as its bits, so genome and state
 * round-trip exactly. */

static const char state_magic[8] = {'E', 'V', 'O', 'O', 'P', 'T', 'S', '\0'};
#define STATE_VERSION 2u
#define STATE_VERSION_MIN 1u
#define STATE_WHAT "optimizer state"

EVO_API int evo_optimizer_save_mem(const evo_optimizer *opt, void **out,
                                   size_t *size) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(out);
  EVO_CHECK_ARG(size);
  evo_wbuf w = {0};
  evo_genome_write(&w, &opt->genome);
  evo_wbuf_u8(&w, opt->refuse_nonfinite ? 1 : 0);
  evo_wbuf_f64(&w, opt->base_lr);
  evo_wbuf_f64(&w, opt->grad_scale);
  evo_wbuf_u64(&w, opt->step);
  evo_wbuf_u64(&w, opt->total_steps);
  evo_wbuf_u64(&w, (uint64_t)opt->n_tensors);
  for (size_t k = 0; k < opt->n_tensors; k++) {
    const evo_param_tensor *pt = &opt->tensors[k];
    evo_wbuf_u64(&w, (uint64_t)pt->n);
    evo_wbuf_f64(&w, pt->lr_scale);
    evo_wbuf_u8(&w, pt->weight_decay ? 1 : 0);
    evo_wbuf_u8(&w, pt->frozen ? 1 : 0);
    evo_wbuf_u8(&w, pt->in_round ? 1 : 0);
    evo_wbuf_u64(&w, pt->t);
    if (pt->state != NULL)
      evo_wbuf_f32s(&w, pt->state,
                    pt->n * evo_optimizer_moments(&opt->genome));
  }
  unsigned char *buf = NULL;
  int rc = evo_frame_wrap(state_magic, STATE_VERSION, &w, &buf, size);
  evo_wbuf_free(&w);
  if (rc != EVO_OK)
    return evo_set_error(rc, "cannot save the optimizer state: %s",
                         evo_status_str(rc));
  *out = buf;
  return EVO_OK;
}

static int state_corrupt(const char *why) {
  return evo_set_error(EVO_EFORMAT, STATE_WHAT ": %s", why);
}

/* EVO_EMISMATCH naming both genomes, so that the user sees which. */
static int genome_mismatch(const evo_genome *saved, const evo_genome *ours) {
  char *a = NULL, *b = NULL;
  if (evo_genome_describe(saved, &a) != EVO_OK ||
      evo_genome_describe(ours, &b) != EVO_OK) {
    free(a);
    return evo_set_error(EVO_EMISMATCH, STATE_WHAT ": saved for another "
                                        "genome");
  }
  int rc = evo_set_error(EVO_EMISMATCH,
                         STATE_WHAT ": saved for another genome (state: %s; "
                         "this optimizer: %s)",
                         a, b);
  free(a);
  free(b);
  return rc;
}

/* Skips (check pass) or reads (apply pass) @p n floats into @p dst. */
static void read_moments(evo_rbuf *r, float *dst, size_t n, bool apply) {
  if (apply) {
    evo_rbuf_f32s(r, dst, n);
  } else if ((r->size - r->pos) / sizeof(float) < n) {
    r->ok = false;
  } else {
    r->pos += n * sizeof(float);
  }
}

/* One tensor's record of format @p version. */
static int read_tensor(evo_optimizer *opt, size_t k, evo_rbuf *r,
                       uint32_t version, bool apply) {
  evo_param_tensor *pt = &opt->tensors[k];
  uint64_t n = evo_rbuf_u64(r);
  double lr_scale = evo_rbuf_f64(r);
  uint8_t wd = evo_rbuf_u8(r);
  uint8_t frozen = version >= 2 ? evo_rbuf_u8(r) : 0;
  uint8_t in_round = version >= 2 ? evo_rbuf_u8(r) : 0;
  uint64_t t = evo_rbuf_u64(r);
  if (!r->ok)
    return state_corrupt("truncated tensor record");
  if (n != (uint64_t)pt->n)
    return evo_set_error(EVO_EMISMATCH,
                         STATE_WHAT ": tensor %zu has %llu elements in the "
                         "state but %zu in this optimizer",
                         k, (unsigned long long)n, pt->n);
  if (!finite_nonneg(lr_scale) || wd > 1 || frozen > 1 || in_round > 1)
    return state_corrupt("invalid per-tensor option");
  if (pt->state != NULL)
    read_moments(r, pt->state, pt->n * evo_optimizer_moments(&opt->genome),
                 apply);
  if (!r->ok)
    return state_corrupt("truncated moments");
  if (apply) {
    pt->lr_scale = lr_scale;
    pt->weight_decay = wd == 1;
    pt->frozen = frozen == 1;
    pt->in_round = in_round == 1;
    pt->t = t;
    pt->next_grad = NULL; /* given before the load: never read after it */
  }
  return EVO_OK;
}

/* Parses a payload of format @p version; with @p apply false only checks
 * it (the optimizer is not touched), with @p apply true (after a
 * successful check, so it cannot fail) stores it. */
static int read_state(evo_optimizer *opt, evo_rbuf *r, uint32_t version,
                      bool apply) {
  evo_genome saved;
  if (evo_genome_read(r, &saved) != NULL || !r->ok)
    return state_corrupt("damaged genome record");
  if (!evo_genome_equal(&saved, &opt->genome))
    return genome_mismatch(&saved, &opt->genome);
  uint8_t refuse = evo_rbuf_u8(r);
  double base_lr = evo_rbuf_f64(r);
  double grad_scale = version >= 2 ? evo_rbuf_f64(r) : 1.0;
  uint64_t step = evo_rbuf_u64(r), total = evo_rbuf_u64(r);
  uint64_t count = evo_rbuf_u64(r);
  if (!r->ok)
    return state_corrupt("truncated header");
  if (refuse > 1 || !finite_nonneg(base_lr) || !grad_scale_ok(grad_scale))
    return state_corrupt("invalid optimizer option");
  if (count != (uint64_t)opt->n_tensors)
    return evo_set_error(EVO_EMISMATCH,
                         STATE_WHAT ": %llu tensors in the state but %zu in "
                         "this optimizer",
                         (unsigned long long)count, opt->n_tensors);
  for (size_t k = 0; k < opt->n_tensors; k++) {
    int rc = read_tensor(opt, k, r, version, apply);
    if (rc != EVO_OK)
      return rc;
  }
  if (r->pos != r->size)
    return state_corrupt("trailing bytes after the last tensor");
  if (apply) {
    opt->refuse_nonfinite = refuse == 1;
    opt->base_lr = base_lr;
    opt->grad_scale = grad_scale;
    opt->step = step;
    opt->total_steps = total;
  }
  return EVO_OK;
}

EVO_API int evo_optimizer_load_mem(evo_optimizer *opt, const void *buf,
                                   size_t size) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(buf);
  uint32_t version;
  const unsigned char *payload;
  size_t n;
  int rc = evo_frame_open(state_magic, STATE_WHAT, buf, size, &version,
                          &payload, &n);
  if (rc != EVO_OK)
    return rc;
  if (version < STATE_VERSION_MIN || version > STATE_VERSION)
    return evo_set_error(EVO_EFORMAT,
                         STATE_WHAT ": format version %u (this library "
                                    "reads versions %u to %u)",
                         version, STATE_VERSION_MIN, STATE_VERSION);
  evo_rbuf check = {payload, n, 0, true};
  rc = read_state(opt, &check, version, false);
  if (rc != EVO_OK)
    return rc;
  evo_rbuf apply = {payload, n, 0, true};
  return read_state(opt, &apply, version, true);
}

EVO_API int evo_optimizer_save(const evo_optimizer *opt, const char *path) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(path);
  void *buf;
  size_t size;
  int rc = evo_optimizer_save_mem(opt, &buf, &size);
  if (rc != EVO_OK)
    return rc;
  rc = evo_write_file_atomic(path, buf, size);
  free(buf);
  return rc;
}

/* The payload of this optimizer's state as evo_optimizer_save_mem() writes
 * it (format 2, larger than 1): the most evo_optimizer_load() ever
 * inflates. */
static size_t state_payload_bytes(const evo_optimizer *opt) {
  size_t bytes = EVO_GENOME_BYTES + 1 + 8 + 8 + 8 + 8 + 8;
  size_t moments = evo_optimizer_moments(&opt->genome);
  for (size_t k = 0; k < opt->n_tensors; k++)
    bytes += 8 + 8 + 1 + 1 + 1 + 8 +
             (opt->tensors[k].state ? 4 * opt->tensors[k].n * moments : 0);
  return bytes;
}

/* A state declaring more than this optimizer's @p ours payload bytes:
 * only that many are read, enough to name the first field that differs
 * (another genome, tensor count or size); never the whole file, which may
 * be a gzip bomb. */
static int oversized_state(evo_optimizer *opt, const char *path,
                           uint32_t version, uint64_t declared, size_t ours) {
  unsigned char *head = malloc(EVO_FRAME_HEAD + ours);
  if (head == NULL)
    return evo_set_error(EVO_ENOMEM, "out of memory reading '%s'", path);
  size_t got = 0;
  int rc = evo_read_file_head(path, head, EVO_FRAME_HEAD + ours, &got);
  if (rc == EVO_OK) {
    size_t body = got > EVO_FRAME_HEAD ? got - EVO_FRAME_HEAD : 0;
    evo_rbuf r = {head + EVO_FRAME_HEAD, body, 0, true};
    /* the check pass: nothing written */
    rc = read_state(opt, &r, version, false);
    if (rc == EVO_OK)
      rc = evo_set_error(EVO_EFORMAT,
                         STATE_WHAT ": declares %llu bytes, more than the "
                         "%zu of this optimizer's state (damaged or padded)",
                         (unsigned long long)declared, ours);
    rc = evo_wrap_error(rc, "'%s'", path);
  }
  free(head);
  return rc;
}

EVO_API int evo_optimizer_load(evo_optimizer *opt, const char *path) {
  EVO_CHECK_ARG(opt);
  EVO_CHECK_ARG(path);
  uint32_t version = 0;
  uint64_t declared = 0;
  int rc = evo_frame_peek(path, state_magic, STATE_WHAT, &version, &declared);
  if (rc != EVO_OK)
    return rc;
  if (version < STATE_VERSION_MIN || version > STATE_VERSION)
    return evo_set_error(EVO_EFORMAT,
                         "'%s': " STATE_WHAT ": format version %u (this "
                         "library reads versions %u to %u)",
                         path, version, STATE_VERSION_MIN, STATE_VERSION);
  size_t ours = state_payload_bytes(opt);
  if (declared > ours)
    return oversized_state(opt, path, version, declared, ours);
  unsigned char *buf;
  size_t size;
  /* One byte more than declared, so that a padded file is named so. */
  rc = evo_read_file(path, EVO_FRAME_BYTES + (size_t)declared + 1, &buf,
                     &size);
  if (rc != EVO_OK)
    return rc;
  rc = evo_optimizer_load_mem(opt, buf, size);
  free(buf);
  if (rc != EVO_OK)
    return evo_wrap_error(rc, "'%s'", path);
  return EVO_OK;
}
