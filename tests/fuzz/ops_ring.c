/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rings on both engines.  Every operation whose prep call returned 0 must
 * complete exactly once, with the result the model predicts.
 *
 * Blocking rings run their operations inside mmapio_ring_submit, in the
 * order they were prepared, so the model applies them there, in that
 * order.  io_uring rings run them whenever the kernel gets to them, in any
 * order, so the model applies each when its completion is reaped (or when
 * the ring is closed), and keeps every other call off their paths until
 * then: a prep, a blocking submit or a synchronous call that would touch a
 * path or a file that a pending io_uring operation names first waits for
 * it (fz_quiesce).  Nothing depends on timing: a wait with a small timeout
 * may return any number of completions up to what is outstanding.
 *
 * Barriers (mmapio_ring_barrier) number the groups of a ring.  An
 * operation of a later group runs only after every earlier one has
 * completed, so a prep call need not wait for the ring's own operations of
 * earlier groups, and when a completion of a later group is reaped the
 * model first applies what the earlier groups did.  Once an operation of a
 * group has failed, every operation of a later group completes with
 * -ECANCELED without running.  Whether a held group has gone to the engine
 * yet depends on timing, so the decoder cancels on io_uring only what was
 * not submitted, and closes an io_uring ring with several groups pending
 * only after waiting for them.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* ------------------------------------------------------------------------ */
/* Pending operations                                                       */
/* ------------------------------------------------------------------------ */

/*
 * The paths an operation names, as bits of enum fz_path (none for flushes
 * and writes, which name a file; none for a sync of a directory).
 */
unsigned fz_rop_paths(const struct fz_rop *o)
{
	switch (o->kind) {
	case MMAPIO_OP_CREATE:
	case MMAPIO_OP_DELETE:
		return 1u << o->path;
	case MMAPIO_OP_COPY:
	case MMAPIO_OP_RENAME:
		return 1u << o->src | 1u << o->dst;
	case MMAPIO_OP_SYNC_DIR:
		return o->path >= 0 ? 1u << o->path : 0;
	default:
		return 0;
	}
}

/*
 * True when operation o names a path in mask or a path of inode, or, for
 * a write, writes into inode or into the file of a path in mask.
 */
static bool rop_conflicts(const struct fz_rop *o, unsigned mask, int inode)
{
	unsigned paths = fz_rop_paths(o);
	bool write = o->kind == MMAPIO_OP_WRITE;
	int p;

	if ((paths & mask) || (write && inode >= 0 && o->inode == inode))
		return true;
	for (p = FZ_P0; p <= FZ_P1; p++) {
		int at = fz.path_inode[p];

		if (at < 0)
			continue;
		if ((paths & 1u << p) && at == inode)
			return true;
		if (write && (mask & 1u << p) && at == o->inode)
			return true;
	}
	return false;
}

/*
 * Today's create of a size above INT64_MAX (KNOWN_BUG_RING_CREATE_HUGE_SIZE):
 * it opens the file as any create does, truncating one that exists, and
 * then fails to size it; a file it made is removed again.  Returns the
 * result, which depends on the engine.
 */
static int huge_create(const struct fz_rop *o, bool async)
{
	int i;

	if (o->path == FZ_PD)
		return -EISDIR;
	if (o->path == FZ_PX)
		return -ENOENT;
	i = fz.path_inode[o->path];
	if (i >= 0 && (o->flags & MMAPIO_CREATE_EXCLUSIVE))
		return -EEXIST;
	if (i >= 0)
		fz_inode_set_size(i, 0);
	return async ? -EINVAL : -EFBIG;
}

/* What a directory sync of o's target completes with. */
static int sync_dir_result(const struct fz_rop *o)
{
	switch (o->dir) {
	case SYNC_TOP:
	case SYNC_D:
		return 0;
	case SYNC_NODIR:
		return -ENOENT;
	default:
		return fz.path_inode[o->path] >= 0 ? -ENOTDIR : -ENOENT;
	}
}

