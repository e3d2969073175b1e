/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Barriers between single operations, on both engines (each test names
 * the one it opens): on io_uring a write, a barrier and a flush go to the
 * kernel as one linked chain and complete while the caller does not call
 * the ring; a failed write cancels the flush linked behind it, which does
 * not run, and the group after the next barrier too; a short write still
 * runs the flush, after the rest of the write; a flush whose map holds a
 * sticky write-back error is not linked; cancel of the linked flush is
 * -EALREADY.  The blocking engine holds groups as before, and every
 * outcome a caller sees is the same there.
 */
#include "helpers.h"
#include "sys.h"
#include "uring/hooks.h"

#include <sys/mman.h>

TestSuite(ring_link, .init = th_setup, .fini = th_teardown, .timeout = 60);

#define PAGE 4096u
#define UD(i) ((void *)(uintptr_t)(0x1000 + (i)))
#define UD_INDEX(p) ((uintptr_t)(p) - 0x1000)

/* Calls of the blocking engine's system calls, counted by the stubs below. */
static unsigned n_pwrite, n_sync;

static int64_t pwrite_eio(int fd, const void *buf, size_t len, uint64_t off)
{
	(void)fd, (void)buf, (void)len, (void)off;
	n_pwrite++;
	return -EIO;
}

/* Writes at most 1000 bytes per call: every write of more is short. */
static int64_t pwrite_short(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n = pwrite(fd, buf, len < 1000 ? len : 1000, (off_t)off);

	n_pwrite++;
	return n < 0 ? -errno : n;
}

static int msync_counted(void *addr, size_t len, int flags)
{
	n_sync++;
	return msync(addr, len, flags) < 0 ? -errno : 0;
}

static int msync_eio(void *addr, size_t len, int flags)
{
	(void)addr, (void)len, (void)flags;
	n_sync++;
	return -EIO;
}

/* Opens a ring on engine with the hooks and the system-call table reset. */
static mmapio_ring *open_on(enum mmapio_backend engine)
{
	mmapio__ur_hooks_reset();
	mmapio__sys_reset();
	n_pwrite = n_sync = 0;
	if (engine == MMAPIO_BACKEND_FALLBACK)
		mmapio__sys.msync = msync_counted;
	return th_open_engine_ring(engine);
}

/* Closes ring and resets the hooks and the table. */
static void close_on(mmapio_ring *ring)
{
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	mmapio__ur_hooks_reset();
	mmapio__sys_reset();
}

/*
 * Waits for n completions, stores each result by its user_data index and
 * the order they came in, and checks each came exactly once.
 */
static void reap_all(mmapio_ring *ring, unsigned n, int *res, unsigned *order)
{
	struct mmapio_completion c[8];
	unsigned seen[8] = { 0 };
	int rc;

	cr_assert_leq(n, 8);
	rc = mmapio_ring_wait(ring, c, n, n, 30000);
	cr_assert_eq(rc, (int)n, "wait for %u: %d (%s)", n, rc, mmapio_strerror(rc));
	for (unsigned k = 0; k < n; k++) {
		uintptr_t i = UD_INDEX(c[k].user_data);

		cr_assert_lt(i, n);
		seen[i]++;
		res[i] = c[k].result;
		if (order != NULL)
			order[k] = (unsigned)i;
	}
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(seen[i], 1, "operation %u completed %u times", i, seen[i]);
}

/* A map of a 4-page pattern file (seed 5) at name. */
static mmapio_map *open_map(const char *path)
{
	return th_open_pattern(path, 4 * PAGE, 5, MMAPIO_READ_WRITE);
}

/*
 * Asserts that [off, off + len) of the file at path holds src, and the rest
 * of its 4 pages the pattern.
 */
static void assert_file(const char *path, uint64_t off, const unsigned char *src, size_t len)
{
	unsigned char *expect = th_malloc(4 * PAGE);

	th_fill(expect, 4 * PAGE, 0, 5);
	if (len > 0)
		memcpy(expect + off, src, len);
	th_assert_file_eq(path, expect, 4 * PAGE);
	free(expect);
}

