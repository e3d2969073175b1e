/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copy on io_uring: a pipeline of READ and WRITE requests through a few
 * buffers, each buffer cycling read -> write -> read of the next chunk, so
 * that reading one chunk overlaps writing another.  Short reads and short
 * writes continue where they stopped; a read of 0 bytes means the source
 * shrank and the copy ends there, as in the blocking backend.
 *
 * The opens, the checks on the destination, fchmod and the FICLONE attempt
 * run as direct system calls on the calling thread, in the kind's prepare()
 * step, which the window runs only where the caller may block (in submit,
 * ahead of the window, for most copies: see "What runs where" in uring.h);
 * start() then only queues SQEs.
 * They cost a few microseconds against the milliseconds of the data, they
 * must run in order with decisions between them (the same-file check must
 * come before any truncation), and doing them here keeps the semantics
 * identical to the blocking backend's, line by line.  The data, the fsync
 * and the directory fsync go through the ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys.h"
#include "uring.h"

/* Stages of a copy. */
enum { CP_DATA = 1, CP_FSYNC, CP_DIR };

MMAPIO_INTERNAL void mmapio__ur_copy_tune(struct ur_engine *e)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned cpus = n > 0 ? (unsigned)n : 1;
	unsigned depth;

	/*
	 * See the measurements atop uring.c.  Reads of cached pages complete
	 * inline while the writes, which the kernel serialises per file (io-wq
	 * hashes them by inode), run on a worker: on 2 cores 4 x 1 MiB was
	 * the fastest and the steadiest choice; deeper or larger sets only
	 * spill out of the CPU caches.  With more cores the depth grows with
	 * them up to 32, the figure issue 3 reports for a 16-core machine
	 * (not measured here).
	 */
	depth = cpus <= 2 ? 4 : 2 * cpus;
	if (depth > 32)
		depth = 32;
	if (depth > UR_MAX_BUFS)
		depth = UR_MAX_BUFS;
	if (depth > e->sq_entries)
		depth = e->sq_entries;
	e->copy_depth = depth;
	e->copy_block = (size_t)1 << 20;
	/* Two full copies at once; small files take one buffer each. */
	e->blocks_max = 2 * depth;
	/* Idle buffers are kept for the next copy, up to one copy's worth. */
	e->pool = calloc(depth, sizeof(*e->pool));
	e->pool_n = 0;
}

MMAPIO_INTERNAL void mmapio__ur_pool_free(struct ur_engine *e)
{
	while (e->pool_n > 0)
		free(e->pool[--e->pool_n]);
	free(e->pool);
	e->pool = NULL;
}

/* Returns a copy buffer of copy_block bytes, or NULL. */
static unsigned char *pool_get(struct ur_engine *e)
{
	unsigned char *mem;

	if (e->pool_n > 0)
		mem = e->pool[--e->pool_n];
	else
		mem = aligned_alloc(4096, e->copy_block);
	if (mem != NULL)
		e->blocks_out++;
	return mem;
}

/* Takes a buffer back from a copy. */
static void pool_put(struct ur_engine *e, unsigned char *mem)
{
	e->blocks_out--;
	if (e->pool != NULL && e->pool_n < e->copy_depth)
		e->pool[e->pool_n++] = mem;
	else
		free(mem);
}

/* Returns every buffer of t to the pool. */
static void release_bufs(struct ur_engine *e, struct ur_task *t)
{
	unsigned i;

	for (i = 0; i < t->nbufs; i++) {
		pool_put(e, t->bufs[i].mem);
		t->bufs[i].mem = NULL;
	}
	t->nbufs = 0;
}

/*
 * True when a durable copy syncs its directory after the data: not when the
 * ring syncs it once for the submit (MMAPIO__OP_NO_DIR_SYNC).
 */
static bool copy_syncs_dir(const struct mmapio__op *op)
{
	return (op->u.copy.flags & MMAPIO_COPY_DURABLE) &&
	       !(op->ring_flags & MMAPIO__OP_NO_DIR_SYNC);
}

/* Returns true when the kernel has every opcode op needs. */
static bool copy_supported(const struct ur_engine *e, const struct mmapio__op *op)
{
	if (!ur_has(e, IORING_OP_READ) || !ur_has(e, IORING_OP_WRITE))
		return false;
	return !(op->u.copy.flags & MMAPIO_COPY_DURABLE) ||
	       (ur_has(e, IORING_OP_FSYNC) && ur_has(e, IORING_OP_OPENAT) &&
		ur_has(e, IORING_OP_CLOSE));
}

/*
 * A copy holds one SQE per buffer (the directory stage 3), its buffers,
 * and a slot for the directory when durable.  Returns false while the
 * buffers lent out leave no room for another copy's.
 */
