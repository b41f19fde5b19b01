/* Tests of the data readers (libevoopt/data/data_internal.h).
 *
 * Usage: test_data PART DIGITS_CSV_GZ, PART one of
 *   digits         the bundled digits against the CSV, parsed here
 *   files          small and broken files written here in a temporary
 *                  folder: every error path, the search order
 *   mnist, fashion_mnist, cifar10
 *                  the real data (EVOOPT_DATA_PATH, /usr/share/datasets),
 *                  loaded once and compared with an independent read of
 *                  the files here; exit 77 (skip) when the data is missing.
 * Expected values are stated by hand (first labels, the CSV's first row,
 * doc/algorithm.md §3's constants) or recomputed here from the files. */
#include <check.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "bomb_testlib.h"
#include "core/common_internal.h"
#include "data/data_internal.h"
#include "evoopt/task.h"

static const char *g_digits_csv; /* argv[2] */
static evo_dataset *g_set;       /* real data, loaded once in main */
static int g_rc;
static char g_err[1024];

/* ---- helpers: files, gzip, temporary folders ---- */

/* Reads a whole gzip (or plain) file with zlib only, so that the library's
 * readers are checked against an independent read. */
static unsigned char *slurp(const char *path, size_t *size) {
  gzFile f = gzopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  size_t cap = 1 << 20, n = 0;
  unsigned char *buf = malloc(cap);
  int got;
  while ((got = gzread(f, buf + n, (unsigned)(cap - n))) > 0) {
    n += (size_t)got;
    if (n == cap)
      buf = realloc(buf, cap *= 2);
    ck_assert_ptr_nonnull(buf);
  }
  ck_assert_int_eq(got, 0);
  gzclose(f);
  *size = n;
  return buf;
}

static void write_file(const char *dir, const char *name, const void *data,
                       size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot write %s", path);
  ck_assert_uint_eq(fwrite(data, 1, n, f), n);
  ck_assert_int_eq(fclose(f), 0);
}

static void write_gz(const char *dir, const char *name, const void *data,
                     size_t n) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  gzFile f = gzopen(path, "wb");
  ck_assert_msg(f != NULL, "cannot write %s", path);
  ck_assert_int_eq(gzwrite(f, data, (unsigned)n), (int)n);
  ck_assert_int_eq(gzclose(f), Z_OK);
}

static char *subdir(const char *dir, const char *name) {
  static char path[8][4096];
  static int next;
  char *p = path[next++ % 8];
  ck_assert_int_lt(snprintf(p, 4096, "%s/%s", dir, name), 4096);
  mkdir(p, 0700);
  return p;
}

static char g_tmp[64];

static void tmp_setup(void) {
  strcpy(g_tmp, "/tmp/evo_test_data_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(g_tmp));
}

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  return remove(path);
}

static void tmp_teardown(void) {
  nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Asserts a load fails with @p code and a message containing each of the
 * NULL-terminated strings. */
static void expect_fail(int code, const char *name, const char *folder,
                        const char *const *needles) {
  evo_dataset *d = (evo_dataset *)1;
  int rc = evo_dataset_load(&d, name, folder);
  const char *msg = evo_last_error();
  ck_assert_msg(rc == code, "%s: got %d, expected %d; message: %s", name, rc,
                code, msg);
  ck_assert_ptr_null(d);
  for (int i = 0; needles[i] != NULL; i++)
    ck_assert_msg(strstr(msg, needles[i]) != NULL, "message '%s' lacks '%s'",
                  msg, needles[i]);
}
#define EXPECT_FAIL(code, name, folder, ...)                                   \
  expect_fail(code, name, folder, (const char *const[]){__VA_ARGS__, NULL})

/* ---- synthetic IDX files ---- */

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static uint8_t pattern(size_t image, size_t pixel) {
  return (uint8_t)(image * 37 + pixel * 5);
}

/* An IDX image file of n images of rows x cols; pixel j of image i is
 * pattern(i, j). */
static unsigned char *idx_images(uint32_t n, uint32_t rows, uint32_t cols,
                                 size_t *size) {
  size_t image = (size_t)rows * cols;
  *size = 16 + n * image;
  unsigned char *b = malloc(*size);
  put_be32(b, 0x803);
  put_be32(b + 4, n);
  put_be32(b + 8, rows);
  put_be32(b + 12, cols);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < image; j++)
      b[16 + i * image + j] = pattern(i, j);
  return b;
}

