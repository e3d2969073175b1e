/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Create on io_uring, in the blocking engine's order and with its answers
 * (mmapio__plat_create_file in fallback/blocking.c); only the way the
 * calls are issued differs.
 *
 * A new file is one linked chain where the kernel has direct descriptors:
 *
 *   OPENAT O_CREAT|O_EXCL (into the op's slot, IOSQE_IO_LINK)
 *     -> FALLOCATE, or FTRUNCATE for a sparse file (IOSQE_IO_HARDLINK)
 *     -> FSYNC for a durable create (IOSQE_IO_HARDLINK)
 *     -> CLOSE of the slot
 *
 * The hard links make the close run even when the allocation or the fsync
 * fails, so a slot is never left holding a file; a failed open cancels the
 * rest, which is right as there is nothing to close.  Without direct
 * descriptors the open goes first on its own and the rest follows as a
 * chain on the descriptor it returned.
 *
 * The open is exclusive first, so that we know whether this op made the
 * file and may remove it again when a later step fails.  A file that was
 * there is never looked up by name before it is opened: with
 * MMAPIO_CREATE_EXCLUSIVE one statx by path only tells a directory
 * (-EISDIR) from anything else (-EEXIST); without it, the file is opened
 * again with O_TRUNC into a plain descriptor (a directory fails there with
 * -EISDIR; a FIFO or a device is not truncated by O_TRUNC), the statx of
 * that descriptor refuses anything but a regular file with -EINVAL, and
 * only then is the file sized.  Nothing can be swapped in between a check
 * and the use.
 *
 * A filesystem that refuses fallocate (-EOPNOTSUPP) gets the size with
 * ftruncate, as in the blocking engine: on the ring with
 * IORING_OP_FTRUNCATE (the file opened again by path), else with blocking
 * calls, parked until the caller may block.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sys.h"
#include "uring.h"

/* Stages of a create. */
enum {
	C_CHAIN = 1, /* the exclusive open with the rest linked (slot) */
	C_EXCL,      /* the exclusive open alone (plain descriptor) */
	C_EXSTAT,    /* statx by path: what is in the way of an exclusive create */
	C_REOPEN,    /* the open of an existing file, O_TRUNC */
	C_STAT,      /* statx of the reopened descriptor */
	C_RESIZE,    /* the open by path for an ftruncate after fallocate refused */
	C_FILE,      /* sizing, fsync and close */
	C_DIR        /* the directory fsync of a durable create */
};

/*
 * True when a durable create syncs its directory itself: not when the ring
 * syncs it once for the submit (MMAPIO__OP_NO_DIR_SYNC).
 */
static bool create_syncs_dir(const struct mmapio__op *op)
{
	return (op->u.create.flags & MMAPIO_CREATE_DURABLE) &&
	       !(op->ring_flags & MMAPIO__OP_NO_DIR_SYNC);
}

/* Finishes a create that succeeded, telling the ring whether it made the file. */
static void create_succeed(struct ur_engine *e, struct ur_task *t)
{
	if (t->created)
		t->op->ring_flags |= MMAPIO__OP_MADE_FILE;
	mmapio__ur_finish(e, t, 0);
}

/* Returns true when the kernel has every opcode op needs. */
static bool create_supported(const struct ur_engine *e, const struct mmapio__op *op)
{
	unsigned flags = op->u.create.flags;

	if (!ur_has(e, IORING_OP_OPENAT) || !ur_has(e, IORING_OP_CLOSE) ||
	    !ur_has(e, IORING_OP_STATX))
		return false;
	if (op->u.create.size > 0 && !(flags & MMAPIO_CREATE_SPARSE) &&
	    !ur_has(e, IORING_OP_FALLOCATE))
		return false;
	if (op->u.create.size > 0 && (flags & MMAPIO_CREATE_SPARSE) &&
	    !ur_has(e, UR_OP_FTRUNCATE))
		return false;
	return !(flags & MMAPIO_CREATE_DURABLE) || ur_has(e, IORING_OP_FSYNC);
}

/* A create holds a chain of 4 SQEs and a slot.  Returns true. */
static bool create_reserve(const struct ur_engine *e, const struct mmapio__op *op,
			   struct ur_need *need)
{
	need->sqes = UR_SQES_PER_OP;
	need->bufs = 0;
	need->slot = true;
	return true;
}

/*
 * Queues the steps after the open: sizing (ftruncate for a sparse file or
 * after fallocate was refused, else fallocate), fsync, close, hard-linked
 * so that the close always runs.  They go to the plain descriptor when
 * there is one, else to the slot.
 */
static void create_queue_rest(struct ur_engine *e, struct ur_task *t)
{
	const struct mmapio__op *op = t->op;
	bool fixed = t->fd < 0;
	int fd = fixed ? t->slot : t->fd;
	unsigned char fflag = fixed ? IOSQE_FIXED_FILE : 0;
	struct io_uring_sqe *sqe;

	if (op->u.create.size > 0) {
		if (t->resized || (op->u.create.flags & MMAPIO_CREATE_SPARSE)) {
			sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_TRUNC, 0));
			io_uring_prep_rw(UR_OP_FTRUNCATE, sqe, fd, NULL, 0, op->u.create.size);
		} else {
			sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_ALLOC, 0));
			io_uring_prep_fallocate(sqe, fd, 0, 0, op->u.create.size);
		}
		sqe->flags |= fflag | IOSQE_IO_HARDLINK;
	}
	if (op->u.create.flags & MMAPIO_CREATE_DURABLE) {
		sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_FSYNC, 0));
		io_uring_prep_fsync(sqe, fd, 0);
		sqe->flags |= fflag | IOSQE_IO_HARDLINK;
	}
	sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_CLOSE, 0));
	if (fixed)
		io_uring_prep_close_direct(sqe, (unsigned)t->slot);
	else
		io_uring_prep_close(sqe, fd);
	t->stage = C_FILE;
}

