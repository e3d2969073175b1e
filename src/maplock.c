/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The map lock's slow paths: readers that meet a writer, writers, and the
 * lock's life (src/maplock.h says how it works and why it is correct; the
 * readers' fast paths are inline there).  Threads sleep with the
 * platform's wait on a word (src/platform.h), after a short spin: most
 * holds last nanoseconds, and a sleep and its wake-up cost microseconds.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "maplock.h"
#include "platform.h"

/* Times a waiter re-checks before it sleeps. */
#define SPINS 64

/* True when state shows no writer at all (the readers' fast condition). */
static inline bool no_writer(uint32_t s)
{
	return (s & ~MMAPIO__LOCK_GENS) == 0;
}

/*
 * Allocates the zeroed counters of chunk i of l, unless another thread got
 * there first.  Returns 0 or -ENOMEM.
 */
static int chunk_alloc(struct mmapio__maplock *l, unsigned i)
{
	struct mmapio__slot_chunk *c = mmapio__plat_aligned_alloc(_Alignof(struct mmapio__slot),
								   sizeof(*c));
	struct mmapio__slot_chunk *none = NULL;

	if (!c)
		return -ENOMEM;
	memset(c, 0, sizeof(*c));
	/* seq_cst: a writer that does not see the chunk is seen by its first reader. */
	if (!__atomic_compare_exchange_n(&l->chunks[i], &none, c, false, __ATOMIC_SEQ_CST,
					 __ATOMIC_SEQ_CST))
		mmapio__plat_aligned_free(c);
	return 0;
}

MMAPIO_INTERNAL int mmapio__maplock_init(struct mmapio__maplock *l, bool read_only)
{
	memset(l, 0, sizeof(*l));
	l->read_only = read_only;
	if (chunk_alloc(l, 0) < 0)
		return -ENOMEM;
	mmapio__maplock_register(l);
	return 0;
}

MMAPIO_INTERNAL void mmapio__maplock_fini(struct mmapio__maplock *l)
{
	mmapio__maplock_unregister(l);
	for (unsigned i = 0; i < MMAPIO__SLOT_CHUNKS; i++)
		mmapio__plat_aligned_free(l->chunks[i]);
	free(l->ovf);
	memset(l, 0, sizeof(*l));
}

/* Returns whether every counter of l, overflow table included, is zero. */
static bool drained(struct mmapio__maplock *l)
{
	uint32_t n = mmapio__slots_in_use();

	if (__atomic_load_n(&l->ovf_total, __ATOMIC_SEQ_CST) != 0)
		return false;
	for (uint32_t i = 0; i < n; i++) {
		struct mmapio__slot *s = mmapio__maplock_slot(l, i);

		if (!s)
			i |= MMAPIO__SLOTS_PER_CHUNK - 1;  /* skip the missing chunk */
		else if (mmapio__slot_holds(s) != 0)
			return false;
	}
	return true;
}

MMAPIO_INTERNAL bool mmapio__maplock_busy(struct mmapio__maplock *l)
{
	return !no_writer(__atomic_load_n(&l->state, __ATOMIC_SEQ_CST)) || !drained(l);
}

/*
 * Sleeps until l's state word is no longer s (or spuriously).  The sleeper
 * count lets writers skip the wake-up when no one sleeps: the count is
 * raised before the state is looked at again, and writers change the state
 * before they look at the count, so one of the two sees the other.
 */
static void sleep_on_state(struct mmapio__maplock *l, uint32_t s)
{
	__atomic_add_fetch(&l->state_sleepers, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&l->state, __ATOMIC_SEQ_CST) == s)
		mmapio__plat_wait(&l->state, s);
	__atomic_sub_fetch(&l->state_sleepers, 1, __ATOMIC_SEQ_CST);
}

MMAPIO_INTERNAL void mmapio__maplock_wait_turn(struct mmapio__maplock *l, uint32_t gen0)
{
	for (unsigned spin = 0;; spin++) {
		uint32_t s = __atomic_load_n(&l->state, __ATOMIC_SEQ_CST);

		if (no_writer(s))
			return;
		if ((s & MMAPIO__LOCK_GENS) != gen0 && !(s & MMAPIO__LOCK_HELD))
			return;
		if (spin >= SPINS)
			sleep_on_state(l, s);
	}
}

/* Tells a writer waiting for the counters to drain to look again. */
MMAPIO_INTERNAL void mmapio__maplock_wake_drainer(struct mmapio__maplock *l)
{
	__atomic_add_fetch(&l->drain_seq, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&l->drain_sleeping, __ATOMIC_SEQ_CST))
		mmapio__plat_wake_all(&l->drain_seq);
}

/*
 * The reader's fast path counted weight in its slot and then saw a
 * writer.  The writer may be gone already; the thread that holds the write
 * lock goes on, and so does one with a hold in the overflow table (from a
 * time its chunk could not be allocated: it is inside already).  Any other
 * backs off, waits for its turn, and counts again.  Returns 0 (counted as
 * *h).
 */
