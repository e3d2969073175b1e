/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Set-up that runs once per process but is tried again after a failure,
 * unlike pthread_once: a passing shortage (EAGAIN, ENOMEM from a key
 * creation) must not disable a feature for the process's life.  Built on
 * C11-style atomics, so src/ needs no platform once-primitive.
 */
#ifndef MMAPIO_ONCE_H
#define MMAPIO_ONCE_H

#include "platform.h"

/* The states of a once word; it starts at MMAPIO__ONCE_NONE (0). */
enum { MMAPIO__ONCE_NONE = 0, MMAPIO__ONCE_BUSY, MMAPIO__ONCE_DONE };

/*
 * Runs init unless it has succeeded before; one thread at a time runs it,
 * the others wait for that one.  Returns 0 when init has succeeded (now or
 * earlier), else init's -errno, with the word back at NONE for the next
 * caller to try again.
 */
static inline int mmapio__once_retry(int *word, int (*init)(void))
{
	int state = MMAPIO__ONCE_NONE, r;

	for (;;) {
		if (__atomic_compare_exchange_n(word, &state, MMAPIO__ONCE_BUSY, false,
						__ATOMIC_ACQUIRE, __ATOMIC_ACQUIRE))
			break;
		if (state == MMAPIO__ONCE_DONE)
			return 0;
		mmapio__plat_yield(); /* another thread is running init */
		state = MMAPIO__ONCE_NONE;
	}
	r = init();
	__atomic_store_n(word, r == 0 ? MMAPIO__ONCE_DONE : MMAPIO__ONCE_NONE, __ATOMIC_RELEASE);
	return r;
}

/* True once init has succeeded. */
static inline bool mmapio__once_done(int *word)
{
	return __atomic_load_n(word, __ATOMIC_ACQUIRE) == MMAPIO__ONCE_DONE;
}

#endif
