/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The life of a map: create, open, close, resize, and the bookkeeping that
 * flushes share with the ring (src/sync.c, src/ring.c).  Every system call
 * goes through mmapio__sys so tests can inject failures.
 *
 * Layout of a map in memory.  Without a reservation the file is mapped at
 * base for `mapped` bytes (its length rounded up to pages).  With one, base
 * is the start of `reservation` bytes of PROT_NONE, MAP_NORESERVE address
 * space, and the file is mapped over its first `mapped` bytes with
 * MAP_FIXED; resizing maps and unmaps file pages inside the reservation, so
 * base does not move.
 *
 * Locking.  Read-write and copy-on-write maps have a pthread rwlock: read
 * views and reads hold it shared, writes and mutable views exclusive, and
 * resize exclusive while it changes base, len and mapped.  The rwlock keeps
 * glibc's default reader preference on purpose: a thread that holds a read
 * view may take a second one, which a writer-preferring lock would deadlock
 * as soon as a writer queued.  Read-only maps have no lock: they can never
 * be resized, so base and len never change.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "sys.h"

#define KNOWN_FLAGS (MMAPIO_CREATE_EXCLUSIVE | MMAPIO_CREATE_SPARSE | MMAPIO_CREATE_DURABLE | \
		     MMAPIO_MAP_POPULATE)

static size_t page_size_cache;

/* Returns the system page size, cached after the first call.  Thread-safe. */
MMAPIO_INTERNAL size_t mmapio__page_size(void)
{
	size_t page = __atomic_load_n(&page_size_cache, __ATOMIC_RELAXED);
	long v;

	if (page)
		return page;
	v = sysconf(_SC_PAGESIZE);
	page = v > 0 ? (size_t)v : 4096;
	/* Every thread computes the same value, so a racing store is harmless. */
	__atomic_store_n(&page_size_cache, page, __ATOMIC_RELAXED);
	return page;
}

/*
 * Validates opts (NULL allowed) against the allowed flags.  Returns 0, or
 * -EINVAL for a flag outside allowed, permission bits beyond 07777, or a
 * non-zero reserved field.
 */
MMAPIO_INTERNAL int mmapio__check_options(const struct mmapio_options *opts, unsigned allowed)
{
	size_t i;

	if (!opts)
		return 0;
	if (opts->flags & ~allowed)
		return -EINVAL;
	if (opts->perm & ~07777u)
		return -EINVAL;
	for (i = 0; i < sizeof(opts->reserved) / sizeof(opts->reserved[0]); i++)
		if (opts->reserved[i] != 0)
			return -EINVAL;
	return 0;
}

/* Rounds v up to a multiple of page into *out.  Returns 0 or -ENOMEM on overflow. */
static int round_to_pages(uint64_t v, size_t page, size_t *out)
{
	if (v > SIZE_MAX - (page - 1))
		return -ENOMEM;
	*out = (size_t)((v + page - 1) & ~(uint64_t)(page - 1));
	return 0;
}

/* Returns the mmap protection of a mode. */
static int mode_prot(enum mmapio_mode mode)
{
	return mode == MMAPIO_READ_ONLY ? PROT_READ : PROT_READ | PROT_WRITE;
}

