/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Advice, prefetch and memory locking by range.  Ranges are checked like
 * every other access, then rounded out to whole pages (the kernel wants a
 * page-aligned start) and clamped to the pages the map has mapped.
 */
#include "internal.h"

/* What a range operation does once the range is resolved to pages. */
enum range_op { RANGE_ADVISE, RANGE_LOCK, RANGE_UNLOCK };

/*
 * Applies op (with advice for RANGE_ADVISE) to [off, off + len) of map,
 * rounded out to pages.  A zero-length range at a valid offset does
 * nothing.  Returns 0, -ERANGE, -ENOMEM from the map lock, or -errno from
 * the system call.
 */
static int range_apply(struct mmapio_map *map, uint64_t off, uint64_t len, enum range_op op,
		       enum mmapio_advice advice)
{
	struct mmapio__hold hold;
	uint64_t start;
	void *addr;
	size_t n;
	int rc;

	rc = mmapio__map_enter(map, &hold);
	if (rc < 0)
		return rc;
	rc = mmapio__check_range(map->len, off, len);
	if (rc < 0 || len == 0)
		goto out;
	mmapio__page_span(map, off, len, &start, &n);
	addr = map->m.base + start;
	switch (op) {
	case RANGE_ADVISE:
		rc = mmapio__plat_advise(addr, n, advice);
		break;
	case RANGE_LOCK:
		rc = mmapio__plat_lock_pages(addr, n);
		break;
	case RANGE_UNLOCK:
		rc = mmapio__plat_unlock_pages(addr, n);
		break;
	}
out:
	mmapio__map_leave(map, &hold);
	return rc;
}

/*
 * Gives the kernel advice about [off, off + len).  Returns 0; -EINVAL for
 * NULL or an unknown advice; -ERANGE; -EACCES for POPULATE_WRITE on a
 * read-only map; -ENOTSUP when the kernel does not know POPULATE_READ or
 * POPULATE_WRITE (it answers EINVAL); -EFAULT when populating hit a page
 * past end of file or an I/O error; other -errno from madvise.
 */
MMAPIO_EXPORT int mmapio_advise(mmapio_map *map, uint64_t off, uint64_t len,
				enum mmapio_advice advice)
{
	if (!map)
		return -EINVAL;
	switch (advice) {
	case MMAPIO_ADVICE_NORMAL:
	case MMAPIO_ADVICE_RANDOM:
	case MMAPIO_ADVICE_SEQUENTIAL:
	case MMAPIO_ADVICE_WILLNEED:
	case MMAPIO_ADVICE_POPULATE_READ:
		break;
	case MMAPIO_ADVICE_DONTNEED:
		/*
		 * On a private mapping the kernel drops the changed pages and
		 * reads the file again: the map's own changes would vanish.
		 */
		if (map->mode == MMAPIO_COPY_ON_WRITE)
			return -EACCES;
		break;
	case MMAPIO_ADVICE_POPULATE_WRITE:
		if (map->mode == MMAPIO_READ_ONLY)
			return -EACCES;
		break;
	default:
		return -EINVAL;
	}
	return range_apply(map, off, len, RANGE_ADVISE, advice);
}

/*
 * Locks [off, off + len), rounded out to pages, into memory.  Returns 0;
 * -EINVAL for NULL; -ERANGE; -ENOMEM or -EPERM from mlock.
 */
MMAPIO_EXPORT int mmapio_lock(mmapio_map *map, uint64_t off, uint64_t len)
{
	if (!map)
		return -EINVAL;
	return range_apply(map, off, len, RANGE_LOCK, MMAPIO_ADVICE_NORMAL);
}

/*
 * Unlocks [off, off + len), rounded out to pages.  Returns 0; -EINVAL for
 * NULL; -ERANGE; -errno from munlock.
 */
MMAPIO_EXPORT int mmapio_unlock(mmapio_map *map, uint64_t off, uint64_t len)
{
	if (!map)
		return -EINVAL;
	return range_apply(map, off, len, RANGE_UNLOCK, MMAPIO_ADVICE_NORMAL);
}
