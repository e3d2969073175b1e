/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The real system calls behind mmapio__sys.  Each wrapper turns the C
 * library's -1/errno convention into -errno and converts the library's
 * uint64_t offsets to off_t, refusing values off_t cannot hold.
 *
 * EINTR: calls whose effect is idempotent or all-or-nothing are retried
 * here, inside the real implementation, so that a signal handler installed
 * without SA_RESTART does not surface as a spurious failure (open, fstat,
 * ftruncate, fallocate, fsync, fdatasync, msync, madvise, mlock, the
 * transfers when nothing was transferred, copy_file_range, FICLONE, unlink,
 * fchmod).  close() is never retried: Linux releases the descriptor even
 * when close reports EINTR, and a retry could close a descriptor another
 * thread has just been given.  Because the retry lives in the real
 * implementation, a failure a test injects by replacing a table entry
 * reaches the caller unchanged.
 *
 * This is the POSIX platform's table; what Linux adds (mremap, fallocate,
 * copy_file_range, FICLONE, renameat2, sync_file_range, OFD locks) is
 * chosen at build time (posix_features.h) and answers -ENOSYS or
 * -EOPNOTSUPP without it.  Another platform keeps a table of its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "posix_features.h"
#include "sys.h"

/* FICLONE from <linux/fs.h>, which clashes with <sys/mount.h> in glibc 2.36. */
#ifndef FICLONE
#define FICLONE _IOW(0x94, 9, int)
#endif

/* The largest offset or length off_t can hold. */
#define OFF_MAX ((uint64_t)INT64_MAX)

/* Returns -errno of the failed call that just returned -1. */
static inline int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

/* Returns the descriptor, or -errno. */
static int real_openat(int dirfd, const char *path, int flags, unsigned mode)
{
	int fd;

	do
		fd = openat(dirfd, path, flags, (mode_t)mode);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? neg_errno() : fd;
}

