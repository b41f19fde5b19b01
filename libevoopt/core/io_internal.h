/* File and byte-buffer helpers: whole-file reads (gzip or plain), atomic
 * writes, and a bounds-checked little-endian serializer used by the
 * optimizer state and checkpoint formats. Never installed. */
#ifndef EVOOPT_IO_INTERNAL_H
#define EVOOPT_IO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Reads a whole file, transparently gunzipping it when it is gzip data.
 * @p limit caps the decompressed size (EVO_EFORMAT past it). On success
 * *out is a malloc'ed buffer with a NUL byte after *size bytes. Errors:
 * EVO_EIO (cannot open/read, message names the path), EVO_EFORMAT (corrupt
 * gzip stream, too large), EVO_ENOMEM. */
int evo_read_file(const char *path, size_t limit, unsigned char **out,
                  size_t *size);

/* Reads the first @p n bytes of @p path (gunzipped when it is gzip data)
 * into @p head, inflating no more than that: a reader looks at a header
 * before it decides how much of a file to read. *got receives the count,
 * fewer than @p n for a shorter file. Errors as evo_read_file. */
int evo_read_file_head(const char *path, void *head, size_t n, size_t *got);

/* Writes @p size bytes to @p path atomically with evo_atomic_write()
 * (core/atomic_file_internal.h: temporary file, fsync, rename, fsync of the
 * folder); never a partial file at @p path. Errors name the path: EVO_EIO,
 * EVO_ENOMEM, EVO_EINVAL (NULL path). */
int evo_write_file_atomic(const char *path, const void *data, size_t size);

/* CRC-32 (zlib's) of a buffer. */
uint32_t evo_crc32(const void *data, size_t size);

/* A growable output buffer. */
typedef struct evo_wbuf {
  unsigned char *data;
  size_t size, cap;
  int status; /* first error, sticky */
} evo_wbuf;

void evo_wbuf_bytes(evo_wbuf *w, const void *p, size_t n);
void evo_wbuf_u8(evo_wbuf *w, uint8_t v);
void evo_wbuf_u32(evo_wbuf *w, uint32_t v);
void evo_wbuf_u64(evo_wbuf *w, uint64_t v);
void evo_wbuf_f64(evo_wbuf *w, double v);
void evo_wbuf_f32s(evo_wbuf *w, const float *p, size_t n);
void evo_wbuf_str(evo_wbuf *w, const char *s); /* u32 length + bytes */
void evo_wbuf_free(evo_wbuf *w);

/* A bounds-checked reader: any read past the end sets ok = false and
 * returns zeros, so a truncated input is detected once, at the end. */
typedef struct evo_rbuf {
  const unsigned char *data;
  size_t size, pos;
  bool ok;
} evo_rbuf;

void evo_rbuf_bytes(evo_rbuf *r, void *p, size_t n);
uint8_t evo_rbuf_u8(evo_rbuf *r);
uint32_t evo_rbuf_u32(evo_rbuf *r);
uint64_t evo_rbuf_u64(evo_rbuf *r);
double evo_rbuf_f64(evo_rbuf *r);
void evo_rbuf_f32s(evo_rbuf *r, float *p, size_t n);
/* Returns a malloc'ed string (NULL and ok = false on error). Length capped
 * at @p max. */
char *evo_rbuf_str(evo_rbuf *r, size_t max);

/* Framing shared by every binary format of the library:
 *   magic (8 bytes) | u32 version | u64 payload size | payload | u32 crc32
 * where the CRC covers everything before it. evo_frame_wrap appends the
 * header/trailer around a payload; evo_frame_open checks them and returns
 * the payload and version. @p what names the format in messages. */
int evo_frame_wrap(const char magic[8], uint32_t version, const evo_wbuf *payload,
                   unsigned char **out, size_t *size);
int evo_frame_open(const char magic[8], const char *what, const void *buf,
                   size_t size, uint32_t *version, const unsigned char **payload,
                   size_t *payload_size);

/* Bytes before the payload (magic, version, size) and around it (the same
 * and the CRC). */
#define EVO_FRAME_HEAD 20
#define EVO_FRAME_BYTES 24

/* Reads only the header of the framed file @p path and checks its magic:
 * *version and *payload_size receive what it declares, so that the caller
 * bounds what it inflates by that (a gzip bomb declares little and inflates
 * to gigabytes). Errors name the path: EVO_EIO, EVO_EFORMAT (too short,
 * wrong magic, damaged gzip), EVO_ENOMEM. */
int evo_frame_peek(const char *path, const char magic[8], const char *what,
                   uint32_t *version, uint64_t *payload_size);

#endif
