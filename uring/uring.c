/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The io_uring backend: the engine's setup (the ring, its flags, the
 * opcode probe, the direct descriptor slots), its close, and the contract's
 * table.  The rolling window, CQE dispatch, waiting and hand-back live in
 * window.c; the operations in ops.c (create, delete, flush) and copy.c.
 *
 * Measurements behind the choices (2-vCPU VM, Linux 6.18.44, liburing 2.3,
 * ext4; throwaway programs, medians of 9 runs for creates and 5 for copies,
 * other sessions were loading the machine at times, so the figures move by
 * about 10% from run to run; the pairs below ran back to back):
 *
 * 1000 creates of 64 KiB (open+fallocate+close), files/s:
 *
 *                                   1 directory        8 directories
 *   ext4 on the VM's disk
 *     blocking loop                 43624  42827       62314  51173
 *     ring, window 64               44562  44265       67731  62655
 *   ext4 on a RAM-backed loop device (less noise)
 *     blocking loop                 38452  37148  38450  53476  51618  52500
 *     ring, window 64               44131  42137  40904  67601  59622  64265
 *     public API, io_uring          44310  41421  42523  65482  59685  67914
 *     public API, blocking backend  36814  36631  38605  52863  51274  46506
 *   The rows above ran with SINGLE_ISSUER|SUBMIT_ALL; the final setup
 *   (SUBMIT_ALL only), one run each:
 *     loop device   blocking 39412, ring 44243, public API 42843 (1 dir);
 *                   blocking 52912, ring 61251, public API 61805 (8 dirs)
 *     VM's disk     blocking 60361, ring 67212 (8 dirs)
 *   window (1 directory, loop device, one run each): 16: 35262,
 *   32: 39771, 128: 44089 (64: the row above)
 *
 *   CPU per file: the blocking loop spends 23-27 us on the caller; the ring
 *   spends 37-45 us in all (1 directory) or 25-29 us (8 directories), of
 *   which 5-8 us on the caller, who is free while the kernel works.  perf
 *   (-e cpu-clock): in one directory the io-wq workers spend about 12% of
 *   their time spinning on the directory's i_rwsem (rwsem_spin_on_owner),
 *   the rest in ext4's create path (ext4_find_dest_de, ext4_search_dir);
 *   creates in one directory serialise there, so the ring only matches the
 *   loop, and wins once files span directories.  A smaller window does not
 *   help (above), nor do fewer workers (io_uring_register_iowq_max_workers
 *   1: 28227 and 29398 against 33043 and 34534 by default, during a busy
 *   period and with the earlier DEFER_TASKRUN setup), nor IOSQE_ASYNC on the open (46098 vs 45560 and 45922 vs
 *   44620 in one directory; 69981 vs 69636 and 68329 vs 66915 in eight:
 *   the kernel already forces O_CREAT opens and fallocate to io-wq).
 *
 *   What did help: waiting for an eighth of the CQEs in flight instead of
 *   one (ur_wait_nr), 42905 vs 36341 (1 directory) and 73866 vs 51930
 *   (8 directories), with io_uring_enter calls down from about 1000 to 270
 *   (measured while the ring still used DEFER_TASKRUN, see below).
 *   Note for benchmarks: creating right after deleting thousands of files
 *   makes ext4's inode allocator skip the recently deleted inodes
 *   (recently_deleted, find_inode_bit), which halved both sides here.
 *
 * Ring flags, all with SUBMIT_ALL (1 directory / 8 directories, loop
 * device, two runs each):
 *   SINGLE_ISSUER|DEFER_TASKRUN   42790 43453 / 73709 76100
 *   COOP_TASKRUN                  48142 47253 / 64862 67661
 *   neither                       46195 46792 / 69866 67249
 *   With DEFER_TASKRUN, 16 eventfd-driven batches run in parallel saw 0 to
 *   13 one-second stalls each (finished work waiting as task work that no
 *   eventfd signal announced); with COOP_TASKRUN or neither, none.  COOP
 *   does not wake a task asleep in epoll for task work either.
 *
 *   The stalls' cause, from the kernel's source: with DEFER_TASKRUN the
 *   eventfd is signalled only when task work is queued on an empty list
 *   (io_req_local_work_add), and since 6.13 one GETEVENTS enter with
 *   min_complete 0 runs at most 20 items, keeping the rest on a retry
 *   list and setting IORING_SQ_TASKRUN but signalling nobody
 *   (io_run_local_work_continue).  ur_drain_deferred fixes it: a poll
 *   enters again while IORING_SQ_TASKRUN (TASKRUN_FLAG) says work is
 *   pending, and any reap that leaves work pending signals the eventfd.
 *   Stress program: 16 processes at once, each 5 batches of 1000 creates
 *   reaped from epoll on mmapio_ring_fd with a 1 s timeout, counting the
 *   timeouts after which a peek found finished work (stalls); three
 *   rounds, variants alternating, stalls over all 16 processes:
 *     DEFER_TASKRUN, one enter per peek (the old setup)   12  19  12
 *     DEFER_TASKRUN|TASKRUN_FLAG with ur_drain_deferred    0   0   0
 *     SUBMIT_ALL only (this setup)                         0   0   0
 *   (each variant also saw 0-67 timeouts with nothing finished: a loaded
 *   machine, not a lost wake-up).  30 parallel runs of the ring_batch
 *   example, three times over, with the fix and DEFER_TASKRUN: all
 *   passed, as did the whole test suite with that setup.
 *
 *   Throughput with the fix, same loop device, variants alternating in
 *   one run, medians of 9 (creates, files/s) and 5 (1 GiB copy, GB/s),
 *   two runs; io_uring_enter calls per 1000 creates in brackets:
 *                              1 directory          8 directories     copy
 *     SUBMIT_ALL               48065 47959 (~100)   69221 68893 (~90)  6.25 6.36
 *     SINGLE_ISSUER|DEFER_TASKRUN|TASKRUN_FLAG|SUBMIT_ALL
 *                              43295 42413 (~250)   72431 71019 (~260) 6.17 6.25
 *   DEFER_TASKRUN wins 3-4% across directories but loses 10-12% in one:
 *   each CQE and each next link of a create chain waits for this task to
 *   enter and run it, where without it the kernel's workers post CQEs and
 *   start the next link themselves.  So the ring keeps SUBMIT_ALL only;
 *   ur_setup says why not SINGLE_ISSUER on its own, and how to switch.
 *   (A first version of the fix that also drained deferred work after
 *   every blocking wait made 950-1300 enters per 1000 creates: the caller
 *   spun on the CPU the workers need.  Blocking waits now only signal.)
 *
 * Copying a page-cache-resident file, GB/s (copy.c):
 *                              256 MiB       1 GiB
 *   read/write loop, 1 MiB     4.03  3.68    5.13  5.09
 *   copy_file_range            3.59  3.53    4.26  4.22
 *   ring  2 x 1 MiB            5.81  5.37    6.21  4.96
 *   ring  4 x 1 MiB            5.72  5.78    6.55  6.46   <- chosen
 *   ring  8 x 1 MiB            5.51  5.53    6.08  6.08
 *   ring 16 x 1 MiB            4.36  4.72    5.39  4.68
 *   ring  4 x 256 KiB          5.53  5.35    5.68  5.39
 *   ring  2 x 4 MiB            4.74  5.62    3.87  5.16
 *   perf: the writes (copy_folio_from_iter_atomic, ~73% of the samples)
 *   run on one io-wq worker, as the kernel hashes writes to one inode; the
 *   reads complete inline on the caller.  4 x 1 MiB had the narrowest
 *   spread of the fast choices (min 5.68 GB/s over 5 runs of 1 GiB).
 *   Final setup, 1 GiB: ring 4 x 1 MiB 6.05, read/write loop 4.46.
 *
 * Tried and dropped: letting a caller blocked in mmapio_ring_wait run
 * backlog creates and deletes itself (the fallback engine's run) while the
 * window kept the kernel busy.  Fresh RAM-backed ext4 per run, the two
 * builds alternating, io_uring row / the loop, three rounds:
 *   8 directories  without 1.24 1.30 1.06   with 1.16 1.19 1.13
 *   1 directory    without 1.18 1.23 1.17   with 1.22 1.22 1.18
 *   deletes (W9)   without 1.34 1.35 1.14   with 1.18 1.17 1.05
 * (batching the refills while helping changed nothing: 8 directories
 * 1.25 1.34 without, 1.14 1.11 with).  At ~70k files/s the ring already
 * keeps both CPUs busy (25-29 us of CPU per file over 8 directories, ~14 us
 * of wall time), so the caller's creates take CPU from the kernel side
 * instead of filling an idle one.
 *
 * io_uring_enter counting (uring_enters) was checked against strace -c:
 * 421 counted, 421 traced.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uring.h"

/* The window is capped so that the ring (4 SQEs per op) stays small. */
#define UR_MAX_DEPTH 1024u

/* ------------------------------------------------------------------------ */
/* The contract                                                             */
/* ------------------------------------------------------------------------ */

/* Returns the number of operations the engine owns. */
static unsigned ur_owned(void *engine)
{
	const struct ur_engine *e = engine;

	return e->owned;
}

/*
 * Registers ev's eventfd with the ring (NULL unregisters).  Returns 0 or
 * -errno.
 */
static int ur_set_event(void *engine, const struct mmapio__event *ev)
{
	struct ur_engine *e = engine;
	int efd = ev != NULL ? ev->fd : -1;
	int r;

	if (e->efd >= 0) {
		io_uring_unregister_eventfd(&e->ring);
		e->efd = -1;
	}
	if (efd < 0)
		return 0;
	r = io_uring_register_eventfd(&e->ring, efd);
	if (r < 0)
		return r;
	e->efd = efd;
	/*
	 * Work that finished before the registration was announced to
	 * nobody; one signal brings the caller round to collect it.
	 */
	if (e->inflight > 0)
		mmapio__ur_signal_eventfd(e);
	return 0;
}

/* Copies the counters. */
static void ur_stats(void *engine, struct mmapio__engine_stats *out)
{
	const struct ur_engine *e = engine;

	*out = e->stats;
}

/*
 * Finishes every operation the engine owns (the ring contract: close waits
 * for submitted work), then frees everything.  If the ring itself stops
 * working, the backlog is handed back with -ECANCELED and whatever the
 * kernel still holds is left allocated rather than freed under it.
 * Returns 0, or -EEXIST (nothing freed, the ring still usable) when called
 * with work in flight from a thread that a single-issuer ring refuses.
 */
static int ur_close(void *engine)
{
	struct ur_engine *e = engine;
	bool kernel_holds = false;

	while (e->owned > 0) {
		unsigned before = e->owned;
		int r = mmapio__ur_reap(e, e->owned, -1);

		/*
		 * A single-issuer ring refuses other threads: only its own
		 * thread can run the completions, so freeing it here would
		 * leave work the kernel still does pointing at freed memory.
		 * It stays whole for that thread to close.
		 */
		if (r == -EEXIST)
			return -EEXIST;
		if (r > 0 || r == -EINTR || e->owned < before)
			continue;
		/* No progress: the ring is broken.  Give up on it. */
		while (e->backlog != NULL) {
			struct mmapio__op *op = e->backlog;

			e->backlog = op->next;
			op->result = -ECANCELED;
			mmapio__ur_queue_finished(e, op);
		}
		e->backlog_tail = NULL;
		mmapio__ur_hand_back(e);
		kernel_holds = e->inflight > 0;
		break;
	}
	if (e->efd >= 0)
		io_uring_unregister_eventfd(&e->ring);
	/* Exiting the ring closes every direct descriptor still installed. */
	io_uring_queue_exit(&e->ring);
	if (kernel_holds)
		return 0;
	mmapio__ur_pool_free(e);
	free(e->slots);
	free(e);
	return 0;
}

/* Reads the opcodes the kernel supports into e->ops. */
static void ur_probe(struct ur_engine *e)
{
	struct io_uring_probe *p = io_uring_get_probe_ring(&e->ring);
	unsigned op;

	e->ops = 0;
	if (p == NULL)
		return; /* Linux 5.5 and older: no probe, so use nothing. */
	for (op = 0; op < 64; op++)
		if (io_uring_opcode_supported(p, (int)op))
			e->ops |= (uint64_t)1 << op;
	io_uring_free_probe(p);
}

/*
 * Sets the ring up, trying the cheapest task-running modes first and
 * plainer ones where the kernel refuses them with -EINVAL.  Returns 0 or
 * -errno.
 */
static int ur_setup(struct ur_engine *e, unsigned entries)
{
	/*
	 * SINGLE_ISSUER|DEFER_TASKRUN is not tried, on the measurements atop
	 * this file: with the eventfd made reliable (ur_drain_deferred, which
	 * needs TASKRUN_FLAG alongside), it still cost 10-12% in creates in
	 * one directory, where every link of a create chain waits for this
	 * task to run the previous one's completion, for 3-4% in eight.  The
	 * engine handles it all the same (ur_drain_deferred, ur_on_owner, the
	 * -EEXIST of close), so that trying it again is one line here:
	 *
	 *   IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
	 *           IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_SUBMIT_ALL,
	 *
	 * COOP_TASKRUN is left out too: it does not wake a task asleep in
	 * epoll for task work (buffered reads waiting for I/O).  Without
	 * either, workers post CQEs themselves and the eventfd fires at once.
	 */
	static const unsigned tries[] = {
		IORING_SETUP_SUBMIT_ALL, /* 5.18: one bad SQE does not stop the rest */
		0,
	};
	struct io_uring_params p;
	size_t i;
	int r = -EINVAL;

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = tries[i] | IORING_SETUP_CLAMP;
		r = io_uring_queue_init_params(entries, &e->ring, &p);
		if (r != -EINVAL)
			break;
	}
	if (r < 0)
		return r;
	e->setup_flags = tries[i];
	e->defer = (tries[i] & IORING_SETUP_DEFER_TASKRUN) != 0;
	e->single_issuer = (tries[i] & IORING_SETUP_SINGLE_ISSUER) != 0;
	e->owner = pthread_self();
	e->sq_entries = p.sq_entries;
	e->ext_arg = (p.features & IORING_FEAT_EXT_ARG) != 0;
	return 0;
}

