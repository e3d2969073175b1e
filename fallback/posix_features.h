/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the POSIX platform uses beyond POSIX.  MMAPIO_LINUX is set on Linux
 * unless the build asks for the portable POSIX implementation alone
 * (meson -Dplatform=posix defines MMAPIO_PORTABLE_POSIX), so that the
 * portable paths, the ones a macOS or BSD host runs, are built and tested
 * on this machine too.  What each gives, and what replaces it without:
 *
 *   eventfd            the ring's poll event       a pipe
 *   fallocate          reserving a file's blocks   posix_fallocate
 *   copy_file_range    in-kernel copies            a read/write loop
 *   FICLONE            reflink clones              a plain copy
 *   mremap             growing a mapping in place  mapping afresh
 *   MAP_POPULATE,      prefaulting                 touching each page
 *   MADV_POPULATE_*
 *   O_TMPFILE          unnamed temporaries         a uniquely named file
 *
 * MMAPIO_APPLE: fsync and msync(MS_SYNC) do not reach the platter on
 * macOS; durability adds fcntl(F_FULLFSYNC).
 */
#ifndef MMAPIO_POSIX_FEATURES_H
#define MMAPIO_POSIX_FEATURES_H

#include <stdbool.h>
#include <stddef.h>

#include "visibility.h"

#if defined(__linux__) && !defined(MMAPIO_PORTABLE_POSIX)
#define MMAPIO_LINUX 1
#else
#define MMAPIO_LINUX 0
#endif

#if defined(__APPLE__)
#define MMAPIO_APPLE 1
#else
#define MMAPIO_APPLE 0
#endif

/*
 * Touches every page of [addr, addr + len) (page aligned) for reading, or
 * for writing without changing a byte, under the fault guard: the
 * portable stand-in for MAP_POPULATE and MADV_POPULATE_*.  Returns 0,
 * -EFAULT when a page could not be backed, or -errno.
 */
MMAPIO_INTERNAL int mmapio__posix_guarded_touch(void *addr, size_t len, bool write);

#endif
