/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The io_uring engine: its setup (the ring, its flags, the check that
 * io_uring_enter works, the opcode probe, the direct descriptor slots), its
 * close, the contract's table and the table of operation kinds.  The
 * rolling window, CQE dispatch, waiting and hand-back live in window.c; the
 * operations in create.c, copy.c, delete.c and flush.c (see uring.h).
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
 *
 * The default window (queue_depth 0).  The engine has no thread, so work
 * left in the backlog waits for the caller's next call: with the old
 * default of 64, 1000 creates submitted to a caller who then slept had 64
 * files on disk after 10 s.  A window of 4000 puts a batch of that size
 * into the kernel in one submit, where io-wq runs each create chain to its
 * end.  Only the completion ring bounds it (every SQE in flight owes a
 * CQE, and the CQEs of finished chains wait there for the caller), so it
 * gets 4 CQEs per operation with IORING_SETUP_CQSIZE, while the SQEs go
 * through a 256-entry submission ring in batches: mapped per ring
 * (/proc/self/maps), 276 KiB for the default window, against 404 KiB for
 * queue_depth 1024 sized the old way (4 SQEs per operation) and 28 KiB
 * for 64.  Benchmark W12, 1000 creates of 4 KiB, median of 5 runs, ms
 * until all on disk:
 *   caller asleep (stat only) 24.59, driven batch (ring_wait) 22.87: 1.08x
 *   after a sleep of 45.7 ms: 1000 of 1000 on disk on the default ring,
 *   64 of 1000 on a ring of queue_depth 64
 * A batch the caller drives costs about what it did through a window of
 * 64: 1000 creates of 64 KiB reaped with mmapio_ring_wait, the two
 * windows alternating, medians of 9, three runs on a loaded machine,
 * window 4000 / 64: 27.5 / 22.9, 121.7 / 123.9, 16.1 / 15.2 ms.  Copies prepared ahead of the window keep the old
 * bound of 64 (two descriptors each), and without direct descriptors the
 * window stays at 64, as each running create then holds a descriptor of
 * the process's table.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "uring.h"

/* A queue_depth the caller gives is capped so that the ring (4 SQEs per op) stays small. */
#define UR_MAX_DEPTH 1024u

/*
 * The default window (queue_depth 0): up to this many operations in the
 * kernel at once, so that one submit hands it every operation of a batch
 * of that size (see ur_open for the figures).
 */
#define UR_AUTO_DEPTH 4000u

/* The default window's submission ring: chains go in batches of this many SQEs. */
#define UR_AUTO_SQ 256u

/* Copies a default window opens ahead of it in submit (two descriptors each). */
#define UR_AUTO_AHEAD 64u

/* CQEs kept spare beyond e->room: liburing's timeout CQE, the open's NOP. */
#define UR_CQ_SPARE 16u

/*
 * The operation kinds, indexed by enum mmapio_op: the window reaches them
 * only through this table (e->kinds), so that it never names a kind.
 */
static const struct ur_kind *const ur_kinds[UR_NKINDS] = {
	[MMAPIO_OP_CREATE] = &mmapio__ur_kind_create,
	[MMAPIO_OP_COPY] = &mmapio__ur_kind_copy,
	[MMAPIO_OP_DELETE] = &mmapio__ur_kind_delete,
	[MMAPIO_OP_FLUSH] = &mmapio__ur_kind_flush,
	[MMAPIO_OP_WRITE] = &mmapio__ur_kind_write,
	[MMAPIO_OP_RENAME] = &mmapio__ur_kind_rename,
	[MMAPIO_OP_SYNC_DIR] = &mmapio__ur_kind_sync_dir,
};

_Static_assert(MMAPIO_OP_SYNC_DIR == UR_NKINDS - 1, "a table entry for every enum mmapio_op");

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

/* Frees the engine and everything it holds but the ring. */
static void ur_free(struct ur_engine *e)
{
	mmapio__ur_pool_free(e);
	free(e->untaken);
	free(e->slots);
	free(e);
}

/*
 * Finishes every operation the engine owns (the ring contract: close waits
 * for submitted work), then frees everything.  If the ring itself stops
 * working, what the kernel never took comes back with the ring's error and
 * what it took is collected as it finishes (mmapio__ur_drain).  Returns 0,
 * or -EEXIST (nothing freed, the ring still usable) when called with work
 * in flight from a thread that a single-issuer ring refuses.
 */
static int ur_close(void *engine)
{
	struct ur_engine *e = engine;
	int r;

	e->may_block = true;
	r = mmapio__ur_drain(e);
	if (r < 0)
		return r;
	if (e->efd >= 0)
		io_uring_unregister_eventfd(&e->ring);
	/* Exiting the ring closes every direct descriptor still installed. */
	io_uring_queue_exit(&e->ring);
	ur_free(e);
	return 0;
}

