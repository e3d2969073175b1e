/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmapio_copy and mmapio_delete (direct system calls; large copies through
 * the calling thread's default ring), and the same operations through rings
 * on each backend: exact sizes and bytes (checked with read(2)), permission
 * bits, refusals that leave every file as it was, and no descriptor leaks.
 */
#include "helpers.h"

TestSuite(copy_delete, .init = th_setup, .fini = th_teardown, .timeout = 120);

static void copy_and_check(uint64_t size, unsigned seed)
{
	char sname[64], dname[64];

	snprintf(sname, sizeof(sname), "src-%llu", (unsigned long long)size);
	snprintf(dname, sizeof(dname), "dst-%llu", (unsigned long long)size);
	TH_PATH(src, sname);
	TH_PATH(dst, dname);
	th_write_pattern_file(src, size, seed);
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), 0);
	th_assert_file_pattern(dst, size, seed);
	/* The source is untouched. */
	th_assert_file_pattern(src, size, seed);
}

Test(copy_delete, copy_0_bytes)
{
	copy_and_check(0, 60);
}

Test(copy_delete, copy_1_byte)
{
	copy_and_check(1, 61);
}

Test(copy_delete, copy_4095_bytes)
{
	copy_and_check(4095, 62);
}

Test(copy_delete, copy_4096_bytes)
{
	copy_and_check(4096, 63);
}

Test(copy_delete, copy_1MiB_plus_3_bytes)
{
	copy_and_check((1u << 20) + 3, 64);
}

Test(copy_delete, copy_64MiB)
{
	copy_and_check(64u << 20, 65);
}

Test(copy_delete, copy_keeps_permission_bits)
{
	TH_PATH(src, "s");
	TH_PATH(dst, "d");
	struct stat st;

	th_write_pattern_file(src, 100, 66);
	cr_assert_eq(chmod(src, 0640), 0);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_DURABLE), 0);
	cr_assert_eq(stat(dst, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
	th_assert_file_pattern(dst, 100, 66);
}

Test(copy_delete, existing_destination_refused_and_untouched)
{
	TH_PATH(src, "s");
	TH_PATH(dst, "d");
	unsigned char old[777];

	th_write_pattern_file(src, 5000, 67);
	th_fill(old, sizeof(old), 0, 68);
	th_write_file(dst, old, sizeof(old), 0600);
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), -EEXIST);
	th_assert_file_eq(dst, old, sizeof(old));
	th_assert_file_pattern(src, 5000, 67);

	/* An empty existing destination counts as existing too. */
	th_write_file(dst, "", 0, 0600);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_DURABLE), -EEXIST);
	cr_assert_eq(th_file_size(dst), 0);
}

Test(copy_delete, overwrite_replaces_bigger_and_smaller_destinations)
{
	TH_PATH(src, "s");
	TH_PATH(dst, "d");

	th_write_pattern_file(src, 5000, 69);
	th_write_pattern_file(dst, 100000, 70);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), 0);
	th_assert_file_pattern(dst, 5000, 69);

	th_write_pattern_file(src, 300000, 71);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE), 0);
	th_assert_file_pattern(dst, 300000, 71);

	th_write_file(src, "", 0, 0644);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), 0);
	cr_assert_eq(th_file_size(dst), 0);
}

Test(copy_delete, copy_onto_itself_refused_and_intact)
{
	TH_PATH(src, "self");
	TH_PATH(hard, "hardlink");
	TH_PATH(sym, "symlink");
	char dotted[PATH_MAX];

	th_write_pattern_file(src, 9000, 72);
	TH_ASSERT_RC(mmapio_copy(src, src, 0), -EINVAL);
	th_assert_file_pattern(src, 9000, 72);
	TH_ASSERT_RC(mmapio_copy(src, src, MMAPIO_COPY_OVERWRITE), -EINVAL);
	th_assert_file_pattern(src, 9000, 72);

	/* The same file under another name. */
	cr_assert_lt((size_t)snprintf(dotted, sizeof(dotted), "%s/./self", th_dir), sizeof(dotted));
	TH_ASSERT_RC(mmapio_copy(src, dotted, MMAPIO_COPY_OVERWRITE), -EINVAL);
	th_assert_file_pattern(src, 9000, 72);

	cr_assert_eq(link(src, hard), 0);
	TH_ASSERT_RC(mmapio_copy(src, hard, MMAPIO_COPY_OVERWRITE), -EINVAL);
	TH_ASSERT_RC(mmapio_copy(hard, src, MMAPIO_COPY_OVERWRITE), -EINVAL);
	th_assert_file_pattern(src, 9000, 72);

	cr_assert_eq(symlink(src, sym), 0);
	TH_ASSERT_RC(mmapio_copy(sym, src, MMAPIO_COPY_OVERWRITE), -EINVAL);
	TH_ASSERT_RC(mmapio_copy(src, sym, MMAPIO_COPY_OVERWRITE), -EINVAL);
	th_assert_file_pattern(src, 9000, 72);
}

