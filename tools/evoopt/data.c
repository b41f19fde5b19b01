/* `evoopt data list` and `evoopt data fetch NAME...` (issue 13, part 1):
 * where the library finds each data set and whether its files are the
 * published ones; downloads into the per-user data folder
 * ($XDG_DATA_HOME/evoopt), which the library searches after
 * EVOOPT_DATA_PATH and before /usr/share/datasets. doc/evoopt.1, DATA. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data_internal.h"

/* --- list ---------------------------------------------------------------- */

typedef struct file_state {
  char path[CLI_PATH_MAX]; /* "" when missing */
  long long disk_size;     /* bytes on disk, -1 when missing */
  const char *state; /* "verified", "unverified", "no-checksum", "mismatch",
                        "unreadable", "missing" */
  char why[CLI_PATH_MAX + 256];
} file_state;

/* Checks every file of @p s in @p dir. Returns how many are present;
 * @p bad counts those that failed verification. */
static size_t check_folder(const data_set *s, const char *dir, int verify,
                           file_state *st, size_t *bad) {
  size_t k = 0, present = 0;
  *bad = 0;
  for (size_t i = 0; i < s->n_downloads; i++)
    for (size_t j = 0; j < s->downloads[i].n_files; j++, k++) {
      const data_file *f = &s->downloads[i].files[j];
      file_state *x = &st[k];
      x->why[0] = '\0';
      x->disk_size = -1;
      if (!data_find_file(x->path, sizeof x->path, dir, f)) {
        x->path[0] = '\0';
        x->state = "missing";
        continue;
      }
      present++;
      struct stat sb;
      if (stat(x->path, &sb) == 0)
        x->disk_size = (long long)sb.st_size;
      if (!verify) {
        x->state = "unverified";
        continue;
      }
      int v = data_verify(x->path, NULL, f, x->why, sizeof x->why);
      x->state = v == DATA_HASH_OK       ? "verified"
                 : v == DATA_HASH_NO_SUM ? "no-checksum"
                 : v == DATA_HASH_IO     ? "unreadable"
                                         : "mismatch";
      *bad += v < 0;
    }
  return present;
}

static size_t set_file_count(const data_set *s) {
  size_t n = 0;
  for (size_t i = 0; i < s->n_downloads; i++)
    n += s->downloads[i].n_files;
  return n;
}

static const char *file_name_at(const data_set *s, size_t k) {
  for (size_t i = 0; i < s->n_downloads; i++) {
    if (k < s->downloads[i].n_files)
      return s->downloads[i].files[k].name;
    k -= s->downloads[i].n_files;
  }
  return "";
}

static const char *file_state_text(const char *state) {
  if (strcmp(state, "verified") == 0)
    return "SHA-256 verified";
  if (strcmp(state, "no-checksum") == 0)
    return "size right (no SHA-256 built in; the archive's MD5 covers it)";
  if (strcmp(state, "unverified") == 0)
    return "not verified (--no-verify)";
  return state;
}

