/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copying access and zero-copy views.  These are the hot paths: no system
 * call, no allocation, one lock operation at most.
 *
 * Read-only maps are never resized, so their base and len are fixed for the
 * life of the map and the read paths check bounds without a lock; their
 * read views are counted in the map lock all the same (src/maplock.h), so
 * that mmapio_close refuses while one is out.  On writable maps reads and
 * read views take a read hold, writes and mutable views the write lock,
 * and the length is read under them.
 *
 * A view's private fields say what it holds: kind_ has the VIEW_* kind in
 * its low byte and, for a read view, the slot its hold counted in above
 * it; reserved_ has the token of the thread that took it (for a hold in
 * the overflow table).  Any thread may release it.
 */
#include <string.h>

#include "internal.h"

/* Values of the low byte of mmapio_view.kind_. */
enum {
	VIEW_RELEASED = 0,    /* zeroed or released */
	VIEW_READ = 1,        /* read view: a read hold, kind_ >> 8 is its slot */
	VIEW_WRITE = 3        /* mutable view holding the write lock */
};
#define VIEW_KIND_MASK 0xffu
#define VIEW_SLOT_SHIFT 8

/*
 * Returns the map's length where it cannot change meanwhile: a read-only
 * map's never does, a writable map's not while a hold keeps resize out.
 */
static inline uint64_t stable_len(const struct mmapio_map *map)
{
	return __atomic_load_n(&map->len, __ATOMIC_RELAXED);
}

/*
 * Copies [off, off + len) of map into dst.  Returns 0, -EINVAL, -ERANGE,
 * -EFAULT, or -ENOMEM from the map lock.
 */
MMAPIO_EXPORT int mmapio_read(mmapio_map *map, uint64_t off, void *dst, size_t len)
{
	struct mmapio__hold hold;
	int rc;

	if (!map || (!dst && len))
		return -EINVAL;
	rc = mmapio__map_enter(map, &hold);
	if (rc < 0)
		return rc;
	rc = mmapio__check_range(stable_len(map), off, len);
	if (rc == 0)
		rc = mmapio__plat_guarded_copy(dst, map->m.base + off, len);
	mmapio__map_leave(map, &hold);
	return rc;
}

/*
 * Large writes into pages that are not yet in the page cache go through
 * pwrite(2) on the map's descriptor instead of memcpy.  Through the mapping,
 * every fresh page costs a write fault, a zero-fill and the filesystem's
 * page_mkwrite; pwrite fills whole pages directly.  Measured here (ext4,
 * 64 MiB in 64 KiB pieces into a preallocated file): memcpy 2.8-3.8 GB/s,
 * pwrite 7.0-8.2 GB/s; into pages already resident memcpy wins (25 against
 * 13 GB/s), hence the residency check of the first page, and below 64 KiB
 * the system call does not pay.  A MAP_SHARED mapping and pwrite share the
 * page cache, so the mapping sees the bytes at once.  Only read-write maps
 * qualify: a copy-on-write map must never reach the file.
 */
#define WRITE_THROUGH_MIN ((size_t)64 << 10)

/*
 * Writes [off, off + len) with pwrite when that is the faster way (see
 * above).  The caller holds the write lock and has checked the range.
 * Returns 1 when the caller should copy through the mapping instead, 0 when
 * the bytes were written, -EFAULT when the file has shrunk under the map
 * (as the copy would have faulted), or -errno from pwrite (-ENOSPC, -EIO).
 */
static int write_through(struct mmapio_map *map, uint64_t off, const void *src, size_t len)
{
	size_t page = mmapio__plat_page_size();
	struct mmapio__file_info fi;
	int rc;

	if (map->mode != MMAPIO_READ_WRITE || len < WRITE_THROUGH_MIN)
		return 1;
	/* Anything but 0 (not resident) means: copy through the mapping. */
	if (mmapio__plat_resident(map->m.base + (off & ~(uint64_t)(page - 1))) != 0)
		return 1;
	/*
	 * pwrite past end of file would grow it again where the mapped copy
	 * would fault, so a file cut underneath reports -EFAULT either way.
	 */
	rc = mmapio__plat_file_info(map->m.fd, &fi);
	if (rc < 0)
		return rc;
	if (fi.size < off + len)
		return -EFAULT;
	/*
	 * An O_APPEND descriptor (from mmapio_open_fd) would put the bytes at
	 * the end of the file, and an O_DIRECT one refuses unaligned buffers:
	 * the mapping is the way for those.  Asked now, not at open, because
	 * the flags belong to the open file, which others may change.
	 */
	if (fi.fd_flags & (MMAPIO__FD_APPEND | MMAPIO__FD_DIRECT))
		return 1;
	return mmapio__plat_write_at(map->m.fd, src, len, off);
}

