/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The prep calls of the rings, and barriers and cancels: what each
 * operation is recorded as until ops_ring.c applies it (see there for
 * when, and for the rule that keeps calls off pending operations' paths).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

/* ------------------------------------------------------------------------ */
/* Preparing                                                                */
/* ------------------------------------------------------------------------ */

/* Records a prepared operation in ring g and in its map. */
static void rop_record(struct fz_ring *g, struct fz_rop *o)
{
	o->used = true;
	o->submitted = false;
	o->applied = false;
	o->group = g->group;
	g->group_used = true;
	g->prepared++;
	if (o->kind == MMAPIO_OP_FLUSH || o->kind == MMAPIO_OP_WRITE) {
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
		fz_quiesce_but(g, fz_rop_paths(o), -1);
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
		fz_quiesce_but(g, fz_rop_paths(o), -1);
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
		fz_quiesce_but(g, fz_rop_paths(o), -1);
	fz_trace("ring_prep_delete ring=%d id=%llu path=%d -> %d", (int)(g - fz.ring),
		 (unsigned long long)o->id, o->path, want);
	fz_expect("mmapio_ring_prep_delete",
		  mmapio_ring_prep_delete(g->ring, null_path ? NULL : fz.path[o->path], ud), want);
	return want;
}

/*
 * The map's descriptor's status flags (they belong to the open file, so
 * they are asked now, as the prep call asks them).
 */
static int map_fd_flags(const struct fz_map *m)
{
	int fl = fcntl(mmapio_fd(m->map), F_GETFL);

	if (fl < 0)
		fz_fail("fcntl(F_GETFL) of map's descriptor: %d", fl);
	return fl;
}

/*
 * True when a ring write on map m is one the decoder does not make while
 * its KNOWN_BUG_ switch is on: the map's descriptor has O_APPEND or
 * O_DIRECT.
 */
static bool write_steered(const struct fz_map *m)
{
	int fl = map_fd_flags(m);

	return ((fl & O_APPEND) && fz_known[KB_RING_WRITE_APPEND]) ||
	       ((fl & O_DIRECT) && fz_known[KB_RING_WRITE_DIRECT]);
}

/*
 * Prepares a write of len bytes of the input's pattern into a map; fills
 * o, which owns the bytes until it is forgotten (they must stay until the
 * completion is reaped).  Returns the prep's result.
 */
static int prep_write(struct fz_ring *g, struct fz_rop *o)
{
	int s = fz_pick_map(), want = 0;
	uint32_t seed;
	bool null_src;
	const void *src;
	struct fz_map *m;

	if (s < 0)
		return FZ_SKIP;
	m = &fz.map[s];
	o->kind = MMAPIO_OP_WRITE;
	o->map = s;
	o->inode = m->inode;
	o->counted = true;
	o->off = fz_pick_off(m->len);
	o->len = (size_t)fz_pick_len(m->len, o->off);
	seed = fz_u32();
	null_src = fz_u8() % 16 == 0;
	if (null_src && o->len > 0)
		want = -EINVAL;
	else if (m->mode != MMAPIO_READ_WRITE)
		want = -EACCES;
	else if (!fz_range_ok(m->len, o->off, o->len))
		want = -ERANGE;
	/*
	 * Past the end of a file another map has cut, the write grows it: on
	 * io_uring at a time no check could know, so it is made on blocking
	 * rings only (the file's size cannot change while the write is
	 * pending: every call that could change it waits for it first).
	 */
	if (want == 0 && g->async && o->off + o->len > fz_map_file_size(m))
		return FZ_SKIP;
	if (want == 0 && write_steered(m))
		return FZ_SKIP;
	/*
	 * On an O_APPEND or O_DIRECT descriptor the bytes are copied through
	 * the mapping when the write runs (the header of
	 * mmapio_ring_prep_write), where a range across the end of a cut file
	 * leaves bytes beyond it that no model can tell.  So such a write is
	 * made only inside the file as it will be when the write runs: first
	 * everything that could cut the file before it runs does (a blocking
	 * ring's own prepared operations are submitted, and every io_uring
	 * ring's on the file, this one's too, barriers or not, drained), and
	 * a blocking ring's write is then submitted at once (fz_op_ring_prep),
	 * so that nothing comes between.
	 */
	o->via_map = (map_fd_flags(m) & (O_APPEND | O_DIRECT)) != 0;
	if (want == 0 && o->via_map) {
		if (!g->async)
			fz_ring_submit(g);
		fz_quiesce(0, m->inode);
		if (fz_access_class(m, o->off, o->len) != FZ_ACC_OK)
			return FZ_SKIP;
	}
	if (want == 0 && !null_src) {
		o->data = malloc(o->len > 0 ? o->len : 1);
		if (o->data == NULL)
			fz_fail("out of memory for a ring write of %zu bytes", o->len);
		fz_fill(o->data, o->len, seed);
	}
	/* A refused call must see a real source, or it would say -EINVAL for that. */
	src = null_src ? NULL : o->data != NULL ? o->data : fz.src;
	if (g->async && want == 0)
		fz_quiesce_but(g, 0, m->inode);
	fz_trace("ring_prep_write ring=%d id=%llu map=%d off=%llu len=%zu%s -> %d",
		 (int)(g - fz.ring), (unsigned long long)o->id, s, (unsigned long long)o->off, o->len,
		 null_src ? " src=NULL" : "", want);
	fz_expect("mmapio_ring_prep_write",
		  mmapio_ring_prep_write(g->ring, m->map, o->off, src, o->len,
					 (void *)(uintptr_t)o->id),
		  want);
	if (want != 0) {
		free(o->data);
		o->data = NULL;
	}
	return want;
}

/* Prepares a rename; fills o.  Returns the prep's result. */
static int prep_rename(struct fz_ring *g, struct fz_rop *o, bool null_path)
{
	unsigned flags;
	int want;

	o->kind = MMAPIO_OP_RENAME;
	fz_pick_rename(&o->src, &o->dst, &flags);
	o->flags = flags;
	want = null_path || (flags & 8u) ||
			       ((flags & MMAPIO_RENAME_NOREPLACE) && (flags & MMAPIO_RENAME_EXCHANGE))
		       ? -EINVAL
		       : 0;
	if (g->async && want == 0)
		fz_quiesce_but(g, fz_rop_paths(o), -1);
	fz_trace("ring_prep_rename ring=%d id=%llu %d -> %d flags=%#x -> %d", (int)(g - fz.ring),
		 (unsigned long long)o->id, o->src, o->dst, flags, want);
	fz_expect("mmapio_ring_prep_rename",
		  mmapio_ring_prep_rename(g->ring, null_path ? NULL : fz.path[o->src],
					  fz.path[o->dst], flags, (void *)(uintptr_t)o->id),
		  want);
	return want;
}

/* The path of sync target t (enum fz_sync_target); buf holds nodir's. */
static const char *sync_target_path(int t, char *buf, size_t cap)
{
	switch (t) {
	case SYNC_TOP:
		return fz.dir;
	case SYNC_D:
		return fz.path[FZ_PD];
	case SYNC_NODIR:
		snprintf(buf, cap, "%s/nodir", fz.dir);
		return buf;
	case SYNC_F:
		return fz.path[FZ_P0];
	default:
		return fz.path[FZ_P1];
	}
}

/* Prepares a directory sync; fills o.  Returns the prep's result. */
static int prep_sync_dir(struct fz_ring *g, struct fz_rop *o, bool null_path)
{
	char nodir[320];
	const char *dir;
	int want = null_path ? -EINVAL : 0;

	o->kind = MMAPIO_OP_SYNC_DIR;
	o->dir = fz_u8() % SYNC_TARGETS;
	o->path = o->dir == SYNC_F ? FZ_P0 : o->dir == SYNC_G ? FZ_P1 : -1;
	dir = sync_target_path(o->dir, nodir, sizeof(nodir));
	if (g->async && want == 0)
		fz_quiesce_but(g, fz_rop_paths(o), -1);
	fz_trace("ring_prep_sync_dir ring=%d id=%llu target=%d -> %d", (int)(g - fz.ring),
		 (unsigned long long)o->id, o->dir, want);
	fz_expect("mmapio_ring_prep_sync_dir",
		  mmapio_ring_prep_sync_dir(g->ring, null_path ? NULL : dir,
					    (void *)(uintptr_t)o->id),
		  want);
	return want;
}

/*
 * Prepares a create, copy, delete, rename or directory sync (kind 0, 1, 2,
 * 6, 7); fills o.  Returns the prep's result.
 */
static int prep_path_op(struct fz_ring *g, struct fz_rop *o, int kind)
{
	bool null_path = fz_u8() % 16 == 0;

	switch (kind) {
	case 0:
		return prep_create(g, o, null_path);
	case 1:
		return prep_copy(g, o, null_path);
	case 2:
		return prep_delete(g, o, null_path);
	case 6:
		return prep_rename(g, o, null_path);
	default:
		return prep_sync_dir(g, o, null_path);
	}
}

void fz_op_ring_prep(void)
{
	int r = fz_pick_ring(), kind = fz_u8() % 8, k, want;
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
	o->map = o->inode = -1;
	o->path = o->src = o->dst = -1;
	if (kind == 3 || kind == 4)
		want = prep_flush(g, o, kind == 4);
	else if (kind == 5)
		want = prep_write(g, o);
	else
		want = prep_path_op(g, o, kind);
	if (want == 0)
		rop_record(g, o);
	if (want == 0 && o->kind == MMAPIO_OP_WRITE && o->via_map && !g->async)
		fz_ring_submit(g);
}

void fz_op_ring_barrier(void)
{
	int r = fz_pick_ring();
	struct fz_ring *g;

	if (r < 0)
		return;
	g = &fz.ring[r];
	fz_trace("ring_barrier ring=%d group=%u%s -> 0", r, g->group,
		 g->group_used ? "" : " (adds nothing)");
	fz_expect("mmapio_ring_barrier", mmapio_ring_barrier(g->ring), 0);
	if (g->group_used) {
		g->group++;
		g->group_used = false;
	}
}

/* The n-th (modulo) operation of g submitted or not as asked, or NULL. */
static struct fz_rop *nth_op(struct fz_ring *g, unsigned n, bool submitted)
{
	unsigned count = 0, at = 0;
	int k;

	for (k = 0; k < FZ_RING_OPS; k++)
		if (g->ops[k].used && g->ops[k].submitted == submitted && !g->ops[k].cancelled)
			count++;
	for (k = 0; k < FZ_RING_OPS && count > 0; k++) {
		struct fz_rop *o = &g->ops[k];

		if (o->used && o->submitted == submitted && !o->cancelled && at++ == n % count)
			return o;
	}
	return NULL;
}

/* Records that o was cancelled before it was submitted: it counts as submitted from now on. */
static void rop_cancelled(struct fz_ring *g, struct fz_rop *o)
{
	o->submitted = o->applied = o->cancelled = true;
	o->expect = -ECANCELED;
	g->inflight++;
	if (o->group < g->failed_group)
		g->failed_group = o->group;
}

/*
 * Cancels an operation not submitted (1), one a blocking ring has run
 * (-ENOENT: it has completed), or a user_data no pending operation of the
 * ring has (-ENOENT).  Not what io_uring has been given: whether a held
 * group went to the engine yet depends on timing.
 */
void fz_op_ring_cancel(void)
{
	int r = fz_pick_ring(), want = -ENOENT;
	uint8_t how = fz_u8(), pick = fz_u8();
	struct fz_rop *o = NULL;
	struct fz_ring *g;
	uint64_t id;

	if (r < 0)
		return;
	g = &fz.ring[r];
	if (how % 4 < 2) {
		o = nth_op(g, pick, false);
		want = 1;
	} else if (how % 4 == 2 && !g->async) {
		o = nth_op(g, pick, true);
	}
	if (how % 4 < 3 && o == NULL)
		return;
	id = o != NULL ? o->id : pick % (fz.next_id + 2);
	if (o == NULL && fz_rop_find(g, id) != NULL)
		return;
	fz_trace("ring_cancel ring=%d id=%llu -> %d", r, (unsigned long long)id, want);
	fz_expect("mmapio_ring_cancel", mmapio_ring_cancel(g->ring, (void *)(uintptr_t)id), want);
	if (want == 1)
		rop_cancelled(g, o);
}

