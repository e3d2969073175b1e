/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Waiting on an io_uring ring: a wait for min completions returns as soon
 * as min operations are back, whatever else is in flight; timed waits work
 * on kernels without IORING_FEAT_EXT_ARG, where liburing's timeout SQE puts
 * a CQE that is not ours in the ring.  Operations are held in the kernel
 * deterministically with the gate hook: each gated operation first reads a
 * byte from a pipe that the test fills when it wants them to go on.
 */
#include "helpers.h"
#include "uring_helpers.h"

TestSuite(uring_wait, .init = ur_setup, .fini = ur_teardown, .timeout = 60);

/* Makes operations of the kinds in mask wait for a byte each from gate[0]. */
static void gate_kinds(int gate[2], unsigned mask)
{
	cr_assert_eq(pipe2(gate, O_CLOEXEC), 0);
	mmapio__ur_hooks.gate_fd = gate[0];
	mmapio__ur_hooks.gate_kinds = mask;
}

/* Lets n gated operations go on. */
static void gate_open(int gate[2], unsigned n)
{
	char bytes[64] = { 0 };

	while (n > 0) {
		unsigned k = n < sizeof(bytes) ? n : (unsigned)sizeof(bytes);

		cr_assert_eq(write(gate[1], bytes, k), (ssize_t)k);
		n -= k;
	}
}

/* A watchdog: a wait that hangs kills the test with SIGALRM, a failure. */
static void watchdog(unsigned seconds)
{
	signal(SIGALRM, SIG_DFL);
	alarm(seconds);
}

/*
 * Sixteen flushes of 8 MiB maps with dirty pages all over are in flight (held in the
 * kernel by the gate) with one delete of a missing file: a wait for one
 * completion must return the delete at once, not wait for an eighth of
 * the requests in flight.  Without the fix the wait never returns here
 * (four CQEs waited for, one possible), and the watchdog fires.
 */
Test(uring_wait, wait_for_one_returns_the_first_that_finishes)
{
	enum { NFLUSH = 16, SIZE = 8 << 20 };
	struct mmapio_completion c[NFLUSH + 1];
	mmapio_map *maps[NFLUSH];
	TH_PATH(missing, "missing");
	struct mmapio_options sparse = { .flags = MMAPIO_CREATE_SPARSE };
	mmapio_ring *ring;
	unsigned got = 0;
	int gate[2];

	ring = open_uring(0);
	for (int i = 0; i < NFLUSH; i++) {
		char name[16];

		snprintf(name, sizeof(name), "m%02d", i);
		TH_PATH(p, name);
		TH_ASSERT_RC(mmapio_create(p, SIZE, &sparse, &maps[i]), 0);
		/* Dirty pages all over the map, 1 MiB of them. */
		for (uint64_t off = 0; off < SIZE; off += 8 * 4096)
			TH_ASSERT_RC(mmapio_write(maps[i], off, "d", 1), 0);
	}
	gate_kinds(gate, 1u << MMAPIO_OP_FLUSH);
	for (int i = 0; i < NFLUSH; i++)
		TH_ASSERT_RC(mmapio_ring_prep_flush(ring, maps[i], 0, SIZE, maps[i]), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, missing, ring), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), NFLUSH + 1);

	watchdog(20);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, NFLUSH + 1, 1, -1), 1);
	cr_assert_eq(c[0].op, MMAPIO_OP_DELETE);
	cr_assert_eq(c[0].user_data, ring);
	TH_ASSERT_RC(c[0].result, -ENOENT);
	cr_assert_eq(mmapio_ring_inflight(ring), NFLUSH, "the flushes were not still in flight");

	gate_open(gate, NFLUSH);
	while (got < NFLUSH) {
		int rc = mmapio_ring_wait(ring, c + got, NFLUSH - got, 1, -1);

		cr_assert_gt(rc, 0, "wait: %d (%s)", rc, mmapio_strerror(rc));
		got += (unsigned)rc;
	}
	alarm(0);
	for (unsigned i = 0; i < got; i++) {
		cr_assert_eq(c[i].op, MMAPIO_OP_FLUSH);
		TH_ASSERT_RC(c[i].result, 0);
	}
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	for (int i = 0; i < NFLUSH; i++)
		TH_ASSERT_RC(mmapio_close(maps[i]), 0);
	close(gate[0]);
	close(gate[1]);
}

/* The same for min = 3 among gated creates: exactly the three that can end. */
Test(uring_wait, wait_for_min_returns_with_min)
{
	struct mmapio_completion c[16];
	mmapio_ring *ring = open_uring(0);
	int gate[2];

	gate_kinds(gate, 1u << MMAPIO_OP_CREATE);
	for (int i = 0; i < 12; i++) {
		char name[16];

		snprintf(name, sizeof(name), "c%02d", i);
		TH_PATH(p, name);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 4096, NULL, NULL), 0);
	}
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "gone%d", i);
		TH_PATH(p, name);
		TH_ASSERT_RC(mmapio_ring_prep_delete(ring, p, NULL), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), 15);
	watchdog(20);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 16, 3, -1), 3);
	for (int i = 0; i < 3; i++)
		TH_ASSERT_RC(c[i].result, -ENOENT);
	gate_open(gate, 12);
	for (unsigned got = 0; got < 12;) {
		int rc = mmapio_ring_wait(ring, c, 16, 1, -1);

		cr_assert_gt(rc, 0);
		for (int i = 0; i < rc; i++)
			TH_ASSERT_RC(c[i].result, 0);
		got += (unsigned)rc;
	}
	alarm(0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	close(gate[0]);
	close(gate[1]);
}

/*
 * Without IORING_FEAT_EXT_ARG (masked by the hook), timed waits go through
 * liburing's timeout SQE, whose CQE (user_data LIBURING_UDATA_TIMEOUT) the
 * engine must pass over: a wait that times out, then waits that complete,
 * all with the right results.  Without the fix the first timed wait
 * dereferences ~0 and the test crashes.
 */
Test(uring_wait, timed_waits_without_ext_arg)
{
	TH_PATH(p, "f");
	TH_PATH(missing, "missing");
	struct mmapio_completion c[4];
	mmapio_ring *ring;
	int gate[2];

	mmapio__ur_hooks.no_ext_arg = 1;
	ring = open_uring(8);
	gate_kinds(gate, 1u << MMAPIO_OP_CREATE);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 12345, NULL, (void *)1), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	/* Nothing can finish: the wait times out and returns nothing. */
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 1, 50), 0);
	cr_assert_eq(mmapio_ring_inflight(ring), 1);

	gate_open(gate, 1);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 1, 10000), 1);
	cr_assert_eq(c[0].user_data, (void *)1);
	TH_ASSERT_RC(c[0].result, 0);
	cr_assert_eq(th_file_size(p), 12345);

	/* Ungated work now: several timed waits in a row. */
	mmapio__ur_hooks.gate_kinds = 0;
	for (int round = 0; round < 4; round++) {
		TH_ASSERT_RC(mmapio_ring_prep_delete(ring, missing, (void *)2), 0);
		TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
		TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 1, 10000), 1);
		TH_ASSERT_RC(c[0].result, -ENOENT);
	}
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, p, (void *)3), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 1, 10000), 1);
	TH_ASSERT_RC(c[0].result, 0);
	cr_assert(!th_exists(p));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	close(gate[0]);
	close(gate[1]);
}
