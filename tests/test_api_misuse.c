/* Check suite: a robustness sweep of the whole public API (issue 2: "bad
 * input gets a status code and a message naming what is wrong, never a
 * crash, an abort or a partial write"). Every function of
 * libevoopt/libevoopt.map is called with NULL pointers, out-of-range enums
 * and indices, non-finite doubles and in the wrong state; each failure must
 * give the status its header lists, a fresh non-empty evo_last_error()
 * (naming the culprit where the header or the project rule says so), and
 * leave the object as it was (read back). Files: directories, empty,
 * oversized and binary files, /dev/null, folders that do not exist. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "evoopt/evoopt.h"

/* ---- helpers -------------------------------------------------------------- */

/* A message no tested call produces: primed before each call so that a
 * failure that forgets to set its own message is caught. */
#define SENTINEL "-424242"

static void prime_error(void) {
  ck_assert_int_eq(evo_blas_set_threads(-424242), EVO_ERANGE);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), SENTINEL));
}

static void check_error(int rc, int want, const char *needle,
                        const char *call, int line) {
  const char *msg = evo_last_error();
  ck_assert_msg(rc == want, "line %d: %s returned %d (%s), expected %d", line,
                call, rc, msg, want);
  ck_assert_msg(msg != NULL && msg[0] != '\0' && !strstr(msg, SENTINEL),
                "line %d: %s left no message of its own (\"%s\")", line, call,
                msg ? msg : "(null)");
  ck_assert_msg(needle == NULL || strstr(msg, needle) != NULL,
                "line %d: %s: message \"%s\" does not mention \"%s\"", line,
                call, msg, needle);
}

/* EXPECT(call, status, needle): the call fails with exactly `status`, sets
 * a message of its own, containing `needle` unless it is NULL. */
