/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Private to uring/: the io_uring engine's state and the helpers that its
 * files share.  Only uring/ includes liburing; src/ sees nothing of this.
 *
 * The files, and the one way their calls go: a file calls only files below
 * it in this list, never one above, so no two files call each other in a
 * circle (to check: every symbol `nm -u` lists for an object is defined by
 * an object below it, or outside uring/):
 *
 *   uring.c    setup, probe, close, the contract's table and the table of
 *              kinds below; the root, which nothing calls
 *   create.c   \
 *   copy.c      | one file per operation kind, each a state machine behind
 *   delete.c    | one struct ur_kind; they call dir.c and task.c
 *   flush.c     |
 *   write.c     |  (IORING_OP_WRITE, short writes continued)
 *   rename.c    |  (IORING_OP_RENAMEAT, then dir.c's stage when durable)
 *   sync_dir.c /   (dir.c's stage alone)
 *   dir.c      the directory fsync stage that durable creates, copies,
 *              renames and directory syncs share
 *   window.c   the rolling window and its backlog, resuming parked tasks,
 *              CQE dispatch, hand-back, a broken ring, the contract's
 *              submit and reap; it reaches the kinds only through e->kinds,
 *              the table uring.c hands it at open, never by name
 *   task.c     what the kinds use: a task's SQEs, its end (with the cleanup
 *              unlink of a failed operation), its plain descriptors,
 *              parking it
 *   enter.c    every io_uring_enter, and the ring broken for good
 *   hooks.c    the test hooks (hooks.h) that rewrite SQEs and results
 *
 * Operations run as small state machines (tasks).  Each stage of a task
 * queues one or more SQEs, linked where the kernel can run them back to
 * back; the kind's complete() sees every CQE and, once the last CQE of a
 * stage is in, queues the next stage or finishes.  A CQE's user_data is the
 * task's address with a tag in the low bits: the step (enum mmapio__ur_step)
 * and, for a copy, the buffer.
 *
 * What runs where.  Work that may block the calling thread (opening files
 * by path, fchmod, FICLONE, ftruncate or unlink by path, and any operation
 * whose opcodes the kernel lacks, which the fallback engine's run() does)
 * happens only inside submit(), close(), and reap() with a timeout other
 * than 0: these set e->may_block.  A poll (reap() with timeout 0, as
 * mmapio_ring_peek and a wait with timeout 0 make it) only takes CQEs,
 * queues SQEs, closes descriptors and hands back.  So:
 *
 *   - submit() runs the operations the kernel cannot (fallback engine),
 *     and the blocking half of a kind (its prepare(): a copy's opens,
 *     checks, fchmod and FICLONE) for up to e->ahead_max operations waiting
 *     in the backlog, ahead of the window; their SQE-only halves (start())
 *     then begin whenever the window has room, in a poll too.
 *   - A poll that frees room in the window starts creates, deletes,
 *     flushes and prepared copies from the backlog; it stops at a copy
 *     that is not prepared yet (one beyond the e->ahead_max prepared ahead,
 *     or one that waited for descriptors), which the next submit(),
 *     close() or reap() with a timeout prepares.
 *   - A running task whose next step needs a blocking call parks until one
 *     of those: the ftruncate of a create whose filesystem refused
 *     fallocate on a kernel without IORING_OP_FTRUNCATE, and the unlink of
 *     a failed operation's file on a kernel without IORING_OP_UNLINKAT or
 *     on a broken ring.
 *
 * Nothing else waits for the caller: a poll never leaves work the kernel
 * can do undone.
 *
 * What runs with no call at all.  The engine has no thread: between calls
 * only the kernel works, on what submit() handed it.  So the default
 * window (queue_depth 0, ur_open) is sized for a submit to hand over
 * everything at once: 4000 operations, bounded by the completion ring
 * (IORING_SETUP_CQSIZE, 4 CQEs per operation), with a direct slot each
 * where the soft RLIMIT_NOFILE allows, through a small submission ring
 * that chains pass through in batches (mmapio__ur_sq_room).  What starts
 * from a CQE (a later stage, a copy's next chunk, the backlog's refill)
 * waits for the next call; include/mmapio.h says so at mmapio_ring_submit.
 * Chains of single-SQE operations that the ring linked (MMAPIO__OP_LINK_NEXT,
 * "Links" in window.c) go in with one enter and run to their end in the
 * kernel, unless a short write breaks them.
 */
#ifndef MMAPIO_URING_H
#define MMAPIO_URING_H

#include <liburing.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "engine.h"
#include "hooks.h"
#include "platform.h"

/* IORING_OP_FTRUNCATE (Linux 6.9) has no name in liburing 2.3's headers. */
#define UR_OP_FTRUNCATE 55

/* Each running operation may hold up to this many SQEs at once. */
#define UR_SQES_PER_OP 4u

/*
 * Tasks are aligned to this, so user_data can carry a tag below it: the
 * step in the low 4 bits, a copy buffer's index in the 6 above.
 */
#define UR_TAG_SPAN 1024u
#define UR_TAG(step, index) ((unsigned)(step) | ((unsigned)(index) << 4))
#define UR_TAG_STEP(tag) ((tag) & 15u)
_Static_assert(MMAPIO__UR_NSTEPS <= 16, "a step fits in the tag's low 4 bits");
#define UR_TAG_INDEX(tag) ((tag) >> 4)
#define UR_MAX_BUFS 64u

/*
 * The index of an open (UR_OPEN, UR_DOPEN) into a plain descriptor: the
 * window counts those in flight, as they may hold a descriptor already.
 */
#define UR_PLAIN 1u

/* Short names for the steps of hooks.h. */
enum {
	UR_OPEN = MMAPIO__UR_OPEN,
	UR_STAT = MMAPIO__UR_STAT,
	UR_ALLOC = MMAPIO__UR_ALLOC,
	UR_TRUNC = MMAPIO__UR_TRUNC,
	UR_FSYNC = MMAPIO__UR_FSYNC,
	UR_CLOSE = MMAPIO__UR_CLOSE,
	UR_DOPEN = MMAPIO__UR_DOPEN,
	UR_DFSYNC = MMAPIO__UR_DFSYNC,
	UR_DCLOSE = MMAPIO__UR_DCLOSE,
	UR_UNLINK = MMAPIO__UR_UNLINK,
	UR_READ = MMAPIO__UR_READ,
	UR_WRITE = MMAPIO__UR_WRITE,
	UR_GATE = MMAPIO__UR_GATE,
	UR_RENAME = MMAPIO__UR_RENAME,
	UR_SYNC_RANGE = MMAPIO__UR_SYNC_RANGE,
	UR_NSTEPS = MMAPIO__UR_NSTEPS
};

/* One copy buffer cycling through read, write, read, ... */
struct ur_buf {
	unsigned char *mem;
	uint64_t off;      /* file offset of the chunk this buffer carries */
	uint32_t len;      /* chunk length */
	uint32_t pos;      /* bytes of the chunk already written */
	uint32_t have;     /* bytes read into mem, not yet fully written */
	uint32_t wdone;    /* bytes of have already written */
};

struct ur_engine;
struct ur_task;

/* What a task does when it leaves the parked list. */
typedef void (*ur_resume_fn)(struct ur_engine *e, struct ur_task *t);

/* Why a task is parked (struct ur_task.park). */
#define UR_PARK_BLOCKING 1u /* its next step blocks: wait for e->may_block */
#define UR_PARK_FD 2u       /* out of descriptors: wait until the engine closes one */

struct ur_task {
	struct mmapio__op *op;
	unsigned pending;  /* SQEs queued whose CQE has not arrived */
	unsigned reserve;  /* SQEs this task holds in the window */
	int stage;         /* the kind's own stage number */
	int err;           /* first error seen, 0 if none */
	int slot;          /* direct descriptor slot, -1 if none */
	int fd;            /* plain descriptor of the file, -1 if none */
	int dfd;           /* plain descriptor of the directory, -1 if none */
	int in;            /* copy: the source, -1 if none */
	int out;           /* copy: the destination, -1 if none */
	bool created;      /* this op made own_path: unlink it on failure */
	const char *own_path; /* the file the op creates (the op's string) */
	bool voided;       /* a request of this task never reached the kernel */
	bool resized;      /* create: sized by ftruncate after fallocate was refused */
	unsigned char dround; /* directory stage round (plain descriptors) */
	unsigned char gate_byte; /* the gate hook reads into this */
	char *dir;         /* the directory to fsync (durable ops), heap */
	int res[UR_NSTEPS];

	/*
	 * Links between operations (see "Links" in window.c).  link_next:
	 * the task whose first SQE the kernel runs after this task's (NULL
	 * once that one finished or no longer depends on it).  link_prev:
	 * the task this one's first SQE is linked behind, while it runs;
	 * behind: that SQE's CQE has not come yet; prev_ended and prev_res:
	 * the one before has finished, with that result; link_wait: the
	 * kernel cancelled this one's SQE while the one before still ran.
	 */
	struct ur_task *link_next;
	struct ur_task *link_prev;
	bool behind;
	bool prev_ended;
	bool link_wait;
	int prev_res;
	int hook_short;    /* the short_write hook's result for the next CQE, or 0 */

	/* Parked: why, what runs then. */
	unsigned park;
	ur_resume_fn resume;
	struct ur_task *park_next;

	/* Create: the type of a file that existed. */
	struct statx stx;

	/*
	 * Flush: the next part to queue and the end of the range it is in;
	 * with several ranges (op->u.flush.ranges), the index of that range.
	 */
	uint64_t fnext;
	uint64_t fend;
	size_t fidx;

	/* Copy. */
	struct mmapio__copy_files cf; /* the platform's view of the files */
	uint64_t size;     /* bytes to copy (st_size of the source) */
	uint64_t next;     /* next chunk offset not yet handed to a buffer */
	unsigned nbufs;
	bool eof;          /* a read hit end of file early */
	struct ur_buf bufs[];
};

/* What an operation holds in the window while it runs. */
struct ur_need {
	unsigned sqes;     /* SQEs its largest stage queues at once */
	unsigned bufs;     /* copy buffers (room in the task) */
	bool slot;         /* a direct descriptor slot, where there are any */
};

/*
 * One kind of operation: an entry of the table indexed by enum mmapio_op
 * (uring.c).  The window calls nothing else of a kind.
 */
struct ur_kind {
	const char *name;
	/* Returns true when the kernel has every opcode op needs on the ring. */
	bool (*supported)(const struct ur_engine *e, const struct mmapio__op *op);
	/*
	 * Fills *need for op.  Returns false when a resource of the kind's
	 * own (copy buffers) is short while other tasks run: op then waits
	 * at the head of the backlog.
	 */
	bool (*reserve)(const struct ur_engine *e, const struct mmapio__op *op,
			struct ur_need *need);
	/*
	 * The blocking half of the start, or NULL: called only where the
	 * caller may block, before t enters the window.  Returns 0; 1 when
	 * out of descriptors that other tasks hold (t is left as it was, to
	 * be prepared again later); or -errno, with nothing left open or
	 * created, to fail the operation with.
	 */
	int (*prepare)(struct ur_engine *e, struct ur_task *t);
	/* Starts task t in the window: queues its first SQEs, or finishes it. */
	void (*start)(struct ur_engine *e, struct ur_task *t);
	/*
	 * Takes one CQE of t: the step and buffer index of its tag, the
	 * result.  (The CQE of the cleanup unlink, stage UR_STAGE_UNLINK,
	 * never comes here.)
	 */
	void (*complete)(struct ur_engine *e, struct ur_task *t, unsigned step, unsigned index,
			 int res);
	/*
	 * True when op's start queues exactly one SQE and that SQE is op's
	 * whole work, failed by the kernel on an error or a short result, so
	 * that a link from it orders what follows (see "Links" in window.c).
	 * NULL for kinds that never are.
	 */
	bool (*single)(const struct mmapio__op *op);
};

/* The table of kinds, indexed by enum mmapio_op (uring.c). */
#define UR_NKINDS MMAPIO__UR_NKINDS

struct ur_engine {
	struct io_uring ring;
	void (*done)(void *ctx, struct mmapio__op *op);
	void *ctx;
	const struct mmapio__engine *fallback; /* runs what the kernel cannot */
	const struct ur_kind *const *kinds;    /* UR_NKINDS entries, [0] NULL */

	unsigned depth;       /* operations running at once (the window) */
	unsigned sq_entries;  /* SQEs the submission ring holds */
	unsigned cq_entries;  /* CQEs the completion ring holds */
	unsigned room;        /* SQEs running tasks may hold in all (<= cq_entries) */
	unsigned ahead_max;   /* operations with a prepare() run ahead in submit */
	unsigned reserved;    /* SQEs held by running tasks */
	unsigned inflight;    /* SQEs queued whose CQE has not arrived */
	unsigned unsubmitted; /* SQEs queued that the kernel has not taken */
	unsigned active;      /* tasks running (parked ones included) */
	unsigned owned;       /* operations owned (contract's owned()) */
	bool may_block;       /* inside submit, close, or a reap with a timeout */
	int broken;           /* -errno once enter fails for good, else 0 */

	struct mmapio__op *backlog;
	struct mmapio__op *backlog_tail;
	struct mmapio__op *finished;
	struct mmapio__op *finished_tail;
	struct ur_task *parked;
	struct ur_task *parked_tail;
	/*
	 * SQEs taken back out of a broken ring, not yet completed: a stack
	 * of user_data, untaken_cap long (every entry is an SQE in flight,
	 * so room plus one ring's worth is enough): see ur_void_untaken.
	 */
	uint64_t *untaken;
	unsigned nspilled;
	unsigned untaken_cap;

	unsigned ahead;       /* prepared tasks waiting in the backlog */
	unsigned unprepared;  /* backlog operations whose kind has a prepare, not run */
	unsigned plain_fds;   /* plain descriptors the tasks hold */
	unsigned ahead_fds;   /* of those, held by tasks prepared ahead */
	unsigned plain_opening; /* opens into plain descriptors in flight */
	unsigned fd_wakeups;  /* descriptors released since the last unpark */

	uint64_t ops;         /* bit n set: opcode n is supported */
	bool direct;          /* a sparse file table is registered */
	bool ext_arg;         /* IORING_FEAT_EXT_ARG: timed waits in one enter */
	bool defer;           /* IORING_SETUP_DEFER_TASKRUN (with TASKRUN_FLAG) */
	bool single_issuer;   /* IORING_SETUP_SINGLE_ISSUER: only owner may enter */
	pthread_t owner;      /* the thread that set the ring up */
	unsigned setup_flags; /* the IORING_SETUP_* flags the ring got */
	unsigned nslots;      /* direct descriptor slots registered */
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

/* ------------------------------------------------------------------------ */
/* enter.c                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Every function here that enters marks the ring broken (e->broken) when
 * io_uring_enter fails for good: -EPERM or -ENOSYS (a seccomp filter that
 * came after the setup) or -EBADFD (a disabled ring).
 */

/*
 * Hands the queued SQEs to the kernel with one io_uring_enter.  SQEs the
 * kernel did not take stay queued for the next enter.  Returns the number
 * taken, or -errno.
 */
MMAPIO_INTERNAL int mmapio__ur_flush_sqes(struct ur_engine *e);

/*
 * Submits what is queued and waits until at least nr CQEs are in the CQ
 * ring or timeout_ms (-1: no limit) has passed.  Returns 0, -ETIME, -EINTR,
 * or another -errno of io_uring_enter.
 */
MMAPIO_INTERNAL int mmapio__ur_enter_wait(struct ur_engine *e, unsigned nr, int timeout_ms);

/*
 * Submits what is queued and runs deferred task work, never sleeping.
 * Returns the number of SQEs taken, or -errno.
 */
MMAPIO_INTERNAL int mmapio__ur_enter_getevents(struct ur_engine *e);

/*
 * Proves that io_uring_enter works on a new ring: a NOP submitted and
 * reaped.  Returns 0 or the -errno of io_uring_enter.
 */
MMAPIO_INTERNAL int mmapio__ur_enter_check(struct ur_engine *e);

/* ------------------------------------------------------------------------ */
/* hooks.c                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Applies the result hooks to the SQEs queued and not yet handed to the
 * kernel: those of a hooked step become NOPs (closes excepted).
 */
MMAPIO_INTERNAL void mmapio__ur_hook_sqes(struct ur_engine *e);

/*
 * Returns the result a CQE of step of an op of kind reports under the hooks,
 * and counts the CQE (mmapio__ur_hooks.cqes).
 */
MMAPIO_INTERNAL int mmapio__ur_hook_result(unsigned kind, unsigned step, int res);

/* Returns the enter error the hooks force on e now, or 0. */
MMAPIO_INTERNAL int mmapio__ur_hook_enter(const struct ur_engine *e);

/* ------------------------------------------------------------------------ */
/* task.c                                                                   */
/* ------------------------------------------------------------------------ */

/* True when tag is an open into a plain descriptor (see UR_PLAIN). */
static inline bool ur_plain_open(unsigned tag)
{
	unsigned step = UR_TAG_STEP(tag);

	return (step == UR_OPEN || step == UR_DOPEN) && UR_TAG_INDEX(tag) == UR_PLAIN;
}

/* Returns a zeroed task for op with room for nbufs copy buffers, or NULL. */
MMAPIO_INTERNAL struct ur_task *mmapio__ur_task_new(struct mmapio__op *op, unsigned nbufs);

/* Closes what t still holds and frees it, without touching the window's counts. */
MMAPIO_INTERNAL void mmapio__ur_task_free(struct ur_engine *e, struct ur_task *t);

/* Puts op on the list of operations to hand back. */
MMAPIO_INTERNAL void mmapio__ur_queue_finished(struct ur_engine *e, struct mmapio__op *op);

/*
 * Returns an SQE for the request tagged tag (UR_TAG) of task t, counted in
 * the window; the caller fills it in (the prep helpers leave user_data
 * alone).  Never NULL: every running task has reserved the SQEs its
 * largest stage needs.
 */
MMAPIO_INTERNAL struct io_uring_sqe *mmapio__ur_sqe(struct ur_engine *e, struct ur_task *t,
						    unsigned tag);

/*
 * Makes room for n SQEs in the submission ring, so that a chain of linked
 * SQEs (which must reach the kernel in one io_uring_enter) fits: hands the
 * queued ones to the kernel, or on a broken ring takes them back out onto
 * e->untaken (mmapio__ur_spill).  The ring may be smaller than what the
 * running tasks hold in all (e->room): every task queues at most its
 * reserve at once, and the window calls this with that reserve before it
 * lets a task queue anything.
 */
MMAPIO_INTERNAL void mmapio__ur_sq_room(struct ur_engine *e, unsigned n);

/*
 * On a broken ring: moves every SQE the kernel has not taken from the
 * submission ring onto the e->untaken stack (in an order that pops first
 * in, first out), for ur_void_untaken to complete.  The kernel reads the
 * SQ tail only inside io_uring_enter (there is no SQPOLL thread), so
 * moving it back is safe.
 */
MMAPIO_INTERNAL void mmapio__ur_spill(struct ur_engine *e);

/*
 * Takes the CQE of t's linked SQE, which the kernel cancelled because the
 * request before it failed or was short: t goes on once the task before it
 * has finished (at once when it has), as ur_link_resume in task.c says.
 */
MMAPIO_INTERNAL void mmapio__ur_link_cqe(struct ur_engine *e, struct ur_task *t);

/*
 * Records the result, frees t and queues its op for hand-back.  An
 * operation linked behind t learns t's result (and, when the kernel
 * cancelled its SQE, is parked to finish or start again: see "Links" in
 * window.c).
 */
MMAPIO_INTERNAL void mmapio__ur_finish(struct ur_engine *e, struct ur_task *t, int result);

/*
 * Parks t until the reasons in why (UR_PARK_*) are gone, then calls
 * resume(e, t).  t keeps its room in the window meanwhile.
 */
MMAPIO_INTERNAL void mmapio__ur_park(struct ur_engine *e, struct ur_task *t, unsigned why,
				     ur_resume_fn resume);

/*
 * Records that t now holds the plain descriptor fd in *where (t->fd,
 * t->dfd, t->in or t->out).
 */
MMAPIO_INTERNAL void mmapio__ur_fd_own(struct ur_engine *e, int *where, int fd);

/*
 * Records that the plain descriptor in *where is gone: closed here when
 * close_it, else already closed by a request.  A no-op when *where < 0.
 */
MMAPIO_INTERNAL void mmapio__ur_fd_drop(struct ur_engine *e, int *where, bool close_it);

/*
 * True when an open of t that failed with err should wait for a
 * descriptor instead: err is -EMFILE or -ENFILE, t holds no descriptor,
 * and tasks in the window hold some or are opening some, which they will
 * close (not those prepared ahead in the backlog, which may be waiting
 * for t's room in the window).
 */
MMAPIO_INTERNAL bool mmapio__ur_fd_short(const struct ur_engine *e, const struct ur_task *t,
					 int err);

/* The stage in which a failed op removes the file it created. */
#define UR_STAGE_UNLINK 100

/*
 * Fails t with err: when t created t->own_path, the file is unlinked first
 * (on the ring, or parked for a blocking unlink on a kernel without
 * IORING_OP_UNLINKAT or on a broken ring), then t finishes with err.
 */
MMAPIO_INTERNAL void mmapio__ur_fail(struct ur_engine *e, struct ur_task *t, int err);

/* ------------------------------------------------------------------------ */
/* window.c                                                                 */
/* ------------------------------------------------------------------------ */

/* Signals the eventfd for operations finished outside the kernel. */
MMAPIO_INTERNAL void mmapio__ur_signal_eventfd(const struct ur_engine *e);

/* Hands every finished operation back.  Returns how many. */
MMAPIO_INTERNAL unsigned mmapio__ur_hand_back(struct ur_engine *e);

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
 * Takes the chain, runs what the kernel cannot, prepares what waits in the
 * backlog, starts what fits in the window and hands it to the kernel at
 * once, so the work runs while the caller goes on.  A NULL chain only does
 * the rest.  Returns 0, or the ring's lasting
 * -errno (nothing taken) once io_uring_enter has failed for good.
 */
MMAPIO_INTERNAL int mmapio__ur_submit(void *engine, struct mmapio__op *chain);

/*
 * The close's half of the window: finishes every operation, giving up on
 * the kernel when enter fails (what it never took comes back with the
 * error; what it took is collected as it finishes).  Returns 0, or -EEXIST
 * when the calling thread may not use a single-issuer ring.
 */
MMAPIO_INTERNAL int mmapio__ur_drain(struct ur_engine *e);

/* ------------------------------------------------------------------------ */
/* dir.c                                                                    */
/* ------------------------------------------------------------------------ */


/*
 * Queues the directory fsync stage for t->dir (open, fsync, close; with a
 * slot as one chain, else the open first) and sets t->stage to stage.
 */
MMAPIO_INTERNAL void mmapio__ur_dir_start(struct ur_engine *e, struct ur_task *t, int stage);

/*
 * Takes a CQE of the directory stage.  Returns 1 while the stage goes on
 * (CQEs pending, or the second round queued), else the stage's first error
 * or 0.
 */
MMAPIO_INTERNAL int mmapio__ur_dir_cqe(struct ur_engine *e, struct ur_task *t, unsigned step,
				       int res);

/* ------------------------------------------------------------------------ */
/* The kinds, and copy.c's buffer pool                                      */
/* ------------------------------------------------------------------------ */

extern MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_create;
extern MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_copy;
extern MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_delete;
extern MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_flush;
extern MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_write;
extern MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_rename;
extern MMAPIO_INTERNAL const struct ur_kind mmapio__ur_kind_sync_dir;

/* Picks buffers per copy and their size for this machine (copy.c). */
MMAPIO_INTERNAL void mmapio__ur_copy_tune(struct ur_engine *e);
/* Frees the idle copy buffers (copy.c). */
MMAPIO_INTERNAL void mmapio__ur_pool_free(struct ur_engine *e);

#endif
