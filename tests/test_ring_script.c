/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ring front end (src/ring.c, src/ring_reap.c) against the scripted
 * engine of script_engine.h: every prepared operation completes exactly
 * once with its user_data; peek and wait count, honour min and the timeout,
 * and report a ring-level failure only when nothing else is queued; close
 * hands back and finishes everything, and a refused close leaves the ring
 * whole; the event descriptor is readable exactly while completions are
 * queued.  No engine here is real, so the suite runs once, on any build.
 */
#include "helpers.h"
#include "script_engine.h"

TestSuite(ring_script, .init = th_setup, .fini = th_teardown, .timeout = 60);

/* The user_data of operation i: an address no real pointer has. */
#define UD(i) ((void *)(uintptr_t)(0x1000 + (i)))

/* Prepares a delete whose user_data is UD(i); the scripted engine never runs it. */
static void prep_del(mmapio_ring *ring, unsigned i)
{
	char name[32];

	snprintf(name, sizeof(name), "never-%u", i);
	TH_PATH(p, name);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, p, UD(i)), 0);
}

/* Counts, per operation index, the completions seen in c[0..n). */
static void count_completions(const struct mmapio_completion *c, int n, unsigned *seen,
			      unsigned nops)
{
	for (int k = 0; k < n; k++) {
		uintptr_t i = (uintptr_t)c[k].user_data - 0x1000;

		cr_assert_lt(i, nops, "a completion with user_data %p", c[k].user_data);
		seen[i]++;
	}
}

/* Opens a read-write map of len bytes at name. */
static mmapio_map *open_map(const char *name, uint64_t len)
{
	mmapio_map *map = NULL;
	TH_PATH(p, name);

	TH_ASSERT_RC(mmapio_create(p, len, NULL, &map), 0);
	return map;
}

Test(ring_script, every_operation_completes_once_with_its_user_data)
{
	enum { N = 12 };
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[N];
	unsigned seen[N] = { 0 };
	int results[N], got = 0;

	for (unsigned i = 0; i < N; i++) {
		/* Inside submit, on the 1st to 3rd reap after it, or not before close. */
		unsigned at = i % 5 == 4 ? SE_AT_CLOSE : i % 4;

		results[i] = -(int)(i + 1);
		se_plan(UD(i), at, results[i]);
		prep_del(ring, i);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), N);
	cr_assert_eq(mmapio_ring_inflight(ring), N);
	/* The two not due before close stay out; wait for the other ten. */
	while (got < N - 2) {
		int n = mmapio_ring_wait(ring, c + got, N - (unsigned)got, 1, -1);

		cr_assert_gt(n, 0, "wait: %d", n);
		got += n;
	}
	cr_assert_eq(got, N - 2);
	count_completions(c, got, seen, N);
	for (int k = 0; k < got; k++) {
		uintptr_t i = (uintptr_t)c[k].user_data - 0x1000;

		cr_assert_eq(c[k].op, MMAPIO_OP_DELETE);
		cr_assert_eq(c[k].result, results[i], "op %u: result %d", (unsigned)i,
			     c[k].result);
	}
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(seen[i], i % 5 == 4 ? 0u : 1u, "op %u completed %u times", i, seen[i]);
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, N), 0);
	cr_assert_eq(mmapio_ring_inflight(ring), 2);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	cr_assert_eq(se_script.handed_back, N, "the engine handed back %u of %d",
		     se_script.handed_back, N);
}

