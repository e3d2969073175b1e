/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Submitting and reaping on the public ring: mmapio_ring_submit hands the
 * prepared operations to the backend (flushes with nothing to sync go
 * straight to the completions), peek and wait copy completions out,
 * mmapio_ring_fd keeps an event descriptor readable while completions wait, and
 * mmapio__ring_run runs one operation to completion for src/sync.c.
 */
#include <errno.h>
#include <limits.h>

#include "internal.h"
#include "ring.h"

/* ------------------------------------------------------------------------ */
/* Submitting and reaping                                                   */
/* ------------------------------------------------------------------------ */

/*
 * True for what a reap may return that is no ring-level failure but a
 * passing condition: a signal (-EINTR), a shortage of kernel resources
 * (-EAGAIN) or of completion-queue room (-EBUSY), a wait that ran out
 * (-ETIME).  Engines are asked to retry the passing shortages themselves;
 * where one does not, they must still not be taken for a broken ring.
 */
static bool reap_passing(int r)
{
	return r == -EINTR || r == -EAGAIN || r == -EBUSY || r == -ETIME;
}

/* Takes every operation of the chain off ring's given list again. */
static void take_back(struct mmapio_ring *ring, struct mmapio__op *chain)
{
	for (; chain != NULL; chain = chain->next)
		mmapio__ring_take(ring, chain);
}

MMAPIO_EXPORT int mmapio_ring_submit(mmapio_ring *ring)
{
	struct op_list backend = { 0 }, local = { 0 }, held = { 0 };
	struct mmapio__dsync *mark;
	struct mmapio__op *op;
	unsigned n;
	int r;

	if (ring == NULL)
		return -EINVAL;
	n = ring->prepared.n;
	/*
	 * Nothing prepared: the engine still gets its turn, so that an event
	 * loop that only peeks and submits moves work the engine holds back
	 * (io_uring copies beyond a queue depth's worth, whose opening blocks
	 * and so runs only here), and so do groups held by a barrier.
	 */
	if (n == 0) {
		r = ring->engine->submit(ring->state, NULL);
		mmapio__ring_advance(ring);
		return r;
	}
	if (n > INT_MAX)
		return -EOVERFLOW;

	/*
	 * Groups whose predecessors completed are released first, so that
	 * their new operations go straight on.  Flushes with nothing to sync
	 * and operations of a doomed group never reach the backend; those of
	 * a group still held by a barrier wait in ring->held.
	 */
	mmapio__ring_advance(ring);
	/* Durable operations of a group that share a directory share its sync. */
	mark = ring->dsyncs;
	mmapio__dsync_plan(ring, &ring->prepared);
	while ((op = mmapio__op_list_pop(&ring->prepared)) != NULL)
		mmapio__ring_route(ring, op, &backend, &local, &held);

	if (backend.head != NULL) {
		/* Single-operation groups the engine can order itself go along. */
		mmapio__ring_link(ring, &backend, &held);
		/* Given first: the engine may hand them back inside submit. */
		for (op = backend.head; op != NULL; op = op->next)
			mmapio__ring_give(ring, op);
		r = ring->engine->submit(ring->state, backend.head);
		if (r < 0) {
			/* Nothing was taken: everything stays prepared. */
			take_back(ring, backend.head);
			mmapio__ring_unlink(backend.head);
			ring->prepared = backend;
			while ((op = mmapio__op_list_pop(&held)) != NULL)
				mmapio__op_list_push(&ring->prepared, op);
			while ((op = mmapio__op_list_pop(&local)) != NULL)
				mmapio__op_list_push(&ring->prepared, op);
			mmapio__dsync_unplan(ring, mark);
			return r;
		}
	}
	ring->inflight += n;
	while ((op = mmapio__op_list_pop(&held)) != NULL)
		mmapio__op_list_push(&ring->held, op);
	mmapio__ring_complete_local(ring, &local);
	mmapio__ring_advance(ring);
	return (int)n;
}

/*
 * Moves up to max queued completions into out, finishing and freeing their
 * operations.  Returns the number moved.
 */
