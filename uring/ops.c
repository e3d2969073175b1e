/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Create, delete and flush on io_uring, and the directory fsync stage that
 * durable creates and copies share.  The semantics are those of the
 * blocking backend (fallback/blocking.c) exactly; only the way the system
 * calls are issued differs.
 *
 * A create is one linked chain where the kernel has direct descriptors:
 *
 *   OPENAT (into the op's slot, IOSQE_IO_LINK)
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
 * The open is exclusive first, as in the blocking backend, so that we know
 * whether this op made the file and may remove it again when a later step
 * fails; an existing file is opened again with O_TRUNC (one extra round
 * trip, only for files that were there before).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sys.h"
#include "uring.h"

/* Stages of a create. */
enum { C_OPEN = 1, C_FILE, C_DIR };

/*
 * A flush is split into datasyncs of at most this many bytes, since an
 * SQE's length has 32 bits; a power of two keeps every part page aligned.
 */
#define UR_FLUSH_PART ((uint64_t)1 << 31)

/* Parts of one flush in flight at once. */
#define UR_FLUSH_PARTS 8u

MMAPIO_INTERNAL char *mmapio__ur_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

MMAPIO_INTERNAL void mmapio__ur_fail(struct ur_engine *e, struct ur_task *t, const char *path,
				     int err)
{
	struct io_uring_sqe *sqe;

	t->err = err;
	if (!t->created) {
		mmapio__ur_finish(e, t, err);
		return;
	}
	t->created = false;
	if (!ur_has(e, IORING_OP_UNLINKAT)) {
		mmapio__sys.unlinkat(AT_FDCWD, path, 0);
		mmapio__ur_finish(e, t, err);
		return;
	}
	sqe = mmapio__ur_sqe(e, t, UR_UNLINK);
	io_uring_prep_unlinkat(sqe, AT_FDCWD, path, 0);
	t->stage = UR_STAGE_UNLINK;
}

MMAPIO_INTERNAL void mmapio__ur_dir_start(struct ur_engine *e, struct ur_task *t, int stage)
{
	struct io_uring_sqe *sqe;

	t->res[UR_DOPEN] = t->res[UR_DFSYNC] = t->res[UR_DCLOSE] = 0;
	t->stage = stage;
	sqe = mmapio__ur_sqe(e, t, UR_DOPEN);
	if (t->slot >= 0) {
		io_uring_prep_openat_direct(sqe, AT_FDCWD, t->dir, O_RDONLY | O_DIRECTORY, 0,
					    (unsigned)t->slot);
		sqe->flags |= IOSQE_IO_LINK;
		sqe = mmapio__ur_sqe(e, t, UR_DFSYNC);
		io_uring_prep_fsync(sqe, t->slot, 0);
		sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
		sqe = mmapio__ur_sqe(e, t, UR_DCLOSE);
		io_uring_prep_close_direct(sqe, (unsigned)t->slot);
		t->dround = 2;
	} else {
		io_uring_prep_openat(sqe, AT_FDCWD, t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		t->dround = 1;
	}
}

MMAPIO_INTERNAL int mmapio__ur_dir_result(struct ur_engine *e, struct ur_task *t)
{
	struct io_uring_sqe *sqe;

	if (t->res[UR_DOPEN] < 0)
		return t->res[UR_DOPEN];
	if (t->dround == 1) {
		t->dfd = t->res[UR_DOPEN];
		sqe = mmapio__ur_sqe(e, t, UR_DFSYNC);
		io_uring_prep_fsync(sqe, t->dfd, 0);
		sqe->flags |= IOSQE_IO_HARDLINK;
		sqe = mmapio__ur_sqe(e, t, UR_DCLOSE);
		io_uring_prep_close(sqe, t->dfd);
		t->dround = 2;
		return 1;
	}
	if (t->slot < 0)
		t->dfd = -1; /* the close ran, whatever the fsync did */
	/*
	 * As in the blocking backend, a failing close of the directory is not
	 * an error: the fsync has already made the entry durable.
	 */
	return t->res[UR_DFSYNC] < 0 ? t->res[UR_DFSYNC] : 0;
}

/* ------------------------------------------------------------------------ */
/* Create                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Queues the steps after the open: sizing, fsync, close, hard-linked so
 * that the close always runs.
 */
static void create_queue_rest(struct ur_engine *e, struct ur_task *t)
{
	const struct mmapio__op *op = t->op;
	bool fixed = t->slot >= 0;
	int fd = fixed ? t->slot : t->fd;
	unsigned char fflag = fixed ? IOSQE_FIXED_FILE : 0;
	struct io_uring_sqe *sqe;

	if (op->u.create.size > 0) {
		sqe = mmapio__ur_sqe(e, t, UR_SIZE);
		if (op->u.create.flags & MMAPIO_CREATE_SPARSE)
			io_uring_prep_rw(UR_OP_FTRUNCATE, sqe, fd, NULL, 0, op->u.create.size);
		else
			io_uring_prep_fallocate(sqe, fd, 0, 0, op->u.create.size);
		sqe->flags |= fflag | IOSQE_IO_HARDLINK;
	}
	if (op->u.create.flags & MMAPIO_CREATE_DURABLE) {
		sqe = mmapio__ur_sqe(e, t, UR_FSYNC);
		io_uring_prep_fsync(sqe, fd, 0);
		sqe->flags |= fflag | IOSQE_IO_HARDLINK;
	}
	sqe = mmapio__ur_sqe(e, t, UR_CLOSE);
	if (fixed)
		io_uring_prep_close_direct(sqe, (unsigned)t->slot);
	else
		io_uring_prep_close(sqe, fd);
}

/* Queues the open (exclusive while probing), and with a slot the rest. */
static void create_queue(struct ur_engine *e, struct ur_task *t)
{
	const struct mmapio__op *op = t->op;
	unsigned perm = op->u.create.perm;
	int oflags = O_CREAT | O_RDWR;
	struct io_uring_sqe *sqe;

	t->excl_used = t->excl_probe || (op->u.create.flags & MMAPIO_CREATE_EXCLUSIVE);
	oflags |= t->excl_used ? O_EXCL : O_TRUNC;
	memset(t->res, 0, sizeof(t->res));
	sqe = mmapio__ur_sqe(e, t, UR_OPEN);
	if (t->slot >= 0) {
		/* Direct descriptors take no O_CLOEXEC: they are not in the fd table. */
		io_uring_prep_openat_direct(sqe, AT_FDCWD, op->u.create.path, oflags, perm,
					    (unsigned)t->slot);
		sqe->flags |= IOSQE_IO_LINK;
		create_queue_rest(e, t);
		t->stage = C_FILE;
	} else {
		io_uring_prep_openat(sqe, AT_FDCWD, op->u.create.path, oflags | O_CLOEXEC, perm);
		t->stage = C_OPEN;
	}
}

/*
 * The open failed with r.  An exclusive probe that found the file opens it
 * again with O_TRUNC, after the checks the blocking backend makes (a
 * directory is -EISDIR, another non-regular file -EINVAL, so that a FIFO or
 * a device is never truncated).
 */
static void create_open_failed(struct ur_engine *e, struct ur_task *t, int r)
{
	const struct mmapio__op *op = t->op;
	struct stat st;
	int s;

	if (r != -EEXIST) {
		mmapio__ur_finish(e, t, r);
		return;
	}
	s = mmapio__sys.fstatat(AT_FDCWD, op->u.create.path, &st, 0);
	if (op->u.create.flags & MMAPIO_CREATE_EXCLUSIVE) {
		mmapio__ur_finish(e, t, s == 0 && S_ISDIR(st.st_mode) ? -EISDIR : -EEXIST);
		return;
	}
	if (s == 0 && S_ISDIR(st.st_mode)) {
		mmapio__ur_finish(e, t, -EISDIR);
		return;
	}
	if (s == 0 && !S_ISREG(st.st_mode)) {
		mmapio__ur_finish(e, t, -EINVAL);
		return;
	}
	t->excl_probe = false;
	create_queue(e, t);
}

/*
 * Sizes the file with ftruncate on the calling thread, for a filesystem
 * that refused fallocate (the blocking backend does the same).  Returns 0
 * or -errno.
 */
static int create_truncate_blocking(const struct mmapio__op *op)
{
	int fd = mmapio__sys.openat(AT_FDCWD, op->u.create.path, O_RDWR | O_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return fd;
	r = mmapio__sys.ftruncate(fd, op->u.create.size);
	if (r == 0 && (op->u.create.flags & MMAPIO_CREATE_DURABLE))
		r = mmapio__sys.fsync(fd);
	mmapio__sys.close(fd);
	return r;
}

/* Looks at the results of the file chain and moves on. */
static void create_file_done(struct ur_engine *e, struct ur_task *t)
{
	const struct mmapio__op *op = t->op;
	int r;

	if (t->slot >= 0 && t->res[UR_OPEN] < 0) {
		create_open_failed(e, t, t->res[UR_OPEN]);
		return;
	}
	t->fd = -1; /* closed by the chain, whatever else failed */
	t->created = t->excl_used;

	r = op->u.create.size > 0 ? t->res[UR_SIZE] : 0;
	if ((r == -EOPNOTSUPP || r == -ENOSYS) && !(op->u.create.flags & MMAPIO_CREATE_SPARSE))
		r = create_truncate_blocking(op);
	if (r == 0 && (op->u.create.flags & MMAPIO_CREATE_DURABLE))
		r = t->res[UR_FSYNC];
	/*
	 * A failing close is not an error, as in the blocking backend: the
	 * file is complete and Linux has released the descriptor.
	 */
	if (r < 0) {
		mmapio__ur_fail(e, t, op->u.create.path, r);
		return;
	}
	if (op->u.create.flags & MMAPIO_CREATE_DURABLE) {
		mmapio__ur_dir_start(e, t, C_DIR);
		return;
	}
	mmapio__ur_finish(e, t, 0);
}

MMAPIO_INTERNAL void mmapio__ur_create_start(struct ur_engine *e, struct ur_task *t)
{
	const struct mmapio__op *op = t->op;

	if (op->u.create.flags & MMAPIO_CREATE_DURABLE) {
		t->dir = mmapio__ur_dirname(op->u.create.path);
		if (t->dir == NULL) {
			mmapio__ur_finish(e, t, -ENOMEM);
			return;
		}
	}
	t->excl_probe = !(op->u.create.flags & MMAPIO_CREATE_EXCLUSIVE);
	create_queue(e, t);
}

MMAPIO_INTERNAL void mmapio__ur_create_cqe(struct ur_engine *e, struct ur_task *t, unsigned tag,
					   int res)
{
	int r;

	if (tag < UR_NSTEPS)
		t->res[tag] = res;
	if (t->pending > 0)
		return;

	switch (t->stage) {
	case C_OPEN:
		if (t->res[UR_OPEN] < 0) {
			create_open_failed(e, t, t->res[UR_OPEN]);
			return;
		}
		t->fd = t->res[UR_OPEN];
		memset(t->res, 0, sizeof(t->res));
		create_queue_rest(e, t);
		t->stage = C_FILE;
		return;
	case C_FILE:
		create_file_done(e, t);
		return;
	case C_DIR:
		r = mmapio__ur_dir_result(e, t);
		if (r == 1)
			return;
		if (r < 0)
			mmapio__ur_fail(e, t, t->op->u.create.path, r);
		else
			mmapio__ur_finish(e, t, 0);
		return;
	default: /* UR_STAGE_UNLINK */
		mmapio__ur_finish(e, t, t->err);
		return;
	}
}

/* ------------------------------------------------------------------------ */
/* Delete and flush                                                         */
/* ------------------------------------------------------------------------ */

MMAPIO_INTERNAL void mmapio__ur_delete_start(struct ur_engine *e, struct ur_task *t)
{
	struct io_uring_sqe *sqe = mmapio__ur_sqe(e, t, UR_UNLINK);

	/* -ENOENT and -EISDIR arrive in the CQE, as from unlink(2). */
	io_uring_prep_unlinkat(sqe, AT_FDCWD, t->op->u.del.path, 0);
}

MMAPIO_INTERNAL unsigned mmapio__ur_flush_reserve(const struct mmapio__op *op)
{
	uint64_t parts = (op->u.flush.len + UR_FLUSH_PART - 1) / UR_FLUSH_PART;

	if (parts == 0)
		parts = 1;
	return parts < UR_FLUSH_PARTS ? (unsigned)parts : UR_FLUSH_PARTS;
}

/*
 * Queues datasync parts while the flush has reserve left.  Each is
 * IORING_OP_FSYNC with IORING_FSYNC_DATASYNC over [off, off + len): the
 * kernel runs vfs_fsync_range over it, as msync(MS_SYNC) does.
 */
static void flush_queue(struct ur_engine *e, struct ur_task *t)
{
	while (t->pending < t->reserve && t->fnext < t->fend) {
		uint64_t part = t->fend - t->fnext;
		struct io_uring_sqe *sqe;

		if (part > UR_FLUSH_PART)
			part = UR_FLUSH_PART;
		sqe = mmapio__ur_sqe(e, t, UR_FSYNC);
		io_uring_prep_fsync(sqe, t->op->u.flush.fd, IORING_FSYNC_DATASYNC);
		sqe->off = t->fnext;
		sqe->len = (uint32_t)part;
		t->fnext += part;
	}
}

MMAPIO_INTERNAL void mmapio__ur_flush_start(struct ur_engine *e, struct ur_task *t)
{
	t->fnext = t->op->u.flush.off;
	t->fend = t->op->u.flush.off + t->op->u.flush.len;
	flush_queue(e, t);
}

MMAPIO_INTERNAL void mmapio__ur_flush_cqe(struct ur_engine *e, struct ur_task *t, int res)
{
	/* The first error decides; parts not yet queued are not needed then. */
	if (res < 0 && t->err == 0)
		t->err = res;
	if (t->err == 0)
		flush_queue(e, t);
	if (t->pending == 0)
		mmapio__ur_finish(e, t, t->err);
}
