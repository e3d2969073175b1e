/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The map lock's overflow table: where threads without a counter of their
 * own count their read holds (threads beyond the slot numbers, or whose
 * chunk of counters could not be allocated; see src/maplock.h).  Each
 * entry is one thread's count, found by its token, so nesting, -EDEADLK
 * and release on any thread work as with counters.  The table's lock is
 * held for a few loads and stores, never across a wait; ovf_total mirrors
 * the sum of the counts for writers and close, which read it without the
 * lock and follow the same order rules as a counter.
 */
#include <errno.h>
#include <stdlib.h>

#include "maplock.h"

/* Returns the entry of token, or NULL.  The caller holds the table's lock. */
static struct mmapio__overflow_entry *entry_find(struct mmapio__maplock *l, uint32_t token)
{
	for (uint32_t i = 0; i < l->ovf_n; i++)
		if (l->ovf[i].token == token)
			return &l->ovf[i];
	return NULL;
}

/* Returns the entry of token, added with count 0 if needed, or NULL on ENOMEM. */
static struct mmapio__overflow_entry *entry_get(struct mmapio__maplock *l, uint32_t token)
{
	struct mmapio__overflow_entry *e = entry_find(l, token);

	if (e)
		return e;
	if (l->ovf_n == l->ovf_cap) {
		uint32_t cap = l->ovf_cap ? 2 * l->ovf_cap : 8;

		e = realloc(l->ovf, cap * sizeof(*e));
		if (!e)
			return NULL;
		l->ovf = e;
		l->ovf_cap = cap;
	}
	e = &l->ovf[l->ovf_n++];
	e->token = token;
	e->count = 0;
	return e;
}

/* Takes weight off token's entry, dropping it at zero.  The caller holds the lock. */
static void entry_sub(struct mmapio__maplock *l, uint32_t token, uint64_t weight)
{
	struct mmapio__overflow_entry *e = entry_find(l, token);

	if (!e)
		return;
	e->count -= weight;
	if (e->count == 0)
		*e = l->ovf[--l->ovf_n];
}

/*
 * Counts weight for the calling thread in the overflow table, waiting
 * like a counter's reader (src/maplock.c) while another thread's writer is
 * about.  Returns 0 with *h set, or -ENOMEM when the table cannot grow.
 */
MMAPIO_INTERNAL int mmapio__maplock_overflow_read(struct mmapio__maplock *l, uint64_t weight,
						  struct mmapio__hold *h)
{
	const struct mmapio__thread *me = mmapio__thread();
	uint32_t gen0 = __atomic_load_n(&l->state, __ATOMIC_SEQ_CST) & MMAPIO__LOCK_GENS;

	h->slot = MMAPIO__SLOT_OVERFLOW;
	h->token = me->token;
	for (;;) {
		struct mmapio__overflow_entry *e;
		uint64_t before;
		uint32_t s;

		mmapio__tinylock_lock(&l->ovf_lock);
		e = entry_get(l, me->token);
		if (!e) {
			mmapio__tinylock_unlock(&l->ovf_lock);
			return -ENOMEM;
		}
		before = e->count;
		e->count += weight;
		__atomic_add_fetch(&l->ovf_total, weight, __ATOMIC_SEQ_CST);
		mmapio__tinylock_unlock(&l->ovf_lock);
		s = __atomic_load_n(&l->state, __ATOMIC_SEQ_CST);
		if (before != 0 || (s & ~MMAPIO__LOCK_GENS) == 0 ||
		    __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == me->token ||
		    ((s & MMAPIO__LOCK_GENS) != gen0 && !(s & MMAPIO__LOCK_HELD)) ||
		    mmapio__thread_former_holds(l, me))
			return 0;
		/* Back off, as a counter's reader does, and wait for the writer. */
		mmapio__maplock_overflow_end(l, weight, me->token);
		mmapio__maplock_wait_turn(l, gen0);
	}
}

/* Releases weight counted for token in the overflow table, on any thread. */
MMAPIO_INTERNAL void mmapio__maplock_overflow_end(struct mmapio__maplock *l, uint64_t weight,
						  uint32_t token)
{
	mmapio__tinylock_lock(&l->ovf_lock);
	entry_sub(l, token, weight);
	mmapio__tinylock_unlock(&l->ovf_lock);
	if (__atomic_fetch_sub(&l->ovf_total, weight, __ATOMIC_SEQ_CST) == weight &&
	    (__atomic_load_n(&l->state, __ATOMIC_SEQ_CST) & MMAPIO__LOCK_HELD))
		mmapio__maplock_wake_drainer(l);
}

/* Returns whether token has a count in l's overflow table. */
MMAPIO_INTERNAL bool mmapio__maplock_overflow_holds(struct mmapio__maplock *l, uint32_t token)
{
	bool found;

	if (__atomic_load_n(&l->ovf_total, __ATOMIC_SEQ_CST) == 0)
		return false;
	mmapio__tinylock_lock(&l->ovf_lock);
	found = entry_find(l, token) != NULL;
	mmapio__tinylock_unlock(&l->ovf_lock);
	return found;
}
