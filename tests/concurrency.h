/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The concurrency workload shared by test_views.c (Criterion) and
 * stress_concurrency.c (a plain program, because Criterion's runner cannot
 * start under ThreadSanitizer: Snaipe/Criterion#274).  No Criterion here.
 *
 * Writers fill whole records with one byte value, half of them through
 * mmapio_write and half through mutable views written byte by byte;
 * readers copy records out with mmapio_read or look at them through read
 * views, and check every record is uniform.  A torn record means the map's
 * lock let a reader see a half-applied write.
 */
#ifndef MMAPIO_TESTS_CONCURRENCY_H
#define MMAPIO_TESTS_CONCURRENCY_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "mmapio.h"

#define CONC_RECORD 512       /* spans page boundaries at some indices */
#define CONC_RECORDS 61
#define CONC_LEAD 7           /* records start at an unaligned offset */
#define CONC_TAIL 13
#define CONC_LEN ((size_t)CONC_RECORDS * CONC_RECORD + CONC_LEAD + CONC_TAIL)

struct conc_shared {
	mmapio_map *map;
	unsigned iters;           /* writes per writer */
	atomic_int go;
	atomic_int writers_left;
	atomic_ulong reads;
};

struct conc_worker {
	struct conc_shared *s;
	unsigned id;
	int failures;   /* invariant violations seen */
	int rc;         /* first unexpected return code */
	char what[160];
};

static inline unsigned conc_rand(unsigned *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static inline void conc_wait_for_go(struct conc_shared *s)
{
	while (!atomic_load(&s->go))
		sched_yield();
}

static inline void *conc_writer(void *arg)
{
	struct conc_worker *w = arg;
	unsigned seed = 0x1234567u * (w->id + 1);
	unsigned char rec[CONC_RECORD];

	conc_wait_for_go(w->s);
	for (unsigned i = 0; i < w->s->iters; i++) {
		unsigned r = conc_rand(&seed) % CONC_RECORDS;
		uint64_t off = (uint64_t)r * CONC_RECORD + CONC_LEAD;
		/* The value names the writer and the counter, never 0. */
		unsigned char val = (unsigned char)(1 + ((w->id * 64 + i) % 255));
		int rc;

		if (w->id % 2 == 0) {
			memset(rec, val, sizeof(rec));
			rc = mmapio_write(w->s->map, off, rec, CONC_RECORD);
		} else {
			struct mmapio_view v;

			rc = mmapio_view_write(w->s->map, off, CONC_RECORD, &v);
			if (rc == 0) {
				/* Byte by byte, so a reader that slipped in would see a mix. */
				for (size_t k = 0; k < v.len; k++)
					((volatile unsigned char *)v.data)[k] = val;
				mmapio_view_release(&v);
			}
		}
		if (rc != 0 && w->rc == 0) {
			w->rc = rc;
			snprintf(w->what, sizeof(w->what), "writer %u: %d at iteration %u", w->id, rc,
				 i);
		}
	}
	atomic_fetch_sub(&w->s->writers_left, 1);
	return NULL;
}

static inline void conc_check_uniform(struct conc_worker *w, const unsigned char *rec,
				      unsigned r)
{
	for (size_t k = 1; k < CONC_RECORD; k++) {
		if (rec[k] != rec[0]) {
			if (w->failures++ == 0)
				snprintf(w->what, sizeof(w->what),
					 "reader %u: record %u byte %zu is %u, byte 0 is %u", w->id,
					 r, k, rec[k], rec[0]);
			return;
		}
	}
}

static inline void *conc_reader(void *arg)
{
	struct conc_worker *w = arg;
	unsigned seed = 0x89abcdefu * (w->id + 1);
	unsigned char rec[CONC_RECORD];
	unsigned long n = 0;

	conc_wait_for_go(w->s);
	while (atomic_load(&w->s->writers_left) > 0 || n < 1000) {
		unsigned r = conc_rand(&seed) % CONC_RECORDS;
		uint64_t off = (uint64_t)r * CONC_RECORD + CONC_LEAD;
		int rc;

		if (w->id % 2 == 0) {
			rc = mmapio_read(w->s->map, off, rec, CONC_RECORD);
			if (rc == 0)
				conc_check_uniform(w, rec, r);
		} else {
			struct mmapio_view v;

			rc = mmapio_view_read(w->s->map, off, CONC_RECORD, &v);
			if (rc == 0) {
				memcpy(rec, v.data, CONC_RECORD);
				/* Compare again: the lock must keep it stable while held. */
				if (memcmp(rec, v.data, CONC_RECORD) != 0 && w->failures++ == 0)
					snprintf(w->what, sizeof(w->what),
						 "reader %u: record %u changed under a read view",
						 w->id, r);
				mmapio_view_release(&v);
				conc_check_uniform(w, rec, r);
			}
		}
		if (rc != 0 && w->rc == 0) {
			w->rc = rc;
			snprintf(w->what, sizeof(w->what), "reader %u: %d", w->id, rc);
		}
		n++;
	}
	atomic_fetch_add(&w->s->reads, n);
	return NULL;
}

/*
 * Runs writers and readers (at most 16 in all) on map, which must be
 * CONC_LEN bytes.  Returns 0 when every record every reader saw was uniform
 * and every call succeeded; otherwise -1 with a description in msg.
 */
static inline int conc_run(mmapio_map *map, unsigned writers, unsigned readers, unsigned iters,
			   char *msg, size_t msglen)
{
	struct conc_shared s = { .map = map, .iters = iters };
	struct conc_worker ws[16];
	pthread_t t[16];
	unsigned n = writers + readers;
	int bad = 0;

	if (n > 16) {
		snprintf(msg, msglen, "too many threads");
		return -1;
	}
	atomic_store(&s.writers_left, (int)writers);
	for (unsigned i = 0; i < n; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		ws[i].s = &s;
		ws[i].id = i < writers ? i : i - writers;
		if (pthread_create(&t[i], NULL, i < writers ? conc_writer : conc_reader,
				   &ws[i]) != 0) {
			snprintf(msg, msglen, "pthread_create failed");
			/* Let the threads already started finish. */
			atomic_store(&s.writers_left, 0);
			atomic_store(&s.go, 1);
			for (unsigned j = 0; j < i; j++)
				pthread_join(t[j], NULL);
			return -1;
		}
	}
	atomic_store(&s.go, 1);
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	msg[0] = '\0';
	for (unsigned i = 0; i < n; i++) {
		if (ws[i].rc != 0 || ws[i].failures != 0) {
			if (!bad)
				snprintf(msg, msglen, "%s (%d torn records)", ws[i].what,
					 ws[i].failures);
			bad = 1;
		}
	}
	if (!bad && atomic_load(&s.reads) < 1000ul * readers) {
		snprintf(msg, msglen, "readers made only %lu reads", atomic_load(&s.reads));
		bad = 1;
	}
	return bad ? -1 : 0;
}

/*
 * Checks a file's bytes after the workload: zero outside the records, each
 * record uniform.  Returns 0, or -1 with a description in msg.
 */
static inline int conc_check_file(const unsigned char *all, size_t len, char *msg, size_t msglen)
{
	if (len != CONC_LEN) {
		snprintf(msg, msglen, "file is %zu bytes, expected %zu", len, CONC_LEN);
		return -1;
	}
	for (size_t k = 0; k < CONC_LEAD; k++)
		if (all[k] != 0)
			goto gap;
	for (size_t k = CONC_LEAD + (size_t)CONC_RECORDS * CONC_RECORD; k < len; k++)
		if (all[k] != 0)
			goto gap;
	for (unsigned r = 0; r < CONC_RECORDS; r++) {
		const unsigned char *rec = all + CONC_LEAD + (size_t)r * CONC_RECORD;

		for (size_t k = 1; k < CONC_RECORD; k++) {
			if (rec[k] != rec[0]) {
				snprintf(msg, msglen, "file record %u byte %zu is %u, byte 0 is %u",
					 r, k, rec[k], rec[0]);
				return -1;
			}
		}
	}
	return 0;
gap:
	snprintf(msg, msglen, "a byte outside the records is not zero");
	return -1;
}

#endif