/*
 * Sets an engine up.  Returns 0 with *engine set, or -errno with the
 * reason in why.
 */
static int ur_open(const struct mmapio__engine_params *params, void **engine, char *why,
		   size_t whylen)
{
	struct ur_engine *e = calloc(1, sizeof(*e));
	unsigned depth, i;
	int r;

	if (e == NULL) {
		snprintf(why, whylen, "io_uring: out of memory");
		return -ENOMEM;
	}
	e->done = params->done;
	e->ctx = params->ctx;
	e->fallback = params->fallback;
	e->efd = -1;
	depth = params->queue_depth == 0 ? 64 : params->queue_depth;
	if (depth > UR_MAX_DEPTH)
		depth = UR_MAX_DEPTH;

	r = ur_setup(e, depth * UR_SQES_PER_OP);
	if (r < 0) {
		char buf[64];

		snprintf(why, whylen, "io_uring_setup: %s", strerror_r(-r, buf, sizeof(buf)));
		free(e);
		return r;
	}
	e->depth = depth;
	if (e->depth > e->sq_entries / UR_SQES_PER_OP && e->sq_entries >= UR_SQES_PER_OP)
		e->depth = e->sq_entries / UR_SQES_PER_OP; /* the kernel clamped the ring */
	ur_probe(e);

	/*
	 * One direct descriptor slot per running operation: a create opens
	 * into it, allocates and closes in one linked chain, without a file
	 * descriptor ever entering the process's table.
	 */
	e->slots = calloc(e->depth, sizeof(*e->slots));
	if (e->slots == NULL) {
		io_uring_queue_exit(&e->ring);
		free(e);
		snprintf(why, whylen, "io_uring: out of memory");
		return -ENOMEM;
	}
	if (ur_has(e, IORING_OP_OPENAT) && ur_has(e, IORING_OP_CLOSE) &&
	    io_uring_register_files_sparse(&e->ring, e->depth) == 0) {
		e->direct = true;
		for (i = 0; i < e->depth; i++)
			e->slots[i] = e->depth - 1 - i;
		e->nfree = e->depth;
	}
	mmapio__ur_copy_tune(e);
	*engine = e;
	return 0;
}

MMAPIO_INTERNAL const struct mmapio__engine mmapio__engine_uring = {
	.name = "io_uring",
	.kind = MMAPIO_BACKEND_URING,
	.open = ur_open,
	.close = ur_close,
	.submit = mmapio__ur_submit,
	.reap = mmapio__ur_reap,
	.owned = ur_owned,
	.set_event = ur_set_event,
	.stats = ur_stats,
};
