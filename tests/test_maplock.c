/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The map lock as a user meets it: a call that needs the write lock while
 * the calling thread holds a view of the map returns -EDEADLK at once; a
 * thread that holds a mutable view reads its own map freely; a view may be
 * released on any thread, also after the thread that took it has exited;
 * resize waits for other threads' views instead of failing; a forked
 * child keeps its parent thread's views.
 *
 * A waiting writer holds back new readers, and a thread in its exit
 * destructors still reads under views it left in its old slot.
 *
 * A call that would hang runs in a forked child with an alarm: a hang then
 * fails the test as "the child died with signal 14 (Alarm clock)" instead
 * of stalling the suite.  The alarm is a deadlock guard, not a timing: the
 * calls under test return in microseconds.
 */
#include "helpers.h"
#include "internal.h"   /* white-box: to see that a writer is waiting */

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>

TestSuite(maplock, .init = th_setup, .fini = th_teardown, .timeout = 120);

#define LEN (8 * 4096)
#define HANG_GUARD_S 20

/* ---- Same-thread misuse: -EDEADLK at once ---- */

struct misuse {
	char path[PATH_MAX];
	enum mmapio_mode mode;
};

static mmapio_map *child_open(const struct misuse *m)
{
	mmapio_map *map = NULL;
	int rc = mmapio_open(m->path, m->mode, NULL, &map);

	TH_CHILD_CHECK(rc == 0, "mmapio_open: %d", rc);
	alarm(HANG_GUARD_S);
	return map;
}

/* Checks that the calls needing the write lock return -EDEADLK and change nothing. */
static void child_check_write_calls_refused(mmapio_map *map, const char *what)
{
	unsigned char buf[16], before[16], after[16];
	struct mmapio_segment seg;
	struct mmapio_view w;
	int rc;

	memset(buf, 'X', sizeof(buf));
	TH_CHILD_CHECK(mmapio_read(map, 100, before, sizeof(before)) == 0, "%s: read", what);
	rc = mmapio_write(map, 100, buf, sizeof(buf));
	TH_CHILD_CHECK(rc == -EDEADLK, "%s: mmapio_write returned %d", what, rc);
	rc = mmapio_view_write(map, 100, 16, &w);
	TH_CHILD_CHECK(rc == -EDEADLK, "%s: mmapio_view_write returned %d", what, rc);
	TH_CHILD_CHECK(mmapio_segment_init(map, 64, 256, &seg) == 0, "%s: segment_init", what);
	rc = mmapio_segment_write(&seg, 36, buf, sizeof(buf));
	TH_CHILD_CHECK(rc == -EDEADLK, "%s: mmapio_segment_write returned %d", what, rc);
	rc = mmapio_segment_view_write(&seg, &w);
	TH_CHILD_CHECK(rc == -EDEADLK, "%s: mmapio_segment_view_write returned %d", what, rc);
	if (mmapio_mode(map) == MMAPIO_READ_WRITE) {
		rc = mmapio_resize(map, 2 * LEN);
		TH_CHILD_CHECK(rc == -EDEADLK, "%s: mmapio_resize returned %d", what, rc);
		TH_CHILD_CHECK(mmapio_len(map) == LEN, "%s: resize changed the length", what);
	}
	TH_CHILD_CHECK(mmapio_read(map, 100, after, sizeof(after)) == 0, "%s: read", what);
	TH_CHILD_CHECK(memcmp(before, after, sizeof(after)) == 0, "%s: bytes changed", what);
}

static void write_calls_under_own_read_view(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	unsigned char buf[16];
	struct mmapio_view r;
	int rc;

	TH_CHILD_CHECK(mmapio_view_read(map, 0, 4096, &r) == 0, "view_read");
	child_check_write_calls_refused(map, "read view held");
	/* Reading still works under one's own read view, nested views too. */
	{
		struct mmapio_view r2;

		TH_CHILD_CHECK(mmapio_view_read(map, 8192, 10, &r2) == 0, "nested view_read");
		mmapio_view_release(&r2);
	}
	child_check_write_calls_refused(map, "read view still held");
	mmapio_view_release(&r);
	memset(buf, 'Y', sizeof(buf));
	rc = mmapio_write(map, 100, buf, sizeof(buf));
	TH_CHILD_CHECK(rc == 0, "write after release returned %d", rc);
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close");
}

