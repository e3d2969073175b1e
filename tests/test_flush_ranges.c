/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmapio_ring_prep_flush_ranges on each engine: the ranges are merged by
 * the header's rule and each written back on its own, the disk is waited
 * for once (one msync after the sync_file_range calls on the blocking
 * engine, one datasync after the IORING_OP_SYNC_FILE_RANGE requests on
 * io_uring), the pages between far ranges stay dirty, failures arrive in
 * the one completion, and a kernel without IORING_OP_SYNC_FILE_RANGE gets
 * the blocking engine.  Kept apart from test_flush.c, whose single-range
 * flushes these do not share a fixture with.
 */
#include "helpers.h"

#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/syscall.h>

#include "uring/hooks.h"

TestSuite(flush_ranges, .init = th_setup, .fini = th_teardown, .timeout = 60);

#define PG 4096u
#define RMAP_PAGES 64u
#define MAX_CALLS 256u

/* IORING_OP_SYNC_FILE_RANGE; the tests include nothing of liburing. */
#define OP_SYNC_FILE_RANGE 8

/* The platform calls of the blocking engine, recorded as file offsets. */
struct calls {
	unsigned n;
	uint64_t off[MAX_CALLS];
	uint64_t len[MAX_CALLS];
};

static struct {
	struct mmapio__sys real;             /* the table before recording */
	unsigned char *base;                 /* the map's base, for msync */
	struct calls writeback, wait, msync;
	int fail_err;                        /* injected into ... */
	struct calls *fail_at;               /* ... the fail_nth call of this one */
	unsigned fail_nth;
} rec;

/* Counts a call; returns the injected error when it is the one to fail. */
static int record(struct calls *c, uint64_t off, uint64_t len)
{
	unsigned i = c->n++;

	if (i < MAX_CALLS) {
		c->off[i] = off;
		c->len[i] = len;
	}
	return c == rec.fail_at && i == rec.fail_nth ? rec.fail_err : 0;
}

static int rec_writeback(int fd, uint64_t off, uint64_t len)
{
	int r = record(&rec.writeback, off, len);

	return r < 0 ? r : rec.real.writeback(fd, off, len);
}

static int rec_wait(int fd, uint64_t off, uint64_t len)
{
	int r = record(&rec.wait, off, len);

	return r < 0 ? r : rec.real.writeback_wait(fd, off, len);
}

static int rec_msync(void *addr, size_t len, int flags)
{
	int r = record(&rec.msync, (uint64_t)((unsigned char *)addr - rec.base), len);

	return r < 0 ? r : rec.real.msync(addr, len, flags);
}

/* Starts recording the calls made for map; fails none. */
static void record_calls(mmapio_map *map)
{
	memset(&rec, 0, sizeof(rec));
	mmapio__sys_reset();
	rec.real = mmapio__sys;
	rec.base = mmapio_base(map);
	mmapio__sys.writeback = rec_writeback;
	mmapio__sys.writeback_wait = rec_wait;
	mmapio__sys.msync = rec_msync;
}

/*
 * Submits what is prepared (one flush_ranges with user_data ud), reaps its
 * one completion and checks that no second one follows.  Returns its
 * result.
 */
static int run_one(mmapio_ring *ring, void *ud)
{
	struct mmapio_completion c, extra;
	struct mmapio_ring_stats st;

	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	th_reap_n(ring, &c, 1);
	cr_assert_eq(c.op, MMAPIO_OP_FLUSH);
	cr_assert_eq(c.user_data, ud);
	TH_ASSERT_RC(mmapio_ring_peek(ring, &extra, 1), 0);
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	cr_assert_eq(st.completed, st.prepared, "%llu completions for %llu operations",
		     (unsigned long long)st.completed, (unsigned long long)st.prepared);
	return c.result;
}

static void skip_unless_4k_pages(void)
{
	if (TH_PAGE != PG)
		TH_SKIP("the ranges below are laid out for 4 KiB pages, not %zu", TH_PAGE);
}

/* Checks one recorded call against the range expected of it. */
static void assert_call(const struct calls *c, unsigned i, const struct mmapio_range *want,
			const char *what)
{
	cr_assert(c->off[i] == want->off && c->len[i] == want->len,
		  "%s %u over [%llu, +%llu), expected [%llu, +%llu)", what, i,
		  (unsigned long long)c->off[i], (unsigned long long)c->len[i],
		  (unsigned long long)want->off, (unsigned long long)want->len);
}

