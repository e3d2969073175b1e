/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rename on io_uring: one IORING_OP_RENAMEAT, whose flags are renameat2's
 * (RENAME_NOREPLACE 1 and RENAME_EXCHANGE 2, the values of
 * MMAPIO_RENAME_NOREPLACE and _EXCHANGE).  With MMAPIO_RENAME_DURABLE the
 * directory stage of dir.c follows for the directory of to, and again for
 * that of from when it is another one (unless the ring syncs them once
 * for its submit: MMAPIO__OP_NO_DIR_SYNC).  -EINVAL from the kernel for a
 * kind of rename the filesystem lacks becomes -ENOTSUP, as in the
 * platform's rename.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "uring.h"

/* The stages of a rename. */
enum { REN_RENAME, REN_DIR_TO, REN_DIR_FROM };

/* Returns true when the kernel has IORING_OP_RENAMEAT (Linux 5.11). */
static bool rename_supported(const struct ur_engine *e, const struct mmapio__op *op)
{
	/* The durable one needs the directory stage's opcodes too. */
	if ((op->u.rename.flags & MMAPIO_RENAME_DURABLE) &&
	    (!ur_has(e, IORING_OP_OPENAT) || !ur_has(e, IORING_OP_FSYNC) ||
	     !ur_has(e, IORING_OP_CLOSE)))
		return false;
	return ur_has(e, IORING_OP_RENAMEAT);
}

/* A rename holds the directory stage's three SQEs and a slot for it. */
static bool rename_reserve(const struct ur_engine *e, const struct mmapio__op *op,
			   struct ur_need *need)
{
	bool durable = (op->u.rename.flags & MMAPIO_RENAME_DURABLE) != 0;

	need->sqes = durable ? 3 : 1;
	need->bufs = 0;
	need->slot = durable;
	return true;
}

/* Queues the rename. */
static void rename_start(struct ur_engine *e, struct ur_task *t)
{
	const struct mmapio__op *op = t->op;
	struct io_uring_sqe *sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_RENAME, 0));
	unsigned kind = op->u.rename.flags & (MMAPIO_RENAME_NOREPLACE | MMAPIO_RENAME_EXCHANGE);

	t->stage = REN_RENAME;
	io_uring_prep_renameat(sqe, AT_FDCWD, op->u.rename.from, AT_FDCWD, op->u.rename.to, kind);
}

/*
 * Starts the directory stage for the directory of path as stage.  Returns
 * 0, or -ENOMEM with nothing queued.
 */
static int rename_dir(struct ur_engine *e, struct ur_task *t, const char *path, int stage)
{
	free(t->dir);
	t->dir = mmapio__plat_dirname(path);
	if (t->dir == NULL)
		return -ENOMEM;
	mmapio__ur_dir_start(e, t, stage);
	return 0;
}

/* Takes the rename's CQE, then those of the directory stages. */
static void rename_complete(struct ur_engine *e, struct ur_task *t, unsigned step,
			    unsigned index, int res)
{
	const struct mmapio__op *op = t->op;
	char *from_dir;
	int r;

	if (t->stage == REN_RENAME) {
		if (res == -EINVAL && (op->u.rename.flags &
				       (MMAPIO_RENAME_NOREPLACE | MMAPIO_RENAME_EXCHANGE)))
			res = -ENOTSUP;
		/* The ring may sync the directories itself, once for the submit. */
		if (res < 0 || !(op->u.rename.flags & MMAPIO_RENAME_DURABLE) ||
		    (op->ring_flags & MMAPIO__OP_NO_DIR_SYNC)) {
			mmapio__ur_finish(e, t, res);
			return;
		}
		r = rename_dir(e, t, op->u.rename.to, REN_DIR_TO);
		if (r < 0)
			mmapio__ur_finish(e, t, r);
		return;
	}
	r = mmapio__ur_dir_cqe(e, t, step, res);
	if (r == 1)
		return;
	if (r < 0 || t->stage == REN_DIR_FROM) {
		mmapio__ur_finish(e, t, r);
		return;
	}
	from_dir = mmapio__plat_dirname(op->u.rename.from);
	if (from_dir == NULL) {
		mmapio__ur_finish(e, t, -ENOMEM);
		return;
	}
	r = strcmp(from_dir, t->dir) == 0;
	free(from_dir);
	if (r) {
		mmapio__ur_finish(e, t, 0);
		return;
	}
	r = rename_dir(e, t, op->u.rename.from, REN_DIR_FROM);
	if (r < 0)
		mmapio__ur_finish(e, t, r);
}

MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_rename = {
	.name = "rename",
	.supported = rename_supported,
	.reserve = rename_reserve,
	.start = rename_start,
	.complete = rename_complete,
	.prepare = NULL,
};
