/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The public ring: operations are prepared into a list, handed to the
 * ring's backend in one submit, and come back through the backend's done()
 * callback into a FIFO of completions, from which peek and wait copy them
 * out.  This file opens and closes rings, chooses each one's backend (once
 * per ring: io_uring or blocking) and reports its counters.  Operations and
 * their lists are in ring_op.c, preparing in ring_prep.c; submitting,
 * reaping and the synchronous runner in ring_reap.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ring.h"

/*
 * The engine's done() callback: queues the completion.  An operation the
 * engine does not own (handed back a second time) is ignored, so that it
 * completes once.
 */
static void ring_done(void *ctx, struct mmapio__op *op)
{
	struct mmapio_ring *ring = ctx;

	if (mmapio__ring_take(ring, op))
		mmapio__ring_complete(ring, op);
}

/* ------------------------------------------------------------------------ */
/* Choosing a backend                                                       */
/* ------------------------------------------------------------------------ */

/*
 * The process-wide outcome of setting io_uring up for AUTO rings, as libuv
 * keeps it: once setup has failed in a way that will not change (seccomp,
 * the io_uring_disabled sysctl, an old kernel, a build without io_uring),
 * later AUTO rings go straight to the blocking backend with the same
 * reason.  -ENOMEM is not remembered: it may be a passing shortage.
 */
enum { URING_UNTRIED, URING_RECORDING, URING_FAILED, URING_READY };
static int uring_state = URING_UNTRIED;
static char uring_failure[128]; /* written once, before uring_state = FAILED */

/*
 * Records a lasting io_uring setup failure and its reason.  The first
 * thread to get here writes the reason; the state says FAILED only once it
 * is complete, so readers that see FAILED read a finished string.
 */