/* An IDX label file; label i is (i * 3) % 10. */
static unsigned char *idx_labels(uint32_t n, size_t *size) {
  *size = 8 + (size_t)n;
  unsigned char *b = malloc(*size);
  put_be32(b, 0x801);
  put_be32(b + 4, n);
  for (uint32_t i = 0; i < n; i++)
    b[8 + i] = (unsigned char)(i * 3 % 10);
  return b;
}

static const char *const idx_names[4] = {
    "train-images-idx3-ubyte", "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"};

/* Writes a small MNIST-shaped set (5 train, 3 test) in @p dir. */
static void write_idx_set(const char *dir, bool gz) {
  uint32_t counts[2] = {5, 3};
  for (int s = 0; s < 2; s++) {
    size_t n;
    unsigned char *b[2] = {idx_images(counts[s], 28, 28, &n), NULL};
    size_t sizes[2] = {n, 0};
    b[1] = idx_labels(counts[s], &sizes[1]);
    for (int f = 0; f < 2; f++) {
      char name[64];
      snprintf(name, sizeof name, "%s%s", idx_names[2 * s + f],
               gz ? ".gz" : "");
      (gz ? write_gz : write_file)(dir, name, b[f], sizes[f]);
      free(b[f]);
    }
  }
}

static void check_idx_set(const evo_dataset *d) {
  ck_assert_uint_eq(d->n_train, 5);
  ck_assert_uint_eq(d->n_test, 3);
  for (size_t i = 0; i < 5; i++) {
    ck_assert_uint_eq(d->train_y[i], i * 3 % 10);
    for (size_t j = 0; j < 784; j += 97)
      ck_assert_uint_eq(d->train_x[i * 784 + j], pattern(i, j));
  }
  ck_assert_uint_eq(d->test_x[2 * 784 + 783], pattern(2, 783));
  ck_assert_uint_eq(d->test_y[2], 6);
}

/* ---- digits ---- */

/* The digits CSV parsed here with strtol: pixels[1797 * 64], labels. */
static void parse_digits_csv(uint8_t *pixels, uint8_t *labels) {
  size_t size;
  char *text = (char *)slurp(g_digits_csv, &size);
  text = realloc(text, size + 1);
  text[size] = '\0';
  char *p = text;
  for (int r = 0; r < 1797; r++)
    for (int f = 0; f < 65; f++) {
      char *end;
      long v = strtol(p, &end, 10);
      ck_assert_msg(end != p && *end == (f < 64 ? ',' : '\n'),
                    "CSV row %d field %d", r, f);
      if (f < 64)
        pixels[r * 64 + f] = (uint8_t)v;
      else
        labels[r] = (uint8_t)v;
      p = end + 1;
    }
  ck_assert_int_eq(*p, '\0');
  free(text);
}

START_TEST(t_digits_bundled) {
  evo_dataset *d = NULL;
  ck_assert_int_eq(evo_dataset_load(&d, "digits", NULL), EVO_OK);
  ck_assert_str_eq(d->name, "digits");
  ck_assert_str_eq(d->source, "(bundled)");
  ck_assert_uint_eq(d->n_train, 1437);
  ck_assert_uint_eq(d->n_test, 360);
  ck_assert_int_eq(d->channels, 1);
  ck_assert_int_eq(d->height, 8);
  ck_assert_int_eq(d->width, 8);
  ck_assert_int_eq(d->pixel_max, 16);
  /* The CSV's first row, by hand. */
  static const uint8_t first[16] = {0, 0, 5,  13, 9,  1,  0, 0,
                                    0, 0, 13, 15, 10, 15, 5, 0};
  ck_assert_mem_eq(d->train_x, first, 16);
  ck_assert_uint_eq(d->train_y[0], 0);
  evo_dataset_free(d);
}
END_TEST

