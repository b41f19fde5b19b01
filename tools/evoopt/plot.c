/* `evoopt plot`: hand-written SVG (no dependencies). A run's history.csv
 * becomes fitness per generation (best, mean, and the best genome's
 * fitness per task); a comparison CSV (final.csv) becomes grouped bars. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_internal.h"

enum {
  WIDTH = 860,
  HEIGHT = 500,
  LEFT = 70,
  RIGHT = 210,
  TOP = 50,
  BOTTOM = 60
};

static const char *const palette[] = {
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
#define N_COLORS (sizeof palette / sizeof palette[0])

/* The plotting area and the data range it shows. */
typedef struct frame {
  double xmin, xmax, ymin, ymax;
} frame;

static double px(const frame *f, double x) {
  double span = f->xmax > f->xmin ? f->xmax - f->xmin : 1.0;
  return LEFT + (x - f->xmin) / span * (WIDTH - LEFT - RIGHT);
}

static double py(const frame *f, double y) {
  return TOP + (f->ymax - y) / (f->ymax - f->ymin) * (HEIGHT - TOP - BOTTOM);
}

/* Text with &, <, >, " escaped for XML. */
static void put_escaped(cli_buf *b, const char *s) {
  for (; *s != '\0'; s++) {
    switch (*s) {
    case '&': cli_buf_printf(b, "&amp;"); break;
    case '<': cli_buf_printf(b, "&lt;"); break;
    case '>': cli_buf_printf(b, "&gt;"); break;
    case '"': cli_buf_printf(b, "&quot;"); break;
    default: cli_buf_printf(b, "%c", *s); break;
    }
  }
}

static void text(cli_buf *b, double x, double y, const char *anchor,
                 const char *extra, const char *s) {
  cli_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>", x, y,
                 anchor, extra);
  put_escaped(b, s);
  cli_buf_printf(b, "</text>\n");
}

/* A "nice" tick step (1, 2 or 5 × 10^k) giving about @p n ticks. */
static double nice_step(double range, int n) {
  double raw = range / n;
  double mag = pow(10.0, floor(log10(raw)));
  double r = raw / mag;
  return (r < 1.5 ? 1.0 : r < 3.5 ? 2.0 : r < 7.5 ? 5.0 : 10.0) * mag;
}

/* Widens [lo, hi] a little and onto tick marks. */
static void nice_range(double *lo, double *hi) {
  if (!(*hi > *lo)) {
    *lo -= 0.05;
    *hi += 0.05;
  }
  double step = nice_step(*hi - *lo, 5);
  *lo = floor(*lo / step) * step;
  *hi = ceil(*hi / step) * step;
}

