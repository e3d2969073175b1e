/* SPDX-License-Identifier: Apache-2.0 */
/*
 * An io_uring ring under a low RLIMIT_NOFILE: 1000 creates give the results
 * the blocking engine gives (none fails), with direct descriptor slots or
 * plain descriptors, and opening and closing a ring leaves the process's
 * limits as they were (liburing's io_uring_register_files_sparse raises
 * the soft limit by the table's size when the kernel refuses the table).
 */
#include "helpers.h"
#include "uring_helpers.h"

#include <sys/resource.h>

TestSuite(uring_limits, .init = ur_setup, .fini = ur_teardown, .timeout = 120);

struct limit_case {
	rlim_t soft;
	bool hard_too;    /* the hard limit is lowered as well */
	bool no_direct;   /* plain descriptors only (hook) */
	unsigned depth;
};

/*
 * In a child: runs n creates of 4 KiB into dir on a ring of backend.
 * Returns the number that failed; *first gets the first error.
 */
static unsigned child_creates(enum mmapio_backend backend, unsigned depth, const char *dir,
			      unsigned n, int *first)
{
	struct mmapio_ring_options o = { .queue_depth = depth, .backend = backend };
	struct mmapio_completion c[64];
	mmapio_ring *ring = NULL;
	unsigned got = 0, failed = 0;
	int rc;

	*first = 0;
	TH_CHILD_CHECK(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
	rc = mmapio_ring_open(&o, &ring);
	if (rc == -ENOTSUP || rc == -ENOSYS || rc == -EPERM)
		TH_CHILD_SKIP("no io_uring here: %s", mmapio_strerror(rc));
	TH_CHILD_CHECK(rc == 0, "ring_open(%d): %d", (int)backend, rc);
	for (unsigned i = 0; i < n; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/f%04u", dir, i);
		TH_CHILD_CHECK(mmapio_ring_prep_create(ring, p, 4096, NULL, NULL) == 0, "prep");
	}
	rc = mmapio_ring_submit(ring);
	TH_CHILD_CHECK(rc == (int)n, "submit: %d", rc);
	while (got < n) {
		rc = mmapio_ring_wait(ring, c, 64, 1, 30000);
		TH_CHILD_CHECK(rc > 0, "wait after %u of %u: %d", got, n, rc);
		for (int i = 0; i < rc; i++) {
			if (c[i].result != 0 && failed++ == 0)
				*first = c[i].result;
		}
		got += (unsigned)rc;
	}
	rc = mmapio_ring_close(ring);
	TH_CHILD_CHECK(rc == 0, "ring_close: %d", rc);
	return failed;
}

static void under_low_limit(void *arg)
{
	const struct limit_case *lc = arg;
	struct rlimit rl, now;
	char dir[PATH_MAX];
	unsigned failed;
	int first;

	mmapio__ur_hooks.no_direct = lc->no_direct;
	TH_CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	rl.rlim_cur = lc->soft;
	if (lc->hard_too && TH_UNDER_VALGRIND())
		TH_CHILD_SKIP("valgrind does not let a program lower its hard RLIMIT_NOFILE");
	if (lc->hard_too)
		rl.rlim_max = lc->soft;
	TH_CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s", strerror(errno));

	th_path(dir, sizeof(dir), "blocking");
	failed = child_creates(MMAPIO_BACKEND_FALLBACK, lc->depth, dir, 1000, &first);
	TH_CHILD_CHECK(failed == 0, "the blocking engine failed %u creates (%d)", failed, first);

	th_path(dir, sizeof(dir), "uring");
	failed = child_creates(MMAPIO_BACKEND_URING, lc->depth, dir, 1000, &first);
	TH_CHILD_CHECK(failed == 0, "io_uring failed %u of 1000 creates, first with %d (%s)", failed,
		       first, mmapio_strerror(first));
	TH_CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0, "getrlimit");
	TH_CHILD_CHECK(now.rlim_cur == rl.rlim_cur && now.rlim_max == rl.rlim_max,
		       "the ring changed RLIMIT_NOFILE from %llu/%llu to %llu/%llu",
		       (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max,
		       (unsigned long long)now.rlim_cur, (unsigned long long)now.rlim_max);
}

/* A ring open and close alone must not touch the limit either. */
static void open_close_keeps_limit(void *arg)
{
	struct mmapio_ring_options o = { .backend = MMAPIO_BACKEND_URING };
	struct rlimit rl, now;
	mmapio_ring *ring = NULL;
	int rc;

	(void)arg;
	TH_CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	rl.rlim_cur = 20;
	TH_CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s", strerror(errno));
	rc = mmapio_ring_open(&o, &ring);
	if (rc == -ENOTSUP || rc == -ENOSYS || rc == -EPERM)
		TH_CHILD_SKIP("no io_uring here: %s", mmapio_strerror(rc));
	TH_CHILD_CHECK(rc == 0, "ring_open: %d", rc);
	TH_CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0, "getrlimit");
	TH_CHILD_CHECK(now.rlim_cur == 20, "ring_open raised the soft limit from 20 to %llu",
		       (unsigned long long)now.rlim_cur);
	TH_CHILD_CHECK(mmapio_ring_close(ring) == 0, "ring_close");
	TH_CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &now) == 0 && now.rlim_cur == 20,
		       "the soft limit is %llu after ring_close", (unsigned long long)now.rlim_cur);
}

Test(uring_limits, ring_open_leaves_rlimit_nofile_alone)
{
	th_run_in_child(open_close_keeps_limit, NULL);
}

Test(uring_limits, soft_limit_20_creates_all_succeed)
{
	struct limit_case lc = { 20, false, false, 0 };

	th_run_in_child(under_low_limit, &lc);
}

Test(uring_limits, soft_and_hard_limit_20_creates_all_succeed)
{
	struct limit_case lc = { 20, true, false, 0 };

	th_run_in_child(under_low_limit, &lc);
}

/* Plain descriptors: an open out of descriptors waits for the ring's own. */
Test(uring_limits, soft_limit_20_plain_descriptors_creates_all_succeed)
{
	struct limit_case lc = { 20, false, true, 0 };

	th_run_in_child(under_low_limit, &lc);
}
