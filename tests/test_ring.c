/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Rings: batched creation checked with stat, copies and their errors
 * arriving as completions, deletes, flushes, exactly-once completions with
 * the caller's pointer, reaping by peek, wait and eventfd, closing with work
 * in flight without leaking descriptors, and statistics showing which
 * backend really did the work.
 */
#include "helpers.h"

#include <poll.h>
#include <time.h>

TestSuite(ring, .init = th_setup, .fini = th_teardown, .timeout = 240);

static mmapio_ring *open_ring(unsigned depth)
{
	struct mmapio_ring_options o = { .queue_depth = depth };
	mmapio_ring *ring = NULL;
	int rc = mmapio_ring_open(&o, &ring);

	if (rc == -EPERM || rc == -ENOSYS)
		TH_SKIP("io_uring unavailable on this kernel (%s) with MMAPIO_BACKEND=%s",
			     mmapio_strerror(rc), th_backend_env());
	cr_assert_eq(rc, 0, "mmapio_ring_open: %d (%s)", rc, mmapio_strerror(rc));
	cr_assert_not_null(ring);
	return ring;
}

/*
 * Reaps exactly n completions (waiting up to 30 s in all) into out, and
 * checks that no more arrive.
 */
static void reap_all(mmapio_ring *ring, struct mmapio_completion *out, unsigned n)
{
	unsigned got = 0;
	struct mmapio_completion extra;

	while (got < n) {
		int rc = mmapio_ring_wait(ring, out + got, n - got, 1, 30000);

		cr_assert_gt(rc, 0, "mmapio_ring_wait after %u of %u completions: %d (%s)", got, n,
			     rc, mmapio_strerror(rc));
		got += (unsigned)rc;
	}
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
	TH_ASSERT_RC(mmapio_ring_peek(ring, &extra, 1), 0);
}

Test(ring, backend_and_reason_follow_environment)
{
	mmapio_ring *ring = open_ring(0);
	const char *reason = NULL;
	enum mmapio_backend b = mmapio_ring_backend(ring, &reason);

	cr_assert_not_null(reason);
	cr_assert_str_neq(reason, "");
	if (th_env_is_uring())
		cr_assert_eq(b, MMAPIO_BACKEND_URING, "backend %d: %s", b, reason);
	else if (strcmp(th_backend_env(), "fallback") == 0)
		cr_assert_eq(b, MMAPIO_BACKEND_FALLBACK, "backend %d: %s", b, reason);
	else
		cr_assert(b == MMAPIO_BACKEND_URING || b == MMAPIO_BACKEND_FALLBACK, "%d", b);
	cr_assert_eq(mmapio_ring_backend(ring, NULL), b);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring, batch_create_1000_files)
{
	enum { N = 1000 };
	mmapio_ring *ring = open_ring(0);
	struct mmapio_completion *c = th_malloc(N * sizeof(*c));
	static unsigned char seen[N];
	struct mmapio_options o = { .perm = 0600 };
	int rc;

	for (unsigned i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%04u", i);
		TH_PATH(p, name);
		/* Sizes 0, odd, page-sized and larger, every one different. */
		rc = mmapio_ring_prep_create(ring, p, (uint64_t)i * 131, i % 3 ? &o : NULL,
					     (void *)(uintptr_t)(i + 1));
		cr_assert_eq(rc, 0, "prep_create %u: %d", i, rc);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), N);
	reap_all(ring, c, N);
	for (unsigned i = 0; i < N; i++) {
		uintptr_t id = (uintptr_t)c[i].user_data;

		cr_assert_eq(c[i].op, MMAPIO_OP_CREATE);
		cr_assert(id >= 1 && id <= N, "unknown user_data %p", c[i].user_data);
		cr_assert_eq(seen[id - 1], 0, "file %lu completed twice", (unsigned long)(id - 1));
		seen[id - 1] = 1;
		cr_assert_eq(c[i].result, 0, "create %lu: %d (%s)", (unsigned long)(id - 1),
			     c[i].result, mmapio_strerror(c[i].result));
	}
	for (unsigned i = 0; i < N; i++) {
		char name[32];
		struct stat st;

		snprintf(name, sizeof(name), "f%04u", i);
		TH_PATH(p, name);
		cr_assert_eq(stat(p, &st), 0, "%s: %s", p, strerror(errno));
		cr_assert(S_ISREG(st.st_mode));
		cr_assert_eq((uint64_t)st.st_size, (uint64_t)i * 131, "%s: size %lld, expected %u",
			     p, (long long)st.st_size, i * 131);
		cr_assert_eq(st.st_mode & 0777, i % 3 ? 0600u : 0644u, "%s: mode %o", p,
			     st.st_mode & 0777);
	}
	{
		struct mmapio_ring_stats st;

		TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
		cr_assert_eq(st.prepared, N);
		cr_assert_eq(st.completed, N);
	}
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	free(c);
}