/* ------------------------------------------------------------------------ */
/* Merging, and which calls make the ranges durable                         */
/* ------------------------------------------------------------------------ */

/*
 * Unsorted, overlapping, adjacent, near (a gap of one page), far and empty
 * ranges, and the page ranges the header's rule merges them into.
 */
static const struct mmapio_range scattered[] = {
	{ 40 * PG + 3, 10 },       /* page 40 */
	{ 0, 1 },                  /* page 0 ... */
	{ PG, PG },                /* ... and the adjacent page 1 */
	{ 21 * PG + 5, 100 },      /* inside the next one */
	{ 20 * PG, 2 * PG },       /* pages 20-21 */
	{ 30 * PG, 0 },            /* empty: skipped */
	{ 5 * PG, 1 },             /* 3 pages after page 1: its own */
	{ 50 * PG + 7, 1 },        /* pages 50 and 52: a gap of 1 page, merged */
	{ 52 * PG, 1 },
	{ 56 * PG, 1 },            /* a gap of 2 pages after 52: its own */
	{ RMAP_PAGES * PG - 1, 1 } /* the last byte */
};
static const struct mmapio_range merged[] = {
	{ 0, 2 * PG }, { 5 * PG, PG }, { 20 * PG, 2 * PG }, { 40 * PG, PG },
	{ 50 * PG, 3 * PG }, { 56 * PG, PG }, { (RMAP_PAGES - 1) * PG, PG },
};

/*
 * Dirties every byte of every range, flushes them with one
 * prep_flush_ranges on engine and checks: one completion with 0; on the
 * blocking engine write-back started over each merged range, then waited
 * for over each, then one msync of the first (msync of each merged range
 * where the platform is the portable one); on io_uring no platform call
 * and at least two requests per merged range plus the datasync; and the
 * bytes another descriptor reads.
 */
static void syncs_each_merged_range(enum mmapio_backend engine)
{
	const size_t len = RMAP_PAGES * PG;
	const size_t nr = sizeof(scattered) / sizeof(scattered[0]);
	const unsigned nm = sizeof(merged) / sizeof(merged[0]);
	mmapio_ring *ring = th_open_engine_ring(engine);
	unsigned char *want = th_malloc(len);
	struct mmapio_ring_stats st;
	mmapio_map *map;
	TH_PATH(p, "ranges");

	skip_unless_4k_pages();
	map = th_open_pattern(p, len, 61, MMAPIO_READ_WRITE);
	th_fill(want, len, 0, 61);
	for (size_t i = 0; i < nr; i++) {
		memset(want + scattered[i].off, (int)(0xa0 + i), (size_t)scattered[i].len);
		TH_ASSERT_RC(mmapio_write(map, scattered[i].off, want + scattered[i].off,
					  (size_t)scattered[i].len), 0);
	}
	record_calls(map);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, scattered, nr, (void *)7), 0);
	TH_ASSERT_RC(run_one(ring, (void *)7), 0);
	mmapio__sys_reset();
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	if (engine == MMAPIO_BACKEND_URING) {
		cr_assert_eq(rec.writeback.n + rec.wait.n + rec.msync.n, 0,
			     "io_uring made platform calls");
		cr_assert_geq(st.uring_sqes, 2 * nm + 1, "%llu SQEs for %u ranges",
			      (unsigned long long)st.uring_sqes, nm);
		cr_assert_eq(st.blocking_ops, 0);
	} else if (MMAPIO_TEST_PORTABLE) {
		cr_assert_eq(rec.msync.n, nm, "%u msyncs for %u merged ranges", rec.msync.n, nm);
		for (unsigned i = 0; i < nm; i++)
			assert_call(&rec.msync, i, &merged[i], "msync");
	} else {
		cr_assert_eq(rec.writeback.n, nm, "%u write-back starts", rec.writeback.n);
		cr_assert_eq(rec.wait.n, nm, "%u write-back waits", rec.wait.n);
		for (unsigned i = 0; i < nm; i++) {
			assert_call(&rec.writeback, i, &merged[i], "write-back start");
			assert_call(&rec.wait, i, &merged[i], "write-back wait");
		}
		cr_assert_eq(rec.msync.n, 1, "%u msyncs: the disk waited for more than once",
			     rec.msync.n);
		assert_call(&rec.msync, 0, &merged[0], "msync");
	}
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, len);
	free(want);
}

