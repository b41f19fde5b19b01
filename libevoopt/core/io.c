/* File and buffer helpers (see io_internal.h). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/atomic_file_internal.h"
#include "core/common_internal.h"
#include "core/io_internal.h"

/* zlib's message for @p f without the "PATH: " gzerror() starts it with:
 * our messages name the file already (else it would be named twice). */
static const char *gz_message(gzFile f, const char *path, int *zerr) {
  const char *msg = gzerror(f, zerr);
  size_t n = strlen(path);
  if (strncmp(msg, path, n) == 0 && strncmp(msg + n, ": ", 2) == 0)
    msg += n + 2;
  return msg;
}

int evo_read_file(const char *path, size_t limit, unsigned char **out,
                  size_t *size) {
  EVO_CHECK_ARG(path);
  gzFile f = gzopen(path, "rb");
  if (f == NULL)
    return evo_set_error(EVO_EIO, "cannot open '%s': %s", path,
                         errno ? strerror(errno) : "gzopen failed");
  size_t cap = 1 << 16, n = 0;
  unsigned char *buf = malloc(cap + 1);
  int rc = EVO_OK;
  if (buf == NULL) {
    rc = evo_set_error(EVO_ENOMEM, "out of memory reading '%s'", path);
    goto done;
  }
  for (;;) {
    if (n == cap) {
      if (cap >= limit) {
        rc = evo_set_error(EVO_EFORMAT, "'%s' is larger than %zu bytes", path,
                           limit);
        goto done;
      }
      size_t ncap = cap * 2 > limit ? limit : cap * 2;
      unsigned char *nb = realloc(buf, ncap + 1);
      if (nb == NULL) {
        rc = evo_set_error(EVO_ENOMEM, "out of memory reading '%s'", path);
        goto done;
      }
      buf = nb;
      cap = ncap;
    }
    size_t want = cap - n > (1u << 30) ? (1u << 30) : cap - n;
    int got = gzread(f, buf + n, (unsigned)want);
    if (got < 0) {
      int zerr;
      const char *msg = gz_message(f, path, &zerr);
      rc = evo_set_error(zerr == Z_ERRNO ? EVO_EIO : EVO_EFORMAT,
                         "cannot read '%s': %s", path,
                         zerr == Z_ERRNO ? strerror(errno) : msg);
      goto done;
    }
    if (got == 0)
      break;
    n += (size_t)got;
  }
  /* gzread stops quietly at a truncated gzip member; gzerror tells. */
  {
    int zerr;
    const char *msg = gz_message(f, path, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
      rc = evo_set_error(EVO_EFORMAT, "'%s' is damaged: %s", path, msg);
      goto done;
    }
  }
  buf[n] = 0;
  *out = buf;
  *size = n;
  buf = NULL;
done:
  free(buf);
  gzclose(f);
  return rc;
}

int evo_read_file_head(const char *path, void *head, size_t n, size_t *got) {
  EVO_CHECK_ARG(path);
  *got = 0;
  gzFile f = gzopen(path, "rb");
  if (f == NULL)
    return evo_set_error(EVO_EIO, "cannot open '%s': %s", path,
                         errno ? strerror(errno) : "gzopen failed");
  int rc = EVO_OK;
  unsigned char *p = head;
  while (*got < n) {
    size_t want = n - *got > (1u << 30) ? (1u << 30) : n - *got;
    int k = gzread(f, p + *got, (unsigned)want);
    if (k <= 0)
      break;
    *got += (size_t)k;
  }
  int zerr;
  const char *msg = gz_message(f, path, &zerr);
  if (zerr != Z_OK && zerr != Z_STREAM_END)
    rc = evo_set_error(zerr == Z_ERRNO ? EVO_EIO : EVO_EFORMAT,
                       "cannot read '%s': %s", path,
                       zerr == Z_ERRNO ? strerror(errno) : msg);
  gzclose(f);
  return rc;
}

