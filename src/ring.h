/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ring's private parts, shared by the files that implement it
 * (src/ring.c, src/ring_prep.c, src/ring_reap.c) and by src/sync.c: the
 * ring itself, its operation lists, running one operation to completion on
 * a ring, and building the flush operation of a range with the rules for
 * read-only, copy-on-write and empty ranges in one place.  Nothing here is
 * public.
 */
#ifndef MMAPIO_RING_H
#define MMAPIO_RING_H

#include <stdint.h>

#include "internal.h"

/* A singly linked list of operations, appended at the tail. */
struct op_list {
	struct mmapio__op *head;
	struct mmapio__op *tail;
	unsigned n;
};

/*
 * An operation as the ring allocates it (mmapio__op_new): the engine's
 * struct first, so that a pointer to one is a pointer to the other, then
 * the ring's own bookkeeping, which no engine sees.  While an engine owns
 * the operation it is on its ring's list of given operations, so that the
 * ring knows what it is owed: an operation handed back twice completes
 * once, and one that an engine never hands back is released at close
 * instead of pinning its map for ever.
 */
/*
 * A group of operations between two barriers (src/ring_order.c).  The
 * ring keeps its groups in preparation order; only the oldest (the head)
 * is released to the engine, and the next one is released when the head
 * has no operation left that has not completed.
 */
struct mmapio__ring_group {
	struct mmapio__ring_group *next;
	unsigned left;   /* operations prepared in it that have not completed */
	bool failed;     /* one of them completed with a result < 0, or doomed */
	bool released;   /* its operations go to the engine when submitted */
	bool doomed;     /* the group before it failed: all complete -ECANCELED */
};

/*
 * A directory sync shared by the durable operations of one group of one
 * submit that name entries in the same directory (src/ring_dsync.c).
 * Defined there; the ring keeps a list of them.
 */
struct mmapio__dsync;

struct mmapio__ring_op {
	struct mmapio__op op;
	struct mmapio__ring_op *prev;  /* on the ring's given list */
	struct mmapio__ring_op *next;
	bool given;                    /* owned by the engine, on the list */
	bool parked;                   /* handed back, waiting for its shared syncs */
	struct mmapio__ring_group *group; /* NULL for the synchronous runner's */
	/*
	 * The shared syncs this operation waits for (a rename between two
	 * directories waits for two), NULL where none, and its place among
	 * each one's members.
	 */
	struct mmapio__dsync *dsync[2];
	unsigned dsync_at[2];
	/* For the ring's own sync or clean-up delete: the shared sync it serves. */
	struct mmapio__dsync *serves;
};

struct mmapio_ring {
	const struct mmapio__engine *engine;
	void *state;              /* the engine's own, from engine->open */
	struct op_list prepared;  /* prepared, not yet submitted */
	struct op_list ready;     /* completed, not yet copied out */
	struct op_list held;      /* submitted, held back by a barrier (group order) */
	struct mmapio__ring_group *groups;      /* oldest group not retired, or NULL */
	struct mmapio__ring_group *groups_tail; /* the group prep calls add to */
	bool barrier;             /* a barrier since the tail group's last op */
	bool prev_failed;         /* the last retired group failed */
	struct mmapio__ring_op *given; /* owned by the engine, not yet handed back */
	struct mmapio__dsync *dsyncs;  /* shared directory syncs not finished */
	unsigned inflight;        /* submitted, not yet copied out */
	struct mmapio__op *run_op; /* the one mmapio__ring_run waits for, or NULL */
	struct mmapio__event ev;  /* of mmapio_ring_fd; fd -1 until then */
	uint64_t n_prepared;
	uint64_t n_completed;
	char reason[192];         /* for mmapio_ring_backend */
};

/* Puts op, about to be submitted, on ring's list of operations its engine owns. */
MMAPIO_INTERNAL void mmapio__ring_give(struct mmapio_ring *ring, struct mmapio__op *op);

