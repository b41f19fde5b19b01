/* Fuzz target: the digits CSV (data/digits_csv.c, data/digits.c), both the
 * parser on the bytes and evo_dataset_load("digits", folder) on a file.
 * The set has exactly 1797 rows (about 270 kB), too large for a seed
 * corpus of a few kB; so the input is one flags byte, then CSV text that
 * the harness repeats until it holds 1797 lines when bit 2 is set (at most
 * 512 kB; a row or two then make a whole file). Bits 0 and 1 as
 * fuzz_load_set (gzip, .gz name).
 * Invariants: the parser's failure says what is wrong; it and the loader
 * agree; see fuzz_load_set for the loaded set. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "data/digits_csv_internal.h"
#include "evoopt/common.h"
#include "fuzz_common.h"
#include "fuzz_data_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Repeated text stays below the loader's limit of 1 MiB (data/digits.c). */
#define MAX_TEXT (1u << 19)

/* The text repeated until it has EVO_DIGITS_ROWS line ends (or would pass
 * MAX_TEXT). */
static char *repeat(const uint8_t *data, size_t size, size_t *out) {
  size_t lines = 0;
  for (size_t i = 0; i < size; i++)
    lines += data[i] == '\n';
  size_t times = lines == 0 ? 1 : (EVO_DIGITS_ROWS + lines - 1) / lines;
  if (size == 0 || times > MAX_TEXT / size)
    times = size == 0 ? 1 : MAX_TEXT / size;
  if (times == 0)
    times = 1;
  char *text = malloc(size * times + 1);
  if (text == NULL)
    fuzz_fail("out of memory");
  for (size_t k = 0; k < times; k++)
    memcpy(text + k * size, data, size);
  *out = size * times;
  return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  unsigned flags = data[0];
  size_t len = size - 1;
  char *text;
  if (flags & 4u) {
    text = repeat(data + 1, size - 1, &len);
  } else {
    text = malloc(len + 1);
    if (text == NULL)
      return 0;
    memcpy(text, data + 1, len);
  }
  uint8_t *pixels = malloc(EVO_DIGITS_ROWS * EVO_DIGITS_PIXELS);
  uint8_t labels[EVO_DIGITS_ROWS];
  evo_digits_parse_error err = {0, ""};
  if (pixels == NULL)
    fuzz_fail("out of memory");
  int parsed = evo_digits_parse(text, len, pixels, labels, &err);
  if (parsed != 0 && err.what[0] == '\0')
    fuzz_fail("a parse failure without a message (line %zu)", err.line);
  bool constant = true;
  if (parsed == 0) {
    for (size_t i = 0; i < EVO_DIGITS_ROWS; i++)
      if (labels[i] > 9)
        fuzz_fail("label %u accepted", labels[i]);
    for (size_t i = 1; i < EVO_DIGITS_ROWS * EVO_DIGITS_PIXELS; i++)
      constant = constant && pixels[i] == pixels[0];
  }
  static const char *const names[] = {"digits.csv"};
  int rc = fuzz_load_set("digits", names, 1, flags, (const uint8_t *)text,
                         len);
  /* The loader refuses what the parser refuses, and a set of equal pixels
   * (no spread to normalise by); it takes everything else. */
  if (len < MAX_TEXT && (rc == EVO_OK) != (parsed == 0 && !constant))
    fuzz_fail("the loader (%d) and the parser (%d, constant %d) disagree",
              rc, parsed, constant);
  free(pixels);
  free(text);
  return 0;
}
