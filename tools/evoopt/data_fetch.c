/* `evoopt data fetch`: downloads a data set's files (libcurl), checks the
 * checksums of the catalogue before keeping anything, unpacks archives
 * (libarchive), and moves the verified files into the data set's folder
 * under the per-user root. Everything is first written into a hidden
 * staging folder beside the data sets' folders ("<root>/.evoopt-fetch-
 * PID@HOST-XXXXXX"), so that a failed, corrupt or interrupted download leaves
 * nothing in them; the files are then renamed into place one by one, never
 * over an existing file. A staging folder left by a killed fetch (its
 * process gone) is removed by the next fetch into the same root. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "data_internal.h"

#if EVOOPT_HAVE_CURL
#include <curl/curl.h>
#endif
#if EVOOPT_HAVE_LIBARCHIVE
#include <archive.h>
#include <archive_entry.h>
#endif

#define STAGING_PREFIX ".evoopt-fetch-"
#define DOWNLOAD_NAME "download.part"

int data_can_download(void) {
  return EVOOPT_HAVE_CURL;
}

int data_can_unpack(void) {
  return EVOOPT_HAVE_LIBARCHIVE;
}

int data_net_start(void) {
#if EVOOPT_HAVE_CURL
  return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
#else
  return 0;
#endif
}

void data_net_stop(void) {
#if EVOOPT_HAVE_CURL
  curl_global_cleanup();
#endif
}

#if EVOOPT_HAVE_CURL

/* The most bytes a download or archive member may have: its stated size,
 * else its contents' length plus what gzip can add. */
static uint64_t content_cap(uint64_t content) {
  return content + content / 64 + 65536;
}

/* --- files and folders ---------------------------------------------------- */

static int mkdir_p(const char *path) {
  char buf[CLI_PATH_MAX];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) {
    errno = ENAMETOOLONG;
    return -1;
  }
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, 0755) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  if (mkdir(buf, 0755) != 0 && errno != EEXIST)
    return -1;
  return cli_is_dir(buf) ? 0 : (errno = ENOTDIR, -1);
}

static void fsync_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
}

/* Removes the staging folder @p dir and the files in it (it holds no
 * folders). */
static void remove_staging(const char *dir) {
  DIR *d = opendir(dir);
  if (d != NULL) {
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      char path[CLI_PATH_MAX];
      if (cli_path_join(path, sizeof path, dir, e->d_name) == 0)
        unlink(path);
    }
    closedir(d);
  }
  rmdir(dir);
}

/* This machine's name as it goes into a staging folder's name (a home
 * folder may be shared between machines): letters, digits, '.' and '-'. */
static void host_tag(char out[64]) {
  char host[256] = "";
  if (gethostname(host, sizeof host - 1) != 0)
    host[0] = '\0';
  size_t n = 0;
  for (const char *p = host; *p && n < 63; p++)
    if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
        (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')
      out[n++] = *p;
  out[n] = '\0';
}

/* Removes the staging folders ("<prefix><pid>@<host>-XXXXXX") that
 * fetches on this machine left in @p root when killed (their process is
 * gone). */
static void remove_stale_staging(const char *root, int quiet) {
  DIR *d = opendir(root);
  if (d == NULL)
    return;
  char host[64];
  host_tag(host);
  size_t hlen = strlen(host);
  struct dirent *e;
  size_t plen = strlen(STAGING_PREFIX);
  while ((e = readdir(d)) != NULL) {
    if (strncmp(e->d_name, STAGING_PREFIX, plen) != 0)
      continue;
    char *end = NULL;
    long pid = strtol(e->d_name + plen, &end, 10);
    if (end == e->d_name + plen || *end != '@' || pid <= 0 ||
        strncmp(end + 1, host, hlen) != 0 || end[1 + hlen] != '-' ||
        strlen(end + 1 + hlen) != 7)
      continue; /* not a name this program makes on this machine */
    if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
      continue; /* its process is still there (or not ours to ask) */
    char path[CLI_PATH_MAX];
    if (cli_path_join(path, sizeof path, root, e->d_name) == 0 &&
        cli_is_dir(path)) {
      remove_staging(path);
      if (!quiet)
        cli_note("removed '%s', left by an interrupted fetch", path);
    }
  }
  closedir(d);
}

/* Moves @p from to @p to unless @p to exists (then -1 with EEXIST): never
 * over a user's file, even one created meanwhile. */
static int move_no_replace(const char *from, const char *to) {
#ifdef RENAME_NOREPLACE
  if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
    return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ENOTSUP)
    return -1;
#endif
  /* A file system without renameat2's flag: link() never replaces. */
  if (link(from, to) != 0)
    return -1;
  unlink(from);
  return 0;
}

