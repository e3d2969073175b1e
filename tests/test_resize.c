/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Resizing: growth reads as zero and changes the file's size, shrinking cuts
 * the file and leaves no accessible page mapped past its end, a reservation
 * keeps the base pointer, read-only and copy-on-write maps refuse, and a
 * failed resize leaves map and file at their old size.
 */
#include "helpers.h"

#include <inttypes.h>

TestSuite(resize, .init = th_setup, .fini = th_teardown, .timeout = 60);

#define PG 4096u

static void assert_zero(mmapio_map *map, uint64_t off, uint64_t len)
{
	unsigned char *buf = th_malloc((size_t)len);

	TH_ASSERT_RC(mmapio_read(map, off, buf, (size_t)len), 0);
	for (uint64_t i = 0; i < len; i++)
		cr_assert_eq(buf[i], 0, "byte %llu after growth is 0x%02x",
			     (unsigned long long)(off + i), buf[i]);
	free(buf);
}

static void assert_pattern(mmapio_map *map, uint64_t len, unsigned seed)
{
	unsigned char *got = th_malloc((size_t)len);
	unsigned char *want = th_malloc((size_t)len);

	th_fill(want, (size_t)len, 0, seed);
	TH_ASSERT_RC(mmapio_read(map, 0, got, (size_t)len), 0);
	cr_assert_arr_eq(got, want, (size_t)len, "contents changed by resize");
	free(got);
	free(want);
}

Test(resize, grow_reads_zero_and_changes_file_size)
{
	TH_PATH(p, "g");
	const uint64_t old = 3 * PG + 10;
	mmapio_map *map = th_open_pattern(p, old, 51, MMAPIO_READ_WRITE);
	uint64_t sizes[] = { old + 1, 5 * PG, 5 * PG + 1, 64 * PG + 77, 4u << 20 };
	uint64_t cur = old;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		TH_ASSERT_RC(mmapio_resize(map, sizes[i]), 0);
		cr_assert_eq(mmapio_len(map), sizes[i]);
		cr_assert_eq(th_file_size(p), (long long)sizes[i]);
		assert_pattern(map, old, 51);
		assert_zero(map, cur, sizes[i] - cur);
		cur = sizes[i];
	}
	/* The new tail is writable and reaches the file. */
	TH_ASSERT_RC(mmapio_write(map, cur - 4, "end!", 4), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	{
		size_t n;
		unsigned char *f = th_read_file(p, &n);
		unsigned char *want = th_malloc(old);

		cr_assert_not_null(f);
		cr_assert_eq(n, cur);
		th_fill(want, old, 0, 51);
		cr_assert_arr_eq(f, want, old);
		for (size_t k = old; k < cur - 4; k++)
			cr_assert_eq(f[k], 0, "file byte %zu", k);
		cr_assert_arr_eq(f + cur - 4, "end!", 4);
		free(f);
		free(want);
	}
}

Test(resize, grow_sparse_map_reads_zero)
{
	TH_PATH(p, "s");
	struct mmapio_options o = { .flags = MMAPIO_CREATE_SPARSE };
	mmapio_map *map = NULL;

	TH_ASSERT_RC(mmapio_create(p, 100, &o, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, 0, "abc", 3), 0);
	TH_ASSERT_RC(mmapio_resize(map, 10 * PG), 0);
	cr_assert_eq(th_file_size(p), 10 * PG);
	assert_zero(map, 3, 10 * PG - 3);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

/*
 * Asserts that no accessible mapping of the file exists in
 * [lo, hi): a reservation (PROT_NONE) may stay, a mapping of the file may not.
 */
static void assert_nothing_accessible(uintptr_t lo, uintptr_t hi, ino_t ino)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512];

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f)) {
		uintptr_t a, b;
		char perms[8];
		unsigned long long offset, inode;
		char dev[16];

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx %15s %llu", &a, &b, perms,
			   &offset, dev, &inode) != 6)
			continue;
		if (b <= lo || a >= hi)
			continue;
		cr_assert(perms[0] == '-' && perms[1] == '-' && perms[2] == '-',
			  "accessible page past end of file: %s", line);
		cr_assert_neq((ino_t)inode, ino, "file still mapped past its end: %s", line);
	}
	fclose(f);
}

