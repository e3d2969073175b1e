/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The public ring: operations are prepared into a list, handed to the
 * ring's backend in one submit, and come back through the backend's done()
 * callback into a FIFO of completions, from which peek and wait copy them
 * out.  The backend (io_uring or blocking) is chosen once per ring.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "ring.h"
#include "sys.h"

#define DEFAULT_QUEUE_DEPTH 64u

/* A singly linked list of operations, appended at the tail. */
struct op_list {
	struct mmapio__op *head;
	struct mmapio__op *tail;
	unsigned n;
};

struct mmapio_ring {
	const struct mmapio__backend *backend;
	void *engine;
	struct op_list prepared;  /* prepared, not yet submitted */
	struct op_list ready;     /* completed, not yet copied out */
	unsigned inflight;        /* submitted, not yet copied out */
	int efd;                  /* eventfd of mmapio_ring_fd, or -1 */
	uint64_t n_prepared;
	uint64_t n_completed;
	char reason[192];         /* for mmapio_ring_backend */
};

/* ------------------------------------------------------------------------ */
/* Operations                                                               */
/* ------------------------------------------------------------------------ */

MMAPIO_INTERNAL struct mmapio__op *mmapio__op_new(enum mmapio_op kind)
{
	struct mmapio__op *op = calloc(1, sizeof(*op));

	if (op != NULL)
		op->kind = kind;
	return op;
}

MMAPIO_INTERNAL void mmapio__op_free(struct mmapio__op *op)
{
	if (op == NULL)
		return;
	switch (op->kind) {
	case MMAPIO_OP_CREATE:
		free(op->u.create.path);
		break;
	case MMAPIO_OP_COPY:
		free(op->u.copy.src);
		free(op->u.copy.dst);
		break;
	case MMAPIO_OP_DELETE:
		free(op->u.del.path);
		break;
	case MMAPIO_OP_FLUSH:
		break;
	}
	free(op);
}

MMAPIO_INTERNAL bool mmapio__op_is_local(const struct mmapio__op *op)
{
	/* The backend contract promises backends a flush length > 0. */
	return op->kind == MMAPIO_OP_FLUSH && op->u.flush.len == 0;
}

MMAPIO_INTERNAL int mmapio__op_finish(struct mmapio__op *op)
{
	if (op->kind == MMAPIO_OP_FLUSH && op->map != NULL) {
		op->result = mmapio__flush_finish(op->map, op->result);
		op->map = NULL;
	}
	return op->result;
}

/*
 * Frees an operation that never ran, releasing its map without recording
 * anything in it: there is no write-back error to remember.
 */
static void op_discard(struct mmapio__op *op)
{
	if (op->kind == MMAPIO_OP_FLUSH && op->map != NULL) {
		mmapio__flush_finish(op->map, 0);
		op->map = NULL;
	}
	mmapio__op_free(op);
}

MMAPIO_INTERNAL int mmapio__flush_op(mmapio_map *map, uint64_t off, uint64_t len,
				     struct mmapio__op **out)
{
	struct mmapio__op *op;
	int r;

	if (map == NULL)
		return -EINVAL;
	r = mmapio__check_range(__atomic_load_n(&map->len, __ATOMIC_ACQUIRE), off, len);
	if (r < 0)
		return r;
	op = mmapio__op_new(MMAPIO_OP_FLUSH);
	if (op == NULL)
		return -ENOMEM;

	/*
	 * Read-only and copy-on-write maps have nothing to make durable, and
	 * an empty range has no pages; such flushes complete in the ring.  An
	 * empty range of a read-write map still reports an earlier write-back
	 * failure, because the data it lost is still not on disk.
	 */
	if (map->mode != MMAPIO_READ_WRITE) {
		op->result = 0;
	} else if (len == 0) {
		op->result = __atomic_load_n(&map->flush_error, __ATOMIC_ACQUIRE);
	} else {
		r = mmapio__flush_prepare(map, off, len, op);
		if (r < 0) {
			mmapio__op_free(op);
			return r;
		}
	}
	*out = op;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Lists and the eventfd                                                    */
/* ------------------------------------------------------------------------ */

/* Appends op to list. */
static void list_push(struct op_list *list, struct mmapio__op *op)
{
	op->next = NULL;
	if (list->tail != NULL)
		list->tail->next = op;
	else
		list->head = op;
	list->tail = op;
	list->n++;
}

/* Removes and returns the first operation of list, or NULL. */
static struct mmapio__op *list_pop(struct op_list *list)
{
	struct mmapio__op *op = list->head;

