/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The fault sweep (issue 8, "The proof, in the project", item 3).
 *
 * For every public operation this program first makes a counting run: every
 * entry of the system-call table (fallback/sys.h) is wrapped by a counter,
 * so the run learns which entries the operation calls and how often.  Then,
 * for each entry e and each call index k the counting run reached, it fails
 * the k-th call of e with each errno that call can return (and, for the
 * transfers, with short transfers), once per errno, each time in a fresh
 * state, and checks what a user of the library would see:
 *
 *  - the return is one the header documents for the call: a negative errno
 *    (never a positive value or garbage), one of the call's own list where
 *    the header gives a closed list, and never 0 when a durability step
 *    (fsync, fdatasync, msync) failed; a 0 after any other failure is taken
 *    only when the operation's whole result is verified right (the library
 *    recovered, as from an EOPNOTSUPP fallocate);
 *  - no descriptor leaked (/proc/self/fd) and no mapping leaked (the bytes
 *    of the mappings of this sweep's files, of PROT_NONE reservations and of
 *    io_uring rings, from /proc/self/maps);
 *  - the files are as the header promises (a failed create leaves no file it
 *    created, a failed copy no destination, a failed resize the old size, a
 *    failed write the bytes outside its range; no stray file is left);
 *  - the map is still consistent (mmapio_len, the old bytes read back).
 *
 * Each run is a forked child, so that a crash or a hang (alarm) in one is
 * reported as such and the next starts clean; the child reports through a
 * pipe.  Some operations run under a condition of the whole run (a
 * filesystem without copy_file_range or fallocate, one that clones), so
 * that the paths other filesystems take are counted and swept too.  The io_uring engine goes its own way in the kernel: its operations
 * are run (counting which table entries they still touch) and swept like the
 * others where io_uring works, and skipped with the reason where it does not.
 *
 * Library bugs the sweep finds are not fixed here: each is listed in the
 * known-failure table below, naming the bug, so that the sweep stays green.
 * A listed failure that no longer happens fails the sweep, so that the entry
 * is deleted together with the fix.
 *
 * Output: one "count" line per operation, a "FAIL" line per unexpected
 * finding, the known failures that matched, then the totals and, last,
 * "sweep: N passed, M failed" (N and M count runs: counting runs and
 * injections).  Exit status 0 when M is 0.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mmapio.h"
#include "sys.h"

/*
 * Under valgrind (CI runs every test program there, for memory errors and
 * leaks, not for its verdict) the sweep is cut down to one errno per call
 * plus every fault of another kind (short transfers, holes), which reach
 * the same code paths in a fraction of the time.
 */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef UNDER_VALGRIND
#define UNDER_VALGRIND() false
#endif

/*
 * DESIGN.md promises that mmapio_copy with MMAPIO_COPY_OVERWRITE replaces
 * the destination atomically, so that a failed copy leaves the old one
 * byte for byte: every injection into an overwriting copy checks that.
 */

/* Calls of one entry swept per operation: the first MAX_K - 1 and the last. */
#define MAX_K 6u

/* Seconds one run may take before it counts as a hang. */
#define RUN_TIMEOUT_S 30

/* ------------------------------------------------------------------------ */
/* The table's entries and the faults each can be given                     */
/* ------------------------------------------------------------------------ */

enum entry {
	E_OPENAT, E_CLOSE, E_FSTAT, E_FSTATAT, E_FTRUNCATE, E_FALLOCATE, E_FSYNC,
	E_FDATASYNC, E_DUPFD, E_FCNTL_GETFL, E_MMAP, E_MUNMAP, E_MREMAP, E_MSYNC,
	E_MADVISE, E_MLOCK, E_MUNLOCK, E_MINCORE, E_PREAD, E_PWRITE,
	E_COPY_FILE_RANGE, E_FICLONE, E_UNLINKAT, E_RENAMEAT, E_RENAMEAT2, E_WRITEBACK,
	E_WRITEBACK_WAIT, E_SETLK, E_LINKAT, E_FCHMOD, E_SIGACTION, E_TLS_KEY_CREATE, E_COUNT
};

/* A new table entry must be wrapped here too, or the sweep would miss it. */
_Static_assert(sizeof(struct mmapio__sys) == E_COUNT * sizeof(void (*)(void)),
	       "fallback/sys.h has an entry the fault sweep does not wrap");

enum fault_kind {
	F_ERRNO,      /* fail with -err, doing nothing */
	F_SHORT_HALF, /* transfer half of what was asked (at least 1 byte) */
	F_SHORT_ONE,  /* transfer 1 byte */
	F_PARTIAL,    /* fallocate: extend the file over half the range, then -ENOSPC */
	F_HOLE,       /* mmap: a MAP_FIXED one unmaps its range first, then fails */
	F_SHORT_THEN_ERR /* transfer half, then fail the next call with -err */
};

struct fault {
	const char *label;
	enum fault_kind kind;
	int err;
};

#define ERR(e) { #e, F_ERRNO, e }
#define SHORTS { "short-half", F_SHORT_HALF, 0 }, { "short-1", F_SHORT_ONE, 0 }
#define SHORT_THEN(e) { "short-then-" #e, F_SHORT_THEN_ERR, e }
#define END { NULL, F_ERRNO, 0 }

static const struct fault f_openat[] = { ERR(ENOENT), ERR(EACCES), ERR(EMFILE), ERR(ENOSPC),
					 ERR(EINTR), ERR(EIO), END };
static const struct fault f_close[] = { ERR(EIO), ERR(EINTR), END };
static const struct fault f_fstat[] = { ERR(EIO), ERR(EOVERFLOW), END };
static const struct fault f_fstatat[] = { ERR(ENOENT), ERR(EACCES), ERR(EIO), ERR(EOVERFLOW), END };
static const struct fault f_ftruncate[] = { ERR(ENOSPC), ERR(EIO), ERR(EFBIG), ERR(EINTR),
					    ERR(EPERM), END };
static const struct fault f_fallocate[] = { ERR(ENOSPC), ERR(EDQUOT), ERR(EIO), ERR(EFBIG),
					    ERR(EINTR), ERR(EOPNOTSUPP),
					    { "ENOSPC-partial", F_PARTIAL, ENOSPC }, END };
static const struct fault f_sync[] = { ERR(EIO), ERR(ENOSPC), END };
static const struct fault f_dupfd[] = { ERR(EMFILE), ERR(EBADF), END };
static const struct fault f_getfl[] = { ERR(EBADF), END };
/* The kernel replaces a MAP_FIXED range by unmapping it first, and may fail after. */
static const struct fault f_mmap[] = { ERR(ENOMEM), ERR(EACCES), ERR(EAGAIN),
				       { "ENOMEM-hole", F_HOLE, ENOMEM }, END };
static const struct fault f_munmap[] = { ERR(EINVAL), ERR(ENOMEM), END };
static const struct fault f_mremap[] = { ERR(ENOMEM), ERR(EFAULT), ERR(EAGAIN), END };
static const struct fault f_msync[] = { ERR(EIO), ERR(ENOSPC), ERR(ENOMEM), END };
static const struct fault f_madvise[] = { ERR(EAGAIN), ERR(EINVAL), ERR(ENOMEM), ERR(EIO), END };
static const struct fault f_mlock[] = { ERR(ENOMEM), ERR(EPERM), ERR(EAGAIN), END };
static const struct fault f_munlock[] = { ERR(ENOMEM), ERR(EPERM), END };
static const struct fault f_mincore[] = { ERR(ENOMEM), ERR(EAGAIN), END };
static const struct fault f_pread[] = { ERR(EIO), ERR(EINTR), SHORTS, SHORT_THEN(EIO), END };
static const struct fault f_pwrite[] = { ERR(EIO), ERR(ENOSPC), ERR(EDQUOT), ERR(EINTR), ERR(EFBIG),
					 SHORTS, SHORT_THEN(ENOSPC), END };
static const struct fault f_cfr[] = { ERR(EIO), ERR(ENOSPC), ERR(EDQUOT), ERR(EINTR), ERR(EXDEV),
				      ERR(EOPNOTSUPP), SHORTS, SHORT_THEN(ENOSPC), END };
static const struct fault f_ficlone[] = { ERR(EOPNOTSUPP), ERR(EXDEV), ERR(EIO), ERR(ENOSPC), END };
static const struct fault f_unlinkat[] = { ERR(EACCES), ERR(EBUSY), ERR(EIO), ERR(EPERM), END };
static const struct fault f_fchmod[] = { ERR(EPERM), ERR(EIO), END };
static const struct fault f_rename[] = { ERR(EACCES), ERR(EIO), ERR(ENOSPC), ERR(EXDEV), ERR(EBUSY),
					 END };
static const struct fault f_writeback[] = { ERR(EIO), ERR(ENOMEM), END };
static const struct fault f_setlk[] = { ERR(EAGAIN), ERR(EDEADLK), ERR(EINTR), ERR(ENOLCK), END };
static const struct fault f_linkat[] = { ERR(EACCES), ERR(EIO), ERR(ENOSPC), ERR(EMLINK), END };
static const struct fault f_key[] = { ERR(EAGAIN), ERR(ENOMEM), END };
static const struct fault f_sigaction[] = { ERR(EINVAL), END };

struct entry_info {
	const char *name;
	const struct fault *faults;
	bool durability; /* a failure must never end in a return of 0 */
};

static const struct entry_info entry_infos[E_COUNT] = {
	[E_OPENAT] = { "openat", f_openat, false },
	[E_CLOSE] = { "close", f_close, false },
	[E_FSTAT] = { "fstat", f_fstat, false },
	[E_FSTATAT] = { "fstatat", f_fstatat, false },
	[E_FTRUNCATE] = { "ftruncate", f_ftruncate, false },
	[E_FALLOCATE] = { "fallocate", f_fallocate, false },
	[E_FSYNC] = { "fsync", f_sync, true },
	[E_FDATASYNC] = { "fdatasync", f_sync, true },
	[E_DUPFD] = { "dupfd", f_dupfd, false },
	[E_FCNTL_GETFL] = { "fcntl_getfl", f_getfl, false },
	[E_MMAP] = { "mmap", f_mmap, false },
	[E_MUNMAP] = { "munmap", f_munmap, false },
	[E_MREMAP] = { "mremap", f_mremap, false },
	[E_MSYNC] = { "msync", f_msync, true },
	[E_MADVISE] = { "madvise", f_madvise, false },
	[E_MLOCK] = { "mlock", f_mlock, false },
	[E_MUNLOCK] = { "munlock", f_munlock, false },
	[E_MINCORE] = { "mincore", f_mincore, false },
	[E_PREAD] = { "pread", f_pread, false },
	[E_PWRITE] = { "pwrite", f_pwrite, false },
	[E_COPY_FILE_RANGE] = { "copy_file_range", f_cfr, false },
	[E_FICLONE] = { "ficlone", f_ficlone, false },
	[E_UNLINKAT] = { "unlinkat", f_unlinkat, false },
	[E_RENAMEAT] = { "renameat", f_rename, false },
	[E_RENAMEAT2] = { "renameat2", f_rename, false },
	[E_WRITEBACK] = { "writeback", f_writeback, false },
	[E_WRITEBACK_WAIT] = { "writeback_wait", f_sync, true },
	[E_SETLK] = { "setlk", f_setlk, false },
	[E_LINKAT] = { "linkat", f_linkat, false },
	[E_FCHMOD] = { "fchmod", f_fchmod, false },
	[E_SIGACTION] = { "sigaction", f_sigaction, false },
	[E_TLS_KEY_CREATE] = { "tls_key_create", f_key, false },
};

/* ------------------------------------------------------------------------ */
/* Counting and injecting wrappers                                          */
/* ------------------------------------------------------------------------ */

/* The real entries, saved before any wrapper is installed. */
static struct mmapio__sys real_sys;

/* What the wrappers do in this (forked) run. */
static struct {
	bool live;        /* the operation runs: count, and inject when armed */
	bool armed;
	enum entry entry;
	unsigned k;
	const struct fault *fault;
	bool fired;
	unsigned counts[E_COUNT];
	size_t unmap_len; /* bytes of the munmap the fault refused */
	unsigned env;     /* ENV_*: conditions of the whole run */
	struct fault then; /* the failure after a short transfer */
} inj;

/*
 * Conditions that hold for every call of a run, so that the counting run
 * takes (and the sweep then fails) the paths a filesystem without them
 * takes: one without copy_file_range between the two files (EXDEV), one
 * without fallocate (EOPNOTSUPP), one that clones (reflink).  ENV_COLD has
 * mincore report every page absent from the page cache, as the pages of a
 * fresh sparse file are; valgrind reports them present, which would send
 * the large writes through the mapping instead of pwrite.
 */
#define ENV_NO_CFR 0x1u
#define ENV_NO_FALLOCATE 0x2u
#define ENV_CLONE 0x4u
#define ENV_COLD 0x8u

/* Counts a call of e; returns the fault to apply to it, or NULL. */
static const struct fault *hit(enum entry e)
{
	if (!inj.live)
		return NULL;
	inj.counts[e]++;
	if (!inj.armed || e != inj.entry)
		return NULL;
	if (inj.counts[e] == inj.k) {
		inj.fired = true;
		return inj.fault;
	}
	if (inj.counts[e] == inj.k + 1 && inj.fault->kind == F_SHORT_THEN_ERR) {
		inj.then.label = inj.fault->label;
		inj.then.kind = F_ERRNO;
		inj.then.err = inj.fault->err;
		return &inj.then;
	}
	return NULL;
}

/* True for the faults that move part of a transfer instead of failing it. */
static bool is_short(const struct fault *f)
{
	return f->kind == F_SHORT_HALF || f->kind == F_SHORT_ONE || f->kind == F_SHORT_THEN_ERR;
}

