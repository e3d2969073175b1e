/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform on Windows: clock, page size, errno texts, aligned memory,
 * waiting on a word, thread-exit destructors, and the event of mmapio_ring_fd.
 *
 * Waiting on a word is a table of SRWLOCK + condition variable buckets
 * hashed by address (see there); the core builds its map lock on it.
 *
 * Thread-exit destructors are fiber-local storage callbacks (FlsAlloc),
 * which Windows runs when a thread exits, as pthread key destructors.
 *
 * The event is an anonymous pipe wrapped in C runtime descriptors: "readable"
 * means that PeekNamedPipe reports a byte waiting, and a blocking _read()
 * on mmapio_ring_fd() returns once a completion is ready.  Windows has no
 * poll() for pipes (WSAPoll takes sockets only), so an event loop waits for
 * it with a thread blocked in _read() or polls it with PeekNamedPipe on
 * _get_osfhandle(fd).  signal() writes only when the pipe is empty, so the
 * pipe never fills and a write never blocks.
 */
#include <errno.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "win32_sys.h"

/* ------------------------------------------------------------------------ */
/* Time, pages                                                              */
/* ------------------------------------------------------------------------ */

MMAPIO_INTERNAL int64_t mmapio__plat_now_ms(void)
{
	return (int64_t)GetTickCount64();
}

static size_t page_size_cache;

MMAPIO_INTERNAL size_t mmapio__plat_page_size(void)
{
	size_t page = __atomic_load_n(&page_size_cache, __ATOMIC_RELAXED);
	SYSTEM_INFO si;

	if (page)
		return page;
	GetSystemInfo(&si);
	page = si.dwPageSize ? si.dwPageSize : 4096;
	/* Every thread computes the same value, so a racing store is harmless. */
	__atomic_store_n(&page_size_cache, page, __ATOMIC_RELAXED);
	return page;
}

/*
 * The C runtime's table describes the classic errno values (below
 * _sys_nerr) with static strings; the POSIX values that mingw-w64 adds
 * above 100 it calls "Unknown error", so the ones the library returns are
 * described here.
 */
static const struct {
	int err;
	const char *text;
} extra_texts[] = {
	{ ENOTSUP, "Operation not supported" },
	{ EOPNOTSUPP, "Operation not supported on socket" },
	{ ECANCELED, "Operation canceled" },
	{ ETIME, "Timer expired" },
	{ ETIMEDOUT, "Connection timed out" },
	{ EOVERFLOW, "Value too large for defined data type" },
	{ ELOOP, "Too many levels of symbolic links" },
	{ EALREADY, "Operation already in progress" },
	{ ETXTBSY, "Text file busy" },
	{ ENODATA, "No data available" },
};

MMAPIO_INTERNAL const char *mmapio__plat_errno_text(int errnum)
{
	size_t i;

	for (i = 0; i < sizeof(extra_texts) / sizeof(extra_texts[0]); i++)
		if (extra_texts[i].err == errnum)
			return extra_texts[i].text;
	if (errnum > 0 && errnum < _sys_nerr && _sys_errlist[errnum] != NULL &&
	    strcmp(_sys_errlist[errnum], "Unknown error") != 0)
		return _sys_errlist[errnum];
	return NULL;
}

MMAPIO_INTERNAL void *mmapio__plat_aligned_alloc(size_t align, size_t size)
{
	return _aligned_malloc(size ? size : 1, align);
}

MMAPIO_INTERNAL void mmapio__plat_aligned_free(void *p)
{
	_aligned_free(p);
}

MMAPIO_INTERNAL void mmapio__plat_yield(void)
{
	SwitchToThread();
}

/* ------------------------------------------------------------------------ */
/* Waiting on a word                                                        */
/* ------------------------------------------------------------------------ */

/*
 * A table of buckets, each an SRWLOCK and a condition variable, chosen by
 * the word's address (as fallback/posix_wait.c does with pthreads).  A
 * waiter checks the word under its bucket's lock and sleeps on the
 * condition variable; a waker, having changed the word, broadcasts under
 * the same lock, so no wake-up is lost.  Words sharing a bucket wake each
 * other's waiters spuriously, which the contract allows.  Both primitives
 * initialise statically and own no resources, and Windows has no fork.
 * (WaitOnAddress would do too, but needs synchronization.lib and
 * Windows 8; this needs nothing beyond Vista.)
 */
#define WAIT_BUCKETS 64u

static struct wait_bucket {
	SRWLOCK mu;
	CONDITION_VARIABLE cv;
} wait_buckets[WAIT_BUCKETS] = {
#define WB { SRWLOCK_INIT, CONDITION_VARIABLE_INIT }
#define WB8 WB, WB, WB, WB, WB, WB, WB, WB
	WB8, WB8, WB8, WB8, WB8, WB8, WB8, WB8,
#undef WB8
#undef WB
};

/* Returns the bucket of addr (Fibonacci hashing of the word's address). */
static struct wait_bucket *bucket_of(const uint32_t *addr)
{
	uint64_t h = ((uint64_t)(uintptr_t)addr >> 2) * 0x9e3779b97f4a7c15ull;

