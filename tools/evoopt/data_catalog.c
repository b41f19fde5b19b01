/* The data sets `evoopt data` knows: where each is published, its files and
 * their checksums (built in, from the maintainers' published files: the
 * SHA-256 of each file's contents, which a repacked .gz copy shares, and
 * CIFAR-10's published MD5), or the same from a manifest (--manifest FILE,
 * for a mirror with other files, e.g. the tests' local server); and the
 * folders the library searches, walked as libevoopt/data/datapath.c walks
 * them (the program uses only the public API, so the rule is restated here;
 * tests/test_data_fetch.py checks the two agree).
 *
 * Manifest format (JSON):
 *   {"evoopt_data_manifest": 1,
 *    "sets": [{"name": "mnist", "folders": ["mnist"], "source": "...",
 *              "downloads": [{"path": "mnist/x.gz", "urls": ["https://..."],
 *                             "size": 0, "sha256": "", "md5": "",
 *                             "archive": false,
 *                             "files": [{"name": "x.gz", "member": "",
 *                                        "size": 123, "sha256": "..."}]}]}]}
 * A download's path is appended to --mirror; its urls are tried in order
 * without one. Its size, sha256 and md5 (each optional) are those of the
 * download itself. A download that is not an archive is one file, kept
 * under the file's name; an archive's files are its members. A file's size
 * and sha256 are those of its contents as the library reads them (a .gz
 * inflated); a file without sha256 must belong to a download with one (or
 * an MD5). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"

/* clang-format off */
#define MNIST_URLS(f)                                                        \
  "\"urls\": [\"https://ossci-datasets.s3.amazonaws.com/mnist/" f "\", "     \
  "\"http://yann.lecun.com/exdb/mnist/" f "\"]"
#define FASHION_URLS(f)                                                      \
  "\"urls\": [\"http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/" \
  f "\", \"https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/" \
  "master/data/fashion/" f "\"]"
#define IDX_DOWNLOAD(set, URLS, f, size, sha)                                \
  "{\"path\": \"" set "/" f "\", " URLS(f) ", \"files\": [{\"name\": \"" f   \
  "\", \"size\": " size ", \"sha256\": \"" sha "\"}]}"
#define CIFAR_MEMBER(f, sha)                                                 \
  "{\"name\": \"" f "\", \"member\": \"cifar-10-batches-bin/" f "\", "       \
  "\"size\": 30730000, \"sha256\": \"" sha "\"}"

/* The checksums are those of /work/shared/data/README.md's table: SHA-256
 * of each file's uncompressed contents (the published .gz files' own MD5s
 * are not checked, so that a repacked copy on a mirror also passes), and
 * for CIFAR-10 the published archive's MD5 plus the SHA-256 of the three
 * batches known here (the other two are covered by the archive's MD5). */
