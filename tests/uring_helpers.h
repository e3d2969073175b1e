/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the io_uring engine's own suites (tests/test_uring_*.c) share: the
 * test hooks reset around every test, and opening an io_uring ring or
 * skipping, with the reason, where there is none.  Include after
 * helpers.h.
 */
#ifndef MMAPIO_TESTS_URING_HELPERS_H
#define MMAPIO_TESTS_URING_HELPERS_H

#include "uring/hooks.h"

/* Every test starts and ends with the hooks off. */
static inline void ur_setup(void)
{
	th_setup();
	mmapio__ur_hooks_reset();
}

static inline void ur_teardown(void)
{
	mmapio__ur_hooks_reset();
	th_teardown();
}

/*
 * Opens an io_uring ring of the given depth, or skips the test where the
 * build or the kernel has none.  Returns the ring.
 */
static inline mmapio_ring *open_uring(unsigned depth)
{
	struct mmapio_ring_options o = { .queue_depth = depth, .backend = MMAPIO_BACKEND_URING };
	mmapio_ring *ring = NULL;
	int rc = mmapio_ring_open(&o, &ring);

	if (rc == -ENOTSUP || rc == -ENOSYS || rc == -EPERM)
		TH_SKIP("no io_uring here: %s", mmapio_strerror(rc));
	cr_assert_eq(rc, 0, "mmapio_ring_open(URING): %d (%s)", rc, mmapio_strerror(rc));
	cr_assert_eq(mmapio_ring_backend(ring, NULL), MMAPIO_BACKEND_URING);
	return ring;
}

#endif