Test(flush_ranges, syncs_each_merged_range_on_io_uring)
{
	syncs_each_merged_range(MMAPIO_BACKEND_URING);
}

Test(flush_ranges, syncs_each_merged_range_on_blocking_engine)
{
	syncs_each_merged_range(MMAPIO_BACKEND_FALLBACK);
}

/*
 * More far-apart ranges than io_uring keeps in flight for one stage (the
 * rest go as earlier ones complete), in descending order, each dirtied:
 * one completion, every range's bytes in the file.  Then argument errors,
 * with nothing prepared, and only empty ranges, which complete with 0.
 */
static void many_ranges(enum mmapio_backend engine)
{
	enum { N = 100 };
	const size_t len = (size_t)N * 4 * PG;
	mmapio_ring *ring = th_open_engine_ring(engine);
	struct mmapio_range *r = th_malloc(N * sizeof(*r));
	unsigned char *want = th_malloc(len);
	struct mmapio_ring_stats st;
	mmapio_map *map;
	TH_PATH(p, "many");

	skip_unless_4k_pages();
	map = th_open_pattern(p, len, 62, MMAPIO_READ_WRITE);
	th_fill(want, len, 0, 62);
	for (unsigned i = 0; i < N; i++) {
		r[i].off = (uint64_t)(N - 1 - i) * 4 * PG + 11;
		r[i].len = 8;
		memset(want + r[i].off, 0x5a, 8);
		TH_ASSERT_RC(mmapio_write(map, r[i].off, want + r[i].off, 8), 0);
	}
	record_calls(map);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, r, N, NULL), 0);
	TH_ASSERT_RC(run_one(ring, NULL), 0);
	mmapio__sys_reset();
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	if (engine == MMAPIO_BACKEND_URING)
		cr_assert_geq(st.uring_sqes, 2 * N + 1);
	else if (MMAPIO_TEST_PORTABLE)
		cr_assert_eq(rec.msync.n, N, "%u msyncs for %d ranges", rec.msync.n, N);
	else
		cr_assert(rec.wait.n == N && rec.msync.n == 1,
			  "%u write-back waits and %u msyncs for %d ranges", rec.wait.n,
			  rec.msync.n, N);

	r[N / 2].off = len - 1;
	r[N / 2].len = 2;
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, r, N, NULL), -ERANGE);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, r, 0, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, NULL, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 0);
	r[0].len = 0;
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, r, 1, (void *)3), 0);
	TH_ASSERT_RC(run_one(ring, (void *)3), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, len);
	free(want);
	free(r);
}

Test(flush_ranges, many_ranges_on_io_uring)
{
	many_ranges(MMAPIO_BACKEND_URING);
}

Test(flush_ranges, many_ranges_on_blocking_engine)
{
	many_ranges(MMAPIO_BACKEND_FALLBACK);
}

/* ------------------------------------------------------------------------ */
/* Failures                                                                 */
/* ------------------------------------------------------------------------ */

/* Where a failure is injected. */
enum fail_where {
	FAIL_RANGE, /* the write-back (io_uring: every sync_file_range request) of a range */
	FAIL_SYNC   /* the one sync that waits for the disk */
};

/*
 * Three far-apart dirty ranges flushed with err injected: on io_uring by
 * the result hook of the SYNC_RANGE or FSYNC step, on the blocking engine
 * into the second range's write-back wait (msync on the portable platform)
 * or into the final msync.  The one completion carries err; a write-back
 * error (-EIO) sticks to the map for later flushes, a bad descriptor
 * (-EBADF) does not.
 */
