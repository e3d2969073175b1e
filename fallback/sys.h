/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The system-call table.  Every system call that src/ and fallback/ make goes
 * through mmapio__sys (SQLite's aSyscall pattern), so that tests can replace
 * an entry to inject EINTR, ENOSPC, EIO or short transfers.  Each entry
 * follows the library's convention: the result (>= 0) on success, -errno on
 * failure; errno is never the channel.
 *
 * The table is process-wide and not synchronised: tests swap entries while
 * no other thread is inside the library, and restore them with
 * mmapio__sys_reset().
 */
#ifndef MMAPIO_SYS_H
#define MMAPIO_SYS_H

#include <stdbool.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "visibility.h"

struct mmapio__sys {
	int (*openat)(int dirfd, const char *path, int flags, unsigned mode);
	int (*close)(int fd);
	int (*fstat)(int fd, struct stat *st);
	int (*fstatat)(int dirfd, const char *path, struct stat *st, int flags);
	int (*ftruncate)(int fd, uint64_t len);
	int (*fallocate)(int fd, int mode, uint64_t off, uint64_t len);
	int (*fsync)(int fd);
	int (*fdatasync)(int fd);
	int (*dupfd)(int fd); /* fcntl(F_DUPFD_CLOEXEC, 0) */
	int (*fcntl_getfl)(int fd);
	/* Stores the mapping in *out; never returns MAP_FAILED. */
	int (*mmap)(void *addr, size_t len, int prot, int flags, int fd, uint64_t off, void **out);
	int (*munmap)(void *addr, size_t len);
	int (*mremap)(void *old, size_t old_len, size_t new_len, int flags, void **out);
	int (*msync)(void *addr, size_t len, int flags);
	int (*madvise)(void *addr, size_t len, int advice);
	int (*mlock)(const void *addr, size_t len);
	int (*munlock)(const void *addr, size_t len);
	/* One byte per page in vec; bit 0 set where the page is in the page cache. */
	int (*mincore)(void *addr, size_t len, unsigned char *vec);
	/* Transfers return the byte count, which may be short. */
	int64_t (*pread)(int fd, void *buf, size_t len, uint64_t off);
	int64_t (*pwrite)(int fd, const void *buf, size_t len, uint64_t off);
	int64_t (*copy_file_range)(int in, uint64_t *in_off, int out, uint64_t *out_off,
				   size_t len);
	int (*ficlone)(int dst, int src); /* ioctl(FICLONE) */
	int (*unlinkat)(int dirfd, const char *path, int flags);
	int (*renameat)(int olddirfd, const char *from, int newdirfd, const char *to);
	/* renameat2's RENAME_NOREPLACE (1) and RENAME_EXCHANGE (2); -ENOSYS elsewhere. */
	int (*renameat2)(int olddirfd, const char *from, int newdirfd, const char *to,
			 unsigned flags);
	/* sync_file_range(SYNC_FILE_RANGE_WRITE); -ENOSYS elsewhere. */
	int (*writeback)(int fd, uint64_t off, uint64_t len);
	/*
	 * sync_file_range(SYNC_FILE_RANGE_WAIT_BEFORE | _WRITE | _WAIT_AFTER):
	 * writes what is still dirty and waits for the range's write-back,
	 * without metadata or the disk's cache; -ENOSYS elsewhere.
	 */
	int (*writeback_wait)(int fd, uint64_t off, uint64_t len);
	/*
	 * Sets a byte-range lock: type 0 unlock, 1 shared, 2 exclusive; wait
	 * or fail with -EAGAIN; ofd: an open-file-description lock (Linux)
	 * rather than a process's.
	 */
	int (*setlk)(int fd, int type, bool wait, bool ofd, uint64_t off, uint64_t len);
	int (*linkat)(int olddirfd, const char *from, int newdirfd, const char *to, int flags);
	int (*fchmod)(int fd, unsigned mode);
	int (*sigaction)(int sig, const struct sigaction *act, struct sigaction *old);
	/*
	 * Not a system call, but a resource the kernel or the C library can
	 * run out of (EAGAIN at PTHREAD_KEYS_MAX, ENOMEM), so it is injectable
	 * too: pthread_key_create.
	 */
	int (*tls_key_create)(pthread_key_t *key, void (*destructor)(void *));
};

extern MMAPIO_INTERNAL struct mmapio__sys mmapio__sys;

/* Restores every entry of mmapio__sys to the real system call. */
MMAPIO_INTERNAL void mmapio__sys_reset(void);

#endif
