/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The map lock (DESIGN.md, "The map lock"): a reader-writer lock whose
 * readers write no shared cache line, whose waiting writers hold back new
 * readers, whose holds may be released on any thread, and which answers a
 * thread's attempt to wait for itself with -EDEADLK.
 *
 * Readers.  Every thread that uses a map gets a slot number, process-wide
 * and unique among live threads (src/maplock_thread.c).  Each map has one
 * cache-line-sized counter per slot number; a reader adds its weight to its
 * own counter (one atomic add on a line no other thread writes) and then
 * looks at the lock's state word, which only writers write.  A read view
 * records in its private fields the slot it counted in, so whichever thread
 * releases it takes the count off the right counter.  Read views weigh
 * MMAPIO__HOLD_VIEW, short holds inside one call (mmapio_read, atomics,
 * flush, advice) MMAPIO__HOLD_CALL, so that a child after fork can tell
 * the views it inherited from calls that were running on threads it does
 * not have.
 *
 * Writers.  A writer announces itself in the state word (readers that see
 * an announced writer back off and wait), takes the held bit (writers
 * serialize on it), then waits until every counter of the map is zero.
 * A reader that waited through a writer's release may enter while the
 * next writer is only announced, so that a stream of writers does not
 * starve readers either.  A mutable view holds the write lock until it is
 * released, on any thread.
 *
 * Memory order.  Reader: add to its counter, then load the state word.
 * Writer: announce in the state word (and later set the held bit), then
 * load the counters.  All four are sequentially consistent, so in their one
 * total order either the reader's load sees the writer, or the writer's
 * loads see the reader's count: never neither (Dekker's pattern; on x86
 * the atomic add is a full barrier already and seq_cst loads are plain).
 * A leaving reader subtracts, then loads the state word and, when it
 * emptied its counter under a holding writer, bumps the drain sequence the
 * writer sleeps on: the writer sets its "sleeping" flag, loads the
 * sequence, checks the counters once more, and sleeps only if the sequence
 * is unchanged, so the last reader's wake-up is never lost.
 *
 * Nesting and -EDEADLK.  A reader whose own counter was already non-zero
 * goes ahead whatever writer waits: it is inside already, and the writer
 * waits for it anyway (backing off would deadlock a thread taking a second
 * view).  The thread that holds the write lock (its mutable view) reads
 * its own map without waiting.  mmapio__maplock_write returns -EDEADLK
 * when the calling thread holds the write lock or any read hold of the
 * map, instead of waiting for itself.
 *
 * Rules and limits.
 *  - Holds belong to the thread that took them, wherever they are
 *    released: a thread that took a view and passed it on gets -EDEADLK
 *    for writes until it is released; a thread that was handed another
 *    thread's view and then writes waits for that view like any other
 *    (it must release it first).
 *  - MMAPIO__SLOTS slot numbers (128) exist per process.  A map allocates
 *    its counters in chunks of 16 (1 KiB), the first at open, the others
 *    when a thread with a higher number first uses the map.  Threads
 *    beyond the 128th alive at once, and threads whose chunk could not be
 *    allocated, count in the map's overflow table instead: a small array
 *    under a lock, keyed by the thread's token.  It is correct (nesting,
 *    -EDEADLK and release on any thread work the same) but not scalable,
 *    and taking a hold there can fail with -ENOMEM.
 *  - Thread exit gives the slot number back, unless a view counted in it
 *    is still out in some map: then the number stays reserved until those
 *    views are released, so no new thread inherits them.  Holds a thread
 *    takes after that (in later thread-exit destructors) go to the
 *    overflow table, which still knows the views left in its old slot.
 *  - Tokens are 32 bits, handed out once per thread; after 2^32 threads
 *    they repeat, and a hold in the overflow table could then be taken for
 *    a much older thread's.
 *  - fork: the child keeps the forking thread's slot number, views and
 *    mutable views.  Views of other threads stay counted (their view
 *    structs are in the child's memory and may be released there); holds
 *    of calls that other threads were running at fork, and writers that
 *    were waiting, are dropped; a write call that was running on another
 *    thread gives up its write lock (its bytes may be half written, as
 *    with any fork during a write).  The slot numbers of the other threads
 *    are reserved until their views are released.
 *  - A thread cancelled while it waits here is not cancelled there: the
 *    waits hold cancellation off.
 *
 * Read-only maps.  They never have a writer, so their views need no order
 * against one: only close must count them.  The thread that owns a slot
 * adds to and subtracts from its counter with plain (relaxed) loads and
 * stores, no locked instruction; a view released on another thread adds
 * to the slot's foreign counter with an atomic add instead, and the slot
 * holds count - foreign.  Close reads both; it must not race with the
 * calls it counts (mmapio.h), so it sees them.
 */
#ifndef MMAPIO_MAPLOCK_H
#define MMAPIO_MAPLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "visibility.h"

#define MMAPIO__SLOTS_PER_CHUNK 16u
#define MMAPIO__SLOT_CHUNKS 8u
#define MMAPIO__SLOTS (MMAPIO__SLOTS_PER_CHUNK * MMAPIO__SLOT_CHUNKS)

/* Slot values of a hold beside 0 .. MMAPIO__SLOTS - 1 (24 bits in a view). */
#define MMAPIO__SLOT_OVERFLOW 0xffffffu  /* counted in the overflow table */
#define MMAPIO__SLOT_NONE 0xfffffeu      /* nothing counted (read-only map calls) */

/* What a hold adds to its counter. */
#define MMAPIO__HOLD_VIEW ((uint64_t)1)
#define MMAPIO__HOLD_CALL ((uint64_t)1 << 32)

/* The state word: written by writers only. */
#define MMAPIO__LOCK_HELD 0x1u        /* a writer holds the lock */
#define MMAPIO__LOCK_BY_VIEW 0x2u     /* ... for a mutable view */
#define MMAPIO__LOCK_WAITER 0x4u      /* one writer announced (waiting or holding) */
#define MMAPIO__LOCK_WAITERS 0x000ffffcu
#define MMAPIO__LOCK_GEN 0x00100000u  /* one write-lock release */
#define MMAPIO__LOCK_GENS 0xfff00000u

/*
 * One reader counter, alone on its cache line.  Its holds are count -
 * foreign: foreign is used by read-only maps only (see "Read-only maps").
 */
struct mmapio__slot {
	_Alignas(64) uint64_t count;
	uint64_t foreign;
};

/* Returns the holds counted in s.  Callers order the load as they need (seq_cst here). */
static inline uint64_t mmapio__slot_holds(const struct mmapio__slot *s)
{
	return __atomic_load_n(&s->count, __ATOMIC_SEQ_CST) -
	       __atomic_load_n(&s->foreign, __ATOMIC_SEQ_CST);
}

struct mmapio__slot_chunk {
	struct mmapio__slot s[MMAPIO__SLOTS_PER_CHUNK];
};

struct mmapio__overflow_entry {
	uint32_t token;
	uint64_t count;
};

struct mmapio__maplock {
	/* Read by every reader, written by writers (and chunk allocation). */
	bool read_only;                /* a read-only map's: no writer ever */
	uint32_t state;                /* MMAPIO__LOCK_*; atomic */
	uint32_t owner;                /* token of the write-lock holder, 0 if none; atomic */
	struct mmapio__slot_chunk *chunks[MMAPIO__SLOT_CHUNKS];  /* atomic; [0] from init */
	/* The slow paths' words. */
	uint32_t state_sleepers;       /* threads asleep on state; atomic */
	uint32_t drain_seq;            /* bumped when a counter empties under a writer */
	uint32_t drain_sleeping;       /* the holding writer sleeps on drain_seq */
	uint32_t ovf_lock;             /* a mmapio__tinylock over the overflow table */
	uint32_t ovf_n, ovf_cap;
	struct mmapio__overflow_entry *ovf;
	uint64_t ovf_total;            /* sum of the table's counts; atomic */
	/* The process-wide list of locks (src/maplock_thread.c). */
	struct mmapio__maplock *prev, *next;
};

/* What one read hold counted in: the slot, and the token for the overflow table. */
struct mmapio__hold {
	uint32_t slot;
	uint32_t token;
};

/* The calling thread as the lock knows it. */
struct mmapio__thread {
	uint32_t token;   /* 0 until the thread's first hold */
	uint32_t slot;    /* its slot number, or MMAPIO__SLOT_OVERFLOW */
	uint32_t former;  /* the slot it gave back at exit with views out, or SLOT_NONE */
};

MMAPIO_INTERNAL extern _Thread_local struct mmapio__thread mmapio__self MMAPIO_TLS_FAST;

/* Gives the calling thread its token and slot number (src/maplock_thread.c). */
MMAPIO_INTERNAL void mmapio__thread_init(void);

/* Returns the calling thread's identity, set up on first use. */
static inline const struct mmapio__thread *mmapio__thread(void)
{
	if (__builtin_expect(mmapio__self.token == 0, 0))
		mmapio__thread_init();
	return &mmapio__self;
}

/* ---- A lock word with waiting, for short critical sections ---- */

MMAPIO_INTERNAL void mmapio__tinylock_wait(uint32_t *l);
MMAPIO_INTERNAL void mmapio__tinylock_wake(uint32_t *l);

/* Takes l (0 free, 1 held, 2 held with waiters).  Never fails. */
static inline void mmapio__tinylock_lock(uint32_t *l)
{
	uint32_t free_ = 0;

	if (!__atomic_compare_exchange_n(l, &free_, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		mmapio__tinylock_wait(l);
}

/* Releases l, waking a waiter if there is one. */
static inline void mmapio__tinylock_unlock(uint32_t *l)
{
	if (__atomic_exchange_n(l, 0, __ATOMIC_RELEASE) == 2)
		mmapio__tinylock_wake(l);
}

/* ---- The lock ---- */

/*
 * Sets up l (for a read-only map: see "Read-only maps") and enters it in
 * the process-wide list.  Returns 0 or -ENOMEM.  mmapio__maplock_fini
 * undoes it.
 */
MMAPIO_INTERNAL int mmapio__maplock_init(struct mmapio__maplock *l, bool read_only);

/* Takes l out of the list and frees its memory.  No hold may be out. */
MMAPIO_INTERNAL void mmapio__maplock_fini(struct mmapio__maplock *l);

/*
 * Whether anything holds l: a read hold (any thread's, exited threads'
 * included), the write lock, or an announced writer.  For mmapio_close.
 */
MMAPIO_INTERNAL bool mmapio__maplock_busy(struct mmapio__maplock *l);

/*
 * The slow paths of mmapio__maplock_read (a writer about, or no counter
 * for this thread yet) and of mmapio__maplock_read_end.  Return as those.
 */
MMAPIO_INTERNAL int mmapio__maplock_read_contended(struct mmapio__maplock *l, uint64_t weight,
						   struct mmapio__hold *h);
MMAPIO_INTERNAL int mmapio__maplock_read_slow(struct mmapio__maplock *l, uint64_t weight,
					      struct mmapio__hold *h);
MMAPIO_INTERNAL void mmapio__maplock_overflow_end(struct mmapio__maplock *l, uint64_t weight,
						  uint32_t token);
MMAPIO_INTERNAL void mmapio__maplock_wake_drainer(struct mmapio__maplock *l);

/*
 * Waits until a reader that backed off may try again: no writer is
 * announced, or a writer released the lock since gen0 (the state's
 * MMAPIO__LOCK_GENS when the reader began to wait) and none holds it now.
 */
MMAPIO_INTERNAL void mmapio__maplock_wait_turn(struct mmapio__maplock *l, uint32_t gen0);

/*
 * The overflow table (the end of src/maplock.c): a read hold counted there
 * (returns as mmapio__maplock_read), and whether token has one.
 */
MMAPIO_INTERNAL int mmapio__maplock_overflow_read(struct mmapio__maplock *l, uint64_t weight,
						  struct mmapio__hold *h);
MMAPIO_INTERNAL bool mmapio__maplock_overflow_holds(struct mmapio__maplock *l, uint32_t token);

/* Returns the counter of slot in l, or NULL when its chunk is not allocated. */
static inline struct mmapio__slot *mmapio__maplock_slot(struct mmapio__maplock *l, uint32_t slot)
{
	struct mmapio__slot_chunk *c;

	if (slot >= MMAPIO__SLOTS)
		return NULL;
	c = __atomic_load_n(&l->chunks[slot / MMAPIO__SLOTS_PER_CHUNK], __ATOMIC_ACQUIRE);
	return c ? &c->s[slot % MMAPIO__SLOTS_PER_CHUNK] : NULL;
}

/*
 * Takes a read hold of weight MMAPIO__HOLD_VIEW or MMAPIO__HOLD_CALL,
 * waiting while another thread's writer is announced or holds the lock.
 * Returns 0 with *h saying what to release, or -ENOMEM (overflow table,
 * see above).
 */
static inline int mmapio__maplock_read(struct mmapio__maplock *l, uint64_t weight,
				       struct mmapio__hold *h)
{
	const struct mmapio__thread *me = mmapio__thread();
	struct mmapio__slot *s = mmapio__maplock_slot(l, me->slot);

	if (__builtin_expect(s == NULL, 0))
		return mmapio__maplock_read_slow(l, weight, h);
	h->slot = me->slot;
	h->token = me->token;
	if (l->read_only) {
		/* Only this thread writes count: see "Read-only maps". */
		__atomic_store_n(&s->count, __atomic_load_n(&s->count, __ATOMIC_RELAXED) + weight,
				 __ATOMIC_RELAXED);
		return 0;
	}
	if (__atomic_fetch_add(&s->count, weight, __ATOMIC_SEQ_CST) != 0)
		return 0;  /* inside already: see "Nesting" */
	if ((__atomic_load_n(&l->state, __ATOMIC_SEQ_CST) & ~MMAPIO__LOCK_GENS) == 0)
		return 0;
	return mmapio__maplock_read_contended(l, weight, h);
}

/* Releases a read hold of weight taken as *h, on any thread. */
static inline void mmapio__maplock_read_end(struct mmapio__maplock *l, uint64_t weight,
					    const struct mmapio__hold *h)
{
	struct mmapio__slot *s;

	if (h->slot == MMAPIO__SLOT_OVERFLOW) {
		mmapio__maplock_overflow_end(l, weight, h->token);
		return;
	}
	s = mmapio__maplock_slot(l, h->slot);
	if (l->read_only) {
		if (h->slot == mmapio__thread()->slot)
			__atomic_store_n(&s->count,
					 __atomic_load_n(&s->count, __ATOMIC_RELAXED) - weight,
					 __ATOMIC_RELAXED);
		else
			__atomic_add_fetch(&s->foreign, weight, __ATOMIC_RELAXED);
		return;
	}
	if (__atomic_fetch_sub(&s->count, weight, __ATOMIC_SEQ_CST) == weight &&
	    (__atomic_load_n(&l->state, __ATOMIC_SEQ_CST) & MMAPIO__LOCK_HELD))
		mmapio__maplock_wake_drainer(l);
}

/*
 * Takes the write lock, for a mutable view (by_view) or a call, waiting
 * for other writers and for every read hold of other threads.  Returns 0,
 * or -EDEADLK at once when the calling thread holds the write lock or a
 * read hold of l (or took a view still out; see "Rules and limits").
 */
MMAPIO_INTERNAL int mmapio__maplock_write(struct mmapio__maplock *l, bool by_view);

/* Releases the write lock, on any thread. */
MMAPIO_INTERNAL void mmapio__maplock_write_end(struct mmapio__maplock *l);

/* ---- The list of locks and slot numbers (src/maplock_thread.c) ---- */

/* Enters l in the list, or takes it out.  Never fail. */
MMAPIO_INTERNAL void mmapio__maplock_register(struct mmapio__maplock *l);
MMAPIO_INTERNAL void mmapio__maplock_unregister(struct mmapio__maplock *l);

/*
 * Whether the calling thread, past its exit destructor (me->former), still
 * has views of l counted in the slot it had: they keep the slot reserved
 * for it, so no other thread's counts are mixed in.  For the nesting and
 * -EDEADLK checks of the overflow table's readers.
 */
MMAPIO_INTERNAL bool mmapio__thread_former_holds(struct mmapio__maplock *l,
						 const struct mmapio__thread *me);

/* 1 + the highest slot number handed out so far: counters above are zero. */
MMAPIO_INTERNAL uint32_t mmapio__slots_in_use(void);

/*
 * Puts l in the state a child process after fork can use (see "fork"
 * above): called for every lock by the child's fork handler with the
 * forking thread's identity.
 */
MMAPIO_INTERNAL void mmapio__maplock_after_fork(struct mmapio__maplock *l,
						const struct mmapio__thread *me);

#endif
