/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tasks: what the operation kinds use of the engine.  A task's SQEs (one
 * per request, counted in the window), its end (finish, or fail with the
 * removal of the file it made), the plain descriptors it holds, and
 * parking it until the caller may block or a descriptor is free.  The
 * window (window.c) owns the lists these feed; nothing here calls it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "sys.h"
#include "uring.h"

MMAPIO_INTERNAL struct ur_task *mmapio__ur_task_new(struct mmapio__op *op, unsigned nbufs)
{
	size_t size = sizeof(struct ur_task) + (size_t)nbufs * sizeof(struct ur_buf);
	struct ur_task *t;

	/* The alignment leaves the low bits of the address free for a tag. */
	size = (size + UR_TAG_SPAN - 1) & ~(size_t)(UR_TAG_SPAN - 1);
	t = aligned_alloc(UR_TAG_SPAN, size);
	if (t == NULL)
		return NULL;
	memset(t, 0, size);
	t->op = op;
	t->slot = -1;
	t->fd = -1;
	t->dfd = -1;
	t->in = -1;
	t->out = -1;
	return t;
}

MMAPIO_INTERNAL struct io_uring_sqe *mmapio__ur_sqe(struct ur_engine *e, struct ur_task *t,
						    unsigned tag)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);

	/*
	 * The window made room for t's reserve before t could queue (see
	 * mmapio__ur_sq_room), so a full ring means a kernel that took
	 * nothing (-EAGAIN, -EBUSY): handing the queue over again is all
	 * there is to do.
	 */
	while (sqe == NULL) {
		mmapio__ur_sq_room(e, 1);
		sqe = io_uring_get_sqe(&e->ring);
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)t | tag);
	if (ur_plain_open(tag))
		e->plain_opening++;
	t->pending++;
	e->inflight++;
	e->unsubmitted++;
	return sqe;
}

MMAPIO_INTERNAL void mmapio__ur_spill(struct ur_engine *e)
{
	struct io_uring_sq *sq = &e->ring.sq;
	unsigned head = IO_URING_READ_ONCE(*sq->khead);
	unsigned n = sq->sqe_tail - head, i;

	if (n == 0 || n > e->sq_entries || n > e->untaken_cap - e->nspilled)
		return;
	/* Pushed last first, so that they pop in the order they were queued. */
	for (i = n; i-- > 0;)
		e->untaken[e->nspilled++] = sq->sqes[(head + i) & sq->ring_mask].user_data;
	sq->sqe_head = sq->sqe_tail = head;
	io_uring_smp_store_release(sq->ktail, head);
	e->unsubmitted = 0;
}

MMAPIO_INTERNAL void mmapio__ur_sq_room(struct ur_engine *e, unsigned n)
{
	if (io_uring_sq_space_left(&e->ring) >= n)
		return;
	if (e->broken == 0)
		mmapio__ur_flush_sqes(e);
	if (e->broken < 0 && io_uring_sq_space_left(&e->ring) < n)
		mmapio__ur_spill(e);
}

MMAPIO_INTERNAL void mmapio__ur_queue_finished(struct ur_engine *e, struct mmapio__op *op)
{
	op->next = NULL;
	if (e->finished_tail != NULL)
		e->finished_tail->next = op;
	else
		e->finished = op;
	e->finished_tail = op;
}

MMAPIO_INTERNAL void mmapio__ur_fd_own(struct ur_engine *e, int *where, int fd)
{
	*where = fd;
	e->plain_fds++;
}

MMAPIO_INTERNAL void mmapio__ur_fd_drop(struct ur_engine *e, int *where, bool close_it)
{
	if (*where < 0)
		return;
	if (close_it)
		mmapio__sys.close(*where);
	*where = -1;
	e->plain_fds--;
	e->fd_wakeups++;
}

MMAPIO_INTERNAL bool mmapio__ur_fd_short(const struct ur_engine *e, const struct ur_task *t,
					 int err)
{
	if (err != -EMFILE && err != -ENFILE)
		return false;
	if (t->fd >= 0 || t->dfd >= 0 || t->in >= 0 || t->out >= 0)
		return false;
	return e->plain_fds > e->ahead_fds || e->plain_opening > 0;
}

