/* SPDX-License-Identifier: Apache-2.0 */
/*
 * io_uring_enter refused or failing: a seccomp filter that lets
 * io_uring_setup through but refuses io_uring_enter must send the library
 * to the blocking engine with the reason; a ring whose enter fails for good
 * must hand every operation back, with the error, instead of counting the
 * SQEs it never handed over as held by the kernel.
 */
#include "helpers.h"
#include "seccomp_helpers.h"
#include "uring_helpers.h"

#include <linux/io_uring.h>

TestSuite(uring_enter, .init = ur_setup, .fini = ur_teardown, .timeout = 60);

/* In a child: 0 when io_uring_setup works and io_uring_enter fails with err. */
static void check_enter_refused(int err)
{
	struct io_uring_params params;
	long fd, r;

	memset(&params, 0, sizeof(params));
	fd = syscall(__NR_io_uring_setup, 2, &params);
	if (fd < 0)
		TH_CHILD_SKIP("io_uring_setup refused here: %s", strerror(errno));
	r = syscall(__NR_io_uring_enter, (unsigned)fd, 0, 0, 0, NULL, 0);
	TH_CHILD_CHECK(r < 0 && errno == err, "io_uring_enter under the filter gave %ld (%s)", r,
		       strerror(errno));
	close((int)fd);
}

/* In a child: true when the files at a and b hold the same bytes. */
static bool child_same_bytes(const char *a, const char *b)
{
	static unsigned char x[1 << 16], y[1 << 16];
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
	bool same = fa >= 0 && fb >= 0;

	while (same) {
		ssize_t na = read(fa, x, sizeof(x)), nb = read(fb, y, sizeof(y));

		if (na != nb || na < 0 || memcmp(x, y, (size_t)na) != 0)
			same = false;
		if (na <= 0)
			break;
	}
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

/*
 * Everything a user does while a filter refuses io_uring_enter with err:
 * the default backend says blocking and names the enter, a 1 MiB copy (the
 * size that goes through the default ring) has the right bytes, a ring
 * batch of 52 operations yields 52 completions, and closing the ring and
 * the map works.
 */
static void under_enter_filter(void *arg)
{
	int err = *(const int *)arg;
	char src[PATH_MAX], dst[PATH_MAX], p[PATH_MAX];
	struct mmapio_completion c[64];
	mmapio_ring *ring = NULL;
	mmapio_map *map = NULL;
	const char *reason = NULL;
	unsigned got = 0, failed = 0;
	int rc, i;

	th_path(src, sizeof(src), "src");
	th_path(dst, sizeof(dst), "dst");
	TH_CHILD_CHECK(unsetenv("MMAPIO_BACKEND") == 0, "unsetenv");
	th_deny_syscall(__NR_io_uring_enter, err);
	check_enter_refused(err);

	rc = mmapio_default_backend(&reason);
	TH_CHILD_CHECK(rc == MMAPIO_BACKEND_FALLBACK, "default backend %d (%s)", rc,
		       reason ? reason : "no reason");
	TH_CHILD_CHECK(reason && strstr(reason, "io_uring_enter") && strstr(reason, strerror(err)),
		       "the reason does not name the enter: \"%s\"", reason ? reason : "(null)");

	rc = mmapio_create(src, 1 << 20, NULL, &map);
	TH_CHILD_CHECK(rc == 0, "create: %d", rc);
	for (i = 0; i < 256; i++)
		TH_CHILD_CHECK(mmapio_write(map, (uint64_t)i * 4096, &i, sizeof(i)) == 0, "write");
	TH_CHILD_CHECK(mmapio_flush(map) == 0, "flush");
	rc = mmapio_copy(src, dst, 0);
	TH_CHILD_CHECK(rc == 0, "1 MiB copy: %d (%s)", rc, mmapio_strerror(rc));
	TH_CHILD_CHECK(child_same_bytes(src, dst), "the copy's bytes differ");

	rc = mmapio_ring_open(NULL, &ring);
	TH_CHILD_CHECK(rc == 0, "ring_open: %d", rc);
	TH_CHILD_CHECK(mmapio_ring_backend(ring, NULL) == MMAPIO_BACKEND_FALLBACK, "ring backend");
	for (i = 0; i < 13; i++) {
		char name[32], q[PATH_MAX];

		snprintf(name, sizeof(name), "c%d", i);
		th_path(p, sizeof(p), name);
		snprintf(name, sizeof(name), "d%d", i);
		th_path(q, sizeof(q), name);
		TH_CHILD_CHECK(mmapio_ring_prep_create(ring, p, 4096, NULL, NULL) == 0, "prep");
		TH_CHILD_CHECK(mmapio_ring_prep_copy(ring, src, q, 0, NULL) == 0, "prep");
		TH_CHILD_CHECK(mmapio_ring_prep_delete(ring, q, NULL) == 0, "prep");
		TH_CHILD_CHECK(mmapio_ring_prep_flush(ring, map, 0, 1 << 20, NULL) == 0, "prep");
	}
	rc = mmapio_ring_submit(ring);
	TH_CHILD_CHECK(rc == 52, "submit: %d", rc);
	while (got < 52) {
		rc = mmapio_ring_wait(ring, c, 64, 1, 10000);
		TH_CHILD_CHECK(rc > 0, "wait after %u of 52: %d (%s)", got, rc, mmapio_strerror(rc));
		for (i = 0; i < rc; i++)
			failed += c[i].result != 0;
		got += (unsigned)rc;
	}
	TH_CHILD_CHECK(got == 52 && failed == 0, "%u completions, %u failed", got, failed);
	rc = mmapio_ring_close(ring);
	TH_CHILD_CHECK(rc == 0, "ring_close: %d", rc);
	rc = mmapio_close(map);
	TH_CHILD_CHECK(rc == 0, "map close: %d (%s)", rc, mmapio_strerror(rc));
}

Test(uring_enter, enter_refused_with_eperm_falls_back_to_blocking)
{
	int err = EPERM;

	if (!MMAPIO_TEST_HAVE_URING)
		TH_SKIP("built without io_uring (-During=disabled)");
	th_run_in_child(under_enter_filter, &err);
}

Test(uring_enter, enter_refused_with_enosys_falls_back_to_blocking)
{
	int err = ENOSYS;

	if (!MMAPIO_TEST_HAVE_URING)
		TH_SKIP("built without io_uring (-During=disabled)");
	th_run_in_child(under_enter_filter, &err);
}

/* The open's check of the enter, forced to fail through the hook. */
Test(uring_enter, open_fails_with_the_enter_error_and_says_so)
{
	struct mmapio_ring_options o = { .backend = MMAPIO_BACKEND_URING };
	mmapio_ring *ring = NULL;
	const char *reason = NULL;

	mmapio_ring_close(open_uring(0));
	mmapio__ur_hooks.enter_error = -EPERM;
	TH_ASSERT_RC(mmapio_ring_open(&o, &ring), -EPERM);
	/* AUTO falls back and keeps the reason. */
	o.backend = MMAPIO_BACKEND_AUTO;
	cr_assert_eq(setenv("MMAPIO_BACKEND", "auto", 1), 0);
	TH_ASSERT_RC(mmapio_ring_open(&o, &ring), 0);
	cr_assert_eq(mmapio_ring_backend(ring, &reason), MMAPIO_BACKEND_FALLBACK);
	cr_assert(strstr(reason, "io_uring_enter: ") != NULL, "reason: %s", reason);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* True when fd is an io_uring instance. */
static bool is_uring_fd(int fd)
{
	char link[64], target[128];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return false;
	target[n] = '\0';
	return strstr(target, "io_uring") != NULL;
}

/*
 * The ring's descriptor is replaced by /dev/null before the submit, so no
 * enter ever reaches io_uring (-EOPNOTSUPP), and then the ring is closed:
 * the flush and the delete the kernel never received must come back, so
 * that the map closes, and nothing may run.
 */
Test(uring_enter, close_hands_back_what_the_kernel_never_took)
{
	TH_PATH(p, "data");
	TH_PATH(q, "victim");
	static bool before[1024];
	mmapio_map *map = NULL;
	mmapio_ring *ring;
	int fds, ringfd = -1, saved, devnull;

	(void)mmapio_default_backend(NULL);
	fds = th_count_fds();
	for (int fd = 0; fd < 1024; fd++)
		before[fd] = is_uring_fd(fd);
	ring = open_uring(4);
	for (int fd = 0; fd < 1024 && ringfd < 0; fd++)
		if (!before[fd] && is_uring_fd(fd))
			ringfd = fd;
	cr_assert_geq(ringfd, 0, "the ring's io_uring descriptor is not in /proc/self/fd");
	TH_ASSERT_RC(mmapio_create(p, 1 << 20, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, 0, "dirty", 5), 0);
	th_write_file(q, "x", 1, 0644);

	saved = dup(ringfd);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	cr_assert(saved >= 0 && devnull >= 0);
	cr_assert_eq(dup2(devnull, ringfd), ringfd);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 1 << 20, NULL), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, q, NULL), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	close(saved);
	close(devnull);

	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert(th_exists(q), "the delete ran although no enter reached the kernel");
	cr_assert_eq(th_count_fds(), fds, "descriptors leaked");
}

