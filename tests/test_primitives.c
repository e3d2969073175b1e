/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The synchronous storage-engine primitives: mmapio_rename and its flags,
 * mmapio_flush_start, byte-range locks between maps and processes, and
 * MMAPIO_CREATE_OR_OPEN.  None of them goes through an engine.
 */
#include "helpers.h"

TestSuite(primitives, .init = th_setup, .fini = th_teardown, .timeout = 60);

#ifndef MMAPIO_TEST_PORTABLE
#define MMAPIO_TEST_PORTABLE 0
#endif

/* ---- rename ---- */

Test(primitives, rename_moves_and_replaces)
{
	TH_PATH(a, "a");
	TH_PATH(b, "b");

	th_write_file(a, "new", 3, 0644);
	th_write_file(b, "old!", 4, 0644);
	TH_ASSERT_RC(mmapio_rename(a, b, 0), 0);
	cr_assert(!th_exists(a));
	th_assert_file_eq(b, "new", 3);
}

Test(primitives, rename_noreplace_refuses_an_existing_name)
{
	TH_PATH(a, "a");
	TH_PATH(b, "b");
	TH_PATH(c, "c");
	int r;

	th_write_file(a, "aaa", 3, 0644);
	th_write_file(b, "bbbb", 4, 0644);
	r = mmapio_rename(a, b, MMAPIO_RENAME_NOREPLACE);
	if (r == -ENOTSUP)
		TH_SKIP("no renameat2 RENAME_NOREPLACE on this host or filesystem");
	TH_ASSERT_RC(r, -EEXIST);
	th_assert_file_eq(a, "aaa", 3);
	th_assert_file_eq(b, "bbbb", 4);
	TH_ASSERT_RC(mmapio_rename(a, c, MMAPIO_RENAME_NOREPLACE | MMAPIO_RENAME_DURABLE), 0);
	th_assert_file_eq(c, "aaa", 3);
}

Test(primitives, rename_exchange_swaps_two_files)
{
	TH_PATH(a, "a");
	TH_PATH(b, "b");
	int r;

	th_write_file(a, "aaa", 3, 0644);
	th_write_file(b, "bbbb", 4, 0644);
	r = mmapio_rename(a, b, MMAPIO_RENAME_EXCHANGE);
	if (r == -ENOTSUP)
		TH_SKIP("no renameat2 RENAME_EXCHANGE on this host or filesystem");
	TH_ASSERT_RC(r, 0);
	th_assert_file_eq(a, "bbbb", 4);
	th_assert_file_eq(b, "aaa", 3);
}

Test(primitives, rename_refuses_bad_arguments)
{
	TH_PATH(a, "a");
	TH_PATH(b, "b");

	th_write_file(a, "aaa", 3, 0644);
	TH_ASSERT_RC(mmapio_rename(NULL, b, 0), -EINVAL);
	TH_ASSERT_RC(mmapio_rename(a, NULL, 0), -EINVAL);
	TH_ASSERT_RC(mmapio_rename(a, b, MMAPIO_RENAME_NOREPLACE | MMAPIO_RENAME_EXCHANGE),
		     -EINVAL);
	TH_ASSERT_RC(mmapio_rename(a, b, 1u << 9), -EINVAL);
	TH_ASSERT_RC(mmapio_rename(b, a, 0), -ENOENT);
	th_assert_file_eq(a, "aaa", 3);
	cr_assert(!th_exists(b));
}

static int fsync_eio(int fd)
{
	(void)fd;
	return -EIO;
}

Test(primitives, rename_durable_reports_a_failed_directory_sync)
{
	TH_PATH(a, "a");
	TH_PATH(b, "b");

	th_write_file(a, "aaa", 3, 0644);
	mmapio__sys.fsync = fsync_eio;
	TH_ASSERT_RC(mmapio_rename(a, b, MMAPIO_RENAME_DURABLE), -EIO);
	mmapio__sys_reset();
	/* The rename itself happened; only its durability is unconfirmed. */
	th_assert_file_eq(b, "aaa", 3);
}

/* ---- flush_start ---- */

static int writeback_calls;

static int counting_writeback(int fd, uint64_t off, uint64_t len)
{
	(void)fd, (void)off, (void)len;
	writeback_calls++;
	return 0;
}

