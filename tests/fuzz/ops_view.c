/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Views and segments.  Views are held across other calls and released
 * later, on this thread or on another one; the bytes under a held view are
 * read and written directly and held against the model.  Segments are made
 * with mmapio_segment_init and _sub, or written by hand with any offset and
 * length (the accessors must check them without overflow).
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "fuzz.h"

/* ------------------------------------------------------------------------ */
/* Views                                                                    */
/* ------------------------------------------------------------------------ */

/* Returns a free view slot or -1. */
static int free_view_slot(void)
{
	int i;

	for (i = 0; i < FZ_VIEWS; i++)
		if (!fz.view[i].used)
			return i;
	return -1;
}

/* Returns a held view's slot, chosen by the input, or -1. */
static int pick_view(void)
{
	int s = fz_u8() % FZ_VIEWS, k;

	for (k = 0; k < FZ_VIEWS; k++) {
		int i = (s + k) % FZ_VIEWS;

		if (fz.view[i].used)
			return i;
	}
	return -1;
}

/*
 * Checks the result of a view call and records the view: the window must be
 * base + off for len bytes, and a failed call must leave *out alone.
 */
static void view_made(int vs, int ms, uint64_t off, uint64_t n, bool write, int rc,
		      const struct mmapio_view *sentinel)
{
	struct fz_view *v = &fz.view[vs];
	struct fz_map *m = &fz.map[ms];

	if (rc < 0) {
		if (memcmp(&v->v, sentinel, sizeof(*sentinel)) != 0)
			fz_fail("a failed view call changed *out");
		return;
	}
	if (v->v.data != (unsigned char *)mmapio_base(m->map) + off || v->v.len != n)
		fz_fail("view of map %d at %llu: data %p len %zu, expected %p len %llu", ms,
			(unsigned long long)off, v->v.data, v->v.len,
			(void *)((unsigned char *)mmapio_base(m->map) + off), (unsigned long long)n);
	v->used = true;
	v->map = ms;
	v->write = write;
	v->off = off;
	v->len = (size_t)n;
	m->views++;
	if (write)
		m->write_views++;
	else if (m->mode != MMAPIO_READ_ONLY)
		m->read_views++;
}

/* Takes a view of map ms, directly or through segment seg (NULL: directly). */
static void take_view(int ms, uint64_t off, uint64_t n, bool write, bool null_out,
		      const struct mmapio_segment *seg)
{
	int vs = free_view_slot(), want, rc;
	struct mmapio_view sentinel;
	struct fz_map *m = &fz.map[ms];
	bool alt = false;

	if (vs < 0)
		return;
	fz_quiesce(0, m->inode);
	want = null_out ? -EINVAL : fz_predict_view(m, off, n, write, &alt);
	if (want == FZ_SKIP)
		return;
	fz_trace("%sview_%s map=%d off=%llu len=%llu%s -> %d", seg ? "segment_" : "",
		 write ? "write" : "read", ms, (unsigned long long)off, (unsigned long long)n,
		 null_out ? " out=NULL" : "", want);
	memset(&sentinel, 0xa5, sizeof(sentinel));
	fz.view[vs].v = sentinel;
	if (seg)
		rc = write ? mmapio_segment_view_write(seg, null_out ? NULL : &fz.view[vs].v)
			   : mmapio_segment_view_read(seg, null_out ? NULL : &fz.view[vs].v);
	else
		rc = write ? mmapio_view_write(m->map, off, (size_t)n, null_out ? NULL : &fz.view[vs].v)
			   : mmapio_view_read(m->map, off, (size_t)n, null_out ? NULL : &fz.view[vs].v);
	fz_expect2(write ? "mmapio_view_write" : "mmapio_view_read", rc, want, alt, -EDEADLK);
	view_made(vs, ms, off, n, write, rc, &sentinel);
}

void fz_op_view(void)
{
	int s = fz_pick_map();
	bool write = fz_u8() & 1, null_out;
	uint64_t off, n;

	if (s < 0)
		return;
	off = fz_pick_off(fz.map[s].len);
	n = fz_pick_len(fz.map[s].len, off);
	null_out = fz_u8() % 16 == 0;
	take_view(s, off, n, write, null_out, NULL);
}

/* The helper thread's body: releases the view it is given. */
static void *release_on_thread(void *arg)
{
	mmapio_view_release(arg);
	return NULL;
}

