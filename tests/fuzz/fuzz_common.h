/* Helpers shared by the libFuzzer targets of tests/fuzz (doc/fuzzing.md):
 * a private temporary folder for the readers that take a path, files
 * written into it plain or gzip-compressed, the frame fix-up that lets the
 * fuzzer past the length and CRC-32 checks of the library's binary formats,
 * and a loud failure for broken invariants. Never part of the library. */
#ifndef EVOOPT_FUZZ_COMMON_H
#define EVOOPT_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Aborts with a message: libFuzzer records the input as a crash. For an
 * invariant the target checks itself (a round trip that does not give back
 * what went in, an error without a message). */
void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* The folder of this process (created on first use under $TMPDIR or /tmp,
 * removed with its files at exit). */
const char *fuzz_dir(void);

/* Writes @p path = fuzz_dir()/@p name. */
void fuzz_path(char *path, size_t cap, const char *name);

/* Writes @p size bytes to fuzz_dir()/@p name, gzip-compressed when @p gz
 * (so that mutations of the plain bytes reach the fields through the
 * library's gzip reader too); fills @p path when not NULL. Aborts when the
 * file cannot be written: that is the harness's fault, not the input's. */
void fuzz_write(const char *name, const void *data, size_t size, bool gz,
                char *path, size_t cap);

/* Removes every file of fuzz_dir(): each input starts from an empty
 * folder. */
void fuzz_clear(void);

/* The library's frame (magic, u32 version, u64 payload size, payload,
 * u32 CRC-32 of what precedes it; core/io_internal.h): when @p buf starts
 * with @p magic and is long enough, rewrites its size field and CRC to
 * match its bytes, so that the fuzzer's mutations reach the payload's
 * fields instead of stopping at the checksum. */
void fuzz_fix_frame(unsigned char *buf, size_t size, const char magic[8]);

/* The input of a target that reads one framed file: a mode byte, then the
 * file. Returns a copy of the file (free() it; its length through
 * @p size_out) with its frame fixed (fuzz_fix_frame) unless the mode,
 * data[0] % @p modes, through @p mode_out, is @p raw_mode (the bytes
 * exactly as given, for the frame checks themselves). NULL for an empty
 * input or when memory runs out: the target skips it. */
unsigned char *fuzz_framed_input(const uint8_t *data, size_t size,
                                 unsigned modes, unsigned raw_mode,
                                 const char magic[8], unsigned *mode_out,
                                 size_t *size_out);

/* Clears the thread's last error message before a call whose failure
 * must leave one (fuzz_check_error). */
void fuzz_reset_error(void);

/* Checks that a failed call left a message (every error says what is
 * wrong, STYLE.md) and that @p rc is a negative evo_status. */
void fuzz_check_error(int rc, const char *call);

/* Splits @p data at each occurrence of @p sep (not included) into at most
 * @p max parts; returns their count. Inputs made of several files use it
 * (tests/fuzz/make_corpus.py writes the separator between them). */
typedef struct fuzz_part {
  const uint8_t *data;
  size_t size;
} fuzz_part;
size_t fuzz_split(const uint8_t *data, size_t size, const char *sep,
                  fuzz_part *parts, size_t max);

/* The separator of multi-file inputs. */
#define FUZZ_SEP "\n=====EVOOPT-FUZZ-NEXT-FILE=====\n"

#endif
