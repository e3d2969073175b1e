/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Write on io_uring: IORING_OP_WRITE of the caller's buffer at the file
 * offset on the map's descriptor, as pwrite(2) in the blocking engine, so
 * the bytes show through the MAP_SHARED mapping.  A short write queues
 * the rest; one that makes no progress fails with -EIO, as
 * mmapio__plat_write_at does.  A write that must go through the mapping
 * (the map's descriptor has O_APPEND or O_DIRECT, see
 * mmapio__write_prepare) is not the kernel's: it runs on the blocking
 * engine, as an operation whose opcode is missing does.
 */
#include <errno.h>

#include "uring.h"

/* Bytes one SQE writes at most: its length has 32 bits, and pwrite's limit. */
#define UR_WRITE_PART ((size_t)1 << 30)

/*
 * Returns true when the kernel has IORING_OP_WRITE (Linux 5.6) and the
 * write goes to the file, not through the mapping.
 */
static bool write_supported(const struct ur_engine *e, const struct mmapio__op *op)
{
	return ur_has(e, IORING_OP_WRITE) && op->u.write.via_map == NULL;
}

/* A write holds one SQE.  Returns true. */
static bool write_reserve(const struct ur_engine *e, const struct mmapio__op *op,
			  struct ur_need *need)
{
	need->sqes = 1;
	need->bufs = 0;
	need->slot = false;
	return true;
}

/* Queues the write of what is left, from t->fnext (bytes done) on. */
static void write_queue(struct ur_engine *e, struct ur_task *t)
{
	const struct mmapio__op *op = t->op;
	size_t left = op->u.write.len - (size_t)t->fnext;
	struct io_uring_sqe *sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_WRITE, 0));

	if (left > UR_WRITE_PART)
		left = UR_WRITE_PART;
	io_uring_prep_write(sqe, op->u.write.fd, (const unsigned char *)op->u.write.src + t->fnext,
			    (unsigned)left, op->u.write.off + t->fnext);
}

/* Queues the write, or finishes an empty one at once. */
static void write_start(struct ur_engine *e, struct ur_task *t)
{
	t->fnext = 0;
	if (t->op->u.write.len == 0) {
		mmapio__ur_finish(e, t, 0);
		return;
	}
	write_queue(e, t);
}

/* Takes the write's CQE: an error ends it, a short write goes on. */
static void write_complete(struct ur_engine *e, struct ur_task *t, unsigned step,
			   unsigned index, int res)
{
	if (res < 0) {
		mmapio__ur_finish(e, t, res);
		return;
	}
	if (res == 0) {
		mmapio__ur_finish(e, t, -EIO); /* no progress and no error */
		return;
	}
	t->fnext += (uint64_t)res;
	if (t->fnext < t->op->u.write.len)
		write_queue(e, t);
	else
		mmapio__ur_finish(e, t, 0);
}

/*
 * True when the write is one SQE: not empty (that finishes without one) and
 * not longer than a part.  The kernel fails a link from a short write.
 */
static bool write_single(const struct mmapio__op *op)
{
	return op->u.write.len > 0 && op->u.write.len <= UR_WRITE_PART;
}

MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_write = {
	.name = "write",
	.supported = write_supported,
	.reserve = write_reserve,
	.start = write_start,
	.complete = write_complete,
	.prepare = NULL,
	.single = write_single,
};
