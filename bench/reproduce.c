/* Reproduces doc/algorithm.md §6's final table through the public API: each
 * genome trained on each task for each seed, fitness per seed, the mean over
 * seeds, then over tasks.
 *
 *   reproduce [--steps 1000] [--seeds 3] [--workers 2] [--tasks a,b,c]
 *             [--data DIR] GENOME...
 *
 * GENOME is a preset name or a JSON file (default: adam paper-evolved).
 * Runs are independent, so they go to --workers threads, each with one
 * BLAS thread. Prints a markdown table with per-seed values. */
#include <evoopt/evoopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ITEMS 16

typedef struct job {
  size_t genome, task, seed;
  double fitness, accuracy, seconds;
  int status;
} job;

static struct {
  evo_genome *genomes[MAX_ITEMS];
  const char *genome_names[MAX_ITEMS];
  evo_task *tasks[MAX_ITEMS];
  size_t n_genomes, n_tasks, n_seeds;
  uint64_t steps;
  job *jobs;
  size_t n_jobs, next;
  pthread_mutex_t lock;
} ctx = {.steps = 1000, .n_seeds = 3, .lock = PTHREAD_MUTEX_INITIALIZER};

static void *worker(void *arg) {
  (void)arg;
  evo_train_result *r = NULL;
  if (evo_train_result_new(&r) != EVO_OK)
    return NULL;
  for (;;) {
    pthread_mutex_lock(&ctx.lock);
    size_t i = ctx.next++;
    pthread_mutex_unlock(&ctx.lock);
    if (i >= ctx.n_jobs)
      break;
    job *j = &ctx.jobs[i];
    j->status = evo_task_train(ctx.tasks[j->task], ctx.genomes[j->genome],
                               ctx.steps, (uint64_t)j->seed, r);
    if (j->status != EVO_OK) {
      fprintf(stderr, "reproduce: %s on %s seed %zu: %s\n",
              ctx.genome_names[j->genome], evo_task_name(ctx.tasks[j->task]),
              j->seed, evo_last_error());
      continue;
    }
    evo_train_result_get(r, EVO_RESULT_FITNESS, &j->fitness);
    evo_train_result_get(r, EVO_RESULT_ACCURACY, &j->accuracy);
    evo_train_result_get(r, EVO_RESULT_SECONDS, &j->seconds);
    fprintf(stderr, "  %-14s %-14s seed %zu: fitness %.4f (acc %.4f) %.1f s\n",
            ctx.genome_names[j->genome], evo_task_name(ctx.tasks[j->task]),
            j->seed, j->fitness, j->accuracy, j->seconds);
  }
  evo_train_result_free(r);
  return NULL;
}

static int load_genome(const char *name) {
  evo_genome *g = NULL;
  int rc = strchr(name, '.') || strchr(name, '/') ? evo_genome_load(&g, name)
                                                   : evo_genome_preset(&g, name);
  if (rc != EVO_OK) {
    fprintf(stderr, "reproduce: genome '%s': %s\n", name, evo_last_error());
    return 1;
  }
  ctx.genomes[ctx.n_genomes] = g;
  ctx.genome_names[ctx.n_genomes++] = name;
  return 0;
}

static int open_tasks(char *list, const char *data) {
  for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
    if (ctx.n_tasks == MAX_ITEMS)
      return 1;
    if (evo_task_open(&ctx.tasks[ctx.n_tasks], tok, data) != EVO_OK) {
      fprintf(stderr, "reproduce: task '%s': %s\n", tok, evo_last_error());
      return 1;
    }
    fprintf(stderr, "%s\n", evo_task_describe(ctx.tasks[ctx.n_tasks]));
    ctx.n_tasks++;
  }
  return 0;
}