/* Returns the length a short transfer of len moves under fault f. */
static size_t short_len(const struct fault *f, size_t len)
{
	if (len <= 1)
		return len;
	return f->kind == F_SHORT_ONE ? 1 : len / 2;
}

/*
 * The wrappers.  Each counts its call and returns what the real entry
 * returns, or, on the call the fault is for, the fault's result: -err for
 * an errno (having done nothing, except close, which releases the
 * descriptor as Linux does), the real transfer cut short, and so on.
 */
static int w_openat(int dirfd, const char *path, int flags, unsigned mode)
{
	const struct fault *f = hit(E_OPENAT);

	return f ? -f->err : real_sys.openat(dirfd, path, flags, mode);
}

static int w_close(int fd)
{
	const struct fault *f = hit(E_CLOSE);
	/* Linux releases the descriptor even when close reports an error. */
	int r = real_sys.close(fd);

	return f ? -f->err : r;
}

static int w_fstat(int fd, struct stat *st)
{
	const struct fault *f = hit(E_FSTAT);

	return f ? -f->err : real_sys.fstat(fd, st);
}

static int w_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	const struct fault *f = hit(E_FSTATAT);

	return f ? -f->err : real_sys.fstatat(dirfd, path, st, flags);
}

static int w_ftruncate(int fd, uint64_t len)
{
	const struct fault *f = hit(E_FTRUNCATE);

	return f ? -f->err : real_sys.ftruncate(fd, len);
}

static int w_fallocate(int fd, int mode, uint64_t off, uint64_t len)
{
	const struct fault *f = hit(E_FALLOCATE);
	struct stat st;

	if (!f && (inj.env & ENV_NO_FALLOCATE))
		return -EOPNOTSUPP;
	if (!f)
		return real_sys.fallocate(fd, mode, off, len);
	/* ext4 may run out of space part way, leaving the file longer. */
	if (f->kind == F_PARTIAL && real_sys.fstat(fd, &st) == 0 &&
	    (uint64_t)st.st_size < off + len / 2)
		real_sys.ftruncate(fd, off + len / 2);
	return -f->err;
}

static int w_fsync(int fd)
{
	const struct fault *f = hit(E_FSYNC);

	return f ? -f->err : real_sys.fsync(fd);
}

static int w_fdatasync(int fd)
{
	const struct fault *f = hit(E_FDATASYNC);

	return f ? -f->err : real_sys.fdatasync(fd);
}

static int w_dupfd(int fd)
{
	const struct fault *f = hit(E_DUPFD);

	return f ? -f->err : real_sys.dupfd(fd);
}

static int w_fcntl_getfl(int fd)
{
	const struct fault *f = hit(E_FCNTL_GETFL);

	return f ? -f->err : real_sys.fcntl_getfl(fd);
}

/*
 * Every range the library mapped through the table in this run, setup
 * included: after the run nothing may be mapped inside them any more.
 * Asked of the kernel by address rather than by kind, because a sanitizer's
 * allocator makes PROT_NONE mappings of its own.
 */
static struct {
	uintptr_t lo, hi;
} made[64];
static unsigned n_made;

/* Notes [p, p + len) as mapped by the library.  Returns nothing. */
static void note_made(const void *p, size_t len)
{
	uintptr_t lo = (uintptr_t)p, hi = lo + len;

	for (unsigned i = 0; i < n_made; i++) {
		if (lo >= made[i].lo && hi <= made[i].hi)
			return;
		if (lo <= made[i].lo && hi >= made[i].hi) {
			made[i].lo = lo;
			made[i].hi = hi;
			return;
		}
	}
	if (n_made < sizeof(made) / sizeof(made[0])) {
		made[n_made].lo = lo;
		made[n_made].hi = hi;
		n_made++;
	}
}

static int w_mmap(void *addr, size_t len, int prot, int flags, int fd, uint64_t off, void **out)
{
	const struct fault *f = hit(E_MMAP);
	int r;

	if (!f) {
		r = real_sys.mmap(addr, len, prot, flags, fd, off, out);
		if (r == 0)
			note_made(*out, len);
		return r;
	}
	if (f->kind == F_HOLE && (flags & MAP_FIXED))
		real_sys.munmap(addr, len);
	return -f->err;
}

static int w_munmap(void *addr, size_t len)
{
	const struct fault *f = hit(E_MUNMAP);

	if (!f)
		return real_sys.munmap(addr, len);
	inj.unmap_len = len;
	return -f->err;
}

static int w_mremap(void *old, size_t old_len, size_t new_len, int flags, void **out)
{
	const struct fault *f = hit(E_MREMAP);
	int r;

	if (f)
		return -f->err;
	r = real_sys.mremap(old, old_len, new_len, flags, out);
	if (r == 0)
		note_made(*out, new_len);
	return r;
}

static int w_msync(void *addr, size_t len, int flags)
{
	const struct fault *f = hit(E_MSYNC);

	return f ? -f->err : real_sys.msync(addr, len, flags);
}

static int w_madvise(void *addr, size_t len, int advice)
{
	const struct fault *f = hit(E_MADVISE);

	return f ? -f->err : real_sys.madvise(addr, len, advice);
}

static int w_mlock(const void *addr, size_t len)
{
	const struct fault *f = hit(E_MLOCK);

	return f ? -f->err : real_sys.mlock(addr, len);
}

static int w_munlock(const void *addr, size_t len)
{
	const struct fault *f = hit(E_MUNLOCK);

	return f ? -f->err : real_sys.munlock(addr, len);
}

static int w_mincore(void *addr, size_t len, unsigned char *vec)
{
	const struct fault *f = hit(E_MINCORE);

	if (!f && (inj.env & ENV_COLD)) {
		size_t page = (size_t)sysconf(_SC_PAGESIZE);

		memset(vec, 0, (len + page - 1) / page);
		return 0;
	}
	return f ? -f->err : real_sys.mincore(addr, len, vec);
}

static int64_t w_pread(int fd, void *buf, size_t len, uint64_t off)
{
	const struct fault *f = hit(E_PREAD);

	if (!f)
		return real_sys.pread(fd, buf, len, off);
	if (is_short(f))
		return real_sys.pread(fd, buf, short_len(f, len), off);
	return -f->err;
}

static int64_t w_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	const struct fault *f = hit(E_PWRITE);

	if (!f)
		return real_sys.pwrite(fd, buf, len, off);
	if (is_short(f))
		return real_sys.pwrite(fd, buf, short_len(f, len), off);
	return -f->err;
}

static int64_t w_copy_file_range(int in, uint64_t *in_off, int out, uint64_t *out_off, size_t len)
{
	const struct fault *f = hit(E_COPY_FILE_RANGE);

	if (!f && (inj.env & ENV_NO_CFR))
		return -EXDEV;
	if (!f)
		return real_sys.copy_file_range(in, in_off, out, out_off, len);
	if (is_short(f))
		return real_sys.copy_file_range(in, in_off, out, out_off, short_len(f, len));
	return -f->err;
}

/*
 * Stands in for a reflink clone: copies all of src to dst (both at offset
 * 0, dst empty) with the real copy_file_range.  Returns 0 or -errno.
 */
static int clone_by_copy(int dst, int src)
{
	uint64_t in_off = 0, out_off = 0;
	struct stat st;
	int64_t n = 1;

	if (real_sys.fstat(src, &st) < 0)
		return -EIO;
	while (in_off < (uint64_t)st.st_size && n > 0)
		n = real_sys.copy_file_range(src, &in_off, dst, &out_off,
					     (size_t)((uint64_t)st.st_size - in_off));
	return n < 0 ? (int)n : 0;
}

static int w_ficlone(int dst, int src)
{
	const struct fault *f = hit(E_FICLONE);

	if (!f && (inj.env & ENV_CLONE))
		return clone_by_copy(dst, src);
	return f ? -f->err : real_sys.ficlone(dst, src);
}

static int w_unlinkat(int dirfd, const char *path, int flags)
{
	const struct fault *f = hit(E_UNLINKAT);

	return f ? -f->err : real_sys.unlinkat(dirfd, path, flags);
}

static int w_renameat(int a, const char *from, int b, const char *to)
{
	const struct fault *f = hit(E_RENAMEAT);

	return f ? -f->err : real_sys.renameat(a, from, b, to);
}

static int w_renameat2(int a, const char *from, int b, const char *to, unsigned flags)
{
	const struct fault *f = hit(E_RENAMEAT2);

	return f ? -f->err : real_sys.renameat2(a, from, b, to, flags);
}

static int w_writeback(int fd, uint64_t off, uint64_t len)
{
	const struct fault *f = hit(E_WRITEBACK);

	return f ? -f->err : real_sys.writeback(fd, off, len);
}

static int w_writeback_wait(int fd, uint64_t off, uint64_t len)
{
	const struct fault *f = hit(E_WRITEBACK_WAIT);

	return f ? -f->err : real_sys.writeback_wait(fd, off, len);
}

static int w_setlk(int fd, int type, bool wait, bool ofd, uint64_t off, uint64_t len)
{
	const struct fault *f = hit(E_SETLK);

	return f ? -f->err : real_sys.setlk(fd, type, wait, ofd, off, len);
}

static int w_linkat(int a, const char *from, int b, const char *to, int flags)
{
	const struct fault *f = hit(E_LINKAT);

	return f ? -f->err : real_sys.linkat(a, from, b, to, flags);
}

static int w_tls_key_create(pthread_key_t *key, void (*destructor)(void *))
{
	const struct fault *f = hit(E_TLS_KEY_CREATE);

	return f ? -f->err : real_sys.tls_key_create(key, destructor);
}

static int w_fchmod(int fd, unsigned mode)
{
	const struct fault *f = hit(E_FCHMOD);

	return f ? -f->err : real_sys.fchmod(fd, mode);
}

static int w_sigaction(int sig, const struct sigaction *act, struct sigaction *old)
{
	const struct fault *f = hit(E_SIGACTION);

	return f ? -f->err : real_sys.sigaction(sig, act, old);
}

/* Puts a counting (and, when armed, injecting) wrapper on every entry. */
static void install_wrappers(void)
{
	mmapio__sys.openat = w_openat;
	mmapio__sys.close = w_close;
	mmapio__sys.fstat = w_fstat;
	mmapio__sys.fstatat = w_fstatat;
	mmapio__sys.ftruncate = w_ftruncate;
	mmapio__sys.fallocate = w_fallocate;
	mmapio__sys.fsync = w_fsync;
	mmapio__sys.fdatasync = w_fdatasync;
	mmapio__sys.dupfd = w_dupfd;
	mmapio__sys.fcntl_getfl = w_fcntl_getfl;
	mmapio__sys.mmap = w_mmap;
	mmapio__sys.munmap = w_munmap;
	mmapio__sys.mremap = w_mremap;
	mmapio__sys.msync = w_msync;
	mmapio__sys.madvise = w_madvise;
	mmapio__sys.mlock = w_mlock;
	mmapio__sys.munlock = w_munlock;
	mmapio__sys.mincore = w_mincore;
	mmapio__sys.pread = w_pread;
	mmapio__sys.pwrite = w_pwrite;
	mmapio__sys.copy_file_range = w_copy_file_range;
	mmapio__sys.ficlone = w_ficlone;
	mmapio__sys.unlinkat = w_unlinkat;
	mmapio__sys.fchmod = w_fchmod;
	mmapio__sys.renameat = w_renameat;
	mmapio__sys.renameat2 = w_renameat2;
	mmapio__sys.writeback = w_writeback;
	mmapio__sys.writeback_wait = w_writeback_wait;
	mmapio__sys.setlk = w_setlk;
	mmapio__sys.linkat = w_linkat;
	mmapio__sys.tls_key_create = w_tls_key_create;
	mmapio__sys.sigaction = w_sigaction;
}

/* ------------------------------------------------------------------------ */
/* What a run reports                                                       */
/* ------------------------------------------------------------------------ */

enum cat { C_DOC, C_FD, C_MAP, C_FILE, C_STATE, C_CRASH, C_NCAT };

static const char *const cat_names[C_NCAT] = {
	"documented-return", "fd-leak", "mapping-leak", "file-state", "map-state", "crash",
};

#define MAX_VIOL 6

struct report {
	int rc;                   /* the operation's result */
	bool fired;               /* the fault reached its call */
	bool skipped;             /* the operation cannot run here (reason in note) */
	bool dst_broken;          /* a failed OVERWRITE copy changed the old destination */
	bool unmap_leak_ok;       /* a refused teardown munmap left its mapping, by design */
	unsigned counts[E_COUNT]; /* calls of each entry during the operation */
	int nviol;
	int more_viol;            /* violations beyond MAX_VIOL */
	struct {
		int cat;
		char msg[200];
	} viol[MAX_VIOL];
	char note[200];
};

/* ------------------------------------------------------------------------ */
/* Files, models and measurements (plain system calls, not the library)     */
/* ------------------------------------------------------------------------ */

static size_t pg;                /* the page size */
static char sweep_dir[PATH_MAX]; /* every run's files live under it */

#define MAP_LEN (3 * pg + 100)    /* the maps of most operations */
#define BIG_FILE (64 * pg)        /* the sparse file of the large writes */
#define BIG_OFF pg                /* where the large writes go */
#define BIG_LEN ((size_t)128 << 10) /* at least the 64 KiB that go through pwrite */
#define SRC_LEN ((size_t)100 << 10) /* a copy done on the calling thread */
#define SRC_BIG ((size_t)1 << 20)   /* a copy done on the default ring */
#define DST_OLD 30000u            /* the destination an OVERWRITE copy replaces */
#define RESERVE (64 * pg)

enum { SEED_MAP = 7, SEED_SRC = 1, SEED_DST = 2, SEED_NEW = 9, SEED_OLD = 3 };