static unsigned take_completions(struct mmapio_ring *ring, struct mmapio_completion *out,
				 unsigned max)
{
	unsigned i;

	for (i = 0; i < max && ring->ready.head != NULL; i++) {
		struct mmapio__op *op = mmapio__op_list_pop(&ring->ready);

		out[i].op = op->kind;
		out[i].result = mmapio__op_finish(op);
		out[i].user_data = op->user_data;
		out[i].reserved = 0;
		mmapio__op_free(op);
	}
	ring->inflight -= i;
	ring->n_completed += i;
	return i;
}

/*
 * Copies completions out and leaves the eventfd readable exactly while some
 * remain queued.  The caller drained the eventfd before it last asked the
 * backend for completions, so no signal for a later completion was lost.
 * Returns the number copied.
 */
static int finish_reaping(struct mmapio_ring *ring, struct mmapio_completion *out, unsigned max)
{
	unsigned n = take_completions(ring, out, max);

	if (ring->ev.fd >= 0 && ring->ready.head != NULL)
		mmapio__plat_event_signal(&ring->ev);
	return (int)(n > INT_MAX ? INT_MAX : n);
}

MMAPIO_EXPORT int mmapio_ring_peek(mmapio_ring *ring, struct mmapio_completion *out,
				   unsigned max)
{
	int r = 0;

	if (ring == NULL || (out == NULL && max > 0) || max > INT_MAX)
		return -EINVAL;
	if (ring->ev.fd >= 0)
		mmapio__plat_event_drain(&ring->ev);
	mmapio__ring_advance(ring);
	if (ring->engine->owned(ring->state) > 0)
		r = ring->engine->reap(ring->state, 0, 0);
	mmapio__ring_advance(ring);
	/*
	 * A ring-level failure is reported when there is nothing else to
	 * report, so that an event loop learns of it instead of polling a
	 * ring that can no longer make progress.  A passing condition is
	 * not one: there is simply nothing ready yet.
	 */
	if (r < 0 && !reap_passing(r) && ring->ready.head == NULL)
		return r;
	return finish_reaping(ring, out, max);
}

/*
 * What a wait does with one reap result r: returns 1 to go on waiting, 0
 * to stop and copy out what is queued, or the -errno to return (with
 * nothing queued).  A signal ends the wait (-EINTR with nothing queued, as
 * documented); other passing conditions do not, the deadline decides; a
 * ring-level failure ends it.
 */
static int wait_goes_on(const struct mmapio_ring *ring, int r)
{
	if (r >= 0 || (reap_passing(r) && r != -EINTR)) {
		if (r == -EAGAIN || r == -EBUSY)
			mmapio__plat_yield(); /* let the shortage pass */
		return 1;
	}
	return ring->ready.head == NULL ? r : 0;
}

MMAPIO_EXPORT int mmapio_ring_wait(mmapio_ring *ring, struct mmapio_completion *out,
				   unsigned max, unsigned min, int timeout_ms)
{
	int64_t deadline = 0;
	int left = timeout_ms;

	if (ring == NULL || (out == NULL && max > 0) || min > max || max > INT_MAX ||
	    timeout_ms < -1)
		return -EINVAL;
	/* Waiting for more than is outstanding would never end. */
	if (min > ring->inflight)
		min = ring->inflight;
	if (timeout_ms > 0)
		deadline = mmapio__plat_now_ms() + timeout_ms;
	if (ring->ev.fd >= 0)
		mmapio__plat_event_drain(&ring->ev);

	for (;;) {
		unsigned need = 0, owned;
		int r;

		/* Groups held by a barrier whose predecessors are done go on. */
		mmapio__ring_advance(ring);
		owned = ring->engine->owned(ring->state);
		if (owned == 0)
			break;
		if (ring->ready.n < min)
			need = min - ring->ready.n;
		/* Held operations are not the engine's to hand back yet. */
		if (need > owned)
			need = owned;
		r = wait_goes_on(ring, ring->engine->reap(ring->state, need, left));
		if (r < 0)
			return r;
		mmapio__ring_advance(ring);
		if (r == 0 || ring->ready.n >= min || timeout_ms == 0)
			break;
		if (timeout_ms > 0) {
			int64_t rest = deadline - mmapio__plat_now_ms();

			if (rest <= 0)
				break;
			left = (int)rest;
		}
	}
	return finish_reaping(ring, out, max);
}