static const char *const builtin_sets[] = {
" {\"name\": \"mnist\", \"folders\": [\"mnist\"],"
"  \"source\": \"Y. LeCun, C. Cortes, C. J. C. Burges; CC BY-SA 3.0\","
"  \"downloads\": ["
    IDX_DOWNLOAD("mnist", MNIST_URLS, "train-images-idx3-ubyte.gz", "47040016",
      "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db") ","
    IDX_DOWNLOAD("mnist", MNIST_URLS, "train-labels-idx1-ubyte.gz", "60008",
      "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5") ","
    IDX_DOWNLOAD("mnist", MNIST_URLS, "t10k-images-idx3-ubyte.gz", "7840016",
      "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7") ","
    IDX_DOWNLOAD("mnist", MNIST_URLS, "t10k-labels-idx1-ubyte.gz", "10008",
      "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2")
"  ]}",
" {\"name\": \"fashion_mnist\", \"folders\": [\"fashion-mnist\", \"fashion_mnist\"],"
"  \"source\": \"H. Xiao, K. Rasul, R. Vollgraf (Zalando Research); MIT\","
"  \"downloads\": ["
    IDX_DOWNLOAD("fashion-mnist", FASHION_URLS, "train-images-idx3-ubyte.gz",
      "47040016",
      "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888") ","
    IDX_DOWNLOAD("fashion-mnist", FASHION_URLS, "train-labels-idx1-ubyte.gz",
      "60008",
      "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9") ","
    IDX_DOWNLOAD("fashion-mnist", FASHION_URLS, "t10k-images-idx3-ubyte.gz",
      "7840016",
      "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b") ","
    IDX_DOWNLOAD("fashion-mnist", FASHION_URLS, "t10k-labels-idx1-ubyte.gz",
      "10008",
      "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34")
"  ]}",
" {\"name\": \"cifar10\", \"folders\": [\"cifar10\", \"cifar-10-batches-bin\"],"
"  \"source\": \"A. Krizhevsky (2009), Learning Multiple Layers of Features "
"from Tiny Images\","
"  \"downloads\": ["
"   {\"path\": \"cifar10/cifar-10-binary.tar.gz\","
"    \"urls\": [\"https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz\"],"
"    \"size\": 170052171, \"md5\": \"c32a1d4ab5d03f1284b67883e8d87530\","
"    \"archive\": true, \"files\": ["
      CIFAR_MEMBER("test_batch.bin",
        "8e2eb146ae340b09e24670f29cabc6326dba54da8789dab6768acf480273f65b") ","
      CIFAR_MEMBER("data_batch_1.bin",
        "cee916563c9f80d84e3cc88e17fdc0941787f1244f00a67874d45b261883ada5") ","
      CIFAR_MEMBER("data_batch_2.bin",
        "a591ca11fa1708a91ee40f54b3da4784ccd871ecf2137de63f51ada8b3fa57ed") ","
      CIFAR_MEMBER("data_batch_3.bin", "") ","
      CIFAR_MEMBER("data_batch_4.bin", "") ","
      CIFAR_MEMBER("data_batch_5.bin", "")
"   ]}"
"  ]}",
" {\"name\": \"shakespeare_char\", \"folders\": [\"tinyshakespeare\"],"
"  \"source\": \"Shakespeare's plays (public domain), as in karpathy/char-rnn\","
"  \"downloads\": ["
"   {\"path\": \"tinyshakespeare/input.txt\","
"    \"urls\": [\"https://raw.githubusercontent.com/karpathy/char-rnn/master/"
"data/tinyshakespeare/input.txt\"],"
"    \"files\": [{\"name\": \"input.txt\", \"size\": 1115394, \"sha256\": "
"\"86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed\"}]}"
"  ]}",
};
/* clang-format on */

/* --- validation ----------------------------------------------------------- */

typedef struct loader {
  const char *origin;
  char why[512];
} loader;

static int fail(loader *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static int fail(loader *l, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(l->why, sizeof l->why, fmt, ap);
  va_end(ap);
  return -1;
}

/* A name kept in a folder, or a folder in a root: no '/', not hidden, not
 * "." or "..", printable. */
static int safe_name(const char *s) {
  if (s[0] == '\0' || s[0] == '.')
    return 0;
  for (; *s; s++)
    if (*s == '/' || *s == '\\' || !isgraph((unsigned char)*s))
      return 0;
  return 1;
}

/* A path under a mirror: letters, digits and ._~+-/, no "..", no leading
 * '/'. */
static int safe_path(const char *s) {
  if (s[0] == '\0' || s[0] == '/' || strstr(s, "..") != NULL)
    return 0;
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && strchr("._~+-/", *s) == NULL)
      return 0;
  return 1;
}

static int hex_field(loader *l, json_t *obj, const char *key, size_t len,
                     char *out, const char *where) {
  json_t *v = json_object_get(obj, key);
  out[0] = '\0';
  if (v == NULL || (json_is_string(v) && json_string_length(v) == 0))
    return 0;
  const char *s = json_is_string(v) ? json_string_value(v) : NULL;
  if (s == NULL || strlen(s) != len)
    return fail(l, "%s: '%s' must be %zu hexadecimal digits", where, key,
                len);
  for (size_t i = 0; i < len; i++) {
    if (!isxdigit((unsigned char)s[i]))
      return fail(l, "%s: '%s' must be %zu hexadecimal digits", where, key,
                  len);
    out[i] = (char)tolower((unsigned char)s[i]);
  }
  out[len] = '\0';
  return 0;
}

static int size_field(loader *l, json_t *obj, const char *key, int required,
                      uint64_t *out, const char *where) {
  json_t *v = json_object_get(obj, key);
  *out = 0;
  if (v == NULL && !required)
    return 0;
  /* 2^53: exact in JSON's numbers; far above any data set here. */
  if (!json_is_integer(v) || json_integer_value(v) < (required ? 1 : 0) ||
      json_integer_value(v) > (json_int_t)1 << 53)
    return fail(l, "%s: '%s' must be a whole number of bytes%s", where, key,
                required ? " above 0" : "");
  *out = (uint64_t)json_integer_value(v);
  return 0;
}

