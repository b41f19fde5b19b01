/* The known data sets, loading, and normalisation (doc/algorithm.md §3
 * "Data"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "data/data_internal.h"

/* clang-format off */
#define IDX_FILES                                                          \
  {"train-images-idx3-ubyte", "train-labels-idx1-ubyte",                   \
   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", NULL}

/* Shapes and normalisation constants are doc/algorithm.md §3's. */
static const evo_dataset_kind kinds[] = {
    {.name = "mnist",
     .subdirs = {"mnist", NULL},
     .files = IDX_FILES,
     .how_to_get = "Get MNIST's four IDX files (plain or .gz) from "
                   "http://yann.lecun.com/exdb/mnist into a folder 'mnist' "
                   "under a searched root, or pass their folder.",
     .read = evo_idx_read,
     .channels = 1, .height = 28, .width = 28, .pixel_max = 255,
     .mean = {0.1307f}, .std = {0.3081f}},
    {.name = "fashion_mnist",
     .subdirs = {"fashion-mnist", "fashion_mnist", NULL},
     .files = IDX_FILES,
     .how_to_get = "Install Debian's package dataset-fashion-mnist (it fills "
                   EVO_DATA_SYSTEM_ROOT "/fashion-mnist), or put the four "
                   "IDX files from "
                   "https://github.com/zalandoresearch/fashion-mnist into a "
                   "folder 'fashion-mnist' under a searched root.",
     .read = evo_idx_read,
     .channels = 1, .height = 28, .width = 28, .pixel_max = 255,
     .mean = {0.2860f}, .std = {0.3530f}},
    {.name = "cifar10",
     .subdirs = {"cifar10", "cifar-10-batches-bin", NULL},
     .files = {"test_batch.bin", "data_batch_1.bin", "data_batch_2.bin",
               "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin",
               NULL},
     .how_to_get = "Download the binary version of CIFAR-10 "
                   "(cifar-10-binary.tar.gz) from "
                   "https://www.cs.toronto.edu/~kriz/cifar.html and extract "
                   "it under a searched root (it makes "
                   "'cifar-10-batches-bin'); .bin or .bin.gz files.",
     .read = evo_cifar_read,
     .channels = 3, .height = 32, .width = 32, .pixel_max = 255,
     .mean = {0.4914f, 0.4822f, 0.4465f},
     .std = {0.2470f, 0.2435f, 0.2616f}},
    {.name = "digits",
     .subdirs = {"digits", NULL},
     .files = {"digits.csv", NULL},
     .how_to_get = "The library has its own copy: load 'digits' without a "
                   "folder.",
     .bundled = true,
     .read = evo_digits_read,
     .channels = 1, .height = 8, .width = 8, .pixel_max = 16},
    /* doc/algorithm.md §7: text, no images (shape 1x1x1, never drawn). */
    {.name = "shakespeare_char",
     .subdirs = {"tinyshakespeare", "shakespeare_char", NULL},
     .files = {"input.txt", NULL},
     .how_to_get = "Get tiny Shakespeare (input.txt, 1,115,394 bytes, of "
                   "char-rnn and nanoGPT) into a folder 'tinyshakespeare' "
                   "under a searched root, or pass its folder.",
     .read = evo_text_read,
     .channels = 1, .height = 1, .width = 1, .pixel_max = 255,
     .mean = {0.0f}, .std = {1.0f}},
};
/* clang-format on */
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static const evo_dataset_kind *find_kind(const char *name) {
  for (size_t i = 0; i < N_KINDS; i++)
    if (strcmp(kinds[i].name, name) == 0)
      return &kinds[i];
  char known[160] = "";
  for (size_t i = 0; i < N_KINDS; i++) {
    strcat(known, i ? ", " : "");
    strcat(known, kinds[i].name);
  }
  evo_set_error(EVO_ENOTFOUND, "unknown data set '%s'; known: %s", name, known);
  return NULL;
}

/* Resolves @p name and @p folder to a kind and a folder; *dir is NULL for
 * the bundled copy. */
static int resolve(const evo_dataset_kind **kind, const char **dir,
                   char buf[EVO_DATA_PATH_CAP], const char *name,
                   const char *folder) {
  EVO_CHECK_ARG(name);
  const evo_dataset_kind *k = find_kind(name);
  if (k == NULL)
    return EVO_ENOTFOUND;
  *kind = k;
  *dir = NULL;
  if (k->bundled && folder == NULL)
    return EVO_OK;
  *dir = buf;
  return evo_data_locate_kind(buf, k, folder);
}

int evo_dataset_locate(char out[EVO_DATA_PATH_CAP], const char *name,
                       const char *folder) {
  EVO_CHECK_ARG(out);
  const evo_dataset_kind *k;
  const char *dir;
  int rc = resolve(&k, &dir, out, name, folder);
  if (rc == EVO_OK && dir == NULL)
    strcpy(out, EVO_DATA_BUNDLED);
  return rc;
}

/* doc/algorithm.md §3: x/pixel_max, then (x - mean)/std, in float like
 * torchvision's ToTensor and Normalize. */
static void fill_lut(evo_dataset *d) {
  for (int c = 0; c < d->channels; c++)
    for (int p = 0; p < 256; p++) {
      float x = (float)p / (float)d->pixel_max;
      d->lut[c][p] = (x - d->mean[c]) / d->std[c];
    }
}

int evo_dataset_load(evo_dataset **out, const char *name, const char *folder) {
  EVO_CHECK_ARG(out);
  *out = NULL;
  const evo_dataset_kind *k;
  const char *dir;
  char buf[EVO_DATA_PATH_CAP];
  int rc = resolve(&k, &dir, buf, name, folder);
  if (rc != EVO_OK)
    return rc;
  evo_dataset *d = evo_calloc(1, sizeof *d);
  if (d == NULL)
    return EVO_ENOMEM;
  snprintf(d->name, sizeof d->name, "%s", k->name);
  snprintf(d->source, sizeof d->source, "%s", dir ? dir : EVO_DATA_BUNDLED);
  d->channels = k->channels;
  d->height = k->height;
  d->width = k->width;
  d->pixel_max = k->pixel_max;
  memcpy(d->mean, k->mean, sizeof d->mean);
  memcpy(d->std, k->std, sizeof d->std);
  rc = k->read(d, k, dir);
  if (rc != EVO_OK) {
    evo_dataset_free(d);
    return rc;
  }
  fill_lut(d);
  *out = d;
  return EVO_OK;
}

void evo_dataset_free(evo_dataset *d) {
  if (d == NULL)
    return;
  free(d->train_x);
  free(d->train_y);
  free(d->test_x);
  free(d->test_y);
  free(d);
}

void evo_dataset_to_float(const evo_dataset *d, const uint8_t *pixels, size_t n,
                          float *out) {
  size_t hw = (size_t)d->height * (size_t)d->width;
  for (size_t i = 0; i < n * (size_t)d->channels; i++) {
    const float *lut = d->lut[i % (size_t)d->channels];
    for (size_t j = 0; j < hw; j++)
      out[j] = lut[pixels[j]];
    pixels += hw;
    out += hw;
  }
}

