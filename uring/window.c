/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The io_uring engine's rolling window: the backlog, resuming parked
 * tasks, CQE dispatch, hand-back, a broken ring, and the contract's submit
 * and reap.  It knows nothing of any operation kind: it reaches them
 * through e->kinds (see uring.h), builds on task.c, and enters the kernel
 * through enter.c.
 *
 * Operations are started from a FIFO backlog into a rolling window: at most
 * e->depth running, each holding the SQEs its largest stage needs (4 for
 * a create), and those holdings sum to at most e->room, which the
 * completion ring holds, so it can never overflow; as CQEs come back,
 * finished operations leave the window and the backlog refills it at once.
 * The submission ring may be smaller than e->room (the default window's
 * is: see ur_open): before a task may queue, the window makes room in it
 * for the task's reserve (mmapio__ur_sq_room), handing what is queued to
 * the kernel, so a linked chain always goes in one io_uring_enter.  Every SQE yields exactly one CQE, which is
 * how an operation's state machine knows when a stage is complete, and how
 * an operation is handed back exactly once.
 *
 * A broken ring.  When io_uring_enter fails for good (-EPERM or -ENOSYS
 * from a seccomp filter installed after the ring was set up, -EBADFD), or
 * fails in any way while the ring is being closed, the SQEs the kernel
 * never took would otherwise wait for ever.  ur_void_untaken takes them
 * back out of the submission ring and completes each with -ECANCELED (the
 * request did not run), so that every state machine ends as it would after
 * a cancelled request (closing what it holds), and the operation comes back
 * with the ring's error; the backlog comes back with that error too.
 * Requests the kernel did take finish there and post their CQEs without an
 * enter, and are collected by polling the CQ ring.  Such a ring refuses new
 * chains with its error.
 *
 * Links.  The ring front end may mark an operation MMAPIO__OP_LINK_NEXT
 * (after the contract's link() said yes): the next one in the chain runs
 * only after it.  Every operation of such a chain is one SQE (its kind's
 * single()), and ur_start_chain starts the chain only when the window,
 * the completion ring's room and the submission ring hold all of it, then
 * queues the SQEs back to back, each but the last with IOSQE_IO_LINK, so
 * one enter hands the whole chain to the kernel: all or none.  The kernel
 * runs each only when the one before succeeded in full; after an error or
 * a short result it completes the rest with -ECANCELED.  Such a CQE of an
 * operation linked behind another (t->behind) is not its kind's: the task
 * waits (link_wait) until the one before has finished (task.c), then
 * completes with -ECANCELED, not having run, when that one failed; or
 * starts again by itself when that one succeeded after all (a short write
 * that write.c continued), which keeps the order, since the one before is
 * done.  Any other first CQE means the link ran it: nothing ties the two
 * any more.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"
#include "uring.h"

/* ------------------------------------------------------------------------ */
/* Errors of io_uring_enter and the owner                                  */
/* ------------------------------------------------------------------------ */

/* True for io_uring_enter errors that a later call may not see again. */
static bool ur_transient(int err)
{
	return err == -EINTR || err == -ETIME || err == -EBUSY || err == -EAGAIN ||
	       err == -ENOMEM;
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

/* ------------------------------------------------------------------------ */
/* Parked tasks                                                             */
/* ------------------------------------------------------------------------ */

/*
 * True when what parked t is gone.  A task out of descriptors goes on once
 * per descriptor released (first parked, first served), or when the engine
 * holds none and opens none: its retry then tells the truth.
 */
static bool ur_may_resume(struct ur_engine *e, const struct ur_task *t)
{
	if ((t->park & UR_PARK_BLOCKING) && !e->may_block)
		return false;
	if (!(t->park & UR_PARK_FD) || (e->plain_fds == e->ahead_fds && e->plain_opening == 0))
		return true;
	if (e->fd_wakeups == 0)
		return false;
	e->fd_wakeups--;
	return true;
}

/* Resumes the parked tasks that may go on now, in the order they parked. */
static void ur_unpark(struct ur_engine *e)
{
	struct ur_task *list = e->parked, *t;

	e->parked = e->parked_tail = NULL;
	while ((t = list) != NULL) {
		ur_resume_fn resume = t->resume;

		list = t->park_next;
		if (!ur_may_resume(e, t)) {
			mmapio__ur_park(e, t, t->park, resume);
			continue;
		}
		mmapio__ur_sq_room(e, t->reserve);
		t->park = 0;
		t->resume = NULL;
		resume(e, t);
	}
	/* Releases nobody waited for are not kept for later waiters. */
	e->fd_wakeups = 0;
}

/* ------------------------------------------------------------------------ */
/* Starting operations                                                      */
/* ------------------------------------------------------------------------ */

/* Returns op's kind, or NULL for a kind the table does not have. */
static const struct ur_kind *ur_kind_of(const struct ur_engine *e, const struct mmapio__op *op)
{
	unsigned k = (unsigned)op->kind;

	return k < UR_NKINDS ? e->kinds[k] : NULL;
}

/* Returns the task prepared for op while it waits in the backlog, or NULL. */
static struct ur_task *ur_prepared(const struct mmapio__op *op)
{
	return (struct ur_task *)op->priv[0];
}

/* Returns the number of plain descriptors t holds. */
static unsigned ur_fds_of(const struct ur_task *t)
{
	return (t->fd >= 0) + (t->dfd >= 0) + (t->in >= 0) + (t->out >= 0);
}

/*
 * Runs the blocking half of op's start (its kind's prepare) in a new task,
 * which waits in op->priv[0] for room in the window.  Returns 0; 1 when out
 * of descriptors (nothing kept, op is prepared again later); or -errno,
 * nothing kept, for op to fail with.
 */
static int ur_prepare(struct ur_engine *e, struct mmapio__op *op, const struct ur_kind *k)
{
	struct ur_need need = { 0, 0, false };
	struct ur_task *t;
	int r;

	k->reserve(e, op, &need);
	t = mmapio__ur_task_new(op, need.bufs);
	if (t == NULL)
		return -ENOMEM;
	r = k->prepare(e, t);
	if (r != 0) {
		mmapio__ur_task_free(e, t);
		return r;
	}
	op->priv[0] = (uintptr_t)t;
	e->ahead++;
	e->ahead_fds += ur_fds_of(t);
	e->unprepared--;
	return 0;
}

/*
 * Prepares operations waiting in the backlog, from its head, up to
 * e->ahead_max of them at a time: in submit, so that a poll can start them later (see
 * "What runs where" in uring.h).  Stops when out of descriptors.  One that
 * fails leaves the backlog and is handed back at once.
 */
static void ur_prepare_ahead(struct ur_engine *e)
{
	struct mmapio__op *op = e->backlog, *prev = NULL, *next;

	for (; op != NULL && e->unprepared > 0 && e->ahead < e->ahead_max; op = next) {
		const struct ur_kind *k = ur_kind_of(e, op);
		int r;

		next = op->next;
		if (k->prepare == NULL || ur_prepared(op) != NULL) {
			prev = op;
			continue;
		}
		r = ur_prepare(e, op, k);
		if (r == 1)
			break;
		if (r == 0) {
			prev = op;
			continue;
		}
		e->unprepared--;
		if (prev != NULL)
			prev->next = next;
		else
			e->backlog = next;
		if (e->backlog_tail == op)
			e->backlog_tail = prev;
		op->result = r;
		mmapio__ur_queue_finished(e, op);
	}
}

/* Starts t's state machine, unless the ring broke meanwhile. */
static void ur_begin(struct ur_engine *e, struct ur_task *t)
{
	if (e->broken < 0) {
		mmapio__ur_fail(e, t, e->broken);
		return;
	}
	e->kinds[t->op->kind]->start(e, t);
}

/*
 * Puts op into the window, in its prepared task t or a new one, holding
 * what need says, and starts it (after the gate hook's read, if set).
 */
static void ur_start(struct ur_engine *e, struct mmapio__op *op, struct ur_task *t,
		     const struct ur_need *need)
{
	struct io_uring_sqe *sqe;

	if (t == NULL)
		t = mmapio__ur_task_new(op, need->bufs);
	if (t == NULL) {
		op->result = -ENOMEM;
		mmapio__ur_queue_finished(e, op);
		return;
	}
	t->reserve = need->sqes;
	e->reserved += t->reserve;
	mmapio__ur_sq_room(e, t->reserve);
	e->active++;
	if (need->slot && e->direct && e->nfree > 0)
		t->slot = (int)e->slots[--e->nfree];
	if ((mmapio__ur_hooks.gate_kinds & (1u << op->kind)) && e->broken == 0) {
		sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_GATE, 0));
		io_uring_prep_read(sqe, mmapio__ur_hooks.gate_fd, &t->gate_byte, 1, (uint64_t)-1);
		return;
	}
	ur_begin(e, t);
}

