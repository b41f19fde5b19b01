/* drop_in.c: libevoopt as a drop-in optimizer for your own training loop.
 *
 * A small MLP (64 → 32, ReLU, → 10, softmax cross-entropy) learns the UCI
 * 8×8 digits with mini-batches of 32; the same network, initialisation and
 * batch order are trained with several preset optimizers, and the program
 * prints each one's final training loss and test accuracy. Only the public
 * API is used: make a genome, make an optimizer, register each parameter
 * tensor with its gradient buffer, call evo_optimizer_step() after every
 * backward pass.
 *
 * Data: digits.csv.gz, one image a line: 64 pixel values 0..16, then the
 * label; the first 1437 lines train, the last 360 test.
 *
 * Usage: drop_in [--check] [path/to/digits.csv.gz]
 *   --check   exit 1 unless adam reaches a test accuracy above 0.85
 *             (exit 77 when the data cannot be found)
 * Without a path: the copy bundled with the sources (DIGITS_CSV, set when
 * built by meson), else $EVOOPT_DATA_PATH/digits/digits.csv.gz.
 *
 * Build by hand: cc -std=c11 drop_in.c $(pkg-config --cflags --libs evoopt)
 *                -lz -lm */
#include <evoopt/evoopt.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define N_IN 64
#define N_HID 32
#define N_OUT 10
#define N_ROWS 1797
#define N_TRAIN 1437
#define N_TEST (N_ROWS - N_TRAIN)
#define BATCH 32
#define EPOCHS 30
#define BATCHES_PER_EPOCH ((N_TRAIN + BATCH - 1) / BATCH)

/* ---- data ------------------------------------------------------------------ */

typedef struct digits {
  float x[N_ROWS][N_IN]; /* pixel / 16 */
  int y[N_ROWS];
} digits;

/* Reads the CSV with zlib (gzip or plain). Returns 0, or -1 with a message. */
static int digits_load(digits *d, const char *path) {
  gzFile f = gzopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s\n", path);
    return -1;
  }
  char line[1024];
  int row = 0;
  while (row < N_ROWS && gzgets(f, line, sizeof line) != NULL) {
    char *p = line, *end;
    for (int k = 0; k <= N_IN; k++) {
      long v = strtol(p, &end, 10);
      if (end == p || v < 0 || v > 16 || (k == N_IN && v > 9)) {
        fprintf(stderr, "%s:%d: bad value in column %d\n", path, row + 1, k);
        gzclose(f);
        return -1;
      }
      if (k < N_IN)
        d->x[row][k] = (float)v / 16.0f;
      else
        d->y[row] = (int)v;
      p = end + (*end == ',');
    }
    row++;
  }
  gzclose(f);
  if (row != N_ROWS) {
    fprintf(stderr, "%s: %d rows, expected %d\n", path, row, N_ROWS);
    return -1;
  }
  return 0;
}

/* ---- the network: forward/backward pairs over plain float arrays --------- */

typedef struct mlp {
  float w1[N_HID * N_IN], b1[N_HID], w2[N_OUT * N_HID], b2[N_OUT];
} mlp;

/* splitmix64: deterministic weights and batch order, the same for every
 * optimizer compared. */
