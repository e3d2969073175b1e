/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared directory syncs.  A durable create, copy or rename must make its
 * new name durable, which costs an fsync of the directory; a batch of them
 * in one directory needs only one, after the last.  So at submit the ring
 * finds, per barrier group of the submit, the directories that two or more
 * durable operations name (the dirname of each absolute path: a create's
 * file, a copy's destination, both names of a rename), marks those
 * operations MMAPIO__OP_NO_DIR_SYNC, which the engines honour by making
 * the file durable and leaving the directory alone, and makes one struct
 * mmapio__dsync per directory.  When every member has come back from the
 * engine, the ring hands the engine one SYNC_DIR operation of its own for
 * the directory; the members are held back (parked) until it completes,
 * then complete with its error when it failed, so that a durable
 * completion still means that the file and its name are durable.  An
 * operation alone in its directory is left as it is.
 *
 * Failures mirror the per-operation sync: a member that failed by itself
 * completes at once (it made nothing that needs the sync); when the shared
 * sync fails, the files that its creates made and its copies wrote are
 * removed again (by ring deletes, so that on io_uring nothing blocks in a
 * peek), as a failed durable create or copy removes them; a rename has
 * happened and reports the error, as mmapio_rename does.  Two paths that
 * name one directory differently (a symbolic link, a bind mount) count as
 * two directories and are synced twice, which is safe.
 *
 * Copies that replace an existing file (MMAPIO_COPY_OVERWRITE) keep their
 * own sync: it is part of putting the copy in place, and its failure puts
 * the old file back, which a sync after the fact could not.
 *
 * Uses ring_op.c; ring.c, ring_order.c and ring_reap.c use this file.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ring.h"

enum {
	DS_COLLECT,  /* members still with the engine */
	DS_SYNCING,  /* the ring's SYNC_DIR is with the engine */
	DS_CLEANUP,  /* the sync failed: deletes of the members' files to issue */
	DS_CLEANING  /* those deletes are with the engine */
};

struct mmapio__dsync {
	struct mmapio__dsync *next;  /* on ring->dsyncs */
	char *dir;                   /* absolute (as the ring made the paths) */
	struct mmapio__op **ops;     /* the members; NULL where one left early */
	unsigned nops;
	unsigned left;               /* members not handed back yet */
	unsigned deletes;            /* clean-up deletes with the engine */
	int state;                   /* DS_* */
	int result;                  /* of the sync */
	bool any_ok;                 /* a member came back with result >= 0 */
};

/* The ring's bookkeeping around op (see struct mmapio__ring_op). */
static struct mmapio__ring_op *ring_op(struct mmapio__op *op)
{
	return (struct mmapio__ring_op *)(void *)op;
}

/* ------------------------------------------------------------------------ */
/* Planning, at submit                                                      */
/* ------------------------------------------------------------------------ */

/* One directory that one durable operation names. */
struct dir_use {
	const struct mmapio__ring_group *group;
	char *dir;
	struct mmapio__op *op;
};

/*
 * The paths whose directories op must sync: *a, and *b when it may be
 * another directory (a rename's from).  Returns how many (0 for an
 * operation that syncs no directory, or one whose sync cannot be shared).
 */
static unsigned durable_paths(const struct mmapio__op *op, const char **a, const char **b)
{
	switch (op->kind) {
	case MMAPIO_OP_CREATE:
		*a = op->u.create.path;
		return (op->u.create.flags & MMAPIO_CREATE_DURABLE) ? 1 : 0;
	case MMAPIO_OP_COPY:
		*a = op->u.copy.dst;
		return (op->u.copy.flags & MMAPIO_COPY_DURABLE) &&
		       !(op->u.copy.flags & MMAPIO_COPY_OVERWRITE) ? 1 : 0;
	case MMAPIO_OP_RENAME:
		*a = op->u.rename.to;
		*b = op->u.rename.from;
		return (op->u.rename.flags & MMAPIO_RENAME_DURABLE) ? 2 : 0;
	default:
		return 0;
	}
}

/*
 * Appends the directories op syncs to uses (n so far, room for two more).
 * Returns the new count, or -ENOMEM with nothing appended.
 */
static int add_uses(struct dir_use *uses, int n, struct mmapio__op *op)
{
	const char *paths[2] = { NULL, NULL };
	unsigned np = durable_paths(op, &paths[0], &paths[1]);
	char *dirs[2] = { NULL, NULL };
	unsigned k;

	for (k = 0; k < np; k++) {
		dirs[k] = mmapio__plat_dirname(paths[k]);
		if (dirs[k] == NULL) {
			free(dirs[0]);
			return -ENOMEM;
		}
	}
	/* A rename within one directory syncs it once. */
	if (np == 2 && strcmp(dirs[0], dirs[1]) == 0) {
		free(dirs[1]);
		np = 1;
	}
	for (k = 0; k < np; k++)
		uses[n++] = (struct dir_use){ ring_op(op)->group, dirs[k], op };
	return n;
}

/* Orders uses by group, then by directory. */
static int use_cmp(const void *pa, const void *pb)
{
	const struct dir_use *a = pa, *b = pb;
	uintptr_t ga = (uintptr_t)a->group, gb = (uintptr_t)b->group;

	if (ga != gb)
		return ga < gb ? -1 : 1;
	return strcmp(a->dir, b->dir);
}

/* True when uses i and j name one directory in one group. */
static bool same_run(const struct dir_use *uses, int i, int j)
{
	return uses[i].group == uses[j].group && strcmp(uses[i].dir, uses[j].dir) == 0;
}

/*
 * Makes the shared sync of the run uses[from, to) (every op of it already
 * marked), taking its directory name.  Returns 0 or -ENOMEM.
 */
static int make_dsync(struct mmapio_ring *ring, struct dir_use *uses, int from, int to)
{
	struct mmapio__dsync *s = calloc(1, sizeof(*s));
	int i;

	if (s == NULL)
		return -ENOMEM;
	s->ops = calloc((size_t)(to - from), sizeof(*s->ops));
	if (s->ops == NULL) {
		free(s);
		return -ENOMEM;
	}
	s->dir = uses[from].dir;
	uses[from].dir = NULL;
	for (i = from; i < to; i++) {
		struct mmapio__ring_op *rop = ring_op(uses[i].op);
		unsigned k = rop->dsync[0] != NULL ? 1 : 0;

		rop->dsync[k] = s;
		rop->dsync_at[k] = s->nops;
		s->ops[s->nops++] = uses[i].op;
	}
	s->left = s->nops;
	s->state = DS_COLLECT;
	s->next = ring->dsyncs;
	ring->dsyncs = s;
	return 0;
}

/*
 * Marks the operations of every run of two or more uses, then makes a
 * shared sync for every run with a marked operation (a rename shared in
 * one of its directories waits for the ring in the other too, which may
 * be its alone).  Returns 0 or -ENOMEM.
 */
static int plan_runs(struct mmapio_ring *ring, struct dir_use *uses, int n)
{
	int i, j, k;

	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && same_run(uses, i, j); j++)
			;
		for (k = i; j - i > 1 && k < j; k++)
			uses[k].op->ring_flags |= MMAPIO__OP_NO_DIR_SYNC;
	}
	for (i = 0; i < n; i = j) {
		bool marked = false;

		for (j = i; j < n && same_run(uses, i, j); j++)
			marked = marked || (uses[j].op->ring_flags & MMAPIO__OP_NO_DIR_SYNC);
		if (marked && make_dsync(ring, uses, i, j) < 0)
			return -ENOMEM;
	}
	return 0;
}