/* Takes the head of the backlog off. */
static struct mmapio__op *ur_backlog_pop(struct ur_engine *e)
{
	struct mmapio__op *op = e->backlog;

	e->backlog = op->next;
	if (e->backlog == NULL)
		e->backlog_tail = NULL;
	op->next = NULL;
	if (ur_prepared(op) != NULL) {
		e->ahead--;
		e->ahead_fds -= ur_fds_of(ur_prepared(op));
	} else if (ur_kind_of(e, op)->prepare != NULL)
		e->unprepared--;
	op->priv[0] = 0;
	return op;
}

/*
 * A broken ring starts the whole backlog at once: each operation fails at
 * its start with the ring's error, removing what a prepared copy created.
 */
static void ur_cancel_backlog(struct ur_engine *e)
{
	static const struct ur_need none = { 0, 0, false };

	while (e->backlog != NULL) {
		struct ur_task *t = ur_prepared(e->backlog);

		ur_start(e, ur_backlog_pop(e), t, &none);
	}
}

/*
 * Allocates the tasks of the n operations of the chain at the head of the
 * backlog, each linked behind the one before (link_prev, link_next,
 * behind).  Returns the first, or NULL out of memory with none kept.
 */
static struct ur_task *ur_chain_tasks(struct mmapio__op *op, unsigned n)
{
	struct ur_task *first = NULL, *prev = NULL, *t;

