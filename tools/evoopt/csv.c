/* A small CSV reader (RFC 4180 quoting) for `evoopt plot`: the first row
 * is the header; every row must have as many fields. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

typedef struct fields {
  char **items;
  size_t n, cap;
} fields;

static int push(fields *f, const char *start, size_t len) {
  if (f->n == f->cap) {
    size_t cap = f->cap ? f->cap * 2 : 64;
    char **grown = realloc(f->items, cap * sizeof *grown);
    if (grown == NULL)
      return -1;
    f->items = grown;
    f->cap = cap;
  }
  char *s = malloc(len + 1);
  if (s == NULL)
    return -1;
  memcpy(s, start, len);
  s[len] = '\0';
  f->items[f->n++] = s;
  return 0;
}

/* One field starting at *p; unquotes into @p tmp. Advances *p past the
 * field's separator and sets *eol at the end of a record. */
static int read_field(const char **p, char *tmp, fields *out, int *eol) {
  const char *s = *p;
  size_t len = 0;
  if (*s == '"') {
    for (s++;; s++) {
      if (*s == '\0')
        return -2; /* unterminated quote */
      if (*s == '"' && s[1] == '"')
        tmp[len++] = *s++;
      else if (*s == '"') {
        s++;
        break;
      } else
        tmp[len++] = *s;
    }
  } else {
    while (*s != ',' && *s != '\n' && *s != '\r' && *s != '\0')
      tmp[len++] = *s++;
  }
  if (*s == '\r')
    s++;
  *eol = *s != ',';
  if (*s == ',' || *s == '\n')
    s++;
  else if (*s != '\0')
    return -2; /* text after a closing quote */
  *p = s;
  return push(out, tmp, len);
}

static int parse_text(cli_csv *csv, const char *text, char *tmp) {
  fields f = {0};
  const char *p = text;
  size_t row_start = 0;
  int rc = 0;
  while (*p != '\0' && rc == 0) {
    int eol = 0;
    while (!eol && rc == 0)
      rc = read_field(&p, tmp, &f, &eol);
    if (rc != 0)
      break;
    size_t n = f.n - row_start;
    if (csv->n_cols == 0)
      csv->n_cols = n;
    else if (n != csv->n_cols)
      rc = -3;
    else
      csv->n_rows++;
    row_start = f.n;
  }
  if (rc == 0 && csv->n_cols == 0)
    rc = -3;
  csv->header = f.items;
  csv->cells = f.items != NULL ? f.items + csv->n_cols : NULL;
  if (rc != 0) {
    for (size_t i = 0; i < f.n; i++)
      free(f.items[i]);
    free(f.items);
    csv->header = csv->cells = NULL;
  }
  return rc;
}

int cli_csv_load(cli_csv *csv, const char *path) {
  memset(csv, 0, sizeof *csv);
  char *text = cli_read_text(path, 64u << 20);
  if (text == NULL)
    return cli_error("cannot read '%s': %s", path, strerror(errno));
  char *tmp = malloc(strlen(text) + 1);
  int rc = tmp != NULL ? parse_text(csv, text, tmp) : -1;
  free(tmp);
  free(text);
  if (rc == -1)
    return cli_error("out of memory reading '%s'", path);
  if (rc == -2)
    return cli_error("'%s' is not valid CSV (bad quoting)", path);
  if (rc != 0)
    return cli_error("'%s' is not a table: rows of different lengths or no "
                     "header",
                     path);
  return CLI_EXIT_OK;
}

void cli_csv_free(cli_csv *csv) {
  if (csv->header == NULL)
    return;
  for (size_t i = 0; i < csv->n_cols * (csv->n_rows + 1); i++)
    free(csv->header[i]);
  free(csv->header);
  memset(csv, 0, sizeof *csv);
}

long cli_csv_column(const cli_csv *csv, const char *name) {
  for (size_t i = 0; i < csv->n_cols; i++)
    if (strcmp(csv->header[i], name) == 0)
      return (long)i;
  return -1;
}

const char *cli_csv_cell(const cli_csv *csv, size_t row, size_t col) {
  return csv->cells[row * csv->n_cols + col];
}
