/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ordering on the public ring: barriers split the prepared operations into
 * groups (struct mmapio__ring_group), and a group's operations go to the
 * engine only once every operation of the groups before it has completed;
 * after a failed group the next one completes with -ECANCELED without
 * running.  Also mmapio_ring_cancel, which takes operations back before an
 * engine has seen them.
 *
 * Held groups are kept in the ring, which works the same on every
 * engine.  The ring has no thread, so a held group starts at the caller's
 * next submit, peek or wait after its predecessor completed
 * (mmapio__ring_advance); never from the engine's done() callback, which
 * would re-enter the engine.
 *
 * Links.  Where a barrier separates two groups that are each exactly one
 * operation, both ready to go to the engine in the same turn (one submit,
 * or one release), the ring asks the engine's link() whether it can order
 * them itself; io_uring can when each is one SQE that the kernel fails on
 * an error or a short result (a write of at most 1 GiB, a flush of one
 * range of at most 2 GiB), and then hands both over with IOSQE_IO_LINK on
 * the first's SQE, so the second runs without a round trip through the
 * caller, and while the caller computes.  Chains go on while the groups
 * stay single (write, barrier, flush, barrier, write, ...).  The linked
 * group is not released: what prep calls add to it later is held as
 * before, and the group after a failed one is still doomed at release.
 * Not linked: a first operation whose result alone does not decide its
 * group, that is a flush while its map's sticky write-back error is set
 * (the kernel would report success and run the next one although
 * op_failed counts the group as failed), and operations waiting for a
 * shared directory sync.  One race is left: another thread's flush of
 * the same map may fail and set the sticky error after may_link_from
 * looked and before this flush completes (or take the write-back error
 * that the kernel would otherwise have reported to this flush's fsync);
 * the caller then sees the flush fail although the operation linked
 * behind it ran.  Closing it would mean holding every flush of a map
 * that other threads flush too; a caller who flushes one map from
 * several threads and needs the order against their failures puts the
 * flushes on one ring.  Groups of several parallel operations stay held:
 * measured with a standalone liburing program (commit-shaped: N ranged
 * fsyncs, a meta write, a meta fsync; medians of 15, ms), a serial link
 * chain of N = 16 fsyncs took 51.6 / 44.5 against 5.55 / 6.71 held, and
 * IOSQE_IO_DRAIN was no faster than holding (6.09 / 6.10) and cannot
 * cancel after a failure; for N = 1 linking everything took 0.83 / 1.98
 * against 1.14 / 3.93 held with the caller waiting, 5.07 / 5.08 against
 * 6.88 / 7.49 with the caller computing for 5 ms.  In W10
 * (benchmarks/w_commit.c; main against this, three alternating runs,
 * medians of 21): N = 1 with the caller computing 2 ms between submit
 * and wait, 441 / 438 / 446 commits/s held against 485 / 473 / 485
 * linked (the commit adds 0.27 ms to the 2 ms held, 0.06 ms linked), the
 * caller's CPU per commit 41.7 / 41.3 / 14.9 us against 12.3 / 21.5 /
 * 12.5; with the caller waiting, 6 enters per commit became 3, but
 * commits/s stayed within this machine's noise (ratios to msync, pwrite,
 * fdatasync 0.94 / 0.85 / 0.82 held, 0.85 / 0.67 / 0.79 linked); N = 16,
 * where only the meta page's write and flush link, within noise too
 * (1.27 / 1.24 / 1.23 against 1.16 / 1.37 / 1.37).
 *
 * Uses ring_op.c and ring_dsync.c; ring.c, ring_prep.c and ring_reap.c use
 * this file.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"
#include "ring.h"

/* The ring's bookkeeping around op (see struct mmapio__ring_op). */
static struct mmapio__ring_op *ring_op(struct mmapio__op *op)
{
	return (struct mmapio__ring_op *)(void *)op;
}

/* True when op completed in a way that fails its group. */
static bool op_failed(const struct mmapio__op *op)
{
	const struct mmapio_map *map = op->map;

	if (op->result < 0)
		return true;
	/* A flush reports the map's sticky write-back error (mmapio__op_finish). */
	return op->kind == MMAPIO_OP_FLUSH && map != NULL &&
	       __atomic_load_n(&map->flush_error, __ATOMIC_ACQUIRE) != 0;
}

MMAPIO_INTERNAL int mmapio__ring_add(struct mmapio_ring *ring, struct mmapio__op *op,
				     void *user_data)
{
	struct mmapio__ring_group *g = ring->groups_tail;

	if (g == NULL || ring->barrier) {
		g = calloc(1, sizeof(*g));
		if (g == NULL)
			return -ENOMEM;
		if (ring->groups == NULL) {
			/* Nothing before it is still running: released at once. */
			g->released = true;
			g->doomed = g->failed = ring->prev_failed;
			ring->groups = g;
		} else {
			ring->groups_tail->next = g;
		}
		ring->groups_tail = g;
		ring->barrier = false;
	}
	g->left++;
	ring_op(op)->group = g;
	op->user_data = user_data;
	mmapio__op_list_push(&ring->prepared, op);
	ring->n_prepared++;
	return 0;
}