/* Returns byte i of the fill pattern with the given seed. */
static unsigned char pattern_byte(uint64_t i, unsigned seed)
{
	uint32_t x = (uint32_t)(i * 2654435761u) ^ (uint32_t)(i >> 32) ^ (seed * 0x9e3779b9u);

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (unsigned char)(x >> 24);
}

/* Fills buf with the pattern for offsets [off, off + len). */
static void fill(unsigned char *buf, size_t len, uint64_t off, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = pattern_byte(off + i, seed);
}

/* Returns a zeroed buffer of len bytes (at least 1); exits the run on ENOMEM. */
static unsigned char *zalloc(size_t len)
{
	unsigned char *p = calloc(1, len ? len : 1);

	if (!p)
		_exit(3);
	return p;
}

/* Number of open descriptors, not counting the one used to list them. */
static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;
}

/* What the leak checks compare before and after a run. */
struct usage {
	int fds;
	uint64_t files;    /* bytes mapped of files under sweep_dir */
	uint64_t rings;    /* bytes of io_uring ring mappings */
};

/* Fills *u from /proc/self/fd and /proc/self/maps. */
static void measure(struct usage *u)
{
	char line[PATH_MAX + 256];
	size_t dlen = strlen(sweep_dir);
	FILE *f;

	memset(u, 0, sizeof(*u));
	u->fds = count_fds();
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo, hi, ino;
		char perm[8];
		const char *path;
		int n = 0;

		if (sscanf(line, "%lx-%lx %7s %*s %*s %lu %n", &lo, &hi, perm, &ino, &n) < 4 || !n)
			continue;
		path = line + n;
		if (strncmp(path, sweep_dir, dlen) == 0)
			u->files += hi - lo;
		else if (strstr(path, "io_uring"))
			u->rings += hi - lo;
	}
	fclose(f);
}

/* Returns how many bytes of [lo, hi) are mapped, by anything, per /proc/self/maps. */
static uint64_t covered_bytes(uintptr_t lo, uintptr_t hi)
{
	char line[PATH_MAX + 256];
	uint64_t sum = 0;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		unsigned long a, b;

		if (sscanf(line, "%lx-%lx", &a, &b) != 2)
			continue;
		if (a < lo)
			a = lo;
		if (b > hi)
			b = hi;
		if (a < b)
			sum += b - a;
	}
	fclose(f);
	return sum;
}

/* Removes one entry of a tree for nftw.  Returns 0 to go on. */
static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP || type == FTW_D)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Removes a directory tree; a missing one is fine. */
static void rmtree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* True when path exists (a dangling link counts). */
static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Size of the file at path, or -1 when it does not exist. */
static long long file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/*
 * Reads the whole file at path with its own descriptor into a malloc'd
 * buffer (free it).  Returns NULL when it cannot be opened or read.
 */
static unsigned char *slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return NULL;
	}
	buf = zalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = pread(fd, buf + got, (size_t)st.st_size - got, (off_t)got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return buf;
}

/* ------------------------------------------------------------------------ */
/* The state of one run                                                     */
/* ------------------------------------------------------------------------ */

struct scenario;

struct ctx {
	const struct scenario *s;
	struct report *rep;
	char dir[PATH_MAX];
	char a[PATH_MAX];        /* the map's file, the copy's source, the file deleted */
	char b[PATH_MAX];        /* the copy's destination */
	mmapio_map *map;         /* the map the operation works on */
	mmapio_map *out;         /* what a map-making operation stores */
	mmapio_ring *ring;
	int ufd;                 /* the caller's own descriptor (open_fd) */
	unsigned char *want;     /* what the map and its file must hold */
	size_t want_len;
	const unsigned char *newb; /* bytes a failed write may have left ... */
	size_t new_off, new_len;   /* ... in [new_off, new_off + new_len) */
	void *base;              /* mmapio_base before the operation */
	uint64_t len0;           /* mmapio_len before the operation */
	uint64_t target;         /* resize: the size asked for */
	bool keep_base;          /* resize: growth inside the reservation keeps base */
	uint64_t reserve;        /* the map's reservation in bytes, 0 if none */
	struct mmapio_segment seg;
};

/* Something no library call stores: *out must still hold it after a failure. */
static char sentinel_obj;
#define SENTINEL ((mmapio_map *)(void *)&sentinel_obj)

/* Records a violation of category cat in the run's report. */
static void viol(struct ctx *c, int cat, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void viol(struct ctx *c, int cat, const char *fmt, ...)
{
	struct report *r = c->rep;
	va_list ap;

	if (r->nviol >= MAX_VIOL) {
		r->more_viol++;
		return;
	}
	r->viol[r->nviol].cat = cat;
	va_start(ap, fmt);
	vsnprintf(r->viol[r->nviol].msg, sizeof(r->viol[r->nviol].msg), fmt, ap);
	va_end(ap);
	r->nviol++;
}

/* Reports a setup that could not be made and ends the run. */
static void setup_fail(struct ctx *c, const char *what, int err) __attribute__((noreturn));

/* The pipe end the child reports through. */
static int report_fd = -1;

/* Sends the report to the parent.  Returns nothing; ends the child. */
static void send_report(const struct report *r) __attribute__((noreturn));
static void send_report(const struct report *r)
{
	const char *p = (const char *)r;
	size_t left = sizeof(*r);

	while (left > 0) {
		ssize_t n = write(report_fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(2);
		p += n;
		left -= (size_t)n;
	}
	_exit(0);
}

static void setup_fail(struct ctx *c, const char *what, int err)
{
	viol(c, C_CRASH, "setup: %s: %s", what, strerror(err < 0 ? -err : err));
	mmapio__sys_reset();
	rmtree(c->dir);
	send_report(c->rep);
}

/* Reports that the operation cannot run here, and why, and ends the run. */
static void setup_skip(struct ctx *c, const char *why) __attribute__((noreturn));
static void setup_skip(struct ctx *c, const char *why)
{
	c->rep->skipped = true;
	snprintf(c->rep->note, sizeof(c->rep->note), "%s", why);
	mmapio__sys_reset();
	rmtree(c->dir);
	send_report(c->rep);
}

/* Writes len bytes of the pattern with seed to a new file at path with mode. */
static void make_file(struct ctx *c, const char *path, size_t len, unsigned seed, mode_t mode)
{
	unsigned char *buf = zalloc(len);
	size_t done = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0)
		setup_fail(c, path, errno);
	fill(buf, len, 0, seed);
	while (done < len) {
		ssize_t n = pwrite(fd, buf + done, len - done, (off_t)done);

		if (n <= 0)
			setup_fail(c, "pwrite", n < 0 ? errno : EIO);
		done += (size_t)n;
	}
	if (fchmod(fd, mode) != 0 || close(fd) != 0)
		setup_fail(c, "fchmod/close", errno);
	free(buf);
}

/* Makes a sparse file of len zero bytes at path, none of it in the page cache. */
static void make_sparse(struct ctx *c, const char *path, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || ftruncate(fd, (off_t)len) != 0)
		setup_fail(c, "sparse file", errno);
	close(fd);
}

/*
 * Returns the first offset below len where got differs from the model: the
 * bytes of want, where a failed write's window may also hold its new bytes.
 * Returns len when none differs.
 */
static size_t model_diff(const struct ctx *c, const unsigned char *got, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		bool in_window = c->newb && i >= c->new_off && i - c->new_off < c->new_len;

		if (got[i] == c->want[i])
			continue;
		if (in_window && got[i] == c->newb[i - c->new_off])
			continue;
		return i;
	}
	return len;
}

/* Checks the file at path against the model; returns true when it matches. */
static bool file_matches(struct ctx *c, const char *path, const char *when)
{
	size_t len = 0, at;
	unsigned char *got = slurp(path, &len);

	if (!got) {
		viol(c, C_FILE, "%s: the file is gone", when);
		return false;
	}
	if (len != c->want_len) {
		viol(c, C_FILE, "%s: the file has %zu bytes, expected %zu", when, len, c->want_len);
		free(got);
		return false;
	}
	at = model_diff(c, got, len);
	if (at < len)
		viol(c, C_FILE, "%s: file byte %zu is 0x%02x, expected 0x%02x", when, at,
		     (unsigned)got[at], (unsigned)c->want[at]);
	free(got);
	return at == len;
}

/* Checks map's length and bytes against the model; returns true when they match. */
static bool map_matches(struct ctx *c, mmapio_map *map, const char *when)
{
	unsigned char *got;
	size_t at;
	int rc;

	if (mmapio_len(map) != c->want_len) {
		viol(c, C_STATE, "%s: mmapio_len is %llu, expected %zu", when,
		     (unsigned long long)mmapio_len(map), c->want_len);
		return false;
	}
	/* On a zero-length map every range is -ERANGE: nothing to read. */
	if (c->want_len == 0)
		return true;
	got = zalloc(c->want_len);
	rc = mmapio_read(map, 0, got, c->want_len);
	if (rc != 0) {
		viol(c, C_STATE, "%s: mmapio_read of the whole map: %d (%s)", when, rc,
		     mmapio_strerror(rc));
		free(got);
		return false;
	}
	at = model_diff(c, got, c->want_len);
	if (at < c->want_len)
		viol(c, C_STATE, "%s: map byte %zu is 0x%02x, expected 0x%02x", when, at,
		     (unsigned)got[at], (unsigned)c->want[at]);
	free(got);
	return at == c->want_len;
}

/* Checks that the file at path holds exactly len bytes of the pattern with seed. */
static bool file_has_pattern(const char *path, size_t len, unsigned seed)
{
	size_t got_len = 0;
	unsigned char *got = slurp(path, &got_len);
	bool ok = got && got_len == len;

	for (size_t i = 0; ok && i < len; i++)
		ok = got[i] == pattern_byte(i, seed);
	free(got);
	return ok;
}

/* Takes the window of a write into the model (the write succeeded). */
static void model_apply_window(struct ctx *c)
{
	if (c->newb)
		memcpy(c->want + c->new_off, c->newb, c->new_len);
	c->newb = NULL;
}

/* Resizes the model to len bytes, growth reading as zeros. */
static void model_resize(struct ctx *c, size_t len)
{
	unsigned char *w = zalloc(len);

	memcpy(w, c->want, len < c->want_len ? len : c->want_len);
	free(c->want);
	c->want = w;
	c->want_len = len;
}

/* ------------------------------------------------------------------------ */
/* Documented returns                                                       */
/* ------------------------------------------------------------------------ */

/*
 * The returns each public call's comment in mmapio.h lists.  os: the
 * comment also admits "other -errno from the OS"; without it the list is
 * closed.  A list ends at the first 0.
 */
struct doc {
	const char *call;
	bool os;
	int errs[8];
};

static const struct doc docs[] = {
	{ "mmapio_create", true, { EINVAL, EEXIST, EISDIR, ENOSPC } },
	{ "mmapio_open", true, { EINVAL, ENOENT, EISDIR, EACCES } },
	{ "mmapio_open_fd", true, { EINVAL, ENOENT, EISDIR, EACCES, EBADF } },
	{ "mmapio_close", false, { EBUSY } },
	{ "mmapio_read", false, { EINVAL, ERANGE, EFAULT } },
	/* Large writes pass pwrite's and fstat's errors through, as documented. */
	{ "mmapio_write", true, { EINVAL, EACCES, ERANGE, EFAULT, ENOSPC, EIO } },
	{ "mmapio_view", false, { EINVAL, EACCES, ERANGE } },
	{ "mmapio_atomic", false, { EINVAL, ERANGE, EACCES } },
	{ "mmapio_segment", false, { EINVAL, EACCES, ERANGE, EFAULT } },
	{ "mmapio_segment_write", true, { EINVAL, EACCES, ERANGE, EFAULT, ENOSPC, EIO } },
	{ "mmapio_segment_flush", true, { EINVAL, ERANGE, EIO, ENOSPC } },
	{ "mmapio_flush", true, { EINVAL, EIO, ENOSPC } },
	{ "mmapio_flush_range", true, { EINVAL, ERANGE, EIO, ENOSPC } },
	{ "mmapio_resize", true, { EINVAL, EACCES, EBUSY, ENOMEM, ENOSPC } },
	{ "mmapio_advise", true, { EINVAL, ERANGE, EACCES, ENOTSUP } },
	{ "mmapio_lock", false, { EINVAL, ERANGE, ENOMEM, EPERM, EAGAIN } },
	{ "mmapio_unlock", true, { EINVAL, ERANGE, ENOMEM, EPERM } },
	{ "mmapio_copy", true, { EINVAL, EEXIST, ENOENT, EISDIR } },
	{ "mmapio_delete", true, { EINVAL, ENOENT, EISDIR } },
	{ "mmapio_rename", true, { EINVAL, ENOTSUP, EEXIST, ENOENT, EXDEV } },
	{ "mmapio_flush_start", true, { EINVAL, ERANGE } },
	{ "mmapio_range_lock", true, { EINVAL, EACCES, EAGAIN, EDEADLK, EINTR } },
	{ "mmapio_ring_open", false, { EINVAL, ENOTSUP, ENOSYS, EPERM, ENOMEM } },
	{ "mmapio_ring_fd", true, { EINVAL } },
	{ "mmapio_ring_prep", false, { EINVAL, ENOMEM, ERANGE } },
	{ "mmapio_ring_submit", true, { EINVAL } },
	{ "mmapio_ring_reap", true, { EINVAL, EINTR } },
	{ "mmapio_ring_close", false, { EEXIST } },
	/* struct mmapio_completion: "0 on success, -errno on failure". */
	{ "completion", true, { 0 } },
};

/*
 * Checks that rc is a return call documents: 0, or a negative errno in its
 * list (or any negative errno where the OS's are passed through).  Records
 * a violation otherwise; returns true when rc is documented.
 */