Test(resize, shrink_cuts_file_and_unmaps_tail)
{
	TH_PATH(p, "sh");
	const uint64_t old = 16 * PG;
	mmapio_map *map = th_open_pattern(p, old, 52, MMAPIO_READ_WRITE);
	uintptr_t base = (uintptr_t)mmapio_base(map);
	unsigned char b;
	struct stat st;

	cr_assert_eq(stat(p, &st), 0);
	TH_ASSERT_RC(mmapio_resize(map, 2 * PG + 5), 0);
	cr_assert_eq(mmapio_len(map), 2 * PG + 5);
	cr_assert_eq(th_file_size(p), 2 * PG + 5);
	assert_pattern(map, 2 * PG + 5, 52);
	TH_ASSERT_RC(mmapio_read(map, 2 * PG + 5, &b, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_read(map, 2 * PG + 4, &b, 2), -ERANGE);
	TH_ASSERT_RC(mmapio_write(map, 3 * PG, "x", 1), -ERANGE);
	TH_ASSERT_RC(mmapio_read(map, 2 * PG + 4, &b, 1), 0);

	/*
	 * Pages wholly past the new end: the base pointer may have moved, so
	 * check both the old tail and the tail behind the current base.
	 */
	assert_nothing_accessible(base + 3 * PG, base + old, st.st_ino);
	base = (uintptr_t)mmapio_base(map);
	assert_nothing_accessible(base + 3 * PG, base + old, st.st_ino);

	TH_ASSERT_RC(mmapio_close(map), 0);
	{
		unsigned char *want = th_malloc(2 * PG + 5);

		th_fill(want, 2 * PG + 5, 0, 52);
		th_assert_file_eq(p, want, 2 * PG + 5);
		free(want);
	}
}

Test(resize, shrink_then_grow_reads_zero)
{
	TH_PATH(p, "sg");
	mmapio_map *map = th_open_pattern(p, 4 * PG, 53, MMAPIO_READ_WRITE);

	TH_ASSERT_RC(mmapio_resize(map, PG + 1), 0);
	TH_ASSERT_RC(mmapio_resize(map, 4 * PG), 0);
	assert_pattern(map, PG + 1, 53);
	assert_zero(map, PG + 1, 3 * PG - 1);
	TH_ASSERT_RC(mmapio_resize(map, 4 * PG), 0); /* same size: nothing to do */
	cr_assert_eq(th_file_size(p), 4 * PG);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(resize, reservation_keeps_base_pointer)
{
	TH_PATH(p, "res");
	struct mmapio_options o = { .reserve = 64u << 20 };
	mmapio_map *map = NULL;
	unsigned char *base;
	struct mmapio_view v;

	TH_ASSERT_RC(mmapio_create(p, PG, &o, &map), 0);
	base = mmapio_base(map);
	cr_assert_not_null(base);
	memcpy(base, "first page", 10);
	TH_ASSERT_RC(mmapio_resize(map, 16u << 20), 0);
	cr_assert_eq(mmapio_base(map), base, "growth inside the reservation moved the base");
	cr_assert_arr_eq(base, "first page", 10);
	assert_zero(map, 10, (16u << 20) - 10);
	/* The grown pages are the file's: written through base, read by read(2). */
	memcpy(base + (16u << 20) - 4, "last", 4);
	TH_ASSERT_RC(mmapio_resize(map, 64u << 20), 0);
	cr_assert_eq(mmapio_base(map), base);
	TH_ASSERT_RC(mmapio_resize(map, 3 * PG), 0);
	cr_assert_eq(mmapio_base(map), base, "shrinking inside the reservation moved the base");
	TH_ASSERT_RC(mmapio_view_read(map, 0, 10, &v), 0);
	cr_assert_eq(v.data, base);
	mmapio_view_release(&v);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_eq(th_file_size(p), 3 * PG);
	{
		unsigned char *want = calloc(1, 3 * PG);

		cr_assert_not_null(want);
		memcpy(want, "first page", 10);
		th_assert_file_eq(p, want, 3 * PG);
		free(want);
	}
}

Test(resize, reservation_growth_past_the_reservation)
{
	TH_PATH(p, "past");
	struct mmapio_options o = { .reserve = 4 * PG };
	mmapio_map *map = NULL;

	TH_ASSERT_RC(mmapio_create(p, PG, &o, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, 0, "keep", 4), 0);
	/* Beyond the reservation the base may move, but data must survive. */
	TH_ASSERT_RC(mmapio_resize(map, 64 * PG), 0);
	cr_assert_eq(th_file_size(p), 64 * PG);
	{
		unsigned char got[4];

		TH_ASSERT_RC(mmapio_read(map, 0, got, 4), 0);
		cr_assert_arr_eq(got, "keep", 4);
	}
	assert_zero(map, 4, 64 * PG - 4);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(resize, refused_on_read_only_and_copy_on_write)
{
	TH_PATH(p, "acc");
	unsigned char *want = th_malloc(2 * PG);

	th_fill(want, 2 * PG, 0, 54);
	for (int m = MMAPIO_READ_ONLY; m <= MMAPIO_COPY_ON_WRITE; m += 2) {
		mmapio_map *map = th_open_pattern(p, 2 * PG, 54, (enum mmapio_mode)m);

		TH_ASSERT_RC(mmapio_resize(map, 4 * PG), -EACCES);
		TH_ASSERT_RC(mmapio_resize(map, PG), -EACCES);
		cr_assert_eq(mmapio_len(map), 2 * PG);
		assert_pattern(map, 2 * PG, 54);
		TH_ASSERT_RC(mmapio_close(map), 0);
		th_assert_file_eq(p, want, 2 * PG);
	}
	free(want);
}

Test(resize, zero_size_is_invalid)
{
	TH_PATH(p, "zero");
	unsigned char *want = th_malloc(PG);
	mmapio_map *map = th_open_pattern(p, PG, 55, MMAPIO_READ_WRITE);

	th_fill(want, PG, 0, 55);
	TH_ASSERT_RC(mmapio_resize(map, 0), -EINVAL);
	cr_assert_eq(mmapio_len(map), PG);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, PG);
	free(want);
}

Test(resize, empty_file_grows)
{
	TH_PATH(p, "empty");
	mmapio_map *map = NULL;

	th_write_file(p, "", 0, 0644);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &map), 0);
	cr_assert_eq(mmapio_len(map), 0);
	TH_ASSERT_RC(mmapio_resize(map, 3 * PG), 0);
	cr_assert_not_null(mmapio_base(map));
	cr_assert_eq(th_file_size(p), 3 * PG);
	assert_zero(map, 0, 3 * PG);
	TH_ASSERT_RC(mmapio_write(map, 0, "grown", 5), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	{
		unsigned char *want = calloc(1, 3 * PG);

		cr_assert_not_null(want);
		memcpy(want, "grown", 5);
		th_assert_file_eq(p, want, 3 * PG);
		free(want);
	}
}

/* ---- Failure injection ---- */

static int enospc_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	(void)fd;
	(void)mode;
	(void)off;
	(void)len;
	return -ENOSPC;
}