/* Predicts operation o of ring g (not cancelled) from the model as it stands and applies it. */
static int rop_run(const struct fz_ring *g, struct fz_rop *o)
{
	bool created;
	int inode;

	switch (o->kind) {
	case MMAPIO_OP_CREATE:
		if (o->size > (uint64_t)INT64_MAX)
			return huge_create(o, g->async);
		return fz_model_create(o->path, o->size, o->flags, o->perm, &inode, &created);
	case MMAPIO_OP_COPY:
		return fz_model_copy(o->src, o->dst, o->flags);
	case MMAPIO_OP_DELETE:
		return fz_model_delete(o->path);
	case MMAPIO_OP_WRITE:
		/* Through the mapping, only inside the file (see prep_write). */
		if (o->via_map && o->len > 0 && o->off + o->len > fz.inode[o->inode].size)
			fz_fail("model: a ring write through the mapping of map %d reaches past "
				"the end of its file (%llu bytes) when it runs", o->map,
				(unsigned long long)fz.inode[o->inode].size);
		fz_inode_pwrite(o->inode, o->off, o->data, o->len);
		return 0;
	case MMAPIO_OP_RENAME:
		return fz_model_rename(o->src, o->dst, o->flags);
	case MMAPIO_OP_SYNC_DIR:
		return sync_dir_result(o);
	default:
		return 0;
	}
}

/*
 * Applies operation o of ring g: cancelled without running when a group
 * before its own has failed; a failure fails o's group for the later ones.
 */
static void rop_apply(struct fz_ring *g, struct fz_rop *o)
{
	if (g->failed_group < o->group) {
		o->cancelled = true;
		o->expect = -ECANCELED;
	} else {
		o->expect = rop_run(g, o);
	}
	o->applied = true;
	if (o->expect < 0 && o->group < g->failed_group)
		g->failed_group = o->group;
}

/*
 * Applies, in the order they were prepared, the submitted operations of g
 * not applied yet whose group is before group: they completed before any
 * operation of that group started.
 */
static void apply_before(struct fz_ring *g, unsigned group)
{
	for (;;) {
		struct fz_rop *next = NULL;
		int k;

		for (k = 0; k < FZ_RING_OPS; k++) {
			struct fz_rop *o = &g->ops[k];

			if (o->used && o->submitted && !o->applied && o->group < group &&
			    (next == NULL || o->id < next->id))
				next = o;
		}
		if (next == NULL)
			return;
		rop_apply(g, next);
	}
}

/* Forgets operation o, giving back its hold on its map and its bytes. */
static void rop_done(struct fz_rop *o)
{
	bool holds = o->kind == MMAPIO_OP_FLUSH || o->kind == MMAPIO_OP_WRITE;

	if (holds && o->map >= 0) {
		if (o->counted)
			fz.map[o->map].ring_counted--;
		else
			fz.map[o->map].ring_uncounted--;
	}
	free(o->data);
	o->data = NULL;
	o->used = false;
}

/* Returns the pending operation with user_data id, or NULL. */
struct fz_rop *fz_rop_find(struct fz_ring *g, uint64_t id)
{
	int k;

	for (k = 0; k < FZ_RING_OPS; k++)
		if (g->ops[k].used && g->ops[k].id == id)
			return &g->ops[k];
	return NULL;
}

/* Checks n completions against the model and forgets their operations. */
static void take_completions(struct fz_ring *g, const struct mmapio_completion *c, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct fz_rop *o = fz_rop_find(g, (uint64_t)(uintptr_t)c[i].user_data);

		if (o == NULL || !o->submitted)
			fz_fail("a completion with user_data %p that no submitted operation has",
				c[i].user_data);
		if (c[i].op != o->kind || c[i].reserved != 0)
			fz_fail("completion of operation %llu: op %d reserved %llu, expected op %d",
				(unsigned long long)o->id, (int)c[i].op,
				(unsigned long long)c[i].reserved, (int)o->kind);
		if (!o->applied) {
			apply_before(g, o->group);
			rop_apply(g, o);
		}
		fz_trace("  completion %llu (op %d) -> %d", (unsigned long long)o->id, (int)o->kind,
			 c[i].result);
		fz_expect("a ring completion", c[i].result, o->expect);
		rop_done(o);
		g->inflight--;
		g->completed++;
	}
	fz_witness_attach_missing();
}

/* Number of operations prepared and not yet submitted. */
static unsigned unsubmitted(const struct fz_ring *g)
{
	unsigned n = 0;
	int k;

	for (k = 0; k < FZ_RING_OPS; k++)
		if (g->ops[k].used && !g->ops[k].submitted)
			n++;
	return n;
}

/* ------------------------------------------------------------------------ */
/* Submitting                                                               */
/* ------------------------------------------------------------------------ */

