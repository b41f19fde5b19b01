/* evoopt: evolve, evaluate, compare, show and plot optimizer genomes from
 * the command line (doc/evoopt.1). With no arguments it runs `evolve` with
 * the `quick` preset on the bundled digits task. */
#include <stdio.h>
#include <string.h>

#include "cli_internal.h"
#include "data_internal.h"

typedef struct command {
  const char *name;
  int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"evolve", cli_cmd_evolve},   {"eval", cli_cmd_eval},
    {"compare", cli_cmd_compare}, {"show", cli_cmd_show},
    {"plot", cli_cmd_plot},       {"help", cli_cmd_help},
    {"data", cli_cmd_data},       {"ablate", cli_cmd_ablate},
};

/* Only evolve shares its work between MPI processes; any other command
 * would run once per process. */
static int not_under_mpi(const char *cmd) {
  int rank = 0, size = 1;
  if (strcmp(cmd, "evolve") == 0 || strcmp(cmd, "help") == 0 ||
      !cli_mpi_env(&rank, &size) || size == 1)
    return 0;
  cli_set_rank(rank);
  cli_usage_error(NULL,
                  "'evoopt %s' does not use MPI: run it without mpirun "
                  "(only 'evoopt evolve' shares its work between %d "
                  "processes)",
                  cmd, size);
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    /* The README's main job: a few minutes on the bundled digits. */
    char *quick[] = {"evolve", "--preset", "quick", NULL};
    return cli_cmd_evolve(3, quick);
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0 ||
      strcmp(cmd, "version") == 0) {
    printf("evoopt %s\n", evo_version_string());
    return CLI_EXIT_OK;
  }
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
    cli_help_print(stdout, NULL);
    return CLI_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp(cmd, commands[i].name) == 0)
      return not_under_mpi(cmd) ? CLI_EXIT_USAGE
                                : commands[i].run(argc - 1, argv + 1);
  if (cmd[0] == '-')
    return cli_usage_error(NULL, "unknown option '%s' (a command comes first)",
                           cmd);
  return cli_usage_error(NULL, "unknown command '%s'", cmd);
}
