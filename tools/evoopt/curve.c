/* The held-out learning curve of `evoopt eval` and `evoopt compare`
 * (--curve-every K, issue 12 item 2): each run scores the test set every K
 * steps (the library's EVO_TASK_EVAL_EVERY); the points are written as a
 * CSV, one row per genome, task and point, and drawn as the mean over the
 * seeds per genome and task. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

int cli_curve_check(const char *cmd, const cli_run *r, const char *csv,
                    const char *svg) {
  if (r->curve_every == 0 && (csv != NULL || svg != NULL))
    return cli_usage_error(cmd, "--curve-csv and --curve-svg need "
                                "--curve-every K");
  if (r->curve_every == 0)
    return CLI_EXIT_OK;
  if (csv == NULL && svg == NULL)
    return cli_usage_error(cmd, "--curve-every needs --curve-csv FILE or "
                                "--curve-svg FILE");
  if (r->curve_every > r->steps)
    return cli_usage_error(cmd,
                           "--curve-every %llu is more than --steps %llu: "
                           "the curve would have no point",
                           (unsigned long long)r->curve_every,
                           (unsigned long long)r->steps);
  if (csv != NULL && svg != NULL && strcmp(csv, svg) == 0)
    return cli_usage_error(cmd, "--curve-csv and --curve-svg name the same "
                                "file");
  int rc = csv != NULL ? cli_refuse_existing("--curve-csv", csv) : CLI_EXIT_OK;
  if (rc == CLI_EXIT_OK && svg != NULL)
    rc = cli_refuse_existing("--curve-svg", svg);
  return rc;
}

/* The mean over the seeds of one point; NaN when a run had diverged. */
static double point_mean(const cli_grid *g, const cli_run *r, size_t genome,
                         size_t task, size_t p) {
  double sum = 0.0;
  for (size_t s = 0; s < r->seeds; s++)
    sum += cli_grid_curve_accuracy(g, genome, task, s, p);
  return sum / (double)r->seeds;
}

static uint64_t point_step(const cli_run *r, size_t p) {
  return ((uint64_t)p + 1) * r->curve_every;
}

static int save_csv(const cli_grid *g, const cli_run *r, char names[][64],
                    size_t n_genomes, const char *path) {
  cli_buf b = {0};
  size_t points = cli_grid_curve_points(g);
  cli_buf_printf(&b, "genome,task,step");
  for (size_t s = 0; s < r->seeds; s++)
    cli_buf_printf(&b, ",seed_%zu", s);
  cli_buf_printf(&b, ",mean\n");
  for (size_t i = 0; i < n_genomes; i++)
    for (size_t t = 0; t < r->tasks.n; t++)
      for (size_t p = 0; p < points; p++) {
        cli_buf_csv_field(&b, names[i]);
        cli_buf_printf(&b, ",");
        cli_buf_csv_field(&b, r->tasks.names[t]);
        cli_buf_printf(&b, ",%llu", (unsigned long long)point_step(r, p));
        for (size_t s = 0; s < r->seeds; s++) {
          double a = cli_grid_curve_accuracy(g, i, t, s, p);
          if (isnan(a)) /* the run had diverged: no point */
            cli_buf_printf(&b, ",");
          else
            cli_buf_printf(&b, ",%.6f", a);
        }
        double m = point_mean(g, r, i, t, p);
        if (isnan(m))
          cli_buf_printf(&b, ",\n");
        else
          cli_buf_printf(&b, ",%.6f\n", m);
      }
  return cli_buf_save_new(&b, path);
}

static int save_svg(const cli_grid *g, const cli_run *r, char names[][64],
                    size_t n_genomes, const char *path) {
  size_t points = cli_grid_curve_points(g), n = n_genomes * r->tasks.n;
  double *x = calloc(points, sizeof *x);
  double *y = calloc(n * points, sizeof *y);
  cli_line *lines = calloc(n, sizeof *lines);
  char(*labels)[160] = calloc(n, sizeof *labels);
  if (x == NULL || y == NULL || lines == NULL || labels == NULL) {
    free(x), free(y), free(lines), free(labels);
    return cli_error("out of memory");
  }
  for (size_t p = 0; p < points; p++)
    x[p] = (double)point_step(r, p);
  for (size_t i = 0; i < n_genomes; i++)
    for (size_t t = 0; t < r->tasks.n; t++) {
      size_t l = i * r->tasks.n + t;
      for (size_t p = 0; p < points; p++)
        y[l * points + p] = point_mean(g, r, i, t, p);
      if (r->tasks.n == 1)
        snprintf(labels[l], sizeof labels[l], "%s", names[i]);
      else
        snprintf(labels[l], sizeof labels[l], "%s, %s", names[i],
                 r->tasks.names[t]);
      lines[l] = (cli_line){labels[l], points, x, y + l * points};
    }
  char title[128];
  snprintf(title, sizeof title,
           "Test accuracy every %llu steps (mean over %llu seed%s)",
           (unsigned long long)r->curve_every, (unsigned long long)r->seeds,
           r->seeds == 1 ? "" : "s");
  cli_buf b = {0};
  cli_plot_lines(&b, title, "training step", "test accuracy", lines, n);
  int rc = cli_buf_save_new(&b, path);
  free(x), free(y), free(lines), free(labels);
  return rc;
}

int cli_curve_save(const cli_grid *g, const cli_run *r, char names[][64],
                   size_t n_genomes, const char *csv, const char *svg) {
  int rc = CLI_EXIT_OK;
  if (csv != NULL)
    rc = save_csv(g, r, names, n_genomes, csv);
  if (rc == CLI_EXIT_OK && svg != NULL)
    rc = save_svg(g, r, names, n_genomes, svg);
  return rc;
}
