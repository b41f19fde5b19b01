/* GENOME arguments: a JSON file, a run folder (its best.json), JSON text
 * or a preset name, tried in that order. */
#include <errno.h>
#include <string.h>

#include "cli_internal.h"

const char *const cli_baselines[CLI_N_BASELINES] = {"sgd", "adam", "adamw",
                                                    "rmsprop"};

static int is_preset(const char *name) {
  for (size_t i = 0; i < evo_genome_preset_count(); i++)
    if (strcmp(evo_genome_preset_name(i), name) == 0)
      return 1;
  return 0;
}

static void list_presets(char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < evo_genome_preset_count() && used < size; i++) {
    int n = snprintf(buf + used, size - used, "%s%s", i > 0 ? ", " : "",
                     evo_genome_preset_name(i));
    if (n < 0)
      break;
    used += (size_t)n;
  }
}

/* "runs/best.json" -> "best"; "x/run-1/" (a folder) -> "run-1". */
static void display_name(const char *path, int folder, char *name,
                         size_t size) {
  size_t len = strlen(path);
  while (len > 1 && path[len - 1] == '/')
    len--;
  size_t start = len;
  while (start > 0 && path[start - 1] != '/')
    start--;
  size_t n = len - start;
  if (!folder) {
    const char *suffixes[] = {".json.gz", ".json"};
    for (size_t i = 0; i < 2; i++) {
      size_t sl = strlen(suffixes[i]);
      if (n > sl && strncmp(path + start + n - sl, suffixes[i], sl) == 0) {
        n -= sl;
        break;
      }
    }
  }
  if (n >= size)
    n = size - 1;
  memcpy(name, path + start, n);
  name[n] = '\0';
}

static int load_file(const char *path, evo_genome **out) {
  int rc = evo_genome_load(out, path);
  if (rc != EVO_OK)
    return cli_lib_file_error(rc, path, "cannot load genome");
  return CLI_EXIT_OK;
}

int cli_genome_resolve(const char *arg, evo_genome **out, char *name,
                       size_t name_size) {
  *out = NULL;
  if (cli_is_file(arg)) {
    display_name(arg, 0, name, name_size);
    return load_file(arg, out);
  }
  if (cli_is_dir(arg)) {
    char path[CLI_PATH_MAX];
    if (cli_path_join(path, sizeof path, arg, "best.json") != 0 ||
        !cli_is_file(path))
      return cli_error("'%s' is a folder without a best.json (not a run "
                       "folder)",
                       arg);
    display_name(arg, 1, name, name_size);
    return load_file(path, out);
  }
  if (arg[0] == '{') {
    snprintf(name, name_size, "json");
    int rc = evo_genome_from_json(out, arg);
    return rc == EVO_OK ? CLI_EXIT_OK
                        : cli_lib_error(rc, "bad genome JSON text");
  }
  if (is_preset(arg)) {
    snprintf(name, name_size, "%s", arg);
    int rc = evo_genome_preset(out, arg);
    return rc == EVO_OK ? CLI_EXIT_OK : cli_lib_error(rc, "preset '%s'", arg);
  }
  if (strchr(arg, '/') != NULL || strstr(arg, ".json") != NULL)
    return cli_error("cannot load genome '%s': %s", arg, strerror(ENOENT));
  char presets[512];
  list_presets(presets, sizeof presets);
  return cli_error("'%s' is neither a genome file nor a preset (presets: %s)",
                   arg, presets);
}