Test(maplock, write_calls_under_own_read_view_return_edeadlk)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "rv");
	th_write_pattern_file(m.path, LEN, 1);
	th_run_in_child(write_calls_under_own_read_view, &m);
}

Test(maplock, write_calls_under_own_read_view_of_cow_map_return_edeadlk)
{
	struct misuse m = { .mode = MMAPIO_COPY_ON_WRITE };

	th_path(m.path, sizeof(m.path), "rvcow");
	th_write_pattern_file(m.path, LEN, 2);
	th_run_in_child(write_calls_under_own_read_view, &m);
	th_assert_file_pattern(m.path, LEN, 2);
}

static void write_calls_under_own_mutable_view(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	struct mmapio_view w;

	TH_CHILD_CHECK(mmapio_view_write(map, 4096, 64, &w) == 0, "view_write");
	child_check_write_calls_refused(map, "mutable view held");
	mmapio_view_release(&w);
	TH_CHILD_CHECK(mmapio_write(map, 100, "ok", 2) == 0, "write after release");
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close");
}

Test(maplock, write_calls_under_own_mutable_view_return_edeadlk)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "wv");
	th_write_pattern_file(m.path, LEN, 3);
	th_run_in_child(write_calls_under_own_mutable_view, &m);
}

/*
 * The thread holding a mutable view owns the map: it reads, takes read
 * views, flushes, advises and uses atomics without waiting for itself.
 */
static void reads_under_own_mutable_view(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	struct mmapio_view w, r;
	unsigned char got[4];
	uint64_t word = 0;
	int rc;

	TH_CHILD_CHECK(mmapio_view_write(map, 0, 4096, &w) == 0, "view_write");
	memcpy(w.data, "MINE", 4);
	rc = mmapio_read(map, 0, got, 4);
	TH_CHILD_CHECK(rc == 0, "mmapio_read returned %d", rc);
	TH_CHILD_CHECK(memcmp(got, "MINE", 4) == 0, "read did not see the view's bytes");
	rc = mmapio_view_read(map, 8192, 16, &r);
	TH_CHILD_CHECK(rc == 0, "mmapio_view_read returned %d", rc);
	rc = mmapio_atomic_fetch_add_u64(map, 16384, 5, &word);
	TH_CHILD_CHECK(rc == 0, "mmapio_atomic_fetch_add_u64 returned %d", rc);
	rc = mmapio_flush_range(map, 0, 4096);
	TH_CHILD_CHECK(rc == 0, "mmapio_flush_range returned %d", rc);
	rc = mmapio_advise(map, 0, LEN, MMAPIO_ADVICE_WILLNEED);
	TH_CHILD_CHECK(rc == 0, "mmapio_advise returned %d", rc);
	mmapio_view_release(&w);
	/* The read view taken under the mutable one is a read view of its own now. */
	rc = mmapio_write(map, 0, "x", 1);
	TH_CHILD_CHECK(rc == -EDEADLK, "write with the nested read view out returned %d", rc);
	TH_CHILD_CHECK(mmapio_close(map) == -EBUSY, "close with a read view out");
	mmapio_view_release(&r);
	TH_CHILD_CHECK(mmapio_write(map, 0, "x", 1) == 0, "write after both releases");
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close");
}

Test(maplock, mutable_view_holder_reads_its_own_map)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "own");
	th_write_pattern_file(m.path, LEN, 4);
	th_run_in_child(reads_under_own_mutable_view, &m);
}

/* ---- Views released on another thread ---- */

struct handoff {
	mmapio_map *map;
	struct mmapio_view *view;
	int rc;
};

static void *release_view(void *arg)
{
	struct handoff *h = arg;

	mmapio_view_release(h->view);
	return NULL;
}