Test(ring, created_files_are_zero_filled_and_exclusive_honoured)
{
	mmapio_ring *ring = open_ring(8);
	struct mmapio_completion c[4];
	struct mmapio_options ex = { .flags = MMAPIO_CREATE_EXCLUSIVE };
	struct mmapio_options sp = { .flags = MMAPIO_CREATE_SPARSE | MMAPIO_CREATE_DURABLE };
	unsigned char old[100];
	unsigned char *zeros = calloc(1, 70000);
	TH_PATH(a, "a");
	TH_PATH(b, "b");
	TH_PATH(e, "exists");
	TH_PATH(t, "trunc");

	cr_assert_not_null(zeros);
	th_fill(old, sizeof(old), 0, 91);
	th_write_file(e, old, sizeof(old), 0644);
	th_write_pattern_file(t, 200000, 92);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, a, 70000, NULL, (void *)1), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, b, 70000, &sp, (void *)2), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, e, 10, &ex, (void *)3), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, t, 70000, NULL, (void *)4), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 4);
	reap_all(ring, c, 4);
	for (int i = 0; i < 4; i++) {
		int want = c[i].user_data == (void *)3 ? -EEXIST : 0;

		cr_assert_eq(c[i].result, want, "op %p: %d, expected %d", c[i].user_data,
			     c[i].result, want);
	}
	th_assert_file_eq(a, zeros, 70000);
	th_assert_file_eq(b, zeros, 70000);
	th_assert_file_eq(e, old, sizeof(old));
	/* Without EXCLUSIVE an existing file is truncated and extended to size. */
	th_assert_file_eq(t, zeros, 70000);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	free(zeros);
}

