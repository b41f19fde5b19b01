/* Data sets: readers for MNIST and Fashion-MNIST (IDX files), CIFAR-10
 * (binary batches) and the bundled UCI digits, plus the search for where
 * the files live (doc/algorithm.md §3 "Data"). Never installed; the public task
 * API is built on top of this.
 *
 * A loaded evo_dataset is read-only: any number of threads may read it at
 * the same time; only evo_dataset_free must be called once, by one thread,
 * after every reader is done. */
#ifndef EVOOPT_DATA_INTERNAL_H
#define EVOOPT_DATA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/common_internal.h"

#define EVO_DATA_PATH_CAP 4096
#define EVO_DATA_CLASSES 10
/* Used when EVOOPT_DATA_PATH is unset, and searched after its folders. */
#define EVO_DATA_SYSTEM_ROOT "/usr/share/datasets"
#define EVO_DATA_BUNDLED "(bundled)"

typedef struct evo_dataset {
  char name[32]; /* "mnist", "fashion_mnist", "cifar10", "digits",
                    "shakespeare_char" */
  int channels, height, width;
  size_t n_train, n_test;
  uint8_t *train_x, *train_y; /* n_train*C*H*W pixels (CHW per image), labels
                                 0..9 */
  uint8_t *test_x, *test_y;
  int pixel_max;         /* 255, or 16 for digits */
  /* per channel, on pixel/pixel_max (doc/algorithm.md §3) */
  float mean[3], std[3];
  /* lut[c][p] = (p/pixel_max - mean[c]) / std[c] in float, as torchvision's
   * ToTensor + Normalize compute it; lut[c][0] is also the value of
   * CIFAR-10's zero padding (doc/algorithm.md §3). */
  float lut[3][256];
  char source[EVO_DATA_PATH_CAP]; /* folder it was loaded from, or
                                     EVO_DATA_BUNDLED */
  char detail[256]; /* what was found, e.g. which CIFAR-10 training batches */
  /* Text sets (shakespeare_char): train_x and test_x hold n_train and
   * n_test tokens (no labels), a token the index of its byte in
   * symbols[0 .. vocab), the distinct bytes sorted. 0 for image sets. */
  size_t vocab;
  uint8_t symbols[256];
} evo_dataset;

/* Loads the data set @p name ("mnist", "fashion_mnist", "cifar10",
 * "digits"). @p folder: where to look, either the data set's own folder or
 * a root holding its subfolder (then only there); NULL searches every root
 * of EVOOPT_DATA_PATH (colon-separated), then the per-user root
 * ($XDG_DATA_HOME/evoopt, else ~/.local/share/evoopt), then
 * EVO_DATA_SYSTEM_ROOT. In a
 * root the subfolders are: mnist/; fashion-mnist/ or fashion_mnist/;
 * cifar10/ or cifar-10-batches-bin/; digits/; tinyshakespeare/ or
 * shakespeare_char/ (input.txt, for "shakespeare_char"). "digits" with a
 * NULL folder is the copy built into the library and needs no file.
 * Errors: EVO_ENOTFOUND (unknown name, listing the known ones; data set or
 * one of its files missing, listing where it looked), EVO_EFORMAT (a file
 * is truncated, damaged or inconsistent; the message names it), EVO_EIO,
 * EVO_ENOMEM, EVO_EINVAL. Reads the environment, so it must not run while
 * another thread calls setenv. */
int evo_dataset_load(evo_dataset **out, const char *name, const char *folder);

/* Frees a data set; NULL is fine. */
void evo_dataset_free(evo_dataset *d);

/* Finds the folder evo_dataset_load would read, without reading it: writes
 * it (or EVO_DATA_BUNDLED) to @p out. Same search and errors (EVO_ENOTFOUND,
 * EVO_EINVAL) as evo_dataset_load; a folder counts as found when it holds
 * any file of the data set. */
int evo_dataset_locate(char out[EVO_DATA_PATH_CAP], const char *name,
                       const char *folder);

/* Pixels per image, C*H*W. */
static inline size_t evo_dataset_image_size(const evo_dataset *d) {
  return (size_t)d->channels * (size_t)d->height * (size_t)d->width;
}

/* Converts @p n images of @p d's shape (CHW bytes, e.g. d->train_x + i *
 * image size) to normalised floats through d->lut. */
void evo_dataset_to_float(const evo_dataset *d, const uint8_t *pixels, size_t n,
                          float *out);

/* ---- shared by the readers (datapath.c, dataset.c) ---- */

/* Finds @p dir/@p base, else @p dir/@p base.gz, as a regular file; writes
 * the path to @p out. False when neither exists (or the path is too long). */
bool evo_data_find_file(char out[EVO_DATA_PATH_CAP], const char *dir,
                        const char *base);

/* Like evo_data_find_file, but a missing file is EVO_ENOTFOUND naming the
 * folder and the file. */
int evo_data_need_file(char out[EVO_DATA_PATH_CAP], const char *dir,
                       const char *base);

/* Checks @p n labels, @p stride bytes apart, are classes 0..9; otherwise
 * EVO_EFORMAT naming @p path, the index and the value. Inline, so that the
 * readers (idx.c, cifar.c), which dataset.c calls, call nothing back in
 * dataset.c (issue 10 item 2: no cycles). */
static inline int evo_data_check_labels(const char *path,
                                        const uint8_t *labels, size_t n,
                                        size_t stride) {
  for (size_t i = 0; i < n; i++)
    if (labels[i * stride] >= EVO_DATA_CLASSES)
      return evo_set_error(EVO_EFORMAT,
                           "'%s': label %u of item %zu is not a class 0..9",
                           path, (unsigned)labels[i * stride], i);
  return EVO_OK;
}

typedef struct evo_dataset_kind evo_dataset_kind;

/* Reads the files of @p k in @p dir (NULL: the bundled copy, digits only)
 * into d's pixels, labels, counts and detail. */
typedef int (*evo_dataset_reader)(evo_dataset *d, const evo_dataset_kind *k,
                                  const char *dir);

/* One known data set (the table is in dataset.c). */
struct evo_dataset_kind {
  const char *name;
  const char *subdirs[3]; /* its subfolders inside a root, NULL-terminated */
  /* Base names of its files, in the order its reader wants them; any one
   * present (plain or .gz) marks a folder as the data set's. */
  const char *files[7];
  const char *how_to_get; /* for the message when it is missing */
  bool bundled;           /* a NULL folder means the copy in the library */
  evo_dataset_reader read;
  int channels, height, width, pixel_max;
  float mean[3], std[3]; /* doc/algorithm.md §3; digits computes its own */
};

/* The search of evo_dataset_locate for one kind (datapath.c). */
int evo_data_locate_kind(char out[EVO_DATA_PATH_CAP], const evo_dataset_kind *k,
                         const char *folder);

/* The readers. IDX: files = train images, train labels, test images, test
 * labels (MNIST, Fashion-MNIST). CIFAR-10: files = test batch, then the
 * training batches, of which any non-empty subset may be present. digits:
 * files = the CSV; also sets mean and std (over all 1797 images). */
int evo_idx_read(evo_dataset *d, const evo_dataset_kind *k, const char *dir);
int evo_cifar_read(evo_dataset *d, const evo_dataset_kind *k, const char *dir);
int evo_digits_read(evo_dataset *d, const evo_dataset_kind *k, const char *dir);
/* Text (doc/algorithm.md §7): files = the text; sets vocab, symbols, the
 * 90 % / 10 % split. EVO_EFORMAT for an empty file. */
int evo_text_read(evo_dataset *d, const evo_dataset_kind *k, const char *dir);

#endif