static void *write_once(void *arg)
{
	struct handoff *h = arg;

	h->rc = mmapio_write(h->map, 200, "other", 5);
	return NULL;
}

static void mutable_view_released_elsewhere(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	struct handoff h = { .map = map };
	struct mmapio_view w;
	unsigned char got[5];
	pthread_t t;
	int rc;

	TH_CHILD_CHECK(mmapio_view_write(map, 0, 64, &w) == 0, "view_write");
	memcpy(w.data, "VIEW!", 5);
	h.view = &w;
	TH_CHILD_CHECK(pthread_create(&t, NULL, release_view, &h) == 0, "pthread_create");
	pthread_join(t, NULL);
	/* The lock is free again, for a third thread and for this one. */
	TH_CHILD_CHECK(pthread_create(&t, NULL, write_once, &h) == 0, "pthread_create");
	pthread_join(t, NULL);
	TH_CHILD_CHECK(h.rc == 0, "write on a third thread returned %d", h.rc);
	rc = mmapio_write(map, 100, "mine", 4);
	TH_CHILD_CHECK(rc == 0, "write after a release on another thread returned %d", rc);
	TH_CHILD_CHECK(mmapio_read(map, 0, got, 5) == 0 && memcmp(got, "VIEW!", 5) == 0,
		       "the view's bytes are not there");
	TH_CHILD_CHECK(mmapio_read(map, 200, got, 5) == 0 && memcmp(got, "other", 5) == 0,
		       "the other thread's bytes are not there");
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close");
}

Test(maplock, mutable_view_released_on_another_thread_frees_the_lock)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "handoff");
	th_write_pattern_file(m.path, LEN, 5);
	th_run_in_child(mutable_view_released_elsewhere, &m);
}

/* Takes a view on a thread of its own that exits with the view still out. */
struct taker {
	mmapio_map *map;
	struct mmapio_view view;
	int write;
	int rc;
};

static void *take_view_and_exit(void *arg)
{
	struct taker *k = arg;

	k->rc = k->write ? mmapio_view_write(k->map, 0, 64, &k->view)
			 : mmapio_view_read(k->map, 0, 64, &k->view);
	return NULL;
}

static void close_waits_for_views_of_exited_threads(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	struct taker k[2] = { { .map = map, .write = 1 }, { .map = map, .write = 0 } };
	pthread_t t;
	int rc;

	for (int i = 0; i < 2; i++) {
		TH_CHILD_CHECK(pthread_create(&t, NULL, take_view_and_exit, &k[i]) == 0, "create");
		pthread_join(t, NULL);
		TH_CHILD_CHECK(k[i].rc == 0, "view %d on the thread: %d", i, k[i].rc);
		rc = mmapio_close(map);
		TH_CHILD_CHECK(rc == -EBUSY, "close with an exited thread's view out: %d", rc);
		if (k[i].write)
			memcpy(k[i].view.data, "hi", 2);
		mmapio_view_release(&k[i].view);
		rc = mmapio_write(map, 300, "after", 5);
		TH_CHILD_CHECK(rc == 0, "write after releasing view %d: %d", i, rc);
	}
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close after the releases");
}

Test(maplock, views_of_exited_threads_hold_the_map_until_released)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "exited");
	th_write_pattern_file(m.path, LEN, 6);
	th_run_in_child(close_waits_for_views_of_exited_threads, &m);
}

/*
 * Threads come and go, each taking a view that the main thread releases
 * later: a new thread never inherits the views of an exited one (it would
 * get -EDEADLK), and a writer waits for all of them.
 */
static void *write_and_report(void *arg)
{
	struct handoff *h = arg;

	h->rc = mmapio_write(h->map, 500, "late", 4);
	return NULL;
}

