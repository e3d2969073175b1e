/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copying access and zero-copy views.  These are the hot paths: no system
 * call, no allocation, one lock operation at most.
 *
 * Read-only maps are never resized, so their base and len are fixed for the
 * life of the map and the read paths check bounds without a lock.  On
 * writable maps reads and read views hold the read lock, writes and mutable
 * views the write lock, and the length is read under the lock.
 *
 * The view count is raised after the lock is taken and lowered before it is
 * released, so that while the write lock is held by resize no view can be
 * counted, and mmapio_close and mmapio_resize can refuse with -EBUSY by
 * looking at the count alone.
 */
#include <string.h>

#include "internal.h"

/* Values of mmapio_view.kind_. */
enum {
	VIEW_RELEASED = 0,   /* zeroed or released */
	VIEW_READ_NOLOCK = 1, /* read view of a read-only map */
	VIEW_READ_LOCKED = 2, /* read view holding the read lock */
	VIEW_WRITE = 3        /* mutable view holding the write lock */
};

/* Returns the length of a read-only map, which never changes. */
static inline uint64_t ro_len(const struct mmapio_map *map)
{
	return __atomic_load_n(&map->len, __ATOMIC_RELAXED);
}

/*
 * Copies [off, off + len) of map into dst.  Returns 0, -EINVAL, -ERANGE,
 * -EFAULT, or -errno from the lock.
 */
MMAPIO_EXPORT int mmapio_read(mmapio_map *map, uint64_t off, void *dst, size_t len)
{
	int rc;

	if (!map || (!dst && len))
		return -EINVAL;
	if (!map->has_lock) {
		rc = mmapio__check_range(ro_len(map), off, len);
		if (rc < 0)
			return rc;
		return mmapio__guarded_copy(dst, map->base + off, len);
	}
	rc = pthread_rwlock_rdlock(&map->lock);
	if (rc != 0)
		return -rc;
	rc = mmapio__check_range(map->len, off, len);
	if (rc == 0)
		rc = mmapio__guarded_copy(dst, map->base + off, len);
	pthread_rwlock_unlock(&map->lock);
	return rc;
}

/*
 * Copies src into [off, off + len) of map under the write lock.  Returns 0,
 * -EINVAL, -EACCES, -ERANGE, -EFAULT, or -errno from the lock.
 */
MMAPIO_EXPORT int mmapio_write(mmapio_map *map, uint64_t off, const void *src, size_t len)
{
	int rc;

	if (!map || (!src && len))
		return -EINVAL;
	if (map->mode == MMAPIO_READ_ONLY)
		return -EACCES;
	rc = pthread_rwlock_wrlock(&map->lock);
	if (rc != 0)
		return -rc;
	rc = mmapio__check_range(map->len, off, len);
	if (rc == 0)
		rc = mmapio__guarded_copy(map->base + off, src, len);
	pthread_rwlock_unlock(&map->lock);
	return rc;
}

/*
 * Adds delta to the view count.  Under the write lock no other thread can
 * change the count (every other view holds the lock too), so a plain atomic
 * load and store suffice and the locked read-modify-write, a third of the
 * cost of a mutable view, is saved; mmapio_close and mmapio_resize only
 * ever load the count.
 */
static inline void views_add(struct mmapio_map *map, unsigned kind, unsigned delta)
{
	if (kind == VIEW_WRITE)
		__atomic_store_n(&map->views, __atomic_load_n(&map->views, __ATOMIC_RELAXED) + delta,
				 __ATOMIC_RELEASE);
	else
		__atomic_add_fetch(&map->views, delta, __ATOMIC_ACQ_REL);
}

/* Fills a view and counts it.  The caller holds the lock the kind says. */
static inline void view_fill(struct mmapio_map *map, uint64_t off, size_t len, unsigned kind,
			     struct mmapio_view *out)
{
	views_add(map, kind, 1);
	out->data = map->base + off;
	out->len = len;
	out->map_ = map;
	out->kind_ = kind;
	out->reserved_ = 0;
}

/*
 * Borrows [off, off + len) for reading.  Returns 0 with *out filled in,
 * -EINVAL, -ERANGE, or -errno from the lock; *out is untouched on failure.
 */
MMAPIO_EXPORT int mmapio_view_read(mmapio_map *map, uint64_t off, size_t len,
				   struct mmapio_view *out)
{
	int rc;

	if (!map || !out)
		return -EINVAL;
	if (!map->has_lock) {
		rc = mmapio__check_range(ro_len(map), off, len);
		if (rc < 0)
			return rc;
		view_fill(map, off, len, VIEW_READ_NOLOCK, out);
		return 0;
	}
	rc = pthread_rwlock_rdlock(&map->lock);
	if (rc != 0)
		return -rc;
	rc = mmapio__check_range(map->len, off, len);
	if (rc < 0) {
		pthread_rwlock_unlock(&map->lock);
		return rc;
	}
	view_fill(map, off, len, VIEW_READ_LOCKED, out);
	return 0;
}

/*
 * Borrows [off, off + len) for writing, holding the write lock until the
 * view is released.  Returns 0, -EINVAL, -EACCES, -ERANGE, or -errno from
 * the lock; *out is untouched on failure.
 */
MMAPIO_EXPORT int mmapio_view_write(mmapio_map *map, uint64_t off, size_t len,
				    struct mmapio_view *out)
{
	int rc;

	if (!map || !out)
		return -EINVAL;
	if (map->mode == MMAPIO_READ_ONLY)
		return -EACCES;
	rc = pthread_rwlock_wrlock(&map->lock);
	if (rc != 0)
		return -rc;
	rc = mmapio__check_range(map->len, off, len);
	if (rc < 0) {
		pthread_rwlock_unlock(&map->lock);
		return rc;
	}
	view_fill(map, off, len, VIEW_WRITE, out);
	return 0;
}

/* Releases a view and zeroes it; NULL or a released view is a no-op. */
MMAPIO_EXPORT void mmapio_view_release(struct mmapio_view *view)
{
	struct mmapio_map *map;
	unsigned kind;

	if (!view || view->kind_ == VIEW_RELEASED || !view->map_)
		return;
	map = view->map_;
	kind = view->kind_;
	memset(view, 0, sizeof(*view));
	views_add(map, kind, (unsigned)-1);
	if (kind == VIEW_READ_LOCKED || kind == VIEW_WRITE)
		pthread_rwlock_unlock(&map->lock);
}
