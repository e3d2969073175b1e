/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform on POSIX hosts: clock, page size, threads, the event
 * descriptor and the plain file services of src/platform.h (waiting on a
 * word is in fallback/posix_wait.c).  Every system
 * call that can fail in a way a caller must handle goes through the
 * mmapio__sys table (fallback/sys.h) so that tests can inject failures;
 * what Linux adds (eventfd, fallocate, O_PATH) is chosen here at build time.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "platform.h"
#include "posix_features.h"
#include "sys.h"
#if MMAPIO_LINUX
#include <sys/eventfd.h>
#endif

_Static_assert(sizeof(pthread_key_t) <= sizeof(uintptr_t),
	       "pthread_key_t does not fit struct mmapio__tls_key");

/* ------------------------------------------------------------------------ */
/* Time, pages, threads                                                     */
/* ------------------------------------------------------------------------ */

/* Returns milliseconds on CLOCK_MONOTONIC. */
MMAPIO_INTERNAL int64_t mmapio__plat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t page_size_cache;

/* Returns the page size, cached after the first call. */
MMAPIO_INTERNAL size_t mmapio__plat_page_size(void)
{
	size_t page = __atomic_load_n(&page_size_cache, __ATOMIC_RELAXED);
	long v;

	if (page)
		return page;
	v = sysconf(_SC_PAGESIZE);
	page = v > 0 ? (size_t)v : 4096;
	/* Every thread computes the same value, so a racing store is harmless. */
	__atomic_store_n(&page_size_cache, page, __ATOMIC_RELAXED);
	return page;
}

/*
 * C11 aligned_alloc wants a size that is a multiple of the alignment, so
 * the size is rounded up to one.
 */
MMAPIO_INTERNAL void *mmapio__plat_aligned_alloc(size_t align, size_t size)
{
	size_t rounded = (size + align - 1) & ~(align - 1);

	if (rounded < size)
		return NULL;
	return aligned_alloc(align, rounded ? rounded : align);
}

MMAPIO_INTERNAL void mmapio__plat_aligned_free(void *p)
{
	free(p);
}

/*
 * glibc 2.32 and later describe an errno value with strerrordesc_np(), which
 * returns a static string (or NULL for an unknown value) and never touches
 * a shared buffer; strerror() may.  Elsewhere only the library's own texts
 * are given.
 */
MMAPIO_INTERNAL const char *mmapio__plat_errno_text(int errnum)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
	return strerrordesc_np(errnum);
#else
	(void)errnum;
	return NULL;
#endif
}

MMAPIO_INTERNAL void mmapio__plat_yield(void)
{
	sched_yield();
}

MMAPIO_INTERNAL int mmapio__plat_tls_key_create(struct mmapio__tls_key *key,
						void (*destructor)(void *))
{
	pthread_key_t k;
	int r = mmapio__sys.tls_key_create(&k, destructor);

	if (r < 0)
		return r;
	key->opaque = (uintptr_t)k;
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_tls_key_set(struct mmapio__tls_key *key, void *value)
{
	return -pthread_setspecific((pthread_key_t)key->opaque, value);
}

MMAPIO_INTERNAL int mmapio__plat_atfork_child(void (*fn)(void))
{
	return -pthread_atfork(NULL, NULL, fn);
}

MMAPIO_INTERNAL int mmapio__plat_atfork(void (*prepare)(void), void (*parent)(void),
					void (*child)(void))
{
	return -pthread_atfork(prepare, parent, child);
}

MMAPIO_INTERNAL const char *mmapio__plat_getenv(const char *name)
{
	return getenv(name);
}

/* ------------------------------------------------------------------------ */
/* Events                                                                   */
/* ------------------------------------------------------------------------ */

MMAPIO_INTERNAL int mmapio__plat_event_open(struct mmapio__event *ev)
{
#if MMAPIO_LINUX
	int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

	if (fd < 0)
		return -errno;
	ev->fd = ev->wfd = fd;
	return 0;
#else
	int p[2], i;

	if (pipe(p) < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		if (fcntl(p[i], F_SETFD, FD_CLOEXEC) < 0 ||
		    fcntl(p[i], F_SETFL, fcntl(p[i], F_GETFL) | O_NONBLOCK) < 0) {
			int e = -errno;

			close(p[0]);
			close(p[1]);
			return e;
		}
	}
	ev->fd = p[0];
	ev->wfd = p[1];
	return 0;
#endif
}

/*
 * A full counter or pipe (EAGAIN) is readable already, which is all a
 * waiter needs, so the result does not matter.
 */
MMAPIO_INTERNAL void mmapio__plat_event_signal(const struct mmapio__event *ev)
{
	uint64_t one = 1;
	ssize_t n;

	do
		n = write(ev->wfd, &one, ev->fd == ev->wfd ? sizeof(one) : 1);
	while (n < 0 && errno == EINTR);
}

MMAPIO_INTERNAL void mmapio__plat_event_drain(const struct mmapio__event *ev)
{
	unsigned char buf[64];
	ssize_t n;

	/* An eventfd resets with one read; a pipe is read until it is empty. */
	do
		n = read(ev->fd, buf, ev->fd == ev->wfd ? sizeof(uint64_t) : sizeof(buf));
	while ((n < 0 && errno == EINTR) || (n > 0 && ev->fd != ev->wfd));
}

MMAPIO_INTERNAL void mmapio__plat_event_close(struct mmapio__event *ev)
{
	if (ev->wfd >= 0 && ev->wfd != ev->fd)
		mmapio__sys.close(ev->wfd);
	if (ev->fd >= 0)
		mmapio__sys.close(ev->fd);
	ev->fd = ev->wfd = -1;
}