MMAPIO_INTERNAL void mmapio__dsync_plan(struct mmapio_ring *ring, const struct op_list *list)
{
	struct mmapio__dsync *mark = ring->dsyncs;
	struct dir_use *uses = NULL;
	struct mmapio__op *op;
	const char *a, *b;
	int n = 0, cap = 0, i;

	for (op = list->head; op != NULL; op = op->next)
		cap += (int)durable_paths(op, &a, &b);
	if (cap < 2)
		return;
	uses = malloc((size_t)cap * sizeof(*uses));
	if (uses == NULL)
		return;
	for (op = list->head; op != NULL; op = op->next) {
		int r = add_uses(uses, n, op);

		if (r < 0)
			break;
		n = r;
	}
	if (op == NULL) {
		qsort(uses, (size_t)n, sizeof(*uses), use_cmp);
		if (plan_runs(ring, uses, n) < 0)
			op = list->head; /* out of memory: no sharing at all */
	}
	if (op != NULL) {
		mmapio__dsync_unplan(ring, mark);
		for (i = 0; i < n; i++)
			uses[i].op->ring_flags &= ~MMAPIO__OP_NO_DIR_SYNC;
	}
	for (i = 0; i < n; i++)
		free(uses[i].dir);
	free(uses);
}

/* Frees s, which is no longer on the ring's list. */
static void dsync_free(struct mmapio__dsync *s)
{
	free(s->ops);
	free(s->dir);
	free(s);
}