/*
 * Queues an open of the file with oflags: into the slot with the rest
 * linked when there is a slot and plain is false (stage linked_stage), else
 * alone into a plain descriptor (stage alone_stage).
 */
static void create_queue_open(struct ur_engine *e, struct ur_task *t, int oflags, bool plain,
			      int linked_stage, int alone_stage)
{
	const struct mmapio__op *op = t->op;
	struct io_uring_sqe *sqe;

	memset(t->res, 0, sizeof(t->res));
	plain = plain || t->slot < 0;
	sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_OPEN, plain ? UR_PLAIN : 0));
	if (!plain) {
		/* Direct descriptors take no O_CLOEXEC: they are not in the fd table. */
		io_uring_prep_openat_direct(sqe, AT_FDCWD, op->u.create.path, oflags,
					    op->u.create.perm, (unsigned)t->slot);
		sqe->flags |= IOSQE_IO_LINK;
		create_queue_rest(e, t);
		t->stage = linked_stage;
		return;
	}
	io_uring_prep_openat(sqe, AT_FDCWD, op->u.create.path, oflags | O_CLOEXEC,
			     op->u.create.perm);
	t->stage = alone_stage;
}

/* Queues the exclusive open that tells whether this op makes the file. */
static void create_open_excl(struct ur_engine *e, struct ur_task *t)
{
	create_queue_open(e, t, O_CREAT | O_EXCL | O_RDWR, false, C_CHAIN, C_EXCL);
}

/*
 * Queues the open of a file that exists, for the non-exclusive create.
 * O_NOCTTY: a terminal device in the way must not become ours.
 */
static void create_reopen(struct ur_engine *e, struct ur_task *t)
{
	create_queue_open(e, t, O_CREAT | O_RDWR | O_TRUNC | O_NOCTTY, true, C_REOPEN, C_REOPEN);
}

