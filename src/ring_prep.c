/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The public mmapio_ring_prep_* calls, which validate their arguments,
 * build the operation (ring_op.c) and append it to the ring's prepared list
 * for the next mmapio_ring_submit.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ring.h"

/* ------------------------------------------------------------------------ */
/* Preparing                                                                */
/* ------------------------------------------------------------------------ */

/*
 * Appends a prepared operation to ring (mmapio__ring_add).  Returns 0, or
 * -ENOMEM with op released as if it had never been built.
 */
static int ring_add(struct mmapio_ring *ring, struct mmapio__op *op, void *user_data)
{
	int r = mmapio__ring_add(ring, op, user_data);

	if (r < 0)
		mmapio__op_discard(op);
	return r;
}

MMAPIO_EXPORT int mmapio_ring_prep_create(mmapio_ring *ring, const char *path, uint64_t size,
					  const struct mmapio_options *opts, void *user_data)
{
	/*
	 * MMAPIO_MAP_POPULATE is accepted and has nothing to do here, so that
	 * one options struct can serve mmapio_create and the ring alike.
	 */
	const unsigned create_flags =
		MMAPIO_CREATE_EXCLUSIVE | MMAPIO_CREATE_SPARSE | MMAPIO_CREATE_DURABLE;
	struct mmapio__op *op;
	int r;

	if (ring == NULL || path == NULL)
		return -EINVAL;
	r = mmapio__check_options(opts, create_flags | MMAPIO_MAP_POPULATE);
	if (r < 0)
		return r;
	/* Both engines refuse it alike, before anything is created. */
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	op = mmapio__op_new(MMAPIO_OP_CREATE);
	if (op == NULL)
		return -ENOMEM;
	op->u.create.path = mmapio__plat_abspath(path);
	if (op->u.create.path == NULL) {
		mmapio__op_free(op);
		return -ENOMEM;
	}
	op->u.create.size = size;
	op->u.create.perm = mmapio__options_perm(opts);
	op->u.create.flags = opts != NULL ? opts->flags & create_flags : 0;
	return ring_add(ring, op, user_data);
}

MMAPIO_EXPORT int mmapio_ring_prep_copy(mmapio_ring *ring, const char *src, const char *dst,
					unsigned flags, void *user_data)
{
	struct mmapio__op *op;
	int r;

	if (ring == NULL)
		return -EINVAL;
	r = mmapio__copy_op(src, dst, flags, true, &op);
	if (r < 0)
		return r;
	return ring_add(ring, op, user_data);
}

MMAPIO_EXPORT int mmapio_ring_prep_delete(mmapio_ring *ring, const char *path, void *user_data)
{
	struct mmapio__op *op;
	int r;

	if (ring == NULL)
		return -EINVAL;
	r = mmapio__delete_op(path, true, &op);
	if (r < 0)
		return r;
	return ring_add(ring, op, user_data);
}

MMAPIO_EXPORT int mmapio_ring_prep_flush(mmapio_ring *ring, mmapio_map *map, uint64_t off,
					 uint64_t len, void *user_data)
{
	struct mmapio__op *op;
	int r;

	if (ring == NULL || map == NULL)
		return -EINVAL;
	r = mmapio__flush_op(map, off, len, &op);
	if (r < 0)
		return r;
	return ring_add(ring, op, user_data);
}

/*
 * The ranges are coalesced into their bounding span, [lowest offset,
 * highest end), and made durable with one data sync.  Each range sync costs
 * the device one cache flush however little it writes, so one covering sync
 * is the fewest there can be; the clean pages between the ranges cost only
 * a page-cache lookup.  Finding the span needs no sorting, so the array is
 * read once and nothing is allocated for it.
 */
MMAPIO_EXPORT int mmapio_ring_prep_flush_ranges(mmapio_ring *ring, mmapio_map *map,
						const struct mmapio_range *ranges, size_t n,
						void *user_data)
{
	uint64_t map_len, lo = UINT64_MAX, hi = 0;
	struct mmapio__op *op;
	size_t i;
	int r;

	if (ring == NULL || map == NULL || ranges == NULL || n == 0)
		return -EINVAL;
	map_len = __atomic_load_n(&map->len, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i++) {
		r = mmapio__check_range(map_len, ranges[i].off, ranges[i].len);
		if (r < 0)
			return r;
		if (ranges[i].len == 0)
			continue;
		if (ranges[i].off < lo)
			lo = ranges[i].off;
		if (ranges[i].off + ranges[i].len > hi)
			hi = ranges[i].off + ranges[i].len;
	}
	/* Only empty ranges: an empty flush at the first one's offset. */
	if (hi == 0)
		r = mmapio__flush_op(map, ranges[0].off, 0, &op);
	else
		r = mmapio__flush_op(map, lo, hi - lo, &op);
	if (r < 0)
		return r;
	return ring_add(ring, op, user_data);
}

MMAPIO_EXPORT int mmapio_ring_prep_write(mmapio_ring *ring, mmapio_map *map, uint64_t off,
					 const void *src, size_t len, void *user_data)
{
	struct mmapio__op *op;
	int r;

	if (ring == NULL || map == NULL || (src == NULL && len > 0))
		return -EINVAL;
	op = mmapio__op_new(MMAPIO_OP_WRITE);
	if (op == NULL)
		return -ENOMEM;
	r = mmapio__write_prepare(map, off, len, src, op);
	if (r < 0) {
		mmapio__op_free(op);
		return r;
	}
	return ring_add(ring, op, user_data);
}

MMAPIO_EXPORT int mmapio_ring_prep_rename(mmapio_ring *ring, const char *from, const char *to,
					  unsigned flags, void *user_data)
{
	struct mmapio__op *op;
	int r;

	if (ring == NULL)
		return -EINVAL;
	r = mmapio__rename_op(from, to, flags, &op);
	if (r < 0)
		return r;
	return ring_add(ring, op, user_data);
}

MMAPIO_EXPORT int mmapio_ring_prep_sync_dir(mmapio_ring *ring, const char *dir, void *user_data)
{
	struct mmapio__op *op;
	int r;

	if (ring == NULL)
		return -EINVAL;
	r = mmapio__sync_dir_op(dir, &op);
	if (r < 0)
		return r;
	return ring_add(ring, op, user_data);
}
