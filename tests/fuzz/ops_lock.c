/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Byte-range locks (mmapio_range_lock, mmapio_range_unlock) and the start
 * of write-back (mmapio_flush_start).
 *
 * On Linux a map's range locks are open-file-description locks: they
 * belong to the map, two maps of one file conflict even in this one
 * process, and they go with mmapio_close.  The model keeps each map's
 * locked ranges (struct fz_lock) and predicts a conflict with the other
 * maps of the same inode.  A lock that would wait for a conflict is made
 * with MMAPIO_RANGE_NOWAIT instead, so that the decoder never waits for
 * itself: the result is then -EAGAIN, and the locks stay as they were.
 * Elsewhere they are POSIX locks, which belong to the process: no map of
 * this one conflicts with another (fz.ofd_locks, probed at the start).
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"

/* The end of [off, off + len) as the locks see it: len 0 is to the end of any file. */
static uint64_t lock_end(uint64_t off, uint64_t len)
{
	return len == 0 ? UINT64_MAX : off + len;
}

/* True when [lo, hi) overlaps lock k. */
static bool lock_overlaps(const struct fz_lock *k, uint64_t lo, uint64_t hi)
{
	return k->lo < hi && lo < k->hi;
}

/*
 * Computes into out the locks of m once [lo, hi) is set to a shared or
 * exclusive lock (set), or unlocked: the old locks are cut around the
 * range, then the range is added.  Returns the number of locks, which may
 * exceed FZ_LOCKS (out has room for FZ_LOCKS + 2).
 */
static unsigned locks_after(const struct fz_map *m, uint64_t lo, uint64_t hi, bool set,
			    bool exclusive, struct fz_lock *out)
{
	unsigned n = 0, i;

	for (i = 0; i < m->nlocks; i++) {
		const struct fz_lock *k = &m->locks[i];

		if (!lock_overlaps(k, lo, hi)) {
			out[n++] = *k;
			continue;
		}
		if (k->lo < lo)
			out[n++] = (struct fz_lock){ k->lo, lo, k->exclusive };
		if (hi < k->hi)
			out[n++] = (struct fz_lock){ hi, k->hi, k->exclusive };
	}
	if (set)
		out[n++] = (struct fz_lock){ lo, hi, exclusive };
	return n;
}

/*
 * True when another map of m's file holds a lock that [lo, hi) conflicts
 * with.  Never where the locks are POSIX ones (not Linux): they belong to
 * the process, so its maps do not conflict with each other.
 */
static bool lock_conflicts(int slot, uint64_t lo, uint64_t hi, bool exclusive)
{
	const struct fz_map *m = &fz.map[slot];
	int s;
	unsigned i;

	if (!fz.ofd_locks)
		return false;
	for (s = 0; s < FZ_MAPS; s++) {
		const struct fz_map *o = &fz.map[s];

		if (s == slot || !o->used || o->inode != m->inode)
			continue;
		for (i = 0; i < o->nlocks; i++)
			if (lock_overlaps(&o->locks[i], lo, hi) &&
			    (exclusive || o->locks[i].exclusive))
				return true;
	}
	return false;
}

/*
 * The flags of a lock as the input chooses them: mostly one kind, now and
 * then none, both or an unknown bit (-EINVAL).
 */
static unsigned pick_lock_flags(uint8_t b, bool *bad)
{
	unsigned flags = (b & 1) ? MMAPIO_RANGE_EXCLUSIVE : MMAPIO_RANGE_SHARED;

	if (b & 2)
		flags |= MMAPIO_RANGE_NOWAIT;
	if ((b & 0x1c) == 0x1c)
		flags = b & 0x20 ? 0 : MMAPIO_RANGE_SHARED | MMAPIO_RANGE_EXCLUSIVE;
	else if ((b & 0x1c) == 0x18)
		flags |= 8u;
	*bad = (flags & ~7u) || !(flags & 3u) || (flags & 3u) == 3u;
	return flags;
}

