/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entering the kernel: every io_uring_enter the engine makes goes through
 * this file, so that it is counted once (uring_enters, checked against
 * strace -c: 421 counted, 421 traced) and the test hooks can refuse it.
 * SQEs an enter did not hand over stay queued in the submission ring and go
 * with the next enter, so no request is lost or started twice.
 */
#include <errno.h>
#include <string.h>

#include "uring.h"

/*
 * True for io_uring_enter errors that no later call can escape: the ring
 * refused by a seccomp filter (-EPERM, -ENOSYS), or disabled (-EBADFD).
 */
static bool ur_lasting(int err)
{
	return err == -EPERM || err == -ENOSYS || err == -EBADFD;
}

/* Marks the ring broken when r is a lasting error.  Returns r. */
static int ur_check(struct ur_engine *e, int r)
{
	if (r < 0 && ur_lasting(r) && e->broken == 0)
		e->broken = r;
	return r;
}

/*
 * Accounts for an enter that handed over r SQEs (r > 0) of the queued ones.
 */
static void ur_taken(struct ur_engine *e, int r, unsigned queued)
{
	e->stats.uring_enters++;
	ur_check(e, r);
	if (r > 0) {
		e->unsubmitted -= (unsigned)r > queued ? queued : (unsigned)r;
		e->stats.uring_sqes += (uint64_t)r;
	}
}

/*
 * Prepares an enter: applies the result hooks to the SQEs about to go.
 * Returns 0, or the error the hooks force on this enter.
 */
static int ur_before_enter(struct ur_engine *e)
{
	mmapio__ur_hook_sqes(e);
	return ur_check(e, mmapio__ur_hook_enter(e));
}

MMAPIO_INTERNAL int mmapio__ur_flush_sqes(struct ur_engine *e)
{
	unsigned queued = e->unsubmitted;
	int r;

	if (queued == 0)
		return 0;
	r = ur_before_enter(e);
	if (r < 0)
		return r;
	/* With SQEs to hand over, liburing enters exactly once. */
	r = io_uring_submit(&e->ring);
	ur_taken(e, r, queued);
	return r;
}

/*
 * Waits with a timeout for nr CQEs after the queue was handed over.
 * Returns 0, -ETIME, -EINTR or another -errno.
 */
static int ur_timed_wait(struct ur_engine *e, unsigned nr, int timeout_ms)
{
	struct __kernel_timespec ts;
	struct io_uring_getevents_arg arg;
	struct io_uring_cqe *cqe;
	int r;

	ts.tv_sec = timeout_ms / 1000;
	ts.tv_nsec = (long long)(timeout_ms % 1000) * 1000000;
	r = ur_check(e, mmapio__ur_hook_enter(e));
	if (r < 0)
		return r;
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
	} else {
		/*
		 * Kernels before 5.11: liburing waits with a timeout SQE whose
		 * CQE carries LIBURING_UDATA_TIMEOUT; the CQE loop in
		 * window.c passes over it.
		 */
		r = io_uring_wait_cqes(&e->ring, &cqe, nr, &ts, NULL);
	}
	e->stats.uring_enters++;
	return r < 0 ? ur_check(e, r) : 0;
}

MMAPIO_INTERNAL int mmapio__ur_enter_wait(struct ur_engine *e, unsigned nr, int timeout_ms)
{
	unsigned queued = e->unsubmitted;
	int r;

	if (timeout_ms >= 0) {
		r = mmapio__ur_flush_sqes(e);
		return r < 0 ? r : ur_timed_wait(e, nr, timeout_ms);
	}
	r = ur_before_enter(e);
	if (r < 0)
		return r;
	/* One enter: submit and wait (liburing 2.3 always enters here). */
	r = io_uring_submit_and_wait(&e->ring, nr);
	ur_taken(e, r, queued);
	if (r < 0)
		return r;
	/*
	 * Having submitted, the kernel reports the count even when a signal
	 * cut the wait short.  The wait ends early for nothing else but a
	 * submission cut short (which a caller retrying after -EINTR also
	 * handles), so fewer than nr CQEs tells.
	 */
	return io_uring_cq_ready(&e->ring) < nr ? -EINTR : 0;
}

MMAPIO_INTERNAL int mmapio__ur_enter_getevents(struct ur_engine *e)
{
	unsigned queued = e->unsubmitted;
	int r = ur_before_enter(e);

	if (r < 0)
		return r;
	r = io_uring_submit_and_get_events(&e->ring);
	ur_taken(e, r, queued);
	return r;
}

MMAPIO_INTERNAL int mmapio__ur_enter_check(struct ur_engine *e)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
	struct io_uring_cqe *cqe = NULL;
	int r;

	if (sqe == NULL)
		return -EBUSY; /* a new ring has room: cannot happen */
	io_uring_prep_nop(sqe);
	io_uring_sqe_set_data64(sqe, 0);
	r = mmapio__ur_hook_enter(e);
	if (r < 0)
		return r;
	r = io_uring_submit_and_wait(&e->ring, 1);
	ur_taken(e, r, 0);
	if (r < 0)
		return r;
	/* The NOP's CQE, which io_uring_submit_and_wait waited for. */
	r = io_uring_peek_cqe(&e->ring, &cqe);
	if (r < 0)
		return r;
	io_uring_cqe_seen(&e->ring, cqe);
	return 0;
}
