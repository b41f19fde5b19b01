/* `evoopt data` (issue 13, part 1): the catalogue of data sets, where the
 * library looks for them, checksums, downloads. The library itself has no
 * network code; downloads (libcurl) and unpacking (libarchive) live here,
 * each optional at build time (EVOOPT_HAVE_CURL, EVOOPT_HAVE_LIBARCHIVE). */
#ifndef EVOOPT_CLI_DATA_INTERNAL_H
#define EVOOPT_CLI_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "cli_internal.h"

int cli_cmd_data(int argc, char **argv);

/* --- checksums (data_hash.c) -------------------------------------------- */

/* A running digest (OpenSSL's EVP, kept out of this header). */
typedef struct data_digest data_digest;
typedef enum { DATA_DIGEST_SHA256, DATA_DIGEST_MD5 } data_digest_kind;

/* A new digest of @p kind; NULL, with a message in @p why, on failure. */
data_digest *data_digest_new(data_digest_kind kind, char *why,
                             size_t why_size);
/* Adds @p n bytes. 0, or -1 when OpenSSL fails. */
int data_digest_update(data_digest *d, const void *data, size_t n);
/* Finishes the digest: its lowercase hex digits and a NUL in @p out (65
 * bytes for SHA-256, 33 for MD5). 0, or -1 when OpenSSL fails or @p out is
 * too small. */
int data_digest_hex(data_digest *d, char *out, size_t out_size);
void data_digest_free(data_digest *d); /* NULL is fine */

enum {
  DATA_HASH_OK = 0,
  DATA_HASH_NO_SUM = 1,  /* data_verify: length right, no SHA-256 known */
  DATA_HASH_IO = -1,     /* cannot open or read the file */
  DATA_HASH_BAD = -2,    /* damaged, cut short, too long, or mismatching */
  DATA_HASH_STOPPED = -3 /* data_stop_requested() */
};

/* The SHA-256 and length of what the library reads from @p path: the
 * inflated bytes of a gzip file, the bytes of any other (zlib's gzread,
 * like the library's readers). More than @p max_size bytes (0: no bound)
 * is an error. Returns DATA_HASH_OK, or another DATA_HASH_* with a message
 * in @p why naming the file as @p shown (NULL: its path). */
int data_hash_content(const char *path, const char *shown, uint64_t max_size,
                      uint64_t *size, char sha256[65], char *why,
                      size_t why_size);

/* --- the catalogue (data_catalog.c) -------------------------------------- */

#define DATA_MAX_SETS 8
#define DATA_MAX_FOLDERS 3
#define DATA_MAX_DOWNLOADS 6
#define DATA_MAX_FILES 8
#define DATA_MAX_URLS 3
#define DATA_NAME_CAP 64
#define DATA_URL_CAP 512

/* A file the library reads, as kept in the data set's folder. */
typedef struct data_file {
  char name[DATA_NAME_CAP]; /* its name in the folder; "x.gz" is gzip and
                               the library also accepts it as plain "x" */
  char member[256];         /* its path in the archive, "" when the
                               download is the file itself */
  uint64_t size;            /* length of its contents (inflated) */
  char sha256[65];          /* of its contents; "" when only the
                               download's checksum covers it */
} data_file;

/* One file to download: the file itself or an archive of files. */
typedef struct data_download {
  char path[256]; /* under a mirror (--mirror URL/PATH) */
  char urls[DATA_MAX_URLS][DATA_URL_CAP]; /* tried in order without --mirror */
  size_t n_urls;
  uint64_t size;    /* of the download as published, 0 when it varies */
  char sha256[65];  /* of the download as published, "" none */
  char md5[33];     /* of the download as published, "" none */
  int archive;      /* a tar archive (any compression) holding files[] */
  data_file files[DATA_MAX_FILES];
  size_t n_files;
} data_download;

typedef struct data_set {
  char name[32]; /* the task's name: mnist, fashion_mnist, ... */
  /* Its folder names in a root, in the library's order; downloads go to
   * the first, unless another one already holds some of its files. */
  char folders[DATA_MAX_FOLDERS][DATA_NAME_CAP];
  size_t n_folders;
  char source[256]; /* authors and license, for `data list` */
  data_download downloads[DATA_MAX_DOWNLOADS];
  size_t n_downloads;
} data_set;

typedef struct data_catalog {
  data_set sets[DATA_MAX_SETS];
  size_t n_sets;
  char origin[CLI_PATH_MAX]; /* "built-in" or the manifest's path */
} data_catalog;

/* Fills @p c from a manifest (JSON; the format is in data_catalog.c and
 * doc/evoopt.1); @p file NULL means the catalogue built into the program.
 * Returns an exit code (the error printed). */
int data_catalog_load(data_catalog *c, const char *file);
const data_set *data_catalog_find(const data_catalog *c, const char *name);
/* "mnist, fashion_mnist, ..." */
void data_catalog_names(const data_catalog *c, char *buf, size_t size);

/* Checks the file at @p path against @p f: the length of its contents
 * and, when @p f has one, their SHA-256. Returns DATA_HASH_OK (verified),
 * DATA_HASH_NO_SUM (the length is right; no SHA-256 to check), or an
 * error with @p why saying what is wrong (the file named as @p shown,
 * NULL: its path). */
int data_verify(const char *path, const char *shown, const data_file *f,
                char *why, size_t why_size);

/* --- where the library looks (data_catalog.c) --------------------------- */

#define DATA_MAX_ROOTS 32

typedef struct data_root {
  char path[CLI_PATH_MAX];
  const char *from; /* "EVOOPT_DATA_PATH", "XDG_DATA_HOME", "HOME", "system" */
} data_root;

/* The roots libevoopt/data/datapath.c searches, in its order: the folders
 * of EVOOPT_DATA_PATH, the per-user root, /usr/share/datasets. */
size_t data_search_roots(data_root roots[DATA_MAX_ROOTS]);
/* The per-user root ($XDG_DATA_HOME/evoopt, else ~/.local/share/evoopt):
 * 0, or -1 when neither variable is an absolute path. */
int data_user_root(char *out, size_t size, const char **from);
/* The file @p f in @p dir as the library finds it: the plain name first,
 * then with ".gz" (whatever @p f's own name). Returns 1 with the path in
 * @p out, else 0. */
int data_find_file(char *out, size_t size, const char *dir,
                   const data_file *f);
/* Whether @p dir holds any file of @p s (the library's rule for the
 * folder it reads). */
int data_folder_has_set(const char *dir, const data_set *s);

/* --- fetching (data_fetch.c) -------------------------------------------- */

typedef struct data_fetch_opts {
  const char *mirror;  /* base URL replacing the built-in ones, or NULL */
  char root[CLI_PATH_MAX]; /* where the data sets' folders go */
  long timeout;        /* seconds without data before giving up */
  int quiet;
} data_fetch_opts;

/* Whether this build can download (libcurl) and unpack (libarchive). */
int data_can_download(void);
int data_can_unpack(void);
/* libcurl's global set-up and clean-up, once around all the fetches
 * (data_net_start: 0, or -1 when it fails). */
int data_net_start(void);
void data_net_stop(void);
/* Fetches every file of @p s that @p o->root lacks. Returns an exit code
 * (messages printed). */
int data_fetch_set(const data_set *s, const data_fetch_opts *o);

/* Ctrl-C of `evoopt data` (data_stop.c): installs the SIGINT/SIGTERM
 * handlers; data_stop_requested() is 1 once the first has come. */
void data_signals_install(void);
int data_stop_requested(void);

#endif