START_TEST(t_digits_match_csv) {
  static uint8_t pixels[1797 * 64], labels[1797];
  parse_digits_csv(pixels, labels);
  evo_dataset *d = NULL;
  ck_assert_int_eq(evo_dataset_load(&d, "digits", NULL), EVO_OK);
  ck_assert_mem_eq(d->train_x, pixels, 1437 * 64);
  ck_assert_mem_eq(d->train_y, labels, 1437);
  ck_assert_mem_eq(d->test_x, pixels + 1437 * 64, 360 * 64);
  ck_assert_mem_eq(d->test_y, labels + 1437, 360);
  /* Mean and population std of pixel/16 over all 1797 images, two-pass. */
  double sum = 0, ss = 0;
  for (size_t i = 0; i < sizeof pixels; i++)
    sum += pixels[i] / 16.0;
  double mean = sum / (double)sizeof pixels;
  for (size_t i = 0; i < sizeof pixels; i++)
    ss += (pixels[i] / 16.0 - mean) * (pixels[i] / 16.0 - mean);
  double std = sqrt(ss / (double)sizeof pixels);
  ck_assert_double_eq_tol(d->mean[0], mean, 1e-6);
  ck_assert_double_eq_tol(d->std[0], std, 1e-6);
  /* Normalised values: (p/16 - mean)/std. */
  float out[64];
  evo_dataset_to_float(d, d->test_x + 359 * 64, 1, out);
  for (int j = 0; j < 64; j++)
    ck_assert_double_eq_tol(out[j], (pixels[1796 * 64 + j] / 16.0 - mean) / std,
                            1e-5);
  evo_dataset_free(d);
}
END_TEST

START_TEST(t_digits_folder) {
  size_t n;
  unsigned char *gz = NULL;
  FILE *f = fopen(g_digits_csv, "rb");
  ck_assert_ptr_nonnull(f);
  gz = malloc(1 << 20);
  n = fread(gz, 1, 1 << 20, f);
  fclose(f);
  char *dir = subdir(g_tmp, "digits");
  write_file(dir, "digits.csv.gz", gz, n);
  free(gz);
  evo_dataset *a = NULL, *b = NULL;
  ck_assert_int_eq(evo_dataset_load(&a, "digits", g_tmp), EVO_OK);
  ck_assert_str_eq(a->source, dir);
  ck_assert_int_eq(evo_dataset_load(&b, "digits", NULL), EVO_OK);
  ck_assert_mem_eq(a->train_x, b->train_x, 1437 * 64);
  ck_assert_mem_eq(a->test_y, b->test_y, 360);
  ck_assert_float_eq(a->std[0], b->std[0]);
  evo_dataset_free(a);
  evo_dataset_free(b);
}
END_TEST

START_TEST(t_digits_bad_csv) {
  static uint8_t pixels[1797 * 64], labels[1797];
  parse_digits_csv(pixels, labels);
  char *dir = subdir(g_tmp, "digits");
  /* Too few rows. */
  write_file(dir, "digits.csv", "0,1,2\n", 6);
  EXPECT_FAIL(EVO_EFORMAT, "digits", dir, "digits.csv'", "line 1");
  /* A pixel of 17 on line 3 of otherwise valid rows. */
  static char text[1797 * 200];
  size_t len = 0;
  pixels[2 * 64 + 9] = 17;
  for (int r = 0; r < 1797; r++)
    for (int f = 0; f < 65; f++)
      len += (size_t)sprintf(text + len, "%d%c",
                             f < 64 ? pixels[r * 64 + f] : labels[r],
                             f < 64 ? ',' : '\n');
  write_file(dir, "digits.csv", text, len);
  EXPECT_FAIL(EVO_EFORMAT, "digits", dir, "line 3", "pixel 17");
}
END_TEST

/* Issue 14, item 5: a digits.csv whose pixels are all equal has a standard
 * deviation of 0 (every input would be NaN): refused at open, by the data
 * set and by the task. One pixel different is a valid set. */
START_TEST(t_digits_constant_csv) {
  static char text[1797 * 200];
  char *dir = subdir(g_tmp, "digits");
  for (int value = 0; value <= 16; value += 16) {
    size_t len = 0;
    for (int r = 0; r < 1797; r++)
      for (int f = 0; f < 65; f++)
        len += (size_t)sprintf(text + len, "%d%c", f < 64 ? value : r % 10,
                               f < 64 ? ',' : '\n');
    write_file(dir, "digits.csv", text, len);
    char needle[64];
    snprintf(needle, sizeof needle, "every pixel of the 1797 images is %d",
             value);
    EXPECT_FAIL(EVO_EFORMAT, "digits", dir, "digits.csv'", needle,
                "standard deviation of 0");
    evo_task *t = (evo_task *)1;
    ck_assert_int_eq(evo_task_open(&t, "digits", dir), EVO_EFORMAT);
    ck_assert_ptr_null(t);
    ck_assert_ptr_nonnull(strstr(evo_last_error(), needle));
    if (value == 0) {
      text[0] = '1'; /* the first pixel differs from the others, 0 */
      write_file(dir, "digits.csv", text, len);
      evo_dataset *d = NULL;
      ck_assert_int_eq(evo_dataset_load(&d, "digits", dir), EVO_OK);
      /* mean = 1/N of pixel/16, std = sqrt(1/N - 1/N^2) of pixel/16, with
       * N = 1797 * 64 pixels. */
      double n = 1797.0 * 64;
      ck_assert_double_eq_tol(d->mean[0], 1 / n / 16, 1e-9);
      ck_assert_double_eq_tol(d->std[0], sqrt(1 / n - 1 / (n * n)) / 16, 1e-7);
      evo_dataset_free(d);
    }
  }
}
END_TEST