/*
 * Queues the open by path for the ftruncate after fallocate was refused
 * (the file is this op's or was checked: see the top of the file).
 */
static void create_resize(struct ur_engine *e, struct ur_task *t)
{
	t->resized = true;
	create_queue_open(e, t, O_RDWR | O_NOCTTY, false, C_FILE, C_RESIZE);
}

/*
 * An open failed with r.  Out of descriptors while other tasks hold some,
 * it waits for one and runs retry; else the create fails.
 */
static void create_open_failed(struct ur_engine *e, struct ur_task *t, int r,
			       ur_resume_fn retry)
{
	if (mmapio__ur_fd_short(e, t, r)) {
		mmapio__ur_park(e, t, UR_PARK_FD, retry);
		return;
	}
	mmapio__ur_fail(e, t, r);
}

/* The exclusive open found a file in the way. */
static void create_exists(struct ur_engine *e, struct ur_task *t)
{
	struct io_uring_sqe *sqe;

	if (!(t->op->u.create.flags & MMAPIO_CREATE_EXCLUSIVE)) {
		create_reopen(e, t);
		return;
	}
	/* A directory in the way is reported as such, not as -EEXIST. */
	memset(&t->stx, 0, sizeof(t->stx));
	sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_STAT, 0));
	io_uring_prep_statx(sqe, AT_FDCWD, t->op->u.create.path, 0, STATX_TYPE, &t->stx);
	t->stage = C_EXSTAT;
}

/*
 * Sizes the file with blocking calls, for a filesystem that refused
 * fallocate on a kernel without IORING_OP_FTRUNCATE, then goes on as the
 * chain would have.  Runs parked (the caller may block).
 */
static void create_resize_blocking(struct ur_engine *e, struct ur_task *t)
{
	const struct mmapio__op *op = t->op;
	int fd = mmapio__sys.openat(AT_FDCWD, op->u.create.path, O_RDWR | O_CLOEXEC | O_NOCTTY, 0);
	int r = fd;

	if (fd >= 0) {
		r = mmapio__sys.ftruncate(fd, op->u.create.size);
		if (r == 0 && (op->u.create.flags & MMAPIO_CREATE_DURABLE))
			r = mmapio__sys.fsync(fd);
		mmapio__sys.close(fd);
	}
	if (r < 0) {
		mmapio__ur_fail(e, t, r);
		return;
	}
	if (create_syncs_dir(op)) {
		mmapio__ur_dir_start(e, t, C_DIR);
		return;
	}
	create_succeed(e, t);
}

/* The sizing chain is in: looks at its results and moves on. */
static void create_file_done(struct ur_engine *e, struct ur_task *t)
{
	bool trunc = t->resized || (t->op->u.create.flags & MMAPIO_CREATE_SPARSE);
	const struct mmapio__op *op = t->op;
	int r = 0;

	/* The close ran (hard-linked) unless it never reached the kernel. */
	if (t->res[UR_CLOSE] != -ECANCELED)
		mmapio__ur_fd_drop(e, &t->fd, false);
	/* With a slot, a failed open cancelled the rest. */
	if (t->res[UR_OPEN] < 0) {
		mmapio__ur_fail(e, t, t->res[UR_OPEN]);
		return;
	}
	if (op->u.create.size > 0)
		r = trunc ? t->res[UR_TRUNC] : t->res[UR_ALLOC];
	if ((r == -EOPNOTSUPP || r == -ENOSYS) && !trunc) {
		if (ur_has(e, UR_OP_FTRUNCATE))
			create_resize(e, t);
		else
			mmapio__ur_park(e, t, UR_PARK_BLOCKING, create_resize_blocking);
		return;
	}
	if (r == 0 && (op->u.create.flags & MMAPIO_CREATE_DURABLE))
		r = t->res[UR_FSYNC];
	/*
	 * A failing close is not an error, as in the blocking engine: the
	 * file is complete and Linux has released the descriptor.
	 */
	if (r < 0) {
		mmapio__ur_fail(e, t, r);
		return;
	}
	if (create_syncs_dir(op)) {
		mmapio__ur_dir_start(e, t, C_DIR);
		return;
	}
	create_succeed(e, t);
}