static void write_then_flush_without_the_caller(enum mmapio_backend engine)
{
	mmapio_ring *ring = open_on(engine);
	TH_PATH(p, "f");
	mmapio_map *map = open_map(p);
	struct mmapio_completion c[4];
	unsigned char src[PAGE];
	int rc;

	th_fill(src, PAGE, 0, 9);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, src, PAGE, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, PAGE, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	/* No call of the ring while both run, then one peek finds both. */
	usleep(300 * 1000);
	rc = mmapio_ring_peek(ring, c, 4);
	cr_assert_eq(rc, 2, "one peek after the sleep: %d completions", rc);
	cr_assert_eq(c[0].user_data, UD(0));
	cr_assert_eq(c[1].user_data, UD(1));
	cr_assert_eq(c[0].result, 0);
	cr_assert_eq(c[1].result, 0);
	if (engine == MMAPIO_BACKEND_URING) {
		cr_assert_eq(mmapio__ur_hooks.linked[MMAPIO_OP_FLUSH], 1, "the flush went linked");
		cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_FLUSH][MMAPIO__UR_FSYNC], 1);
		cr_assert_eq(mmapio__ur_hooks.link_cancelled[MMAPIO_OP_FLUSH], 0);
	} else {
		cr_assert_eq(n_sync, 1);
	}
	TH_ASSERT_RC(mmapio_close(map), 0);
	close_on(ring);
	assert_file(p, 0, src, PAGE);
}

Test(ring_link, write_barrier_flush_completes_without_the_caller_uring)
{
	write_then_flush_without_the_caller(MMAPIO_BACKEND_URING);
}

Test(ring_link, write_barrier_flush_completes_without_the_caller_blocking)
{
	write_then_flush_without_the_caller(MMAPIO_BACKEND_FALLBACK);
}

static void failed_write_cancels_what_follows(enum mmapio_backend engine)
{
	mmapio_ring *ring = open_on(engine);
	TH_PATH(p, "f");
	mmapio_map *map = open_map(p);
	unsigned char a[PAGE], b[PAGE];
	int res[3];

	th_fill(a, PAGE, 0, 9);
	th_fill(b, PAGE, 0, 11);
	if (engine == MMAPIO_BACKEND_URING)
		mmapio__ur_hooks.result[MMAPIO_OP_WRITE][MMAPIO__UR_WRITE] = -EIO;
	else
		mmapio__sys.pwrite = pwrite_eio;
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, a, PAGE, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, PAGE, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, PAGE, b, PAGE, UD(2)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	reap_all(ring, 3, res, NULL);
	cr_assert_eq(res[0], -EIO);
	cr_assert_eq(res[1], -ECANCELED, "flush: %d", res[1]);
	cr_assert_eq(res[2], -ECANCELED, "write after the second barrier: %d", res[2]);
	if (engine == MMAPIO_BACKEND_URING) {
		/* One chain of three, of which only the first request ran. */
		cr_assert_eq(mmapio__ur_hooks.linked[MMAPIO_OP_FLUSH], 1);
		cr_assert_eq(mmapio__ur_hooks.linked[MMAPIO_OP_WRITE], 1);
		cr_assert_eq(mmapio__ur_hooks.link_cancelled[MMAPIO_OP_FLUSH], 1);
		cr_assert_eq(mmapio__ur_hooks.link_cancelled[MMAPIO_OP_WRITE], 1);
		cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_FLUSH][MMAPIO__UR_FSYNC], 0,
			     "no fsync ran");
		cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_WRITE][MMAPIO__UR_WRITE], 1);
	} else {
		cr_assert_eq(n_pwrite, 1);
		cr_assert_eq(n_sync, 0, "no flush ran");
	}
	TH_ASSERT_RC(mmapio_close(map), 0);
	close_on(ring);
	/* Neither write reached the file. */
	assert_file(p, 0, NULL, 0);
}

Test(ring_link, failed_write_cancels_the_linked_flush_and_the_next_group_uring)
{
	failed_write_cancels_what_follows(MMAPIO_BACKEND_URING);
}

Test(ring_link, failed_write_cancels_the_linked_flush_and_the_next_group_blocking)
{
	failed_write_cancels_what_follows(MMAPIO_BACKEND_FALLBACK);
}

