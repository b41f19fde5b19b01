/* Parser of the digits CSV (see digits_csv_internal.h). Plain C library
 * only: it is also compiled into the build-time generator. */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

#include "data/digits_csv_internal.h"

#define FIELDS (EVO_DIGITS_PIXELS + 1)

static int parse_fail(evo_digits_parse_error *err, size_t line, const char *fmt,
                      ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->what, sizeof err->what, fmt, ap);
  va_end(ap);
  err->line = line;
  return -1;
}

static void skip_blanks(const char *t, size_t len, size_t *pos) {
  while (*pos < len && (t[*pos] == ' ' || t[*pos] == '\t'))
    (*pos)++;
}

/* An unsigned decimal field, surrounding blanks allowed. Values are capped
 * at 1000 while reading so that a long digit string cannot overflow; the
 * caller's range check rejects them. */
static bool parse_uint(const char *t, size_t len, size_t *pos,
                       unsigned *value) {
  skip_blanks(t, len, pos);
  size_t start = *pos;
  unsigned v = 0;
  while (*pos < len && t[*pos] >= '0' && t[*pos] <= '9') {
    v = v * 10 + (unsigned)(t[*pos] - '0');
    if (v > 1000)
      v = 1000;
    (*pos)++;
  }
  skip_blanks(t, len, pos);
  *value = v;
  return *pos > start;
}

/* Moves past a line end ("\n", "\r\n" or the end of the text). */
static bool end_of_line(const char *t, size_t len, size_t *pos) {
  if (*pos < len && t[*pos] == '\r')
    (*pos)++;
  if (*pos == len)
    return true;
  if (t[*pos] != '\n')
    return false;
  (*pos)++;
  return true;
}

static int parse_row(const char *t, size_t len, size_t *pos, size_t line,
                     uint8_t *pixels, uint8_t *label,
                     evo_digits_parse_error *err) {
  for (int f = 0; f < FIELDS; f++) {
    unsigned v;
    if (!parse_uint(t, len, pos, &v))
      return parse_fail(err, line, "field %d is not a number", f + 1);
    bool last = f == FIELDS - 1;
    unsigned max = last ? 9 : EVO_DIGITS_MAX;
    if (v > max)
      return parse_fail(err, line, "%s %u is out of range 0..%u",
                        last ? "label" : "pixel", v, max);
    if (last)
      *label = (uint8_t)v;
    else
      pixels[f] = (uint8_t)v;
    if (last ? !end_of_line(t, len, pos) : (*pos >= len || t[(*pos)++] != ','))
      return parse_fail(err, line, "expected %d comma-separated fields",
                        FIELDS);
  }
  return 0;
}

int evo_digits_parse(const char *text, size_t len, uint8_t *pixels,
                     uint8_t *labels, evo_digits_parse_error *err) {
  size_t pos = 0, row = 0, line = 0;
  while (pos < len) {
    line++;
    size_t blank = pos;
    skip_blanks(text, len, &blank);
    if (end_of_line(text, len, &blank)) { /* an empty line */
      pos = blank;
      continue;
    }
    if (row == EVO_DIGITS_ROWS)
      return parse_fail(err, line, "more than %d rows", EVO_DIGITS_ROWS);
    if (parse_row(text, len, &pos, line, pixels + row * EVO_DIGITS_PIXELS,
                  labels + row, err) != 0)
      return -1;
    row++;
  }
  if (row != EVO_DIGITS_ROWS)
    return parse_fail(err, line, "%zu rows, expected %d", row, EVO_DIGITS_ROWS);
  return 0;
}