Test(copy_delete, missing_source)
{
	TH_PATH(src, "nope");
	TH_PATH(dst, "d");

	TH_ASSERT_RC(mmapio_copy(src, dst, 0), -ENOENT);
	cr_assert(!th_exists(dst), "a failed copy left a destination behind");
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), -ENOENT);
	cr_assert(!th_exists(dst));
}

Test(copy_delete, missing_destination_directory)
{
	TH_PATH(src, "s");
	TH_PATH(dst, "no/such/dir/d");

	th_write_pattern_file(src, 10, 73);
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), -ENOENT);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), -ENOENT);
	th_assert_file_pattern(src, 10, 73);
}

Test(copy_delete, directory_source)
{
	TH_PATH(dst, "d");

	TH_ASSERT_RC(mmapio_copy(th_dir, dst, 0), -EISDIR);
	cr_assert(!th_exists(dst), "a failed copy left a destination behind");
}

Test(copy_delete, delete_removes_file)
{
	TH_PATH(p, "gone");
	TH_PATH(other, "stays");

	th_write_pattern_file(p, 1000, 74);
	th_write_pattern_file(other, 1000, 75);
	TH_ASSERT_RC(mmapio_delete(p), 0);
	cr_assert(!th_exists(p));
	th_assert_file_pattern(other, 1000, 75);
}

Test(copy_delete, delete_missing_file)
{
	TH_PATH(p, "never");

	TH_ASSERT_RC(mmapio_delete(p), -ENOENT);
	TH_ASSERT_RC(mmapio_delete("/nonexistent-dir-for-mmapio/x"), -ENOENT);
}

Test(copy_delete, delete_directory)
{
	TH_PATH(d, "sub");
	TH_PATH(inner, "sub/f");

	cr_assert_eq(mkdir(d, 0755), 0);
	th_write_pattern_file(inner, 10, 76);
	TH_ASSERT_RC(mmapio_delete(d), -EISDIR);
	th_assert_file_pattern(inner, 10, 76);
	/* An empty directory is refused too: delete is unlink, not rmdir. */
	cr_assert_eq(unlink(inner), 0);
	TH_ASSERT_RC(mmapio_delete(d), -EISDIR);
	cr_assert(th_exists(d));
}

Test(copy_delete, delete_symlink_removes_the_link_only)
{
	TH_PATH(target, "target");
	TH_PATH(sym, "sym");

	th_write_pattern_file(target, 10, 77);
	cr_assert_eq(symlink(target, sym), 0);
	TH_ASSERT_RC(mmapio_delete(sym), 0);
	cr_assert(!th_exists(sym));
	th_assert_file_pattern(target, 10, 77);
}

