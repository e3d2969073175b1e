/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The io_uring backend: the engine (ring setup, the rolling window, CQE
 * dispatch, waiting and hand-back).  The operations live in ops.c (create,
 * delete, flush) and copy.c.
 *
 * Operations are started from a FIFO backlog into a rolling window: at most
 * queue_depth running, each holding the SQEs its largest stage needs (4 for
 * a create), so the ring (4 x queue_depth SQEs, CQ twice that) can never
 * overflow; as CQEs come back, finished operations leave the window and the
 * backlog refills it at once.  Every SQE yields exactly one CQE, which is
 * how an operation's state machine knows when a stage is complete, and how
 * an operation is handed back exactly once.
 *
 * Measurements behind the choices (2-vCPU VM, Linux 6.18.44, liburing 2.3,
 * ext4; throwaway programs, medians of 9 runs for creates and 5 for copies,
 * other sessions were loading the machine at times, so the figures move by
 * about 10% from run to run; the pairs below ran back to back):
 *
 * 1000 creates of 64 KiB (open+fallocate+close), files/s:
 *
 *                                   1 directory        8 directories
 *   ext4 on the VM's disk
 *     blocking loop                 43624  42827       62314  51173
 *     ring, window 64               44562  44265       67731  62655
 *   ext4 on a RAM-backed loop device (less noise)
 *     blocking loop                 38452  37148  38450  53476  51618  52500
 *     ring, window 64               44131  42137  40904  67601  59622  64265
 *     public API, io_uring          44310  41421  42523  65482  59685  67914
 *     public API, blocking backend  36814  36631  38605  52863  51274  46506
 *   The rows above ran with SINGLE_ISSUER|SUBMIT_ALL; the final setup
 *   (SUBMIT_ALL only), one run each:
 *     loop device   blocking 39412, ring 44243, public API 42843 (1 dir);
 *                   blocking 52912, ring 61251, public API 61805 (8 dirs)
 *     VM's disk     blocking 60361, ring 67212 (8 dirs)
 *   window (1 directory, loop device, one run each): 16: 35262,
 *   32: 39771, 128: 44089 (64: the row above)
 *
 *   CPU per file: the blocking loop spends 23-27 us on the caller; the ring
 *   spends 37-45 us in all (1 directory) or 25-29 us (8 directories), of
 *   which 5-8 us on the caller, who is free while the kernel works.  perf
 *   (-e cpu-clock): in one directory the io-wq workers spend about 12% of
 *   their time spinning on the directory's i_rwsem (rwsem_spin_on_owner),
 *   the rest in ext4's create path (ext4_find_dest_de, ext4_search_dir);
 *   creates in one directory serialise there, so the ring only matches the
 *   loop, and wins once files span directories.  A smaller window does not
 *   help (above), nor do fewer workers (io_uring_register_iowq_max_workers
 *   1: 28227 and 29398 against 33043 and 34534 by default, during a busy
 *   period and with the earlier DEFER_TASKRUN setup), nor IOSQE_ASYNC on the open (46098 vs 45560 and 45922 vs
 *   44620 in one directory; 69981 vs 69636 and 68329 vs 66915 in eight:
 *   the kernel already forces O_CREAT opens and fallocate to io-wq).
 *
 *   What did help: waiting for an eighth of the CQEs in flight instead of
 *   one (ur_wait_nr), 42905 vs 36341 (1 directory) and 73866 vs 51930
 *   (8 directories), with io_uring_enter calls down from about 1000 to 270
 *   (measured while the ring still used DEFER_TASKRUN, see below).
 *   Note for benchmarks: creating right after deleting thousands of files
 *   makes ext4's inode allocator skip the recently deleted inodes
 *   (recently_deleted, find_inode_bit), which halved both sides here.
 *
 * Ring flags, all with SUBMIT_ALL (1 directory / 8 directories, loop
 * device, two runs each):
 *   SINGLE_ISSUER|DEFER_TASKRUN   42790 43453 / 73709 76100
 *   COOP_TASKRUN                  48142 47253 / 64862 67661
 *   neither                       46195 46792 / 69866 67249
 *   With DEFER_TASKRUN, 16 eventfd-driven batches run in parallel saw 0 to
 *   13 one-second stalls each (finished work waiting as task work that no
 *   eventfd signal announced); with COOP_TASKRUN or neither, none.  COOP
 *   does not wake a task asleep in epoll for task work either.
 *
 *   The stalls' cause, from the kernel's source: with DEFER_TASKRUN the
 *   eventfd is signalled only when task work is queued on an empty list
 *   (io_req_local_work_add), and since 6.13 one GETEVENTS enter with
 *   min_complete 0 runs at most 20 items, keeping the rest on a retry
 *   list and setting IORING_SQ_TASKRUN but signalling nobody
 *   (io_run_local_work_continue).  ur_drain_deferred fixes it: a poll
 *   enters again while IORING_SQ_TASKRUN (TASKRUN_FLAG) says work is
 *   pending, and any reap that leaves work pending signals the eventfd.
 *   Stress program: 16 processes at once, each 5 batches of 1000 creates
 *   reaped from epoll on mmapio_ring_fd with a 1 s timeout, counting the
 *   timeouts after which a peek found finished work (stalls); three
 *   rounds, variants alternating, stalls over all 16 processes:
 *     DEFER_TASKRUN, one enter per peek (the old setup)   12  19  12
 *     DEFER_TASKRUN|TASKRUN_FLAG with ur_drain_deferred    0   0   0
 *     SUBMIT_ALL only (this setup)                         0   0   0
 *   (each variant also saw 0-67 timeouts with nothing finished: a loaded
 *   machine, not a lost wake-up).  30 parallel runs of the ring_batch
 *   example, three times over, with the fix and DEFER_TASKRUN: all
 *   passed, as did the whole test suite with that setup.
 *
 *   Throughput with the fix, same loop device, variants alternating in
 *   one run, medians of 9 (creates, files/s) and 5 (1 GiB copy, GB/s),
 *   two runs; io_uring_enter calls per 1000 creates in brackets:
 *                              1 directory          8 directories     copy
 *     SUBMIT_ALL               48065 47959 (~100)   69221 68893 (~90)  6.25 6.36
 *     SINGLE_ISSUER|DEFER_TASKRUN|TASKRUN_FLAG|SUBMIT_ALL
 *                              43295 42413 (~250)   72431 71019 (~260) 6.17 6.25
 *   DEFER_TASKRUN wins 3-4% across directories but loses 10-12% in one:
 *   each CQE and each next link of a create chain waits for this task to
 *   enter and run it, where without it the kernel's workers post CQEs and
 *   start the next link themselves.  So the ring keeps SUBMIT_ALL only;
 *   ur_setup says why not SINGLE_ISSUER on its own, and how to switch.
 *   (A first version of the fix that also drained deferred work after
 *   every blocking wait made 950-1300 enters per 1000 creates: the caller
 *   spun on the CPU the workers need.  Blocking waits now only signal.)
 *
 * Copying a page-cache-resident file, GB/s (copy.c):
 *                              256 MiB       1 GiB
 *   read/write loop, 1 MiB     4.03  3.68    5.13  5.09
 *   copy_file_range            3.59  3.53    4.26  4.22
 *   ring  2 x 1 MiB            5.81  5.37    6.21  4.96
 *   ring  4 x 1 MiB            5.72  5.78    6.55  6.46   <- chosen
 *   ring  8 x 1 MiB            5.51  5.53    6.08  6.08
 *   ring 16 x 1 MiB            4.36  4.72    5.39  4.68
 *   ring  4 x 256 KiB          5.53  5.35    5.68  5.39
 *   ring  2 x 4 MiB            4.74  5.62    3.87  5.16
 *   perf: the writes (copy_folio_from_iter_atomic, ~73% of the samples)
 *   run on one io-wq worker, as the kernel hashes writes to one inode; the
 *   reads complete inline on the caller.  4 x 1 MiB had the narrowest
 *   spread of the fast choices (min 5.68 GB/s over 5 runs of 1 GiB).
 *   Final setup, 1 GiB: ring 4 x 1 MiB 6.05, read/write loop 4.46.
 *
 * io_uring_enter counting (uring_enters) was checked against strace -c:
 * 421 counted, 421 traced.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"
