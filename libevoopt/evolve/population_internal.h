/* The population's representation (population.h), shared by the
 * generation loop (population.c) and the checkpoint format (checkpoint.c).
 * Never installed. */
#ifndef EVOOPT_POPULATION_INTERNAL_H
#define EVOOPT_POPULATION_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/option_internal.h"
#include "dist/backend_internal.h"
#include "genome/breed_internal.h"
#include "evolve/cache_internal.h"
#include "evoopt/population.h"
#include "genome/genome_internal.h"
#include "train/report_internal.h"

/* Settings are kept in an array indexed by evo_pop_setting. */
#define EVO_POP_SETTING_COUNT 14
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

/* A job of steady-state evolution (steady.c, doc/algorithm.md §9.4):
 * created, perhaps in flight or back, not yet committed. Also a promotion
 * waiting for its job number (state unused there). */
typedef struct evo_steady_job {
  evo_genome genome;
  uint64_t origin; /* the job that created the genome: its evaluation seed */
  uint8_t rung;
  uint8_t state;           /* EVO_STEADY_* below */
  bool hit;                /* its result is in the cache */
  uint64_t cost_us;        /* the result's cost, core-microseconds */
  evo_individual *result;  /* back before its turn (NULL: none yet) */
} evo_steady_job;

enum {
  EVO_STEADY_CREATED = 0, /* to be submitted */
  EVO_STEADY_FLYING = 1,  /* submitted, not collected */
  EVO_STEADY_DONE = 2     /* a result (or a hit) waits for its turn */
};

/* Asynchronous successive halving's record of one rung: every result
 * committed there, failures included, and the successes' fitness. */
typedef struct evo_steady_rung {
  uint64_t n;
  double *sorted; /* highest first; m of cap */
  size_t m, cap;
} evo_steady_rung;

/* The state of a steady-state run: jobs 0..committed-1 are committed (the
 * last N of them in evo_population.ind, job j at j mod N); jobs
 * committed..created-1 exist, job k at jobs[k mod cap]. */
typedef struct evo_steady {
  uint64_t committed, created;
  evo_steady_job *jobs;
  size_t cap;
  evo_steady_job *queue; /* promotions waiting: queue[q_head..q_tail) */
  size_t q_head, q_tail, q_cap;
  evo_steady_rung rungs[EVO_POP_MAX_RUNGS - 1];
} evo_steady;

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
  evo_steady steady; /* with EVO_ALGO_STEADY */

  evo_pop_scratch scratch;
};

/* Allocates the individuals, hall of fame and scratch for the current
 * settings (run.c); used when a run starts and on resume. */
int evo_population_alloc_run(evo_population *pop);

/* Frees what evo_population_alloc_run() made (NULL-safe fields). */
void evo_population_free_run(evo_population *pop);

/* Appends an empty history entry and returns it through @p out. */
int evo_population_add_record(evo_population *pop, evo_gen_record **out);

/* One setting's name and range as population.h documents them (every
 * setting is an integer); false for an unknown setting (nothing set). */
bool evo_population_setting_spec(evo_pop_setting setting,
                                 evo_option_spec *out);

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

/* The GA's pieces that steady-state evolution shares (run.c):
 * ranks the current individuals into scratch (selection scores in
 * scratch.fitness, the order in scratch.ranked); records them as a
 * generation in the history and hall of fame; the last rung. */
void evo_population_rank(evo_population *pop);
int evo_population_record(evo_population *pop);
uint32_t evo_population_top_rung(const evo_population *pop);

/* How an evaluation loop (population_eval.c, steady.c) ends: the first
 * error wins, except that a cancel gives way to a failure (a stopped run
 * whose checkpoint could not be written reports EVO_EIO), with the message
 * it had; any error stops handing out work. */
typedef struct evo_pop_outcome {
  int rc;
  bool stopping;
  char message[EVO_POP_ERROR_CAP];
} evo_pop_outcome;

void evo_pop_outcome_merge(evo_pop_outcome *o, int now);
/* The loop's status, its message set again. */
int evo_pop_outcome_status(const evo_pop_outcome *o);

/* The evaluation pieces that steady-state evolution shares
 * (population_eval.c): a result's cost in whole core-microseconds; stores
 * what collect handed back in @p ind; a back end's failure as the step's
 * error; the default thread pool for at most @p n_jobs jobs at once. */
uint64_t evo_pop_cost_us(const evo_report *rep);
void evo_pop_take_result(evo_individual *ind, const evo_report *rep,
                         int status, const char *message);
int evo_pop_backend_failed(int rc, const char *call);
int evo_pop_default_backend(evo_population *pop, size_t n_jobs,
                            evo_backend **out);

/* The back end's side of an evaluation loop (population_eval.c, steady.c):
 * jobs handed out and not yet collected, whether the back end failed (the
 * loop then writes a checkpoint for the resume), the loop's outcome. */
typedef struct evo_pop_flight {
  evo_backend *be;
  size_t in_flight;
  bool failed;
  evo_pop_outcome o; /* o.stopping: no more submits */
} evo_pop_flight;

/* Whether one more job may go out: not stopping, a slot free, the compute
 * budget not spent. */
bool evo_pop_flight_room(const evo_population *pop, const evo_pop_flight *f);
/* Submits job @p job; false, the back end's failure recorded, when it
 * fails. */
bool evo_pop_flight_submit(evo_pop_flight *f, uint64_t job,
                           const evo_genome *g, uint64_t seed, uint32_t rung);
/* Collects one result into pop->scratch (report, message) and its job and
 * status through @p job and @p status; @p flying says whether a job is in
 * flight. False, the failure recorded, when the back end failed or handed
 * back a job not in flight: the jobs in flight are then abandoned. */
bool evo_pop_flight_collect(evo_population *pop, evo_pop_flight *f,
                            bool (*flying)(const evo_population *pop,
                                           uint64_t job),
                            uint64_t *job, int *status);

/* Steady-state evolution (steady.c, doc/algorithm.md §9.4). Allocates the
 * job ring for the settings (also on resume); creates generation 0's jobs
 * from the individuals once the run has started; commits results until
 * the current generation is recorded (or, @p to_end, the run is over),
 * the budget is spent or something stops it (statuses as
 * evo_population_step()); frees the state. */
int evo_steady_alloc(evo_population *pop);
int evo_steady_start(evo_population *pop);
int evo_steady_advance(evo_population *pop, bool to_end);
void evo_steady_free(evo_steady *s);
/* The evaluation seed of a genome created by job @p origin. */
uint64_t evo_steady_seed(const evo_population *pop, uint64_t origin);

/* Whether the compute budget (EVO_POP_BUDGET) is set and spent. */
bool evo_population_budget_spent(const evo_population *pop);

/* Writes the checkpoint to pop->ckpt_path (checkpoint.c). */
int evo_checkpoint_write(const evo_population *pop);

#endif
