/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Who a thread is to the map lock (src/maplock.h, "Rules and limits"): its
 * token and its slot number, handed out on its first hold and given back
 * when it exits; the process-wide list of map locks, which thread exit
 * walks to see whether the slot number still has views out somewhere, and
 * which the fork handlers walk to put every lock in order for the child;
 * and the small lock word that guards both.
 */
#include "maplock.h"
#include "once.h"
#include "platform.h"

_Thread_local struct mmapio__thread mmapio__self MMAPIO_TLS_FAST;

/* What a slot number is doing. */
enum {
	SLOT_FREE = 0,
	SLOT_USED = 1,       /* a live thread has it */
	SLOT_RESERVED = 2    /* its thread is gone, views counted in it are not */
};

/* list_lock (a tinylock) guards list_head, the links and slot_state. */
static uint32_t list_lock;
static struct mmapio__maplock *list_head;
static unsigned char slot_state[MMAPIO__SLOTS];
static uint32_t reserved_for[MMAPIO__SLOTS];   /* the token of a reserved slot's thread */
static uint32_t slots_high;          /* 1 + the highest slot handed out; atomic */
static uint32_t next_token = 1;      /* atomic */

/* The key whose destructor gives an exiting thread's slot number back. */
static struct mmapio__tls_key slot_key;
static int key_state; /* an mmapio__once_retry word */
static int fork_hooks;               /* registered; atomic */

MMAPIO_INTERNAL void mmapio__tinylock_wait(uint32_t *l)
{
	while (__atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE) != 0)
		mmapio__plat_wait(l, 2);
}

MMAPIO_INTERNAL void mmapio__tinylock_wake(uint32_t *l)
{
	mmapio__plat_wake_all(l);
}

MMAPIO_INTERNAL uint32_t mmapio__slots_in_use(void)
{
	return __atomic_load_n(&slots_high, __ATOMIC_SEQ_CST);
}

/* Returns whether any lock in the list counts something in slot.  List locked. */
static bool slot_has_holds(uint32_t slot)
{
	for (struct mmapio__maplock *l = list_head; l; l = l->next) {
		struct mmapio__slot *s = mmapio__maplock_slot(l, slot);

		if (s && mmapio__slot_holds(s) != 0)
			return true;
	}
	return false;
}

/*
 * Takes the lowest free slot number, freeing reserved ones whose views are
 * all released when none is free.  Returns it, or MMAPIO__SLOT_OVERFLOW
 * when all are taken.
 */
static uint32_t slot_take(void)
{
	uint32_t slot = MMAPIO__SLOT_OVERFLOW;

	mmapio__tinylock_lock(&list_lock);
	for (int pass = 0; pass < 2 && slot == MMAPIO__SLOT_OVERFLOW; pass++) {
		for (uint32_t i = 0; i < MMAPIO__SLOTS; i++) {
			if (pass == 1 && slot_state[i] == SLOT_RESERVED && !slot_has_holds(i))
				slot_state[i] = SLOT_FREE;
			if (slot_state[i] == SLOT_FREE) {
				slot = i;
				break;
			}
		}
	}
	if (slot != MMAPIO__SLOT_OVERFLOW) {
		slot_state[slot] = SLOT_USED;
		/* Before the thread's first count: see drained() in src/maplock.c. */
		if (slot + 1 > __atomic_load_n(&slots_high, __ATOMIC_RELAXED))
			__atomic_store_n(&slots_high, slot + 1, __ATOMIC_SEQ_CST);
	}
	mmapio__tinylock_unlock(&list_lock);
	return slot;
}

/* Gives slot back: free, or reserved for token while views counted in it are out. */
static void slot_give_back(uint32_t slot, uint32_t token)
{
	mmapio__tinylock_lock(&list_lock);
	if (slot_has_holds(slot)) {
		slot_state[slot] = SLOT_RESERVED;
		reserved_for[slot] = token;
		mmapio__self.former = slot;
	} else {
		slot_state[slot] = SLOT_FREE;
	}
	mmapio__tinylock_unlock(&list_lock);
}

/*
 * The key destructor, with the exiting thread's slot number plus one.
 * Holds taken in later destructors go to the overflow table, since a slot
 * freed here may go to another thread at once.
 */
static void slot_exit(void *value)
{
	mmapio__self.slot = MMAPIO__SLOT_OVERFLOW;
	slot_give_back((uint32_t)((uintptr_t)value - 1), mmapio__self.token);
}

