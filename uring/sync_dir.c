/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Directory sync on io_uring: the directory fsync stage of dir.c (open,
 * fsync, close) for the operation's directory, as mmapio__plat_sync_dir in
 * the blocking engine (-ENOENT for a missing directory from the open).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "uring.h"

/* Returns true when the kernel has the directory stage's opcodes. */
static bool sync_dir_supported(const struct ur_engine *e, const struct mmapio__op *op)
{
	return ur_has(e, IORING_OP_OPENAT) && ur_has(e, IORING_OP_FSYNC) &&
	       ur_has(e, IORING_OP_CLOSE);
}

/* The stage holds three SQEs at once, linked through a slot where there is one. */
static bool sync_dir_reserve(const struct ur_engine *e, const struct mmapio__op *op,
			     struct ur_need *need)
{
	need->sqes = 3;
	need->bufs = 0;
	need->slot = true;
	return true;
}

/* Queues the directory stage. */
static void sync_dir_start(struct ur_engine *e, struct ur_task *t)
{
	t->dir = strdup(t->op->u.sync_dir.path);
	if (t->dir == NULL) {
		mmapio__ur_finish(e, t, -ENOMEM);
		return;
	}
	mmapio__ur_dir_start(e, t, 1);
}

/* Takes a CQE of the stage; its outcome is the operation's. */
static void sync_dir_complete(struct ur_engine *e, struct ur_task *t, unsigned step,
			      unsigned index, int res)
{
	int r = mmapio__ur_dir_cqe(e, t, step, res);

	if (r != 1)
		mmapio__ur_finish(e, t, r);
}

MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_sync_dir = {
	.name = "sync_dir",
	.supported = sync_dir_supported,
	.reserve = sync_dir_reserve,
	.start = sync_dir_start,
	.complete = sync_dir_complete,
	.prepare = NULL,
};
