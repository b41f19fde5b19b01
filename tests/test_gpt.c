/* Check suite for the character-level GPT of libevoopt/nn/gpt.c (issue 12;
 * doc/algorithm.md §7): its size by formula, its tensors and their kinds,
 * its initialisation, the gradient of the whole model against central
 * finite differences, the same bits for any thread count, and no
 * allocation in a training step. Parity with PyTorch is the separate test
 * gpt_parity (tests/ref/gpt_parity.py). */
#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "nn/gpt_internal.h"
#include "nn_testlib.h"

/* ---- counting allocations (not under a sanitizer, which owns malloc) -- */

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define NO_MALLOC_COUNT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) ||   \
    __has_feature(thread_sanitizer)
#define NO_MALLOC_COUNT 1
#endif
#endif

#ifndef NO_MALLOC_COUNT
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
static volatile int counting;
static volatile long allocations;
void *malloc(size_t n) {
  if (counting)
    allocations++;
  return __libc_malloc(n);
}
void *calloc(size_t a, size_t b) {
  if (counting)
    allocations++;
  return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n) {
  if (counting)
    allocations++;
  return __libc_realloc(p, n);
}
void *aligned_alloc(size_t a, size_t n) {
  if (counting)
    allocations++;
  return __libc_memalign(a, n);
}
#endif

/* ---- helpers ------------------------------------------------------------ */

static const evo_gpt_config tiny = {7, 5, 8, 2, 2}; /* V, T, d, heads, L */

static evo_gpt *new_model(const evo_gpt_config *c, size_t batch,
                          uint64_t seed) {
  evo_gpt *m = NULL;
  ck_assert_int_eq(evo_gpt_new(&m, c, batch), EVO_OK);
  evo_rng rng;
  evo_rng_seed(&rng, seed);
  evo_gpt_init(m, &rng);
  return m;
}

static void draw_tokens(uint8_t *tok, uint8_t *tgt, size_t n, size_t vocab,
                        evo_rng *rng) {
  for (size_t i = 0; i < n; i++) {
    tok[i] = (uint8_t)evo_rng_below(rng, vocab);
    tgt[i] = (uint8_t)evo_rng_below(rng, vocab);
  }
}

/* ---- size and layout ---------------------------------------------------- */

START_TEST(char_model_has_818241_parameters) {
  /* doc/algorithm.md §7 by hand: wte 65·128 = 8,320; wpe 64·128 = 8,192;
   * a block: 2 LayerNorms 2·256, qkv 128·384 + 384 = 49,536, projection
   * 128·128 + 128 = 16,512, MLP 128·512 + 512 = 66,048 and
   * 512·128 + 128 = 65,664, so 198,272; ln_f 256; head 65·128 + 65 =
   * 8,385. Total 8,320 + 8,192 + 4·198,272 + 256 + 8,385 = 818,241. */
  const size_t block = 2 * 256 + 49536 + 16512 + 66048 + 65664;
  ck_assert_uint_eq(block, 198272);
  const size_t want = 8320 + 8192 + 4 * block + 256 + 8385;
  ck_assert_uint_eq(want, 818241);
  evo_gpt_config c = EVO_GPT_CHAR_CONFIG;
  ck_assert_uint_eq(evo_gpt_config_params(&c), want);
  evo_gpt *m = NULL;
  ck_assert_int_eq(evo_gpt_new(&m, &c, 2), EVO_OK);
  ck_assert_uint_eq(evo_gpt_param_count(m), want);
  ck_assert_uint_eq(evo_gpt_tensor_count(m), 2 + 4 * 12 + 4);
  /* Names, sizes and kinds of a few tensors; offsets contiguous. */
  const evo_net_tensor *t = evo_gpt_tensor_at(m, 0);
  ck_assert_str_eq(t->name, "wte.weight");
  ck_assert_uint_eq(t->size, 8320);
  ck_assert_int_eq(t->kind, EVO_TENSOR_EMBEDDING);
  t = evo_gpt_tensor_at(m, 1);
  ck_assert_str_eq(t->name, "wpe.weight");
  ck_assert_uint_eq(t->size, 8192);
  ck_assert_int_eq(t->kind, EVO_TENSOR_EMBEDDING);
  t = evo_gpt_tensor_at(m, 2 + 12 * 3 + 4);
  ck_assert_str_eq(t->name, "h.3.attn.c_proj.weight");
  ck_assert_uint_eq(t->size, 128 * 128);
  ck_assert_int_eq(t->kind, EVO_TENSOR_WEIGHT);
  t = evo_gpt_tensor_at(m, 2 + 6);
  ck_assert_str_eq(t->name, "h.0.ln2.weight");
  ck_assert_int_eq(t->kind, EVO_TENSOR_LN_WEIGHT);
  t = evo_gpt_tensor_at(m, 2 + 9);
  ck_assert_str_eq(t->name, "h.0.mlp.c_fc.bias");
  ck_assert_uint_eq(t->size, 512);
  ck_assert_int_eq(t->kind, EVO_TENSOR_BIAS);
  t = evo_gpt_tensor_at(m, 53);
  ck_assert_str_eq(t->name, "lm_head.bias");
  ck_assert_uint_eq(t->size, 65);
  ck_assert_ptr_null(evo_gpt_tensor_at(m, 54));
  size_t off = 0;
  for (size_t i = 0; i < evo_gpt_tensor_count(m); i++) {
    ck_assert_uint_eq(evo_gpt_tensor_at(m, i)->offset, off);
    off += evo_gpt_tensor_at(m, i)->size;
  }
  ck_assert_uint_eq(off, want);
  evo_gpt_free(m);
}
END_TEST

