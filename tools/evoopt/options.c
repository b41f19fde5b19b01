/* Option parsing shared by the commands: long options with "--name value"
 * or "--name=value", a few short ones, "--" to end them; task lists. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli_internal.h"

void cli_parser_init(cli_parser *p, const char *cmd, const cli_opt *opts,
                     int argc, char **argv) {
  p->argc = argc;
  p->argv = argv;
  p->next = 1; /* argv[0] is the command's name */
  p->only_positional = 0;
  p->cmd = cmd;
  p->opts = opts;
}

static const cli_opt *find_long(const cli_opt *opts, const char *name,
                                size_t len) {
  for (; opts->name != NULL; opts++)
    if (strlen(opts->name) == len && strncmp(opts->name, name, len) == 0)
      return opts;
  return NULL;
}

static const cli_opt *find_short(const cli_opt *opts, char c) {
  for (; opts->name != NULL; opts++)
    if (opts->short_name == c)
      return opts;
  return NULL;
}

/* The value of an option that takes one: after '=' or the next argument. */
static int take_value(cli_parser *p, const char *arg, const char *inline_value,
                      const char **value) {
  if (inline_value != NULL) {
    *value = inline_value;
    return 0;
  }
  if (p->next >= p->argc) {
    cli_usage_error(p->cmd, "option '%s' needs a value", arg);
    return -1;
  }
  *value = p->argv[p->next++];
  return 0;
}

int cli_parser_next(cli_parser *p, const char **value) {
  *value = NULL;
  if (p->next >= p->argc)
    return CLI_OPT_END;
  const char *arg = p->argv[p->next++];
  if (p->only_positional || arg[0] != '-' || arg[1] == '\0') {
    *value = arg;
    return CLI_OPT_POSITIONAL;
  }
  if (strcmp(arg, "--") == 0) {
    p->only_positional = 1;
    return cli_parser_next(p, value);
  }
  if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
    return CLI_OPT_HELP;
  const cli_opt *o = NULL;
  const char *inline_value = NULL;
  if (arg[1] == '-') {
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    o = find_long(p->opts, name,
                  eq != NULL ? (size_t)(eq - name) : strlen(name));
    inline_value = eq != NULL ? eq + 1 : NULL;
  } else if (arg[2] == '\0') {
    o = find_short(p->opts, arg[1]);
  }
  if (o == NULL) {
    cli_usage_error(p->cmd, "unknown option '%s' for 'evoopt %s'", arg, p->cmd);
    return CLI_OPT_ERROR;
  }
  if (!o->has_value) {
    if (inline_value != NULL) {
      cli_usage_error(p->cmd, "option '--%s' takes no value", o->name);
      return CLI_OPT_ERROR;
    }
    return o->id;
  }
  if (take_value(p, arg, inline_value, value) != 0)
    return CLI_OPT_ERROR;
  return o->id;
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
