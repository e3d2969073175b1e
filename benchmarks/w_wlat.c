/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W11: how long one 1-byte mmapio_write waits while other threads read the
 * same read-write map, in microseconds per write (the median is the p50;
 * the row also prints the p99).
 *
 * Reader threads (0, 1, 3 or 7) take 64-byte read views back to back, each
 * view touched and released at once.  The writer writes one byte at a
 * random offset, then pauses W11_PAUSE_US so that the readers run at full
 * speed again before the next write; only the write is timed.  The floor
 * variant runs the same reader threads doing the same loop without views
 * (the bytes read through the base pointer): on a machine with fewer
 * processors than threads the writer then still waits for the scheduler,
 * which no lock can avoid, so the gap between the two rows is what the map
 * lock costs a writer.  The variants take turns, so both see the same
 * machine.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define W11_LEN (1u << 20)
#define W11_SPAN 64u
#define W11_PAUSE_US 200
#define W11_MAX_READERS 7u
#define W11_REPS 1000u
#define W11_REPS_QUICK 101u

/* What the reader threads do; the writer's prepare sets it. */
enum { READ_VIEWS, READ_PLAIN, READ_STOP };

struct w11_shared {
	mmapio_map *map;
	unsigned char *base;
	int mode;                  /* READ_*, atomic */
	unsigned long bad;         /* views that failed or saw wrong bytes, atomic */
};

struct w11_var {
	struct w11_shared *s;
	int mode;                  /* what readers do while this variant writes */
	uint64_t rng;
	uint64_t off;              /* the last write's offset */
	unsigned char val;         /* and its byte */
};

/* Keeps a value alive without emitting any instruction for it. */
#define KEEP(x) __asm__ volatile("" : : "r"(x) : "memory")

static void *w11_reader(void *arg)
{
	struct w11_shared *s = arg;
	uint64_t i = (uint64_t)(uintptr_t)&i >> 6; /* a different start per thread */
	int mode;

	while ((mode = __atomic_load_n(&s->mode, __ATOMIC_RELAXED)) != READ_STOP) {
		uint64_t off = (i++ * W11_SPAN) & (W11_LEN - 1);
		struct mmapio_view v;

		if (mode == READ_PLAIN) {
			KEEP(((volatile unsigned char *)s->base)[off]);
			continue;
		}
		if (mmapio_view_read(s->map, off, W11_SPAN, &v) != 0) {
			__atomic_add_fetch(&s->bad, 1, __ATOMIC_RELAXED);
			continue;
		}
		KEEP(((volatile unsigned char *)v.data)[0]);
		mmapio_view_release(&v);
	}
	return NULL;
}