static int cmd_list(const data_catalog *c, int verify, int json) {
  data_root roots[DATA_MAX_ROOTS];
  size_t n_roots = data_search_roots(roots);
  char user[CLI_PATH_MAX] = "";
  const char *user_from = NULL;
  int have_user = data_user_root(user, sizeof user, &user_from) == 0;
  json_t *jroot = json ? json_object() : NULL, *jsets = json_array(),
         *jpath = json_array();
  if (!json) {
    printf("The library looks for data sets in these folders, in order "
           "(catalogue: %s):\n",
           c->origin);
    for (size_t r = 0; r < n_roots; r++)
      printf("  %-40s %s\n", roots[r].path,
             strcmp(roots[r].from, "system") == 0 ? "(system)"
             : strcmp(roots[r].from, "EVOOPT_DATA_PATH") == 0
                 ? "($EVOOPT_DATA_PATH)"
             : strcmp(roots[r].from, "XDG_DATA_HOME") == 0
                 ? "($XDG_DATA_HOME/evoopt: evoopt data fetch puts files here)"
                 : "(~/.local/share/evoopt: evoopt data fetch puts files here)");
    if (!have_user)
      printf("  (no per-user folder: neither XDG_DATA_HOME nor HOME is an "
             "absolute path)\n");
    printf("\n");
  }
  for (size_t r = 0; r < n_roots; r++)
    json_array_append_new(jpath,
                          json_pack("{s:s,s:s}", "root", roots[r].path,
                                    "from", roots[r].from));
  int rc = CLI_EXIT_OK;
  for (size_t i = 0; i < c->n_sets; i++) {
    const data_set *s = &c->sets[i];
    size_t n_files = set_file_count(s);
    file_state *st = calloc(n_files, sizeof *st);
    if (st == NULL) {
      json_decref(jroot);
      json_decref(jsets);
      json_decref(jpath);
      return cli_error("out of memory");
    }
    /* The library's walk: the first folder holding any file wins. */
    json_t *jlooked = json_array();
    char found[CLI_PATH_MAX] = "", looked[4096] = "";
    size_t used = 0;
    for (size_t r = 0; r < n_roots && !found[0]; r++)
      for (size_t f = 0; f < s->n_folders && !found[0]; f++) {
        char dir[CLI_PATH_MAX];
        if (cli_path_join(dir, sizeof dir, roots[r].path, s->folders[f]) != 0)
          continue;
        json_array_append_new(jlooked, json_string(dir));
        if (used < sizeof looked) {
          int n = snprintf(looked + used, sizeof looked - used, "%s%s",
                           used ? ", " : "", dir);
          used += n > 0 ? (size_t)n : 0;
        }
        if (data_folder_has_set(dir, s))
          snprintf(found, sizeof found, "%s", dir);
      }
    size_t bad = 0, present = 0;
    if (found[0])
      present = check_folder(s, found, verify, st, &bad);
    if (bad > 0)
      rc = CLI_EXIT_RUNTIME;
    const char *state = !found[0]            ? "missing"
                        : bad > 0            ? "damaged"
                        : present == n_files ? "complete"
                                             : "partial";
    if (json) {
      json_t *jfiles = json_array();
      for (size_t k = 0; found[0] && k < n_files; k++) {
        json_t *jf = json_pack("{s:s,s:s}", "name", file_name_at(s, k),
                               "state", st[k].state);
        if (st[k].path[0]) {
          json_object_set_new(jf, "path", json_string(st[k].path));
          json_object_set_new(jf, "size", json_integer(st[k].disk_size));
        }
        if (st[k].why[0])
          json_object_set_new(jf, "why", json_string(st[k].why));
        json_array_append_new(jfiles, jf);
      }
      json_t *js = json_pack("{s:s,s:s,s:o,s:o,s:I,s:I}", "name", s->name,
                             "state", state, "looked_in", jlooked, "files",
                             jfiles, "present", (json_int_t)present,
                             "expected", (json_int_t)n_files);
      json_object_set_new(js, "folder",
                          found[0] ? json_string(found) : json_null());
      json_object_set_new(js, "verified",
                          found[0] && verify ? json_boolean(bad == 0)
                                             : json_null());
      json_array_append_new(jsets, js);
    } else {
      json_decref(jlooked);
      if (!found[0]) {
        printf("%s: missing\n", s->name);
      } else {
        printf("%s: %s in %s", s->name, state, found);
        if (present < n_files)
          printf(" (%zu of %zu files)", present, n_files);
        printf("%s\n", !verify     ? ", not verified"
                       : bad > 0   ? ""
                                   : ", verified");
        for (size_t k = 0; k < n_files; k++) {
          const char *name = st[k].path[0] ? strrchr(st[k].path, '/') + 1
                                           : file_name_at(s, k);
          if (st[k].path[0])
            printf("  %-28s %11lld bytes  %s\n", name, st[k].disk_size,
                   file_state_text(st[k].state));
          else
            printf("  %-28s %11s        missing\n", name, "");
          if (st[k].why[0])
            printf("    %s\n", st[k].why);
        }
      }
      printf("  looked in: %s%s\n", looked, found[0] ? " (found)" : "");
      if (!found[0] || present < n_files || bad > 0)
        printf("  get it: evoopt data fetch %s\n", s->name);
    }
    free(st);
  }
  int builtin = strcmp(c->origin, "built-in") == 0;
  if (json) {
    if (builtin)
      json_array_append_new(jsets, json_pack("{s:s,s:s}", "name", "digits",
                                             "state", "bundled"));
    json_object_set_new(jroot, "catalogue", json_string(c->origin));
    json_object_set_new(jroot, "search_path", jpath);
    json_object_set_new(jroot, "download_folder",
                        have_user ? json_string(user) : json_null());
    json_object_set_new(jroot, "sets", jsets);
    cli_json_emit(jroot);
  } else {
    json_decref(jsets);
    json_decref(jpath);
    if (builtin)
      printf("digits: bundled in the library (no files needed)\n");
  }
  return rc;
}

