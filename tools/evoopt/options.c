/* Option parsing shared by the commands: getopt_long (long options with
 * "--name value" or "--name=value", short ones, "-h"/"--help", "--" to end
 * them) in GNU's return-in-order mode, so that positional arguments come
 * back in their place among the options; task lists. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"

/* getopt_long's value for the long option at index i of the table (the
 * last one is --help): above every character, so that it never collides
 * with a short option, 1 (a positional argument), '?' or ':'. */
#define LONG_VAL 256

void cli_parser_init(cli_parser *p, const char *cmd, const cli_opt *opts,
                     int argc, char **argv) {
  memset(p, 0, sizeof *p);
  p->argc = argc;
  p->argv = argv;
  p->cmd = cmd;
  p->opts = opts;
  /* "-": non-options returned in order as 1; ":": a missing value is ':'. */
  size_t s = 0;
  p->shortopts[s++] = '-';
  p->shortopts[s++] = ':';
  p->shortopts[s++] = 'h';
  size_t n = 0;
  for (; opts[n].name != NULL && n < CLI_MAX_OPTS; n++) {
    p->longopts[n] = (struct option){opts[n].name,
                                     opts[n].has_value ? required_argument
                                                       : no_argument,
                                     NULL, LONG_VAL + (int)n};
    if (opts[n].short_name != 0) {
      p->shortopts[s++] = opts[n].short_name;
      if (opts[n].has_value)
        p->shortopts[s++] = ':';
    }
  }
  p->too_many = opts[n].name != NULL;
  p->n_opts = n;
  p->longopts[n] = (struct option){"help", no_argument, NULL, LONG_VAL + (int)n};
  /* longopts[n + 1] and shortopts[s] stay zero: the ends. */
  optind = 0; /* glibc's full reset: a new argument vector */
  opterr = 0; /* the messages are ours */
}

static const cli_opt *find_short(const cli_opt *opts, int c) {
  for (; opts->name != NULL; opts++)
    if (opts->short_name == c)
      return opts;
  return NULL;
}

/* Whether @p arg ("--name" or "--name=value") names @p name in full:
 * getopt_long also takes an unambiguous prefix, which this program does
 * not (a prefix that works today would change meaning, or stop working,
 * when an option is added). */
static int exact_name(const char *arg, const char *name) {
  size_t len = strcspn(arg + 2, "=");
  return strlen(name) == len && strncmp(arg + 2, name, len) == 0;
}

static int unknown(const cli_parser *p, const char *arg, int c) {
  if (arg[1] == '-' || arg[2] == '\0')
    cli_usage_error(p->cmd, "unknown option '%s' for 'evoopt %s'", arg,
                    p->cmd);
  else /* a short option in a group ("-qx") */
    cli_usage_error(p->cmd, "unknown option '-%c' in '%s' for 'evoopt %s'",
                    c, arg, p->cmd);
  return CLI_OPT_ERROR;
}

/* getopt_long's answer @p c for the argument argv[@p at] as the parser's:
 * an option's id, CLI_OPT_HELP, CLI_OPT_POSITIONAL or CLI_OPT_ERROR (the
 * message printed). */
static int answer(cli_parser *p, int c, int at, const char **value) {
  const char *arg = p->argv[at];
  if (c == 1) {
    *value = optarg;
    return CLI_OPT_POSITIONAL;
  }
  /* The long option concerned, also when getopt_long refused it. */
  int code = c == '?' || c == ':' ? optopt : c;
  const struct option *lo =
      code >= LONG_VAL ? &p->longopts[code - LONG_VAL] : NULL;
  if ((lo != NULL && !exact_name(arg, lo->name)) ||
      (c == '?' && lo == NULL))
    return unknown(p, arg, optopt);
  if (c == '?') {
    cli_usage_error(p->cmd, "option '--%s' takes no value", lo->name);
    return CLI_OPT_ERROR;
  }
  if (c == ':') {
    if (lo != NULL)
      cli_usage_error(p->cmd, "option '--%s' needs a value", lo->name);
    else
      cli_usage_error(p->cmd, "option '-%c' needs a value", optopt);
    return CLI_OPT_ERROR;
  }
  if (c == 'h' || code == LONG_VAL + (int)p->n_opts)
    return CLI_OPT_HELP;
  const cli_opt *o = lo != NULL ? &p->opts[code - LONG_VAL]
                                : find_short(p->opts, c);
  if (o->has_value)
    *value = optarg;
  return o->id;
}