static void failure_arrives_once(enum mmapio_backend engine, enum fail_where where, int err)
{
	const struct mmapio_range r[3] = { { 30 * PG, 1 }, { 0, 1 }, { 10 * PG, 1 } };
	mmapio_ring *ring = th_open_engine_ring(engine);
	mmapio_map *map;
	TH_PATH(p, "rangefail");

	skip_unless_4k_pages();
	map = th_open_pattern(p, RMAP_PAGES * PG, 63, MMAPIO_READ_WRITE);
	for (unsigned i = 0; i < 3; i++)
		TH_ASSERT_RC(mmapio_write(map, r[i].off, "dirty", 1), 0);
	record_calls(map);
	rec.fail_err = err;
	if (engine == MMAPIO_BACKEND_URING) {
		mmapio__sys_reset();
		mmapio__ur_hooks.result[MMAPIO_OP_FLUSH][where == FAIL_RANGE ? MMAPIO__UR_SYNC_RANGE
									     : MMAPIO__UR_FSYNC] = err;
	} else if (where == FAIL_RANGE) {
		rec.fail_at = MMAPIO_TEST_PORTABLE ? &rec.msync : &rec.wait;
		rec.fail_nth = 1;
	} else {
		rec.fail_at = &rec.msync;
		rec.fail_nth = MMAPIO_TEST_PORTABLE ? 2 : 0;
	}
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, r, 3, (void *)9), 0);
	cr_assert_eq(run_one(ring, (void *)9), err, "the completion did not carry %d", err);
	mmapio__ur_hooks_reset();
	mmapio__sys_reset();
	TH_ASSERT_RC(mmapio_flush(map), err == -EIO ? -EIO : 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(flush_ranges, range_write_back_error_arrives_once_on_io_uring)
{
	failure_arrives_once(MMAPIO_BACKEND_URING, FAIL_RANGE, -EIO);
}

Test(flush_ranges, range_write_back_error_arrives_once_on_blocking_engine)
{
	failure_arrives_once(MMAPIO_BACKEND_FALLBACK, FAIL_RANGE, -EIO);
}

Test(flush_ranges, final_sync_error_arrives_once_on_io_uring)
{
	failure_arrives_once(MMAPIO_BACKEND_URING, FAIL_SYNC, -EIO);
}

Test(flush_ranges, final_sync_error_arrives_once_on_blocking_engine)
{
	failure_arrives_once(MMAPIO_BACKEND_FALLBACK, FAIL_SYNC, -EIO);
}

Test(flush_ranges, bad_descriptor_arrives_once_and_does_not_stick_on_io_uring)
{
	failure_arrives_once(MMAPIO_BACKEND_URING, FAIL_RANGE, -EBADF);
}

Test(flush_ranges, bad_descriptor_arrives_once_and_does_not_stick_on_blocking_engine)
{
	failure_arrives_once(MMAPIO_BACKEND_FALLBACK, FAIL_RANGE, -EBADF);
}

/*
 * A kernel without IORING_OP_SYNC_FILE_RANGE (the mask_ops hook): the
 * several-range flush runs on the blocking engine, which waits for the
 * disk once too, rather than as a datasync per range; a single-range
 * flush stays on io_uring.
 */
Test(flush_ranges, without_sync_file_range_opcode_runs_on_blocking_engine)
{
	const struct mmapio_range r[2] = { { 0, 8 }, { 20 * PG, 8 } };
	const size_t len = RMAP_PAGES * PG;
	unsigned char *want = th_malloc(len);
	struct mmapio_ring_stats st;
	mmapio_ring *ring;
	mmapio_map *map;
	TH_PATH(p, "masked");

	skip_unless_4k_pages();
	mmapio__ur_hooks.mask_ops = (uint64_t)1 << OP_SYNC_FILE_RANGE;
	ring = th_open_engine_ring(MMAPIO_BACKEND_URING);
	map = th_open_pattern(p, len, 64, MMAPIO_READ_WRITE);
	th_fill(want, len, 0, 64);
	memset(want, 0x11, 8);
	memset(want + 20 * PG, 0x22, 8);
	TH_ASSERT_RC(mmapio_write(map, 0, want, 8), 0);
	TH_ASSERT_RC(mmapio_write(map, 20 * PG, want + 20 * PG, 8), 0);
	record_calls(map);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, r, 2, (void *)5), 0);
	TH_ASSERT_RC(run_one(ring, (void *)5), 0);
	mmapio__sys_reset();
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	cr_assert_eq(st.blocking_ops, 1, "%llu blocking operations",
		     (unsigned long long)st.blocking_ops);
	if (!MMAPIO_TEST_PORTABLE)
		cr_assert(rec.wait.n == 2 && rec.msync.n == 1,
			  "%u write-back waits and %u msyncs", rec.wait.n, rec.msync.n);

	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, PG, (void *)6), 0);
	TH_ASSERT_RC(run_one(ring, (void *)6), 0);
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	cr_assert_eq(st.blocking_ops, 1, "a single-range flush left io_uring");
	mmapio__ur_hooks_reset();
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, len);
	free(want);
}

