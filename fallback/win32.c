/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform on Windows: clock, page size, errno texts, the reader-writer
 * lock, thread-exit destructors, and the event of mmapio_ring_fd.
 *
 * The lock.  The core relies on two properties of glibc's default rwlock
 * that an SRWLOCK lacks: a thread may take the read lock again while it
 * holds it (reader preference: a queued writer does not hold back a reader
 * that already holds the lock), and a thread that holds the write lock gets
 * EDEADLK from rdlock or wrlock instead of waiting for itself for ever
 * (mmapio__read_lock relies on that).  An SRWLOCK deadlocks in both cases,
 * so the lock here is a reader count and a writer's thread id guarded by an
 * SRWLOCK, with a condition variable for the waiters: glibc's semantics, on
 * Win32 primitives only (no winpthreads).
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

MMAPIO_INTERNAL void mmapio__plat_yield(void)
{
	SwitchToThread();
}

/* ------------------------------------------------------------------------ */
/* The reader-writer lock                                                   */
/* ------------------------------------------------------------------------ */

struct w32_rwlock {
	SRWLOCK guard;            /* protects readers and writer */
	CONDITION_VARIABLE cv;    /* waiters for readers == 0 or writer == 0 */
	LONG readers;             /* read locks held */
	DWORD writer;             /* id of the thread holding the write lock, or 0 */
};

_Static_assert(sizeof(struct w32_rwlock) <= sizeof(struct mmapio__rwlock),
	       "struct mmapio__rwlock too small for the Win32 lock");

static inline struct w32_rwlock *rwl(struct mmapio__rwlock *l)
{
	return (struct w32_rwlock *)(void *)l->opaque;
}

/*
 * True when the calling thread holds the write lock.  Only the holder
 * stores its own id, so an unlocked read can never see the caller's id by
 * mistake.
 */
static inline bool held_by_me(struct w32_rwlock *w)
{
	return __atomic_load_n(&w->writer, __ATOMIC_RELAXED) == GetCurrentThreadId();
}

MMAPIO_INTERNAL int mmapio__plat_rwlock_init(struct mmapio__rwlock *l)
{
	struct w32_rwlock *w = rwl(l);

	InitializeSRWLock(&w->guard);
	InitializeConditionVariable(&w->cv);
	w->readers = 0;
	w->writer = 0;
	return 0;
}

MMAPIO_INTERNAL void mmapio__plat_rwlock_fini(struct mmapio__rwlock *l)
{
	(void)l; /* SRW locks and condition variables own no resources */
}

MMAPIO_INTERNAL int mmapio__plat_rwlock_rdlock(struct mmapio__rwlock *l)
{
	struct w32_rwlock *w = rwl(l);

	if (held_by_me(w))
		return -EDEADLK;
	AcquireSRWLockExclusive(&w->guard);
	while (w->writer != 0)
		SleepConditionVariableSRW(&w->cv, &w->guard, INFINITE, 0);
	w->readers++;
	ReleaseSRWLockExclusive(&w->guard);
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_rwlock_wrlock(struct mmapio__rwlock *l)
{
	struct w32_rwlock *w = rwl(l);

	if (held_by_me(w))
		return -EDEADLK;
	AcquireSRWLockExclusive(&w->guard);
	while (w->writer != 0 || w->readers != 0)
		SleepConditionVariableSRW(&w->cv, &w->guard, INFINITE, 0);
	__atomic_store_n(&w->writer, GetCurrentThreadId(), __ATOMIC_RELAXED);
	ReleaseSRWLockExclusive(&w->guard);
	return 0;
}

/*
 * While a writer holds the lock there are no readers, so an unlock then is
 * the writer's, from whichever thread it comes (a mutable view may be
 * released on another thread).
 */
MMAPIO_INTERNAL void mmapio__plat_rwlock_unlock(struct mmapio__rwlock *l)
{
	struct w32_rwlock *w = rwl(l);
	bool wake;

	AcquireSRWLockExclusive(&w->guard);
	if (w->writer != 0) {
		__atomic_store_n(&w->writer, 0, __ATOMIC_RELAXED);
		wake = true;
	} else {
		wake = --w->readers == 0;
	}
	ReleaseSRWLockExclusive(&w->guard);
	if (wake)
		WakeAllConditionVariable(&w->cv);
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