/* ---- synthetic IDX and CIFAR files ---- */

START_TEST(t_idx_small) {
  write_idx_set(subdir(g_tmp, "mnist"), false);
  evo_dataset *d = NULL;
  ck_assert_int_eq(evo_dataset_load(&d, "mnist", g_tmp), EVO_OK);
  check_idx_set(d);
  ck_assert_ptr_nonnull(strstr(d->source, "/mnist"));
  ck_assert_float_eq(d->mean[0], 0.1307f);
  ck_assert_float_eq(d->std[0], 0.3081f);
  /* x/255 then (x - 0.1307)/0.3081, doc/algorithm.md §3. */
  ck_assert_double_eq_tol(d->lut[0][255], (1.0 - 0.1307) / 0.3081, 1e-6);
  ck_assert_double_eq_tol(d->lut[0][0], -0.1307 / 0.3081, 1e-6);
  evo_dataset_free(d);
  /* The data set's own folder given directly, and gzip-compressed files. */
  char *gzdir = subdir(g_tmp, "gz");
  write_idx_set(gzdir, true);
  ck_assert_int_eq(evo_dataset_load(&d, "fashion_mnist", gzdir), EVO_OK);
  check_idx_set(d);
  ck_assert_str_eq(d->source, gzdir);
  ck_assert_float_eq(d->mean[0], 0.2860f);
  evo_dataset_free(d);
}
END_TEST

START_TEST(t_search_path) {
  char a[4096], b[4096], path[8300];
  snprintf(a, sizeof a, "%s", subdir(g_tmp, "a"));
  snprintf(b, sizeof b, "%s", subdir(g_tmp, "b"));
  write_idx_set(subdir(b, "fashion_mnist"), false);
  write_idx_set(subdir(b, "mnist"), true);
  snprintf(path, sizeof path, "::%s:%s/:", a, b);
  setenv("EVOOPT_DATA_PATH", path, 1);
  evo_dataset *d = NULL;
  ck_assert_int_eq(evo_dataset_load(&d, "fashion_mnist", NULL), EVO_OK);
  char want[8300];
  snprintf(want, sizeof want, "%s/fashion_mnist", b);
  ck_assert_str_eq(d->source, want);
  evo_dataset_free(d);
  /* An earlier root wins. */
  write_idx_set(subdir(a, "mnist"), false);
  char where[EVO_DATA_PATH_CAP];
  ck_assert_int_eq(evo_dataset_locate(where, "mnist", NULL), EVO_OK);
  snprintf(want, sizeof want, "%s/mnist", a);
  ck_assert_str_eq(where, want);
  /* An explicit folder is the only place looked at. */
  EXPECT_FAIL(EVO_ENOTFOUND, "mnist", g_tmp, g_tmp);
  unsetenv("EVOOPT_DATA_PATH");
}
END_TEST

/* Broken replacements for one file of a valid set (5 train, 3 test). */
static unsigned char *truncated_images(size_t *n) {
  unsigned char *b = idx_images(5, 28, 28, n);
  *n = 1000;
  return b;
}

static unsigned char *longer_images(size_t *n) {
  unsigned char *b = idx_images(5, 28, 28, n);
  b = realloc(b, ++*n);
  b[*n - 1] = 0;
  return b;
}

static unsigned char *short_header(size_t *n) {
  unsigned char *b = idx_images(3, 28, 28, n);
  *n = 10;
  return b;
}

static unsigned char *labels_as_images(size_t *n) { return idx_labels(5, n); }

static unsigned char *images_32x32(size_t *n) {
  return idx_images(3, 32, 32, n);
}

static unsigned char *too_few_labels(size_t *n) { return idx_labels(4, n); }

static unsigned char *label_12(size_t *n) {
  unsigned char *b = idx_labels(3, n);
  b[8 + 1] = 12;
  return b;
}