/* Opens @p path for writing; it must not exist. */
static FILE *create_new(const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    return NULL;
  FILE *f = fdopen(fd, "wb");
  if (f == NULL)
    close(fd);
  return f;
}

/* Flushes, fsyncs and closes @p f; -1 with errno set on any failure. */
static int close_synced(FILE *f) {
  int rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
  int saved = errno;
  if (fclose(f) != 0 && rc == 0)
    return -1;
  errno = saved;
  return rc;
}

/* "9.9 MB" */
static void format_bytes(double b, char *buf, size_t size) {
  if (b >= 1e9)
    snprintf(buf, size, "%.2f GB", b / 1e9);
  else if (b >= 1e6)
    snprintf(buf, size, "%.1f MB", b / 1e6);
  else if (b >= 1e3)
    snprintf(buf, size, "%.1f kB", b / 1e3);
  else
    snprintf(buf, size, "%.0f B", b);
}

/* --- one transfer --------------------------------------------------------- */

typedef struct transfer {
  FILE *out;
  const char *path; /* of out */
  data_digest *sha, *md5; /* of what came */
  char sha_hex[65], md5_hex[33]; /* filled on FETCH_OK */
  int hash_failed;              /* OpenSSL failed */
  uint64_t got, cap;
  int over;     /* more than cap bytes came */
  int io_errno; /* a write failed */
  double last_data; /* when bytes last came (or the transfer started) */
  long timeout;     /* seconds without bytes before giving up */
  int stalled;      /* given up for that */
  /* progress */
  cli_progress *progress;
  char label[160];
  double last_draw;
  uint64_t expected; /* 0: unknown */
} transfer;

static size_t on_data(char *p, size_t size, size_t n, void *user) {
  transfer *t = user;
  size_t len = size * n;
  if (t->cap > 0 && t->got + len > t->cap) {
    t->over = 1;
    return 0; /* curl stops: CURLE_WRITE_ERROR */
  }
  if (fwrite(p, 1, len, t->out) != len) {
    t->io_errno = errno ? errno : EIO;
    return 0;
  }
  if (data_digest_update(t->sha, p, len) != 0 ||
      data_digest_update(t->md5, p, len) != 0) {
    t->hash_failed = 1;
    return 0;
  }
  t->got += len;
  if (len > 0)
    t->last_data = cli_now();
  return len;
}

