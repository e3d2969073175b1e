/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Windows side of the POSIX-only parts of tests/helpers.h, which
 * includes this file in their place: descriptor counting, and running a
 * check "in a child".
 *
 * Counting: the C runtime's open descriptors plus the process's handle
 * count, so that a leaked section or file handle that no descriptor wraps
 * shows as well as a leaked descriptor.
 *
 * Children: Windows has no fork, but every test already runs in a process
 * of its own (tests/win/runner.c), so th_run_in_child runs the check in the
 * test's process, on its thread: TH_CHILD_CHECK fails the test and
 * TH_CHILD_SKIP skips it, as the forked child's report would.  The checks
 * that change the process for good (seccomp, dropping privileges) use
 * calls that skip the test on Windows anyway.
 */
#ifndef MMAPIO_TESTS_WIN_HELPERS_WIN_H
#define MMAPIO_TESTS_WIN_HELPERS_WIN_H

#include <stdarg.h>
#include <stdio.h>

#include "compat_decls.h"

/* Open C runtime descriptors plus the process's handles. */
static inline int th_count_fds(void)
{
	return th_win_count_handles();
}

#define TH_CHILD_EXIT_SKIP 77

static inline void th_child_report(int code, const char *fmt, ...)
	__attribute__((format(gnu_printf, 2, 3), noreturn));
static inline void th_child_report(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (code == TH_CHILD_EXIT_SKIP)
		TH_SKIP("%s", msg);
	cr_assert_fail("in the child: %s", msg);
	th_win_skip("unreachable");
}

/* Runs fn(arg) in this test's process (see the top of the file). */
static inline void th_run_in_child(void (*fn)(void *), void *arg)
{
	fn(arg);
}

#endif
