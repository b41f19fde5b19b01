/* evoopt data's checksums (tools/evoopt/data_hash.c, OpenSSL's EVP): the
 * test vectors of FIPS 180-2 (SHA-256) and RFC 1321 (MD5), whole and fed in
 * pieces; a too-small output buffer; and data_hash_content on a gzip file
 * (the inflated bytes' digest), a file over its bound and a missing one. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data_internal.h"

/* data.c's, which this test does not link: never asked to stop. */
int data_stop_requested(void) { return 0; }

/* The hex digest of @p n bytes of @p msg fed in pieces of @p piece bytes. */
static void digest(data_digest_kind kind, const char *msg, size_t n,
                   size_t piece, char *out, size_t out_size) {
  char why[256] = "";
  data_digest *d = data_digest_new(kind, why, sizeof why);
  ck_assert_msg(d != NULL, "data_digest_new: %s", why);
  for (size_t at = 0; at < n; at += piece)
    ck_assert_int_eq(
        data_digest_update(d, msg + at, n - at < piece ? n - at : piece), 0);
  ck_assert_int_eq(data_digest_hex(d, out, out_size), 0);
  data_digest_free(d);
}

static const struct {
  data_digest_kind kind;
  const char *msg, *hex;
} vectors[] = {
    /* FIPS 180-2, appendix B, and the empty message */
    {DATA_DIGEST_SHA256, "",
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {DATA_DIGEST_SHA256, "abc",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {DATA_DIGEST_SHA256,
     "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    /* RFC 1321, appendix A.5 */
    {DATA_DIGEST_MD5, "", "d41d8cd98f00b204e9800998ecf8427e"},
    {DATA_DIGEST_MD5, "abc", "900150983cd24fb0d6963f7d28e17f72"},
    {DATA_DIGEST_MD5, "message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
    {DATA_DIGEST_MD5,
     "1234567890123456789012345678901234567890"
     "1234567890123456789012345678901234567890",
     "57edf4a22be3c955ac49da2e2107b67a"},
};

START_TEST(test_vectors) {
  char out[65];
  size_t n = strlen(vectors[_i].msg);
  digest(vectors[_i].kind, vectors[_i].msg, n, n > 0 ? n : 1, out,
         sizeof out);
  ck_assert_str_eq(out, vectors[_i].hex);
  digest(vectors[_i].kind, vectors[_i].msg, n, 1, out, sizeof out);
  ck_assert_str_eq(out, vectors[_i].hex);
}
END_TEST

/* FIPS 180-2, appendix B.3: a million 'a', fed in pieces of 1,000. */
START_TEST(test_million_a) {
  char *a = malloc(1000000);
  ck_assert_ptr_nonnull(a);
  memset(a, 'a', 1000000);
  char out[65];
  digest(DATA_DIGEST_SHA256, a, 1000000, 1000, out, sizeof out);
  free(a);
  ck_assert_str_eq(
      out, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}
END_TEST

START_TEST(test_small_buffer) {
  char why[256] = "", out[64];
  data_digest *d = data_digest_new(DATA_DIGEST_SHA256, why, sizeof why);
  ck_assert_ptr_nonnull(d);
  ck_assert_int_eq(data_digest_hex(d, out, sizeof out), -1); /* needs 65 */
  data_digest_free(d);
  data_digest_free(NULL);
}
END_TEST

START_TEST(test_content) {
  char path[] = "/tmp/evoopt-hash-XXXXXX";
  int fd = mkstemp(path);
  ck_assert_int_ge(fd, 0);
  close(fd);
  gzFile gz = gzopen(path, "wb");
  ck_assert_ptr_nonnull(gz);
  ck_assert_int_eq(gzwrite(gz, "abc", 3), 3);
  ck_assert_int_eq(gzclose(gz), Z_OK);
  uint64_t size = 0;
  char sha[65] = "", why[256] = "";
  ck_assert_int_eq(data_hash_content(path, "abc.gz", 0, &size, sha, why,
                                     sizeof why),
                   DATA_HASH_OK);
  ck_assert_uint_eq(size, 3);
  ck_assert_str_eq(
      sha, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  ck_assert_int_eq(data_hash_content(path, "abc.gz", 2, &size, sha, why,
                                     sizeof why),
                   DATA_HASH_BAD);
  ck_assert_str_eq(why, "'abc.gz' holds more than the expected 2 bytes");
  unlink(path);
  ck_assert_int_eq(data_hash_content(path, "abc.gz", 0, &size, sha, why,
                                     sizeof why),
                   DATA_HASH_IO);
  ck_assert_str_eq(why, "cannot open 'abc.gz': No such file or directory");
}
END_TEST

int main(void) {
  Suite *s = suite_create("data_hash");
  TCase *tc = tcase_create("data_hash");
  tcase_add_loop_test(tc, test_vectors, 0,
                      (int)(sizeof vectors / sizeof vectors[0]));
  tcase_add_test(tc, test_million_a);
  tcase_add_test(tc, test_small_buffer);
  tcase_add_test(tc, test_content);
  suite_add_tcase(s, tc);
  SRunner *sr = srunner_create(s);
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