/* Takes s off the ring's list and frees it. */
static void dsync_remove(struct mmapio_ring *ring, struct mmapio__dsync *s)
{
	struct mmapio__dsync **pp;

	for (pp = &ring->dsyncs; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	dsync_free(s);
}

/* Clears rop's link to s. */
static void unlink_member(struct mmapio__ring_op *rop, const struct mmapio__dsync *s)
{
	unsigned k;

	for (k = 0; k < 2; k++) {
		if (rop->dsync[k] == s)
			rop->dsync[k] = NULL;
	}
}

MMAPIO_INTERNAL void mmapio__dsync_unplan(struct mmapio_ring *ring, struct mmapio__dsync *mark)
{
	struct mmapio__dsync *s;
	unsigned i;

	while ((s = ring->dsyncs) != NULL && s != mark) {
		ring->dsyncs = s->next;
		for (i = 0; i < s->nops; i++) {
			s->ops[i]->ring_flags &= ~MMAPIO__OP_NO_DIR_SYNC;
			unlink_member(ring_op(s->ops[i]), s);
		}
		dsync_free(s);
	}
}

/* ------------------------------------------------------------------------ */
/* Completions                                                              */
/* ------------------------------------------------------------------------ */

/* True when a member's file goes again should the shared sync fail. */
static bool made_file(const struct mmapio__op *op)
{
	if (op->result < 0)
		return false;
	/* A copy without MMAPIO_COPY_OVERWRITE always makes its destination. */
	return op->kind == MMAPIO_OP_COPY ||
	       (op->kind == MMAPIO_OP_CREATE && (op->ring_flags & MMAPIO__OP_MADE_FILE));
}

/* The file a member made (see made_file). */
static const char *made_path(const struct mmapio__op *op)
{
	return op->kind == MMAPIO_OP_COPY ? op->u.copy.dst : op->u.create.path;
}

/*
 * Finishes s: each member gets the sync's error when it failed, and a
 * member that waits for nothing else goes to release.  Frees s.
 */
static void finish(struct mmapio_ring *ring, struct mmapio__dsync *s, struct op_list *release)
{
	unsigned i;

	for (i = 0; i < s->nops; i++) {
		struct mmapio__op *m = s->ops[i];
		struct mmapio__ring_op *rop;

		if (m == NULL)
			continue;
		rop = ring_op(m);
		if (s->result < 0 && m->result >= 0)
			m->result = s->result;
		unlink_member(rop, s);
		if (rop->dsync[0] == NULL && rop->dsync[1] == NULL) {
			rop->parked = false;
			mmapio__op_list_push(release, m);
		}
	}
	dsync_remove(ring, s);
}

/* Takes the result of the ring's own operation op for s, and frees op. */
static void own_done(struct mmapio_ring *ring, struct mmapio__op *op, struct op_list *release)
{
	struct mmapio__dsync *s = ring_op(op)->serves;
	unsigned i;

	if (op->kind == MMAPIO_OP_SYNC_DIR) {
		s->result = op->result;
		mmapio__op_free(op);
		for (i = 0; s->result < 0 && i < s->nops; i++) {
			if (s->ops[i] != NULL && made_file(s->ops[i]))
				s->state = DS_CLEANUP;
		}
		if (s->state != DS_CLEANUP)
			finish(ring, s, release);
		return;
	}
	/* A clean-up delete: as for a failed create, its own result does not matter. */
	mmapio__op_free(op);
	if (--s->deletes == 0)
		finish(ring, s, release);
}

MMAPIO_INTERNAL bool mmapio__dsync_take(struct mmapio_ring *ring, struct mmapio__op *op,
					struct op_list *release)
{
	struct mmapio__ring_op *rop = ring_op(op);
	unsigned k;

	if (rop->serves != NULL) {
		own_done(ring, op, release);
		return true;
	}
	if (rop->dsync[0] == NULL && rop->dsync[1] == NULL)
		return false;
	for (k = 0; k < 2; k++) {
		struct mmapio__dsync *s = rop->dsync[k];

		if (s == NULL)
			continue;
		s->left--;
		if (op->result >= 0) {
			s->any_ok = true;
		} else {
			/* Failed by itself: nothing of it needs the sync. */
			s->ops[rop->dsync_at[k]] = NULL;
			rop->dsync[k] = NULL;
		}
	}
	if (op->result < 0)
		return false;
	rop->parked = true;
	return true;
}

/* ------------------------------------------------------------------------ */
/* Issuing the ring's own operations                                        */
/* ------------------------------------------------------------------------ */

/* Runs the ring's own op on the calling thread and takes its result. */
static void run_own(struct mmapio_ring *ring, struct mmapio__op *op, struct op_list *release)
{
	op->result = op->kind == MMAPIO_OP_SYNC_DIR ? mmapio__plat_sync_dir(op->u.sync_dir.path)
						   : mmapio__plat_unlink(op->u.del.path);
	own_done(ring, op, release);
}

/*
 * Builds the sync of s onto chain.  Out of memory, syncs on the calling
 * thread instead.
 */
static void queue_sync(struct mmapio_ring *ring, struct mmapio__dsync *s, struct op_list *chain,
		       struct op_list *release)
{
	struct mmapio__op *op;

	s->state = DS_SYNCING;
	if (mmapio__sync_dir_op(s->dir, &op) < 0) {
		s->result = mmapio__plat_sync_dir(s->dir);
		if (s->result == 0) {
			finish(ring, s, release);
			return;
		}
		s->state = DS_CLEANUP; /* queue_deletes finishes it when nothing was made */
		return;
	}
	ring_op(op)->serves = s;
	mmapio__op_list_push(chain, op);
}

/*
 * Builds the deletes of the files that the members of s made onto chain
 * (out of memory, unlinks on the calling thread).  Finishes s when there
 * is nothing to delete.
 */
static void queue_deletes(struct mmapio_ring *ring, struct mmapio__dsync *s,
			  struct op_list *chain, struct op_list *release)
{
	unsigned i;

	s->state = DS_CLEANING;
	for (i = 0; i < s->nops; i++) {
		struct mmapio__op *m = s->ops[i], *op;

		if (m == NULL || !made_file(m))
			continue;
		if (mmapio__delete_op(made_path(m), true, &op) < 0) {
			mmapio__plat_unlink(made_path(m));
			continue;
		}
		ring_op(op)->serves = s;
		s->deletes++;
		mmapio__op_list_push(chain, op);
	}
	if (s->deletes == 0)
		finish(ring, s, release);
}

/*
 * Hands chain to the engine, or runs it here when the engine refuses it.
 * Returns true when it handed anything over or ran it.
 */
static bool hand_over(struct mmapio_ring *ring, struct op_list *chain, struct op_list *release)
{
	struct mmapio__op *op;

	if (chain->head == NULL)
		return false;
	for (op = chain->head; op != NULL; op = op->next)
		mmapio__ring_give(ring, op);
	if (ring->engine->submit(ring->state, chain->head) == 0)
		return true;
	/* A ring-level failure: the members must not wait for ever. */
	for (op = chain->head; op != NULL; op = op->next)
		mmapio__ring_take(ring, op);
	while ((op = mmapio__op_list_pop(chain)) != NULL)
		run_own(ring, op, release);
	return true;
}

MMAPIO_INTERNAL void mmapio__dsync_issue(struct mmapio_ring *ring, struct op_list *release)
{
	bool again = true;

	/*
	 * The blocking engine completes what it is handed inside submit, so
	 * a sync may at once call for deletes: go round until nothing is due.
	 */
	while (again) {
		struct op_list chain = { 0 };
		struct mmapio__dsync *s, *next;

		again = false;
		/* Each step below may free s. */
		for (s = ring->dsyncs; s != NULL; s = next) {
			next = s->next;
			if (s->state == DS_COLLECT && s->left == 0) {
				if (s->any_ok)
					queue_sync(ring, s, &chain, release);
				else
					dsync_remove(ring, s); /* every member failed by itself */
				again = true;
			} else if (s->state == DS_CLEANUP) {
				queue_deletes(ring, s, &chain, release);
				again = true;
			}
		}
		if (hand_over(ring, &chain, release))
			again = true;
	}
}

/* ------------------------------------------------------------------------ */
/* Cancel, close                                                            */
/* ------------------------------------------------------------------------ */

MMAPIO_INTERNAL bool mmapio__dsync_waiting(const struct mmapio_ring *ring, const void *user_data)
{
	const struct mmapio__dsync *s;
	unsigned i;

	for (s = ring->dsyncs; s != NULL; s = s->next) {
		for (i = 0; i < s->nops; i++) {
			if (s->ops[i] != NULL && ring_op(s->ops[i])->parked &&
			    s->ops[i]->user_data == user_data)
				return true;
		}
	}
	return false;
}

MMAPIO_INTERNAL void mmapio__dsync_forget(struct mmapio_ring *ring, struct mmapio__op *op)
{
	struct mmapio__ring_op *rop = ring_op(op);
	unsigned k;

	(void)ring;
	/* A lost sync of the ring's own is made up for by mmapio__dsync_drop. */
	rop->serves = NULL;
	for (k = 0; k < 2; k++) {
		struct mmapio__dsync *s = rop->dsync[k];

		if (s == NULL)
			continue;
		if (!rop->parked)
			s->left--;
		s->ops[rop->dsync_at[k]] = NULL;
		rop->dsync[k] = NULL;
	}
}

MMAPIO_INTERNAL void mmapio__dsync_drop(struct mmapio_ring *ring)
{
	struct mmapio__dsync *s;
	struct op_list release = { 0 };
	struct mmapio__op *op;
	unsigned i;

	while ((s = ring->dsyncs) != NULL) {
		bool waiting = false;

		for (i = 0; i < s->nops; i++) {
			if (s->ops[i] != NULL && ring_op(s->ops[i])->parked)
				waiting = true;
		}
		/* Their completions go unread, but their names are still made durable. */
		if (waiting && (s->state == DS_COLLECT || s->state == DS_SYNCING))
			s->result = mmapio__plat_sync_dir(s->dir);
		for (i = 0; i < s->nops; i++) {
			struct mmapio__op *m = s->ops[i];

			if (m == NULL)
				continue;
			if (!ring_op(m)->parked) {
				unlink_member(ring_op(m), s); /* held: freed with the held ones */
				s->ops[i] = NULL;
			} else if (s->result < 0 && s->state != DS_CLEANING && made_file(m)) {
				mmapio__plat_unlink(made_path(m));
			}
		}
		finish(ring, s, &release);
	}
	while ((op = mmapio__op_list_pop(&release)) != NULL)
		mmapio__op_list_push(&ring->ready, op);
}