/* The directory a path is in: 0 for the input's (f, g and d), 1 for nodir. */
static int dir_of(int path)
{
	return path == FZ_PX ? 1 : 0;
}

/*
 * The directories whose sync durable operation o shares with the others
 * of its group in its submit (src/ring_dsync.c), into dirs: a create's, a
 * copy's destination's, both of a rename's (once when they are one).
 * Returns how many: 0 for an operation that syncs no directory or keeps
 * its own sync (a copy with MMAPIO_COPY_OVERWRITE).
 */
static int shared_dirs(const struct fz_rop *o, int dirs[2])
{
	if (o->kind == MMAPIO_OP_CREATE && (o->flags & MMAPIO_CREATE_DURABLE))
		dirs[0] = dir_of(o->path);
	else if (o->kind == MMAPIO_OP_COPY && (o->flags & MMAPIO_COPY_DURABLE) &&
		 !(o->flags & MMAPIO_COPY_OVERWRITE))
		dirs[0] = dir_of(o->dst);
	else if (o->kind == MMAPIO_OP_RENAME && (o->flags & MMAPIO_RENAME_DURABLE))
		dirs[0] = dir_of(o->dst);
	else
		return 0;
	if (o->kind != MMAPIO_OP_RENAME || dir_of(o->src) == dirs[0])
		return 1;
	dirs[1] = dir_of(o->src);
	return 2;
}

/*
 * The ring's own operations that a blocking submit runs for the
 * operations marked in `in` (applied, all of one group), as
 * mmapio_ring_stats counts them: one directory sync for each directory
 * that two or more durable operations name, when at least one of them
 * succeeded (those that failed by themselves, or were cancelled by a
 * barrier, need no sync).  The fuzzer's syncs never fail, so no clean-up
 * deletes follow.
 */
static unsigned shared_syncs(const struct fz_ring *g, const bool *in)
{
	unsigned named[2] = { 0, 0 }, n = 0;
	bool ok[2] = { false, false };
	int k, d, dirs[2], nd;

	for (k = 0; k < FZ_RING_OPS; k++) {
		nd = in[k] ? shared_dirs(&g->ops[k], dirs) : 0;
		for (d = 0; d < nd; d++) {
			named[dirs[d]]++;
			ok[dirs[d]] = ok[dirs[d]] || g->ops[k].expect >= 0;
		}
	}
	for (d = 0; d < 2; d++)
		n += named[d] >= 2 && ok[d] ? 1 : 0;
	return n;
}

/* The first operation of g not submitted yet, in the order prepared (ids grow). */
static struct fz_rop *next_unsubmitted(struct fz_ring *g)
{
	struct fz_rop *next = NULL;
	int k;

	for (k = 0; k < FZ_RING_OPS; k++) {
		struct fz_rop *o = &g->ops[k];

		if (o->used && !o->submitted && (next == NULL || o->id < next->id))
			next = o;
	}
	return next;
}

/* Waits for the io_uring operations that blocking ring g's submit would race. */
static void quiesce_unsubmitted(const struct fz_ring *g)
{
	unsigned mask = 0;
	int k;

	for (k = 0; k < FZ_RING_OPS; k++)
		if (g->ops[k].used && !g->ops[k].submitted)
			mask |= fz_rop_paths(&g->ops[k]);
	fz_quiesce(mask, -1);
	for (k = 0; k < FZ_RING_OPS; k++)
		if (g->ops[k].used && !g->ops[k].submitted && g->ops[k].kind == MMAPIO_OP_WRITE)
			fz_quiesce(0, g->ops[k].inode);
}

/*
 * Runs, as blocking ring g's submit does, its n operations not submitted
 * yet: group by group in the order prepared, each group's directory syncs
 * shared among its own operations only.
 */
static void run_blocking(struct fz_ring *g, unsigned n)
{
	bool in[FZ_RING_OPS] = { false };
	unsigned order, group = 0;

	for (order = 0; order < n; order++) {
		struct fz_rop *next = next_unsubmitted(g);

		if (order > 0 && next->group != group) {
			g->blocking_ops += shared_syncs(g, in);
			memset(in, 0, sizeof(in));
		}
		group = next->group;
		next->submitted = true;
		rop_apply(g, next);
		in[next - g->ops] = true;
		/* Cancelled ones and flushes with nothing to sync never reach the engine. */
		if (!next->cancelled && (next->kind != MMAPIO_OP_FLUSH || next->counted))
			g->blocking_ops++;
	}
	g->blocking_ops += shared_syncs(g, in);
}