static void remember_uring_failure(const char *why)
{
	int expected = URING_UNTRIED;

	if (!__atomic_compare_exchange_n(&uring_state, &expected, URING_RECORDING, false,
					 __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return;
	snprintf(uring_failure, sizeof(uring_failure), "%s", why);
	__atomic_store_n(&uring_state, URING_FAILED, __ATOMIC_RELEASE);
}

/* Returns c in lower case when it is an ASCII capital, else c. */
static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* True when a equals b (ASCII letters compared without case). */
static bool word_is(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (ascii_lower(*a) != ascii_lower(*b))
			return false;
	return *a == *b;
}

/* Reads MMAPIO_BACKEND; anything but "uring" or "fallback" means AUTO. */
static enum mmapio_backend backend_from_env(void)
{
	const char *env = mmapio__plat_getenv("MMAPIO_BACKEND");

	if (env == NULL)
		return MMAPIO_BACKEND_AUTO;
	if (word_is(env, "uring") || word_is(env, "io_uring"))
		return MMAPIO_BACKEND_URING;
	if (word_is(env, "fallback") || word_is(env, "blocking"))
		return MMAPIO_BACKEND_FALLBACK;
	return MMAPIO_BACKEND_AUTO;
}

/* True for the io_uring setup errors that mean "use the blocking backend". */
static bool uring_unavailable(int err)
{
	return err == -ENOSYS || err == -EPERM || err == -ENOMEM || err == -ENOTSUP;
}

/*
 * Opens the blocking backend for ring, with the given reason.  Returns 0 or
 * -errno.
 */
static int open_blocking(struct mmapio_ring *ring, const struct mmapio__engine_params *params,
			 const char *reason)
{
	char why[128] = "";
	int r = mmapio__engine_blocking.open(params, &ring->state, why, sizeof(why));

	if (r < 0)
		return r;
	ring->engine = &mmapio__engine_blocking;
	snprintf(ring->reason, sizeof(ring->reason), "blocking: %s", reason);
	return 0;
}

/*
 * Sets up the engine of ring for the requested backend (see
 * mmapio_ring_options.backend).  Returns 0 or -errno.
 */
static int open_backend(struct mmapio_ring *ring, enum mmapio_backend kind,
			const struct mmapio__engine_params *params)
{
	char why[128] = "";
	bool from_env = false;
	int r;

	if (kind == MMAPIO_BACKEND_AUTO) {
		kind = backend_from_env();
		from_env = kind != MMAPIO_BACKEND_AUTO;
	}
	if (kind == MMAPIO_BACKEND_FALLBACK)
		return open_blocking(ring, params,
				     from_env ? "requested (MMAPIO_BACKEND=fallback)" : "requested");

	if (kind == MMAPIO_BACKEND_AUTO &&
	    __atomic_load_n(&uring_state, __ATOMIC_ACQUIRE) == URING_FAILED)
		return open_blocking(ring, params, uring_failure);

	r = mmapio__engine_uring.open(params, &ring->state, why, sizeof(why));
	if (r == 0) {
		__atomic_store_n(&uring_state, URING_READY, __ATOMIC_RELEASE);
		ring->engine = &mmapio__engine_uring;
		snprintf(ring->reason, sizeof(ring->reason), "%s", mmapio__engine_uring.name);
		return 0;
	}
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "io_uring: %s", mmapio_strerror(r));
	if (kind == MMAPIO_BACKEND_URING || !uring_unavailable(r))
		return r;
	if (r != -ENOMEM)
		remember_uring_failure(why);
	return open_blocking(ring, params, why);
}

/* Returns 0 when the ring options are valid, else -EINVAL. */
static int check_ring_options(const struct mmapio_ring_options *opts)
{
	size_t i;

	if (opts == NULL)
		return 0;
	if (opts->flags != 0 || opts->reserved0 != 0)
		return -EINVAL;
	if (opts->backend != MMAPIO_BACKEND_AUTO && opts->backend != MMAPIO_BACKEND_URING &&
	    opts->backend != MMAPIO_BACKEND_FALLBACK)
		return -EINVAL;
	for (i = 0; i < sizeof(opts->reserved) / sizeof(opts->reserved[0]); i++) {
		if (opts->reserved[i] != 0)
			return -EINVAL;
	}
	return 0;
}

/*
 * Allocates a ring with nothing open yet and fills in the parameters its
 * engine opens with.  Returns the ring (free() it until an engine is open)
 * or NULL on ENOMEM.
 */
static struct mmapio_ring *ring_alloc(const struct mmapio_ring_options *opts,
				      struct mmapio__engine_params *params)
{
	struct mmapio_ring *ring = calloc(1, sizeof(*ring));

	if (ring == NULL)
		return NULL;
	ring->ev.fd = ring->ev.wfd = -1;
	/* 0 leaves the window to the engine (see mmapio_ring_options). */
	params->queue_depth = opts != NULL ? opts->queue_depth : 0;
	params->done = ring_done;
	params->ctx = ring;
	params->fallback = &mmapio__engine_blocking;
	return ring;
}

MMAPIO_EXPORT int mmapio_ring_open(const struct mmapio_ring_options *opts, mmapio_ring **out)
{
	struct mmapio__engine_params params;
	struct mmapio_ring *ring;
	int r;

	if (out == NULL)
		return -EINVAL;
	r = check_ring_options(opts);
	if (r < 0)
		return r;
	ring = ring_alloc(opts, &params);
	if (ring == NULL)
		return -ENOMEM;
	r = open_backend(ring, opts != NULL ? opts->backend : MMAPIO_BACKEND_AUTO, &params);
	if (r < 0) {
		free(ring);
		return r;
	}
	*out = ring;
	return 0;
}

MMAPIO_INTERNAL int mmapio__ring_open_engine(const struct mmapio__engine *engine,
					     const struct mmapio_ring_options *opts,
					     mmapio_ring **out)
{
	struct mmapio__engine_params params;
	struct mmapio_ring *ring;
	char why[128] = "";
	int r;

	if (engine == NULL || out == NULL)
		return -EINVAL;
	r = check_ring_options(opts);
	if (r < 0)
		return r;
	ring = ring_alloc(opts, &params);
	if (ring == NULL)
		return -ENOMEM;
	r = engine->open(&params, &ring->state, why, sizeof(why));
	if (r < 0) {
		free(ring);
		return r;
	}
	ring->engine = engine;
	snprintf(ring->reason, sizeof(ring->reason), "%s", engine->name);
	*out = ring;
	return 0;
}

/*
 * Releases what the engine still owned when its close returned 0: the
 * contract says close hands everything back, and an engine that gave up
 * on work it could no longer collect must not leave a map counted busy for
 * ever.  Nothing is recorded in the map: nothing is known of the data.
 */
static void release_kept(struct mmapio_ring *ring)
{
	struct mmapio__ring_op *rop;

	while ((rop = ring->given) != NULL) {
		mmapio__ring_take(ring, &rop->op);
		if (ring->run_op == &rop->op)
			ring->run_op = NULL;
		mmapio__dsync_forget(ring, &rop->op);
		mmapio__op_discard(&rop->op);
	}
}

MMAPIO_INTERNAL int mmapio__ring_close_engine(struct mmapio_ring *ring)
{
	/*
	 * The engine hands everything it still owns back into ring->ready,
	 * or refuses (-EEXIST) on a thread that may not collect it, leaving
	 * itself whole for its own thread to close; whatever it handed back
	 * before refusing is queued then, and an event loop must hear of it.
	 */
	int r = ring->engine->close(ring->state);

	if (r < 0) {
		if (ring->ev.fd >= 0 && ring->ready.head != NULL)
			mmapio__plat_event_signal(&ring->ev);
		return r;
	}
	ring->state = NULL;
	release_kept(ring);
	return 0;
}

MMAPIO_INTERNAL void mmapio__ring_free(struct mmapio_ring *ring)
{
	struct mmapio__op *op;

	while ((op = mmapio__op_list_pop(&ring->prepared)) != NULL)
		mmapio__op_discard(op);
	/* Before the held operations go: shared syncs may name some. */
	mmapio__dsync_drop(ring);
	mmapio__ring_drop_order(ring);
	while ((op = mmapio__op_list_pop(&ring->ready)) != NULL) {
		mmapio__op_finish(op);
		mmapio__op_free(op);
	}
	if (ring->ev.fd >= 0)
		mmapio__plat_event_close(&ring->ev);
	free(ring);
}

MMAPIO_EXPORT int mmapio_ring_close(mmapio_ring *ring)
{
	int r;

	if (ring == NULL)
		return 0;
	r = mmapio__ring_close_engine(ring);
	if (r < 0)
		return r;
	mmapio__ring_free(ring);
	return 0;
}

MMAPIO_EXPORT enum mmapio_backend mmapio_ring_backend(const mmapio_ring *ring,
						      const char **reason)
{
	if (ring == NULL) {
		if (reason != NULL)
			*reason = "no ring";
		return MMAPIO_BACKEND_AUTO;
	}
	if (reason != NULL)
		*reason = ring->reason;
	return ring->engine->kind;
}

MMAPIO_EXPORT unsigned mmapio_ring_inflight(const mmapio_ring *ring)
{
	return ring != NULL ? ring->inflight : 0;
}

MMAPIO_EXPORT int mmapio_ring_stats(const mmapio_ring *ring, struct mmapio_ring_stats *out)
{
	struct mmapio__engine_stats es;

	if (ring == NULL || out == NULL)
		return -EINVAL;
	memset(&es, 0, sizeof(es));
	ring->engine->stats(ring->state, &es);
	memset(out, 0, sizeof(*out));
	out->prepared = ring->n_prepared;
	out->completed = ring->n_completed;
	out->uring_sqes = es.uring_sqes;
	out->uring_enters = es.uring_enters;
	out->blocking_ops = es.blocking_ops;
	return 0;
}