static const struct {
  int file; /* index in idx_names */
  unsigned char *(*make)(size_t *n);
  const char *needles[3]; /* what the message must say */
} broken_idx[] = {
    {0,
     truncated_images,
     {"train-images-idx3-ubyte'",
      "expected 3936 bytes for 5 images of 28x28, found 1000"}},
    {0, longer_images, {"train-images-idx3-ubyte'", "found 3937"}},
    {2, short_header, {"t10k-images-idx3-ubyte'", "header"}},
    {0, labels_as_images, {"train-images-idx3-ubyte'", "magic 0x00000801"}},
    {2, images_32x32, {"t10k-images-idx3-ubyte'", "32x32, expected 28x28"}},
    {1,
     too_few_labels,
     {"train-labels-idx1-ubyte' holds 4", "train-images-idx3-ubyte' holds 5"}},
    {3, label_12, {"t10k-labels-idx1-ubyte'", "label 12 of item 1"}},
};

START_TEST(t_idx_broken) {
  size_t n;
  unsigned char *b = broken_idx[_i].make(&n);
  char *dir = subdir(g_tmp, "mnist");
  write_idx_set(dir, false);
  write_file(dir, idx_names[broken_idx[_i].file], b, n);
  free(b);
  expect_fail(EVO_EFORMAT, "mnist", dir, broken_idx[_i].needles);
}
END_TEST

START_TEST(t_idx_truncated_gz) {
  char *dir = subdir(g_tmp, "mnist");
  write_idx_set(dir, true);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s.gz", dir, idx_names[0]);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
  EXPECT_FAIL(EVO_EFORMAT, "mnist", dir, path);
}
END_TEST

/* Issue 14, item 3: an IDX file whose header declares 5 images and which
 * inflates to 1.2 GiB is refused after the declared bytes, without
 * inflating the rest (peak memory up by less than 16 MiB, under 2 s; the
 * old bound, the largest MNIST file, let it take 45 MiB). */
START_TEST(t_idx_gzip_bomb) {
  char *dir = subdir(g_tmp, "mnist");
  write_idx_set(dir, false);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, idx_names[0]);
  ck_assert_int_eq(unlink(path), 0);
  snprintf(path, sizeof path, "%s/%s.gz", dir, idx_names[0]);
  size_t n;
  unsigned char *head = idx_images(5, 28, 28, &n);
  ck_assert_int_eq(bomb_write(path, head, n, 1200), 0);
  free(head);
  size_t rss = bomb_peak_rss();
  double start = bomb_now();
  EXPECT_FAIL(EVO_EFORMAT, "mnist", dir, path, "larger than 3937 bytes");
  double seconds = bomb_now() - start;
  size_t grown = bomb_peak_rss() - rss;
  ck_assert_msg(grown < ((size_t)16 << 20) && seconds < 2.0,
                "peak memory up by %zu MiB, %.2f s", grown >> 20, seconds);
}
END_TEST

START_TEST(t_idx_missing_file) {
  char *dir = subdir(g_tmp, "mnist");
  write_idx_set(dir, false);
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, idx_names[3]);
  ck_assert_int_eq(unlink(path), 0);
  EXPECT_FAIL(EVO_ENOTFOUND, "mnist", dir, "t10k-labels-idx1-ubyte");
}
END_TEST

START_TEST(t_missing_folder) {
  char nowhere[4096], a[4096];
  snprintf(nowhere, sizeof nowhere, "%s/nowhere", g_tmp);
  EXPECT_FAIL(EVO_ENOTFOUND, "mnist", nowhere, "not found", nowhere,
              "nowhere/mnist'. Run 'evoopt data fetch mnist' to download it. "
              "Get MNIST's",
              "yann.lecun.com/exdb/mnist");
  snprintf(a, sizeof a, "%s/a", g_tmp);
  setenv("EVOOPT_DATA_PATH", a, 1);
  evo_dataset *d = NULL;
  int rc = evo_dataset_load(&d, "cifar10", NULL);
  if (rc == EVO_OK) { /* a machine with CIFAR-10 in the system folder */
    ck_assert_ptr_nonnull(strstr(d->source, EVO_DATA_SYSTEM_ROOT));
    evo_dataset_free(d);
  } else {
    EXPECT_FAIL(EVO_ENOTFOUND, "cifar10", NULL, "a/cifar10'",
                "a/cifar-10-batches-bin'", "'/usr/share/datasets/cifar10'",
                "www.cs.toronto.edu/~kriz/cifar.html", "binary",
                "Run 'evoopt data fetch cifar10' to download it.",
                "where evoopt data fetch puts it");
  }
  unsetenv("EVOOPT_DATA_PATH");
  /* Fashion-MNIST's message names the Debian package. */
  EXPECT_FAIL(EVO_ENOTFOUND, "fashion_mnist", nowhere, "dataset-fashion-mnist",
              "nowhere/fashion-mnist'",
              "Run 'evoopt data fetch fashion_mnist' to download it.");
  /* The bundled set is not one to download. */
  EXPECT_FAIL(EVO_ENOTFOUND, "digits", nowhere,
              "nowhere/digits'. The library has its own copy");
}
END_TEST

