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
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <string.h>

#include "fuzz.h"

/* ------------------------------------------------------------------------ */
/* Pending operations                                                       */
/* ------------------------------------------------------------------------ */

/* The paths an operation names, as bits of enum fz_path (none for flushes). */
static unsigned rop_paths(const struct fz_rop *o)
{
	switch (o->kind) {
	case MMAPIO_OP_CREATE:
	case MMAPIO_OP_DELETE:
		return 1u << o->path;
	case MMAPIO_OP_COPY:
		return 1u << o->src | 1u << o->dst;
	default:
		return 0;
	}
}

/* True when operation o names a path in mask or a path of inode. */
static bool rop_conflicts(const struct fz_rop *o, unsigned mask, int inode)
{
	unsigned paths = rop_paths(o);
	int p;

	if (paths & mask)
		return true;
	for (p = FZ_P0; p <= FZ_P1; p++)
		if ((paths & 1u << p) && inode >= 0 && fz.path_inode[p] == inode)
			return true;
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

/* Predicts operation o of ring g from the model as it stands and applies it. */
static void rop_apply(const struct fz_ring *g, struct fz_rop *o)
{
	bool created;
	int inode;

	switch (o->kind) {
	case MMAPIO_OP_CREATE:
		if (o->size > (uint64_t)INT64_MAX)
			o->expect = huge_create(o, g->async);
		else
			o->expect = fz_model_create(o->path, o->size, o->flags, o->perm, &inode,
						    &created);
		break;
	case MMAPIO_OP_COPY:
		o->expect = fz_model_copy(o->src, o->dst, o->flags);
		break;
	case MMAPIO_OP_DELETE:
		o->expect = fz_model_delete(o->path);
		break;
	default:
		o->expect = 0;
		break;
	}
	o->applied = true;
}

/* Forgets operation o, giving back its hold on its map. */
static void rop_done(struct fz_rop *o)
{
	if (o->kind == MMAPIO_OP_FLUSH && o->map >= 0) {
		if (o->counted)
			fz.map[o->map].ring_counted--;
		else
			fz.map[o->map].ring_uncounted--;
	}
	o->used = false;
}

/* Returns the pending operation with user_data id, or NULL. */
static struct fz_rop *rop_find(struct fz_ring *g, uint64_t id)
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
		struct fz_rop *o = rop_find(g, (uint64_t)(uintptr_t)c[i].user_data);

		if (o == NULL || !o->submitted)
			fz_fail("a completion with user_data %p that no submitted operation has",
				c[i].user_data);
		if (c[i].op != o->kind || c[i].reserved != 0)
			fz_fail("completion of operation %llu: op %d reserved %llu, expected op %d",
				(unsigned long long)o->id, (int)c[i].op,
				(unsigned long long)c[i].reserved, (int)o->kind);
		if (!o->applied)
			rop_apply(g, o);
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

/*
 * The directory whose sync durable operation o shares with the others of
 * its submit (src/ring_dsync.c): 0 for the input's directory (f, g and d
 * are in it), 1 for the one that does not exist (nodir/x), -1 for an
 * operation that syncs no directory or keeps its own sync (a copy with
 * MMAPIO_COPY_OVERWRITE).
 */
static int shared_dir(const struct fz_rop *o)
{
	int path;

	if (o->kind == MMAPIO_OP_CREATE && (o->flags & MMAPIO_CREATE_DURABLE))
		path = o->path;
	else if (o->kind == MMAPIO_OP_COPY && (o->flags & MMAPIO_COPY_DURABLE) &&
		 !(o->flags & MMAPIO_COPY_OVERWRITE))
		path = o->dst;
	else
		return -1;
	return path == FZ_PX ? 1 : 0;
}

/*
 * The ring's own operations that a blocking submit of the operations
 * marked in `in` (applied) runs, as mmapio_ring_stats counts them: one
 * directory sync for each directory that two or more durable operations
 * name, when at least one of them succeeded (those that failed by
 * themselves need no sync).  The fuzzer's syncs never fail, so no
 * clean-up deletes follow.
 */
static unsigned shared_syncs(const struct fz_ring *g, const bool *in)
{
	unsigned named[2] = { 0, 0 }, n = 0;
	bool ok[2] = { false, false };
	int k, d;

	for (k = 0; k < FZ_RING_OPS; k++) {
		if (!in[k] || (d = shared_dir(&g->ops[k])) < 0)
			continue;
		named[d]++;
		ok[d] = ok[d] || g->ops[k].expect >= 0;
	}
	for (d = 0; d < 2; d++)
		n += named[d] >= 2 && ok[d] ? 1 : 0;
	return n;
}

/*
 * Submits ring g and applies what a blocking ring ran.  Returns after
 * checking the count mmapio_ring_submit returned.
 */
static void ring_submit(struct fz_ring *g)
{
	unsigned n = unsubmitted(g), mask = 0, k, order;
	bool in[FZ_RING_OPS] = { false };
	int rc;

	for (k = 0; k < FZ_RING_OPS; k++)
		if (g->ops[k].used && !g->ops[k].submitted)
			mask |= rop_paths(&g->ops[k]);
	if (!g->async)
		fz_quiesce(mask, -1);
	fz_trace("ring_submit ring=%d -> %u", (int)(g - fz.ring), n);
	rc = mmapio_ring_submit(g->ring);
	fz_expect("mmapio_ring_submit", rc, (int)n);
	/* In the order prepared: ids grow. */
	for (order = 0; order < n; order++) {
		struct fz_rop *next = NULL;

		for (k = 0; k < FZ_RING_OPS; k++) {
			struct fz_rop *o = &g->ops[k];

			if (o->used && !o->submitted && (next == NULL || o->id < next->id))
				next = o;
		}
		next->submitted = true;
		if (g->async)
			continue;
		rop_apply(g, next);
		in[next - g->ops] = true;
		if (next->kind != MMAPIO_OP_FLUSH || next->counted)
			g->blocking_ops++;
	}
	g->inflight += n;
	if (!g->async) {
		g->blocking_ops += shared_syncs(g, in);
		fz_witness_attach_missing();
		fz_check_paths("blocking ring submit");
	}
}

/* Submits what io_uring ring g holds and reaps until nothing is outstanding. */
static void ring_drain(struct fz_ring *g)
{
	struct mmapio_completion c[FZ_RING_OPS];
	int rounds = 0, rc;

	if (unsubmitted(g) > 0)
		ring_submit(g);
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

void fz_quiesce(unsigned path_mask, int inode)
{
	int r, k;

	for (r = 0; r < FZ_RINGS; r++) {
		struct fz_ring *g = &fz.ring[r];

		if (!g->used || !g->async)
			continue;
		for (k = 0; k < FZ_RING_OPS; k++) {
			if (g->ops[k].used && rop_conflicts(&g->ops[k], path_mask, inode)) {
				fz_trace("  (waiting for io_uring ring %d)", r);
				ring_drain(g);
				break;
			}
		}
	}
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
static int pick_ring(void)
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
}

/* Closes ring slot r: what it ran is in the model, what it held is dropped. */
static void ring_close(int r)
{
	struct fz_ring *g = &fz.ring[r];
	int k, rc;

	fz_trace("ring_close ring=%d (inflight %u, unsubmitted %u) -> 0", r, g->inflight,
		 unsubmitted(g));
	/* Submitted operations run to their end; the rest are discarded. */
	for (k = 0; k < FZ_RING_OPS; k++) {
		struct fz_rop *o = &g->ops[k];

		if (!o->used)
			continue;
		if (o->submitted && !o->applied)
			rop_apply(g, o);
		rop_done(o);
	}
	rc = mmapio_ring_close(g->ring);
	fz_expect("mmapio_ring_close", rc, 0);
	g->used = false;
	fz_witness_attach_missing();
	fz_check_paths("ring close");
}

void fz_op_ring_close(void)
{
	int r = pick_ring();

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

			if (o->used && o->kind == MMAPIO_OP_FLUSH && o->map == slot)
				o->map = -1;
		}
}

/* ------------------------------------------------------------------------ */
/* Preparing                                                                */
/* ------------------------------------------------------------------------ */

/* Records a prepared operation in ring g and in its map. */
static void rop_record(struct fz_ring *g, struct fz_rop *o)
{
	o->used = true;
	o->submitted = false;
	o->applied = false;
	g->prepared++;
	if (o->kind == MMAPIO_OP_FLUSH) {
		if (o->counted)
			fz.map[o->map].ring_counted++;
		else
			fz.map[o->map].ring_uncounted++;
	}
}

/* Prepares a flush of one range or of several; fills o.  Returns the prep's result. */
static int prep_flush(struct fz_ring *g, struct fz_rop *o, bool several)
{
	struct mmapio_range ranges[6];
	int s = fz_pick_map(), want, i, n;
	uint64_t lo = UINT64_MAX, hi = 0, off, len;
	bool null_ranges;
	struct fz_map *m;
	void *ud = (void *)(uintptr_t)o->id;

	if (s < 0)
		return FZ_SKIP;
	m = &fz.map[s];
	o->kind = MMAPIO_OP_FLUSH;
	o->map = s;
	if (!several) {
		off = fz_pick_off(m->len);
		len = fz_pick_len(m->len, off);
		want = fz_range_ok(m->len, off, len) ? 0 : -ERANGE;
		o->counted = m->mode == MMAPIO_READ_WRITE && len > 0;
		fz_trace("ring_prep_flush ring=%d id=%llu map=%d off=%llu len=%llu -> %d",
			 (int)(g - fz.ring), (unsigned long long)o->id, s, (unsigned long long)off,
			 (unsigned long long)len, want);
		fz_expect("mmapio_ring_prep_flush",
			  mmapio_ring_prep_flush(g->ring, m->map, off, len, ud), want);
		return want;
	}
	n = fz_u8() % 7;
	null_ranges = fz_u8() % 16 == 0;
	want = n == 0 || null_ranges ? -EINVAL : 0;
	for (i = 0; i < n; i++) {
		ranges[i].off = fz_pick_off(m->len);
		ranges[i].len = fz_pick_len(m->len, ranges[i].off);
		if (!fz_range_ok(m->len, ranges[i].off, ranges[i].len) && want == 0)
			want = -ERANGE;
		if (ranges[i].len > 0 && ranges[i].off < lo)
			lo = ranges[i].off;
		if (ranges[i].len > 0 && ranges[i].off + ranges[i].len > hi)
			hi = ranges[i].off + ranges[i].len;
	}
	o->counted = m->mode == MMAPIO_READ_WRITE && hi > 0;
	fz_trace("ring_prep_flush_ranges ring=%d id=%llu map=%d n=%d%s -> %d", (int)(g - fz.ring),
		 (unsigned long long)o->id, s, n, null_ranges ? " ranges=NULL" : "", want);
	fz_expect("mmapio_ring_prep_flush_ranges",
		  mmapio_ring_prep_flush_ranges(g->ring, m->map, null_ranges ? NULL : ranges,
						(size_t)n, ud),
		  want);
	return want;
}

/* Prepares a create; fills o.  Returns the prep's result. */
static int prep_create(struct fz_ring *g, struct fz_rop *o, bool null_path)
{
	void *ud = (void *)(uintptr_t)o->id;
	struct fz_opts opts;
	uint8_t f = 0;
	bool huge;
	int want, rc;

	o->kind = MMAPIO_OP_CREATE;
	o->path = fz_pick_path();
	f = fz_u8();
	o->size = f % 16 == 0 ? 0 : f % 16 == 1 ? UINT64_MAX - f / 16 : fz_pick_size();
	fz_pick_opts(&opts, o->size);
	o->flags = opts.flags &
		   (MMAPIO_CREATE_EXCLUSIVE | MMAPIO_CREATE_SPARSE | MMAPIO_CREATE_DURABLE);
	o->perm = opts.perm;
	want = null_path || opts.bad ? -EINVAL : 0;
	huge = want == 0 && o->size > (uint64_t)INT64_MAX;
	if (huge && !fz_known[KB_RING_CREATE_HUGE_SIZE])
		want = -EFBIG;
	if (g->async && want == 0)
		fz_quiesce(rop_paths(o), -1);
	fz_trace("ring_prep_create ring=%d id=%llu path=%d size=%llu flags=%#x perm=%o -> %d",
		 (int)(g - fz.ring), (unsigned long long)o->id, o->path, (unsigned long long)o->size,
		 opts.flags, opts.perm, want);
	rc = mmapio_ring_prep_create(g->ring, null_path ? NULL : fz.path[o->path], o->size, opts.p,
				     ud);
	/* The fix may refuse it as -EINVAL, as long as the prep call does. */
	fz_expect2("mmapio_ring_prep_create", rc, want, huge && want < 0, -EINVAL);
	return rc;
}

/* Prepares a copy; fills o.  Returns the prep's result. */
static int prep_copy(struct fz_ring *g, struct fz_rop *o, bool null_path)
{
	void *ud = (void *)(uintptr_t)o->id;
	uint8_t f;
	int want;

	o->kind = MMAPIO_OP_COPY;
	o->src = fz_pick_path();
	o->dst = fz_u8() % 4 == 0 ? fz_pick_path() : FZ_P1;
	f = fz_u8();
	o->flags = (f & 1 ? MMAPIO_COPY_OVERWRITE : 0) |
		   ((f & 0x30) == 0x30 ? MMAPIO_COPY_DURABLE : 0);
	want = null_path ? -EINVAL : 0;
	if ((f & 0xc0) == 0xc0) {
		o->flags |= 16;
		want = -EINVAL;
	}
	if (g->async && want == 0)
		fz_quiesce(rop_paths(o), -1);
	fz_trace("ring_prep_copy ring=%d id=%llu %d -> %d flags=%#x -> %d", (int)(g - fz.ring),
		 (unsigned long long)o->id, o->src, o->dst, o->flags, want);
	fz_expect("mmapio_ring_prep_copy",
		  mmapio_ring_prep_copy(g->ring, null_path ? NULL : fz.path[o->src], fz.path[o->dst],
					o->flags, ud),
		  want);
	return want;
}

/* Prepares a delete; fills o.  Returns the prep's result. */
static int prep_delete(struct fz_ring *g, struct fz_rop *o, bool null_path)
{
	void *ud = (void *)(uintptr_t)o->id;
	int want = null_path ? -EINVAL : 0;

	o->kind = MMAPIO_OP_DELETE;
	o->path = fz_pick_path();
	if (g->async && want == 0)
		fz_quiesce(rop_paths(o), -1);
	fz_trace("ring_prep_delete ring=%d id=%llu path=%d -> %d", (int)(g - fz.ring),
		 (unsigned long long)o->id, o->path, want);
	fz_expect("mmapio_ring_prep_delete",
		  mmapio_ring_prep_delete(g->ring, null_path ? NULL : fz.path[o->path], ud), want);
	return want;
}

/* Prepares a create, copy or delete (kind 0, 1, 2); fills o.  Returns the prep's result. */
static int prep_path_op(struct fz_ring *g, struct fz_rop *o, int kind)
{
	bool null_path = fz_u8() % 16 == 0;

	o->path = o->src = o->dst = -1;
	if (kind == 0)
		return prep_create(g, o, null_path);
	if (kind == 1)
		return prep_copy(g, o, null_path);
	return prep_delete(g, o, null_path);
}

void fz_op_ring_prep(void)
{
	int r = pick_ring(), kind = fz_u8() % 5, k, want;
	struct fz_ring *g;
	struct fz_rop *o = NULL;

	if (r < 0)
		return;
	g = &fz.ring[r];
	for (k = 0; k < FZ_RING_OPS; k++)
		if (!g->ops[k].used) {
			o = &g->ops[k];
			break;
		}
	if (o == NULL)
		return;
	memset(o, 0, sizeof(*o));
	o->id = fz.next_id++;
	o->map = -1;
	if (kind >= 3)
		want = prep_flush(g, o, kind == 4);
	else
		want = prep_path_op(g, o, kind);
	if (want == 0)
		rop_record(g, o);
}

void fz_op_ring_submit(void)
{
	int r = pick_ring();

	if (r >= 0)
		ring_submit(&fz.ring[r]);
}

/* ------------------------------------------------------------------------ */
/* Reaping                                                                  */
/* ------------------------------------------------------------------------ */

void fz_op_ring_reap(void)
{
	static const int timeouts[] = { 0, 1, 5, 20, -1, -2 };
	int r = pick_ring(), rc, want = 0;
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
	int r = pick_ring(), fd;
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