START_TEST(bad_configurations_refused) {
  evo_gpt *m = (evo_gpt *)&m;
  evo_gpt_config c = {65, 64, 130, 4, 4}; /* 130 not a multiple of 4 */
  ck_assert_int_eq(evo_gpt_new(&m, &c, 2), EVO_EINVAL);
  ck_assert_ptr_null(m);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "130"));
  c = (evo_gpt_config){300, 64, 128, 4, 4};
  ck_assert_int_eq(evo_gpt_new(&m, &c, 2), EVO_EINVAL);
  c = (evo_gpt_config){65, 64, 128, 4, 0};
  ck_assert_int_eq(evo_gpt_new(&m, &c, 2), EVO_EINVAL);
  c = (evo_gpt_config){65, 64, 128, 4, 4};
  ck_assert_int_eq(evo_gpt_new(&m, &c, 0), EVO_EINVAL);
  ck_assert_int_eq(evo_gpt_new(&m, NULL, 2), EVO_EINVAL);
  evo_gpt_free(NULL);
  /* Bad tokens, targets, batch and order of calls. */
  m = new_model(&tiny, 2, 1);
  uint8_t tok[10] = {0}, tgt[10] = {0};
  double loss;
  ck_assert_int_eq(evo_gpt_loss(m, tgt, &loss, NULL), EVO_ESTATE);
  ck_assert_int_eq(evo_gpt_backward(m), EVO_ESTATE);
  ck_assert_int_eq(evo_gpt_forward(m, tok, 3), EVO_EINVAL);
  tok[7] = 7;
  ck_assert_int_eq(evo_gpt_forward(m, tok, 2), EVO_ERANGE);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "position 2 of sequence 1"));
  tok[7] = 6;
  ck_assert_int_eq(evo_gpt_forward(m, tok, 2), EVO_OK);
  tgt[0] = 9;
  ck_assert_int_eq(evo_gpt_loss(m, tgt, &loss, NULL), EVO_ERANGE);
  ck_assert_int_eq(evo_gpt_backward(m), EVO_ESTATE);
  ck_assert_int_eq(evo_gpt_set_threads(m, 0), EVO_ERANGE);
  ck_assert_int_eq(evo_gpt_set_threads(m, EVO_NET_MAX_THREADS + 1),
                   EVO_ERANGE);
  evo_gpt_free(m);
}
END_TEST