/*
 * Submits ring g and applies what a blocking ring ran.  Returns after
 * checking the count mmapio_ring_submit returned.
 */
void fz_ring_submit(struct fz_ring *g)
{
	unsigned n = unsubmitted(g), order;
	int rc;

	if (!g->async)
		quiesce_unsubmitted(g);
	fz_trace("ring_submit ring=%d -> %u", (int)(g - fz.ring), n);
	rc = mmapio_ring_submit(g->ring);
	fz_expect("mmapio_ring_submit", rc, (int)n);
	g->inflight += n;
	if (g->async) {
		for (order = 0; order < n; order++)
			next_unsubmitted(g)->submitted = true;
		return;
	}
	run_blocking(g, n);
	fz_witness_attach_missing();
	fz_check_paths("blocking ring submit");
}

/*
 * Reaps until nothing submitted to io_uring ring g is outstanding, having
 * submitted what it holds when submit is true.
 */
static void ring_drain_as(struct fz_ring *g, bool submit)
{
	struct mmapio_completion c[FZ_RING_OPS];
	int rounds = 0, rc;

	if (submit && unsubmitted(g) > 0)
		fz_ring_submit(g);
	while (g->inflight > 0) {
		rc = mmapio_ring_wait(g->ring, c, FZ_RING_OPS, g->inflight, 1000);
		if (rc < 0)
			fz_fail("mmapio_ring_wait while draining: %d (%s)", rc, mmapio_strerror(rc));
		take_completions(g, c, rc);
		if (++rounds > 60)
			fz_fail("an io_uring ring has not completed %u operations in a minute",
				g->inflight);
	}
}

/* Submits what io_uring ring g holds and reaps until nothing is outstanding. */
static void ring_drain(struct fz_ring *g)
{
	ring_drain_as(g, true);
}

/*
 * fz_quiesce for a prep call on ring own (NULL: any other call): the
 * operations of own's groups before the one the prep goes to need no
 * waiting, as a barrier orders them before it.
 */
void fz_quiesce_but(const struct fz_ring *own, unsigned path_mask, int inode)
{
	int r, k;

	for (r = 0; r < FZ_RINGS; r++) {
		struct fz_ring *g = &fz.ring[r];

		if (!g->used || !g->async)
			continue;
		for (k = 0; k < FZ_RING_OPS; k++) {
			const struct fz_rop *o = &g->ops[k];

			if (!o->used || (g == own && o->group < own->group))
				continue;
			if (rop_conflicts(o, path_mask, inode)) {
				fz_trace("  (waiting for io_uring ring %d)", r);
				ring_drain(g);
				break;
			}
		}
	}
}

void fz_quiesce(unsigned path_mask, int inode)
{
	fz_quiesce_but(NULL, path_mask, inode);
}

void fz_quiesce_all(void)
{
	int r;

	for (r = 0; r < FZ_RINGS; r++)
		if (fz.ring[r].used && fz.ring[r].async &&
		    (fz.ring[r].inflight > 0 || unsubmitted(&fz.ring[r]) > 0))
			ring_drain(&fz.ring[r]);
}

/* ------------------------------------------------------------------------ */
/* Opening and closing                                                      */
/* ------------------------------------------------------------------------ */

/* Picks a ring in use, or -1. */
int fz_pick_ring(void)
{
	int s = fz_u8() % FZ_RINGS, k;

	for (k = 0; k < FZ_RINGS; k++) {
		int i = (s + k) % FZ_RINGS;

		if (fz.ring[i].used)
			return i;
	}
	return -1;
}