Test(copy_delete, delete_while_mapped_keeps_the_map_working)
{
	TH_PATH(p, "mapped");
	mmapio_map *map = th_open_pattern(p, 8192, 78, MMAPIO_READ_ONLY);
	unsigned char got[16], want[16];

	TH_ASSERT_RC(mmapio_delete(p), 0);
	cr_assert(!th_exists(p));
	th_fill(want, sizeof(want), 8000, 78);
	TH_ASSERT_RC(mmapio_read(map, 8000, got, sizeof(got)), 0);
	cr_assert_arr_eq(got, want, sizeof(want));
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(copy_delete, no_descriptor_leaks)
{
	TH_PATH(src, "s");
	TH_PATH(dst, "d");
	TH_PATH(missing, "missing");
	int before;

	th_write_pattern_file(src, 70000, 79);
	/* The first call opens the default ring; count after it. */
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), 0);
	before = th_count_fds();
	for (int i = 0; i < 30; i++) {
		TH_ASSERT_RC(mmapio_copy(src, dst, 0), -EEXIST);
		TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), 0);
		TH_ASSERT_RC(mmapio_copy(missing, dst, MMAPIO_COPY_OVERWRITE), -ENOENT);
		TH_ASSERT_RC(mmapio_copy(src, src, 0), -EINVAL);
		TH_ASSERT_RC(mmapio_delete(dst), 0);
		TH_ASSERT_RC(mmapio_delete(dst), -ENOENT);
		TH_ASSERT_RC(mmapio_copy(src, dst, 0), 0);
	}
	cr_assert_eq(th_count_fds(), before, "descriptors before %d, after %d", before,
		     th_count_fds());
	th_assert_file_pattern(dst, 70000, 79);
}

Test(copy_delete, default_backend_follows_environment)
{
	const char *reason = NULL;
	int b = mmapio_default_backend(&reason);

	if (th_env_is_uring())
		cr_assert_eq(b, MMAPIO_BACKEND_URING, "default backend %d: %s", b,
			     reason ? reason : "(no reason)");
	else if (strcmp(th_backend_env(), "fallback") == 0)
		cr_assert_eq(b, MMAPIO_BACKEND_FALLBACK, "default backend %d: %s", b,
			     reason ? reason : "(no reason)");
	else
		cr_assert_geq(b, 0, "default backend: %d", b);
	cr_assert_not_null(reason);
	cr_assert_str_neq(reason, "");
}

/*
 * Writes dir/name, followed by i unless i is negative, into buf (PATH_MAX
 * bytes).  Returns true when it fitted.
 */
static bool route_path(char *buf, const char *dir, const char *name, int i)
{
	int n = i < 0 ? snprintf(buf, PATH_MAX, "%s/%s", dir, name)
		      : snprintf(buf, PATH_MAX, "%s/%s%d", dir, name, i);

	return n > 0 && n < PATH_MAX;
}

/*
 * One path of compare_sync_with_ring: the plain
 * synchronous calls (ring NULL: direct system calls, large copies through
 * the thread's default ring), or the same operations one at a time through
 * a ring opened on an explicit backend.
 */
struct route_case {
	const char *name;
	char dir[PATH_MAX];          /* where its files are */
};

/*
 * The copies' sizes: empty, under a page, and above the size from which a
 * synchronous copy goes through the default ring.
 */
static const uint64_t route_copy_sizes[] = { 0, 4095, (600u << 10) + 3 };

#define ROUTE_MAP_LEN (3 * 4096 + 100)

/*
 * Submits the one operation a prep call returning prep_rc prepared on ring
 * and returns its completion's result, or prep_rc when the prep failed.
 */
static int ring_result(mmapio_ring *ring, int prep_rc, void *tag)
{
	struct mmapio_completion c;

	if (prep_rc < 0)
		return prep_rc;
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	TH_ASSERT_RC(mmapio_ring_wait(ring, &c, 1, 1, 30000), 1);
	cr_assert_eq(c.user_data, tag);
	return c.result;
}

static int route_copy(mmapio_ring *ring, const char *src, const char *dst, unsigned flags)
{
	if (ring == NULL)
		return mmapio_copy(src, dst, flags);
	return ring_result(ring, mmapio_ring_prep_copy(ring, src, dst, flags, ring), ring);
}

static int route_delete(mmapio_ring *ring, const char *path)
{
	if (ring == NULL)
		return mmapio_delete(path);
	return ring_result(ring, mmapio_ring_prep_delete(ring, path, ring), ring);
}

/* A flush of [off, off + len), or of the whole map when whole is set. */
static int route_flush(mmapio_ring *ring, mmapio_map *map, uint64_t off, uint64_t len,
		       bool whole)
{
	if (ring == NULL)
		return whole ? mmapio_flush(map) : mmapio_flush_range(map, off, len);
	if (whole) {
		off = 0;
		len = mmapio_len(map);
	}
	return ring_result(ring, mmapio_ring_prep_flush(ring, map, off, len, map), map);
}

