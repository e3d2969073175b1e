/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The map lock in a forked child (src/maplock.h): what the child keeps of
 * each lock of its parent.  Called by the fork handler of
 * src/maplock_thread.c, for every lock, with the lists it walks held; it
 * calls nothing of the lock's other files, so the three call one way.
 */
#include "maplock.h"

/* Drops the call weight (the high half) of a counter. */
static inline uint64_t views_only(uint64_t count)
{
	return count & (MMAPIO__HOLD_CALL - 1);
}

/*
 * The child is single-threaded, but its lock words were written with
 * atomics by threads it does not have: they are read and written with
 * atomics here too, relaxed, so that thread checkers see no plain race.
 */
MMAPIO_INTERNAL void mmapio__maplock_after_fork(struct mmapio__maplock *l,
						const struct mmapio__thread *me)
{
	uint32_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED);
	uint32_t mine = s & (MMAPIO__LOCK_HELD | MMAPIO__LOCK_BY_VIEW);
	bool keep = (s & MMAPIO__LOCK_HELD) &&
		    ((s & MMAPIO__LOCK_BY_VIEW) ||
		     __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == me->token);
	uint64_t total = 0;

	/* Only a mutable view's write lock survives; no writer waits in the child. */
	__atomic_store_n(&l->state, (s & MMAPIO__LOCK_GENS) + MMAPIO__LOCK_GEN +
			 (keep ? mine + MMAPIO__LOCK_WAITER : 0), __ATOMIC_RELAXED);
	if (!keep)
		__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->state_sleepers, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&l->drain_sleeping, 0, __ATOMIC_RELAXED);
	/* Read-only maps count views only, so this leaves their counters as they are. */
	for (uint32_t i = 0; i < MMAPIO__SLOTS; i++) {
		struct mmapio__slot *c = mmapio__maplock_slot(l, i);

		if (c && i != me->slot)
			__atomic_store_n(&c->count, views_only(__atomic_load_n(&c->count,
									       __ATOMIC_RELAXED)),
					 __ATOMIC_RELAXED);
	}
	for (uint32_t i = 0; i < l->ovf_n;) {
		struct mmapio__overflow_entry *e = &l->ovf[i];

		if (e->token != me->token)
			e->count = views_only(e->count);
		if (e->count == 0) {
			*e = l->ovf[--l->ovf_n];
			continue;
		}
		total += e->count;
		i++;
	}
	__atomic_store_n(&l->ovf_total, total, __ATOMIC_RELAXED);
	__atomic_store_n(&l->ovf_lock, 0, __ATOMIC_RELEASE);  /* taken by fork_prepare */
}
