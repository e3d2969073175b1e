/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Durability: flushed bytes are what another descriptor reads after close,
 * flush_range accepts unaligned ranges and rounds them out to pages,
 * read-only and copy-on-write maps flush to 0 without touching the file,
 * and a write-back error is sticky: every later flush reports it.
 */
#include "helpers.h"

#include <sys/mman.h>

TestSuite(flush, .init = th_setup, .fini = th_teardown, .timeout = 60);

#define LEN (16 * 4096 + 300)

Test(flush, flushed_bytes_readable_through_another_descriptor)
{
	TH_PATH(p, "d");
	unsigned char *want = calloc(1, LEN);
	mmapio_map *map = NULL;

	cr_assert_not_null(want);
	TH_ASSERT_RC(mmapio_create(p, LEN, NULL, &map), 0);
	th_fill(want, LEN, 0, 41);
	TH_ASSERT_RC(mmapio_write(map, 0, want, LEN), 0);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);

	/* Again through an existing file opened read-write, twice in a row. */
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, LEN - 5, "tail!", 5), 0);
	memcpy(want + LEN - 5, "tail!", 5);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(flush, flush_range_unaligned_and_segment_flush)
{
	TH_PATH(p, "r");
	unsigned char *want = th_malloc(LEN);
	mmapio_map *map = th_open_pattern(p, LEN, 42, MMAPIO_READ_WRITE);
	struct mmapio_segment seg;

	th_fill(want, LEN, 0, 42);
	TH_ASSERT_RC(mmapio_write(map, 5000, "0123456789", 10), 0);
	memcpy(want + 5000, "0123456789", 10);
	TH_ASSERT_RC(mmapio_flush_range(map, 5000, 10), 0);
	TH_ASSERT_RC(mmapio_write(map, 4095, "xy", 2), 0);
	memcpy(want + 4095, "xy", 2);
	TH_ASSERT_RC(mmapio_flush_range(map, 4095, 2), 0);
	TH_ASSERT_RC(mmapio_flush_range(map, LEN - 1, 1), 0);
	TH_ASSERT_RC(mmapio_flush_range(map, 1, LEN - 1), 0);
	TH_ASSERT_RC(mmapio_flush_range(map, 0, LEN), 0);
	TH_ASSERT_RC(mmapio_segment_init(map, 4097, 4097, &seg), 0);
	TH_ASSERT_RC(mmapio_segment_write(&seg, 4096, "S", 1), 0);
	want[4097 + 4096] = 'S';
	TH_ASSERT_RC(mmapio_segment_flush(&seg), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(flush, flush_range_out_of_map)
{
	TH_PATH(p, "oor");
	unsigned char *want = th_malloc(LEN);
	mmapio_map *map = th_open_pattern(p, LEN, 43, MMAPIO_READ_WRITE);

	th_fill(want, LEN, 0, 43);
	TH_ASSERT_RC(mmapio_flush_range(map, LEN, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_flush_range(map, LEN - 1, 2), -ERANGE);
	TH_ASSERT_RC(mmapio_flush_range(map, UINT64_MAX, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_flush_range(map, 1, UINT64_MAX), -ERANGE);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

/* Records the ranges the blocking backend syncs. */
static struct {
	int msyncs, datasyncs;
	uintptr_t lo, hi;   /* union of msync'ed ranges */
	int misaligned;
} rec;

static int record_msync(void *addr, size_t len, int flags)
{
	uintptr_t a = (uintptr_t)addr;

	rec.msyncs++;
	if (a % TH_PAGE)
		rec.misaligned++;
	if (!rec.lo || a < rec.lo)
		rec.lo = a;
	if (a + len > rec.hi)
		rec.hi = a + len;
	return msync(addr, len, flags) == 0 ? 0 : -errno;
}

static int record_fdatasync(int fd)
{
	rec.datasyncs++;
	return fdatasync(fd) == 0 ? 0 : -errno;
}

static int record_fsync(int fd)
{
	rec.datasyncs++;
	return fsync(fd) == 0 ? 0 : -errno;
}

Test(flush, flush_range_rounds_out_to_pages)
{
	/*
	 * On the blocking backend the sync goes through the system-call table,
	 * where the range it covers can be seen: it must start on a page
	 * boundary at or before the asked offset and reach past its end.
	 */
	TH_PATH(p, "round");
	mmapio_map *map;
	uintptr_t base;
	const uint64_t off = 2 * 4096 + 100, len = 4096 + 50;

	th_force_fallback();
	map = th_open_pattern(p, LEN, 44, MMAPIO_READ_WRITE);
	base = (uintptr_t)mmapio_base(map);
	mmapio__sys.msync = record_msync;
	mmapio__sys.fdatasync = record_fdatasync;
	mmapio__sys.fsync = record_fsync;
	memset(&rec, 0, sizeof(rec));
	TH_ASSERT_RC(mmapio_flush_range(map, off, len), 0);
	mmapio__sys_reset();
	cr_assert(rec.msyncs + rec.datasyncs > 0, "flush_range synced nothing");
	cr_assert_eq(rec.misaligned, 0, "msync given an address not on a page boundary");
	if (rec.msyncs) {
		cr_assert_leq(rec.lo, base + off - off % TH_PAGE);
		cr_assert_geq(rec.hi, base + off + len, "msync'ed up to %#lx, range ends at %#lx",
			      (unsigned long)rec.hi, (unsigned long)(base + off + len));
	}
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(flush, read_only_map_flushes_to_zero)
{
	TH_PATH(p, "ro");
	unsigned char *want = th_malloc(LEN);
	mmapio_map *map = th_open_pattern(p, LEN, 45, MMAPIO_READ_ONLY);

	th_fill(want, LEN, 0, 45);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_flush_range(map, 10, 10), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(flush, copy_on_write_flush_never_reaches_the_file)
{
	TH_PATH(p, "cow");
	unsigned char *want = th_malloc(LEN);
	unsigned char got[8];
	mmapio_map *map = th_open_pattern(p, LEN, 46, MMAPIO_COPY_ON_WRITE);
	struct mmapio_view v;

	th_fill(want, LEN, 0, 46);
	TH_ASSERT_RC(mmapio_write(map, 0, "changed!", 8), 0);
	TH_ASSERT_RC(mmapio_view_write(map, 3 * 4096, 8, &v), 0);
	memcpy(v.data, "changed!", 8);
	mmapio_view_release(&v);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_flush_range(map, 0, 8), 0);
	th_assert_file_eq(p, want, LEN);
	/* The private copy still holds the change. */
	TH_ASSERT_RC(mmapio_read(map, 0, got, 8), 0);
	cr_assert_arr_eq(got, "changed!", 8);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

static int fail_msync(void *addr, size_t len, int flags)
{
	(void)addr;
	(void)len;
	(void)flags;
	return -EIO;
}

static int fail_sync(int fd)
{
	(void)fd;
	return -EIO;
}

Test(flush, write_back_error_is_sticky)
{
	/*
	 * The io_uring backend syncs through the kernel ring, not the table,
	 * so this test forces the blocking backend for its default ring.
	 */
	TH_PATH(p, "eio");
	mmapio_map *map;
	const char *reason = NULL;

	th_force_fallback();
	map = th_open_pattern(p, LEN, 47, MMAPIO_READ_WRITE);
	cr_assert_eq(mmapio_default_backend(&reason), MMAPIO_BACKEND_FALLBACK, "%s",
		     reason ? reason : "");
	TH_ASSERT_RC(mmapio_write(map, 0, "dirty", 5), 0);
	mmapio__sys.msync = fail_msync;
	mmapio__sys.fdatasync = fail_sync;
	mmapio__sys.fsync = fail_sync;
	TH_ASSERT_RC(mmapio_flush(map), -EIO);
	mmapio__sys_reset();

	/* The sync works again, but the data may be lost: keep reporting it. */
	TH_ASSERT_RC(mmapio_flush(map), -EIO);
	TH_ASSERT_RC(mmapio_flush_range(map, 0, 5), -EIO);
	TH_ASSERT_RC(mmapio_flush(map), -EIO);
	TH_ASSERT_RC(mmapio_close(map), 0);

	/* A new map of the same file starts clean. */
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

static int enospc_msync(void *addr, size_t len, int flags)
{
	(void)addr;
	(void)len;
	(void)flags;
	return -ENOSPC;
}

static int enospc_sync(int fd)
{
	(void)fd;
	return -ENOSPC;
}

Test(flush, range_flush_error_is_sticky)
{
	TH_PATH(p, "enospc");
	mmapio_map *map;

	th_force_fallback();
	map = th_open_pattern(p, LEN, 48, MMAPIO_READ_WRITE);
	TH_ASSERT_RC(mmapio_write(map, 4096, "dirty", 5), 0);
	mmapio__sys.msync = enospc_msync;
	mmapio__sys.fdatasync = enospc_sync;
	mmapio__sys.fsync = enospc_sync;
	TH_ASSERT_RC(mmapio_flush_range(map, 4096, 5), -ENOSPC);
	mmapio__sys_reset();
	TH_ASSERT_RC(mmapio_flush_range(map, 4096, 5), -ENOSPC);
	TH_ASSERT_RC(mmapio_flush(map), -ENOSPC);
	TH_ASSERT_RC(mmapio_close(map), 0);
}