static void draw_bar(transfer *t, uint64_t total, int force) {
  cli_progress *p = t->progress;
  if (p->mode != CLI_PROGRESS_BAR)
    return;
  double now = cli_now();
  if (!force && now - t->last_draw < 0.1)
    return;
  t->last_draw = now;
  enum { BAR = 20 };
  char bar[BAR + 1], done[32], all[32] = "?", rate[32], eta[32] = "?";
  size_t filled = total > 0 ? (size_t)(t->got >= total
                                           ? BAR
                                           : t->got * BAR / total)
                            : 0;
  for (size_t i = 0; i < BAR; i++)
    bar[i] = i < filled ? '#' : '-';
  bar[BAR] = '\0';
  double spent = now - p->start;
  double speed = spent > 0.05 ? (double)t->got / spent : 0.0;
  format_bytes((double)t->got, done, sizeof done);
  if (total > 0)
    format_bytes((double)total, all, sizeof all);
  format_bytes(speed, rate, sizeof rate);
  if (total > 0 && speed > 0.0 && total >= t->got)
    cli_format_duration((double)(total - t->got) / speed, eta, sizeof eta);
  char line[512];
  int n = snprintf(line, sizeof line, "[%s] %s  %s/%s  %s/s  ETA %s", bar,
                   t->label, done, all, rate, eta);
  struct winsize ws;
  int width = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20
                  ? ws.ws_col - 1
                  : 79;
  if (n > width)
    n = width;
  fprintf(stderr, "\r%.*s\033[K", n, line);
  fflush(stderr);
  p->bar_drawn = 1;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow) {
  (void)dlnow;
  (void)ultotal;
  (void)ulnow;
  transfer *t = user;
  if (data_stop_requested())
    return 1; /* curl stops: CURLE_ABORTED_BY_CALLBACK */
  if (cli_now() - t->last_data > (double)t->timeout) {
    t->stalled = 1; /* curl's own low-speed check averages over seconds */
    return 1;
  }
  uint64_t total = t->expected > 0 ? t->expected
                   : dltotal > 0  ? (uint64_t)dltotal
                                  : 0;
  draw_bar(t, total, 0);
  return 0;
}

enum { FETCH_OK = 0, FETCH_FAILED = 1, FETCH_STOPPED = 2 };

/* Downloads @p url into @p path (a new file). On FETCH_OK, @p t holds the
 * length and checksums of what came; otherwise @p why says what happened
 * and @p path is gone. */
static int transfer_url(const char *url, const char *path, uint64_t cap,
                        uint64_t expected, long timeout, transfer *t,
                        char *why, size_t why_size) {
  t->sha = data_digest_new(DATA_DIGEST_SHA256, why, why_size);
  t->md5 = t->sha ? data_digest_new(DATA_DIGEST_MD5, why, why_size) : NULL;
  t->out = t->md5 ? create_new(path) : NULL;
  if (t->out == NULL) {
    if (t->md5 != NULL)
      snprintf(why, why_size, "cannot create '%s': %s", path,
               strerror(errno));
    data_digest_free(t->sha);
    data_digest_free(t->md5);
    return FETCH_FAILED;
  }
  t->path = path;
  t->hash_failed = 0;
  t->got = 0;
  t->cap = cap;
  t->over = 0;
  t->io_errno = 0;
  t->expected = expected;
  t->last_draw = 0.0;
  t->progress->start = cli_now();
  t->last_data = t->progress->start;
  t->timeout = timeout;
  t->stalled = 0;

  CURL *h = curl_easy_init();
  if (h == NULL) {
    fclose(t->out);
    unlink(path);
    data_digest_free(t->sha);
    data_digest_free(t->md5);
    snprintf(why, why_size, "cannot start libcurl");
    return FETCH_FAILED;
  }
  char errbuf[CURL_ERROR_SIZE] = "";
  char agent[64];
  snprintf(agent, sizeof agent, "evoopt/%s", evo_version_string());
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_USERAGENT, agent);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 8L);
#if LIBCURL_VERSION_NUM >= 0x075500 /* 7.85: the _STR forms */
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https,file");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS,
                   (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS | CURLPROTO_FILE));
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS,
                   (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  /* A server that stops answering: no connection within the time-out, or
   * less than one byte a second over that long. */
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, timeout);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, timeout);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, t);
  CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK && (data_digest_hex(t->sha, t->sha_hex,
                                         sizeof t->sha_hex) != 0 ||
                         data_digest_hex(t->md5, t->md5_hex,
                                         sizeof t->md5_hex) != 0)) {
    t->hash_failed = 1;
    rc = CURLE_WRITE_ERROR;
  }
  data_digest_free(t->sha);
  data_digest_free(t->md5);
  long status = 0;
  curl_off_t length = -1;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
  curl_easy_cleanup(h);
  if (rc == CURLE_OK)
    draw_bar(t, t->expected > 0 ? t->expected : t->got, 1);
  cli_progress_clear(t->progress);

  int result = FETCH_OK;
  if (rc == CURLE_OK && close_synced(t->out) != 0) {
    snprintf(why, why_size, "cannot write '%s': %s", path, strerror(errno));
    result = FETCH_FAILED;
  } else if (rc != CURLE_OK) {
    fclose(t->out);
    result = FETCH_FAILED;
    if (rc == CURLE_ABORTED_BY_CALLBACK && !t->stalled) {
      snprintf(why, why_size, "interrupted");
      result = FETCH_STOPPED;
    } else if (rc == CURLE_OPERATION_TIMEDOUT || t->stalled) {
      snprintf(why, why_size,
               "timed out: no answer or no data for %ld s (--timeout) after "
               "%llu bytes",
               timeout, (unsigned long long)t->got);
    } else if (rc == CURLE_HTTP_RETURNED_ERROR) {
      snprintf(why, why_size, "the server answered HTTP %ld%s", status,
               status == 404 ? " (not found)" : "");
    } else if (rc == CURLE_PARTIAL_FILE) {
      snprintf(why, why_size,
               "the transfer was cut short: %llu of %lld bytes came",
               (unsigned long long)t->got, (long long)length);
    } else if (rc == CURLE_WRITE_ERROR && t->over) {
      snprintf(why, why_size,
               "the server sent more than the expected %llu bytes",
               (unsigned long long)t->cap);
    } else if (rc == CURLE_WRITE_ERROR && t->hash_failed) {
      snprintf(why, why_size, "OpenSSL's SHA-256 or MD5 failed");
    } else if (rc == CURLE_WRITE_ERROR && t->io_errno) {
      snprintf(why, why_size, "cannot write '%s': %s", path,
               strerror(t->io_errno));
    } else {
      snprintf(why, why_size, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    }
  }
  if (result != FETCH_OK)
    unlink(path);
  return result;
}

