/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The synchronous calls (mmapio_copy, mmapio_delete, mmapio_flush,
 * mmapio_flush_range) and the per-thread default ring they run on.
 *
 * Each thread gets its own ring on first use, opened with default options
 * so that MMAPIO_BACKEND applies, because a ring is not thread-safe.  A
 * pthread key's destructor closes it when the thread exits; the main thread
 * usually leaves through exit(), which runs no key destructors, so a library
 * destructor closes the ring of the thread that runs it.
 *
 * A single synchronous operation either runs through that ring or goes
 * straight to the blocking system calls on the calling thread; see
 * sync_runs_direct() for which and why, and MMAPIO_SYNC_ROUTE for the
 * override that benchmarks and tuning use.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "internal.h"
#include "ring.h"
#include "sys.h"

/*
 * Copies of sources this large or larger go through the ring in the auto
 * route; see sync_runs_direct() for the figures.
 */
#define SYNC_COPY_RING_MIN ((off_t)512 << 10)

static _Thread_local mmapio_ring *thread_ring;
static pthread_key_t thread_ring_key;
static pthread_once_t thread_ring_once = PTHREAD_ONCE_INIT;
static int thread_ring_key_error;

/* The key destructor: closes an exiting thread's default ring. */
static void thread_ring_destroy(void *ring)
{
	mmapio_ring_close(ring);
	thread_ring = NULL;
}

/*
 * A default ring the forking thread left behind in a child process.  The
 * child shares that ring's io_uring instance with the parent through the
 * inherited descriptor and mappings: reaping or closing it here would take
 * or cancel the parent's completions.  The child therefore forgets it and
 * opens its own on first use; the pointer is kept so the memory stays
 * reachable rather than leaked (volatile: a static that is only ever
 * written would otherwise be optimised away, and the ring with it).
 */
static mmapio_ring *volatile forked_away_ring;

/* The pthread_atfork child handler: forget the parent's default ring. */
static void thread_ring_forget_in_child(void)
{
	if (thread_ring == NULL)
		return;
	forked_away_ring = thread_ring;
	thread_ring = NULL;
	if (thread_ring_key_error == 0)
		pthread_setspecific(thread_ring_key, NULL);
}

/* Creates the key whose destructor closes default rings, and the fork hook. */
static void thread_ring_key_init(void)
{
	thread_ring_key_error = -pthread_key_create(&thread_ring_key, thread_ring_destroy);
	if (thread_ring_key_error == 0)
		thread_ring_key_error = -pthread_atfork(NULL, NULL, thread_ring_forget_in_child);
}

/*
 * Drops the calling thread's default ring after a ring-level failure, so
 * that the next synchronous call opens a fresh one instead of failing the
 * same way for the rest of the thread's life.  A ring that refuses to close
 * is forgotten like a forked-away one.
 */
static void thread_ring_drop(void)
{
	mmapio_ring *ring = thread_ring;

	if (ring == NULL)
		return;
	thread_ring = NULL;
	pthread_setspecific(thread_ring_key, NULL);
	if (mmapio_ring_close(ring) < 0)
		forked_away_ring = ring;
}

/* Closes the default ring of the thread that unloads the library or exits. */
__attribute__((destructor)) static void thread_ring_at_exit(void)
{
	mmapio_ring *ring = thread_ring;

	if (ring == NULL)
		return;
	thread_ring = NULL;
	if (thread_ring_key_error == 0)
		pthread_setspecific(thread_ring_key, NULL);
	mmapio_ring_close(ring);
}

/*
 * Returns the calling thread's default ring in *out, opening it on first
 * use.  A failed open is not remembered, so that a passing failure (ENOMEM)
 * does not stick; a lasting io_uring failure is cached by the ring code.
 * Returns 0 or -errno.
 */
static int default_ring(mmapio_ring **out)
{
	mmapio_ring *ring = NULL;
	int r;

	if (thread_ring != NULL) {
		*out = thread_ring;
		return 0;
	}
	pthread_once(&thread_ring_once, thread_ring_key_init);
	if (thread_ring_key_error != 0)
		return thread_ring_key_error;
	r = mmapio_ring_open(NULL, &ring);
	if (r < 0)
		return r;
	r = -pthread_setspecific(thread_ring_key, ring);
	if (r < 0) {
		mmapio_ring_close(ring);
		return r;
	}
	thread_ring = ring;
	*out = ring;
	return 0;
}