START_TEST(t_unknown_and_args) {
  EXPECT_FAIL(EVO_ENOTFOUND, "svhn", NULL, "'svhn'",
              "mnist, fashion_mnist, cifar10, digits");
  EXPECT_FAIL(EVO_EINVAL, NULL, NULL, "name");
  EXPECT_FAIL(EVO_EINVAL, "mnist", "", "empty");
  ck_assert_int_eq(evo_dataset_load(NULL, "digits", NULL), EVO_EINVAL);
  char where[EVO_DATA_PATH_CAP];
  ck_assert_int_eq(evo_dataset_locate(where, "digits", NULL), EVO_OK);
  ck_assert_str_eq(where, "(bundled)");
  evo_dataset_free(NULL);
}
END_TEST

/* A CIFAR-10 batch of n records: label (first + i) % 10, then channel c of
 * image i filled with 10 * c + i (+ the pixel index in the R plane). */
static unsigned char *cifar_batch(size_t n, unsigned first) {
  unsigned char *b = malloc(n * 3073);
  for (size_t i = 0; i < n; i++) {
    unsigned char *r = b + i * 3073;
    r[0] = (unsigned char)((first + i) % 10);
    for (size_t c = 0; c < 3; c++)
      memset(r + 1 + c * 1024, (int)(10 * c + i), 1024);
    for (size_t j = 0; j < 1024; j++)
      r[1 + j] = (unsigned char)(r[1 + j] + j);
  }
  return b;
}

START_TEST(t_cifar_small) {
  char *dir = subdir(g_tmp, "cifar-10-batches-bin");
  unsigned char *test = cifar_batch(3, 0), *b3 = cifar_batch(2, 5),
                *b5 = cifar_batch(4, 1);
  write_file(dir, "test_batch.bin", test, 3 * 3073);
  write_gz(dir, "data_batch_3.bin.gz", b3, 2 * 3073);
  write_file(dir, "data_batch_5.bin", b5, 4 * 3073);
  evo_dataset *d = NULL;
  ck_assert_int_eq(evo_dataset_load(&d, "cifar10", g_tmp), EVO_OK);
  ck_assert_str_eq(d->source, dir);
  ck_assert_int_eq(d->channels, 3);
  ck_assert_uint_eq(d->n_test, 3);
  ck_assert_uint_eq(d->n_train, 6);
  ck_assert_ptr_nonnull(strstr(d->detail, "batches 3, 5 of 5 (6 images)"));
  /* Batches in order 3 then 5: train image 3 is batch 5's image 1. */
  static const uint8_t labels[6] = {5, 6, 1, 2, 3, 4};
  ck_assert_mem_eq(d->train_y, labels, 6);
  const uint8_t *img = d->train_x + 3 * 3072;
  ck_assert_uint_eq(img[0], 1); /* R plane, pixel 0 */
  ck_assert_uint_eq(img[1023], (1 + 1023) % 256);
  ck_assert_uint_eq(img[1024], 11);       /* G plane */
  ck_assert_uint_eq(img[2048 + 500], 21); /* B plane */
  ck_assert_uint_eq(d->test_y[2], 2);
  /* doc/algorithm.md §3's constants, per channel. */
  ck_assert_double_eq_tol(d->lut[2][0], -0.4465 / 0.2616, 1e-6);
  ck_assert_double_eq_tol(d->lut[1][255], (1 - 0.4822) / 0.2435, 1e-6);
  float out[3072];
  evo_dataset_to_float(d, img, 1, out);
  ck_assert_double_eq_tol(out[1024], (11 / 255.0 - 0.4822) / 0.2435, 1e-5);
  evo_dataset_free(d);
  free(test);
  free(b3);
  free(b5);
}
END_TEST

