/* SPDX-License-Identifier: Apache-2.0 */
/*
 * <sys/wait.h> for the Windows test build.  Without fork there is no child
 * to wait for: th_fork() skips the test before any of this runs.
 */
#ifndef MMAPIO_TESTS_WIN_SYS_WAIT_H
#define MMAPIO_TESTS_WIN_SYS_WAIT_H

#include <errno.h>
#include <sys/types.h>

#define WIFEXITED(s) (((s) & 0x7f) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WIFSIGNALED(s) (((s) & 0x7f) != 0 && ((s) & 0x7f) != 0x7f)
#define WTERMSIG(s) ((s) & 0x7f)

static inline pid_t waitpid(pid_t pid, int *status, int options)
{
	(void)pid;
	(void)status;
	(void)options;
	errno = ECHILD;
	return -1;
}

#endif
