/* Helpers shared by the population's test suites (test_population.c,
 * test_cache.c, test_backend.c, test_search.c, test_steady.c, test_mpi.c):
 * comparing two runs bit for bit, hashing genomes, temporary checkpoint
 * paths, fuzzing a checkpoint. */
#ifndef EVOOPT_POP_TESTLIB_H
#define EVOOPT_POP_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <check.h>

#include "evoopt/genome.h"
#include "evoopt/population.h"

/* Same bits (so NaN equals NaN and -0 differs from +0). */
bool pt_same_bits(double a, double b);

/* Fitness and breakdown, bit for bit. */
void pt_assert_same_report(const evo_report *a, const evo_report *b);

/* Every history entry (with ::EVO_HIST_CACHE_HITS when @p hits), the hall
 * of fame and the final generation (genomes, fitness, statuses), bit for
 * bit; both runs finished. */
void pt_assert_same_run(const evo_population *a, const evo_population *b,
                        bool hits);

/* A fresh folder under /tmp and a checkpoint path inside it. */
typedef struct pt_tmp {
  char dir[64];
  char file[96];
} pt_tmp;

void pt_tmp_make(pt_tmp *t);
/* As pt_tmp_make, under /dev/shm when it is a writable folder (a memory
 * file system: the fsyncs of checkpoints written after every evaluation
 * then cost nothing), else under /tmp. */
void pt_tmp_make_shm(pt_tmp *t);
void pt_tmp_remove(pt_tmp *t);

/* @p trials times: a few bytes of @p payload (@p n bytes) at or after
 * @p from changed, framed with a correct checksum as a version
 * @p version checkpoint at @p path; resuming it must give EVO_OK or
 * EVO_EFORMAT, never a crash or an over-read (see the sanitizer builds). */
void pt_fuzz_checkpoint(const char *path, const unsigned char *payload,
                        size_t n, size_t from, uint32_t version, int trials,
                        uint64_t seed);

/* A check for hot paths: Check's ck_assert records every check that
 * passes (a write to the parent process), this one costs nothing unless
 * it fails. */
#define PT_REQUIRE(expr)                                                    \
  do {                                                                      \
    if (!(expr))                                                            \
      ck_abort_msg("check failed: %s", #expr);                              \
  } while (0)

/* splitmix64's finalizer. */
uint64_t pt_mix64(uint64_t x);
/* The bits of @p v. */
uint64_t pt_bits_of(double v);
/* A gene and a flag of @p g through the public getters (which must
 * succeed). */
double pt_gene(const evo_genome *g, evo_gene which);
int pt_flag(const evo_genome *g, evo_flag which);
/* A hash of everything @p g holds (terms, genes, flags), through the public
 * getters, started from pt_mix64(term count + @p salt). */
uint64_t pt_genome_hash(const evo_genome *g, uint64_t salt);

/* evo_population_set(pop, s, v) must succeed. */
void pt_set_ok(evo_population *pop, evo_pop_setting s, int64_t v);

/* The accounting history (::EVO_HIST_COMPUTE, ::EVO_HIST_EVALUATIONS, and
 * with @p hits ::EVO_HIST_CACHE_HITS and the cache's size), which
 * pt_assert_same_run leaves out, and the total compute, bit for bit. */
void pt_assert_same_accounting(const evo_population *a,
                               const evo_population *b, bool hits);

/* A copy (to free) of the payload of the checkpoint at @p path, of version
 * @p version (any version from 3 on when 0), with the workers setting
 * zeroed; its size in *@p n. */
unsigned char *pt_ckpt_payload(const char *path, size_t *n, uint32_t version);

/* The checkpoints at @p a and @p b (of version @p version, or any version
 * from 3 on when 0) hold the same payload but for the workers setting (the
 * one setting that may differ between runs that must be equal). */
void pt_assert_same_checkpoint(const char *a, const char *b,
                               uint32_t version);

/* @p pop ended as @p ref did: pt_assert_same_run (with the cache hits),
 * pt_assert_same_accounting (with @p hits) and, at @p ref_file and
 * @p file, pt_assert_same_checkpoint (of @p version). */
void pt_assert_same_end(const evo_population *ref, const evo_population *pop,
                        const char *ref_file, const char *file, bool hits,
                        uint32_t version);

/* Resumes the checkpoint at @p path (of run name @p tag) and runs it until
 * it finishes: before each run @p attach(pop, @p user) sets the callbacks;
 * a canceled run (EVO_ECANCELED) is resumed again, at most 200 times.
 * Returns the finished population. */
evo_population *pt_resume_until_done(const char *path, const char *tag,
                                     void (*attach)(evo_population *pop,
                                                    void *user),
                                     void *user);

#endif