/*
 * Takes op off ring's list of operations its engine owns.  Returns true
 * when it was on it, false when it was not (handed back already).
 */
MMAPIO_INTERNAL bool mmapio__ring_take(struct mmapio_ring *ring, struct mmapio__op *op);

/*
 * Closes ring's engine, which hands back everything it owns into
 * ring->ready; an operation it keeps although its close returns 0 (an
 * engine that can no longer make progress and gives up) is released
 * without a result, as mmapio__op_discard does.  Returns 0, after which
 * only mmapio__ring_free may follow; or the engine's -errno, with the ring
 * whole and usable and the operations handed back on the way queued (and
 * the event signalled for them).
 */
MMAPIO_INTERNAL int mmapio__ring_close_engine(struct mmapio_ring *ring);

/*
 * Frees a ring whose engine is closed: discards what is prepared, finishes
 * what is queued, closes the event.
 */
MMAPIO_INTERNAL void mmapio__ring_free(struct mmapio_ring *ring);

/*
 * Opens a ring on the given engine, with the options of mmapio_ring_open
 * (whose backend field is then ignored), bypassing the choice of backend:
 * for tests, which run the ring front end against an engine of their own.
 * Returns 0 with *out set (close it with mmapio_ring_close); -EINVAL for a
 * NULL engine or out or bad options; -ENOMEM; or the engine's open error.
 */
MMAPIO_INTERNAL int mmapio__ring_open_engine(const struct mmapio__engine *engine,
					     const struct mmapio_ring_options *opts,
					     mmapio_ring **out);

/*
 * Test hook: when not NULL, every default ring of the synchronous calls
 * that opens from then on runs on this engine (see mmapio__ring_open_engine)
 * instead of the one MMAPIO_BACKEND picks.  NULL, the default, changes
 * nothing.  Set it while no other thread is inside the library, as the
 * system-call table is.
 */
extern MMAPIO_INTERNAL const struct mmapio__engine *mmapio__default_ring_engine;

/*
 * Appends a prepared operation to ring's prepared list, in the group that
 * prep calls add to (a new one after a barrier), and counts it.  Returns 0,
 * or -ENOMEM with nothing changed (the caller still owns op).
 */
MMAPIO_INTERNAL int mmapio__ring_add(struct mmapio_ring *ring, struct mmapio__op *op,
				     void *user_data);

/*
 * Queues op, completed with op->result, on ring's completions and counts
 * it in its group.  Every completion of a prepared operation goes through
 * here (the engine's done() callback too), exactly once.
 */
MMAPIO_INTERNAL void mmapio__ring_complete(struct mmapio_ring *ring, struct mmapio__op *op);

/*
 * Sorts the operations being submitted: those of a group not released yet
 * go to ring->held, those of a doomed group and local flushes complete in
 * the ring (on the local list), the rest on the engine list.
 */
MMAPIO_INTERNAL void mmapio__ring_route(struct mmapio_ring *ring, struct mmapio__op *op,
					struct op_list *engine, struct op_list *local,
					struct op_list *held);

/*
 * Completes the operations of list (the local list of mmapio__ring_route)
 * in the ring: those of a doomed group with -ECANCELED, local flushes with
 * the result they carry.  Signals the event when any completed.
 */
MMAPIO_INTERNAL void mmapio__ring_complete_local(struct mmapio_ring *ring, struct op_list *list);

/*
 * Retires the groups that have completed and releases the next ones,
 * handing their held operations to the engine.  Called by submit, peek and
 * wait after the engine calls they make, never from done().  An engine
 * that refuses a released group (ring-level failure) leaves it held for
 * the next call.
 */
MMAPIO_INTERNAL void mmapio__ring_advance(struct mmapio_ring *ring);

/*
 * Links held groups behind the operations about to go to the engine, where
 * the engine can run them in order itself (its link(), see engine.h):
 * while the last operation of engine is alone in its group, nothing of that
 * group failed, and the next group is the first operation of held, alone
 * too, that operation moves from held to the end of engine, and the one
 * before it is marked MMAPIO__OP_LINK_NEXT.  The next group stays
 * unreleased: what prep calls add to it later is held as before.
 */