static void new_threads_do_not_inherit_views(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	struct taker k[40];
	struct handoff h = { .map = map, .rc = 1 };
	pthread_t t;

	for (int i = 0; i < 40; i++) {
		k[i] = (struct taker){ .map = map };
		TH_CHILD_CHECK(pthread_create(&t, NULL, take_view_and_exit, &k[i]) == 0, "create");
		pthread_join(t, NULL);
		TH_CHILD_CHECK(k[i].rc == 0, "read view on thread %d: %d", i, k[i].rc);
	}
	TH_CHILD_CHECK(pthread_create(&t, NULL, write_and_report, &h) == 0, "create");
	for (int i = 0; i < 40; i++) {
		TH_CHILD_CHECK(h.rc != -EDEADLK, "a new thread was refused for an old view");
		mmapio_view_release(&k[i].view);
		sched_yield();
	}
	pthread_join(t, NULL);
	TH_CHILD_CHECK(h.rc == 0, "the writer returned %d", h.rc);
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close");
}

Test(maplock, new_threads_do_not_inherit_views_of_exited_ones)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "inherit");
	th_write_pattern_file(m.path, LEN, 7);
	th_run_in_child(new_threads_do_not_inherit_views, &m);
}

/*
 * More threads than the map has reader slots (see src/maplock.h) hold read
 * views at once: each is refused a write for its own view, and a writer
 * waits for all of them.
 */
#define MANY 160

struct many {
	mmapio_map *map;
	pthread_barrier_t held, checked, released;
	atomic_int bad;
};

static void *hold_view_with_many(void *arg)
{
	struct many *y = arg;
	struct mmapio_view v;
	int rc = mmapio_view_read(y->map, 64, 64, &v);

	if (rc != 0)
		atomic_store(&y->bad, rc);
	pthread_barrier_wait(&y->held);
	pthread_barrier_wait(&y->checked);
	if (rc == 0) {
		rc = mmapio_write(y->map, 0, "m", 1);
		if (rc != -EDEADLK)
			atomic_store(&y->bad, rc == 0 ? 1 : rc);
		mmapio_view_release(&v);
	}
	pthread_barrier_wait(&y->released);
	return NULL;
}

static void many_threads_hold_views(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	struct many y = { .map = map };
	pthread_t t[MANY];
	int rc;

	pthread_barrier_init(&y.held, NULL, MANY + 1);
	pthread_barrier_init(&y.checked, NULL, MANY + 1);
	pthread_barrier_init(&y.released, NULL, MANY + 1);
	for (int i = 0; i < MANY; i++)
		TH_CHILD_CHECK(pthread_create(&t[i], NULL, hold_view_with_many, &y) == 0, "create");
	pthread_barrier_wait(&y.held);
	rc = mmapio_close(map);
	TH_CHILD_CHECK(rc == -EBUSY, "close with %d views out: %d", MANY, rc);
	pthread_barrier_wait(&y.checked);
	pthread_barrier_wait(&y.released);
	for (int i = 0; i < MANY; i++)
		pthread_join(t[i], NULL);
	TH_CHILD_CHECK(atomic_load(&y.bad) == 0, "a thread saw %d", atomic_load(&y.bad));
	rc = mmapio_write(map, 0, "w", 1);
	TH_CHILD_CHECK(rc == 0, "write after all releases: %d", rc);
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close");
}

Test(maplock, more_threads_than_reader_slots)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "many");
	th_write_pattern_file(m.path, LEN, 10);
	th_run_in_child(many_threads_hold_views, &m);
}

/* ---- Resize waits for other threads' views ---- */

struct resizer {
	mmapio_map *map;
	uint64_t size;
	atomic_int started;
	atomic_int done;
	int rc;
};

static void *resize_once(void *arg)
{
	struct resizer *z = arg;

	atomic_store(&z->started, 1);
	z->rc = mmapio_resize(z->map, z->size);
	atomic_store(&z->done, 1);
	return NULL;
}