MMAPIO_INTERNAL void mmapio__ur_task_free(struct ur_engine *e, struct ur_task *t)
{
	/* Plain descriptors left open by a failure path are closed here. */
	mmapio__ur_fd_drop(e, &t->fd, true);
	mmapio__ur_fd_drop(e, &t->dfd, true);
	mmapio__ur_fd_drop(e, &t->in, true);
	mmapio__ur_fd_drop(e, &t->out, true);
	free(t->dir);
	free(t);
}

/*
 * Goes on with t, whose linked SQE the kernel cancelled, once the task it
 * was linked behind has finished: after a failure t completes with
 * -ECANCELED, not having run; after a success (a short write that the
 * write kind continued) t starts again, now in order by itself.
 */
static void ur_link_resume(struct ur_engine *e, struct ur_task *t)
{
	if (t->prev_res < 0)
		mmapio__ur_finish(e, t, -ECANCELED);
	else if (e->broken < 0)
		mmapio__ur_fail(e, t, e->broken);
	else
		e->kinds[t->op->kind]->start(e, t);
}

/* Tells the task linked behind t, if any, that t finished with result. */
static void ur_link_ended(struct ur_engine *e, struct ur_task *t, int result)
{
	struct ur_task *next = t->link_next;

	if (next == NULL)
		return;
	next->link_prev = NULL;
	next->prev_ended = true;
	next->prev_res = result;
	if (next->link_wait) {
		next->link_wait = false;
		mmapio__ur_park(e, next, 0, ur_link_resume);
	}
}

MMAPIO_INTERNAL void mmapio__ur_link_cqe(struct ur_engine *e, struct ur_task *t)
{
	if (t->prev_ended)
		mmapio__ur_park(e, t, 0, ur_link_resume);
	else
		t->link_wait = true;
}

MMAPIO_INTERNAL void mmapio__ur_finish(struct ur_engine *e, struct ur_task *t, int result)
{
	struct mmapio__op *op = t->op;

	if (t->slot >= 0)
		e->slots[e->nfree++] = (unsigned)t->slot;
	e->reserved -= t->reserve;
	e->active--;
	/* An operation that failed because the ring broke says so. */
	if (t->voided && result < 0 && e->broken < 0)
		result = e->broken;
	ur_link_ended(e, t, result);
	/* Finished before the one it was linked behind was seen to: unhook. */
	if (t->link_prev != NULL)
		t->link_prev->link_next = NULL;
	mmapio__ur_task_free(e, t);
	op->result = result;
	mmapio__ur_queue_finished(e, op);
}

/* Removes the file of a failed operation with a blocking unlink, finishes t. */
static void ur_unlink_blocking(struct ur_engine *e, struct ur_task *t)
{
	mmapio__sys.unlinkat(AT_FDCWD, t->own_path, 0);
	mmapio__ur_finish(e, t, t->err);
}

MMAPIO_INTERNAL void mmapio__ur_fail(struct ur_engine *e, struct ur_task *t, int err)
{
	struct io_uring_sqe *sqe;

	t->err = err;
	if (!t->created || t->own_path == NULL) {
		mmapio__ur_finish(e, t, err);
		return;
	}
	t->created = false;
	t->stage = UR_STAGE_UNLINK;
	if (!ur_has(e, IORING_OP_UNLINKAT) || e->broken < 0) {
		mmapio__ur_park(e, t, UR_PARK_BLOCKING, ur_unlink_blocking);
		return;
	}
	/* Its CQE finishes t with t->err (ur_dispatch). */
	sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_UNLINK, 0));
	io_uring_prep_unlinkat(sqe, AT_FDCWD, t->own_path, 0);
}

MMAPIO_INTERNAL void mmapio__ur_park(struct ur_engine *e, struct ur_task *t, unsigned why,
				     ur_resume_fn resume)
{
	t->park = why;
	t->resume = resume;
	t->park_next = NULL;
	if (e->parked_tail != NULL)
		e->parked_tail->park_next = t;
	else
		e->parked = t;
	e->parked_tail = t;
}
