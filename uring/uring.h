/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to uring/: the io_uring engine's state and the helpers that its
 * files share.  Only uring/ includes liburing; src/ sees nothing of this.
 *
 * The engine runs every operation as a small state machine (a task).  Each
 * stage of a task queues one or more SQEs, linked where the kernel can run
 * them back to back; when the last CQE of a stage has arrived the task's
 * advance function looks at the results and queues the next stage or
 * finishes.  A CQE's user_data is the task's address with a tag in the low
 * bits saying which step it answers.
 */
#ifndef MMAPIO_URING_H
#define MMAPIO_URING_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "platform.h"

/* IORING_OP_FTRUNCATE (Linux 6.9) has no name in liburing 2.3's headers. */
#define UR_OP_FTRUNCATE 55

/* Each running operation may hold up to this many SQEs at once. */
#define UR_SQES_PER_OP 4u

/* Tasks are aligned to this, so user_data can carry a tag below it. */
#define UR_TAG_SPAN 64u

/* Tags: which step of a task a CQE answers. */
enum ur_tag {
	UR_OPEN,          /* openat of the file */
	UR_SIZE,          /* fallocate or ftruncate */
	UR_FSYNC,         /* fsync of the file */
	UR_CLOSE,         /* close of the file */
	UR_DOPEN,         /* openat of the directory */
	UR_DFSYNC,        /* fsync of the directory */
	UR_DCLOSE,        /* close of the directory */
	UR_UNLINK,        /* unlinkat (delete, or cleanup after a failure) */
	UR_NSTEPS,
	UR_BUF0 = UR_NSTEPS /* copy buffer i answers with UR_BUF0 + i */
};

#define UR_MAX_BUFS (UR_TAG_SPAN - UR_BUF0)

/* One copy buffer cycling through read, write, read, ... */
struct ur_buf {
	unsigned char *mem;
	uint64_t off;      /* file offset of the chunk this buffer carries */
	uint32_t len;      /* chunk length */
	uint32_t pos;      /* bytes of the chunk already written */
	uint32_t have;     /* bytes read into mem, not yet fully written */
	uint32_t wdone;    /* bytes of have already written */
};

struct ur_task {
	struct mmapio__op *op;
	unsigned pending;  /* SQEs queued whose CQE has not arrived */
	unsigned reserve;  /* SQEs this task holds in the window */
	int stage;         /* the kind's own stage number */
	int err;           /* first error seen, 0 if none */
	int slot;          /* direct descriptor slot, -1 if none */
	int fd;            /* plain descriptor of the file, -1 if none */
	int dfd;           /* plain descriptor of the directory, -1 if none */
	bool created;      /* this op made the file: unlink it on failure */
	bool excl_probe;   /* the O_EXCL open is a probe for created */
	bool excl_used;    /* the open in flight uses O_EXCL */
	unsigned char dround; /* directory stage round (plain descriptors) */
	char *dir;         /* the directory to fsync (durable ops), heap */
	int res[UR_NSTEPS];

	/* Flush: the next part to queue and the end of the range. */
	uint64_t fnext;
	uint64_t fend;

	/* Copy. */
	struct mmapio__copy_files cf; /* the platform's view of the files */
	int in;
	int out;
	uint64_t size;     /* bytes to copy (st_size of the source) */
	uint64_t next;     /* next chunk offset not yet handed to a buffer */
	unsigned nbufs;
	bool eof;          /* a read hit end of file early */
	struct ur_buf bufs[];
};

struct ur_engine {
	struct io_uring ring;
	void (*done)(void *ctx, struct mmapio__op *op);
	void *ctx;
	const struct mmapio__engine *fallback; /* runs what the kernel cannot */

	unsigned depth;       /* operations running at once (the window) */
	unsigned sq_entries;  /* SQEs the ring holds */
	unsigned reserved;    /* SQEs held by running tasks */
	unsigned inflight;    /* SQEs queued whose CQE has not arrived */
	unsigned unsubmitted; /* SQEs queued that the kernel has not taken */
	unsigned active;      /* tasks running */
	unsigned owned;       /* operations owned (contract's owned()) */

	struct mmapio__op *backlog;
	struct mmapio__op *backlog_tail;
	struct mmapio__op *finished;
	struct mmapio__op *finished_tail;

	uint64_t ops;         /* bit n set: opcode n is supported */
	bool direct;          /* a sparse file table is registered */
	bool ext_arg;         /* IORING_FEAT_EXT_ARG: timed waits in one enter */
	bool defer;           /* IORING_SETUP_DEFER_TASKRUN (with TASKRUN_FLAG) */
	bool single_issuer;   /* IORING_SETUP_SINGLE_ISSUER: only owner may enter */
	pthread_t owner;      /* the thread that set the ring up */
	unsigned setup_flags; /* the IORING_SETUP_* flags the ring got */
	unsigned *slots;      /* free direct descriptor slots (a stack) */
	unsigned nfree;

	unsigned copy_depth;  /* buffers in flight per copy */
	size_t copy_block;    /* bytes per buffer */
	void **pool;          /* idle copy buffers */
	unsigned pool_n;
	unsigned blocks_out;  /* copy buffers lent to running copies */
	unsigned blocks_max;

	int efd;              /* registered eventfd, or -1 */
	struct mmapio__engine_stats stats;
};

/* Returns true when the kernel supports opcode op. */
static inline bool ur_has(const struct ur_engine *e, unsigned op)
{
	return op < 64 && (e->ops & ((uint64_t)1 << op));
}