static bool check_doc(struct ctx *c, const char *call, int rc)
{
	const struct doc *d = NULL;

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
		if (strcmp(docs[i].call, call) == 0)
			d = &docs[i];
	if (rc == 0)
		return true;
	if (rc > 0 || rc < -4095) {
		viol(c, C_DOC, "%s returned %d, which is no -errno", call, rc);
		return false;
	}
	if (!d || d->os)
		return true;
	for (size_t i = 0; i < 8 && d->errs[i]; i++)
		if (-rc == d->errs[i])
			return true;
	viol(c, C_DOC, "%s returned %d (%s), which its comment does not list", call, rc,
	     mmapio_strerror(rc));
	return false;
}

/* ------------------------------------------------------------------------ */
/* Scenarios                                                                */
/* ------------------------------------------------------------------------ */

enum engine {
	ENG_DIRECT,   /* system calls on the calling thread (MMAPIO_BACKEND=fallback) */
	ENG_BLOCKING, /* a ring or the default ring on the blocking engine */
	ENG_URING     /* a ring or the default ring on io_uring */
};

#define S_DEFAULT_RING 0x1u  /* opens the thread's default ring before measuring */
#define S_UNMAP_LEAK_OK 0x2u /* see check_leaks: a teardown nobody can redo */
#define S_MAY_SKIP 0x4u      /* a fault-free failure means "cannot run here" */

struct scenario {
	const char *name;
	const char *call;         /* whose documented returns apply to run's result */
	enum engine engine;
	unsigned flags;
	void (*setup)(struct ctx *c);
	int (*run)(struct ctx *c); /* the operation; returns its result */
	void (*check)(struct ctx *c, int rc);
	int expect;               /* the result without a fault */
	unsigned env;             /* ENV_*: the conditions of the run */
};

/* Options with the given flags and reservation. */
static struct mmapio_options opts_of(unsigned flags, uint64_t reserve)
{
	struct mmapio_options o;

	memset(&o, 0, sizeof(o));
	o.flags = flags;
	o.reserve = reserve;
	return o;
}

/* --- maps made by the operation: create, open, open_fd ------------------- */

static void setup_nothing(struct ctx *c)
{
	c->out = SENTINEL;
	c->want = zalloc(MAP_LEN);
	c->want_len = MAP_LEN;
}

static void setup_old_file(struct ctx *c)
{
	setup_nothing(c);
	make_file(c, c->a, 5000, SEED_OLD, 0644);
}

static void setup_pattern_file(struct ctx *c)
{
	c->out = SENTINEL;
	c->want_len = MAP_LEN;
	c->want = zalloc(MAP_LEN);
	fill(c->want, MAP_LEN, 0, SEED_MAP);
	make_file(c, c->a, MAP_LEN, SEED_MAP, 0644);
}

static void setup_pattern_fd(struct ctx *c)
{
	setup_pattern_file(c);
	c->ufd = open(c->a, O_RDWR | O_CLOEXEC);
	if (c->ufd < 0)
		setup_fail(c, "open", errno);
}

static int run_create(struct ctx *c)
{
	return mmapio_create(c->a, MAP_LEN, NULL, &c->out);
}

static int run_create_sparse(struct ctx *c)
{
	struct mmapio_options o = opts_of(MMAPIO_CREATE_SPARSE, 0);

	return mmapio_create(c->a, MAP_LEN, &o, &c->out);
}

static int run_create_durable(struct ctx *c)
{
	struct mmapio_options o = opts_of(MMAPIO_CREATE_DURABLE, 0);

	return mmapio_create(c->a, MAP_LEN, &o, &c->out);
}

static int run_create_reserve(struct ctx *c)
{
	struct mmapio_options o = opts_of(MMAPIO_MAP_POPULATE, RESERVE);

	return mmapio_create(c->a, MAP_LEN, &o, &c->out);
}

static int run_create_excl(struct ctx *c)
{
	struct mmapio_options o = opts_of(MMAPIO_CREATE_EXCLUSIVE, 0);

	return mmapio_create(c->a, MAP_LEN, &o, &c->out);
}

/* Checks a map that an operation returned: set, and holding the model. */
static void check_made_map(struct ctx *c, enum mmapio_mode mode)
{
	if (c->out == SENTINEL || c->out == NULL) {
		viol(c, C_STATE, "returned 0 without storing a map");
		c->out = NULL;
		return;
	}
	if (mmapio_mode(c->out) != mode)
		viol(c, C_STATE, "the map's mode is %d, expected %d", (int)mmapio_mode(c->out),
		     (int)mode);
	map_matches(c, c->out, "the new map");
}

/* Checks *out after a failure: untouched, as the header's conventions say. */
static void check_out_untouched(struct ctx *c)
{
	if (c->out != SENTINEL) {
		viol(c, C_STATE, "*out was changed by a failed call");
		c->out = NULL; /* not ours to close */
	}
}

static void check_create(struct ctx *c, int rc)
{
	if (rc == 0) {
		check_made_map(c, MMAPIO_READ_WRITE);
		file_matches(c, c->a, "after create");
		return;
	}
	check_out_untouched(c);
	if (exists(c->a))
		viol(c, C_FILE, "a failed create left the file it created (%lld bytes)",
		     file_size(c->a));
}

static void check_create_existing(struct ctx *c, int rc)
{
	if (rc == 0) {
		check_made_map(c, MMAPIO_READ_WRITE);
		file_matches(c, c->a, "after create");
		return;
	}
	check_out_untouched(c);
	/* "a file that existed before is left truncated": there, not removed. */
	if (!exists(c->a))
		viol(c, C_FILE, "a failed create removed a file that existed before");
}

static void check_create_excl(struct ctx *c, int rc)
{
	if (rc == 0) {
		viol(c, C_DOC, "an exclusive create of an existing file returned 0");
		if (c->out != SENTINEL && c->out != NULL)
			mmapio_close(c->out);
		c->out = NULL;
		return;
	}
	check_out_untouched(c);
	if (!file_has_pattern(c->a, 5000, SEED_OLD))
		viol(c, C_FILE, "an exclusive create changed the existing file");
}

static int run_open_rw(struct ctx *c)
{
	return mmapio_open(c->a, MMAPIO_READ_WRITE, NULL, &c->out);
}

static int run_open_ro(struct ctx *c)
{
	return mmapio_open(c->a, MMAPIO_READ_ONLY, NULL, &c->out);
}

static int run_open_cow(struct ctx *c)
{
	return mmapio_open(c->a, MMAPIO_COPY_ON_WRITE, NULL, &c->out);
}

static int run_open_reserve(struct ctx *c)
{
	struct mmapio_options o = opts_of(MMAPIO_MAP_POPULATE, RESERVE);

	return mmapio_open(c->a, MMAPIO_READ_WRITE, &o, &c->out);
}

static int run_open_fd(struct ctx *c)
{
	return mmapio_open_fd(c->ufd, MMAPIO_READ_WRITE, NULL, &c->out);
}

/* Checks an open of the pattern file in mode. */
static void check_open_mode(struct ctx *c, int rc, enum mmapio_mode mode)
{
	if (rc == 0)
		check_made_map(c, mode);
	else
		check_out_untouched(c);
	file_matches(c, c->a, rc == 0 ? "after open" : "after a failed open");
}

static void check_open_rw(struct ctx *c, int rc)
{
	check_open_mode(c, rc, MMAPIO_READ_WRITE);
}

static void check_open_ro(struct ctx *c, int rc)
{
	check_open_mode(c, rc, MMAPIO_READ_ONLY);
}

static void check_open_cow(struct ctx *c, int rc)
{
	check_open_mode(c, rc, MMAPIO_COPY_ON_WRITE);
}

/* --- operations on an open map ----------------------------------------- */

/* Opens the map the operation works on, with the real table. */
static void open_map(struct ctx *c, enum mmapio_mode mode, unsigned flags, uint64_t reserve)
{
	struct mmapio_options o = opts_of(flags, reserve);
	int rc = mmapio_open(c->a, mode, &o, &c->map);

	if (rc < 0)
		setup_fail(c, "mmapio_open", rc);
	c->base = mmapio_base(c->map);
	c->len0 = mmapio_len(c->map);
	c->reserve = reserve > c->len0 ? reserve : 0;
}

/*
 * Checks that the map's reservation is still whole: every byte of it mapped
 * (file pages or PROT_NONE), no hole another mmap could take.
 */
static void check_reservation(struct ctx *c, const char *when)
{
	uintptr_t lo = (uintptr_t)c->base;
	uint64_t got;

	if (!c->reserve || !c->map || mmapio_base(c->map) != c->base)
		return;
	got = covered_bytes(lo, lo + c->reserve);
	if (got != c->reserve)
		viol(c, C_STATE, "%s: only %llu of the %llu bytes of the reservation are mapped",
		     when, (unsigned long long)got, (unsigned long long)c->reserve);
}

static void setup_map_rw(struct ctx *c)
{
	setup_pattern_file(c);
	open_map(c, MMAPIO_READ_WRITE, 0, 0);
}

static void setup_map_rw_reserve(struct ctx *c)
{
	setup_pattern_file(c);
	open_map(c, MMAPIO_READ_WRITE, 0, RESERVE);
}

/* A map of a sparse file whose pages are not in the page cache yet. */
static void setup_map_big(struct ctx *c)
{
	c->want_len = BIG_FILE;
	c->want = zalloc(BIG_FILE);
	make_sparse(c, c->a, BIG_FILE);
	open_map(c, MMAPIO_READ_WRITE, 0, 0);
}

/*
 * The same, mapped through mmapio_open_fd from a descriptor of the
 * caller's opened with extra flags (O_APPEND, O_DIRECT): pwrite on it would
 * put the bytes at the end of the file or refuse the buffer, so the large
 * writes must go through the mapping.
 */
static void setup_map_big_fd(struct ctx *c, int extra)
{
	int rc;

	c->want_len = BIG_FILE;
	c->want = zalloc(BIG_FILE);
	make_sparse(c, c->a, BIG_FILE);
	c->ufd = open(c->a, O_RDWR | O_CLOEXEC | extra);
	if (c->ufd < 0 && errno == EINVAL)
		setup_skip(c, "the filesystem of TMPDIR refuses O_DIRECT");
	if (c->ufd < 0)
		setup_fail(c, "open", errno);
	rc = mmapio_open_fd(c->ufd, MMAPIO_READ_WRITE, NULL, &c->map);
	if (rc < 0)
		setup_fail(c, "mmapio_open_fd", rc);
	c->base = mmapio_base(c->map);
	c->len0 = mmapio_len(c->map);
}

static void setup_map_big_append(struct ctx *c)
{
	setup_map_big_fd(c, O_APPEND);
}

static void setup_map_big_direct(struct ctx *c)
{
	setup_map_big_fd(c, O_DIRECT);
}

/* A map with dirty pages for the flushes. */
static void setup_map_dirty(struct ctx *c)
{
	unsigned char buf[300];
	int rc;

	setup_map_rw(c);
	fill(buf, sizeof(buf), pg + 5, SEED_NEW);
	rc = mmapio_write(c->map, pg + 5, buf, sizeof(buf));
	if (rc < 0)
		setup_fail(c, "mmapio_write", rc);
	memcpy(c->want + pg + 5, buf, sizeof(buf));
}

/* A map with bytes of its first and last pages changed through mmapio_write. */
static void setup_map_dirty_ends(struct ctx *c)
{
	unsigned char buf[100];
	int rc;

	setup_map_rw(c);
	fill(buf, sizeof(buf), 0, SEED_NEW);
	rc = mmapio_write(c->map, 0, buf, sizeof(buf));
	if (rc == 0)
		rc = mmapio_write(c->map, 3 * pg + 5, buf, 50);
	if (rc < 0)
		setup_fail(c, "mmapio_write", rc);
	memcpy(c->want, buf, sizeof(buf));
	memcpy(c->want + 3 * pg + 5, buf, 50);
}

/* Checks map and file against the model, whatever the operation returned. */
static void check_map_and_file(struct ctx *c, int rc)
{
	if (rc == 0)
		model_apply_window(c);
	check_reservation(c, rc == 0 ? "after the operation" : "after a failure");
	map_matches(c, c->map, rc == 0 ? "after the operation" : "after a failure");
	file_matches(c, c->a, rc == 0 ? "after the operation" : "after a failure");
}

static int run_close(struct ctx *c)
{
	int rc = mmapio_close(c->map);

	if (rc == 0)
		c->map = NULL;
	return rc;
}

static void check_close(struct ctx *c, int rc)
{
	file_matches(c, c->a, "after close");
	if (rc != 0)
		viol(c, C_DOC, "mmapio_close of an idle map returned %d", rc);
}

static int run_read(struct ctx *c)
{
	unsigned char *got = zalloc(c->want_len);
	int rc = mmapio_read(c->map, 0, got, c->want_len);

	if (rc == 0 && memcmp(got, c->want, c->want_len) != 0)
		viol(c, C_STATE, "mmapio_read returned 0 with other bytes than the file's");
	free(got);
	return rc;
}

/* The new bytes of the writes. */
static unsigned char new_bytes[BIG_LEN];

/* Notes [off, off + len) as the window of a write, its new bytes in new_bytes. */
static void note_window(struct ctx *c, size_t off, size_t len)
{
	fill(new_bytes, len, off, SEED_NEW);
	c->newb = new_bytes;
	c->new_off = off;
	c->new_len = len;
}

/* A write below 64 KiB: copied through the mapping. */
static int run_write_small(struct ctx *c)
{
	note_window(c, 50, 100);
	return mmapio_write(c->map, 50, new_bytes, 100);
}

/* A write of 128 KiB into pages not yet cached: goes through pwrite. */
static int run_write_big(struct ctx *c)
{
	note_window(c, BIG_OFF, BIG_LEN);
	return mmapio_write(c->map, BIG_OFF, new_bytes, BIG_LEN);
}

