/* CIFAR-10: the binary batches, each a run of records of 1 label byte then
 * 1024 R, 1024 G, 1024 B bytes (row-major, so already CHW), gzip-compressed
 * or not (doc/algorithm.md §3 "Data"). The test batch is required; training
 * uses whichever of the five training batches are present (shared/data holds
 * two of them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "data/data_internal.h"
#include "core/io_internal.h"

#define IMAGE 3072
#define RECORD (1 + IMAGE)
#define BATCH 10000 /* records in an official batch; the most accepted */

/* Appends the records of the batch file @p path to *x, *y (*n of them so
 * far). */
static int read_batch(const char *path, uint8_t **x, uint8_t **y, size_t *n) {
  unsigned char *buf = NULL;
  size_t size;
  int rc = evo_read_file(path, (size_t)BATCH * RECORD + 1, &buf, &size);
  if (rc != EVO_OK)
    return rc;
  size_t m = size / RECORD;
  if (size == 0 || size % RECORD != 0)
    rc = evo_set_error(EVO_EFORMAT,
                       "'%s': %zu bytes is not a whole number "
                       "of %d-byte CIFAR-10 records",
                       path, size, RECORD);
  if (rc == EVO_OK)
    rc = evo_data_check_labels(path, buf, m, RECORD);
  uint8_t *nx = NULL, *ny = NULL;
  if (rc == EVO_OK) {
    nx = realloc(*x, (*n + m) * IMAGE);
    *x = nx ? nx : *x;
    ny = realloc(*y, *n + m);
    *y = ny ? ny : *y;
    if (nx == NULL || ny == NULL)
      rc = evo_set_error(EVO_ENOMEM, "out of memory reading '%s'", path);
  }
  if (rc == EVO_OK) {
    for (size_t r = 0; r < m; r++) {
      ny[*n + r] = buf[r * RECORD];
      memcpy(nx + (*n + r) * IMAGE, buf + r * RECORD + 1, IMAGE);
    }
    *n += m;
  }
  free(buf);
  return rc;
}

int evo_cifar_read(evo_dataset *d, const evo_dataset_kind *k, const char *dir) {
  char path[EVO_DATA_PATH_CAP];
  int rc = evo_data_need_file(path, dir, k->files[0]);
  if (rc == EVO_OK)
    rc = read_batch(path, &d->test_x, &d->test_y, &d->n_test);
  char found[128] = "";
  int batches = 0;
  for (int i = 1; rc == EVO_OK && k->files[i] != NULL; i++) {
    if (!evo_data_find_file(path, dir, k->files[i]))
      continue;
    rc = read_batch(path, &d->train_x, &d->train_y, &d->n_train);
    size_t used = strlen(found);
    snprintf(found + used, sizeof found - used, "%s%d", batches ? ", " : "", i);
    batches++;
  }
  if (rc == EVO_OK && batches == 0)
    rc = evo_set_error(EVO_ENOTFOUND,
                       "'%s' has none of the CIFAR-10 "
                       "training batches %s .. %s (nor .gz)",
                       dir, k->files[1], k->files[5]);
  if (rc == EVO_OK)
    snprintf(d->detail, sizeof d->detail,
             "training batches %s of 5 (%zu "
             "images); %zu test images",
             found, d->n_train, d->n_test);
  return rc;
}
