/* The comparison table of doc/algorithm.md §6: optimizer | fitness per task |
 * overall, rows by overall fitness ascending, as aligned markdown text, CSV
 * and JSON. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli_internal.h"

void cli_table_from_grid(cli_table *t, const cli_grid *g,
                         const cli_tasks *tasks, char names[][64],
                         size_t n_genomes) {
  memset(t, 0, sizeof *t);
  t->n_tasks = tasks->n;
  for (size_t j = 0; j < tasks->n; j++)
    memcpy(t->task_names[j], tasks->names[j], sizeof t->task_names[j]);
  /* Insertion sort by overall fitness: stable, so ties keep the order in
   * which the genomes were given. */
  for (size_t i = 0; i < n_genomes; i++) {
    double overall = cli_grid_overall(g, i);
    size_t at = t->n_rows;
    while (at > 0 && t->cells[at - 1][t->n_tasks] > overall)
      at--;
    size_t moved = t->n_rows - at; /* rows [at, n_rows) move down one */
    memmove(&t->cells[at + 1], &t->cells[at], moved * sizeof t->cells[0]);
    memmove(&t->row_names[at + 1], &t->row_names[at],
            moved * sizeof t->row_names[0]);
    snprintf(t->row_names[at], sizeof t->row_names[at], "%s", names[i]);
    for (size_t j = 0; j < tasks->n; j++)
      t->cells[at][j] = cli_grid_task_fitness(g, i, j);
    t->cells[at][t->n_tasks] = overall;
    t->n_rows++;
  }
}

static int name_width(const cli_table *t) {
  size_t w = strlen("optimizer");
  for (size_t i = 0; i < t->n_rows; i++)
    if (strlen(t->row_names[i]) > w)
      w = strlen(t->row_names[i]);
  return (int)w;
}

static const char *column_name(const cli_table *t, size_t j) {
  return j < t->n_tasks ? t->task_names[j] : "overall";
}

static void table_markdown(const cli_table *t, cli_buf *b) {
  int nw = name_width(t);
  int widths[CLI_MAX_TASKS + 1];
  cli_buf_printf(b, "| %-*s |", nw, "optimizer");
  for (size_t j = 0; j <= t->n_tasks; j++) {
    size_t len = strlen(column_name(t, j));
    widths[j] = len > 7 ? (int)len : 7; /* "-0.1234" */
    cli_buf_printf(b, " %*s |", widths[j], column_name(t, j));
  }
  cli_buf_printf(b, "\n|");
  for (int k = 0; k < nw + 2; k++)
    cli_buf_printf(b, "-");
  cli_buf_printf(b, "|");
  for (size_t j = 0; j <= t->n_tasks; j++) {
    for (int k = 0; k < widths[j] + 1; k++)
      cli_buf_printf(b, "-");
    cli_buf_printf(b, ":|");
  }
  cli_buf_printf(b, "\n");
  for (size_t i = 0; i < t->n_rows; i++) {
    cli_buf_printf(b, "| %-*s |", nw, t->row_names[i]);
    for (size_t j = 0; j <= t->n_tasks; j++)
      cli_buf_printf(b, " %*.4f |", widths[j], t->cells[i][j]);
    cli_buf_printf(b, "\n");
  }
}

void cli_table_print(const cli_table *t, FILE *f) {
  cli_buf b = {0};
  table_markdown(t, &b);
  if (cli_buf_close(&b) == 0)
    fputs(b.data, f);
  cli_buf_free(&b);
}

static void table_csv(const cli_table *t, cli_buf *b) {
  cli_buf_printf(b, "optimizer");
  for (size_t j = 0; j <= t->n_tasks; j++) {
    cli_buf_printf(b, ",");
    cli_buf_csv_field(b, column_name(t, j));
  }
  cli_buf_printf(b, "\n");
  for (size_t i = 0; i < t->n_rows; i++) {
    cli_buf_csv_field(b, t->row_names[i]);
    for (size_t j = 0; j <= t->n_tasks; j++)
      cli_buf_printf(b, ",%.6f", t->cells[i][j]);
    cli_buf_printf(b, "\n");
  }
}

json_t *cli_table_json(const cli_table *t) {
  json_t *rows = json_array();
  for (size_t i = 0; i < t->n_rows && rows != NULL; i++) {
    json_t *tasks = json_object();
    for (size_t j = 0; j < t->n_tasks; j++)
      json_object_set_new(tasks, t->task_names[j], json_real(t->cells[i][j]));
    json_array_append_new(rows, json_pack("{s:s, s:o, s:f}", "optimizer",
                                          t->row_names[i], "tasks", tasks,
                                          "overall", t->cells[i][t->n_tasks]));
  }
  return rows;
}

int cli_table_save_csv(const cli_table *t, const char *path, int replace) {
  cli_buf b = {0};
  table_csv(t, &b);
  return replace ? cli_buf_save(&b, path) : cli_buf_save_new(&b, path);
}

int cli_table_save_md(const cli_table *t, const char *path, const char *title,
                      int replace) {
  cli_buf b = {0};
  if (title != NULL)
    cli_buf_printf(&b, "%s\n\n", title);
  table_markdown(t, &b);
  return replace ? cli_buf_save(&b, path) : cli_buf_save_new(&b, path);
}