/*
 * Copies, deletes and flushes on one path, checking each return code (or
 * completion result); the caller compares the bytes left behind.
 */
static void sync_ops_on_route(const struct route_case *c, mmapio_ring *ring)
{
	char src[PATH_MAX], dst[PATH_MAX], victim[PATH_MAX], flushed[PATH_MAX];
	mmapio_map *map = NULL;

	for (size_t i = 0; i < sizeof(route_copy_sizes) / sizeof(route_copy_sizes[0]); i++) {
		cr_assert(route_path(src, th_dir, "src", (int)i) &&
			  route_path(dst, c->dir, "copy", (int)i));
		TH_ASSERT_RC(route_copy(ring, src, dst, 0), 0);
		TH_ASSERT_RC(route_copy(ring, src, dst, 0), -EEXIST);
		TH_ASSERT_RC(route_copy(ring, src, dst, MMAPIO_COPY_OVERWRITE), 0);
	}
	cr_assert(route_path(src, th_dir, "missing", -1) &&
		  route_path(dst, c->dir, "from-missing", -1));
	TH_ASSERT_RC(route_copy(ring, src, dst, 0), -ENOENT);

	cr_assert(route_path(victim, c->dir, "victim", -1));
	TH_ASSERT_RC(route_delete(ring, victim), 0);
	TH_ASSERT_RC(route_delete(ring, victim), -ENOENT);
	TH_ASSERT_RC(route_delete(ring, c->dir), -EISDIR);

	cr_assert(route_path(flushed, c->dir, "flushed", -1));
	TH_ASSERT_RC(mmapio_open(flushed, MMAPIO_READ_WRITE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, 100, "ranged", 6), 0);
	TH_ASSERT_RC(route_flush(ring, map, 100, 6, false), 0);
	TH_ASSERT_RC(mmapio_write(map, ROUTE_MAP_LEN - 5, "whole", 5), 0);
	TH_ASSERT_RC(route_flush(ring, map, 0, 0, true), 0);
	TH_ASSERT_RC(route_flush(ring, map, ROUTE_MAP_LEN, 1, false), -ERANGE);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

/*
 * Runs case c on ring (NULL for the synchronous calls) and closes the ring.
 */
static void run_route(struct route_case *c, mmapio_ring *ring)
{
	char p[PATH_MAX];

	cr_assert(route_path(c->dir, th_dir, c->name, -1));
	cr_assert_eq(mkdir(c->dir, 0755), 0);
	cr_assert(route_path(p, c->dir, "victim", -1));
	th_write_pattern_file(p, 64u << 10, 94);
	cr_assert(route_path(p, c->dir, "flushed", -1));
	th_write_pattern_file(p, ROUTE_MAP_LEN, 93);
	sync_ops_on_route(c, ring);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* Checks what case c left behind: the right bytes, read back with read(2). */
static void check_route(const struct route_case *c)
{
	unsigned char *want = th_malloc(ROUTE_MAP_LEN);
	char p[PATH_MAX];

	for (size_t i = 0; i < sizeof(route_copy_sizes) / sizeof(route_copy_sizes[0]); i++) {
		cr_assert(route_path(p, c->dir, "copy", (int)i));
		th_assert_file_pattern(p, route_copy_sizes[i], 90 + (unsigned)i);
	}
	cr_assert(route_path(p, c->dir, "victim", -1));
	cr_assert(!th_exists(p), "route %s left the deleted file", c->name);
	cr_assert(route_path(p, c->dir, "from-missing", -1));
	cr_assert(!th_exists(p), "route %s left a failed copy's destination", c->name);
	th_fill(want, ROUTE_MAP_LEN, 0, 93);
	memcpy(want + 100, "ranged", 6);
	memcpy(want + ROUTE_MAP_LEN - 5, "whole", 5);
	cr_assert(route_path(p, c->dir, "flushed", -1));
	th_assert_file_eq(p, want, ROUTE_MAP_LEN);
	free(want);
}

/*
 * The same copies, deletes and flushes as plain synchronous calls and one
 * at a time on a ring opened on backend: the same return codes (checked as
 * they run) and the same bytes.  A ring whose backend cannot be had here
 * skips the test with the reason.
 */
static void compare_sync_with_ring(enum mmapio_backend backend, const char *name)
{
	struct mmapio_ring_options o = { .backend = backend };
	struct route_case sync = { .name = "sync" };
	struct route_case ring_case = { .name = name };
	mmapio_ring *ring = NULL;
	char p[PATH_MAX];
	int r = mmapio_ring_open(&o, &ring);

	if (r < 0 && backend == MMAPIO_BACKEND_URING &&
	    (r == -ENOSYS || r == -EPERM || r == -ENOTSUP))
		TH_SKIP("no io_uring ring here: %s", mmapio_strerror(r));
	TH_ASSERT_RC(r, 0);
	cr_assert_eq(mmapio_ring_backend(ring, NULL), backend);
	for (size_t i = 0; i < sizeof(route_copy_sizes) / sizeof(route_copy_sizes[0]); i++) {
		cr_assert(route_path(p, th_dir, "src", (int)i));
		th_write_pattern_file(p, route_copy_sizes[i], 90 + (unsigned)i);
	}
	run_route(&sync, NULL);
	run_route(&ring_case, ring);
	check_route(&sync);
	check_route(&ring_case);
}

Test(copy_delete, sync_calls_and_a_uring_ring_give_identical_results)
{
	compare_sync_with_ring(MMAPIO_BACKEND_URING, "ring-uring");
}

Test(copy_delete, sync_calls_and_a_blocking_ring_give_identical_results)
{
	compare_sync_with_ring(MMAPIO_BACKEND_FALLBACK, "ring-blocking");
}

/* Counts this process's descriptors that are io_uring instances. */
static int count_uring_fds(void)
{
	char link[PATH_MAX], target[256];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		len = readlink(link, target, sizeof(target) - 1);
		if (len > 0) {
			target[len] = '\0';
			n += strstr(target, "io_uring") != NULL;
		}
	}
	closedir(d);
	return n;
}

struct fork_case {
	char src[PATH_MAX];
	char dst[PATH_MAX];
};

/* The child's side of fork_child_gets_its_own_default_ring. */
static void copy_in_forked_child(void *arg)
{
	const struct fork_case *c = arg;
	int before = count_uring_fds(), rc;

	rc = mmapio_copy(c->src, c->dst, 0);
	TH_CHILD_CHECK(rc == 0, "copy in the child: %d", rc);
	/*
	 * The child must have set up an io_uring instance of its own rather
	 * than driving the one it shares with its parent.
	 */
	TH_CHILD_CHECK(count_uring_fds() == before + 1,
		       "io_uring descriptors before the copy %d, after %d", before,
		       count_uring_fds());
}

/*
 * A child forked after its parent's default ring exists shares that ring's
 * io_uring instance; reaping it would take the parent's completions.  The
 * child gets a ring of its own, and the parent's keeps working.
 */
Test(copy_delete, fork_child_gets_its_own_default_ring)
{
	struct fork_case c;
	TH_PATH(first, "first");
	TH_PATH(third, "third");
	const uint64_t len = (1u << 20) + 3;

	if (!th_env_is_uring())
		TH_SKIP("the blocking backend has no ring state to share across fork");
	/* Copies this large go through the default ring (see copy_uses_ring). */
	cr_assert_eq(mmapio_default_backend(NULL), MMAPIO_BACKEND_URING);
	th_path(c.src, sizeof(c.src), "src");
	th_path(c.dst, sizeof(c.dst), "second");
	th_write_pattern_file(c.src, len, 31);
	TH_ASSERT_RC(mmapio_copy(c.src, first, 0), 0);
	th_run_in_child(copy_in_forked_child, &c);
	TH_ASSERT_RC(mmapio_copy(c.src, third, 0), 0);
	th_assert_file_pattern(first, len, 31);
	th_assert_file_pattern(c.dst, len, 31);
	th_assert_file_pattern(third, len, 31);
}
