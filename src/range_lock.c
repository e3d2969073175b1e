/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte-range locks on a map's file (mmapio_range_lock / _unlock): argument
 * checks here, the locks themselves from the platform (open-file-
 * description locks on Linux, fcntl locks elsewhere; see mmapio.h for what
 * each means to a caller).  They lock the file, not the mapping, so they
 * take none of the map's own locks.
 */
#include "internal.h"

MMAPIO_EXPORT int mmapio_range_lock(mmapio_map *map, uint64_t off, uint64_t len, unsigned flags)
{
	unsigned kind = flags & (MMAPIO_RANGE_SHARED | MMAPIO_RANGE_EXCLUSIVE);

	if (map == NULL || (flags & ~(MMAPIO_RANGE_SHARED | MMAPIO_RANGE_EXCLUSIVE |
				      MMAPIO_RANGE_NOWAIT)) ||
	    (kind != MMAPIO_RANGE_SHARED && kind != MMAPIO_RANGE_EXCLUSIVE))
		return -EINVAL;
	/* Read-only and copy-on-write maps hold a read-only descriptor. */
	if (kind == MMAPIO_RANGE_EXCLUSIVE && map->mode != MMAPIO_READ_WRITE)
		return -EACCES;
	if (len > (uint64_t)INT64_MAX || off > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	return mmapio__plat_lock_range(map->m.fd, off, len, flags);
}

MMAPIO_EXPORT int mmapio_range_unlock(mmapio_map *map, uint64_t off, uint64_t len)
{
	if (map == NULL)
		return -EINVAL;
	if (len > (uint64_t)INT64_MAX || off > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	return mmapio__plat_unlock_range(map->m.fd, off, len);
}