void fz_op_ring_open(void)
{
	static const unsigned depth[] = { 0, 1, 2, 4, 64 };
	int slot = fz_u8() % FZ_RINGS, want, rc;
	uint8_t b = fz_u8() % 6, bad = fz_u8();
	struct mmapio_ring_options o;
	const struct mmapio_ring_options *op = &o;
	enum mmapio_backend kind = MMAPIO_BACKEND_FALLBACK, got;
	struct fz_ring *g = &fz.ring[slot];
	mmapio_ring *ring = NULL;
	const char *why = NULL;

	memset(&o, 0, sizeof(o));
	o.queue_depth = depth[fz_u8() % 5];
	if (g->used)
		return;
	switch (b) {
	case 1:
	case 4:
		kind = MMAPIO_BACKEND_URING;
		break;
	case 2:
		kind = MMAPIO_BACKEND_AUTO;
		if (bad & 1)
			op = NULL;
		break;
	case 5:
		kind = MMAPIO_BACKEND_FALLBACK;
		switch (bad % 4) {
		case 0:
			o.flags = 1u << (bad % 32);
			break;
		case 1:
			o.reserved0 = 1;
			break;
		case 2:
			o.reserved[bad % 6] = 1;
			break;
		default:
			o.backend = (enum mmapio_backend)7;
			break;
		}
		break;
	default:
		break;
	}
	if (b != 5)
		o.backend = kind;
	want = b == 5 ? -EINVAL : kind == MMAPIO_BACKEND_URING ? fz.uring_open_rc : 0;
	fz_trace("ring_open ring=%d backend=%d depth=%u%s -> %d", slot, (int)o.backend,
		 o.queue_depth, b == 5 ? " (bad options)" : op == NULL ? " (NULL options)" : "",
		 want);
	rc = mmapio_ring_open(op, &ring);
	fz_expect("mmapio_ring_open", rc, want);
	if (rc < 0) {
		if (ring != NULL)
			fz_fail("a refused ring open stored a ring");
		return;
	}
	if (kind == MMAPIO_BACKEND_AUTO)
		kind = fz.auto_backend;
	got = mmapio_ring_backend(ring, &why);
	if (got != kind || why == NULL || why[0] == '\0')
		fz_fail("mmapio_ring_backend: %d (\"%s\"), asked for %d", (int)got, why ? why : "",
			(int)kind);
	memset(g, 0, sizeof(*g));
	g->used = true;
	g->ring = ring;
	g->backend = got;
	g->async = got == MMAPIO_BACKEND_URING;
	g->failed_group = UINT_MAX;
}

/*
 * True when g's submitted operations not reaped yet are of more than one
 * group: a later one may still be held by a barrier (close discards it)
 * or have gone to the engine (close waits for it), as timing has it.
 */
static bool groups_pending(const struct fz_ring *g)
{
	unsigned lo = UINT_MAX, hi = 0;
	int k;

	for (k = 0; k < FZ_RING_OPS; k++) {
		const struct fz_rop *o = &g->ops[k];

		if (!o->used || !o->submitted || o->cancelled)
			continue;
		lo = o->group < lo ? o->group : lo;
		hi = o->group > hi ? o->group : hi;
	}
	return lo < hi;
}

/* Closes ring slot r: what it ran is in the model, what it held is dropped. */
static void ring_close(int r)
{
	struct fz_ring *g = &fz.ring[r];
	int k, rc;

	if (g->async && groups_pending(g)) {
		fz_trace("  (waiting for the groups of io_uring ring %d)", r);
		ring_drain_as(g, false);
	}
	fz_trace("ring_close ring=%d (inflight %u, unsubmitted %u) -> 0", r, g->inflight,
		 unsubmitted(g));
	/* Submitted operations run to their end; the rest are discarded. */
	apply_before(g, UINT_MAX);
	rc = mmapio_ring_close(g->ring);
	fz_expect("mmapio_ring_close", rc, 0);
	/* Only now: the kernel may have read a write's bytes until the close. */
	for (k = 0; k < FZ_RING_OPS; k++)
		if (g->ops[k].used)
			rop_done(&g->ops[k]);
	g->used = false;
	fz_witness_attach_missing();
	fz_check_paths("ring close");
}

void fz_op_ring_close(void)
{
	int r = fz_pick_ring();

	if (r >= 0)
		ring_close(r);
}

void fz_rings_close_all(void)
{
	int r;

	for (r = 0; r < FZ_RINGS; r++)
		if (fz.ring[r].used)
			ring_close(r);
}

void fz_rings_forget_map(int slot)
{
	int r, k;

	for (r = 0; r < FZ_RINGS; r++)
		for (k = 0; k < FZ_RING_OPS; k++) {
			struct fz_rop *o = &fz.ring[r].ops[k];

			if (o->used && (o->kind == MMAPIO_OP_FLUSH || o->kind == MMAPIO_OP_WRITE) &&
			    o->map == slot)
				o->map = -1;
		}
}

void fz_op_ring_submit(void)
{
	int r = fz_pick_ring();

	if (r >= 0)
		fz_ring_submit(&fz.ring[r]);
}