int evo_write_file_atomic(const char *path, const void *data, size_t size) {
  EVO_CHECK_ARG(path);
  if (evo_atomic_write(path, data, size) != 0)
    return evo_set_error(errno == ENOMEM ? EVO_ENOMEM : EVO_EIO,
                         "cannot write '%s': %s", path, strerror(errno));
  return EVO_OK;
}

uint32_t evo_crc32(const void *data, size_t size) {
  uLong c = crc32(0L, Z_NULL, 0);
  const unsigned char *p = data;
  while (size > 0) {
    uInt chunk = size > (1u << 30) ? (1u << 30) : (uInt)size;
    c = crc32(c, p, chunk);
    p += chunk;
    size -= chunk;
  }
  return (uint32_t)c;
}

/* ---- writer ---- */

static bool wbuf_reserve(evo_wbuf *w, size_t n) {
  if (w->status != EVO_OK)
    return false;
  if (w->size + n <= w->cap)
    return true;
  size_t cap = w->cap ? w->cap : 256;
  while (cap < w->size + n)
    cap *= 2;
  unsigned char *d = realloc(w->data, cap);
  if (d == NULL) {
    w->status = evo_set_error(EVO_ENOMEM, "out of memory serializing");
    return false;
  }
  w->data = d;
  w->cap = cap;
  return true;
}

void evo_wbuf_bytes(evo_wbuf *w, const void *p, size_t n) {
  if (n == 0 || !wbuf_reserve(w, n))
    return;
  memcpy(w->data + w->size, p, n);
  w->size += n;
}

void evo_wbuf_u8(evo_wbuf *w, uint8_t v) { evo_wbuf_bytes(w, &v, 1); }

void evo_wbuf_u32(evo_wbuf *w, uint32_t v) {
  unsigned char b[4];
  for (int i = 0; i < 4; i++)
    b[i] = (unsigned char)(v >> (8 * i));
  evo_wbuf_bytes(w, b, 4);
}

void evo_wbuf_u64(evo_wbuf *w, uint64_t v) {
  unsigned char b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)(v >> (8 * i));
  evo_wbuf_bytes(w, b, 8);
}

void evo_wbuf_f64(evo_wbuf *w, double v) {
  uint64_t u;
  memcpy(&u, &v, 8);
  evo_wbuf_u64(w, u);
}

void evo_wbuf_f32s(evo_wbuf *w, const float *p, size_t n) {
  if (!wbuf_reserve(w, 4 * n))
    return;
  for (size_t i = 0; i < n; i++) {
    uint32_t u;
    memcpy(&u, &p[i], 4);
    evo_wbuf_u32(w, u);
  }
}

void evo_wbuf_str(evo_wbuf *w, const char *s) {
  size_t n = strlen(s);
  evo_wbuf_u32(w, (uint32_t)n);
  evo_wbuf_bytes(w, s, n);
}

void evo_wbuf_free(evo_wbuf *w) {
  free(w->data);
  w->data = NULL;
  w->size = w->cap = 0;
}

/* ---- reader ---- */

void evo_rbuf_bytes(evo_rbuf *r, void *p, size_t n) {
  if (!r->ok || r->size - r->pos < n) {
    r->ok = false;
    memset(p, 0, n);
    return;
  }
  memcpy(p, r->data + r->pos, n);
  r->pos += n;
}

uint8_t evo_rbuf_u8(evo_rbuf *r) {
  uint8_t v;
  evo_rbuf_bytes(r, &v, 1);
  return v;
}

uint32_t evo_rbuf_u32(evo_rbuf *r) {
  unsigned char b[4];
  evo_rbuf_bytes(r, b, 4);
  uint32_t v = 0;
  for (int i = 0; i < 4; i++)
    v |= (uint32_t)b[i] << (8 * i);
  return v;
}

uint64_t evo_rbuf_u64(evo_rbuf *r) {
  unsigned char b[8];
  evo_rbuf_bytes(r, b, 8);
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v |= (uint64_t)b[i] << (8 * i);
  return v;
}

double evo_rbuf_f64(evo_rbuf *r) {
  uint64_t u = evo_rbuf_u64(r);
  double v;
  memcpy(&v, &u, 8);
  return v;
}

