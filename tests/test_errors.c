/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every row of the error table in mmapio.h: the exact value each failing
 * call returns, that the file's bytes are unchanged afterwards (checked with
 * open/read(2)), that a failed call leaves *out alone, and the descriptions
 * mmapio_strerror gives.
 */
#include "helpers.h"

#include <grp.h>
#include <setjmp.h>
#include <signal.h>

TestSuite(errors, .init = th_setup, .fini = th_teardown, .timeout = 60);

#define VLEN (3 * 4096 + 21)
#define VSEED 81

/* A file with known bytes that the error cases must leave alone. */
static void victim(char *path, size_t size)
{
	th_path(path, size, "victim");
	th_write_pattern_file(path, VLEN, VSEED);
}

static void assert_victim(const char *path)
{
	th_assert_file_pattern(path, VLEN, VSEED);
}

static mmapio_map *open_victim(const char *path, enum mmapio_mode mode)
{
	mmapio_map *map = NULL;

	TH_ASSERT_RC(mmapio_open(path, mode, NULL, &map), 0);
	return map;
}

/* ---- -EINVAL ---- */

Test(errors, einval_null_pointers_maps)
{
	char p[PATH_MAX];
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;
	mmapio_map *map;
	struct mmapio_view v;
	struct mmapio_segment seg;
	unsigned char buf[8] = { 0 };
	int fd;

	victim(p, sizeof(p));
	TH_ASSERT_RC(mmapio_create(NULL, 10, NULL, &out), -EINVAL);
	TH_ASSERT_RC(mmapio_create(p, 10, NULL, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_open(NULL, MMAPIO_READ_ONLY, NULL, &out), -EINVAL);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_ONLY, NULL, NULL), -EINVAL);
	fd = open(p, O_RDWR | O_CLOEXEC);
	cr_assert(fd >= 0);
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_READ_WRITE, NULL, NULL), -EINVAL);
	close(fd);
	cr_assert_eq(out, sentinel, "a failed call wrote *out");
	assert_victim(p);

	map = open_victim(p, MMAPIO_READ_WRITE);
	TH_ASSERT_RC(mmapio_read(NULL, 0, buf, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_read(map, 0, NULL, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_write(NULL, 0, buf, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_write(map, 0, NULL, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_view_read(NULL, 0, 1, &v), -EINVAL);
	TH_ASSERT_RC(mmapio_view_read(map, 0, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_view_write(NULL, 0, 1, &v), -EINVAL);
	TH_ASSERT_RC(mmapio_view_write(map, 0, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_init(map, 0, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_init(NULL, 0, 1, &seg), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_init(map, 0, 100, &seg), 0);
	TH_ASSERT_RC(mmapio_segment_sub(NULL, 0, 1, &seg), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_sub(&seg, 0, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_read(NULL, 0, buf, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_read(&seg, 0, NULL, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_write(NULL, 0, buf, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_write(&seg, 0, NULL, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_view_read(NULL, &v), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_view_read(&seg, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_view_write(NULL, &v), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_view_write(&seg, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_segment_flush(NULL), -EINVAL);
	{
		struct mmapio_segment nomap = { .map = NULL, .off = 0, .len = 1 };

		TH_ASSERT_RC(mmapio_segment_read(&nomap, 0, buf, 1), -EINVAL);
		TH_ASSERT_RC(mmapio_segment_write(&nomap, 0, buf, 1), -EINVAL);
		TH_ASSERT_RC(mmapio_segment_flush(&nomap), -EINVAL);
	}
	TH_ASSERT_RC(mmapio_flush(NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_flush_range(NULL, 0, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_resize(NULL, 4096), -EINVAL);
	TH_ASSERT_RC(mmapio_advise(NULL, 0, 1, MMAPIO_ADVICE_NORMAL), -EINVAL);
	TH_ASSERT_RC(mmapio_lock(NULL, 0, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_unlock(NULL, 0, 1), -EINVAL);
	/* The map is still usable and nothing has been written. */
	TH_ASSERT_RC(mmapio_read(map, 0, buf, sizeof(buf)), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	assert_victim(p);
}

Test(errors, einval_null_paths_files)
{
	char p[PATH_MAX];

	victim(p, sizeof(p));
	TH_ASSERT_RC(mmapio_copy(NULL, p, 0), -EINVAL);
	TH_ASSERT_RC(mmapio_copy(p, NULL, MMAPIO_COPY_OVERWRITE), -EINVAL);
	TH_ASSERT_RC(mmapio_delete(NULL), -EINVAL);
	assert_victim(p);
}

Test(errors, einval_bad_flags_and_modes)
{
	char p[PATH_MAX];
	TH_PATH(fresh, "fresh");
	TH_PATH(dst, "dst");
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;
	mmapio_map *map;
	struct mmapio_options bad = { .flags = 1u << 30 };
	int fd;

	victim(p, sizeof(p));
	TH_ASSERT_RC(mmapio_create(fresh, 10, &bad, &out), -EINVAL);
	cr_assert(!th_exists(fresh), "a refused create made the file");
	TH_ASSERT_RC(mmapio_create(p, 10, &bad, &out), -EINVAL);
	TH_ASSERT_RC(mmapio_open(p, (enum mmapio_mode)3, NULL, &out), -EINVAL);
	TH_ASSERT_RC(mmapio_open(p, (enum mmapio_mode)-1, NULL, &out), -EINVAL);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_ONLY, &bad, &out), -EINVAL);
	fd = open(p, O_RDWR | O_CLOEXEC);
	cr_assert(fd >= 0);
	TH_ASSERT_RC(mmapio_open_fd(fd, (enum mmapio_mode)7, NULL, &out), -EINVAL);
	close(fd);
	cr_assert_eq(out, sentinel, "a failed call wrote *out");
	TH_ASSERT_RC(mmapio_copy(p, dst, 1u << 20), -EINVAL);
	cr_assert(!th_exists(dst), "a refused copy made the destination");

	map = open_victim(p, MMAPIO_READ_WRITE);
	TH_ASSERT_RC(mmapio_advise(map, 0, 1, (enum mmapio_advice)99), -EINVAL);
	TH_ASSERT_RC(mmapio_advise(map, 0, 1, (enum mmapio_advice)-1), -EINVAL);
	TH_ASSERT_RC(mmapio_resize(map, 0), -EINVAL);
	cr_assert_eq(mmapio_len(map), VLEN);
	TH_ASSERT_RC(mmapio_close(map), 0);
	assert_victim(p);
}

Test(errors, einval_reserved_fields)
{
	char p[PATH_MAX];
	TH_PATH(fresh, "fresh");
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;

	victim(p, sizeof(p));
	for (int i = 0; i < 6; i++) {
		struct mmapio_options o = { 0 };

		o.reserved[i] = 1;
		TH_ASSERT_RC(mmapio_create(fresh, 10, &o, &out), -EINVAL);
		TH_ASSERT_RC(mmapio_create(p, 10, &o, &out), -EINVAL);
		TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_ONLY, &o, &out), -EINVAL);
	}
	cr_assert_eq(out, sentinel);
	cr_assert(!th_exists(fresh));
	assert_victim(p);
}

Test(errors, einval_zero_size_create)
{
	char p[PATH_MAX];
	TH_PATH(fresh, "fresh");
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;

	victim(p, sizeof(p));
	TH_ASSERT_RC(mmapio_create(fresh, 0, NULL, &out), -EINVAL);
	cr_assert(!th_exists(fresh));
	TH_ASSERT_RC(mmapio_create(p, 0, NULL, &out), -EINVAL);
	cr_assert_eq(out, sentinel);
	assert_victim(p);
}

Test(errors, einval_rings)
{
	char p[PATH_MAX];
	TH_PATH(other, "other");
	struct mmapio_ring_options ro;
	struct mmapio_completion c[4];
	struct mmapio_ring_stats st;
	struct mmapio_range ranges[2] = { { 0, 10 }, { 100, 10 } };
	struct mmapio_options bad = { .flags = 1u << 30 };
	struct mmapio_options res = { .reserved = { [3] = 1 } };
	mmapio_ring *sentinel = (mmapio_ring *)(uintptr_t)0x5a5a5a5a;
	mmapio_ring *out = sentinel;
	mmapio_ring *ring = NULL;
	mmapio_map *map;

	victim(p, sizeof(p));
	TH_ASSERT_RC(mmapio_ring_open(NULL, NULL), -EINVAL);
	ro = (struct mmapio_ring_options){ .flags = 1 };
	TH_ASSERT_RC(mmapio_ring_open(&ro, &out), -EINVAL);
	ro = (struct mmapio_ring_options){ .reserved0 = 1 };
	TH_ASSERT_RC(mmapio_ring_open(&ro, &out), -EINVAL);
	for (int i = 0; i < 6; i++) {
		ro = (struct mmapio_ring_options){ 0 };
		ro.reserved[i] = 1;
		TH_ASSERT_RC(mmapio_ring_open(&ro, &out), -EINVAL);
	}
	ro = (struct mmapio_ring_options){ .backend = (enum mmapio_backend)9 };
	TH_ASSERT_RC(mmapio_ring_open(&ro, &out), -EINVAL);
	cr_assert_eq(out, sentinel);

	TH_ASSERT_RC(mmapio_ring_open(NULL, &ring), 0);
	map = open_victim(p, MMAPIO_READ_WRITE);
	TH_ASSERT_RC(mmapio_ring_prep_create(NULL, other, 1, NULL, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, NULL, 1, NULL, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, other, 1, &bad, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, other, 1, &res, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_copy(NULL, p, other, 0, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, NULL, other, 0, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, p, NULL, 0, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, p, other, 1u << 20, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_delete(NULL, p, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, NULL, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_flush(NULL, map, 0, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, NULL, 0, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(NULL, map, ranges, 2, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, NULL, ranges, 2, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, NULL, 2, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, ranges, 0, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_submit(NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_peek(NULL, c, 4), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_peek(ring, NULL, 4), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_wait(NULL, c, 4, 0, 0), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_wait(ring, NULL, 4, 0, 0), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 1, 2, 0), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_stats(NULL, &st), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_stats(ring, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_fd(NULL), -EINVAL);

	/* A failed prep produces no completion and leaves no trace. */
	TH_ASSERT_RC(mmapio_ring_submit(ring), 0);
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 4), 0);
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	cr_assert_eq(st.prepared, 0);
	cr_assert_eq(st.completed, 0);
	cr_assert(!th_exists(other));
	/* No prepared flush holds the map. */
	TH_ASSERT_RC(mmapio_close(map), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_ring_close(NULL), 0);
	assert_victim(p);
}

/* ---- -ERANGE ---- */

Test(errors, erange_every_accessor)
{
	char p[PATH_MAX];
	unsigned char buf[16] = { 0 };
	struct mmapio_view v;
	struct mmapio_segment seg;
	struct mmapio_range ranges[2] = { { 0, 10 }, { VLEN - 5, 6 } };
	struct mmapio_completion c[2];
	mmapio_ring *ring = NULL;
	mmapio_map *map;

	victim(p, sizeof(p));
	map = open_victim(p, MMAPIO_READ_WRITE);
	TH_ASSERT_RC(mmapio_read(map, VLEN - 1, buf, 2), -ERANGE);
	TH_ASSERT_RC(mmapio_write(map, VLEN - 1, buf, 2), -ERANGE);
	TH_ASSERT_RC(mmapio_write(map, UINT64_MAX, buf, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_view_read(map, VLEN, 1, &v), -ERANGE);
	TH_ASSERT_RC(mmapio_view_read(map, 1, SIZE_MAX, &v), -ERANGE);
	TH_ASSERT_RC(mmapio_view_write(map, VLEN - 3, 4, &v), -ERANGE);
	TH_ASSERT_RC(mmapio_view_write(map, UINT64_MAX, 2, &v), -ERANGE);
	TH_ASSERT_RC(mmapio_segment_init(map, VLEN, 1, &seg), -ERANGE);
	TH_ASSERT_RC(mmapio_flush_range(map, VLEN, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_flush_range(map, 4096, UINT64_MAX - 100), -ERANGE);
	TH_ASSERT_RC(mmapio_advise(map, VLEN, 1, MMAPIO_ADVICE_NORMAL), -ERANGE);
	TH_ASSERT_RC(mmapio_lock(map, 0, VLEN + 1), -ERANGE);
	TH_ASSERT_RC(mmapio_unlock(map, VLEN, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_ring_open(NULL, &ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, VLEN - 1, 2, NULL), -ERANGE);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, UINT64_MAX, 1, NULL), -ERANGE);
	TH_ASSERT_RC(mmapio_ring_prep_flush_ranges(ring, map, ranges, 2, NULL), -ERANGE);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 0);
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 2), 0);
	/* Failed preps do not hold the map. */
	TH_ASSERT_RC(mmapio_close(map), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	assert_victim(p);
}

/* ---- -EACCES ---- */

Test(errors, eacces_on_read_only_map)
{
	char p[PATH_MAX];
	unsigned char buf[16];
	struct mmapio_view v;
	struct mmapio_segment seg;
	mmapio_map *map;

	victim(p, sizeof(p));
	map = open_victim(p, MMAPIO_READ_ONLY);
	memset(buf, 'X', sizeof(buf));
	TH_ASSERT_RC(mmapio_write(map, 0, buf, sizeof(buf)), -EACCES);
	TH_ASSERT_RC(mmapio_view_write(map, 0, 16, &v), -EACCES);
	TH_ASSERT_RC(mmapio_resize(map, 2 * VLEN), -EACCES);
	TH_ASSERT_RC(mmapio_advise(map, 0, 16, MMAPIO_ADVICE_POPULATE_WRITE), -EACCES);
	TH_ASSERT_RC(mmapio_segment_init(map, 0, 16, &seg), 0);
	TH_ASSERT_RC(mmapio_segment_write(&seg, 0, buf, 16), -EACCES);
	TH_ASSERT_RC(mmapio_segment_view_write(&seg, &v), -EACCES);
	/* A read-only map's own -EACCES does not depend on the range. */
	TH_ASSERT_RC(mmapio_close(map), 0);
	assert_victim(p);
}

Test(errors, eacces_resize_copy_on_write)
{
	char p[PATH_MAX];
	mmapio_map *map;

	victim(p, sizeof(p));
	map = open_victim(p, MMAPIO_COPY_ON_WRITE);
	TH_ASSERT_RC(mmapio_resize(map, 2 * VLEN), -EACCES);
	TH_ASSERT_RC(mmapio_resize(map, 10), -EACCES);
	TH_ASSERT_RC(mmapio_close(map), 0);
	assert_victim(p);
}

Test(errors, eacces_open_fd_without_write_access)
{
	char p[PATH_MAX];
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;
	mmapio_map *map = NULL;
	int fd;

	victim(p, sizeof(p));
	fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_READ_WRITE, NULL, &out), -EACCES);
	cr_assert_eq(out, sentinel);
	/* Read-only and copy-on-write only need read access. */
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_READ_ONLY, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_COPY_ON_WRITE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	close(fd);

	fd = open(p, O_WRONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_READ_ONLY, NULL, &out), -EACCES);
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_READ_WRITE, NULL, &out), -EACCES);
	cr_assert_eq(out, sentinel);
	close(fd);
	assert_victim(p);
}

/* Opens the victim as an unprivileged user: the file's mode forbids writing. */
static void open_as_nobody(void *arg)
{
	const char *p = arg;
	mmapio_map *map = NULL;
	int rc;

	if (geteuid() == 0) {
		if (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
		    setresuid(65534, 65534, 65534) != 0)
			TH_CHILD_SKIP("cannot drop root privileges: %s", strerror(errno));
	}
	rc = mmapio_open(p, MMAPIO_READ_WRITE, NULL, &map);
	TH_CHILD_CHECK(rc == -EACCES, "mmapio_open read-write of a 0444 file: %d", rc);
	rc = mmapio_create(p, 10, NULL, &map);
	TH_CHILD_CHECK(rc == -EACCES, "mmapio_create over a 0444 file: %d", rc);
	rc = mmapio_open(p, MMAPIO_READ_ONLY, NULL, &map);
	TH_CHILD_CHECK(rc == 0, "mmapio_open read-only of a 0444 file: %d", rc);
	mmapio_close(map);
}

Test(errors, eacces_from_file_permissions)
{
	char p[PATH_MAX];

	victim(p, sizeof(p));
	cr_assert_eq(chmod(p, 0444), 0);
	cr_assert_eq(chmod(th_dir, 0755), 0);
	th_run_in_child(open_as_nobody, p);
	assert_victim(p);
}

/* ---- -EBUSY ---- */

Test(errors, ebusy_views_and_ring_operations)
{
	char p[PATH_MAX];
	struct mmapio_view v;
	struct mmapio_completion c;
	mmapio_ring *ring = NULL;
	mmapio_map *map;

	victim(p, sizeof(p));
	map = open_victim(p, MMAPIO_READ_WRITE);
	/* The thread's own views: close is busy, resize would wait for itself. */
	TH_ASSERT_RC(mmapio_view_read(map, 0, 10, &v), 0);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_resize(map, 10), -EDEADLK);
	mmapio_view_release(&v);
	TH_ASSERT_RC(mmapio_view_write(map, 0, 10, &v), 0);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_resize(map, 10), -EDEADLK);
	mmapio_view_release(&v);

	/* A prepared flush holds the map until its completion is reaped. */
	TH_ASSERT_RC(mmapio_ring_open(NULL, &ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 10, &c), 0);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_resize(map, 10), -EBUSY);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_ring_wait(ring, &c, 1, 1, 10000), 1);
	cr_assert_eq(c.op, MMAPIO_OP_FLUSH);
	TH_ASSERT_RC(c.result, 0);
	cr_assert_eq(mmapio_len(map), VLEN);
	TH_ASSERT_RC(mmapio_close(map), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	assert_victim(p);
}

/* ---- -EFAULT: the file truncated underneath a map ---- */

static mmapio_map *map_then_truncate(const char *p, enum mmapio_mode mode, off_t to)
{
	mmapio_map *map;
	int fd;

	th_write_pattern_file(p, 4 * 4096, 82);
	map = open_victim(p, mode);
	fd = open(p, O_RDWR | O_CLOEXEC);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, to), 0);
	close(fd);
	return map;
}

Test(errors, efault_read_and_write_after_truncation)
{
	TH_PATH(p, "trunc");
	unsigned char buf[8192];

	for (int m = MMAPIO_READ_ONLY; m <= MMAPIO_COPY_ON_WRITE; m++) {
		mmapio_map *map = map_then_truncate(p, (enum mmapio_mode)m, 0);

		/* The map still believes in its old length: the copy faults. */
		cr_assert_eq(mmapio_len(map), 4 * 4096);
		TH_ASSERT_RC(mmapio_read(map, 0, buf, 100), -EFAULT);
		TH_ASSERT_RC(mmapio_read(map, 3 * 4096, buf, 4096), -EFAULT);
		if (m != MMAPIO_READ_ONLY) {
			memset(buf, 'X', sizeof(buf));
			TH_ASSERT_RC(mmapio_write(map, 0, buf, 100), -EFAULT);
			TH_ASSERT_RC(mmapio_write(map, 4096, buf, sizeof(buf)), -EFAULT);
		}
		/* The process survived, and the file was not extended. */
		cr_assert_eq(th_file_size(p), 0);
		TH_ASSERT_RC(mmapio_close(map), 0);
	}
}

Test(errors, efault_only_past_the_new_end)
{
	TH_PATH(p, "partial");
	unsigned char buf[4096], want[4096];
	mmapio_map *map = map_then_truncate(p, MMAPIO_READ_WRITE, 4096);

	th_fill(want, sizeof(want), 0, 82);
	/* The first page is still backed; a copy spanning into the second is not. */
	TH_ASSERT_RC(mmapio_read(map, 0, buf, 4096), 0);
	cr_assert_arr_eq(buf, want, 4096);
	TH_ASSERT_RC(mmapio_read(map, 4000, buf, 200), -EFAULT);
	TH_ASSERT_RC(mmapio_write(map, 4096 + 10, "x", 1), -EFAULT);
	/* And the map keeps working where it can. */
	TH_ASSERT_RC(mmapio_write(map, 0, "ok", 2), 0);
	memcpy(want, "ok", 2);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, 4096);
}

static sigjmp_buf probe_jmp;

static void probe_handler(int sig)
{
	(void)sig;
	siglongjmp(probe_jmp, 1);
}

Test(errors, efault_guard_keeps_earlier_sigbus_handler)
{
	TH_SKIP_UNDER_VALGRIND("SIGBUS from loads of a truncated mapping");
	/*
	 * The library's SIGBUS handler passes faults outside guarded copies on
	 * to the handler installed before it.
	 */
	TH_PATH(p, "chain");
	unsigned char buf[16];
	struct sigaction sa = { .sa_handler = probe_handler };
	struct mmapio_view v;
	mmapio_map *map;
	volatile int caught = 0;

	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGBUS, &sa, NULL), 0);
	map = map_then_truncate(p, MMAPIO_READ_ONLY, 0);
	TH_ASSERT_RC(mmapio_read(map, 0, buf, sizeof(buf)), -EFAULT);
	TH_ASSERT_RC(mmapio_view_read(map, 4096, 16, &v), 0);
	if (sigsetjmp(probe_jmp, 1) == 0) {
		volatile unsigned char c = ((volatile unsigned char *)v.data)[0];

		(void)c;
	} else {
		caught = 1;
	}
	cr_assert_eq(caught, 1, "the fault did not reach the earlier SIGBUS handler");
	mmapio_view_release(&v);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

/*
 * Touches a view past the new end of file in a forked child, which must die
 * of SIGBUS: views are not guarded.  The child reports any other outcome by
 * its exit status.
 */
static void touch_truncated_view(bool guard_first)
{
	TH_PATH(p, "view");
	mmapio_map *map = map_then_truncate(p, MMAPIO_READ_WRITE, 0);
	int status = 0;
	pid_t pid;

	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		unsigned char buf[16];
		struct mmapio_view v;

		/* The default action, so that the signal kills the child. */
		signal(SIGBUS, SIG_DFL);
		if (guard_first && mmapio_read(map, 0, buf, sizeof(buf)) != -EFAULT)
			_exit(2);
		if (mmapio_view_read(map, 0, 4096, &v) != 0)
			_exit(3);
		(void)*(volatile unsigned char *)v.data;
		_exit(4);
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGBUS,
		  "the child did not die of SIGBUS: status %#x (exit 2: guarded read was not "
		  "-EFAULT, 3: the view failed, 4: the view of a truncated file was readable)",
		  status);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(errors, views_are_not_guarded)
{
	TH_SKIP_UNDER_VALGRIND("SIGBUS from loads of a truncated mapping");
	touch_truncated_view(false);
}

Test(errors, views_are_not_guarded_after_a_guarded_copy)
{
	TH_SKIP_UNDER_VALGRIND("SIGBUS from loads of a truncated mapping");
	touch_truncated_view(true);
}

/* ---- -ENOTSUP ---- */

Test(errors, enotsup_uring_backend_not_built)
{
#if MMAPIO_TEST_HAVE_URING
	TH_SKIP("this build has io_uring: -ENOTSUP for MMAPIO_BACKEND_URING is only "
		     "returned by builds without it (-During=disabled)");
#else
	char p[PATH_MAX];
	struct mmapio_ring_options ro = { .backend = MMAPIO_BACKEND_URING };
	mmapio_ring *sentinel = (mmapio_ring *)(uintptr_t)0x5a5a5a5a;
	mmapio_ring *out = sentinel;
	mmapio_ring *ring = NULL;
	const char *reason = NULL;

	victim(p, sizeof(p));
	TH_ASSERT_RC(mmapio_ring_open(&ro, &out), -ENOTSUP);
	cr_assert_eq(out, sentinel);
	/* AUTO and FALLBACK open, on the blocking backend. */
	ro.backend = MMAPIO_BACKEND_AUTO;
	cr_assert_eq(setenv("MMAPIO_BACKEND", "auto", 1), 0);
	TH_ASSERT_RC(mmapio_ring_open(&ro, &ring), 0);
	cr_assert_eq(mmapio_ring_backend(ring, &reason), MMAPIO_BACKEND_FALLBACK);
	cr_assert_not_null(reason);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	/* MMAPIO_BACKEND=uring makes the default ring fail the same way. */
	cr_assert_eq(setenv("MMAPIO_BACKEND", "uring", 1), 0);
	TH_ASSERT_RC(mmapio_default_backend(&reason), -ENOTSUP);
	assert_victim(p);
#endif
}

/* ---- Errors from the OS, passed through ---- */

Test(errors, enoent_missing_files)
{
	char p[PATH_MAX];
	TH_PATH(missing, "missing");
	TH_PATH(nodir, "nodir/f");
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;

	victim(p, sizeof(p));
	TH_ASSERT_RC(mmapio_open(missing, MMAPIO_READ_ONLY, NULL, &out), -ENOENT);
	TH_ASSERT_RC(mmapio_open(missing, MMAPIO_READ_WRITE, NULL, &out), -ENOENT);
	TH_ASSERT_RC(mmapio_create(nodir, 10, NULL, &out), -ENOENT);
	TH_ASSERT_RC(mmapio_copy(missing, nodir, 0), -ENOENT);
	TH_ASSERT_RC(mmapio_copy(p, nodir, 0), -ENOENT);
	TH_ASSERT_RC(mmapio_delete(missing), -ENOENT);
	cr_assert_eq(out, sentinel);
	cr_assert(!th_exists(missing));
	assert_victim(p);
}

Test(errors, eisdir_directories)
{
	char p[PATH_MAX];
	TH_PATH(d, "dir");
	TH_PATH(dst, "dst");
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;

	victim(p, sizeof(p));
	cr_assert_eq(mkdir(d, 0755), 0);
	TH_ASSERT_RC(mmapio_open(d, MMAPIO_READ_ONLY, NULL, &out), -EISDIR);
	TH_ASSERT_RC(mmapio_open(d, MMAPIO_READ_WRITE, NULL, &out), -EISDIR);
	TH_ASSERT_RC(mmapio_create(d, 10, NULL, &out), -EISDIR);
	TH_ASSERT_RC(mmapio_copy(d, dst, 0), -EISDIR);
	TH_ASSERT_RC(mmapio_delete(d), -EISDIR);
	cr_assert_eq(out, sentinel);
	cr_assert(th_exists(d));
	cr_assert(!th_exists(dst));
	assert_victim(p);
}

Test(errors, eexist_exclusive_create_and_copy)
{
	char p[PATH_MAX];
	TH_PATH(src, "src");
	struct mmapio_options ex = { .flags = MMAPIO_CREATE_EXCLUSIVE };
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;

	victim(p, sizeof(p));
	th_write_pattern_file(src, 100, 83);
	TH_ASSERT_RC(mmapio_create(p, 10, &ex, &out), -EEXIST);
	TH_ASSERT_RC(mmapio_copy(src, p, 0), -EEXIST);
	cr_assert_eq(out, sentinel);
	assert_victim(p);
}

Test(errors, enotdir_and_non_regular_files)
{
	char p[PATH_MAX];
	TH_PATH(under, "victim/x");
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;

	victim(p, sizeof(p));
	TH_ASSERT_RC(mmapio_open(under, MMAPIO_READ_ONLY, NULL, &out), -ENOTDIR);
	TH_ASSERT_RC(mmapio_create(under, 10, NULL, &out), -ENOTDIR);
	/* Neither regular nor a directory: -EINVAL. */
	TH_ASSERT_RC(mmapio_open("/dev/null", MMAPIO_READ_ONLY, NULL, &out), -EINVAL);
	cr_assert_eq(out, sentinel);
	assert_victim(p);
}

Test(errors, fifo_is_not_a_regular_file)
{
	TH_PATH(f, "fifo");
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;

	cr_assert_eq(mkfifo(f, 0644), 0);
	/* Must not block waiting for a writer. */
	TH_ASSERT_RC(mmapio_open(f, MMAPIO_READ_ONLY, NULL, &out), -EINVAL);
	cr_assert_eq(out, sentinel);
}

Test(errors, ebadf_open_fd)
{
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

	cr_assert(fd >= 0);
	close(fd);
	TH_ASSERT_RC(mmapio_open_fd(-1, MMAPIO_READ_ONLY, NULL, &out), -EBADF);
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_READ_ONLY, NULL, &out), -EBADF);
	cr_assert_eq(out, sentinel);
}

static int enospc_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	(void)fd;
	(void)mode;
	(void)off;
	(void)len;
	return -ENOSPC;
}

Test(errors, enospc_injected_into_create)
{
	char p[PATH_MAX];
	TH_PATH(fresh, "fresh");
	TH_PATH(old, "old");
	mmapio_map *sentinel = (mmapio_map *)(uintptr_t)0x5a5a5a5a;
	mmapio_map *out = sentinel;
	int before;

	victim(p, sizeof(p));
	th_write_pattern_file(old, 100, 84);
	/* Warm the default ring up so it does not count as a leak. */
	{
		const char *reason;

		(void)mmapio_default_backend(&reason);
	}
	before = th_count_fds();
	mmapio__sys.fallocate = enospc_fallocate;
	TH_ASSERT_RC(mmapio_create(fresh, 1u << 20, NULL, &out), -ENOSPC);
	/* A file that existed before stays (truncated); it is not removed. */
	TH_ASSERT_RC(mmapio_create(old, 1u << 20, NULL, &out), -ENOSPC);
	mmapio__sys_reset();
	cr_assert_eq(out, sentinel);
	cr_assert(!th_exists(fresh), "a failed create left the file it made");
	cr_assert(th_exists(old), "a failed create removed a file it did not make");
	cr_assert_eq(th_count_fds(), before, "a failed create leaked a descriptor");
	assert_victim(p);
}

static int eopnotsupp_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	(void)fd;
	(void)mode;
	(void)off;
	(void)len;
	return -EOPNOTSUPP;
}

