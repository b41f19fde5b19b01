/* Atomic file replacement, shared by the library and the evoopt program:
 * one implementation, one temporary-file name, one durability rule.
 *
 * Why a source file compiled into both rather than a library call: the
 * program uses only the public API (STYLE.md), and a file helper is no
 * part of what the library offers its users, so it is not exported.
 * libevoopt/meson.build and tools/meson.build both list atomic_file.c; it
 * uses only POSIX (no library error state), and in the shared library its
 * symbols are hidden, so the two copies never meet. Never installed. */
#ifndef EVOOPT_ATOMIC_FILE_INTERNAL_H
#define EVOOPT_ATOMIC_FILE_INTERNAL_H

#include <stddef.h>

/* Replaces @p path with @p size bytes: written to a temporary file beside
 * it ("<path>.tmpXXXXXX", mode 0644), fsynced, renamed over @p path, and
 * the folder fsynced so that the rename survives a power cut. A crash
 * leaves either the old file or the new one, never a partial one; at worst
 * a temporary that evo_atomic_is_temp() recognises. Returns 0, or -1 with
 * errno set (the temporary removed). Thread-safe. */
int evo_atomic_write(const char *path, const void *data, size_t size);

/* Whether folder entry @p name is a temporary that an interrupted
 * evo_atomic_write() of a file named @p target (in the same folder) may
 * have left: "<target>.tmp" and 6 characters of mkstemp's alphabet, or
 * "<target>.tmp.<digits>" (the evoopt program before 0.2). */
int evo_atomic_is_temp(const char *name, const char *target);

#endif
