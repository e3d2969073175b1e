/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The io_uring engine's rolling window: entering the kernel, tasks, the
 * backlog, CQE dispatch, hand-back, and the contract's submit and reap.
 *
 * Operations are started from a FIFO backlog into a rolling window: at most
 * queue_depth running, each holding the SQEs its largest stage needs (4 for
 * a create), so the ring (4 x queue_depth SQEs, CQ twice that) can never
 * overflow; as CQEs come back, finished operations leave the window and the
 * backlog refills it at once.  Every SQE yields exactly one CQE, which is
 * how an operation's state machine knows when a stage is complete, and how
 * an operation is handed back exactly once.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"
#include "uring.h"

/* ------------------------------------------------------------------------ */
/* Entering the kernel                                                      */
/* ------------------------------------------------------------------------ */

/*
 * Hands the queued SQEs to the kernel with one io_uring_enter.  SQEs the
 * kernel did not take (an error of the whole call, such as -EBUSY or
 * -EAGAIN) stay in the submission ring and go with the next enter, so no
 * operation is lost or started twice.  Returns the number taken, or -errno.
 */
static int ur_flush_sqes(struct ur_engine *e)
{
	int r;

	if (e->unsubmitted == 0)
		return 0;
	/* With SQEs to hand over, liburing enters exactly once. */
	r = io_uring_submit(&e->ring);
	e->stats.uring_enters++;
	if (r > 0) {
		e->unsubmitted -= (unsigned)r > e->unsubmitted ? e->unsubmitted : (unsigned)r;
		e->stats.uring_sqes += (uint64_t)r;
	}
	return r;
}

/*
 * Submits what is queued and waits until at least nr completions are in
 * the CQ ring or timeout_ms (-1: no limit) has passed.  Returns 0, -ETIME,
 * -EINTR, or another -errno of io_uring_enter.
 */
static int ur_enter_wait(struct ur_engine *e, unsigned nr, int timeout_ms)
{
	struct __kernel_timespec ts;
	struct io_uring_getevents_arg arg;
	unsigned queued = e->unsubmitted;
	int r;

	if (timeout_ms < 0) {
		/* One enter: submit and wait (liburing 2.3 always enters here). */
		r = io_uring_submit_and_wait(&e->ring, nr);
		e->stats.uring_enters++;
		if (r > 0) {
			e->unsubmitted -= (unsigned)r > queued ? queued : (unsigned)r;
			e->stats.uring_sqes += (uint64_t)r;
		}
		if (r < 0)
			return r;
		/*
		 * Having submitted, the kernel reports the count even when a
		 * signal cut the wait short.  The wait ends early for nothing
		 * else but a submission cut short (which a caller retrying
		 * after -EINTR also handles), so fewer than nr CQEs tells.
		 */
		return io_uring_cq_ready(&e->ring) < nr ? -EINTR : 0;
	}

	r = ur_flush_sqes(e);
	if (r < 0)
		return r;
	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
	if (e->ext_arg) {
		/*
		 * The raw call waits with a timeout in a single enter (and so
		 * can be counted exactly), where liburing's timed waits may
		 * enter more than once.
		 */
		memset(&arg, 0, sizeof(arg));
		arg.ts = (uint64_t)(uintptr_t)&ts;
		r = io_uring_enter2((unsigned)e->ring.ring_fd, 0, nr,
				    IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG,
				    (sigset_t *)&arg, sizeof(arg));
		e->stats.uring_enters++;
	} else {
		struct io_uring_cqe *cqe;

		/* Kernels before 5.11: liburing waits with a timeout SQE. */
		r = io_uring_wait_cqes(&e->ring, &cqe, nr, &ts, NULL);
		e->stats.uring_enters++;
	}
	return r < 0 ? r : 0;
}

