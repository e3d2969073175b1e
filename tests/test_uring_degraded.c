/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Every degraded path of the io_uring engine, on this kernel: the test
 * hooks (uring/hooks.h) mask features and opcodes (no IORING_FEAT_EXT_ARG,
 * no direct descriptors, fewer slots, no FTRUNCATE, STATX or UNLINKAT, no
 * opcode probe at all), refuse fallocate, and replace the results of each
 * step of each kind with an error.  Under each, creates, copies, deletes,
 * flushes and waits must give what a user of the blocking engine gets:
 * files of the right size and bytes, the exact error codes, no leftover
 * file after a failure, no leaked descriptor.  Runs on the io_uring engine
 * only, and skips with the reason where there is none.
 */
#include "helpers.h"
#include "uring_helpers.h"

#include <poll.h>

TestSuite(uring_degraded, .init = ur_setup, .fini = ur_teardown, .timeout = 120);

#define OP_BIT(n) ((uint64_t)1 << (n))
#define OP_FTRUNCATE 55 /* IORING_OP_FTRUNCATE, Linux 6.9 */
#define OP_STATX 21     /* IORING_OP_STATX */
#define OP_UNLINKAT 36  /* IORING_OP_UNLINKAT */

/* Waits (with timeouts) until n completions are in c; checks no more come. */
static void reap_n(mmapio_ring *ring, struct mmapio_completion *c, unsigned n)
{
	struct mmapio_completion extra;
	unsigned got = 0;

	while (got < n) {
		int rc = mmapio_ring_wait(ring, c + got, n - got, 1, 10000);

		cr_assert_gt(rc, 0, "wait after %u of %u: %d (%s)", got, n, rc, mmapio_strerror(rc));
		got += (unsigned)rc;
	}
	TH_ASSERT_RC(mmapio_ring_peek(ring, &extra, 1), 0);
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
}

/* The result of the completion whose user_data is id. */
static int result_of(const struct mmapio_completion *c, unsigned n, uintptr_t id)
{
	for (unsigned i = 0; i < n; i++)
		if ((uintptr_t)c[i].user_data == id)
			return c[i].result;
	cr_assert_fail("no completion for operation %lu", (unsigned long)id);
	return 0;
}

/* Counters of ring, for checking where operations ran. */
static struct mmapio_ring_stats stats_of(mmapio_ring *ring)
{
	struct mmapio_ring_stats st;

	TH_ASSERT_RC(mmapio_ring_stats(ring, &st), 0);
	return st;
}

enum { N_OPS = 12 };

/*
 * The everyday batch: four creates (plain, sparse, durable, empty), three
 * copies (large, durable, small), two deletes (present, missing), two
 * flushes, one create over an existing file; submitted at once, reaped
 * by timed waits, then every result and every file checked.  Returns the
 * ring's counters.
 */
static struct mmapio_ring_stats everyday_batch(unsigned depth)
{
	struct mmapio_options sparse = { .flags = MMAPIO_CREATE_SPARSE };
	struct mmapio_options durable = { .flags = MMAPIO_CREATE_DURABLE };
	struct mmapio_completion c[N_OPS];
	struct mmapio_ring_stats st;
	unsigned char small[100];
	TH_PATH(src, "src");
	TH_PATH(tiny, "tiny");
	TH_PATH(c1, "c1");
	TH_PATH(c2, "c2");
	TH_PATH(c3, "c3");
	TH_PATH(c4, "c4");
	TH_PATH(old, "old");
	TH_PATH(d1, "d1");
	TH_PATH(d2, "d2");
	TH_PATH(d3, "d3");
	TH_PATH(gone, "gone");
	TH_PATH(missing, "missing");
	TH_PATH(mp, "map");
	mmapio_map *map = NULL;
	mmapio_ring *ring;
	int fds = th_count_fds();

	th_write_pattern_file(src, (3 << 20) + 777, 5);
	th_fill(small, sizeof(small), 0, 9);
	th_write_file(tiny, small, sizeof(small), 0640);
	th_write_file(gone, "x", 1, 0644);
	th_write_file(old, "old contents", 12, 0644);
	TH_ASSERT_RC(mmapio_create(mp, 1 << 20, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, 4096, "flushed", 7), 0);
	TH_ASSERT_RC(mmapio_write(map, 900000, "too", 3), 0);