static int enospc_ftruncate(int fd, uint64_t len)
{
	(void)fd;
	(void)len;
	return -ENOSPC;
}

static int enomem_mmap(void *addr, size_t len, int prot, int flags, int fd, uint64_t off,
		       void **out)
{
	(void)addr;
	(void)len;
	(void)prot;
	(void)flags;
	(void)fd;
	(void)off;
	(void)out;
	return -ENOMEM;
}

static int enomem_mremap(void *old, size_t old_len, size_t new_len, int flags, void **out)
{
	(void)old;
	(void)old_len;
	(void)new_len;
	(void)flags;
	(void)out;
	return -ENOMEM;
}

static int eio_ftruncate(int fd, uint64_t len)
{
	(void)fd;
	(void)len;
	return -EIO;
}

static void assert_unchanged(mmapio_map *map, const char *p, uint64_t len, unsigned seed)
{
	unsigned char *want = th_malloc((size_t)len);

	cr_assert_eq(mmapio_len(map), len, "map length changed to %llu",
		     (unsigned long long)mmapio_len(map));
	cr_assert_eq(th_file_size(p), (long long)len, "file size changed to %lld",
		     th_file_size(p));
	assert_pattern(map, len, seed);
	th_fill(want, (size_t)len, 0, seed);
	th_assert_file_eq(p, want, (size_t)len);
	free(want);
}

