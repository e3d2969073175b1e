/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W8: the cost of the checked access paths, in nanoseconds per operation.
 *
 * A view acquire+release (mmapio_view_read, and mmapio_view_write on the
 * read-write map) and a segment check (mmapio_segment_sub, which checks the
 * range against the segment and the map) are timed on a read-only and a
 * read-write map, by one thread and by two and four threads on the same map
 * at once.  The baseline is what a caller of raw mmap writes: an inline
 * bounds check, plus a pthread_rwlock around it on the read-write map where
 * mmapio takes its lock.  With several threads, the figure is wall time
 * divided by the operations of one thread, so perfect scaling keeps it equal
 * to one thread's as long as there are as many processors as threads (with
 * four threads on two processors it doubles at best).  The "CPU time" rows
 * of read views time the same loops with each thread's own CPU clock,
 * averaged over the threads: on a machine shared with other work, or with
 * more threads than processors, wall time mostly measures how long the
 * scheduler kept a thread off a processor, while CPU time still shows what
 * each operation costs, cache-line transfers between cores included.  No
 * backend takes part, so there are no per-backend rows.
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

#define W8_LEN (1u << 20)   /* power of two: offsets wrap with a mask, not a division */
#define W8_SPAN 64u         /* bytes per view or segment */
#define W8_MAX_THREADS 4u

enum { GATE_CLOSED, GATE_OPEN, GATE_ABORT };

enum w8_op {
	OP_VIEW_READ,
	OP_VIEW_WRITE,
	OP_SEGMENT,
	OP_HAND_CHECK,
	OP_HAND_RDLOCK,
	OP_HAND_WRLOCK
};

struct w8_var {
	enum w8_op op;
	unsigned threads;
	uint64_t ops;
	mmapio_map *map;
	struct mmapio_segment seg;
	unsigned char *base;
	uint64_t len;
	pthread_rwlock_t *lock;
	int gate;                 /* GATE_*: when the helper threads start */
	unsigned long errors;     /* failed calls in the last run, summed over threads */
	bool cpu_time;            /* time with the threads' CPU clocks (w8_run_cpu) */
	uint64_t cpu_sum;         /* CPU ns of the last run, summed over threads; atomic */
};

/* Keeps a value alive without emitting any instruction for it. */
#define KEEP(x) __asm__ volatile("" : : "r"(x) : "memory")

