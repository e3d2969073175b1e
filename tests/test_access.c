/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copying access and segments: mmapio_read/mmapio_write round trips and
 * their bytes on disk, bounds checks for every overflow-prone combination,
 * zero-length ranges, segment accessors relative to their segment and
 * re-checked against a map that shrank, advice and locking by range.
 */
#include "helpers.h"

TestSuite(access, .init = th_setup, .fini = th_teardown, .timeout = 60);

#define LEN (4 * 4096 + 100)

Test(access, read_returns_file_bytes_at_every_offset)
{
	TH_PATH(p, "r");
	unsigned char *want = th_malloc(LEN);
	unsigned char got[300];
	mmapio_map *map = th_open_pattern(p, LEN, 11, MMAPIO_READ_ONLY);

	th_fill(want, LEN, 0, 11);
	for (uint64_t off = 0; off < LEN; off += 97) {
		size_t n = LEN - off < sizeof(got) ? (size_t)(LEN - off) : sizeof(got);

		memset(got, 0, sizeof(got));
		TH_ASSERT_RC(mmapio_read(map, off, got, n), 0);
		cr_assert_arr_eq(got, want + off, n, "read at %llu", (unsigned long long)off);
	}
	/* The very last byte, and the whole map in one call. */
	TH_ASSERT_RC(mmapio_read(map, LEN - 1, got, 1), 0);
	cr_assert_eq(got[0], want[LEN - 1]);
	{
		unsigned char *all = th_malloc(LEN);

		TH_ASSERT_RC(mmapio_read(map, 0, all, LEN), 0);
		cr_assert_arr_eq(all, want, LEN);
		free(all);
	}
	TH_ASSERT_RC(mmapio_close(map), 0);
	free(want);
}

