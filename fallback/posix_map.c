/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform's mappings on POSIX hosts: mapping a file inside or without
 * a reservation, growing and shrinking it, syncing, advice, page locking
 * and residency.  Every system call goes through the mmapio__sys table.
 *
 * Layout.  Without a reservation the file is mapped at base for `mapped`
 * bytes.  With one, base is the start of `reservation` bytes of PROT_NONE,
 * MAP_NORESERVE address space, and the file is mapped over its first
 * `mapped` bytes with MAP_FIXED; growing and shrinking map and unmap file
 * pages inside the reservation, so base does not move.
 */
#include <errno.h>
#include <sys/mman.h>

#include "platform.h"
#include "posix_features.h"
#include "sys.h"

/* Hosts without mremap: the table's entry answers -ENOSYS anyway. */
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif

/* Linux 5.14 added these; older headers lack them. */
#if MMAPIO_LINUX && !defined(MADV_POPULATE_READ)
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif

/* Returns the mmap protection of a mapping's mode. */
static int prot_of(const struct mmapio__mapping *m)
{
	return m->mode == MMAPIO_READ_ONLY ? PROT_READ : PROT_READ | PROT_WRITE;
}

/* Returns the mmap flags for the file part of a mapping. */
static int flags_of(const struct mmapio__mapping *m)
{
	int fl = m->mode == MMAPIO_COPY_ON_WRITE ? MAP_PRIVATE : MAP_SHARED;

#if MMAPIO_LINUX
	if (m->flags & MMAPIO__MAP_POPULATE)
		fl |= MAP_POPULATE;
#endif
	return fl;
}

/*
 * Reserves len bytes of inaccessible address space at addr (NULL: anywhere;
 * fixed: replacing what is there).  Returns 0 with *out set, or -errno.
 */
static int reserve_space(void *addr, size_t len, int fixed, void **out)
{
	int fl = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | (fixed ? MAP_FIXED : 0);

	return mmapio__sys.mmap(addr, len, PROT_NONE, fl, -1, 0, out);
}

/* Maps the file's first len bytes anywhere.  Returns 0 with *out set, or -errno. */
static int map_anywhere(const struct mmapio__mapping *m, size_t len, void **out)
{
	return mmapio__sys.mmap(NULL, len, prot_of(m), flags_of(m), m->fd, 0, out);
}

MMAPIO_INTERNAL int mmapio__plat_map(struct mmapio__mapping *m, size_t len, size_t reserve)
{
	void *base = NULL, *p;
	int rc;

	m->base = NULL;
	m->mapped = 0;
	m->reservation = 0;
	if (reserve > len) {
		rc = reserve_space(NULL, reserve, 0, &base);
		if (rc < 0)
			return rc;
		if (len > 0) {
			rc = mmapio__sys.mmap(base, len, prot_of(m), flags_of(m) | MAP_FIXED, m->fd,
					      0, &p);
			if (rc < 0) {
				mmapio__sys.munmap(base, reserve);
				return rc;
			}
		}
		m->reservation = reserve;
	} else if (len > 0) {
		rc = map_anywhere(m, len, &base);
		if (rc < 0)
			return rc;
	}
	m->base = base;
	m->mapped = len;
	/* Without MAP_POPULATE: fault the pages in by touching them. */
	if (!MMAPIO_LINUX && (m->flags & MMAPIO__MAP_POPULATE) && len > 0)
		mmapio__posix_guarded_touch(base, len, false);
	return 0;
}

/*
 * Moves the mapping: maps the file's first new_mapped bytes afresh, then
 * unmaps the old range (old_len bytes at the old base).  Should the unmap
 * fail, the new mapping is dropped again, so nothing leaks.  Returns 0
 * with *out set to the new base, or -errno with the old mapping intact.
 */
static int map_moved(struct mmapio__mapping *m, size_t new_mapped, size_t old_len, void **out)
{
	void *p;
	int rc = map_anywhere(m, new_mapped, &p);

	if (rc < 0)
		return rc;
	if (old_len > 0) {
		rc = mmapio__sys.munmap(m->base, old_len);
		if (rc < 0) {
			mmapio__sys.munmap(p, new_mapped);
			return rc;
		}
	}
	*out = p;
	return 0;
}

/*
 * Without mremap: maps the file's pages [mapped, new_mapped) right after
 * the mapping, never replacing what another thread has mapped there since
 * (MAP_FIXED_NOREPLACE where the host has it, else that address as a
 * hint).  Returns 1 when the mapping grew in place, 0 when the address was
 * taken (nothing is left mapped), or -errno.
 */