MMAPIO_INTERNAL void mmapio__ring_link(struct mmapio_ring *ring, struct op_list *engine,
				       struct op_list *held);

/* Clears MMAPIO__OP_LINK_NEXT on a chain the engine refused. */
MMAPIO_INTERNAL void mmapio__ring_unlink(struct mmapio__op *chain);

/* Discards the held operations and frees the groups (ring_free). */
MMAPIO_INTERNAL void mmapio__ring_drop_order(struct mmapio_ring *ring);

/*
 * Shared directory syncs (src/ring_dsync.c).
 *
 * mmapio__dsync_plan looks at the operations of list, about to be
 * submitted, and wherever two or more durable operations of one group
 * (creates, copies without MMAPIO_COPY_OVERWRITE, renames) name entries
 * in one directory, marks them MMAPIO__OP_NO_DIR_SYNC and makes one shared
 * sync of that directory for them.  Out of memory it plans nothing: every
 * operation then syncs its own directory, as it always could.
 * mmapio__dsync_unplan undoes every plan made since mark (the value of
 * ring->dsyncs before the plan), for a submit that the engine refused.
 */
MMAPIO_INTERNAL void mmapio__dsync_plan(struct mmapio_ring *ring, const struct op_list *list);
MMAPIO_INTERNAL void mmapio__dsync_unplan(struct mmapio_ring *ring, struct mmapio__dsync *mark);

/*
 * Looks at op, which is completing: a member of a shared sync that
 * succeeded is kept (parked) until its syncs finish, and the ring's own
 * syncs and deletes are taken and freed.  Members whose syncs have all
 * finished, with a failed sync's error in their result, are appended to
 * release for the caller to complete.  Returns true when op was taken,
 * false when the caller completes it now.
 */
MMAPIO_INTERNAL bool mmapio__dsync_take(struct mmapio_ring *ring, struct mmapio__op *op,
					struct op_list *release);

/*
 * Hands the engine the shared syncs whose members have all come back, and
 * the deletes that remove the files of a failed one's creates and copies;
 * where the engine refuses them (or memory runs out), runs them on the
 * calling thread with platform calls.  Members that finished are appended
 * to release.  Called from mmapio__ring_advance only, never from done().
 */
MMAPIO_INTERNAL void mmapio__dsync_issue(struct mmapio_ring *ring, struct op_list *release);

/* True when an operation with user_data is parked for a shared sync. */
MMAPIO_INTERNAL bool mmapio__dsync_waiting(const struct mmapio_ring *ring, const void *user_data);

/* Takes op, which is released without completing, out of its shared syncs. */
MMAPIO_INTERNAL void mmapio__dsync_forget(struct mmapio_ring *ring, struct mmapio__op *op);

/*
 * For mmapio__ring_free, before the held operations go: runs the syncs
 * that parked members still wait for on the calling thread, queues those
 * members on ring->ready and frees every shared sync.
 */
MMAPIO_INTERNAL void mmapio__dsync_drop(struct mmapio_ring *ring);

/*
 * Builds a RENAME or SYNC_DIR operation with its paths copied to the heap
 * and made absolute.  Return 0 with *out set; -EINVAL for NULL paths,
 * unknown rename flags or NOREPLACE with EXCHANGE; -ENOMEM.
 */
MMAPIO_INTERNAL int mmapio__rename_op(const char *from, const char *to, unsigned flags,
				      struct mmapio__op **out);
MMAPIO_INTERNAL int mmapio__sync_dir_op(const char *dir, struct mmapio__op **out);

/* Appends op to list. */
MMAPIO_INTERNAL void mmapio__op_list_push(struct op_list *list, struct mmapio__op *op);

/* Removes and returns the first operation of list, or NULL. */
MMAPIO_INTERNAL struct mmapio__op *mmapio__op_list_pop(struct op_list *list);