Test(primitives, flush_start_starts_write_back_of_the_range)
{
	TH_PATH(p, "f");
	mmapio_map *map;

	TH_ASSERT_RC(mmapio_create(p, 8 * TH_PAGE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, TH_PAGE, "abc", 3), 0);
	TH_ASSERT_RC(mmapio_flush_start(map, TH_PAGE, 3), 0);
	TH_ASSERT_RC(mmapio_flush_start(map, 0, 0), 0);
	TH_ASSERT_RC(mmapio_flush_start(map, 8 * TH_PAGE, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_flush_start(NULL, 0, 1), -EINVAL);
	if (!MMAPIO_TEST_PORTABLE) {
		writeback_calls = 0;
		mmapio__sys.writeback = counting_writeback;
		TH_ASSERT_RC(mmapio_flush_start(map, 0, 1), 0);
		mmapio__sys_reset();
		cr_assert_eq(writeback_calls, 1, "flush_start did not start write-back");
	}
	TH_ASSERT_RC(mmapio_flush_range(map, TH_PAGE, 3), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	{
		size_t len;
		unsigned char *b = th_read_file(p, &len);

		cr_assert_arr_eq(b + TH_PAGE, "abc", 3);
		free(b);
	}
}

Test(primitives, flush_start_on_read_only_and_private_maps_does_nothing)
{
	TH_PATH(p, "f");
	mmapio_map *ro, *cow;

	th_write_pattern_file(p, 4 * TH_PAGE, 3);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_ONLY, NULL, &ro), 0);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_COPY_ON_WRITE, NULL, &cow), 0);
	TH_ASSERT_RC(mmapio_write(cow, 0, "zz", 2), 0);
	TH_ASSERT_RC(mmapio_flush_start(ro, 0, 0), 0);
	TH_ASSERT_RC(mmapio_flush_start(cow, 0, 0), 0);
	TH_ASSERT_RC(mmapio_close(ro), 0);
	TH_ASSERT_RC(mmapio_close(cow), 0);
	th_assert_file_pattern(p, 4 * TH_PAGE, 3);
}

/* ---- range locks ---- */

/* In a child: opens its own map of p and tries a lock without waiting. */
static int child_try_lock(const char *p, uint64_t off, uint64_t len, unsigned flags)
{
	pid_t pid = fork();
	int status;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		mmapio_map *m;
		int r = mmapio_open(p, MMAPIO_READ_WRITE, NULL, &m);

		if (r == 0)
			r = mmapio_range_lock(m, off, len, flags | MMAPIO_RANGE_NOWAIT);
		_exit(r == 0 ? 0 : r == -EAGAIN ? 1 : 2);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	cr_assert_neq(WEXITSTATUS(status), 2, "the child's lock call failed oddly");
	return WEXITSTATUS(status) == 0 ? 0 : -EAGAIN;
}

Test(primitives, range_locks_exclude_another_process)
{
	TH_PATH(p, "locked");
	mmapio_map *map;

	TH_ASSERT_RC(mmapio_create(p, 4 * TH_PAGE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_range_lock(map, 0, 4096, MMAPIO_RANGE_EXCLUSIVE), 0);
	cr_assert_eq(child_try_lock(p, 0, 1, MMAPIO_RANGE_SHARED), -EAGAIN);
	cr_assert_eq(child_try_lock(p, 4096, 4096, MMAPIO_RANGE_EXCLUSIVE), 0);
	/* Shared locks share. */
	TH_ASSERT_RC(mmapio_range_lock(map, 0, 4096, MMAPIO_RANGE_SHARED), 0);
	cr_assert_eq(child_try_lock(p, 0, 4096, MMAPIO_RANGE_SHARED), 0);
	cr_assert_eq(child_try_lock(p, 0, 4096, MMAPIO_RANGE_EXCLUSIVE), -EAGAIN);
	TH_ASSERT_RC(mmapio_range_unlock(map, 0, 4096), 0);
	cr_assert_eq(child_try_lock(p, 0, 4096, MMAPIO_RANGE_EXCLUSIVE), 0);
	/* len 0 reaches past the end of any size, beyond the map. */
	TH_ASSERT_RC(mmapio_range_lock(map, 1 << 20, 0, MMAPIO_RANGE_EXCLUSIVE), 0);
	cr_assert_eq(child_try_lock(p, (uint64_t)1 << 40, 1, MMAPIO_RANGE_SHARED), -EAGAIN);
	TH_ASSERT_RC(mmapio_close(map), 0);
	/* The locks went with the map. */
	cr_assert_eq(child_try_lock(p, 0, 0, MMAPIO_RANGE_EXCLUSIVE), 0);
}

Test(primitives, range_locks_belong_to_the_map)
{
	TH_PATH(p, "two");
	mmapio_map *a, *b;

	if (MMAPIO_TEST_PORTABLE)
		TH_SKIP("fcntl locks of the portable POSIX platform belong to the process");
	TH_ASSERT_RC(mmapio_create(p, TH_PAGE, NULL, &a), 0);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &b), 0);
	TH_ASSERT_RC(mmapio_range_lock(a, 0, 0, MMAPIO_RANGE_EXCLUSIVE), 0);
	TH_ASSERT_RC(mmapio_range_lock(b, 0, 1, MMAPIO_RANGE_SHARED | MMAPIO_RANGE_NOWAIT), -EAGAIN);
	TH_ASSERT_RC(mmapio_close(a), 0);
	TH_ASSERT_RC(mmapio_range_lock(b, 0, 1, MMAPIO_RANGE_EXCLUSIVE | MMAPIO_RANGE_NOWAIT), 0);
	TH_ASSERT_RC(mmapio_close(b), 0);
}

