/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flush on io_uring: the range is made durable with IORING_OP_FSYNC and
 * IORING_FSYNC_DATASYNC over [off, off + len), on which the kernel runs
 * vfs_fsync_range as msync(MS_SYNC) does; a range too long for an SQE's 32
 * bits of length is split into parts, a few in flight at once.
 */
#include "uring.h"

/*
 * A flush is split into datasyncs of at most this many bytes, since an
 * SQE's length has 32 bits; a power of two keeps every part page aligned.
 */
#define UR_FLUSH_PART ((uint64_t)1 << 31)

/* Parts of one flush in flight at once. */
#define UR_FLUSH_PARTS 8u

/* Returns true when the kernel has IORING_OP_FSYNC. */
static bool flush_supported(const struct ur_engine *e, const struct mmapio__op *op)
{
	return ur_has(e, IORING_OP_FSYNC);
}

/* A flush holds one SQE per part in flight.  Returns true. */
static bool flush_reserve(const struct ur_engine *e, const struct mmapio__op *op,
			  struct ur_need *need)
{
	uint64_t parts = (op->u.flush.len + UR_FLUSH_PART - 1) / UR_FLUSH_PART;

	if (parts == 0)
		parts = 1;
	need->sqes = parts < UR_FLUSH_PARTS ? (unsigned)parts : UR_FLUSH_PARTS;
	need->bufs = 0;
	need->slot = false;
	return true;
}

/* Queues datasync parts while the flush has reserve left. */
static void flush_queue(struct ur_engine *e, struct ur_task *t)
{
	while (t->pending < t->reserve && t->fnext < t->fend) {
		uint64_t part = t->fend - t->fnext;
		struct io_uring_sqe *sqe;

		if (part > UR_FLUSH_PART)
			part = UR_FLUSH_PART;
		sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_FSYNC, 0));
		io_uring_prep_fsync(sqe, t->op->u.flush.fd, IORING_FSYNC_DATASYNC);
		sqe->off = t->fnext;
		sqe->len = (uint32_t)part;
		t->fnext += part;
	}
}

/* Queues the first parts. */
static void flush_start(struct ur_engine *e, struct ur_task *t)
{
	t->fnext = t->op->u.flush.off;
	t->fend = t->op->u.flush.off + t->op->u.flush.len;
	flush_queue(e, t);
}

/* Takes a part's CQE: the first error decides, else the next part goes. */
static void flush_complete(struct ur_engine *e, struct ur_task *t, unsigned step,
			   unsigned index, int res)
{
	/* Parts not yet queued are not needed once one has failed. */
	if (res < 0 && t->err == 0)
		t->err = res;
	if (t->err == 0)
		flush_queue(e, t);
	if (t->pending == 0)
		mmapio__ur_finish(e, t, t->err);
}

MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_flush = {
	.name = "flush",
	.supported = flush_supported,
	.reserve = flush_reserve,
	.start = flush_start,
	.complete = flush_complete,
	.prepare = NULL,
};