Test(ring_script, peek_copies_what_is_ready_and_never_waits)
{
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[4];

	se_plan(UD(0), 0, 0);
	se_plan(UD(1), 0, 0);
	se_plan(UD(2), 0, 0);
	se_plan(UD(3), 4, 0);
	for (unsigned i = 0; i < 4; i++)
		prep_del(ring, i);
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 4), 0); /* nothing submitted yet */
	TH_ASSERT_RC(mmapio_ring_submit(ring), 4);
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 0), 0);
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 2), 2);
	cr_assert(c[0].user_data == UD(0) && c[1].user_data == UD(1));
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 4), 1); /* tick 3: op 3 not yet due */
	cr_assert_eq(c[0].user_data, UD(2));
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 4), 1); /* tick 4: due */
	cr_assert_eq(c[0].user_data, UD(3));
	for (unsigned i = 0; i < se_script.reaps && i < SE_MAX_LOG; i++)
		cr_assert(se_script.log_min[i] == 0 && se_script.log_timeout[i] == 0,
			  "peek's reap %u waited (min %u, timeout %d)", i, se_script.log_min[i],
			  se_script.log_timeout[i]);
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring_script, wait_honours_min)
{
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[8];
	int n;

	se_plan(UD(0), 0, 0);
	se_plan(UD(1), 3, 0);
	se_plan(UD(2), 5, 0);
	se_plan(UD(3), 7, 0);
	for (unsigned i = 0; i < 4; i++)
		prep_del(ring, i);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 4);
	/* One is ready already: the engine is asked for the one more that min needs. */
	n = mmapio_ring_wait(ring, c, 8, 2, -1);
	cr_assert_geq(n, 2, "wait(min 2) returned %d", n);
	cr_assert_eq(se_script.log_min[0], 1, "the engine was asked for %u", se_script.log_min[0]);
	cr_assert_eq(se_script.log_timeout[0], -1);
	/* More than outstanding: waits for all that is, and no longer. */
	n += mmapio_ring_wait(ring, c + n, 8, 8, -1);
	cr_assert_eq(n, 4, "got %d of 4", n);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 8, 8, -1), 0);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 1, 2, -1), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 1, 1, -2), -EINVAL);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* A wait that runs out returns what it has, also when the engine says -ETIME. */
static void check_wait_timeout(int timeout_result)
{
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[2];
	int64_t t0;

	se_script.timeout_result = timeout_result;
	se_plan(UD(0), SE_AT_CLOSE, 0);
	prep_del(ring, 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	t0 = mmapio__plat_now_ms();
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 2, 1, 0), 0);
	cr_assert_lt(mmapio__plat_now_ms() - t0, 20, "a poll waited");
	t0 = mmapio__plat_now_ms();
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 2, 1, 60), 0);
	cr_assert_geq(mmapio__plat_now_ms() - t0, 60, "a 60 ms wait returned early");
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 2), 0);
	cr_assert_eq(mmapio_ring_inflight(ring), 1);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring_script, wait_timeout_returns_what_it_has)
{
	check_wait_timeout(0);
}

Test(ring_script, wait_timeout_reported_as_etime_by_the_engine_is_no_failure)
{
	check_wait_timeout(-ETIME);
}

/*
 * A lasting ring-level failure is reported by peek and wait only once
 * nothing else is queued; what is queued comes out first.
 */
static void check_failure_after_queued(int err)
{
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[4];

	se_plan(UD(0), 0, 7);
	se_plan(UD(1), 0, 8);
	se_plan(UD(2), SE_AT_CLOSE, 0);
	for (unsigned i = 0; i < 3; i++)
		prep_del(ring, i);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	se_script.reap_lasting = err;
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 1), 1);
	cr_assert_eq(c[0].user_data, UD(0));
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 2, -1), 1);
	cr_assert_eq(c[0].user_data, UD(1));
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 4), err);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 1, -1), err);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 1, 50), err);
	cr_assert_eq(mmapio_ring_inflight(ring), 1, "the failure lost the operation");
	/* The cause goes away: the operation comes back, once. */
	se_script.reap_lasting = 0;
	se_finish(ring, UD(2), 9);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 1, -1), 1);
	cr_assert_eq(c[0].user_data, UD(2));
	TH_ASSERT_RC(c[0].result, 9);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring_script, ebadfd_reported_only_when_nothing_is_queued)
{
	check_failure_after_queued(-EBADFD);
}