static void resize_waits_for_views(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	struct resizer z = { .map = map, .size = 4096 };
	unsigned char want[LEN];
	struct mmapio_view v;
	pthread_t t;

	th_fill(want, LEN, 0, 8);
	/* A view over the pages the resize is to cut. */
	TH_CHILD_CHECK(mmapio_view_read(map, 8192, LEN - 8192, &v) == 0, "view_read");
	TH_CHILD_CHECK(pthread_create(&t, NULL, resize_once, &z) == 0, "create");
	while (!atomic_load(&z.started))
		sched_yield();
	/* Whatever the resizer is doing meanwhile, the pages stay and keep their bytes. */
	for (int i = 0; i < 200; i++) {
		TH_CHILD_CHECK(!atomic_load(&z.done), "resize returned %d with a view out", z.rc);
		TH_CHILD_CHECK(memcmp(v.data, want + 8192, LEN - 8192) == 0, "view bytes changed");
		sched_yield();
	}
	TH_CHILD_CHECK(mmapio_len(map) == LEN, "the length changed under the view");
	mmapio_view_release(&v);
	pthread_join(t, NULL);
	TH_CHILD_CHECK(z.rc == 0, "resize returned %d", z.rc);
	TH_CHILD_CHECK(mmapio_len(map) == 4096, "length %llu", (unsigned long long)mmapio_len(map));
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close");
}

Test(maplock, resize_waits_for_other_threads_views)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "rsz");
	th_write_pattern_file(m.path, LEN, 8);
	th_run_in_child(resize_waits_for_views, &m);
	cr_assert_eq(th_file_size(m.path), 4096);
}

/* ---- fork: the child's thread keeps its parent thread's views ---- */

static void fork_keeps_views(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	struct mmapio_view r;
	int status, rc;
	pid_t pid;

	TH_CHILD_CHECK(mmapio_view_read(map, 0, 64, &r) == 0, "view_read");
	pid = fork();
	TH_CHILD_CHECK(pid >= 0, "fork");
	if (pid == 0) {
		alarm(HANG_GUARD_S);
		if (mmapio_write(map, 0, "c", 1) != -EDEADLK)
			_exit(2);
		mmapio_view_release(&r);
		if (mmapio_write(map, 0, "c", 1) != 0 || mmapio_close(map) != 0)
			_exit(3);
		_exit(0);
	}
	TH_CHILD_CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
	TH_CHILD_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		       "grandchild status %#x (2: no -EDEADLK, 3: no write after release)", status);
	rc = mmapio_write(map, 0, "p", 1);
	TH_CHILD_CHECK(rc == -EDEADLK, "parent write with its view out: %d", rc);
	mmapio_view_release(&r);
	TH_CHILD_CHECK(mmapio_write(map, 0, "p", 1) == 0, "parent write after release");
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close");
}

Test(maplock, forked_child_keeps_the_forking_threads_views)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "fork");
	th_write_pattern_file(m.path, LEN, 9);
	th_run_in_child(fork_keeps_views, &m);
}

/* ---- A waiting writer holds back new readers ---- */

/* Waits until a writer has announced itself on map's lock. */
static void wait_for_announced_writer(mmapio_map *map)
{
	while (!(__atomic_load_n(&map->lock.state, __ATOMIC_SEQ_CST) & MMAPIO__LOCK_WAITERS))
		sched_yield();
}

struct late_reader {
	mmapio_map *map;
	unsigned char seen;
	int rc;
};

static void *read_byte_through_view(void *arg)
{
	struct late_reader *r = arg;
	struct mmapio_view v;

	r->rc = mmapio_view_read(r->map, 200, 1, &v);
	if (r->rc == 0) {
		r->seen = *(unsigned char *)v.data;
		mmapio_view_release(&v);
	}
	return NULL;
}

static void writer_goes_before_later_readers(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	struct handoff h = { .map = map, .rc = 1 };
	struct late_reader r = { .map = map };
	struct mmapio_view v;
	pthread_t tw, tr;

	TH_CHILD_CHECK(mmapio_write(map, 200, "X", 1) == 0, "first write");
	TH_CHILD_CHECK(mmapio_view_read(map, 0, 64, &v) == 0, "view_read");
	/* write_once writes "other" at 200, once this view is released. */
	TH_CHILD_CHECK(pthread_create(&tw, NULL, write_once, &h) == 0, "create writer");
	wait_for_announced_writer(map);
	/* A reader that comes after the writer waits for it, so it sees its bytes. */
	TH_CHILD_CHECK(pthread_create(&tr, NULL, read_byte_through_view, &r) == 0, "create");
	mmapio_view_release(&v);
	pthread_join(tw, NULL);
	pthread_join(tr, NULL);
	TH_CHILD_CHECK(h.rc == 0, "writer: %d", h.rc);
	TH_CHILD_CHECK(r.rc == 0, "late reader: %d", r.rc);
	TH_CHILD_CHECK(r.seen == 'o', "the later reader saw '%c', not the writer's 'o'", r.seen);
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close");
}