Test(primitives, range_lock_refuses_bad_arguments)
{
	TH_PATH(p, "args");
	mmapio_map *rw, *ro, *cow;

	TH_ASSERT_RC(mmapio_create(p, TH_PAGE, NULL, &rw), 0);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_ONLY, NULL, &ro), 0);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_COPY_ON_WRITE, NULL, &cow), 0);
	TH_ASSERT_RC(mmapio_range_lock(NULL, 0, 1, MMAPIO_RANGE_SHARED), -EINVAL);
	TH_ASSERT_RC(mmapio_range_lock(rw, 0, 1, 0), -EINVAL);
	TH_ASSERT_RC(mmapio_range_lock(rw, 0, 1, MMAPIO_RANGE_NOWAIT), -EINVAL);
	TH_ASSERT_RC(mmapio_range_lock(rw, 0, 1, MMAPIO_RANGE_SHARED | MMAPIO_RANGE_EXCLUSIVE),
		     -EINVAL);
	TH_ASSERT_RC(mmapio_range_lock(rw, 0, 1, 8), -EINVAL);
	TH_ASSERT_RC(mmapio_range_lock(rw, UINT64_MAX, 2, MMAPIO_RANGE_SHARED), -EINVAL);
	TH_ASSERT_RC(mmapio_range_lock(ro, 0, 1, MMAPIO_RANGE_EXCLUSIVE), -EACCES);
	TH_ASSERT_RC(mmapio_range_lock(cow, 0, 1, MMAPIO_RANGE_EXCLUSIVE), -EACCES);
	TH_ASSERT_RC(mmapio_range_lock(ro, 0, 1, MMAPIO_RANGE_SHARED), 0);
	TH_ASSERT_RC(mmapio_range_unlock(ro, 0, 1), 0);
	TH_ASSERT_RC(mmapio_range_unlock(NULL, 0, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_range_unlock(rw, 0, 1), 0); /* nothing held: fine */
	TH_ASSERT_RC(mmapio_close(cow), 0);
	TH_ASSERT_RC(mmapio_close(ro), 0);
	TH_ASSERT_RC(mmapio_close(rw), 0);
}

/* ---- MMAPIO_CREATE_OR_OPEN ---- */

Test(primitives, create_or_open_keeps_an_existing_file)
{
	TH_PATH(p, "kept");
	struct mmapio_options o = { .flags = MMAPIO_CREATE_OR_OPEN };
	unsigned char b[5];
	mmapio_map *map;

	th_write_file(p, "hello", 5, 0600);
	TH_ASSERT_RC(mmapio_create(p, 4096, &o, &map), 0);
	cr_assert_eq(mmapio_len(map), 5, "the existing file's size was not kept");
	TH_ASSERT_RC(mmapio_read(map, 0, b, 5), 0);
	cr_assert_arr_eq(b, "hello", 5);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, "hello", 5);
}

Test(primitives, create_or_open_creates_a_missing_file)
{
	TH_PATH(p, "new");
	struct mmapio_options o = { .flags = MMAPIO_CREATE_OR_OPEN | MMAPIO_CREATE_DURABLE };
	mmapio_map *map;

	TH_ASSERT_RC(mmapio_create(p, 3 * 4096, &o, &map), 0);
	cr_assert_eq(mmapio_len(map), 3 * 4096);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_eq(th_file_size(p), 3 * 4096);
}

Test(primitives, create_or_open_edge_cases)
{
	TH_PATH(p, "empty");
	TH_PATH(d, "dir");
	TH_PATH(f, "fifo");
	struct mmapio_options o = { .flags = MMAPIO_CREATE_OR_OPEN };
	struct mmapio_options bad = { .flags = MMAPIO_CREATE_OR_OPEN | MMAPIO_CREATE_EXCLUSIVE };
	mmapio_map *map = (mmapio_map *)0x1;

	th_write_file(p, "", 0, 0644);
	TH_ASSERT_RC(mmapio_create(p, 4096, &bad, &map), -EINVAL);
	cr_assert_eq(map, (mmapio_map *)0x1);
	TH_ASSERT_RC(mmapio_create(p, 4096, &o, &map), 0);
	cr_assert_eq(mmapio_len(map), 0, "an existing empty file is a map of length 0");
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_eq(th_file_size(p), 0);
	cr_assert_eq(mkdir(d, 0755), 0);
	TH_ASSERT_RC(mmapio_create(d, 4096, &o, &map), -EISDIR);
	cr_assert_eq(mkfifo(f, 0644), 0);
	TH_ASSERT_RC(mmapio_create(f, 4096, &o, &map), -EINVAL);
}
