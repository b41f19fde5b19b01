/* Files: whole-file reads, paths, folder listings, and text built in
 * memory with stdio (open_memstream) that is saved atomically (a crash or
 * an error never leaves a partial file: core/atomic_file_internal.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli_internal.h"
#include "core/atomic_file_internal.h"

char *cli_read_text(const char *path, size_t max_size) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return NULL;
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = cap == 0 ? 8192 : cap * 2;
      char *grown = realloc(buf, cap);
      if (grown == NULL)
        break;
      buf = grown;
    }
    size_t n = fread(buf + len, 1, cap - len - 1, f);
    len += n;
    if (n == 0 || len > max_size)
      break;
  }
  int failed = buf == NULL || ferror(f) || !feof(f) || len > max_size;
  fclose(f);
  if (failed) {
    free(buf);
    errno = len > max_size ? EFBIG : EIO;
    return NULL;
  }
  buf[len] = '\0';
  return buf;
}

int cli_path_join(char *buf, size_t size, const char *dir, const char *name) {
  int n = snprintf(buf, size, "%s/%s", dir, name);
  return n < 0 || (size_t)n >= size ? -1 : 0;
}

int cli_is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int cli_is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Keeps @p name among the @p kept first names in byte order (at most
 * CLI_DIR_SHOWN): an insertion into a short sorted list. */
static void keep_first(char first[][256], size_t *kept, const char *name) {
  size_t i = *kept;
  if (i == CLI_DIR_SHOWN &&
      strcmp(name, first[CLI_DIR_SHOWN - 1]) >= 0)
    return;
  if (i == CLI_DIR_SHOWN)
    i--;
  else
    (*kept)++;
  for (; i > 0 && strcmp(name, first[i - 1]) < 0; i--)
    memcpy(first[i], first[i - 1], sizeof first[i]);
  snprintf(first[i], sizeof first[i], "%s", name);
}

long cli_dir_summary(const char *dir, char *text, size_t size) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return -1;
  char first[CLI_DIR_SHOWN][256];
  size_t kept = 0;
  long count = 0;
  errno = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL; errno = 0) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    keep_first(first, &kept, e->d_name);
    count++;
  }
  int saved = errno;
  closedir(d);
  if (saved != 0) {
    errno = saved;
    return -1;
  }
  size_t used = 0;
  text[0] = '\0';
  for (size_t i = 0; i < kept && used < size; i++) {
    int n = snprintf(text + used, size - used, "%s'%s'", i > 0 ? ", " : "",
                     first[i]);
    used += n > 0 ? (size_t)n : 0;
  }
  if ((size_t)count > kept && used < size)
    snprintf(text + used, size - used, " and %zu more",
             (size_t)count - kept);
  return count;
}

/* The stream, opened on the first write (NULL: the text is unusable).
 * glibc's memstream does not set the stream's error flag when it cannot
 * grow: the write returns an error and a later fclose succeeds with the
 * text cut short. So every write goes through the functions below, which
 * check each result. */
static FILE *stream(cli_buf *b) {
  if (b->f == NULL && b->data == NULL && !b->failed) {
    b->f = open_memstream(&b->data, &b->len);
    if (b->f == NULL)
      cli_buf_fail(b, NULL);
  }
  return b->failed ? NULL : b->f;
}

void cli_buf_fail(cli_buf *b, const char *fault) {
  if (!b->failed)
    b->fault = fault;
  b->failed = 1;
}

void cli_buf_printf(cli_buf *b, const char *fmt, ...) {
  FILE *f = stream(b);
  if (f == NULL)
    return;
  va_list ap;
  va_start(ap, fmt);
  if (vfprintf(f, fmt, ap) < 0)
    cli_buf_fail(b, NULL);
  va_end(ap);
}

void cli_buf_csv_field(cli_buf *b, const char *s) {
  if (strpbrk(s, ",\"\n\r") == NULL) {
    cli_buf_printf(b, "%s", s);
    return;
  }
  cli_buf_printf(b, "\"");
  for (; *s != '\0'; s++)
    if (*s == '"')
      cli_buf_printf(b, "\"\"");
    else
      cli_buf_printf(b, "%c", *s);
  cli_buf_printf(b, "\"");
}

