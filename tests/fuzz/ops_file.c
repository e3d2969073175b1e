/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The file calls (mmapio_copy, mmapio_delete), the calls with NULL and
 * unknown arguments that every entry point must refuse without touching
 * anything, and the explicit check of everything against the model.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

void fz_op_copy(void)
{
	int src = fz_pick_path(), dst = fz_u8() % 4 == 0 ? fz_pick_path() : FZ_P1, want, rc;
	uint8_t f = fz_u8();
	unsigned flags = (f & 1 ? MMAPIO_COPY_OVERWRITE : 0) |
			 ((f & 0x30) == 0x30 ? MMAPIO_COPY_DURABLE : 0) | ((f & 0xc0) == 0xc0 ? 8u : 0);
	int old_dst, ni;
	uint64_t old_ino = 0;
	struct stat st;

	fz_quiesce(1u << src | 1u << dst, -1);
	fz_witness_attach_missing();
	old_dst = fz_path_regular(dst);
	if (old_dst >= 0)
		old_ino = fz.inode[old_dst].ino;
	want = fz_model_copy(src, dst, flags);
	fz_trace("copy %d -> %d flags=%#x -> %d", src, dst, flags, want);
	rc = mmapio_copy(fz.path[src], fz.path[dst], flags);
	fz_expect("mmapio_copy", rc, want);
	if (rc == 0) {
		ni = fz.path_inode[dst];
		fz_witness_attach(ni, dst);
		if (old_dst >= 0 && stat(fz.path[dst], &st) == 0 &&
		    ((uint64_t)st.st_ino == old_ino) != fz.copy_in_place)
			fz_fail("mmapio_copy over an existing file: inode %s, as the probe found",
				fz.copy_in_place ? "replaced, not rewritten" : "rewritten, not replaced");
		fz_check_inode(ni, "mmapio_copy", true);
	}
	fz_check_paths("mmapio_copy");
}

void fz_op_delete(void)
{
	int path = fz_pick_path(), want, rc;

	fz_quiesce(1u << path, -1);
	want = fz_model_delete(path);
	fz_trace("delete %d -> %d", path, want);
	rc = mmapio_delete(fz.path[path]);
	fz_expect("mmapio_delete", rc, want);
	fz_check_paths("mmapio_delete");
}

/*
 * The rename flags and paths as the input chooses them, for mmapio_rename
 * and mmapio_ring_prep_rename: from is never the directory d, and an
 * exchange never names it (see fz_model_rename).  An unknown flag (8)
 * now and then.
 */
void fz_pick_rename(int *from, int *to, unsigned *flags)
{
	uint8_t f = fz_u8();

	*from = fz_pick_path();
	if (*from == FZ_PD)
		*from = FZ_P0;
	*to = fz_u8() % 4 == 0 ? fz_pick_path() : *from == FZ_P1 ? FZ_P0 : FZ_P1;
	*flags = (f & 7u) | ((f & 0xc0) == 0xc0 ? 8u : 0);
	if ((*flags & MMAPIO_RENAME_EXCHANGE) && *to == FZ_PD)
		*to = FZ_P1;
}

void fz_op_rename(void)
{
	int from, to, want;
	unsigned flags;

	fz_pick_rename(&from, &to, &flags);
	fz_quiesce(1u << from | 1u << to, -1);
	fz_witness_attach_missing();
	want = fz_model_rename(from, to, flags);
	fz_trace("rename %d -> %d flags=%#x -> %d", from, to, flags, want);
	fz_expect("mmapio_rename", mmapio_rename(fz.path[from], fz.path[to], flags), want);
	fz_witness_attach_missing();
	fz_check_paths("mmapio_rename");
}

void fz_op_check(void)
{
	fz_trace("check");
	fz_check_all("check");
}

/* ------------------------------------------------------------------------ */
/* NULL and unknown arguments                                               */
/* ------------------------------------------------------------------------ */

#define EXPECT_EINVAL(call) fz_expect(#call, (call), -EINVAL)