Test(ring_script, eexist_reported_only_when_nothing_is_queued)
{
	check_failure_after_queued(-EEXIST);
}

Test(ring_script, eintr_ends_a_wait_but_is_no_failure_of_peek)
{
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[2];

	se_plan(UD(0), 0, 0);
	se_plan(UD(1), SE_AT_CLOSE, 0);
	prep_del(ring, 0);
	prep_del(ring, 1);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	/* Something queued: an interrupted wait returns it. */
	se_reap_error(-EINTR);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 2, 2, -1), 1);
	/* Nothing queued: the wait says -EINTR, as documented; peek says nothing. */
	se_reap_error(-EINTR);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 2, 1, -1), -EINTR);
	se_reap_error(-EINTR);
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 2), 0);
	cr_assert_eq(mmapio_ring_inflight(ring), 1);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * -EAGAIN, -EBUSY and -ETIME from a reap are passing conditions, not
 * ring-level failures: peek reports nothing ready, and a wait goes on.
 */
Test(ring_script, passing_reap_errors_are_not_ring_failures)
{
	static const int passing[] = { -EAGAIN, -EBUSY, -ETIME };
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[2];

	for (unsigned i = 0; i < 3; i++) {
		se_plan(UD(i), 1, (int)i);
		prep_del(ring, i);
		TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
		se_reap_error(passing[i]);
		TH_ASSERT_RC(mmapio_ring_peek(ring, c, 2), 0);
		se_reap_error(passing[i]);
		se_reap_error(passing[i]);
		TH_ASSERT_RC(mmapio_ring_wait(ring, c, 2, 1, -1), 1);
		cr_assert_eq(c[0].user_data, UD(i));
	}
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(ring_script, refused_submit_keeps_everything_prepared)
{
	mmapio_ring *ring = se_ring_open();
	mmapio_map *ro;
	struct mmapio_completion c[4];
	unsigned seen[3] = { 0 };
	int n;
	TH_PATH(p, "ro");

	ro = th_open_pattern(p, 4096, 5, MMAPIO_READ_ONLY);
	se_script.submit_refusals[0] = -EBUSY;
	se_script.nsubmit_refusals = 1;
	se_plan(UD(0), 0, 0);
	se_plan(UD(1), 1, 0);
	prep_del(ring, 0);
	prep_del(ring, 1);
	/* A read-only map's flush completes in the ring and never reaches the engine. */
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, ro, 0, 4096, UD(2)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), -EBUSY);
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 4), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	n = mmapio_ring_wait(ring, c, 4, 3, -1);
	cr_assert_eq(n, 3, "wait: %d", n);
	count_completions(c, n, seen, 3);
	cr_assert(seen[0] == 1 && seen[1] == 1 && seen[2] == 1);
	TH_ASSERT_RC(mmapio_close(ro), 0);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * Close hands back and finishes everything: submitted operations come
 * back from the engine's close, prepared ones are discarded, and a map
 * whose flushes were in the ring closes afterwards.
 */
