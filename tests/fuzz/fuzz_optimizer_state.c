/* Fuzz target: optimizer state (evo_optimizer_load_mem, evo_optimizer_load
 * of a plain or gzip file).
 *
 * Input: one mode byte, then the state file. Mode % 4: 0 loads from
 * memory, 1 from a file, 2 from a gzip file the harness compresses, 3 from
 * a file of the bytes exactly as given. Modes 0-2 first fix the frame's
 * size and CRC (fuzz_fix_frame), so that mutations reach the fields.
 * The optimizer is built for the state: the genome and the tensor sizes
 * it records (when readable and small: at most 8 tensors of 4096 floats),
 * else adam with tensors of 4 and 3; so loads get past the mismatch checks.
 * The state is read as its header's format version says (optimizer.c:
 * version 2 adds the gradient scale, and per tensor the frozen and
 * open-round flags; version 1 is still accepted by the library). Bits 2-4
 * of the mode byte pick the tensor stepped alone after a load.
 * Invariants: a refused state gets a negative status and a message; an
 * accepted one saves again, and that save loads into a fresh optimizer and
 * saves to the same bytes; a clone saves to the same bytes too; the
 * options it loads read back in range; a step of one tensor
 * (evo_optimizer_step_tensor, which continues the loaded open round) and a
 * whole step after the load run or fail with a message. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "core/io_internal.h"
#include "evoopt/genome.h"
#include "evoopt/optimizer.h"
#include "fuzz_common.h"
#include "genome/genome_internal.h"
#include "optimizer/optimizer_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_TENSORS 8
#define MAX_FLOATS 4096
#define STATE_VERSION_OFFSET 8 /* u32 after the magic (io_internal.h) */

static const char state_magic[8] = {'E', 'V', 'O', 'O', 'P', 'T', 'S', '\0'};

typedef struct layout {
  evo_genome *genome;
  size_t n, sizes[MAX_TENSORS];
} layout;

