/* digits: the UCI 8x8 optical digits (doc/algorithm.md §3), 1797 images of 17
 * grey levels. The copy compiled into the library (DIGITS.md) needs no file; a
 * folder holding digits.csv(.gz) may be given instead. Fixed split: the
 * first 1437 rows train, the last 360 test. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "data/data_internal.h"
#include "data/digits_csv_internal.h"
#include "core/io_internal.h"

#define CSV_LIMIT (1u << 20) /* the CSV is about 270 kB */

/* Normalisation by the set's own statistics (doc/algorithm.md §3): mean and
 * population standard deviation (divided by N, not N - 1) of pixel/16 over
 * every pixel of all 1797 images, train and test alike. The integer sums
 * are exact. */
static void set_stats(evo_dataset *d, const uint8_t *pixels) {
  uint64_t sum = 0, sum_sq = 0;
  for (size_t i = 0; i < (size_t)EVO_DIGITS_ROWS * EVO_DIGITS_PIXELS; i++) {
    sum += pixels[i];
    sum_sq += (uint64_t)pixels[i] * pixels[i];
  }
  double n = (double)EVO_DIGITS_ROWS * EVO_DIGITS_PIXELS;
  double mean = (double)sum / n;
  double var = (double)sum_sq / n - mean * mean;
  d->mean[0] = (float)(mean / EVO_DIGITS_MAX);
  d->std[0] = (float)(sqrt(var) / EVO_DIGITS_MAX);
}

/* True when all pixels are equal: their standard deviation, the divisor of
 * the normalisation, is then 0 and every input NaN (issue 14, item 5). */
static bool constant(const uint8_t *pixels) {
  for (size_t i = 1; i < (size_t)EVO_DIGITS_ROWS * EVO_DIGITS_PIXELS; i++)
    if (pixels[i] != pixels[0])
      return false;
  return true;
}

static int read_csv(const char *dir, const evo_dataset_kind *k, uint8_t *pixels,
                    uint8_t *labels) {
  char path[EVO_DATA_PATH_CAP];
  int rc = evo_data_need_file(path, dir, k->files[0]);
  unsigned char *text = NULL;
  size_t len;
  if (rc == EVO_OK)
    rc = evo_read_file(path, CSV_LIMIT, &text, &len);
  evo_digits_parse_error err;
  if (rc == EVO_OK &&
      evo_digits_parse((const char *)text, len, pixels, labels, &err) != 0)
    rc = evo_set_error(EVO_EFORMAT, "'%s' line %zu: %s", path, err.line,
                       err.what);
  free(text);
  if (rc == EVO_OK && constant(pixels))
    rc = evo_set_error(EVO_EFORMAT,
                       "'%s': every pixel of the %d images is %d: with a "
                       "standard deviation of 0 the images cannot be "
                       "normalised",
                       path, EVO_DIGITS_ROWS, pixels[0]);
  return rc;
}

/* Copies rows [first, first + n) of the whole set into *x, *y. */
static int take_rows(const uint8_t *pixels, const uint8_t *labels, size_t first,
                     size_t n, uint8_t **x, uint8_t **y) {
  *x = evo_calloc(n, EVO_DIGITS_PIXELS);
  *y = evo_calloc(n, 1);
  if (*x == NULL || *y == NULL)
    return EVO_ENOMEM;
  memcpy(*x, pixels + first * EVO_DIGITS_PIXELS, n * EVO_DIGITS_PIXELS);
  memcpy(*y, labels + first, n);
  return EVO_OK;
}

int evo_digits_read(evo_dataset *d, const evo_dataset_kind *k,
                    const char *dir) {
  const uint8_t *pixels = evo_digits_pixels, *labels = evo_digits_labels;
  uint8_t *buf = NULL;
  int rc = EVO_OK;
  if (dir != NULL) {
    buf = evo_calloc(EVO_DIGITS_ROWS, EVO_DIGITS_PIXELS + 1);
    if (buf == NULL)
      return EVO_ENOMEM;
    pixels = buf;
    labels = buf + EVO_DIGITS_ROWS * EVO_DIGITS_PIXELS;
    rc = read_csv(dir, k, buf, buf + EVO_DIGITS_ROWS * EVO_DIGITS_PIXELS);
  }
  d->n_train = EVO_DIGITS_TRAIN;
  d->n_test = EVO_DIGITS_ROWS - EVO_DIGITS_TRAIN;
  if (rc == EVO_OK)
    rc = take_rows(pixels, labels, 0, d->n_train, &d->train_x, &d->train_y);
  if (rc == EVO_OK)
    rc = take_rows(pixels, labels, d->n_train, d->n_test, &d->test_x,
                   &d->test_y);
  if (rc == EVO_OK) {
    set_stats(d, pixels);
    snprintf(d->detail, sizeof d->detail,
             "%zu training and %zu test images "
             "(fixed split of %d)",
             d->n_train, d->n_test, EVO_DIGITS_ROWS);
  }
  free(buf);
  return rc;
}