/* Calls on the map with NULL pointers where the header says -EINVAL. */
static void bad_map_args(void)
{
	int s = fz_pick_map();
	mmapio_map *map = s >= 0 ? fz.map[s].map : NULL;
	struct mmapio_segment seg = { .map = NULL };
	uint64_t v64 = 0;
	uint32_t v32 = 0;

	EXPECT_EINVAL(mmapio_read(NULL, 0, fz.buf, 1));
	EXPECT_EINVAL(mmapio_write(NULL, 0, fz.src, 1));
	EXPECT_EINVAL(mmapio_view_read(NULL, 0, 0, NULL));
	EXPECT_EINVAL(mmapio_view_write(NULL, 0, 0, NULL));
	EXPECT_EINVAL(mmapio_flush(NULL));
	EXPECT_EINVAL(mmapio_flush_range(NULL, 0, 0));
	EXPECT_EINVAL(mmapio_resize(NULL, 1));
	EXPECT_EINVAL(mmapio_advise(NULL, 0, 0, MMAPIO_ADVICE_NORMAL));
	EXPECT_EINVAL(mmapio_lock(NULL, 0, 0));
	EXPECT_EINVAL(mmapio_unlock(NULL, 0, 0));
	EXPECT_EINVAL(mmapio_atomic_load_u64(NULL, 0, &v64));
	EXPECT_EINVAL(mmapio_atomic_store_u64(NULL, 0, 1));
	EXPECT_EINVAL(mmapio_atomic_fetch_add_u64(NULL, 0, 1, NULL));
	EXPECT_EINVAL(mmapio_atomic_cas_u64(NULL, 0, &v64, 1));
	EXPECT_EINVAL(mmapio_atomic_load_u32(NULL, 0, &v32));
	EXPECT_EINVAL(mmapio_atomic_store_u32(NULL, 0, 1));
	EXPECT_EINVAL(mmapio_atomic_fetch_add_u32(NULL, 0, 1, NULL));
	EXPECT_EINVAL(mmapio_atomic_cas_u32(NULL, 0, &v32, 1));
	EXPECT_EINVAL(mmapio_segment_read(NULL, 0, fz.buf, 1));
	EXPECT_EINVAL(mmapio_segment_read(&seg, 0, fz.buf, 0));
	EXPECT_EINVAL(mmapio_segment_write(&seg, 0, fz.src, 0));
	EXPECT_EINVAL(mmapio_segment_view_read(&seg, NULL));
	EXPECT_EINVAL(mmapio_segment_view_write(NULL, NULL));
	EXPECT_EINVAL(mmapio_segment_flush(&seg));
	EXPECT_EINVAL(mmapio_segment_sub(&seg, 0, 0, NULL));
	EXPECT_EINVAL(mmapio_flush_start(NULL, 0, 0));
	EXPECT_EINVAL(mmapio_range_lock(NULL, 0, 0, MMAPIO_RANGE_SHARED));
	EXPECT_EINVAL(mmapio_range_unlock(NULL, 0, 0));
	fz_expect("mmapio_close(NULL)", mmapio_close(NULL), 0);
	if (mmapio_len(NULL) != 0 || mmapio_mode(NULL) != MMAPIO_READ_ONLY ||
	    mmapio_fd(NULL) != -EINVAL || mmapio_base(NULL) != NULL)
		fz_fail("the accessors of a NULL map do not return 0, READ_ONLY, -EINVAL, NULL");
	if (map != NULL) {
		seg.map = map;
		EXPECT_EINVAL(mmapio_read(map, 0, NULL, 1));
		EXPECT_EINVAL(mmapio_view_read(map, 0, 0, NULL));
		EXPECT_EINVAL(mmapio_atomic_load_u64(map, 0, NULL));
		EXPECT_EINVAL(mmapio_atomic_cas_u32(map, 0, NULL, 1));
		EXPECT_EINVAL(mmapio_segment_read(&seg, 0, NULL, 1));
		EXPECT_EINVAL(mmapio_segment_view_read(&seg, NULL));
		EXPECT_EINVAL(mmapio_advise(map, 0, 0, (enum mmapio_advice)99));
	}
}

/* Calls that take paths and options, with NULL where the header says -EINVAL. */
static void bad_file_args(void)
{
	mmapio_map *out = NULL;
	struct mmapio_options o;

	EXPECT_EINVAL(mmapio_create(NULL, 1, NULL, &out));
	EXPECT_EINVAL(mmapio_create(fz.path[FZ_P1], 1, NULL, NULL));
	EXPECT_EINVAL(mmapio_open(NULL, MMAPIO_READ_ONLY, NULL, &out));
	EXPECT_EINVAL(mmapio_open(fz.path[FZ_P0], MMAPIO_READ_ONLY, NULL, NULL));
	EXPECT_EINVAL(mmapio_open_fd(0, MMAPIO_READ_ONLY, NULL, NULL));
	EXPECT_EINVAL(mmapio_copy(NULL, fz.path[FZ_P1], 0));
	EXPECT_EINVAL(mmapio_copy(fz.path[FZ_P0], NULL, 0));
	EXPECT_EINVAL(mmapio_delete(NULL));
	EXPECT_EINVAL(mmapio_rename(NULL, fz.path[FZ_P1], 0));
	EXPECT_EINVAL(mmapio_rename(fz.path[FZ_P0], NULL, MMAPIO_RENAME_DURABLE));
	memset(&o, 0, sizeof(o));
	o.reserved[5] = 1;
	EXPECT_EINVAL(mmapio_open(fz.path[FZ_P0], MMAPIO_READ_ONLY, &o, &out));
	if (out != NULL)
		fz_fail("a refused open stored a map");
}

