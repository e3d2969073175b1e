/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Delete on io_uring: one IORING_OP_UNLINKAT, whose result is the
 * operation's, as unlink(2)'s is in the blocking engine (-ENOENT for a
 * missing file, -EISDIR for a directory).
 */
#include <fcntl.h>

#include "uring.h"

/* Returns true when the kernel has IORING_OP_UNLINKAT (Linux 5.11). */
static bool delete_supported(const struct ur_engine *e, const struct mmapio__op *op)
{
	return ur_has(e, IORING_OP_UNLINKAT);
}

/* A delete holds one SQE.  Returns true. */
static bool delete_reserve(const struct ur_engine *e, const struct mmapio__op *op,
			   struct ur_need *need)
{
	need->sqes = 1;
	need->bufs = 0;
	need->slot = false;
	return true;
}

/* Queues the unlink. */
static void delete_start(struct ur_engine *e, struct ur_task *t)
{
	struct io_uring_sqe *sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_UNLINK, 0));

	io_uring_prep_unlinkat(sqe, AT_FDCWD, t->op->u.del.path, 0);
}

/* The unlink's CQE finishes the delete with its result. */
static void delete_complete(struct ur_engine *e, struct ur_task *t, unsigned step,
			    unsigned index, int res)
{
	mmapio__ur_finish(e, t, res);
}

MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_delete = {
	.name = "delete",
	.supported = delete_supported,
	.reserve = delete_reserve,
	.start = delete_start,
	.complete = delete_complete,
	.prepare = NULL,
};