Test(errors, create_falls_back_to_ftruncate_without_fallocate)
{
	TH_PATH(p, "nofalloc");
	mmapio_map *map = NULL;
	unsigned char zeros[10000] = { 0 };

	mmapio__sys.fallocate = eopnotsupp_fallocate;
	TH_ASSERT_RC(mmapio_create(p, sizeof(zeros), NULL, &map), 0);
	mmapio__sys_reset();
	cr_assert_eq(mmapio_len(map), sizeof(zeros));
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, zeros, sizeof(zeros));
}

/* ---- mmapio_strerror ---- */

Test(errors, strerror_describes_every_value)
{
	static const int library[] = { -EINVAL, -ERANGE, -EACCES, -EBUSY, -EDEADLK, -EFAULT,
					-ENOTSUP };
	static const int os[] = { -ENOENT, -EISDIR, -EEXIST, -ENOSPC, -EIO, -EBADF, -EPERM };
	const size_t nl = sizeof(library) / sizeof(library[0]);

	cr_assert_str_eq(mmapio_strerror(0), "Success");
	cr_assert_str_eq(mmapio_strerror(1), "Success");
	cr_assert_str_eq(mmapio_strerror(INT32_MAX), "Success");
	for (size_t i = 0; i < nl; i++) {
		const char *s = mmapio_strerror(library[i]);

		cr_assert_not_null(s, "%d", library[i]);
		cr_assert_str_neq(s, "", "%d", library[i]);
		cr_assert_str_neq(s, "Success", "%d", library[i]);
		/* Each library condition has its own description. */
		for (size_t j = 0; j < i; j++)
			cr_assert_str_neq(s, mmapio_strerror(library[j]), "%d and %d", library[i],
					  library[j]);
		/* Static: the same pointer every time. */
		cr_assert_eq(mmapio_strerror(library[i]), s);
	}
	for (size_t i = 0; i < sizeof(os) / sizeof(os[0]); i++) {
		char want[256];

		snprintf(want, sizeof(want), "%s", strerror(-os[i]));
		cr_assert_str_eq(mmapio_strerror(os[i]), want, "%d", os[i]);
	}
	/* Values no errno has still get a string. */
	cr_assert_not_null(mmapio_strerror(-99999));
	cr_assert_not_null(mmapio_strerror(INT32_MIN));
}

/*
 * The library gives -EINVAL, -EBUSY, -EFAULT and -ENOTSUP a meaning of its
 * own, but the OS returns them too (mmap's EINVAL, rename's EBUSY): the
 * text must not claim the library's reason only.
 */
Test(errors, strerror_of_shared_values_names_the_system_too)
{
	static const int shared[] = { -EINVAL, -EBUSY, -EFAULT };

	for (size_t i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
		cr_assert_not_null(strstr(mmapio_strerror(shared[i]), "system"),
				   "%d: \"%s\" names only the library's reason", shared[i],
				   mmapio_strerror(shared[i]));
}
