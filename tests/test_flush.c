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

/*
 * The synchronous flushes above run msync on the calling thread whatever
 * the engine, so this suite runs once.  The engine paths of a flush are a
 * ring's: each test below opens its ring on one engine by name, so one run
 * covers both, and the ring's counters prove which engine did the sync.
 */

/*
 * Writes a pattern through the map, flushes it through a ring on engine
 * with one whole-map flush and one of three scattered ranges, and checks
 * the completions, the counters of the engine, and the bytes another
 * descriptor reads after close.
 */
static void ring_flush_reaches_the_file(enum mmapio_backend engine)
{
	mmapio_ring *ring = th_open_engine_ring(engine);
	struct mmapio_range ranges[3] = { { 0, 10 }, { 5 * 4096 + 7, 8192 }, { LEN - 1, 1 } };
	unsigned char *want = th_malloc(LEN);
	struct mmapio_completion c[2];
	struct mmapio_ring_stats st;
	mmapio_map *map = NULL;
	TH_PATH(p, "ringflush");

	TH_ASSERT_RC(mmapio_create(p, LEN, NULL, &map), 0);
	th_fill(want, LEN, 0, 51);
	TH_ASSERT_RC(mmapio_write(map, 0, want, LEN), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, LEN, (void *)1), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, ranges, 3, (void *)2), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	th_reap_n(ring, c, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(c[i].op, MMAPIO_OP_FLUSH);
		cr_assert_eq(c[i].result, 0, "flush %p: %d (%s)", c[i].user_data, c[i].result,
			     mmapio_strerror(c[i].result));
	}
	cr_assert(c[0].user_data != c[1].user_data);
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	if (engine == MMAPIO_BACKEND_URING) {
		cr_assert_geq(st.uring_sqes, 2, "io_uring submitted %llu SQEs for two flushes",
			      (unsigned long long)st.uring_sqes);
		cr_assert_eq(st.blocking_ops, 0, "io_uring ran flushes with blocking calls");
	} else {
		cr_assert_eq(st.blocking_ops, 2);
		cr_assert_eq(st.uring_sqes, 0);
	}
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(flush, ring_flush_on_io_uring_reaches_the_file)
{
	ring_flush_reaches_the_file(MMAPIO_BACKEND_URING);
}

Test(flush, ring_flush_on_blocking_engine_reaches_the_file)
{
	ring_flush_reaches_the_file(MMAPIO_BACKEND_FALLBACK);
}

/*
 * A write-back error that a synchronous flush met stays with the map: a
 * ring flush on engine completes with it although the engine's own sync
 * succeeds, and so does an empty flush that never reaches the engine.
 */
static void remembered_error_reaches_ring_flushes(enum mmapio_backend engine)
{
	mmapio_ring *ring = th_open_engine_ring(engine);
	struct mmapio_completion c[2];
	mmapio_map *map;
	TH_PATH(p, "sticky");

	map = th_open_pattern(p, LEN, 52, MMAPIO_READ_WRITE);
	TH_ASSERT_RC(mmapio_write(map, 0, "dirty", 5), 0);
	mmapio__sys.msync = fail_msync;
	mmapio__sys.fdatasync = fail_sync;
	mmapio__sys.fsync = fail_sync;
	TH_ASSERT_RC(mmapio_flush_range(map, 0, 5), -EIO);
	mmapio__sys_reset();

	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 4096, 4096, (void *)1), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 0, (void *)2), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	th_reap_n(ring, c, 2);
	for (int i = 0; i < 2; i++)
		cr_assert_eq(c[i].result, -EIO, "flush %p: %d (%s), expected the remembered -EIO",
			     c[i].user_data, c[i].result, mmapio_strerror(c[i].result));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(flush, remembered_error_reaches_io_uring_ring_flushes)
{
	remembered_error_reaches_ring_flushes(MMAPIO_BACKEND_URING);
}

Test(flush, remembered_error_reaches_blocking_ring_flushes)
{
	remembered_error_reaches_ring_flushes(MMAPIO_BACKEND_FALLBACK);
}

/*
 * A write-back error of the blocking engine's own sync arrives in the
 * completion and sticks for the synchronous flushes after it.  (The
 * io_uring engine's sync runs in the kernel, where no error can be
 * injected before its test hook exists; issue 7, item 4.)
 */
Test(flush, blocking_ring_flush_error_arrives_and_sticks)
{
	mmapio_ring *ring = th_open_engine_ring(MMAPIO_BACKEND_FALLBACK);
	struct mmapio_completion c;
	mmapio_map *map;
	TH_PATH(p, "ringeio");

	map = th_open_pattern(p, LEN, 53, MMAPIO_READ_WRITE);
	TH_ASSERT_RC(mmapio_write(map, 8192, "dirty", 5), 0);
	mmapio__sys.msync = fail_msync;
	mmapio__sys.fdatasync = fail_sync;
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 8192, 5, NULL), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	th_reap_n(ring, &c, 1);
	mmapio__sys_reset();
	cr_assert_eq(c.result, -EIO, "completion %d (%s)", c.result, mmapio_strerror(c.result));
	TH_ASSERT_RC(mmapio_flush(map), -EIO);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
}