static bool copy_reserve(const struct ur_engine *e, const struct mmapio__op *op,
			 struct ur_need *need)
{
	need->sqes = e->copy_depth > 3 ? e->copy_depth : 3;
	need->bufs = e->copy_depth;
	need->slot = (op->u.copy.flags & MMAPIO_COPY_DURABLE) != 0;
	return e->blocks_out + e->copy_depth <= e->blocks_max;
}

/*
 * Opens both files, checks them, sets the destination's mode and tries a
 * reflink clone, with the blocking backend's own code so that both refuse
 * and accept exactly the same things.  These are a few microseconds on the
 * calling thread, and keeping them there keeps the two backends one.  Sets
 * t->in, t->out, t->created and t->size (0 when empty or cloned).  Returns
 * 0, or -errno with nothing left open or created.
 */
static int copy_open(struct ur_engine *e, struct ur_task *t)
{
	struct mmapio__copy_files f;
	int r = mmapio__plat_copy_open(t->op->u.copy.src, t->op->u.copy.dst, t->op->u.copy.flags, &f);

	if (r < 0)
		return r;
	t->cf = f;
	mmapio__ur_fd_own(e, &t->in, f.in);
	mmapio__ur_fd_own(e, &t->out, f.out);
	t->created = f.created != 0;
	t->size = f.size;
	return 0;
}

/*
 * Puts a replacing copy in dst's place (one rename on the calling thread;
 * nothing for a copy written in place).  Returns 0 or -errno.
 */
static int copy_place(struct ur_engine *e, struct ur_task *t)
{
	int r;

	t->cf.out = t->out;
	r = mmapio__plat_copy_place(&t->cf, t->op->u.copy.dst, t->op->u.copy.flags);
	/* A temporary is closed before it is put in place. */
	if (t->cf.out < 0)
		mmapio__ur_fd_drop(e, &t->out, false);
	return r;
}

/* Removes a replacing copy's temporary that was never put in place. */
static void copy_drop_temporary(struct ur_task *t)
{
	if (t->cf.tmp != NULL) {
		mmapio__plat_unlink(t->cf.tmp);
		free(t->cf.tmp);
		t->cf.tmp = NULL;
	}
}

/* Closes the files, removes a destination this copy made, finishes. */
static void copy_fail(struct ur_engine *e, struct ur_task *t, int err)
{
	release_bufs(e, t);
	copy_drop_temporary(t);
	mmapio__ur_fd_drop(e, &t->in, true);
	mmapio__ur_fd_drop(e, &t->out, true);
	mmapio__ur_fail(e, t, err);
}

/*
 * Closes the files and finishes; a failing close of the destination (a
 * write-back error on NFS) fails the copy, as in the blocking backend.
 */
static void copy_succeed(struct ur_engine *e, struct ur_task *t)
{
	int c;

	mmapio__ur_fd_drop(e, &t->in, true);
	c = t->out >= 0 ? mmapio__sys.close(t->out) : 0;
	mmapio__ur_fd_drop(e, &t->out, false);
	if (c < 0 && c != -EINTR) {
		copy_fail(e, t, c);
		return;
	}
	mmapio__ur_finish(e, t, 0);
}

/* Queues a read of what is left of buffer i's chunk. */
static void buf_read(struct ur_engine *e, struct ur_task *t, unsigned i)
{
	struct ur_buf *b = &t->bufs[i];
	struct io_uring_sqe *sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_READ, i));

	io_uring_prep_read(sqe, t->in, b->mem, b->len - b->pos, b->off + b->pos);
}

/* Queues a write of what buffer i holds and has not written yet. */
static void buf_write(struct ur_engine *e, struct ur_task *t, unsigned i)
{
	struct ur_buf *b = &t->bufs[i];
	struct io_uring_sqe *sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_WRITE, i));

	io_uring_prep_write(sqe, t->out, b->mem + b->wdone, b->have - b->wdone,
			    b->off + b->pos + b->wdone);
}

/* Gives buffer i the next chunk and queues its read, if there is one. */
static void buf_next_chunk(struct ur_engine *e, struct ur_task *t, unsigned i)
{
	struct ur_buf *b = &t->bufs[i];
	uint64_t left = t->size - t->next;

	if (t->err != 0 || t->eof || t->next >= t->size)
		return;
	b->off = t->next;
	b->len = (uint32_t)(left < e->copy_block ? left : e->copy_block);
	b->pos = b->have = b->wdone = 0;
	t->next += b->len;
	buf_read(e, t, i);
}

