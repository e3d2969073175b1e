/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What durable creates and copies share: the directory fsync stage that
 * makes a new entry survive a crash.  It follows the platform's
 * (mmapio__plat_sync_parent); only the way the calls are issued differs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "uring.h"

MMAPIO_INTERNAL void mmapio__ur_dir_start(struct ur_engine *e, struct ur_task *t, int stage)
{
	struct io_uring_sqe *sqe;

	t->res[UR_DOPEN] = t->res[UR_DFSYNC] = t->res[UR_DCLOSE] = 0;
	t->stage = stage;
	sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_DOPEN, t->slot >= 0 ? 0 : UR_PLAIN));
	if (t->slot >= 0) {
		io_uring_prep_openat_direct(sqe, AT_FDCWD, t->dir, O_RDONLY | O_DIRECTORY, 0,
					    (unsigned)t->slot);
		sqe->flags |= IOSQE_IO_LINK;
		sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_DFSYNC, 0));
		io_uring_prep_fsync(sqe, t->slot, 0);
		sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK;
		sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_DCLOSE, 0));
		io_uring_prep_close_direct(sqe, (unsigned)t->slot);
		t->dround = 2;
	} else {
		io_uring_prep_openat(sqe, AT_FDCWD, t->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		t->dround = 1;
	}
}

/* Queues the directory stage again, after a wait for a descriptor. */
static void ur_dir_restart(struct ur_engine *e, struct ur_task *t)
{
	mmapio__ur_dir_start(e, t, t->stage);
}

MMAPIO_INTERNAL int mmapio__ur_dir_cqe(struct ur_engine *e, struct ur_task *t, unsigned step,
				       int res)
{
	struct io_uring_sqe *sqe;

	if (step < UR_NSTEPS)
		t->res[step] = res;
	if (t->pending > 0)
		return 1;
	if (t->dround == 1) {
		if (t->res[UR_DOPEN] < 0) {
			if (!mmapio__ur_fd_short(e, t, t->res[UR_DOPEN]))
				return t->res[UR_DOPEN];
			mmapio__ur_park(e, t, UR_PARK_FD, ur_dir_restart);
			return 1;
		}
		mmapio__ur_fd_own(e, &t->dfd, t->res[UR_DOPEN]);
		sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_DFSYNC, 0));
		io_uring_prep_fsync(sqe, t->dfd, 0);
		sqe->flags |= IOSQE_IO_HARDLINK;
		sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_DCLOSE, 0));
		io_uring_prep_close(sqe, t->dfd);
		t->dround = 2;
		return 1;
	}
	if (t->res[UR_DOPEN] < 0)
		return t->res[UR_DOPEN];
	/* The close ran unless it never reached the kernel. */
	if (t->slot < 0 && t->res[UR_DCLOSE] != -ECANCELED)
		mmapio__ur_fd_drop(e, &t->dfd, false);
	/*
	 * As in the blocking engine, a failing close of the directory is not
	 * an error: the fsync has already made the entry durable.
	 */
	return t->res[UR_DFSYNC] < 0 ? t->res[UR_DFSYNC] : 0;
}