static int string_field(loader *l, json_t *obj, const char *key, int required,
                        char *out, size_t size, const char *where) {
  json_t *v = json_object_get(obj, key);
  out[0] = '\0';
  if (v == NULL && !required)
    return 0;
  if (!json_is_string(v) || json_string_length(v) == 0 ||
      json_string_length(v) >= size)
    return fail(l, "%s: '%s' must be a text of 1 to %zu characters", where,
                key, size - 1);
  memcpy(out, json_string_value(v), json_string_length(v) + 1);
  return 0;
}

static int url_allowed(const char *u) {
  return strncmp(u, "https://", 8) == 0 || strncmp(u, "http://", 7) == 0 ||
         strncmp(u, "file://", 7) == 0;
}

static int load_file(loader *l, data_set *s, data_download *d, json_t *jf,
                     const char *where) {
  data_file *f = &d->files[d->n_files];
  char at[384];
  if (!json_is_object(jf))
    return fail(l, "%s: each file must be an object", where);
  if (string_field(l, jf, "name", 1, f->name, sizeof f->name, where) != 0)
    return -1;
  snprintf(at, sizeof at, "%s, file '%s'", where, f->name);
  if (!safe_name(f->name))
    return fail(l, "%s: a file name has no '/' and does not start with '.'",
                at);
  if (string_field(l, jf, "member", d->archive, f->member, sizeof f->member,
                   at) != 0)
    return -1;
  if (!d->archive && f->member[0] != '\0')
    return fail(l, "%s: 'member' is for an archive's files", at);
  if (size_field(l, jf, "size", 1, &f->size, at) != 0 ||
      hex_field(l, jf, "sha256", 64, f->sha256, at) != 0)
    return -1;
  if (f->sha256[0] == '\0' && d->sha256[0] == '\0' && d->md5[0] == '\0')
    return fail(l,
                "%s: no checksum covers it (give its 'sha256', or the "
                "download's 'sha256' or 'md5')",
                at);
  for (size_t i = 0; i < s->n_downloads; i++)
    for (size_t j = 0; j < s->downloads[i].n_files; j++)
      if (strcmp(s->downloads[i].files[j].name, f->name) == 0)
        return fail(l, "%s: named twice", at);
  for (size_t j = 0; j < d->n_files; j++)
    if (strcmp(d->files[j].name, f->name) == 0)
      return fail(l, "%s: named twice", at);
  d->n_files++;
  return 0;
}

static int load_download(loader *l, data_set *s, json_t *jd,
                         const char *where) {
  data_download *d = &s->downloads[s->n_downloads];
  memset(d, 0, sizeof *d);
  char at[256];
  if (!json_is_object(jd))
    return fail(l, "%s: each download must be an object", where);
  if (string_field(l, jd, "path", 1, d->path, sizeof d->path, where) != 0)
    return -1;
  snprintf(at, sizeof at, "%s, download '%.60s'", where, d->path);
  if (!safe_path(d->path))
    return fail(l,
                "%s: 'path' is relative, of letters, digits and ._~+-/, "
                "without '..'",
                at);
  json_t *urls = json_object_get(jd, "urls"), *u;
  size_t i;
  if (urls != NULL && (!json_is_array(urls) ||
                       json_array_size(urls) > DATA_MAX_URLS))
    return fail(l, "%s: 'urls' must be a list of at most %d URLs", at,
                DATA_MAX_URLS);
  json_array_foreach(urls, i, u) {
    const char *t = json_string_value(u);
    if (t == NULL || strlen(t) >= DATA_URL_CAP || !url_allowed(t))
      return fail(l, "%s: each URL must start with https://, http:// or "
                     "file:// (and be shorter than %d)", at, DATA_URL_CAP);
    snprintf(d->urls[d->n_urls++], DATA_URL_CAP, "%s", t);
  }
  json_t *archive = json_object_get(jd, "archive");
  if (archive != NULL && !json_is_boolean(archive))
    return fail(l, "%s: 'archive' must be true or false", at);
  d->archive = archive != NULL && json_is_true(archive);
  if (size_field(l, jd, "size", 0, &d->size, at) != 0 ||
      hex_field(l, jd, "sha256", 64, d->sha256, at) != 0 ||
      hex_field(l, jd, "md5", 32, d->md5, at) != 0)
    return -1;
  json_t *files = json_object_get(jd, "files"), *jf;
  if (!json_is_array(files) || json_array_size(files) == 0 ||
      json_array_size(files) > (d->archive ? DATA_MAX_FILES : 1))
    return fail(l, "%s: 'files' must list %s", at,
                d->archive ? "1 to 8 files" : "the one file (not an archive)");
  json_array_foreach(files, i, jf) {
    if (load_file(l, s, d, jf, at) != 0)
      return -1;
  }
  s->n_downloads++;
  return 0;
}