START_TEST(initialisation_is_pytorch_default) {
  evo_gpt *m = new_model(&tiny, 1, 3);
  const float *p = evo_gpt_params(m);
  for (size_t i = 0; i < evo_gpt_tensor_count(m); i++) {
    const evo_net_tensor *t = evo_gpt_tensor_at(m, i);
    const float *v = p + t->offset;
    double bound = 0.0;
    if (t->kind == EVO_TENSOR_WEIGHT) /* in = the width, or 4·width */
      bound = 1.0 / sqrt(strstr(t->name, "mlp.c_proj") ? 32.0 : 8.0);
    if (t->kind == EVO_TENSOR_BIAS)
      bound = 1.0 / sqrt(strstr(t->name, "mlp.c_proj") ? 32.0 : 8.0);
    double sum2 = 0.0;
    for (size_t j = 0; j < t->size; j++) {
      sum2 += (double)v[j] * v[j];
      if (t->kind == EVO_TENSOR_LN_WEIGHT)
        ck_assert_float_eq(v[j], 1.0f);
      else if (t->kind == EVO_TENSOR_LN_BIAS)
        ck_assert_float_eq(v[j], 0.0f);
      else if (t->kind != EVO_TENSOR_EMBEDDING)
        ck_assert(fabs(v[j]) <= bound && v[j] != 0.0f);
    }
    if (t->kind == EVO_TENSOR_EMBEDDING) /* N(0,1): mean square near 1 */
      ck_assert(sum2 / (double)t->size > 0.6 && sum2 / (double)t->size < 1.5);
  }
  evo_gpt_free(m);
}
END_TEST

/* ---- gradients ---------------------------------------------------------- */

typedef struct loss_ctx {
  evo_gpt *m;
  const uint8_t *tok, *tgt;
  size_t n;
} loss_ctx;

static double model_loss(void *p) {
  loss_ctx *c = p;
  double loss = 0.0;
  ck_assert_int_eq(evo_gpt_forward(c->m, c->tok, c->n), EVO_OK);
  ck_assert_int_eq(evo_gpt_loss(c->m, c->tgt, &loss, NULL), EVO_OK);
  return loss;
}

/* Central differences of the loss (in double, from float logits) with
 * step h = 1e-2: truncation h²/6·|L'''| stays near 1e-5 for this small,
 * smooth model, float rounding of the logits (6e-8 relative) over 2h adds
 * about 1e-5; |num - ana| <= 1e-4 + 1e-2·|ana| leaves a margin while a
 * wrong term is off by the size of the gradient itself. Every tensor is
 * checked, on every third element. */
START_TEST(model_gradient_matches_finite_differences) {
  evo_gpt *m = new_model(&tiny, 2, 11);
  evo_rng rng;
  evo_rng_seed(&rng, 12);
  uint8_t tok[10], tgt[10];
  draw_tokens(tok, tgt, 10, tiny.vocab, &rng);
  /* LayerNorm γ, β away from 1, 0 so that their gradients are generic. */
  float *p = evo_gpt_params(m);
  for (size_t i = 0; i < evo_gpt_tensor_count(m); i++) {
    const evo_net_tensor *t = evo_gpt_tensor_at(m, i);
    if (t->kind == EVO_TENSOR_LN_WEIGHT || t->kind == EVO_TENSOR_LN_BIAS)
      for (size_t j = 0; j < t->size; j++)
        p[t->offset + j] += (float)(0.3 * evo_rng_normal(&rng));
  }
  loss_ctx c = {m, tok, tgt, 2};
  model_loss(&c);
  ck_assert_int_eq(evo_gpt_backward(m), EVO_OK);
  size_t np = evo_gpt_param_count(m);
  float *ana = fvec(np);
  memcpy(ana, evo_gpt_grads(m), np * sizeof *ana);
  fd_case fc = {model_loss, &c};
  double worst = fd_worst(&fc, p, ana, np, 1e-2f, 3, 1e-4, 1e-2);
  ck_assert_msg(worst <= 1.0, "worst finite-difference ratio %g", worst);
  free(ana);
  evo_gpt_free(m);
}
END_TEST