/*
 * True when the kernel holds deferred task work (finished requests whose
 * completions only this task can post) that nobody has run yet.  With
 * IORING_SETUP_TASKRUN_FLAG the kernel sets IORING_SQ_TASKRUN when work is
 * queued on an empty list, and again when a bounded run leaves some behind
 * (io_run_local_work_continue), and clears it when it starts a run.
 */
static bool ur_taskrun_pending(const struct ur_engine *e)
{
	return e->defer && (IO_URING_READ_ONCE(*e->ring.sq.kflags) & IORING_SQ_TASKRUN) != 0;
}

/*
 * Hands the queued SQEs over and runs deferred task work in one enter
 * (IORING_ENTER_GETEVENTS with min_complete 0: it never sleeps).  Returns
 * the number of SQEs taken, or -errno.
 */
static int ur_enter_getevents(struct ur_engine *e)
{
	unsigned queued = e->unsubmitted;
	int r = io_uring_submit_and_get_events(&e->ring);

	e->stats.uring_enters++;
	if (r > 0) {
		e->unsubmitted -= (unsigned)r > queued ? queued : (unsigned)r;
		e->stats.uring_sqes += (uint64_t)r;
	}
	return r;
}

/*
 * True unless the ring was set up for a single issuer and the calling
 * thread is not the one that set it up (io_uring_enter would fail with
 * -EEXIST there).
 */
static bool ur_on_owner(const struct ur_engine *e)
{
	return !e->single_issuer || pthread_equal(pthread_self(), e->owner);
}

/* True for io_uring_enter errors that a later call may not see again. */
static bool ur_transient(int err)
{
	return err == -EINTR || err == -ETIME || err == -EBUSY || err == -EAGAIN ||
	       err == -ENOMEM;
}

/* ------------------------------------------------------------------------ */
/* Tasks and the window                                                     */
/* ------------------------------------------------------------------------ */

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
	 * A full ring cannot happen while the reservations hold: every queued
	 * SQE belongs to a running task and their reserves sum to at most the
	 * ring's size.  Handing the queue to the kernel makes room all the
	 * same (SQEs a failed enter left behind go with the next one).
	 */
	while (sqe == NULL) {
		ur_flush_sqes(e);
		sqe = io_uring_get_sqe(&e->ring);
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)t | tag);
	t->pending++;
	e->inflight++;
	e->unsubmitted++;
	return sqe;
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

MMAPIO_INTERNAL void mmapio__ur_finish(struct ur_engine *e, struct ur_task *t, int result)
{
	struct mmapio__op *op = t->op;

	/* Plain descriptors left open by a failure path are closed here. */
	if (t->fd >= 0)
		mmapio__sys.close(t->fd);
	if (t->dfd >= 0)
		mmapio__sys.close(t->dfd);
	if (t->in >= 0)
		mmapio__sys.close(t->in);
	if (t->out >= 0)
		mmapio__sys.close(t->out);
	if (t->slot >= 0)
		e->slots[e->nfree++] = (unsigned)t->slot;
	e->reserved -= t->reserve;
	e->active--;
	free(t->dir);
	free(t);
	op->result = result;
	mmapio__ur_queue_finished(e, op);
}

/* Runs op with blocking system calls, for a kernel without its opcodes. */
static void ur_run_blocking(struct ur_engine *e, struct mmapio__op *op)
{
	op->result = e->fallback->run(op);
	e->stats.blocking_ops++;
	mmapio__ur_queue_finished(e, op);
}