void cli_buf_json(cli_buf *b, const json_t *json, size_t flags) {
  FILE *f = stream(b);
  if (f == NULL)
    return;
  errno = 0;
  if (json == NULL)
    cli_buf_fail(b, NULL); /* building it ran out of memory */
  else if (json_dumpf(json, f, flags) != 0)
    /* The stream's and jansson's own allocations fail with ENOMEM; else
     * jansson met a value it cannot encode (such as a loop). */
    cli_buf_fail(b,
                 errno == ENOMEM ? NULL : "a value cannot be encoded as JSON");
}

int cli_buf_close(cli_buf *b) {
  stream(b); /* nothing written: the empty text */
  if (b->f != NULL) {
    if (fclose(b->f) != 0)
      cli_buf_fail(b, NULL);
    b->f = NULL;
  }
  return b->failed || b->data == NULL ? -1 : 0;
}

/* Saves @p b as @p path; messages name @p shown (the user's name for a
 * file written under a temporary name first). */
static int buf_save_as(cli_buf *b, const char *path, const char *shown) {
  int rc = CLI_EXIT_OK;
  if (cli_buf_close(b) != 0 && b->fault == NULL)
    rc = cli_error("out of memory writing '%s'", shown);
  else if (b->failed)
    rc = cli_error("cannot write '%s': %s", shown, b->fault);
  else if (evo_atomic_write(path, b->data, b->len) != 0)
    rc = cli_error("cannot write '%s': %s", shown, strerror(errno));
  cli_buf_free(b);
  return rc;
}

int cli_buf_save(cli_buf *b, const char *path) {
  return buf_save_as(b, path, path);
}

void cli_buf_free(cli_buf *b) {
  if (b->f != NULL)
    fclose(b->f);
  free(b->data);
  memset(b, 0, sizeof *b);
}

/* Also refuses, before any training, an empty name and a folder that
 * does not exist or cannot take a new file. */
int cli_refuse_existing(const char *option, const char *path) {
  struct stat st;
  if (path[0] == '\0')
    return cli_error("%s: empty file name", option);
  if (lstat(path, &st) == 0)
    return cli_error("%s '%s' exists: evoopt never replaces a file (choose "
                     "another name, or remove it first)",
                     option, path);
  if (errno != ENOENT)
    return cli_error("%s '%s': %s", option, path, strerror(errno));
  /* The folder must take a new file: known now, not after the training. */
  char dir[CLI_PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof dir)
    return cli_error("%s: path too long: '%s'", option, path);
  memcpy(dir, path, len + 1);
  char *slash = strrchr(dir, '/');
  if (slash == NULL)
    snprintf(dir, sizeof dir, ".");
  else
    slash[slash == dir] = '\0'; /* "/name" is in "/" */
  if (access(dir, W_OK | X_OK) != 0)
    return cli_error("%s '%s': cannot write in the folder '%s': %s", option,
                     path, dir, strerror(errno));
  return CLI_EXIT_OK;
}

int cli_buf_save_new(cli_buf *b, const char *path) {
  /* "<path>.tmp.<pid>": a name evo_atomic_is_temp() knows as ours. */
  char tmp[CLI_PATH_MAX];
  int n = snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp) {
    cli_buf_free(b);
    return cli_error("path too long: '%s'", path);
  }
  int rc = buf_save_as(b, tmp, path);
  if (rc != CLI_EXIT_OK)
    return rc;
  if (link(tmp, path) != 0) {
    int saved = errno;
    unlink(tmp);
    if (saved == EEXIST)
      return cli_error("'%s' exists (made meanwhile): evoopt never replaces "
                       "a file",
                       path);
    return cli_error("cannot write '%s': %s", path, strerror(saved));
  }
  unlink(tmp);
  return CLI_EXIT_OK;
}