/* ------------------------------------------------------------------------ */
/* Only the ranges are written back                                         */
/* ------------------------------------------------------------------------ */

/*
 * The largest page-cache folio this suite allows for: PMD size on x86-64,
 * where ext4 makes folios of up to 2 MiB.  Folios are naturally aligned,
 * so the one holding a byte at a multiple of 2 MiB lies in the 2 MiB from
 * there.
 */
#define FOLIO_MAX ((uint64_t)2 << 20)
#define CLEAN_LEN (8 * FOLIO_MAX)

/* cachestat(2)'s structures (Linux 6.5), which older headers lack. */
struct cs_range {
	uint64_t off, len;
};
struct cs_stat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

/*
 * Returns the dirty pages of [off, off + len) of fd's page cache, counting
 * pages under write-back as dirty (not yet on the disk); skips the test
 * where the kernel has no cachestat.
 */
static uint64_t dirty_pages(int fd, uint64_t off, uint64_t len)
{
	struct cs_range r = { off, len };
	struct cs_stat s;

	if (syscall(451, fd, &r, &s, 0) != 0)
		TH_SKIP("no cachestat(2) here (Linux 6.5): %s", strerror(errno));
	return s.nr_dirty + s.nr_writeback;
}

/*
 * A fully dirty 16 MiB map, flush_ranges of one page at its start, one at
 * 8 MiB and one at its end: those pages are clean afterwards, and the 4
 * MiB stretches between them (more than a folio away from each) are still
 * all dirty, so no span was synced.  On a tmpfs nothing is ever written
 * back, and the test skips.
 */
static void only_the_ranges_are_written_back(enum mmapio_backend engine)
{
	const struct mmapio_range r[3] = {
		{ CLEAN_LEN - PG, PG }, { 0, 10 }, { CLEAN_LEN / 2 + 7, 1 }
	};
	const struct mmapio_range middle[2] = {
		{ FOLIO_MAX, CLEAN_LEN / 2 - FOLIO_MAX },
		{ CLEAN_LEN / 2 + FOLIO_MAX, CLEAN_LEN / 2 - 2 * FOLIO_MAX },
	};
	mmapio_ring *ring = th_open_engine_ring(engine);
	unsigned char *buf = th_malloc(1 << 20);
	struct statfs sf;
	mmapio_map *map;
	int fd;
	TH_PATH(p, "clean");

	skip_unless_4k_pages();
	cr_assert_eq(statfs(th_dir, &sf), 0);
	if (sf.f_type == 0x01021994)
		TH_SKIP("%s is a tmpfs, which writes nothing back", th_dir);
	map = th_open_pattern(p, CLEAN_LEN, 65, MMAPIO_READ_WRITE);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	memset(buf, 0x77, 1 << 20);
	for (uint64_t off = 0; off < CLEAN_LEN; off += 1 << 20)
		TH_ASSERT_RC(mmapio_write(map, off, buf, 1 << 20), 0);
	cr_assert_eq(dirty_pages(fd, 0, CLEAN_LEN), CLEAN_LEN / PG,
		     "the map is not fully dirty before the flush");
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, r, 3, NULL), 0);
	TH_ASSERT_RC(run_one(ring, NULL), 0);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(dirty_pages(fd, r[i].off & ~(uint64_t)(PG - 1), PG), 0,
			     "the page at %llu is still dirty", (unsigned long long)r[i].off);
	for (unsigned i = 0; i < 2; i++)
		cr_assert_eq(dirty_pages(fd, middle[i].off, middle[i].len), middle[i].len / PG,
			     "pages of [%llu, +%llu) were written back: a span was synced",
			     (unsigned long long)middle[i].off, (unsigned long long)middle[i].len);
	close(fd);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	free(buf);
}

Test(flush_ranges, only_the_ranges_are_written_back_on_io_uring)
{
	only_the_ranges_are_written_back(MMAPIO_BACKEND_URING);
}

Test(flush_ranges, only_the_ranges_are_written_back_on_blocking_engine)
{
	only_the_ranges_are_written_back(MMAPIO_BACKEND_FALLBACK);
}
