/* Fuzz target: genome JSON (evo_genome_from_json, evo_genome_load).
 * Invariants: a refused text gets a negative status and a message; an
 * accepted one round-trips: parse -> to_json -> parse gives an equal
 * genome and the same text again, and the binary codec of the optimizer
 * state and checkpoints gives it back bit for bit; the file reader agrees
 * with the string reader. */
#include <stdlib.h>
#include <string.h>

#include "core/io_internal.h"
#include "evoopt/genome.h"
#include "fuzz_common.h"
#include "genome/genome_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* parse -> to_json -> parse -> to_json: equal genomes, equal texts. */
static void check_round_trip(const evo_genome *g) {
  char *json = NULL, *again = NULL, *text = NULL;
  evo_genome *back = NULL;
  if (evo_genome_to_json(g, &json) != EVO_OK)
    fuzz_fail("to_json of an accepted genome failed: %s", evo_last_error());
  int rc = evo_genome_from_json(&back, json);
  if (rc != EVO_OK)
    fuzz_fail("to_json's text is refused (%d: %s): %s", rc, evo_last_error(),
              json);
  if (!evo_genome_equal(g, back))
    fuzz_fail("parse -> to_json -> parse gives another genome: %s", json);
  if (evo_genome_to_json(back, &again) != EVO_OK || strcmp(json, again) != 0)
    fuzz_fail("to_json is not stable: %s / %s", json, again ? again : "-");
  if (evo_genome_describe(g, &text) != EVO_OK || text[0] == '\0')
    fuzz_fail("describe failed on an accepted genome: %s", json);
  /* The binary form (optimizer state, checkpoints). */
  evo_wbuf w = {0};
  evo_genome_write(&w, g);
  if (w.status != EVO_OK || w.size != EVO_GENOME_BYTES)
    fuzz_fail("evo_genome_write wrote %zu bytes", w.size);
  evo_rbuf r = {w.data, w.size, 0, true};
  evo_genome bin;
  const char *bad = evo_genome_read(&r, &bin);
  if (bad != NULL || !r.ok || r.pos != r.size || !evo_genome_equal(g, &bin))
    fuzz_fail("binary round trip failed (%s): %s", bad ? bad : "not equal",
              json);
  evo_wbuf_free(&w);
  evo_genome_free(back);
  evo_free(json);
  evo_free(again);
  evo_free(text);
}

/* The file reader (plain, at most 1 MiB) must agree with the string one
 * on text without NUL bytes. */
static void check_file(const uint8_t *data, size_t size, int rc_text,
                       const evo_genome *g) {
  if (memchr(data, 0, size) != NULL || (size >= 2 && data[0] == 0x1f &&
                                        data[1] == 0x8b))
    return;
  char path[4352];
  fuzz_write("genome.json", data, size, false, path, sizeof path);
  evo_genome *fg = NULL;
  fuzz_reset_error();
  int rc = evo_genome_load(&fg, path);
  if (rc != EVO_OK)
    fuzz_check_error(rc, "evo_genome_load");
  if ((rc == EVO_OK) != (rc_text == EVO_OK) ||
      (rc == EVO_OK && !evo_genome_equal(g, fg)))
    fuzz_fail("evo_genome_load (%d) and evo_genome_from_json (%d) disagree",
              rc, rc_text);
  evo_genome_free(fg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (text == NULL)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  evo_genome *g = NULL;
  fuzz_reset_error();
  int rc = evo_genome_from_json(&g, text);
  if (rc == EVO_OK)
    check_round_trip(g);
  else if (g != NULL)
    fuzz_fail("from_json failed (%d) but set its output", rc);
  else
    fuzz_check_error(rc, "evo_genome_from_json");
  if (size <= (1u << 20))
    check_file(data, size, rc, g);
  evo_genome_free(g);
  free(text);
  return 0;
}
