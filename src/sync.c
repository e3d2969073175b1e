/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The synchronous calls (mmapio_copy, mmapio_delete, mmapio_flush,
 * mmapio_flush_range) and the per-thread default ring that large copies
 * run on.
 *
 * A synchronous call runs the platform call on the calling thread with the
 * caller's paths and allocates nothing, as libuv's synchronous fs calls do;
 * only a copy that the benchmark measured faster on a ring goes through one
 * (copy_uses_ring() holds that choice and its figures).  A caller who wants
 * io_uring for another single operation opens a ring.
 *
 * The default ring: each thread gets its own on first use, opened with
 * default options so that MMAPIO_BACKEND applies, because a ring is not
 * thread-safe.  A thread-exit destructor closes it; the main thread usually
 * leaves through exit(), which runs no such destructors, so a library
 * destructor closes the ring of the thread that runs it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "once.h"
#include "ring.h"

/*
 * Copies of sources this large or larger go through the default ring; see
 * copy_uses_ring() for the figures.
 */
#define SYNC_COPY_RING_MIN ((uint64_t)512 << 10)

static _Thread_local mmapio_ring *thread_ring;

MMAPIO_INTERNAL const struct mmapio__engine *mmapio__default_ring_engine;

/*
 * The reason of the thread's default backend, kept here rather than in the
 * ring so that the string mmapio_default_backend hands out lives until the
 * thread exits, as the header promises, even when the ring is dropped.
 */
static _Thread_local char thread_reason[192];

/* The key whose destructor closes default rings, set up once. */
static struct mmapio__tls_key thread_ring_key;
static int thread_ring_key_state; /* an mmapio__once_retry word */

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

/* The fork hook: the child forgets the parent's default ring. */
static void thread_ring_forget_in_child(void)
{
	if (thread_ring == NULL)
		return;
	forked_away_ring = thread_ring;
	thread_ring = NULL;
	mmapio__plat_tls_key_set(&thread_ring_key, NULL);
}

/*
 * Creates the key and the fork hook, once per process.  A failure is not
 * remembered: the next call tries again, so that a passing shortage
 * (EAGAIN, ENOMEM) does not disable the default ring for the thread's life.
 * Returns 0 or -errno.
 */
/* The set-up itself, for mmapio__once_retry: the key, then the fork hook. */
static int thread_ring_key_make(void)
{
	int r = mmapio__plat_tls_key_create(&thread_ring_key, thread_ring_destroy);

	/* A key without its fork hook stays: it is still of use. */
	if (r == 0)
		(void)mmapio__plat_atfork_child(thread_ring_forget_in_child);
	return r;
}

static int thread_ring_key_init(void)
{
	return mmapio__once_retry(&thread_ring_key_state, thread_ring_key_make);
}

/*
 * Forgets the calling thread's default ring after a lasting ring-level
 * failure, so that the next synchronous call opens a fresh one instead of
 * failing the same way for the rest of the thread's life.  mmapio__ring_run
 * has closed it already (closed), or it refused to close and is kept
 * reachable like a forked-away one.
 */
static void thread_ring_forget(bool closed)
{
	mmapio_ring *ring = thread_ring;

	if (ring == NULL)
		return;
	thread_ring = NULL;
	mmapio__plat_tls_key_set(&thread_ring_key, NULL);
	if (!closed)
		forked_away_ring = ring;
}

/* Closes the default ring of the thread that unloads the library or exits. */
__attribute__((destructor)) static void thread_ring_at_exit(void)
{
	mmapio_ring *ring = thread_ring;

	if (ring == NULL)
		return;
	thread_ring = NULL;
	if (mmapio__once_done(&thread_ring_key_state))
		mmapio__plat_tls_key_set(&thread_ring_key, NULL);
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
	/*
	 * One synchronous call at a time runs on this ring: a small window
	 * (the engines' old default) rather than the engine's default one,
	 * sized for thousands of operations (276 KiB on io_uring), in every
	 * thread that copies.
	 */
	const struct mmapio_ring_options opts = { .queue_depth = 64 };
	mmapio_ring *ring = NULL;
	const char *why;
	int r;

	if (thread_ring != NULL) {
		*out = thread_ring;
		return 0;
	}
	r = thread_ring_key_init();
	if (r < 0)
		return r;
	if (mmapio__default_ring_engine != NULL)
		r = mmapio__ring_open_engine(mmapio__default_ring_engine, &opts, &ring);
	else
		r = mmapio_ring_open(&opts, &ring);
	if (r < 0)
		return r;
	r = mmapio__plat_tls_key_set(&thread_ring_key, ring);
	if (r < 0) {
		mmapio_ring_close(ring);
		return r;
	}
	mmapio_ring_backend(ring, &why);
	snprintf(thread_reason, sizeof(thread_reason), "%s", why);
	thread_ring = ring;
	*out = ring;
	return 0;
}

/*
 * The one place that decides whether a synchronous copy goes through the
 * calling thread's default ring (io_uring where it works) rather than
 * straight to the platform on the calling thread.  Deletes and flushes
 * always go straight.  Both routes give the same results: the ring's copy
 * and the platform's share their opening half (mmapio__plat_copy_open).
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
 */
static bool copy_uses_ring(const char *src)
{
	struct mmapio__file_info fi;

	return mmapio__plat_path_info(src, &fi) == 0 && fi.type == MMAPIO__FILE_REGULAR &&
	       fi.size >= SYNC_COPY_RING_MIN;
}