START_TEST(t_cifar_broken) {
  char *dir = subdir(g_tmp, "cifar10");
  unsigned char *b = cifar_batch(2, 0);
  write_file(dir, "test_batch.bin", b, 2 * 3073);
  EXPECT_FAIL(EVO_ENOTFOUND, "cifar10", dir, "none of the CIFAR-10 training",
              "data_batch_1.bin");
  write_file(dir, "data_batch_2.bin", b, 2 * 3073 - 7);
  EXPECT_FAIL(EVO_EFORMAT, "cifar10", dir, "data_batch_2.bin'", "6139 bytes",
              "3073");
  b[3073] = 12;
  write_file(dir, "data_batch_2.bin", b, 2 * 3073);
  EXPECT_FAIL(EVO_EFORMAT, "cifar10", dir, "data_batch_2.bin'",
              "label 12 of item 1");
  char test[4096];
  snprintf(test, sizeof test, "%s/test_batch.bin", dir);
  ck_assert_int_eq(unlink(test), 0);
  EXPECT_FAIL(EVO_ENOTFOUND, "cifar10", dir, "test_batch.bin");
  free(b);
}
END_TEST

/* ---- real data: loaded once in main, compared with files read here ---- */

/* Compares a split with the IDX files @p images and @p labels of @p dir. */
static void compare_idx(const char *dir, const char *images, const char *labels,
                        const uint8_t *x, const uint8_t *y, size_t n) {
  char path[8300];
  size_t size;
  snprintf(path, sizeof path, "%s/%s.gz", dir, images);
  unsigned char *raw = slurp(path, &size);
  ck_assert_uint_eq(size, 16 + n * 784);
  ck_assert_msg(memcmp(raw + 16, x, n * 784) == 0, "%s differs", path);
  free(raw);
  snprintf(path, sizeof path, "%s/%s.gz", dir, labels);
  raw = slurp(path, &size);
  ck_assert_uint_eq(size, 8 + n);
  ck_assert_msg(memcmp(raw + 8, y, n) == 0, "%s differs", path);
  free(raw);
}

/* Mean and std of channel @p c of all training pixels, /255. */
static void pixel_stats(const evo_dataset *d, int c, double *mean,
                        double *std) {
  size_t hw = (size_t)d->height * (size_t)d->width;
  size_t img = evo_dataset_image_size(d);
  double s = 0, ss = 0;
  for (size_t i = 0; i < d->n_train; i++) {
    const uint8_t *p = d->train_x + i * img + (size_t)c * hw;
    uint64_t si = 0, ssi = 0;
    for (size_t j = 0; j < hw; j++) {
      si += p[j];
      ssi += (uint64_t)p[j] * p[j];
    }
    s += (double)si;
    ss += (double)ssi;
  }
  double n = (double)d->n_train * (double)hw;
  *mean = s / n / 255.0;
  *std = sqrt(ss / n / 65025.0 - *mean * *mean);
}

START_TEST(t_mnist_like) {
  ck_assert_msg(g_rc == EVO_OK, "loading: %s", g_err);
  bool fashion = strcmp(g_set->name, "fashion_mnist") == 0;
  ck_assert_uint_eq(g_set->n_train, 60000);
  ck_assert_uint_eq(g_set->n_test, 10000);
  ck_assert_int_eq(g_set->height, 28);
  /* First labels: MNIST 5 and 7; Fashion-MNIST 9 and 9 (ankle boots). */
  ck_assert_uint_eq(g_set->train_y[0], fashion ? 9 : 5);
  ck_assert_uint_eq(g_set->test_y[0], fashion ? 9 : 7);
  compare_idx(g_set->source, idx_names[0], idx_names[1], g_set->train_x,
              g_set->train_y, 60000);
  compare_idx(g_set->source, idx_names[2], idx_names[3], g_set->test_x,
              g_set->test_y, 10000);
  /* doc/algorithm.md §3's constants are these training pixels' mean and std. */
  double mean, std;
  pixel_stats(g_set, 0, &mean, &std);
  ck_assert_double_eq_tol(mean, fashion ? 0.2860 : 0.1307, 1e-4);
  ck_assert_double_eq_tol(std, fashion ? 0.3530 : 0.3081, 1e-4);
  ck_assert_float_eq(g_set->mean[0], fashion ? 0.2860f : 0.1307f);
}
END_TEST

