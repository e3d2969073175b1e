/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Segments: a map plus a range, passed by value.  Every accessor checks its
 * relative range against the segment first, then hands the absolute range
 * to the map's accessor, which checks it against the map again (the map may
 * have shrunk since the segment was made).
 */
#include "internal.h"

/*
 * Turns a range relative to seg into an absolute offset in *abs.  Returns 0,
 * -EINVAL for a NULL segment or map, or -ERANGE when [off, off + len) is not
 * inside the segment (also for a segment whose own range overflows).
 */
static inline int seg_resolve(const struct mmapio_segment *seg, uint64_t off, uint64_t len,
			      uint64_t *abs)
{
	int rc;

	if (!seg || !seg->map)
		return -EINVAL;
	rc = mmapio__check_range(seg->len, off, len);
	if (rc < 0)
		return rc;
	if (off > UINT64_MAX - seg->off)
		return -ERANGE;
	*abs = seg->off + off;
	return 0;
}

/*
 * Fills *out with [off, off + len) of map, reserved words zeroed.  out comes
 * last, as in every other call.  Returns 0, -EINVAL or -ERANGE.
 */
MMAPIO_EXPORT int mmapio_segment_init(mmapio_map *map, uint64_t off, uint64_t len,
				      struct mmapio_segment *out)
{
	int rc;

	if (!out || !map)
		return -EINVAL;
	rc = mmapio__check_range(mmapio_len(map), off, len);
	if (rc < 0)
		return rc;
	*out = (struct mmapio_segment){ .map = map, .off = off, .len = len };
	return 0;
}

/*
 * Fills *out with [off, off + len) relative to seg, reserved words zeroed;
 * out may be seg itself.  Returns 0, -EINVAL or -ERANGE.
 */
MMAPIO_EXPORT int mmapio_segment_sub(const struct mmapio_segment *seg, uint64_t off,
				     uint64_t len, struct mmapio_segment *out)
{
	uint64_t abs;
	int rc;

	if (!out)
		return -EINVAL;
	rc = seg_resolve(seg, off, len, &abs);
	if (rc < 0)
		return rc;
	*out = (struct mmapio_segment){ .map = seg->map, .off = abs, .len = len };
	return 0;
}

/* mmapio_read relative to seg.  Returns as mmapio_read. */
MMAPIO_EXPORT int mmapio_segment_read(const struct mmapio_segment *seg, uint64_t off,
				      void *dst, size_t len)
{
	uint64_t abs;
	int rc;

	if (!dst && len)
		return -EINVAL;
	rc = seg_resolve(seg, off, len, &abs);
	if (rc < 0)
		return rc;
	return mmapio_read(seg->map, abs, dst, len);
}

/* mmapio_write relative to seg.  Returns as mmapio_write. */
MMAPIO_EXPORT int mmapio_segment_write(const struct mmapio_segment *seg, uint64_t off,
				       const void *src, size_t len)
{
	uint64_t abs;
	int rc;

	if (!seg || !seg->map || (!src && len))
		return -EINVAL;
	if (seg->map->mode == MMAPIO_READ_ONLY)
		return -EACCES;
	rc = seg_resolve(seg, off, len, &abs);
	if (rc < 0)
		return rc;
	return mmapio_write(seg->map, abs, src, len);
}

/* A read view of the whole segment.  Returns as mmapio_view_read. */
MMAPIO_EXPORT int mmapio_segment_view_read(const struct mmapio_segment *seg,
					   struct mmapio_view *out)
{
	if (!seg || !seg->map || !out)
		return -EINVAL;
	if (seg->len > SIZE_MAX)
		return -ERANGE;
	return mmapio_view_read(seg->map, seg->off, (size_t)seg->len, out);
}

/* A mutable view of the whole segment.  Returns as mmapio_view_write. */
MMAPIO_EXPORT int mmapio_segment_view_write(const struct mmapio_segment *seg,
					    struct mmapio_view *out)
{
	if (!seg || !seg->map || !out)
		return -EINVAL;
	if (seg->len > SIZE_MAX)
		return -ERANGE;
	return mmapio_view_write(seg->map, seg->off, (size_t)seg->len, out);
}

/* Makes the segment durable.  Returns as mmapio_flush_range. */
MMAPIO_EXPORT int mmapio_segment_flush(const struct mmapio_segment *seg)
{
	if (!seg || !seg->map)
		return -EINVAL;
	return mmapio_flush_range(seg->map, seg->off, seg->len);
}