/*
 * Returns an SQE for step tag of task t, counted in the window; the caller
 * fills it in (the prep helpers leave user_data alone).  Never NULL: every
 * running task has reserved the SQEs its largest stage needs.
 */
MMAPIO_INTERNAL struct io_uring_sqe *mmapio__ur_sqe(struct ur_engine *e, struct ur_task *t,
						    unsigned tag);

/* Records the result, frees t and queues its op for hand-back. */
MMAPIO_INTERNAL void mmapio__ur_finish(struct ur_engine *e, struct ur_task *t, int result);

/*
 * Returns the directory part of path in a new heap string ("." for a bare
 * name), or NULL on ENOMEM.
 */
MMAPIO_INTERNAL char *mmapio__ur_dirname(const char *path);

/*
 * Queues the directory fsync stage for t->dir (open, fsync, close; with a
 * slot as one chain, else the open first) and sets t->stage to stage.  The
 * results arrive in res[UR_DOPEN..UR_DCLOSE]; mmapio__ur_dir_result() reads
 * them once the stage's CQEs are in.
 */
MMAPIO_INTERNAL void mmapio__ur_dir_start(struct ur_engine *e, struct ur_task *t, int stage);

/*
 * Called when the directory stage's CQEs are in.  Returns 1 when a second
 * round was queued (plain descriptors: fsync and close after the open),
 * else the stage's first error or 0.
 */
MMAPIO_INTERNAL int mmapio__ur_dir_result(struct ur_engine *e, struct ur_task *t);

/* The stage in which a failed op removes the file it created. */
#define UR_STAGE_UNLINK 100

/*
 * Fails t with err: when t created its file, it is unlinked first (on the
 * ring, stage UR_STAGE_UNLINK, whose CQE then finishes t with t->err), else
 * t finishes at once.
 */
MMAPIO_INTERNAL void mmapio__ur_fail(struct ur_engine *e, struct ur_task *t, const char *path,
				     int err);

/*
 * ops.c: create, delete and flush.  Each start queues the first stage or
 * finishes the task; each cqe function takes one CQE of its task.
 */
MMAPIO_INTERNAL void mmapio__ur_create_start(struct ur_engine *e, struct ur_task *t);
MMAPIO_INTERNAL void mmapio__ur_create_cqe(struct ur_engine *e, struct ur_task *t, unsigned tag,
					   int res);
MMAPIO_INTERNAL void mmapio__ur_delete_start(struct ur_engine *e, struct ur_task *t);
MMAPIO_INTERNAL void mmapio__ur_flush_start(struct ur_engine *e, struct ur_task *t);
MMAPIO_INTERNAL void mmapio__ur_flush_cqe(struct ur_engine *e, struct ur_task *t, int res);
/* Returns the SQEs a flush keeps in flight at most. */
MMAPIO_INTERNAL unsigned mmapio__ur_flush_reserve(const struct mmapio__op *op);

/* copy.c: picks buffers per copy and their size for this machine. */
MMAPIO_INTERNAL void mmapio__ur_copy_tune(struct ur_engine *e);
/* Frees the idle copy buffers. */
MMAPIO_INTERNAL void mmapio__ur_pool_free(struct ur_engine *e);

/* SQEs a copy reserves, and whether one can start now. */
MMAPIO_INTERNAL unsigned mmapio__ur_copy_reserve(const struct ur_engine *e);
MMAPIO_INTERNAL bool mmapio__ur_copy_can_start(const struct ur_engine *e);

/*
 * Starts a copy: opens and checks on the calling thread, then queues the
 * data pipeline.  Finishes the task itself on any error.
 */
MMAPIO_INTERNAL void mmapio__ur_copy_start(struct ur_engine *e, struct ur_task *t);

/* Handles a CQE of a copy task. */
MMAPIO_INTERNAL void mmapio__ur_copy_cqe(struct ur_engine *e, struct ur_task *t, unsigned tag,
					 int res);

/* Allocates a zeroed task for op with room for nbufs copy buffers, or NULL. */
MMAPIO_INTERNAL struct ur_task *mmapio__ur_task_new(struct mmapio__op *op, unsigned nbufs);

/*
 * window.c: the engine's rolling window, shared with the setup and close in
 * uring.c.
 */

/* Puts op on the list of operations to hand back. */
MMAPIO_INTERNAL void mmapio__ur_queue_finished(struct ur_engine *e, struct mmapio__op *op);

/* Hands every finished operation back.  Returns how many. */
MMAPIO_INTERNAL unsigned mmapio__ur_hand_back(struct ur_engine *e);

/* Signals the eventfd for operations finished outside the kernel. */
MMAPIO_INTERNAL void mmapio__ur_signal_eventfd(const struct ur_engine *e);

/*
 * Makes progress as the contract says.  Returns the number handed back;
 * -EINTR when a signal cut the wait short before anything came back; or,
 * with nothing handed back, the -errno of a ring-level failure of
 * io_uring_enter (-EEXIST when a thread other than the one that set a
 * single-issuer ring up calls, -EBADFD, ...), after which the loop stops
 * rather than spin on a ring that cannot make progress.
 */
MMAPIO_INTERNAL int mmapio__ur_reap(void *engine, unsigned min, int timeout_ms);

/*
 * Takes the chain, starts what fits in the window and hands it to the
 * kernel at once, so the work runs while the caller goes on.  Operations
 * that finished without the kernel (blocking fallbacks, allocation
 * failures) are handed back right here.  Returns 0.
 */
MMAPIO_INTERNAL int mmapio__ur_submit(void *engine, struct mmapio__op *chain);

#endif