Test(ring, copies_of_every_size)
{
	static const uint64_t sizes[] = { 0, 1, 4095, 4096, (1u << 20) + 3, 64u << 20 };
	enum { N = sizeof(sizes) / sizeof(sizes[0]) };
	mmapio_ring *ring = open_ring(0);
	struct mmapio_completion c[N];

	for (unsigned i = 0; i < N; i++) {
		char s[32], d[32];

		snprintf(s, sizeof(s), "src%u", i);
		snprintf(d, sizeof(d), "dst%u", i);
		TH_PATH(sp, s);
		TH_PATH(dp, d);
		th_write_pattern_file(sp, sizes[i], 100 + i);
		TH_ASSERT_RC(mmapio_ring_prep_copy(ring, sp, dp, 0, (void *)(uintptr_t)(i + 1)), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), N);
	reap_all(ring, c, N);
	for (unsigned i = 0; i < N; i++) {
		cr_assert_eq(c[i].op, MMAPIO_OP_COPY);
		cr_assert_eq(c[i].result, 0, "copy %p: %d (%s)", c[i].user_data, c[i].result,
			     mmapio_strerror(c[i].result));
	}
	for (unsigned i = 0; i < N; i++) {
		char d[32];

		snprintf(d, sizeof(d), "dst%u", i);
		TH_PATH(dp, d);
		th_assert_file_pattern(dp, sizes[i], 100 + i);
	}
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring, copy_errors_arrive_as_completions)
{
	mmapio_ring *ring = open_ring(0);
	struct mmapio_completion c[5];
	unsigned char old[333];
	TH_PATH(src, "src");
	TH_PATH(missing, "missing");
	TH_PATH(nodir, "nodir/dst");
	TH_PATH(exists, "exists");
	TH_PATH(ok, "ok");
	int want[6] = { 0 };

	th_write_pattern_file(src, 12345, 93);
	th_fill(old, sizeof(old), 0, 94);
	th_write_file(exists, old, sizeof(old), 0644);
	want[1] = -ENOENT;
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, missing, ok, 0, (void *)1), 0);
	want[2] = -ENOENT;
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, nodir, 0, (void *)2), 0);
	want[3] = -EEXIST;
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, exists, 0, (void *)3), 0);
	want[4] = -EINVAL;
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, src, MMAPIO_COPY_OVERWRITE, (void *)4), 0);
	want[5] = -EISDIR;
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, th_dir, ok, 0, (void *)5), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 5);
	reap_all(ring, c, 5);
	for (int i = 0; i < 5; i++) {
		uintptr_t id = (uintptr_t)c[i].user_data;

		cr_assert(id >= 1 && id <= 5);
		cr_assert_eq(c[i].op, MMAPIO_OP_COPY);
		cr_assert_eq(c[i].result, want[id], "copy %lu: got %d (%s), expected %d (%s)",
			     (unsigned long)id, c[i].result, mmapio_strerror(c[i].result), want[id],
			     mmapio_strerror(want[id]));
	}
	th_assert_file_eq(exists, old, sizeof(old));
	th_assert_file_pattern(src, 12345, 93);
	cr_assert(!th_exists(ok), "a failed copy left its destination");
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring, deletes_and_missing_file)
{
	mmapio_ring *ring = open_ring(0);
	struct mmapio_completion c[3];
	TH_PATH(a, "a");
	TH_PATH(missing, "missing");
	TH_PATH(d, "dir");

	th_write_pattern_file(a, 10, 95);
	cr_assert_eq(mkdir(d, 0755), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, a, (void *)1), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, missing, (void *)2), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, d, (void *)3), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	reap_all(ring, c, 3);
	for (int i = 0; i < 3; i++) {
		int want = c[i].user_data == (void *)1 ? 0
			   : c[i].user_data == (void *)2 ? -ENOENT : -EISDIR;

		cr_assert_eq(c[i].op, MMAPIO_OP_DELETE);
		cr_assert_eq(c[i].result, want, "delete %p: got %d (%s), expected %d",
			     c[i].user_data, c[i].result, mmapio_strerror(c[i].result), want);
	}
	cr_assert(!th_exists(a));
	cr_assert(th_exists(d));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring, flush_completes_with_data_readable_after_close)
{
	mmapio_ring *ring = open_ring(0);
	const size_t len = 40 * 4096 + 99;
	unsigned char *want = th_malloc(len);
	struct mmapio_completion c[2];
	struct mmapio_range ranges[3] = { { 0, 10 }, { 20 * 4096 + 5, 8192 }, { len - 1, 1 } };
	mmapio_map *map = NULL;
	TH_PATH(p, "flushed");

	TH_ASSERT_RC(mmapio_create(p, len, NULL, &map), 0);
	th_fill(want, len, 0, 96);
	TH_ASSERT_RC(mmapio_write(map, 0, want, len), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, len, (void *)1), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, ranges, 3, (void *)2), 0);
	/* Prepared and submitted operations hold the map open. */
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	reap_all(ring, c, 2);
	for (int i = 0; i < 2; i++) {
		cr_assert_eq(c[i].op, MMAPIO_OP_FLUSH);
		cr_assert_eq(c[i].result, 0, "flush %p: %d (%s)", c[i].user_data, c[i].result,
			     mmapio_strerror(c[i].result));
	}
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, len);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	free(want);
}

