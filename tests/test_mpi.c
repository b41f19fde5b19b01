/* The MPI back end (mpi.h). Built with MPI, it runs under
 * `mpirun -np 3`: rank 0 runs the Check suite (without forking: MPI does
 * not survive a fork), ranks 1 and 2 serve a pure fitness written here, on
 * 2 threads each. Messages carry genomes and reports bit for bit; a
 * population on MPI ends as the same population on threads; results driven
 * through evo_backend_submit() and evo_backend_collect() equal the fitness
 * computed here; misuse and another fitness setup are refused. Built
 * without MPI, every call must say EVO_EUNSUPPORTED. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/common_internal.h"
#include "evoopt/mpi.h"
#include "evoopt/population.h"
#include "pop_testlib.h"

#ifdef EVO_TEST_MPI
#include "dist/mpi_internal.h"
#include "train/report_internal.h"

#define TAG "test_mpi: fitness v1"
#define WORKER_THREADS 2
#define SLOTS (2 * WORKER_THREADS) /* ranks 1 and 2 */

/* ---- a pure fitness, computed alike on every rank ------------------------ */

static double gene(const evo_genome *g, evo_gene which) {
  double v = 0.0;
  evo_genome_get(g, which, &v);
  return v;
}

/* A function of the genes and the seed that takes 0 to 3 ms (so results
 * come back out of order); genomes with four terms fail, with a message.
 * No ck_assert: the workers run it outside the test runner. */
static int fitness(void *user, const evo_genome *g, uint64_t seed,
                   evo_report *report) {
  (void)user;
  double lr = gene(g, EVO_GENE_LR_LOG10), b2 = gene(g, EVO_GENE_BETA2);
  struct timespec nap = {0, (long)(fmod(fabs(lr) * 7919.0, 3.0) * 1e6)};
  nanosleep(&nap, NULL);
  if (evo_genome_term_count(g) == 4)
    return evo_set_error(EVO_ERANGE, "four terms, seed %llu",
                         (unsigned long long)seed);
  double f = sin(lr * 3.1) * 0.3 + 0.5 - (b2 - 0.99) * (b2 - 0.99) +
             1e-7 * (double)(seed % 1009);
  evo_report_add_task(report, "a", f + 1e-3);
  evo_report_add_task(report, "b", f - 1e-3);
  return evo_report_set_fitness(report, f);
}

/* ---- messages
 * ---------------------------------------------------------------- */

static void inbox_from(evo_mpi_inbox *in, const evo_wbuf *w, size_t size) {
  in->data = w->data;
  in->size = size;
  in->source = 1;
}

START_TEST(test_job_round_trip) {
  /* Genes with no short decimal form must come back with the same bits. */
  evo_genome *g = NULL, *back = NULL;
  ck_assert_int_eq(evo_genome_random(&g, 12345), EVO_OK);
  ck_assert_int_eq(evo_genome_set(g, EVO_GENE_BETA1, 0.1 + 0.2), EVO_OK);
  evo_wbuf w = {0};
  ck_assert_int_eq(evo_mpi_put_job(&w, 77, UINT64_MAX - 3, g), EVO_OK);
  evo_mpi_inbox in = {0};
  inbox_from(&in, &w, w.size);
  uint64_t ticket = 0, seed = 0;
  char *json = NULL;
  ck_assert_int_eq(evo_mpi_get_job(&in, &ticket, &seed, &json), EVO_OK);
  ck_assert_uint_eq(ticket, 77);
  ck_assert(seed == UINT64_MAX - 3);
  ck_assert_int_eq(evo_genome_from_json(&back, json), EVO_OK);
  ck_assert_int_eq(evo_genome_equal(g, back), 1);
  ck_assert(pt_same_bits(gene(back, EVO_GENE_BETA1), 0.1 + 0.2));
  free(json);
  /* Every shorter message is refused. */
  for (size_t n = 0; n < w.size; n++) {
    inbox_from(&in, &w, n);
    ck_assert_int_eq(evo_mpi_get_job(&in, &ticket, &seed, &json), EVO_EIO);
    ck_assert_ptr_null(json);
  }
  evo_wbuf_free(&w);
  evo_genome_free(g);
  evo_genome_free(back);
}
END_TEST

