/* Progress: a one-line bar redrawn in place on a terminal, plain log lines
 * otherwise, JSON lines on stdout for machines; and the Ctrl-C handling
 * that turns the first SIGINT into a clean stop. */
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "cli_internal.h"

static volatile sig_atomic_t stop_requested = 0;

static void on_signal(int sig) {
  if (stop_requested) { /* the second Ctrl-C: quit at once */
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  stop_requested = 1;
  static const char msg[] = "\nevoopt: stopping after the running evaluations "
                            "(Ctrl-C again to quit at once)\n";
  ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
  (void)ignored;
}

void cli_signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART; /* the library's file writes must not see EINTR */
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
}

int cli_interrupted(void) {
  return stop_requested != 0;
}

double cli_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_progress_init(cli_progress *p, int quiet, int verbose) {
  memset(p, 0, sizeof *p);
  p->mode = quiet                   ? CLI_PROGRESS_NONE
            : isatty(STDERR_FILENO) ? CLI_PROGRESS_BAR
                                    : CLI_PROGRESS_LOG;
  p->verbose = verbose && !quiet;
  p->start = cli_now();
}

void cli_format_duration(double seconds, char *buf, size_t size) {
  if (!(seconds >= 0.0) || seconds > 1e8)
    seconds = 0.0;
  unsigned long s = (unsigned long)(seconds + 0.5);
  if (s >= 3600)
    snprintf(buf, size, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf(buf, size, "%lu:%02lu", s / 60, s % 60);
}

static int terminal_width(void) {
  struct winsize ws;
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
    return ws.ws_col;
  return 80;
}

void cli_progress_restart(cli_progress *p, size_t restored) {
  p->start = cli_now();
  p->restored = restored;
}

void cli_progress_bar(cli_progress *p, const char *label, size_t done,
                      size_t total, double best) {
  if (p->mode != CLI_PROGRESS_BAR || total == 0)
    return;
  enum { BAR = 20 };
  char bar[BAR + 1], elapsed[32], eta[32] = "?", best_text[32] = "";
  size_t filled = done >= total ? BAR : done * BAR / total;
  for (size_t i = 0; i < BAR; i++)
    bar[i] = i < filled ? '#' : '-';
  bar[BAR] = '\0';
  double spent = cli_now() - p->start;
  cli_format_duration(spent, elapsed, sizeof elapsed);
  size_t session = done > p->restored ? done - p->restored : 0;
  if (session > 0)
    cli_format_duration(spent / (double)session * (double)(total - done), eta,
                        sizeof eta);
  if (best == best) /* not NaN */
    snprintf(best_text, sizeof best_text, "  best %.4f", best);
  char line[512];
  int n = snprintf(line, sizeof line, "[%s] %s  %zu/%zu%s  %s  ETA %s", bar,
                   label, done, total, best_text, elapsed, eta);
  int width = terminal_width() - 1;
  if (n > width)
    n = width;
  fprintf(stderr, "\r%.*s\033[K", n, line);
  fflush(stderr);
  p->bar_drawn = 1;
}

void cli_progress_clear(cli_progress *p) {
  if (p->bar_drawn) {
    fputs("\r\033[K", stderr);
    fflush(stderr);
    p->bar_drawn = 0;
  }
}

void cli_progress_log(cli_progress *p, const char *fmt, ...) {
  if (p->mode == CLI_PROGRESS_NONE)
    return;
  cli_progress_clear(p);
  va_list ap;
  va_start(ap, fmt);
  fputs("evoopt: ", stderr);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  fflush(stderr);
}

void cli_json_emit(json_t *obj) {
  if (obj == NULL)
    return;
  char *text = json_dumps(obj, JSON_COMPACT);
  json_decref(obj);
  if (text == NULL)
    return;
  fputs(text, stdout);
  fputc('\n', stdout);
  fflush(stdout);
  free(text);
}