/* Reads the opcodes the kernel supports into e->ops, less the hooked ones. */
static void ur_probe(struct ur_engine *e)
{
	struct io_uring_probe *p = NULL;
	unsigned op;

	e->ops = 0;
	if (!mmapio__ur_hooks.no_probe)
		p = io_uring_get_probe_ring(&e->ring);
	if (p == NULL)
		return; /* Linux 5.5 and older: no probe, so use nothing. */
	for (op = 0; op < 64; op++)
		if (io_uring_opcode_supported(p, (int)op))
			e->ops |= (uint64_t)1 << op;
	io_uring_free_probe(p);
	e->ops &= ~mmapio__ur_hooks.mask_ops;
}
/*
 * Sets the ring up with entries SQEs and, when cq is not 0, a completion
 * ring of cq CQEs (IORING_SETUP_CQSIZE, Linux 5.5; else the kernel's
 * twice entries), trying the cheapest task-running modes first and plainer
 * ones where the kernel refuses them with -EINVAL.  Returns 0 or -errno.
 */
static int ur_setup(struct ur_engine *e, unsigned entries, unsigned cq)
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
		if (cq > 0) {
			p.flags |= IORING_SETUP_CQSIZE;
			p.cq_entries = cq;
		}
		r = io_uring_queue_init_params(entries, &e->ring, &p);
		if (r != -EINVAL)
			break;
	}
	if (r == -EINVAL && cq > 0)
		return ur_setup(e, entries, 0); /* before 5.5: no CQSIZE */
	if (r < 0)
		return r;
	e->setup_flags = tries[i];
	e->cq_entries = p.cq_entries;
	e->defer = (tries[i] & IORING_SETUP_DEFER_TASKRUN) != 0;
	e->single_issuer = (tries[i] & IORING_SETUP_SINGLE_ISSUER) != 0;
	e->owner = pthread_self();
	e->sq_entries = p.sq_entries;
	e->ext_arg = (p.features & IORING_FEAT_EXT_ARG) != 0;
	if (mmapio__ur_hooks.no_ext_arg) {
		/* liburing decides by the ring's features; so must the hook. */
		e->ext_arg = false;
		e->ring.features &= ~IORING_FEAT_EXT_ARG;
	}
	return 0;
}

/*
 * Registers a sparse file table of n slots with the raw system call.
 * Returns 0 or -errno.
 */
static int ur_register_sparse(struct ur_engine *e, unsigned n)
{
	struct io_uring_rsrc_register reg;
	long r;

	memset(&reg, 0, sizeof(reg));
	reg.nr = n;
	reg.flags = IORING_RSRC_REGISTER_SPARSE;
	r = syscall(__NR_io_uring_register, e->ring.ring_fd, IORING_REGISTER_FILES2, &reg,
		    sizeof(reg));
	return r < 0 ? -errno : 0;
}

/*
 * Gives the ring direct descriptor slots, one per running operation where
 * the process's limits allow, so that a create opens into a slot,
 * allocates and closes in one linked chain without a file descriptor ever
 * entering the process's table.
 *
 * The kernel refuses a table larger than the soft RLIMIT_NOFILE (-EMFILE),
 * and liburing's io_uring_register_files_sparse then raises the process's
 * limit by the table's size and tries again: a process-wide side effect no
 * library may have (20 became 84).  So the table is sized within the limit
 * and registered with the raw call, halving on -EMFILE; with fewer slots
 * than the window, creates wait for a free slot.  No table at all (an old
 * kernel, or a limit of 0) leaves plain descriptors.
 */
static void ur_register_slots(struct ur_engine *e)
{
	struct rlimit rl;
	unsigned n = e->depth, i;
	int r = -EMFILE;

	if (mmapio__ur_hooks.no_direct || !ur_has(e, IORING_OP_OPENAT) ||
	    !ur_has(e, IORING_OP_CLOSE))
		return;
	if (mmapio__ur_hooks.max_slots > 0 && n > mmapio__ur_hooks.max_slots)
		n = mmapio__ur_hooks.max_slots;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && n > rl.rlim_cur)
		n = (unsigned)rl.rlim_cur;
	while (n > 0) {
		r = ur_register_sparse(e, n);
		if (r != -EMFILE)
			break;
		n /= 2;
	}
	if (r < 0 || n == 0)
		return;
	e->direct = true;
	e->nslots = n;
	for (i = 0; i < n; i++)
		e->slots[i] = n - 1 - i;
	e->nfree = n;
}

/* Writes "what: <strerror(-err)>" into why. */
static void ur_reason(char *why, size_t whylen, const char *what, int err)
{
	char buf[64];

	snprintf(why, whylen, "%s: %s", what, strerror_r(-err, buf, sizeof(buf)));
}

/*
 * Sets the kernel ring up for a window of depth operations and sizes the
 * window to what the kernel gave.  A queue_depth the caller chose (auto
 * false) gets a submission ring of 4 SQEs per operation and the kernel's
 * completion ring of twice that, as before.  The default window (auto)
 * gets a completion ring of 4 CQEs per operation (IORING_SETUP_CQSIZE),
 * which is all that bounds what may be in flight, and a small submission
 * ring that chains go through in batches (mmapio__ur_sq_room); where the
 * kernel refuses the memory (-ENOMEM: before Linux 5.12 rings count
 * against RLIMIT_MEMLOCK) the window is halved down to 64 operations.
 * Returns 0 or -errno.
 */
