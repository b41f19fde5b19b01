/* SHA-256 (FIPS 180-4) and MD5 (RFC 1321) for `evoopt data`: the checksums
 * built into the program and those of a manifest are checked with these
 * before a download is kept. Small streaming implementations, so that the
 * program needs no crypto library; tests/test_data_fetch.py checks them
 * against Python's hashlib on every file it serves. */
#include <errno.h>
#include <string.h>
#include <zlib.h>

#include "data_internal.h"

/* --- SHA-256 ------------------------------------------------------------ */

static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

static uint32_t ror32(uint32_t x, unsigned n) {
  return x >> n | x << (32 - n);
}

static void sha256_block(data_sha256 *c, const unsigned char *p) {
  uint32_t w[64];
  for (int i = 0; i < 16; i++)
    w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
           (uint32_t)p[4 * i + 2] << 8 | (uint32_t)p[4 * i + 3];
  for (int i = 16; i < 64; i++) {
    uint32_t s0 = ror32(w[i - 15], 7) ^ ror32(w[i - 15], 18) ^ w[i - 15] >> 3;
    uint32_t s1 = ror32(w[i - 2], 17) ^ ror32(w[i - 2], 19) ^ w[i - 2] >> 10;
    w[i] = w[i - 16] + s0 + w[i - 7] + s1;
  }
  uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3], e = c->h[4],
           f = c->h[5], g = c->h[6], h = c->h[7];
  for (int i = 0; i < 64; i++) {
    uint32_t t1 = h + (ror32(e, 6) ^ ror32(e, 11) ^ ror32(e, 25)) +
                  ((e & f) ^ (~e & g)) + sha256_k[i] + w[i];
    uint32_t t2 = (ror32(a, 2) ^ ror32(a, 13) ^ ror32(a, 22)) +
                  ((a & b) ^ (a & cc) ^ (b & cc));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = cc;
    cc = b;
    b = a;
    a = t1 + t2;
  }
  c->h[0] += a;
  c->h[1] += b;
  c->h[2] += cc;
  c->h[3] += d;
  c->h[4] += e;
  c->h[5] += f;
  c->h[6] += g;
  c->h[7] += h;
}

void data_sha256_init(data_sha256 *c) {
  static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372,
                                 0xa54ff53a, 0x510e527f, 0x9b05688c,
                                 0x1f83d9ab, 0x5be0cd19};
  memcpy(c->h, h0, sizeof h0);
  c->bytes = 0;
  c->used = 0;
}

void data_sha256_update(data_sha256 *c, const void *data, size_t n) {
  const unsigned char *p = data;
  c->bytes += n;
  while (n > 0) {
    size_t take = 64 - c->used < n ? 64 - c->used : n;
    memcpy(c->buf + c->used, p, take);
    c->used += take;
    p += take;
    n -= take;
    if (c->used == 64) {
      sha256_block(c, c->buf);
      c->used = 0;
    }
  }
}

void data_sha256_hex(data_sha256 *c, char out[65]) {
  uint64_t bits = c->bytes * 8;
  static const unsigned char pad = 0x80, zero = 0;
  data_sha256_update(c, &pad, 1);
  while (c->used != 56)
    data_sha256_update(c, &zero, 1);
  unsigned char len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (unsigned char)(bits >> (56 - 8 * i));
  data_sha256_update(c, len, 8);
  for (int i = 0; i < 8; i++)
    snprintf(out + 8 * i, 9, "%08x", (unsigned)c->h[i]);
}

/* --- MD5 ------------------------------------------------------------------ */