Test(ring_script, close_hands_back_and_finishes_everything)
{
	mmapio_ring *ring = se_ring_open();
	mmapio_map *map = open_map("m", 1u << 16);

	se_script.close_result = -ECANCELED;
	se_plan(UD(0), SE_AT_CLOSE, 0);
	se_plan(UD(1), 0, 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 4096, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 4096, 4096, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 100, UD(2)), 0);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_resize(map, 1u << 17), -EBUSY);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	cr_assert_eq(se_script.handed_back, 2);
	/* A cancelled flush is no write-back error. */
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_resize(map, 1u << 17), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(ring_script, eventfd_readable_exactly_while_completions_are_queued)
{
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[4];
	mmapio_map *ro;
	int fd = mmapio_ring_fd(ring);
	TH_PATH(p, "ro");

	cr_assert_geq(fd, 0);
	ro = th_open_pattern(p, 4096, 6, MMAPIO_READ_ONLY);
	cr_assert(!se_readable(fd), "readable with nothing submitted");
	se_plan(UD(0), 0, 0);
	se_plan(UD(1), 0, 0);
	se_plan(UD(2), SE_AT_CLOSE, 0);
	se_plan(UD(3), 5, 0);
	for (unsigned i = 0; i < 4; i++)
		prep_del(ring, i);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 4);
	cr_assert(se_readable(fd), "not readable with two completions queued");
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 0), 0);
	cr_assert(se_readable(fd), "a peek that took nothing left it unreadable");
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 1), 1);
	cr_assert(se_readable(fd), "unreadable with one completion queued");
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 1), 1);
	cr_assert(!se_readable(fd), "readable with nothing queued");

	/* A completion in the background makes it readable; reaping it, not. */
	se_finish(ring, UD(2), 0);
	cr_assert(se_readable(fd));
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 4), 1);
	cr_assert_eq(c[0].user_data, UD(2));
	cr_assert(!se_readable(fd), "readable after the peek took everything");
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 1, -1), 1);
	cr_assert(!se_readable(fd), "readable after the wait took everything");

	/* A flush that completes in the ring itself. */
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, ro, 0, 1, UD(4)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, ro, 0, 1, UD(5)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	cr_assert(se_readable(fd));
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 1, 1, -1), 1);
	cr_assert(se_readable(fd), "a wait that left one queued left it unreadable");
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 1, 1, -1), 1);
	cr_assert(!se_readable(fd));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_close(ro), 0);
}

/*
 * Issue 7: an engine that can no longer make progress gave up at close,
 * returned 0 and kept what it owned; mmapio_ring_close returned 0 and the
 * map of a queued flush refused mmapio_close and mmapio_resize with -EBUSY
 * for ever.  Whatever the engine keeps, the ring releases.
 */
Test(ring_script, close_releases_what_an_engine_that_gave_up_still_holds)
{
	mmapio_ring *ring = se_ring_open();
	mmapio_map *map = open_map("m", 1u << 16);
	struct mmapio_completion c[4];

	se_script.close_keeps_ops = true;
	se_plan(UD(0), SE_AT_CLOSE, 0);
	se_plan(UD(1), SE_AT_CLOSE, 0);
	se_plan(UD(2), SE_AT_CLOSE, 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 4096, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 8192, 4096, UD(1)), 0);
	prep_del(ring, 2);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	se_script.reap_lasting = -EBADFD;
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 1, -1), -EBADFD);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	TH_ASSERT_RC(mmapio_resize(map, 1u << 17), 0);
	/* Released, not failed: nothing was learnt of the data. */
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	free(se_script.kept_engine);
}

/*
 * A close the engine refuses leaves the ring whole: what the engine handed
 * back on the way is queued (and the event says so), the rest stays in
 * flight, and the next close finishes it all.
 */