void fz_op_view_release(void)
{
	int vs = pick_view();
	uint8_t how = fz_u8();
	bool other = how & 1;
	struct fz_view *v;
	struct fz_map *m;
	pthread_t t;

	if (vs < 0) {
		struct mmapio_view zero;

		memset(&zero, 0, sizeof(zero));
		fz_trace("view_release NULL and a zeroed view");
		mmapio_view_release(NULL);
		mmapio_view_release(&zero);
		return;
	}
	v = &fz.view[vs];
	m = &fz.map[v->map];
	if (other && v->write && fz_known[KB_WRITE_VIEW_RELEASE_ON_OTHER_THREAD])
		other = false;
	fz_trace("view_release view=%d (map %d, %s)%s", vs, v->map, v->write ? "write" : "read",
		 other ? " on another thread" : "");
	if (other) {
		if (pthread_create(&t, NULL, release_on_thread, &v->v) != 0)
			fz_fail("pthread_create failed");
		pthread_join(t, NULL);
	} else {
		mmapio_view_release(&v->v);
	}
	if (v->v.data != NULL || v->v.len != 0)
		fz_fail("mmapio_view_release did not clear the view");
	if (how & 2)
		mmapio_view_release(&v->v); /* a released view: a no-op */
	m->views--;
	if (v->write)
		m->write_views--;
	else if (m->mode != MMAPIO_READ_ONLY)
		m->read_views--;
	v->used = false;
}

/*
 * Reads or writes the bytes under a held view, inside the file only (a
 * view is not guarded: past the end of file is SIGBUS).
 */
void fz_op_view_touch(void)
{
	int vs = pick_view();
	uint32_t seed = fz_u32(), a = fz_u32(), b = fz_u32();
	uint64_t size, lo, hi, n;
	struct fz_view *v;
	struct fz_map *m;
	size_t i;

	if (vs < 0)
		return;
	v = &fz.view[vs];
	m = &fz.map[v->map];
	fz_quiesce(0, m->inode);
	size = fz_map_file_size(m);
	hi = v->off + v->len < size ? v->off + v->len : size;
	if (v->off >= hi)
		return;
	/* A part of the window: [lo, lo + n). */
	lo = v->off + a % (hi - v->off);
	n = 1 + b % (hi - lo);
	fz_trace("view_touch view=%d (map %d, %s) off=%llu len=%llu", vs, v->map,
		 v->write ? "write" : "read", (unsigned long long)lo, (unsigned long long)n);
	if (!v->write) {
		const unsigned char *p = (const unsigned char *)v->v.data + (lo - v->off);

		fz_map_expected(m, lo, (size_t)n, fz.tmp);
		for (i = 0; i < n; i++)
			if (p[i] != fz.tmp[i])
				fz_fail("read view of map %d: byte %llu is 0x%02x, the model says 0x%02x",
					v->map, (unsigned long long)(lo + i), p[i], fz.tmp[i]);
		return;
	}
	fz_fill(fz.src, (size_t)n, seed);
	memcpy((unsigned char *)v->v.data + (lo - v->off), fz.src, (size_t)n);
	fz_map_store(m, lo, fz.src, (size_t)n);
}

/* ------------------------------------------------------------------------ */
/* Segments                                                                 */
/* ------------------------------------------------------------------------ */

/* Returns a segment slot in use, chosen by the input, or -1. */
static int pick_seg(void)
{
	int s = fz_u8() % FZ_SEGS, k;

	for (k = 0; k < FZ_SEGS; k++) {
		int i = (s + k) % FZ_SEGS;

		if (fz.seg[i].used)
			return i;
	}
	return -1;
}

/* Predicts the relative-to-absolute step of every segment accessor. */
static int predict_resolve(const struct mmapio_segment *s, uint64_t off, uint64_t len,
			   uint64_t *abs)
{
	if (!fz_range_ok(s->len, off, len))
		return -ERANGE;
	if (off > UINT64_MAX - s->off)
		return -ERANGE;
	*abs = s->off + off;
	return 0;
}

/* Checks *out against what a segment call should have stored (or not). */
static void seg_stored(const char *what, int rc, const struct mmapio_segment *out,
		       const struct mmapio_segment *want, const struct mmapio_segment *sentinel)
{
	const struct mmapio_segment *expect = rc == 0 ? want : sentinel;

	if (out->map != expect->map || out->off != expect->off || out->len != expect->len)
		fz_fail("%s stored {%p, %llu, %llu}, expected {%p, %llu, %llu}", what,
			(void *)out->map, (unsigned long long)out->off,
			(unsigned long long)out->len, (void *)expect->map,
			(unsigned long long)expect->off, (unsigned long long)expect->len);
}