#include "uring.h"

/* Each running operation may hold up to this many SQEs at once. */
#define UR_SQES_PER_OP 4u

/* The window is capped so that the ring (4 SQEs per op) stays small. */
#define UR_MAX_DEPTH 1024u

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

/* Puts op on the list of operations to hand back. */
static void ur_queue_finished(struct ur_engine *e, struct mmapio__op *op)
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
	ur_queue_finished(e, op);
}

/* Runs op with blocking system calls, for a kernel without its opcodes. */
static void ur_run_blocking(struct ur_engine *e, struct mmapio__op *op)
{
	op->result = mmapio__blocking_run(op);
	e->stats.blocking_ops++;
	ur_queue_finished(e, op);
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
		ur_queue_finished(e, op);
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

/* Hands every finished operation back.  Returns how many. */
static unsigned ur_hand_back(struct ur_engine *e)
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
	return ur_hand_back(e);
}

/* ------------------------------------------------------------------------ */
/* The contract                                                             */
/* ------------------------------------------------------------------------ */

/* Milliseconds on the monotonic clock. */
static int64_t ur_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * How many CQEs a blocking wait asks for: an eighth of those in flight, at
 * least one.  Waking for every CQE costs a context switch per CQE; with a
 * window of chains in flight, waiting for a few lets the kernel's workers
 * run ahead while the caller sleeps (1000 creates over 8 directories: 52k
 * files/s waking per CQE, 74k waiting for an eighth; see the top of this
 * file).  Every SQE in flight yields exactly one CQE, so the wait always
 * ends.
 */
