/* SPDX-License-Identifier: Apache-2.0 */
/*
 * SIGBUS-safe copies.
 *
 * Touching a mapped page whose file range no longer exists (another process
 * truncated the file) or cannot be backed (disk full behind a sparse file,
 * I/O error) raises SIGBUS synchronously, on the faulting thread, at the
 * faulting instruction.  mmapio_read and mmapio_write copy through
 * mmapio__plat_guarded_copy, which turns such a fault into -EFAULT:
 *
 *  - One process-wide handler is installed on first use, and the action it
 *    replaces is saved as the one to chain to.  Every guarded copy checks
 *    (one sigaction query) that the handler is still the library's: an
 *    application that installed its own SIGBUS handler since gets the
 *    library's put back in front of it, and its handler becomes the one
 *    that faults which are not the library's are chained to.
 *  - A thread that blocks SIGBUS would be killed by the kernel on a fault
 *    (a blocked synchronous fault signal is forced to its default action),
 *    so a guarded copy unblocks SIGBUS for the duration of the copy and
 *    blocks it again afterwards if it was blocked (one sigprocmask, and a
 *    second only when SIGBUS was blocked).  Together with the handler check
 *    this costs two system calls per guarded copy, about 0.35 us here: the
 *    price of -EFAULT "whatever the mask and the handler order".  Views are
 *    not guarded and pay nothing.
 *  - A thread-local pointer to a sigjmp_buf is non-NULL only while that
 *    thread is inside a guarded copy.  Because SIGBUS from a fault is
 *    delivered to the thread that faulted, the handler sees the pointer of
 *    the thread whose copy faulted, and siglongjmp's out of the copy.  A
 *    guarded copy saves the pointer it replaces and puts it back when it
 *    ends, so a guarded copy inside a signal handler that interrupted
 *    another one leaves the outer copy guarded.
 *  - Why jumping out is safe: the only code between sigsetjmp and the jump
 *    is memcpy, which holds no lock, allocates nothing and leaves no state
 *    behind but a partly written destination (documented as unspecified).
 *    The map's lock is held by our caller, outside the jump, and released
 *    normally after we return -EFAULT.
 *  - sigsetjmp(buf, 0) does not save the signal mask.  That is correct
 *    because the handler is installed with SA_NODEFER and an empty sa_mask:
 *    SIGBUS is not blocked while it runs, so jumping out leaves the
 *    thread's mask as the copy set it, and the copy restores the caller's.
 *  - A SIGBUS that is not ours (no guard active on this thread, or sent by
 *    kill/tgkill/sigqueue rather than by a fault) is passed on to the saved
 *    action: its SA_SIGINFO or plain handler is called; for SIG_DFL (and
 *    SIG_IGN, which the kernel does not honour for a fault either) the
 *    default action is restored and the handler returns, so the faulting
 *    instruction runs again and the process dies of SIGBUS as it would have
 *    without the library.  A SIGBUS sent by another process under SIG_DFL
 *    is raised again to the same effect; under SIG_IGN it is dropped.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "platform.h"
#include "posix_features.h"
#include "sys.h"

static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static int installed;              /* 1 once on_sigbus is installed */

/*
 * The actions to chain to.  A replaced handler is written into the next
 * slot and then published by index, so that a handler running on another
 * thread always reads a complete action (the slots are reused only after
 * eight replacements, which no program makes at once).
 */
#define CHAIN_SLOTS 8
static struct sigaction chain[CHAIN_SLOTS];
static unsigned chain_next = 1;    /* slot 0 holds the action first replaced */
static unsigned chain_cur;         /* the slot in force */

/*
 * The active guard of this thread.  initial-exec TLS is a plain
 * %fs-relative access, which is async-signal-safe (a general-dynamic access
 * may call __tls_get_addr, which may allocate) and cheap on the copy path.
 */
static __thread sigjmp_buf *volatile active_guard __attribute__((tls_model("initial-exec")));

/* Passes a SIGBUS that is not ours on to the action we replaced. */
static void chain_sigbus(int sig, siginfo_t *info, void *uctx)
{
	const struct sigaction *prev = &chain[__atomic_load_n(&chain_cur, __ATOMIC_ACQUIRE)];
	struct sigaction dfl;

	if (prev->sa_flags & SA_SIGINFO) {
		prev->sa_sigaction(sig, info, uctx);
		return;
	}
	if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
		prev->sa_handler(sig);
		return;
	}
	if (prev->sa_handler == SIG_IGN && info && info->si_code <= 0)
		return; /* an ignored SIGBUS sent by someone: drop it */

	/* sigaction and raise are async-signal-safe. */
	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	sigemptyset(&dfl.sa_mask);
	sigaction(SIGBUS, &dfl, NULL);
	if (info && info->si_code <= 0)
		raise(SIGBUS);
	/* A fault: returning re-executes the faulting access under SIG_DFL. */
}

/* The process-wide SIGBUS handler. */
static void on_sigbus(int sig, siginfo_t *info, void *uctx)
{
	sigjmp_buf *guard = active_guard;

	/* si_code > 0 means the kernel raised it for a fault. */
	if (guard && info && info->si_code > 0)
		siglongjmp(*guard, 1); /* the copy puts back the guard it replaced */
	chain_sigbus(sig, info, uctx);
}