static int load_set(loader *l, data_catalog *c, json_t *js, size_t index) {
  data_set *s = &c->sets[c->n_sets];
  memset(s, 0, sizeof *s);
  char at[96];
  snprintf(at, sizeof at, "set %zu", index + 1);
  if (!json_is_object(js))
    return fail(l, "%s: must be an object", at);
  if (string_field(l, js, "name", 1, s->name, sizeof s->name, at) != 0)
    return -1;
  snprintf(at, sizeof at, "set '%s'", s->name);
  for (const char *p = s->name; *p; p++)
    if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
        *p != '_')
      return fail(l, "%s: a name has only a-z, 0-9 and '_'", at);
  if (data_catalog_find(c, s->name) != NULL || strcmp(s->name, "all") == 0)
    return fail(l, "%s: %s", at,
                strcmp(s->name, "all") == 0 ? "'all' is reserved"
                                            : "named twice");
  json_t *folders = json_object_get(js, "folders"), *f;
  size_t i;
  if (!json_is_array(folders) || json_array_size(folders) == 0 ||
      json_array_size(folders) > DATA_MAX_FOLDERS)
    return fail(l, "%s: 'folders' must list 1 to %d folder names", at,
                DATA_MAX_FOLDERS);
  json_array_foreach(folders, i, f) {
    const char *t = json_string_value(f);
    if (t == NULL || strlen(t) >= DATA_NAME_CAP || !safe_name(t))
      return fail(l, "%s: a folder name has no '/' and does not start with "
                     "'.'", at);
    snprintf(s->folders[s->n_folders++], DATA_NAME_CAP, "%s", t);
  }
  if (string_field(l, js, "source", 0, s->source, sizeof s->source, at) != 0)
    return -1;
  json_t *downloads = json_object_get(js, "downloads"), *d;
  if (!json_is_array(downloads) || json_array_size(downloads) == 0 ||
      json_array_size(downloads) > DATA_MAX_DOWNLOADS)
    return fail(l, "%s: 'downloads' must list 1 to %d downloads", at,
                DATA_MAX_DOWNLOADS);
  json_array_foreach(downloads, i, d) {
    if (load_download(l, s, d, at) != 0)
      return -1;
  }
  c->n_sets++;
  return 0;
}

static int load_json(loader *l, data_catalog *c, json_t *root) {
  json_t *v = json_object_get(root, "evoopt_data_manifest");
  if (!json_is_object(root) || !json_is_integer(v) ||
      json_integer_value(v) != 1)
    return fail(l, "not an evoopt data manifest (expected an object with "
                   "\"evoopt_data_manifest\": 1)");
  json_t *sets = json_object_get(root, "sets"), *s;
  size_t i;
  if (!json_is_array(sets) || json_array_size(sets) == 0 ||
      json_array_size(sets) > DATA_MAX_SETS)
    return fail(l, "'sets' must list 1 to %d data sets", DATA_MAX_SETS);
  json_array_foreach(sets, i, s) {
    if (load_set(l, c, s, i) != 0)
      return -1;
  }
  return 0;
}

int data_catalog_load(data_catalog *c, const char *file) {
  memset(c, 0, sizeof *c);
  snprintf(c->origin, sizeof c->origin, "%s", file ? file : "built-in");
  json_error_t err;
  json_t *root = NULL;
  if (file != NULL) {
    root = json_load_file(file, JSON_REJECT_DUPLICATES, &err);
  } else {
    /* The sets' texts (each within C's portable string length) joined. */
    static const char head[] = "{\"evoopt_data_manifest\": 1, \"sets\": [",
                      tail[] = "]}";
    size_t n = sizeof builtin_sets / sizeof builtin_sets[0];
    size_t len = sizeof head + sizeof tail + n;
    for (size_t i = 0; i < n; i++)
      len += strlen(builtin_sets[i]);
    char *text = malloc(len);
    if (text == NULL)
      return cli_error("out of memory");
    strcpy(text, head);
    for (size_t i = 0; i < n; i++) {
      if (i > 0)
        strcat(text, ",");
      strcat(text, builtin_sets[i]);
    }
    strcat(text, tail);
    root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    free(text);
  }
  if (root == NULL) {
    if (file != NULL)
      return cli_error("manifest '%s': %s (line %d)", file, err.text,
                       err.line);
    return cli_error("the built-in data catalogue is not valid JSON: %s "
                     "(line %d, column %d)", err.text, err.line, err.column);
  }
  loader l = {.origin = c->origin};
  int rc = load_json(&l, c, root);
  json_decref(root);
  if (rc != 0)
    return cli_error("%s '%s': %s", file ? "manifest" : "catalogue",
                     c->origin, l.why);
  return CLI_EXIT_OK;
}