/* Returns true when every opcode op needs on io_uring is supported. */
static bool ur_can_run(const struct ur_engine *e, const struct mmapio__op *op)
{
	unsigned flags;

	switch (op->kind) {
	case MMAPIO_OP_CREATE:
		flags = op->u.create.flags;
		if (!ur_has(e, IORING_OP_OPENAT) || !ur_has(e, IORING_OP_CLOSE))
			return false;
		if (op->u.create.size > 0 && !(flags & MMAPIO_CREATE_SPARSE) &&
		    !ur_has(e, IORING_OP_FALLOCATE))
			return false;
		if (op->u.create.size > 0 && (flags & MMAPIO_CREATE_SPARSE) &&
		    !ur_has(e, UR_OP_FTRUNCATE))
			return false;
		return !(flags & MMAPIO_CREATE_DURABLE) || ur_has(e, IORING_OP_FSYNC);
	case MMAPIO_OP_COPY:
		if (!ur_has(e, IORING_OP_READ) || !ur_has(e, IORING_OP_WRITE))
			return false;
		return !(op->u.copy.flags & MMAPIO_COPY_DURABLE) ||
		       (ur_has(e, IORING_OP_FSYNC) && ur_has(e, IORING_OP_OPENAT) &&
			ur_has(e, IORING_OP_CLOSE));
	case MMAPIO_OP_DELETE:
		return ur_has(e, IORING_OP_UNLINKAT);
	case MMAPIO_OP_FLUSH:
		return ur_has(e, IORING_OP_FSYNC);
	}
	return false;
}

/* SQEs op holds in the window while it runs. */
static unsigned ur_reserve(const struct ur_engine *e, const struct mmapio__op *op)
{
	if (op->kind == MMAPIO_OP_COPY)
		return mmapio__ur_copy_reserve(e);
	if (op->kind == MMAPIO_OP_FLUSH)
		return mmapio__ur_flush_reserve(op);
	if (op->kind == MMAPIO_OP_DELETE)
		return 1;
	return UR_SQES_PER_OP;
}

/* Starts op as a task holding reserve SQEs of the window. */
static void ur_start(struct ur_engine *e, struct mmapio__op *op, unsigned reserve)
{
	struct ur_task *t;

	if (!ur_can_run(e, op)) {
		ur_run_blocking(e, op);
		return;
	}
	t = mmapio__ur_task_new(op, op->kind == MMAPIO_OP_COPY ? e->copy_depth : 0);
	if (t == NULL) {
		op->result = -ENOMEM;
		mmapio__ur_queue_finished(e, op);
		return;
	}
	t->reserve = reserve;
	e->reserved += reserve;
	e->active++;
	if (e->direct && (op->kind == MMAPIO_OP_CREATE ||
			  (op->kind == MMAPIO_OP_COPY && (op->u.copy.flags & MMAPIO_COPY_DURABLE))))
		t->slot = (int)e->slots[--e->nfree];

	switch (op->kind) {
	case MMAPIO_OP_CREATE:
		mmapio__ur_create_start(e, t);
		break;
	case MMAPIO_OP_COPY:
		mmapio__ur_copy_start(e, t);
		break;
	case MMAPIO_OP_DELETE:
		mmapio__ur_delete_start(e, t);
		break;
	case MMAPIO_OP_FLUSH:
		mmapio__ur_flush_start(e, t);
		break;
	}
}

/*
 * Starts operations from the backlog while the window has room: at most
 * depth running, their reserved SQEs within the ring.  The backlog is
 * strictly first in, first out.
 */
static void ur_refill(struct ur_engine *e)
{
	while (e->backlog != NULL && e->active < e->depth) {
		struct mmapio__op *op = e->backlog;
		unsigned need = ur_reserve(e, op);

		if (need > e->sq_entries)
			need = e->sq_entries;
		if (e->active > 0 && e->reserved + need > e->sq_entries)
			break;
		if (op->kind == MMAPIO_OP_COPY && e->active > 0 && !mmapio__ur_copy_can_start(e))
			break;
		e->backlog = op->next;
		if (e->backlog == NULL)
			e->backlog_tail = NULL;
		op->next = NULL;
		ur_start(e, op, need);
	}
}