/* Returns the mmap flags for the file part of a map. */
static int map_flags(const struct mmapio_map *map)
{
	int fl = map->mode == MMAPIO_COPY_ON_WRITE ? MAP_PRIVATE : MAP_SHARED;

	if (map->flags & MMAPIO_MAP_POPULATE)
		fl |= MAP_POPULATE;
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

/*
 * Maps the first len bytes of the file (len > 0) into a new map, inside a
 * reservation of reserve bytes when reserve > len.  Returns 0 with base,
 * mapped and reservation set, or -errno with nothing mapped.
 */
static int map_initial(struct mmapio_map *map, uint64_t len, uint64_t reserve)
{
	size_t page = mmapio__page_size();
	size_t mapped = 0, resv = 0;
	void *base = NULL, *p;
	int rc;

	if (len > SIZE_MAX)
		return -EFBIG;
	rc = round_to_pages(len, page, &mapped);
	if (rc < 0)
		return -EFBIG;
	if (reserve > len) {
		rc = round_to_pages(reserve, page, &resv);
		if (rc < 0)
			return rc;
	}
	if (resv > mapped) {
		rc = reserve_space(NULL, resv, 0, &base);
		if (rc < 0)
			return rc;
		if (mapped > 0) {
			rc = mmapio__sys.mmap(base, mapped, mode_prot(map->mode),
					      map_flags(map) | MAP_FIXED, map->fd, 0, &p);
			if (rc < 0) {
				mmapio__sys.munmap(base, resv);
				return rc;
			}
		}
	} else {
		resv = 0;
		if (mapped > 0) {
			rc = mmapio__sys.mmap(NULL, mapped, mode_prot(map->mode), map_flags(map),
					      map->fd, 0, &base);
			if (rc < 0)
				return rc;
		}
	}
	map->base = base;
	map->mapped = mapped;
	map->reservation = resv;
	map->len = len;
	return 0;
}

/*
 * Builds a map around fd, which the map takes over only on success.
 * Returns 0 with *out set; -EISDIR for a directory, -EINVAL for anything
 * else that is not a regular file, -EFBIG for a file larger than the
 * address space, -ENOMEM, or -errno from fstat, mmap, pthread.
 */
static int map_from_fd(int fd, enum mmapio_mode mode, const struct mmapio_options *opts,
		       struct mmapio_map **out)
{
	struct mmapio_map *map;
	struct stat st;
	int rc;

	rc = mmapio__sys.fstat(fd, &st);
	if (rc < 0)
		return rc;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode) || st.st_size < 0)
		return -EINVAL;
	if ((uint64_t)st.st_size > SIZE_MAX)
		return -EFBIG;

	map = calloc(1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	map->fd = fd;
	map->mode = mode;
	map->flags = opts ? opts->flags : 0;
	map->has_lock = mode != MMAPIO_READ_ONLY;
	if (map->has_lock) {
		rc = pthread_rwlock_init(&map->lock, NULL);
		if (rc != 0) {
			free(map);
			return -rc;
		}
	}
	rc = map_initial(map, (uint64_t)st.st_size, opts ? opts->reserve : 0);
	if (rc < 0) {
		if (map->has_lock)
			pthread_rwlock_destroy(&map->lock);
		free(map);
		return rc;
	}
	*out = map;
	return 0;
}

/*
 * Creates the file at path with size bytes and maps it read-write.
 * Returns 0 with *out set, or -errno (see mmapio.h); a file this call
 * created is removed again on failure.
 */
MMAPIO_EXPORT int mmapio_create(const char *path, uint64_t size,
				const struct mmapio_options *opts, mmapio_map **out)
{
	unsigned flags, perm;
	int fd, rc, created = 0;

	if (!path || !out || size == 0)
		return -EINVAL;
	rc = mmapio__check_options(opts, KNOWN_FLAGS);
	if (rc < 0)
		return rc;
	/* Refuse before creating anything a size the map could never hold. */
	if (size > SIZE_MAX || size > (uint64_t)INT64_MAX)
		return -EFBIG;
	flags = opts ? opts->flags : 0;
	perm = mmapio__options_perm(opts);

	fd = mmapio__plat_create_file(path, size, perm,
					flags & (MMAPIO_CREATE_EXCLUSIVE | MMAPIO_CREATE_SPARSE |
						 MMAPIO_CREATE_DURABLE),
					&created);
	if (fd < 0)
		return fd;
	rc = map_from_fd(fd, MMAPIO_READ_WRITE, opts, out);
	if (rc < 0) {
		mmapio__sys.close(fd);
		if (created)
			mmapio__sys.unlinkat(AT_FDCWD, path, 0);
	}
	return rc;
}