/* True when [off, off + len) is beyond what a lock can name (past INT64_MAX). */
static bool lock_range_bad(uint64_t off, uint64_t len)
{
	return len > (uint64_t)INT64_MAX || off > (uint64_t)INT64_MAX - len;
}

/* Locks a range of map slot; records it on success. */
static void range_lock(int slot, uint64_t off, uint64_t len, uint8_t b)
{
	struct fz_map *m = &fz.map[slot];
	struct fz_lock after[FZ_LOCKS + 2];
	unsigned flags, n = 0;
	bool bad, excl;
	int want = 0;

	flags = pick_lock_flags(b, &bad);
	excl = (flags & 3u) == MMAPIO_RANGE_EXCLUSIVE;
	if (bad)
		want = -EINVAL;
	else if (excl && m->mode != MMAPIO_READ_WRITE)
		want = -EACCES;
	else if (lock_range_bad(off, len))
		want = -EINVAL;
	else if (lock_conflicts(slot, off, lock_end(off, len), excl)) {
		flags |= MMAPIO_RANGE_NOWAIT;
		want = -EAGAIN;
	} else {
		n = locks_after(m, off, lock_end(off, len), true, excl, after);
		if (n > FZ_LOCKS)
			return;
	}
	fz_trace("range_lock map=%d off=%llu len=%llu flags=%#x -> %d", slot,
		 (unsigned long long)off, (unsigned long long)len, flags, want);
	fz_expect("mmapio_range_lock", mmapio_range_lock(m->map, off, len, flags), want);
	if (want == 0) {
		memcpy(m->locks, after, n * sizeof(after[0]));
		m->nlocks = n;
	}
}

/* Unlocks a range of map slot; records it on success. */
static void range_unlock(int slot, uint64_t off, uint64_t len)
{
	struct fz_map *m = &fz.map[slot];
	struct fz_lock after[FZ_LOCKS + 2];
	unsigned n = 0;
	int want = 0;

	if (lock_range_bad(off, len))
		want = -EINVAL;
	else if ((n = locks_after(m, off, lock_end(off, len), false, false, after)) > FZ_LOCKS)
		return;
	fz_trace("range_unlock map=%d off=%llu len=%llu -> %d", slot, (unsigned long long)off,
		 (unsigned long long)len, want);
	fz_expect("mmapio_range_unlock", mmapio_range_unlock(m->map, off, len), want);
	if (want == 0) {
		memcpy(m->locks, after, n * sizeof(after[0]));
		m->nlocks = n;
	}
}

/*
 * A lock or an unlock of a map.  The range is not limited by the map's
 * length: the pickers' ranges, or now and then one near INT64_MAX.
 */
void fz_op_range_lock(void)
{
	int s = fz_pick_map();
	uint8_t b = fz_u8(), how = fz_u8();
	uint64_t off, len;

	if (s < 0)
		return;
	off = fz_pick_off(fz.map[s].len);
	len = fz_pick_len(fz.map[s].len, off);
	if ((how & 0x30) == 0x30) {
		off = (uint64_t)INT64_MAX - (how & 3u);
		len = how & 4u;
	}
	if (how & 1)
		range_unlock(s, off, len);
	else
		range_lock(s, off, len, b);
}

void fz_op_flush_start(void)
{
	int s = fz_pick_map(), want;
	uint64_t off, len;
	const struct fz_map *m;

	if (s < 0)
		return;
	m = &fz.map[s];
	off = fz_pick_off(m->len);
	len = fz_pick_len(m->len, off);
	/* len 0 is to the end of the map, which an offset at the end still names. */
	if (m->mode != MMAPIO_READ_WRITE)
		want = 0;
	else if (len == 0)
		want = off <= m->len ? 0 : -ERANGE;
	else
		want = fz_range_ok(m->len, off, len) ? 0 : -ERANGE;
	fz_trace("flush_start map=%d off=%llu len=%llu -> %d", s, (unsigned long long)off,
		 (unsigned long long)len, want);
	fz_expect("mmapio_flush_start", mmapio_flush_start(m->map, off, len), want);
}
