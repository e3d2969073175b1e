/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Compile-only check: the public header builds on its own under
 * -std=c99 -pedantic -Werror, with nothing included before it.
 */
#include <mmapio.h>

#if !MMAPIO_CHECK_VERSION(0, 1, 0)
#error "MMAPIO_CHECK_VERSION(0, 1, 0) must hold for this header"
#endif
#if MMAPIO_CHECK_VERSION(0, 1, 1) || MMAPIO_CHECK_VERSION(1, 0, 0)
#error "MMAPIO_CHECK_VERSION must be false for later versions"
#endif

int mmapio_header_c99_check(void);

int mmapio_header_c99_check(void)
{
	struct mmapio_options opts = { 0 };
	struct mmapio_view view = { 0 };
	struct mmapio_segment seg = { 0 };
	struct mmapio_ring_options ropts = { 0 };

	return (int)opts.flags + (int)view.len + (int)seg.len + (int)ropts.queue_depth;
}
