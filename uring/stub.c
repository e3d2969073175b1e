/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The io_uring backend of a build without io_uring (-During=disabled, or no
 * liburing): a table whose open() refuses, so that src/ needs no #ifdef and
 * AUTO rings fall back to the blocking backend with a reason.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "uring/hooks.h"

/* The test hooks exist here too, so that tests link; nothing reads them. */
MMAPIO_INTERNAL struct mmapio__ur_hooks mmapio__ur_hooks;

MMAPIO_INTERNAL void mmapio__ur_hooks_reset(void)
{
	memset(&mmapio__ur_hooks, 0, sizeof(mmapio__ur_hooks));
}

/* Returns -ENOTSUP with the reason "io_uring: not built". */
static int stub_open(const struct mmapio__engine_params *params, void **engine, char *why,
		     size_t whylen)
{
	(void)params;
	(void)engine;
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "io_uring: not built");
	return -ENOTSUP;
}

/* Never called: open() never succeeds.  Returns 0. */
static int stub_close(void *engine)
{
	(void)engine;
	return 0;
}

/* Never called; returns -ENOTSUP. */
static int stub_submit(void *engine, struct mmapio__op *chain)
{
	(void)engine;
	(void)chain;
	return -ENOTSUP;
}

/* Never called; returns 0. */
static int stub_reap(void *engine, unsigned min, int timeout_ms)
{
	(void)engine;
	(void)min;
	(void)timeout_ms;
	return 0;
}

/* Never called; returns 0. */
static unsigned stub_owned(void *engine)
{
	(void)engine;
	return 0;
}

/* Never called; returns -ENOTSUP. */
static int stub_set_event(void *engine, const struct mmapio__event *ev)
{
	(void)engine;
	(void)ev;
	return -ENOTSUP;
}

/* Never called; leaves *out alone. */
static void stub_stats(void *engine, struct mmapio__engine_stats *out)
{
	(void)engine;
	(void)out;
}

MMAPIO_INTERNAL const struct mmapio__engine mmapio__engine_uring = {
	.name = "io_uring",
	.kind = MMAPIO_BACKEND_URING,
	.open = stub_open,
	.close = stub_close,
	.submit = stub_submit,
	.reap = stub_reap,
	.owned = stub_owned,
	.set_event = stub_set_event,
	.stats = stub_stats,
	.run = NULL, /* as in the real engine */
};
