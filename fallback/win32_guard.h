/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fault guard of win32_guard.c, for the Win32 files that touch mapped
 * pages on purpose (populating advice).
 */
#ifndef MMAPIO_WIN32_GUARD_H
#define MMAPIO_WIN32_GUARD_H

#include <stddef.h>

#include "visibility.h"

/*
 * Runs fn(arg), turning a fault at an address inside [a, a + alen) or
 * [b, b + blen) (EXCEPTION_IN_PAGE_ERROR, EXCEPTION_ACCESS_VIOLATION) into
 * -EFAULT.  fn must hold no lock and own nothing that a jump out of it
 * would leak.  Returns 0, -EFAULT, or -errno when the guard could not be
 * set up.
 */
MMAPIO_INTERNAL int mmapio__w32_guarded_run(void (*fn)(void *), void *arg, const void *a,
					    size_t alen, const void *b, size_t blen);

#endif