START_TEST(test_result_round_trip) {
  evo_report rep, back;
  evo_report_clear(&rep);
  ck_assert_int_eq(evo_report_add_task(&rep, "fashion_mnist", 1.0 / 3.0),
                   EVO_OK);
  ck_assert_int_eq(evo_report_add_task(&rep, "mnist", -0.0), EVO_OK);
  rep.fitness = nextafter(0.7, 1.0);
  evo_wbuf w = {0};
  evo_mpi_put_result(&w, 9, EVO_EDIVERGED, &rep, "lost at step 12");
  evo_mpi_inbox in = {0};
  inbox_from(&in, &w, w.size);
  uint64_t ticket = 0;
  int status = 0;
  char message[EVO_BACKEND_MESSAGE_CAP];
  ck_assert_int_eq(
      evo_mpi_get_result(&in, &ticket, &status, &back, message, sizeof message),
      EVO_OK);
  ck_assert_uint_eq(ticket, 9);
  ck_assert_int_eq(status, EVO_EDIVERGED);
  ck_assert_str_eq(message, "lost at step 12");
  pt_assert_same_report(&rep, &back);
  ck_assert(pt_same_bits(back.task_fitness[1], -0.0));
  /* A garbled task count is refused, not trusted. */
  w.data[8 + 4 + 8] = 0xff;
  ck_assert_int_eq(
      evo_mpi_get_result(&in, &ticket, &status, &back, message, sizeof message),
      EVO_EIO);
  evo_wbuf_free(&w);
}
END_TEST

/* ---- the back end
 * ------------------------------------------------------------ */

static evo_population *small_population(uint64_t seed) {
  evo_population *pop = NULL;
  ck_assert_int_eq(evo_population_new(&pop), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_SIZE, 12), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_GENERATIONS, 4), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_ELITES, 2), EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_RUN_SEED, (int64_t)seed),
                   EVO_OK);
  ck_assert_int_eq(evo_population_set(pop, EVO_POP_CACHE, 2), EVO_OK);
  ck_assert_int_eq(evo_population_set_fitness(pop, fitness, NULL), EVO_OK);
  return pop;
}

START_TEST(test_population_as_threads) {
  evo_backend *b = NULL;
  ck_assert_int_eq(evo_backend_mpi_new(&b, 60.0, TAG), EVO_OK);
  ck_assert_uint_eq(evo_backend_slots(b), SLOTS);
  for (uint64_t seed = 1; seed <= 3; seed++) {
    evo_population *on_mpi = small_population(seed);
    evo_population *on_threads = small_population(seed);
    ck_assert_int_eq(evo_population_set(on_threads, EVO_POP_WORKERS, 3),
                     EVO_OK);
    ck_assert_int_eq(evo_population_set_backend(on_mpi, b), EVO_OK);
    ck_assert_int_eq(evo_population_run(on_mpi), EVO_OK);
    ck_assert_int_eq(evo_population_run(on_threads), EVO_OK);
    pt_assert_same_run(on_mpi, on_threads, true);
    evo_population_free(on_mpi);
    evo_population_free(on_threads);
  }
  evo_backend_free(b);
}
END_TEST

/* Submits @p n random genomes (some with four terms) and collects them:
 * each result must be the fitness computed here, bit for bit. */
static void drive(evo_backend *b, size_t n, uint64_t salt) {
  evo_genome *g[SLOTS] = {NULL};
  bool seen[SLOTS] = {false};
  for (size_t i = 0; i < n; i++) {
    ck_assert_int_eq(evo_genome_random(&g[i], salt * 100 + i), EVO_OK);
    ck_assert_int_eq(evo_backend_submit(b, 10 + i, g[i], salt + i), EVO_OK);
  }
  char message[EVO_BACKEND_MESSAGE_CAP];
  evo_report *got = NULL, *want = NULL;
  ck_assert_int_eq(evo_report_new(&got), EVO_OK);
  ck_assert_int_eq(evo_report_new(&want), EVO_OK);
  for (size_t k = 0; k < n; k++) {
    uint64_t job = 0;
    int status = 1;
    ck_assert_int_eq(
        evo_backend_collect(b, &job, got, &status, message, sizeof message),
        EVO_OK);
    ck_assert(job >= 10 && job < 10 + n && !seen[job - 10]);
    size_t i = (size_t)(job - 10);
    seen[i] = true;
    evo_report_clear(want);
    int expect = fitness(NULL, g[i], salt + i, want);
    ck_assert_int_eq(status, expect);
    if (expect == EVO_OK)
      pt_assert_same_report(got, want);
    else
      ck_assert_ptr_nonnull(strstr(message, "four terms"));
  }
  for (size_t i = 0; i < n; i++)
    evo_genome_free(g[i]);
  evo_report_free(got);
  evo_report_free(want);
}

