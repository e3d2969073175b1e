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
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ring.h"

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

/* Creates the key whose destructor closes default rings. */
static void thread_ring_key_init(void)
{
	thread_ring_key_error = -pthread_key_create(&thread_ring_key, thread_ring_destroy);
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

/*
 * The one place that decides how a single synchronous operation runs:
 * true sends it straight to the blocking system calls on the calling
 * thread, false through the default ring (io_uring where it works).  Issue
 * 3 asks for the direct path wherever the ring round trip is measurably
 * slower for one operation; until the benchmarks have spoken, every kind
 * goes through the ring.
 */
static bool sync_runs_direct(enum mmapio_op kind)
{
	switch (kind) {
	case MMAPIO_OP_CREATE:
	case MMAPIO_OP_COPY:
	case MMAPIO_OP_DELETE:
	case MMAPIO_OP_FLUSH:
		return false;
	}
	return false;
}

MMAPIO_INTERNAL int mmapio__run_sync(struct mmapio__op *op)
{
	mmapio_ring *ring = NULL;
	int r;

	if (mmapio__op_is_local(op)) {
		r = op->result;
		mmapio__op_free(op);
		return r;
	}
	if (sync_runs_direct(op->kind)) {
		op->result = mmapio__blocking_run(op);
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
	return mmapio__ring_run(ring, op);
}

MMAPIO_EXPORT int mmapio_default_backend(const char **reason)
{
	mmapio_ring *ring = NULL;
	int r = default_ring(&ring);

	if (r < 0)
		return r;
	return (int)mmapio_ring_backend(ring, reason);
}

MMAPIO_EXPORT int mmapio_copy(const char *src, const char *dst, unsigned flags)
{
	struct mmapio__op *op;

	if (src == NULL || dst == NULL ||
	    (flags & ~(MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE)) != 0)
		return -EINVAL;
	op = mmapio__op_new(MMAPIO_OP_COPY);
	if (op == NULL)
		return -ENOMEM;
	/* The call waits for the copy, so relative paths mean what they say. */
	op->u.copy.src = strdup(src);
	op->u.copy.dst = strdup(dst);
	if (op->u.copy.src == NULL || op->u.copy.dst == NULL) {
		mmapio__op_free(op);
		return -ENOMEM;
	}
	op->u.copy.flags = flags;
	return mmapio__run_sync(op);
}

MMAPIO_EXPORT int mmapio_delete(const char *path)
{
	struct mmapio__op *op;

	if (path == NULL)
		return -EINVAL;
	op = mmapio__op_new(MMAPIO_OP_DELETE);
	if (op == NULL)
		return -ENOMEM;
	op->u.del.path = strdup(path);
	if (op->u.del.path == NULL) {
		mmapio__op_free(op);
		return -ENOMEM;
	}
	return mmapio__run_sync(op);
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