/* ------------------------------------------------------------------------ */
/* Reaping                                                                  */
/* ------------------------------------------------------------------------ */

void fz_op_ring_reap(void)
{
	static const int timeouts[] = { 0, 1, 5, 20, -1, -2 };
	int r = fz_pick_ring(), rc, want = 0;
	uint8_t how = fz_u8();
	unsigned max = fz_u8() % 9, min = fz_u8() % 10, cap, low = 0;
	int timeout = timeouts[fz_u8() % 6];
	bool wait = how & 1, null_out = (how & 0x1e) == 0x1e, huge = (how & 0xe0) == 0xe0;
	struct mmapio_completion c[FZ_RING_OPS];
	struct fz_ring *g;

	if (r < 0)
		return;
	g = &fz.ring[r];
	if (huge)
		max = (unsigned)INT_MAX + 1;
	if ((null_out && max > 0) || huge)
		want = -EINVAL;
	if (wait && (min > max || timeout < -1))
		want = -EINVAL;
	if (!wait && timeout < -1)
		timeout = 0;
	cap = g->inflight < max ? g->inflight : max;
	/* A blocking ring's completions are all ready; io_uring's come when they come. */
	if (!g->async)
		low = cap;
	else if (wait && timeout == -1)
		low = min < g->inflight ? min : g->inflight;
	fz_trace("ring_%s ring=%d max=%u min=%u timeout=%d%s -> %d, or %u..%u completions",
		 wait ? "wait" : "peek", r, max, min, timeout, null_out ? " out=NULL" : "", want, low,
		 cap);
	if (wait)
		rc = mmapio_ring_wait(g->ring, null_out ? NULL : c, max, min, timeout);
	else
		rc = mmapio_ring_peek(g->ring, null_out ? NULL : c, max);
	if (want < 0) {
		fz_expect(wait ? "mmapio_ring_wait" : "mmapio_ring_peek", rc, want);
		return;
	}
	if (rc < (int)low || rc > (int)cap)
		fz_fail("mmapio_ring_%s returned %d, the model says %u..%u", wait ? "wait" : "peek",
			rc, low, cap);
	take_completions(g, c, rc);
	if (mmapio_ring_inflight(g->ring) != g->inflight)
		fz_fail("mmapio_ring_inflight says %u, the model %u", mmapio_ring_inflight(g->ring),
			g->inflight);
}

void fz_op_ring_misc(void)
{
	int r = fz_pick_ring(), fd;
	uint8_t kind = fz_u8() % 3;
	struct mmapio_ring_stats st;
	struct pollfd p;
	struct fz_ring *g;

	if (r < 0)
		return;
	g = &fz.ring[r];
	switch (kind) {
	case 0:
		fd = mmapio_ring_fd(g->ring);
		fz_trace("ring_fd ring=%d -> %d", r, fd);
		if (fd < 0 || mmapio_ring_fd(g->ring) != fd)
			fz_fail("mmapio_ring_fd: %d, then another", fd);
		p.fd = fd;
		p.events = POLLIN;
		p.revents = 0;
		if (!g->async && g->inflight > 0 && (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)))
			fz_fail("ring_fd of a blocking ring with %u ready completions is not readable",
				g->inflight);
		break;
	case 1:
		fz_trace("ring_inflight ring=%d -> %u", r, g->inflight);
		if (mmapio_ring_inflight(g->ring) != g->inflight)
			fz_fail("mmapio_ring_inflight says %u, the model %u",
				mmapio_ring_inflight(g->ring), g->inflight);
		break;
	default:
		fz_trace("ring_stats ring=%d -> prepared %llu completed %llu", r,
			 (unsigned long long)g->prepared, (unsigned long long)g->completed);
		fz_expect("mmapio_ring_stats", mmapio_ring_stats(g->ring, &st), 0);
		if (st.prepared != g->prepared || st.completed != g->completed ||
		    (!g->async && st.blocking_ops != g->blocking_ops))
			fz_fail("mmapio_ring_stats: prepared %llu completed %llu blocking %llu, "
				"the model %llu %llu %llu",
				(unsigned long long)st.prepared, (unsigned long long)st.completed,
				(unsigned long long)st.blocking_ops, (unsigned long long)g->prepared,
				(unsigned long long)g->completed, (unsigned long long)g->blocking_ops);
		break;
	}
}
