/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Run-time backend choice.  Children of the test install a seccomp filter
 * (raw BPF, no library needed) that makes io_uring_setup fail with EPERM,
 * as container runtimes do, and check that every synchronous operation
 * still works on the blocking backend and says why, and that
 * MMAPIO_BACKEND=uring then reports the error instead of falling back.
 * Without the filter, MMAPIO_BACKEND picks the backend.
 */
#include "helpers.h"
#include "seccomp_helpers.h"

#include <linux/io_uring.h>

TestSuite(backend_choice, .init = th_setup, .fini = th_teardown, .timeout = 60);

/* Probes io_uring_setup directly: 0 when the kernel sets up a ring, else -errno. */
static int probe_io_uring(void)
{
#ifdef __NR_io_uring_setup
	struct io_uring_params params;
	long fd;

	memset(&params, 0, sizeof(params));
	fd = syscall(__NR_io_uring_setup, 2, &params);
	if (fd < 0)
		return -errno;
	close((int)fd);
	return 0;
#else
	return -ENOSYS;
#endif
}

/* In a child: makes io_uring_setup fail with EPERM for this process. */
static void deny_io_uring(void)
{
#ifdef __NR_io_uring_setup
	int rc;

	th_deny_syscall(__NR_io_uring_setup, EPERM);
	rc = probe_io_uring();
	TH_CHILD_CHECK(rc == -EPERM, "io_uring_setup under the filter gave %d", rc);
#else
	TH_CHILD_SKIP("no io_uring_setup on this architecture");
#endif
}

static void set_backend_env(const char *value)
{
	if (value)
		TH_CHILD_CHECK(setenv("MMAPIO_BACKEND", value, 1) == 0, "setenv");
	else
		TH_CHILD_CHECK(unsetenv("MMAPIO_BACKEND") == 0, "unsetenv");
}