/* ---- threads and allocation ------------------------------------------- */

static void one_step(evo_gpt *m, const uint8_t *tok, const uint8_t *tgt,
                     size_t n, double *loss, size_t *correct) {
  ck_assert_int_eq(evo_gpt_forward(m, tok, n), EVO_OK);
  ck_assert_int_eq(evo_gpt_loss(m, tgt, loss, correct), EVO_OK);
  ck_assert_int_eq(evo_gpt_backward(m), EVO_OK);
}

START_TEST(same_bits_for_any_thread_count) {
  const evo_gpt_config c = {65, 16, 32, 4, 2};
  enum { N = 3, M = N * 16 };
  uint8_t tok[M], tgt[M];
  evo_rng rng;
  evo_rng_seed(&rng, 5);
  draw_tokens(tok, tgt, M, 65, &rng);
  evo_gpt *ref = new_model(&c, N, 9);
  double loss1;
  size_t correct1;
  one_step(ref, tok, tgt, N, &loss1, &correct1);
  size_t np = evo_gpt_param_count(ref);
  for (size_t threads = 2; threads <= 4; threads++) {
    evo_gpt *m = new_model(&c, N, 9);
    ck_assert_int_eq(evo_gpt_set_threads(m, threads), EVO_OK);
    ck_assert_uint_eq(evo_gpt_threads(m), threads);
    double loss;
    size_t correct;
    one_step(m, tok, tgt, N, &loss, &correct);
    ck_assert_mem_eq(&loss, &loss1, sizeof loss);
    ck_assert_uint_eq(correct, correct1);
    ck_assert_mem_eq(evo_gpt_logits(m), evo_gpt_logits(ref),
                     M * 65 * sizeof(float));
    ck_assert_mem_eq(evo_gpt_grads(m), evo_gpt_grads(ref),
                     np * sizeof(float));
    evo_gpt_free(m);
  }
  evo_gpt_free(ref);
}
END_TEST

START_TEST(no_allocation_in_a_step) {
#ifdef NO_MALLOC_COUNT
  return; /* a sanitizer's malloc is not interposed */
#else
  const evo_gpt_config c = {65, 16, 32, 4, 2};
  enum { N = 2, M = N * 16 };
  uint8_t tok[M], tgt[M];
  evo_rng rng;
  evo_rng_seed(&rng, 6);
  draw_tokens(tok, tgt, M, 65, &rng);
  evo_gpt *m = new_model(&c, N, 2);
  ck_assert_int_eq(evo_gpt_set_threads(m, 2), EVO_OK);
  double loss;
  size_t correct;
  one_step(m, tok, tgt, N, &loss, &correct); /* BLAS's own first-call set-up */
  /* Check's own assertions allocate: the codes are checked afterwards. */
  int rc[3][3];
  allocations = 0;
  counting = 1;
  for (int i = 0; i < 3; i++) {
    rc[i][0] = evo_gpt_forward(m, tok, N);
    rc[i][1] = evo_gpt_loss(m, tgt, &loss, &correct);
    rc[i][2] = evo_gpt_backward(m);
  }
  counting = 0;
  for (int i = 0; i < 3; i++)
    for (int k = 0; k < 3; k++)
      ck_assert_int_eq(rc[i][k], EVO_OK);
  ck_assert_int_eq(allocations, 0);
  evo_gpt_free(m);
#endif
}
END_TEST

static Suite *gpt_suite(void) {
  Suite *s = suite_create("gpt");
  TCase *tc = tcase_create("model");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, char_model_has_818241_parameters);
  tcase_add_test(tc, bad_configurations_refused);
  tcase_add_test(tc, initialisation_is_pytorch_default);
  tcase_add_test(tc, model_gradient_matches_finite_differences);
  tcase_add_test(tc, same_bits_for_any_thread_count);
  tcase_add_test(tc, no_allocation_in_a_step);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(gpt_suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
