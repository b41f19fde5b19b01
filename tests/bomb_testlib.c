/* Gzip bombs (bomb_testlib.h). The zeros are deflated once, as one MiB
 * ended by a full flush, which resets the compressor: every further MiB
 * deflates to the same bytes, so the file is written by repeating them. */
#define _POSIX_C_SOURCE 200809L
#include "bomb_testlib.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <zlib.h>

#define MIB ((size_t)1 << 20)

/* Raw-deflates @p n bytes of @p in with @p flush into @p out (cap bytes);
 * returns the bytes written, or 0 on failure. */
static size_t deflate_chunk(z_stream *z, const void *in, size_t n, int flush,
                            unsigned char *out, size_t cap) {
  z->next_in = (Bytef *)(uintptr_t)in;
  z->avail_in = (uInt)n;
  z->next_out = out;
  z->avail_out = (uInt)cap;
  int rc = deflate(z, flush);
  if ((rc != Z_OK && rc != Z_STREAM_END) || z->avail_in != 0)
    return 0;
  return cap - z->avail_out;
}

static void put_le32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}

int bomb_write(const char *path, const void *head, size_t head_len,
               size_t zeros_mib) {
  static const unsigned char gz_header[10] = {0x1f, 0x8b, 8, 0, 0,
                                              0,    0,    0, 0, 3};
  size_t cap = 2 * MIB + 2 * head_len + 1024;
  unsigned char *zeros = calloc(MIB, 1), *out = malloc(cap);
  FILE *f = fopen(path, "wb");
  z_stream z;
  memset(&z, 0, sizeof z);
  int ok = zeros && out && f &&
           deflateInit2(&z, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) == Z_OK;
  uLong crc = crc32(0L, Z_NULL, 0);
  if (ok) {
    size_t n = deflate_chunk(&z, head, head_len, Z_FULL_FLUSH, out, cap);
    ok = fwrite(gz_header, 1, sizeof gz_header, f) == sizeof gz_header &&
         (head_len == 0 || n > 0) && fwrite(out, 1, n, f) == n;
    crc = crc32(crc, head, (uInt)head_len);
  }
  if (ok && zeros_mib > 0) {
    size_t n = deflate_chunk(&z, zeros, MIB, Z_FULL_FLUSH, out, cap);
    uLong zcrc = crc32(crc32(0L, Z_NULL, 0), zeros, (uInt)MIB);
    for (size_t i = 0; ok && i < zeros_mib; i++) {
      ok = n > 0 && fwrite(out, 1, n, f) == n;
      crc = crc32_combine(crc, zcrc, (z_off_t)MIB);
    }
  }
  if (ok) {
    size_t n = deflate_chunk(&z, "", 0, Z_FINISH, out, cap);
    unsigned char trailer[8];
    put_le32(trailer, (uint32_t)crc);
    put_le32(trailer + 4, (uint32_t)(head_len + zeros_mib * MIB));
    ok = n > 0 && fwrite(out, 1, n, f) == n &&
         fwrite(trailer, 1, sizeof trailer, f) == sizeof trailer;
  }
  deflateEnd(&z);
  if (f != NULL && fclose(f) != 0)
    ok = 0;
  free(zeros);
  free(out);
  return ok ? 0 : -1;
}

size_t bomb_peak_rss(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (size_t)ru.ru_maxrss * 1024; /* kilobytes on Linux */
}

double bomb_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
