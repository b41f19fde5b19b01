/* The atomic file writer shared by the library and the evoopt program
 * (core/atomic_file_internal.h): contents and mode of the written file, no
 * temporary left after success or failure, the old file kept when a write
 * fails, the library's message, and which names count as its temporaries. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic_file_internal.h"
#include "core/io_internal.h"
#include "evoopt/common.h"

static char dir[] = "/tmp/evoopt-atomic-XXXXXX";

static void setup(void) {
  strcpy(dir, "/tmp/evoopt-atomic-XXXXXX");
  ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void) {
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  ck_assert_int_eq(system(cmd), 0);
}

/* The number of entries in the test folder. */
static int entries(void) {
  DIR *d = opendir(dir);
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
  closedir(d);
  return n;
}

static void read_back(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "rb");
  ck_assert_ptr_nonnull(f);
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

START_TEST(test_write_replace) {
  char path[256], buf[64];
  snprintf(path, sizeof path, "%s/a.csv", dir);
  ck_assert_int_eq(evo_atomic_write(path, "first\n", 6), 0);
  ck_assert_int_eq(evo_atomic_write(path, "second\n", 7), 0);
  read_back(path, buf, sizeof buf);
  ck_assert_str_eq(buf, "second\n");
  struct stat st;
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_mode & 0777, 0644); /* not mkstemp's 0600 */
  ck_assert_int_eq(entries(), 1);            /* no temporary left */
  ck_assert_int_eq(evo_atomic_write(path, NULL, 0), 0);
  ck_assert_int_eq(stat(path, &st), 0);
  ck_assert_int_eq(st.st_size, 0);
}
END_TEST

START_TEST(test_failures) {
  char path[256], buf[64];
  snprintf(path, sizeof path, "%s/no-such-folder/a.csv", dir);
  errno = 0;
  ck_assert_int_eq(evo_atomic_write(path, "x", 1), -1);
  ck_assert_int_eq(errno, ENOENT);
  /* A folder in the way: the rename fails, the temporary goes. */
  snprintf(path, sizeof path, "%s/sub", dir);
  ck_assert_int_eq(mkdir(path, 0755), 0);
  snprintf(path, sizeof path, "%s/keep.txt", dir);
  ck_assert_int_eq(evo_atomic_write(path, "old", 3), 0);
  snprintf(path, sizeof path, "%s/sub", dir);
  ck_assert_int_eq(evo_atomic_write(path, "x", 1), -1);
  ck_assert_int_eq(errno, EISDIR);
  ck_assert_int_eq(entries(), 2);
  snprintf(path, sizeof path, "%s/keep.txt", dir);
  read_back(path, buf, sizeof buf);
  ck_assert_str_eq(buf, "old");
  ck_assert_int_eq(evo_atomic_write(NULL, "x", 1), -1);
  ck_assert_int_eq(errno, EINVAL);
  /* The library's wrapper says which file. */
  snprintf(path, sizeof path, "%s/sub", dir);
  ck_assert_int_eq(evo_write_file_atomic(path, "x", 1), EVO_EIO);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), path));
}
END_TEST

START_TEST(test_is_temp) {
  static const struct {
    const char *name, *target;
    int temp;
  } cases[] = {
      {"history.csv.tmpAb12Cd", "history.csv", 1},
      {"history.csv.tmp.12345", "history.csv", 1}, /* evoopt 0.1 */
      {"history.csv.tmp.1234567890", "history.csv", 1},
      {"history.csv.tmp.12345678901", "history.csv", 0},
      {"history.csv.tmp.", "history.csv", 0},
      {"history.csv.tmp.12x", "history.csv", 0},
      {"history.csv.tmpAb12C", "history.csv", 0},
      {"history.csv.tmpAb12Cde", "history.csv", 0},
      {"history.csv.tmpAb-2Cd", "history.csv", 0},
      {"history.csv", "history.csv", 0},
      {"xhistory.csv.tmpAb12Cd", "history.csv", 0},
      {"history.csv.tmpAb12Cd", "best.json", 0},
      {"notes.tmpABCDEF", "history.csv", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    ck_assert_msg(evo_atomic_is_temp(cases[i].name, cases[i].target) ==
                      cases[i].temp,
                  "%s beside %s", cases[i].name, cases[i].target);
}
END_TEST

int main(void) {
  Suite *s = suite_create("atomic_file");
  TCase *tc = tcase_create("atomic_file");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_write_replace);
  tcase_add_test(tc, test_failures);
  tcase_add_test(tc, test_is_temp);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? 0 : 1;
}
