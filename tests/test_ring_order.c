/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ordering and the storage-engine operations on a ring, on the engine
 * MMAPIO_BACKEND picks (the suite runs once per engine): barriers order a
 * create, copy and delete of one path in one submit; a failed group
 * cancels the next ones without running them; prep_write lands in the
 * file and shows through the map; ring renames with each flag; directory
 * syncs; cancel and its return values; closing a ring with operations
 * still prepared or held back.
 */
#include "helpers.h"
#include "uring/hooks.h"

#include <fcntl.h>

TestSuite(ring_order, .init = th_setup, .fini = th_teardown, .timeout = 120);

/* The user_data of operation i: an address no real pointer has. */
#define UD(i) ((void *)(uintptr_t)(0x1000 + (i)))
#define UD_INDEX(p) ((uintptr_t)(p) - 0x1000)

static mmapio_ring *open_ring(void)
{
	mmapio_ring *ring = NULL;
	int rc = mmapio_ring_open(NULL, &ring);

	if (rc == -EPERM || rc == -ENOSYS)
		TH_SKIP("io_uring unavailable (%s) with MMAPIO_BACKEND=%s", mmapio_strerror(rc),
			th_backend_env());
	cr_assert_eq(rc, 0, "mmapio_ring_open: %d (%s)", rc, mmapio_strerror(rc));
	return ring;
}

/*
 * Waits for all n outstanding completions in one call (the wait must go on
 * across held groups by itself), stores each result by its user_data index
 * (UD(i), i < n) and checks that each came exactly once.
 */
static void reap_by_ud(mmapio_ring *ring, unsigned n, int *results, uint32_t *kinds)
{
	struct mmapio_completion c[32], extra;
	unsigned seen[32] = { 0 };
	int rc;

	cr_assert_leq(n, 32);
	cr_assert_eq(mmapio_ring_inflight(ring), n);
	rc = mmapio_ring_wait(ring, c, n, n, 30000);
	cr_assert_eq(rc, (int)n, "wait for %u: %d (%s)", n, rc, mmapio_strerror(rc));
	for (unsigned k = 0; k < n; k++) {
		uintptr_t i = UD_INDEX(c[k].user_data);

		cr_assert_lt(i, n, "a completion with user_data %p", c[k].user_data);
		seen[i]++;
		results[i] = c[k].result;
		if (kinds != NULL)
			kinds[i] = c[k].op;
	}
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(seen[i], 1, "operation %u completed %u times", i, seen[i]);
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
	TH_ASSERT_RC(mmapio_ring_peek(ring, &extra, 1), 0);
}

/* Reads len bytes at off of the file at path with pread. */
static void pread_file(const char *path, uint64_t off, void *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "open %s: %s", path, strerror(errno));
	cr_assert_eq(pread(fd, buf, len, (off_t)off), (ssize_t)len);
	close(fd);
}

