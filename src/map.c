/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The life of a map: create, open, close, resize, and the bookkeeping that
 * flushes share with the ring (src/sync.c, src/ring.c).  The file and its
 * mapping are the platform's (src/platform.h: struct mmapio__mapping says
 * how a map with and without a reservation is laid out); this file decides
 * the order of things, so that no page stays mapped past the end of the
 * file and a failure leaves map and file as they were.
 *
 * Locking: the map lock of src/maplock.h.  Read views and reads take read
 * holds, writes and mutable views the write lock, and resize the write
 * lock while it changes base, len and mapped, waiting for other threads'
 * views as any writer does.  Read-only maps take no lock: they can never
 * be resized, so base and len never change; only their views are counted,
 * for close.
 */
#include <stdlib.h>

#include "internal.h"

#define KNOWN_FLAGS (MMAPIO_CREATE_EXCLUSIVE | MMAPIO_CREATE_SPARSE | MMAPIO_CREATE_DURABLE | \
		     MMAPIO_MAP_POPULATE | MMAPIO_CREATE_OR_OPEN)

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

/*
 * Maps the first len bytes of the file (len may be 0), inside a reservation
 * of reserve bytes when reserve > len.  Returns 0 with the mapping and len
 * set, or -errno with nothing mapped.
 */
static int map_initial(struct mmapio_map *map, uint64_t len, uint64_t reserve)
{
	size_t page = mmapio__plat_page_size();
	size_t mapped = 0, resv = 0;

	if (len > SIZE_MAX || round_to_pages(len, page, &mapped) < 0)
		return -EFBIG;
	if (reserve > len && round_to_pages(reserve, page, &resv) < 0)
		return -ENOMEM;
	map->len = len;
	return mmapio__plat_map(&map->m, mapped, resv > mapped ? resv : 0);
}

/*
 * Builds a map around fd, which the map takes over only on success.
 * Returns 0 with *out set; -EISDIR for a directory, -EINVAL for anything
 * else that is not a regular file, -EFBIG for a file larger than the
 * address space, -ENOMEM, or -errno from the platform.
 */
static int map_from_fd(int fd, enum mmapio_mode mode, const struct mmapio_options *opts,
		       struct mmapio_map **out)
{
	struct mmapio__file_info fi;
	struct mmapio_map *map;
	int rc;

	rc = mmapio__plat_file_info(fd, &fi);
	if (rc < 0)
		return rc;
	if (fi.type == MMAPIO__FILE_DIRECTORY)
		return -EISDIR;
	if (fi.type != MMAPIO__FILE_REGULAR)
		return -EINVAL;
	if (fi.size > SIZE_MAX)
		return -EFBIG;

