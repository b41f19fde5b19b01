/* The UCI digits CSV (one row an image: 64 pixel values 0..16, then the
 * label 0..9) and the copy of it compiled into the library. Shared by the
 * library and by the build-time generator gen_digits.c, so it depends on
 * nothing but the C library. Never installed. */
#ifndef EVOOPT_DIGITS_CSV_INTERNAL_H
#define EVOOPT_DIGITS_CSV_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define EVO_DIGITS_ROWS 1797  /* doc/algorithm.md §3: 1,797 images */
#define EVO_DIGITS_TRAIN 1437 /* the first 1,437 rows train, the rest test */
#define EVO_DIGITS_SIDE 8
#define EVO_DIGITS_PIXELS 64
#define EVO_DIGITS_MAX 16 /* 16 grey levels: pixel values 0..16 */

/* Where a parse failed: 1-based line and what was wrong. */
typedef struct evo_digits_parse_error {
  size_t line;
  char what[96];
} evo_digits_parse_error;

/* Parses @p len bytes of CSV text into exactly EVO_DIGITS_ROWS rows:
 * @p pixels (EVO_DIGITS_ROWS * 64 bytes) and @p labels (EVO_DIGITS_ROWS).
 * Accepts "\n" or "\r\n" line ends and a missing final line end. Returns 0,
 * or -1 with @p err filled (bad number, value out of range, wrong field
 * count, too few or too many rows). */
int evo_digits_parse(const char *text, size_t len, uint8_t *pixels,
                     uint8_t *labels, evo_digits_parse_error *err);

/* The bundled copy, generated at build time from digits.csv.gz. */
extern const uint8_t evo_digits_pixels[EVO_DIGITS_ROWS * EVO_DIGITS_PIXELS];
extern const uint8_t evo_digits_labels[EVO_DIGITS_ROWS];

#endif