MMAPIO_INTERNAL int mmapio__maplock_read_contended(struct mmapio__maplock *l, uint64_t weight,
						   struct mmapio__hold *h)
{
	struct mmapio__slot *s = mmapio__maplock_slot(l, h->slot);
	uint32_t st = __atomic_load_n(&l->state, __ATOMIC_SEQ_CST);
	uint32_t gen0 = st & MMAPIO__LOCK_GENS;

	if (no_writer(st) || __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == h->token ||
	    mmapio__maplock_overflow_holds(l, h->token))
		return 0;
	for (;;) {
		mmapio__maplock_read_end(l, weight, h);
		mmapio__maplock_wait_turn(l, gen0);
		if (__atomic_fetch_add(&s->count, weight, __ATOMIC_SEQ_CST) != 0)
			return 0;
		st = __atomic_load_n(&l->state, __ATOMIC_SEQ_CST);
		if (no_writer(st) || ((st & MMAPIO__LOCK_GENS) != gen0 && !(st & MMAPIO__LOCK_HELD)))
			return 0;
	}
}

/*
 * The reader found no counter for its slot: it allocates the chunk, or,
 * without a slot number or memory, counts in the overflow table.  Returns
 * as mmapio__maplock_read.
 */
MMAPIO_INTERNAL int mmapio__maplock_read_slow(struct mmapio__maplock *l, uint64_t weight,
					      struct mmapio__hold *h)
{
	const struct mmapio__thread *me = mmapio__thread();

	if (me->slot < MMAPIO__SLOTS &&
	    chunk_alloc(l, me->slot / MMAPIO__SLOTS_PER_CHUNK) == 0)
		return mmapio__maplock_read(l, weight, h);
	return mmapio__maplock_overflow_read(l, weight, h);
}

/* Returns whether the calling thread holds anything of l (see "-EDEADLK"). */
static bool holds_any(struct mmapio__maplock *l, const struct mmapio__thread *me)
{
	struct mmapio__slot *s = mmapio__maplock_slot(l, me->slot);

	if (__atomic_load_n(&l->owner, __ATOMIC_RELAXED) == me->token)
		return true;
	if (s && mmapio__slot_holds(s) != 0)
		return true;
	return mmapio__maplock_overflow_holds(l, me->token) || mmapio__thread_former_holds(l, me);
}

/* Waits, as the holder of the write lock, until every read hold is gone. */
static void drain(struct mmapio__maplock *l)
{
	for (unsigned spin = 0; !drained(l); spin++) {
		uint32_t seq;

		if (spin < SPINS)
			continue;
		__atomic_store_n(&l->drain_sleeping, 1, __ATOMIC_SEQ_CST);
		seq = __atomic_load_n(&l->drain_seq, __ATOMIC_SEQ_CST);
		if (!drained(l))
			mmapio__plat_wait(&l->drain_seq, seq);
		__atomic_store_n(&l->drain_sleeping, 0, __ATOMIC_SEQ_CST);
	}
}

MMAPIO_INTERNAL int mmapio__maplock_write(struct mmapio__maplock *l, bool by_view)
{
	const struct mmapio__thread *me = mmapio__thread();
	uint32_t held = MMAPIO__LOCK_HELD | (by_view ? MMAPIO__LOCK_BY_VIEW : 0);
	uint32_t s;

	if (holds_any(l, me))
		return -EDEADLK;
	/* From here on new readers back off (see "Writers"). */
	s = __atomic_add_fetch(&l->state, MMAPIO__LOCK_WAITER, __ATOMIC_SEQ_CST);
	for (unsigned spin = 0;; spin++) {
		if (!(s & MMAPIO__LOCK_HELD)) {
			if (__atomic_compare_exchange_n(&l->state, &s, s | held, false,
							__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
				break;
			continue;  /* s was reloaded */
		}
		if (spin >= SPINS)
			sleep_on_state(l, s);
		s = __atomic_load_n(&l->state, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&l->owner, me->token, __ATOMIC_RELAXED);
	drain(l);
	return 0;
}

MMAPIO_INTERNAL void mmapio__maplock_write_end(struct mmapio__maplock *l)
{
	uint32_t s = __atomic_load_n(&l->state, __ATOMIC_RELAXED), n;

	__atomic_store_n(&l->owner, 0, __ATOMIC_RELAXED);
	do
		n = (s & ~(MMAPIO__LOCK_HELD | MMAPIO__LOCK_BY_VIEW)) - MMAPIO__LOCK_WAITER +
		    MMAPIO__LOCK_GEN;
	while (!__atomic_compare_exchange_n(&l->state, &s, n, false, __ATOMIC_SEQ_CST,
					    __ATOMIC_RELAXED));
	if (__atomic_load_n(&l->state_sleepers, __ATOMIC_SEQ_CST) != 0)
		mmapio__plat_wake_all(&l->state);
}

/* ------------------------------------------------------------------------ */
/* The overflow table                                                       */
/* ------------------------------------------------------------------------ */

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