/* How the calling thread routes single synchronous operations. */
enum sync_route {
	SYNC_ROUTE_UNSET = 0, /* MMAPIO_SYNC_ROUTE not read yet on this thread */
	SYNC_ROUTE_AUTO,      /* per operation kind, as sync_runs_direct() decides */
	SYNC_ROUTE_RING,      /* every kind through the default ring */
	SYNC_ROUTE_DIRECT     /* every kind with blocking system calls */
};

static _Thread_local enum sync_route thread_route;

/*
 * Returns the calling thread's route, reading MMAPIO_SYNC_ROUTE (ring,
 * direct or auto; anything else means auto) once per thread, at its first
 * synchronous call or mmapio_default_backend, the same moment at which
 * MMAPIO_BACKEND picks the backend of the thread's default ring.  Reading it
 * per thread rather than per process lets one program compare the routes
 * side by side in threads of its own, as the benchmark does.
 */
static enum sync_route sync_route(void)
{
	const char *env;

	if (thread_route != SYNC_ROUTE_UNSET)
		return thread_route;
	env = getenv("MMAPIO_SYNC_ROUTE");
	if (env != NULL && strcasecmp(env, "ring") == 0)
		thread_route = SYNC_ROUTE_RING;
	else if (env != NULL && strcasecmp(env, "direct") == 0)
		thread_route = SYNC_ROUTE_DIRECT;
	else
		thread_route = SYNC_ROUTE_AUTO;
	return thread_route;
}

/*
 * The one place that decides how a single synchronous operation runs.
 * Returns true to send op straight to the blocking system calls on the
 * calling thread (mmapio__blocking_run), false to run it through the default
 * ring (io_uring where it works).  Both routes finish a flush with
 * mmapio__op_finish, so the sticky write-back error is recorded and reported
 * the same way, and both give msync(MS_SYNC) semantics: the direct route is
 * the blocking backend's msync(MS_SYNC) of the page-rounded range.
 *
 * Issue 3 asks for the direct path wherever the ring round trip is
 * measurably slower for one operation.  Medians of single operations from
 * mmapio-bench S1 (501 per variant, variants taking turns; 2 cores, ext4,
 * kernel 6.18; four runs started at load average 1.6, microseconds, ring
 * forced vs direct forced on io_uring, hand-written syscall in brackets):
 *
 *   delete 64 KiB file   63.6/56.4  58.6/45.9  66.0/57.0  73.2/66.7  (unlink 56-63)
 *   flush one 4 KiB page 119.8/111.6 134.4/113.8 113.7/105.5 138.6/130.8 (msync 105-129)
 *   copy 4 KiB           22.1/15.2  22.2/15.3  23.6/16.0  25.5/16.8  (13.5-15.2)
 *   copy 64 KiB          38.3/29.5  31.7/24.2  33.7/25.9  33.1/25.3
 *   copy 256 KiB         68.5/67.0  60.8/59.9  64.5/63.5  (one noisy run left out)
 *   copy 512 KiB         106.9/115.1 106.4/114.4
 *   copy 1 MiB           189.4/209.8 189.2/210.7 196.3/218.8 191.6/213.9
 *
 * Six more runs while other work held the load average at 30-90 showed the
 * same for delete (ring 57.8-74.6 vs direct 46.8-60.5), flush (ring
 * 97.3-138.0 vs 89.2-120.6, leaving aside one direct median of 923.7 caught
 * in a burst) and copies up to 256 KiB (256 KiB: ring slower in every run,
 * 75.2/73.4 90.2/65.2 80.1/69.4), while at 512 KiB and 1 MiB the ring won
 * some runs and lost others (1 MiB: 215.3/218.1 503.7/222.6 765.0/249.7):
 * its io-wq worker must be scheduled, which a loaded machine delays.
 *
 * The ring costs a fixed 7-10 us per operation: IORING_OP_UNLINKAT and
 * IORING_OP_FSYNC always go to an io-wq worker, so one operation pays the
 * hand-off to the worker and the wake-up back, and a small copy pays ring
 * round trips that a single copy_file_range does not.  Delete and flush
 * therefore go direct, and so do copies of sources under 512 KiB, where the
 * ring was slower in every run.  From 512 KiB on the ring's pipelined
 * read/write (about 10% faster than copy_file_range at 1 MiB on a quiet
 * machine) is not consistently slower, so those copies stay on the ring;
 * the one stat that decides costs about 1 us.  A source that cannot be
 * stat'ed goes direct, where the copy reports the same error it would on
 * the ring.
 * mmapio_create never comes here (it creates its file with direct system
 * calls itself); a create that did would go direct like it.
 *
 * MMAPIO_SYNC_ROUTE=ring or =direct overrides all of this per thread.
 */