Test(ring_script, refused_close_leaves_the_ring_whole)
{
	mmapio_ring *ring = se_ring_open();
	mmapio_map *map = open_map("m", 1u << 16);
	struct mmapio_completion c[4];
	int fd = mmapio_ring_fd(ring);

	cr_assert_geq(fd, 0);
	se_script.close_refusals[0] = -EEXIST;
	se_script.nclose_refusals = 1;
	se_script.close_refusal_handback = 1;
	se_plan(UD(0), SE_AT_CLOSE, 0);
	se_plan(UD(1), SE_AT_CLOSE, 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 0, 4096, UD(0)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_flush(ring, map, 8192, 4096, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	(void)mmapio_ring_peek(ring, c, 0);
	cr_assert(!se_readable(fd));
	TH_ASSERT_RC(mmapio_ring_close(ring), -EEXIST);
	cr_assert_eq(mmapio_ring_inflight(ring), 2);
	cr_assert(se_readable(fd), "a completion queued by the refused close is not signalled");
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 4), 1);
	cr_assert_eq(c[0].user_data, UD(0));
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	cr_assert_eq(se_script.handed_back, 2);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

/* An engine that hands an operation back twice still gives one completion. */
Test(ring_script, an_operation_handed_back_twice_completes_once)
{
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[4];

	se_script.handback_twice = true;
	se_plan(UD(0), 0, 0);
	se_plan(UD(1), 1, 0);
	se_plan(UD(2), SE_AT_CLOSE, 0);
	for (unsigned i = 0; i < 3; i++)
		prep_del(ring, i);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 2, -1), 2);
	cr_assert(c[0].user_data == UD(0) && c[1].user_data == UD(1));
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 4), 0);
	cr_assert_eq(mmapio_ring_inflight(ring), 1);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * A barrier holds the group after it in the ring, not in the engine: the
 * engine sees it only once the group before it has been handed back, and a
 * wait for both completions goes on across the groups by itself.  A cancel
 * of the operation the engine holds is -EALREADY; of the held one, 1.
 */
Test(ring_script, barrier_holds_the_next_group_in_the_ring_until_the_first_completes)
{
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[4];

	se_plan(UD(0), 2, -EIO);
	se_plan(UD(1), 0, 0);
	se_plan(UD(2), 0, 0);
	prep_del(ring, 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	prep_del(ring, 1);
	prep_del(ring, 2);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	cr_assert_eq(mmapio_ring_inflight(ring), 3);
	TH_ASSERT_RC(mmapio_ring_peek(ring, c, 4), 0);
	cr_assert_eq(se_script.handed_back, 0, "the held group reached the engine");
	TH_ASSERT_RC(mmapio_ring_cancel(ring, UD(0)), -EALREADY);
	TH_ASSERT_RC(mmapio_ring_cancel(ring, UD(2)), 1);
	TH_ASSERT_RC(mmapio_ring_cancel(ring, UD(2)), -ENOENT);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 4, 3, -1), 3);
	/* The cancel's completion first, then the failed delete, then the doomed one. */
	cr_assert_eq(c[0].user_data, UD(2));
	TH_ASSERT_RC(c[0].result, -ECANCELED);
	cr_assert_eq(c[1].user_data, UD(0));
	TH_ASSERT_RC(c[1].result, -EIO);
	cr_assert_eq(c[2].user_data, UD(1));
	TH_ASSERT_RC(c[2].result, -ECANCELED);
	cr_assert_eq(se_script.handed_back, 1, "a doomed operation reached the engine");
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* Three groups that succeed run one after the other in one submit and one wait. */
Test(ring_script, wait_for_all_returns_when_three_groups_are_done)
{
	mmapio_ring *ring = se_ring_open();
	struct mmapio_completion c[3];

	for (unsigned i = 0; i < 3; i++) {
		se_plan(UD(i), 1, 0);
		prep_del(ring, i);
		TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), 3);
	TH_ASSERT_RC(mmapio_ring_wait(ring, c, 3, 3, -1), 3);
	for (unsigned i = 0; i < 3; i++) {
		cr_assert_eq(c[i].user_data, UD(i));
		TH_ASSERT_RC(c[i].result, 0);
	}
	cr_assert_eq(se_script.handed_back, 3);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* Closing with a group held: the engine's operations come back, the held ones are dropped. */
Test(ring_script, close_with_a_held_group_frees_the_maps_it_pinned)
{
	mmapio_ring *ring = se_ring_open();
	mmapio_map *map = open_map("m", 1u << 16);

	se_plan(UD(0), SE_AT_CLOSE, 0);
	prep_del(ring, 0);
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	TH_ASSERT_RC(mmapio_ring_prep_write(ring, map, 0, "abc", 3, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	cr_assert_eq(se_script.handed_back, 1);
	TH_ASSERT_RC(mmapio_close(map), 0);
}