/*
 * Runs a copy through the default ring.  Returns the copy's result.  A copy
 * that never ran on the ring runs direct instead, so that a ring that
 * cannot be had, refuses the copy or breaks before starting it (its close
 * hands the copy back cancelled) never makes a copy fail.
 */
static int copy_on_ring(const char *src, const char *dst, unsigned flags)
{
	enum mmapio__run_end end;
	mmapio_ring *ring = NULL;
	struct mmapio__op *op;
	int r;

	if (default_ring(&ring) < 0)
		return mmapio__plat_copy_file(src, dst, flags);
	/* The call waits for the copy, so relative paths mean what they say. */
	r = mmapio__copy_op(src, dst, flags, false, &op);
	if (r < 0)
		return r;
	r = mmapio__ring_run(ring, op, &end);
	if (end == MMAPIO__RUN_CLOSED || end == MMAPIO__RUN_BROKEN)
		thread_ring_forget(end == MMAPIO__RUN_CLOSED);
	if (end == MMAPIO__RUN_REFUSED || (end == MMAPIO__RUN_CLOSED && r == -ECANCELED))
		return mmapio__plat_copy_file(src, dst, flags);
	return r;
}

MMAPIO_EXPORT int mmapio_default_backend(const char **reason)
{
	mmapio_ring *ring = NULL;
	int r;

	r = default_ring(&ring);
	if (r < 0)
		return r;
	if (reason != NULL)
		*reason = thread_reason;
	return (int)mmapio_ring_backend(ring, NULL);
}

MMAPIO_EXPORT int mmapio_copy(const char *src, const char *dst, unsigned flags)
{
	if (src == NULL || dst == NULL || (flags & ~(MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE)))
		return -EINVAL;
	if (copy_uses_ring(src))
		return copy_on_ring(src, dst, flags);
	return mmapio__plat_copy_file(src, dst, flags);
}

MMAPIO_EXPORT int mmapio_delete(const char *path)
{
	if (path == NULL)
		return -EINVAL;
	return mmapio__plat_unlink(path);
}

/*
 * Makes [off, off + len) of a read-write map durable under a read hold of
 * the map, so that a resize on another thread waits for the sync instead of
 * failing or cutting the pages under it.  len 0 flushes to the end of the
 * map (whole = true) or nothing.  Returns 0, -ERANGE, the sticky write-back
 * error, -ENOMEM from the map lock, or -errno from the platform.
 */
static int flush_locked(mmapio_map *map, uint64_t off, uint64_t len, bool whole)
{
	struct mmapio__hold hold;
	uint64_t start;
	size_t n;
	int r;

	r = mmapio__map_enter(map, &hold);
	if (r < 0)
		return r;
	if (whole) {
		off = 0;
		len = map->len;
	} else {
		r = mmapio__check_range(map->len, off, len);
	}
	if (r == 0 && len > 0) {
		mmapio__page_span(map, off, len, &start, &n);
		r = mmapio__plat_sync_range(map->m.fd, map->m.base + start, n);
	}
	if (r != -ERANGE)
		r = mmapio__flush_record(map, r);
	mmapio__map_leave(map, &hold);
	return r;
}

MMAPIO_EXPORT int mmapio_flush_range(mmapio_map *map, uint64_t off, uint64_t len)
{
	if (map == NULL)
		return -EINVAL;
	if (map->mode != MMAPIO_READ_WRITE)
		return mmapio__check_range(mmapio_len(map), off, len);
	return flush_locked(map, off, len, false);
}

MMAPIO_EXPORT int mmapio_flush(mmapio_map *map)
{
	if (map == NULL)
		return -EINVAL;
	if (map->mode != MMAPIO_READ_WRITE)
		return 0;
	return flush_locked(map, 0, 0, true);
}

MMAPIO_EXPORT int mmapio_rename(const char *from, const char *to, unsigned flags)
{
	const unsigned known = MMAPIO_RENAME_NOREPLACE | MMAPIO_RENAME_EXCHANGE |
			       MMAPIO_RENAME_DURABLE;
	int r;

	if (from == NULL || to == NULL || (flags & ~known) ||
	    ((flags & MMAPIO_RENAME_NOREPLACE) && (flags & MMAPIO_RENAME_EXCHANGE)))
		return -EINVAL;
	r = mmapio__plat_rename(from, to, flags);
	if (r < 0 || !(flags & MMAPIO_RENAME_DURABLE))
		return r;
	r = mmapio__plat_sync_parent(to);
	if (r == 0 && !mmapio__same_dir(from, to))
		r = mmapio__plat_sync_parent(from);
	return r;
}

MMAPIO_EXPORT int mmapio_flush_start(mmapio_map *map, uint64_t off, uint64_t len)
{
	struct mmapio__hold hold;
	uint64_t start;
	size_t n;
	int r;

	if (map == NULL)
		return -EINVAL;
	if (map->mode != MMAPIO_READ_WRITE)
		return 0;
	r = mmapio__map_enter(map, &hold);
	if (r < 0)
		return r;
	if (len == 0 && off <= map->len)
		len = map->len - off;
	else
		r = mmapio__check_range(map->len, off, len);
	if (r == 0 && len > 0) {
		mmapio__page_span(map, off, len, &start, &n);
		r = mmapio__plat_writeback_start(map->m.fd, map->m.base + start, n, start);
	}
	mmapio__map_leave(map, &hold);
	return r;
}