/*
 * Build a COPY or DELETE operation with their paths copied to the heap:
 * made absolute against the current directory when a ring will run the
 * operation later (absolute = true), kept as given for a synchronous call,
 * which resolves them before it returns.  Return 0 with *out set (free it
 * with mmapio__op_free, or hand it on); -EINVAL for NULL paths or unknown
 * copy flags; -ENOMEM.
 */
MMAPIO_INTERNAL int mmapio__copy_op(const char *src, const char *dst, unsigned flags,
				    bool absolute, struct mmapio__op **out);
MMAPIO_INTERNAL int mmapio__delete_op(const char *path, bool absolute, struct mmapio__op **out);

/*
 * Builds the operation that flushes [off, off + len) of map.  Read-only and
 * copy-on-write maps, and empty ranges, get an operation that the ring
 * completes by itself without a backend (result 0, or the map's sticky
 * write-back error for an empty range of a read-write map); the others are
 * filled by mmapio__flush_prepare and count in map->ops until
 * mmapio__op_finish.  Returns 0 with *out set (free it with mmapio__op_free
 * after mmapio__op_finish, or hand it to mmapio__ring_run); -EINVAL for a
 * NULL map; -ERANGE for a range outside the map; -ENOMEM.
 */
MMAPIO_INTERNAL int mmapio__flush_op(mmapio_map *map, uint64_t off, uint64_t len,
				     struct mmapio__op **out);

/*
 * True when op is a flush that the ring completes itself, with the result
 * already in op->result, and that no backend may see.
 */
MMAPIO_INTERNAL bool mmapio__op_is_local(const struct mmapio__op *op);

/*
 * Turns a completed operation's result into the one the caller sees: for a
 * flush of a map it records the result in the map (the sticky write-back
 * error) and releases the map (mmapio__flush_finish).  Call exactly once per
 * completed operation.  Returns the result.
 */
MMAPIO_INTERNAL int mmapio__op_finish(struct mmapio__op *op);

/*
 * Frees an operation that never ran, releasing its map without recording
 * anything in it: there is no write-back error to remember.
 */
MMAPIO_INTERNAL void mmapio__op_discard(struct mmapio__op *op);

/* How mmapio__ring_run left the ring. */
enum mmapio__run_end {
	MMAPIO__RUN_DONE,     /* op ran; the ring is as it was */
	MMAPIO__RUN_REFUSED,  /* the engine refused op at submit: it never ran */
	MMAPIO__RUN_CLOSED,   /* the ring failed for good and was closed (freed) */
	MMAPIO__RUN_BROKEN    /* it failed for good and refused to close */
};

/*
 * Runs op on ring and waits for it.  The ring must hold no other operation
 * of the caller's (it is the thread's private default ring).  Takes
 * ownership of op and frees it.
 *
 * The wait goes on through signals and passing conditions (-EINTR,
 * -EAGAIN, -EBUSY, -ETIME from the engine): a synchronous call cannot
 * report them and still own what it started.  A lasting ring-level failure
 * ends the wait by closing the ring, because the engine's close hands back
 * everything it owns once the work it started has finished: the call then
 * reports op's own result, never a failure for work that is still running
 * or that completed.
 *
 * Returns op's result (>= 0 or -errno), with *end saying what became of the
 * ring: MMAPIO__RUN_DONE; MMAPIO__RUN_REFUSED with the engine's -errno from
 * submit (op never ran); MMAPIO__RUN_CLOSED after a lasting failure, the
 * ring freed (op's result, or the failure when the engine kept op although
 * its close succeeded); MMAPIO__RUN_BROKEN with the ring-level -errno when
 * the engine refused even the close: op stays in the ring, which the caller
 * must stop using and keep reachable.
 */
MMAPIO_INTERNAL int mmapio__ring_run(mmapio_ring *ring, struct mmapio__op *op,
				     enum mmapio__run_end *end);

#endif