const data_set *data_catalog_find(const data_catalog *c, const char *name) {
  for (size_t i = 0; i < c->n_sets; i++)
    if (strcmp(c->sets[i].name, name) == 0)
      return &c->sets[i];
  return NULL;
}

void data_catalog_names(const data_catalog *c, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < c->n_sets && used < size; i++) {
    int n = snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                     c->sets[i].name);
    used += n > 0 ? (size_t)n : 0;
  }
}

/* --- the search path --------------------------------------------------- */

/* "a/b" with a's trailing slashes dropped, as datapath.c's join(); -1 when
 * it does not fit. */
static int join(char *out, size_t size, const char *a, size_t alen,
                const char *b) {
  while (alen > 1 && a[alen - 1] == '/')
    alen--;
  int n = snprintf(out, size, "%.*s%s%s", (int)alen, a, *b ? "/" : "", b);
  return n >= 0 && (size_t)n < size ? 0 : -1;
}

int data_user_root(char *out, size_t size, const char **from) {
  const char *xdg = getenv("XDG_DATA_HOME");
  if (xdg != NULL && xdg[0] == '/') {
    *from = "XDG_DATA_HOME";
    return join(out, size, xdg, strlen(xdg), "evoopt");
  }
  const char *home = getenv("HOME");
  if (home == NULL || home[0] != '/')
    return -1;
  *from = "HOME";
  return join(out, size, home, strlen(home), ".local/share/evoopt");
}

size_t data_search_roots(data_root roots[DATA_MAX_ROOTS]) {
  size_t n = 0;
  const char *path = getenv("EVOOPT_DATA_PATH");
  while (path != NULL && *path && n < DATA_MAX_ROOTS - 2) {
    const char *colon = strchr(path, ':');
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    if (len > 0 &&
        join(roots[n].path, sizeof roots[n].path, path, len, "") == 0) {
      roots[n].from = "EVOOPT_DATA_PATH";
      n++;
    }
    path = colon ? colon + 1 : NULL;
  }
  const char *from = NULL;
  if (data_user_root(roots[n].path, sizeof roots[n].path, &from) == 0) {
    roots[n].from = from;
    n++;
  }
  snprintf(roots[n].path, sizeof roots[n].path, "/usr/share/datasets");
  roots[n].from = "system";
  return n + 1;
}

/* The library's base name of @p f: its name without a ".gz". */
static void base_name(char out[DATA_NAME_CAP], const data_file *f) {
  size_t len = strlen(f->name);
  if (len > 3 && strcmp(f->name + len - 3, ".gz") == 0)
    len -= 3;
  snprintf(out, DATA_NAME_CAP, "%.*s", (int)len, f->name);
}

int data_find_file(char *out, size_t size, const char *dir,
                   const data_file *f) {
  char base[DATA_NAME_CAP];
  base_name(base, f);
  static const char *const suffix[] = {"", ".gz"};
  for (int i = 0; i < 2; i++) {
    char name[DATA_NAME_CAP + 4];
    snprintf(name, sizeof name, "%s%s", base, suffix[i]);
    struct stat st;
    if (join(out, size, dir, strlen(dir), name) == 0 && stat(out, &st) == 0 &&
        S_ISREG(st.st_mode))
      return 1;
  }
  return 0;
}

int data_folder_has_set(const char *dir, const data_set *s) {
  char path[CLI_PATH_MAX];
  for (size_t i = 0; i < s->n_downloads; i++)
    for (size_t j = 0; j < s->downloads[i].n_files; j++)
      if (data_find_file(path, sizeof path, dir, &s->downloads[i].files[j]))
        return 1;
  return 0;
}