Test(maplock, waiting_writer_goes_before_readers_that_come_later)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "fair");
	th_write_pattern_file(m.path, LEN, 11);
	th_run_in_child(writer_goes_before_later_readers, &m);
}

/* ---- Holds taken in a thread's exit destructors ---- */

/*
 * A destructor of the test's own key, which runs after the library's (it
 * was created later): the library has given the thread's slot back, with
 * the view still counted in it, and a writer waits for that view.
 */
struct late_holds {
	mmapio_map *map;
	struct mmapio_view view;     /* taken by the thread, released by main */
	pthread_key_t key;
	int nested_rc, write_rc;
	atomic_int viewed;           /* the thread holds its view */
	atomic_int done;
};

static void take_more_in_destructor(void *arg)
{
	struct late_holds *k = arg;
	struct mmapio_view v;

	wait_for_announced_writer(k->map);
	k->nested_rc = mmapio_view_read(k->map, 128, 16, &v);
	if (k->nested_rc == 0) {
		k->write_rc = mmapio_write(k->map, 0, "d", 1);
		mmapio_view_release(&v);
	}
	atomic_store(&k->done, 1);
}

static void *view_then_exit(void *arg)
{
	struct late_holds *k = arg;

	if (mmapio_view_read(k->map, 0, 64, &k->view) == 0)
		pthread_setspecific(k->key, k);
	atomic_store(&k->viewed, 1);
	return NULL;
}

static void destructor_holds_nest(void *arg)
{
	const struct misuse *m = arg;
	mmapio_map *map = child_open(m);
	struct late_holds k = { .map = map };
	struct handoff h = { .map = map, .rc = 1 };
	struct mmapio_view first;
	pthread_t t, tw;

	/* The library's key exists before the test's, so its destructor runs first. */
	TH_CHILD_CHECK(mmapio_view_read(map, 0, 1, &first) == 0, "view_read");
	mmapio_view_release(&first);
	TH_CHILD_CHECK(pthread_key_create(&k.key, take_more_in_destructor) == 0, "key");
	TH_CHILD_CHECK(pthread_create(&t, NULL, view_then_exit, &k) == 0, "create");
	/*
	 * The writer starts once the view is out, so that it waits for it: one
	 * that ran first would finish, and the destructor would wait for ever
	 * for a writer to announce itself.
	 */
	while (!atomic_load(&k.viewed))
		sched_yield();
	TH_CHILD_CHECK(pthread_create(&tw, NULL, write_once, &h) == 0, "create writer");
	while (!atomic_load(&k.done))
		sched_yield();
	pthread_join(t, NULL);
	TH_CHILD_CHECK(k.nested_rc == 0, "view in the destructor: %d", k.nested_rc);
	TH_CHILD_CHECK(k.write_rc == -EDEADLK, "write in the destructor: %d", k.write_rc);
	mmapio_view_release(&k.view);
	pthread_join(tw, NULL);
	TH_CHILD_CHECK(h.rc == 0, "writer: %d", h.rc);
	TH_CHILD_CHECK(mmapio_close(map) == 0, "close");
}

Test(maplock, exit_destructors_read_under_views_left_in_the_old_slot)
{
	struct misuse m = { .mode = MMAPIO_READ_WRITE };

	th_path(m.path, sizeof(m.path), "dtor");
	th_write_pattern_file(m.path, LEN, 12);
	th_run_in_child(destructor_holds_nest, &m);
}