	ring = open_uring(depth);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, c1, 10000, NULL, (void *)1), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, c2, 20000, &sparse, (void *)2), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, c3, 5000, &durable, (void *)3), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, c4, 0, NULL, (void *)4), 0);
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, d1, 0, (void *)5), 0);
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, d2, MMAPIO_COPY_DURABLE, (void *)6), 0);
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, tiny, d3, 0, (void *)7), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, gone, (void *)8), 0);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, missing, (void *)9), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 4096, 7, (void *)10), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 1 << 20, (void *)11), 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, old, 3000, NULL, (void *)12), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), N_OPS);
	reap_n(ring, c, N_OPS);
	for (uintptr_t id = 1; id <= N_OPS; id++)
		TH_EXPECT_RC(result_of(c, N_OPS, id), id == 9 ? -ENOENT : 0);
	st = stats_of(ring);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);

	cr_assert_eq(th_file_size(c1), 10000);
	cr_assert_eq(th_file_size(c2), 20000);
	cr_assert_eq(th_file_size(c3), 5000);
	cr_assert_eq(th_file_size(c4), 0);
	cr_assert_eq(th_file_size(old), 3000);
	th_assert_file_pattern(d1, (3 << 20) + 777, 5);
	th_assert_file_pattern(d2, (3 << 20) + 777, 5);
	th_assert_file_eq(d3, small, sizeof(small));
	{
		struct stat sb;

		cr_assert_eq(stat(d3, &sb), 0);
		cr_assert_eq(sb.st_mode & 0777, 0640, "the copy's mode is %o", sb.st_mode & 0777);
	}
	cr_assert(!th_exists(gone), "the delete did not run");
	{
		size_t len;
		unsigned char *got = th_read_file(mp, &len);

		cr_assert_not_null(got);
		cr_assert(memcmp(got + 4096, "flushed", 7) == 0 && memcmp(got + 900000, "too", 3) == 0,
			  "the flushed bytes are not in the file");
		free(got);
	}
	cr_assert_eq(th_count_fds(), fds, "descriptors leaked");
	return st;
}

Test(uring_degraded, baseline_everything_on_the_ring)
{
	struct mmapio_ring_stats st = everyday_batch(0);

	cr_assert_eq(st.blocking_ops, 0, "%llu operations ran on the fallback engine",
		     (unsigned long long)st.blocking_ops);
}

Test(uring_degraded, no_opcode_probe_runs_everything_on_the_fallback)
{
	struct mmapio_ring_stats st;

	mmapio__ur_hooks.no_probe = 1;
	st = everyday_batch(0);
	/*
	 * The two flushes are the map's: they reach the engine too; and so
	 * does the ring's one sync of the directory that the durable create
	 * and the durable copy share.
	 */
	cr_assert_eq(st.blocking_ops, N_OPS + 1, "%llu of %d on the fallback engine",
		     (unsigned long long)st.blocking_ops, N_OPS + 1);
}

Test(uring_degraded, no_direct_descriptors)
{
	mmapio__ur_hooks.no_direct = 1;
	cr_assert_eq(everyday_batch(0).blocking_ops, 0);
}

Test(uring_degraded, one_direct_slot_for_a_window_of_eight)
{
	mmapio__ur_hooks.max_slots = 1;
	cr_assert_eq(everyday_batch(8).blocking_ops, 0);
}

Test(uring_degraded, window_of_one)
{
	cr_assert_eq(everyday_batch(1).blocking_ops, 0);
}

Test(uring_degraded, no_ext_arg_timed_waits)
{
	mmapio__ur_hooks.no_ext_arg = 1;
	cr_assert_eq(everyday_batch(0).blocking_ops, 0);
}

Test(uring_degraded, no_ftruncate_sends_sparse_creates_to_the_fallback)
{
	mmapio__ur_hooks.mask_ops = OP_BIT(OP_FTRUNCATE);
	cr_assert_eq(everyday_batch(0).blocking_ops, 1, "only the sparse create needs ftruncate");
}

Test(uring_degraded, no_statx_sends_creates_to_the_fallback)
{
	mmapio__ur_hooks.mask_ops = OP_BIT(OP_STATX);
	cr_assert_eq(everyday_batch(0).blocking_ops, 5, "the five creates");
}

Test(uring_degraded, no_unlinkat_sends_deletes_to_the_fallback)
{
	mmapio__ur_hooks.mask_ops = OP_BIT(OP_UNLINKAT);
	cr_assert_eq(everyday_batch(0).blocking_ops, 2, "the two deletes");
}

Test(uring_degraded, fallocate_refused_sizes_with_ftruncate_on_the_ring)
{
	mmapio__ur_hooks.refuse_fallocate = 1;
	cr_assert_eq(everyday_batch(0).blocking_ops, 0);
}

Test(uring_degraded, fallocate_refused_without_direct_descriptors)
{
	mmapio__ur_hooks.refuse_fallocate = 1;
	mmapio__ur_hooks.no_direct = 1;
	cr_assert_eq(everyday_batch(0).blocking_ops, 0);
}