static unsigned ur_wait_nr(const struct ur_engine *e)
{
	unsigned nr = e->inflight / 8;

	return nr > 0 ? nr : 1;
}

/* Signals the eventfd for operations finished outside the kernel. */
static void ur_signal_eventfd(const struct ur_engine *e)
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
 * sleeps on finished work (the stalls measured atop this file).  So this
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
		ur_signal_eventfd(e);
	if (handed > 0 || err == 0)
		return handed > INT32_MAX ? INT32_MAX : (int)handed;
	return err;
}

/*
 * Makes progress as the contract says.  Returns the number handed back;
 * -EINTR when a signal cut the wait short before anything came back; or,
 * with nothing handed back, the -errno of a ring-level failure of
 * io_uring_enter (-EEXIST when a thread other than the one that set a
 * single-issuer ring up calls, -EBADFD, ...), after which the loop stops
 * rather than spin on a ring that cannot make progress.
 */
static int ur_reap(void *engine, unsigned min, int timeout_ms)
{
	struct ur_engine *e = engine;
	unsigned handed;
	int64_t deadline = timeout_ms > 0 ? ur_now_ms() + timeout_ms : 0;
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
			int64_t rest = deadline - ur_now_ms();

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

/*
 * Takes the chain, starts what fits in the window and hands it to the
 * kernel at once, so the work runs while the caller goes on.  Operations
 * that finished without the kernel (blocking fallbacks, allocation
 * failures) are handed back right here.  Returns 0.
 */
static int ur_submit(void *engine, struct mmapio__op *chain)
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
	back = ur_hand_back(e);
	if (back > 0)
		ur_signal_eventfd(e);
	return 0;
}

/* Returns the number of operations the engine owns. */
static unsigned ur_owned(void *engine)
{
	const struct ur_engine *e = engine;

	return e->owned;
}

/*
 * Registers efd with the ring (a negative efd unregisters).  Returns 0 or
 * -errno.
 */
static int ur_set_eventfd(void *engine, int efd)
{
	struct ur_engine *e = engine;
	int r;

	if (e->efd >= 0) {
		io_uring_unregister_eventfd(&e->ring);
		e->efd = -1;
	}
	if (efd < 0)
		return 0;
	r = io_uring_register_eventfd(&e->ring, efd);
	if (r < 0)
		return r;
	e->efd = efd;
	/*
	 * Work that finished before the registration was announced to
	 * nobody; one signal brings the caller round to collect it.
	 */
	if (e->inflight > 0)
		ur_signal_eventfd(e);
	return 0;
}

/* Copies the counters. */
static void ur_stats(void *engine, struct mmapio__engine_stats *out)
{
	const struct ur_engine *e = engine;

	*out = e->stats;
}

/*
 * Finishes every operation the engine owns (the ring contract: close waits
 * for submitted work), then frees everything.  If the ring itself stops
 * working, the backlog is handed back with -ECANCELED and whatever the
 * kernel still holds is left allocated rather than freed under it.
 * Returns 0, or -EEXIST (nothing freed, the ring still usable) when called
 * with work in flight from a thread that a single-issuer ring refuses.
 */
static int ur_close(void *engine)
{
	struct ur_engine *e = engine;
	bool kernel_holds = false;

	while (e->owned > 0) {
		unsigned before = e->owned;
		int r = ur_reap(e, e->owned, -1);

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
		/* No progress: the ring is broken.  Give up on it. */
		while (e->backlog != NULL) {
			struct mmapio__op *op = e->backlog;

			e->backlog = op->next;
			op->result = -ECANCELED;
			ur_queue_finished(e, op);
		}
		e->backlog_tail = NULL;
		ur_hand_back(e);
		kernel_holds = e->inflight > 0;
		break;
	}
	if (e->efd >= 0)
		io_uring_unregister_eventfd(&e->ring);
	/* Exiting the ring closes every direct descriptor still installed. */
	io_uring_queue_exit(&e->ring);
	if (kernel_holds)
		return 0;
	mmapio__ur_pool_free(e);
	free(e->slots);
	free(e);
	return 0;
}