int cli_parser_next(cli_parser *p, const char **value) {
  *value = NULL;
  if (p->too_many) { /* a table this program got wrong, not the user */
    p->too_many = 0;
    cli_error("'evoopt %s' has more than %d options", p->cmd, CLI_MAX_OPTS);
    return CLI_OPT_ERROR;
  }
  if (!p->only_positional) {
    int at = optind > 0 ? optind : 1;
    int c = getopt_long(p->argc, p->argv, p->shortopts, p->longopts, NULL);
    if (c != -1)
      return answer(p, c, at, value);
    /* The end, or "--": what follows it is positional. */
    p->only_positional = 1;
    p->next = optind;
  }
  if (p->next >= p->argc)
    return CLI_OPT_END;
  *value = p->argv[p->next++];
  return CLI_OPT_POSITIONAL;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *text,
                  uint64_t min, uint64_t max, uint64_t *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (text[0] == '\0' || text[0] == '-' || text[0] == '+' || *end != '\0' ||
      errno != 0 || v < min || v > max) {
    cli_usage_error(
        cmd, "option '--%s' needs a whole number in %llu..%llu, got '%s'", opt,
        (unsigned long long)min, (unsigned long long)max, text);
    return -1;
  }
  *out = (uint64_t)v;
  return 0;
}

int cli_tasks_parse(cli_tasks *t, const char *cmd, const char *list) {
  memset(t, 0, sizeof *t);
  const char *s = list;
  for (;;) {
    const char *comma = strchr(s, ',');
    size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);
    if (len == 0 || len >= sizeof t->names[0]) {
      cli_usage_error(cmd, "bad task list '%s': %s", list,
                      len == 0 ? "empty task name" : "task name too long");
      return -1;
    }
    if (t->n == CLI_MAX_TASKS) {
      cli_usage_error(cmd, "at most %d tasks", CLI_MAX_TASKS);
      return -1;
    }
    memcpy(t->names[t->n], s, len);
    t->names[t->n][len] = '\0';
    for (size_t i = 0; i < t->n; i++)
      if (strcmp(t->names[i], t->names[t->n]) == 0) {
        cli_usage_error(cmd, "task '%s' is listed twice", t->names[i]);
        return -1;
      }
    t->n++;
    if (comma == NULL)
      return 0;
    s = comma + 1;
  }
}

void cli_tasks_join(const cli_tasks *t, char *buf, size_t size) {
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < t->n && used < size; i++) {
    int n = snprintf(buf + used, size - used, "%s%s", i > 0 ? "," : "",
                     t->names[i]);
    if (n < 0)
      return;
    used += (size_t)n;
  }
}

int cli_tasks_open(cli_tasks *t, const char *data) {
  for (size_t i = 0; i < t->n; i++) {
    int rc = evo_task_open(&t->tasks[i], t->names[i], data);
    if (rc != EVO_OK) {
      t->tasks[i] = NULL;
      cli_tasks_close(t);
      return cli_lib_error(rc, "cannot open task '%s'", t->names[i]);
    }
  }
  return CLI_EXIT_OK;
}

void cli_tasks_close(cli_tasks *t) {
  for (size_t i = 0; i < t->n; i++) {
    evo_task_free(t->tasks[i]);
    t->tasks[i] = NULL;
  }
}

unsigned cli_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n < 1 ? 1u : (unsigned)n;
}