/* A read view of the whole map and a mutable view of 20 bytes, each released. */
static int run_views(struct ctx *c)
{
	struct mmapio_view v;
	int rc;

	memset(&v, 0, sizeof(v));
	rc = mmapio_view_read(c->map, 0, c->want_len, &v);
	if (rc != 0)
		return rc;
	if (v.len != c->want_len || memcmp(v.data, c->want, v.len) != 0)
		viol(c, C_STATE, "a read view shows other bytes than the file's");
	mmapio_view_release(&v);
	if (v.data != NULL || v.len != 0)
		viol(c, C_STATE, "a released read view was not cleared");
	rc = mmapio_view_write(c->map, 10, 20, &v);
	if (rc != 0)
		return rc;
	fill(v.data, 20, 10, SEED_NEW);
	fill(c->want + 10, 20, 10, SEED_NEW);
	mmapio_view_release(&v);
	return 0;
}

/* Every segment call that reaches no system call: init, sub, read, write, views. */
static int run_segments(struct ctx *c)
{
	struct mmapio_segment s, sub;
	struct mmapio_view v;
	unsigned char buf[64];
	int rc;

	if ((rc = mmapio_segment_init(c->map, pg, 2 * pg, &s)) != 0 ||
	    (rc = mmapio_segment_sub(&s, 100, 200, &sub)) != 0 ||
	    (rc = mmapio_segment_read(&sub, 0, buf, sizeof(buf))) != 0)
		return rc;
	if (memcmp(buf, c->want + pg + 100, sizeof(buf)) != 0)
		viol(c, C_STATE, "mmapio_segment_read returned other bytes than the file's");
	fill(buf, sizeof(buf), pg + 108, SEED_NEW);
	rc = mmapio_segment_write(&sub, 8, buf, sizeof(buf));
	if (rc != 0)
		return rc;
	memcpy(c->want + pg + 108, buf, sizeof(buf));
	rc = mmapio_segment_view_read(&sub, &v);
	if (rc != 0)
		return rc;
	if (v.len != 200 || memcmp(v.data, c->want + pg + 100, 200) != 0)
		viol(c, C_STATE, "a segment's read view shows other bytes than the file's");
	mmapio_view_release(&v);
	rc = mmapio_segment_view_write(&sub, &v);
	if (rc != 0)
		return rc;
	((unsigned char *)v.data)[0] = 0xab;
	c->want[pg + 100] = 0xab;
	mmapio_view_release(&v);
	return 0;
}

static void setup_segment_big(struct ctx *c)
{
	int rc;

	setup_map_big(c);
	rc = mmapio_segment_init(c->map, BIG_OFF, BIG_LEN + pg, &c->seg);
	if (rc < 0)
		setup_fail(c, "mmapio_segment_init", rc);
}

static int run_segment_write_big(struct ctx *c)
{
	note_window(c, BIG_OFF, BIG_LEN);
	return mmapio_segment_write(&c->seg, 0, new_bytes, BIG_LEN);
}

static void setup_segment_dirty(struct ctx *c)
{
	int rc;

	setup_map_dirty(c);
	rc = mmapio_segment_init(c->map, pg, pg, &c->seg);
	if (rc < 0)
		setup_fail(c, "mmapio_segment_init", rc);
}

/* All eight atomic calls on a read-write map, with their results checked. */
static int run_atomics(struct ctx *c)
{
	uint64_t v64 = 0, old64 = 0, exp64;
	uint32_t v32 = 0, old32 = 0, exp32;
	int rc;

	if ((rc = mmapio_atomic_store_u64(c->map, 8, 0x1122334455667788ull)) != 0 ||
	    (rc = mmapio_atomic_load_u64(c->map, 8, &v64)) != 0 ||
	    (rc = mmapio_atomic_fetch_add_u64(c->map, 8, 1, &old64)) != 0)
		return rc;
	if (v64 != 0x1122334455667788ull || old64 != v64)
		viol(c, C_STATE, "64-bit load or fetch_add read a wrong value");
	exp64 = 0x1122334455667789ull;
	rc = mmapio_atomic_cas_u64(c->map, 8, &exp64, 5);
	if (rc != 1)
		return rc < 0 ? rc : (viol(c, C_STATE, "64-bit CAS of the right value: %d", rc), 0);
	exp64 = 0;
	rc = mmapio_atomic_cas_u64(c->map, 8, &exp64, 6);
	if (rc != 0 || exp64 != 5)
		return rc < 0 ? rc : (viol(c, C_STATE, "64-bit CAS of a wrong value: %d", rc), 0);
	if ((rc = mmapio_atomic_store_u32(c->map, 16, 0xa0b0c0d0u)) != 0 ||
	    (rc = mmapio_atomic_load_u32(c->map, 16, &v32)) != 0 ||
	    (rc = mmapio_atomic_fetch_add_u32(c->map, 16, 2, &old32)) != 0)
		return rc;
	if (v32 != 0xa0b0c0d0u || old32 != v32)
		viol(c, C_STATE, "32-bit load or fetch_add read a wrong value");
	exp32 = 0xa0b0c0d2u;
	rc = mmapio_atomic_cas_u32(c->map, 16, &exp32, 7);
	if (rc != 1)
		return rc < 0 ? rc : (viol(c, C_STATE, "32-bit CAS of the right value: %d", rc), 0);
	exp32 = 0;
	rc = mmapio_atomic_cas_u32(c->map, 16, &exp32, 8);
	if (rc != 0 || exp32 != 7)
		return rc < 0 ? rc : (viol(c, C_STATE, "32-bit CAS of a wrong value: %d", rc), 0);
	v64 = 5;
	v32 = 7;
	memcpy(c->want + 8, &v64, sizeof(v64));
	memcpy(c->want + 16, &v32, sizeof(v32));
	return 0;
}

/* --- resize -------------------------------------------------------------- */

#define GROWN (20 * pg + 7)
#define SHRUNK (pg + 10)

static void setup_grow(struct ctx *c)
{
	setup_map_rw(c);
	c->target = GROWN;
}

static void setup_shrink(struct ctx *c)
{
	setup_map_rw(c);
	c->target = SHRUNK;
}

static void setup_grow_reserve(struct ctx *c)
{
	setup_map_rw_reserve(c);
	c->target = GROWN;
	c->keep_base = true;
}

static void setup_shrink_reserve(struct ctx *c)
{
	setup_map_rw_reserve(c);
	c->target = SHRUNK;
	c->keep_base = true;
}

/* Growth beyond a reservation of 8 pages: the map moves. */
static void setup_grow_past_reserve(struct ctx *c)
{
	setup_pattern_file(c);
	open_map(c, MMAPIO_READ_WRITE, 0, 8 * pg);
	c->target = GROWN;
}

/* A map opened with MMAPIO_CREATE_SPARSE grows with ftruncate. */
static void setup_grow_sparse(struct ctx *c)
{
	setup_pattern_file(c);
	open_map(c, MMAPIO_READ_WRITE, MMAPIO_CREATE_SPARSE, 0);
	c->target = GROWN;
}

/* An empty file: nothing mapped until it grows. */
static void setup_grow_empty(struct ctx *c)
{
	c->want_len = 0;
	c->want = zalloc(0);
	make_sparse(c, c->a, 0);
	open_map(c, MMAPIO_READ_WRITE, 0, 0);
	c->target = GROWN;
}

static void setup_grow_empty_reserve(struct ctx *c)
{
	c->want_len = 0;
	c->want = zalloc(0);
	make_sparse(c, c->a, 0);
	open_map(c, MMAPIO_READ_WRITE, 0, RESERVE);
	c->target = GROWN;
	c->keep_base = true;
}

static int run_resize(struct ctx *c)
{
	return mmapio_resize(c->map, c->target);
}

/* Checks that the map and its file have taken the new size. */
static void check_resized(struct ctx *c, const char *when)
{
	model_resize(c, (size_t)c->target);
	if (c->keep_base && mmapio_base(c->map) != c->base)
		viol(c, C_STATE, "%s: growth inside the reservation moved the base", when);
	map_matches(c, c->map, when);
	file_matches(c, c->a, when);
}

static void check_resize(struct ctx *c, int rc)
{
	int again;

	check_reservation(c, rc == 0 ? "after resize" : "after a failed resize");
	if (rc == 0) {
		check_resized(c, "after resize");
		return;
	}
	/* "leaving the map and the file at their old size" */
	if (mmapio_base(c->map) != c->base)
		viol(c, C_STATE, "a failed resize moved the base");
	if (file_size(c->a) != (long long)c->len0)
		viol(c, C_FILE, "a failed resize left the file at %lld bytes, not its old %llu",
		     file_size(c->a), (unsigned long long)c->len0);
	else
		file_matches(c, c->a, "after a failed resize");
	if (!map_matches(c, c->map, "after a failed resize"))
		return;
	/* The map is still of use: the same resize without a fault works. */
	again = mmapio_resize(c->map, c->target);
	if (again != 0)
		viol(c, C_STATE, "the resize after a failed one returned %d (%s)", again,
		     mmapio_strerror(again));
	else
		check_resized(c, "resized after a failure");
}

/* --- flush, advice, locking ------------------------------------------- */

static int run_flush(struct ctx *c)
{
	return mmapio_flush(c->map);
}

static int run_flush_range(struct ctx *c)
{
	return mmapio_flush_range(c->map, pg, 200);
}

static int run_segment_flush(struct ctx *c)
{
	return mmapio_segment_flush(&c->seg);
}

/* A write-back error must stick: the next flush reports it again. */
static void check_sticky(struct ctx *c, int rc)
{
	int again;

	if (rc != -EIO && rc != -ENOSPC)
		return;
	again = mmapio_flush(c->map);
	if (again != rc)
		viol(c, C_DOC, "the flush after one that failed with %d returned %d: the error must stick",
		     rc, again);
}

static void check_flush(struct ctx *c, int rc)
{
	check_map_and_file(c, rc);
	check_sticky(c, rc);
}

static int run_advise_willneed(struct ctx *c)
{
	return mmapio_advise(c->map, 0, c->want_len, MMAPIO_ADVICE_WILLNEED);
}

static int run_advise_populate(struct ctx *c)
{
	return mmapio_advise(c->map, 0, c->want_len, MMAPIO_ADVICE_POPULATE_READ);
}

static int run_advise_dontneed(struct ctx *c)
{
	return mmapio_advise(c->map, 0, c->want_len, MMAPIO_ADVICE_DONTNEED);
}

static int run_lock(struct ctx *c)
{
	return mmapio_lock(c->map, 0, c->want_len);
}

static void setup_locked(struct ctx *c)
{
	int rc;

	setup_map_rw(c);
	rc = mmapio_lock(c->map, 0, c->want_len);
	if (rc < 0)
		setup_fail(c, "mmapio_lock", rc);
}

static int run_unlock(struct ctx *c)
{
	return mmapio_unlock(c->map, 0, c->want_len);
}

/* --- copy, delete ----------------------------------------------------- */

static void setup_copy_new(struct ctx *c)
{
	c->target = SRC_LEN;
	make_file(c, c->a, SRC_LEN, SEED_SRC, 0640);
}

static void setup_copy_empty(struct ctx *c)
{
	c->target = 0;
	make_file(c, c->a, 0, SEED_SRC, 0640);
}

static void setup_copy_over(struct ctx *c)
{
	setup_copy_new(c);
	make_file(c, c->b, DST_OLD, SEED_DST, 0600);
}

static void setup_copy_big(struct ctx *c)
{
	c->target = SRC_BIG;
	make_file(c, c->a, SRC_BIG, SEED_SRC, 0640);
}

static void setup_copy_big_over(struct ctx *c)
{
	setup_copy_big(c);
	make_file(c, c->b, DST_OLD, SEED_DST, 0600);
}

static int run_copy_new(struct ctx *c)
{
	return mmapio_copy(c->a, c->b, 0);
}

static int run_copy_over(struct ctx *c)
{
	return mmapio_copy(c->a, c->b, MMAPIO_COPY_OVERWRITE);
}

static int run_copy_durable(struct ctx *c)
{
	return mmapio_copy(c->a, c->b, MMAPIO_COPY_DURABLE);
}

static int run_copy_over_durable(struct ctx *c)
{
	return mmapio_copy(c->a, c->b, MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE);
}

/* Checks source and destination after a copy of c->target bytes. */
static void check_copy(struct ctx *c, int rc, bool overwrite)
{
	size_t len = (size_t)c->target;
	struct stat st;

	if (!file_has_pattern(c->a, len, SEED_SRC))
		viol(c, C_FILE, "the copy changed its source");
	if (rc == 0) {
		if (!file_has_pattern(c->b, len, SEED_SRC))
			viol(c, C_FILE, "the copy returned 0 and its destination (%lld bytes) is not the source",
			     file_size(c->b));
		else if (stat(c->b, &st) == 0 && (st.st_mode & 07777) != 0640)
			viol(c, C_FILE, "the destination has mode %04o, not the source's 0640",
			     (unsigned)(st.st_mode & 07777));
		return;
	}
	if (!overwrite) {
		if (exists(c->b))
			viol(c, C_FILE, "a failed copy left the destination it created (%lld bytes)",
			     file_size(c->b));
		return;
	}
	if (!file_has_pattern(c->b, DST_OLD, SEED_DST)) {
		c->rep->dst_broken = true;
		viol(c, C_FILE, "a failed OVERWRITE copy destroyed the old destination (now %lld bytes)",
		     file_size(c->b));
	}
}

static void check_copy_new(struct ctx *c, int rc)
{
	check_copy(c, rc, false);
}

static void check_copy_over(struct ctx *c, int rc)
{
	check_copy(c, rc, true);
}

