/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Flush on io_uring: the range is made durable with IORING_OP_FSYNC and
 * IORING_FSYNC_DATASYNC over [off, off + len), on which the kernel runs
 * vfs_fsync_range as msync(MS_SYNC) does; a range too long for an SQE's 32
 * bits of length is split into parts, a few in flight at once.
 *
 * A flush of several ranges (prep_flush_ranges) runs in three stages, so
 * that the disk's cache is flushed once for all of them rather than once
 * per range, as a datasync of each would:
 *
 *   START  IORING_OP_SYNC_FILE_RANGE(WRITE) of every range: write-back of
 *          all of them starts before any is waited for;
 *   WAIT   IORING_OP_SYNC_FILE_RANGE(WAIT_BEFORE | WRITE | WAIT_AFTER) of
 *          every range: what was dirtied meanwhile is written too, and each
 *          range is on the disk (in its cache) when its CQE arrives;
 *   SYNC   one IORING_OP_FSYNC(DATASYNC) over the first range, now clean:
 *          the inode's metadata and one cache flush.
 *
 * Each stage keeps up to its reserve of requests in flight (io_uring runs
 * them in its workers, which would otherwise take one range at a time),
 * and starts when the last CQE of the one before has arrived.  The first
 * failure stops the queueing and is the op's result; it completes once,
 * when no request of it is left in flight.  Without the opcode (an old
 * kernel, or the mask_ops hook) the whole op goes to the blocking engine,
 * which runs the same sequence with system calls: per-range datasyncs
 * instead would flush the disk's cache once per range.
 */
#include "uring.h"

/*
 * A flush is split into requests of at most this many bytes, since an
 * SQE's length has 32 bits; a power of two keeps every part page aligned.
 */
#define UR_FLUSH_PART ((uint64_t)1 << 31)

/* Parts of one single-range flush in flight at once. */
#define UR_FLUSH_PARTS 8u

/*
 * Requests of one stage of a several-range flush in flight at once.  Each
 * runs in an io-wq worker and most take microseconds (START) or find their
 * write finished (WAIT); more would only wait in io-wq's queue.
 */
#define UR_FLUSH_RANGES_INFLIGHT 32u

/* The stages of a several-range flush (struct ur_task.stage). */
enum { FL_START, FL_WAIT, FL_SYNC };

/* Returns true for a flush of several ranges. */
static bool flush_is_ranges(const struct mmapio__op *op)
{
	return op->u.flush.nranges > 0;
}

/*
 * Returns true when the kernel has IORING_OP_FSYNC, and for several ranges
 * IORING_OP_SYNC_FILE_RANGE too.
 */
static bool flush_supported(const struct ur_engine *e, const struct mmapio__op *op)
{
	if (flush_is_ranges(op) && !ur_has(e, IORING_OP_SYNC_FILE_RANGE))
		return false;
	return ur_has(e, IORING_OP_FSYNC);
}

/* Returns the number of parts of a range of len bytes, at least 1. */
static uint64_t flush_parts(uint64_t len)
{
	uint64_t parts = (len + UR_FLUSH_PART - 1) / UR_FLUSH_PART;

	return parts == 0 ? 1 : parts;
}

/* A flush holds one SQE per part in flight, up to its cap.  Returns true. */
static bool flush_reserve(const struct ur_engine *e, const struct mmapio__op *op,
			  struct ur_need *need)
{
	uint64_t parts = 0, cap = UR_FLUSH_PARTS;
	size_t i;

	if (flush_is_ranges(op)) {
		cap = UR_FLUSH_RANGES_INFLIGHT;
		for (i = 0; i < op->u.flush.nranges && parts < cap; i++)
			parts += flush_parts(op->u.flush.ranges[i].len);
	} else {
		parts = flush_parts(op->u.flush.len);
	}
	need->sqes = parts < cap ? (unsigned)parts : (unsigned)cap;
	need->bufs = 0;
	need->slot = false;
	return true;
}

/* Points the task at the start of range i of a several-range flush. */
static void flush_at_range(struct ur_task *t, size_t i)
{
	t->fidx = i;
	t->fnext = t->op->u.flush.ranges[i].off;
	t->fend = t->fnext + t->op->u.flush.ranges[i].len;
}