/*
 * Opens and maps the existing regular file at path.  Returns 0 with *out
 * set, or -errno (see mmapio.h).
 *
 * All defined flags are accepted.  MMAPIO_MAP_POPULATE prefaults the
 * mapping; MMAPIO_CREATE_SPARSE makes mmapio_resize grow the file with
 * ftruncate instead of fallocate, as it does for a map created sparse;
 * MMAPIO_CREATE_EXCLUSIVE and MMAPIO_CREATE_DURABLE have nothing to act on
 * and are ignored.
 */
MMAPIO_EXPORT int mmapio_open(const char *path, enum mmapio_mode mode,
			      const struct mmapio_options *opts, mmapio_map **out)
{
	int fd, rc, oflags;

	if (!path || !out)
		return -EINVAL;
	if (mode != MMAPIO_READ_ONLY && mode != MMAPIO_READ_WRITE && mode != MMAPIO_COPY_ON_WRITE)
		return -EINVAL;
	rc = mmapio__check_options(opts, KNOWN_FLAGS);
	if (rc < 0)
		return rc;

	/*
	 * O_NONBLOCK keeps a FIFO from blocking the open until a writer comes
	 * (fstat then refuses it); it has no effect on regular files.
	 */
	oflags = (mode == MMAPIO_READ_WRITE ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY |
		 O_NONBLOCK;
	fd = mmapio__sys.openat(AT_FDCWD, path, oflags, 0);
	if (fd < 0)
		return fd;
	rc = map_from_fd(fd, mode, opts, out);
	if (rc < 0)
		mmapio__sys.close(fd);
	return rc;
}

/*
 * Maps the regular file open on fd, through a close-on-exec duplicate the
 * map owns.  Returns 0 with *out set; -EBADF for a bad fd; -EACCES when
 * fd's access mode does not allow the map's mode; otherwise as mmapio_open.
 */
MMAPIO_EXPORT int mmapio_open_fd(int fd, enum mmapio_mode mode,
				 const struct mmapio_options *opts, mmapio_map **out)
{
	int fl, acc, nfd, rc;

	if (!out)
		return -EINVAL;
	if (mode != MMAPIO_READ_ONLY && mode != MMAPIO_READ_WRITE && mode != MMAPIO_COPY_ON_WRITE)
		return -EINVAL;
	rc = mmapio__check_options(opts, KNOWN_FLAGS);
	if (rc < 0)
		return rc;
	if (fd < 0)
		return -EBADF;

	fl = mmapio__sys.fcntl_getfl(fd);
	if (fl < 0)
		return fl;
	/* An O_PATH descriptor can neither be read nor mapped. */
	if (fl & O_PATH)
		return -EBADF;
	acc = fl & O_ACCMODE;
	if (acc == O_WRONLY || (mode == MMAPIO_READ_WRITE && acc != O_RDWR))
		return -EACCES;

	nfd = mmapio__sys.dupfd(fd);
	if (nfd < 0)
		return nfd;
	rc = map_from_fd(nfd, mode, opts, out);
	if (rc < 0)
		mmapio__sys.close(nfd);
	return rc;
}

/*
 * Unmaps, closes and frees the map.  Returns 0 (also for NULL), or -EBUSY
 * with the map untouched while views or ring operations are outstanding.
 */
MMAPIO_EXPORT int mmapio_close(mmapio_map *map)
{
	if (!map)
		return 0;
	if (__atomic_load_n(&map->views, __ATOMIC_ACQUIRE) != 0 ||
	    __atomic_load_n(&map->ops, __ATOMIC_ACQUIRE) != 0)
		return -EBUSY;
	/* Unmapping and closing cannot fail in a way the caller could act on. */
	if (map->reservation)
		mmapio__sys.munmap(map->base, map->reservation);
	else if (map->mapped)
		mmapio__sys.munmap(map->base, map->mapped);
	if (map->has_lock)
		pthread_rwlock_destroy(&map->lock);
	mmapio__sys.close(map->fd);
	free(map);
	return 0;
}

/* Returns the map's length in bytes, 0 for NULL. */
MMAPIO_EXPORT uint64_t mmapio_len(const mmapio_map *map)
{
	return map ? __atomic_load_n(&map->len, __ATOMIC_ACQUIRE) : 0;
}

/* Returns the map's mode (MMAPIO_READ_ONLY for NULL). */
MMAPIO_EXPORT enum mmapio_mode mmapio_mode(const mmapio_map *map)
{
	return map ? map->mode : MMAPIO_READ_ONLY;
}

/* Returns the map's descriptor, or -EINVAL for NULL. */
MMAPIO_EXPORT int mmapio_fd(const mmapio_map *map)
{
	return map ? map->fd : -EINVAL;
}

/* Returns the base pointer (NULL for NULL or a map with nothing mapped). */
MMAPIO_EXPORT void *mmapio_base(mmapio_map *map)
{
	return map ? __atomic_load_n(&map->base, __ATOMIC_ACQUIRE) : NULL;
}

/*
 * Extends the file from old_len to new_len bytes.  Space is preallocated
 * with fallocate, so that writes into the new range cannot fault for lack
 * of space, unless the map was made with MMAPIO_CREATE_SPARSE; where the
 * filesystem cannot preallocate (EOPNOTSUPP) the file is extended sparse
 * with ftruncate, as mmapio_create does.  This holds for opened maps too:
 * the header promises preallocated growth for every map not made sparse.
 * Returns 0, or -errno with the file back at old_len.
 */
static int grow_file(struct mmapio_map *map, uint64_t old_len, uint64_t new_len)
{
	int rc;

	if (!(map->flags & MMAPIO_CREATE_SPARSE)) {
		rc = mmapio__sys.fallocate(map->fd, 0, old_len, new_len - old_len);
		if (rc == 0)
			return 0;
		if (rc != -EOPNOTSUPP && rc != -ENOSYS) {
			/* A failed fallocate may have extended the file part way. */
			mmapio__sys.ftruncate(map->fd, old_len);
			return rc;
		}
	}
	return mmapio__sys.ftruncate(map->fd, new_len);
}

/*
 * Maps file pages up to new_mapped bytes.  Inside the reservation the new
 * pages replace reserved space and base stays; beyond it, or without one,
 * the mapping is grown with mremap or mapped afresh, and base may move.
 * Returns 0 with base and mapped updated, or -errno with the old mapping
 * in place.
 */
static int map_grow(struct mmapio_map *map, size_t new_mapped)
{
	int prot = mode_prot(map->mode), fl = map_flags(map);
	void *p;
	int rc;

	if (new_mapped <= map->mapped)
		return 0;
	if (map->reservation && new_mapped <= map->reservation) {
		unsigned char *tail = map->base + map->mapped;
		size_t tail_len = new_mapped - map->mapped;

		rc = mmapio__sys.mmap(tail, tail_len, prot, fl | MAP_FIXED, map->fd,
				      map->mapped, &p);
		if (rc < 0) {
			/* A failed MAP_FIXED may leave a hole: reserve it again. */
			reserve_space(tail, tail_len, 1, &p);
			return rc;
		}
		map->mapped = new_mapped;
		return 0;
	}

	if (map->reservation) {
		/*
		 * Growth beyond the reservation: map the whole file anew and drop
		 * the old reservation.  mremap cannot help, as the file pages and
		 * the reserved tail are separate mappings.  The map has no
		 * reservation afterwards.
		 */
		rc = mmapio__sys.mmap(NULL, new_mapped, prot, fl, map->fd, 0, &p);
		if (rc < 0)
			return rc;
		mmapio__sys.munmap(map->base, map->reservation);
		map->reservation = 0;
	} else if (map->mapped == 0) {
		rc = mmapio__sys.mmap(NULL, new_mapped, prot, fl, map->fd, 0, &p);
		if (rc < 0)
			return rc;
	} else {
		rc = mmapio__sys.mremap(map->base, map->mapped, new_mapped, MREMAP_MAYMOVE, &p);
		if (rc < 0)
			return rc;
	}
	__atomic_store_n(&map->base, (unsigned char *)p, __ATOMIC_RELEASE);
	map->mapped = new_mapped;
	return 0;
}

/*
 * Puts file pages back over [new_mapped, mapped) after a failed shrink.
 * Returns 0, or -errno when they could not be restored.
 */
static int restore_tail(struct mmapio_map *map, size_t new_mapped)
{
	size_t tail_len = map->mapped - new_mapped;
	void *p;
	int rc;

	if (map->reservation)
		return mmapio__sys.mmap(map->base + new_mapped, tail_len, mode_prot(map->mode),
					map_flags(map) | MAP_FIXED, map->fd, new_mapped, &p);
	/*
	 * Without a reservation the address range after the mapping may have
	 * been taken since, so grow the shortened mapping back with mremap,
	 * which moves it if it must.
	 */
	rc = mmapio__sys.mremap(map->base, new_mapped, map->mapped, MREMAP_MAYMOVE, &p);
	if (rc == 0)
		__atomic_store_n(&map->base, (unsigned char *)p, __ATOMIC_RELEASE);
	return rc;
}

/*
 * Shrinks the map and then the file to new_len.  The tail pages are taken
 * out of the mapping first (returned to the reservation, or unmapped) so
 * that no page stays mapped past the new end of file, then the file is
 * cut.  Returns 0, or -errno with the mapping and the file at their old
 * size.  Should even the restoring of the tail fail, the map is left at
 * the shorter size (len = new_len, so every access stays inside mapped
 * pages) while the file keeps its old size, and the error is returned.
 */
static int shrink(struct mmapio_map *map, uint64_t new_len, size_t new_mapped)
{
	unsigned char *tail = map->base + new_mapped;
	size_t tail_len = map->mapped - new_mapped;
	void *p;
	int rc;

	if (new_mapped < map->mapped) {
		if (map->reservation)
			rc = reserve_space(tail, tail_len, 1, &p);
		else
			rc = mmapio__sys.munmap(tail, tail_len);
		if (rc < 0) {
			if (map->reservation)
				restore_tail(map, new_mapped);
			return rc;
		}
	}
	rc = mmapio__sys.ftruncate(map->fd, new_len);
	if (rc < 0) {
		if (new_mapped < map->mapped && restore_tail(map, new_mapped) < 0) {
			map->mapped = new_mapped;
			__atomic_store_n(&map->len, new_len, __ATOMIC_RELEASE);
		}
		return rc;
	}
	map->mapped = new_mapped;
	return 0;
}

/*
 * Resizes the file and the map to new_size bytes.  Returns 0; -EINVAL,
 * -EACCES, -EBUSY, -EFBIG, or -errno from the OS with map and file at
 * their old size (see mmapio.h).
 */
MMAPIO_EXPORT int mmapio_resize(mmapio_map *map, uint64_t new_size)
{
	size_t new_mapped;
	uint64_t old;
	int rc;

	if (!map || new_size == 0)
		return -EINVAL;
	if (map->mode != MMAPIO_READ_WRITE)
		return -EACCES;
	if (new_size > SIZE_MAX || new_size > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (round_to_pages(new_size, mmapio__page_size(), &new_mapped) < 0)
		return -EFBIG;
	/*
	 * Checked before taking the write lock so that a thread holding a view
	 * of this map gets -EBUSY instead of waiting for itself forever.
	 */
	if (__atomic_load_n(&map->views, __ATOMIC_SEQ_CST) != 0 ||
	    __atomic_load_n(&map->ops, __ATOMIC_SEQ_CST) != 0)
		return -EBUSY;
	rc = pthread_rwlock_wrlock(&map->lock);
	if (rc != 0)
		return -rc;
	/*
	 * Views hold the lock, so none is out now.  A flush may have been
	 * prepared between the check and the lock; mmapio__flush_prepare
	 * counts itself under the read lock, so none can start from here on.
	 */
	if (__atomic_load_n(&map->ops, __ATOMIC_SEQ_CST) != 0) {
		rc = -EBUSY;
		goto out;
	}

	old = map->len;
	if (new_size > old) {
		rc = grow_file(map, old, new_size);
		if (rc < 0)
			goto out;
		rc = map_grow(map, new_mapped);
		if (rc < 0) {
			mmapio__sys.ftruncate(map->fd, old);
			goto out;
		}
	} else if (new_size < old) {
		rc = shrink(map, new_size, new_mapped);
		if (rc < 0)
			goto out;
	}
	__atomic_store_n(&map->len, new_size, __ATOMIC_RELEASE);
out:
	pthread_rwlock_unlock(&map->lock);
	return rc;
}

/*
 * Takes the read lock of a writable map for a short look at base and len.
 * A thread that holds a mutable view already owns the write lock, and
 * glibc reports that as EDEADLK instead of waiting for itself: base and len
 * cannot change while it holds the view, so it proceeds without the read
 * lock.  Returns 0 with *locked telling whether to unlock, or -errno.
 */
MMAPIO_INTERNAL int mmapio__read_lock(struct mmapio_map *map, bool *locked)
{
	int rc;

	*locked = false;
	if (!map->has_lock)
		return 0;
	rc = pthread_rwlock_rdlock(&map->lock);
	if (rc == EDEADLK)
		return 0;
	if (rc != 0)
		return -rc;
	*locked = true;
	return 0;
}

/*
 * Fills a flush operation for [off, off + len) rounded out to pages and
 * counts it in map->ops.  len 0 is -EINVAL: mmapio_flush_range answers a
 * zero-length range itself, without an operation.  Any mode is accepted
 * (msync and fdatasync are harmless on read-only and private mappings),
 * although the callers answer read-only and copy-on-write maps with 0
 * before coming here.  Returns 0, -EINVAL, -ERANGE, or -errno from the lock.
 */
MMAPIO_INTERNAL int mmapio__flush_prepare(mmapio_map *map, uint64_t off, uint64_t len,
					  struct mmapio__op *op)
{
	size_t page = mmapio__page_size();
	uint64_t start, end;
	bool locked;
	int rc;

	if (!map || !op || len == 0)
		return -EINVAL;
	rc = mmapio__read_lock(map, &locked);
	if (rc < 0)
		return rc;
	rc = mmapio__check_range(map->len, off, len);
	if (rc < 0)
		goto out;
	start = off & ~(uint64_t)(page - 1);
	/* off + len <= map->len <= SIZE_MAX, so rounding up cannot overflow. */
	end = (off + len + page - 1) & ~(uint64_t)(page - 1);
	if (end > map->mapped)
		end = map->mapped;
	op->kind = MMAPIO_OP_FLUSH;
	op->u.flush.fd = map->fd;
	op->u.flush.addr = map->base + start;
	op->u.flush.off = start;
	op->u.flush.len = end - start;
	op->map = map;
	__atomic_add_fetch(&map->ops, 1, __ATOMIC_SEQ_CST);
out:
	if (locked)
		pthread_rwlock_unlock(&map->lock);
	return rc;
}

/*
 * Returns whether a failed flush may have lost data, so that the error must
 * stick: everything but the errors that say the sync did not run at all.
 */
static bool is_writeback_error(int err)
{
	switch (-err) {
	case EINTR:
	case EAGAIN:
	case ECANCELED:
	case ENOMEM:
	case EINVAL:
	case ERANGE:
	case EBUSY:
	case EBADF:
	case EOPNOTSUPP:
	case ETIME:
		return false;
	default:
		return true;
	}
}

/*
 * Records a finished flush: a write-back error becomes the map's sticky
 * error (the first one wins), and the op is uncounted.  Returns the sticky
 * error when one is recorded, else result.
 */
MMAPIO_INTERNAL int mmapio__flush_finish(mmapio_map *map, int result)
{
	int expected = 0, sticky;

	if (result < 0 && is_writeback_error(result))
		__atomic_compare_exchange_n(&map->flush_error, &expected, result, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&map->ops, 1, __ATOMIC_SEQ_CST);
	sticky = __atomic_load_n(&map->flush_error, __ATOMIC_SEQ_CST);
	return sticky ? sticky : result;
}