#define EXPECT(call, want, needle)                                            \
  do {                                                                        \
    prime_error();                                                            \
    int rc_ = (call);                                                         \
    check_error(rc_, (want), (needle), #call, __LINE__);                      \
  } while (0)

static char tmp_dir[64];

static void make_tmp_dir(void) {
  strcpy(tmp_dir, "/tmp/evo_misuse_XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(tmp_dir));
}

static void rm_tmp_dir(void) {
  DIR *d = opendir(tmp_dir);
  if (d == NULL)
    return;
  struct dirent *e;
  char path[512];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", tmp_dir, e->d_name);
    if (remove(path) != 0)
      rmdir(path);
  }
  closedir(d);
  rmdir(tmp_dir);
}

/* The number of entries of a folder, "." and ".." excluded. */
static int dir_entries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

/* Writes `n` bytes of `fill` (or of a pattern when fill < 0) to
 * tmp_dir/name and returns the path in `path`. */
static void write_file(char *path, size_t cap, const char *name, size_t n,
                       int fill) {
  snprintf(path, cap, "%s/%s", tmp_dir, name);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  for (size_t i = 0; i < n; i++)
    fputc(fill >= 0 ? fill : (int)((i * 151u + 7u) & 0xffu), f);
  ck_assert_int_eq(fclose(f), 0);
}

/* gzip's magic and header, then bytes that are no deflate stream. */
static void write_gzip_junk(char *path, size_t cap, const char *name) {
  static const unsigned char head[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
  write_file(path, cap, name, 0, 0);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  fwrite(head, 1, sizeof head, f);
  for (int i = 0; i < 64; i++)
    fputc(0xff, f);
  ck_assert_int_eq(fclose(f), 0);
}

static void *read_all(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *buf = malloc((size_t)len + 1);
  ck_assert_ptr_nonnull(buf);
  ck_assert_uint_eq(fread(buf, 1, (size_t)len, f), (size_t)len);
  fclose(f);
  *n = (size_t)len;
  return buf;
}

static evo_genome *preset(const char *name) {
  evo_genome *g = NULL;
  ck_assert_int_eq(evo_genome_preset(&g, name), EVO_OK);
  return g;
}

/* A cheap pure fitness: higher for a learning rate near 1e-3. */
static int toy_fitness(void *user, const evo_genome *g, uint64_t seed,
                       evo_report *report) {
  (void)user;
  (void)seed;
  double lr;
  int rc = evo_genome_get(g, EVO_GENE_LR_LOG10, &lr);
  if (rc != EVO_OK)
    return rc;
  return evo_report_set_fitness(report, 1.0 / (1.0 + fabs(lr + 3.0)));
}

static const double nonfinite[3] = {NAN, INFINITY, -INFINITY};

/* ---- common.h ------------------------------------------------------------- */

START_TEST(test_common) {
  ck_assert_uint_eq(evo_version_number(), EVO_VERSION_NUMBER);
  ck_assert_str_eq(evo_version_string(), EVO_VERSION_STRING);
  const int odd[] = {1, 99, -16, -999, INT32_MIN, INT32_MAX};
  for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    const char *s = evo_status_str(odd[i]);
    ck_assert_ptr_nonnull(s);
    ck_assert_ptr_nonnull(strstr(s, "unknown"));
  }
  ck_assert_ptr_nonnull(evo_last_error());
  evo_free(NULL);
}
END_TEST

/* ---- genome.h ------------------------------------------------------------- */

static void assert_genome_is(const evo_genome *g, const evo_genome *ref) {
  ck_assert_msg(evo_genome_equal(g, ref), "a failed call changed the genome");
}

START_TEST(test_genome_null) {
  evo_genome *g = preset("adam"), *out = NULL;
  double v;
  int f;
  char *s = NULL;
  EXPECT(evo_genome_new(NULL), EVO_EINVAL, NULL);
  EXPECT(evo_genome_preset(NULL, "adam"), EVO_EINVAL, NULL);
  EXPECT(evo_genome_preset(&out, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_genome_preset(&out, "no-such-preset"), EVO_ENOTFOUND, "adamw");
  ck_assert_ptr_null(evo_genome_preset_name(evo_genome_preset_count()));
  ck_assert_ptr_null(evo_genome_preset_name(SIZE_MAX));
  EXPECT(evo_genome_clone(NULL, g), EVO_EINVAL, NULL);
  EXPECT(evo_genome_clone(&out, NULL), EVO_EINVAL, NULL);
  evo_genome_free(NULL);
  ck_assert_int_eq(evo_genome_equal(NULL, g), 0);
  ck_assert_int_eq(evo_genome_equal(g, NULL), 0);
  ck_assert_int_eq(evo_genome_equal(NULL, NULL), 0);
  EXPECT(evo_genome_get(NULL, EVO_GENE_BETA1, &v), EVO_EINVAL, NULL);
  EXPECT(evo_genome_get(g, EVO_GENE_BETA1, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_genome_set(NULL, EVO_GENE_BETA1, 0.5), EVO_EINVAL, NULL);
  EXPECT(evo_genome_get_flag(NULL, EVO_FLAG_USE_M, &f), EVO_EINVAL, NULL);
  EXPECT(evo_genome_get_flag(g, EVO_FLAG_USE_M, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_genome_set_flag(NULL, EVO_FLAG_USE_M, 1), EVO_EINVAL, NULL);
  ck_assert_uint_eq(evo_genome_term_count(NULL), 0);
  EXPECT(evo_genome_get_term(NULL, 0, NULL, NULL), EVO_EINVAL, NULL);
  ck_assert_int_eq(evo_genome_get_term(g, 0, NULL, NULL), EVO_OK);
  EXPECT(evo_genome_set_term(NULL, 0, EVO_TERM_GRAD, 1.0), EVO_EINVAL, NULL);
  EXPECT(evo_genome_add_term(NULL, EVO_TERM_GRAD, 1.0), EVO_EINVAL, NULL);
  EXPECT(evo_genome_remove_term(NULL, 0), EVO_EINVAL, NULL);
  EXPECT(evo_genome_to_json(NULL, &s), EVO_EINVAL, NULL);
  EXPECT(evo_genome_to_json(g, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_genome_from_json(NULL, "{}"), EVO_EINVAL, NULL);
  EXPECT(evo_genome_from_json(&out, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_genome_load(NULL, "/dev/null"), EVO_EINVAL, NULL);
  EXPECT(evo_genome_load(&out, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_genome_save(NULL, "/tmp/x.json"), EVO_EINVAL, NULL);
  EXPECT(evo_genome_save(g, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_genome_describe(NULL, &s), EVO_EINVAL, NULL);
  EXPECT(evo_genome_describe(g, NULL), EVO_EINVAL, NULL);
  ck_assert_ptr_null(out);
  ck_assert_ptr_null(s);
  evo_genome_free(g);
}
END_TEST

START_TEST(test_genome_enums) {
  evo_genome *g = preset("paper-evolved"), *ref = preset("paper-evolved");
  evo_genome *one = preset("adam");
  double v;
  int f;
  const int bad[] = {99, -1, EVO_GENE_WARMUP_STEPS + 1};
  const int bad_term[] = {99, -1, EVO_TERM_COUNT};
  for (size_t i = 0; i < 3; i++) {
    EXPECT(evo_genome_get(g, (evo_gene)bad[i], &v), EVO_EINVAL, "gene");
    EXPECT(evo_genome_set(g, (evo_gene)bad[i], 0.5), EVO_EINVAL, "gene");
    EXPECT(evo_genome_get_flag(g, (evo_flag)bad[i], &f), EVO_EINVAL, "flag");
    EXPECT(evo_genome_set_flag(g, (evo_flag)bad[i], 1), EVO_EINVAL, "flag");
    EXPECT(evo_genome_set_term(g, 0, (evo_term)bad_term[i], 1.0), EVO_EINVAL,
           "term");
    /* on a one-term genome, so that only the kind is wrong */
    EXPECT(evo_genome_add_term(one, (evo_term)bad_term[i], 1.0), EVO_EINVAL,
           "term");
  }
  ck_assert_ptr_null(evo_term_name((evo_term)99));
  ck_assert_ptr_null(evo_term_name((evo_term)-1));
  ck_assert_ptr_null(evo_term_name((evo_term)EVO_TERM_COUNT));
  assert_genome_is(g, ref);
  ck_assert_uint_eq(evo_genome_term_count(one), 1);
  evo_genome_free(one);
  evo_genome_free(g);
  evo_genome_free(ref);
}
END_TEST

/* Every gene refuses NaN and ±infinity (but wd_log10 = -inf), naming the
 * gene (genome.h: "a message naming the gene"). */
START_TEST(test_genome_values) {
  static const char *const names[7] = {"lr_log10", "beta1", "beta2",
                                       "eps_log10", "wd_log10", "clip_value",
                                       "warmup_steps"};
  evo_genome *g = preset("paper-evolved"), *ref = preset("paper-evolved");
  for (int k = 0; k < 7; k++)
    for (int i = 0; i < 3; i++) {
      if (k == EVO_GENE_WD_LOG10 && i == 2)
        continue;
      EXPECT(evo_genome_set(g, (evo_gene)k, nonfinite[i]), EVO_ERANGE,
             names[k]);
    }
  EXPECT(evo_genome_set(g, EVO_GENE_BETA1, 1.0), EVO_ERANGE, "beta1");
  EXPECT(evo_genome_set(g, EVO_GENE_LR_LOG10, 2.5), EVO_ERANGE, "2.5");
  EXPECT(evo_genome_set(g, EVO_GENE_CLIP_VALUE, 0.0), EVO_ERANGE, "clip");
  EXPECT(evo_genome_set(g, EVO_GENE_WARMUP_STEPS, 1.5), EVO_ERANGE, "1.5");
  EXPECT(evo_genome_set(g, EVO_GENE_WARMUP_STEPS, 0.0), EVO_ERANGE, "warmup");
  EXPECT(evo_genome_set(g, EVO_GENE_WARMUP_STEPS, 1e9 + 1), EVO_ERANGE,
         "warmup");
  /* terms: no such index, non-finite or too large α */
  size_t n = evo_genome_term_count(g);
  evo_term t;
  double a;
  EXPECT(evo_genome_get_term(g, n, &t, &a), EVO_ERANGE, NULL);
  EXPECT(evo_genome_get_term(g, SIZE_MAX, &t, &a), EVO_ERANGE, NULL);
  EXPECT(evo_genome_set_term(g, n, EVO_TERM_GRAD, 1.0), EVO_ERANGE, NULL);
  EXPECT(evo_genome_remove_term(g, n), EVO_ERANGE, NULL);
  EXPECT(evo_genome_remove_term(g, SIZE_MAX), EVO_ERANGE, NULL);
  for (int i = 0; i < 3; i++) {
    EXPECT(evo_genome_set_term(g, 0, EVO_TERM_GRAD, nonfinite[i]),
           EVO_ERANGE, "alpha");
  }
  EXPECT(evo_genome_set_term(g, 0, EVO_TERM_GRAD, 5.5), EVO_ERANGE, "5.5");
  /* paper-evolved has EVO_MAX_TERMS terms already */
  ck_assert_uint_eq(n, EVO_MAX_TERMS);
  EXPECT(evo_genome_add_term(g, EVO_TERM_GRAD, 1.0), EVO_ERANGE, NULL);
  assert_genome_is(g, ref);
  /* the last term cannot go; non-finite α refused on add */
  evo_genome *one = preset("adam"), *one_ref = preset("adam");
  EXPECT(evo_genome_remove_term(one, 0), EVO_ERANGE, NULL);
  for (int i = 0; i < 3; i++)
    EXPECT(evo_genome_add_term(one, EVO_TERM_SIGN, nonfinite[i]), EVO_ERANGE,
           "alpha");
  assert_genome_is(one, one_ref);
  evo_genome_free(one);
  evo_genome_free(one_ref);
  evo_genome_free(g);
  evo_genome_free(ref);
}
END_TEST

START_TEST(test_genome_json) {
  evo_genome *marker = preset("adam"), *out = marker;
  EXPECT(evo_genome_from_json(&out, ""), EVO_EPARSE, NULL);
  EXPECT(evo_genome_from_json(&out, "[]"), EVO_EPARSE, NULL);
  EXPECT(evo_genome_from_json(&out, "{\"term_types\": [0]}"), EVO_EPARSE,
         NULL);
  EXPECT(evo_genome_from_json(&out, "\xff\xfe\x00"), EVO_EPARSE, NULL);
  ck_assert_ptr_eq(out, marker);
  evo_genome_free(marker);
}
END_TEST

START_TEST(test_genome_files) {
  make_tmp_dir();
  evo_genome *marker = preset("adam"), *out = marker;
  char path[256];
  /* a folder */
  EXPECT(evo_genome_load(&out, tmp_dir), EVO_EIO, tmp_dir);
  /* missing */
  snprintf(path, sizeof path, "%s/missing.json", tmp_dir);
  EXPECT(evo_genome_load(&out, path), EVO_EIO, path);
  /* empty, /dev/null */
  write_file(path, sizeof path, "empty.json", 0, 0);
  EXPECT(evo_genome_load(&out, path), EVO_EPARSE, path);
  EXPECT(evo_genome_load(&out, "/dev/null"), EVO_EPARSE, "/dev/null");
  /* 2 MiB of spaces: over the 1 MiB limit */
  write_file(path, sizeof path, "big.json", (size_t)2 << 20, ' ');
  EXPECT(evo_genome_load(&out, path), EVO_EFORMAT, path);
  /* a damaged gzip stream: magic, then garbage */
  write_gzip_junk(path, sizeof path, "junk.json.gz");
  EXPECT(evo_genome_load(&out, path), EVO_EFORMAT, path);
  /* binary */
  write_file(path, sizeof path, "binary.json", 4096, -1);
  EXPECT(evo_genome_load(&out, path), EVO_EPARSE, path);
  ck_assert_ptr_eq(out, marker);
  /* save into a folder that does not exist: EIO, nothing left behind */
  int before = dir_entries(tmp_dir);
  snprintf(path, sizeof path, "%s/no/such/folder/g.json", tmp_dir);
  EXPECT(evo_genome_save(marker, path), EVO_EIO, path);
  snprintf(path, sizeof path, "%s/nofolder/g.json", tmp_dir);
  EXPECT(evo_genome_save(marker, path), EVO_EIO, path);
  /* save over a folder: EIO, no temporary file left beside it */
  snprintf(path, sizeof path, "%s/adir", tmp_dir);
  ck_assert_int_eq(mkdir(path, 0700), 0);
  EXPECT(evo_genome_save(marker, path), EVO_EIO, path);
  ck_assert_int_eq(dir_entries(tmp_dir), before + 1);
  ck_assert_int_eq(dir_entries(path), 0);
  evo_genome_free(marker);
  rm_tmp_dir();
}
END_TEST

/* ---- optimizer.h ---------------------------------------------------------- */

START_TEST(test_optimizer_args) {
  evo_genome *g = preset("adam");
  evo_optimizer *opt = NULL;
  float p[8] = {0}, gr[8] = {0};
  double v;
  uint64_t c;
  void *buf = NULL;
  size_t n = 0;
  EXPECT(evo_optimizer_new(NULL, g), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_new(&opt, NULL), EVO_EINVAL, NULL);
  ck_assert_ptr_null(opt);
  evo_optimizer_free(NULL);
  ck_assert_int_eq(evo_optimizer_new(&opt, g), EVO_OK);
  EXPECT(evo_optimizer_add_params(NULL, p, gr, 8), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_add_params(opt, NULL, gr, 8), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_add_params(opt, p, gr, 0), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_add_params(opt, p, gr, SIZE_MAX), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_add_params(opt, p, p, 8), EVO_EINVAL, "overlap");
  EXPECT(evo_optimizer_add_params(opt, p, p + 4, 8), EVO_EINVAL, "overlap");
  ck_assert_uint_eq(evo_optimizer_param_count(opt), 0);
  ck_assert_uint_eq(evo_optimizer_param_count(NULL), 0);
  /* wrong state: no tensors */
  EXPECT(evo_optimizer_step(opt), EVO_ESTATE, "tensor");
  ck_assert_int_eq(evo_optimizer_step_count(opt, &c), EVO_OK);
  ck_assert_uint_eq(c, 0);
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, gr, 8), EVO_OK);
  EXPECT(evo_optimizer_rebind(NULL, 0, p, gr), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_rebind(opt, 0, NULL, gr), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_rebind(opt, 0, p, p), EVO_EINVAL, "overlap");
  EXPECT(evo_optimizer_rebind(opt, 1, p, gr), EVO_ERANGE, "1");
  EXPECT(evo_optimizer_rebind(opt, SIZE_MAX, p, gr), EVO_ERANGE, NULL);
  EXPECT(evo_optimizer_set_param_option(NULL, 0, EVO_PARAM_LR_SCALE, 1),
         EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_get_param_option(NULL, 0, EVO_PARAM_LR_SCALE, &v),
         EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_get_param_option(opt, 0, EVO_PARAM_LR_SCALE, NULL),
         EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_set_option(NULL, EVO_OPT_BASE_LR, 1), EVO_EINVAL,
         NULL);
  EXPECT(evo_optimizer_get_option(NULL, EVO_OPT_BASE_LR, &v), EVO_EINVAL,
         NULL);
  EXPECT(evo_optimizer_get_option(opt, EVO_OPT_BASE_LR, NULL), EVO_EINVAL,
         NULL);
  EXPECT(evo_optimizer_set_total_steps(NULL, 1), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_step(NULL), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_current_lr(NULL, &v), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_current_lr(opt, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_step_count(NULL, &c), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_step_count(opt, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_save_mem(NULL, &buf, &n), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_save_mem(opt, NULL, &n), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_save_mem(opt, &buf, NULL), EVO_EINVAL, NULL);
  ck_assert_ptr_null(buf);
  EXPECT(evo_optimizer_load_mem(NULL, p, sizeof p), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_load_mem(opt, NULL, 16), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_save(NULL, "/tmp/x.state"), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_save(opt, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_load(NULL, "/dev/null"), EVO_EINVAL, NULL);
  EXPECT(evo_optimizer_load(opt, NULL), EVO_EINVAL, NULL);
  evo_optimizer_free(opt);
  evo_genome_free(g);
}
END_TEST

/* Out-of-range options, indices and non-finite values; read back after. */
START_TEST(test_optimizer_options) {
  evo_genome *g = preset("adam");
  evo_optimizer *opt = NULL;
  float p[4] = {1, 2, 3, 4}, gr[4] = {0};
  double v;
  ck_assert_int_eq(evo_optimizer_new(&opt, g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, gr, 4), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_param_option(opt, 0, EVO_PARAM_LR_SCALE,
                                                  0.5), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_option(opt, EVO_OPT_BASE_LR, 0.01),
                   EVO_OK);
  EXPECT(evo_optimizer_set_param_option(opt, 0, (evo_param_option)99, 1),
         EVO_EINVAL, "99");
  EXPECT(evo_optimizer_get_param_option(opt, 0, (evo_param_option)99, &v),
         EVO_EINVAL, "99");
  EXPECT(evo_optimizer_set_param_option(opt, 0, (evo_param_option)-1, 1),
         EVO_EINVAL, "-1");
  EXPECT(evo_optimizer_set_param_option(opt, 1, EVO_PARAM_LR_SCALE, 1),
         EVO_ERANGE, NULL);
  EXPECT(evo_optimizer_get_param_option(opt, 1, EVO_PARAM_LR_SCALE, &v),
         EVO_ERANGE, NULL);
  for (int i = 0; i < 3; i++) {
    EXPECT(evo_optimizer_set_param_option(opt, 0, EVO_PARAM_LR_SCALE,
                                          nonfinite[i]), EVO_ERANGE, "scale");
    EXPECT(evo_optimizer_set_param_option(opt, 0, EVO_PARAM_WEIGHT_DECAY,
                                          nonfinite[i]), EVO_ERANGE, "decay");
    EXPECT(evo_optimizer_set_option(opt, EVO_OPT_BASE_LR, nonfinite[i]),
           EVO_ERANGE, "EVO_OPT_BASE_LR");
    EXPECT(evo_optimizer_set_option(opt, EVO_OPT_THREADS, nonfinite[i]),
           EVO_ERANGE, "EVO_OPT_THREADS");
    EXPECT(evo_optimizer_set_option(opt, EVO_OPT_REFUSE_NONFINITE,
                                    nonfinite[i]), EVO_ERANGE,
           "EVO_OPT_REFUSE_NONFINITE");
  }
  EXPECT(evo_optimizer_set_param_option(opt, 0, EVO_PARAM_LR_SCALE, -1),
         EVO_ERANGE, "-1");
  EXPECT(evo_optimizer_set_param_option(opt, 0, EVO_PARAM_WEIGHT_DECAY, 0.5),
         EVO_ERANGE, "0.5");
  EXPECT(evo_optimizer_set_option(opt, EVO_OPT_BASE_LR, -1), EVO_ERANGE,
         "-1");
  EXPECT(evo_optimizer_set_option(opt, EVO_OPT_THREADS, 0), EVO_ERANGE, "0");
  EXPECT(evo_optimizer_set_option(opt, EVO_OPT_THREADS, 257), EVO_ERANGE,
         "257");
  EXPECT(evo_optimizer_set_option(opt, EVO_OPT_THREADS, 1.5), EVO_ERANGE,
         "1.5");
  EXPECT(evo_optimizer_set_option(opt, EVO_OPT_REFUSE_NONFINITE, 2),
         EVO_ERANGE, "2");
  EXPECT(evo_optimizer_set_option(opt, (evo_optimizer_option)99, 1),
         EVO_EINVAL, "99");
  EXPECT(evo_optimizer_get_option(opt, (evo_optimizer_option)99, &v),
         EVO_EINVAL, "99");
  EXPECT(evo_optimizer_set_option(opt, (evo_optimizer_option)-1, 1),
         EVO_EINVAL, "-1");
  EXPECT(evo_optimizer_set_total_steps(opt, 0), EVO_ERANGE, "total");
  /* nothing changed */
  ck_assert_int_eq(evo_optimizer_get_param_option(opt, 0, EVO_PARAM_LR_SCALE,
                                                  &v), EVO_OK);
  ck_assert_double_eq(v, 0.5);
  ck_assert_int_eq(evo_optimizer_get_param_option(
                       opt, 0, EVO_PARAM_WEIGHT_DECAY, &v), EVO_OK);
  ck_assert_double_eq(v, 1.0);
  ck_assert_int_eq(evo_optimizer_get_option(opt, EVO_OPT_BASE_LR, &v), EVO_OK);
  ck_assert_double_eq(v, 0.01);
  ck_assert_int_eq(evo_optimizer_get_option(opt, EVO_OPT_THREADS, &v), EVO_OK);
  ck_assert_double_eq(v, 1.0);
  ck_assert_int_eq(evo_optimizer_get_option(opt, EVO_OPT_REFUSE_NONFINITE,
                                            &v), EVO_OK);
  ck_assert_double_eq(v, 0.0);
  evo_optimizer_free(opt);
  evo_genome_free(g);
}
END_TEST

/* Cosine decay without total steps; refused non-finite step. */
START_TEST(test_optimizer_state) {
  evo_genome *g = preset("paper-evolved"); /* cosine decay on */
  evo_optimizer *opt = NULL;
  float p[4] = {1, 2, 3, 4}, gr[4] = {0.5f, NAN, 0, 1};
  const float p0[4] = {1, 2, 3, 4};
  double v;
  uint64_t c;
  ck_assert_int_eq(evo_optimizer_new(&opt, g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, gr, 4), EVO_OK);
  EXPECT(evo_optimizer_step(opt), EVO_ESTATE, "total");
  EXPECT(evo_optimizer_current_lr(opt, &v), EVO_ESTATE, "total");
  ck_assert_int_eq(evo_optimizer_set_total_steps(opt, 10), EVO_OK);
  ck_assert_int_eq(evo_optimizer_set_option(opt, EVO_OPT_REFUSE_NONFINITE, 1),
                   EVO_OK);
  EXPECT(evo_optimizer_step(opt), EVO_ENONFINITE, NULL);
  ck_assert_int_eq(evo_optimizer_step_count(opt, &c), EVO_OK);
  ck_assert_uint_eq(c, 0);
  ck_assert_int_eq(memcmp(p, p0, sizeof p), 0);
  evo_optimizer_free(opt);
  evo_genome_free(g);
}
END_TEST

static evo_optimizer *opt_with(const char *name, float *p, float *gr,
                               size_t n) {
  evo_genome *g = preset(name);
  evo_optimizer *opt = NULL;
  ck_assert_int_eq(evo_optimizer_new(&opt, g), EVO_OK);
  ck_assert_int_eq(evo_optimizer_add_params(opt, p, gr, n), EVO_OK);
  evo_genome_free(g);
  return opt;
}

/* Loading a foreign or damaged state, from memory and files. */
START_TEST(test_optimizer_load) {
  make_tmp_dir();
  float p[8] = {1, 2, 3, 4, 5, 6, 7, 8}, gr[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  float q[8] = {0}, qg[8] = {0};
  evo_optimizer *adam = opt_with("adam", p, gr, 8);
  evo_optimizer *sgd = opt_with("sgd", q, qg, 8);
  evo_optimizer *small = opt_with("adam", q, qg, 4);
  void *buf = NULL;
  size_t n = 0;
  uint64_t c;
  ck_assert_int_eq(evo_optimizer_step(adam), EVO_OK);
  ck_assert_int_eq(evo_optimizer_save_mem(adam, &buf, &n), EVO_OK);
  ck_assert_int_eq(evo_optimizer_step(sgd), EVO_OK);
  EXPECT(evo_optimizer_load_mem(sgd, buf, n), EVO_EMISMATCH, "genome");
  EXPECT(evo_optimizer_load_mem(small, buf, n), EVO_EMISMATCH, NULL);
  EXPECT(evo_optimizer_load_mem(sgd, buf, 0), EVO_EFORMAT, NULL);
  EXPECT(evo_optimizer_load_mem(sgd, buf, n - 1), EVO_EFORMAT, NULL);
  EXPECT(evo_optimizer_load_mem(sgd, buf, 7), EVO_EFORMAT, NULL);
  ((unsigned char *)buf)[n / 2] ^= 0x10;
  EXPECT(evo_optimizer_load_mem(adam, buf, n), EVO_EFORMAT, NULL);
  unsigned char junk[64];
  memset(junk, 0xab, sizeof junk);
  EXPECT(evo_optimizer_load_mem(sgd, junk, sizeof junk), EVO_EFORMAT, NULL);
  ck_assert_int_eq(evo_optimizer_step_count(sgd, &c), EVO_OK);
  ck_assert_uint_eq(c, 1);
  ck_assert_int_eq(evo_optimizer_step_count(small, &c), EVO_OK);
  ck_assert_uint_eq(c, 0);
  evo_free(buf);
  /* files */
  char path[256];
  EXPECT(evo_optimizer_load(sgd, tmp_dir), EVO_EIO, tmp_dir);
  snprintf(path, sizeof path, "%s/missing.state", tmp_dir);
  EXPECT(evo_optimizer_load(sgd, path), EVO_EIO, path);
  write_file(path, sizeof path, "empty.state", 0, 0);
  EXPECT(evo_optimizer_load(sgd, path), EVO_EFORMAT, path);
  EXPECT(evo_optimizer_load(sgd, "/dev/null"), EVO_EFORMAT, "/dev/null");
  write_gzip_junk(path, sizeof path, "junk.state.gz");
  EXPECT(evo_optimizer_load(sgd, path), EVO_EFORMAT, path);
  write_file(path, sizeof path, "binary.state", 4096, -1);
  EXPECT(evo_optimizer_load(sgd, path), EVO_EFORMAT, path);
  snprintf(path, sizeof path, "%s/adam.state", tmp_dir);
  ck_assert_int_eq(evo_optimizer_save(adam, path), EVO_OK);
  EXPECT(evo_optimizer_load(sgd, path), EVO_EMISMATCH, path);
  int before = dir_entries(tmp_dir);
  snprintf(path, sizeof path, "%s/nofolder/o.state", tmp_dir);
  EXPECT(evo_optimizer_save(adam, path), EVO_EIO, path);
  ck_assert_int_eq(dir_entries(tmp_dir), before);
  ck_assert_int_eq(evo_optimizer_step_count(sgd, &c), EVO_OK);
  ck_assert_uint_eq(c, 1);
  evo_optimizer_free(adam);
  evo_optimizer_free(sgd);
  evo_optimizer_free(small);
  rm_tmp_dir();
}
END_TEST

/* ---- task.h --------------------------------------------------------------- */

static evo_task *open_digits(void) {
  evo_task *t = NULL;
  ck_assert_int_eq(evo_task_open(&t, "digits", NULL), EVO_OK);
  return t;
}

START_TEST(test_task) {
  evo_task *t = NULL;
  int64_t v;
  EXPECT(evo_task_open(NULL, "digits", NULL), EVO_EINVAL, NULL);
  EXPECT(evo_task_open(&t, NULL, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_task_open(&t, "no-such-task", NULL), EVO_ENOTFOUND,
         "no-such-task");
  EXPECT(evo_task_open(&t, "mnist", "/nonexistent-folder"), EVO_ENOTFOUND,
         "/nonexistent-folder");
  ck_assert_ptr_null(t);
  evo_task_free(NULL);
  ck_assert_ptr_null(evo_task_name(NULL));
  ck_assert_ptr_null(evo_task_describe(NULL));
  t = open_digits();
  EXPECT(evo_task_set_option(NULL, EVO_TASK_BATCH_SIZE, 8), EVO_EINVAL, NULL);
  EXPECT(evo_task_get_option(NULL, EVO_TASK_BATCH_SIZE, &v), EVO_EINVAL,
         NULL);
  EXPECT(evo_task_get_option(t, EVO_TASK_BATCH_SIZE, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_task_set_option(t, (evo_task_option)99, 1), EVO_EINVAL, "99");
  EXPECT(evo_task_set_option(t, (evo_task_option)-1, 1), EVO_EINVAL, "-1");
  EXPECT(evo_task_get_option(t, (evo_task_option)99, &v), EVO_EINVAL, "99");
  EXPECT(evo_task_set_option(t, EVO_TASK_BATCH_SIZE, 0), EVO_ERANGE, "0");
  EXPECT(evo_task_set_option(t, EVO_TASK_BATCH_SIZE, -5), EVO_ERANGE, "-5");
  EXPECT(evo_task_set_option(t, EVO_TASK_TRAIN_SUBSET, -1), EVO_ERANGE,
         "-1");
  EXPECT(evo_task_set_option(t, EVO_TASK_THREADS, 0), EVO_ERANGE, "0");
  EXPECT(evo_task_set_option(t, EVO_TASK_THREADS, 65), EVO_ERANGE, "65");
  EXPECT(evo_task_set_option(t, EVO_TASK_RECORD_CURVE, 2), EVO_ERANGE, "2");
  EXPECT(evo_task_set_option(t, EVO_TASK_DECAY_ALL, -1), EVO_ERANGE, "-1");
  EXPECT(evo_task_set_option(t, EVO_TASK_REFUSE_NONFINITE, 7), EVO_ERANGE,
         "7");
  ck_assert_int_eq(evo_task_get_option(t, EVO_TASK_BATCH_SIZE, &v), EVO_OK);
  ck_assert_int_eq(v, 128);
  ck_assert_int_eq(evo_task_get_option(t, EVO_TASK_THREADS, &v), EVO_OK);
  ck_assert_int_eq(v, 1);
  ck_assert_int_eq(evo_task_get_option(t, EVO_TASK_RECORD_CURVE, &v), EVO_OK);
  ck_assert_int_eq(v, 0);
  /* training results */
  evo_train_result *r = NULL;
  double d;
  const float *losses;
  size_t n;
  EXPECT(evo_train_result_new(NULL), EVO_EINVAL, NULL);
  evo_train_result_free(NULL);
  ck_assert_int_eq(evo_train_result_new(&r), EVO_OK);
  EXPECT(evo_train_result_get(NULL, EVO_RESULT_FITNESS, &d), EVO_EINVAL,
         NULL);
  EXPECT(evo_train_result_get(r, EVO_RESULT_FITNESS, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_train_result_get(r, (evo_result_key)99, &d), EVO_EINVAL, "99");
  EXPECT(evo_train_result_get(r, (evo_result_key)-1, &d), EVO_EINVAL, "-1");
  EXPECT(evo_train_result_curve(NULL, &losses, &n), EVO_EINVAL, NULL);
  EXPECT(evo_train_result_curve(r, NULL, &n), EVO_EINVAL, NULL);
  EXPECT(evo_train_result_curve(r, &losses, NULL), EVO_EINVAL, NULL);
  evo_genome *g = preset("adam");
  EXPECT(evo_task_train(NULL, g, 1, 0, r), EVO_EINVAL, NULL);
  EXPECT(evo_task_train(t, NULL, 1, 0, r), EVO_EINVAL, NULL);
  EXPECT(evo_task_train(t, g, 1, 0, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_task_train(t, g, 0, 0, r), EVO_ERANGE, "steps");
  evo_genome_free(g);
  evo_train_result_free(r);
  evo_task_free(t);
}
END_TEST

START_TEST(test_report) {
  evo_report *rep = NULL;
  double d;
  const char *name;
  EXPECT(evo_report_new(NULL), EVO_EINVAL, NULL);
  evo_report_free(NULL);
  ck_assert_int_eq(evo_report_new(&rep), EVO_OK);
  EXPECT(evo_report_clear(NULL), EVO_EINVAL, NULL);
  EXPECT(evo_report_set_fitness(NULL, 0.5), EVO_EINVAL, NULL);
  EXPECT(evo_report_add_task(NULL, "a", 0.5), EVO_EINVAL, NULL);
  EXPECT(evo_report_add_task(rep, NULL, 0.5), EVO_EINVAL, NULL);
  EXPECT(evo_report_fitness(NULL, &d), EVO_EINVAL, NULL);
  EXPECT(evo_report_fitness(rep, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_report_task(NULL, 0, &name, &d), EVO_EINVAL, NULL);
  ck_assert_uint_eq(evo_report_task_count(NULL), 0);
  ck_assert_int_eq(evo_report_set_fitness(rep, 0.25), EVO_OK);
  ck_assert_int_eq(evo_report_add_task(rep, "t", 0.25), EVO_OK);
  for (int i = 0; i < 3; i++) {
    EXPECT(evo_report_set_fitness(rep, nonfinite[i]), EVO_ERANGE, "finite");
    EXPECT(evo_report_add_task(rep, "u", nonfinite[i]), EVO_ERANGE, "'u'");
  }
  char longname[80];
  memset(longname, 'x', 64);
  longname[64] = '\0';
  EXPECT(evo_report_add_task(rep, longname, 0.5), EVO_ERANGE, "xxxx");
  EXPECT(evo_report_task(rep, 1, &name, &d), EVO_ERANGE, "1");
  EXPECT(evo_report_task(rep, SIZE_MAX, &name, &d), EVO_ERANGE, NULL);
  ck_assert_uint_eq(evo_report_task_count(rep), 1);
  ck_assert_int_eq(evo_report_fitness(rep, &d), EVO_OK);
  ck_assert_double_eq(d, 0.25);
  ck_assert_int_eq(evo_report_task(rep, 0, NULL, NULL), EVO_OK);
  for (int i = 1; i < 64; i++)
    ck_assert_int_eq(evo_report_add_task(rep, "t", 0.0), EVO_OK);
  EXPECT(evo_report_add_task(rep, "t", 0.0), EVO_ERANGE, "64");
  ck_assert_uint_eq(evo_report_task_count(rep), 64);
  evo_report_free(rep);
}
END_TEST

START_TEST(test_evaluator) {
  evo_evaluator *e = NULL;
  evo_report *rep = NULL;
  evo_genome *g = preset("adam");
  evo_task *t = open_digits();
  ck_assert_int_eq(evo_report_new(&rep), EVO_OK);
  EXPECT(evo_evaluator_new(NULL), EVO_EINVAL, NULL);
  evo_evaluator_free(NULL);
  ck_assert_int_eq(evo_evaluator_new(&e), EVO_OK);
  EXPECT(evo_evaluator_add_task(NULL, t), EVO_EINVAL, NULL);
  EXPECT(evo_evaluator_add_task(e, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_evaluator_set_steps(NULL, 1), EVO_EINVAL, NULL);
  EXPECT(evo_evaluator_set_steps(e, 0), EVO_ERANGE, "steps");
  EXPECT(evo_evaluator_set_seeds(NULL, 1), EVO_EINVAL, NULL);
  EXPECT(evo_evaluator_set_seeds(e, 0), EVO_ERANGE, "0");
  EXPECT(evo_evaluator_set_seeds(e, 1001), EVO_ERANGE, "1001");
  EXPECT(evo_evaluator_run(NULL, g, 0, rep), EVO_EINVAL, NULL);
  EXPECT(evo_evaluator_run(e, NULL, 0, rep), EVO_EINVAL, NULL);
  EXPECT(evo_evaluator_run(e, g, 0, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_evaluator_run(e, g, 0, rep), EVO_ESTATE, "no tasks");
  EXPECT(evo_evaluator_fitness(NULL, g, 0, rep), EVO_EINVAL, NULL);
  EXPECT(evo_evaluator_fitness(e, g, 0, rep), EVO_ESTATE, "no tasks");
  for (int i = 0; i < 64; i++)
    ck_assert_int_eq(evo_evaluator_add_task(e, t), EVO_OK);
  EXPECT(evo_evaluator_add_task(e, t), EVO_ERANGE, "64");
  EXPECT(evo_blas_set_threads(0), EVO_ERANGE, "0");
  EXPECT(evo_blas_set_threads(-1), EVO_ERANGE, "-1");
  EXPECT(evo_blas_set_threads(1025), EVO_ERANGE, "1025");
  evo_evaluator_free(e);
  evo_report_free(rep);
  evo_task_free(t);
  evo_genome_free(g);
}
END_TEST

/* ---- population.h --------------------------------------------------------- */

static int64_t get_setting(const evo_population *pop, evo_pop_setting s) {
  int64_t v;
  ck_assert_int_eq(evo_population_get(pop, s, &v), EVO_OK);
  return v;
}

START_TEST(test_population_args) {
  evo_population *pop = NULL;
  int64_t v;
  const evo_genome *cg;
  double d;
  int st, cached;
  const char *msg;
  uint32_t counts[EVO_TERM_COUNT];
  EXPECT(evo_population_new(NULL), EVO_EINVAL, NULL);
  evo_population_free(NULL);
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  EXPECT(evo_population_set(NULL, EVO_POP_SIZE, 10), EVO_EINVAL, NULL);
  EXPECT(evo_population_get(NULL, EVO_POP_SIZE, &v), EVO_EINVAL, NULL);
  EXPECT(evo_population_get(pop, EVO_POP_SIZE, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_population_set(pop, (evo_pop_setting)99, 1), EVO_EINVAL, "99");
  EXPECT(evo_population_set(pop, (evo_pop_setting)-1, 1), EVO_EINVAL, "-1");
  EXPECT(evo_population_get(pop, (evo_pop_setting)99, &v), EVO_EINVAL, "99");
  EXPECT(evo_population_set_initial(NULL, NULL, 0), EVO_EINVAL, NULL);
  EXPECT(evo_population_set_initial(pop, NULL, 2), EVO_EINVAL, NULL);
  const evo_genome *holes[2] = {NULL, NULL};
  EXPECT(evo_population_set_initial(pop, holes, 2), EVO_EINVAL, "NULL");
  EXPECT(evo_population_set_fitness(NULL, toy_fitness, NULL), EVO_EINVAL,
         NULL);
  EXPECT(evo_population_set_fitness(pop, NULL, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_population_set_backend(NULL, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_population_set_progress(NULL, NULL, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_population_set_checkpoint(NULL, NULL, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_population_resume(NULL, "/dev/null", NULL), EVO_EINVAL, NULL);
  evo_population *other = NULL;
  EXPECT(evo_population_resume(&other, NULL, NULL), EVO_EINVAL, NULL);
  ck_assert_ptr_null(other);
  EXPECT(evo_population_step(NULL), EVO_EINVAL, NULL);
  EXPECT(evo_population_run(NULL), EVO_EINVAL, NULL);
  ck_assert_uint_eq(evo_population_generation(NULL), 0);
  ck_assert_int_eq(evo_population_finished(NULL), 0);
  ck_assert_uint_eq(evo_population_size(NULL), 0);
  ck_assert_uint_eq(evo_population_evaluated(NULL), 0);
  ck_assert_uint_eq(evo_population_history_count(NULL), 0);
  ck_assert_uint_eq(evo_population_hof_count(NULL), 0);
  ck_assert_uint_eq(evo_population_cache_count(NULL), 0);
  EXPECT(evo_population_individual(NULL, 0, &cg, &d), EVO_EINVAL, NULL);
  EXPECT(evo_population_individual_error(NULL, 0, &st, &msg), EVO_EINVAL,
         NULL);
  EXPECT(evo_population_individual_cached(NULL, 0, &cached), EVO_EINVAL,
         NULL);
  EXPECT(evo_population_history(NULL, 0, EVO_HIST_BEST, &d), EVO_EINVAL,
         NULL);
  EXPECT(evo_population_history_best(NULL, 0, NULL, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_population_history_terms(NULL, 0, counts), EVO_EINVAL, NULL);
  EXPECT(evo_population_hof(NULL, 0, NULL, NULL, NULL), EVO_EINVAL, NULL);
  /* before the first step nothing is there */
  EXPECT(evo_population_individual(pop, 0, &cg, &d), EVO_ERANGE, NULL);
  EXPECT(evo_population_individual_error(pop, 0, &st, &msg), EVO_ERANGE,
         NULL);
  EXPECT(evo_population_individual_cached(pop, 0, &cached), EVO_ERANGE,
         NULL);
  EXPECT(evo_population_history(pop, 0, EVO_HIST_BEST, &d), EVO_ERANGE,
         NULL);
  EXPECT(evo_population_history_best(pop, 0, NULL, NULL), EVO_ERANGE, NULL);
  EXPECT(evo_population_history_terms(pop, 0, counts), EVO_ERANGE, NULL);
  EXPECT(evo_population_hof(pop, 0, NULL, NULL, NULL), EVO_ERANGE, NULL);
  /* breeding helpers */
  evo_genome *a = preset("adam"), *b = preset("sgd"), *child = NULL;
  EXPECT(evo_genome_random(NULL, 1), EVO_EINVAL, NULL);
  EXPECT(evo_genome_breed(NULL, a, b, 0, 1, 0), EVO_EINVAL, NULL);
  EXPECT(evo_genome_breed(&child, NULL, b, 0, 1, 0), EVO_EINVAL, NULL);
  EXPECT(evo_genome_breed(&child, a, NULL, 0, 1, 0), EVO_EINVAL, NULL);
  EXPECT(evo_genome_breed(&child, a, b, 1, 1, 0), EVO_ERANGE, NULL);
  EXPECT(evo_genome_breed(&child, a, b, 0, 0, 0), EVO_ERANGE, NULL);
  ck_assert_ptr_null(child);
  evo_genome_free(a);
  evo_genome_free(b);
  evo_population_free(pop);
}
END_TEST

/* Each setting refuses values outside its range and keeps its old one. */
START_TEST(test_population_settings) {
  static const struct {
    evo_pop_setting s;
    int64_t bad;
  } cases[] = {
      {EVO_POP_SIZE, 1},         {EVO_POP_SIZE, 1000001},
      {EVO_POP_SIZE, -1},        {EVO_POP_GENERATIONS, 0},
      {EVO_POP_GENERATIONS, (int64_t)1 << 32},
      {EVO_POP_ELITES, -1},      {EVO_POP_TOURNAMENT, 0},
      {EVO_POP_WORKERS, 0},      {EVO_POP_WORKERS, 257},
      {EVO_POP_FRESH_SEEDS, 2},  {EVO_POP_FRESH_SEEDS, -1},
      {EVO_POP_HALL_OF_FAME, 0}, {EVO_POP_HALL_OF_FAME, 1000001},
      {EVO_POP_CACHE, 3},        {EVO_POP_CACHE, -1},
  };
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t before = get_setting(pop, cases[i].s);
    char needle[32];
    snprintf(needle, sizeof needle, "%lld", (long long)cases[i].bad);
    EXPECT(evo_population_set(pop, cases[i].s, cases[i].bad), EVO_ERANGE,
           needle);
    ck_assert_int_eq(get_setting(pop, cases[i].s), before);
  }
  evo_population_free(pop);
}
END_TEST

/* Settings that do not fit together, a step without fitness, setters after
 * the start, a finished run. */
START_TEST(test_population_state) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  EXPECT(evo_population_step(pop), EVO_ESTATE, "fitness");
  ck_assert_uint_eq(evo_population_generation(pop), 0);
  ck_assert_uint_eq(evo_population_size(pop), 0);
  ck_assert_int_eq(evo_population_set_fitness(pop, toy_fitness, NULL),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, 3), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_GENERATIONS, 2), EVO_OK);
  /* 4 baselines > 3 individuals, 3 elites, tournament 4 */
  EXPECT(evo_population_step(pop), EVO_ERANGE, NULL);
  ck_assert_int_eq(evo_population_set_initial(pop, NULL, 0), EVO_OK);
  EXPECT(evo_population_step(pop), EVO_ERANGE, NULL);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_ELITES, 1), EVO_OK);
  EXPECT(evo_population_step(pop), EVO_ERANGE, NULL);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_TOURNAMENT, 2), EVO_OK);
  evo_genome *gs[4] = {preset("adam"), preset("sgd"), preset("adamw"),
                       preset("rmsprop")};
  EXPECT(evo_population_set_initial(pop, (const evo_genome *const *)gs, 4),
         EVO_ERANGE, NULL);
  ck_assert_uint_eq(evo_population_generation(pop), 0);
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  /* the run has started */
  EXPECT(evo_population_set(pop, EVO_POP_SIZE, 10), EVO_ESTATE, "started");
  EXPECT(evo_population_set(pop, EVO_POP_RUN_SEED, 1), EVO_ESTATE, NULL);
  EXPECT(evo_population_set_initial(pop, (const evo_genome *const *)gs, 1),
         EVO_ESTATE, NULL);
  ck_assert_int_eq(get_setting(pop, EVO_POP_SIZE), 3);
  ck_assert_int_eq(get_setting(pop, EVO_POP_RUN_SEED), 42);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_WORKERS, 2), EVO_OK);
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  ck_assert_int_eq(evo_population_finished(pop), 1);
  EXPECT(evo_population_step(pop), EVO_ESTATE, "finished");
  ck_assert_int_eq(evo_population_run(pop), EVO_OK);
  /* recorded: bad keys and indices */
  double d;
  uint32_t counts[EVO_TERM_COUNT];
  int cached;
  EXPECT(evo_population_history(pop, 0, (evo_history_key)99, &d), EVO_EINVAL,
         "99");
  EXPECT(evo_population_history(pop, 0, (evo_history_key)-1, &d), EVO_EINVAL,
         "-1");
  EXPECT(evo_population_history(pop, 0, EVO_HIST_BEST, NULL), EVO_EINVAL,
         NULL);
  EXPECT(evo_population_history(pop, 2, EVO_HIST_BEST, &d), EVO_ERANGE, "2");
  EXPECT(evo_population_history_best(pop, 2, NULL, NULL), EVO_ERANGE, "2");
  EXPECT(evo_population_history_terms(pop, 0, NULL), EVO_EINVAL, NULL);
  EXPECT(evo_population_history_terms(pop, SIZE_MAX, counts), EVO_ERANGE,
         NULL);
  EXPECT(evo_population_individual(pop, 3, NULL, NULL), EVO_ERANGE, "3");
  EXPECT(evo_population_individual_error(pop, 3, NULL, NULL), EVO_ERANGE,
         "3");
  EXPECT(evo_population_individual_cached(pop, 3, &cached), EVO_ERANGE,
         "3");
  EXPECT(evo_population_individual_cached(pop, 0, NULL), EVO_EINVAL, NULL);
  size_t hof = evo_population_hof_count(pop);
  EXPECT(evo_population_hof(pop, hof, NULL, NULL, NULL), EVO_ERANGE, NULL);
  ck_assert_uint_eq(evo_population_cache_count(pop), 0);
  for (int i = 0; i < 4; i++)
    evo_genome_free(gs[i]);
  evo_population_free(pop);
}
END_TEST

/* Setters called from the progress callback during a step. */
typedef struct reentry {
  evo_population *pop;
  int calls, rc[4];
} reentry;

static int reenter(void *user, evo_event event, const evo_population *pop,
                   size_t generation, size_t index) {
  (void)event;
  (void)pop;
  (void)generation;
  (void)index;
  reentry *r = user;
  if (r->calls++ == 0) {
    r->rc[0] = evo_population_set(r->pop, EVO_POP_WORKERS, 2);
    r->rc[1] = evo_population_set_fitness(r->pop, toy_fitness, NULL);
    r->rc[2] = evo_population_set_checkpoint(r->pop, NULL, NULL);
    r->rc[3] = evo_population_step(r->pop);
  }
  return 0;
}

START_TEST(test_population_reentry) {
  reentry r = {NULL, 0, {0, 0, 0, 0}};
  ck_assert_int_eq(evo_population_new(&r.pop), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(r.pop, toy_fitness, NULL),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(r.pop, EVO_POP_SIZE, 4), EVO_OK);
  ck_assert_int_eq(evo_population_set(r.pop, EVO_POP_ELITES, 1), EVO_OK);
  ck_assert_int_eq(evo_population_set(r.pop, EVO_POP_GENERATIONS, 1), EVO_OK);
  ck_assert_int_eq(evo_population_set_progress(r.pop, reenter, &r), EVO_OK);
  ck_assert_int_eq(evo_population_step(r.pop), EVO_OK);
  ck_assert_int_gt(r.calls, 0);
  for (int i = 0; i < 4; i++)
    ck_assert_msg(r.rc[i] == EVO_ESTATE, "call %d from the callback gave %d",
                  i, r.rc[i]);
  ck_assert_int_eq(get_setting(r.pop, EVO_POP_WORKERS), 1);
  ck_assert_int_eq(evo_population_finished(r.pop), 1);
  evo_population_free(r.pop);
}
END_TEST

/* Resuming from things that are not checkpoints, or another run's. */
START_TEST(test_population_resume) {
  make_tmp_dir();
  evo_population *marker = (evo_population *)&marker, *out = marker;
  (void)marker;
  char path[256];
  EXPECT(evo_population_resume(&out, tmp_dir, NULL), EVO_EIO, tmp_dir);
  snprintf(path, sizeof path, "%s/missing.ckpt", tmp_dir);
  EXPECT(evo_population_resume(&out, path, NULL), EVO_EIO, path);
  write_file(path, sizeof path, "empty.ckpt", 0, 0);
  EXPECT(evo_population_resume(&out, path, NULL), EVO_EFORMAT, path);
  EXPECT(evo_population_resume(&out, "/dev/null", NULL), EVO_EFORMAT,
         "/dev/null");
  write_file(path, sizeof path, "binary.ckpt", 4096, -1);
  EXPECT(evo_population_resume(&out, path, NULL), EVO_EFORMAT, path);
  /* a real checkpoint, resumed under another tag: EMISMATCH, file kept */
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, toy_fitness, NULL),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, 4), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_GENERATIONS, 2), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_ELITES, 1), EVO_OK);
  snprintf(path, sizeof path, "%s/run.ckpt", tmp_dir);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, path, "tag"), EVO_OK);
  ck_assert_int_eq(evo_population_step(pop), EVO_OK);
  evo_population_free(pop);
  size_t n0, n1;
  void *before = read_all(path, &n0);
  EXPECT(evo_population_resume(&out, path, "another tag"), EVO_EMISMATCH,
         NULL);
  void *after = read_all(path, &n1);
  ck_assert_uint_eq(n0, n1);
  ck_assert_int_eq(memcmp(before, after, n0), 0);
  free(before);
  free(after);
  /* truncated */
  write_file(path, sizeof path, "cut.ckpt", 0, 0);
  {
    size_t n;
    char full[256];
    snprintf(full, sizeof full, "%s/run.ckpt", tmp_dir);
    void *bytes = read_all(full, &n);
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    fwrite(bytes, 1, n / 2, f);
    fclose(f);
    free(bytes);
  }
  EXPECT(evo_population_resume(&out, path, NULL), EVO_EFORMAT, path);
  /* no population handed out on failure (nor leaked: see the ASan build) */
  ck_assert(out == marker || out == NULL);
  /* a checkpoint path in a folder that does not exist: the step fails */
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, toy_fitness, NULL),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, 4), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_ELITES, 1), EVO_OK);
  snprintf(path, sizeof path, "%s/nofolder/run.ckpt", tmp_dir);
  ck_assert_int_eq(evo_population_set_checkpoint(pop, path, "t"), EVO_OK);
  int entries = dir_entries(tmp_dir);
  EXPECT(evo_population_step(pop), EVO_EIO, path);
  ck_assert_int_eq(dir_entries(tmp_dir), entries);
  evo_population_free(pop);
  rm_tmp_dir();
}
END_TEST

/* ---- backend.h ------------------------------------------------------------ */

static int dummy_submit(void *user, uint64_t job, const evo_genome *g,
                        uint64_t seed) {
  (void)user;
  (void)job;
  (void)g;
  (void)seed;
  return EVO_OK;
}

static int dummy_collect(void *user, uint64_t *job, evo_report *report,
                         int *status, char *message, size_t cap) {
  (void)user;
  (void)report;
  (void)message;
  (void)cap;
  *job = 0;
  *status = EVO_OK;
  return EVO_OK;
}

START_TEST(test_backend) {
  evo_backend *b = NULL;
  EXPECT(evo_backend_new(NULL, 1, dummy_submit, dummy_collect, NULL, NULL),
         EVO_EINVAL, NULL);
  EXPECT(evo_backend_new(&b, 1, NULL, dummy_collect, NULL, NULL), EVO_EINVAL,
         NULL);
  EXPECT(evo_backend_new(&b, 1, dummy_submit, NULL, NULL, NULL), EVO_EINVAL,
         NULL);
  EXPECT(evo_backend_new(&b, 0, dummy_submit, dummy_collect, NULL, NULL),
         EVO_ERANGE, "0");
  EXPECT(evo_backend_new(&b, ((size_t)1 << 20) + 1, dummy_submit,
                         dummy_collect, NULL, NULL), EVO_ERANGE, NULL);
  EXPECT(evo_backend_threads_new(NULL, toy_fitness, NULL, 1), EVO_EINVAL,
         NULL);
  EXPECT(evo_backend_threads_new(&b, NULL, NULL, 1), EVO_EINVAL, NULL);
  EXPECT(evo_backend_threads_new(&b, toy_fitness, NULL, 0), EVO_ERANGE, "0");
  EXPECT(evo_backend_threads_new(&b, toy_fitness, NULL, 257), EVO_ERANGE,
         "257");
  ck_assert_ptr_null(b);
  ck_assert_uint_eq(evo_backend_slots(NULL), 0);
  evo_backend_free(NULL);
  evo_genome *g = preset("adam");
  evo_report *rep = NULL;
  ck_assert_int_eq(evo_report_new(&rep), EVO_OK);
  uint64_t job;
  int status;
  char msg[EVO_BACKEND_MESSAGE_CAP];
  ck_assert_int_eq(evo_backend_threads_new(&b, toy_fitness, NULL, 1), EVO_OK);
  EXPECT(evo_backend_submit(NULL, 0, g, 0), EVO_EINVAL, NULL);
  EXPECT(evo_backend_submit(b, 0, NULL, 0), EVO_EINVAL, NULL);
  EXPECT(evo_backend_collect(NULL, &job, rep, &status, msg, sizeof msg),
         EVO_EINVAL, NULL);
  EXPECT(evo_backend_collect(b, NULL, rep, &status, msg, sizeof msg),
         EVO_EINVAL, NULL);
  EXPECT(evo_backend_collect(b, &job, NULL, &status, msg, sizeof msg),
         EVO_EINVAL, NULL);
  EXPECT(evo_backend_collect(b, &job, rep, NULL, msg, sizeof msg),
         EVO_EINVAL, NULL);
  EXPECT(evo_backend_collect(b, &job, rep, &status, NULL, sizeof msg),
         EVO_EINVAL, NULL);
  EXPECT(evo_backend_collect(b, &job, rep, &status, msg, 10), EVO_ERANGE,
         NULL);
  /* the back end still works */
  ck_assert_int_eq(evo_backend_submit(b, 5, g, 0), EVO_OK);
  ck_assert_int_eq(evo_backend_collect(b, &job, rep, &status, msg, sizeof msg),
                   EVO_OK);
  ck_assert_uint_eq(job, 5);
  ck_assert_int_eq(status, EVO_OK);
  evo_backend_free(b);
  evo_report_free(rep);
  evo_genome_free(g);
}
END_TEST

/* ---- mpi.h (without evo_mpi_init: no MPI process is started) -------------- */

START_TEST(test_mpi) {
  int supported = evo_mpi_supported();
  ck_assert(supported == 0 || supported == 1);
  evo_backend *b = NULL;
  int rank, size;
  if (!supported) {
    EXPECT(evo_mpi_init(NULL, NULL), EVO_EUNSUPPORTED, NULL);
    EXPECT(evo_mpi_rank(&rank, &size), EVO_EUNSUPPORTED, NULL);
    EXPECT(evo_backend_mpi_new(&b, 1.0, NULL), EVO_EUNSUPPORTED, NULL);
    EXPECT(evo_mpi_worker_run(toy_fitness, NULL, 1, NULL), EVO_EUNSUPPORTED,
           NULL);
    EXPECT(evo_mpi_finalize(), EVO_EUNSUPPORTED, NULL);
  } else {
    EXPECT(evo_mpi_rank(&rank, &size), EVO_ESTATE, "evo_mpi_init");
    EXPECT(evo_mpi_rank(NULL, NULL), EVO_ESTATE, "evo_mpi_init");
    EXPECT(evo_backend_mpi_new(NULL, 1.0, NULL), EVO_EINVAL, NULL);
    /* the timeout's range is checked after the state (tests/test_mpi.c
     * checks it under mpirun): without MPI the state error comes first */
    EXPECT(evo_backend_mpi_new(&b, NAN, NULL), EVO_ESTATE, "evo_mpi_init");
    EXPECT(evo_backend_mpi_new(&b, 1.0, NULL), EVO_ESTATE, "evo_mpi_init");
    EXPECT(evo_mpi_worker_run(NULL, NULL, 1, NULL), EVO_EINVAL, NULL);
    EXPECT(evo_mpi_worker_run(toy_fitness, NULL, 1, NULL), EVO_ESTATE,
           "evo_mpi_init");
    EXPECT(evo_mpi_finalize(), EVO_ESTATE, NULL);
  }
  ck_assert_ptr_null(b);
  evo_mpi_abort(3); /* MPI not initialized: returns */
}
END_TEST

/* ---- messages about files (issue 14, item 11) -------------------------- */

static int occurrences(const char *text, const char *s) {
  int n = 0;
  for (const char *p = text; (p = strstr(p, s)) != NULL; p += strlen(s))
    n++;
  return n;
}

/* Reader @p which (0 checkpoint, 1 optimizer state, 2 genome) on @p path. */
static int read_with(int which, const char *path) {
  evo_population *pop = NULL;
  evo_genome *g = NULL;
  evo_optimizer *opt = NULL;
  float p[4] = {0}, grad[4] = {0};
  int rc = EVO_OK;
  switch (which) {
  case 0: rc = evo_population_resume(&pop, path, NULL); break;
  case 1:
    ck_assert_int_eq(evo_genome_preset(&g, "adam"), EVO_OK);
    ck_assert_int_eq(evo_optimizer_new(&opt, g), EVO_OK);
    ck_assert_int_eq(evo_optimizer_add_params(opt, p, grad, 4), EVO_OK);
    evo_genome_free(g);
    g = NULL;
    rc = evo_optimizer_load(opt, path);
    break;
  default: rc = evo_genome_load(&g, path);
  }
  evo_population_free(pop);
  evo_optimizer_free(opt);
  evo_genome_free(g);
  return rc;
}

/* A gzip file of 4096 pattern bytes cut after half its bytes. */
static void write_truncated_gzip(char *path, size_t cap, const char *name) {
  snprintf(path, cap, "%s/%s", tmp_dir, name);
  gzFile f = gzopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  for (unsigned i = 0; i < 4096; i++)
    ck_assert_int_eq(gzputc(f, (int)((i * 151u + 7u) & 0xffu)),
                     (int)((i * 151u + 7u) & 0xffu));
  ck_assert_int_eq(gzclose(f), Z_OK);
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(truncate(path, st.st_size / 2), 0);
}

/* Every reader of files names the file exactly once, whatever went wrong:
 * zlib's own messages start with the path, which the library's message
 * already gives ("cannot read 'x.gz': x.gz: invalid block type" before). */
START_TEST(test_file_messages) {
  make_tmp_dir();
  static const char *const names[] = {"checkpoint", "optimizer state",
                                      "genome"};
  char path[6][256];
  snprintf(path[0], sizeof path[0], "%s/missing", tmp_dir);
  snprintf(path[1], sizeof path[1], "%s", tmp_dir);
  write_file(path[2], sizeof path[2], "empty", 0, 0);
  write_file(path[3], sizeof path[3], "binary", 4096, -1);
  write_gzip_junk(path[4], sizeof path[4], "junk.gz");
  write_truncated_gzip(path[5], sizeof path[5], "cut.gz");
  for (int which = 0; which < 3; which++)
    for (int f = 0; f < 6; f++) {
      prime_error();
      int rc = read_with(which, path[f]);
      const char *msg = evo_last_error();
      ck_assert_msg(rc < 0 && !strstr(msg, SENTINEL),
                    "%s reader on '%s': status %d, message '%s'", names[which],
                    path[f], rc, msg);
      ck_assert_msg(occurrences(msg, path[f]) == 1,
                    "%s reader: '%s' is named %d times in '%s'", names[which],
                    path[f], occurrences(msg, path[f]), msg);
    }
  /* "an optimizer state", "a population checkpoint" */
  EXPECT(read_with(1, path[3]), EVO_EFORMAT,
         "wrong magic bytes (not an optimizer state)");
  EXPECT(read_with(0, path[3]), EVO_EFORMAT,
         "wrong magic bytes (not a population checkpoint)");
  rm_tmp_dir();
}
END_TEST

/* ---- the suite ------------------------------------------------------------ */

static Suite *misuse_suite(void) {
  Suite *s = suite_create("api_misuse");
  TCase *tc = tcase_create("misuse");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_common);
  tcase_add_test(tc, test_genome_null);
  tcase_add_test(tc, test_genome_enums);
  tcase_add_test(tc, test_genome_values);
  tcase_add_test(tc, test_genome_json);
  tcase_add_test(tc, test_genome_files);
  tcase_add_test(tc, test_optimizer_args);
  tcase_add_test(tc, test_optimizer_options);
  tcase_add_test(tc, test_optimizer_state);
  tcase_add_test(tc, test_optimizer_load);
  tcase_add_test(tc, test_task);
  tcase_add_test(tc, test_report);
  tcase_add_test(tc, test_evaluator);
  tcase_add_test(tc, test_population_args);
  tcase_add_test(tc, test_population_settings);
  tcase_add_test(tc, test_population_state);
  tcase_add_test(tc, test_population_reentry);
  tcase_add_test(tc, test_population_resume);
  tcase_add_test(tc, test_backend);
  tcase_add_test(tc, test_mpi);
  tcase_add_test(tc, test_file_messages);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *r = srunner_create(misuse_suite());
  srunner_run_all(r, CK_NORMAL);
  int failed = srunner_ntests_failed(r);
  srunner_free(r);
  return failed ? 1 : 0;
}
