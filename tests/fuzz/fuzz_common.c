/* Helpers shared by the fuzz targets (fuzz_common.h). */
#include "fuzz_common.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/common_internal.h"
#include "core/io_internal.h"
#include "evoopt/common.h"

static char dir_path[4096];

/* Where fuzz_fail writes: stderr as it was at start-up, before
 * -close_fd_mask=2 points it at /dev/null (libFuzzer calls
 * LLVMFuzzerInitialize first). */
static int report_fd = 2;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  int fd = dup(2);
  if (fd >= 0)
    report_fd = fd;
  return 0;
}

void fuzz_fail(const char *fmt, ...) {
  char msg[4096];
  int n = snprintf(msg, sizeof msg, "fuzz target: invariant broken: ");
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + n, sizeof msg - (size_t)n - 1, fmt, ap);
  va_end(ap);
  size_t len = strlen(msg);
  msg[len] = '\n';
  if (write(report_fd, msg, len + 1) < 0)
    abort();
  abort();
}

void fuzz_clear(void) {
  if (dir_path[0] == '\0')
    return;
  DIR *d = opendir(dir_path);
  if (d == NULL)
    return;
  struct dirent *e;
  char path[4096 + 256];
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir_path, e->d_name);
    unlink(path);
  }
  closedir(d);
}

static void remove_dir(void) {
  fuzz_clear();
  if (dir_path[0] != '\0')
    rmdir(dir_path);
}

const char *fuzz_dir(void) {
  if (dir_path[0] != '\0')
    return dir_path;
  const char *tmp = getenv("TMPDIR");
  snprintf(dir_path, sizeof dir_path, "%s/evoopt-fuzz-XXXXXX",
           tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
  if (mkdtemp(dir_path) == NULL)
    fuzz_fail("cannot create a folder in %s: %s", dir_path, strerror(errno));
  atexit(remove_dir);
  return dir_path;
}

void fuzz_path(char *path, size_t cap, const char *name) {
  snprintf(path, cap, "%s/%s", fuzz_dir(), name);
}

void fuzz_write(const char *name, const void *data, size_t size, bool gz,
                char *path, size_t cap) {
  char buf[4096 + 256];
  fuzz_path(buf, sizeof buf, name);
  if (path != NULL)
    snprintf(path, cap, "%s", buf);
  if (gz) {
    gzFile f = gzopen(buf, "wb1");
    if (f == NULL || (size > 0 && gzwrite(f, data, (unsigned)size) == 0) ||
        gzclose(f) != Z_OK)
      fuzz_fail("cannot write %s", buf);
    return;
  }
  FILE *f = fopen(buf, "wb");
  if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) ||
      fclose(f) != 0)
    fuzz_fail("cannot write %s: %s", buf, strerror(errno));
}

static void put_le(unsigned char *p, uint64_t v, size_t n) {
  for (size_t i = 0; i < n; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

void fuzz_fix_frame(unsigned char *buf, size_t size, const char magic[8]) {
  if (size < EVO_FRAME_BYTES || memcmp(buf, magic, 8) != 0)
    return;
  put_le(buf + 12, (uint64_t)(size - EVO_FRAME_BYTES), 8);
  put_le(buf + size - 4, evo_crc32(buf, size - 4), 4);
}

unsigned char *fuzz_framed_input(const uint8_t *data, size_t size,
                                 unsigned modes, unsigned raw_mode,
                                 const char magic[8], unsigned *mode_out,
                                 size_t *size_out) {
  if (size < 1)
    return NULL;
  unsigned mode = data[0] % modes;
  size_t n = size - 1;
  unsigned char *buf = malloc(n ? n : 1);
  if (buf == NULL)
    return NULL;
  memcpy(buf, data + 1, n);
  if (mode != raw_mode)
    fuzz_fix_frame(buf, n, magic);
  *mode_out = mode;
  *size_out = n;
  return buf;
}

void fuzz_reset_error(void) { evo_set_error(EVO_OK, "%s", ""); }

void fuzz_check_error(int rc, const char *call) {
  if (rc >= 0)
    fuzz_fail("%s returned %d, not a negative status", call, rc);
  const char *msg = evo_last_error();
  if (msg == NULL || msg[0] == '\0')
    fuzz_fail("%s failed (%d) without a message", call, rc);
}

size_t fuzz_split(const uint8_t *data, size_t size, const char *sep,
                  fuzz_part *parts, size_t max) {
  size_t n = 0, seplen = strlen(sep);
  const uint8_t *at = data, *end = data + size;
  while (n < max) {
    const uint8_t *hit =
        n + 1 < max ? memmem(at, (size_t)(end - at), sep, seplen) : NULL;
    parts[n].data = at;
    parts[n].size = (size_t)((hit != NULL ? hit : end) - at);
    n++;
    if (hit == NULL)
      break;
    at = hit + seplen;
  }
  return n;
}