static void open_svg(cli_buf *b, const char *title) {
  cli_buf_printf(b,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
                 "height=\"%d\" viewBox=\"0 0 %d %d\" "
                 "font-family=\"sans-serif\" font-size=\"12\">\n"
                 "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                 WIDTH, HEIGHT, WIDTH, HEIGHT);
  text(b, WIDTH / 2.0, 28, "middle", " font-size=\"16\" font-weight=\"bold\"",
       title);
}

/* The y axis with grid lines and labels, the frame, and the axis titles. */
static void axes(cli_buf *b, const frame *f, const char *xlabel,
                 const char *ylabel) {
  double step = nice_step(f->ymax - f->ymin, 5);
  char label[32];
  for (double y = f->ymin; y <= f->ymax + step * 1e-6; y += step) {
    cli_buf_printf(b,
                   "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                   "stroke=\"#dddddd\"/>\n",
                   LEFT, py(f, y), WIDTH - RIGHT, py(f, y));
    snprintf(label, sizeof label, "%.*f",
             step < 0.01  ? 3
             : step < 0.1 ? 2
                          : 1,
             fabs(y) < step * 1e-6 ? 0.0 : y);
    text(b, LEFT - 6, py(f, y) + 4, "end", "", label);
  }
  cli_buf_printf(b,
                 "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                 "fill=\"none\" stroke=\"black\"/>\n",
                 LEFT, TOP, WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
  text(b, (LEFT + WIDTH - RIGHT) / 2.0, HEIGHT - 18, "middle", "", xlabel);
  cli_buf_printf(b,
                 "<text x=\"18\" y=\"%.1f\" text-anchor=\"middle\" "
                 "transform=\"rotate(-90 18 %.1f)\">",
                 (TOP + HEIGHT - BOTTOM) / 2.0, (TOP + HEIGHT - BOTTOM) / 2.0);
  put_escaped(b, ylabel);
  cli_buf_printf(b, "</text>\n");
}

/* One legend entry; @p dash is "" or a stroke-dasharray, NULL for a box. */
static void legend(cli_buf *b, size_t i, const char *color, const char *dash,
                   const char *label) {
  double x = WIDTH - RIGHT + 16, y = TOP + 10 + 20.0 * (double)i;
  if (dash == NULL)
    cli_buf_printf(b,
                   "<rect x=\"%.1f\" y=\"%.1f\" width=\"22\" height=\"10\" "
                   "fill=\"%s\"/>\n",
                   x, y - 5, color);
  else
    cli_buf_printf(b,
                   "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                   "stroke=\"%s\" stroke-width=\"2\"%s/>\n",
                   x, y, x + 22, y, color, dash);
  text(b, x + 28, y + 4, "start", "", label);
}

/* @p replace: 1 only for a run folder's own plot.svg (written again every
 * generation); else an existing file is refused (cli_buf_save_new). */
static int save_svg(cli_buf *b, const char *path, int replace) {
  cli_buf_printf(b, "</svg>\n");
  return replace ? cli_buf_save(b, path) : cli_buf_save_new(b, path);
}

/* Reads a numeric cell; NaN when empty or not a number. */
static double cell(const cli_csv *csv, size_t row, long col) {
  const char *s = cli_csv_cell(csv, row, (size_t)col);
  char *end = NULL;
  double v = strtod(s, &end);
  return end != s && *end == '\0' ? v : NAN;
}

/* --- history: lines ----------------------------------------------------- */

typedef struct series {
  long col;
  char label[80];
  const char *dash;
} series;

static size_t history_series(const cli_csv *csv, series *s, size_t max) {
  size_t n = 0, tasks = 0;
  s[n++] = (series){cli_csv_column(csv, "best"), "best", ""};
  s[n++] = (series){cli_csv_column(csv, "mean"), "mean", ""};
  for (size_t c = 0; c < csv->n_cols; c++)
    tasks += strncmp(csv->header[c], "best_", 5) == 0 &&
             strcmp(csv->header[c], "best_genome") != 0;
  /* With one task its curve is the best curve itself. */
  for (size_t c = 0; c < csv->n_cols && n < max && tasks > 1; c++) {
    const char *h = csv->header[c];
    if (strncmp(h, "best_", 5) != 0 || strcmp(h, "best_genome") == 0)
      continue;
    s[n] = (series){(long)c, "", " stroke-dasharray=\"6 4\""};
    snprintf(s[n].label, sizeof s[n].label, "best on %s", h + 5);
    n++;
  }
  return n;
}

static void history_frame(const cli_csv *csv, const series *s, size_t n,
                          long gen_col, frame *f) {
  f->xmin = INFINITY, f->xmax = -INFINITY;
  f->ymin = INFINITY, f->ymax = -INFINITY;
  for (size_t r = 0; r < csv->n_rows; r++) {
    double g = cell(csv, r, gen_col);
    f->xmin = fmin(f->xmin, g), f->xmax = fmax(f->xmax, g);
    for (size_t i = 0; i < n; i++) {
      double v = cell(csv, r, s[i].col);
      if (v == v)
        f->ymin = fmin(f->ymin, v), f->ymax = fmax(f->ymax, v);
    }
  }
  nice_range(&f->ymin, &f->ymax);
}

static void history_x_ticks(cli_buf *b, const frame *f) {
  double step = f->xmax > f->xmin
                    ? fmax(1.0, round(nice_step(f->xmax - f->xmin, 8)))
                    : 1.0;
  char label[32];
  for (double x = f->xmin; x <= f->xmax + 1e-9; x += step) {
    snprintf(label, sizeof label, "%.0f", x);
    text(b, px(f, x), HEIGHT - BOTTOM + 16, "middle", "", label);
  }
}

static void history_line(cli_buf *b, const cli_csv *csv, const frame *f,
                         long gen_col, const series *s, const char *color) {
  cli_buf_printf(b,
                 "<polyline fill=\"none\" stroke=\"%s\" "
                 "stroke-width=\"%s\"%s points=\"",
                 color, s->dash[0] != '\0' ? "1.5" : "2.5", s->dash);
  for (size_t r = 0; r < csv->n_rows; r++) {
    double v = cell(csv, r, s->col);
    if (v == v)
      cli_buf_printf(b, "%.1f,%.1f ", px(f, cell(csv, r, gen_col)), py(f, v));
  }
  cli_buf_printf(b, "\"/>\n");
  for (size_t r = 0; r < csv->n_rows && csv->n_rows <= 60; r++) {
    double v = cell(csv, r, s->col);
    if (v == v)
      cli_buf_printf(b,
                     "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
                     "fill=\"%s\"/>\n",
                     px(f, cell(csv, r, gen_col)), py(f, v), color);
  }
}

static int plot_history(const cli_csv *csv, const char *csv_path,
                        const char *svg_path, int replace) {
  long gen_col = cli_csv_column(csv, "generation");
  series s[12];
  size_t n = history_series(csv, s, 12);
  if (gen_col < 0 || s[0].col < 0 || s[1].col < 0 || csv->n_rows == 0)
    return cli_error("'%s' has no generations to plot (columns generation, "
                     "best, mean)",
                     csv_path);
  frame f;
  history_frame(csv, s, n, gen_col, &f);
  cli_buf b = {0};
  open_svg(&b, "Fitness per generation");
  axes(&b, &f, "generation", "fitness");
  history_x_ticks(&b, &f);
  for (size_t i = 0; i < n; i++) {
    history_line(&b, csv, &f, gen_col, &s[i], palette[i % N_COLORS]);
    legend(&b, i, palette[i % N_COLORS], s[i].dash, s[i].label);
  }
  return save_svg(&b, svg_path, replace);
}

/* --- comparison: grouped bars ------------------------------------------- */

static void bar_frame(const cli_csv *csv, frame *f) {
  f->xmin = 0.0, f->xmax = (double)(csv->n_cols - 1);
  f->ymin = 0.0, f->ymax = 0.0;
  for (size_t r = 0; r < csv->n_rows; r++)
    for (size_t c = 1; c < csv->n_cols; c++) {
      double v = cell(csv, r, (long)c);
      if (v == v)
        f->ymin = fmin(f->ymin, v), f->ymax = fmax(f->ymax, v);
    }
  nice_range(&f->ymin, &f->ymax);
}

static void bars(cli_buf *b, const cli_csv *csv, const frame *f) {
  size_t groups = csv->n_cols - 1, rows = csv->n_rows;
  double group_w = (WIDTH - LEFT - RIGHT) / (double)groups;
  double bar_w = group_w * 0.8 / (double)rows;
  char label[32];
  for (size_t c = 0; c < groups; c++) {
    double x0 = LEFT + group_w * ((double)c + 0.1);
    text(b, LEFT + group_w * ((double)c + 0.5), HEIGHT - BOTTOM + 16, "middle",
         "", csv->header[c + 1]);
    for (size_t r = 0; r < rows; r++) {
      double v = cell(csv, r, (long)c + 1);
      if (v != v)
        continue;
      double top = py(f, fmax(v, 0.0)), bottom = py(f, fmin(v, 0.0));
      double x = x0 + bar_w * (double)r;
      cli_buf_printf(b,
                     "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                     "height=\"%.1f\" fill=\"%s\"/>\n",
                     x, top, bar_w * 0.92, bottom - top, palette[r % N_COLORS]);
      snprintf(label, sizeof label, "%.3f", v);
      if (bar_w >= 26)
        text(b, x + bar_w * 0.46, top - 4, "middle", " font-size=\"10\"",
             label);
    }
  }
}

static int plot_comparison(const cli_csv *csv, const char *svg_path) {
  frame f;
  bar_frame(csv, &f);
  cli_buf b = {0};
  open_svg(&b, "Fitness per task (mean over seeds) and overall");
  axes(&b, &f, "task", "fitness");
  bars(&b, csv, &f);
  for (size_t r = 0; r < csv->n_rows; r++)
    legend(&b, r, palette[r % N_COLORS], NULL, cli_csv_cell(csv, r, 0));
  return save_svg(&b, svg_path, 0);
}

/* --- lines and bars from memory (held-out curves, ablations) ---------- */

/* x ticks at nice steps over [xmin, xmax]. */
static void x_ticks(cli_buf *b, const frame *f) {
  double step = nice_step(f->xmax - f->xmin > 0 ? f->xmax - f->xmin : 1.0, 8);
  char label[32];
  for (double x = ceil(f->xmin / step) * step; x <= f->xmax + step * 1e-6;
       x += step) {
    snprintf(label, sizeof label, "%g", x);
    text(b, px(f, x), HEIGHT - BOTTOM + 16, "middle", "", label);
  }
}

void cli_plot_lines(cli_buf *b, const char *title, const char *xlabel,
                    const char *ylabel, const cli_line *lines, size_t n_lines) {
  frame f = {INFINITY, -INFINITY, INFINITY, -INFINITY};
  for (size_t l = 0; l < n_lines; l++)
    for (size_t i = 0; i < lines[l].n; i++) {
      f.xmin = fmin(f.xmin, lines[l].x[i]),
      f.xmax = fmax(f.xmax, lines[l].x[i]);
      if (lines[l].y[i] == lines[l].y[i])
        f.ymin = fmin(f.ymin, lines[l].y[i]),
        f.ymax = fmax(f.ymax, lines[l].y[i]);
    }
  if (!(f.ymax >= f.ymin)) /* no point at all */
    f.xmin = 0, f.xmax = 1, f.ymin = 0, f.ymax = 1;
  if (f.xmin > 0) /* from the start of training */
    f.xmin = 0;
  nice_range(&f.ymin, &f.ymax);
  open_svg(b, title);
  axes(b, &f, xlabel, ylabel);
  x_ticks(b, &f);
  for (size_t l = 0; l < n_lines; l++) {
    const char *color = palette[l % N_COLORS];
    const char *dash = l / N_COLORS % 2 ? " stroke-dasharray=\"6 4\"" : "";
    cli_buf_printf(b,
                   "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
                   "points=\"",
                   color, dash);
    for (size_t i = 0; i < lines[l].n; i++)
      if (lines[l].y[i] == lines[l].y[i])
        cli_buf_printf(b, "%.1f,%.1f ", px(&f, lines[l].x[i]),
                       py(&f, lines[l].y[i]));
    cli_buf_printf(b, "\"/>\n");
    for (size_t i = 0; i < lines[l].n && lines[l].n <= 60; i++)
      if (lines[l].y[i] == lines[l].y[i])
        cli_buf_printf(b,
                       "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" "
                       "fill=\"%s\"/>\n",
                       px(&f, lines[l].x[i]), py(&f, lines[l].y[i]), color);
    legend(b, l, color, dash, lines[l].label);
  }
  cli_buf_printf(b, "</svg>\n");
}

void cli_plot_bars(cli_buf *b, const char *title, const char *ylabel,
                   const cli_bar *bars, size_t n) {
  frame f = {0.0, (double)n, 0.0, 0.0};
  for (size_t i = 0; i < n; i++) {
    double v[3] = {bars[i].value, bars[i].lo, bars[i].hi};
    for (size_t k = 0; k < 3 && !bars[i].off_scale; k++)
      if (v[k] == v[k])
        f.ymin = fmin(f.ymin, v[k]), f.ymax = fmax(f.ymax, v[k]);
  }
  nice_range(&f.ymin, &f.ymax);
  open_svg(b, title);
  cli_buf_printf(b, "<defs><pattern id=\"off\" width=\"6\" height=\"6\" "
                    "patternUnits=\"userSpaceOnUse\"><path d=\"M0 6L6 0\" "
                    "stroke=\"black\"/></pattern></defs>\n");
  axes(b, &f, "variant", ylabel);
  double slot = (WIDTH - LEFT - RIGHT) / (double)(n > 0 ? n : 1);
  char label[32];
  cli_buf_printf(b,
                 "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                 "stroke=\"black\"/>\n",
                 LEFT, py(&f, 0.0), WIDTH - RIGHT, py(&f, 0.0));
  for (size_t i = 0; i < n; i++) {
    const char *color = palette[i % N_COLORS];
    double x = LEFT + slot * ((double)i + 0.15), w = slot * 0.7;
    double v = bars[i].value == bars[i].value ? bars[i].value : 0.0;
    double shown = fmin(fmax(v, f.ymin), f.ymax); /* off-scale: cut */
    double top = py(&f, fmax(shown, 0.0)), bottom = py(&f, fmin(shown, 0.0));
    cli_buf_printf(b,
                   "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                   "height=\"%.1f\" fill=\"%s\"/>\n",
                   x, top, w, bottom - top, color);
    if (bars[i].off_scale) {
      cli_buf_printf(b,
                     "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                     "height=\"%.1f\" fill=\"url(#off)\"/>\n",
                     x, top, w, bottom - top);
      text(b, x + w / 2, (top + bottom) / 2, "middle",
           " font-size=\"10\" font-weight=\"bold\"", "off scale");
    } else if (bars[i].lo == bars[i].lo && bars[i].hi == bars[i].hi) {
      double cx = x + w / 2;
      cli_buf_printf(
          b,
          "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fH%.1fM%.1f %.1fH%.1f\" "
          "stroke=\"black\" fill=\"none\"/>\n",
          cx, py(&f, bars[i].lo), py(&f, bars[i].hi), cx - 5,
          py(&f, bars[i].lo), cx + 5, cx - 5, py(&f, bars[i].hi), cx + 5);
    }
    snprintf(label, sizeof label, "%+.4f", v);
    text(b, x + w / 2, HEIGHT - BOTTOM + 16, "middle", " font-size=\"10\"",
         label);
    legend(b, i, color, NULL, bars[i].label);
  }
  cli_buf_printf(b, "</svg>\n");
}

void cli_plot_ablation(cli_buf *b, const char *genome, size_t seeds,
                       const cli_bar *bars, size_t n) {
  char title[160];
  snprintf(title, sizeof title,
           "Fitness change against %s (mean; whiskers: min..max over %zu "
           "seed%s)",
           genome, seeds, seeds == 1 ? "" : "s");
  cli_plot_bars(b, title, "fitness change (variant - genome)", bars, n);
}

/* An ablation table (evoopt ablate --csv): row 0 the genome, then one row
 * per variant with its change_mean, change_min and change_max. */
static int plot_ablation_csv(const cli_csv *csv, const char *csv_path,
                             const char *svg_path) {
  long mean = cli_csv_column(csv, "change_mean"),
       lo = cli_csv_column(csv, "change_min"),
       hi = cli_csv_column(csv, "change_max"),
       div = cli_csv_column(csv, "diverged_runs");
  cli_bar bars[CLI_MAX_GENOMES];
  size_t n = csv->n_rows > 0 ? csv->n_rows - 1 : 0, seeds = 0;
  if (mean < 0 || lo < 0 || hi < 0 || n == 0 || n > CLI_MAX_GENOMES)
    return cli_error("'%s' is not an ablation table (variant, fitness, "
                     "change_mean, change_min, change_max, ...; the genome "
                     "and 1 to %d variants)",
                     csv_path, CLI_MAX_GENOMES);
  for (size_t c = 0; c < csv->n_cols; c++)
    seeds += strncmp(csv->header[c], "seed_", 5) == 0;
  /* A fitness lies in -1..1.05 (doc/algorithm.md §3), so a change in
   * -2.05..2.05; anything else (1e308, inf) would put NaN coordinates in
   * the SVG. An empty cell (NaN) is drawn as no change. */
  const long cols[3] = {mean, lo, hi};
  for (size_t r = 1; r <= n; r++)
    for (size_t k = 0; k < 3; k++) {
      double v = cell(csv, r, cols[k]);
      if (v == v && !(fabs(v) <= 2.05 + 1e-9))
        return cli_error("'%s' line %zu (%s): %s '%s' is not a fitness "
                         "change (fitness lies in -1..1.05, a change in "
                         "-2.05..2.05)",
                         csv_path, r + 2, cli_csv_cell(csv, r, 0),
                         csv->header[cols[k]],
                         cli_csv_cell(csv, r, (size_t)cols[k]));
    }
  for (size_t r = 1; r <= n; r++)
    bars[r - 1] =
        (cli_bar){cli_csv_cell(csv, r, 0), cell(csv, r, mean), cell(csv, r, lo),
                  cell(csv, r, hi), div >= 0 && cell(csv, r, div) > 0};
  cli_buf b = {0};
  cli_plot_ablation(&b, cli_csv_cell(csv, 0, 0), seeds, bars, n);
  return cli_buf_save_new(&b, svg_path);
}

int cli_plot_history(const char *csv_path, const char *svg_path, int replace) {
  cli_csv csv;
  int rc = cli_csv_load(&csv, csv_path);
  if (rc == CLI_EXIT_OK)
    rc = plot_history(&csv, csv_path, svg_path, replace);
  cli_csv_free(&csv);
  return rc;
}

int cli_plot_comparison(const char *csv_path, const char *svg_path) {
  cli_csv csv;
  int rc = cli_csv_load(&csv, csv_path);
  if (rc == CLI_EXIT_OK && (csv.n_cols < 2 || csv.n_rows == 0 ||
                            strcmp(csv.header[0], "optimizer") != 0))
    rc = cli_error("'%s' is not a comparison table (optimizer, tasks..., "
                   "overall)",
                   csv_path);
  if (rc == CLI_EXIT_OK)
    rc = plot_comparison(&csv, svg_path);
  cli_csv_free(&csv);
  return rc;
}

/* --- the command -------------------------------------------------------- */

/* The input: a run folder (its history.csv) or a CSV file. The default
 * output: plot.svg in the run folder, else the CSV's name with .svg.
 * @p own: set when the output is the run folder's own plot.svg (written
 * again every generation, so replaced); any other file must not exist. */
static int plot_paths(const char *arg, const char *out, char *csv, char *svg,
                      int *own) {
  int folder = cli_is_dir(arg);
  *own = folder && out == NULL;
  if (folder && cli_path_join(csv, CLI_PATH_MAX, arg, "history.csv") != 0)
    return cli_error("path too long: '%s'", arg);
  if (!folder)
    snprintf(csv, CLI_PATH_MAX, "%s", arg);
  if (out != NULL) {
    snprintf(svg, CLI_PATH_MAX, "%s", out);
    return CLI_EXIT_OK;
  }
  if (folder)
    return cli_path_join(svg, CLI_PATH_MAX, arg, "plot.svg") == 0
               ? CLI_EXIT_OK
               : cli_error("path too long: '%s'", arg);
  size_t len = strlen(csv);
  if (len > 4 && strcmp(csv + len - 4, ".csv") == 0)
    len -= 4;
  snprintf(svg, CLI_PATH_MAX, "%.*s.svg", (int)len, csv);
  return CLI_EXIT_OK;
}

int cli_cmd_plot(int argc, char **argv) {
  static const cli_opt opts[] = {{"output", 'o', 1, 1}, {NULL, 0, 0, 0}};
  cli_parser p;
  const char *v, *arg = NULL, *out = NULL;
  cli_parser_init(&p, "plot", opts, argc, argv);
  for (int id; (id = cli_parser_next(&p, &v)) != CLI_OPT_END;) {
    if (id == CLI_OPT_ERROR)
      return CLI_EXIT_USAGE;
    if (id == CLI_OPT_HELP)
      return cli_help_print(stdout, "plot"), CLI_EXIT_OK;
    if (id == 1)
      out = v;
    else if (arg != NULL)
      return cli_usage_error("plot", "one RUNDIR or CSV file at a time");
    else
      arg = v;
  }
  if (arg == NULL)
    return cli_usage_error("plot", "no RUNDIR or CSV file given");
  char csv_path[CLI_PATH_MAX], svg_path[CLI_PATH_MAX];
  int own = 0;
  int rc = plot_paths(arg, out, csv_path, svg_path, &own);
  if (rc == CLI_EXIT_OK && !own)
    rc = cli_refuse_existing(out != NULL ? "-o" : "the output (-o)", svg_path);
  cli_csv csv;
  if (rc == CLI_EXIT_OK)
    rc = cli_csv_load(&csv, csv_path);
  if (rc != CLI_EXIT_OK)
    return rc;
  int history = strcmp(csv.header[0], "generation") == 0;
  if (strcmp(csv.header[0], "variant") == 0)
    rc = plot_ablation_csv(&csv, csv_path, svg_path);
  else
    rc = history ? cli_plot_history(csv_path, svg_path, own)
                 : cli_plot_comparison(csv_path, svg_path);
  cli_csv_free(&csv);
  if (rc == CLI_EXIT_OK)
    printf("%s\n", svg_path);
  return rc;
}