/* --- fetch --------------------------------------------------------------- */

/* Whether @p dir is one of the library's roots (same folder). */
static int on_search_path(const char *dir) {
  data_root roots[DATA_MAX_ROOTS];
  size_t n = data_search_roots(roots);
  char a[PATH_MAX], b[PATH_MAX];
  int resolved = realpath(dir, a) != NULL;
  for (size_t i = 0; i < n; i++)
    if (strcmp(dir, roots[i].path) == 0 ||
        (resolved && realpath(roots[i].path, b) != NULL && strcmp(a, b) == 0))
      return 1;
  return 0;
}

/* A note when a folder before @p root on the search path holds @p s: the
 * library keeps reading that one. */
static void note_shadowed(const data_set *s, const char *root) {
  data_root roots[DATA_MAX_ROOTS];
  size_t n = data_search_roots(roots);
  char mine[PATH_MAX], other[PATH_MAX];
  if (realpath(root, mine) == NULL)
    return;
  for (size_t r = 0; r < n; r++) {
    if (realpath(roots[r].path, other) != NULL && strcmp(mine, other) == 0)
      return; /* the folders after this one come later */
    for (size_t f = 0; f < s->n_folders; f++) {
      char dir[CLI_PATH_MAX];
      if (cli_path_join(dir, sizeof dir, roots[r].path, s->folders[f]) == 0 &&
          data_folder_has_set(dir, s)) {
        cli_note("note: the library reads %s from '%s' (%s), which comes "
                 "first in its search path",
                 s->name, dir, roots[r].from);
        return;
      }
    }
  }
}

static int cmd_fetch(const data_catalog *c, char **names, size_t n_names,
                     data_fetch_opts *o) {
  const data_set *sets[DATA_MAX_SETS];
  size_t n = 0;
  char known[256];
  data_catalog_names(c, known, sizeof known);
  for (size_t i = 0; i < n_names; i++) {
    if (strcmp(names[i], "all") == 0) {
      for (size_t k = 0; k < c->n_sets; k++) {
        int dup = 0;
        for (size_t j = 0; j < n; j++)
          dup |= sets[j] == &c->sets[k];
        if (!dup)
          sets[n++] = &c->sets[k];
      }
      continue;
    }
    const data_set *s = data_catalog_find(c, names[i]);
    if (s == NULL && strcmp(names[i], "digits") == 0) {
      cli_note("digits is bundled in the library: nothing to fetch");
      continue;
    }
    if (s == NULL)
      return cli_usage_error("data", "unknown data set '%s' (known: %s, all)",
                             names[i], known);
    int dup = 0;
    for (size_t j = 0; j < n; j++)
      dup |= sets[j] == s;
    if (!dup)
      sets[n++] = s;
  }
  if (n == 0)
    return CLI_EXIT_OK;
  if (!data_can_download())
    return cli_error("this evoopt was built without download support "
                     "(libcurl): install libcurl4-openssl-dev and rebuild, "
                     "or download the files yourself (evoopt(1), DATA)");
  data_signals_install();
  if (data_net_start() != 0)
    return cli_error("cannot start libcurl");
  int rc = CLI_EXIT_OK, any_ok = 0;
  for (size_t i = 0; i < n; i++) {
    int r = data_fetch_set(sets[i], o);
    if (r == CLI_EXIT_INTERRUPTED) {
      data_net_stop();
      return r;
    }
    if (r != CLI_EXIT_OK)
      rc = r;
    else if (!o->quiet)
      note_shadowed(sets[i], o->root);
    any_ok |= r == CLI_EXIT_OK;
  }
  data_net_stop();
  if (any_ok && !on_search_path(o->root))
    cli_note("note: '%s' is not in the library's search path: add it to "
             "EVOOPT_DATA_PATH or pass --data DIR",
             o->root);
  return rc;
}

/* --- the command ------------------------------------------------------- */

enum {
  OPT_JSON = 1,
  OPT_NO_VERIFY,
  OPT_MANIFEST,
  OPT_MIRROR,
  OPT_DIR,
  OPT_TIMEOUT,
  OPT_QUIET
};