static int grow_after(struct mmapio__mapping *m, size_t new_mapped)
{
	unsigned char *tail = m->base + m->mapped;
	size_t tail_len = new_mapped - m->mapped;
	int fl = flags_of(m);
	void *p;
	int rc;

#ifdef MAP_FIXED_NOREPLACE
	fl |= MAP_FIXED_NOREPLACE;
#endif
	rc = mmapio__sys.mmap(tail, tail_len, prot_of(m), fl, m->fd, m->mapped, &p);
	if (rc == -EEXIST)
		return 0;
	if (rc < 0)
		return rc;
	if (p == tail)
		return 1;
	/* Only a plain hint lands elsewhere; a failed unmap of it is reported. */
	rc = mmapio__sys.munmap(p, tail_len);
	return rc < 0 ? rc : 0;
}

MMAPIO_INTERNAL int mmapio__plat_map_grow(struct mmapio__mapping *m, size_t new_mapped)
{
	void *p;
	int rc;

	if (new_mapped <= m->mapped)
		return 0;
	if (m->reservation && new_mapped <= m->reservation) {
		unsigned char *tail = m->base + m->mapped;
		size_t tail_len = new_mapped - m->mapped;

		rc = mmapio__sys.mmap(tail, tail_len, prot_of(m), flags_of(m) | MAP_FIXED, m->fd,
				      m->mapped, &p);
		if (rc < 0) {
			/* A failed MAP_FIXED may leave a hole: reserve it again. */
			reserve_space(tail, tail_len, 1, &p);
			return rc;
		}
		m->mapped = new_mapped;
		return 0;
	}
	if (m->reservation) {
		/*
		 * Growth beyond the reservation: map the whole file anew and
		 * drop the old reservation (the file pages and the reserved
		 * tail are separate mappings, which mremap cannot join).
		 */
		rc = map_moved(m, new_mapped, m->reservation, &p);
		if (rc < 0)
			return rc;
		m->reservation = 0;
	} else if (m->mapped == 0) {
		rc = map_anywhere(m, new_mapped, &p);
		if (rc < 0)
			return rc;
	} else {
		/*
		 * mremap grows in place or moves; it refuses (EFAULT) a range
		 * that advice or locking has split into several kernel
		 * mappings.  Without it, or then: the tail is mapped right
		 * after the mapping if that address is free, else the whole
		 * file is mapped afresh.
		 */
		rc = MMAPIO_LINUX ? mmapio__sys.mremap(m->base, m->mapped, new_mapped,
						       MREMAP_MAYMOVE, &p)
				  : -ENOSYS;
		if (rc == -EFAULT || rc == -ENOSYS) {
			rc = grow_after(m, new_mapped);
			if (rc == 1) {
				m->mapped = new_mapped;
				return 0;
			}
			if (rc == 0)
				rc = map_moved(m, new_mapped, m->mapped, &p);
		}
		if (rc < 0)
			return rc;
	}
	__atomic_store_n(&m->base, (unsigned char *)p, __ATOMIC_RELEASE);
	m->mapped = new_mapped;
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_map_shrink(struct mmapio__mapping *m, size_t new_mapped)
{
	unsigned char *tail = m->base + new_mapped;
	size_t tail_len = m->mapped - new_mapped;
	void *p;
	int rc;

	if (new_mapped >= m->mapped)
		return 0;
	if (m->reservation)
		rc = reserve_space(tail, tail_len, 1, &p);
	else
		rc = mmapio__sys.munmap(tail, tail_len);
	if (rc < 0) {
		/* A failed MAP_FIXED may have left a hole in the file pages. */
		if (m->reservation)
			mmapio__sys.mmap(tail, tail_len, prot_of(m), flags_of(m) | MAP_FIXED, m->fd,
					 new_mapped, &p);
		return rc;
	}
	m->mapped = new_mapped;
	if (new_mapped == 0 && !m->reservation)
		__atomic_store_n(&m->base, (unsigned char *)NULL, __ATOMIC_RELEASE);
	return 0;
}

MMAPIO_INTERNAL void mmapio__plat_unmap(struct mmapio__mapping *m)
{
	/* Unmapping cannot fail in a way the caller could act on. */
	if (m->reservation)
		mmapio__sys.munmap(m->base, m->reservation);
	else if (m->mapped)
		mmapio__sys.munmap(m->base, m->mapped);
	m->base = NULL;
	m->mapped = 0;
	m->reservation = 0;
}

MMAPIO_INTERNAL int mmapio__plat_sync_range(int fd, void *addr, size_t len)
{
	int rc = mmapio__sys.msync(addr, len, MS_SYNC);

#if MMAPIO_APPLE
	/* msync(MS_SYNC) on macOS stops at the drive's cache. */
	if (rc == 0)
		rc = mmapio__plat_sync_file(fd);
#else
	(void)fd;
#endif
	return rc;
}

/*
 * msync(MS_SYNC) of each range in turn, the portable way: each waits for
 * the disk on its own.  On macOS, where msync stops at the drive's cache,
 * one F_FULLFSYNC after the last covers them all.
 */
static int sync_each_range(int fd, unsigned char *addr, uint64_t off,
			   const struct mmapio_range *ranges, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = mmapio__sys.msync(addr + (ranges[i].off - off), (size_t)ranges[i].len,
				       MS_SYNC);
	if (rc == 0 && MMAPIO_APPLE)
		rc = mmapio__plat_sync_file(fd);
	return rc;
}

/*
 * Linux: every range's write-back is started before the first is waited
 * for, so that the disk has all of them queued at once; then each is
 * written (what was dirtied meanwhile) and waited for.  The ranges are
 * clean after that, so msync(MS_SYNC) of the first (vfs_fsync_range over
 * it) writes only the inode's metadata and flushes the disk's cache: one
 * flush for all the ranges instead of one per range, which is what a
 * thousand msyncs spend their time on.  A kernel or filter without
 * sync_file_range (-ENOSYS from the first call) gets msync of each.
 */
static int sync_ranges_grouped(int fd, unsigned char *addr, uint64_t off,
			       const struct mmapio_range *ranges, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++)
		rc = mmapio__sys.writeback(fd, ranges[i].off, ranges[i].len);
	if (rc == -ENOSYS && i == 1)
		return sync_each_range(fd, addr, off, ranges, n);
	for (i = 0; i < n && rc == 0; i++)
		rc = mmapio__sys.writeback_wait(fd, ranges[i].off, ranges[i].len);
	if (rc == 0)
		rc = mmapio__sys.msync(addr + (ranges[0].off - off), (size_t)ranges[0].len,
				       MS_SYNC);
	return rc;
}