/*
 * A plain open (stage C_EXCL, C_REOPEN or C_RESIZE) is in with result r:
 * moves on to the check or the sizing chain.
 */
static void create_opened(struct ur_engine *e, struct ur_task *t, int r)
{
	struct io_uring_sqe *sqe;
	int stage = t->stage;

	if (r == -EEXIST && stage == C_EXCL) {
		create_exists(e, t);
		return;
	}
	if (r < 0) {
		create_open_failed(e, t, r,
				   stage == C_EXCL ? create_open_excl
				   : stage == C_REOPEN ? create_reopen : create_resize);
		return;
	}
	mmapio__ur_fd_own(e, &t->fd, r);
	if (stage == C_EXCL)
		t->created = true;
	if (stage != C_REOPEN) {
		memset(t->res, 0, sizeof(t->res));
		create_queue_rest(e, t);
		return;
	}
	/* What was there is checked through the descriptor, not the name. */
	memset(&t->stx, 0, sizeof(t->stx));
	sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_STAT, 0));
	io_uring_prep_statx(sqe, t->fd, "", AT_EMPTY_PATH, STATX_TYPE, &t->stx);
	t->stage = C_STAT;
}

/* Starts a create.  Finishes the task itself on ENOMEM. */
static void create_start(struct ur_engine *e, struct ur_task *t)
{
	t->own_path = t->op->u.create.path;
	if (create_syncs_dir(t->op)) {
		t->dir = mmapio__plat_dirname(t->op->u.create.path);
		if (t->dir == NULL) {
			mmapio__ur_finish(e, t, -ENOMEM);
			return;
		}
	}
	create_open_excl(e, t);
}

/* Takes the CQE of step of a create's task. */
static void create_complete(struct ur_engine *e, struct ur_task *t, unsigned step,
			    unsigned index, int res)
{
	int r;

	if (t->stage == C_DIR) {
		r = mmapio__ur_dir_cqe(e, t, step, res);
		if (r == 1)
			return;
		if (r < 0)
			mmapio__ur_fail(e, t, r);
		else
			create_succeed(e, t);
		return;
	}
	t->res[step] = res;
	if (t->pending > 0)
		return;

	switch (t->stage) {
	case C_CHAIN:
		r = t->res[UR_OPEN];
		if (r == -EEXIST) {
			create_exists(e, t);
			return;
		}
		if (r < 0) {
			create_open_failed(e, t, r, create_open_excl);
			return;
		}
		t->created = true;
		create_file_done(e, t);
		return;
	case C_EXCL:
	case C_REOPEN:
	case C_RESIZE:
		create_opened(e, t, t->res[UR_OPEN]);
		return;
	case C_EXSTAT:
		r = t->res[UR_STAT] == 0 && S_ISDIR(t->stx.stx_mode) ? -EISDIR : -EEXIST;
		mmapio__ur_finish(e, t, r);
		return;
	case C_STAT:
		r = t->res[UR_STAT];
		if (r == 0 && !S_ISREG(t->stx.stx_mode))
			r = -EINVAL;
		if (r < 0) {
			mmapio__ur_finish(e, t, r);
			return;
		}
		memset(t->res, 0, sizeof(t->res));
		create_queue_rest(e, t);
		return;
	case C_FILE:
		create_file_done(e, t);
		return;
	}
}

MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_create = {
	.name = "create",
	.supported = create_supported,
	.reserve = create_reserve,
	.start = create_start,
	.complete = create_complete,
	.prepare = NULL, /* everything goes through the ring */
};
