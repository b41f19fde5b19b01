/* What the data-set fuzz targets share: load a data set from the harness's
 * folder and check what came back (fuzz_data.c). */
#ifndef EVOOPT_FUZZ_DATA_COMMON_H
#define EVOOPT_FUZZ_DATA_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Writes the multi-file input @p data (parts split at FUZZ_SEP) as the
 * files @p names[0..n) into an emptied fuzz_dir(), gzip-compressed when
 * bit 0 of @p flags is set, named NAME.gz when bit 1 is; a missing part
 * leaves its file out. Then loads data set @p set from there and checks:
 * a refusal has a negative status and a message; an accepted set has
 * labels 0..9, at least one image per split, and finite normalised
 * pixels. Returns the status of the load. */
int fuzz_load_set(const char *set, const char *const *names, size_t n,
                   unsigned flags, const uint8_t *data, size_t size);

#endif