/* Passes one CQE to the task it belongs to. */
static void ur_dispatch(struct ur_engine *e, uint64_t user_data, int res)
{
	struct ur_task *t = (struct ur_task *)(uintptr_t)(user_data & ~(uint64_t)(UR_TAG_SPAN - 1));
	unsigned tag = (unsigned)(user_data & (UR_TAG_SPAN - 1));

	if (t == NULL)
		return;
	e->inflight--;
	t->pending--;
	switch (t->op->kind) {
	case MMAPIO_OP_CREATE:
		mmapio__ur_create_cqe(e, t, tag, res);
		break;
	case MMAPIO_OP_COPY:
		mmapio__ur_copy_cqe(e, t, tag, res);
		break;
	case MMAPIO_OP_DELETE:
		mmapio__ur_finish(e, t, res);
		break;
	case MMAPIO_OP_FLUSH:
		mmapio__ur_flush_cqe(e, t, res);
		break;
	}
}

/* Handles every CQE in the ring.  Returns how many there were. */
static unsigned ur_process_cqes(struct ur_engine *e)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&e->ring, head, cqe) {
		uint64_t ud = cqe->user_data;
		int res = cqe->res;

		n++;
		ur_dispatch(e, ud, res);
	}
	io_uring_cq_advance(&e->ring, n);
	return n;
}

MMAPIO_INTERNAL unsigned mmapio__ur_hand_back(struct ur_engine *e)
{
	unsigned n = 0;

	while (e->finished != NULL) {
		struct mmapio__op *op = e->finished;

		e->finished = op->next;
		if (e->finished == NULL)
			e->finished_tail = NULL;
		op->next = NULL;
		e->owned--;
		n++;
		e->done(e->ctx, op);
	}
	return n;
}

/*
 * Handles the CQEs there are, refills the window and hands back.  Returns
 * the number handed back.
 */
static unsigned ur_progress(struct ur_engine *e)
{
	ur_process_cqes(e);
	ur_refill(e);
	return mmapio__ur_hand_back(e);
}

/* ------------------------------------------------------------------------ */
/* The contract                                                             */
/* ------------------------------------------------------------------------ */

/*
 * How many CQEs a blocking wait asks for: an eighth of those in flight, at
 * least one.  Waking for every CQE costs a context switch per CQE; with a
 * window of chains in flight, waiting for a few lets the kernel's workers
 * run ahead while the caller sleeps (1000 creates over 8 directories: 52k
 * files/s waking per CQE, 74k waiting for an eighth; see the top of
 * uring.c).  Every SQE in flight yields exactly one CQE, so the wait always
 * ends.
 */
static unsigned ur_wait_nr(const struct ur_engine *e)
{
	unsigned nr = e->inflight / 8;

	return nr > 0 ? nr : 1;
}

