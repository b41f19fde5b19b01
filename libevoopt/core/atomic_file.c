/* Atomic file replacement (see atomic_file_internal.h). POSIX only: this
 * file is compiled into the library and into the evoopt program. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic_file_internal.h"

#define TEMP_SUFFIX ".tmp"
#define TEMP_RANDOM "XXXXXX" /* mkstemp's six characters */

static int write_all(int fd, const unsigned char *p, size_t left) {
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    p += n;
    left -= (size_t)n;
  }
  return 0;
}

/* Makes the rename in @p path's folder durable. A file system that cannot
 * sync a folder (EINVAL) has nothing more to make durable. */
static int sync_folder(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = NULL;
  if (slash == NULL)
    dir = strdup(".");
  else if (slash == path)
    dir = strdup("/");
  else
    dir = strndup(path, (size_t)(slash - path));
  if (dir == NULL)
    return -1;
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  free(dir);
  if (fd < 0)
    return -1;
  int rc = fsync(fd) != 0 && errno != EINVAL ? -1 : 0;
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

int evo_atomic_write(const char *path, const void *data, size_t size) {
  if (path == NULL || (data == NULL && size > 0)) {
    errno = EINVAL;
    return -1;
  }
  size_t len = strlen(path);
  char *tmp = malloc(len + sizeof TEMP_SUFFIX TEMP_RANDOM);
  if (tmp == NULL)
    return -1;
  memcpy(tmp, path, len);
  memcpy(tmp + len, TEMP_SUFFIX TEMP_RANDOM, sizeof TEMP_SUFFIX TEMP_RANDOM);
  int fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0) {
    free(tmp);
    return -1;
  }
  /* mkstemp creates 0600; a saved genome, checkpoint or table is an
   * ordinary data file, readable like the files the user's programs
   * write. */
  int failed =
      fchmod(fd, 0644) != 0 || write_all(fd, data, size) != 0 || fsync(fd) != 0;
  int saved = errno;
  if (close(fd) != 0 && !failed) {
    failed = 1;
    saved = errno;
  }
  if (!failed && rename(tmp, path) != 0) {
    failed = 1;
    saved = errno;
  }
  if (failed)
    unlink(tmp);
  free(tmp);
  if (!failed && sync_folder(path) != 0) {
    failed = 1;
    saved = errno;
  }
  errno = saved;
  return failed ? -1 : 0;
}

static int all_of(const char *s, const char *set, size_t n) {
  return strlen(s) == n && strspn(s, set) == n;
}

int evo_atomic_is_temp(const char *name, const char *target) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  size_t len = strlen(target), suffix = sizeof TEMP_SUFFIX - 1;
  if (strncmp(name, target, len) != 0 ||
      strncmp(name + len, TEMP_SUFFIX, suffix) != 0)
    return 0;
  const char *rest = name + len + suffix;
  size_t pid_digits = strlen(rest) - (rest[0] == '.');
  if (rest[0] == '.') /* a process id: 1 to 10 digits */
    return pid_digits >= 1 && pid_digits <= 10 &&
           all_of(rest + 1, "0123456789", pid_digits);
  return all_of(rest, alphabet, sizeof TEMP_RANDOM - 1);
}