MMAPIO_INTERNAL int mmapio__plat_sync_ranges(int fd, void *addr, uint64_t off,
					     const struct mmapio_range *ranges, size_t n)
{
	if (!MMAPIO_LINUX)
		return sync_each_range(fd, addr, off, ranges, n);
	return sync_ranges_grouped(fd, addr, off, ranges, n);
}

MMAPIO_INTERNAL int mmapio__plat_writeback_start(int fd, void *addr, size_t len, uint64_t off)
{
	int rc = mmapio__sys.writeback(fd, off, len);

	/* Without sync_file_range: msync's asynchronous form starts it too. */
	if (rc == -ENOSYS)
		rc = mmapio__sys.msync(addr, len, MS_ASYNC);
	return rc;
}

/* Returns the madvise value of advice, or -1 where the host has none. */
static int madvice_of(enum mmapio_advice advice)
{
	switch (advice) {
	case MMAPIO_ADVICE_NORMAL:
		return MADV_NORMAL;
	case MMAPIO_ADVICE_RANDOM:
		return MADV_RANDOM;
	case MMAPIO_ADVICE_SEQUENTIAL:
		return MADV_SEQUENTIAL;
	case MMAPIO_ADVICE_WILLNEED:
		return MADV_WILLNEED;
	case MMAPIO_ADVICE_DONTNEED:
		return MADV_DONTNEED;
#if MMAPIO_LINUX
	case MMAPIO_ADVICE_POPULATE_READ:
		return MADV_POPULATE_READ;
	case MMAPIO_ADVICE_POPULATE_WRITE:
		return MADV_POPULATE_WRITE;
#endif
	default:
		return -1;
	}
}

MMAPIO_INTERNAL int mmapio__plat_advise(void *addr, size_t len, enum mmapio_advice advice)
{
	int adv = madvice_of(advice), rc;

	if (!MMAPIO_LINUX && (advice == MMAPIO_ADVICE_POPULATE_READ ||
			      advice == MMAPIO_ADVICE_POPULATE_WRITE))
		return mmapio__posix_guarded_touch(addr, len,
						   advice == MMAPIO_ADVICE_POPULATE_WRITE);
	if (adv < 0)
		return -ENOTSUP;
	rc = mmapio__sys.madvise(addr, len, adv);
	/*
	 * The range is page-aligned and mapped, so EINVAL can only mean that
	 * the kernel (before 5.14) does not know the populate advice.
	 */
	if (rc == -EINVAL && (advice == MMAPIO_ADVICE_POPULATE_READ ||
			      advice == MMAPIO_ADVICE_POPULATE_WRITE))
		return -ENOTSUP;
	return rc;
}

MMAPIO_INTERNAL int mmapio__plat_lock_pages(void *addr, size_t len)
{
	return mmapio__sys.mlock(addr, len);
}

MMAPIO_INTERNAL int mmapio__plat_unlock_pages(void *addr, size_t len)
{
	return mmapio__sys.munlock(addr, len);
}

MMAPIO_INTERNAL int mmapio__plat_resident(const void *addr)
{
	unsigned char vec = 1;
	int rc = mmapio__sys.mincore((void *)addr, mmapio__plat_page_size(), &vec);

	return rc < 0 ? rc : (vec & 1);
}
