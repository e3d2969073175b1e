/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Atomic access to aligned 32- and 64-bit words of a map: counters, flags
 * and sequence numbers shared between threads, and between processes that
 * map the same file read-write (MAP_SHARED makes the memory one).
 *
 * Every operation is sequentially consistent.  Alignment is checked on the
 * file offset; the base is page aligned, so the address is aligned too, and
 * a misaligned atomic would be torn or fault on some machines.  Writable
 * maps are held for reading for the operation: the words themselves need
 * no lock, only resize must be kept out.  So atomics never need the write
 * lock, and a thread holding a view of the map uses them freely.
 */
#include "internal.h"

/*
 * Finds the word at off for an atomic of size bytes, holding a writable map
 * so that resize keeps out (mmapio__map_enter).  Returns 0 with *word set
 * (the caller then calls word_end with *h), or -EINVAL, -EACCES, -ERANGE,
 * -ENOMEM from the map lock.
 */
static int word_begin(mmapio_map *map, uint64_t off, unsigned size, int store, void **word,
		      struct mmapio__hold *h)
{
	int rc;

	if (!map || off % size != 0)
		return -EINVAL;
	if (store && map->mode == MMAPIO_READ_ONLY)
		return -EACCES;
	rc = mmapio__map_enter(map, h);
	if (rc < 0)
		return rc;
	rc = mmapio__check_range(__atomic_load_n(&map->len, __ATOMIC_RELAXED), off, size);
	if (rc < 0) {
		mmapio__map_leave(map, h);
		return rc;
	}
	*word = map->m.base + off;
	return 0;
}

/* Drops what word_begin took. */
static inline void word_end(mmapio_map *map, const struct mmapio__hold *h)
{
	mmapio__map_leave(map, h);
}

MMAPIO_EXPORT int mmapio_atomic_load_u64(mmapio_map *map, uint64_t off, uint64_t *out)
{
	struct mmapio__hold h;
	void *w = NULL;
	int rc = out ? word_begin(map, off, 8, 0, &w, &h) : -EINVAL;

	if (rc < 0)
		return rc;
	*out = __atomic_load_n((uint64_t *)w, __ATOMIC_SEQ_CST);
	word_end(map, &h);
	return 0;
}

MMAPIO_EXPORT int mmapio_atomic_store_u64(mmapio_map *map, uint64_t off, uint64_t value)
{
	struct mmapio__hold h;
	void *w = NULL;
	int rc = word_begin(map, off, 8, 1, &w, &h);

	if (rc < 0)
		return rc;
	__atomic_store_n((uint64_t *)w, value, __ATOMIC_SEQ_CST);
	word_end(map, &h);
	return 0;
}

MMAPIO_EXPORT int mmapio_atomic_fetch_add_u64(mmapio_map *map, uint64_t off, uint64_t delta,
					      uint64_t *old)
{
	struct mmapio__hold h;
	void *w = NULL;
	uint64_t prev;
	int rc = word_begin(map, off, 8, 1, &w, &h);

	if (rc < 0)
		return rc;
	prev = __atomic_fetch_add((uint64_t *)w, delta, __ATOMIC_SEQ_CST);
	word_end(map, &h);
	if (old)
		*old = prev;
	return 0;
}

MMAPIO_EXPORT int mmapio_atomic_cas_u64(mmapio_map *map, uint64_t off, uint64_t *expected,
					uint64_t desired)
{
	struct mmapio__hold h;
	void *w = NULL;
	int rc = expected ? word_begin(map, off, 8, 1, &w, &h) : -EINVAL;

	if (rc < 0)
		return rc;
	rc = __atomic_compare_exchange_n((uint64_t *)w, expected, desired, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST);
	word_end(map, &h);
	return rc ? 1 : 0;
}

MMAPIO_EXPORT int mmapio_atomic_load_u32(mmapio_map *map, uint64_t off, uint32_t *out)
{
	struct mmapio__hold h;
	void *w = NULL;
	int rc = out ? word_begin(map, off, 4, 0, &w, &h) : -EINVAL;

	if (rc < 0)
		return rc;
	*out = __atomic_load_n((uint32_t *)w, __ATOMIC_SEQ_CST);
	word_end(map, &h);
	return 0;
}

MMAPIO_EXPORT int mmapio_atomic_store_u32(mmapio_map *map, uint64_t off, uint32_t value)
{
	struct mmapio__hold h;
	void *w = NULL;
	int rc = word_begin(map, off, 4, 1, &w, &h);

	if (rc < 0)
		return rc;
	__atomic_store_n((uint32_t *)w, value, __ATOMIC_SEQ_CST);
	word_end(map, &h);
	return 0;
}

MMAPIO_EXPORT int mmapio_atomic_fetch_add_u32(mmapio_map *map, uint64_t off, uint32_t delta,
					      uint32_t *old)
{
	struct mmapio__hold h;
	void *w = NULL;
	uint32_t prev;
	int rc = word_begin(map, off, 4, 1, &w, &h);

	if (rc < 0)
		return rc;
	prev = __atomic_fetch_add((uint32_t *)w, delta, __ATOMIC_SEQ_CST);
	word_end(map, &h);
	if (old)
		*old = prev;
	return 0;
}

MMAPIO_EXPORT int mmapio_atomic_cas_u32(mmapio_map *map, uint64_t off, uint32_t *expected,
					uint32_t desired)
{
	struct mmapio__hold h;
	void *w = NULL;
	int rc = expected ? word_begin(map, off, 4, 1, &w, &h) : -EINVAL;

	if (rc < 0)
		return rc;
	rc = __atomic_compare_exchange_n((uint32_t *)w, expected, desired, 0, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST);
	word_end(map, &h);
	return rc ? 1 : 0;
}