/* Fills *sa with the library's action. */
static void our_action(struct sigaction *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sa_sigaction = on_sigbus;
	sa->sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa->sa_mask);
}

/*
 * Installs on_sigbus on the first guarded run, saving the previous action
 * in slot 0.  Returns 0 or -errno; after a failure the next run tries
 * again.
 *
 * Signals stay blocked on this thread while it holds install_lock: a
 * signal handler that copies out of a map (which the guard allows) would
 * otherwise find its own thread holding the lock and wait for itself for
 * ever.  A signal that arrives meanwhile is handled once the install is
 * done.  Once installed, a load is all it costs.
 */
static int ensure_handler(void)
{
	struct sigaction sa;
	sigset_t all, old;
	int rc;

	if (__atomic_load_n(&installed, __ATOMIC_ACQUIRE))
		return 0;
	sigfillset(&all);
	rc = pthread_sigmask(SIG_SETMASK, &all, &old);
	if (rc != 0)
		return -rc;
	pthread_mutex_lock(&install_lock);
	if (!__atomic_load_n(&installed, __ATOMIC_RELAXED)) {
		our_action(&sa);
		rc = mmapio__sys.sigaction(SIGBUS, &sa, &chain[0]);
		if (rc == 0)
			__atomic_store_n(&installed, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&install_lock);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

/*
 * Puts the library's handler back in front when the application has
 * replaced it since, chaining to the application's.  Returns 0 or -errno.
 */
static int keep_handler(void)
{
	struct sigaction cur, sa;
	unsigned slot;
	int rc = mmapio__sys.sigaction(SIGBUS, NULL, &cur);

	if (rc < 0)
		return rc;
	if ((cur.sa_flags & SA_SIGINFO) && cur.sa_sigaction == on_sigbus)
		return 0;
	slot = __atomic_fetch_add(&chain_next, 1, __ATOMIC_RELAXED) % CHAIN_SLOTS;
	our_action(&sa);
	rc = mmapio__sys.sigaction(SIGBUS, &sa, &chain[slot]);
	if (rc < 0)
		return rc;
	__atomic_store_n(&chain_cur, slot, __ATOMIC_RELEASE);
	return 0;
}

/* What a guarded run does: copy, or touch every page for reading or writing. */
enum guarded_kind { GUARD_COPY, GUARD_TOUCH_READ, GUARD_TOUCH_WRITE };

/*
 * The guarded work itself, kept out of line so that the compiler cannot
 * move its memory accesses before the guard is armed or after it is
 * disarmed in guarded_run (the signal fences there order it, too).  A
 * write touch is an atomic OR of 0: it faults the page in for writing and
 * never changes a byte another thread writes meanwhile.
 */
__attribute__((noinline)) static void guarded_work(enum guarded_kind kind, void *dst,
						   const void *src, size_t len)
{
	size_t page = mmapio__plat_page_size(), i;

	switch (kind) {
	case GUARD_COPY:
		memcpy(dst, src, len);
		break;
	case GUARD_TOUCH_READ:
		for (i = 0; i < len; i += page)
			(void)*(volatile const unsigned char *)((const unsigned char *)dst + i);
		break;
	case GUARD_TOUCH_WRITE:
		for (i = 0; i < len; i += page)
			__atomic_fetch_or((unsigned char *)dst + i, 0, __ATOMIC_RELAXED);
		break;
	}
}

/*
 * Copies len bytes from src to dst, catching SIGBUS.  Returns 0, -EFAULT
 * when the copy faulted (dst then holds an unspecified prefix), or -errno
 * when the handler could not be installed.
 */
/*
 * Runs guarded_work under the guard.  Returns 0, -EFAULT when it faulted,
 * or -errno when the guard could not be set up.
 */
static int guarded_run(enum guarded_kind kind, void *dst, const void *src, size_t len)
{
	sigjmp_buf env, *outer;
	sigset_t bus, old;
	int rc;

	if (len == 0)
		return 0;
	rc = ensure_handler();
	if (rc < 0)
		return rc;
	rc = keep_handler();
	if (rc < 0)
		return rc;
	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	rc = pthread_sigmask(SIG_UNBLOCK, &bus, &old);
	if (rc != 0)
		return -rc;

	/*
	 * No local is changed between sigsetjmp and a possible siglongjmp and
	 * read after the jump (rc is assigned again on both paths; outer, bus
	 * and old are set before sigsetjmp), so none needs to be volatile.
	 */
	outer = active_guard;
	if (sigsetjmp(env, 0) == 0) {
		active_guard = &env;
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		guarded_work(kind, dst, src, len);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		rc = 0;
	} else {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		rc = -EFAULT;
	}
	active_guard = outer;
	if (sigismember(&old, SIGBUS) == 1)
		pthread_sigmask(SIG_BLOCK, &bus, NULL);
	return rc;
}

MMAPIO_INTERNAL int mmapio__plat_guarded_copy(void *dst, const void *src, size_t len)
{
	return guarded_run(GUARD_COPY, dst, src, len);
}

MMAPIO_INTERNAL int mmapio__posix_guarded_touch(void *addr, size_t len, bool write)
{
	return guarded_run(write ? GUARD_TOUCH_WRITE : GUARD_TOUCH_READ, addr, NULL, len);
}