	for (; n > 0; n--, op = op->next, prev = t) {
		t = mmapio__ur_task_new(op, 0);
		if (t == NULL)
			break;
		if (prev == NULL) {
			first = t;
			continue;
		}
		prev->link_next = t;
		t->link_prev = prev;
		t->behind = true;
	}
	if (n == 0)
		return first;
	while ((t = first) != NULL) {
		first = t->link_next;
		free(t);
	}
	return NULL;
}

/*
 * Fails the chain of n operations at the head of the backlog without
 * starting it: the first with err, the rest with -ECANCELED, not run.
 */
static void ur_chain_fail(struct ur_engine *e, unsigned n, int err)
{
	for (; n > 0; n--, err = -ECANCELED) {
		struct mmapio__op *op = ur_backlog_pop(e);

		op->result = err;
		mmapio__ur_queue_finished(e, op);
	}
}

/*
 * Starts the chain of linked operations at the head of the backlog (the
 * first marked MMAPIO__OP_LINK_NEXT, up to the first that is not, which
 * ends it) all at once: their SQEs go into the submission ring back to
 * back, each but the last with IOSQE_IO_LINK, so that one enter hands the
 * whole chain over (see "Links").  Returns false, starting nothing, when
 * the window has no room for all of them yet.
 */
static bool ur_start_chain(struct ur_engine *e)
{
	static const struct ur_need one = { 1, 0, false };
	struct mmapio__op *op = e->backlog;
	struct io_uring_sq *sq = &e->ring.sq;
	struct ur_task *t, *next;
	unsigned n = 1;

	for (; (op->ring_flags & MMAPIO__OP_LINK_NEXT) && op->next != NULL; op = op->next)
		n++;
	/* Each operation of a chain holds one SQE (the engine's link()). */
	if (e->active > 0 && (e->active + n > e->depth || e->reserved + n > e->room))
		return false;
	mmapio__ur_sq_room(e, n);
	if (e->broken < 0) {
		ur_cancel_backlog(e);
		return true;
	}
	t = ur_chain_tasks(e->backlog, n);
	if (t == NULL) {
		ur_chain_fail(e, n, -ENOMEM);
		return true;
	}
	for (; t != NULL; t = next) {
		next = t->link_next;
		ur_start(e, ur_backlog_pop(e), t, &one);
		if (next == NULL)
			break;
		sq->sqes[(sq->sqe_tail - 1) & sq->ring_mask].flags |= IOSQE_IO_LINK;
		mmapio__ur_hooks.linked[next->op->kind]++;
	}
	return true;
}