/* --- unpacking ------------------------------------------------------------ */

#if EVOOPT_HAVE_LIBARCHIVE
/* Extracts the members of @p archive_path that @p need marks into
 * @p staging under their files' names. Returns FETCH_*. */
static int unpack(const char *archive_path, const data_download *d,
                  const int need[DATA_MAX_FILES], const char *staging,
                  char *why, size_t why_size) {
  struct archive *a = archive_read_new();
  if (a == NULL) {
    snprintf(why, why_size, "cannot start libarchive");
    return FETCH_FAILED;
  }
  archive_read_support_filter_all(a);
  archive_read_support_format_tar(a);
  int done[DATA_MAX_FILES] = {0};
  int result = FETCH_OK;
  if (archive_read_open_filename(a, archive_path, 1 << 16) != ARCHIVE_OK) {
    snprintf(why, why_size, "'%s' is not a readable archive: %s",
             archive_path, archive_error_string(a));
    archive_read_free(a);
    return FETCH_FAILED;
  }
  struct archive_entry *e;
  int r;
  static unsigned char buf[1 << 16];
  while (result == FETCH_OK &&
         ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK ||
          r == ARCHIVE_WARN)) {
    const char *name = archive_entry_pathname(e);
    if (name != NULL && strncmp(name, "./", 2) == 0)
      name += 2;
    size_t k = d->n_files;
    for (size_t i = 0; name != NULL && i < d->n_files; i++)
      if (need[i] && strcmp(d->files[i].member, name) == 0)
        k = i;
    if (k == d->n_files)
      continue; /* not wanted: libarchive skips its data */
    const data_file *f = &d->files[k];
    if (done[k]) {
      snprintf(why, why_size, "the archive holds '%s' twice", f->member);
      result = FETCH_FAILED;
      break;
    }
    if (archive_entry_filetype(e) != AE_IFREG) {
      snprintf(why, why_size, "'%s' in the archive is not a regular file",
               f->member);
      result = FETCH_FAILED;
      break;
    }
    char path[CLI_PATH_MAX];
    cli_path_join(path, sizeof path, staging, f->name);
    FILE *out = create_new(path);
    if (out == NULL) {
      snprintf(why, why_size, "cannot create '%s': %s", path,
               strerror(errno));
      result = FETCH_FAILED;
      break;
    }
    uint64_t got = 0, cap = content_cap(f->size);
    for (;;) {
      la_ssize_t n = archive_read_data(a, buf, sizeof buf);
      if (n == 0)
        break;
      if (n < 0) {
        snprintf(why, why_size, "cannot read '%s' from the archive: %s",
                 f->member, archive_error_string(a));
        result = FETCH_FAILED;
        break;
      }
      got += (uint64_t)n;
      if (got > cap) {
        snprintf(why, why_size,
                 "'%s' in the archive is longer than the expected %llu bytes",
                 f->member, (unsigned long long)f->size);
        result = FETCH_FAILED;
        break;
      }
      if (fwrite(buf, 1, (size_t)n, out) != (size_t)n) {
        snprintf(why, why_size, "cannot write '%s': %s", path,
                 strerror(errno));
        result = FETCH_FAILED;
        break;
      }
      if (data_stop_requested()) {
        snprintf(why, why_size, "interrupted");
        result = FETCH_STOPPED;
        break;
      }
    }
    if (close_synced(out) != 0 && result == FETCH_OK) {
      snprintf(why, why_size, "cannot write '%s': %s", path, strerror(errno));
      result = FETCH_FAILED;
    }
    done[k] = 1;
  }
  if (result == FETCH_OK && r != ARCHIVE_EOF) {
    snprintf(why, why_size, "'%s' is damaged: %s", archive_path,
             archive_error_string(a));
    result = FETCH_FAILED;
  }
  for (size_t i = 0; result == FETCH_OK && i < d->n_files; i++)
    if (need[i] && !done[i]) {
      snprintf(why, why_size, "the archive has no member '%s'",
               d->files[i].member);
      result = FETCH_FAILED;
    }
  archive_read_free(a);
  return result;
}
#endif

