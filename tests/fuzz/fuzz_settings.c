/* Fuzz target: a run folder's settings.json as `evoopt evolve --resume`
 * reads it (tools/evoopt/evolve_settings.c, compiled into this target with
 * the program's other files it needs; tests/fuzz/meson.build).
 * Input: the file. Invariants: an accepted file round-trips: written again
 * by evolve_save_settings, it is accepted and written to the same text
 * (but for the "created" time stamp). Refusals print their message on
 * stderr (run.sh closes it: -close_fd_mask). */
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int parse(evolve_cfg *cfg) {
  evolve_opts opts;
  char *argv[] = {"evolve", "--resume", (char *)fuzz_dir(), NULL};
  return evolve_parse(3, argv, cfg, &opts);
}

/* settings.json as saved from @p cfg, without its "created" line. */
static char *saved_text(const evolve_cfg *cfg) {
  if (evolve_save_settings(cfg, fuzz_dir()) != CLI_EXIT_OK)
    fuzz_fail("cannot save accepted settings");
  char path[4352];
  fuzz_path(path, sizeof path, "settings.json");
  char *text = cli_read_text(path, 1 << 20);
  if (text == NULL)
    fuzz_fail("cannot read back %s", path);
  /* The top-level key (JSON_INDENT(2)), not a task of that name. */
  char *created = strstr(text, "\n  \"created\": ");
  if (created != NULL) {
    char *end = strchr(created + 1, '\n');
    if (end == NULL)
      end = created + strlen(created);
    memmove(created, end, strlen(end) + 1);
  }
  return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_clear();
  fuzz_write("settings.json", data, size, false, NULL, 0);
  evolve_cfg *cfg = malloc(sizeof *cfg), *again = malloc(sizeof *again);
  if (cfg == NULL || again == NULL)
    fuzz_fail("out of memory");
  if (parse(cfg) == CLI_EXIT_OK) {
    char *a = saved_text(cfg);
    int rc = parse(again);
    if (rc != CLI_EXIT_OK)
      fuzz_fail("the settings evolve_save_settings wrote are refused "
                "(%d):\n%s",
                rc, a);
    char *b = saved_text(again);
    if (strcmp(a, b) != 0)
      fuzz_fail("settings change on a round trip:\n%s\n---\n%s", a, b);
    free(a);
    free(b);
  }
  free(cfg);
  free(again);
  return 0;
}