/*
 * Starts operations from the backlog while the window has room: at most
 * depth running, their reserved SQEs within e->room, a direct slot for
 * each that wants one, a kind's blocking prepare only where the caller may
 * block.  The backlog is strictly first in, first out.
 */
static void ur_refill(struct ur_engine *e)
{
	if (e->broken < 0) {
		ur_cancel_backlog(e);
		return;
	}
	while (e->backlog != NULL && e->active < e->depth) {
		struct mmapio__op *op = e->backlog;
		const struct ur_kind *k = ur_kind_of(e, op);
		struct ur_need need = { 0, 0, false };
		struct ur_task *t;
		int r;

		if (op->ring_flags & MMAPIO__OP_LINK_NEXT) {
			if (!ur_start_chain(e))
				break;
			continue;
		}
		if (!k->reserve(e, op, &need) && e->active > 0)
			break;
		if (need.sqes > e->sq_entries)
			need.sqes = e->sq_entries;
		if (e->active > 0 && e->reserved + need.sqes > e->room)
			break;
		if (need.slot && e->direct && e->nfree == 0)
			break; /* slots are held by running tasks only */
		if (k->prepare != NULL && ur_prepared(op) == NULL) {
			if (!e->may_block)
				break; /* see "What runs where" in uring.h */
			r = ur_prepare(e, op, k);
			if (r == 1)
				break; /* out of descriptors: they come back as tasks end */
			if (r < 0) {
				op = ur_backlog_pop(e);
				op->result = r;
				mmapio__ur_queue_finished(e, op);
				continue;
			}
		}
		t = ur_prepared(op);
		ur_backlog_pop(e);
		ur_start(e, op, t, &need);
	}
}

/* ------------------------------------------------------------------------ */
/* Completions                                                              */
/* ------------------------------------------------------------------------ */

/*
 * Passes one completion to the task it belongs to: a CQE (real), or a
 * request taken back from a broken ring (not real, res -ECANCELED).
 */
static void ur_dispatch(struct ur_engine *e, uint64_t user_data, int res, bool real)
{
	struct ur_task *t = (struct ur_task *)(uintptr_t)(user_data & ~(uint64_t)(UR_TAG_SPAN - 1));
	unsigned tag = (unsigned)(user_data & (UR_TAG_SPAN - 1));
	unsigned step = UR_TAG_STEP(tag);

	/*
	 * Not ours: the NOP of the open's check, and the timeout SQE that
	 * liburing's timed waits queue on kernels without
	 * IORING_FEAT_EXT_ARG (liburing's own peek passes over it too).
	 */
	if (user_data == 0 || user_data == LIBURING_UDATA_TIMEOUT || t == NULL)
		return;
	e->inflight--;
	t->pending--;
	/* What this completion queues must fit: see mmapio__ur_sq_room. */
	mmapio__ur_sq_room(e, t->reserve);
	if (ur_plain_open(tag))
		e->plain_opening--;
	if (t->behind) {
		/* The first CQE of an operation linked behind another: see "Links". */
		t->behind = false;
		if (res == -ECANCELED) {
			mmapio__ur_hooks.link_cancelled[t->op->kind]++;
			mmapio__ur_link_cqe(e, t);
			return;
		}
		/* It ran, so the one before succeeded: nothing ties them any more. */
		if (t->link_prev != NULL)
			t->link_prev->link_next = NULL;
		t->link_prev = NULL;
	}
	if (real) {
		res = mmapio__ur_hook_result((unsigned)t->op->kind, step, res);
		if (t->hook_short > 0) {
			res = t->hook_short;
			t->hook_short = 0;
		}
	} else {
		t->voided = true;
	}
	if (step == UR_GATE) {
		ur_begin(e, t);
		return;
	}
	if (t->stage == UR_STAGE_UNLINK) {
		/* The cleanup unlink of mmapio__ur_fail: its result is not the op's. */
		if (t->pending == 0)
			mmapio__ur_finish(e, t, t->err);
		return;
	}
	e->kinds[t->op->kind]->complete(e, t, step, UR_TAG_INDEX(tag), res);
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
		ur_dispatch(e, ud, res, true);
	}
	io_uring_cq_advance(&e->ring, n);
	return n;
}