	map = calloc(1, sizeof(*map));
	if (!map)
		return -ENOMEM;
	map->m.fd = fd;
	map->m.mode = (uint32_t)mode;
	map->m.flags = opts && (opts->flags & MMAPIO_MAP_POPULATE) ? MMAPIO__MAP_POPULATE : 0;
	map->mode = mode;
	map->flags = opts ? opts->flags : 0;
	rc = mmapio__maplock_init(&map->lock, mode == MMAPIO_READ_ONLY);
	if (rc < 0) {
		free(map);
		return rc;
	}
	rc = map_initial(map, fi.size, opts ? opts->reserve : 0);
	if (rc < 0) {
		mmapio__maplock_fini(&map->lock);
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
	if ((flags & MMAPIO_CREATE_OR_OPEN) && (flags & MMAPIO_CREATE_EXCLUSIVE))
		return -EINVAL;
	perm = mmapio__options_perm(opts);

	fd = mmapio__plat_create_file(path, size, perm,
				      flags & (MMAPIO_CREATE_EXCLUSIVE | MMAPIO_CREATE_SPARSE |
					       MMAPIO_CREATE_DURABLE | MMAPIO_CREATE_OR_OPEN),
				      &created);
	if (fd < 0)
		return fd;
	rc = map_from_fd(fd, MMAPIO_READ_WRITE, opts, out);
	if (rc < 0) {
		mmapio__plat_close(fd);
		if (created)
			mmapio__plat_unlink(path);
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
	int fd, rc;

	if (!path || !out)
		return -EINVAL;
	if (mode != MMAPIO_READ_ONLY && mode != MMAPIO_READ_WRITE && mode != MMAPIO_COPY_ON_WRITE)
		return -EINVAL;
	rc = mmapio__check_options(opts, KNOWN_FLAGS);
	if (rc < 0)
		return rc;

	fd = mmapio__plat_open(path, mode);
	if (fd < 0)
		return fd;
	rc = map_from_fd(fd, mode, opts, out);
	if (rc < 0)
		mmapio__plat_close(fd);
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
	int nfd, rc;

	if (!out)
		return -EINVAL;
	if (mode != MMAPIO_READ_ONLY && mode != MMAPIO_READ_WRITE && mode != MMAPIO_COPY_ON_WRITE)
		return -EINVAL;
	rc = mmapio__check_options(opts, KNOWN_FLAGS);
	if (rc < 0)
		return rc;
	nfd = mmapio__plat_dup(fd, mode);
	if (nfd < 0)
		return nfd;
	rc = map_from_fd(nfd, mode, opts, out);
	if (rc < 0)
		mmapio__plat_close(nfd);
	return rc;
}

/*
 * Unmaps, closes and frees the map.  Returns 0 (also for NULL), or -EBUSY
 * with the map untouched while views (any thread's, also those of threads
 * that have exited) or ring operations are outstanding, or while another
 * thread is inside a write.
 */
MMAPIO_EXPORT int mmapio_close(mmapio_map *map)
{
	if (!map)
		return 0;
	if (mmapio__maplock_busy(&map->lock) || __atomic_load_n(&map->ops, __ATOMIC_ACQUIRE) != 0)
		return -EBUSY;
	/* Unmapping and closing cannot fail in a way the caller could act on. */
	mmapio__plat_unmap(&map->m);
	mmapio__maplock_fini(&map->lock);
	mmapio__plat_close(map->m.fd);
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
	return map ? map->m.fd : -EINVAL;
}

/* Returns the base pointer (NULL for NULL or a map with nothing mapped). */
MMAPIO_EXPORT void *mmapio_base(mmapio_map *map)
{
	return map ? __atomic_load_n(&map->m.base, __ATOMIC_ACQUIRE) : NULL;
}

/*
 * Sets the file to exactly new_size bytes from its real size `real` (asked
 * of the file: another map or process may have changed it since this map
 * last looked).  Growth reserves the new blocks, so that writes into them
 * cannot fault for lack of space, unless the map was made with
 * MMAPIO_CREATE_SPARSE or the filesystem cannot reserve (then the file is
 * extended sparse, as mmapio_create does).  Reserving never shrinks a file,
 * so any other change is a plain set_size.  Returns 0, or -errno with the
 * file back at real.
 */
static int set_file_size(struct mmapio_map *map, uint64_t real, uint64_t new_size)
{
	int rc;

	if (new_size == real)
		return 0;
	if (new_size > real && !(map->flags & MMAPIO_CREATE_SPARSE)) {
		rc = mmapio__plat_allocate(map->m.fd, real, new_size - real);
		if (rc == 0)
			return 0;
		if (rc != -EOPNOTSUPP) {
			/* A failed allocation may have extended the file part way. */
			mmapio__plat_set_size(map->m.fd, real);
			return rc;
		}
	}
	return mmapio__plat_set_size(map->m.fd, new_size);
}

/*
 * Changes file and mapping to new_size bytes under the write lock.  Pages
 * beyond the new end leave the mapping before the file is cut; new pages
 * join it after the file has grown.  Returns 0, or -errno with the file at
 * the size it had before the call and the mapping as it was.  Should even
 * the restoring of the mapping fail, the map is left at the shorter length
 * (every access stays inside mapped pages) and the error is returned.
 */
static int resize_locked(struct mmapio_map *map, uint64_t new_size, size_t new_mapped)
{
	size_t old_mapped = map->m.mapped;
	struct mmapio__file_info fi;
	int rc;

	rc = mmapio__plat_file_info(map->m.fd, &fi);
	if (rc < 0)
		return rc;
	if (new_mapped < old_mapped) {
		rc = mmapio__plat_map_shrink(&map->m, new_mapped);
		if (rc < 0)
			return rc;
	}
	rc = set_file_size(map, fi.size, new_size);
	if (rc < 0) {
		if (new_mapped < old_mapped && mmapio__plat_map_grow(&map->m, old_mapped) < 0)
			__atomic_store_n(&map->len, new_size, __ATOMIC_RELEASE);
		return rc;
	}
	if (new_mapped > old_mapped) {
		rc = mmapio__plat_map_grow(&map->m, new_mapped);
		if (rc < 0) {
			mmapio__plat_set_size(map->m.fd, fi.size);
			return rc;
		}
	}
	__atomic_store_n(&map->len, new_size, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Resizes the file and the map to new_size bytes, under the write lock:
 * views of other threads are waited for.  Returns 0; -EINVAL, -EACCES,
 * -EFBIG; -EDEADLK when the calling thread holds a view of map; -EBUSY while
 * ring operations on map are outstanding; or -errno from the OS with map
 * and file at their old size (see mmapio.h).
 */
MMAPIO_EXPORT int mmapio_resize(mmapio_map *map, uint64_t new_size)
{
	size_t new_mapped;
	int rc;

	if (!map || new_size == 0)
		return -EINVAL;
	if (map->mode != MMAPIO_READ_WRITE)
		return -EACCES;
	if (new_size > SIZE_MAX || new_size > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (round_to_pages(new_size, mmapio__plat_page_size(), &new_mapped) < 0)
		return -EFBIG;
	rc = mmapio__maplock_write(&map->lock, false);
	if (rc < 0)
		return rc;
	/*
	 * No view is out now.  Ring operations are counted by
	 * mmapio__flush_prepare under a read hold, so none can start from
	 * here on; those already prepared keep the map until reaped.
	 */
	if (__atomic_load_n(&map->ops, __ATOMIC_SEQ_CST) != 0) {
		rc = -EBUSY;
		goto out;
	}

	rc = resize_locked(map, new_size, new_mapped);
out:
	mmapio__maplock_write_end(&map->lock);
	return rc;
}

/*
 * Fills a flush operation for [off, off + len) rounded out to pages and
 * counts it in map->ops.  len 0 is -EINVAL: mmapio_flush_range answers a
 * zero-length range itself, without an operation.  Any mode is accepted
 * (msync and fdatasync are harmless on read-only and private mappings),
 * although the callers answer read-only and copy-on-write maps with 0
 * before coming here.  Returns 0, -EINVAL, -ERANGE, or -ENOMEM from the map
 * lock.
 */
MMAPIO_INTERNAL int mmapio__flush_prepare(mmapio_map *map, uint64_t off, uint64_t len,
					  struct mmapio__op *op)
{
	struct mmapio__hold hold;
	uint64_t start;
	size_t n;
	int rc;

	if (!map || !op || len == 0)
		return -EINVAL;
	rc = mmapio__map_enter(map, &hold);
	if (rc < 0)
		return rc;
	rc = mmapio__check_range(map->len, off, len);
	if (rc < 0)
		goto out;
	mmapio__page_span(map, off, len, &start, &n);
	op->kind = MMAPIO_OP_FLUSH;
	op->u.flush.fd = map->m.fd;
	op->u.flush.addr = map->m.base + start;
	op->u.flush.off = start;
	op->u.flush.len = n;
	op->map = map;
	__atomic_add_fetch(&map->ops, 1, __ATOMIC_SEQ_CST);
out:
	mmapio__map_leave(map, &hold);
	return rc;
}

MMAPIO_INTERNAL int mmapio__write_prepare(mmapio_map *map, uint64_t off, size_t len,
					  const void *src, struct mmapio__op *op)
{
	struct mmapio__hold hold;
	int rc;

	if (map->mode != MMAPIO_READ_WRITE)
		return -EACCES;
	rc = mmapio__map_enter(map, &hold);
	if (rc < 0)
		return rc;
	rc = mmapio__check_range(map->len, off, len);
	if (rc == 0) {
		struct mmapio__file_info fi;

		op->kind = MMAPIO_OP_WRITE;
		op->u.write.fd = map->m.fd;
		op->u.write.src = src;
		op->u.write.off = off;
		op->u.write.len = len;
		/*
		 * A write at off on an O_APPEND descriptor (mmapio_open_fd)
		 * lands at the end of the file, and an O_DIRECT one refuses
		 * unaligned buffers: such writes go through the mapping, as
		 * mmapio_write's do.  Asked here, once: the flags belong to
		 * the open file.  Should the question fail, the write at off
		 * will report what is wrong with the descriptor.
		 */
		op->u.write.via_map = NULL;
		if (mmapio__plat_file_info(map->m.fd, &fi) == 0 &&
		    (fi.fd_flags & (MMAPIO__FD_APPEND | MMAPIO__FD_DIRECT)))
			op->u.write.via_map = map->m.base + off;
		op->map = map;
		/* Counted under the read hold, as a flush: resize sees it. */
		__atomic_add_fetch(&map->ops, 1, __ATOMIC_SEQ_CST);
	}
	mmapio__map_leave(map, &hold);
	return rc;
}

MMAPIO_INTERNAL void mmapio__op_unpin(mmapio_map *map)
{
	__atomic_sub_fetch(&map->ops, 1, __ATOMIC_SEQ_CST);
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
 * Records a flush result: a write-back error becomes the map's sticky error
 * (the first one wins).  Returns the sticky error when one is recorded, else
 * result.
 */
MMAPIO_INTERNAL int mmapio__flush_record(mmapio_map *map, int result)
{
	int expected = 0, sticky;

	if (result < 0 && is_writeback_error(result))
		__atomic_compare_exchange_n(&map->flush_error, &expected, result, false,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	sticky = __atomic_load_n(&map->flush_error, __ATOMIC_SEQ_CST);
	return sticky ? sticky : result;
}

/* Records a finished ring flush and uncounts it.  Returns as flush_record. */
MMAPIO_INTERNAL int mmapio__flush_finish(mmapio_map *map, int result)
{
	int r = mmapio__flush_record(map, result);

	__atomic_sub_fetch(&map->ops, 1, __ATOMIC_SEQ_CST);
	return r;
}