Test(ring, large_flush_range_beyond_32_bits)
{
	/* A sparse 5 GiB file: the range length does not fit io_uring's 32-bit len. */
	const uint64_t len = 5ull << 30;
	mmapio_ring *ring = open_ring(0);
	struct mmapio_options o = { .flags = MMAPIO_CREATE_SPARSE };
	struct mmapio_completion c;
	mmapio_map *map = NULL;
	unsigned char got[4];
	int rc, fd;
	TH_PATH(p, "big");

	rc = mmapio_create(p, len, &o, &map);
	if (rc == -EFBIG || rc == -ENOMEM || rc == -ENOSPC)
		TH_SKIP("cannot map a sparse 5 GiB file here: %s", mmapio_strerror(rc));
	TH_ASSERT_RC(rc, 0);
	TH_ASSERT_RC(mmapio_write(map, 0, "head", 4), 0);
	TH_ASSERT_RC(mmapio_write(map, len - 4, "tail", 4), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, len, &c), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	reap_all(ring, &c, 1);
	TH_ASSERT_RC(c.result, 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	cr_assert_eq(pread(fd, got, 4, 0), 4);
	cr_assert_arr_eq(got, "head", 4);
	cr_assert_eq(pread(fd, got, 4, (off_t)(len - 4)), 4);
	cr_assert_arr_eq(got, "tail", 4);
	close(fd);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring, exactly_once_completions_of_mixed_operations)
{
	enum { N = 300 };
	mmapio_ring *ring = open_ring(16);
	struct mmapio_completion *c = th_malloc(N * sizeof(*c));
	static unsigned char seen[N];
	static enum mmapio_op kind[N];
	mmapio_map *map = NULL;
	TH_PATH(src, "src");
	TH_PATH(mp, "map");
	struct mmapio_ring_stats st;

	th_write_pattern_file(src, 9000, 97);
	TH_ASSERT_RC(mmapio_create(mp, 64 * 4096, NULL, &map), 0);
	for (unsigned i = 0; i < N; i++) {
		char name[32];
		void *ud = (void *)(uintptr_t)(i + 1);

		snprintf(name, sizeof(name), "n%u", i / 4);
		TH_PATH(p, name);
		switch (i % 4) {
		case 0:
			kind[i] = MMAPIO_OP_CREATE;
			TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, i, NULL, ud), 0);
			break;
		case 1:
			kind[i] = MMAPIO_OP_COPY;
			/* Replaces nothing: the copy targets its own name. */
			strcat(p, ".copy");
			TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, p, 0, ud), 0);
			break;
		case 2:
			kind[i] = MMAPIO_OP_FLUSH;
			TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, (i % 64) * 4096, 4096, ud),
				     0);
			break;
		default:
			kind[i] = MMAPIO_OP_DELETE;
			strcat(p, ".missing");
			TH_ASSERT_RC(mmapio_ring_prep_delete(ring, p, ud), 0);
			break;
		}
		/* Submit in uneven slices, so batches of every size are seen. */
		if (i % 37 == 36)
			cr_assert_gt(mmapio_ring_submit(ring), 0);
	}
	cr_assert_geq(mmapio_ring_submit(ring), 0);
	reap_all(ring, c, N);
	for (unsigned i = 0; i < N; i++) {
		uintptr_t id = (uintptr_t)c[i].user_data;
		int want;

		cr_assert(id >= 1 && id <= N, "unknown user_data %p", c[i].user_data);
		cr_assert_eq(seen[id - 1], 0, "operation %lu completed twice",
			     (unsigned long)(id - 1));
		seen[id - 1] = 1;
		cr_assert_eq(c[i].op, kind[id - 1], "operation %lu: kind %d, expected %d",
			     (unsigned long)(id - 1), c[i].op, kind[id - 1]);
		want = kind[id - 1] == MMAPIO_OP_DELETE ? -ENOENT : 0;
		cr_assert_eq(c[i].result, want, "operation %lu (kind %d): %d (%s)",
			     (unsigned long)(id - 1), c[i].op, c[i].result,
			     mmapio_strerror(c[i].result));
	}
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	cr_assert_eq(st.prepared, N);
	cr_assert_eq(st.completed, N);
	TH_ASSERT_RC(mmapio_close(map), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	free(c);
}