/* Queues op, completed, on ring's completions and counts it in its group. */
static void queue_completion(struct mmapio_ring *ring, struct mmapio__op *op)
{
	struct mmapio__ring_group *g = ring_op(op)->group;

	if (g != NULL) {
		g->left--;
		if (op_failed(op))
			g->failed = true;
	}
	mmapio__op_list_push(&ring->ready, op);
}

/* Queues every operation of list (see queue_completion). */
static void queue_all(struct mmapio_ring *ring, struct op_list *list)
{
	struct mmapio__op *op;

	while ((op = mmapio__op_list_pop(list)) != NULL)
		queue_completion(ring, op);
}

/*
 * A durable operation whose directory sync is shared waits for it (its
 * group with it), so that the next group starts only after the sync.
 */
MMAPIO_INTERNAL void mmapio__ring_complete(struct mmapio_ring *ring, struct mmapio__op *op)
{
	struct op_list release = { 0 };

	if (!mmapio__dsync_take(ring, op, &release))
		queue_completion(ring, op);
	queue_all(ring, &release);
}

/*
 * Issues the shared directory syncs that are due (their members have all
 * come back), and queues the members whose syncs finished.
 */
static void issue_dir_syncs(struct mmapio_ring *ring)
{
	struct op_list release = { 0 };

	if (ring->dsyncs == NULL)
		return;
	mmapio__dsync_issue(ring, &release);
	if (release.head != NULL) {
		queue_all(ring, &release);
		if (ring->ev.fd >= 0)
			mmapio__plat_event_signal(&ring->ev);
	}
}

MMAPIO_INTERNAL void mmapio__ring_route(struct mmapio_ring *ring, struct mmapio__op *op,
					struct op_list *engine, struct op_list *local,
					struct op_list *held)
{
	const struct mmapio__ring_group *g = ring_op(op)->group;

	if (g != NULL && !g->released)
		mmapio__op_list_push(held, op);
	else if ((g != NULL && g->doomed) || mmapio__op_is_local(op))
		mmapio__op_list_push(local, op);
	else
		mmapio__op_list_push(engine, op);
}

MMAPIO_INTERNAL void mmapio__ring_complete_local(struct mmapio_ring *ring, struct op_list *list)
{
	struct mmapio__op *op;
	bool any = false;

	while ((op = mmapio__op_list_pop(list)) != NULL) {
		const struct mmapio__ring_group *g = ring_op(op)->group;

		if (g != NULL && g->doomed)
			op->result = -ECANCELED;
		mmapio__ring_complete(ring, op);
		any = true;
	}
	if (any && ring->ev.fd >= 0)
		mmapio__plat_event_signal(&ring->ev);
}

/*
 * True when op may head a link to the operation of the next group: its
 * result alone decides whether its group fails.  Not a flush while its
 * map's sticky write-back error is set (the kernel would report success
 * and run the next one, although op_failed counts the group as failed),
 * nor an operation waiting for a shared directory sync.
 */
static bool may_link_from(const struct mmapio__op *op)
{
	const struct mmapio_map *map = op->map;

	if (op->ring_flags & MMAPIO__OP_NO_DIR_SYNC)
		return false;
	return op->kind != MMAPIO_OP_FLUSH || map == NULL ||
	       __atomic_load_n(&map->flush_error, __ATOMIC_ACQUIRE) == 0;
}

MMAPIO_INTERNAL void mmapio__ring_link(struct mmapio_ring *ring, struct op_list *engine,
				       struct op_list *held)
{
	struct mmapio__op *a = engine->tail, *b;
	unsigned len = 2;

	if (ring->engine->link == NULL)
		return;
	while (a != NULL && (b = held->head) != NULL) {
		const struct mmapio__ring_group *g = ring_op(a)->group, *next;

		if (g == NULL || (next = g->next) == NULL || ring_op(b)->group != next)
			return;
		/* Each group is this one operation, and nothing of g failed. */
		if (g->left != 1 || g->failed || next->left != 1 || next->released)
			return;
		if (!may_link_from(a) || (b->ring_flags & MMAPIO__OP_NO_DIR_SYNC) ||
		    mmapio__op_is_local(b) || !ring->engine->link(ring->state, a, b, len))
			return;
		a->ring_flags |= MMAPIO__OP_LINK_NEXT;
		mmapio__op_list_push(engine, mmapio__op_list_pop(held));
		a = b;
		len++;
	}
}

MMAPIO_INTERNAL void mmapio__ring_unlink(struct mmapio__op *chain)
{
	for (; chain != NULL; chain = chain->next)
		chain->ring_flags &= ~MMAPIO__OP_LINK_NEXT;
}