static unsigned long access_loop(struct w8_var *v)
{
	const uint64_t mask = v->len - 1;
	unsigned long errors = 0;
	struct mmapio_segment out;
	struct mmapio_view view;

	for (uint64_t i = 0; i < v->ops; i++) {
		uint64_t off = (i * W8_SPAN) & mask;
		unsigned char *p;

		switch (v->op) {
		case OP_VIEW_READ:
			errors += mmapio_view_read(v->map, off, W8_SPAN, &view) != 0;
			KEEP(view.data);
			mmapio_view_release(&view);
			break;
		case OP_VIEW_WRITE:
			errors += mmapio_view_write(v->map, off, W8_SPAN, &view) != 0;
			KEEP(view.data);
			mmapio_view_release(&view);
			break;
		case OP_SEGMENT:
			errors += mmapio_segment_sub(&v->seg, off, W8_SPAN, &out) != 0;
			KEEP(out.off);
			break;
		case OP_HAND_CHECK:
			errors += off >= v->len || W8_SPAN > v->len - off;
			p = v->base + off;
			KEEP(p);
			break;
		case OP_HAND_RDLOCK:
		case OP_HAND_WRLOCK:
			if (v->op == OP_HAND_RDLOCK)
				pthread_rwlock_rdlock(v->lock);
			else
				pthread_rwlock_wrlock(v->lock);
			errors += off >= v->len || W8_SPAN > v->len - off;
			p = v->base + off;
			KEEP(p);
			pthread_rwlock_unlock(v->lock);
			break;
		}
	}
	return errors;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Runs the loop on this thread, adding its CPU time to cpu_sum when asked to. */
static unsigned long timed_loop(struct w8_var *v)
{
	uint64_t t0 = v->cpu_time ? thread_cpu_ns() : 0;
	unsigned long errors = access_loop(v);

	if (v->cpu_time)
		__atomic_add_fetch(&v->cpu_sum, thread_cpu_ns() - t0, __ATOMIC_RELAXED);
	return errors;
}

static void *helper_thread(void *arg)
{
	struct w8_var *v = arg;
	int gate;

	while ((gate = __atomic_load_n(&v->gate, __ATOMIC_ACQUIRE)) == GATE_CLOSED)
		sched_yield();
	return gate == GATE_OPEN ? (void *)timed_loop(v) : NULL;
}

static int w8_run(void *arg)
{
	struct w8_var *v = arg;
	pthread_t helpers[W8_MAX_THREADS - 1];
	void *helper_errors = NULL;
	unsigned i;
	int r = 0;

	if (v->threads == 1) {
		v->errors = timed_loop(v);
		return 0;
	}
	__atomic_store_n(&v->gate, GATE_CLOSED, __ATOMIC_RELAXED);
	for (i = 0; i + 1 < v->threads && r == 0; i++)
		r = pthread_create(&helpers[i], NULL, helper_thread, v);
	if (r != 0)
		i--;
	/* The helpers start together on the gate, so all threads overlap for the whole run. */
	__atomic_store_n(&v->gate, r == 0 ? GATE_OPEN : GATE_ABORT, __ATOMIC_RELEASE);
	v->errors = r == 0 ? timed_loop(v) : 0;
	for (unsigned k = 0; k < i; k++) {
		pthread_join(helpers[k], &helper_errors);
		v->errors += (unsigned long)helper_errors;
	}
	if (r != 0)
		return bench_failf("pthread_create: %s", strerror(r));
	return 0;
}

/* The harness's run_timed for the CPU-time rows: the threads' mean CPU time. */
static int w8_run_cpu(void *arg, uint64_t *ns)
{
	struct w8_var *v = arg;
	int r;

	__atomic_store_n(&v->cpu_sum, 0, __ATOMIC_RELAXED);
	r = w8_run(v);
	*ns = __atomic_load_n(&v->cpu_sum, __ATOMIC_RELAXED) / v->threads;
	return r;
}

static int w8_verify(void *arg)
{
	struct w8_var *v = arg;
	const uint64_t off = 3 * W8_SPAN;
	struct mmapio_segment out;
	struct mmapio_view view;
	int r = 0;

	if (v->errors)
		return bench_failf("%lu calls failed in the warm-up run", v->errors);
	switch (v->op) {
	case OP_VIEW_READ:
	case OP_VIEW_WRITE:
		r = v->op == OP_VIEW_READ ? mmapio_view_read(v->map, off, W8_SPAN, &view)
					  : mmapio_view_write(v->map, off, W8_SPAN, &view);
		if (r < 0)
			return bench_fail("mmapio_view", r);
		if (view.data != v->base + off || view.len != W8_SPAN)
			r = bench_failf("view at %p+%zu, expected %p+%u", view.data, view.len,
					(void *)(v->base + off), W8_SPAN);
		mmapio_view_release(&view);
		return r;
	case OP_SEGMENT:
		r = mmapio_segment_sub(&v->seg, off, W8_SPAN, &out);
		if (r < 0)
			return bench_fail("mmapio_segment_sub", r);
		if (out.map != v->map || out.off != v->seg.off + off || out.len != W8_SPAN)
			return bench_failf("segment [%llu, +%llu), expected [%llu, +%u)",
					   (unsigned long long)out.off, (unsigned long long)out.len,
					   (unsigned long long)(v->seg.off + off), W8_SPAN);
		/* A range past the end must be refused, or the check checks nothing. */
		if (mmapio_segment_sub(&v->seg, v->seg.len - 8, W8_SPAN, &out) != -ERANGE)
			return bench_failf("mmapio_segment_sub accepted a range past the segment");
		return 0;
	default:
		return 0;
	}
}

struct w8_maps {
	mmapio_map *ro, *rw;
	pthread_rwlock_t lock;
};

static int w8_group(const struct bench_ctx *ctx, struct w8_maps *m, bool rw, bool views,
		    unsigned threads)
{
	struct bench_workload w = { .unit = BENCH_NS_OP, .amount = (double)ctx->opts->access_ops };
	struct w8_var v[BENCH_MAX_VARIANTS];
	enum w8_op ops[BENCH_MAX_VARIANTS];
	const char *names[BENCH_MAX_VARIANTS];
	bool cpu[BENCH_MAX_VARIANTS] = { false };
	unsigned n = 0;
	char id[32];

	snprintf(id, sizeof(id), "W8/%s-%s-%ut", views ? "view" : "seg", rw ? "rw" : "ro", threads);
	if (!bench_selected(ctx->opts, id))
		return 0;
	w.id = id;
	snprintf(w.title, sizeof(w.title), "%s of %u bytes on a %s map, %u thread%s (ns per op per thread)",
		 views ? "view acquire+release" : "segment check (mmapio_segment_sub)", W8_SPAN,
		 rw ? "read-write" : "read-only", threads, threads > 1 ? "s on the same map" : "");
	if (views && rw) {
		ops[n] = OP_VIEW_WRITE, names[n++] = "mmapio_view_write+release";
		ops[n] = OP_VIEW_READ, names[n++] = "mmapio_view_read+release";
		ops[n] = OP_HAND_WRLOCK, names[n++] = "check + pthread_rwlock_wrlock";
		ops[n] = OP_HAND_RDLOCK, names[n++] = "check + pthread_rwlock_rdlock";
		cpu[n] = true, ops[n] = OP_VIEW_READ, names[n++] = "mmapio_view_read+release, CPU time";
		cpu[n] = true, ops[n] = OP_HAND_RDLOCK, names[n++] = "pthread_rwlock_rdlock, CPU time";
	} else {
		ops[n] = views ? OP_VIEW_READ : OP_SEGMENT;
		names[n++] = views ? "mmapio_view_read+release" : "mmapio_segment_sub";
		ops[n] = OP_HAND_CHECK, names[n++] = "inline bounds check";
		if (views)
			cpu[n] = true, ops[n] = OP_VIEW_READ,
			names[n++] = "mmapio_view_read+release, CPU time";
	}
	memset(v, 0, sizeof(v));
	for (unsigned i = 0; i < n; i++) {
		v[i].op = ops[i];
		v[i].threads = threads;
		v[i].ops = ctx->opts->access_ops;
		v[i].map = rw ? m->rw : m->ro;
		v[i].base = mmapio_base(v[i].map);
		v[i].len = W8_LEN;
		v[i].lock = &m->lock;
		v[i].cpu_time = cpu[i];
		mmapio_segment_init(v[i].map, 0, W8_LEN, &v[i].seg);
		/* The wrlock variant is the baseline on read-write maps, the bare check on read-only ones. */
		if (cpu[i])
			bench_add_timed_variant(&w, names[i], ops[i] >= OP_HAND_CHECK ? BENCH_HAND
										: BENCH_CORE,
						false, NULL, w8_run_cpu, w8_verify, &v[i]);
		else
			bench_add_variant(&w, names[i], ops[i] >= OP_HAND_CHECK ? BENCH_HAND : BENCH_CORE,
					  ops[i] == (rw && views ? OP_HAND_WRLOCK : OP_HAND_CHECK),
					  NULL, w8_run, w8_verify, &v[i], NULL);
	}
	return bench_run(ctx, &w);
}

int bench_w8(const struct bench_ctx *ctx)
{
	struct w8_maps m = { 0 };
	char *path;
	int r, status = 0;

	if (!bench_selected(ctx->opts, "W8"))
		return 0;
	path = bench_path(ctx->opts->dir, "w8");
	if (!path || bench_make_file(path, W8_LEN, 8, NULL) < 0) {
		bench_note_row("W8", "setup", path ? bench_last_error() : "out of memory", true);
		free(path);
		return -1;
	}
	pthread_rwlock_init(&m.lock, NULL);
	r = mmapio_open(path, MMAPIO_READ_ONLY, NULL, &m.ro);
	if (r >= 0)
		r = mmapio_open(path, MMAPIO_READ_WRITE, NULL, &m.rw);
	if (r < 0) {
		bench_fail("mmapio_open", r);
		bench_note_row("W8", "setup", bench_last_error(), true);
		status = -1;
		goto out;
	}
	for (unsigned threads = 1; threads <= W8_MAX_THREADS; threads *= 2)
		for (int views = 1; views >= 0; views--)
			for (int rw = 0; rw <= 1; rw++)
				if (w8_group(ctx, &m, rw, views, threads) < 0)
					status = -1;
out:
	mmapio_close(m.ro);
	mmapio_close(m.rw);
	pthread_rwlock_destroy(&m.lock);
	unlink(path);
	free(path);
	return status;
}
