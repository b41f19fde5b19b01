/* SHA-256 and MD5 for `evoopt data`: the checksums built into the program
 * and those of a manifest are checked with these before a download is
 * kept. OpenSSL's EVP digests (libcrypto, libssl-dev): the program links
 * it whether or not it was built with libcurl, since `evoopt data list`
 * checks files already present; the library itself does not. Checked
 * against the standards' test vectors by tests/test_data_hash.c and against
 * Python's hashlib on every file tests/test_data_fetch.py serves. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "data_internal.h"

struct data_digest {
  EVP_MD_CTX *ctx;
  size_t hex_len; /* 2 × the digest's length in bytes */
};

/* OpenSSL's reason for the latest failure, or @p fallback. */
static const char *openssl_reason(const char *fallback) {
  unsigned long e = ERR_get_error();
  const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;
  ERR_clear_error();
  return r != NULL ? r : fallback;
}

data_digest *data_digest_new(data_digest_kind kind, char *why,
                             size_t why_size) {
  const char *name = kind == DATA_DIGEST_MD5 ? "MD5" : "SHA-256";
  const EVP_MD *md = kind == DATA_DIGEST_MD5 ? EVP_md5() : EVP_sha256();
  data_digest *d = calloc(1, sizeof *d);
  if (d == NULL) {
    snprintf(why, why_size, "out of memory");
    return NULL;
  }
  d->ctx = EVP_MD_CTX_new();
  if (d->ctx == NULL || md == NULL || EVP_DigestInit_ex(d->ctx, md, NULL) != 1) {
    snprintf(why, why_size, "cannot start OpenSSL's %s: %s", name,
             openssl_reason("out of memory"));
    data_digest_free(d);
    return NULL;
  }
  d->hex_len = 2 * (size_t)EVP_MD_get_size(md);
  return d;
}

int data_digest_update(data_digest *d, const void *data, size_t n) {
  return EVP_DigestUpdate(d->ctx, data, n) == 1 ? 0 : -1;
}

int data_digest_hex(data_digest *d, char *out, size_t out_size) {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (out_size <= d->hex_len || EVP_DigestFinal_ex(d->ctx, raw, &len) != 1 ||
      2 * (size_t)len != d->hex_len) {
    ERR_clear_error();
    return -1;
  }
  for (unsigned int i = 0; i < len; i++)
    snprintf(out + 2 * i, 3, "%02x", (unsigned)raw[i]);
  return 0;
}

void data_digest_free(data_digest *d) {
  if (d == NULL)
    return;
  EVP_MD_CTX_free(d->ctx);
  free(d);
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
  data_digest *c = data_digest_new(DATA_DIGEST_SHA256, why, why_size);
  if (c == NULL) {
    gzclose(f);
    return DATA_HASH_IO;
  }
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
    if (data_digest_update(c, buf, (size_t)got) != 0) {
      snprintf(why, why_size, "OpenSSL's SHA-256 failed on '%s'", shown);
      rc = DATA_HASH_IO;
      break;
    }
    if (data_stop_requested()) {
      snprintf(why, why_size, "interrupted");
      rc = DATA_HASH_STOPPED;
      break;
    }
  }
  gzclose(f);
  if (rc == 0 && data_digest_hex(c, sha256, 65) != 0) {
    snprintf(why, why_size, "OpenSSL's SHA-256 failed on '%s'", shown);
    rc = DATA_HASH_IO;
  }
  data_digest_free(c);
  if (rc == 0)
    *size = n;
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