Test(uring_degraded, fallocate_refused_and_no_ftruncate_sizes_with_a_blocking_call)
{
	mmapio__ur_hooks.refuse_fallocate = 1;
	mmapio__ur_hooks.mask_ops = OP_BIT(OP_FTRUNCATE);
	/* The sparse create goes to the fallback; the others size themselves. */
	cr_assert_eq(everyday_batch(0).blocking_ops, 1);
}

/* ------------------------------------------------------------------------ */
/* Results replaced per kind and step                                       */
/* ------------------------------------------------------------------------ */

struct step_case {
	enum mmapio_op kind;
	enum mmapio__ur_step step;
	int err;          /* the hooked result */
	unsigned flags;   /* create or copy flags */
	bool existing;    /* the create's path holds a file already */
	int want;         /* the completion's result */
	bool file_after;  /* the created file or the copy's destination exists after */
};

/* Runs one operation of c's kind under its hook.  Returns nothing; asserts. */
static void run_step_case(const struct step_case *sc, bool direct)
{
	struct mmapio_options o = { .flags = sc->flags };
	struct mmapio_completion c;
	TH_PATH(src, "src");
	TH_PATH(p, "target");
	TH_PATH(mp, "map");
	mmapio_map *map = NULL;
	mmapio_ring *ring;
	int fds, rc;

	mmapio__ur_hooks_reset();
	mmapio__ur_hooks.no_direct = !direct;
	fds = th_count_fds();
	unlink(p);
	if (sc->kind == MMAPIO_OP_COPY)
		th_write_pattern_file(src, (2 << 20) + 5, 1);
	if (sc->kind == MMAPIO_OP_DELETE || sc->existing)
		th_write_file(p, "present", 7, 0644);
	if (sc->kind == MMAPIO_OP_FLUSH) {
		TH_ASSERT_RC(mmapio_create(mp, 1 << 20, NULL, &map), 0);
		TH_ASSERT_RC(mmapio_write(map, 0, "dirty", 5), 0);
	}
	ring = open_uring(8);
	mmapio__ur_hooks.result[sc->kind][sc->step] = sc->err;
	switch (sc->kind) {
	case MMAPIO_OP_CREATE:
		rc = mmapio_ring_prep_create(ring, p, 8192, &o, (void *)sc);
		break;
	case MMAPIO_OP_COPY:
		rc = mmapio_ring_prep_copy(ring, src, p, sc->flags, (void *)sc);
		break;
	case MMAPIO_OP_DELETE:
		rc = mmapio_ring_prep_delete(ring, p, (void *)sc);
		break;
	default:
		rc = mmapio_ring_prep_flush(ring, map, 0, 1 << 20, (void *)sc);
		break;
	}
	TH_ASSERT_RC(rc, 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	reap_n(ring, &c, 1);
	cr_assert_eq(c.op, sc->kind);
	cr_expect_eq(c.result, sc->want, "kind %d step %d (%s descriptors): %d (%s), expected %d (%s)",
		     (int)sc->kind, (int)sc->step, direct ? "direct" : "plain", c.result,
		     mmapio_strerror(c.result), sc->want, mmapio_strerror(sc->want));
	cr_expect_eq(stats_of(ring).blocking_ops, 0, "the operation left the ring");
	mmapio__ur_hooks_reset();
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	if (map != NULL)
		TH_ASSERT_RC(mmapio_close(map), 0);
	cr_expect_eq(th_count_fds(), fds, "descriptors leaked (kind %d step %d)", (int)sc->kind,
		     (int)sc->step);
	if (sc->kind != MMAPIO_OP_FLUSH)
		cr_expect_eq(th_exists(p), sc->file_after, "kind %d step %d: the file %s",
			     (int)sc->kind, (int)sc->step,
			     th_exists(p) ? "is there" : "is missing");
	if (sc->kind == MMAPIO_OP_CREATE && sc->want == 0)
		cr_expect_eq(th_file_size(p), 8192);
	if (sc->kind == MMAPIO_OP_COPY && sc->want == 0)
		th_assert_file_pattern(p, (2 << 20) + 5, 1);
}

static const struct step_case step_cases[] = {
	/* A create that fails removes the file it made, and only that. */
	{ MMAPIO_OP_CREATE, MMAPIO__UR_OPEN, -EACCES, 0, false, -EACCES, false },
	{ MMAPIO_OP_CREATE, MMAPIO__UR_ALLOC, -ENOSPC, 0, false, -ENOSPC, false },
	{ MMAPIO_OP_CREATE, MMAPIO__UR_ALLOC, -ENOSPC, 0, true, -ENOSPC, true },
	{ MMAPIO_OP_CREATE, MMAPIO__UR_TRUNC, -EIO, MMAPIO_CREATE_SPARSE, false, -EIO, false },
	{ MMAPIO_OP_CREATE, MMAPIO__UR_FSYNC, -EIO, MMAPIO_CREATE_DURABLE, false, -EIO, false },
	{ MMAPIO_OP_CREATE, MMAPIO__UR_DOPEN, -EACCES, MMAPIO_CREATE_DURABLE, false, -EACCES,
	  false },
	{ MMAPIO_OP_CREATE, MMAPIO__UR_DFSYNC, -EIO, MMAPIO_CREATE_DURABLE, false, -EIO, false },
	{ MMAPIO_OP_CREATE, MMAPIO__UR_STAT, -EIO, 0, true, -EIO, true },
	/* Closes are not errors, as in the blocking engine. */
	{ MMAPIO_OP_CREATE, MMAPIO__UR_CLOSE, -EIO, 0, false, 0, true },
	{ MMAPIO_OP_CREATE, MMAPIO__UR_DCLOSE, -EIO, MMAPIO_CREATE_DURABLE, false, 0, true },
	/* A copy that fails removes its destination. */
	{ MMAPIO_OP_COPY, MMAPIO__UR_READ, -EIO, 0, false, -EIO, false },
	{ MMAPIO_OP_COPY, MMAPIO__UR_WRITE, -ENOSPC, 0, false, -ENOSPC, false },
	{ MMAPIO_OP_COPY, MMAPIO__UR_FSYNC, -EIO, MMAPIO_COPY_DURABLE, false, -EIO, false },
	{ MMAPIO_OP_COPY, MMAPIO__UR_DOPEN, -EACCES, MMAPIO_COPY_DURABLE, false, -EACCES, false },
	{ MMAPIO_OP_COPY, MMAPIO__UR_DFSYNC, -EIO, MMAPIO_COPY_DURABLE, false, -EIO, false },
	/* A refused unlink leaves the file. */
	{ MMAPIO_OP_DELETE, MMAPIO__UR_UNLINK, -EACCES, 0, false, -EACCES, true },
	{ MMAPIO_OP_FLUSH, MMAPIO__UR_FSYNC, -EIO, 0, false, -EIO, false },
};

Test(uring_degraded, every_step_failure_with_direct_descriptors)
{
	for (size_t i = 0; i < sizeof(step_cases) / sizeof(step_cases[0]); i++)
		run_step_case(&step_cases[i], true);
}

Test(uring_degraded, every_step_failure_with_plain_descriptors)
{
	for (size_t i = 0; i < sizeof(step_cases) / sizeof(step_cases[0]); i++)
		run_step_case(&step_cases[i], false);
}

/*
 * A failed create on a kernel without IORING_OP_UNLINKAT removes its file
 * with a blocking unlink, which waits for a call that may block: an event
 * loop of peeks sees the completion only after a wait or a submit.
 */
Test(uring_degraded, cleanup_without_unlinkat_runs_where_the_caller_may_block)
{
	TH_PATH(p, "f");
	struct mmapio_completion c;
	mmapio_ring *ring;
	int fds = th_count_fds();

	mmapio__ur_hooks.mask_ops = OP_BIT(OP_UNLINKAT);
	ring = open_uring(4);
	mmapio__ur_hooks.result[MMAPIO_OP_CREATE][MMAPIO__UR_ALLOC] = -ENOSPC;
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 4096, NULL, NULL), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	reap_n(ring, &c, 1);
	TH_ASSERT_RC(c.result, -ENOSPC);
	cr_assert(!th_exists(p), "the failed create left its file");
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	cr_assert_eq(th_count_fds(), fds, "descriptors leaked");
}

/* Waits with every kind of timeout under no_ext_arg and gated work. */
Test(uring_degraded, waits_of_every_kind_without_ext_arg)
{
	TH_PATH(p, "f");
	struct mmapio_completion c[2];
	mmapio_ring *ring;
	struct pollfd pfd;
	int gate[2];

	mmapio__ur_hooks.no_ext_arg = 1;
	ring = open_uring(4);
	cr_assert_eq(pipe2(gate, O_CLOEXEC), 0);
	mmapio__ur_hooks.gate_fd = gate[0];
	mmapio__ur_hooks.gate_kinds = 1u << MMAPIO_OP_CREATE;
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 4096, NULL, NULL), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 2, 1, 0), 0);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 2, 1, 20), 0);
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 2), 0);
	cr_assert_eq(write(gate[1], "g", 1), 1);
	pfd.fd = mmapio_ring_fd(ring);
	pfd.events = POLLIN;
	cr_assert_gt(poll(&pfd, 1, 10000), 0, "the ring's descriptor never became readable");
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 2, 1, -1), 1);
	TH_ASSERT_RC(c[0].result, 0);
	cr_assert_eq(th_file_size(p), 4096);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	close(gate[0]);
	close(gate[1]);
}