/* Reads the opcodes the kernel supports into e->ops. */
static void ur_probe(struct ur_engine *e)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(&e->ring);
	unsigned op;

	e->ops = 0;
	if (p == NULL)
		return; /* Linux 5.5 and older: no probe, so use nothing. */
	for (op = 0; op < 64; op++)
		if (io_uring_opcode_supported(p, (int)op))
			e->ops |= (uint64_t)1 << op;
	io_uring_free_probe(p);
}

/*
 * Sets the ring up, trying the cheapest task-running modes first and
 * plainer ones where the kernel refuses them with -EINVAL.  Returns 0 or
 * -errno.
 */
static int ur_setup(struct ur_engine *e, unsigned entries)
{
	/*
	 * SINGLE_ISSUER|DEFER_TASKRUN is not tried, on the measurements atop
	 * this file: with the eventfd made reliable (ur_drain_deferred, which
	 * needs TASKRUN_FLAG alongside), it still cost 10-12% in creates in
	 * one directory, where every link of a create chain waits for this
	 * task to run the previous one's completion, for 3-4% in eight.  The
	 * engine handles it all the same (ur_drain_deferred, ur_on_owner, the
	 * -EEXIST of close), so that trying it again is one line here:
	 *
	 *   IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
	 *           IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
	 *
	 * COOP_TASKRUN is left out too: it does not wake a task asleep in
	 * epoll for task work (buffered reads waiting for I/O).  Without
	 * either, workers post CQEs themselves and the eventfd fires at once.
	 */
	static const unsigned tries[] = {
		IORING_SETUP_SUBMIT_ALL, /* 5.18: one bad SQE does not stop the rest */
		0,
	};
	struct io_uring_params p;
	size_t i;
	int r = -EINVAL;

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = tries[i] | IORING_SETUP_CLAMP;
		r = io_uring_queue_init_params(entries, &e->ring, &p);
		if (r != -EINVAL)
			break;
	}
	if (r < 0)
		return r;
	e->setup_flags = tries[i];
	e->defer = (tries[i] & IORING_SETUP_DEFER_TASKRUN) != 0;
	e->single_issuer = (tries[i] & IORING_SETUP_SINGLE_ISSUER) != 0;
	e->owner = pthread_self();
	e->sq_entries = p.sq_entries;
	e->ext_arg = (p.features & IORING_FEAT_EXT_ARG) != 0;
	return 0;
}

/*
 * Sets an engine up.  Returns 0 with *engine set, or -errno with the
 * reason in why.
 */
static int ur_open(const struct mmapio__engine_params *params, void **engine, char *why,
		   size_t whylen)
{
	struct ur_engine *e = calloc(1, sizeof(*e));
	unsigned depth, i;
	int r;

	if (e == NULL) {
		snprintf(why, whylen, "io_uring: out of memory");
		return -ENOMEM;
	}
	e->done = params->done;
	e->ctx = params->ctx;
	e->efd = -1;
	depth = params->queue_depth == 0 ? 64 : params->queue_depth;
	if (depth > UR_MAX_DEPTH)
		depth = UR_MAX_DEPTH;

	r = ur_setup(e, depth * UR_SQES_PER_OP);
	if (r < 0) {
		char buf[64];

		snprintf(why, whylen, "io_uring_setup: %s", strerror_r(-r, buf, sizeof(buf)));
		free(e);
		return r;
	}
	e->depth = depth;
	if (e->depth > e->sq_entries / UR_SQES_PER_OP && e->sq_entries >= UR_SQES_PER_OP)
		e->depth = e->sq_entries / UR_SQES_PER_OP; /* the kernel clamped the ring */
	ur_probe(e);

	/*
	 * One direct descriptor slot per running operation: a create opens
	 * into it, allocates and closes in one linked chain, without a file
	 * descriptor ever entering the process's table.
	 */
	e->slots = calloc(e->depth, sizeof(*e->slots));
	if (e->slots == NULL) {
		io_uring_queue_exit(&e->ring);
		free(e);
		snprintf(why, whylen, "io_uring: out of memory");
		return -ENOMEM;
	}
	if (ur_has(e, IORING_OP_OPENAT) && ur_has(e, IORING_OP_CLOSE) &&
	    io_uring_register_files_sparse(&e->ring, e->depth) == 0) {
		e->direct = true;
		for (i = 0; i < e->depth; i++)
			e->slots[i] = e->depth - 1 - i;
		e->nfree = e->depth;
	}
	mmapio__ur_copy_tune(e);
	*engine = e;
	return 0;
}

MMAPIO_INTERNAL const struct mmapio__backend mmapio__backend_uring = {
	.name = "io_uring",
	.kind = MMAPIO_BACKEND_URING,
	.open = ur_open,
	.close = ur_close,
	.submit = ur_submit,
	.reap = ur_reap,
	.owned = ur_owned,
	.set_eventfd = ur_set_eventfd,
	.stats = ur_stats,
};