MMAPIO_EXPORT int mmapio_ring_fd(mmapio_ring *ring)
{
	struct mmapio__event ev;
	int r;

	if (ring == NULL)
		return -EINVAL;
	if (ring->ev.fd >= 0)
		return ring->ev.fd;
	r = mmapio__plat_event_open(&ev);
	if (r < 0)
		return r;
	ring->ev = ev;
	r = ring->engine->set_event(ring->state, &ring->ev);
	if (r < 0) {
		mmapio__plat_event_close(&ring->ev);
		return r;
	}
	/*
	 * Completions that are queued already must show too.  So must
	 * operations in flight: their kernel work may have been left pending
	 * before the event was registered (io_uring signals it only when new
	 * work arrives), and one spurious wake-up costs the caller a peek,
	 * where a missed one would stall its event loop.
	 */
	if (ring->ready.head != NULL || ring->engine->owned(ring->state) > 0)
		mmapio__plat_event_signal(&ring->ev);
	return ring->ev.fd;
}

/* ------------------------------------------------------------------------ */
/* The synchronous runner                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Finishes and frees every queued completion, keeping op's result.
 * Returns true when op was among them, with its result in *result.
 */
static bool run_collect(struct mmapio_ring *ring, struct mmapio__op *op, int *result)
{
	struct mmapio__op *got;
	bool found = false;

	while ((got = mmapio__op_list_pop(&ring->ready)) != NULL) {
		int r;

		ring->inflight--;
		ring->n_completed++;
		r = mmapio__op_finish(got);
		if (got == op) {
			*result = r;
			found = true;
		}
		mmapio__op_free(got);
	}
	return found;
}

/*
 * After a lasting failure: closes the ring to collect op (see
 * mmapio__ring_run).  Returns op's result, or failure when the engine kept
 * op or refused to close.
 */
static int run_close(struct mmapio_ring *ring, int failure, enum mmapio__run_end *end)
{
	int result = failure;

	if (mmapio__ring_close_engine(ring) < 0) {
		*end = MMAPIO__RUN_BROKEN;
		return failure;
	}
	/* A kept op was released by the close, which cleared run_op. */
	if (ring->run_op != NULL)
		run_collect(ring, ring->run_op, &result);
	mmapio__ring_free(ring);
	*end = MMAPIO__RUN_CLOSED;
	return result;
}

/* Waits until the engine hands op back (see mmapio__ring_run).  Returns its result. */
static int run_wait(struct mmapio_ring *ring, struct mmapio__op *op, enum mmapio__run_end *end)
{
	int r;

	for (;;) {
		if (run_collect(ring, op, &r)) {
			ring->run_op = NULL;
			return r;
		}
		/* An engine that owes nothing has lost op: its close settles it. */
		if (ring->engine->owned(ring->state) == 0)
			return run_close(ring, -EIO, end);
		r = ring->engine->reap(ring->state, 1, -1);
		if (r >= 0 || ring->ready.head != NULL)
			continue;
		if (reap_passing(r)) {
			if (r != -EINTR)
				mmapio__plat_yield();
			continue;
		}
		return run_close(ring, r, end);
	}
}

MMAPIO_INTERNAL int mmapio__ring_run(mmapio_ring *ring, struct mmapio__op *op,
				     enum mmapio__run_end *end)
{
	int r;

	*end = MMAPIO__RUN_DONE;
	if (mmapio__op_is_local(op)) {
		r = op->result;
		mmapio__op_free(op);
		ring->n_prepared++;
		ring->n_completed++;
		return r;
	}
	op->next = NULL;
	mmapio__ring_give(ring, op);
	r = ring->engine->submit(ring->state, op);
	if (r < 0) {
		mmapio__ring_take(ring, op);
		mmapio__op_discard(op);
		*end = MMAPIO__RUN_REFUSED;
		return r;
	}
	ring->n_prepared++;
	ring->inflight++;
	ring->run_op = op;
	r = run_wait(ring, op, end);
	if (*end == MMAPIO__RUN_BROKEN)
		ring->run_op = NULL;
	return r;
}