Test(access, write_reaches_file_and_reads_back)
{
	TH_PATH(p, "w");
	unsigned char *want = th_malloc(LEN);
	unsigned char buf[5000];
	mmapio_map *map = th_open_pattern(p, LEN, 12, MMAPIO_READ_WRITE);

	th_fill(want, LEN, 0, 12);
	/* Writes that straddle page boundaries, the first and the last byte. */
	th_fill(buf, sizeof(buf), 0, 99);
	TH_ASSERT_RC(mmapio_write(map, 4000, buf, sizeof(buf)), 0);
	memcpy(want + 4000, buf, sizeof(buf));
	TH_ASSERT_RC(mmapio_write(map, 0, "A", 1), 0);
	want[0] = 'A';
	TH_ASSERT_RC(mmapio_write(map, LEN - 1, "Z", 1), 0);
	want[LEN - 1] = 'Z';

	memset(buf, 0, sizeof(buf));
	TH_ASSERT_RC(mmapio_read(map, 4000, buf, sizeof(buf)), 0);
	cr_assert_arr_eq(buf, want + 4000, sizeof(buf));
	cr_assert_arr_eq(mmapio_base(map), want, LEN);

	/* Visible through another descriptor while the map is open, and after. */
	th_assert_file_eq(p, want, LEN);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(access, base_pointer_and_fd_describe_the_file)
{
	TH_PATH(p, "b");
	unsigned char *want = th_malloc(LEN);
	mmapio_map *map = th_open_pattern(p, LEN, 13, MMAPIO_READ_WRITE);
	unsigned char *base = mmapio_base(map);
	struct stat st;

	th_fill(want, LEN, 0, 13);
	cr_assert_arr_eq(base, want, LEN);
	base[17] = 0xAB;
	want[17] = 0xAB;
	cr_assert_eq(fstat(mmapio_fd(map), &st), 0);
	cr_assert_eq((uint64_t)st.st_size, (uint64_t)LEN);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(access, copy_on_write_changes_stay_private)
{
	TH_PATH(p, "cow");
	unsigned char *want = th_malloc(LEN);
	unsigned char got[8];
	mmapio_map *map = th_open_pattern(p, LEN, 14, MMAPIO_COPY_ON_WRITE);

	th_fill(want, LEN, 0, 14);
	TH_ASSERT_RC(mmapio_write(map, 4096, "private!", 8), 0);
	TH_ASSERT_RC(mmapio_read(map, 4096, got, 8), 0);
	cr_assert_arr_eq(got, "private!", 8);
	th_assert_file_eq(p, want, LEN);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

/* Every out-of-range combination, for read and (on writable maps) write. */
static void assert_bounds(mmapio_map *map, bool writable)
{
	uint64_t len = mmapio_len(map);
	unsigned char buf[16] = { 0 };
	struct {
		uint64_t off;
		size_t len;
	} bad[] = {
		{ len, 1 },                    /* starts at the end */
		{ len, 0 },                    /* zero length at the end: off must be < len */
		{ len + 1, 0 },
		{ len - 1, 2 },                /* one past the end */
		{ 0, (size_t)len + 1 },
		{ UINT64_MAX, 1 },
		{ UINT64_MAX, 0 },
		{ UINT64_MAX - 1, 2 },         /* off + len wraps to 0 */
		{ 1, SIZE_MAX },               /* 1 + SIZE_MAX wraps to 0 */
		{ 4096, SIZE_MAX - 4095 },     /* wraps to 1 */
		{ (uint64_t)1 << 63, (size_t)1 << 63 }, /* wraps to exactly 0 */
		{ 0, SIZE_MAX },
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/*
		 * The buffer is small: a library that checked wrongly would
		 * copy out of bounds, which ASan reports.
		 */
		int rc = mmapio_read(map, bad[i].off, buf, bad[i].len);

		cr_assert_eq(rc, -ERANGE, "read(off=%llu, len=%zu) on a %llu-byte map: %d",
			     (unsigned long long)bad[i].off, bad[i].len,
			     (unsigned long long)len, rc);
		if (writable) {
			rc = mmapio_write(map, bad[i].off, buf, bad[i].len);
			cr_assert_eq(rc, -ERANGE,
				     "write(off=%llu, len=%zu) on a %llu-byte map: %d",
				     (unsigned long long)bad[i].off, bad[i].len,
				     (unsigned long long)len, rc);
		}
	}
}

Test(access, bounds_checked_without_overflow)
{
	TH_PATH(p, "bounds");
	unsigned char *want = th_malloc(LEN);

	th_fill(want, LEN, 0, 15);
	for (int m = MMAPIO_READ_ONLY; m <= MMAPIO_COPY_ON_WRITE; m++) {
		mmapio_map *map = th_open_pattern(p, LEN, 15, (enum mmapio_mode)m);

		assert_bounds(map, m != MMAPIO_READ_ONLY);
		TH_ASSERT_RC(mmapio_close(map), 0);
		th_assert_file_eq(p, want, LEN);
	}
	free(want);
}

Test(access, zero_length_ranges_succeed_inside_the_map)
{
	TH_PATH(p, "z");
	unsigned char *want = th_malloc(LEN);
	mmapio_map *map = th_open_pattern(p, LEN, 16, MMAPIO_READ_WRITE);
	struct mmapio_view v;

	th_fill(want, LEN, 0, 16);
	TH_ASSERT_RC(mmapio_read(map, 0, NULL, 0), 0);
	TH_ASSERT_RC(mmapio_read(map, LEN - 1, NULL, 0), 0);
	TH_ASSERT_RC(mmapio_write(map, 0, "x", 0), 0);
	TH_ASSERT_RC(mmapio_write(map, LEN - 1, "x", 0), 0);
	TH_ASSERT_RC(mmapio_view_read(map, 5, 0, &v), 0);
	cr_assert_eq(v.len, 0);
	mmapio_view_release(&v);
	TH_ASSERT_RC(mmapio_flush_range(map, 100, 0), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(access, zero_length_map_rejects_every_range)
{
	TH_PATH(p, "empty");
	mmapio_map *map = NULL;
	struct mmapio_view v;
	struct mmapio_segment seg;
	unsigned char b = 0;

	th_write_file(p, "", 0, 0644);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_read(map, 0, &b, 0), -ERANGE);
	TH_ASSERT_RC(mmapio_read(map, 0, &b, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_write(map, 0, &b, 0), -ERANGE);
	TH_ASSERT_RC(mmapio_write(map, 0, &b, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_view_read(map, 0, 0, &v), -ERANGE);
	TH_ASSERT_RC(mmapio_view_write(map, 0, 0, &v), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_init(map, 0, 0, &seg), -ERANGE);
	TH_ASSERT_RC(mmapio_flush_range(map, 0, 0), -ERANGE);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_eq(th_file_size(p), 0);
}

Test(access, segment_accessors_are_relative)
{
	TH_PATH(p, "seg");
	unsigned char *want = th_malloc(LEN);
	unsigned char buf[64];
	mmapio_map *map = th_open_pattern(p, LEN, 17, MMAPIO_READ_WRITE);
	struct mmapio_segment seg, sub;
	struct mmapio_view v;

	th_fill(want, LEN, 0, 17);
	TH_ASSERT_RC(mmapio_segment_init(map, 5000, 3000, &seg), 0);
	cr_assert_eq(seg.map, map);
	cr_assert_eq(seg.off, 5000);
	cr_assert_eq(seg.len, 3000);

	TH_ASSERT_RC(mmapio_segment_read(&seg, 10, buf, sizeof(buf)), 0);
	cr_assert_arr_eq(buf, want + 5010, sizeof(buf));

	TH_ASSERT_RC(mmapio_segment_write(&seg, 2990, "0123456789", 10), 0);
	memcpy(want + 7990, "0123456789", 10);
	TH_ASSERT_RC(mmapio_read(map, 7990, buf, 10), 0);
	cr_assert_arr_eq(buf, "0123456789", 10);

	TH_ASSERT_RC(mmapio_segment_sub(&seg, 100, 200, &sub), 0);
	cr_assert_eq(sub.map, map);
	cr_assert_eq(sub.off, 5100);
	cr_assert_eq(sub.len, 200);
	TH_ASSERT_RC(mmapio_segment_read(&sub, 0, buf, sizeof(buf)), 0);
	cr_assert_arr_eq(buf, want + 5100, sizeof(buf));

	TH_ASSERT_RC(mmapio_segment_view_read(&sub, &v), 0);
	cr_assert_eq(v.len, 200);
	cr_assert_arr_eq(v.data, want + 5100, 200);
	mmapio_view_release(&v);

	TH_ASSERT_RC(mmapio_segment_view_write(&sub, &v), 0);
	cr_assert_eq(v.len, 200);
	memset(v.data, 'S', v.len);
	memset(want + 5100, 'S', 200);
	mmapio_view_release(&v);

	TH_ASSERT_RC(mmapio_segment_flush(&seg), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(access, segment_ranges_are_checked)
{
	TH_PATH(p, "segb");
	unsigned char *want = th_malloc(LEN);
	unsigned char buf[16] = { 0 };
	mmapio_map *map = th_open_pattern(p, LEN, 18, MMAPIO_READ_WRITE);
	struct mmapio_segment seg, sub;

	th_fill(want, LEN, 0, 18);
	/* Segments must lie in the map. */
	TH_ASSERT_RC(mmapio_segment_init(map, LEN, 0, &seg), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_init(map, LEN - 10, 11, &seg), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_init(map, UINT64_MAX, 2, &seg), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_init(map, 2, UINT64_MAX, &seg), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_init(map, 0, LEN, &seg), 0);
	TH_ASSERT_RC(mmapio_segment_init(map, 1000, 100, &seg), 0);

	/* Accessors check against the segment, not just the map. */
	TH_ASSERT_RC(mmapio_segment_read(&seg, 100, buf, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_read(&seg, 95, buf, 6), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_read(&seg, UINT64_MAX, buf, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_read(&seg, 1, buf, SIZE_MAX), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_write(&seg, 99, buf, 2), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_write(&seg, UINT64_MAX - 1, buf, 2), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_read(&seg, 99, buf, 1), 0);
	cr_assert_eq(buf[0], want[1099]);
	TH_ASSERT_RC(mmapio_segment_read(&seg, 99, buf, 0), 0);

	TH_ASSERT_RC(mmapio_segment_sub(&seg, 100, 0, &sub), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_sub(&seg, 50, 51, &sub), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_sub(&seg, UINT64_MAX, 1, &sub), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_sub(&seg, 1, UINT64_MAX, &sub), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_sub(&seg, 50, 50, &sub), 0);
	TH_ASSERT_RC(mmapio_segment_read(&sub, 50, buf, 1), -ERANGE);

	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(access, segment_rechecked_after_map_shrinks)
{
	TH_PATH(p, "shrink");
	unsigned char *want = th_malloc(LEN);
	unsigned char buf[16];
	mmapio_map *map = th_open_pattern(p, LEN, 19, MMAPIO_READ_WRITE);
	struct mmapio_segment seg, early, sub;
	struct mmapio_view v;

	th_fill(want, LEN, 0, 19);
	TH_ASSERT_RC(mmapio_segment_init(map, 3 * 4096, 4096, &seg), 0);
	TH_ASSERT_RC(mmapio_segment_init(map, 100, 50, &early), 0);
	TH_ASSERT_RC(mmapio_resize(map, 2 * 4096), 0);

	/* The segment now lies past the end of the map. */
	TH_ASSERT_RC(mmapio_segment_read(&seg, 0, buf, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_write(&seg, 0, buf, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_view_read(&seg, &v), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_view_write(&seg, &v), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_flush(&seg), -ERANGE);
	/*
	 * mmapio_segment_sub only promises to check against its segment; the
	 * sub-segment it yields is re-checked against the map when used.
	 */
	if (mmapio_segment_sub(&seg, 0, 10, &sub) == 0)
		TH_ASSERT_RC(mmapio_segment_read(&sub, 0, buf, 1), -ERANGE);

	/* A segment still inside keeps working. */
	TH_ASSERT_RC(mmapio_segment_read(&early, 0, buf, 16), 0);
	cr_assert_arr_eq(buf, want + 100, 16);

	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, 2 * 4096);
	free(want);
}

Test(access, segment_straddling_new_end_is_refused)
{
	TH_PATH(p, "straddle");
	unsigned char *want = th_malloc(LEN);
	unsigned char buf[16];
	mmapio_map *map = th_open_pattern(p, LEN, 20, MMAPIO_READ_WRITE);
	struct mmapio_segment seg;

	th_fill(want, LEN, 0, 20);
	TH_ASSERT_RC(mmapio_segment_init(map, 4000, 200, &seg), 0);
	TH_ASSERT_RC(mmapio_resize(map, 4096), 0);
	/* Offsets 0..95 of the segment are still inside the map. */
	TH_ASSERT_RC(mmapio_segment_read(&seg, 0, buf, 16), 0);
	cr_assert_arr_eq(buf, want + 4000, 16);
	TH_ASSERT_RC(mmapio_segment_read(&seg, 90, buf, 16), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_write(&seg, 90, buf, 16), -ERANGE);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, 4096);
	free(want);
}

Test(access, advice_by_range)
{
	TH_PATH(p, "adv");
	unsigned char *want = th_malloc(LEN);
	unsigned char buf[100];
	mmapio_map *map = th_open_pattern(p, LEN, 21, MMAPIO_READ_WRITE);

	th_fill(want, LEN, 0, 21);
	for (int a = MMAPIO_ADVICE_NORMAL; a <= MMAPIO_ADVICE_POPULATE_WRITE; a++) {
		/* Unaligned ranges: the library rounds them to pages. */
		int rc = mmapio_advise(map, 123, 5000, (enum mmapio_advice)a);

		if (rc == -ENOTSUP && a >= MMAPIO_ADVICE_POPULATE_READ)
			continue;
		cr_assert_eq(rc, 0, "advice %d: %d (%s)", a, rc, mmapio_strerror(rc));
	}
	TH_ASSERT_RC(mmapio_advise(map, LEN, 1, MMAPIO_ADVICE_WILLNEED), -ERANGE);
	TH_ASSERT_RC(mmapio_advise(map, 1, UINT64_MAX, MMAPIO_ADVICE_WILLNEED), -ERANGE);
	/* DONTNEED on a shared file mapping drops pages, never data. */
	TH_ASSERT_RC(mmapio_advise(map, 0, LEN, MMAPIO_ADVICE_DONTNEED), 0);
	TH_ASSERT_RC(mmapio_read(map, 4000, buf, sizeof(buf)), 0);
	cr_assert_arr_eq(buf, want + 4000, sizeof(buf));
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(access, lock_and_unlock_by_range)
{
	TH_PATH(p, "lock");
	unsigned char *want = th_malloc(LEN);
	mmapio_map *map = th_open_pattern(p, LEN, 22, MMAPIO_READ_ONLY);
	int rc;

	th_fill(want, LEN, 0, 22);
	rc = mmapio_lock(map, 10, 5000);
	if (rc == -ENOMEM || rc == -EPERM)
		TH_SKIP("mlock refused by RLIMIT_MEMLOCK: %s", mmapio_strerror(rc));
	cr_assert_eq(rc, 0, "mmapio_lock: %d (%s)", rc, mmapio_strerror(rc));
	TH_ASSERT_RC(mmapio_unlock(map, 10, 5000), 0);
	TH_ASSERT_RC(mmapio_lock(map, LEN - 1, 2), -ERANGE);
	TH_ASSERT_RC(mmapio_unlock(map, UINT64_MAX, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

/*
 * Large writes into pages not yet in the page cache go through pwrite on
 * the map's descriptor.  What a user sees must not differ: the bytes land
 * in the file and in the mapping, a file cut underneath gives -EFAULT (and
 * is not grown back), and a full disk is reported, not hidden.
 */
#define BIG (1024 * 1024)

static int64_t fail_pwrite_enospc(int fd, const void *buf, size_t len, uint64_t off)
{
	(void)fd, (void)buf, (void)len, (void)off;
	return -ENOSPC;
}

Test(access, large_write_into_fresh_file_lands_in_file_and_map)
{
	TH_PATH(p, "big");
	unsigned char *src = th_malloc(BIG), *back = th_malloc(BIG);
	mmapio_map *map;

	th_fill(src, BIG, 0, 21);
	TH_ASSERT_RC(mmapio_create(p, 2 * BIG, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, BIG - 100, src, BIG), 0);
	/* The mapping sees the bytes at once... */
	TH_ASSERT_RC(mmapio_read(map, BIG - 100, back, BIG), 0);
	cr_assert_arr_eq(back, src, BIG);
	/* ...and so does the file, after close. */
	TH_ASSERT_RC(mmapio_close(map), 0);
	{
		size_t len;
		unsigned char *file = th_read_file(p, &len);

		cr_assert_eq(len, 2 * BIG);
		cr_assert_arr_eq(file + BIG - 100, src, BIG);
		for (size_t i = 0; i < BIG - 100; i++)
			cr_assert_eq(file[i], 0, "byte %zu before the write is %d", i, file[i]);
		free(file);
	}
	free(src);
	free(back);
}

Test(access, large_write_after_outside_truncate_is_efault_and_file_stays_short)
{
	TH_PATH(p, "cut");
	unsigned char *src = th_malloc(BIG);
	mmapio_map *map;

	th_fill(src, BIG, 0, 22);
	TH_ASSERT_RC(mmapio_create(p, 2 * BIG, NULL, &map), 0);
	cr_assert_eq(truncate(p, 4096), 0);
	TH_ASSERT_RC(mmapio_write(map, BIG, src, BIG), -EFAULT);
	cr_assert_eq(th_file_size(p), 4096, "the write grew the cut file back");
	TH_ASSERT_RC(mmapio_close(map), 0);
	free(src);
}

Test(access, large_write_reports_disk_full)
{
	TH_SKIP_UNDER_VALGRIND("page-cache residency (mincore) as the kernel reports it");
	TH_PATH(p, "full");
	unsigned char *src = th_malloc(BIG);
	mmapio_map *map;
	size_t len;
	unsigned char *file;

	th_fill(src, BIG, 0, 23);
	TH_ASSERT_RC(mmapio_create(p, BIG, NULL, &map), 0);
	mmapio__sys.pwrite = fail_pwrite_enospc;
	TH_ASSERT_RC(mmapio_write(map, 0, src, BIG), -ENOSPC);
	mmapio__sys_reset();
	TH_ASSERT_RC(mmapio_close(map), 0);
	file = th_read_file(p, &len);
	cr_assert_eq(len, BIG);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(file[i], 0, "byte %zu changed by a failed write", i);
	free(file);
	free(src);
}

/*
 * A map opened from a descriptor with O_APPEND or O_DIRECT: a large write
 * into pages not yet cached must land where asked, not at the end of the
 * file, and must not fail for the descriptor's alignment rules.
 */
static void write_through_odd_descriptor(int extra_flags, const char *name)
{
	TH_PATH(p, name);
	const size_t file_len = 256 * 1024, len = 128 * 1024;
	unsigned char *src = th_malloc(len), *file;
	mmapio_map *map;
	size_t got;
	int fd;

	th_fill(src, len, 0, 31);
	fd = open(p, O_RDWR | O_CREAT | O_EXCL, 0644);
	cr_assert_geq(fd, 0);
	cr_assert_eq(ftruncate(fd, (off_t)file_len), 0);
	close(fd);
	fd = open(p, O_RDWR | extra_flags);
	if (fd < 0 && errno == EINVAL)
		TH_SKIP("this filesystem refuses the open flags 0x%x", extra_flags);
	cr_assert_geq(fd, 0, "open: %s", strerror(errno));
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_READ_WRITE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, 4096, src, len), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	close(fd);
	file = th_read_file(p, &got);
	cr_assert_eq(got, file_len, "the write changed the file's size");
	cr_assert_arr_eq(file + 4096, src, len, "the bytes did not land at offset 4096");
	for (size_t i = 0; i < 4096; i++)
		cr_assert_eq(file[i], 0);
	free(file);
	free(src);
}

Test(access, large_write_through_append_descriptor_lands_in_place)
{
	write_through_odd_descriptor(O_APPEND, "append");
}

Test(access, large_write_through_direct_descriptor_lands_in_place)
{
	write_through_odd_descriptor(O_DIRECT, "direct");
}

Test(access, dontneed_refused_on_copy_on_write_keeps_private_changes)
{
	TH_PATH(p, "cow");
	mmapio_map *map;
	unsigned char b[4];

	th_write_file(p, "abcd", 4, 0644);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_COPY_ON_WRITE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, 0, "WXYZ", 4), 0);
	TH_ASSERT_RC(mmapio_advise(map, 0, 4, MMAPIO_ADVICE_DONTNEED), -EACCES);
	TH_ASSERT_RC(mmapio_read(map, 0, b, 4), 0);
	cr_assert_arr_eq(b, "WXYZ", 4, "the private changes were dropped");
	TH_ASSERT_RC(mmapio_close(map), 0);
}
