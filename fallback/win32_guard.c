/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fault-safe copies on Windows.
 *
 * Touching a mapped page that cannot be read in (the file's volume went
 * away, a network file failed, a disk error) raises EXCEPTION_IN_PAGE_ERROR
 * at the faulting instruction; a page past the end of a file cut from
 * outside raises EXCEPTION_ACCESS_VIOLATION under wine, which passes the
 * host's SIGBUS on that way.  mmapio_read and mmapio_write copy through
 * mmapio__plat_guarded_copy, which turns either into -EFAULT:
 *
 *  - mingw-w64 has no __try/__except, so the guard is a vectored exception
 *    handler, added once and first in the list, and a per-thread record of
 *    the guarded ranges (a TLS slot; TlsGetValue is safe inside a handler).
 *  - The handler claims only the two exception codes above, only on a
 *    thread inside a guarded copy, and only when the faulting address lies
 *    inside one of that copy's ranges; everything else goes on to the
 *    application's handlers (EXCEPTION_CONTINUE_SEARCH), with the thread's
 *    last-error value as it was.
 *  - It does not jump out of the handler: jumping over the exception
 *    dispatcher's frames would leave the system's unwinding state behind.
 *    It edits the faulting context instead, so that execution continues
 *    (EXCEPTION_CONTINUE_EXECUTION) in guard_landing on a fresh, aligned
 *    piece of the same stack below the faulting frame, and guard_landing,
 *    in ordinary thread context, __builtin_longjmp's back to the copy's
 *    __builtin_setjmp.  The builtins restore only the frame, stack and
 *    instruction pointers (the compiler spills everything live across the
 *    setjmp), so no SEH unwinding is involved.
 *  - Why jumping out of the copy is safe: between the setjmp and the fault
 *    runs only memcpy (or a page-touching loop), which holds no lock,
 *    allocates nothing and leaves nothing behind but a partly written
 *    destination (documented as unspecified).  The map's lock is held by
 *    the caller, outside the jump, and released normally after -EFAULT.
 *  - A guarded copy saves the record it replaces and puts it back, so one
 *    nested inside another (an APC, a handler) leaves the outer guarded.
 */
#include <errno.h>
#include <string.h>

#include "platform.h"
#include "win32_guard.h"
#include "win32_sys.h"

struct guard {
	void *jmp[5];                   /* __builtin_setjmp's buffer */
	uintptr_t lo[2], hi[2];         /* guarded ranges [lo, hi) */
	struct guard *outer;            /* the guard this one replaced */
};

static INIT_ONCE install_once = INIT_ONCE_STATIC_INIT;
static DWORD guard_slot = TLS_OUT_OF_INDEXES;
static int install_error;               /* -errno, set once */

/* Where a claimed fault continues; never returns. */
__attribute__((noinline, noreturn)) static void guard_landing(void)
{
	struct guard *g = TlsGetValue(guard_slot);

	__builtin_longjmp(g->jmp, 1);
}

/* True when addr lies inside one of g's ranges. */
static bool guarded_address(const struct guard *g, uintptr_t addr)
{
	int i;

	for (i = 0; i < 2; i++)
		if (addr >= g->lo[i] && addr < g->hi[i])
			return true;
	return false;
}

/*
 * Points the faulting context at guard_landing, on the stack below the
 * faulting frame (256 bytes below, 16-byte aligned, and 8 more for the
 * return address a call would have pushed, as the x64 ABI expects).
 */
static void resume_at_landing(CONTEXT *c)
{
#if defined(__x86_64__)
	c->Rsp = ((c->Rsp - 256) & ~(DWORD64)15) - 8;
	c->Rip = (DWORD64)(uintptr_t)guard_landing;
#elif defined(__i386__)
	c->Esp = ((c->Esp - 256) & ~(DWORD)15) - 4;
	c->Eip = (DWORD)(uintptr_t)guard_landing;
#elif defined(__aarch64__)
	c->Sp = (c->Sp - 256) & ~(DWORD64)15;
	c->Pc = (DWORD64)(uintptr_t)guard_landing;
#else
#error "win32_guard.c: unknown processor; add its stack and instruction pointers"
#endif
}

static LONG WINAPI on_exception(EXCEPTION_POINTERS *ep)
{
	const EXCEPTION_RECORD *er = ep->ExceptionRecord;
	DWORD saved = GetLastError();
	struct guard *g;

	if (er->ExceptionCode != EXCEPTION_IN_PAGE_ERROR &&
	    er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION)
		return EXCEPTION_CONTINUE_SEARCH;
	g = TlsGetValue(guard_slot);
	SetLastError(saved);
	/* Both codes carry the faulting address as their second parameter. */
	if (g == NULL || er->NumberParameters < 2 ||
	    !guarded_address(g, (uintptr_t)er->ExceptionInformation[1]))
		return EXCEPTION_CONTINUE_SEARCH;
	resume_at_landing(ep->ContextRecord);
	return EXCEPTION_CONTINUE_EXECUTION;
}

static BOOL CALLBACK install(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	(void)once;
	(void)param;
	(void)ctx;
	guard_slot = TlsAlloc();
	if (guard_slot == TLS_OUT_OF_INDEXES) {
		install_error = -EAGAIN;
		return TRUE;
	}
	if (AddVectoredExceptionHandler(1, on_exception) == NULL)
		install_error = -ENOMEM;
	return TRUE;
}

MMAPIO_INTERNAL int mmapio__w32_guarded_run(void (*fn)(void *), void *arg, const void *a,
					    size_t alen, const void *b, size_t blen)
{
	struct guard g;
	int rc;

	InitOnceExecuteOnce(&install_once, install, NULL, NULL);
	if (install_error)
		return install_error;
	g.lo[0] = (uintptr_t)a;
	g.hi[0] = (uintptr_t)a + alen;
	g.lo[1] = (uintptr_t)b;
	g.hi[1] = (uintptr_t)b + blen;
	g.outer = TlsGetValue(guard_slot);
	/*
	 * No local changed after the setjmp is read after the jump (rc is
	 * assigned on both paths), so none needs to be volatile.
	 */
	if (__builtin_setjmp(g.jmp) == 0) {
		TlsSetValue(guard_slot, &g);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		fn(arg);
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		rc = 0;
	} else {
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		rc = -EFAULT;
	}
	TlsSetValue(guard_slot, g.outer);
	return rc;
}

struct copy_args {
	void *dst;
	const void *src;
	size_t len;
};

/* The copy itself, called through a pointer so it stays inside the guard. */
static void copy_bytes(void *p)
{
	struct copy_args *c = p;

	memcpy(c->dst, c->src, c->len);
}

MMAPIO_INTERNAL int mmapio__plat_guarded_copy(void *dst, const void *src, size_t len)
{
	struct copy_args c = { dst, src, len };

	if (len == 0)
		return 0;
	return mmapio__w32_guarded_run(copy_bytes, &c, src, len, dst, len);
}
