/* SPDX-License-Identifier: Apache-2.0 */
/*
 * <grp.h> and the id-changing calls for the Windows test build: Windows has
 * no user or group ids, and compat.h's geteuid() never says root, so the
 * suites never call these; they fail if they do.
 */
#ifndef MMAPIO_TESTS_WIN_GRP_H
#define MMAPIO_TESTS_WIN_GRP_H

#include <errno.h>
#include <stddef.h>

static inline int setgroups(size_t n, const void *list)
{
	(void)n;
	(void)list;
	errno = ENOSYS;
	return -1;
}

static inline int setresgid(unsigned r, unsigned e, unsigned s)
{
	(void)r, (void)e, (void)s;
	errno = ENOSYS;
	return -1;
}

static inline int setresuid(unsigned r, unsigned e, unsigned s)
{
	(void)r, (void)e, (void)s;
	errno = ENOSYS;
	return -1;
}

#endif