static void short_write_still_flushes(enum mmapio_backend engine)
{
	mmapio_ring *ring = open_on(engine);
	TH_PATH(p, "f");
	mmapio_map *map = open_map(p);
	unsigned char src[2 * PAGE];
	unsigned order[2];
	int res[2];

	th_fill(src, sizeof(src), 0, 13);
	if (engine == MMAPIO_BACKEND_URING)
		mmapio__ur_hooks.short_write = 1000;
	else
		mmapio__sys.pwrite = pwrite_short;
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, PAGE, src, sizeof(src), UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 4 * PAGE, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	reap_all(ring, 2, res, order);
	cr_assert_eq(res[0], 0);
	cr_assert_eq(res[1], 0);
	cr_assert_eq(order[0], 0, "the write completes first");
	if (engine == MMAPIO_BACKEND_URING) {
		/* Cut at 1000 bytes, the kernel cancelled the flush; it ran after the rest. */
		cr_assert_eq(mmapio__ur_hooks.linked[MMAPIO_OP_FLUSH], 1);
		cr_assert_eq(mmapio__ur_hooks.link_cancelled[MMAPIO_OP_FLUSH], 1);
		cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_WRITE][MMAPIO__UR_WRITE], 2);
		cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_FLUSH][MMAPIO__UR_FSYNC], 1);
	} else {
		cr_assert_eq(n_pwrite, 9);
		cr_assert_eq(n_sync, 1);
	}
	TH_ASSERT_RC(mmapio_close(map), 0);
	close_on(ring);
	assert_file(p, PAGE, src, sizeof(src));
}

Test(ring_link, short_write_runs_the_flush_after_the_rest_uring)
{
	short_write_still_flushes(MMAPIO_BACKEND_URING);
}

Test(ring_link, short_write_runs_the_flush_after_the_rest_blocking)
{
	short_write_still_flushes(MMAPIO_BACKEND_FALLBACK);
}

/* Makes map's sticky write-back error -EIO with a flush that fails. */
static void make_sticky(mmapio_ring *ring, mmapio_map *map, enum mmapio_backend engine)
{
	int res[1];

	if (engine == MMAPIO_BACKEND_URING)
		mmapio__ur_hooks.result[MMAPIO_OP_FLUSH][MMAPIO__UR_FSYNC] = -EIO;
	else
		mmapio__sys.msync = msync_eio;
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, PAGE, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	reap_all(ring, 1, res, NULL);
	cr_assert_eq(res[0], -EIO);
	mmapio__ur_hooks.result[MMAPIO_OP_FLUSH][MMAPIO__UR_FSYNC] = 0;
	mmapio__sys.msync = msync_counted;
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
}

static void sticky_flush_is_not_linked(enum mmapio_backend engine)
{
	mmapio_ring *ring = open_on(engine);
	TH_PATH(p, "f");
	mmapio_map *map = open_map(p);
	unsigned char src[PAGE];
	int res[2];

	make_sticky(ring, map, engine);
	n_pwrite = n_sync = 0;
	th_fill(src, PAGE, 0, 17);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, PAGE, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, PAGE, src, PAGE, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	reap_all(ring, 2, res, NULL);
	cr_assert_eq(res[0], -EIO, "the flush reports the sticky error: %d", res[0]);
	cr_assert_eq(res[1], -ECANCELED, "the write after it: %d", res[1]);
	if (engine == MMAPIO_BACKEND_URING) {
		cr_assert_eq(mmapio__ur_hooks.linked[MMAPIO_OP_WRITE], 0, "not linked");
		cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_WRITE][MMAPIO__UR_WRITE], 0);
	} else {
		cr_assert_eq(n_pwrite, 0);
	}
	TH_ASSERT_RC(mmapio_close(map), 0);
	close_on(ring);
	assert_file(p, 0, NULL, 0);
}

Test(ring_link, flush_with_a_sticky_error_is_not_linked_uring)
{
	sticky_flush_is_not_linked(MMAPIO_BACKEND_URING);
}

Test(ring_link, flush_with_a_sticky_error_is_not_linked_blocking)
{
	sticky_flush_is_not_linked(MMAPIO_BACKEND_FALLBACK);
}