MMAPIO_INTERNAL bool mmapio__thread_former_holds(struct mmapio__maplock *l,
						 const struct mmapio__thread *me)
{
	struct mmapio__slot *s;
	bool held = false;

	if (me->former >= MMAPIO__SLOTS)
		return false;
	mmapio__tinylock_lock(&list_lock);
	s = mmapio__maplock_slot(l, me->former);
	if (slot_state[me->former] == SLOT_RESERVED && reserved_for[me->former] == me->token && s)
		held = mmapio__slot_holds(s) != 0;
	mmapio__tinylock_unlock(&list_lock);
	return held;
}

/* Prepares fork: no other thread is inside the list or a table meanwhile. */
static void fork_prepare(void)
{
	mmapio__tinylock_lock(&list_lock);
	for (struct mmapio__maplock *l = list_head; l; l = l->next)
		mmapio__tinylock_lock(&l->ovf_lock);
}

static void fork_parent(void)
{
	for (struct mmapio__maplock *l = list_head; l; l = l->next)
		mmapio__tinylock_unlock(&l->ovf_lock);
	mmapio__tinylock_unlock(&list_lock);
}

/* The child has one thread: every lock forgets the others' calls and waits. */
static void fork_child(void)
{
	struct mmapio__thread me = mmapio__self;

	if (me.token == 0)
		me.slot = MMAPIO__SLOT_OVERFLOW;
	for (struct mmapio__maplock *l = list_head; l; l = l->next)
		mmapio__maplock_after_fork(l, &me);   /* releases l->ovf_lock */
	for (uint32_t i = 0; i < MMAPIO__SLOTS; i++) {
		if (slot_state[i] == SLOT_USED && i != me.slot) {
			slot_state[i] = SLOT_RESERVED;
			reserved_for[i] = 0;  /* no thread of the child's */
		}
	}
	__atomic_store_n(&list_lock, 0, __ATOMIC_RELEASE);
}

/*
 * Registers the fork handlers and creates the key, once per process.  A
 * failed key creation is not remembered, as for the default ring's key
 * (src/sync.c): the next thread tries again.  Returns 0 or -errno.
 */
/* The set-up itself, for mmapio__once_retry: the fork handlers, the key. */
static int lib_make(void)
{
	/* Without its handlers a fork works, but may block the child (src/maplock.h). */
	if (!__atomic_load_n(&fork_hooks, __ATOMIC_RELAXED) &&
	    mmapio__plat_atfork(fork_prepare, fork_parent, fork_child) == 0)
		__atomic_store_n(&fork_hooks, 1, __ATOMIC_RELAXED);
	return mmapio__plat_tls_key_create(&slot_key, slot_exit);
}

static int lib_init(void)
{
	return mmapio__once_retry(&key_state, lib_make);
}

MMAPIO_INTERNAL void mmapio__thread_init(void)
{
	uint32_t token, slot;

	do
		token = __atomic_fetch_add(&next_token, 1, __ATOMIC_RELAXED);
	while (token == 0);
	mmapio__self.token = token;
	mmapio__self.slot = MMAPIO__SLOT_OVERFLOW;
	mmapio__self.former = MMAPIO__SLOT_NONE;
	if (lib_init() < 0)
		return;
	slot = slot_take();
	if (slot == MMAPIO__SLOT_OVERFLOW)
		return;
	if (mmapio__plat_tls_key_set(&slot_key, (void *)(uintptr_t)(slot + 1)) < 0) {
		slot_give_back(slot, token);  /* nothing is counted in it yet: freed */
		return;
	}
	mmapio__self.slot = slot;
}

MMAPIO_INTERNAL void mmapio__maplock_register(struct mmapio__maplock *l)
{
	lib_init(); /* the fork handlers, before any fork could find the list locked */
	mmapio__tinylock_lock(&list_lock);
	l->prev = NULL;
	l->next = list_head;
	if (list_head)
		list_head->prev = l;
	list_head = l;
	mmapio__tinylock_unlock(&list_lock);
}

MMAPIO_INTERNAL void mmapio__maplock_unregister(struct mmapio__maplock *l)
{
	mmapio__tinylock_lock(&list_lock);
	if (l->prev)
		l->prev->next = l->next;
	else
		list_head = l->next;
	if (l->next)
		l->next->prev = l->prev;
	mmapio__tinylock_unlock(&list_lock);
}
