/* The program's messages on stderr: errors, usage errors with a hint to
 * `evoopt help`, notes; under MPI they name the rank they come from. Every
 * other file of the program reports through these. */
#include <stdio.h>
#include <string.h>

#include "cli_internal.h"

/* The rank: set once at start-up, before any thread starts. */
static int cli_rank = 0;

void cli_set_rank(int rank) {
  cli_rank = rank;
}

static void vprint(const char *prefix, const char *fmt, va_list ap) {
  fflush(stdout);
  if (cli_rank > 0)
    fprintf(stderr, "evoopt[rank %d]: %s", cli_rank, prefix);
  else
    fprintf(stderr, "evoopt: %s", prefix);
  vfprintf(stderr, fmt, ap);
}

int cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint("error: ", fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  return CLI_EXIT_RUNTIME;
}

int cli_lib_error(int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint("error: ", fmt, ap);
  va_end(ap);
  const char *msg = evo_last_error();
  fprintf(stderr, ": %s\n",
          msg != NULL && msg[0] != '\0' ? msg : evo_status_str(status));
  return CLI_EXIT_RUNTIME;
}

int cli_lib_file_error(int status, const char *path, const char *fmt, ...) {
  const char *msg = evo_last_error();
  if (msg == NULL || msg[0] == '\0')
    msg = evo_status_str(status);
  char quoted[CLI_PATH_MAX + 2];
  snprintf(quoted, sizeof quoted, "'%s'", path);
  va_list ap;
  va_start(ap, fmt);
  vprint("error: ", fmt, ap);
  va_end(ap);
  if (strstr(msg, quoted) != NULL) /* the library named the file */
    fprintf(stderr, ": %s\n", msg);
  else
    fprintf(stderr, " %s: %s\n", quoted, msg);
  return CLI_EXIT_RUNTIME;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  if (cli_rank > 0) /* every rank parses the same line: rank 0 says it */
    return CLI_EXIT_USAGE;
  va_list ap;
  va_start(ap, fmt);
  vprint("error: ", fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry 'evoopt help%s%s' for more information.\n",
          cmd != NULL ? " " : "", cmd != NULL ? cmd : "");
  return CLI_EXIT_USAGE;
}

void cli_note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vprint("", fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}