Test(resize, enospc_keeps_old_size)
{
	TH_PATH(p, "nospc");
	const uint64_t len = 3 * PG + 1;
	mmapio_map *map = th_open_pattern(p, len, 56, MMAPIO_READ_WRITE);

	mmapio__sys.fallocate = enospc_fallocate;
	mmapio__sys.ftruncate = enospc_ftruncate;
	TH_ASSERT_RC(mmapio_resize(map, 100 * PG), -ENOSPC);
	mmapio__sys_reset();
	assert_unchanged(map, p, len, 56);
	TH_ASSERT_RC(mmapio_resize(map, 100 * PG), 0);
	cr_assert_eq(th_file_size(p), 100 * PG);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(resize, enomem_mapping_keeps_old_size)
{
	TH_PATH(p, "nomem");
	const uint64_t len = 3 * PG + 1;
	mmapio_map *map = th_open_pattern(p, len, 57, MMAPIO_READ_WRITE);

	/* Growth whose mapping fails must not leave the file grown. */
	mmapio__sys.mmap = enomem_mmap;
	mmapio__sys.mremap = enomem_mremap;
	TH_ASSERT_RC(mmapio_resize(map, 100 * PG), -ENOMEM);
	mmapio__sys_reset();
	assert_unchanged(map, p, len, 57);
	TH_ASSERT_RC(mmapio_write(map, 0, "ok", 2), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(resize, enomem_inside_reservation_keeps_old_size)
{
	TH_PATH(p, "resnomem");
	struct mmapio_options o = { .reserve = 1u << 20 };
	const uint64_t len = 2 * PG;
	mmapio_map *map = NULL;
	void *base;

	th_write_pattern_file(p, len, 58);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, &o, &map), 0);
	base = mmapio_base(map);
	mmapio__sys.mmap = enomem_mmap;
	mmapio__sys.mremap = enomem_mremap;
	TH_ASSERT_RC(mmapio_resize(map, 10 * PG), -ENOMEM);
	mmapio__sys_reset();
	assert_unchanged(map, p, len, 58);
	cr_assert_eq(mmapio_base(map), base);
	TH_ASSERT_RC(mmapio_resize(map, 10 * PG), 0);
	cr_assert_eq(mmapio_base(map), base);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(resize, failed_shrink_keeps_old_size)
{
	TH_PATH(p, "shrinkfail");
	const uint64_t len = 8 * PG;
	mmapio_map *map = th_open_pattern(p, len, 59, MMAPIO_READ_WRITE);

	/*
	 * When the file cannot be cut, the map keeps its old length: the
	 * header promises both stay at their old size.
	 */
	mmapio__sys.ftruncate = eio_ftruncate;
	TH_ASSERT_RC(mmapio_resize(map, PG), -EIO);
	mmapio__sys_reset();
	assert_unchanged(map, p, len, 59);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

/*
 * Resize works from the file's real size, not the size the map last saw:
 * another map (or process) may have grown or cut the file since.
 */
static int fallocate_enospc(int fd, int mode, uint64_t off, uint64_t len)
{
	(void)fd, (void)mode, (void)off, (void)len;
	return -ENOSPC;
}

Test(resize, failed_growth_keeps_a_size_another_map_set)
{
	TH_PATH(p, "shared");
	mmapio_map *a, *b;
	unsigned char rec[4096], back[4096];

	TH_ASSERT_RC(mmapio_create(p, 4096, NULL, &a), 0);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &b), 0);
	TH_ASSERT_RC(mmapio_resize(b, 262144), 0);
	memset(rec, 0x5a, sizeof(rec));
	TH_ASSERT_RC(mmapio_write(b, 258048, rec, sizeof(rec)), 0);
	TH_ASSERT_RC(mmapio_flush(b), 0);

	/* A still thinks the file has 4096 bytes; its growth fails. */
	mmapio__sys.fallocate = fallocate_enospc;
	TH_ASSERT_RC(mmapio_resize(a, 1 << 20), -ENOSPC);
	mmapio__sys_reset();
	cr_assert_eq(th_file_size(p), 262144, "a failed resize cut the file another map had grown");
	TH_ASSERT_RC(mmapio_read(b, 258048, back, sizeof(back)), 0);
	cr_assert_arr_eq(back, rec, sizeof(rec));
	TH_ASSERT_RC(mmapio_close(a), 0);
	TH_ASSERT_RC(mmapio_close(b), 0);
}

Test(resize, to_the_cached_size_repairs_a_file_cut_underneath)
{
	TH_PATH(p, "cut");
	mmapio_map *m;

	TH_ASSERT_RC(mmapio_create(p, 262144, NULL, &m), 0);
	cr_assert_eq(truncate(p, 4096), 0);
	TH_ASSERT_RC(mmapio_resize(m, 262144), 0);
	cr_assert_eq(th_file_size(p), 262144, "resize to the map's own length did nothing");
	TH_ASSERT_RC(mmapio_write(m, 262144 - 1, "z", 1), 0);
	TH_ASSERT_RC(mmapio_close(m), 0);
}

Test(resize, growth_leaves_exactly_the_new_size_when_the_file_is_larger)
{
	TH_PATH(p, "larger");
	mmapio_map *m;

	TH_ASSERT_RC(mmapio_create(p, 4096, NULL, &m), 0);
	cr_assert_eq(truncate(p, 65536), 0);
	TH_ASSERT_RC(mmapio_resize(m, 8192), 0);
	cr_assert_eq(th_file_size(p), 8192, "the file is not exactly the new size");
	cr_assert_eq(mmapio_len(m), 8192);
	TH_ASSERT_RC(mmapio_close(m), 0);
}

Test(resize, growth_after_advice_split_the_mapping)
{
	TH_PATH(p, "advised");
	mmapio_map *m;
	unsigned char back[16];

	TH_ASSERT_RC(mmapio_create(p, 16 * 4096, NULL, &m), 0);
	TH_ASSERT_RC(mmapio_write(m, 5 * 4096, "kept-bytes-here!", 16), 0);
	/* Advice on part of the map splits the kernel's mapping in three. */
	TH_ASSERT_RC(mmapio_advise(m, 4 * 4096, 4096, MMAPIO_ADVICE_RANDOM), 0);
	TH_ASSERT_RC(mmapio_resize(m, 64 * 4096), 0);
	TH_ASSERT_RC(mmapio_read(m, 5 * 4096, back, sizeof(back)), 0);
	cr_assert_arr_eq(back, "kept-bytes-here!", 16);
	TH_ASSERT_RC(mmapio_lock(m, 0, 4096), 0);
	TH_ASSERT_RC(mmapio_resize(m, 128 * 4096), 0);
	TH_ASSERT_RC(mmapio_read(m, 5 * 4096, back, sizeof(back)), 0);
	cr_assert_arr_eq(back, "kept-bytes-here!", 16);
	TH_ASSERT_RC(mmapio_close(m), 0);
}

/*
 * An empty map with a reservation has its base from the start (the header
 * says so), and growth keeps it; without one an empty map's base is NULL.
 */
Test(resize, empty_map_base_with_and_without_a_reservation)
{
	TH_PATH(p, "empty");
	struct mmapio_options o = { .reserve = 64 * PG };
	mmapio_map *a, *b;
	void *base;

	th_write_file(p, "", 0, 0644);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &a), 0);
	cr_assert_null(mmapio_base(a));
	TH_ASSERT_RC(mmapio_close(a), 0);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, &o, &b), 0);
	base = mmapio_base(b);
	cr_assert_not_null(base, "an empty map with a reservation has its base");
	TH_ASSERT_RC(mmapio_resize(b, 8 * PG), 0);
	cr_assert_eq(mmapio_base(b), base, "growth inside the reservation moved the base");
	TH_ASSERT_RC(mmapio_close(b), 0);
}