static void print_table(void) {
  printf("| optimizer |");
  for (size_t t = 0; t < ctx.n_tasks; t++)
    printf(" %s |", evo_task_name(ctx.tasks[t]));
  printf(" overall |\n|---|");
  for (size_t t = 0; t <= ctx.n_tasks; t++)
    printf("---:|");
  printf("\n");
  for (size_t g = 0; g < ctx.n_genomes; g++) {
    double overall = 0;
    printf("| %s |", ctx.genome_names[g]);
    for (size_t t = 0; t < ctx.n_tasks; t++) {
      double sum = 0;
      for (size_t s = 0; s < ctx.n_seeds; s++)
        sum += ctx.jobs[(g * ctx.n_tasks + t) * ctx.n_seeds + s].fitness;
      printf(" %.4f |", sum / (double)ctx.n_seeds);
      overall += sum / (double)ctx.n_seeds;
    }
    printf(" %.4f |\n", overall / (double)ctx.n_tasks);
  }
  printf("\nPer seed (fitness / test accuracy):\n\n");
  for (size_t i = 0; i < ctx.n_jobs; i++) {
    job *j = &ctx.jobs[i];
    printf("- %s, %s, seed %zu: %.4f / %.4f (%.1f s)\n",
           ctx.genome_names[j->genome], evo_task_name(ctx.tasks[j->task]),
           j->seed, j->fitness, j->accuracy, j->seconds);
  }
}

int main(int argc, char **argv) {
  char tasks[256] = "fashion_mnist,cifar10,mnist";
  const char *data = NULL;
  int workers = 2, rc = 0;
  for (int i = 1; i < argc; i++) {
    int more = i + 1 < argc;
    if (strcmp(argv[i], "--steps") == 0 && more)
      ctx.steps = strtoull(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--seeds") == 0 && more)
      ctx.n_seeds = strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--workers") == 0 && more)
      workers = atoi(argv[++i]);
    else if (strcmp(argv[i], "--tasks") == 0 && more)
      snprintf(tasks, sizeof tasks, "%s", argv[++i]);
    else if (strcmp(argv[i], "--data") == 0 && more)
      data = argv[++i];
    else if (argv[i][0] == '-' || ctx.n_genomes == MAX_ITEMS) {
      fprintf(stderr, "usage: reproduce [--steps N] [--seeds N] [--workers N] "
                      "[--tasks a,b] [--data DIR] GENOME...\n");
      return 2;
    } else if (load_genome(argv[i]))
      return 1;
  }
  if (ctx.n_genomes == 0 && (load_genome("adam") || load_genome("paper-evolved")))
    return 1;
  if (workers < 1 || ctx.n_seeds < 1 || ctx.steps < 1 || open_tasks(tasks, data))
    return 1;
  if (workers > 1)
    evo_blas_set_threads(1);
  ctx.n_jobs = ctx.n_genomes * ctx.n_tasks * ctx.n_seeds;
  ctx.jobs = calloc(ctx.n_jobs, sizeof *ctx.jobs);
  if (ctx.jobs == NULL)
    return 1;
  for (size_t i = 0; i < ctx.n_jobs; i++)
    ctx.jobs[i] = (job){.genome = i / (ctx.n_tasks * ctx.n_seeds),
                        .task = (i / ctx.n_seeds) % ctx.n_tasks,
                        .seed = i % ctx.n_seeds};
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  pthread_t th[64];
  int n_threads = workers > 64 ? 64 : workers;
  for (int i = 0; i < n_threads; i++)
    pthread_create(&th[i], NULL, worker, NULL);
  for (int i = 0; i < n_threads; i++)
    pthread_join(th[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  for (size_t i = 0; i < ctx.n_jobs; i++)
    rc |= ctx.jobs[i].status != EVO_OK;
  printf("%llu steps, %zu seeds, %d workers, %.0f s wall\n\n",
         (unsigned long long)ctx.steps, ctx.n_seeds, workers,
         (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
  print_table();
  for (size_t i = 0; i < ctx.n_genomes; i++)
    evo_genome_free(ctx.genomes[i]);
  for (size_t i = 0; i < ctx.n_tasks; i++)
    evo_task_free(ctx.tasks[i]);
  free(ctx.jobs);
  return rc;
}