Test(ring, eventfd_readable_and_peek_drains)
{
	enum { N = 40 };
	mmapio_ring *ring = open_ring(0);
	struct mmapio_completion c[N];
	struct pollfd pfd;
	unsigned got = 0;
	int fd = mmapio_ring_fd(ring);

	cr_assert_geq(fd, 0, "mmapio_ring_fd: %d (%s)", fd, mmapio_strerror(fd));
	cr_assert_eq(mmapio_ring_fd(ring), fd, "the ring's descriptor changed");
	for (unsigned i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "e%u", i);
		TH_PATH(p, name);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 4096, NULL, (void *)(uintptr_t)i), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), N);
	while (got < N) {
		int rc;

		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		rc = poll(&pfd, 1, 10000);
		cr_assert_eq(rc, 1, "the ring's eventfd was not readable with %u of %u reaped", got,
			     N);
		cr_assert(pfd.revents & POLLIN);
		rc = mmapio_ring_peek(ring, c + got, N - got);
		cr_assert_geq(rc, 0, "peek: %d", rc);
		got += (unsigned)rc;
	}
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, N), 0);
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
	for (unsigned i = 0; i < N; i++)
		TH_ASSERT_RC(c[i].result, 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

Test(ring, wait_with_timeout)
{
	mmapio_ring *ring = open_ring(0);
	struct mmapio_completion c[4];
	long long t0;
	TH_PATH(p, "w");

	/* Nothing outstanding: a wait for nothing returns 0 within the timeout. */
	t0 = now_ms();
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 0, 100), 0);
	cr_assert_lt(now_ms() - t0, 5000);

	/* One operation: waiting for it returns it, well before a long timeout. */
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 100, NULL, (void *)7), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	cr_assert_eq(mmapio_ring_inflight(ring), 1);
	t0 = now_ms();
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 1, 20000), 1);
	cr_assert_lt(now_ms() - t0, 10000);
	cr_assert_eq(c[0].user_data, (void *)7);
	cr_assert_eq(c[0].op, MMAPIO_OP_CREATE);
	TH_ASSERT_RC(c[0].result, 0);
	cr_assert_eq(th_file_size(p), 100);
	cr_assert_eq(mmapio_ring_inflight(ring), 0);

	/* And a poll (timeout 0) with nothing left returns 0 at once. */
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 0, 0), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring, close_with_work_in_flight_leaks_no_descriptor)
{
	enum { N = 200 };
	mmapio_ring *ring;
	int before;
	TH_PATH(src, "src");

	th_write_pattern_file(src, 300000, 98);
	/* Anything the process opens once (the default ring) is opened here. */
	(void)mmapio_default_backend(NULL);
	before = th_count_fds();
	ring = open_ring(0);
	(void)mmapio_ring_fd(ring);
	for (unsigned i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%c%u", i % 2 ? 'c' : 'k', i);
		TH_PATH(p, name);
		if (i % 2)
			TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, p, 0, NULL), 0);
		else
			TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 65536, NULL, NULL), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), N);
	/* Prepared but never submitted: discarded by close. */
	for (unsigned i = 0; i < 10; i++) {
		char name[32];

		snprintf(name, sizeof(name), "never%u", i);
		TH_PATH(p, name);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 10, NULL, NULL), 0);
	}
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	cr_assert_eq(th_count_fds(), before, "descriptors before the ring %d, after close %d",
		     before, th_count_fds());

	/* Close waited for every submitted operation. */
	for (unsigned i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%c%u", i % 2 ? 'c' : 'k', i);
		TH_PATH(p, name);
		if (i % 2)
			th_assert_file_pattern(p, 300000, 98);
		else
			cr_assert_eq(th_file_size(p), 65536, "%s", p);
	}
	for (unsigned i = 0; i < 10; i++) {
		char name[32];

		snprintf(name, sizeof(name), "never%u", i);
		TH_PATH(p, name);
		cr_assert(!th_exists(p), "an operation never submitted ran: %s", p);
	}
}