static const uint32_t md5_k[64] = {
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a,
    0xa8304613, 0xfd469501, 0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be,
    0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821, 0xf61e2562, 0xc040b340,
    0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8,
    0x676f02d9, 0x8d2a4c8a, 0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c,
    0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70, 0x289b7ec6, 0xeaa127fa,
    0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92,
    0xffeff47d, 0x85845dd1, 0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1,
    0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
static const unsigned char md5_r[64] = {
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
    5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
    4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
    6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};

static void md5_block(data_md5 *c, const unsigned char *p) {
  uint32_t m[16];
  for (int i = 0; i < 16; i++)
    m[i] = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
           (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
  uint32_t a = c->h[0], b = c->h[1], cc = c->h[2], d = c->h[3];
  for (unsigned i = 0; i < 64; i++) {
    uint32_t f;
    unsigned g;
    if (i < 16) {
      f = (b & cc) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & cc);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ cc ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = cc ^ (b | ~d);
      g = (7 * i) % 16;
    }
    uint32_t t = d;
    d = cc;
    cc = b;
    uint32_t x = a + f + md5_k[i] + m[g];
    b = b + (x << md5_r[i] | x >> (32 - md5_r[i]));
    a = t;
  }
  c->h[0] += a;
  c->h[1] += b;
  c->h[2] += cc;
  c->h[3] += d;
}

void data_md5_init(data_md5 *c) {
  c->h[0] = 0x67452301;
  c->h[1] = 0xefcdab89;
  c->h[2] = 0x98badcfe;
  c->h[3] = 0x10325476;
  c->bytes = 0;
  c->used = 0;
}

void data_md5_update(data_md5 *c, const void *data, size_t n) {
  const unsigned char *p = data;
  c->bytes += n;
  while (n > 0) {
    size_t take = 64 - c->used < n ? 64 - c->used : n;
    memcpy(c->buf + c->used, p, take);
    c->used += take;
    p += take;
    n -= take;
    if (c->used == 64) {
      md5_block(c, c->buf);
      c->used = 0;
    }
  }
}

void data_md5_hex(data_md5 *c, char out[33]) {
  uint64_t bits = c->bytes * 8;
  static const unsigned char pad = 0x80, zero = 0;
  data_md5_update(c, &pad, 1);
  while (c->used != 56)
    data_md5_update(c, &zero, 1);
  unsigned char len[8];
  for (int i = 0; i < 8; i++)
    len[i] = (unsigned char)(bits >> (8 * i));
  data_md5_update(c, len, 8);
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++)
      snprintf(out + 8 * i + 2 * j, 3, "%02x",
               (unsigned)(c->h[i] >> (8 * j)) & 0xffu);
}

/* --- a file's contents, as the library reads them ----------------------- */

int data_hash_content(const char *path, const char *shown, uint64_t max_size,
                      uint64_t *size, char sha256[65], char *why,
                      size_t why_size) {
  if (shown == NULL)
    shown = path;
  /* zlib's gzread, as the library's readers use it: a .gz file's inflated
   * bytes (every member), any other file's own bytes. */
  errno = 0;
  gzFile f = gzopen(path, "rb");
  if (f == NULL) {
    snprintf(why, why_size, "cannot open '%s': %s", shown,
             errno ? strerror(errno) : "out of memory");
    return DATA_HASH_IO;
  }
  gzbuffer(f, 1u << 17);
  data_sha256 c;
  data_sha256_init(&c);
  static _Thread_local unsigned char buf[1u << 16];
  uint64_t n = 0;
  int rc = 0;
  for (;;) {
    int got = gzread(f, buf, sizeof buf);
    if (got < 0) {
      int zerr = 0;
      const char *msg = gzerror(f, &zerr);
      snprintf(why, why_size, "cannot read '%s': %s", shown,
               zerr == Z_ERRNO ? strerror(errno) : msg);
      rc = zerr == Z_ERRNO ? DATA_HASH_IO : DATA_HASH_BAD;
      break;
    }
    if (got == 0) {
      int zerr = 0;
      const char *msg = gzerror(f, &zerr);
      if (zerr != Z_OK) { /* gzread stops quietly at a cut gzip member */
        snprintf(why, why_size, "'%s' is damaged or cut short: %s", shown,
                 msg);
        rc = DATA_HASH_BAD;
      }
      break;
    }
    n += (uint64_t)got;
    if (max_size > 0 && n > max_size) {
      snprintf(why, why_size,
               "'%s' holds more than the expected %llu bytes", shown,
               (unsigned long long)max_size);
      rc = DATA_HASH_BAD;
      break;
    }
    data_sha256_update(&c, buf, (size_t)got);
    if (data_stop_requested()) {
      snprintf(why, why_size, "interrupted");
      rc = DATA_HASH_STOPPED;
      break;
    }
  }
  gzclose(f);
  if (rc == 0) {
    *size = n;
    data_sha256_hex(&c, sha256);
  }
  return rc;
}

int data_verify(const char *path, const char *shown, const data_file *f,
                char *why, size_t why_size) {
  uint64_t size = 0;
  char sha[65];
  if (shown == NULL)
    shown = path;
  int rc = data_hash_content(path, shown, f->size, &size, sha, why, why_size);
  if (rc != DATA_HASH_OK)
    return rc;
  if (size != f->size) {
    snprintf(why, why_size, "'%s' holds %llu bytes, not the expected %llu",
             shown, (unsigned long long)size, (unsigned long long)f->size);
    return DATA_HASH_BAD;
  }
  if (f->sha256[0] == '\0')
    return DATA_HASH_NO_SUM;
  if (strcmp(sha, f->sha256) != 0) {
    snprintf(why, why_size,
             "checksum mismatch: '%s' has SHA-256 %s, not the expected %s",
             shown, sha,
             f->sha256);
    return DATA_HASH_BAD;
  }
  return DATA_HASH_OK;
}
