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
 *
 * conc_mix_run adds, on the same map, a resizer that grows and shrinks a
 * zero tail behind the records while readers hold views of it (a view's
 * pages must stay mapped and zero, and the length must not drop under it),
 * and a closer that calls mmapio_close on the busy map under its own view
 * (-EBUSY), and opens, hands a view of to a reader, and closes a map of a
 * side file (the view is released on the reader's thread; until then the
 * closer's writes are -EDEADLK and its close -EBUSY).  Readers run until
 * the writers are done: the writers completing while readers keep taking
 * views is the fairness check, and the readers must have made progress
 * meanwhile too.
 */
#ifndef MMAPIO_TESTS_CONCURRENCY_H
#define MMAPIO_TESTS_CONCURRENCY_H

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
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
	/* conc_mix_run only (tail 0 otherwise) */
	uint64_t tail;            /* bytes the resizer adds behind the records */
	const char *side_path;    /* the closer's own file */
	atomic_ulong tail_views;
	atomic_ulong resizes;
	atomic_ulong handoffs;
	atomic_int others_left;   /* the resizer and the closer still working */
	atomic_int box_full;      /* BOX_*: a view for reader 0 to release */
	struct mmapio_view box;
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

/* Records a failure of worker w, keeping the first description. */
#define CONC_FAIL(w, ...)                                                    \
	do {                                                                 \
		if ((w)->failures++ == 0)                                    \
			snprintf((w)->what, sizeof((w)->what), __VA_ARGS__); \
	} while (0)

/*
 * Views the zero tail behind the records, if it is there: while the view is
 * held the length must cover it and every byte must read zero (a cut page
 * would kill the process instead).
 */
static inline void conc_view_tail(struct conc_worker *w)
{
	uint64_t len = mmapio_len(w->s->map);
	struct mmapio_view v;
	int rc;

	if (len <= CONC_LEN)
		return;
	rc = mmapio_view_read(w->s->map, CONC_LEN, (size_t)(len - CONC_LEN), &v);
	if (rc == -ERANGE)
		return;  /* shrunk since mmapio_len */
	if (rc != 0) {
		CONC_FAIL(w, "reader %u: tail view: %d", w->id, rc);
		return;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (size_t k = 0; k < v.len; k += 512)
			if (((volatile unsigned char *)v.data)[k] != 0)
				CONC_FAIL(w, "reader %u: tail byte %zu is not zero", w->id, k);
		sched_yield();  /* hold the view across a time slice */
	}
	if (mmapio_len(w->s->map) < CONC_LEN + v.len)
		CONC_FAIL(w, "reader %u: the map shrank under a tail view", w->id);
	mmapio_view_release(&v);
	atomic_fetch_add(&w->s->tail_views, 1);
}

/*
 * The box in which the closer hands a view to reader 0 (see
 * conc_close_round): BOX_FULL, then either the closer probing (BOX_PROBE:
 * the view cannot be released meanwhile, so the answers are exact) or a
 * thread releasing it (BOX_TAKEN), then BOX_EMPTY.
 */
enum { BOX_EMPTY, BOX_FULL, BOX_TAKEN, BOX_PROBE };

static inline bool conc_box_claim(struct conc_shared *s, int to)
{
	int full = BOX_FULL;

	return atomic_compare_exchange_strong(&s->box_full, &full, to);
}

/* Releases the view the closer left in the box, on this thread. */
static inline void conc_empty_box(struct conc_worker *w)
{
	if (!conc_box_claim(w->s, BOX_TAKEN))
		return;
	mmapio_view_release(&w->s->box);
	atomic_fetch_add(&w->s->handoffs, 1);
	atomic_store(&w->s->box_full, BOX_EMPTY);
}

static inline void *conc_reader(void *arg)
{
	struct conc_worker *w = arg;
	unsigned seed = 0x89abcdefu * (w->id + 1);
	unsigned char rec[CONC_RECORD];
	unsigned long n = 0;

	conc_wait_for_go(w->s);
	while (atomic_load(&w->s->writers_left) > 0 || atomic_load(&w->s->others_left) > 0 ||
	       n < 1000) {
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
				/* Now and then hold the view across a time slice. */
				if (n % 16 == 0)
					sched_yield();
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
		if (w->s->tail && n % 8 == 0)
			conc_view_tail(w);
		if (w->s->side_path && w->id == 0)
			conc_empty_box(w);
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

/* The least work the resizer and the closer do, whenever the writers finish. */
#define CONC_MIN_RESIZES 40ul
#define CONC_MIN_ROUNDS 20u

/* Grows and shrinks the tail while the writers work; every resize must succeed. */
static inline void *conc_resizer(void *arg)
{
	struct conc_worker *w = arg;

	conc_wait_for_go(w->s);
	while (atomic_load(&w->s->writers_left) > 0 ||
	       atomic_load(&w->s->resizes) < CONC_MIN_RESIZES) {
		uint64_t size = atomic_load(&w->s->resizes) % 2 ? CONC_LEN : CONC_LEN + w->s->tail;
		int rc = mmapio_resize(w->s->map, size);

		if (rc != 0) {
			CONC_FAIL(w, "resizer: mmapio_resize(%llu): %d", (unsigned long long)size, rc);
			break;
		}
		if (mmapio_len(w->s->map) != size)
			CONC_FAIL(w, "resizer: length %llu after resizing to %llu",
				  (unsigned long long)mmapio_len(w->s->map),
				  (unsigned long long)size);
		/* Grown: let a reader view the tail, so that the shrink meets its views. */
		for (unsigned long tv = atomic_load(&w->s->tail_views);
		     size > CONC_LEN && atomic_load(&w->s->tail_views) == tv;)
			sched_yield();
		atomic_fetch_add(&w->s->resizes, 1);
	}
	if (mmapio_resize(w->s->map, CONC_LEN) != 0)
		CONC_FAIL(w, "resizer: the last resize failed");
	atomic_fetch_sub(&w->s->others_left, 1);
	return NULL;
}

/*
 * One round of the closer on its side map: a view handed to reader 0 for
 * release, the closer's writes refused and its close busy until then.
 */
static inline void conc_close_round(struct conc_worker *w)
{
	mmapio_map *side = NULL;
	int rc = mmapio_open(w->s->side_path, MMAPIO_READ_WRITE, NULL, &side);

	if (rc != 0) {
		CONC_FAIL(w, "closer: open side: %d", rc);
		return;
	}
	rc = mmapio_view_read(side, 0, 64, &w->s->box);
	if (rc != 0) {
		CONC_FAIL(w, "closer: side view: %d", rc);
		mmapio_close(side);
		return;
	}
	/* Reader 0 runs until the closer is done, so it empties the box. */
	atomic_store(&w->s->box_full, BOX_FULL);
	while (atomic_load(&w->s->box_full) != BOX_EMPTY) {
		if (!conc_box_claim(w->s, BOX_PROBE)) {
			sched_yield();
			continue;
		}
		rc = mmapio_write(side, 64, "x", 1);
		if (rc != -EDEADLK)
			CONC_FAIL(w, "closer: write with its handed-on view out: %d", rc);
		rc = mmapio_close(side);
		if (rc != -EBUSY)
			CONC_FAIL(w, "closer: close with a view out: %d", rc);
		atomic_store(&w->s->box_full, BOX_FULL);
		sched_yield();
	}
	rc = mmapio_write(side, 64, "y", 1);
	if (rc != 0)
		CONC_FAIL(w, "closer: write after the release: %d", rc);
	rc = mmapio_close(side);
	if (rc != 0)
		CONC_FAIL(w, "closer: close after the release: %d", rc);
}

/* Closes the busy map under its own view (-EBUSY), then a side map round. */
static inline void *conc_closer(void *arg)
{
	struct conc_worker *w = arg;
	unsigned seed = 0x5eedu, rounds = 0;
	unsigned char rec[CONC_RECORD];

	conc_wait_for_go(w->s);
	for (; atomic_load(&w->s->writers_left) > 0 || rounds < CONC_MIN_ROUNDS; rounds++) {
		unsigned r = conc_rand(&seed) % CONC_RECORDS;
		struct mmapio_view v;
		int rc = mmapio_view_read(w->s->map, (uint64_t)r * CONC_RECORD + CONC_LEAD,
					  CONC_RECORD, &v);

		if (rc != 0) {
			CONC_FAIL(w, "closer: view: %d", rc);
			break;
		}
		rc = mmapio_close(w->s->map);
		if (rc != -EBUSY)
			CONC_FAIL(w, "closer: close of the busy map returned %d", rc);
		memcpy(rec, v.data, CONC_RECORD);
		mmapio_view_release(&v);
		conc_check_uniform(w, rec, r);
		conc_close_round(w);
	}
	atomic_fetch_sub(&w->s->others_left, 1);
	return NULL;
}

/* Starts n threads of fn over ws[from..from+n).  Returns how many started. */
static inline unsigned conc_start(pthread_t *t, struct conc_worker *ws, unsigned from,
				  unsigned n, void *(*fn)(void *))
{
	for (unsigned i = from; i < from + n; i++)
		if (pthread_create(&t[i], NULL, fn, &ws[i]) != 0)
			return i - from;
	return n;
}

/*
 * Runs writers, readers, a resizer and a closer (conc_mix_run, at most 12
 * threads) on map, which must be CONC_LEN bytes, and side_path, a file of
 * at least 128 bytes.  Returns 0 when every invariant held and every
 * worker made progress, with the figures in msg; otherwise -1 with a
 * description in msg.
 */
static inline int conc_mix_run(mmapio_map *map, const char *side_path, unsigned writers,
			       unsigned readers, unsigned iters, char *msg, size_t msglen)
{
	struct conc_shared s;
	struct conc_worker ws[12];
	pthread_t t[12];
	unsigned n = writers + readers + 2, started = 0;
	int bad = 0;

	if (n > 12 || readers == 0) {
		snprintf(msg, msglen, "bad thread counts");
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.map = map;
	s.iters = iters;
	s.tail = 3 * 4096 + 100;
	s.side_path = side_path;
	atomic_store(&s.writers_left, (int)writers);
	atomic_store(&s.others_left, 2);
	for (unsigned i = 0; i < n; i++) {
		memset(&ws[i], 0, sizeof(ws[i]));
		ws[i].s = &s;
		ws[i].id = i < writers ? i : i - writers;
	}
	started += conc_start(t, ws, 0, writers, conc_writer);
	if (started == writers)
		started += conc_start(t, ws, writers, readers, conc_reader);
	if (started == writers + readers)
		started += conc_start(t, ws, writers + readers, 1, conc_resizer);
	if (started == n - 1)
		started += conc_start(t, ws, n - 1, 1, conc_closer);
	if (started < n) {
		atomic_store(&s.writers_left, 0);
		atomic_store(&s.others_left, 0);
		snprintf(msg, msglen, "pthread_create failed");
		bad = 1;
	}
	atomic_store(&s.go, 1);
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	if (bad)
		return -1;
	msg[0] = '\0';
	for (unsigned i = 0; i < n && !bad; i++) {
		if (ws[i].rc != 0 || ws[i].failures != 0) {
			snprintf(msg, msglen, "%s (%d failures)", ws[i].what, ws[i].failures);
			bad = 1;
		}
	}
	if (!bad && (atomic_load(&s.reads) < 1000ul * readers ||
		     atomic_load(&s.resizes) < CONC_MIN_RESIZES ||
		     atomic_load(&s.tail_views) < CONC_MIN_RESIZES / 2 ||
		     atomic_load(&s.handoffs) < CONC_MIN_ROUNDS)) {
		snprintf(msg, msglen, "no progress: %lu reads, %lu tail views, %lu resizes, "
			 "%lu handed-on views", atomic_load(&s.reads), atomic_load(&s.tail_views),
			 atomic_load(&s.resizes), atomic_load(&s.handoffs));
		bad = 1;
	}
	if (!bad && mmapio_len(map) != CONC_LEN) {
		snprintf(msg, msglen, "length %llu at the end", (unsigned long long)mmapio_len(map));
		bad = 1;
	}
	if (!bad)
		snprintf(msg, msglen, "%lu reads, %lu tail views, %lu resizes, %lu handed-on views",
			 atomic_load(&s.reads), atomic_load(&s.tail_views), atomic_load(&s.resizes),
			 atomic_load(&s.handoffs));
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
