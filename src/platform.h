/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform contract: every operating-system service that the core
 * (src/) and the engines use.  The implementations live in fallback/ (POSIX,
 * what Linux adds to it, Windows); src/ includes no OS header and calls the
 * OS only through the functions declared here.
 *
 * Conventions: every function that can fail returns >= 0 on success and
 * -errno on failure (Windows errors are mapped to the same values).  Files
 * are C runtime descriptors (int) on every platform.  Unless a comment says
 * otherwise every function is thread-safe and async-signal-unsafe.
 */
#ifndef MMAPIO_PLATFORM_H
#define MMAPIO_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmapio.h"
#include "visibility.h"

/* Milliseconds on a monotonic clock, for wait deadlines. */
MMAPIO_INTERNAL int64_t mmapio__plat_now_ms(void);

/*
 * Opens (creating) path for reading and writing and gives it exactly size
 * bytes: exclusive with MMAPIO_CREATE_EXCLUSIVE, truncating without it;
 * space reserved unless MMAPIO_CREATE_SPARSE (sparse where the filesystem
 * cannot reserve); with MMAPIO_CREATE_DURABLE the file and its directory are
 * made durable.  Returns the descriptor (>= 0), with *created telling whether
 * this call made the file (it is removed again on failure), or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_create_file(const char *path, uint64_t size, unsigned perm,
					     unsigned flags, int *created);

/* The files of a copy, as mmapio__plat_copy_open leaves them. */
struct mmapio__copy_files {
	int in;          /* the source, open for reading */
	int out;         /* the destination, open for writing, empty, mode of in */
	int created;     /* this copy made the destination: unlink it on failure */
	uint64_t size;   /* bytes left to copy: 0 when empty or cloned */
};

/*
 * The opening half of a copy, shared by both engines so that they accept
 * and refuse exactly the same things (see mmapio_copy): opens src
 * (-EISDIR for a directory, -EINVAL for anything else that is not a
 * regular file), opens or creates dst (the same inode as src is -EINVAL and
 * stays untouched; an existing dst is -EEXIST without
 * MMAPIO_COPY_OVERWRITE, and truncated only after its descriptor has been
 * checked again), gives it src's permission bits exactly, and tries a
 * reflink clone.  Returns 0 with *f filled in, or -errno with everything it
 * opened closed and a destination it created removed.
 */
MMAPIO_INTERNAL int mmapio__plat_copy_open(const char *src, const char *dst, unsigned flags,
					   struct mmapio__copy_files *f);

#endif
