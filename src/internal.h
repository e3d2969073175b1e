/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Internals shared by the core's files.  Nothing here is public.
 */
#ifndef MMAPIO_INTERNAL_H
#define MMAPIO_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine.h"
#include "maplock.h"
#include "platform.h"
#include "mmapio.h"
#include "visibility.h"

struct mmapio_map {
	struct mmapio__mapping m; /* the file and its mapping (the platform's) */
	enum mmapio_mode mode;
	unsigned flags;           /* mmapio_options.flags it was made with */
	/*
	 * File length in bytes.  Written only under the write lock (resize);
	 * read with __atomic_load_n(.., __ATOMIC_ACQUIRE) by lock-free paths.
	 */
	uint64_t len;
	unsigned ops;             /* ring operations on this map not yet reaped; atomic */
	int flush_error;          /* first write-back error, sticky; atomic */
	/*
	 * The map lock (src/maplock.h).  Read-only maps take no lock on any
	 * path, since they are never resized; their read views are counted
	 * in it all the same, so that close can refuse while they are out.
	 */
	struct mmapio__maplock lock;
};

/*
 * Holds a writable map for a short call that looks at base and len
 * (mmapio_read, atomics, flush, advice), so that resize cannot move or cut
 * the pages meanwhile.  A thread holding a view of the map, mutable or
 * not, goes ahead without waiting (src/maplock.h, "Nesting").  Read-only
 * maps are never resized: nothing is held.  Returns 0 with *h for
 * mmapio__map_leave, or -ENOMEM (src/maplock.h, the overflow table).
 */
static inline int mmapio__map_enter(struct mmapio_map *map, struct mmapio__hold *h)
{
	if (map->mode == MMAPIO_READ_ONLY) {
		h->slot = MMAPIO__SLOT_NONE;
		return 0;
	}
	return mmapio__maplock_read(&map->lock, MMAPIO__HOLD_CALL, h);
}

/* Releases what mmapio__map_enter took. */
static inline void mmapio__map_leave(struct mmapio_map *map, const struct mmapio__hold *h)
{
	if (h->slot != MMAPIO__SLOT_NONE)
		mmapio__maplock_read_end(&map->lock, MMAPIO__HOLD_CALL, h);
}

/*
 * Checks [off, off + len) against a map of map_len bytes without overflow.
 * Returns 0 or -ERANGE (see the rules in mmapio.h).
 */
static inline int mmapio__check_range(uint64_t map_len, uint64_t off, uint64_t len)
{
	if (off >= map_len || len > map_len - off)
		return -ERANGE;
	return 0;
}

/* Allocates a zeroed operation; NULL on ENOMEM.  Free with mmapio__op_free. */
MMAPIO_INTERNAL struct mmapio__op *mmapio__op_new(enum mmapio_op kind);
/* Frees an operation and the paths it owns.  NULL is a no-op. */
MMAPIO_INTERNAL void mmapio__op_free(struct mmapio__op *op);

/*
 * Fills op (kind MMAPIO_OP_FLUSH) for [off, off + len) of map, rounded out to
 * pages, and counts it in map->ops.  Returns 0, -EINVAL or -ERANGE.
 * mmapio__flush_finish() must follow once the op has completed.
 */
MMAPIO_INTERNAL int mmapio__flush_prepare(mmapio_map *map, uint64_t off, uint64_t len,
					  struct mmapio__op *op);
/*
 * Fills op (kind MMAPIO_OP_WRITE) for writing len bytes of src at off of a
 * read-write map, and counts it in map->ops, as mmapio__flush_prepare
 * does; mmapio__op_unpin must follow once the op has completed.  Returns
 * 0, -EACCES for a read-only or copy-on-write map, -ERANGE, or -errno of
 * the map lock.
 */
MMAPIO_INTERNAL int mmapio__write_prepare(mmapio_map *map, uint64_t off, size_t len,
					  const void *src, struct mmapio__op *op);

/* Uncounts a completed ring write of map (see mmapio__write_prepare). */
MMAPIO_INTERNAL void mmapio__op_unpin(mmapio_map *map);

/*
 * Records a flush result in the map (the sticky write-back error) and
 * returns the result the caller should see: the sticky error if there is
 * one, else result.
 */
MMAPIO_INTERNAL int mmapio__flush_record(mmapio_map *map, int result);

/*
 * Records a ring flush's result in the map (the sticky write-back error), uncounts
 * the op, and returns the result the caller should see.
 */
MMAPIO_INTERNAL int mmapio__flush_finish(mmapio_map *map, int result);

/*
 * Validates a struct mmapio_options (NULL allowed) for the given allowed
 * flags.  Returns 0 or -EINVAL.
 */
MMAPIO_INTERNAL int mmapio__check_options(const struct mmapio_options *opts, unsigned allowed);

/*
 * Rounds [off, off + len) of map (already checked against its length,
 * len > 0) out to whole pages and clamps it to the pages mapped: the page
 * aligned file offset in *start, the length in *n.  The caller holds what
 * keeps the mapping still (the map's lock; nothing for read-only maps).
 */
static inline void mmapio__page_span(const struct mmapio_map *map, uint64_t off, uint64_t len,
				     uint64_t *start, size_t *n)
{
	uint64_t page = mmapio__plat_page_size();
	/* off + len <= map->len <= SIZE_MAX, so rounding up cannot overflow. */
	uint64_t end = (off + len + page - 1) & ~(page - 1);

	*start = off & ~(page - 1);
	if (end > map->m.mapped)
		end = map->m.mapped;
	*n = (size_t)(end - *start);
}

/*
 * True when paths a and b name entries of the same directory, judged by
 * their text (what precedes the last '/'); used to sync a directory once.
 */
static inline bool mmapio__same_dir(const char *a, const char *b)
{
	const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
	size_t la = sa ? (size_t)(sa - a) : 0, lb = sb ? (size_t)(sb - b) : 0;

	return la == lb && memcmp(a, b, la) == 0 && (sa == NULL) == (sb == NULL);
}

/*
 * The permission bits for files created with opts (NULL allowed): its perm,
 * or 0644 when that is 0.  Resolved once here, so backends receive the bits
 * to use.
 */
static inline unsigned mmapio__options_perm(const struct mmapio_options *opts)
{
	return opts != NULL && opts->perm != 0 ? opts->perm : 0644;
}

#endif
