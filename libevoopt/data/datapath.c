/* Where the data sets are found (issue 3): an explicit folder (the data
 * set's own, or a root holding its subfolder), else every root listed in
 * EVOOPT_DATA_PATH, then the per-user root where `evoopt data fetch` puts
 * its downloads ($XDG_DATA_HOME/evoopt, issue 13), then
 * EVO_DATA_SYSTEM_ROOT (where Debian's dataset-* packages install).
 * tools/evoopt/data_paths.c walks the same roots for `evoopt data list`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/common_internal.h"
#include "data/data_internal.h"

/* Writes "a/b" (a's trailing slashes dropped; b may be empty, then "a")
 * with at most @p alen bytes of @p a. False when it does not fit. */
static bool join(char out[EVO_DATA_PATH_CAP], const char *a, size_t alen,
                 const char *b) {
  while (alen > 1 && a[alen - 1] == '/')
    alen--;
  int n = snprintf(out, EVO_DATA_PATH_CAP, "%.*s%s%s", (int)alen, a,
                   *b ? "/" : "", b);
  return n >= 0 && n < EVO_DATA_PATH_CAP;
}

bool evo_data_find_file(char out[EVO_DATA_PATH_CAP], const char *dir,
                        const char *base) {
  static const char *const suffix[] = {"", ".gz"};
  for (int i = 0; i < 2; i++) {
    char name[256];
    snprintf(name, sizeof name, "%s%s", base, suffix[i]);
    struct stat st;
    if (join(out, dir, strlen(dir), name) && stat(out, &st) == 0 &&
        S_ISREG(st.st_mode))
      return true;
  }
  return false;
}

/* The folders tried so far, for the message when nothing is found. */
typedef struct looked {
  char list[768];
  size_t used;
} looked;

/* Tries @p root (at most @p rlen bytes) joined with @p sub as the data
 * set's folder: true, with the folder in @p out, when it holds any of the
 * data set's files. */
static bool try_folder(char out[EVO_DATA_PATH_CAP], const evo_dataset_kind *k,
                       const char *root, size_t rlen, const char *sub,
                       looked *seen) {
  char dir[EVO_DATA_PATH_CAP], file[EVO_DATA_PATH_CAP];
  if (!join(dir, root, rlen, sub))
    return false;
  if (seen->used < sizeof seen->list) {
    int n = snprintf(seen->list + seen->used, sizeof seen->list - seen->used,
                     "%s'%s'", seen->used ? ", " : "", dir);
    seen->used += n > 0 ? (size_t)n : 0;
  }
  for (int i = 0; k->files[i] != NULL; i++)
    if (evo_data_find_file(file, dir, k->files[i])) {
      memcpy(out, dir, EVO_DATA_PATH_CAP);
      return true;
    }
  return false;
}

static bool try_root(char out[EVO_DATA_PATH_CAP], const evo_dataset_kind *k,
                     const char *root, size_t rlen, looked *seen) {
  for (int s = 0; k->subdirs[s] != NULL; s++)
    if (try_folder(out, k, root, rlen, k->subdirs[s], seen))
      return true;
  return false;
}

/* The per-user root: $XDG_DATA_HOME/evoopt, else $HOME/.local/share/evoopt
 * when XDG_DATA_HOME is unset, empty or not an absolute path (the XDG Base
 * Directory rule). False when neither variable is an absolute path, or the
 * path is too long. */
static bool user_root(char out[EVO_DATA_PATH_CAP]) {
  const char *xdg = getenv("XDG_DATA_HOME");
  if (xdg != NULL && xdg[0] == '/')
    return join(out, xdg, strlen(xdg), "evoopt");
  const char *home = getenv("HOME");
  return home != NULL && home[0] == '/' &&
         join(out, home, strlen(home), ".local/share/evoopt");
}

/* Every root of EVOOPT_DATA_PATH (colon-separated, empty entries skipped),
 * then the per-user root, then the system root. */
static bool search_roots(char out[EVO_DATA_PATH_CAP], const evo_dataset_kind *k,
                         looked *seen) {
  const char *path = getenv("EVOOPT_DATA_PATH");
  while (path != NULL && *path) {
    const char *colon = strchr(path, ':');
    size_t len = colon ? (size_t)(colon - path) : strlen(path);
    if (len > 0 && try_root(out, k, path, len, seen))
      return true;
    path = colon ? colon + 1 : NULL;
  }
  char user[EVO_DATA_PATH_CAP];
  if (user_root(user) && try_root(out, k, user, strlen(user), seen))
    return true;
  const char *sys = EVO_DATA_SYSTEM_ROOT;
  return try_root(out, k, sys, strlen(sys), seen);
}

int evo_data_locate_kind(char out[EVO_DATA_PATH_CAP], const evo_dataset_kind *k,
                         const char *folder) {
  looked seen = {.used = 0};
  seen.list[0] = '\0';
  if (folder != NULL) {
    size_t len = strlen(folder);
    if (len == 0 || len > EVO_DATA_PATH_CAP - 64)
      return evo_set_error(EVO_EINVAL, "data folder '%.64s%s' is %s", folder,
                           len > 64 ? "..." : "", len ? "too long" : "empty");
    if (try_folder(out, k, folder, len, "", &seen) ||
        try_root(out, k, folder, len, &seen))
      return EVO_OK;
  } else if (search_roots(out, k, &seen)) {
    return EVO_OK;
  }
  /* The evoopt program ships with the library: its download command is
   * the first way to get a set it knows (all but the bundled one). */
  char fetch[96] = "";
  if (!k->bundled)
    snprintf(fetch, sizeof fetch, " Run 'evoopt data fetch %s' to download it.",
             k->name);
  return evo_set_error(
      EVO_ENOTFOUND, "data set '%s' not found; looked in %s%s.%s %s%s", k->name,
      seen.list, seen.used >= sizeof seen.list - 1 ? "..." : "", fetch,
      k->how_to_get,
      folder ? ""
             : " Roots searched: the folders of EVOOPT_DATA_PATH "
               "(colon-separated), then $XDG_DATA_HOME/evoopt (else "
               "~/.local/share/evoopt, where evoopt data fetch puts it), "
               "then " EVO_DATA_SYSTEM_ROOT ".");
}

int evo_data_need_file(char out[EVO_DATA_PATH_CAP], const char *dir,
                       const char *base) {
  if (evo_data_find_file(out, dir, base))
    return EVO_OK;
  return evo_set_error(EVO_ENOTFOUND, "'%s' has no file '%s' (nor '%s.gz')",
                       dir, base, base);
}
