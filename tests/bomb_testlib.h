/* Gzip bombs for the readers' tests (issue 14, item 3): small files that
 * inflate to gigabytes, and the process's peak memory to show that a
 * reader did not inflate them. */
#ifndef EVOOPT_BOMB_TESTLIB_H
#define EVOOPT_BOMB_TESTLIB_H

#include <stddef.h>

/* Writes to @p path a gzip file (valid, CRC and length included) that
 * inflates to the @p head_len bytes of @p head followed by @p zeros_mib MiB
 * of zeros: about 1 kB of file per MiB. Returns 0, or -1 when it cannot
 * write. */
int bomb_write(const char *path, const void *head, size_t head_len,
               size_t zeros_mib);

/* The process's peak resident memory so far, in bytes (ru_maxrss). */
size_t bomb_peak_rss(void);

/* Seconds of the monotonic clock. */
double bomb_now(void);

#endif