/* Ring calls with NULL rings, outputs and options. */
static void bad_ring_args(void)
{
	struct mmapio_ring_options o;
	struct mmapio_ring_stats st;
	struct mmapio_completion c;
	struct mmapio_range r = { 0, 0 };
	mmapio_ring *ring = NULL;
	const char *why = NULL;

	EXPECT_EINVAL(mmapio_ring_open(NULL, NULL));
	memset(&o, 0, sizeof(o));
	o.flags = 1;
	EXPECT_EINVAL(mmapio_ring_open(&o, &ring));
	if (ring != NULL)
		fz_fail("a refused ring open stored a ring");
	fz_expect("mmapio_ring_close(NULL)", mmapio_ring_close(NULL), 0);
	EXPECT_EINVAL(mmapio_ring_submit(NULL));
	EXPECT_EINVAL(mmapio_ring_peek(NULL, &c, 1));
	EXPECT_EINVAL(mmapio_ring_wait(NULL, &c, 1, 0, 0));
	EXPECT_EINVAL(mmapio_ring_fd(NULL));
	EXPECT_EINVAL(mmapio_ring_stats(NULL, &st));
	EXPECT_EINVAL(mmapio_ring_prep_create(NULL, fz.path[FZ_P1], 1, NULL, NULL));
	EXPECT_EINVAL(mmapio_ring_prep_copy(NULL, fz.path[FZ_P0], fz.path[FZ_P1], 0, NULL));
	EXPECT_EINVAL(mmapio_ring_prep_delete(NULL, fz.path[FZ_P1], NULL));
	EXPECT_EINVAL(mmapio_ring_prep_flush(NULL, NULL, 0, 0, NULL));
	EXPECT_EINVAL(mmapio_ring_prep_flush_ranges(NULL, NULL, &r, 1, NULL));
	EXPECT_EINVAL(mmapio_ring_prep_write(NULL, NULL, 0, fz.src, 1, NULL));
	EXPECT_EINVAL(mmapio_ring_prep_rename(NULL, fz.path[FZ_P0], fz.path[FZ_P1], 0, NULL));
	EXPECT_EINVAL(mmapio_ring_prep_sync_dir(NULL, fz.dir, NULL));
	EXPECT_EINVAL(mmapio_ring_barrier(NULL));
	EXPECT_EINVAL(mmapio_ring_cancel(NULL, NULL));
	if (mmapio_ring_inflight(NULL) != 0)
		fz_fail("mmapio_ring_inflight(NULL) is not 0");
	if (mmapio_ring_backend(NULL, &why) != MMAPIO_BACKEND_AUTO || why == NULL)
		fz_fail("mmapio_ring_backend(NULL) does not say AUTO with a reason");
}

/* mmapio_strerror describes every value; "Success" for those >= 0. */
static void check_strerror(void)
{
	static const int v[] = { 0, 1, 77, -EINVAL, -ERANGE, -EACCES, -EBUSY, -EDEADLK, -EFAULT,
				 -ENOTSUP, -ECANCELED, -ENOENT, -9999, -2147483647 - 1 };
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		const char *s = mmapio_strerror(v[i]);

		if (s == NULL || s[0] == '\0')
			fz_fail("mmapio_strerror(%d) has no text", v[i]);
		if (v[i] >= 0 && strcmp(s, "Success") != 0)
			fz_fail("mmapio_strerror(%d) is \"%s\", not \"Success\"", v[i], s);
	}
	if (mmapio_version() != (unsigned long)MMAPIO_VERSION_NUMBER ||
	    strcmp(mmapio_version_string(), MMAPIO_VERSION_STRING) != 0)
		fz_fail("the run-time version is not the header's");
}

void fz_op_bad_args(void)
{
	switch (fz_u8() % 4) {
	case 0:
		fz_trace("bad map arguments");
		bad_map_args();
		break;
	case 1:
		fz_trace("bad file arguments");
		bad_file_args();
		break;
	case 2:
		fz_trace("bad ring arguments");
		bad_ring_args();
		break;
	default:
		fz_trace("strerror and version");
		check_strerror();
		break;
	}
}