/* --- one download, from each of its URLs in turn ------------------------- */

/* Verifies the staged file @p path against @p f; FETCH_*. */
static int verify_staged(const char *path, const data_file *f,
                         const char *label, cli_progress *p, char *why,
                         size_t why_size) {
  int v = data_verify(path, f->name, f, why, why_size);
  if (v == DATA_HASH_STOPPED)
    return FETCH_STOPPED;
  if (v < 0)
    return FETCH_FAILED;
  if (v == DATA_HASH_OK)
    cli_progress_log(p, "%s: %s: SHA-256 verified (%llu bytes)", label,
                     f->name, (unsigned long long)f->size);
  else
    cli_progress_log(p, "%s: %s: %llu bytes (covered by the download's "
                        "checksum)",
                     label, f->name, (unsigned long long)f->size);
  return FETCH_OK;
}

/* Fetches download @p d (the files @p need marks) into @p staging from
 * @p url; FETCH_*. */
static int fetch_from(const data_set *s, const data_download *d,
                      const int need[DATA_MAX_FILES], const char *url,
                      const char *staging, const data_fetch_opts *o,
                      cli_progress *p, char *why, size_t why_size) {
  char part[CLI_PATH_MAX];
  cli_path_join(part, sizeof part, staging, DOWNLOAD_NAME);
  (void)need; /* used to unpack archives */
  uint64_t contents = 0;
  for (size_t i = 0; i < d->n_files; i++)
    contents += d->files[i].size;
  uint64_t cap = d->size > 0 ? d->size
                 : d->archive ? 2 * contents + ((uint64_t)64 << 20)
                              : content_cap(contents);
  transfer t;
  memset(&t, 0, sizeof t);
  t.progress = p;
  const char *slash = strrchr(d->path, '/');
  snprintf(t.label, sizeof t.label, "%s  %s", s->name,
           slash ? slash + 1 : d->path);
  cli_progress_log(p, "%s: fetching %s", s->name, url);
  int r = transfer_url(url, part, cap, d->size, o->timeout, &t, why,
                       why_size);
  if (r != FETCH_OK)
    return r;
  /* The download itself, as published. */
  const char *sha = t.sha_hex, *md5 = t.md5_hex;
  if (d->size > 0 && t.got != d->size)
    snprintf(why, why_size, "%llu bytes came, not the expected %llu",
             (unsigned long long)t.got, (unsigned long long)d->size);
  else if (d->sha256[0] && strcmp(sha, d->sha256) != 0)
    snprintf(why, why_size,
             "checksum mismatch: SHA-256 %s, not the expected %s", sha,
             d->sha256);
  else if (d->md5[0] && strcmp(md5, d->md5) != 0)
    snprintf(why, why_size, "checksum mismatch: MD5 %s, not the expected %s",
             md5, d->md5);
  else
    why[0] = '\0';
  if (why[0] != '\0') {
    unlink(part);
    return FETCH_FAILED;
  }
  if (d->sha256[0] || d->md5[0])
    cli_progress_log(p, "%s: %s: %s verified (%llu bytes)", s->name, d->path,
                     d->sha256[0] ? "SHA-256" : "MD5",
                     (unsigned long long)t.got);
  if (!d->archive) {
    r = verify_staged(part, &d->files[0], s->name, p, why, why_size);
    char kept[CLI_PATH_MAX];
    cli_path_join(kept, sizeof kept, staging, d->files[0].name);
    if (r == FETCH_OK && rename(part, kept) != 0) {
      snprintf(why, why_size, "cannot rename '%s': %s", part,
               strerror(errno));
      r = FETCH_FAILED;
    }
    if (r != FETCH_OK)
      unlink(part);
    return r;
  }
#if EVOOPT_HAVE_LIBARCHIVE
  r = unpack(part, d, need, staging, why, why_size);
  unlink(part);
  for (size_t i = 0; r == FETCH_OK && i < d->n_files; i++) {
    if (!need[i])
      continue;
    char path[CLI_PATH_MAX];
    cli_path_join(path, sizeof path, staging, d->files[i].name);
    r = verify_staged(path, &d->files[i], s->name, p, why, why_size);
  }
  for (size_t i = 0; r != FETCH_OK && i < d->n_files; i++) {
    char path[CLI_PATH_MAX]; /* what this attempt unpacked: not kept */
    cli_path_join(path, sizeof path, staging, d->files[i].name);
    if (need[i])
      unlink(path);
  }
  return r;
#else
  unlink(part);
  snprintf(why, why_size, "this evoopt was built without libarchive");
  return FETCH_FAILED;
#endif
}