START_TEST(t_cifar10) {
  ck_assert_msg(g_rc == EVO_OK, "loading: %s", g_err);
  /* The training batches present, counted here. */
  size_t batches = 0;
  for (int i = 1; i <= 5; i++) {
    char base[32], path[EVO_DATA_PATH_CAP];
    snprintf(base, sizeof base, "data_batch_%d.bin", i);
    batches += evo_data_find_file(path, g_set->source, base);
  }
  ck_assert_uint_gt(batches, 0);
  ck_assert_uint_eq(g_set->n_train, 10000 * batches);
  ck_assert_uint_eq(g_set->n_test, 10000);
  ck_assert_uint_eq(g_set->test_y[0], 3);  /* cat */
  ck_assert_uint_eq(g_set->train_y[0], 6); /* frog: data_batch_1 is there */
  char path[EVO_DATA_PATH_CAP];
  ck_assert(evo_data_find_file(path, g_set->source, "test_batch.bin"));
  size_t size;
  unsigned char *raw = slurp(path, &size);
  ck_assert_uint_eq(size, 10000 * 3073);
  for (size_t i = 0; i < 10000; i += 1237) {
    ck_assert_uint_eq(g_set->test_y[i], raw[i * 3073]);
    ck_assert_mem_eq(g_set->test_x + i * 3072, raw + i * 3073 + 1, 3072);
  }
  free(raw);
  /* doc/algorithm.md §3's means and stds are over all 50,000 training images; a
   * subset of the batches comes close. */
  static const double mean[3] = {0.4914, 0.4822, 0.4465},
                      std[3] = {0.2470, 0.2435, 0.2616};
  for (int c = 0; c < 3; c++) {
    double m, s;
    pixel_stats(g_set, c, &m, &s);
    ck_assert_double_eq_tol(m, mean[c], batches == 5 ? 1e-4 : 0.01);
    ck_assert_double_eq_tol(s, std[c], batches == 5 ? 1e-3 : 0.01);
    ck_assert_float_eq(g_set->mean[c], (float)mean[c]);
  }
}
END_TEST

/* ---- main: one part per run ---- */

static TCase *files_case(void) {
  TCase *tc = tcase_create("files");
  tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
  tcase_add_test(tc, t_idx_small);
  tcase_add_test(tc, t_search_path);
  tcase_add_loop_test(tc, t_idx_broken, 0,
                      (int)(sizeof broken_idx / sizeof broken_idx[0]));
  tcase_add_test(tc, t_idx_truncated_gz);
  tcase_add_test(tc, t_idx_gzip_bomb);
  tcase_add_test(tc, t_idx_missing_file);
  tcase_add_test(tc, t_missing_folder);
  tcase_add_test(tc, t_unknown_and_args);
  tcase_add_test(tc, t_cifar_small);
  tcase_add_test(tc, t_cifar_broken);
  return tc;
}

static TCase *digits_case(void) {
  TCase *tc = tcase_create("digits");
  tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
  tcase_add_test(tc, t_digits_bundled);
  tcase_add_test(tc, t_digits_match_csv);
  tcase_add_test(tc, t_digits_folder);
  tcase_add_test(tc, t_digits_bad_csv);
  tcase_add_test(tc, t_digits_constant_csv);
  return tc;
}

/* Loads a real data set once, before the forked tests; 77 when missing. */
static TCase *real_case(const char *name) {
  char where[EVO_DATA_PATH_CAP];
  if (evo_dataset_locate(where, name, NULL) == EVO_ENOTFOUND) {
    printf("SKIP: %s\n", evo_last_error());
    exit(77);
  }
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  g_rc = evo_dataset_load(&g_set, name, NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  snprintf(g_err, sizeof g_err, "%s", evo_last_error());
  printf("%s: loaded from %s in %.2f s (%s)\n", name, where,
         (double)(t1.tv_sec - t0.tv_sec) +
             1e-9 * (double)(t1.tv_nsec - t0.tv_nsec),
         g_rc == EVO_OK ? g_set->detail : g_err);
  TCase *tc = tcase_create(name);
  tcase_add_test(tc, strcmp(name, "cifar10") ? t_mnist_like : t_cifar10);
  return tc;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr,
            "usage: %s digits|files|mnist|fashion_mnist|cifar10 "
            "DIGITS_CSV_GZ\n",
            argv[0]);
    return 2;
  }
  const char *part = argv[1];
  g_digits_csv = argv[2];
  TCase *tc;
  if (strcmp(part, "files") == 0)
    tc = files_case();
  else if (strcmp(part, "digits") == 0)
    tc = digits_case();
  else if (strcmp(part, "mnist") == 0 || strcmp(part, "fashion_mnist") == 0 ||
           strcmp(part, "cifar10") == 0)
    tc = real_case(part);
  else
    return fprintf(stderr, "unknown part '%s'\n", part), 2;
  Suite *s = suite_create("data");
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  evo_dataset_free(g_set);
  return failed ? 1 : 0;
}