/*
 * Enter fails for good (-EBADFD, forced by the hook once the ring is open):
 * every operation comes back with that error, the queued flush releases its
 * map, a create and a copy leave nothing behind, and the ring refuses new
 * work with the error instead of losing it.
 */
Test(uring_enter, broken_ring_hands_every_operation_back_with_the_error)
{
	TH_PATH(p, "data");
	TH_PATH(newfile, "new");
	TH_PATH(dst, "copy");
	TH_PATH(missing, "missing");
	struct mmapio_completion c[8];
	mmapio_map *map = NULL;
	mmapio_ring *ring;
	unsigned got = 0;
	int fds, rc;

	(void)mmapio_default_backend(NULL);
	fds = th_count_fds();
	/* The open's own check is the ring's first enter; the rest fail. */
	mmapio__ur_hooks.enter_error = -EBADFD;
	mmapio__ur_hooks.enter_after = 1;
	ring = open_uring(8);
	TH_ASSERT_RC(mmapio_create(p, 1 << 20, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, 0, "dirty", 5), 0);

	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 1 << 20, (void *)1), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, missing, (void *)2), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, newfile, 8192, NULL, (void *)3), 0);
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, p, dst, 0, (void *)4), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 4);
	while (got < 4) {
		rc = mmapio_ring_wait(ring, c + got, 8 - got, 1, 10000);
		cr_assert_gt(rc, 0, "wait after %u of 4: %d (%s)", got, rc, mmapio_strerror(rc));
		got += (unsigned)rc;
	}
	for (unsigned i = 0; i < got; i++)
		cr_expect_eq(c[i].result, -EBADFD, "operation %p: %d (%s)", c[i].user_data,
			     c[i].result, mmapio_strerror(c[i].result));
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert(!th_exists(newfile), "a failed create left its file");
	cr_assert(!th_exists(dst), "a failed copy left its destination");

	/* New work is refused, not swallowed: it stays prepared. */
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, missing, NULL), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), -EBADFD);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	cr_assert_eq(th_count_fds(), fds, "descriptors leaked");
}