#endif /* EVOOPT_HAVE_CURL */

/* --- a data set -------------------------------------------------------------
 */

/* The folder of @p s in @p root: the first of its folders that already
 * holds any of its files (the one the library reads), else its first. */
static void target_folder(char *out, size_t size, const data_set *s,
                          const char *root) {
  for (size_t i = 0; i < s->n_folders; i++) {
    cli_path_join(out, size, root, s->folders[i]);
    if (data_folder_has_set(out, s))
      return;
  }
  cli_path_join(out, size, root, s->folders[0]);
}

int data_fetch_set(const data_set *s, const data_fetch_opts *o) {
  cli_progress p;
  cli_progress_init(&p, o->quiet, 0);
  char dir[CLI_PATH_MAX];
  target_folder(dir, sizeof dir, s, o->root);

  /* What is there already: verified files are kept, others are never
   * touched (and stop the fetch of this data set). */
  int need[DATA_MAX_DOWNLOADS][DATA_MAX_FILES];
  size_t n_need = 0, n_have = 0, n_files = 0, n_bad = 0;
  uint64_t space = 0;
  for (size_t i = 0; i < s->n_downloads; i++) {
    const data_download *d = &s->downloads[i];
    int any = 0;
    uint64_t contents = 0;
    for (size_t j = 0; j < d->n_files; j++) {
      const data_file *f = &d->files[j];
      char path[CLI_PATH_MAX], why[CLI_PATH_MAX + 256];
      need[i][j] = 0;
      n_files++;
      contents += f->size;
      if (!data_find_file(path, sizeof path, dir, f)) {
        need[i][j] = 1;
        any = 1;
        n_need++;
        continue;
      }
      int v = data_verify(path, path, f, why, sizeof why);
      if (v == DATA_HASH_STOPPED)
        return cli_error("%s: interrupted; nothing was changed", s->name),
               CLI_EXIT_INTERRUPTED;
      if (v >= 0) {
        n_have++;
        continue;
      }
      cli_error("%s: %s; it is left as it is (move it away to fetch a fresh "
                "copy)",
                s->name, why);
      n_bad++;
    }
    if (any)
      space += (d->size > 0 ? d->size : contents) +
               (d->archive ? contents : 0);
  }
  if (n_bad > 0)
    return cli_error("%s: not fetched: %zu file%s in '%s' %s not the "
                     "expected one%s",
                     s->name, n_bad, n_bad == 1 ? "" : "s", dir,
                     n_bad == 1 ? "is" : "are", n_bad == 1 ? "" : "s");
  if (n_need == 0) {
    printf("%s: already present in %s (%zu file%s, verified)\n", s->name,
           dir, n_have, n_have == 1 ? "" : "s");
    return CLI_EXIT_OK;
  }
  for (size_t i = 0; i < s->n_downloads; i++)
    for (size_t j = 0; j < s->downloads[i].n_files; j++)
      if (need[i][j] && s->downloads[i].archive && !data_can_unpack())
        return cli_error("%s: this evoopt was built without libarchive, "
                         "which unpacks '%s' (install libarchive-dev and "
                         "rebuild)",
                         s->name, s->downloads[i].path);
#if !EVOOPT_HAVE_CURL
  (void)space;
  return cli_error("this evoopt was built without download support "
                   "(libcurl): install libcurl4-openssl-dev and rebuild, or "
                   "download the files yourself (evoopt(1), DATA)");
#else
  int had_root = cli_is_dir(o->root);
  if (mkdir_p(o->root) != 0)
    return cli_error("cannot create the data folder '%s': %s", o->root,
                     strerror(errno));
  remove_stale_staging(o->root, o->quiet);
  struct statvfs vfs;
  if (statvfs(o->root, &vfs) == 0 &&
      (uint64_t)vfs.f_bavail * vfs.f_frsize < space) {
    char need_text[32], free_text[32];
    format_bytes((double)space, need_text, sizeof need_text);
    format_bytes((double)vfs.f_bavail * (double)vfs.f_frsize, free_text,
                 sizeof free_text);
    return cli_error("%s: not enough space in '%s': the download needs "
                     "about %s, %s free",
                     s->name, o->root, need_text, free_text);
  }
  char staging[CLI_PATH_MAX], host[64];
  host_tag(host);
  int n = snprintf(staging, sizeof staging, "%s/%s%ld@%s-XXXXXX", o->root,
                   STAGING_PREFIX, (long)getpid(), host);
  if (n < 0 || (size_t)n >= sizeof staging || mkdtemp(staging) == NULL)
    return cli_error("cannot create a staging folder in '%s': %s", o->root,
                     n > 0 && (size_t)n < sizeof staging ? strerror(errno)
                                                          : "path too long");

  int result = FETCH_OK;
  char why[CLI_PATH_MAX + 512] = "";
  char failed_url[DATA_URL_CAP] = ""; /* the only URL tried, failed */
  for (size_t i = 0; result == FETCH_OK && i < s->n_downloads; i++) {
    const data_download *d = &s->downloads[i];
    int any = 0;
    for (size_t j = 0; j < d->n_files; j++)
      any |= need[i][j];
    if (!any)
      continue;
    char urls[DATA_MAX_URLS][DATA_URL_CAP];
    size_t n_urls = 0;
    if (o->mirror != NULL) {
      snprintf(urls[0], sizeof urls[0], "%s/%s", o->mirror, d->path);
      n_urls = 1;
    } else {
      for (; n_urls < d->n_urls; n_urls++)
        memcpy(urls[n_urls], d->urls[n_urls], DATA_URL_CAP);
    }
    if (n_urls == 0) {
      snprintf(why, sizeof why, "'%s' has no URL: give --mirror URL",
               d->path);
      result = FETCH_FAILED;
      break;
    }
    result = FETCH_FAILED;
    for (size_t u = 0; u < n_urls && result == FETCH_FAILED; u++) {
      result = fetch_from(s, d, need[i], urls[u], staging, o, &p, why,
                          sizeof why);
      if (result == FETCH_FAILED && n_urls > 1)
        cli_note("%s: %s: %s", s->name, urls[u], why);
    }
    if (result == FETCH_FAILED && n_urls > 1)
      snprintf(why, sizeof why, "could not fetch '%s' from any of its %zu "
               "URLs", d->path, n_urls);
    else if (result == FETCH_FAILED)
      memcpy(failed_url, urls[0], sizeof failed_url);
  }
  if (result != FETCH_OK) {
    remove_staging(staging);
    if (!had_root)
      rmdir(o->root); /* made above; only if still empty */
  }
  if (result == FETCH_STOPPED) {
    cli_error("%s: interrupted: nothing of the download was kept", s->name);
    return CLI_EXIT_INTERRUPTED;
  }
  if (result != FETCH_OK)
    return cli_error("%s: %s%s%s%s; nothing was kept", s->name,
                     failed_url[0] ? "could not fetch " : "", failed_url,
                     failed_url[0] ? ": " : "", why);

  /* Every file verified: into the data set's folder, never over a file. */
  if (mkdir_p(dir) != 0) {
    remove_staging(staging);
    return cli_error("%s: cannot create '%s': %s; nothing was kept", s->name,
                     dir, strerror(errno));
  }
  size_t moved = 0;
  int rc = CLI_EXIT_OK;
  for (size_t i = 0; i < s->n_downloads && rc == CLI_EXIT_OK; i++)
    for (size_t j = 0; j < s->downloads[i].n_files && rc == CLI_EXIT_OK;
         j++) {
      if (!need[i][j])
        continue;
      const data_file *f = &s->downloads[i].files[j];
      char from[CLI_PATH_MAX], to[CLI_PATH_MAX], other[CLI_PATH_MAX];
      cli_path_join(from, sizeof from, staging, f->name);
      cli_path_join(to, sizeof to, dir, f->name);
      if (data_find_file(other, sizeof other, dir, f) ||
          move_no_replace(from, to) != 0)
        rc = cli_error(
            "%s: cannot put '%s' in place: %s; the other files%s are kept",
            s->name, to,
            errno == EEXIST || data_find_file(other, sizeof other, dir, f)
                ? "a file of that name appeared meanwhile (left as it is)"
                : strerror(errno),
            moved ? " moved so far" : "");
      else
        moved++;
    }
  fsync_dir(dir);
  remove_staging(staging);
  if (rc != CLI_EXIT_OK)
    return rc;
  printf("%s: fetched %zu file%s into %s%s\n", s->name, moved,
         moved == 1 ? "" : "s", dir,
         n_have ? " (the others were already there)" : "");
  return CLI_EXIT_OK;
#endif
}