/*
 * Moves to the next range when the current one is all queued.  Returns
 * false when none is left.
 */
static bool flush_more(struct ur_task *t)
{
	if (t->fnext < t->fend)
		return true;
	if (!flush_is_ranges(t->op) || t->fidx + 1 >= t->op->u.flush.nranges)
		return false;
	flush_at_range(t, t->fidx + 1);
	return true;
}

/* Returns the length of the next part, and moves past it. */
static uint32_t flush_take_part(struct ur_task *t)
{
	uint64_t part = t->fend - t->fnext;

	if (part > UR_FLUSH_PART)
		part = UR_FLUSH_PART;
	t->fnext += part;
	return (uint32_t)part;
}

/* Queues one datasync of [off, off + len). */
static void flush_queue_fsync(struct ur_engine *e, struct ur_task *t, uint64_t off,
			      uint32_t len)
{
	struct io_uring_sqe *sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_FSYNC, 0));

	io_uring_prep_fsync(sqe, t->op->u.flush.fd, IORING_FSYNC_DATASYNC);
	sqe->off = off;
	sqe->len = len;
}

/*
 * Queues the requests of the current stage while the flush has reserve
 * left: datasync parts of a single range, sync_file_range parts of every
 * range in START and WAIT.
 */
static void flush_queue(struct ur_engine *e, struct ur_task *t)
{
	const unsigned wait = SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
			      SYNC_FILE_RANGE_WAIT_AFTER;
	bool ranges = flush_is_ranges(t->op);

	while (t->pending < t->reserve && flush_more(t)) {
		uint64_t off = t->fnext;
		uint32_t len = flush_take_part(t);
		struct io_uring_sqe *sqe;

		if (!ranges) {
			flush_queue_fsync(e, t, off, len);
			continue;
		}
		sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_SYNC_RANGE, 0));
		io_uring_prep_sync_file_range(sqe, t->op->u.flush.fd, len, off,
					      t->stage == FL_START ? SYNC_FILE_RANGE_WRITE
								   : (int)wait);
	}
}

/* Queues the first requests. */
static void flush_start(struct ur_engine *e, struct ur_task *t)
{
	t->stage = FL_START;
	if (flush_is_ranges(t->op)) {
		flush_at_range(t, 0);
	} else {
		t->fidx = 0;
		t->fnext = t->op->u.flush.off;
		t->fend = t->op->u.flush.off + t->op->u.flush.len;
	}
	flush_queue(e, t);
}

/*
 * Starts the stage after a finished one of a several-range flush: the
 * waits after the starts, the one datasync after the waits.  Returns false
 * when the SYNC stage was the last.
 */
static bool flush_next_stage(struct ur_engine *e, struct ur_task *t)
{
	const struct mmapio_range *first = &t->op->u.flush.ranges[0];

	if (t->stage == FL_SYNC)
		return false;
	t->stage++;
	if (t->stage == FL_WAIT) {
		flush_at_range(t, 0);
		flush_queue(e, t);
	} else {
		/* Any part of a clean range will do: only its metadata and the cache flush are left. */
		flush_queue_fsync(e, t, first->off,
				  (uint32_t)(first->len < UR_FLUSH_PART ? first->len : UR_FLUSH_PART));
	}
	return true;
}

/* Takes a request's CQE: the first error decides, else the next one goes. */
static void flush_complete(struct ur_engine *e, struct ur_task *t, unsigned step,
			   unsigned index, int res)
{
	/* Requests not yet queued are not needed once one has failed. */
	if (res < 0 && t->err == 0)
		t->err = res;
	if (t->err == 0 && t->stage != FL_SYNC)
		flush_queue(e, t);
	if (t->pending > 0)
		return;
	if (t->err == 0 && flush_is_ranges(t->op) && flush_next_stage(e, t))
		return;
	mmapio__ur_finish(e, t, t->err);
}

/* True when the flush is one datasync: a single range of one part. */
static bool flush_single(const struct mmapio__op *op)
{
	return !flush_is_ranges(op) && flush_parts(op->u.flush.len) == 1;
}

MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_flush = {
	.name = "flush",
	.supported = flush_supported,
	.reserve = flush_reserve,
	.start = flush_start,
	.complete = flush_complete,
	.prepare = NULL,
	.single = flush_single,
};