Test(ring_link, cancel_of_the_linked_flush_is_ealready_uring)
{
	mmapio_ring *ring = open_on(MMAPIO_BACKEND_URING);
	TH_PATH(p, "f");
	mmapio_map *map = open_map(p);
	unsigned char src[PAGE];
	int res[2];

	th_fill(src, PAGE, 0, 19);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, src, PAGE, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, PAGE, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	TH_ASSERT_RC(mmapio_ring_cancel(ring, UD(1)), -EALREADY);
	reap_all(ring, 2, res, NULL);
	cr_assert_eq(res[0], 0);
	cr_assert_eq(res[1], 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	close_on(ring);
	assert_file(p, 0, src, PAGE);
}

/*
 * The commit shape of benchmark W10: the write and flush of the meta page
 * go linked when the data flush before them completes.
 */
Test(ring_link, commit_links_meta_write_and_flush_uring)
{
	mmapio_ring *ring = open_on(MMAPIO_BACKEND_URING);
	TH_PATH(p, "f");
	mmapio_map *map = open_map(p);
	struct mmapio_range ranges[2] = { { 0, PAGE }, { 3 * PAGE, PAGE } }; /* not merged */
	unsigned char src[PAGE];
	unsigned order[3];
	int res[3];

	th_fill(src, PAGE, 0, 21);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, ranges, 2, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, src, PAGE, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, PAGE, UD(2)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	reap_all(ring, 3, res, order);
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(res[i], 0, "operation %u: %d", i, res[i]);
		cr_assert_eq(order[i], i, "completion %u is operation %u", i, order[i]);
	}
	cr_assert_eq(mmapio__ur_hooks.linked[MMAPIO_OP_WRITE], 0, "behind a flush of ranges");
	cr_assert_eq(mmapio__ur_hooks.linked[MMAPIO_OP_FLUSH], 1);
	TH_ASSERT_RC(mmapio_close(map), 0);
	close_on(ring);
	assert_file(p, 0, src, PAGE);
}

/*
 * An operation prepared into the linked group after the submit waits for
 * the group before it, as in a held group: it completes after the write.
 */
static void late_member_waits(enum mmapio_backend engine)
{
	mmapio_ring *ring = open_on(engine);
	TH_PATH(p, "f");
	mmapio_map *map = open_map(p);
	unsigned char src[PAGE];
	unsigned order[3];
	int res[3];

	th_fill(src, PAGE, 0, 23);
	if (engine == MMAPIO_BACKEND_URING)
		mmapio__ur_hooks.short_write = 100; /* the write takes two requests */
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, src, PAGE, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, PAGE, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 4 * PAGE, UD(2)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	reap_all(ring, 3, res, order);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(res[i], 0, "operation %u: %d", i, res[i]);
	cr_assert_eq(order[0], 0, "the write completes first");
	if (engine == MMAPIO_BACKEND_URING)
		cr_assert_eq(mmapio__ur_hooks.linked[MMAPIO_OP_FLUSH], 1);
	TH_ASSERT_RC(mmapio_close(map), 0);
	close_on(ring);
	assert_file(p, 0, src, PAGE);
}

Test(ring_link, operation_added_to_a_linked_group_waits_uring)
{
	late_member_waits(MMAPIO_BACKEND_URING);
}

Test(ring_link, operation_added_to_a_linked_group_waits_blocking)
{
	late_member_waits(MMAPIO_BACKEND_FALLBACK);
}

/* A flush that fails cancels the write linked behind it, which does not run. */
Test(ring_link, failed_flush_cancels_the_linked_write_uring)
{
	mmapio_ring *ring = open_on(MMAPIO_BACKEND_URING);
	TH_PATH(p, "f");
	mmapio_map *map = open_map(p);
	unsigned char src[PAGE];
	int res[2];

	th_fill(src, PAGE, 0, 29);
	mmapio__ur_hooks.result[MMAPIO_OP_FLUSH][MMAPIO__UR_FSYNC] = -EIO;
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, PAGE, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, PAGE, src, PAGE, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	reap_all(ring, 2, res, NULL);
	cr_assert_eq(res[0], -EIO);
	cr_assert_eq(res[1], -ECANCELED, "write: %d", res[1]);
	cr_assert_eq(mmapio__ur_hooks.linked[MMAPIO_OP_WRITE], 1);
	cr_assert_eq(mmapio__ur_hooks.link_cancelled[MMAPIO_OP_WRITE], 1);
	cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_WRITE][MMAPIO__UR_WRITE], 0, "no write ran");
	TH_ASSERT_RC(mmapio_close(map), 0);
	close_on(ring);
	assert_file(p, 0, NULL, 0);
}

/*
 * A ring whose first enter fails for good (a seccomp filter after the
 * setup, say): the chain never reached the kernel, and each operation
 * still completes exactly once, with an error, the write never run.
 */
