/* MNIST and Fashion-MNIST: the IDX format (big-endian magic and dims, then
 * the bytes), gzip-compressed or not (doc/algorithm.md §3 "Data"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common_internal.h"
#include "data/data_internal.h"
#include "core/io_internal.h"

#define IDX_IMAGES 0x00000803u /* unsigned bytes, 3 dims */
#define IDX_LABELS 0x00000801u /* unsigned bytes, 1 dim */
#define MAX_TRAIN 60000
#define MAX_TEST 10000

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}

/* Reads @p path's header and checks its magic, then the file whole, but
 * never more than the header declares (a gzip bomb declares little and
 * inflates to gigabytes) nor @p max_payload bytes after the header, plus
 * one to tell a longer file; *buf holds the file, dims[] the header's
 * @p ndims sizes, *size the file's length. */
static int idx_open(const char *path, uint32_t magic, int ndims,
                    size_t max_payload, unsigned char **buf, size_t *size,
                    uint32_t dims[3]) {
  size_t header = 4 + 4 * (size_t)ndims, got = 0;
  unsigned char head[16];
  int rc = evo_read_file_head(path, head, header, &got);
  if (rc != EVO_OK)
    return rc;
  uint32_t found = got >= 4 ? be32(head) : 0;
  if (got >= 4 && found != magic)
    return evo_set_error(EVO_EFORMAT,
                         "'%s': not an IDX %s file (magic 0x%08x, expected "
                         "0x%08x)",
                         path, magic == IDX_IMAGES ? "image" : "label", found,
                         magic);
  if (got < header)
    return evo_set_error(EVO_EFORMAT,
                         "'%s': %zu bytes, too short for an IDX header", path,
                         got);
  uint64_t declared = 1;
  for (int i = 0; i < ndims; i++) {
    dims[i] = be32(head + 4 + 4 * i);
    declared *= dims[i];
    if (declared > max_payload)
      declared = max_payload; /* the counts are refused later */
  }
  return evo_read_file(path, header + (size_t)declared + 1, buf, size);
}

/* Checks the declared count against [1, max]. */
static int check_count(const char *path, const char *what, uint32_t n,
                       size_t max) {
  if (n == 0 || n > max)
    return evo_set_error(EVO_EFORMAT,
                         "'%s': declares %u %s, expected 1 to "
                         "%zu",
                         path, n, what, max);
  return EVO_OK;
}

/* Drops the header: the payload moves to the start of the buffer, which
 * the caller then owns. */
static uint8_t *payload(unsigned char *buf, size_t header, size_t n) {
  memmove(buf, buf + header, n);
  return buf;
}

static int read_images(const char *path, size_t max, int rows, int cols,
                       uint8_t **out, size_t *n) {
  size_t image = (size_t)rows * (size_t)cols;
  unsigned char *buf = NULL;
  size_t size;
  uint32_t dims[3] = {0, 0, 0};
  int rc = idx_open(path, IDX_IMAGES, 3, max * image, &buf, &size, dims);
  if (rc == EVO_OK && (dims[1] != (uint32_t)rows || dims[2] != (uint32_t)cols))
    rc = evo_set_error(EVO_EFORMAT, "'%s': images are %ux%u, expected %dx%d",
                       path, dims[1], dims[2], rows, cols);
  if (rc == EVO_OK)
    rc = check_count(path, "images", dims[0], max);
  if (rc == EVO_OK && size != 16 + dims[0] * image)
    rc = evo_set_error(EVO_EFORMAT,
                       "'%s': expected %zu bytes for %u images "
                       "of %dx%d, found %zu",
                       path, 16 + dims[0] * image, dims[0], rows, cols, size);
  if (rc != EVO_OK) {
    free(buf);
    return rc;
  }
  *out = payload(buf, 16, size - 16);
  *n = dims[0];
  return EVO_OK;
}

static int read_labels(const char *path, size_t max, uint8_t **out, size_t *n) {
  unsigned char *buf = NULL;
  size_t size;
  uint32_t dims[3] = {0, 0, 0};
  int rc = idx_open(path, IDX_LABELS, 1, max, &buf, &size, dims);
  if (rc == EVO_OK)
    rc = check_count(path, "labels", dims[0], max);
  if (rc == EVO_OK && size != 8 + (size_t)dims[0])
    rc = evo_set_error(EVO_EFORMAT,
                       "'%s': expected %zu bytes for %u "
                       "labels, found %zu",
                       path, 8 + (size_t)dims[0], dims[0], size);
  if (rc == EVO_OK)
    rc = evo_data_check_labels(path, buf + 8, dims[0], 1);
  if (rc != EVO_OK) {
    free(buf);
    return rc;
  }
  *out = payload(buf, 8, size - 8);
  *n = dims[0];
  return EVO_OK;
}

/* One split: images from k->files[first], labels from k->files[first + 1];
 * their counts must agree. */
static int read_split(evo_dataset *d, const evo_dataset_kind *k,
                      const char *dir, int first, size_t max, uint8_t **x,
                      uint8_t **y, size_t *n) {
  char ipath[EVO_DATA_PATH_CAP], lpath[EVO_DATA_PATH_CAP];
  int rc = evo_data_need_file(ipath, dir, k->files[first]);
  if (rc == EVO_OK)
    rc = evo_data_need_file(lpath, dir, k->files[first + 1]);
  size_t ni = 0, nl = 0;
  if (rc == EVO_OK)
    rc = read_images(ipath, max, d->height, d->width, x, &ni);
  if (rc == EVO_OK)
    rc = read_labels(lpath, max, y, &nl);
  if (rc == EVO_OK && ni != nl)
    rc = evo_set_error(EVO_EFORMAT,
                       "'%s' holds %zu labels but '%s' holds "
                       "%zu images",
                       lpath, nl, ipath, ni);
  *n = ni;
  return rc;
}

int evo_idx_read(evo_dataset *d, const evo_dataset_kind *k, const char *dir) {
  int rc = read_split(d, k, dir, 0, MAX_TRAIN, &d->train_x, &d->train_y,
                      &d->n_train);
  if (rc == EVO_OK)
    rc = read_split(d, k, dir, 2, MAX_TEST, &d->test_x, &d->test_y, &d->n_test);
  if (rc == EVO_OK)
    snprintf(d->detail, sizeof d->detail, "%zu training and %zu test images",
             d->n_train, d->n_test);
  return rc;
}