static void setup_delete(struct ctx *c)
{
	make_file(c, c->a, 5000, SEED_OLD, 0644);
}

static int run_delete(struct ctx *c)
{
	return mmapio_delete(c->a);
}

static void check_delete(struct ctx *c, int rc)
{
	if (rc == 0 && exists(c->a))
		viol(c, C_FILE, "mmapio_delete returned 0 and the file is still there");
	if (rc < 0 && !file_has_pattern(c->a, 5000, SEED_OLD))
		viol(c, C_FILE, "a failed delete removed or changed the file");
}

/* --- rename, flush_start, range locks, create-or-open -------------------- */

static int run_rename(struct ctx *c)
{
	return mmapio_rename(c->a, c->b, 0);
}

static int run_rename_noreplace_durable(struct ctx *c)
{
	return mmapio_rename(c->a, c->b, MMAPIO_RENAME_NOREPLACE | MMAPIO_RENAME_DURABLE);
}

/*
 * A rename that returned 0 moved a's bytes to b; a failed one left both as
 * they were, except that a durable rename whose directory sync failed has
 * renamed (documented): then b has a's bytes and a is gone.
 */
static void check_rename(struct ctx *c, int rc, bool durable, bool had_b)
{
	bool moved = !exists(c->a) && file_has_pattern(c->b, SRC_LEN, SEED_SRC);
	bool kept = file_has_pattern(c->a, SRC_LEN, SEED_SRC) &&
		    (had_b ? file_has_pattern(c->b, DST_OLD, SEED_DST) : !exists(c->b));

	if (rc == 0 && !moved)
		viol(c, C_FILE, "mmapio_rename returned 0 and the file was not moved");
	if (rc < 0 && !kept && !(durable && moved))
		viol(c, C_FILE, "a failed rename changed the files");
}

static void check_rename_over(struct ctx *c, int rc)
{
	check_rename(c, rc, false, true);
}

static void check_rename_new_durable(struct ctx *c, int rc)
{
	check_rename(c, rc, true, false);
}

static int run_flush_start(struct ctx *c)
{
	return mmapio_flush_start(c->map, 0, 0);
}

static int run_range_lock(struct ctx *c)
{
	int rc = mmapio_range_lock(c->map, 0, 0, MMAPIO_RANGE_EXCLUSIVE | MMAPIO_RANGE_NOWAIT);

	return rc < 0 ? rc : mmapio_range_unlock(c->map, 0, 0);
}

static int run_create_or_open(struct ctx *c)
{
	struct mmapio_options o = opts_of(MMAPIO_CREATE_OR_OPEN, 0);

	return mmapio_create(c->a, MAP_LEN, &o, &c->out);
}

/* An existing file is opened as it is: its bytes and size, on success or not. */
static void check_create_or_open(struct ctx *c, int rc)
{
	if (rc == 0) {
		check_made_map(c, MMAPIO_READ_WRITE);
	} else {
		check_out_untouched(c);
	}
	if (!file_has_pattern(c->a, MAP_LEN, SEED_MAP))
		viol(c, C_FILE, "create-or-open changed the existing file");
}

/* --- rings ------------------------------------------------------------- */

/* Milliseconds on the monotonic clock. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Runs one operation through a ring of the scenario's engine: open, ring_fd,
 * prep, submit, then wait (or poll the descriptor and peek), a peek that
 * must find nothing more, and close; every call's return is checked.
 * Returns the completion's result, or the failing ring call's.
 */
static int ring_run(struct ctx *c, int (*prep)(struct ctx *c), enum mmapio_op kind, bool use_peek)
{
	struct mmapio_ring_options o;
	struct mmapio_completion comp[2];
	int r, fd, n, result;

	memset(&o, 0, sizeof(o));
	o.backend = c->s->engine == ENG_URING ? MMAPIO_BACKEND_URING : MMAPIO_BACKEND_FALLBACK;
	r = mmapio_ring_open(&o, &c->ring);
	if (r < 0) {
		check_doc(c, "mmapio_ring_open", r);
		viol(c, C_DOC, "mmapio_ring_open: %d (%s)", r, mmapio_strerror(r));
		c->ring = NULL;
		return r;
	}
	fd = mmapio_ring_fd(c->ring);
	if (fd < 0) {
		check_doc(c, "mmapio_ring_fd", fd);
		viol(c, C_DOC, "mmapio_ring_fd: %d (%s)", fd, mmapio_strerror(fd));
		return fd;
	}
	r = prep(c);
	if (r != 0) {
		check_doc(c, "mmapio_ring_prep", r);
		viol(c, C_DOC, "mmapio_ring_prep_*: %d (%s)", r, mmapio_strerror(r));
		return r < 0 ? r : -EPROTO;
	}
	r = mmapio_ring_submit(c->ring);
	if (r != 1) {
		viol(c, C_DOC, "mmapio_ring_submit of one operation returned %d (%s)", r,
		     mmapio_strerror(r));
		return r < 0 ? r : -EPROTO;
	}
	if (use_peek) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t deadline = now_ms() + 10000;

		do {
			poll(&p, 1, 100);
			n = mmapio_ring_peek(c->ring, comp, 2);
		} while (n == 0 && now_ms() < deadline);
	} else {
		n = mmapio_ring_wait(c->ring, comp, 2, 1, 10000);
	}
	if (n != 1) {
		check_doc(c, "mmapio_ring_reap", n);
		viol(c, C_DOC, "%s returned %d, expected one completion",
		     use_peek ? "mmapio_ring_peek" : "mmapio_ring_wait", n);
		return n < 0 ? n : -EPROTO;
	}
	result = comp[0].result;
	if (comp[0].op != kind || comp[0].user_data != c)
		viol(c, C_DOC, "the completion is of op %d with user_data %p, expected %d and %p",
		     (int)comp[0].op, comp[0].user_data, (int)kind, (void *)c);
	n = mmapio_ring_peek(c->ring, comp, 2);
	if (n != 0)
		viol(c, C_DOC, "a peek after the only completion returned %d", n);
	r = mmapio_ring_close(c->ring);
	c->ring = NULL;
	if (r != 0)
		viol(c, C_DOC, "mmapio_ring_close: %d (%s)", r, mmapio_strerror(r));
	return result;
}

static int prep_create(struct ctx *c)
{
	return mmapio_ring_prep_create(c->ring, c->a, MAP_LEN, NULL, c);
}

static int prep_create_durable(struct ctx *c)
{
	struct mmapio_options o = opts_of(MMAPIO_CREATE_DURABLE, 0);

	return mmapio_ring_prep_create(c->ring, c->a, MAP_LEN, &o, c);
}

static int prep_copy_new(struct ctx *c)
{
	return mmapio_ring_prep_copy(c->ring, c->a, c->b, 0, c);
}

static int prep_copy_over(struct ctx *c)
{
	return mmapio_ring_prep_copy(c->ring, c->a, c->b, MMAPIO_COPY_OVERWRITE, c);
}

static int prep_copy_durable(struct ctx *c)
{
	return mmapio_ring_prep_copy(c->ring, c->a, c->b, MMAPIO_COPY_DURABLE, c);
}

static int prep_delete(struct ctx *c)
{
	return mmapio_ring_prep_delete(c->ring, c->a, c);
}

static int prep_flush(struct ctx *c)
{
	return mmapio_ring_prep_flush(c->ring, c->map, 0, mmapio_len(c->map), c);
}

/* Pages 0 and 3, two pages apart: two ranges, as setup_map_dirty_ends dirtied them. */
static int prep_flush_ranges(struct ctx *c)
{
	const struct mmapio_range r[2] = { { 3 * pg + 5, 50 }, { 0, 100 } };

	return mmapio_ring_prep_flush_ranges(c->ring, c->map, r, 2, c);
}

static int run_ring_create(struct ctx *c)
{
	return ring_run(c, prep_create, MMAPIO_OP_CREATE, false);
}

static int run_ring_create_durable(struct ctx *c)
{
	return ring_run(c, prep_create_durable, MMAPIO_OP_CREATE, true);
}

static int run_ring_copy_new(struct ctx *c)
{
	return ring_run(c, prep_copy_new, MMAPIO_OP_COPY, false);
}

static int run_ring_copy_over(struct ctx *c)
{
	return ring_run(c, prep_copy_over, MMAPIO_OP_COPY, true);
}

static int run_ring_copy_durable(struct ctx *c)
{
	return ring_run(c, prep_copy_durable, MMAPIO_OP_COPY, false);
}

static int run_ring_delete(struct ctx *c)
{
	return ring_run(c, prep_delete, MMAPIO_OP_DELETE, true);
}

static int run_ring_flush(struct ctx *c)
{
	return ring_run(c, prep_flush, MMAPIO_OP_FLUSH, false);
}

static int run_ring_flush_ranges(struct ctx *c)
{
	return ring_run(c, prep_flush_ranges, MMAPIO_OP_FLUSH, true);
}

/* A ring create: the file of zeros, or none at all after a failure. */
static void check_ring_create(struct ctx *c, int rc)
{
	if (rc == 0)
		file_matches(c, c->a, "after a ring create");
	else if (exists(c->a))
		viol(c, C_FILE, "a failed ring create left the file it created (%lld bytes)",
		     file_size(c->a));
}

/* ------------------------------------------------------------------------ */
/* The operations swept                                                     */
/* ------------------------------------------------------------------------ */

#define DIRECT(name, call, setup, run, check) \
	{ name, call, ENG_DIRECT, 0, setup, run, check, 0, 0 }
#define DIRECT_ENV(name, call, setup, run, check, env) \
	{ name, call, ENG_DIRECT, 0, setup, run, check, 0, env }

