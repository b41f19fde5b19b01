/* The population's representation (population.h), shared by the
 * generation loop (population.c) and the checkpoint format (checkpoint.c).
 * Never installed. */
#ifndef EVOOPT_POPULATION_INTERNAL_H
#define EVOOPT_POPULATION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "breed_internal.h"
#include "evoopt/population.h"
#include "genome_internal.h"
#include "report_internal.h"

/* Settings are kept in an array indexed by evo_pop_setting. */
#define EVO_POP_SETTING_COUNT 8
/* Room for a failing callback's evo_last_error() (error.c keeps 1024). */
#define EVO_POP_ERROR_CAP 1024

/* One individual of the current generation. A worker thread writes the
 * result fields (fitness, status, report, error) of the individual it
 * evaluates; the population's thread reads them only once it has set
 * `evaluated`, after taking the result from the worker. */
typedef struct evo_individual {
  evo_genome genome;
  bool evaluated;
  double fitness; /* -1 when the callback failed */
  int status;     /* the callback's status, EVO_OK when it succeeded */
  evo_report report;
  char error[EVO_POP_ERROR_CAP]; /* its message when status < 0 */
} evo_individual;

/* One generation's history entry. */
typedef struct evo_gen_record {
  double values[EVO_HIST_CACHE_HITS + 1]; /* indexed by evo_history_key */
  evo_genome best;
  evo_report best_report;
  uint32_t terms[EVO_TERM_COUNT];
} evo_gen_record;

/* A hall-of-fame entry. */
typedef struct evo_hof_entry {
  evo_genome genome;
  double fitness;
  uint64_t generation; /* first seen */
} evo_hof_entry;

/* Scratch buffers sized by the population, allocated when the run starts,
 * so that a generation allocates nothing but its history entry. */
typedef struct evo_pop_scratch {
  evo_genome *next;     /* the generation being bred */
  double *fitness;      /* the fitness of each individual, in order */
  evo_ranked *ranked;   /* ranking for elites and the median */
  size_t *perm;         /* tournament draws */
  size_t *todo, *done;  /* the worker pool's work and result queues */
} evo_pop_scratch;

struct evo_population {
  int64_t settings[EVO_POP_SETTING_COUNT];
  evo_genome *initial; /* seeds that open generation 0 */
  size_t n_initial;
  evo_fitness_fn fitness_fn;
  void *fitness_user;
  evo_progress_fn progress_fn;
  void *progress_user;
  char *ckpt_path; /* NULL: no checkpoints */
  char *ckpt_tag;  /* never NULL once set ("" by default) */

  bool started; /* generation 0 exists; settings are frozen */
  bool busy;    /* inside step(): refuses re-entry from a callback */
  size_t generation;
  evo_individual *ind; /* settings[EVO_POP_SIZE] entries once started */
  size_t n_ind;
  size_t n_evaluated;

  evo_gen_record **history; /* one allocation per entry: pointers handed
                               out stay valid until the population dies */
  size_t n_history, cap_history;
  evo_hof_entry *hof; /* settings[EVO_POP_HALL_OF_FAME] slots */
  size_t n_hof;

  evo_pop_scratch scratch;
};

/* Allocates the individuals, hall of fame and scratch for the current
 * settings (population.c); used when a run starts and on resume. */
int evo_population_alloc_run(evo_population *pop);

/* Appends an empty history entry and returns it through @p out. */
int evo_population_add_record(evo_population *pop, evo_gen_record **out);

/* Checks one setting's value against the ranges of evo_pop_setting. */
int evo_population_check_setting(evo_pop_setting setting, int64_t value);

/* Checks that the settings fit together (elites and tournament against
 * the size, initial genomes against the size). */
int evo_population_check_settings(const evo_population *pop);

/* Evaluates the individuals of the current generation not yet evaluated,
 * on pop->settings[EVO_POP_WORKERS] threads (population_eval.c). Returns
 * EVO_OK when all are, else EVO_ECANCELED, EVO_EIO or EVO_ETHREAD after
 * recording every evaluation that finished. */
int evo_population_evaluate(evo_population *pop);

/* Writes the checkpoint to pop->ckpt_path (checkpoint.c). */
int evo_checkpoint_write(const evo_population *pop);

#endif