	if (op == NULL)
		return NULL;
	list->head = op->next;
	if (list->head == NULL)
		list->tail = NULL;
	list->n--;
	op->next = NULL;
	return op;
}

/* The backend's done() callback: queues the completion. */
static void ring_done(void *ctx, struct mmapio__op *op)
{
	struct mmapio_ring *ring = ctx;

	list_push(&ring->ready, op);
}

/*
 * Makes the eventfd readable.  A full counter (EAGAIN) is readable already,
 * so the result does not matter.
 */
static void efd_signal(int efd)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(efd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
}

/* Resets the eventfd's counter (it is non-blocking: EAGAIN when zero). */
static void efd_drain(int efd)
{
	uint64_t count;
	ssize_t n;

	do {
		n = read(efd, &count, sizeof(count));
	} while (n < 0 && errno == EINTR);
}

/* ------------------------------------------------------------------------ */
/* Choosing a backend                                                       */
/* ------------------------------------------------------------------------ */

/*
 * The process-wide outcome of setting io_uring up for AUTO rings, as libuv
 * keeps it: once setup has failed in a way that will not change (seccomp,
 * the io_uring_disabled sysctl, an old kernel, a build without io_uring),
 * later AUTO rings go straight to the blocking backend with the same
 * reason.  -ENOMEM is not remembered: it may be a passing shortage.
 */
enum { URING_UNTRIED, URING_FAILED, URING_READY };
static int uring_state = URING_UNTRIED;
static pthread_mutex_t uring_state_lock = PTHREAD_MUTEX_INITIALIZER;
static char uring_failure[128]; /* written once, before uring_state = FAILED */

/* Records a lasting io_uring setup failure and its reason. */
static void remember_uring_failure(const char *why)
{
	pthread_mutex_lock(&uring_state_lock);
	if (__atomic_load_n(&uring_state, __ATOMIC_ACQUIRE) == URING_UNTRIED) {
		snprintf(uring_failure, sizeof(uring_failure), "%s", why);
		__atomic_store_n(&uring_state, URING_FAILED, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&uring_state_lock);
}

/* Reads MMAPIO_BACKEND; anything but "uring" or "fallback" means AUTO. */
static enum mmapio_backend backend_from_env(void)
{
	const char *env = getenv("MMAPIO_BACKEND");

	if (env == NULL)
		return MMAPIO_BACKEND_AUTO;
	if (strcasecmp(env, "uring") == 0 || strcasecmp(env, "io_uring") == 0)
		return MMAPIO_BACKEND_URING;
	if (strcasecmp(env, "fallback") == 0 || strcasecmp(env, "blocking") == 0)
		return MMAPIO_BACKEND_FALLBACK;
	return MMAPIO_BACKEND_AUTO;
}

/* True for the io_uring setup errors that mean "use the blocking backend". */
static bool uring_unavailable(int err)
{
	return err == -ENOSYS || err == -EPERM || err == -ENOMEM || err == -ENOTSUP;
}

/*
 * Opens the blocking backend for ring, with the given reason.  Returns 0 or
 * -errno.
 */
static int open_blocking(struct mmapio_ring *ring, const struct mmapio__engine_params *params,
			 const char *reason)
{
	char why[128] = "";
	int r = mmapio__backend_blocking.open(params, &ring->engine, why, sizeof(why));

	if (r < 0)
		return r;
	ring->backend = &mmapio__backend_blocking;
	snprintf(ring->reason, sizeof(ring->reason), "blocking: %s", reason);
	return 0;
}

/*
 * Sets up the engine of ring for the requested backend (see
 * mmapio_ring_options.backend).  Returns 0 or -errno.
 */
static int open_backend(struct mmapio_ring *ring, enum mmapio_backend kind,
			const struct mmapio__engine_params *params)
{
	char why[128] = "";
	bool from_env = false;
	int r;

	if (kind == MMAPIO_BACKEND_AUTO) {
		kind = backend_from_env();
		from_env = kind != MMAPIO_BACKEND_AUTO;
	}
	if (kind == MMAPIO_BACKEND_FALLBACK)
		return open_blocking(ring, params,
				     from_env ? "requested (MMAPIO_BACKEND=fallback)" : "requested");

	if (kind == MMAPIO_BACKEND_AUTO &&
	    __atomic_load_n(&uring_state, __ATOMIC_ACQUIRE) == URING_FAILED)
		return open_blocking(ring, params, uring_failure);

	r = mmapio__backend_uring.open(params, &ring->engine, why, sizeof(why));
	if (r == 0) {
		__atomic_store_n(&uring_state, URING_READY, __ATOMIC_RELEASE);
		ring->backend = &mmapio__backend_uring;
		snprintf(ring->reason, sizeof(ring->reason), "%s", mmapio__backend_uring.name);
		return 0;
	}
	if (why[0] == '\0')
		snprintf(why, sizeof(why), "io_uring: %s", mmapio_strerror(r));
	if (kind == MMAPIO_BACKEND_URING || !uring_unavailable(r))
		return r;
	if (r != -ENOMEM)
		remember_uring_failure(why);
	return open_blocking(ring, params, why);
}

/* Returns 0 when the ring options are valid, else -EINVAL. */
static int check_ring_options(const struct mmapio_ring_options *opts)
{
	size_t i;

	if (opts == NULL)
		return 0;
	if (opts->flags != 0 || opts->reserved0 != 0)
		return -EINVAL;
	if (opts->backend != MMAPIO_BACKEND_AUTO && opts->backend != MMAPIO_BACKEND_URING &&
	    opts->backend != MMAPIO_BACKEND_FALLBACK)
		return -EINVAL;
	for (i = 0; i < sizeof(opts->reserved) / sizeof(opts->reserved[0]); i++) {
		if (opts->reserved[i] != 0)
			return -EINVAL;
	}
	return 0;
}

MMAPIO_EXPORT int mmapio_ring_open(const struct mmapio_ring_options *opts, mmapio_ring **out)
{
	struct mmapio__engine_params params;
	struct mmapio_ring *ring;
	int r;

	if (out == NULL)
		return -EINVAL;
	r = check_ring_options(opts);
	if (r < 0)
		return r;
	ring = calloc(1, sizeof(*ring));
	if (ring == NULL)
		return -ENOMEM;
	ring->efd = -1;

	params.queue_depth = opts != NULL && opts->queue_depth != 0 ? opts->queue_depth
								     : DEFAULT_QUEUE_DEPTH;
	params.done = ring_done;
	params.ctx = ring;
	r = open_backend(ring, opts != NULL ? opts->backend : MMAPIO_BACKEND_AUTO, &params);
	if (r < 0) {
		free(ring);
		return r;
	}
	*out = ring;
	return 0;
}

MMAPIO_EXPORT int mmapio_ring_close(mmapio_ring *ring)
{
	struct mmapio__op *op;
	int r;

	if (ring == NULL)
		return 0;
	/*
	 * The backend hands everything it still owns back into ring->ready,
	 * or refuses (-EEXIST) on a thread that may not collect it, leaving
	 * the ring whole for its own thread to close.
	 */
	r = ring->backend->close(ring->engine);
	if (r < 0)
		return r;
	while ((op = list_pop(&ring->prepared)) != NULL)
		op_discard(op);
	while ((op = list_pop(&ring->ready)) != NULL) {
		mmapio__op_finish(op);
		mmapio__op_free(op);
	}
	if (ring->efd >= 0)
		mmapio__sys.close(ring->efd);
	free(ring);
	return 0;
}

MMAPIO_EXPORT enum mmapio_backend mmapio_ring_backend(const mmapio_ring *ring,
						      const char **reason)
{
	if (ring == NULL) {
		if (reason != NULL)
			*reason = "no ring";
		return MMAPIO_BACKEND_AUTO;
	}
	if (reason != NULL)
		*reason = ring->reason;
	return ring->backend->kind;
}

/* ------------------------------------------------------------------------ */
/* Preparing                                                                */
/* ------------------------------------------------------------------------ */

/*
 * Copies path to the heap, made absolute against the current directory:
 * the io_uring backend may resolve it later, after the caller has changed
 * directory, and the backend contract promises absolute paths.  Where the
 * directory cannot be read or the result would be too long, the path is
 * kept as given.  Returns the copy (the caller frees it) or NULL on ENOMEM.
 */
static char *path_dup(const char *path)
{
	char cwd[PATH_MAX];
	size_t clen, plen;
	char *abs;

	if (path[0] == '/' || path[0] == '\0' || getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(path);
	clen = strlen(cwd);
	plen = strlen(path);
	if (clen + 1 + plen >= PATH_MAX)
		return strdup(path);
	abs = malloc(clen + 1 + plen + 1);
	if (abs == NULL)
		return NULL;
	memcpy(abs, cwd, clen);
	abs[clen] = '/';
	memcpy(abs + clen + 1, path, plen + 1);
	return abs;
}

/* Appends a prepared operation to ring and counts it. */
static void ring_add(struct mmapio_ring *ring, struct mmapio__op *op, void *user_data)
{
	op->user_data = user_data;
	list_push(&ring->prepared, op);
	ring->n_prepared++;
}

MMAPIO_EXPORT int mmapio_ring_prep_create(mmapio_ring *ring, const char *path, uint64_t size,
					  const struct mmapio_options *opts, void *user_data)
{
	/*
	 * MMAPIO_MAP_POPULATE is accepted and has nothing to do here, so that
	 * one options struct can serve mmapio_create and the ring alike.
	 */
	const unsigned create_flags =
		MMAPIO_CREATE_EXCLUSIVE | MMAPIO_CREATE_SPARSE | MMAPIO_CREATE_DURABLE;
	struct mmapio__op *op;
	int r;

	if (ring == NULL || path == NULL)
		return -EINVAL;
	r = mmapio__check_options(opts, create_flags | MMAPIO_MAP_POPULATE);
	if (r < 0)
		return r;
	op = mmapio__op_new(MMAPIO_OP_CREATE);
	if (op == NULL)
		return -ENOMEM;
	op->u.create.path = path_dup(path);
	if (op->u.create.path == NULL) {
		mmapio__op_free(op);
		return -ENOMEM;
	}
	op->u.create.size = size;
	op->u.create.perm = opts != NULL && opts->perm != 0 ? opts->perm : 0644;
	op->u.create.flags = opts != NULL ? opts->flags & create_flags : 0;
	ring_add(ring, op, user_data);
	return 0;
}

MMAPIO_EXPORT int mmapio_ring_prep_copy(mmapio_ring *ring, const char *src, const char *dst,
					unsigned flags, void *user_data)
{
	struct mmapio__op *op;

	if (ring == NULL || src == NULL || dst == NULL ||
	    (flags & ~(MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE)) != 0)
		return -EINVAL;
	op = mmapio__op_new(MMAPIO_OP_COPY);
	if (op == NULL)
		return -ENOMEM;
	op->u.copy.src = path_dup(src);
	op->u.copy.dst = path_dup(dst);
	if (op->u.copy.src == NULL || op->u.copy.dst == NULL) {
		mmapio__op_free(op);
		return -ENOMEM;
	}
	op->u.copy.flags = flags;
	ring_add(ring, op, user_data);
	return 0;
}

MMAPIO_EXPORT int mmapio_ring_prep_delete(mmapio_ring *ring, const char *path, void *user_data)
{
	struct mmapio__op *op;

	if (ring == NULL || path == NULL)
		return -EINVAL;
	op = mmapio__op_new(MMAPIO_OP_DELETE);
	if (op == NULL)
		return -ENOMEM;
	op->u.del.path = path_dup(path);
	if (op->u.del.path == NULL) {
		mmapio__op_free(op);
		return -ENOMEM;
	}
	ring_add(ring, op, user_data);
	return 0;
}

MMAPIO_EXPORT int mmapio_ring_prep_flush(mmapio_ring *ring, mmapio_map *map, uint64_t off,
					 uint64_t len, void *user_data)
{
	struct mmapio__op *op;
	int r;

	if (ring == NULL || map == NULL)
		return -EINVAL;
	r = mmapio__flush_op(map, off, len, &op);
	if (r < 0)
		return r;
	ring_add(ring, op, user_data);
	return 0;
}

/*
 * The ranges are coalesced into their bounding span, [lowest offset,
 * highest end), and made durable with one data sync.  Each range sync costs
 * the device one cache flush however little it writes, so one covering sync
 * is the fewest there can be; the clean pages between the ranges cost only
 * a page-cache lookup.  Finding the span needs no sorting, so the array is
 * read once and nothing is allocated for it.
 */
MMAPIO_EXPORT int mmapio_ring_prep_flush_ranges(mmapio_ring *ring, mmapio_map *map,
						const struct mmapio_range *ranges, size_t n,
						void *user_data)
{
	uint64_t map_len, lo = UINT64_MAX, hi = 0;
	struct mmapio__op *op;
	size_t i;
	int r;

	if (ring == NULL || map == NULL || ranges == NULL || n == 0)
		return -EINVAL;
	map_len = __atomic_load_n(&map->len, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i++) {
		r = mmapio__check_range(map_len, ranges[i].off, ranges[i].len);
		if (r < 0)
			return r;
		if (ranges[i].len == 0)
			continue;
		if (ranges[i].off < lo)
			lo = ranges[i].off;
		if (ranges[i].off + ranges[i].len > hi)
			hi = ranges[i].off + ranges[i].len;
	}
	/* Only empty ranges: an empty flush at the first one's offset. */
	if (hi == 0)
		r = mmapio__flush_op(map, ranges[0].off, 0, &op);
	else
		r = mmapio__flush_op(map, lo, hi - lo, &op);
	if (r < 0)
		return r;
	ring_add(ring, op, user_data);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Submitting and reaping                                                   */
/* ------------------------------------------------------------------------ */

MMAPIO_EXPORT int mmapio_ring_submit(mmapio_ring *ring)
{
	struct op_list backend = { 0 }, local = { 0 };
	struct mmapio__op *op;
	unsigned n;
	int r;

	if (ring == NULL)
		return -EINVAL;
	n = ring->prepared.n;
	if (n == 0)
		return 0;
	if (n > INT_MAX)
		return -EOVERFLOW;

	/* Flushes with nothing to sync never reach the backend. */
	while ((op = list_pop(&ring->prepared)) != NULL)
		list_push(mmapio__op_is_local(op) ? &local : &backend, op);

	if (backend.head != NULL) {
		r = ring->backend->submit(ring->engine, backend.head);
		if (r < 0) {
			/* Nothing was taken: everything stays prepared. */
			ring->prepared = backend;
			while ((op = list_pop(&local)) != NULL)
				list_push(&ring->prepared, op);
			return r;
		}
	}
	ring->inflight += n;
	if (local.head != NULL) {
		while ((op = list_pop(&local)) != NULL)
			list_push(&ring->ready, op);
		if (ring->efd >= 0)
			efd_signal(ring->efd);
	}
	return (int)n;
}

/*
 * Moves up to max queued completions into out, finishing and freeing their
 * operations.  Returns the number moved.
 */
static unsigned take_completions(struct mmapio_ring *ring, struct mmapio_completion *out,
				 unsigned max)
{
	unsigned i;

	for (i = 0; i < max && ring->ready.head != NULL; i++) {
		struct mmapio__op *op = list_pop(&ring->ready);

		out[i].op = op->kind;
		out[i].result = mmapio__op_finish(op);
		out[i].user_data = op->user_data;
		out[i].reserved = 0;
		mmapio__op_free(op);
	}
	ring->inflight -= i;
	ring->n_completed += i;
	return i;
}

/*
 * Copies completions out and leaves the eventfd readable exactly while some
 * remain queued.  The caller drained the eventfd before it last asked the
 * backend for completions, so no signal for a later completion was lost.
 * Returns the number copied.
 */
static int finish_reaping(struct mmapio_ring *ring, struct mmapio_completion *out, unsigned max)
{
	unsigned n = take_completions(ring, out, max);

	if (ring->efd >= 0 && ring->ready.head != NULL)
		efd_signal(ring->efd);
	return (int)(n > INT_MAX ? INT_MAX : n);
}

MMAPIO_EXPORT int mmapio_ring_peek(mmapio_ring *ring, struct mmapio_completion *out,
				   unsigned max)
{
	int r = 0;

	if (ring == NULL || (out == NULL && max > 0) || max > INT_MAX)
		return -EINVAL;
	if (ring->efd >= 0)
		efd_drain(ring->efd);
	if (ring->backend->owned(ring->engine) > 0)
		r = ring->backend->reap(ring->engine, 0, 0);
	/*
	 * A ring-level failure is reported when there is nothing else to
	 * report, so that an event loop learns of it instead of polling a
	 * ring that can no longer make progress.
	 */
	if (r < 0 && r != -EINTR && ring->ready.head == NULL)
		return r;
	return finish_reaping(ring, out, max);
}

/* Milliseconds on the monotonic clock. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

MMAPIO_EXPORT int mmapio_ring_wait(mmapio_ring *ring, struct mmapio_completion *out,
				   unsigned max, unsigned min, int timeout_ms)
{
	int64_t deadline = 0;
	int left = timeout_ms;

	if (ring == NULL || (out == NULL && max > 0) || min > max || max > INT_MAX ||
	    timeout_ms < -1)
		return -EINVAL;
	/* Waiting for more than is outstanding would never end. */
	if (min > ring->inflight)
		min = ring->inflight;
	if (timeout_ms > 0)
		deadline = now_ms() + timeout_ms;
	if (ring->efd >= 0)
		efd_drain(ring->efd);

	for (;;) {
		unsigned need = ring->ready.n < min ? min - ring->ready.n : 0;
		int r;

		if (ring->backend->owned(ring->engine) == 0)
			break;
		r = ring->backend->reap(ring->engine, need, left);
		if (r < 0 && r != -ETIME) {
			if (ring->ready.head == NULL)
				return r;
			break;
		}
		if (ring->ready.n >= min || timeout_ms == 0 || r == -ETIME)
			break;
		if (timeout_ms > 0) {
			int64_t rest = deadline - now_ms();

			if (rest <= 0)
				break;
			left = (int)rest;
		}
	}
	return finish_reaping(ring, out, max);
}

MMAPIO_EXPORT int mmapio_ring_fd(mmapio_ring *ring)
{
	int efd, r;

	if (ring == NULL)
		return -EINVAL;
	if (ring->efd >= 0)
		return ring->efd;
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (efd < 0)
		return -errno;
	r = ring->backend->set_eventfd(ring->engine, efd);
	if (r < 0) {
		mmapio__sys.close(efd);
		return r;
	}
	ring->efd = efd;
	/*
	 * Completions that are queued already must show too.  So must
	 * operations in flight: their kernel work may have been left pending
	 * before the eventfd was registered (io_uring signals it only when new
	 * work arrives), and one spurious wake-up costs the caller a peek,
	 * where a missed one would stall its event loop.
	 */
	if (ring->ready.head != NULL || ring->backend->owned(ring->engine) > 0)
		efd_signal(efd);
	return efd;
}

MMAPIO_EXPORT unsigned mmapio_ring_inflight(const mmapio_ring *ring)
{
	return ring != NULL ? ring->inflight : 0;
}

MMAPIO_EXPORT int mmapio_ring_stats(const mmapio_ring *ring, struct mmapio_ring_stats *out)
{
	struct mmapio__engine_stats es;

	if (ring == NULL || out == NULL)
		return -EINVAL;
	memset(&es, 0, sizeof(es));
	ring->backend->stats(ring->engine, &es);
	memset(out, 0, sizeof(*out));
	out->prepared = ring->n_prepared;
	out->completed = ring->n_completed;
	out->uring_sqes = es.uring_sqes;
	out->uring_enters = es.uring_enters;
	out->blocking_ops = es.blocking_ops;
	return 0;
}

/*
 * Waits until the backend hands op back, finishes and frees it.  The wait
 * goes on through signals: a synchronous call has no way to report -EINTR
 * and still own what it started.  A ring-level failure ends the wait
 * instead of spinning on it; op then stays the backend's, and comes back
 * (to be discarded here or by mmapio_ring_close) if the ring ever makes
 * progress again.  Completions of operations abandoned that way are
 * discarded as they arrive, so they are never taken for op's.  Returns
 * op's result, or the backend's -errno with *broken set to true.
 */
static int run_wait(struct mmapio_ring *ring, struct mmapio__op *op, bool *broken)
{
	struct mmapio__op *got;
	int r;

	for (;;) {
		while ((got = list_pop(&ring->ready)) != NULL) {
			bool mine = got == op;

			ring->inflight--;
			ring->n_completed++;
			r = mmapio__op_finish(got);
			mmapio__op_free(got);
			if (mine)
				return r;
		}
		if (ring->backend->owned(ring->engine) == 0) {
			*broken = true;
			return -EIO; /* a backend that lost the operation */
		}
		r = ring->backend->reap(ring->engine, 1, -1);
		if (r < 0 && r != -EINTR && ring->ready.head == NULL) {
			*broken = true;
			return r;
		}
	}
}

MMAPIO_INTERNAL int mmapio__ring_run(mmapio_ring *ring, struct mmapio__op *op, bool *broken)
{
	int r;

	*broken = false;
	ring->n_prepared++;
	if (mmapio__op_is_local(op)) {
		r = op->result;
		mmapio__op_free(op);
		ring->n_completed++;
		return r;
	}
	op->next = NULL;
	r = ring->backend->submit(ring->engine, op);
	if (r < 0) {
		op_discard(op);
		return r;
	}
	ring->inflight++;
	return run_wait(ring, op, broken);
}