void fz_op_segment(void)
{
	uint8_t kind = fz_u8() % 4;
	int slot = fz_u8() % FZ_SEGS, ms = fz_pick_map(), src, want, rc;
	struct mmapio_segment out, sentinel = { .map = (mmapio_map *)(uintptr_t)0x77, .off = 7, .len = 7 },
			      expect;
	uint64_t off, len, abs = 0;
	struct fz_map *m;

	if (ms < 0)
		return;
	m = &fz.map[ms];
	switch (kind) {
	case 0: /* init */
		off = fz_pick_off(m->len);
		len = fz_pick_len(m->len, off);
		want = fz_range_ok(m->len, off, len) ? 0 : -ERANGE;
		fz_trace("segment_init seg=%d map=%d off=%llu len=%llu -> %d", slot, ms,
			 (unsigned long long)off, (unsigned long long)len, want);
		out = sentinel;
		rc = mmapio_segment_init(m->map, off, len, &out);
		fz_expect("mmapio_segment_init", rc, want);
		expect = (struct mmapio_segment){ .map = m->map, .off = off, .len = len };
		seg_stored("mmapio_segment_init", rc, &out, &expect, &sentinel);
		break;
	case 1: /* sub */
		src = pick_seg();
		if (src < 0)
			return;
		ms = fz.seg[src].map;
		off = fz_pick_off(fz.seg[src].s.len);
		len = fz_pick_len(fz.seg[src].s.len, off);
		want = predict_resolve(&fz.seg[src].s, off, len, &abs);
		fz_trace("segment_sub seg=%d from=%d off=%llu len=%llu -> %d", slot, src,
			 (unsigned long long)off, (unsigned long long)len, want);
		out = sentinel;
		rc = mmapio_segment_sub(&fz.seg[src].s, off, len, &out);
		fz_expect("mmapio_segment_sub", rc, want);
		expect = (struct mmapio_segment){ .map = fz.seg[src].s.map, .off = abs, .len = len };
		seg_stored("mmapio_segment_sub", rc, &out, &expect, &sentinel);
		break;
	case 2: /* by hand, any range (and reserved words, if any, zero) */
		memset(&out, 0, sizeof(out));
		out.map = m->map;
		out.off = fz_u8() & 1 ? fz_pick_off(UINT64_MAX) : fz_pick_off(m->len);
		out.len = fz_pick_len(m->len, out.off);
		rc = 0;
		fz_trace("segment_raw seg=%d map=%d off=%llu len=%llu", slot, ms,
			 (unsigned long long)out.off, (unsigned long long)out.len);
		break;
	default: /* NULL arguments */
		fz_trace("segment_init NULL out / NULL map -> %d", -EINVAL);
		fz_expect("mmapio_segment_init(NULL out)", mmapio_segment_init(m->map, 0, 0, NULL),
			  -EINVAL);
		out = sentinel;
		fz_expect("mmapio_segment_init(NULL map)", mmapio_segment_init(NULL, 0, 0, &out),
			  -EINVAL);
		seg_stored("mmapio_segment_init(NULL map)", -EINVAL, &out, &sentinel, &sentinel);
		return;
	}
	if (rc == 0) {
		fz.seg[slot].used = true;
		fz.seg[slot].s = out;
		fz.seg[slot].map = ms;
	}
}

void fz_op_segment_access(void)
{
	int ss = pick_seg(), want, rc;
	uint8_t kind = fz_u8() % 5;
	uint64_t off, len, abs = 0;
	uint32_t seed = fz_u32();
	bool null_buf = fz_u8() % 16 == 0, alt = false;
	const struct mmapio_segment *seg;
	struct fz_map *m;

	if (ss < 0)
		return;
	seg = &fz.seg[ss].s;
	m = &fz.map[fz.seg[ss].map];
	off = fz_pick_off(seg->len);
	len = fz_pick_len(seg->len, off);
	fz_quiesce(0, m->inode);
	switch (kind) {
	case 0:
		if (null_buf && len)
			want = -EINVAL;
		else if ((want = predict_resolve(seg, off, len, &abs)) == 0)
			want = fz_predict_read(m, abs, len, false, &alt);
		if (want == FZ_SKIP)
			return;
		fz_trace("segment_read seg=%d off=%llu len=%llu -> %d", ss, (unsigned long long)off,
			 (unsigned long long)len, want);
		rc = mmapio_segment_read(seg, off, null_buf ? NULL : fz.buf, (size_t)len);
		fz_expect2("mmapio_segment_read", rc, want, alt, -EDEADLK);
		if (rc == 0)
			fz_check_read_bytes(m, abs, len, "mmapio_segment_read");
		return;
	case 1:
		if (null_buf && len)
			want = -EINVAL;
		else if (m->mode == MMAPIO_READ_ONLY)
			want = -EACCES;
		else if ((want = predict_resolve(seg, off, len, &abs)) == 0)
			want = fz_predict_write(m, abs, len, false);
		if (want == FZ_SKIP)
			return;
		if (want == 0)
			fz_fill(fz.src, (size_t)len, seed);
		fz_trace("segment_write seg=%d off=%llu len=%llu seed=%u -> %d", ss,
			 (unsigned long long)off, (unsigned long long)len, seed, want);
		rc = mmapio_segment_write(seg, off, null_buf ? NULL : fz.src, (size_t)len);
		fz_expect("mmapio_segment_write", rc, want);
		if (rc == 0)
			fz_map_store(m, abs, fz.src, (size_t)len);
		return;
	case 2:
	case 3:
		take_view(fz.seg[ss].map, seg->off, seg->len, kind == 3, null_buf, seg);
		return;
	default:
		want = fz_predict_flush_range(m, seg->off, seg->len);
		fz_trace("segment_flush seg=%d -> %d", ss, want);
		rc = mmapio_segment_flush(seg);
		fz_expect("mmapio_segment_flush", rc, want);
		if (rc == 0)
			fz_check_inode(m->inode, "mmapio_segment_flush", true);
		return;
	}
}