Test(ring, close_with_flush_in_flight_releases_the_map)
{
	mmapio_ring *ring = open_ring(0);
	mmapio_map *map = NULL;
	TH_PATH(p, "m");

	TH_ASSERT_RC(mmapio_create(p, 1u << 20, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, 1000, "x", 1), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 1u << 20, NULL), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 4096, NULL), 0);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	/* Closing the ring discards the completion and the unsubmitted flush. */
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(ring, many_rings_open_and_close)
{
	int before;

	(void)mmapio_default_backend(NULL);
	before = th_count_fds();
	for (int i = 0; i < 64; i++) {
		mmapio_ring *ring = open_ring((unsigned)(1 + i));

		(void)mmapio_ring_fd(ring);
		TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	}
	cr_assert_eq(th_count_fds(), before);
}

Test(ring, stats_prove_the_backend_did_the_work)
{
	enum { N = 20 };
	mmapio_ring *ring = open_ring(0);
	struct mmapio_completion c[N];
	struct mmapio_ring_stats st;
	const char *reason;
	TH_PATH(src, "src");

	th_write_pattern_file(src, 100000, 99);
	for (unsigned i = 0; i < N; i++) {
		char name[32];

		snprintf(name, sizeof(name), "s%u", i);
		TH_PATH(p, name);
		if (i % 2)
			TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, p, 0, NULL), 0);
		else
			TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 8192, NULL, NULL), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), N);
	reap_all(ring, c, N);
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	cr_assert_eq(st.prepared, N);
	cr_assert_eq(st.completed, N);
	if (mmapio_ring_backend(ring, &reason) == MMAPIO_BACKEND_URING) {
		cr_assert(th_env_is_uring() || !*th_backend_env(), "%s", reason);
		cr_assert_gt(st.uring_sqes, 0, "the io_uring backend submitted no SQE");
		cr_assert_gt(st.uring_enters, 0, "the io_uring backend never entered the kernel");
	} else {
		cr_assert(!th_env_is_uring(), "MMAPIO_BACKEND=uring gave a blocking ring: %s",
			  reason);
		cr_assert_gt(st.blocking_ops, 0, "the blocking backend counted no operation");
		cr_assert_eq(st.uring_sqes, 0, "a blocking ring submitted io_uring SQEs");
	}
	if (th_env_is_uring())
		cr_assert_eq(mmapio_ring_backend(ring, NULL), MMAPIO_BACKEND_URING);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring, explicit_backends_ignore_environment)
{
	struct mmapio_ring_options o = { .backend = MMAPIO_BACKEND_FALLBACK };
	mmapio_ring *ring = NULL;

	TH_ASSERT_RC(mmapio_ring_open(&o, &ring), 0);
	cr_assert_eq(mmapio_ring_backend(ring, NULL), MMAPIO_BACKEND_FALLBACK);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
#if MMAPIO_TEST_HAVE_URING
	{
		int rc;

		o.backend = MMAPIO_BACKEND_URING;
		rc = mmapio_ring_open(&o, &ring);
		if (rc == -EPERM || rc == -ENOSYS || rc == -ENOMEM)
			TH_SKIP("io_uring cannot be set up here: %s", mmapio_strerror(rc));
		TH_ASSERT_RC(rc, 0);
		cr_assert_eq(mmapio_ring_backend(ring, NULL), MMAPIO_BACKEND_URING);
		TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	}
#endif
}

/*
 * Returns the lowest descriptor of the process that is an io_uring
 * instance and is not in before[] (n entries), or -1.
 */
static int find_new_uring_fd(const int *before, int n)
{
	char link[64], target[64];
	int found = -1;

	for (int fd = 0; fd < 1024; fd++) {
		ssize_t len;
		bool old = false;

		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		if (strcmp(target, "anon_inode:[io_uring]") != 0)
			continue;
		for (int i = 0; i < n; i++)
			old = old || before[i] == fd;
		if (!old) {
			found = fd;
			break;
		}
	}
	return found;
}

