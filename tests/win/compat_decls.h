/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The types and functions behind tests/win/compat.h, under th_ names and
 * without its renaming macros, so that compat.c (which needs the C
 * runtime's own names) and compat.h agree on them.
 */
#ifndef MMAPIO_TESTS_WIN_COMPAT_DECLS_H
#define MMAPIO_TESTS_WIN_COMPAT_DECLS_H

#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

struct th_posix_sys;

/* Skips the running test with a reason; never returns (tests/win/runner.c). */
void th_win_skip(const char *fmt, ...) __attribute__((noreturn, format(gnu_printf, 1, 2)));

/* True when the process runs under wine (ntdll exports wine_get_version). */
int th_win_under_wine(void);

/* The C runtime's struct stat has no st_blocks; this one does. */
struct th_stat {
	uint64_t st_dev;
	uint64_t st_ino;
	unsigned st_mode;
	unsigned st_nlink;
	int64_t st_size;
	int64_t st_blocks;      /* 512-byte units allocated */
	int64_t st_blksize;
	time_t st_mtime;
};

struct th_pollfd {
	int fd;
	short events;
	short revents;
};

#define TH_POLLIN 0x001
#define TH_POLLOUT 0x004
#define TH_POLLERR 0x008
#define TH_POLLHUP 0x010
#define TH_POLLNVAL 0x020

#define TH_O_DIRECT 0x40000000   /* not a C runtime flag: th_open skips the test */
#define TH_F_GETFD 1
#define TH_F_SETFD 2
#define TH_F_GETFL 3
#define TH_FD_CLOEXEC 1
#define TH_SC_PAGESIZE 30
#define TH_SC_NPROCESSORS_ONLN 84
#define TH_SIGBUS 10

typedef int (*th_nftw_fn)(const char *, const struct th_stat *, int, struct FTW *);

int th_open(const char *path, int flags, ...);
int th_stat(const char *path, struct th_stat *st);
int th_fstat(int fd, struct th_stat *st);
ssize_t th_pread(int fd, void *buf, size_t len, int64_t off);
ssize_t th_pwrite(int fd, const void *buf, size_t len, int64_t off);
int th_ftruncate(int fd, int64_t len);
int th_truncate(const char *path, int64_t len);
int th_fsync(int fd);
int th_fdatasync(int fd);
int th_fallocate(int fd, int mode, int64_t off, int64_t len);
int th_unlink(const char *path);
int th_rename(const char *from, const char *to);
int th_mkdir(const char *path, unsigned mode);
char *th_mkdtemp(char *templ);
int th_link(const char *from, const char *to);
int th_symlink(const char *from, const char *to) __attribute__((noreturn));
ssize_t th_readlink(const char *path, char *buf, size_t len);
int th_mkfifo(const char *path, unsigned mode) __attribute__((noreturn));
int th_fcntl(int fd, int cmd, ...);
int th_nftw(const char *dir, th_nftw_fn fn, int fds, int flags);
int th_setenv(const char *name, const char *value, int overwrite);
int th_unsetenv(const char *name);
long th_sysconf(int name);
int th_fork(void) __attribute__((noreturn));
int th_sigaction(int sig, const void *sa, void *old) __attribute__((noreturn));
int th_poll(struct th_pollfd *fds, unsigned long n, int timeout_ms);
struct th_posix_sys *th_win_posix_sys(void) __attribute__((noreturn));
void th_win_sys_reset(void);
int th_msync(void *addr, size_t len, int flags);
/* Open C runtime descriptors plus the process's handle count. */
int th_win_count_handles(void);

#endif