MMAPIO_INTERNAL void mmapio__ur_signal_eventfd(const struct ur_engine *e)
{
	uint64_t one = 1;
	ssize_t n;

	if (e->efd < 0)
		return;
	do {
		n = write(e->efd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
}

/* Enters a poll makes at most for deferred work before the caller's turn. */
#define UR_DRAIN_ROUNDS 4u

/*
 * Runs the deferred task work the kernel holds for this ring, handing back
 * what it finishes, and adds the number handed back to *handed.
 *
 * With IORING_SETUP_DEFER_TASKRUN, a request the kernel's workers finish
 * becomes task work that only this task runs, when it enters with
 * IORING_ENTER_GETEVENTS; and one such enter with min_complete 0 runs at
 * most 20 items (IO_LOCAL_TW_DEFAULT_MAX, Linux 6.13 and later), keeping
 * the rest on a retry list.  The kernel signals the eventfd only when work
 * is queued on an empty list, so whatever a bounded run leaves behind is
 * announced to nobody: an event loop that peeks once per wake-up then
 * sleeps on finished work (the stalls measured atop uring.c).  So this
 * enters again while IORING_SQ_TASKRUN says work is pending, up to
 * UR_DRAIN_ROUNDS times (work arriving as fast as it is run could keep a
 * poll here for good).  Returns 0, or the -errno of a ring-level failure.
 */
static int ur_drain_deferred(struct ur_engine *e, unsigned *handed)
{
	unsigned round;
	int r;

	for (round = 0; round < UR_DRAIN_ROUNDS && ur_taskrun_pending(e); round++) {
		r = ur_enter_getevents(e);
		*handed += ur_progress(e);
		if (r < 0 && !ur_transient(r))
			return r;
		if (r < 0)
			break;
	}
	return 0;
}

/*
 * Finishes a reap: for a poll (drain), runs the deferred work waiting (see
 * ur_drain_deferred); hands over the SQEs the refills queued; and when
 * deferred work is still pending, whether left by a bounded run or just
 * arrived, signals the eventfd, so that an event loop comes back for it
 * rather than sleep on it.  A blocking wait does not drain: entering again
 * while the kernel's workers keep finishing would keep the caller spinning
 * on the CPU they need, and the next call runs the work anyway.  Returns
 * handed, or err (or a ring-level failure found on the way) when nothing
 * was handed back.
 */
static int ur_reap_end(struct ur_engine *e, unsigned handed, int err, bool drain)
{
	int r;

	if (err == 0 && drain)
		err = ur_drain_deferred(e, &handed);
	r = ur_flush_sqes(e);
	if (err == 0 && r < 0 && !ur_transient(r))
		err = r;
	if (ur_taskrun_pending(e))
		mmapio__ur_signal_eventfd(e);
	if (handed > 0 || err == 0)
		return handed > INT32_MAX ? INT32_MAX : (int)handed;
	return err;
}

MMAPIO_INTERNAL int mmapio__ur_reap(void *engine, unsigned min, int timeout_ms)
{
	struct ur_engine *e = engine;
	unsigned handed;
	int64_t deadline = timeout_ms > 0 ? mmapio__plat_now_ms() + timeout_ms : 0;
	int r, err = 0;

	/*
	 * The kernel would refuse the enter with -EEXIST too, but only once
	 * one is needed; refusing here makes the answer the same whatever the
	 * kernel has finished, and keeps other threads off the CQ ring.
	 */
	if (!ur_on_owner(e))
		return -EEXIST;
	handed = ur_progress(e);
	if (min == 0 || timeout_ms == 0) {
		/*
		 * A poll.  Without deferred task work the kernel posts CQEs
		 * by itself (io-wq workers post them directly; task work runs
		 * on any return from a system call), so nothing needs
		 * entering except to hand over what the refill queued.  With
		 * it, ur_reap_end runs the work that is waiting.
		 */
		return ur_reap_end(e, handed, 0, true);
	}

	while (handed < min && e->owned > 0 && e->inflight > 0) {
		int left = -1;

		if (timeout_ms > 0) {
			int64_t rest = deadline - mmapio__plat_now_ms();

			if (rest <= 0)
				break;
			left = rest > INT32_MAX ? INT32_MAX : (int)rest;
		}
		r = ur_enter_wait(e, ur_wait_nr(e), left);
		handed += ur_progress(e);
		if (r == -EINTR) {
			err = -EINTR;
			break;
		}
		if (r == -ETIME)
			break;
		if (r < 0 && !ur_transient(r)) {
			err = r;
			break;
		}
	}
	/* Work a bounded run left behind is announced, not run (see there). */
	return ur_reap_end(e, handed, err, false);
}

MMAPIO_INTERNAL int mmapio__ur_submit(void *engine, struct mmapio__op *chain)
{
	struct ur_engine *e = engine;
	struct mmapio__op *op;
	unsigned back;

	if (chain == NULL)
		return 0;
	for (op = chain; op->next != NULL; op = op->next)
		e->owned++;
	e->owned++;
	if (e->backlog_tail != NULL)
		e->backlog_tail->next = chain;
	else
		e->backlog = chain;
	e->backlog_tail = op;

	ur_process_cqes(e);
	ur_refill(e);
	ur_flush_sqes(e);
	back = mmapio__ur_hand_back(e);
	if (back > 0)
		mmapio__ur_signal_eventfd(e);
	return 0;
}