static int ur_setup_window(struct ur_engine *e, unsigned depth, bool autosize)
{
	int r;

	if (!autosize) {
		r = ur_setup(e, depth * UR_SQES_PER_OP, 0);
		if (r < 0)
			return r;
		e->room = e->sq_entries;
	} else {
		for (;;) {
			r = ur_setup(e, UR_AUTO_SQ, depth * UR_SQES_PER_OP + UR_CQ_SPARE);
			if (r != -ENOMEM || depth <= 64)
				break;
			depth /= 2;
		}
		if (r < 0)
			return r;
		e->room = e->cq_entries > 2 * UR_CQ_SPARE ? e->cq_entries - UR_CQ_SPARE
							   : e->cq_entries / 2;
		if (e->room < e->sq_entries)
			e->room = e->sq_entries;
	}
	e->depth = depth;
	if (e->depth > e->room / UR_SQES_PER_OP && e->room >= UR_SQES_PER_OP)
		e->depth = e->room / UR_SQES_PER_OP; /* the kernel clamped the ring */
	e->ahead_max = autosize && e->depth > UR_AUTO_AHEAD ? UR_AUTO_AHEAD : e->depth;
	return 0;
}

/*
 * Sets an engine up.  Returns 0 with *engine set, or -errno with the
 * reason in why: "io_uring_setup: ..." when the kernel refuses a ring,
 * "io_uring_enter: ..." when it sets one up but refuses to enter it (a
 * seccomp filter that allows io_uring_setup only), so that the ring front
 * end falls back to the blocking engine for -EPERM and -ENOSYS from either.
 */
static int ur_open(const struct mmapio__engine_params *params, void **engine, char *why,
		   size_t whylen)
{
	struct ur_engine *e = calloc(1, sizeof(*e));
	bool autosize = params->queue_depth == 0;
	unsigned depth;
	int r;

	if (e == NULL) {
		snprintf(why, whylen, "io_uring: out of memory");
		return -ENOMEM;
	}
	e->done = params->done;
	e->ctx = params->ctx;
	e->fallback = params->fallback;
	e->kinds = ur_kinds;
	e->efd = -1;
	depth = autosize ? UR_AUTO_DEPTH : params->queue_depth;
	if (!autosize && depth > UR_MAX_DEPTH)
		depth = UR_MAX_DEPTH;

	r = ur_setup_window(e, depth, autosize);
	if (r < 0) {
		ur_reason(why, whylen, "io_uring_setup", r);
		free(e);
		return r;
	}
	r = mmapio__ur_enter_check(e);
	if (r < 0) {
		ur_reason(why, whylen, "io_uring_enter", r);
		goto fail;
	}
	ur_probe(e);

	e->untaken_cap = e->room + e->sq_entries;
	e->slots = calloc(e->depth, sizeof(*e->slots));
	e->untaken = calloc(e->untaken_cap, sizeof(*e->untaken));
	if (e->slots == NULL || e->untaken == NULL) {
		r = -ENOMEM;
		snprintf(why, whylen, "io_uring: out of memory");
		goto fail;
	}
	ur_register_slots(e);
	/*
	 * Without direct descriptors every create and directory stage holds
	 * a plain descriptor of the process's table while it runs: the
	 * default window then stays at the old 64, so as not to take the
	 * application's descriptors.
	 */
	if (autosize && !e->direct && e->depth > 64)
		e->depth = 64;
	mmapio__ur_copy_tune(e);
	*engine = e;
	return 0;
fail:
	io_uring_queue_exit(&e->ring);
	ur_free(e);
	return r;
}

/*
 * True when op is of a kind whose whole work is one SQE the kernel fails
 * on an error or a short result, runs on the ring, and is not held by the
 * gate hook (its read would be what a link ordered).
 */
static bool ur_single(const struct ur_engine *e, const struct mmapio__op *op)
{
	unsigned kind = (unsigned)op->kind;
	const struct ur_kind *k = kind < UR_NKINDS ? e->kinds[kind] : NULL;

	return k != NULL && k->single != NULL && k->single(op) && k->supported(e, op) &&
	       !(mmapio__ur_hooks.gate_kinds & (1u << kind));
}

/*
 * The contract's link(): a chain of len single-SQE operations, which the
 * window starts all at once (see "Links" in window.c), so it must fit in
 * the window, the completion ring's room and the submission ring.
 */
static bool ur_link(void *engine, const struct mmapio__op *first, const struct mmapio__op *next,
		    unsigned len)
{
	const struct ur_engine *e = engine;

	return e->broken == 0 && len <= e->depth && len <= e->room && len <= e->sq_entries &&
	       ur_single(e, first) && ur_single(e, next);
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
	.run = NULL, /* every operation needs a ring; the blocking engine runs one alone */
	.link = ur_link,
};
