/* The population's representation (population.h), shared by the
 * generation loop (population.c) and the checkpoint format (checkpoint.c).
 * Never installed. */
#ifndef EVOOPT_POPULATION_INTERNAL_H
#define EVOOPT_POPULATION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dist/backend_internal.h"
#include "genome/breed_internal.h"
#include "evolve/cache_internal.h"
#include "evoopt/population.h"
#include "genome/genome_internal.h"
#include "train/report_internal.h"

/* Settings are kept in an array indexed by evo_pop_setting. */
#define EVO_POP_SETTING_COUNT 13
/* Values of one history entry, indexed by evo_history_key. */
#define EVO_HIST_COUNT (EVO_HIST_EVALUATIONS + 1)
/* Room for a failing callback's evo_last_error() (error.c keeps 1024). */
#define EVO_POP_ERROR_CAP 1024
/* The most evaluation rungs (EVO_POP_RUNGS): the evaluator's 7 cheap
 * ones and the full one. */
#define EVO_POP_MAX_RUNGS 8

/* One individual of the current generation. Only the population's thread
 * writes it (results come through the back end's collect); a back end
 * reads the genome of a job in flight. */
typedef struct evo_individual {
  evo_genome genome;
  bool evaluated;
  bool cached;    /* the result came from the cache (a hit) */
  uint8_t rung;   /* the rung of the result, or the one it waits for */
  double fitness; /* -1 when the callback failed */
  int status;     /* the callback's status, EVO_OK when it succeeded */
  evo_report report;
  char error[EVO_POP_ERROR_CAP]; /* its message when status < 0 */
} evo_individual;

/* One generation's history entry. */
typedef struct evo_gen_record {
  double values[EVO_HIST_COUNT]; /* indexed by evo_history_key */
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
 * so that a generation allocates nothing but its history entry (and cache
 * entries). The evaluation plan (population_eval.c) has one entry per
 * individual; keys, hashes and the group table exist only with the cache. */
typedef struct evo_pop_scratch {
  evo_genome *next;     /* the generation being bred */
  double *fitness;      /* the fitness of each individual, in order */
  evo_ranked *ranked;   /* ranking for elites and the median */
  size_t *perm;         /* tournament draws */
  size_t *todo;         /* FIFO of the jobs to submit */
  uint8_t *plan;        /* what happens to each individual (PLAN_*) */
  size_t *group_next;   /* the next individual with the same key */
  size_t *group_tail;   /* a group's last individual, kept at its first */
  uint8_t *keyed;       /* has a key (with the cache, a valid genome) */
  evo_genome *keys;     /* each individual's key genome (with the cache) */
  uint64_t *hashes;     /* ... and its hash */
  size_t *table;        /* groups by key: first individual + 1, 0 empty */
  size_t table_size;    /* a power of two, at least twice the size */
  evo_report *report;   /* what collect fills */
  char *message;        /* EVO_POP_ERROR_CAP bytes, ditto */
} evo_pop_scratch;

struct evo_population {
  int64_t settings[EVO_POP_SETTING_COUNT];
  evo_genome *initial; /* seeds that open generation 0 */
  size_t n_initial;
  evo_fitness_fn fitness_fn;           /* at most one of the two is set */
  evo_fitness_rung_fn fitness_rung_fn; /* (multi-fidelity search) */
  void *fitness_user;
  evo_backend *backend; /* borrowed; NULL: a thread pool per evaluation */
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
  uint32_t phase;       /* the rung this generation evaluates now */
  uint64_t compute_us;  /* the costs recorded, in core-microseconds (an
                           integer, so the sum is the same in any order) */
  uint64_t evaluations; /* evaluations run (not cache hits), every rung */

  evo_gen_record **history; /* one allocation per entry: pointers handed
                               out stay valid until the population dies */
  size_t n_history, cap_history;
  evo_hof_entry *hof; /* settings[EVO_POP_HALL_OF_FAME] slots */
  size_t n_hof;
  evo_cache cache; /* with EVO_POP_CACHE; saved in the checkpoint */

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

/* Evaluates the individuals of the current generation not yet evaluated
 * (population_eval.c): cache hits first, then the rest through the back
 * end (pop->backend, or a thread pool of pop->settings[EVO_POP_WORKERS]
 * threads). Returns EVO_OK when all are, else EVO_ECANCELED, EVO_EIO,
 * EVO_ETHREAD, EVO_ENOMEM or a back end's status after recording every
 * result that came back. */
int evo_population_evaluate(evo_population *pop);

/* Whether the compute budget (EVO_POP_BUDGET) is set and spent. */
bool evo_population_budget_spent(const evo_population *pop);

/* Writes the checkpoint to pop->ckpt_path (checkpoint.c). */
int evo_checkpoint_write(const evo_population *pop);

#endif