START_TEST(test_submit_collect) {
  evo_backend *b = NULL;
  ck_assert_int_eq(evo_backend_mpi_new(&b, 0.0, TAG), EVO_OK);
  for (uint64_t salt = 1; salt <= 20; salt++)
    drive(b, 1 + salt % SLOTS, salt);
  evo_backend_free(b);
}
END_TEST

START_TEST(test_misuse) {
  evo_backend *b = NULL, *second = NULL;
  ck_assert_int_eq(evo_backend_mpi_new(&b, -1.0, TAG), EVO_ERANGE);
  ck_assert_int_eq(evo_backend_mpi_new(&b, NAN, TAG), EVO_ERANGE);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(evo_backend_mpi_new(&b, 5.0, "another setup"),
                   EVO_EMISMATCH);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "rank 1"));
  ck_assert_int_eq(evo_backend_mpi_new(&b, 5.0, TAG), EVO_OK);
  ck_assert_int_eq(evo_backend_mpi_new(&second, 5.0, TAG), EVO_ESTATE);
  evo_backend_free(b);
  ck_assert_int_eq(evo_mpi_worker_run(fitness, NULL, 1, TAG), EVO_ESTATE);
  ck_assert_int_eq(evo_mpi_init(NULL, NULL), EVO_ESTATE);
  int rank = -1, size = -1;
  ck_assert_int_eq(evo_mpi_rank(&rank, &size), EVO_OK);
  ck_assert_int_eq(rank, 0);
  ck_assert_int_eq(size, 3);
  ck_assert_int_eq(evo_mpi_supported(), 1);
}
END_TEST

static Suite *mpi_suite(void) {
  Suite *s = suite_create("mpi");
  TCase *wire = tcase_create("messages");
  tcase_add_test(wire, test_job_round_trip);
  tcase_add_test(wire, test_result_round_trip);
  suite_add_tcase(s, wire);
  TCase *be = tcase_create("back end");
  tcase_set_timeout(be, 120);
  tcase_add_test(be, test_population_as_threads);
  tcase_add_test(be, test_submit_collect);
  tcase_add_test(be, test_misuse);
  suite_add_tcase(s, be);
  return s;
}

int main(int argc, char **argv) {
  if (evo_mpi_init(&argc, &argv) != EVO_OK) {
    printf("cannot start MPI: %s\n", evo_last_error());
    return 1;
  }
  int rank = 0, size = 0, failed = 1;
  evo_mpi_rank(&rank, &size);
  if (size != 3) {
    if (rank == 0)
      printf("run under mpirun -np 3 (got %d processes)\n", size);
    evo_mpi_finalize();
    return 1;
  }
  if (rank > 0) {
    failed = evo_mpi_worker_run(fitness, NULL, WORKER_THREADS, TAG) != EVO_OK;
  } else {
    SRunner *sr = srunner_create(mpi_suite());
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr) != 0;
    srunner_free(sr);
  }
  if (evo_mpi_finalize() != EVO_OK) {
    printf("rank %d: %s\n", rank, evo_last_error());
    evo_mpi_abort(1);
  }
  return failed ? 1 : 0;
}

#else /* built without MPI */

START_TEST(test_unsupported) {
  ck_assert_int_eq(evo_mpi_supported(), 0);
  ck_assert_int_eq(evo_mpi_init(NULL, NULL), EVO_EUNSUPPORTED);
  ck_assert_ptr_nonnull(strstr(evo_last_error(), "without MPI"));
  int rank = 7, size = 7;
  ck_assert_int_eq(evo_mpi_rank(&rank, &size), EVO_EUNSUPPORTED);
  evo_backend *b = (evo_backend *)&rank;
  ck_assert_int_eq(evo_backend_mpi_new(&b, 1.0, "x"), EVO_EUNSUPPORTED);
  ck_assert_ptr_null(b);
  ck_assert_int_eq(evo_mpi_worker_run(NULL, NULL, 1, "x"), EVO_EUNSUPPORTED);
  ck_assert_int_eq(evo_mpi_finalize(), EVO_EUNSUPPORTED);
  evo_mpi_abort(3); /* returns: nothing to end */
}
END_TEST

int main(void) {
  Suite *s = suite_create("mpi_stub");
  TCase *tc = tcase_create("stubs");
  tcase_add_test(tc, test_unsupported);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed ? 1 : 0;
}

#endif
