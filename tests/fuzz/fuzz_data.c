/* The data-set fuzz targets' shared part (fuzz_data_common.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "data/data_internal.h"
#include "evoopt/common.h"
#include "fuzz_common.h"
#include "fuzz_data_common.h"

/* Labels in 0..9, and the first and last image of a split through the
 * normalisation table: finite floats. */
static void check_split(const evo_dataset *d, const uint8_t *x,
                        const uint8_t *y, size_t n, const char *split) {
  if (n == 0 || x == NULL || y == NULL)
    fuzz_fail("%s: an accepted %s split is empty", d->name, split);
  for (size_t i = 0; i < n; i++)
    if (y[i] >= EVO_DATA_CLASSES)
      fuzz_fail("%s: %s label %zu is %u", d->name, split, i, y[i]);
  size_t image = evo_dataset_image_size(d);
  float *f = malloc(image * sizeof *f);
  if (f == NULL)
    fuzz_fail("out of memory");
  size_t pick[2] = {0, n - 1};
  for (size_t k = 0; k < 2; k++) {
    evo_dataset_to_float(d, x + pick[k] * image, 1, f);
    for (size_t i = 0; i < image; i++)
      if (!isfinite(f[i]))
        fuzz_fail("%s: %s image %zu normalises to %g at %zu", d->name, split,
                  pick[k], (double)f[i], i);
  }
  free(f);
}

int fuzz_load_set(const char *set, const char *const *names, size_t n,
                   unsigned flags, const uint8_t *data, size_t size) {
  fuzz_part parts[8];
  if (n > 8)
    fuzz_fail("too many files");
  size_t got = fuzz_split(data, size, FUZZ_SEP, parts, n);
  fuzz_clear();
  for (size_t i = 0; i < got; i++) {
    char name[256];
    snprintf(name, sizeof name, "%s%s", names[i], flags & 2u ? ".gz" : "");
    fuzz_write(name, parts[i].data, parts[i].size, flags & 1u, NULL, 0);
  }
  evo_dataset *d = NULL;
  fuzz_reset_error();
  int rc = evo_dataset_load(&d, set, fuzz_dir());
  if (rc != EVO_OK) {
    if (d != NULL)
      fuzz_fail("%s: load failed (%d) but set its output", set, rc);
    fuzz_check_error(rc, "evo_dataset_load");
    return rc;
  }
  check_split(d, d->train_x, d->train_y, d->n_train, "training");
  check_split(d, d->test_x, d->test_y, d->n_test, "test");
  evo_dataset_free(d);
  return EVO_OK;
}