/*
 * Copies src into [off, off + len) of map under the write lock.  Returns 0,
 * -EINVAL, -EACCES, -ERANGE, -EFAULT, -errno from pwrite (large writes, see
 * write_through), or -EDEADLK when the calling thread holds a view of map.
 */
MMAPIO_EXPORT int mmapio_write(mmapio_map *map, uint64_t off, const void *src, size_t len)
{
	int rc;

	if (!map || (!src && len))
		return -EINVAL;
	if (map->mode == MMAPIO_READ_ONLY)
		return -EACCES;
	rc = mmapio__maplock_write(&map->lock, false);
	if (rc < 0)
		return rc;
	rc = mmapio__check_range(map->len, off, len);
	if (rc == 0)
		rc = write_through(map, off, src, len);
	if (rc == 1)
		rc = mmapio__plat_guarded_copy(map->m.base + off, src, len);
	mmapio__maplock_write_end(&map->lock);
	return rc;
}

/* Fills a view.  The caller holds what kind says (h: the read hold). */
static inline void view_fill(struct mmapio_map *map, uint64_t off, size_t len, unsigned kind,
			     const struct mmapio__hold *h, struct mmapio_view *out)
{
	out->data = map->m.base + off;
	out->len = len;
	out->map_ = map;
	out->kind_ = kind | (kind == VIEW_READ ? h->slot << VIEW_SLOT_SHIFT : 0);
	out->reserved_ = kind == VIEW_READ ? h->token : 0;
}

/*
 * Borrows [off, off + len) for reading.  Returns 0 with *out filled in,
 * -EINVAL, -ERANGE, or -ENOMEM from the map lock; *out is untouched on
 * failure.
 */
MMAPIO_EXPORT int mmapio_view_read(mmapio_map *map, uint64_t off, size_t len,
				   struct mmapio_view *out)
{
	struct mmapio__hold hold;
	int rc;

	if (!map || !out)
		return -EINVAL;
	rc = mmapio__maplock_read(&map->lock, MMAPIO__HOLD_VIEW, &hold);
	if (rc < 0)
		return rc;
	rc = mmapio__check_range(stable_len(map), off, len);
	if (rc < 0) {
		mmapio__maplock_read_end(&map->lock, MMAPIO__HOLD_VIEW, &hold);
		return rc;
	}
	view_fill(map, off, len, VIEW_READ, &hold, out);
	return 0;
}

/*
 * Borrows [off, off + len) for writing, holding the write lock until the
 * view is released.  Returns 0, -EINVAL, -EACCES, -ERANGE, or -EDEADLK when
 * the calling thread holds a view of map; *out is untouched on failure.
 */
MMAPIO_EXPORT int mmapio_view_write(mmapio_map *map, uint64_t off, size_t len,
				    struct mmapio_view *out)
{
	int rc;

	if (!map || !out)
		return -EINVAL;
	if (map->mode == MMAPIO_READ_ONLY)
		return -EACCES;
	rc = mmapio__maplock_write(&map->lock, true);
	if (rc < 0)
		return rc;
	rc = mmapio__check_range(map->len, off, len);
	if (rc < 0) {
		mmapio__maplock_write_end(&map->lock);
		return rc;
	}
	view_fill(map, off, len, VIEW_WRITE, NULL, out);
	return 0;
}

/* Releases a view and zeroes it, on any thread; NULL or a released view is a no-op. */
MMAPIO_EXPORT void mmapio_view_release(struct mmapio_view *view)
{
	struct mmapio__hold hold;
	struct mmapio_map *map;
	unsigned kind;

	if (!view || view->kind_ == VIEW_RELEASED || !view->map_)
		return;
	map = view->map_;
	kind = view->kind_ & VIEW_KIND_MASK;
	hold.slot = view->kind_ >> VIEW_SLOT_SHIFT;
	hold.token = view->reserved_;
	memset(view, 0, sizeof(*view));
	if (kind == VIEW_WRITE)
		mmapio__maplock_write_end(&map->lock);
	else
		mmapio__maplock_read_end(&map->lock, MMAPIO__HOLD_VIEW, &hold);
}
