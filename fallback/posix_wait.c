/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Waiting on a word (mmapio__plat_wait, mmapio__plat_wake_all of
 * src/platform.h) on POSIX hosts, which have no portable futex: a fixed
 * table of buckets, each a mutex and a condition variable, chosen by the
 * word's address (a "parking lot").  A waiter checks the word under its
 * bucket's mutex and sleeps on the condition variable; a waker, having
 * changed the word, broadcasts under the same mutex, so no wake-up is lost.
 * Words that share a bucket wake each other's waiters spuriously, which
 * the contract allows.
 *
 * The waits happen inside library calls such as mmapio_write; a thread
 * cancelled there would leave the map's lock announced for ever, so
 * cancellation is held off for the wait (pthread_cond_wait is a
 * cancellation point).  Fork: a bucket mutex that another thread held at
 * the moment of fork would stay locked in the child, so the fork handlers
 * take every bucket before fork and release them after it in both
 * processes.
 */
#include <pthread.h>
#include <stdint.h>

#include "platform.h"

#define BUCKETS 64u
_Static_assert(BUCKETS == 64, "bucket_of takes the top 6 bits of the hash");

struct bucket {
	pthread_mutex_t mu;
	pthread_cond_t cv;
};

static struct bucket buckets[BUCKETS];
static pthread_once_t buckets_once = PTHREAD_ONCE_INIT;

static void buckets_lock_all(void)
{
	for (unsigned i = 0; i < BUCKETS; i++)
		pthread_mutex_lock(&buckets[i].mu);
}

static void buckets_unlock_all(void)
{
	for (unsigned i = BUCKETS; i-- > 0;)
		pthread_mutex_unlock(&buckets[i].mu);
}

/*
 * Initializes the table and its fork handlers, once.  Default mutexes and
 * condition variables cannot fail to initialize on the hosts this runs on
 * (glibc, musl, the BSDs, macOS); were the fork handlers refused, a child
 * forked while another thread was inside a wait could block in its own
 * first wait, the behaviour of any library built on pthread mutexes.
 */
static void buckets_init(void)
{
	for (unsigned i = 0; i < BUCKETS; i++) {
		pthread_mutex_init(&buckets[i].mu, NULL);
		pthread_cond_init(&buckets[i].cv, NULL);
	}
	pthread_atfork(buckets_lock_all, buckets_unlock_all, buckets_unlock_all);
}

/* Returns the bucket of addr (Fibonacci hashing of the word's address). */
static struct bucket *bucket_of(const uint32_t *addr)
{
	uint64_t h = ((uint64_t)(uintptr_t)addr >> 2) * 0x9e3779b97f4a7c15ull;

	pthread_once(&buckets_once, buckets_init);
	return &buckets[h >> 58];  /* the top 6 bits: BUCKETS is 64 */
}

MMAPIO_INTERNAL void mmapio__plat_wait(const uint32_t *addr, uint32_t expected)
{
	struct bucket *b = bucket_of(addr);
	int old;

	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	pthread_mutex_lock(&b->mu);
	if (__atomic_load_n(addr, __ATOMIC_SEQ_CST) == expected)
		pthread_cond_wait(&b->cv, &b->mu);
	pthread_mutex_unlock(&b->mu);
	pthread_setcancelstate(old, NULL);
}

MMAPIO_INTERNAL void mmapio__plat_wake_all(const uint32_t *addr)
{
	struct bucket *b = bucket_of(addr);

	pthread_mutex_lock(&b->mu);
	pthread_cond_broadcast(&b->cv);
	pthread_mutex_unlock(&b->mu);
}