int cli_cmd_data(int argc, char **argv) {
  if (argc < 2)
    return cli_usage_error("data", "'evoopt data' needs 'list' or 'fetch'");
  const char *sub = argv[1];
  if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 ||
      strcmp(sub, "help") == 0) {
    cli_help_print(stdout, "data");
    return CLI_EXIT_OK;
  }
  int is_list = strcmp(sub, "list") == 0, is_fetch = strcmp(sub, "fetch") == 0;
  if (!is_list && !is_fetch)
    return cli_usage_error("data", "unknown 'evoopt data' command '%s' "
                                   "(list or fetch)",
                           sub);
  static const cli_opt list_opts[] = {
      {"json", 0, 0, OPT_JSON},
      {"no-verify", 0, 0, OPT_NO_VERIFY},
      {"manifest", 0, 1, OPT_MANIFEST},
      {NULL, 0, 0, 0}};
  static const cli_opt fetch_opts[] = {
      {"manifest", 0, 1, OPT_MANIFEST}, {"mirror", 0, 1, OPT_MIRROR},
      {"dir", 0, 1, OPT_DIR},           {"timeout", 0, 1, OPT_TIMEOUT},
      {"quiet", 'q', 0, OPT_QUIET},     {NULL, 0, 0, 0}};
  cli_parser p;
  cli_parser_init(&p, "data", is_list ? list_opts : fetch_opts, argc - 1,
                  argv + 1);
  int json = 0, verify = 1;
  const char *manifest = NULL, *dir = NULL;
  data_fetch_opts o;
  memset(&o, 0, sizeof o);
  o.timeout = 30;
  char mirror[DATA_URL_CAP];
  char **names = calloc((size_t)argc, sizeof *names);
  size_t n_names = 0;
  if (names == NULL)
    return cli_error("out of memory");
  int id, rc = CLI_EXIT_OK;
  const char *v;
  while (rc == CLI_EXIT_OK && (id = cli_parser_next(&p, &v)) != CLI_OPT_END) {
    uint64_t u = 0;
    switch (id) {
    case CLI_OPT_ERROR:
      rc = CLI_EXIT_USAGE;
      break;
    case CLI_OPT_HELP:
      cli_help_print(stdout, "data");
      free(names);
      return CLI_EXIT_OK;
    case CLI_OPT_POSITIONAL:
      if (is_list)
        rc = cli_usage_error("data", "'evoopt data list' takes no "
                                     "arguments, got '%s'",
                             v);
      else
        names[n_names++] = (char *)v;
      break;
    case OPT_JSON:
      json = 1;
      break;
    case OPT_NO_VERIFY:
      verify = 0;
      break;
    case OPT_MANIFEST:
      manifest = v;
      break;
    case OPT_MIRROR: {
      size_t len = strlen(v);
      while (len > 0 && v[len - 1] == '/')
        len--;
      if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0 &&
           strncmp(v, "file://", 7) != 0) ||
          len >= sizeof mirror - 300 || len <= 7)
        rc = cli_usage_error("data",
                             "--mirror needs an http://, https:// or file:// "
                             "URL, got '%s'",
                             v);
      snprintf(mirror, sizeof mirror, "%.*s", (int)len, v);
      o.mirror = mirror;
      break;
    }
    case OPT_DIR:
      if (v[0] == '\0')
        rc = cli_usage_error("data", "--dir needs a folder");
      dir = v;
      break;
    case OPT_TIMEOUT:
      if (cli_parse_u64("data", "timeout", v, 1, 86400, &u) != 0)
        rc = CLI_EXIT_USAGE;
      o.timeout = (long)u;
      break;
    case OPT_QUIET:
      o.quiet = 1;
      break;
    default:
      break;
    }
  }
  if (rc == CLI_EXIT_OK && is_fetch && n_names == 0)
    rc = cli_usage_error("data", "'evoopt data fetch' needs data set names "
                                 "(or 'all')");
  if (rc == CLI_EXIT_OK && is_fetch) {
    if (dir != NULL) {
      if (snprintf(o.root, sizeof o.root, "%s", dir) >= (int)sizeof o.root)
        rc = cli_usage_error("data", "--dir: the path is too long");
    } else {
      const char *from = NULL;
      if (data_user_root(o.root, sizeof o.root, &from) != 0)
        rc = cli_error("no per-user data folder: neither XDG_DATA_HOME nor "
                       "HOME is an absolute path; give --dir DIR");
    }
  }
  data_catalog *c = NULL;
  if (rc == CLI_EXIT_OK) {
    c = malloc(sizeof *c);
    rc = c == NULL ? cli_error("out of memory")
                   : data_catalog_load(c, manifest);
  }
  if (rc == CLI_EXIT_OK)
    rc = is_list ? cmd_list(c, verify, json)
                 : cmd_fetch(c, names, n_names, &o);
  free(c);
  free(names);
  return rc;
}
