/* Plain text for the character-level language model (doc/algorithm.md §7):
 * the whole file as bytes, its vocabulary the sorted distinct bytes, each
 * byte replaced by its index; the first 90 % (rounded down) for training,
 * the rest held out. Plain or gzip-compressed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "core/io_internal.h"
#include "data/data_internal.h"

/* Larger files are refused before they are read whole. */
#define EVO_TEXT_MAX_BYTES ((size_t)256 << 20)

int evo_text_read(evo_dataset *d, const evo_dataset_kind *k, const char *dir) {
  char path[EVO_DATA_PATH_CAP];
  int rc = evo_data_need_file(path, dir, k->files[0]);
  if (rc != EVO_OK)
    return rc;
  unsigned char *buf = NULL;
  size_t size = 0;
  rc = evo_read_file(path, EVO_TEXT_MAX_BYTES, &buf, &size);
  if (rc != EVO_OK)
    return rc;
  if (size == 0) {
    free(buf);
    return evo_set_error(EVO_EFORMAT, "'%s' is empty", path);
  }
  bool seen[256] = {false};
  for (size_t i = 0; i < size; i++)
    seen[buf[i]] = true;
  uint8_t index[256];
  d->vocab = 0;
  for (int b = 0; b < 256; b++)
    if (seen[b]) {
      index[b] = (uint8_t)d->vocab;
      d->symbols[d->vocab++] = (uint8_t)b;
    }
  for (size_t i = 0; i < size; i++)
    buf[i] = index[buf[i]];
  d->n_train = size / 10 * 9 + size % 10 * 9 / 10; /* ⌊0.9·size⌋ */
  d->n_test = size - d->n_train;
  d->test_x = malloc(d->n_test ? d->n_test : 1);
  if (d->test_x == NULL) {
    free(buf);
    return evo_set_error(EVO_ENOMEM, "out of memory reading '%s'", path);
  }
  memcpy(d->test_x, buf + d->n_train, d->n_test);
  d->train_x = buf;
  snprintf(d->detail, sizeof d->detail,
           "%zu characters, %zu distinct", size, d->vocab);
  return EVO_OK;
}