/* Reads a whole file with read(2) without Criterion (we are in a child). */
static bool child_file_is(const char *path, const unsigned char *want, size_t len)
{
	unsigned char buf[8192 + 1];
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || len > sizeof(buf) - 1)
		return false;
	for (;;) {
		ssize_t n = read(fd, buf + got, sizeof(buf) - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return got == len && memcmp(buf, want, len) == 0;
}

static bool mentions_eperm(const char *reason)
{
	return reason && (strstr(reason, strerror(EPERM)) || strstr(reason, "EPERM"));
}

/* Everything a user does, with io_uring refused by seccomp. */
static void operations_under_filter(void *arg)
{
	const char *env = arg;
	char p[PATH_MAX], q[PATH_MAX], r[PATH_MAX];
	unsigned char want[8192] = { 0 };
	struct mmapio_ring *ring = NULL;
	struct mmapio_completion c;
	mmapio_map *map = NULL;
	const char *reason = NULL;
	int rc;

	th_path(p, sizeof(p), "a");
	th_path(q, sizeof(q), "b");
	th_path(r, sizeof(r), "c");
	set_backend_env(env);
	deny_io_uring();

	rc = mmapio_default_backend(&reason);
	TH_CHILD_CHECK(rc == MMAPIO_BACKEND_FALLBACK, "default backend %d (%s)", rc,
		       reason ? reason : "no reason");
	if (MMAPIO_TEST_HAVE_URING)
		TH_CHILD_CHECK(mentions_eperm(reason), "the reason does not say why: \"%s\"",
			       reason ? reason : "(null)");

	rc = mmapio_create(p, sizeof(want), NULL, &map);
	TH_CHILD_CHECK(rc == 0, "create: %d", rc);
	rc = mmapio_write(map, 100, "Hello, mmap!", 12);
	TH_CHILD_CHECK(rc == 0, "write: %d", rc);
	memcpy(want + 100, "Hello, mmap!", 12);
	rc = mmapio_flush(map);
	TH_CHILD_CHECK(rc == 0, "flush: %d", rc);
	rc = mmapio_flush_range(map, 100, 12);
	TH_CHILD_CHECK(rc == 0, "flush_range: %d", rc);
	rc = mmapio_close(map);
	TH_CHILD_CHECK(rc == 0, "close: %d", rc);
	TH_CHILD_CHECK(child_file_is(p, want, sizeof(want)), "the flushed file differs");

	rc = mmapio_copy(p, q, MMAPIO_COPY_DURABLE);
	TH_CHILD_CHECK(rc == 0, "copy: %d", rc);
	TH_CHILD_CHECK(child_file_is(q, want, sizeof(want)), "the copy differs");
	rc = mmapio_copy(p, q, 0);
	TH_CHILD_CHECK(rc == -EEXIST, "copy over an existing file: %d", rc);

	rc = mmapio_delete(p);
	TH_CHILD_CHECK(rc == 0, "delete: %d", rc);
	TH_CHILD_CHECK(access(p, F_OK) != 0 && errno == ENOENT, "the deleted file exists");
	rc = mmapio_delete(p);
	TH_CHILD_CHECK(rc == -ENOENT, "second delete: %d", rc);

	/* An explicit AUTO ring falls back too, and says why. */
	rc = mmapio_ring_open(NULL, &ring);
	TH_CHILD_CHECK(rc == 0, "ring_open: %d", rc);
	rc = (int)mmapio_ring_backend(ring, &reason);
	TH_CHILD_CHECK(rc == MMAPIO_BACKEND_FALLBACK, "ring backend %d", rc);
	if (MMAPIO_TEST_HAVE_URING)
		TH_CHILD_CHECK(mentions_eperm(reason), "ring reason: \"%s\"",
			       reason ? reason : "(null)");
	rc = mmapio_ring_prep_create(ring, r, 5000, NULL, (void *)9);
	TH_CHILD_CHECK(rc == 0, "prep_create: %d", rc);
	rc = mmapio_ring_submit(ring);
	TH_CHILD_CHECK(rc == 1, "submit: %d", rc);
	rc = mmapio_ring_wait(ring, &c, 1, 1, 10000);
	TH_CHILD_CHECK(rc == 1 && c.result == 0 && c.user_data == (void *)9,
		       "wait: %d, result %d", rc, c.result);
	TH_CHILD_CHECK(th_file_size(r) == 5000, "ring-created file size %lld", th_file_size(r));
	mmapio_ring_close(ring);
}

Test(backend_choice, seccomp_denied_io_uring_falls_back)
{
	TH_PATH(p, "a");
	TH_PATH(q, "b");
	unsigned char want[8192] = { 0 };

	th_run_in_child(operations_under_filter, NULL);
	/* What the child did is visible from here too. */
	cr_assert(!th_exists(p));
	memcpy(want + 100, "Hello, mmap!", 12);
	th_assert_file_eq(q, want, sizeof(want));
}

Test(backend_choice, seccomp_denied_io_uring_falls_back_under_auto)
{
	th_run_in_child(operations_under_filter, "auto");
}

static void uring_demanded_under_filter(void *arg)
{
	struct mmapio_ring_options o = { .backend = MMAPIO_BACKEND_URING };
	mmapio_ring *sentinel = (mmapio_ring *)(uintptr_t)0x5a5a5a5a;
	mmapio_ring *ring = sentinel;
	const char *reason = NULL;
	int rc;

	(void)arg;
	set_backend_env("uring");
	deny_io_uring();

	/* AUTO follows MMAPIO_BACKEND=uring, which must not fall back. */
	rc = mmapio_ring_open(NULL, &ring);
	TH_CHILD_CHECK(rc == -EPERM, "ring_open(AUTO) with MMAPIO_BACKEND=uring: %d", rc);
	TH_CHILD_CHECK(ring == sentinel, "a failed ring_open wrote *out");
	rc = mmapio_ring_open(&o, &ring);
	TH_CHILD_CHECK(rc == -EPERM, "ring_open(URING): %d", rc);
	rc = mmapio_default_backend(&reason);
	TH_CHILD_CHECK(rc == -EPERM, "default backend with MMAPIO_BACKEND=uring: %d", rc);

	/* Asking for the blocking backend explicitly still works. */
	o.backend = MMAPIO_BACKEND_FALLBACK;
	rc = mmapio_ring_open(&o, &ring);
	TH_CHILD_CHECK(rc == 0, "ring_open(FALLBACK): %d", rc);
	mmapio_ring_close(ring);

	/* And an explicit URING ignores MMAPIO_BACKEND=fallback. */
	set_backend_env("fallback");
	o.backend = MMAPIO_BACKEND_URING;
	ring = sentinel;
	rc = mmapio_ring_open(&o, &ring);
	TH_CHILD_CHECK(rc == -EPERM, "ring_open(URING) with MMAPIO_BACKEND=fallback: %d", rc);
}

Test(backend_choice, uring_demanded_under_seccomp_reports_eperm)
{
	if (!MMAPIO_TEST_HAVE_URING)
		TH_SKIP("built without io_uring (-During=disabled)");
	th_run_in_child(uring_demanded_under_filter, NULL);
}

struct env_case {
	const char *env;
	int want;
};

static void default_backend_for_env(void *arg)
{
	const struct env_case *e = arg;
	const char *reason = NULL;
	int rc;

	set_backend_env(e->env);
	rc = mmapio_default_backend(&reason);
	TH_CHILD_CHECK(rc == e->want, "MMAPIO_BACKEND=%s: default backend %d, expected %d (%s)",
		       e->env ? e->env : "(unset)", rc, e->want, reason ? reason : "no reason");
	TH_CHILD_CHECK(reason && *reason, "no reason given");
}

Test(backend_choice, environment_selects_default_backend)
{
	struct env_case fb = { "fallback", MMAPIO_BACKEND_FALLBACK };
	struct env_case ur = { "uring", MMAPIO_BACKEND_URING };
	struct env_case au = { "auto", MMAPIO_BACKEND_URING };
	struct env_case unset = { NULL, MMAPIO_BACKEND_URING };
	int probe = probe_io_uring();

	th_run_in_child(default_backend_for_env, &fb);
	if (!MMAPIO_TEST_HAVE_URING)
		TH_SKIP("built without io_uring (-During=disabled)");
	if (probe != 0)
		TH_SKIP("this kernel refuses io_uring_setup: %s", strerror(-probe));
	th_run_in_child(default_backend_for_env, &ur);
	th_run_in_child(default_backend_for_env, &au);
	th_run_in_child(default_backend_for_env, &unset);
}