/* Returns 0 or -errno; never retried (see the comment at the top). */
static int real_close(int fd)
{
	return close(fd) < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_fstat(int fd, struct stat *st)
{
	int rc;

	do
		rc = fstat(fd, st);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	int rc;

	do
		rc = fstatat(dirfd, path, st, flags);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0, -EFBIG for a length off_t cannot hold, or -errno. */
static int real_ftruncate(int fd, uint64_t len)
{
	int rc;

	if (len > OFF_MAX)
		return -EFBIG;
	do
		rc = ftruncate(fd, (off_t)len);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0, -EFBIG for a range off_t cannot hold, or -errno. */
static int real_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	int rc;

	if (off > OFF_MAX || len > OFF_MAX - off)
		return -EFBIG;
#if MMAPIO_LINUX
	do
		rc = fallocate(fd, mode, (off_t)off, (off_t)len);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
#else
	/* posix_fallocate reports its error instead of setting errno. */
	if (mode != 0)
		return -EOPNOTSUPP;
	do
		rc = posix_fallocate(fd, (off_t)off, (off_t)len);
	while (rc == EINTR);
	/* EINVAL, ESPIPE, ENODEV: this file cannot have space reserved. */
	return rc == EINVAL || rc == ESPIPE || rc == ENODEV ? -EOPNOTSUPP : -rc;
#endif
}

/* Returns 0 or -errno. */
static int real_fsync(int fd)
{
	int rc;

	do
		rc = fsync(fd);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_fdatasync(int fd)
{
	int rc;

	do
#if MMAPIO_APPLE
		rc = fsync(fd); /* F_FULLFSYNC is tried first, by the caller */
#else
		rc = fdatasync(fd);
#endif
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns the new close-on-exec descriptor, or -errno. */
static int real_dupfd(int fd)
{
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return nfd < 0 ? neg_errno() : nfd;
}

/* Returns the file status flags (>= 0), or -errno. */
static int real_fcntl_getfl(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl < 0 ? neg_errno() : fl;
}

/* Returns 0 with *out set, or -errno (-EINVAL for an offset off_t cannot hold). */
static int real_mmap(void *addr, size_t len, int prot, int flags, int fd, uint64_t off,
		     void **out)
{
	void *p;

	if (off > OFF_MAX)
		return -EINVAL;
	p = mmap(addr, len, prot, flags, fd, (off_t)off);
	if (p == MAP_FAILED)
		return neg_errno();
	*out = p;
	return 0;
}

/* Returns 0 or -errno. */
static int real_munmap(void *addr, size_t len)
{
	return munmap(addr, len) < 0 ? neg_errno() : 0;
}

/* Returns 0 with *out set to the (possibly moved) mapping, or -errno. */
static int real_mremap(void *old, size_t old_len, size_t new_len, int flags, void **out)
{
#if MMAPIO_LINUX
	void *p = mremap(old, old_len, new_len, flags);

	if (p == MAP_FAILED)
		return neg_errno();
	*out = p;
	return 0;
#else
	(void)old, (void)old_len, (void)new_len, (void)flags, (void)out;
	return -ENOSYS;
#endif
}

/* Returns 0 or -errno. */
static int real_msync(void *addr, size_t len, int flags)
{
	int rc;

	do
		rc = msync(addr, len, flags);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_madvise(void *addr, size_t len, int advice)
{
	int rc;

	do
		rc = madvise(addr, len, advice);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_mlock(const void *addr, size_t len)
{
	int rc;

	do
		rc = mlock(addr, len);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_munlock(const void *addr, size_t len)
{
	return munlock(addr, len) < 0 ? neg_errno() : 0;
}

/* Returns the bytes read (possibly short, 0 at end of file), or -errno. */
static int64_t real_pread(int fd, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (off > OFF_MAX)
		return -EINVAL;
	do
		n = pread(fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? neg_errno() : (int64_t)n;
}

/* Returns the bytes written (possibly short), or -errno. */
static int64_t real_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	if (off > OFF_MAX)
		return -EINVAL;
	do
		n = pwrite(fd, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? neg_errno() : (int64_t)n;
}

/*
 * Returns the bytes copied (possibly short, 0 at end of file), or -errno.
 * The offsets, when given, are advanced by the bytes copied, as the system
 * call does.
 */
static int64_t real_copy_file_range(int in, uint64_t *in_off, int out, uint64_t *out_off,
				    size_t len)
{
#if MMAPIO_LINUX
	off_t ioff = 0, ooff = 0;
	ssize_t n;

	if ((in_off && *in_off > OFF_MAX) || (out_off && *out_off > OFF_MAX))
		return -EINVAL;
	if (in_off)
		ioff = (off_t)*in_off;
	if (out_off)
		ooff = (off_t)*out_off;
	do
		n = copy_file_range(in, in_off ? &ioff : NULL, out, out_off ? &ooff : NULL, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return neg_errno();
	if (in_off)
		*in_off = (uint64_t)ioff;
	if (out_off)
		*out_off = (uint64_t)ooff;
	return (int64_t)n;
#else
	(void)in, (void)in_off, (void)out, (void)out_off, (void)len;
	return -ENOSYS;
#endif
}

/* Returns 0 or -errno (-EOPNOTSUPP, -EXDEV where cloning is impossible). */
static int real_ficlone(int dst, int src)
{
#if MMAPIO_LINUX
	int rc;

	do
		rc = ioctl(dst, FICLONE, src);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
#else
	(void)dst, (void)src;
	return -EOPNOTSUPP;
#endif
}

/* Returns 0 or -errno. */
static int real_unlinkat(int dirfd, const char *path, int flags)
{
	int rc;

	do
		rc = unlinkat(dirfd, path, flags);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_renameat(int olddirfd, const char *from, int newdirfd, const char *to)
{
	int rc;

	do
		rc = renameat(olddirfd, from, newdirfd, to);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0, -ENOSYS where the host has no renameat2, or -errno. */
static int real_renameat2(int olddirfd, const char *from, int newdirfd, const char *to,
			  unsigned flags)
{
#if MMAPIO_LINUX && defined(RENAME_NOREPLACE)
	int rc;

	do
		rc = renameat2(olddirfd, from, newdirfd, to, flags);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
#else
	(void)olddirfd, (void)from, (void)newdirfd, (void)to, (void)flags;
	return -ENOSYS;
#endif
}

/*
 * sync_file_range of [off, off + len) with flags.  Returns 0, -EINVAL for a
 * range off_t cannot hold, -ENOSYS off Linux, or -errno.
 */
static int sync_file_range_of(int fd, uint64_t off, uint64_t len, unsigned flags)
{
#if MMAPIO_LINUX
	int rc;

	if (off > OFF_MAX || len > OFF_MAX - off)
		return -EINVAL;
	do
		rc = sync_file_range(fd, (off_t)off, (off_t)len, flags);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
#else
	(void)fd, (void)off, (void)len, (void)flags;
	return -ENOSYS;
#endif
}

/* Starts write-back of the range.  Returns as sync_file_range_of. */
static int real_writeback(int fd, uint64_t off, uint64_t len)
{
#if MMAPIO_LINUX
	return sync_file_range_of(fd, off, len, SYNC_FILE_RANGE_WRITE);
#else
	return sync_file_range_of(fd, off, len, 0);
#endif
}

/* Writes the range back and waits for it.  Returns as sync_file_range_of. */
static int real_writeback_wait(int fd, uint64_t off, uint64_t len)
{
#if MMAPIO_LINUX
	return sync_file_range_of(fd, off, len,
				  SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE |
					  SYNC_FILE_RANGE_WAIT_AFTER);
#else
	return sync_file_range_of(fd, off, len, 0);
#endif
}

/*
 * Returns 0, -EAGAIN for a conflict without wait, -EINTR when a signal
 * ended the wait (not retried: the caller decides), -EINVAL for a range
 * off_t cannot hold, or -errno.
 */
static int real_setlk(int fd, int type, bool wait, bool ofd, uint64_t off, uint64_t len)
{
	struct flock fl;
	int cmd, rc;

	if (off > OFF_MAX || len > OFF_MAX - off)
		return -EINVAL;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = (short)(type == 0 ? F_UNLCK : type == 1 ? F_RDLCK : F_WRLCK);
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)off;
	fl.l_len = (off_t)len;
#if defined(F_OFD_SETLK)
	if (ofd)
		cmd = wait ? F_OFD_SETLKW : F_OFD_SETLK;
	else
#endif
		cmd = wait ? F_SETLKW : F_SETLK;
	rc = fcntl(fd, cmd, &fl);
	if (rc < 0 && (errno == EACCES || errno == EAGAIN))
		return -EAGAIN; /* POSIX lets F_SETLK say either for a conflict */
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_linkat(int olddirfd, const char *from, int newdirfd, const char *to, int flags)
{
	int rc;

	do
		rc = linkat(olddirfd, from, newdirfd, to, flags);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_fchmod(int fd, unsigned mode)
{
	int rc;

	do
		rc = fchmod(fd, (mode_t)mode);
	while (rc < 0 && errno == EINTR);
	return rc < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_mincore(void *addr, size_t len, unsigned char *vec)
{
	return mincore(addr, len, vec) < 0 ? neg_errno() : 0;
}

/* Returns 0 or -errno. */
static int real_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	return sigaction(sig, act, old) < 0 ? neg_errno() : 0;
}

/* Returns 0 with *key set, or -errno (pthread_key_create reports, not errno). */
static int real_tls_key_create(pthread_key_t *key, void (*destructor)(void *))
{
	return -pthread_key_create(key, destructor);
}

/* The initialiser is spelled once and used for the table and for reset. */
#define MMAPIO__SYS_REAL                                                      \
	{                                                                     \
		.openat = real_openat, .close = real_close,                   \
		.fstat = real_fstat, .fstatat = real_fstatat,                 \
		.ftruncate = real_ftruncate, .fallocate = real_fallocate,     \
		.fsync = real_fsync, .fdatasync = real_fdatasync,             \
		.dupfd = real_dupfd, .fcntl_getfl = real_fcntl_getfl,         \
		.mmap = real_mmap, .munmap = real_munmap,                     \
		.mremap = real_mremap, .msync = real_msync,                   \
		.madvise = real_madvise, .mlock = real_mlock,                 \
		.munlock = real_munlock, .mincore = real_mincore,             \
		.pread = real_pread,                                          \
		.pwrite = real_pwrite,                                        \
		.copy_file_range = real_copy_file_range,                      \
		.ficlone = real_ficlone, .unlinkat = real_unlinkat,           \
		.renameat = real_renameat, .linkat = real_linkat,             \
		.renameat2 = real_renameat2, .writeback = real_writeback,     \
		.writeback_wait = real_writeback_wait,                        \
		.setlk = real_setlk,                                          \
		.fchmod = real_fchmod, .sigaction = real_sigaction,           \
		.tls_key_create = real_tls_key_create,                        \
	}

MMAPIO_INTERNAL struct mmapio__sys mmapio__sys = MMAPIO__SYS_REAL;

/* Restores every entry to the real system call.  Returns nothing. */
MMAPIO_INTERNAL void mmapio__sys_reset(void)
{
	static const struct mmapio__sys real = MMAPIO__SYS_REAL;

	mmapio__sys = real;
}