static const struct scenario scenarios[] = {
	DIRECT("create", "mmapio_create", setup_nothing, run_create, check_create),
	DIRECT("create_sparse", "mmapio_create", setup_nothing, run_create_sparse, check_create),
	DIRECT("create_durable", "mmapio_create", setup_nothing, run_create_durable, check_create),
	DIRECT("create_reserve_populate", "mmapio_create", setup_nothing, run_create_reserve,
	       check_create),
	DIRECT_ENV("create_no_fallocate", "mmapio_create", setup_nothing, run_create,
		   check_create, ENV_NO_FALLOCATE),
	DIRECT("create_over_existing", "mmapio_create", setup_old_file, run_create,
	       check_create_existing),
	{ "create_exclusive_existing", "mmapio_create", ENG_DIRECT, 0, setup_old_file,
	  run_create_excl, check_create_excl, -EEXIST, 0 },
	DIRECT("open_rw", "mmapio_open", setup_pattern_file, run_open_rw, check_open_rw),
	DIRECT("open_ro", "mmapio_open", setup_pattern_file, run_open_ro, check_open_ro),
	DIRECT("open_cow", "mmapio_open", setup_pattern_file, run_open_cow, check_open_cow),
	DIRECT("open_reserve_populate", "mmapio_open", setup_pattern_file, run_open_reserve,
	       check_open_rw),
	DIRECT("open_fd", "mmapio_open_fd", setup_pattern_fd, run_open_fd, check_open_rw),
	/*
	 * A whole-mapping munmap cannot fail on Linux (it splits nothing), and
	 * close has no way to report it: a refused one leaves its mapping.
	 */
	{ "close", "mmapio_close", ENG_DIRECT, S_UNMAP_LEAK_OK, setup_map_rw, run_close,
	  check_close, 0, 0 },
	{ "close_reserve", "mmapio_close", ENG_DIRECT, S_UNMAP_LEAK_OK, setup_map_rw_reserve,
	  run_close, check_close, 0, 0 },
	DIRECT("read", "mmapio_read", setup_map_rw, run_read, check_map_and_file),
	DIRECT("write_small", "mmapio_write", setup_map_rw, run_write_small, check_map_and_file),
	DIRECT_ENV("write_large", "mmapio_write", setup_map_big, run_write_big, check_map_and_file,
		   ENV_COLD),
	DIRECT_ENV("write_large_append_fd", "mmapio_write", setup_map_big_append, run_write_big,
		   check_map_and_file, ENV_COLD),
	DIRECT_ENV("write_large_direct_fd", "mmapio_write", setup_map_big_direct, run_write_big,
		   check_map_and_file, ENV_COLD),
	DIRECT("views", "mmapio_view", setup_map_rw, run_views, check_map_and_file),
	DIRECT("segments", "mmapio_segment", setup_map_rw, run_segments, check_map_and_file),
	DIRECT_ENV("segment_write_large", "mmapio_segment_write", setup_segment_big,
		   run_segment_write_big, check_map_and_file, ENV_COLD),
	DIRECT("segment_flush", "mmapio_segment_flush", setup_segment_dirty, run_segment_flush,
	       check_flush),
	DIRECT("atomics", "mmapio_atomic", setup_map_rw, run_atomics, check_map_and_file),
	DIRECT("resize_grow", "mmapio_resize", setup_grow, run_resize, check_resize),
	DIRECT("resize_shrink", "mmapio_resize", setup_shrink, run_resize, check_resize),
	DIRECT("resize_grow_reserve", "mmapio_resize", setup_grow_reserve, run_resize,
	       check_resize),
	DIRECT("resize_shrink_reserve", "mmapio_resize", setup_shrink_reserve, run_resize,
	       check_resize),
	DIRECT("resize_grow_past_reserve", "mmapio_resize", setup_grow_past_reserve, run_resize,
	       check_resize),
	DIRECT("resize_grow_sparse", "mmapio_resize", setup_grow_sparse, run_resize,
	       check_resize),
	DIRECT_ENV("resize_grow_no_fallocate", "mmapio_resize", setup_grow, run_resize,
		   check_resize, ENV_NO_FALLOCATE),
	DIRECT("resize_grow_empty", "mmapio_resize", setup_grow_empty, run_resize, check_resize),
	DIRECT("resize_grow_empty_reserve", "mmapio_resize", setup_grow_empty_reserve, run_resize,
	       check_resize),
	DIRECT("flush", "mmapio_flush", setup_map_dirty, run_flush, check_flush),
	DIRECT("flush_range", "mmapio_flush_range", setup_map_dirty, run_flush_range,
	       check_flush),
	DIRECT("advise_willneed", "mmapio_advise", setup_map_rw, run_advise_willneed,
	       check_map_and_file),
	/* Linux before 5.14 lacks the populate advice: -ENOTSUP, skipped. */
	{ "advise_populate_read", "mmapio_advise", ENG_DIRECT, S_MAY_SKIP, setup_map_rw,
	  run_advise_populate, check_map_and_file, 0, 0 },
	DIRECT("advise_dontneed", "mmapio_advise", setup_map_dirty, run_advise_dontneed,
	       check_map_and_file),
	/* mlock needs RLIMIT_MEMLOCK room or CAP_IPC_LOCK: skipped without. */
	{ "lock", "mmapio_lock", ENG_DIRECT, S_MAY_SKIP, setup_map_rw, run_lock,
	  check_map_and_file, 0, 0 },
	{ "unlock", "mmapio_unlock", ENG_DIRECT, S_MAY_SKIP, setup_locked, run_unlock,
	  check_map_and_file, 0, 0 },
	DIRECT("copy_new", "mmapio_copy", setup_copy_new, run_copy_new, check_copy_new),
	DIRECT("copy_overwrite", "mmapio_copy", setup_copy_over, run_copy_over, check_copy_over),
	DIRECT("copy_durable", "mmapio_copy", setup_copy_new, run_copy_durable, check_copy_new),
	DIRECT("copy_empty", "mmapio_copy", setup_copy_empty, run_copy_new, check_copy_new),
	DIRECT_ENV("copy_new_read_write", "mmapio_copy", setup_copy_new, run_copy_new,
		   check_copy_new, ENV_NO_CFR),
	DIRECT_ENV("copy_overwrite_read_write", "mmapio_copy", setup_copy_over, run_copy_over,
		   check_copy_over, ENV_NO_CFR),
	DIRECT_ENV("copy_cloned_durable", "mmapio_copy", setup_copy_new, run_copy_durable,
		   check_copy_new, ENV_CLONE),
	DIRECT("copy_overwrite_durable", "mmapio_copy", setup_copy_over, run_copy_over_durable,
	       check_copy_over),
	{ "copy_large_new", "mmapio_copy", ENG_BLOCKING, S_DEFAULT_RING, setup_copy_big,
	  run_copy_new, check_copy_new, 0, 0 },
	{ "copy_large_overwrite", "mmapio_copy", ENG_BLOCKING, S_DEFAULT_RING,
	  setup_copy_big_over, run_copy_over, check_copy_over, 0, 0 },
	DIRECT("delete", "mmapio_delete", setup_delete, run_delete, check_delete),
	DIRECT("rename_over", "mmapio_rename", setup_copy_over, run_rename, check_rename_over),
	/* Hosts and filesystems without renameat2 refuse NOREPLACE: skipped. */
	{ "rename_noreplace_durable", "mmapio_rename", ENG_DIRECT, S_MAY_SKIP, setup_copy_new,
	  run_rename_noreplace_durable, check_rename_new_durable, 0, 0 },
	DIRECT("flush_start", "mmapio_flush_start", setup_map_dirty, run_flush_start,
	       check_map_and_file),
	DIRECT("range_lock", "mmapio_range_lock", setup_map_rw, run_range_lock,
	       check_map_and_file),
	DIRECT("create_or_open_existing", "mmapio_create", setup_pattern_file, run_create_or_open,
	       check_create_or_open),
	{ "ring_create", "completion", ENG_BLOCKING, 0, setup_nothing, run_ring_create,
	  check_ring_create, 0, 0 },
	{ "ring_create_durable", "completion", ENG_BLOCKING, 0, setup_nothing,
	  run_ring_create_durable, check_ring_create, 0, 0 },
	{ "ring_copy_new", "completion", ENG_BLOCKING, 0, setup_copy_new, run_ring_copy_new,
	  check_copy_new, 0, 0 },
	{ "ring_copy_overwrite", "completion", ENG_BLOCKING, 0, setup_copy_over,
	  run_ring_copy_over, check_copy_over, 0, 0 },
	{ "ring_copy_read_write", "completion", ENG_BLOCKING, 0, setup_copy_new,
	  run_ring_copy_new, check_copy_new, 0, ENV_NO_CFR },
	{ "ring_copy_durable", "completion", ENG_BLOCKING, 0, setup_copy_new,
	  run_ring_copy_durable, check_copy_new, 0, 0 },
	{ "ring_delete", "completion", ENG_BLOCKING, 0, setup_delete, run_ring_delete,
	  check_delete, 0, 0 },
	{ "ring_flush", "completion", ENG_BLOCKING, 0, setup_map_dirty, run_ring_flush,
	  check_flush, 0, 0 },
	{ "ring_flush_ranges", "completion", ENG_BLOCKING, 0, setup_map_dirty_ends,
	  run_ring_flush_ranges, check_flush, 0, 0 },
	/* The same on io_uring, where it can be set up. */
	{ "uring_copy_large_new", "mmapio_copy", ENG_URING, S_DEFAULT_RING, setup_copy_big,
	  run_copy_new, check_copy_new, 0, 0 },
	{ "uring_copy_large_overwrite", "mmapio_copy", ENG_URING, S_DEFAULT_RING,
	  setup_copy_big_over, run_copy_over, check_copy_over, 0, 0 },
	{ "uring_ring_create", "completion", ENG_URING, 0, setup_nothing, run_ring_create,
	  check_ring_create, 0, 0 },
	{ "uring_ring_create_durable", "completion", ENG_URING, 0, setup_nothing,
	  run_ring_create_durable, check_ring_create, 0, 0 },
	{ "uring_ring_copy_new", "completion", ENG_URING, 0, setup_copy_new, run_ring_copy_new,
	  check_copy_new, 0, 0 },
	{ "uring_ring_copy_overwrite", "completion", ENG_URING, 0, setup_copy_over,
	  run_ring_copy_over, check_copy_over, 0, 0 },
	{ "uring_ring_copy_durable", "completion", ENG_URING, 0, setup_copy_new,
	  run_ring_copy_durable, check_copy_new, 0, 0 },
	/* A clone leaves nothing to copy: the engine goes straight to the sync. */
	{ "uring_ring_copy_cloned_durable", "completion", ENG_URING, 0, setup_copy_new,
	  run_ring_copy_durable, check_copy_new, 0, ENV_CLONE },
	{ "uring_ring_delete", "completion", ENG_URING, 0, setup_delete, run_ring_delete,
	  check_delete, 0, 0 },
	{ "uring_ring_flush", "completion", ENG_URING, 0, setup_map_dirty, run_ring_flush,
	  check_flush, 0, 0 },
	{ "uring_ring_flush_ranges", "completion", ENG_URING, 0, setup_map_dirty_ends,
	  run_ring_flush_ranges, check_flush, 0, 0 },
};

#define N_SCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

/* True for the operations whose failure may break an existing destination. */
static bool is_overwrite(const struct scenario *s)
{
	return s->check == check_copy_over;
}

/* ------------------------------------------------------------------------ */
/* Known failures                                                           */
/* ------------------------------------------------------------------------ */

/*
 * Library bugs this sweep found, each listed until the lead fixes it: a
 * finding that matches an entry is counted as known instead of failing the
 * sweep, and an entry that matches nothing any more fails it (delete the
 * entry with the fix).  scenario is a name or a prefix ending in '*';
 * fault is a label or several joined by '|'; entry NULL, k 0 and fault NULL
 * match any.  fs_dependent: whether it happens depends on the filesystem
 * under TMPDIR, so its absence is not taken for a fix.
 */
struct known {
	const char *scenario;
	const char *entry;
	unsigned k;
	const char *fault;
	int cat;
	const char *bug;
	bool fs_dependent;
};

/*
 * Findings the sweep knows of and does not count, each naming its bug.
 * Empty: every bug it found is fixed (see the git log).  An entry that no
 * longer matches fails the sweep as STALE.
 */
static const struct known known_failures[] = {
	{ NULL, NULL, 0, NULL, 0, NULL, false },
};

#define N_KNOWN_SLOTS (sizeof(known_failures) / sizeof(known_failures[0]))

/* How many findings each known failure explained in this sweep. */
static unsigned known_hits[N_KNOWN_SLOTS];

/* True when name matches pattern (exact, or a prefix ending in '*'). */
static bool name_matches(const char *pattern, const char *name)
{
	size_t n = strlen(pattern);

	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(pattern, name, n - 1) == 0;
	return strcmp(pattern, name) == 0;
}

/* True when label is one of the '|'-separated labels of list. */
static bool label_in(const char *list, const char *label)
{
	size_t n = strlen(label);

	for (const char *p = list; p; p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL)
		if (strncmp(p, label, n) == 0 && (p[n] == '\0' || p[n] == '|'))
			return true;
	return false;
}

/* Returns the index of the known failure a finding matches, or -1. */
static int find_known(const struct scenario *s, bool armed, enum entry e, unsigned k,
		      const struct fault *f, int cat)
{
	for (size_t i = 0; known_failures[i].scenario; i++) {
		const struct known *kf = &known_failures[i];

		if (!name_matches(kf->scenario, s->name) || kf->cat != cat)
			continue;
		if (kf->entry && (!armed || strcmp(kf->entry, entry_infos[e].name) != 0))
			continue;
		if (kf->k && (!armed || kf->k != k))
			continue;
		if (kf->fault && (!armed || !label_in(kf->fault, f->label)))
			continue;
		return (int)i;
	}
	return -1;
}

/* ------------------------------------------------------------------------ */
/* One run, in a forked child                                               */
/* ------------------------------------------------------------------------ */

/* Closes what the setup and the operation left open. */
static void teardown(struct ctx *c)
{
	int rc;

	if (c->ring)
		mmapio_ring_close(c->ring);
	c->ring = NULL;
	if (c->out && c->out != SENTINEL) {
		rc = mmapio_close(c->out);
		if (rc != 0)
			viol(c, C_STATE, "mmapio_close of the new map: %d", rc);
	}
	if (c->map) {
		rc = mmapio_close(c->map);
		if (rc != 0)
			viol(c, C_STATE, "mmapio_close after the operation: %d", rc);
	}
	if (c->ufd >= 0)
		close(c->ufd);
}

/* Reports any file in the run's directory other than a and b (a temporary left behind). */
static void check_dir(struct ctx *c)
{
	DIR *d = opendir(c->dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "a") ||
		    !strcmp(e->d_name, "b"))
			continue;
		viol(c, C_FILE, "left a stray file \"%s\" behind", e->d_name);
	}
	closedir(d);
}

/* Compares what was open and mapped before the run with what is after it. */
static void check_leaks(struct ctx *c, const struct usage *before, const struct usage *after)
{
	uint64_t allowed = 0, left = 0;

	for (unsigned i = 0; i < n_made; i++)
		left += covered_bytes(made[i].lo, made[i].hi);
	if ((c->s->flags & S_UNMAP_LEAK_OK) && inj.fired && inj.entry == E_MUNMAP &&
	    left == inj.unmap_len) {
		allowed = inj.unmap_len;
		c->rep->unmap_leak_ok = true;
	}
	if (after->fds != before->fds)
		viol(c, C_FD, "%d descriptors open before the run, %d after", before->fds, after->fds);
	if (left != allowed)
		viol(c, C_MAP, "%llu bytes of what the library mapped are still mapped after the run",
		     (unsigned long long)left);
	if (after->files > before->files + allowed)
		viol(c, C_MAP, "%llu bytes of the sweep's files mapped before the run, %llu after",
		     (unsigned long long)before->files, (unsigned long long)after->files);
	if (after->rings != before->rings)
		viol(c, C_MAP, "%llu bytes of io_uring rings mapped before, %llu after",
		     (unsigned long long)before->rings, (unsigned long long)after->rings);
}

/* Fills buf with dir/name; ends the run when it does not fit. */
static void path_in(struct ctx *c, char *buf, const char *name)
{
	int n = snprintf(buf, PATH_MAX, "%s/%s", c->dir, name);

	if (n < 0 || n >= PATH_MAX)
		setup_fail(c, "path too long", ENAMETOOLONG);
}

/*
 * The child's side of a run: a fresh directory and state, the operation
 * with the wrappers installed (armed: with the fault), every check, then
 * the report to the parent.  Does not return.
 */
static void child_main(const struct scenario *s, bool armed, enum entry e, unsigned k,
		       const struct fault *f, unsigned run_no) __attribute__((noreturn));