/*
 * On a broken ring: takes every SQE the kernel has not taken back out of
 * the submission ring (mmapio__ur_spill) and completes it with -ECANCELED;
 * repeats for what those completions queue, which a full ring may have
 * spilled onto the stack meanwhile.  Returns the number completed.
 */
static unsigned ur_void_untaken(struct ur_engine *e)
{
	unsigned total = 0;

	mmapio__ur_spill(e);
	while (e->nspilled > 0) {
		ur_dispatch(e, e->untaken[--e->nspilled], -ECANCELED, false);
		total++;
		if (e->nspilled == 0)
			mmapio__ur_spill(e);
	}
	return total;
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
 * Resumes parked tasks and refills the window until nothing changes; on a
 * broken ring, what that queued is taken back and completed too.
 */
static void ur_settle(struct ur_engine *e)
{
	do {
		ur_unpark(e);
		ur_refill(e);
	} while (e->broken < 0 && ur_void_untaken(e) > 0);
}

/*
 * Handles the CQEs there are, settles the window and hands back.  Returns
 * the number handed back.
 */
static unsigned ur_progress(struct ur_engine *e)
{
	ur_process_cqes(e);
	ur_settle(e);
	return mmapio__ur_hand_back(e);
}

/*
 * Hands the queued SQEs to the kernel, and on a broken ring completes
 * them instead.  Returns the enter's -errno, or 0.
 */
static int ur_push(struct ur_engine *e)
{
	int r = mmapio__ur_flush_sqes(e);

	if (e->broken < 0)
		ur_settle(e);
	return r < 0 ? r : 0;
}

/* ------------------------------------------------------------------------ */
/* Waiting                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * How many CQEs a blocking wait asks for when the caller wants want more
 * operations back: an eighth of those in flight, at least one, at most
 * want.  Waking for every CQE costs a context switch per CQE; with a
 * window of chains in flight, waiting for a few lets the kernel's workers
 * run ahead while the caller sleeps (1000 creates over 8 directories: 52k
 * files/s waking per CQE, 74k waiting for an eighth; see the top of
 * uring.c).  Every operation ends with a CQE, so want CQEs are the least
 * that can bring want operations back: waiting for more would keep a
 * caller who asked for one waiting on work it did not ask for.
 */
static unsigned ur_wait_nr(const struct ur_engine *e, unsigned want)
{
	unsigned nr = e->inflight / 8;

	if (nr == 0)
		nr = 1;
	return nr < want ? nr : want;
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
		r = mmapio__ur_enter_getevents(e);
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
	r = ur_push(e);
	handed += mmapio__ur_hand_back(e);
	if (err == 0 && r < 0 && !ur_transient(r))
		err = r;
	if (ur_taskrun_pending(e))
		mmapio__ur_signal_eventfd(e);
	if (handed > 0 || err == 0)
		return handed > INT32_MAX ? INT32_MAX : (int)handed;
	return err;
}

/* Sleeps for about a millisecond. */
static void ur_nap(void)
{
	struct timespec ts = { 0, 1000000 };

	nanosleep(&ts, NULL);
}

/*
 * Reaps on a broken ring: what the kernel took still finishes there and
 * posts its CQE without an enter, so a caller who waits polls the CQ ring
 * (every millisecond) until min operations are back, deadline (0: none)
 * passes, or the kernel holds nothing more.  Returns the number handed
 * back, or the ring's error when none.
 */
static int ur_reap_broken(struct ur_engine *e, unsigned handed, unsigned min, int timeout_ms,
			  int64_t deadline)
{
	while (handed < min && timeout_ms != 0 && e->inflight > 0) {
		if (timeout_ms > 0 && mmapio__plat_now_ms() >= deadline)
			break;
		ur_nap();
		handed += ur_progress(e);
	}
	if (handed > 0)
		return handed > INT32_MAX ? INT32_MAX : (int)handed;
	return e->broken;
}

/* ------------------------------------------------------------------------ */
/* The contract                                                             */
/* ------------------------------------------------------------------------ */

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
	/* A poll never blocks: see "What runs where" in uring.h. */
	e->may_block = timeout_ms != 0;
	handed = ur_progress(e);
	if (e->broken < 0)
		return ur_reap_broken(e, handed, min, timeout_ms, deadline);
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
		r = mmapio__ur_enter_wait(e, ur_wait_nr(e, min - handed), left);
		handed += ur_progress(e);
		if (e->broken < 0)
			return ur_reap_broken(e, handed, min, timeout_ms, deadline);
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

/*
 * Takes op from a submitted chain: runs it on the fallback engine now when
 * the kernel lacks its opcodes, else appends it to the backlog.
 */
static void ur_take(struct ur_engine *e, struct mmapio__op *op)
{
	const struct ur_kind *k = ur_kind_of(e, op);

	op->next = NULL;
	op->priv[0] = 0;
	e->owned++;
	if (k == NULL) {
		op->result = -EINVAL;
		mmapio__ur_queue_finished(e, op);
		return;
	}
	if (!k->supported(e, op)) {
		op->result = e->fallback->run(op);
		e->stats.blocking_ops++;
		mmapio__ur_queue_finished(e, op);
		return;
	}
	if (e->backlog_tail != NULL)
		e->backlog_tail->next = op;
	else
		e->backlog = op;
	e->backlog_tail = op;
	if (k->prepare != NULL)
		e->unprepared++;
}

MMAPIO_INTERNAL int mmapio__ur_submit(void *engine, struct mmapio__op *chain)
{
	struct ur_engine *e = engine;
	unsigned back;

	if (e->broken < 0 && chain != NULL)
		return e->broken;
	e->may_block = true;
	while (chain != NULL) {
		struct mmapio__op *op = chain;

		/* ur_take relinks op, so step past it first. */
		chain = op->next;
		ur_take(e, op);
	}
	ur_process_cqes(e);
	ur_settle(e);
	ur_prepare_ahead(e);
	ur_push(e);
	back = mmapio__ur_hand_back(e);
	if (back > 0)
		mmapio__ur_signal_eventfd(e);
	return 0;
}

MMAPIO_INTERNAL int mmapio__ur_drain(struct ur_engine *e)
{
	while (e->owned > 0) {
		unsigned before = e->owned;
		int r = mmapio__ur_reap(e, e->owned, -1);

		/*
		 * A single-issuer ring refuses other threads: only its own
		 * thread can run the completions, so freeing it here would
		 * leave work the kernel still does pointing at freed memory.
		 * It stays whole for that thread to close.
		 */
		if (r == -EEXIST)
			return -EEXIST;
		if (r > 0 || r == -EINTR || e->owned < before)
			continue;
		/*
		 * No progress: the ring cannot enter.  Give up on the kernel:
		 * the next reap completes what it never took, and collects
		 * what it did take as it finishes.
		 */
		if (e->broken == 0)
			e->broken = r < 0 ? r : -EIO;
	}
	return 0;
}
