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
 * The merge rule of mmapio_ring_prep_flush_ranges: after page rounding, two
 * ranges sorted by offset become one when the gap between the end of one
 * and the start of the next is at most this many pages (0: they touch or
 * overlap).  One page between two ranges is written in the same request as
 * its neighbours and costs less than the requests of another range; a
 * wider gap may hold dirty pages that are not the caller's to write.
 */
#define FLUSH_MERGE_GAP_PAGES 1u

/* Orders ranges by offset, for qsort. */
static int range_cmp(const void *a, const void *b)
{
	const struct mmapio_range *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/*
 * Copies the non-empty ranges to the heap, page-rounded, sorted and merged
 * by the rule above (FLUSH_MERGE_GAP_PAGES).  Returns the number of merged
 * ranges (0 when every range is empty, with *out NULL), or -ENOMEM.
 */
static long long merge_ranges(const struct mmapio_range *ranges, size_t n,
			      struct mmapio_range **out)
{
	uint64_t page = mmapio__plat_page_size(), gap = FLUSH_MERGE_GAP_PAGES * page;
	struct mmapio_range *r;
	size_t i, m = 0;

	*out = NULL;
	for (i = 0; i < n; i++)
		m += ranges[i].len != 0;
	if (m == 0)
		return 0;
	r = malloc(m * sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	m = 0;
	for (i = 0; i < n; i++) {
		uint64_t end;

		if (ranges[i].len == 0)
			continue;
		/* Checked to lie within the map, so rounding up cannot overflow. */
		end = (ranges[i].off + ranges[i].len + page - 1) & ~(page - 1);
		r[m].off = ranges[i].off & ~(page - 1);
		r[m].len = end; /* the end, until merged */
		m++;
	}
	qsort(r, m, sizeof(*r), range_cmp);
	n = m;
	m = 0;
	for (i = 1; i < n; i++) {
		if (r[i].off <= r[m].len + gap) {
			if (r[i].len > r[m].len)
				r[m].len = r[i].len;
		} else {
			r[++m] = r[i];
		}
	}
	m++;
	for (i = 0; i < m; i++)
		r[i].len -= r[i].off;
	*out = r;
	return (long long)m;
}

/*
 * The ranges are page-rounded, sorted and merged where they touch or lie
 * within FLUSH_MERGE_GAP_PAGES pages of each other; the engine then writes
 * back each merged range on its own (not their span, which in a map dirty
 * elsewhere would write back everyone's pages) and waits for the disk once
 * for all of them, in one operation with one completion.  One merged range
 * is a plain flush of it.
 */
MMAPIO_EXPORT int mmapio_ring_prep_flush_ranges(mmapio_ring *ring, mmapio_map *map,
						const struct mmapio_range *ranges, size_t n,
						void *user_data)
{
	struct mmapio_range *merged;
	struct mmapio__op *op;
	uint64_t map_len, lo, hi;
	long long m;
	size_t i;
	int r;

	if (ring == NULL || map == NULL || ranges == NULL || n == 0)
		return -EINVAL;
	map_len = __atomic_load_n(&map->len, __ATOMIC_ACQUIRE);
	for (i = 0; i < n; i++) {
		r = mmapio__check_range(map_len, ranges[i].off, ranges[i].len);
		if (r < 0)
			return r;
	}
	m = merge_ranges(ranges, n, &merged);
	if (m < 0)
		return (int)m;
	/* Only empty ranges: an empty flush at the first one's offset. */
	if (m == 0) {
		r = mmapio__flush_op(map, ranges[0].off, 0, &op);
		return r < 0 ? r : ring_add(ring, op, user_data);
	}
	lo = merged[0].off;
	hi = merged[m - 1].off + merged[m - 1].len;
	if (hi > map_len)
		hi = map_len; /* the last page of an unaligned map; prepare rounds again */
	r = mmapio__flush_op(map, lo, hi - lo, &op);
	if (r < 0) {
		free(merged);
		return r;
	}
	if (m == 1 || mmapio__op_is_local(op)) {
		free(merged);
	} else {
		/* The last range ends where the span prepare rounded does. */
		merged[m - 1].len = op->u.flush.off + op->u.flush.len - merged[m - 1].off;
		op->u.flush.ranges = merged;
		op->u.flush.nranges = (size_t)m;
	}
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