static void pause_us(long us)
{
	struct timespec ts = { 0, us * 1000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static int w11_prepare(void *arg, unsigned rep)
{
	struct w11_var *v = arg;

	(void)rep;
	__atomic_store_n(&v->s->mode, v->mode, __ATOMIC_RELAXED);
	pause_us(W11_PAUSE_US);
	return 0;
}

static int w11_run(void *arg, uint64_t *ns)
{
	struct w11_var *v = arg;
	uint64_t t0;
	int r;

	v->off = bench_rand(&v->rng) & (W11_LEN - 1);
	v->val = (unsigned char)(1 + v->off % 251);
	t0 = bench_now_ns();
	r = mmapio_write(v->s->map, v->off, &v->val, 1);
	*ns = bench_now_ns() - t0;
	return r < 0 ? bench_fail("mmapio_write", r) : 0;
}

static int w11_verify(void *arg)
{
	struct w11_var *v = arg;
	unsigned long bad = __atomic_load_n(&v->s->bad, __ATOMIC_RELAXED);

	if (bad)
		return bench_failf("%lu reader views failed", bad);
	if (v->s->base[v->off] != v->val)
		return bench_failf("byte %llu is %u, wrote %u", (unsigned long long)v->off,
				   v->s->base[v->off], v->val);
	return 0;
}

/*
 * Writes every page of the map once through the mapping (pieces below the
 * size that mmapio_write sends through pwrite).  Returns 0 or -errno.
 */
static int prefault(mmapio_map *map)
{
	static const unsigned char zero[4096];
	int r = 0;

	for (uint64_t off = 0; off < W11_LEN && r == 0; off += sizeof(zero))
		r = mmapio_write(map, off, zero, sizeof(zero));
	return r;
}

/* Runs W11 with the given number of reader threads.  Returns 0 or -1. */
static int w11_group(const struct bench_ctx *ctx, struct w11_shared *s, unsigned readers)
{
	struct bench_workload w = { .unit = BENCH_US_OP, .amount = 1, .percentiles = true };
	struct w11_var v[2] = { { .s = s, .mode = READ_VIEWS, .rng = 10 },
				{ .s = s, .mode = READ_PLAIN, .rng = 10 } };
	pthread_t t[W11_MAX_READERS];
	unsigned started = 0;
	char id[32];
	int r = 0, status;

	snprintf(id, sizeof(id), "W11/%ureader%s", readers, readers == 1 ? "" : "s");
	if (!bench_selected(ctx->opts, id))
		return 0;
	w.id = id;
	w.reps = ctx->opts->quick ? W11_REPS_QUICK : W11_REPS;
	if (ctx->opts->reps > w.reps)
		w.reps = ctx->opts->reps;
	snprintf(w.title, sizeof(w.title),
		 "one 1-byte mmapio_write of a read-write map while %u thread%s read it (us per write)",
		 readers, readers == 1 ? "" : "s");
	if (readers == 0) {
		bench_add_timed_variant(&w, "mmapio_write, no readers", BENCH_CORE, true, w11_prepare,
					w11_run, w11_verify, &v[1]);
	} else {
		bench_add_timed_variant(&w, "mmapio_write, readers take views", BENCH_CORE, false,
					w11_prepare, w11_run, w11_verify, &v[0]);
		bench_add_timed_variant(&w, "mmapio_write, readers without views", BENCH_HAND, true,
					w11_prepare, w11_run, w11_verify, &v[1]);
	}
	__atomic_store_n(&s->mode, READ_PLAIN, __ATOMIC_RELAXED);
	for (; started < readers && r == 0; started++)
		r = pthread_create(&t[started], NULL, w11_reader, s);
	if (r != 0) {
		started--;
		bench_failf("pthread_create: %s", strerror(r));
		bench_note_row(id, "setup", bench_last_error(), true);
		status = -1;
	} else {
		status = bench_run(ctx, &w);
	}
	__atomic_store_n(&s->mode, READ_STOP, __ATOMIC_RELAXED);
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return status;
}

int bench_w11(const struct bench_ctx *ctx)
{
	static const unsigned readers[] = { 0, 1, 3, W11_MAX_READERS };
	struct w11_shared s = { 0 };
	char *path;
	int r, status = 0;

	if (!bench_selected(ctx->opts, "W11"))
		return 0;
	path = bench_path(ctx->opts->dir, "w11");
	if (!path || bench_make_file(path, W11_LEN, 10, NULL) < 0) {
		bench_note_row("W11", "setup", path ? bench_last_error() : "out of memory", true);
		free(path);
		return -1;
	}
	r = mmapio_open(path, MMAPIO_READ_WRITE, NULL, &s.map);
	if (r < 0) {
		bench_fail("mmapio_open", r);
		bench_note_row("W11", "setup", bench_last_error(), true);
		status = -1;
		goto out;
	}
	s.base = mmapio_base(s.map);
	/* Fault every page in writable first: the rows are to time the lock, not page faults. */
	r = prefault(s.map);
	if (r < 0) {
		bench_fail("mmapio_write", r);
		bench_note_row("W11", "setup", bench_last_error(), true);
		status = -1;
		mmapio_close(s.map);
		goto out;
	}
	for (size_t i = 0; i < sizeof(readers) / sizeof(readers[0]) && !bench_stopping(); i++)
		if (w11_group(ctx, &s, readers[i]) < 0)
			status = -1;
	mmapio_close(s.map);
out:
	unlink(path);
	free(path);
	return status;
}
