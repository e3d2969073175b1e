/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Creates on io_uring answer as the blocking engine's do when something is
 * in the way: a FIFO or a directory at the path gives the same error on
 * both engines, and a file swapped for a FIFO between a look-up by name and
 * the open is refused, never sized or truncated, because the ring create,
 * like the blocking one, opens exclusively first, then opens again and
 * checks the descriptor (not the name) before sizing the file.
 */
#include "helpers.h"
#include "uring_helpers.h"

TestSuite(uring_create, .init = ur_setup, .fini = ur_teardown, .timeout = 60);

/*
 * Opens a ring of backend.  Returns NULL (after skipping) where io_uring is
 * asked for and missing.
 */
static mmapio_ring *open_backend(enum mmapio_backend backend)
{
	struct mmapio_ring_options o = { .queue_depth = 8, .backend = backend };
	mmapio_ring *ring = NULL;
	int rc = mmapio_ring_open(&o, &ring);

	if (backend == MMAPIO_BACKEND_URING && (rc == -ENOTSUP || rc == -ENOSYS || rc == -EPERM))
		TH_SKIP("no io_uring here: %s", mmapio_strerror(rc));
	cr_assert_eq(rc, 0, "mmapio_ring_open(%d): %d (%s)", (int)backend, rc, mmapio_strerror(rc));
	cr_assert_eq(mmapio_ring_backend(ring, NULL), backend);
	return ring;
}

/* Runs one create of path on ring and returns its result. */
static int ring_create(mmapio_ring *ring, const char *path, uint64_t size, unsigned flags)
{
	struct mmapio_options o = { .flags = flags };
	struct mmapio_completion c;

	TH_ASSERT_RC(mmapio_ring_prep_create(ring, path, size, &o, (void *)path), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	TH_ASSERT_RC(mmapio_ring_wait(ring, &c, 1, 1, 10000), 1);
	cr_assert_eq(c.user_data, (void *)path);
	return c.result;
}

static bool is_fifo(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISFIFO(st.st_mode);
}

static bool is_dir(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

Test(uring_create, fifo_or_directory_in_the_way_same_error_on_both_engines)
{
	static const enum mmapio_backend engines[] = { MMAPIO_BACKEND_URING,
						       MMAPIO_BACKEND_FALLBACK };
	static const struct {
		bool dir;
		unsigned flags;
		int want;
	} cases[] = {
		{ false, 0, -EINVAL },
		{ false, MMAPIO_CREATE_EXCLUSIVE, -EEXIST },
		{ false, MMAPIO_CREATE_SPARSE, -EINVAL },
		{ false, MMAPIO_CREATE_DURABLE, -EINVAL },
		{ true, 0, -EISDIR },
		{ true, MMAPIO_CREATE_EXCLUSIVE, -EISDIR },
		{ true, MMAPIO_CREATE_DURABLE, -EISDIR },
	};
	TH_PATH(fifo, "fifo");
	TH_PATH(dir, "dir");

	cr_assert_eq(mkfifo(fifo, 0644), 0);
	cr_assert_eq(mkdir(dir, 0755), 0);
	for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
		mmapio_ring *ring = open_backend(engines[e]);
		int fds = th_count_fds();

		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			const char *p = cases[i].dir ? dir : fifo;
			int rc = ring_create(ring, p, 4096, cases[i].flags);

			cr_expect_eq(rc, cases[i].want,
				     "%s engine, %s, flags %#x: %d (%s), expected %d (%s)",
				     engines[e] == MMAPIO_BACKEND_URING ? "io_uring" : "blocking",
				     cases[i].dir ? "directory" : "FIFO", cases[i].flags, rc,
				     mmapio_strerror(rc), cases[i].want,
				     mmapio_strerror(cases[i].want));
		}
		cr_assert(is_fifo(fifo) && is_dir(dir), "what was in the way changed");
		cr_assert_eq(th_count_fds(), fds, "descriptors leaked");
		TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	}
}

/* The fstatat of the system-call table, and the path to swap under it. */
static int (*real_fstatat)(int, const char *, struct stat *, int);
static const char *swap_path;

/*
 * fstatat that answers for the file as it is, then puts a FIFO in its
 * place: the race between a look-up by name and the open that follows.
 */
static int fstatat_then_swap(int dirfd, const char *path, struct stat *st, int flags)
{
	int r = real_fstatat(dirfd, path, st, flags);

	if (swap_path != NULL && strcmp(path, swap_path) == 0) {
		unlink(swap_path);
		if (mkfifo(swap_path, 0644) != 0)
			r = -EIO;
		swap_path = NULL;
	}
	return r;
}

/* Runs the race on one engine.  Returns the create's result. */
static int swapped_create(enum mmapio_backend backend, const char *p)
{
	mmapio_ring *ring = open_backend(backend);
	int rc;

	unlink(p);
	th_write_file(p, "old contents", 12, 0644);
	real_fstatat = mmapio__sys.fstatat;
	mmapio__sys.fstatat = fstatat_then_swap;
	swap_path = p;
	rc = ring_create(ring, p, 4096, 0);
	mmapio__sys_reset();
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	/* Whatever the engine did, it is either refused, or a file of 4096 bytes. */
	if (rc == -EINVAL)
		cr_assert(is_fifo(p), "-EINVAL, but no FIFO at the path");
	else if (rc == 0)
		cr_assert(!is_fifo(p) && th_file_size(p) == 4096, "0, but no 4096-byte file");
	return rc;
}

Test(uring_create, file_swapped_for_a_fifo_after_a_lookup_is_not_sized)
{
	TH_PATH(p, "racy");
	int ur = swapped_create(MMAPIO_BACKEND_URING, p);
	int blk = swapped_create(MMAPIO_BACKEND_FALLBACK, p);

	cr_assert(ur == 0 || ur == -EINVAL, "io_uring create: %d (%s)", ur, mmapio_strerror(ur));
	cr_assert_eq(ur, blk, "io_uring create %d (%s), blocking create %d (%s)", ur,
		     mmapio_strerror(ur), blk, mmapio_strerror(blk));
}

/* An existing regular file is truncated and sized, as on the blocking engine. */
Test(uring_create, existing_file_is_truncated_and_sized)
{
	TH_PATH(p, "old");
	mmapio_ring *ring = open_backend(MMAPIO_BACKEND_URING);
	unsigned char zeros[5000] = { 0 };
	int fds = th_count_fds();

	th_write_file(p, "old contents", 12, 0600);
	TH_ASSERT_RC(ring_create(ring, p, sizeof(zeros), 0), 0);
	th_assert_file_eq(p, zeros, sizeof(zeros));
	TH_ASSERT_RC(ring_create(ring, p, 100, MMAPIO_CREATE_EXCLUSIVE), -EEXIST);
	TH_ASSERT_RC(ring_create(ring, p, 100, MMAPIO_CREATE_SPARSE | MMAPIO_CREATE_DURABLE), 0);
	cr_assert_eq(th_file_size(p), 100);
	cr_assert_eq(th_count_fds(), fds, "descriptors leaked");
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}
