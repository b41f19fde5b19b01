/* Helpers shared by the population's test suites (test_population.c,
 * test_cache.c, test_backend.c): comparing two runs bit for bit,
 * temporary checkpoint paths, fuzzing a checkpoint. */
#ifndef EVOOPT_POP_TESTLIB_H
#define EVOOPT_POP_TESTLIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

#endif
