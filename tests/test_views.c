/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Zero-copy views and the map's lock: read and mutable views, -EBUSY for
 * close while views are out (-EDEADLK for a resize by the thread holding
 * them), mutable views excluding writers, and threads writing and reading
 * one map with checked invariants.
 */
#include "concurrency.h"
#include "helpers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

TestSuite(views, .init = th_setup, .fini = th_teardown, .timeout = 120);

#define LEN (8 * 4096)

Test(views, read_view_shows_file_bytes)
{
	TH_PATH(p, "r");
	unsigned char *want = th_malloc(LEN);

	th_fill(want, LEN, 0, 31);
	for (int m = MMAPIO_READ_ONLY; m <= MMAPIO_COPY_ON_WRITE; m++) {
		mmapio_map *map = th_open_pattern(p, LEN, 31, (enum mmapio_mode)m);
		struct mmapio_view v;

		TH_ASSERT_RC(mmapio_view_read(map, 4000, 5000, &v), 0);
		cr_assert_not_null(v.data);
		cr_assert_eq(v.len, 5000);
		cr_assert_arr_eq(v.data, want + 4000, 5000);
		mmapio_view_release(&v);
		cr_assert_null(v.data, "release must clear the view");
		cr_assert_eq(v.len, 0);
		/* Releasing again, or releasing NULL, is a no-op. */
		mmapio_view_release(&v);
		mmapio_view_release(NULL);
		TH_ASSERT_RC(mmapio_close(map), 0);
	}
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(views, mutable_view_writes_reach_the_file)
{
	TH_PATH(p, "w");
	unsigned char *want = th_malloc(LEN);
	mmapio_map *map = th_open_pattern(p, LEN, 32, MMAPIO_READ_WRITE);
	struct mmapio_view v;
	unsigned char got[5];

	th_fill(want, LEN, 0, 32);
	TH_ASSERT_RC(mmapio_view_write(map, 100, 5, &v), 0);
	cr_assert_eq(v.len, 5);
	memcpy(v.data, "ABCDE", 5);
	mmapio_view_release(&v);
	memcpy(want + 100, "ABCDE", 5);
	TH_ASSERT_RC(mmapio_read(map, 100, got, 5), 0);
	cr_assert_arr_eq(got, "ABCDE", 5);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(views, mutable_view_on_cow_map_stays_private)
{
	TH_PATH(p, "cow");
	unsigned char *want = th_malloc(LEN);
	mmapio_map *map = th_open_pattern(p, LEN, 33, MMAPIO_COPY_ON_WRITE);
	struct mmapio_view v;
	unsigned char got[4];

	th_fill(want, LEN, 0, 33);
	TH_ASSERT_RC(mmapio_view_write(map, 0, 4, &v), 0);
	memcpy(v.data, "priv", 4);
	mmapio_view_release(&v);
	TH_ASSERT_RC(mmapio_read(map, 0, got, 4), 0);
	cr_assert_arr_eq(got, "priv", 4);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, want, LEN);
	free(want);
}

Test(views, close_busy_and_own_resize_refused_while_views_out)
{
	TH_PATH(p, "busy");
	unsigned char *want = th_malloc(LEN);
	mmapio_map *map = th_open_pattern(p, LEN, 34, MMAPIO_READ_WRITE);
	struct mmapio_view r1, r2, w;

	th_fill(want, LEN, 0, 34);
	TH_ASSERT_RC(mmapio_view_read(map, 0, 10, &r1), 0);
	TH_ASSERT_RC(mmapio_view_read(map, 4096, 10, &r2), 0);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_resize(map, 2 * LEN), -EDEADLK);
	mmapio_view_release(&r1);
	/* One view is still out. */
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_resize(map, LEN / 2), -EDEADLK);
	cr_assert_eq(mmapio_len(map), LEN);
	cr_assert_eq(th_file_size(p), LEN);
	/* The map stayed fully usable. */
	cr_assert_arr_eq(r2.data, want + 4096, 10);
	mmapio_view_release(&r2);

	TH_ASSERT_RC(mmapio_view_write(map, 0, 10, &w), 0);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	TH_ASSERT_RC(mmapio_resize(map, 2 * LEN), -EDEADLK);
	mmapio_view_release(&w);
	cr_assert_eq(th_file_size(p), LEN);

	TH_ASSERT_RC(mmapio_resize(map, 2 * LEN), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_eq(th_file_size(p), 2 * LEN);
	free(want);
}