Test(ring_link, chain_on_a_ring_that_breaks_completes_once_each_uring)
{
	mmapio_ring *ring = open_on(MMAPIO_BACKEND_URING);
	TH_PATH(p, "f");
	mmapio_map *map = open_map(p);
	unsigned char src[PAGE];
	struct mmapio_ring_stats st;
	int res[2];

	th_fill(src, PAGE, 0, 31);
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	mmapio__ur_hooks.enter_error = -EPERM;
	mmapio__ur_hooks.enter_after = (unsigned)st.uring_enters;
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, PAGE, src, PAGE, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 4 * PAGE, UD(1)), 0);
	cr_assert_geq(mmapio_ring_submit(ring), 0);
	reap_all(ring, 2, res, NULL);
	cr_assert_lt(res[0], 0, "write: %d", res[0]);
	cr_assert_lt(res[1], 0, "flush: %d", res[1]);
	cr_assert_eq(mmapio__ur_hooks.linked[MMAPIO_OP_FLUSH], 1, "queued as a chain");
	cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_WRITE][MMAPIO__UR_WRITE], 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	close_on(ring);
	assert_file(p, 0, NULL, 0);
}

/*
 * A long chain of single groups (write, flush, write, flush, ...) on a
 * ring of depth 3: chains are cut where the window could not start them
 * at once, the rest is held, and everything completes in order, once.
 */
static void long_chain(enum mmapio_backend engine, unsigned depth)
{
	struct mmapio_ring_options o = { .queue_depth = depth, .backend = engine };
	mmapio_ring *ring = NULL;
	TH_PATH(p, "f");
	mmapio_map *map = open_map(p);
	static unsigned char src[4][PAGE];
	struct mmapio_completion c[8];
	unsigned got = 0;
	int rc;

	mmapio__ur_hooks_reset();
	if (engine == MMAPIO_BACKEND_URING && !MMAPIO_TEST_HAVE_URING)
		TH_SKIP("io_uring engine not built");
	rc = mmapio_ring_open(&o, &ring);
	if (engine == MMAPIO_BACKEND_URING && (rc == -EPERM || rc == -ENOSYS || rc == -ENOMEM))
		TH_SKIP("io_uring cannot be set up here: %s", mmapio_strerror(rc));
	cr_assert_eq(rc, 0);
	for (unsigned i = 0; i < 4; i++) {
		th_fill(src[i], PAGE, 0, 40 + i);
		if (i > 0)
			TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
		TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, i * PAGE, src[i], PAGE, UD(2 * i)), 0);
		TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
		TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, i * PAGE, PAGE, UD(2 * i + 1)), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), 8);
	while (got < 8) {
		rc = mmapio_ring_wait(ring, c + got, 8 - got, 1, 30000);
		cr_assert_gt(rc, 0, "wait: %d", rc);
		got += (unsigned)rc;
	}
	for (unsigned k = 0; k < 8; k++) {
		cr_assert_eq(c[k].user_data, UD(k), "completion %u is %p", k, c[k].user_data);
		cr_assert_eq(c[k].result, 0, "operation %u: %d", k, c[k].result);
	}
	if (engine == MMAPIO_BACKEND_URING)
		cr_assert_geq(mmapio__ur_hooks.linked[MMAPIO_OP_FLUSH] +
				      mmapio__ur_hooks.linked[MMAPIO_OP_WRITE], 2);
	TH_ASSERT_RC(mmapio_close(map), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	for (unsigned i = 0; i < 4; i++) {
		unsigned char got_page[PAGE];
		int fd = open(p, O_RDONLY | O_CLOEXEC);

		cr_assert_geq(fd, 0);
		cr_assert_eq(pread(fd, got_page, PAGE, (off_t)(i * PAGE)), (ssize_t)PAGE);
		close(fd);
		cr_assert_eq(memcmp(got_page, src[i], PAGE), 0, "page %u", i);
	}
}

Test(ring_link, long_chain_on_a_small_window_uring)
{
	long_chain(MMAPIO_BACKEND_URING, 3);
}

Test(ring_link, long_chain_on_the_default_window_uring)
{
	long_chain(MMAPIO_BACKEND_URING, 0);
}

Test(ring_link, long_chain_blocking)
{
	long_chain(MMAPIO_BACKEND_FALLBACK, 3);
}