/* The genome and tensor sizes the state records, else the default. */
static void read_layout(layout *l, const unsigned char *buf, size_t size) {
  if (evo_genome_preset(&l->genome, "adam") != EVO_OK)
    fuzz_fail("the adam preset: %s", evo_last_error());
  l->n = 2;
  l->sizes[0] = 4;
  l->sizes[1] = 3;
  if (size < EVO_FRAME_BYTES || memcmp(buf, state_magic, 8) != 0)
    return;
  const unsigned char *v = buf + STATE_VERSION_OFFSET;
  uint32_t version = (uint32_t)v[0] | (uint32_t)v[1] << 8 |
                     (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24;
  if (version != 1 && version != 2)
    return;
  evo_rbuf r = {buf + EVO_FRAME_HEAD, size - EVO_FRAME_BYTES, 0, true};
  evo_genome g;
  if (evo_genome_read(&r, &g) != NULL)
    return;
  evo_rbuf_u8(&r);  /* refuse_nonfinite */
  evo_rbuf_f64(&r); /* base_lr */
  if (version >= 2)
    evo_rbuf_f64(&r); /* grad_scale */
  evo_rbuf_u64(&r);   /* global step */
  evo_rbuf_u64(&r);   /* total steps */
  uint64_t count = evo_rbuf_u64(&r);
  if (!r.ok || count == 0 || count > MAX_TENSORS)
    return;
  size_t sizes[MAX_TENSORS];
  for (size_t k = 0; k < count; k++) {
    uint64_t n = evo_rbuf_u64(&r);
    evo_rbuf_f64(&r); /* lr_scale */
    evo_rbuf_u8(&r);  /* weight decay */
    if (version >= 2) {
      evo_rbuf_u8(&r); /* frozen */
      evo_rbuf_u8(&r); /* stepped in the open round */
    }
    evo_rbuf_u64(&r); /* t */
    if (!r.ok || n == 0 || n > MAX_FLOATS)
      return;
    sizes[k] = (size_t)n;
    size_t skip = (size_t)n * evo_optimizer_moments(&g) * sizeof(float);
    if (r.size - r.pos < skip)
      return;
    r.pos += skip;
  }
  evo_genome *copy = NULL;
  if (evo_genome_new(&copy) != EVO_OK)
    return;
  *copy = g;
  evo_genome_free(l->genome);
  l->genome = copy;
  l->n = (size_t)count;
  memcpy(l->sizes, sizes, sizeof sizes);
}

typedef struct tensors {
  float *params[MAX_TENSORS], *grads[MAX_TENSORS];
} tensors;

static evo_optimizer *build(const layout *l, tensors *t) {
  evo_optimizer *opt = NULL;
  if (evo_optimizer_new(&opt, l->genome) != EVO_OK)
    fuzz_fail("evo_optimizer_new: %s", evo_last_error());
  for (size_t k = 0; k < l->n; k++) {
    t->params[k] = calloc(l->sizes[k], sizeof(float));
    t->grads[k] = calloc(l->sizes[k], sizeof(float));
    if (t->params[k] == NULL || t->grads[k] == NULL)
      fuzz_fail("out of memory");
    for (size_t i = 0; i < l->sizes[k]; i++) {
      t->params[k][i] = 0.25f * (float)i - 1.0f;
      t->grads[k][i] = 0.5f - 0.125f * (float)(i % 9);
    }
    if (evo_optimizer_add_params(opt, t->params[k], t->grads[k],
                                 l->sizes[k]) != EVO_OK)
      fuzz_fail("evo_optimizer_add_params: %s", evo_last_error());
  }
  return opt;
}

static void free_tensors(const layout *l, tensors *t) {
  for (size_t k = 0; k < l->n; k++) {
    free(t->params[k]);
    free(t->grads[k]);
  }
}

/* save -> load into a fresh optimizer -> save: the same bytes. */
static void check_round_trip(const layout *l, const evo_optimizer *opt) {
  void *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  if (evo_optimizer_save_mem(opt, &a, &na) != EVO_OK)
    fuzz_fail("save after a successful load failed: %s", evo_last_error());
  tensors t;
  evo_optimizer *fresh = build(l, &t);
  int rc = evo_optimizer_load_mem(fresh, a, na);
  if (rc != EVO_OK)
    fuzz_fail("a saved state is refused (%d): %s", rc, evo_last_error());
  if (evo_optimizer_save_mem(fresh, &b, &nb) != EVO_OK || na != nb ||
      memcmp(a, b, na) != 0)
    fuzz_fail("load -> save -> load -> save changes the state");
  evo_optimizer_free(fresh);
  free_tensors(l, &t);
  evo_free(a);
  evo_free(b);
}

/* A clone saves to the same bytes as its original. */
static void check_clone(const evo_optimizer *opt) {
  evo_optimizer *twin = NULL;
  void *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  if (evo_optimizer_clone(&twin, opt) != EVO_OK)
    fuzz_fail("clone of a loaded optimizer failed: %s", evo_last_error());
  if (evo_optimizer_save_mem(opt, &a, &na) != EVO_OK ||
      evo_optimizer_save_mem(twin, &b, &nb) != EVO_OK || na != nb ||
      memcmp(a, b, na) != 0)
    fuzz_fail("a clone saves to other bytes than its original");
  evo_optimizer_free(twin);
  evo_free(a);
  evo_free(b);
}

/* The options a load accepted read back within their documented ranges. */
static void check_options(const layout *l, const evo_optimizer *opt) {
  double scale = 0.0, frozen = 0.0;
  if (evo_optimizer_get_option(opt, EVO_OPT_GRAD_SCALE, &scale) != EVO_OK)
    fuzz_fail("EVO_OPT_GRAD_SCALE: %s", evo_last_error());
  double mag = scale < 0 ? -scale : scale;
  if (!(mag >= (double)FLT_MIN && mag <= (double)FLT_MAX))
    fuzz_fail("a load accepted the gradient scale %g", scale);
  for (size_t k = 0; k < l->n; k++) {
    if (evo_optimizer_get_param_option(opt, k, EVO_PARAM_FROZEN, &frozen) !=
        EVO_OK)
      fuzz_fail("EVO_PARAM_FROZEN: %s", evo_last_error());
    if (frozen != 0.0 && frozen != 1.0)
      fuzz_fail("a load accepted frozen = %g for tensor %zu", frozen, k);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned mode = 0;
  size_t n = 0;
  unsigned char *buf =
      fuzz_framed_input(data, size, 4, 3, state_magic, &mode, &n);
  if (buf == NULL)
    return 0;
  layout l;
  read_layout(&l, buf, n);
  tensors t;
  evo_optimizer *opt = build(&l, &t);
  fuzz_reset_error();
  int rc;
  if (mode == 0) {
    rc = evo_optimizer_load_mem(opt, buf, n);
  } else {
    char path[4352];
    fuzz_write("state.evo", buf, n, mode == 2, path, sizeof path);
    rc = evo_optimizer_load(opt, path);
  }
  if (rc != EVO_OK) {
    fuzz_check_error(rc, "evo_optimizer_load");
  } else {
    check_round_trip(&l, opt);
    check_clone(opt);
    check_options(&l, opt);
    evo_optimizer_set_option(opt, EVO_OPT_REFUSE_NONFINITE, 0.0);
    size_t one = (size_t)(data[0] >> 2 & 7u) % l.n;
    rc = evo_optimizer_step_tensor(opt, one, NULL);
    if (rc != EVO_OK)
      fuzz_check_error(rc, "evo_optimizer_step_tensor");
    rc = evo_optimizer_step(opt);
    if (rc != EVO_OK)
      fuzz_check_error(rc, "evo_optimizer_step");
    double lr;
    evo_optimizer_current_lr(opt, &lr);
  }
  evo_optimizer_free(opt);
  free_tensors(&l, &t);
  evo_genome_free(l.genome);
  free(buf);
  return 0;
}