Test(views, read_only_map_views_busy_too)
{
	TH_PATH(p, "robusy");
	mmapio_map *map = th_open_pattern(p, LEN, 35, MMAPIO_READ_ONLY);
	struct mmapio_view v;

	TH_ASSERT_RC(mmapio_view_read(map, 0, LEN, &v), 0);
	TH_ASSERT_RC(mmapio_close(map), -EBUSY);
	mmapio_view_release(&v);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

/* ---- A mutable view holds off mmapio_write from other threads. ---- */

struct blocked_writer {
	mmapio_map *map;
	atomic_int started;
	atomic_int done;
	int rc;
};

static void *write_after_view(void *arg)
{
	struct blocked_writer *b = arg;
	unsigned char buf[64];

	memset(buf, 'W', sizeof(buf));
	atomic_store(&b->started, 1);
	b->rc = mmapio_write(b->map, 0, buf, sizeof(buf));
	atomic_store(&b->done, 1);
	return NULL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

Test(views, mutable_view_excludes_writers)
{
	TH_PATH(p, "excl");
	mmapio_map *map = th_open_pattern(p, LEN, 36, MMAPIO_READ_WRITE);
	struct blocked_writer b = { .map = map };
	struct mmapio_view v;
	unsigned char got[64], want[64];
	pthread_t t;

	TH_ASSERT_RC(mmapio_view_write(map, 0, 64, &v), 0);
	memset(v.data, 'V', 32);
	cr_assert_eq(pthread_create(&t, NULL, write_after_view, &b), 0);
	while (!atomic_load(&b.started))
		sleep_ms(1);
	sleep_ms(200);
	cr_assert_eq(atomic_load(&b.done), 0,
		     "mmapio_write returned while a mutable view was out");
	memset((unsigned char *)v.data + 32, 'V', 32);
	mmapio_view_release(&v);
	cr_assert_eq(pthread_join(t, NULL), 0);
	TH_ASSERT_RC(b.rc, 0);
	memset(want, 'W', sizeof(want));
	TH_ASSERT_RC(mmapio_read(map, 0, got, sizeof(got)), 0);
	cr_assert_arr_eq(got, want, sizeof(want));
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(views, read_view_excludes_writers)
{
	TH_PATH(p, "rexcl");
	mmapio_map *map = th_open_pattern(p, LEN, 37, MMAPIO_READ_WRITE);
	struct blocked_writer b = { .map = map };
	unsigned char before[64];
	struct mmapio_view v;
	pthread_t t;

	th_fill(before, sizeof(before), 0, 37);
	TH_ASSERT_RC(mmapio_view_read(map, 0, 64, &v), 0);
	cr_assert_eq(pthread_create(&t, NULL, write_after_view, &b), 0);
	while (!atomic_load(&b.started))
		sleep_ms(1);
	sleep_ms(200);
	cr_assert_eq(atomic_load(&b.done), 0, "mmapio_write returned while a read view was out");
	cr_assert_arr_eq(v.data, before, sizeof(before), "the read view changed under it");
	mmapio_view_release(&v);
	cr_assert_eq(pthread_join(t, NULL), 0);
	TH_ASSERT_RC(b.rc, 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

/* ---- Concurrency: uniform records under writers and readers. ---- */

Test(views, writers_and_readers_see_whole_records)
{
	TH_PATH(p, "conc");
	mmapio_map *map = NULL;
	unsigned char *all;
	char msg[200];
	size_t len;

	TH_ASSERT_RC(mmapio_create(p, CONC_LEN, NULL, &map), 0);
	cr_assert_eq(conc_run(map, 3, 3, 4000, msg, sizeof(msg)), 0, "%s", msg);
	TH_ASSERT_RC(mmapio_close(map), 0);

	/* What reached the file is uniform per record too, and the gaps are zero. */
	all = th_read_file(p, &len);
	cr_assert_not_null(all);
	cr_assert_eq(conc_check_file(all, len, msg, sizeof(msg)), 0, "%s", msg);
	free(all);
}

Test(views, two_writers_two_readers_on_a_reserved_map)
{
	struct mmapio_options o = { .reserve = 1u << 20 };
	TH_PATH(p, "conc2");
	mmapio_map *map = NULL;
	unsigned char *all;
	char msg[200];
	size_t len;

	TH_ASSERT_RC(mmapio_create(p, CONC_LEN, &o, &map), 0);
	cr_assert_eq(conc_run(map, 2, 2, 3000, msg, sizeof(msg)), 0, "%s", msg);
	TH_ASSERT_RC(mmapio_close(map), 0);
	all = th_read_file(p, &len);
	cr_assert_not_null(all);
	cr_assert_eq(conc_check_file(all, len, msg, sizeof(msg)), 0, "%s", msg);
	free(all);
}

/* ---- Writers, readers, a resizer and a closer on one map. ---- */

Test(views, writers_readers_resizer_and_closer_share_a_map)
{
	TH_PATH(p, "mix");
	TH_PATH(side, "side");
	mmapio_map *map = NULL;
	unsigned char *all;
	char msg[200];
	size_t len;

	th_write_pattern_file(side, 4096, 39);
	TH_ASSERT_RC(mmapio_create(p, CONC_LEN, NULL, &map), 0);
	cr_assert_eq(conc_mix_run(map, side, 2, 3, 3000, msg, sizeof(msg)), 0, "%s", msg);
	TH_ASSERT_RC(mmapio_close(map), 0);
	all = th_read_file(p, &len);
	cr_assert_not_null(all);
	cr_assert_eq(conc_check_file(all, len, msg, sizeof(msg)), 0, "%s", msg);
	free(all);
}

/* ---- A read-only map read by many threads. ---- */

struct ro_reader {
	mmapio_map *map;
	unsigned id;
	int bad;
	char what[128];
};

static void *ro_read(void *arg)
{
	struct ro_reader *r = arg;
	unsigned seed = 0x2468aceu + r->id;
	unsigned char got[3000], want[3000];

	for (int i = 0; i < 3000 && !r->bad; i++) {
		uint64_t off = conc_rand(&seed) % (LEN - sizeof(got));
		size_t n = 1 + conc_rand(&seed) % sizeof(got);
		int rc;

		th_fill(want, n, off, 38);
		if (i % 2) {
			rc = mmapio_read(r->map, off, got, n);
			if (rc == 0 && memcmp(got, want, n) != 0)
				rc = 1;
		} else {
			struct mmapio_view v;

			rc = mmapio_view_read(r->map, off, n, &v);
			if (rc == 0) {
				if (v.len != n || memcmp(v.data, want, n) != 0)
					rc = 1;
				mmapio_view_release(&v);
			}
		}
		if (rc != 0) {
			r->bad = 1;
			snprintf(r->what, sizeof(r->what), "thread %u: off %llu len %zu: %d", r->id,
				 (unsigned long long)off, n, rc);
		}
	}
	return NULL;
}

Test(views, read_only_map_read_by_threads)
{
	enum { N = 4 };
	TH_PATH(p, "ro");
	mmapio_map *map = th_open_pattern(p, LEN, 38, MMAPIO_READ_ONLY);
	struct ro_reader rs[N];
	pthread_t t[N];

	for (unsigned i = 0; i < N; i++) {
		rs[i] = (struct ro_reader){ .map = map, .id = i };
		cr_assert_eq(pthread_create(&t[i], NULL, ro_read, &rs[i]), 0);
	}
	for (unsigned i = 0; i < N; i++)
		cr_assert_eq(pthread_join(t[i], NULL), 0);
	for (unsigned i = 0; i < N; i++)
		cr_expect_eq(rs[i].bad, 0, "%s", rs[i].what);
	TH_ASSERT_RC(mmapio_close(map), 0);
}