/* Takes the CQE of buffer i: a read when it holds nothing, else a write. */
static void buf_cqe(struct ur_engine *e, struct ur_task *t, unsigned i, int res)
{
	struct ur_buf *b = &t->bufs[i];

	if (res < 0 || (res == 0 && b->have > 0)) {
		/* A write that moves nothing without an error would spin. */
		if (t->err == 0)
			t->err = res < 0 ? res : -EIO;
		return;
	}
	if (b->have == 0) {
		if (res == 0) {
			t->eof = true; /* the source shrank: copy what there was */
			return;
		}
		b->have = (uint32_t)res;
		b->wdone = 0;
		if (t->err == 0)
			buf_write(e, t, i);
		return;
	}
	b->wdone += (uint32_t)res;
	if (t->err != 0)
		return;
	if (b->wdone < b->have) {
		buf_write(e, t, i);
		return;
	}
	b->pos += b->have;
	b->have = b->wdone = 0;
	if (b->pos < b->len)
		buf_read(e, t, i);
	else
		buf_next_chunk(e, t, i);
}

/* The data is in (or failed): fsync for a durable copy, else finish. */
static void copy_data_done(struct ur_engine *e, struct ur_task *t)
{
	struct io_uring_sqe *sqe;

	release_bufs(e, t);
	if (t->err != 0) {
		copy_fail(e, t, t->err);
		return;
	}
	if (!(t->op->u.copy.flags & MMAPIO_COPY_DURABLE)) {
		int r = copy_place(e, t);

		if (r < 0)
			copy_fail(e, t, r);
		else
			copy_succeed(e, t);
		return;
	}
	t->res[UR_FSYNC] = 0;
	sqe = mmapio__ur_sqe(e, t, UR_TAG(UR_FSYNC, 0));
	io_uring_prep_fsync(sqe, t->out, 0);
	t->stage = CP_FSYNC;
}

/*
 * The blocking half: the directory name of a durable copy, then the opens
 * and checks (copy_open).  Returns 0; 1 when out of descriptors that other
 * tasks hold; or -errno with nothing left open or created.
 */
static int copy_prepare(struct ur_engine *e, struct ur_task *t)
{
	const struct mmapio__op *op = t->op;
	int r;

	if (copy_syncs_dir(op) && t->dir == NULL) {
		t->dir = mmapio__plat_dirname(op->u.copy.dst);
		if (t->dir == NULL)
			return -ENOMEM;
	}
	r = copy_open(e, t);
	if (mmapio__ur_fd_short(e, t, r))
		return 1;
	t->own_path = op->u.copy.dst;
	return r;
}

/* Starts the data pipeline of a prepared copy.  Finishes the task on ENOMEM. */
static void copy_start(struct ur_engine *e, struct ur_task *t)
{
	uint64_t chunks;
	unsigned nb, i;

	t->stage = CP_DATA;
	chunks = (t->size + e->copy_block - 1) / e->copy_block;
	nb = chunks < e->copy_depth ? (unsigned)chunks : e->copy_depth;
	if (nb > t->reserve)
		nb = t->reserve;
	for (i = 0; i < nb; i++) {
		t->bufs[i].mem = pool_get(e);
		if (t->bufs[i].mem == NULL) {
			t->nbufs = i;
			copy_fail(e, t, -ENOMEM);
			return;
		}
	}
	t->nbufs = nb;
	for (i = 0; i < nb; i++)
		buf_next_chunk(e, t, i);
	if (t->pending == 0)
		copy_data_done(e, t);
}

/* Takes the CQE of step (and buffer index) of a copy's task. */
static void copy_complete(struct ur_engine *e, struct ur_task *t, unsigned step, unsigned index,
			  int res)
{
	int r;

	if (t->stage == CP_DIR) {
		r = mmapio__ur_dir_cqe(e, t, step, res);
		if (r == 1)
			return;
		if (r < 0)
			copy_fail(e, t, r);
		else
			copy_succeed(e, t);
		return;
	}
	if (step == UR_READ || step == UR_WRITE)
		buf_cqe(e, t, index, res);
	else
		t->res[step] = res;
	if (t->pending > 0)
		return;

	switch (t->stage) {
	case CP_DATA:
		copy_data_done(e, t);
		return;
	case CP_FSYNC:
		r = t->res[UR_FSYNC];
		if (r == 0)
			r = copy_place(e, t);
		if (r < 0)
			copy_fail(e, t, r);
		else if (t->cf.synced || !copy_syncs_dir(t->op))
			copy_succeed(e, t); /* the replace synced the directory, or the ring will */
		else
			mmapio__ur_dir_start(e, t, CP_DIR);
		return;
	}
}

MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_copy = {
	.name = "copy",
	.supported = copy_supported,
	.reserve = copy_reserve,
	.prepare = copy_prepare,
	.start = copy_start,
	.complete = copy_complete,
};