void evo_rbuf_f32s(evo_rbuf *r, float *p, size_t n) {
  if (!r->ok || (r->size - r->pos) / 4 < n) {
    r->ok = false;
    return;
  }
  for (size_t i = 0; i < n; i++) {
    uint32_t u = evo_rbuf_u32(r);
    memcpy(&p[i], &u, 4);
  }
}

char *evo_rbuf_str(evo_rbuf *r, size_t max) {
  uint32_t n = evo_rbuf_u32(r);
  if (!r->ok || n > max || r->size - r->pos < n) {
    r->ok = false;
    return NULL;
  }
  char *s = evo_calloc((size_t)n + 1, 1);
  if (s == NULL) {
    r->ok = false;
    return NULL;
  }
  evo_rbuf_bytes(r, s, n);
  return s;
}

/* ---- framing ---- */

int evo_frame_wrap(const char magic[8], uint32_t version,
                   const evo_wbuf *payload, unsigned char **out,
                   size_t *size) {
  if (payload->status != EVO_OK)
    return payload->status;
  evo_wbuf w = {0};
  evo_wbuf_bytes(&w, magic, 8);
  evo_wbuf_u32(&w, version);
  evo_wbuf_u64(&w, (uint64_t)payload->size);
  evo_wbuf_bytes(&w, payload->data, payload->size);
  if (w.status == EVO_OK)
    evo_wbuf_u32(&w, evo_crc32(w.data, w.size));
  if (w.status != EVO_OK) {
    evo_wbuf_free(&w);
    return EVO_ENOMEM;
  }
  *out = w.data;
  *size = w.size;
  return EVO_OK;
}

/* "a" or "an" before @p noun. */
static const char *article(const char *noun) {
  return noun[0] != '\0' && strchr("aeiouAEIOU", noun[0]) ? "an" : "a";
}

static int wrong_magic(const char *what) {
  return evo_set_error(EVO_EFORMAT, "%s: wrong magic bytes (not %s %s)", what,
                       article(what), what);
}

int evo_frame_peek(const char *path, const char magic[8], const char *what,
                   uint32_t *version, uint64_t *payload_size) {
  unsigned char head[EVO_FRAME_HEAD];
  size_t got = 0;
  int rc = evo_read_file_head(path, head, sizeof head, &got);
  if (rc != EVO_OK)
    return rc; /* the message names the path */
  if (got < sizeof head)
    rc = evo_set_error(EVO_EFORMAT, "%s: too short (%zu bytes)", what, got);
  else if (memcmp(head, magic, 8) != 0)
    rc = wrong_magic(what);
  if (rc != EVO_OK)
    return evo_wrap_error(rc, "'%s'", path);
  evo_rbuf r = {head, sizeof head, 8, true};
  *version = evo_rbuf_u32(&r);
  *payload_size = evo_rbuf_u64(&r);
  return EVO_OK;
}

int evo_frame_open(const char magic[8], const char *what, const void *buf,
                   size_t size, uint32_t *version,
                   const unsigned char **payload, size_t *payload_size) {
  const unsigned char *b = buf;
  if (buf == NULL || size < EVO_FRAME_BYTES)
    return evo_set_error(EVO_EFORMAT, "%s: too short (%zu bytes)", what, size);
  if (memcmp(b, magic, 8) != 0)
    return wrong_magic(what);
  evo_rbuf r = {b, size, 8, true};
  uint32_t ver = evo_rbuf_u32(&r);
  uint64_t n = evo_rbuf_u64(&r);
  if (n != size - 24)
    return evo_set_error(EVO_EFORMAT,
                         "%s: truncated or padded (payload says %llu bytes, "
                         "%zu present)",
                         what, (unsigned long long)n, size - 24);
  r.pos = size - 4;
  uint32_t crc = evo_rbuf_u32(&r);
  if (crc != evo_crc32(b, size - 4))
    return evo_set_error(EVO_EFORMAT, "%s: checksum mismatch (damaged)",
                         what);
  *version = ver;
  *payload = b + 20;
  *payload_size = (size_t)n;
  return EVO_OK;
}
