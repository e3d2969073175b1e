/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POSIX the test suites use, for mingw-w64.  tests/win/meson.build
 * force-includes this header into every suite (-include), so that the
 * suites compile for Windows from the same source files as on Linux.
 *
 * Three kinds of names live here:
 *  - POSIX calls the C runtime lacks or spells differently, done with
 *    Win32 in compat.c (pread, pwrite, fsync, mkdtemp, setenv, stat with
 *    st_blocks, nftw, poll on pipes, link, rename that replaces, ...);
 *  - POSIX calls whose C runtime version differs where a test would notice
 *    (unlink of a read-only file, mkdir's mode argument, rename over an
 *    existing file, truncating a mapped file);
 *  - POSIX features Windows does not have at all (fork, FIFOs, symbolic
 *    links without a privilege, SIGBUS, the POSIX system-call table of
 *    fallback/sys.h): using one skips the running test with the reason,
 *    through th_win_skip() (a longjmp out of the test, as cr_skip_test).
 *
 * windows.h stays out of the suites: its macros would collide with their
 * names.  Only plain C types appear below.
 */
#ifndef MMAPIO_TESTS_WIN_COMPAT_H
#define MMAPIO_TESTS_WIN_COMPAT_H

#ifndef _WIN32
#error "tests/win/compat.h is for Windows builds only"
#endif

/* The C runtime's own headers first, so that the macros below rename only the suites' uses. */
#include <direct.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <limits.h>
#include <process.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <ftw.h>

#include "compat_decls.h"

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

#ifndef O_CLOEXEC
#define O_CLOEXEC _O_NOINHERIT
#endif
#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif
#ifndef O_NONBLOCK
#define O_NONBLOCK 0
#endif
/* Not a C runtime flag: th_open() skips a test that asks for it. */
#ifndef O_DIRECT
#define O_DIRECT TH_O_DIRECT
#endif

/* open() with the O_DIRECT refusal above; otherwise the C runtime's. */
#define open(...) th_open(__VA_ARGS__)

/* Renames both the struct tag and the functions in the suites. */
#undef stat
#undef fstat
#define stat th_stat
#define fstat th_fstat
#define lstat th_stat

#define pread th_pread
#define pwrite th_pwrite

/*
 * ftruncate and truncate.  Windows refuses to change the length of a file
 * that is mapped (ERROR_USER_MAPPED_FILE); under wine the change is then
 * made from the host, as another process would on Linux, and on Windows
 * the test is skipped, as no process can do it there.
 */
#undef ftruncate
#undef truncate
#define ftruncate th_ftruncate
#define truncate th_truncate

#define fsync th_fsync
#define fdatasync th_fdatasync

/* fallocate: reserves with FileAllocationInfo; -1/EOPNOTSUPP where refused. */
#define fallocate th_fallocate

/* unlink that, as POSIX, ignores the file's read-only attribute. */
#define unlink th_unlink

/* rename that, as POSIX, replaces an existing destination. */
#define rename th_rename

#define mkdir(path, mode) th_mkdir((path), (mode))

#define mkdtemp th_mkdtemp

/* Hard links (CreateHardLinkW); symbolic links skip the test. */
#define link th_link
#define symlink th_symlink
#define readlink th_readlink

/* FIFOs do not exist on Windows: skips the test. */
#define mkfifo th_mkfifo

/* fcntl: F_GETFD (FD_CLOEXEC from the handle's inheritance) and F_GETFL. */
#define F_GETFD TH_F_GETFD
#define F_SETFD TH_F_SETFD
#define F_GETFL TH_F_GETFL
#define FD_CLOEXEC TH_FD_CLOEXEC
#ifndef O_ACCMODE
#define O_ACCMODE (_O_RDONLY | _O_WRONLY | _O_RDWR)
#endif
#define fcntl th_fcntl

/* nftw over the struct th_stat above (FTW_DEPTH and FTW_PHYS are honoured). */
#define nftw th_nftw

/* ------------------------------------------------------------------------ */
/* Processes, environment, identity                                         */
/* ------------------------------------------------------------------------ */

#define setenv th_setenv
#define unsetenv th_unsetenv

#define _SC_PAGESIZE TH_SC_PAGESIZE
#define _SC_NPROCESSORS_ONLN TH_SC_NPROCESSORS_ONLN
#define sysconf th_sysconf

/* No fork on Windows: skips the test. */
#define fork th_fork

/* Windows has no user ids; the suites see an unprivileged user. */
#define geteuid() 1000
#define getuid() 1000

/* ------------------------------------------------------------------------ */
/* Signals (there is no SIGBUS on Windows: faults are exceptions)            */
/* ------------------------------------------------------------------------ */

#ifndef SIGBUS
#define SIGBUS TH_SIGBUS
#endif
#ifndef SIGKILL
#define SIGKILL 9
#endif
typedef struct {
	int si_signo;
	int si_code;
	void *si_addr;
} siginfo_t;
struct sigaction {
	void (*sa_handler)(int);
	void (*sa_sigaction)(int, siginfo_t *, void *);
	int sa_mask;
	int sa_flags;
};
#define SA_SIGINFO 4
#define SA_NODEFER 0x40000000
#define SA_RESTART 0x10000000
#define sigaction(sig, sa, old) th_sigaction((sig), (sa), (old))
static inline int th_sigemptyset(int *set)
{
	*set = 0;
	return 0;
}
#define sigemptyset th_sigemptyset
#include <setjmp.h>
#define sigjmp_buf jmp_buf
#define sigsetjmp(env, savemask) setjmp(env)
#define siglongjmp longjmp
static inline int th_sigaddset(int *set, int sig)
{
	*set |= 1 << sig;
	return 0;
}
#define sigaddset th_sigaddset

/* ------------------------------------------------------------------------ */
/* poll, for the ring's event descriptor (a pipe on Windows)                */
/* ------------------------------------------------------------------------ */

/* The suites' #include <poll.h> finds tests/win/include/poll.h. */

/* ------------------------------------------------------------------------ */
/* The POSIX system-call table                                              */
/* ------------------------------------------------------------------------ */

/*
 * The library built for Windows calls Win32 through its own table
 * (fallback/win32_sys.h), so a test that injects failures into the POSIX
 * one is skipped at the moment it touches it; mmapio__sys_reset() resets
 * the Win32 table instead.
 */
#include <sys/mman.h> /* tests/win/include: its names, before the table's */
#undef MMAPIO_SYS_H
#define mmapio__sys th_posix_sys
#define mmapio__sys_reset th_posix_sys_reset
/*
 * fallback/sys.h read after the renaming macros above, under the tag
 * struct th_posix_sys: its members are spelled as the suites spell them.
 */
#include "sys.h"
#undef mmapio__sys
#undef mmapio__sys_reset
#define mmapio__sys (*th_win_posix_sys())
#define mmapio__sys_reset th_win_sys_reset

#endif
