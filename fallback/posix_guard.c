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
 *  - One process-wide handler is installed on first use (pthread_once) and
 *    the action it replaces is saved.
 *  - A thread-local pointer to a sigjmp_buf is non-NULL only while that
 *    thread is inside a guarded copy.  Because SIGBUS from a fault is
 *    delivered to the thread that faulted, the handler sees the pointer of
 *    the thread whose copy faulted, and siglongjmp's out of the copy.
 *  - Why jumping out is safe: the only code between sigsetjmp and the jump
 *    is memcpy, which holds no lock, allocates nothing and leaves no state
 *    behind but a partly written destination (documented as unspecified).
 *    The map's lock is held by our caller, outside the jump, and released
 *    normally after we return -EFAULT.
 *  - sigsetjmp(buf, 0) does not save the signal mask, which keeps the guard
 *    cheap.  That is correct because the handler is installed with
 *    SA_NODEFER and an empty sa_mask: SIGBUS is not blocked while it runs,
 *    so jumping out leaves the thread's mask as it was.
 *  - A SIGBUS that is not ours (no guard active on this thread, or sent by
 *    kill/tgkill/sigqueue rather than by a fault) is passed on to the saved
 *    action: its SA_SIGINFO or plain handler is called; for SIG_DFL (and
 *    SIG_IGN, which the kernel does not honour for a fault either) the
 *    default action is restored and the handler returns, so the faulting
 *    instruction runs again and the process dies of SIGBUS as it would have
 *    without the library.  A SIGBUS sent by another process under SIG_DFL
 *    is raised again to the same effect; under SIG_IGN it is dropped.
 *
 * Limitation: a program that installs its own SIGBUS handler after the
 * library's first guarded copy replaces the library's, and faults in
 * guarded copies then reach that handler instead of becoming -EFAULT.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

#include "platform.h"

static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static int install_error;          /* -errno from sigaction, set once */
static struct sigaction prev_action;

/*
 * The active guard of this thread.  initial-exec TLS is a plain
 * %fs-relative access, which is async-signal-safe (a general-dynamic access
 * may call __tls_get_addr, which may allocate) and cheap on the copy path.
 */
static __thread sigjmp_buf *volatile active_guard __attribute__((tls_model("initial-exec")));

/* Passes a SIGBUS that is not ours on to the action we replaced. */
static void chain_sigbus(int sig, siginfo_t *info, void *uctx)
{
	struct sigaction dfl;

	if (prev_action.sa_flags & SA_SIGINFO) {
		prev_action.sa_sigaction(sig, info, uctx);
		return;
	}
	if (prev_action.sa_handler != SIG_DFL && prev_action.sa_handler != SIG_IGN) {
		prev_action.sa_handler(sig);
		return;
	}
	if (prev_action.sa_handler == SIG_IGN && info && info->si_code <= 0)
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
	if (guard && info && info->si_code > 0) {
		active_guard = NULL;
		siglongjmp(*guard, 1);
	}
	chain_sigbus(sig, info, uctx);
}

/* Installs on_sigbus, saving the previous action.  Runs once. */
static void install_handler(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &prev_action) < 0)
		install_error = -errno;
}

/*
 * The copy itself, kept out of line so that the compiler cannot move its
 * memory accesses before the guard is armed or after it is disarmed in
 * mmapio__plat_guarded_copy (the signal fences there order it, too).
 */
__attribute__((noinline)) static void copy_bytes(void *dst, const void *src, size_t len)
{
	memcpy(dst, src, len);
}

/*
 * Copies len bytes from src to dst, catching SIGBUS.  Returns 0, -EFAULT
 * when the copy faulted (dst then holds an unspecified prefix), or -errno
 * when the handler could not be installed.
 */
MMAPIO_INTERNAL int mmapio__plat_guarded_copy(void *dst, const void *src, size_t len)
{
	sigjmp_buf env;
	int rc;

	if (len == 0)
		return 0;
	rc = pthread_once(&install_once, install_handler);
	if (rc != 0)
		return -rc;
	if (install_error)
		return install_error;

	/*
	 * No local is written between sigsetjmp and a possible siglongjmp and
	 * read afterwards, so none needs to be volatile; the arguments are
	 * only read before the jump.
	 */
	if (sigsetjmp(env, 0) != 0) {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		return -EFAULT; /* the handler has cleared active_guard */
	}
	active_guard = &env;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	copy_bytes(dst, src, len);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	active_guard = NULL;
	return 0;
}