static bool sync_runs_direct(const struct mmapio__op *op)
{
	struct stat st;

	switch (sync_route()) {
	case SYNC_ROUTE_RING:
		return false;
	case SYNC_ROUTE_DIRECT:
		return true;
	case SYNC_ROUTE_UNSET:
	case SYNC_ROUTE_AUTO:
		break;
	}
	switch (op->kind) {
	case MMAPIO_OP_CREATE:
	case MMAPIO_OP_DELETE:
	case MMAPIO_OP_FLUSH:
		return true;
	case MMAPIO_OP_COPY:
		return mmapio__sys.fstatat(AT_FDCWD, op->u.copy.src, &st, 0) < 0 ||
		       st.st_size < SYNC_COPY_RING_MIN;
	}
	return false;
}

MMAPIO_INTERNAL int mmapio__run_sync(struct mmapio__op *op)
{
	mmapio_ring *ring = NULL;
	bool broken;
	int r;

	if (mmapio__op_is_local(op)) {
		r = op->result;
		mmapio__op_free(op);
		return r;
	}
	if (sync_runs_direct(op)) {
		op->result = mmapio__engine_blocking.run(op);
		r = mmapio__op_finish(op);
		mmapio__op_free(op);
		return r;
	}
	r = default_ring(&ring);
	if (r < 0) {
		/* The operation never ran: release its map without an error. */
		op->result = 0;
		mmapio__op_finish(op);
		mmapio__op_free(op);
		return r;
	}
	r = mmapio__ring_run(ring, op, &broken);
	if (broken)
		thread_ring_drop();
	return r;
}

MMAPIO_EXPORT int mmapio_default_backend(const char **reason)
{
	mmapio_ring *ring = NULL;
	int r;

	/* Fixes the thread's route now too, so that both variables are read together. */
	sync_route();
	r = default_ring(&ring);
	if (r < 0)
		return r;
	return (int)mmapio_ring_backend(ring, reason);
}

MMAPIO_EXPORT int mmapio_copy(const char *src, const char *dst, unsigned flags)
{
	struct mmapio__op *op;
	/* The call waits for the copy, so relative paths mean what they say. */
	int r = mmapio__copy_op(src, dst, flags, false, &op);

	return r < 0 ? r : mmapio__run_sync(op);
}

MMAPIO_EXPORT int mmapio_delete(const char *path)
{
	struct mmapio__op *op;
	int r = mmapio__delete_op(path, false, &op);

	return r < 0 ? r : mmapio__run_sync(op);
}

MMAPIO_EXPORT int mmapio_flush_range(mmapio_map *map, uint64_t off, uint64_t len)
{
	struct mmapio__op *op;
	int r;

	r = mmapio__flush_op(map, off, len, &op);
	if (r < 0)
		return r;
	return mmapio__run_sync(op);
}

MMAPIO_EXPORT int mmapio_flush(mmapio_map *map)
{
	uint64_t len;
	int r, tries = 0;

	if (map == NULL)
		return -EINVAL;
	if (map->mode != MMAPIO_READ_WRITE)
		return 0;
	/*
	 * A resize on another thread may shrink the map between reading its
	 * length and preparing the flush, which then sees -ERANGE; the length
	 * is read again.  Once prepared, the op holds the map's size still
	 * (resize is -EBUSY while ring operations are out).
	 */
	do {
		len = __atomic_load_n(&map->len, __ATOMIC_ACQUIRE);
		if (len == 0)
			return __atomic_load_n(&map->flush_error, __ATOMIC_ACQUIRE);
		r = mmapio_flush_range(map, 0, len);
	} while (r == -ERANGE && ++tries < 8);
	return r;
}