	return &wait_buckets[h >> 58]; /* the top 6 bits: WAIT_BUCKETS is 64 */
}

MMAPIO_INTERNAL void mmapio__plat_wait(const uint32_t *addr, uint32_t expected)
{
	struct wait_bucket *b = bucket_of(addr);

	AcquireSRWLockExclusive(&b->mu);
	if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) == expected)
		SleepConditionVariableSRW(&b->cv, &b->mu, INFINITE, 0);
	ReleaseSRWLockExclusive(&b->mu);
}

MMAPIO_INTERNAL void mmapio__plat_wake_all(const uint32_t *addr)
{
	struct wait_bucket *b = bucket_of(addr);

	AcquireSRWLockExclusive(&b->mu);
	WakeAllConditionVariable(&b->cv);
	ReleaseSRWLockExclusive(&b->mu);
}

/* ------------------------------------------------------------------------ */
/* Thread-specific values with destructors                                  */
/* ------------------------------------------------------------------------ */

/*
 * An FLS callback receives the value only, not the key, so each key slot
 * gets its own callback that knows its destructor.  The core creates one
 * key; four leave room.
 */
#define TLS_SLOTS 4
static void (*tls_destructor[TLS_SLOTS])(void *);
static LONG tls_used;

#define FLS_CALLBACK(i)                                   \
	static void WINAPI fls_callback_##i(void *value)   \
	{                                                  \
		if (value != NULL && tls_destructor[i])    \
			tls_destructor[i](value);          \
	}
FLS_CALLBACK(0)
FLS_CALLBACK(1)
FLS_CALLBACK(2)
FLS_CALLBACK(3)

static PFLS_CALLBACK_FUNCTION const fls_callbacks[TLS_SLOTS] = {
	fls_callback_0, fls_callback_1, fls_callback_2, fls_callback_3,
};

MMAPIO_INTERNAL int mmapio__plat_tls_key_create(struct mmapio__tls_key *key,
						void (*destructor)(void *))
{
	LONG slot = InterlockedIncrement(&tls_used) - 1;
	DWORD index;

	if (slot >= TLS_SLOTS) {
		InterlockedDecrement(&tls_used);
		return -EAGAIN;
	}
	tls_destructor[slot] = destructor;
	index = FlsAlloc(fls_callbacks[slot]);
	if (index == FLS_OUT_OF_INDEXES)
		return -EAGAIN; /* the slot stays used: its callback is harmless */
	key->opaque = (uintptr_t)index;
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_tls_key_set(struct mmapio__tls_key *key, void *value)
{
	return FlsSetValue((DWORD)key->opaque, value) ? 0 : mmapio__w32_last_error();
}

MMAPIO_INTERNAL int mmapio__plat_atfork_child(void (*fn)(void))
{
	(void)fn; /* Windows has no fork */
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_atfork(void (*prepare)(void), void (*parent)(void),
					void (*child)(void))
{
	(void)prepare; /* Windows has no fork */
	(void)parent;
	(void)child;
	return 0;
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
	HANDLE r, w;
	int rfd, wfd;

	/* Handles from CreatePipe with no attributes are not inherited. */
	if (!CreatePipe(&r, &w, NULL, 4096))
		return mmapio__w32_last_error();
	rfd = mmapio__w32_fd_of(r, 1);
	if (rfd < 0) {
		CloseHandle(w);
		return rfd;
	}
	wfd = mmapio__w32_fd_of(w, 0);
	if (wfd < 0) {
		_close(rfd);
		return wfd;
	}
	ev->fd = rfd;
	ev->wfd = wfd;
	return 0;
}

/* Bytes waiting in the event's pipe (0 when it cannot tell). */
static DWORD event_pending(const struct mmapio__event *ev)
{
	HANDLE h = mmapio__w32_handle(ev->fd);
	DWORD avail = 0;

	if (h == NULL || !PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL))
		return 0;
	return avail;
}

/*
 * Writes a byte only into an empty pipe: a pipe with a byte is readable
 * already, and a pipe that never holds more than a few bytes never blocks
 * a writer.
 */
MMAPIO_INTERNAL void mmapio__plat_event_signal(const struct mmapio__event *ev)
{
	HANDLE h = mmapio__w32_handle(ev->wfd);
	const char one = 1;
	DWORD put;

	if (h != NULL && event_pending(ev) == 0)
		WriteFile(h, &one, 1, &put, NULL);
}

/* Reads what is waiting, never more, so that the read cannot block. */
MMAPIO_INTERNAL void mmapio__plat_event_drain(const struct mmapio__event *ev)
{
	HANDLE h = mmapio__w32_handle(ev->fd);
	char buf[64];
	DWORD n, got;

	while (h != NULL && (n = event_pending(ev)) > 0) {
		if (!ReadFile(h, buf, n < sizeof(buf) ? n : (DWORD)sizeof(buf), &got, NULL) ||
		    got == 0)
			break;
	}
}

MMAPIO_INTERNAL void mmapio__plat_event_close(struct mmapio__event *ev)
{
	if (ev->wfd >= 0 && ev->wfd != ev->fd)
		_close(ev->wfd);
	if (ev->fd >= 0)
		_close(ev->fd);
	ev->fd = ev->wfd = -1;
}