static uint64_t next_random(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static float uniform(uint64_t *s, float bound) {
  double u = (double)(next_random(s) >> 11) * 0x1.0p-53;
  return (float)((2.0 * u - 1.0) * bound);
}

/* PyTorch's default: weights and biases uniform in ±1/sqrt(fan_in). */
static void mlp_init(mlp *net, uint64_t seed) {
  float b_in = 1.0f / sqrtf((float)N_IN), b_hid = 1.0f / sqrtf((float)N_HID);
  for (int i = 0; i < N_HID * N_IN; i++)
    net->w1[i] = uniform(&seed, b_in);
  for (int i = 0; i < N_HID; i++)
    net->b1[i] = uniform(&seed, b_in);
  for (int i = 0; i < N_OUT * N_HID; i++)
    net->w2[i] = uniform(&seed, b_hid);
  for (int i = 0; i < N_OUT; i++)
    net->b2[i] = uniform(&seed, b_hid);
}

/* out[o] = b[o] + Σ_i w[o·in + i] x[i]; w: (out, in). */
static void linear_forward(float *out, const float *x, const float *w,
                           const float *b, int in, int n_out) {
  for (int o = 0; o < n_out; o++) {
    float s = b[o];
    for (int i = 0; i < in; i++)
      s += w[o * in + i] * x[i];
    out[o] = s;
  }
}

/* Accumulates dw += dout ⊗ x, db += dout; dx = wᵀ dout when dx != NULL. */
static void linear_backward(float *dx, float *dw, float *db, const float *dout,
                            const float *x, const float *w, int in,
                            int n_out) {
  if (dx != NULL)
    memset(dx, 0, (size_t)in * sizeof(float));
  for (int o = 0; o < n_out; o++) {
    db[o] += dout[o];
    for (int i = 0; i < in; i++) {
      dw[o * in + i] += dout[o] * x[i];
      if (dx != NULL)
        dx[i] += w[o * in + i] * dout[o];
    }
  }
}

/* Softmax cross-entropy of one sample: returns the loss, writes d(loss)/d
 * logits scaled by @p scale (1/batch for a batch mean) into @p dlogits. */
static float softmax_xent(float *dlogits, const float *logits, int label,
                          float scale) {
  float mx = logits[0], sum = 0.0f;
  for (int o = 1; o < N_OUT; o++)
    mx = logits[o] > mx ? logits[o] : mx;
  for (int o = 0; o < N_OUT; o++)
    sum += expf(logits[o] - mx);
  for (int o = 0; o < N_OUT; o++)
    dlogits[o] = scale * (expf(logits[o] - mx) / sum - (o == label));
  return logf(sum) + mx - logits[label];
}

/* One sample forward; returns the logits in @p logits, the hidden layer
 * (after ReLU) in @p h. */
static void mlp_forward(const mlp *net, const float *x, float *h,
                        float *logits) {
  linear_forward(h, x, net->w1, net->b1, N_IN, N_HID);
  for (int j = 0; j < N_HID; j++)
    h[j] = h[j] > 0.0f ? h[j] : 0.0f;
  linear_forward(logits, h, net->w2, net->b2, N_HID, N_OUT);
}

/* Mean loss of a batch; its gradient (mean over the batch) into @p grad. */
static float mlp_batch(const mlp *net, mlp *grad, const digits *d,
                       const int *idx, int n) {
  memset(grad, 0, sizeof *grad);
  float loss = 0.0f;
  for (int s = 0; s < n; s++) {
    const float *x = d->x[idx[s]];
    float h[N_HID], logits[N_OUT], dlogits[N_OUT], dh[N_HID];
    mlp_forward(net, x, h, logits);
    loss += softmax_xent(dlogits, logits, d->y[idx[s]], 1.0f / (float)n);
    linear_backward(dh, grad->w2, grad->b2, dlogits, h, net->w2, N_HID,
                    N_OUT);
    for (int j = 0; j < N_HID; j++)
      dh[j] = h[j] > 0.0f ? dh[j] : 0.0f;
    linear_backward(NULL, grad->w1, grad->b1, dh, x, net->w1, N_IN, N_HID);
  }
  return loss / (float)n;
}

static double mlp_accuracy(const mlp *net, const digits *d, int from,
                           int count) {
  int right = 0;
  for (int s = from; s < from + count; s++) {
    float h[N_HID], logits[N_OUT];
    mlp_forward(net, d->x[s], h, logits);
    int best = 0;
    for (int o = 1; o < N_OUT; o++)
      best = logits[o] > logits[best] ? o : best;
    right += best == d->y[s];
  }
  return (double)right / (double)count;
}

/* ---- training with a preset ----------------------------------------------- */

typedef struct outcome {
  double test_accuracy;
  double final_loss; /* mean training loss of the last epoch */
} outcome;

/* Registers the four tensors: weights with the genome's weight decay,
 * biases without (a per-tensor option). */
static int register_tensors(evo_optimizer *opt, mlp *net, mlp *grad) {
  struct {
    float *p, *g;
    size_t n;
    int decay;
  } t[4] = {{net->w1, grad->w1, N_HID * N_IN, 1},
            {net->b1, grad->b1, N_HID, 0},
            {net->w2, grad->w2, N_OUT * N_HID, 1},
            {net->b2, grad->b2, N_OUT, 0}};
  for (size_t k = 0; k < 4; k++) {
    int rc = evo_optimizer_add_params(opt, t[k].p, t[k].g, t[k].n);
    if (rc == EVO_OK)
      rc = evo_optimizer_set_param_option(opt, k, EVO_PARAM_WEIGHT_DECAY,
                                          t[k].decay);
    if (rc != EVO_OK)
      return rc;
  }
  return EVO_OK;
}

static int train(const char *preset, const digits *d, outcome *out) {
  static mlp net, grad; /* the optimizer keeps pointers into these */
  evo_genome *g = NULL;
  evo_optimizer *opt = NULL;
  int rc = evo_genome_preset(&g, preset);
  if (rc == EVO_OK)
    rc = evo_optimizer_new(&opt, g);
  mlp_init(&net, 42);
  if (rc == EVO_OK)
    rc = register_tensors(opt, &net, &grad);
  if (rc == EVO_OK) /* for genomes with cosine decay */
    rc = evo_optimizer_set_total_steps(opt, EPOCHS * BATCHES_PER_EPOCH);
  uint64_t order_seed = 7;
  int idx[N_TRAIN];
  for (int i = 0; i < N_TRAIN; i++)
    idx[i] = i;
  for (int e = 0; e < EPOCHS && rc == EVO_OK; e++) {
    for (int i = N_TRAIN - 1; i > 0; i--) { /* reshuffle every epoch */
      int j = (int)(next_random(&order_seed) % (uint64_t)(i + 1));
      int tmp = idx[i];
      idx[i] = idx[j];
      idx[j] = tmp;
    }
    double epoch_loss = 0.0;
    for (int b = 0; b < N_TRAIN && rc == EVO_OK; b += BATCH) {
      int n = N_TRAIN - b < BATCH ? N_TRAIN - b : BATCH;
      epoch_loss += (double)mlp_batch(&net, &grad, d, idx + b, n) * n;
      rc = evo_optimizer_step(opt); /* the drop-in call */
    }
    out->final_loss = epoch_loss / N_TRAIN;
  }
  if (rc != EVO_OK)
    fprintf(stderr, "%s: %s (%s)\n", preset, evo_status_str(rc),
            evo_last_error());
  out->test_accuracy = mlp_accuracy(&net, d, N_TRAIN, N_TEST);
  evo_optimizer_free(opt);
  evo_genome_free(g);
  return rc;
}

/* ---- main ------------------------------------------------------------------ */

/* The bundled copy baked in by meson, else the first folder of the
 * colon-separated EVOOPT_DATA_PATH that holds digits/digits.csv.gz. */
static const char *default_path(char *buf, size_t size) {
#ifdef DIGITS_CSV
  (void)buf, (void)size;
  return DIGITS_CSV;
#else
  const char *list = getenv("EVOOPT_DATA_PATH");
  while (list != NULL && *list != '\0') {
    size_t len = strcspn(list, ":");
    snprintf(buf, size, "%.*s/digits/digits.csv.gz", (int)len, list);
    FILE *f = fopen(buf, "rb");
    if (f != NULL) {
      fclose(f);
      return buf;
    }
    list += len + (list[len] == ':');
  }
  return NULL;
#endif
}

int main(int argc, char **argv) {
  int check = 0;
  const char *path = NULL;
  char buf[4096];
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--check") == 0)
      check = 1;
    else
      path = argv[i];
  }
  if (path == NULL)
    path = default_path(buf, sizeof buf);
  static digits d;
  if (path == NULL || digits_load(&d, path) != 0) {
    fprintf(stderr, "digits data not found: give its path, or set "
                    "EVOOPT_DATA_PATH\n");
    return check ? 77 : 1;
  }
  static const char *const presets[] = {"sgd", "adam", "adamw", "rmsprop",
                                        "paper-evolved"};
  double adam_accuracy = 0.0;
  printf("MLP 64-32-10 on UCI digits (%d train, %d test), %d epochs of "
         "batches of %d, libevoopt %s\n",
         N_TRAIN, N_TEST, EPOCHS, BATCH, evo_version_string());
  printf("%-14s %12s %14s\n", "optimizer", "final loss", "test accuracy");
  for (size_t k = 0; k < sizeof presets / sizeof presets[0]; k++) {
    outcome o = {0, 0};
    if (train(presets[k], &d, &o) != EVO_OK)
      return 1;
    printf("%-14s %12.4f %14.4f\n", presets[k], o.final_loss,
           o.test_accuracy);
    if (strcmp(presets[k], "adam") == 0)
      adam_accuracy = o.test_accuracy;
  }
  if (check && !(adam_accuracy > 0.85)) {
    printf("FAIL: adam reached %.4f test accuracy, expected > 0.85\n",
           adam_accuracy);
    return 1;
  }
  return 0;
}
