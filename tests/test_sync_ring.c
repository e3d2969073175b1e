/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The default ring of the synchronous calls, run on the scripted engine of
 * script_engine.h (which performs each operation for real at submit, as a
 * kernel starts it at once): a large mmapio_copy waits through passing ring
 * failures, and reports the copy's own result when the ring fails for good;
 * a failed thread-key creation is not remembered; the reason string of
 * mmapio_default_backend outlives a ring dropped after a failure.
 */
#include "helpers.h"
#include "script_engine.h"

TestSuite(sync_ring, .init = th_setup, .fini = th_teardown, .timeout = 60);

/* Large enough for mmapio_copy to go through the default ring. */
#define BIG ((1u << 20) + 3)

/* Puts default rings on the scripted engine; operations come back on the next reap. */
static void scripted_default_ring(void)
{
	mmapio__default_ring_engine = &se_engine;
	se_script.run_ops = true;
	se_script.fallback_plan = (struct se_plan){ NULL, 1, 0 };
}

/*
 * Issue 7: one failure of io_uring_submit_and_wait made a synchronous ring
 * copy return an error while the destination was left complete.  A reap
 * that fails once with a passing condition, then hands the copy back with
 * 0, must give 0, and on the same ring.
 */
Test(sync_ring, copy_waits_through_passing_ring_failures)
{
	static const int passing[] = { -EINTR, -EAGAIN, -EBUSY, -ETIME };
	TH_PATH(src, "src");

	scripted_default_ring();
	th_write_pattern_file(src, BIG, 40);
	for (unsigned i = 0; i < sizeof(passing) / sizeof(passing[0]); i++) {
		char name[16];

		snprintf(name, sizeof(name), "dst%u", i);
		TH_PATH(dst, name);
		se_reap_error(passing[i]);
		TH_ASSERT_RC(mmapio_copy(src, dst, 0), 0);
		th_assert_file_pattern(dst, BIG, 40);
	}
	cr_assert_eq(se_script.submits, 4, "the copies did not go through the ring");
	cr_assert_eq(se_script.opens, 1, "the default ring was dropped");
}

/*
 * A failure the front end cannot tell from a lasting one (-EIO, once): the
 * ring is closed, which hands the copy back once it has finished, and the
 * call reports the copy's result.  The next copy gets a fresh ring.
 */
Test(sync_ring, copy_on_a_ring_that_fails_once_reports_the_copy)
{
	TH_PATH(src, "src");
	TH_PATH(d1, "d1");
	TH_PATH(d2, "d2");

	scripted_default_ring();
	th_write_pattern_file(src, BIG, 41);
	se_reap_error(-EIO);
	TH_ASSERT_RC(mmapio_copy(src, d1, 0), 0);
	th_assert_file_pattern(d1, BIG, 41);
	cr_assert_eq(se_script.closes, 1, "the failed ring was not closed");
	TH_ASSERT_RC(mmapio_copy(src, d2, 0), 0);
	th_assert_file_pattern(d2, BIG, 41);
	cr_assert_eq(se_script.opens, 2);
	cr_assert_eq(se_script.submits, 2);
}

/*
 * A ring that fails for good before the copy ran (its close hands it back
 * cancelled): the copy runs direct instead, and the call succeeds.
 */
Test(sync_ring, copy_cancelled_by_a_broken_ring_runs_direct)
{
	TH_PATH(src, "src");
	TH_PATH(dst, "dst");

	scripted_default_ring();
	se_script.run_ops = false;
	se_script.fallback_plan = (struct se_plan){ NULL, SE_AT_CLOSE, 0 };
	se_script.close_result = -ECANCELED;
	se_script.reap_lasting = -EBADFD;
	th_write_pattern_file(src, BIG, 42);
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), 0);
	th_assert_file_pattern(dst, BIG, 42);
	cr_assert_eq(se_script.closes, 1);
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), -EEXIST);
}

/* A submit the engine refuses never ran the copy: it runs direct. */
Test(sync_ring, copy_refused_by_the_ring_runs_direct)
{
	TH_PATH(src, "src");
	TH_PATH(dst, "dst");

	scripted_default_ring();
	se_script.submit_refusals[0] = -EBUSY;
	se_script.nsubmit_refusals = 1;
	th_write_pattern_file(src, BIG, 43);
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), 0);
	th_assert_file_pattern(dst, BIG, 43);
	cr_assert_eq(se_script.opens, 1, "a refusal is no reason to drop the ring");
}

static int key_creates;

/* tls_key_create that fails the first time, as a full key table does. */
static int key_create_fails_once(pthread_key_t *key, void (*destructor)(void *))
{
	if (key_creates++ == 0)
		return -EAGAIN;
	return -pthread_key_create(key, destructor);
}

/*
 * Issue 7: a failed pthread_key_create was remembered for the thread's
 * life, so every large copy failed and no default ring ever opened.  The
 * first copy runs direct; the next one tries the key again and uses the
 * ring.
 */
Test(sync_ring, failed_thread_key_creation_is_tried_again)
{
	const char *reason = NULL;
	TH_PATH(src, "src");
	TH_PATH(d1, "d1");
	TH_PATH(d2, "d2");

	scripted_default_ring();
	mmapio__sys.tls_key_create = key_create_fails_once;
	th_write_pattern_file(src, BIG, 44);
	TH_ASSERT_RC(mmapio_copy(src, d1, 0), 0);
	th_assert_file_pattern(d1, BIG, 44);
	cr_assert_eq(key_creates, 1);
	cr_assert_eq(se_script.submits, 0, "a ring ran without its thread key");
	TH_ASSERT_RC(mmapio_copy(src, d2, 0), 0);
	th_assert_file_pattern(d2, BIG, 44);
	cr_assert_eq(key_creates, 2);
	cr_assert_eq(se_script.submits, 1, "the second copy did not use the ring");
	cr_assert_geq(mmapio_default_backend(&reason), 0);
	cr_assert_str_eq(reason, "scripted");
}

/*
 * Issue 7: the reason string of mmapio_default_backend was the ring's, and
 * was freed when the thread's ring was dropped after a ring-level failure,
 * although the header promises it until the thread exits.  Read after the
 * drop (a use after free under AddressSanitizer before the fix).
 */
Test(sync_ring, default_backend_reason_outlives_a_dropped_ring)
{
	const char *reason = NULL, *again = NULL;
	char before[192];
	TH_PATH(src, "src");
	TH_PATH(dst, "dst");

	scripted_default_ring();
	cr_assert_geq(mmapio_default_backend(&reason), 0);
	cr_assert_not_null(reason);
	snprintf(before, sizeof(before), "%s", reason);
	th_write_pattern_file(src, BIG, 45);
	se_script.reap_lasting = -EBADFD;
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), 0);
	cr_assert_eq(se_script.closes, 1, "the broken ring was not dropped");
	cr_assert_str_eq(reason, before);
	se_script.reap_lasting = 0;
	cr_assert_geq(mmapio_default_backend(&again), 0);
	cr_assert_eq(se_script.opens, 2);
	cr_assert_str_eq(again, before);
}
