/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What runs inside mmapio_ring_peek on an io_uring ring: nothing that may
 * block.  Opening files, fchmod, FICLONE and the other blocking calls of a
 * copy happen in mmapio_ring_submit (or a wait that may block), so a peek
 * that frees room in the window only starts work that queues SQEs; and an
 * event loop that only peeks still sees a copy queued behind a batch
 * complete.  The blocking calls are counted through the system-call table
 * while a peek runs.
 */
#include "helpers.h"
#include "uring_helpers.h"

#include <poll.h>
#include <time.h>

TestSuite(uring_peek, .init = ur_setup, .fini = ur_teardown, .timeout = 60);

/* Blocking calls made while in_peek is set, and the real entries. */
static bool in_peek;
static unsigned blocking_in_peek;
static struct mmapio__sys real;

static int count_openat(int dirfd, const char *path, int flags, unsigned mode)
{
	blocking_in_peek += in_peek;
	return real.openat(dirfd, path, flags, mode);
}

static int count_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	blocking_in_peek += in_peek;
	return real.fstatat(dirfd, path, st, flags);
}

static int count_fchmod(int fd, unsigned mode)
{
	blocking_in_peek += in_peek;
	return real.fchmod(fd, mode);
}

static int count_ficlone(int dst, int src)
{
	blocking_in_peek += in_peek;
	return real.ficlone(dst, src);
}

static int count_ftruncate(int fd, uint64_t len)
{
	blocking_in_peek += in_peek;
	return real.ftruncate(fd, len);
}

static int count_unlinkat(int dirfd, const char *path, int flags)
{
	blocking_in_peek += in_peek;
	return real.unlinkat(dirfd, path, flags);
}

static void count_blocking_calls(void)
{
	real = mmapio__sys;
	mmapio__sys.openat = count_openat;
	mmapio__sys.fstatat = count_fstatat;
	mmapio__sys.fchmod = count_fchmod;
	mmapio__sys.ficlone = count_ficlone;
	mmapio__sys.ftruncate = count_ftruncate;
	mmapio__sys.unlinkat = count_unlinkat;
}

/* mmapio_ring_peek, with the blocking calls inside it counted. */
static int counted_peek(mmapio_ring *ring, struct mmapio_completion *out, unsigned max)
{
	int rc;

	in_peek = true;
	rc = mmapio_ring_peek(ring, out, max);
	in_peek = false;
	return rc;
}

static void nap_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * A window of one, then a create and three copies: peeks hand back what
 * finishes and start what was prepared, without one blocking call; the
 * copies beyond what submit prepared ahead start in a wait.
 */
Test(uring_peek, peek_makes_no_blocking_call)
{
	TH_PATH(src, "src");
	TH_PATH(a, "a");
	char dst[3][PATH_MAX];
	struct mmapio_completion c[8];
	mmapio_ring *ring = open_uring(1);
	unsigned got = 0;
	int rc;

	th_write_pattern_file(src, 3 << 20, 7);
	count_blocking_calls();
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, a, 4096, NULL, NULL), 0);
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "dst%d", i);
		th_path(dst[i], sizeof(dst[i]), name);
		TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, dst[i], 0, NULL), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), 4);
	/* Peeks alone: the create, then the copy prepared in submit. */
	for (int tries = 0; got < 2 && tries < 10000; tries++) {
		rc = counted_peek(ring, c + got, 8 - got);
		cr_assert_geq(rc, 0, "peek: %d (%s)", rc, mmapio_strerror(rc));
		got += (unsigned)rc;
		if (rc == 0)
			nap_ms(1);
	}
	cr_assert_eq(got, 2, "peeks handed back %u operations", got);
	cr_assert_eq(blocking_in_peek, 0, "%u blocking calls ran inside mmapio_ring_peek",
		     blocking_in_peek);
	/* The copies not prepared yet start in a wait that may block. */
	while (got < 4) {
		rc = mmapio_ring_wait(ring, c + got, 8 - got, 1, 10000);
		cr_assert_gt(rc, 0, "wait: %d (%s)", rc, mmapio_strerror(rc));
		got += (unsigned)rc;
	}
	for (unsigned i = 0; i < got; i++)
		TH_ASSERT_RC(c[i].result, 0);
	for (int i = 0; i < 3; i++)
		th_assert_file_pattern(dst[i], 3 << 20, 7);
	cr_assert_eq(th_file_size(a), 4096);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * An event loop that only polls the ring's descriptor and peeks: a copy
 * submitted behind 200 creates, beyond the window, completes with them,
 * and no peek makes a blocking call.
 */
Test(uring_peek, event_loop_of_peeks_finishes_a_copy_behind_a_batch)
{
	TH_PATH(src, "src");
	TH_PATH(dst, "dst");
	struct mmapio_completion c[64];
	mmapio_ring *ring = open_uring(16);
	unsigned left;
	struct pollfd pfd;
	int rc;

	th_write_pattern_file(src, 1 << 20, 3);
	count_blocking_calls();
	for (int i = 0; i < 200; i++) {
		char name[16];

		snprintf(name, sizeof(name), "f%03d", i);
		TH_PATH(p, name);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 4096, NULL, NULL), 0);
	}
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, dst, 0, NULL), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 201);
	pfd.fd = mmapio_ring_fd(ring);
	pfd.events = POLLIN;
	cr_assert_geq(pfd.fd, 0);
	left = 201;
	while (left > 0) {
		rc = poll(&pfd, 1, 10000);
		cr_assert_gt(rc, 0, "no completion within 10 s, %u outstanding", left);
		while ((rc = counted_peek(ring, c, 64)) > 0) {
			for (int i = 0; i < rc; i++)
				TH_ASSERT_RC(c[i].result, 0);
			left -= (unsigned)rc;
		}
		cr_assert_geq(rc, 0, "peek: %d (%s)", rc, mmapio_strerror(rc));
	}
	cr_assert_eq(blocking_in_peek, 0, "%u blocking calls ran inside mmapio_ring_peek",
		     blocking_in_peek);
	th_assert_file_pattern(dst, 1 << 20, 3);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}