/* Puts list in front of ring->held again. */
static void unhold_failed(struct mmapio_ring *ring, struct op_list *list)
{
	struct mmapio__op *op;

	while ((op = mmapio__op_list_pop(&ring->held)) != NULL)
		mmapio__op_list_push(list, op);
	ring->held = *list;
}

/*
 * Releases g, the head group: its held operations (the first ones of
 * ring->held, which is in group order) go to the engine, or complete here
 * when g is doomed.  Returns 0, or the engine's -errno with g left held.
 */
static int release(struct mmapio_ring *ring, struct mmapio__ring_group *g)
{
	struct op_list engine = { 0 }, local = { 0 };
	struct mmapio__op *op;
	int r;

	g->released = true;
	g->doomed = ring->prev_failed;
	if (g->doomed)
		g->failed = true;
	while (ring->held.head != NULL && ring_op(ring->held.head)->group == g) {
		op = mmapio__op_list_pop(&ring->held);
		mmapio__ring_route(ring, op, &engine, &local, &ring->held);
	}
	if (engine.head != NULL) {
		mmapio__ring_link(ring, &engine, &ring->held);
		for (op = engine.head; op != NULL; op = op->next)
			mmapio__ring_give(ring, op);
		r = ring->engine->submit(ring->state, engine.head);
		if (r < 0) {
			for (op = engine.head; op != NULL; op = op->next)
				mmapio__ring_take(ring, op);
			mmapio__ring_unlink(engine.head);
			/* Local ones complete anyway; the rest waits for the next call. */
			g->released = false;
			unhold_failed(ring, &engine);
			mmapio__ring_complete_local(ring, &local);
			return r;
		}
	}
	mmapio__ring_complete_local(ring, &local);
	return 0;
}

MMAPIO_INTERNAL void mmapio__ring_advance(struct mmapio_ring *ring)
{
	struct mmapio__ring_group *g;

	issue_dir_syncs(ring);
	while ((g = ring->groups) != NULL) {
		if (!g->released && release(ring, g) < 0)
			return;
		/* The blocking engine may have handed back a whole group inside release. */
		issue_dir_syncs(ring);
		/* The tail stays while prep calls may still add to it. */
		if (g->left > 0 || (g->next == NULL && !ring->barrier))
			return;
		ring->prev_failed = g->failed;
		ring->groups = g->next;
		if (ring->groups == NULL)
			ring->groups_tail = NULL;
		free(g);
	}
}

MMAPIO_INTERNAL void mmapio__ring_drop_order(struct mmapio_ring *ring)
{
	struct mmapio__ring_group *g;
	struct mmapio__op *op;

	while ((op = mmapio__op_list_pop(&ring->held)) != NULL)
		mmapio__op_discard(op);
	while ((g = ring->groups) != NULL) {
		ring->groups = g->next;
		free(g);
	}
	ring->groups_tail = NULL;
}

MMAPIO_EXPORT int mmapio_ring_barrier(mmapio_ring *ring)
{
	if (ring == NULL)
		return -EINVAL;
	/* Without an operation since the last barrier, it adds nothing. */
	if (ring->groups_tail != NULL)
		ring->barrier = true;
	return 0;
}

/*
 * Moves every operation of list with user_data to the completions with
 * -ECANCELED.  Returns how many.
 */
static int cancel_from(struct mmapio_ring *ring, struct op_list *list, void *user_data)
{
	struct op_list keep = { 0 };
	struct mmapio__op *op;
	int n = 0;

	while ((op = mmapio__op_list_pop(list)) != NULL) {
		if (op->user_data != user_data) {
			mmapio__op_list_push(&keep, op);
			continue;
		}
		op->result = -ECANCELED;
		mmapio__ring_complete(ring, op);
		n++;
	}
	*list = keep;
	return n;
}

MMAPIO_EXPORT int mmapio_ring_cancel(mmapio_ring *ring, void *user_data)
{
	const struct mmapio__ring_op *rop;
	int prepared, held;

	if (ring == NULL)
		return -EINVAL;
	prepared = cancel_from(ring, &ring->prepared, user_data);
	/* Cancelled before submit: they count as submitted from now on. */
	ring->inflight += (unsigned)prepared;
	held = cancel_from(ring, &ring->held, user_data);
	if (prepared + held > 0) {
		if (ring->ev.fd >= 0)
			mmapio__plat_event_signal(&ring->ev);
		return prepared + held;
	}
	for (rop = ring->given; rop != NULL; rop = rop->next) {
		if (rop->op.user_data == user_data)
			return -EALREADY;
	}
	/* Ran, and waits for its directory's shared sync: it completes normally. */
	if (mmapio__dsync_waiting(ring, user_data))
		return -EALREADY;
	return -ENOENT;
}