static void child_main(const struct scenario *s, bool armed, enum entry e, unsigned k,
		       const struct fault *f, unsigned run_no)
{
	struct usage before, after;
	struct report rep;
	struct ctx c;
	int rc, n;

	memset(&rep, 0, sizeof(rep));
	memset(&c, 0, sizeof(c));
	c.s = s;
	c.rep = &rep;
	c.ufd = -1;
	alarm(RUN_TIMEOUT_S);
	setenv("MMAPIO_BACKEND", s->engine == ENG_URING ? "uring" : "fallback", 1);
	unsetenv("MMAPIO_SYNC_ROUTE");
	umask(022);
	n = snprintf(c.dir, sizeof(c.dir), "%s/run%u", sweep_dir, run_no);
	if (n < 0 || n >= (int)sizeof(c.dir) || mkdir(c.dir, 0755) != 0)
		setup_fail(&c, "run directory", n < 0 || n >= (int)sizeof(c.dir) ? ENAMETOOLONG : errno);
	path_in(&c, c.a, "a");
	path_in(&c, c.b, "b");
	if (s->flags & S_DEFAULT_RING) {
		rc = mmapio_default_backend(NULL);
		if (rc < 0)
			setup_fail(&c, "mmapio_default_backend", rc);
	}

	measure(&before);
	/* Installed for the whole run, so that the setup's mappings are noted too. */
	install_wrappers();
	s->setup(&c);
	inj.armed = armed;
	inj.entry = e;
	inj.k = k;
	inj.fault = f;
	inj.env = s->env;
	inj.live = true;
	rc = s->run(&c);
	inj.live = false;
	rep.rc = rc;
	rep.fired = inj.fired;
	memcpy(rep.counts, inj.counts, sizeof(rep.counts));

	if (!armed && (s->flags & S_MAY_SKIP) && rc != s->expect) {
		rep.skipped = true;
		snprintf(rep.note, sizeof(rep.note), "returns %d (%s) here without a fault", rc,
			 mmapio_strerror(rc));
	} else {
		check_doc(&c, s->call, rc);
		if (!armed && rc != s->expect)
			viol(&c, C_DOC, "returned %d (%s) without a fault, expected %d", rc,
			     mmapio_strerror(rc), s->expect);
		if (armed && inj.fired && f->kind == F_ERRNO && rc == 0 && entry_infos[e].durability)
			viol(&c, C_DOC, "returned 0 although %s failed with %s", entry_infos[e].name,
			     f->label);
		/* -EINVAL says "bad argument", and the arguments are good. */
		if (armed && inj.fired && f->err && f->err != EINVAL && rc == -EINVAL)
			viol(&c, C_DOC, "reported -EINVAL (a bad argument) when %s failed with %s",
			     entry_infos[e].name, f->label);
		if (armed && inj.fired && f->err && rc < 0 && rc != -f->err &&
		    rc != s->expect)
			snprintf(rep.note, sizeof(rep.note), "%d (%s)", rc, mmapio_strerror(rc));
		s->check(&c, rc);
	}
	teardown(&c);
	check_dir(&c);
	measure(&after);
	check_leaks(&c, &before, &after);
	rmtree(c.dir);
	free(c.want);
	send_report(&rep);
}

/*
 * Runs one scenario in a forked child (armed: with fault f on the k-th call
 * of entry e) and fills *rep with its report; a child that crashed, hung or
 * sent no report gets a report of that.  Returns nothing.
 */
static void run_one(const struct scenario *s, bool armed, enum entry e, unsigned k,
		    const struct fault *f, struct report *rep)
{
	static unsigned run_no;
	size_t got = 0;
	int fds[2], status = 0;
	pid_t pid;

	memset(rep, 0, sizeof(*rep));
	run_no++;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		rep->nviol = 1;
		rep->viol[0].cat = C_CRASH;
		snprintf(rep->viol[0].msg, sizeof(rep->viol[0].msg), "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		report_fd = fds[1];
		child_main(s, armed, e, k, f, run_no);
	}
	close(fds[1]);
	while (pid > 0 && got < sizeof(*rep)) {
		ssize_t n = read(fds[0], (char *)rep + got, sizeof(*rep) - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fds[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (pid > 0 && got == sizeof(*rep) && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return;
	memset(rep, 0, sizeof(*rep));
	rep->nviol = 1;
	rep->viol[0].cat = C_CRASH;
	if (pid < 0)
		snprintf(rep->viol[0].msg, sizeof(rep->viol[0].msg), "fork: %s", strerror(errno));
	else if (WIFSIGNALED(status))
		snprintf(rep->viol[0].msg, sizeof(rep->viol[0].msg), "the run died of signal %d (%s)%s",
			 WTERMSIG(status), strsignal(WTERMSIG(status)),
			 WTERMSIG(status) == SIGALRM ? ": it hung" : "");
	else
		snprintf(rep->viol[0].msg, sizeof(rep->viol[0].msg),
			 "the run exited with status %d and no report", WEXITSTATUS(status));
}

/* ------------------------------------------------------------------------ */
/* The sweep                                                                */
/* ------------------------------------------------------------------------ */

struct totals {
	unsigned ops, skipped, counting, injections, unreached, passed, failed;
	unsigned cat[C_NCAT], known_cat[C_NCAT];
	unsigned over_failed, over_broken, unmap_by_design, translated;
	bool ran[N_SCENARIOS];
	unsigned uring_entries[E_COUNT];
	unsigned all_entries[E_COUNT];
};

/* Counts a run's findings, printing each one no known failure explains. */
static void account(const struct scenario *s, bool armed, enum entry e, unsigned k,
		    const struct fault *f, const struct report *rep, struct totals *t)
{
	char where[96];
	bool failed = false;

	if (armed)
		snprintf(where, sizeof(where), "%s#%u %s", entry_infos[e].name, k, f->label);
	else
		snprintf(where, sizeof(where), "(counting run)");
	for (int i = 0; i < rep->nviol; i++) {
		int cat = rep->viol[i].cat, kn = find_known(s, armed, e, k, f, cat);

		t->cat[cat]++;
		if (kn >= 0) {
			known_hits[kn]++;
			t->known_cat[cat]++;
			continue;
		}
		failed = true;
		printf("FAIL   %s %s: %s: %s\n", s->name, where, cat_names[cat], rep->viol[i].msg);
	}
	if (failed && rep->more_viol)
		printf("FAIL   %s %s: and %d more\n", s->name, where, rep->more_viol);
	if (failed)
		t->failed++;
	else
		t->passed++;
}

/* Prints which entries the counting run saw the operation call, and how often. */
static void print_counts(const struct scenario *s, const struct report *rep)
{
	char line[512];
	size_t used = 0;

	for (int e = 0; e < E_COUNT; e++) {
		int n;

		if (!rep->counts[e])
			continue;
		n = snprintf(line + used, sizeof(line) - used, "%s%s %u", used ? ", " : "",
			     entry_infos[e].name, rep->counts[e]);
		if (n < 0 || (size_t)n >= sizeof(line) - used)
			break;
		used += (size_t)n;
	}
	printf("count  %-28s %s\n", s->name, used ? line : "no table entry (nothing to inject)");
}

/* The cut-down sweep of a run under valgrind. */
static bool reduced;

/* Sweeps one operation: the counting run, then every fault on every call it made. */
static void sweep(const struct scenario *s, size_t idx, struct totals *t)
{
	struct report rep0, rep;

	run_one(s, false, E_OPENAT, 0, NULL, &rep0);
	t->counting++;
	if (rep0.skipped) {
		printf("skip   %-28s %s\n", s->name, rep0.note);
		t->skipped++;
		return;
	}
	t->ops++;
	t->ran[idx] = true;
	print_counts(s, &rep0);
	account(s, false, E_OPENAT, 0, NULL, &rep0, t);
	for (int e = 0; e < E_COUNT; e++) {
		t->all_entries[e] += rep0.counts[e];
		if (s->engine == ENG_URING)
			t->uring_entries[e] += rep0.counts[e];
	}
	for (int e = 0; e < E_COUNT; e++) {
		unsigned n = rep0.counts[e];

		for (unsigned k = 1; k <= n; k++) {
			if (k >= MAX_K && k != n)
				continue;
			for (const struct fault *f = entry_infos[e].faults; f->label; f++) {
				if (reduced && f != entry_infos[e].faults && f->kind == F_ERRNO)
					continue;
				run_one(s, true, (enum entry)e, k, f, &rep);
				t->injections++;
				if (!rep.fired && !rep.nviol)
					t->unreached++;
				if (is_overwrite(s) && rep.rc < 0)
					t->over_failed++;
				if (rep.dst_broken)
					t->over_broken++;
				if (rep.unmap_leak_ok)
					t->unmap_by_design++;
				if (rep.note[0]) {
					t->translated++;
					printf("info   %s %s#%u %s reported as %s\n", s->name,
					       entry_infos[e].name, k, f->label, rep.note);
				}
				account(s, true, (enum entry)e, k, f, &rep, t);
			}
		}
	}
}

/*
 * Whether io_uring rings can be opened here, asked in a child so that the
 * sweep itself never touches the library.  Returns true, or false with the
 * reason in why.
 */
static bool probe_uring(char *why, size_t len)
{
	int fds[2], status = 0;
	ssize_t n = 0;
	pid_t pid;

	snprintf(why, len, "the probe failed");
	if (pipe2(fds, O_CLOEXEC) != 0)
		return false;
	pid = fork();
	if (pid == 0) {
		struct mmapio_ring_options o;
		mmapio_ring *ring = NULL;
		int r;

		close(fds[0]);
		memset(&o, 0, sizeof(o));
		o.backend = MMAPIO_BACKEND_URING;
		r = mmapio_ring_open(&o, &ring);
		if (r == 0) {
			mmapio_ring_close(ring);
			_exit(0);
		}
		dprintf(fds[1], "mmapio_ring_open: %s", mmapio_strerror(r));
		_exit(1);
	}
	close(fds[1]);
	if (pid > 0) {
		n = read(fds[0], why, len - 1);
		waitpid(pid, &status, 0);
	}
	close(fds[0]);
	if (n > 0)
		why[n] = '\0';
	return pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void)
{
	static struct totals t;
	const char *tmp = getenv("TMPDIR");
	char uring_why[160];
	bool have_uring;
	int n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	pg = (size_t)sysconf(_SC_PAGESIZE);
	reduced = UNDER_VALGRIND();
	mmapio__sys_reset();
	real_sys = mmapio__sys;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	n = snprintf(sweep_dir, sizeof(sweep_dir), "%s/mmapio-sweep-XXXXXX", tmp);
	if (n < 0 || n >= (int)sizeof(sweep_dir) || !mkdtemp(sweep_dir)) {
		printf("cannot make a directory under %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	have_uring = probe_uring(uring_why, sizeof(uring_why));
	printf("fault sweep: %zu operations, page %zu, files under %s, io_uring %s%s\n",
	       N_SCENARIOS, pg, sweep_dir, have_uring ? "available" : "unavailable: ",
	       have_uring ? "" : uring_why);
	if (reduced)
		printf("under valgrind: one errno per call and the other kinds of fault; "
		       "known failures not checked for staleness\n");

	for (size_t i = 0; i < N_SCENARIOS; i++) {
		if (scenarios[i].engine == ENG_URING && !have_uring) {
			printf("skip   %-28s io_uring unavailable: %s\n", scenarios[i].name, uring_why);
			t.skipped++;
			continue;
		}
		sweep(&scenarios[i], i, &t);
	}

	for (size_t i = 0; known_failures[i].scenario; i++) {
		bool applies = false, first = true;
		unsigned hits = 0;

		for (size_t j = 0; j < N_SCENARIOS; j++)
			applies |= t.ran[j] && name_matches(known_failures[i].scenario, scenarios[j].name);
		if (!known_hits[i] && applies && !reduced && !known_failures[i].fs_dependent) {
			printf("STALE  known failure no longer happens in %s (delete its entry): %s\n",
			       known_failures[i].scenario, known_failures[i].bug);
			t.failed++;
		}
		/* One line per bug, however many entries name it. */
		for (size_t j = 0; j < i; j++)
			first &= known_failures[j].bug != known_failures[i].bug;
		for (size_t j = i; first && known_failures[j].scenario; j++)
			if (known_failures[j].bug == known_failures[i].bug)
				hits += known_hits[j];
		if (first && hits)
			printf("known  %u findings: %s\n", hits, known_failures[i].bug);
	}

	if (have_uring) {
		char line[512];
		size_t used = 0;

		for (int e = 0; e < E_COUNT; e++) {
			if (!t.uring_entries[e])
				continue;
			n = snprintf(line + used, sizeof(line) - used, "%s%s %u", used ? ", " : "",
				     entry_infos[e].name, t.uring_entries[e]);
			if (n < 0 || (size_t)n >= sizeof(line) - used)
				break;
			used += (size_t)n;
		}
		printf("io_uring operations touch these table entries: %s\n", used ? line : "none");
	}
	{
		char line[512];
		size_t used = 0;

		for (int e = 0; e < E_COUNT; e++) {
			if (t.all_entries[e])
				continue;
			n = snprintf(line + used, sizeof(line) - used, "%s%s", used ? ", " : "",
				     entry_infos[e].name);
			if (n < 0 || (size_t)n >= sizeof(line) - used)
				break;
			used += (size_t)n;
		}
		printf("table entries no operation reached: %s\n", used ? line : "none");
	}
	printf("operations swept: %u (%u skipped)\n", t.ops, t.skipped);
	printf("counting runs: %u\n", t.counting);
	printf("injections made: %u (%u did not reach their call)\n", t.injections, t.unreached);
	printf("documented-return violations: %u (%u known)\n", t.cat[C_DOC], t.known_cat[C_DOC]);
	printf("fd leaks: %u (%u known)\n", t.cat[C_FD], t.known_cat[C_FD]);
	printf("mapping leaks: %u (%u known)\n", t.cat[C_MAP], t.known_cat[C_MAP]);
	printf("file-state violations: %u (%u known)\n", t.cat[C_FILE], t.known_cat[C_FILE]);
	printf("map-state violations: %u (%u known)\n", t.cat[C_STATE], t.known_cat[C_STATE]);
	printf("crashes and hangs: %u (%u known)\n", t.cat[C_CRASH], t.known_cat[C_CRASH]);
	printf("errors reported as another errno than injected (info): %u\n", t.translated);
	printf("close: %u refused teardown munmaps left their mapping (by design, not counted)\n",
	       t.unmap_by_design);
	printf("copy OVERWRITE: %u of %u failed copies broke the old destination\n",
	       t.over_broken, t.over_failed);
	rmtree(sweep_dir);
	printf("sweep: %u passed, %u failed\n", t.passed, t.failed);
	return t.failed ? 1 : 0;
}