Test(ring_order, barrier_orders_create_copy_delete_of_one_path_in_one_submit)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(a, "a");
	TH_PATH(b, "b");
	uint32_t kinds[3];
	int res[3];

	TH_ASSERT_RC(mmapio_ring_prep_create(ring, a, 12345, NULL, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, a, b, 0, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, a, UD(2)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	reap_by_ud(ring, 3, res, kinds);
	for (int i = 0; i < 3; i++)
		TH_ASSERT_RC(res[i], 0);
	cr_assert_eq(kinds[0], MMAPIO_OP_CREATE);
	cr_assert_eq(kinds[1], MMAPIO_OP_COPY);
	cr_assert_eq(kinds[2], MMAPIO_OP_DELETE);
	cr_assert(!th_exists(a), "the delete ran before the copy");
	cr_assert_eq(th_file_size(b), 12345, "the copy did not see the created file");
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring_order, barrier_with_nothing_before_it_adds_nothing)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(a, "a");
	int res[1];

	TH_ASSERT_RC(mmapio_ring_barrier(NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, a, 0, NULL, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	reap_by_ud(ring, 1, res, NULL);
	TH_ASSERT_RC(res[0], 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * A commit whose first step fails: the write after the barrier and the
 * flush after the next barrier complete with -ECANCELED, and the file's
 * bytes are what they were.
 */
Test(ring_order, failed_group_cancels_the_write_after_the_barrier_and_the_group_after)
{
	enum { LEN = 1 << 16 };
	mmapio_ring *ring = open_ring();
	TH_PATH(p, "data");
	TH_PATH(missing, "missing");
	mmapio_map *map = th_open_pattern(p, LEN, 7, MMAPIO_READ_WRITE);
	unsigned char expect[4096], got[4096];
	const char meta[] = "META-PAGE";
	int res[3];

	th_fill(expect, sizeof(expect), 0, 7);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, missing, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, meta, sizeof(meta), UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 4096, UD(2)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	reap_by_ud(ring, 3, res, NULL);
	TH_ASSERT_RC(res[0], -ENOENT);
	TH_ASSERT_RC(res[1], -ECANCELED);
	TH_ASSERT_RC(res[2], -ECANCELED);
	pread_file(p, 0, got, sizeof(got));
	cr_assert_arr_eq(got, expect, sizeof(got), "a cancelled write reached the file");
	/* The cancelled flush is no write-back error; the map is free again. */
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* A barrier orders against operations submitted (and completed) earlier too. */
Test(ring_order, failure_submitted_earlier_cancels_the_group_after_a_later_barrier)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(missing, "missing");
	TH_PATH(keep, "keep");
	int res[2];

	th_write_file(keep, "k", 1, 0644);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, missing, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	reap_by_ud(ring, 1, res, NULL);
	TH_ASSERT_RC(res[0], -ENOENT);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, keep, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, missing, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	reap_by_ud(ring, 2, res, NULL);
	TH_ASSERT_RC(res[0], -ECANCELED);
	TH_ASSERT_RC(res[1], -ECANCELED);
	cr_assert(th_exists(keep), "a cancelled delete ran");
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring_order, prep_write_lands_in_the_file_and_shows_through_the_map)
{
	enum { LEN = 3 * 4096, OFF = 100, N = 5000 };
	mmapio_ring *ring = open_ring();
	TH_PATH(p, "w");
	mmapio_map *map = th_open_pattern(p, LEN, 3, MMAPIO_READ_WRITE);
	unsigned char *src = th_malloc(N), got[N];
	int res[2];

	th_fill(src, N, 0, 99);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, OFF, src, N, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, src, 0, UD(1)), 0);
	/* Pinned until reaped, as a ring flush. */
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_resize(map, 2 * LEN), -EBUSY);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	reap_by_ud(ring, 2, res, NULL);
	TH_ASSERT_RC(res[0], 0);
	TH_ASSERT_RC(res[1], 0);
	pread_file(p, OFF, got, N);
	cr_assert_arr_eq(got, src, N, "the written bytes are not in the file");
	memset(got, 0, N);
	TH_ASSERT_RC(mmapio_read(map, OFF, got, N), 0);
	cr_assert_arr_eq(got, src, N, "the written bytes do not show through the map");
	cr_assert_eq(((unsigned char *)mmapio_base(map))[OFF + N - 1], src[N - 1]);
	TH_ASSERT_RC(mmapio_resize(map, 2 * LEN), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	free(src);
}

/*
 * A map opened from a descriptor with O_APPEND or O_DIRECT: ring writes at
 * unaligned offsets land where asked (not at the end of the file, and not
 * refused for the descriptor's alignment rules), and the file keeps its
 * size.  They run through the mapping, with blocking calls on both engines.
 */
static void ring_write_on_odd_descriptor(int extra_flags, const char *name)
{
	enum { LEN = 4 * 4096, A_OFF = 1, A_LEN = 11, B_OFF = 4096 + 7, B_LEN = 5000 };
	mmapio_ring *ring = open_ring();
	TH_PATH(p, name);
	unsigned char *before = th_malloc(LEN), *src = th_malloc(B_LEN), *file;
	struct mmapio_ring_stats st;
	mmapio_map *map;
	int fd, res[2];
	size_t got;

	th_fill(before, LEN, 0, 7);
	th_fill(src, B_LEN, 0, 55);
	th_write_file(p, before, LEN, 0644);
	fd = open(p, O_RDWR | extra_flags);
	if (fd < 0 && errno == EINVAL)
		TH_SKIP("this filesystem refuses the open flags 0x%x", extra_flags);
	cr_assert_geq(fd, 0, "open: %s", strerror(errno));
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_READ_WRITE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, A_OFF, src, A_LEN, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, B_OFF, src, B_LEN, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	reap_by_ud(ring, 2, res, NULL);
	TH_ASSERT_RC(res[0], 0);
	TH_ASSERT_RC(res[1], 0);
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	close(fd);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);

	memcpy(before + A_OFF, src, A_LEN);
	memcpy(before + B_OFF, src, B_LEN);
	file = th_read_file(p, &got);
	cr_assert_eq(got, LEN, "the ring writes changed the file's size to %zu", got);
	cr_assert_arr_eq(file, before, LEN, "the bytes did not land where asked");
	cr_assert_eq(st.blocking_ops, 2, "%llu writes ran with blocking calls, not 2",
		     (unsigned long long)st.blocking_ops);
	free(file);
	free(src);
	free(before);
}

Test(ring_order, prep_write_on_an_append_descriptor_lands_in_place)
{
	ring_write_on_odd_descriptor(O_APPEND, "append");
}

Test(ring_order, prep_write_on_a_direct_descriptor_lands_in_place)
{
	ring_write_on_odd_descriptor(O_DIRECT, "direct");
}

Test(ring_order, prep_write_argument_errors_come_from_the_prep_call)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(p, "w");
	TH_PATH(q, "r");
	TH_PATH(c, "c");
	mmapio_map *map = th_open_pattern(p, 8192, 1, MMAPIO_READ_WRITE);
	mmapio_map *ro = th_open_pattern(q, 8192, 1, MMAPIO_READ_ONLY);
	mmapio_map *cow = th_open_pattern(c, 8192, 1, MMAPIO_COPY_ON_WRITE);
	char b[16] = "x";

	TH_ASSERT_RC(mmapio_ring_prep_write(NULL, map, 0, b, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, NULL, 0, b, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, NULL, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 8190, b, 3, NULL), -ERANGE);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 8192, b, 0, NULL), -ERANGE);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, UINT64_MAX, b, 2, NULL), -ERANGE);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, ro, 0, b, 1, NULL), -EACCES);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, cow, 0, b, 1, NULL), -EACCES);
	/* None of them was prepared, and none pins its map. */
	TH_ASSERT_RC(mmapio_ring_submit(ring), 0);
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	TH_ASSERT_RC(mmapio_close(ro), 0);
	TH_ASSERT_RC(mmapio_close(cow), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring_order, rename_with_each_flag_on_a_ring)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(a, "a");
	TH_PATH(b, "b");
	TH_PATH(sub, "sub");
	TH_PATH(moved, "sub/moved");
	uint32_t kinds[3];
	int res[3];

	cr_assert_eq(mkdir(sub, 0755), 0);
	th_write_file(a, "A", 1, 0644);
	th_write_file(b, "B", 1, 0644);
	TH_ASSERT_RC(mmapio_ring_prep_rename(ring, a, b, MMAPIO_RENAME_NOREPLACE |
						     MMAPIO_RENAME_EXCHANGE, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_rename(ring, a, b, 1u << 9, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_rename(ring, NULL, b, 0, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_rename(NULL, a, b, 0, NULL), -EINVAL);

	TH_ASSERT_RC(mmapio_ring_prep_rename(ring, a, b, MMAPIO_RENAME_NOREPLACE, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	reap_by_ud(ring, 1, res, kinds);
	if (res[0] == -ENOTSUP)
		TH_SKIP("renameat2 flags unsupported on this filesystem");
	TH_ASSERT_RC(res[0], -EEXIST);
	cr_assert_eq(kinds[0], MMAPIO_OP_RENAME);

	/* That failure would cancel everything after a barrier: a new ring. */
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	ring = open_ring();
	TH_ASSERT_RC(mmapio_ring_prep_rename(ring, a, b, MMAPIO_RENAME_EXCHANGE, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	/* Durable, across two directories: both are synced before it completes. */
	TH_ASSERT_RC(mmapio_ring_prep_rename(ring, a, moved, MMAPIO_RENAME_DURABLE, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_rename(ring, moved, b, MMAPIO_RENAME_DURABLE |
						     MMAPIO_RENAME_NOREPLACE, UD(2)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	reap_by_ud(ring, 3, res, NULL);
	TH_ASSERT_RC(res[0], 0);
	TH_ASSERT_RC(res[1], 0);
	TH_ASSERT_RC(res[2], -EEXIST);
	th_assert_file_eq(b, "A", 1);
	th_assert_file_eq(moved, "B", 1);
	cr_assert(!th_exists(a));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring_order, sync_dir_of_an_existing_and_a_missing_directory)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(missing, "no/such/dir");
	uint32_t kinds[2];
	int res[2];

	TH_ASSERT_RC(mmapio_ring_prep_sync_dir(ring, NULL, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_sync_dir(NULL, th_dir, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_sync_dir(ring, th_dir, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_sync_dir(ring, missing, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	reap_by_ud(ring, 2, res, kinds);
	TH_ASSERT_RC(res[0], 0);
	TH_ASSERT_RC(res[1], -ENOENT);
	cr_assert_eq(kinds[0], MMAPIO_OP_SYNC_DIR);
	cr_assert_eq(kinds[1], MMAPIO_OP_SYNC_DIR);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* A durable delete, as the README's recipe: delete, barrier, directory sync. */
Test(ring_order, durable_delete_is_a_delete_a_barrier_and_a_directory_sync)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(f, "f");
	int res[2];

	th_write_file(f, "x", 1, 0644);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, f, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_sync_dir(ring, th_dir, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	reap_by_ud(ring, 2, res, NULL);
	TH_ASSERT_RC(res[0], 0);
	TH_ASSERT_RC(res[1], 0);
	cr_assert(!th_exists(f));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring_order, cancel_of_prepared_operations_completes_each_once)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(a, "a");
	TH_PATH(b, "b");
	TH_PATH(c, "c");
	int res[3];

	TH_ASSERT_RC(mmapio_ring_cancel(NULL, UD(0)), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_cancel(ring, UD(0)), -ENOENT);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, a, 4096, NULL, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, b, 4096, NULL, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, c, 4096, NULL, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_cancel(ring, UD(0)), 2);
	/* Completed (not reaped) is not pending. */
	TH_ASSERT_RC(mmapio_ring_cancel(ring, UD(0)), -ENOENT);
	cr_assert_eq(mmapio_ring_inflight(ring), 2, "cancelled operations count as submitted");
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	{
		struct mmapio_completion cc[3];
		unsigned seen[2] = { 0 };
		int n = 0;

		while (n < 3) {
			int rc = mmapio_ring_wait(ring, cc + n, 3 - (unsigned)n, 1, 30000);

			cr_assert_gt(rc, 0);
			n += rc;
		}
		for (int k = 0; k < 3; k++) {
			uintptr_t i = UD_INDEX(cc[k].user_data);

			cr_assert_lt(i, 2);
			seen[i]++;
			TH_ASSERT_RC(cc[k].result, i == 0 ? -ECANCELED : 0);
			cr_assert_eq(cc[k].op, MMAPIO_OP_CREATE);
		}
		cr_assert_eq(seen[0], 2);
		cr_assert_eq(seen[1], 1);
	}
	cr_assert(!th_exists(a), "a cancelled create left a file");
	cr_assert(!th_exists(c), "a cancelled create left a file");
	cr_assert_eq(th_file_size(b), 4096);
	(void)res;
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring_order, a_cancelled_group_counts_as_failed_for_the_next_barrier)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(a, "a");
	TH_PATH(b, "b");
	int res[2];

	TH_ASSERT_RC(mmapio_ring_prep_create(ring, a, 0, NULL, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, b, 0, NULL, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_cancel(ring, UD(0)), 1);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	reap_by_ud(ring, 2, res, NULL);
	TH_ASSERT_RC(res[0], -ECANCELED);
	TH_ASSERT_RC(res[1], -ECANCELED);
	cr_assert(!th_exists(a) && !th_exists(b));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* A map pinned by a write that never ran is closable once the ring is closed. */
Test(ring_order, close_discards_prepared_writes_and_frees_their_maps)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(p, "w");
	mmapio_map *map = th_open_pattern(p, 4096, 5, MMAPIO_READ_WRITE);
	unsigned char got[4096], expect[4096];

	th_fill(expect, sizeof(expect), 0, 5);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, "zzzz", 4, UD(0)), 0);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	pread_file(p, 0, got, sizeof(got));
	cr_assert_arr_eq(got, expect, sizeof(got));
	TH_ASSERT_RC(mmapio_close(map), 0);
}

/*
 * On io_uring an operation can be held in the kernel (the gate hook): a
 * cancel of it is -EALREADY and it completes normally; the group after a
 * barrier is held in the ring meanwhile, so a cancel takes it back, and
 * closing the ring with a held write discards it and frees its map.  The
 * blocking engine runs everything inside submit, so nothing is ever with
 * it between calls (the scripted suite covers the front end there).
 */
Test(ring_order, cancel_is_ealready_for_operations_the_engine_holds)
{
	mmapio_ring *ring = open_ring();
	TH_PATH(a, "a");
	TH_PATH(b, "b");
	TH_PATH(p, "w");
	mmapio_map *map;
	unsigned char got[4096], expect[4096];
	int gate[2], res[2];

	if (mmapio_ring_backend(ring, NULL) != MMAPIO_BACKEND_URING)
		TH_SKIP("the blocking engine holds no operation between calls");
	map = th_open_pattern(p, 4096, 5, MMAPIO_READ_WRITE);
	th_fill(expect, sizeof(expect), 0, 5);
	cr_assert_eq(pipe2(gate, O_CLOEXEC), 0);
	mmapio__ur_hooks.gate_fd = gate[0];
	mmapio__ur_hooks.gate_kinds = 1u << MMAPIO_OP_CREATE;

	TH_ASSERT_RC(mmapio_ring_prep_create(ring, a, 0, NULL, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, b, 0, NULL, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	TH_ASSERT_RC(mmapio_ring_cancel(ring, UD(0)), -EALREADY);
	TH_ASSERT_RC(mmapio_ring_cancel(ring, UD(1)), 1);
	cr_assert_eq(write(gate[1], "g", 1), 1);
	reap_by_ud(ring, 2, res, NULL);
	TH_ASSERT_RC(res[0], 0);
	TH_ASSERT_RC(res[1], -ECANCELED);
	cr_assert(th_exists(a));
	cr_assert(!th_exists(b), "a cancelled create left a file");

	/* A write held behind a gated create, then the ring closed. */
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	ring = open_ring();
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, b, 0, NULL, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, "zzzz", 4, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	cr_assert_eq(write(gate[1], "g", 1), 1);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	pread_file(p, 0, got, sizeof(got));
	cr_assert_arr_eq(got, expect, sizeof(got), "a held write ran at close");
	TH_ASSERT_RC(mmapio_close(map), 0);
	mmapio__ur_hooks_reset();
	close(gate[0]);
	close(gate[1]);
}