/*
 * A ring whose kernel side fails for good must say so instead of spinning:
 * a wait without a time limit used to loop for ever once io_uring_enter
 * kept failing.  The failure is made deterministic by putting /dev/null in
 * place of the ring's descriptor before the submit, so that every enter
 * fails (-EOPNOTSUPP: not an io_uring instance) and the SQE never reaches
 * the kernel.  The operation must stay owned, and once the descriptor is
 * back the ring must finish it exactly once.  The suite's timeout turns a
 * regression (the spin) into a failure.
 */
Test(ring, ring_level_failure_is_reported_not_spun_on)
{
	int uring_fds[64], n = 0, ringfd, saved, devnull, rc;
	mmapio_ring *ring;
	struct mmapio_completion c;
	TH_PATH(p, "victim");

	/* The io_uring descriptors that exist already (the default ring). */
	(void)mmapio_default_backend(NULL);
	for (int fd; n < 64 && (fd = find_new_uring_fd(uring_fds, n)) >= 0;)
		uring_fds[n++] = fd;
	ring = open_ring(0);
	if (mmapio_ring_backend(ring, NULL) != MMAPIO_BACKEND_URING) {
		TH_ASSERT_RC(mmapio_ring_close(ring), 0);
		TH_SKIP("a blocking ring has no kernel ring that could fail (%s)",
			th_backend_env());
	}
	ringfd = find_new_uring_fd(uring_fds, n);
	cr_assert_geq(ringfd, 0, "the ring's io_uring descriptor is not in /proc/self/fd");
	saved = dup(ringfd);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	cr_assert(saved >= 0 && devnull >= 0);
	cr_assert_eq(dup2(devnull, ringfd), ringfd);

	th_write_file(p, "x", 1, 0644);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, p, &c), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	rc = mmapio_ring_wait(ring, &c, 1, 1, -1);
	cr_assert_lt(rc, 0, "a wait on a failing ring returned %d", rc);
	cr_assert_neq(rc, -EINTR);
	TH_ASSERT_RC(mmapio_ring_peek(ring, &c, 1), rc);
	cr_assert_eq(mmapio_ring_inflight(ring), 1, "the failure lost the operation");
	cr_assert(th_exists(p), "the delete ran although no enter succeeded");

	/* The cause goes away: the ring finishes the delete, exactly once. */
	cr_assert_eq(dup2(saved, ringfd), ringfd);
	close(saved);
	close(devnull);
	TH_ASSERT_RC(mmapio_ring_wait(ring, &c, 1, 1, 30000), 1);
	TH_ASSERT_RC(c.result, 0);
	cr_assert(!th_exists(p), "the delete did not run");
	TH_ASSERT_RC(mmapio_ring_peek(ring, &c, 1), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * A FIFO as the source of a copy is refused with -EINVAL on both backends:
 * its open must not wait for a writer (which would hang the submitting
 * thread forever), and no destination is left behind.
 */
Test(ring, copy_from_a_fifo_is_refused_not_hung)
{
	TH_PATH(src, "fifo");
	TH_PATH(dst, "dst");
	mmapio_ring *ring = open_ring(8);
	struct mmapio_completion c;

	cr_assert_eq(mkfifo(src, 0644), 0);
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, dst, 0, ring), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	TH_ASSERT_RC(mmapio_ring_wait(ring, &c, 1, 1, 10000), 1);
	cr_assert_eq(c.op, MMAPIO_OP_COPY);
	cr_assert_eq(c.user_data, ring);
	TH_ASSERT_RC(c.result, -EINVAL);
	cr_assert(!th_exists(dst), "a refused copy left its destination behind");
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* A size no file can have is refused by the prep call on every engine. */
Test(ring, create_beyond_int64_max_is_efbig_on_every_engine)
{
	TH_PATH(p, "huge");
	mmapio_ring *ring;

	TH_ASSERT_RC(mmapio_ring_open(NULL, &ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, (uint64_t)INT64_MAX + 1, NULL, NULL),
		     -EFBIG);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, UINT64_MAX, NULL, NULL), -EFBIG);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 0);
	cr_assert(!th_exists(p));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}
