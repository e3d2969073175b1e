/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W10: a storage-engine commit on one read-write map of 64 MiB: N dirty
 * 4 KiB data ranges, then the 4 KiB meta page at offset 0, durable in that
 * order (the meta page must never reach the disk before the data it points
 * to), for N = 1, 16 and 256.
 *
 * The ring variants hand the whole commit over in one submit: one
 * MMAPIO_OP_FLUSH of the N ranges, a barrier, mmapio_ring_prep_write of the
 * meta page, a barrier, a flush of the meta range; then one wait for the
 * three completions.  One flush_ranges operation rather than one flush per
 * range: measured here, N flushes on io_uring commit as fast but cost the
 * caller about 12x the CPU at N = 256 (one request each), and on the
 * blocking engine they run one sync per range, 10x slower; the one
 * operation is coalesced into as few data syncs as the library can.
 * The variant "caller computes 2 ms" submits the same commit on io_uring,
 * then spins for 2 ms without calling the ring before it waits: what the
 * kernel finishes meanwhile is what runs without the caller (the meta
 * page's write and flush, linked once the data flush is done or, for
 * N = 1, the whole commit as one chain); its CPU rows leave the 2 ms out.
 * The hand-written baselines are the two sequences an engine writes without
 * a ring: msync(MS_SYNC) per range, pwrite of the meta page, fdatasync; and
 * fdatasync, pwrite, fdatasync.
 *
 * W10/N reports commits per second; W10/N-cpu runs the same commits and
 * reports the calling thread's CPU time per commit (CLOCK_THREAD_CPUTIME_ID),
 * which is what the caller cannot spend computing while the commit runs.
 *
 * All variants share the map (a new random set of ranges in every
 * repetition, the same set for every variant of it) and each commit leaves
 * nothing dirty, so no variant inherits another's work.  prepare dirties the
 * ranges with mmapio_write, untimed.  verify preads the meta page and every
 * data range from the file and compares them with what the commit wrote;
 * durability itself is not visible without cutting power (the library's
 * power-cut test does that).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define PAGE 4096u
#define W10_LEN (64u << 20)
#define W10_NPAGES (W10_LEN / PAGE)
#define W10_REPS 21u
#define W10_REPS_QUICK 5u

enum commit_how { RING, HAND_MSYNC, HAND_FDATASYNC, RING_COMPUTE };
#define NVAR 5u

/* What the computing caller of the last variant spends between submit and wait. */
#define W10_COMPUTE_NS 2000000u

struct commit_shared {
	mmapio_map *map;
	unsigned char *base;
	int fd;                      /* the map's descriptor, for the hand-written variants */
	unsigned n;
	unsigned cur_rep;            /* repetition the ranges were drawn for, + 1 */
	struct mmapio_range *ranges;
	unsigned char used[W10_NPAGES]; /* one byte per page, for drawing distinct pages */
	unsigned char tmpl[PAGE];    /* the bytes after each page's 16-byte header */
};

struct commit_var {
	struct commit_shared *s;
	mmapio_ring *ring;
	enum commit_how how;
	unsigned id;                 /* variant number, part of the stamp */
	uint64_t stamp;              /* what the last prepare wrote */
	uint64_t compute_ns;         /* RING_COMPUTE: thread CPU the last computing took */
	unsigned char page[PAGE];    /* scratch for dirtying and checking */
	unsigned char meta[PAGE];    /* the meta page; must outlive the ring write */
};

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Draws this repetition's N distinct random data pages (never the meta page 0). */
static void commit_draw(struct commit_shared *s, unsigned rep)
{
	uint64_t seed = 0xbb67ae8584caa73bu ^ ((uint64_t)rep << 17) ^ s->n;

	if (s->cur_rep == rep + 1)
		return;
	s->cur_rep = rep + 1;
	memset(s->used, 0, sizeof(s->used));
	s->used[0] = 1;
	bench_draw_pages(seed, s->used, W10_NPAGES, s->ranges, s->n, PAGE, PAGE);
}

/* The bytes a commit stamped `stamp` puts at off: a header naming both, then the template. */
static void make_page(const struct commit_shared *s, unsigned char *page, uint64_t stamp,
		      uint64_t off)
{
	memcpy(page, &stamp, sizeof(stamp));
	memcpy(page + 8, &off, sizeof(off));
	memcpy(page + 16, s->tmpl + 16, PAGE - 16);
}

static int commit_prepare(void *arg, unsigned rep)
{
	struct commit_var *v = arg;
	struct commit_shared *s = v->s;
	int r;

	commit_draw(s, rep);
	v->stamp = 0x1000000000000000u | ((uint64_t)s->n << 32) | ((uint64_t)rep << 8) | v->id;
	for (unsigned i = 0; i < s->n; i++) {
		make_page(s, v->page, v->stamp, s->ranges[i].off);
		r = mmapio_write(s->map, s->ranges[i].off, v->page, PAGE);
		if (r < 0)
			return bench_fail("mmapio_write", r);
	}
	make_page(s, v->meta, v->stamp, 0);
	return 0;
}

/* Reaps the commit's completions, which the barriers must hand back in order. */
static int commit_reap(mmapio_ring *ring)
{
	enum { m = 3 };
	struct mmapio_completion c[m];

	if (bench_ring_wait_n(ring, c, m) < 0)
		return -1;
	for (unsigned i = 0; i < m; i++) {
		uint32_t want = i == m - 2 ? MMAPIO_OP_WRITE : MMAPIO_OP_FLUSH;

		if (c[i].result < 0)
			return bench_failf("commit step %u (op %u) failed: %s (%d)", i + 1, c[i].op,
					   mmapio_strerror(c[i].result), c[i].result);
		if (c[i].op != want)
			return bench_failf("commit step %u completed as op %u, expected %u", i + 1,
					   c[i].op, want);
	}
	return 0;
}

/*
 * The computing caller: spins for W10_COMPUTE_NS without calling the ring
 * (what runs meanwhile is what the kernel runs by itself), and notes the
 * CPU that took, which the CPU rows leave out.
 */
static void compute(struct commit_var *v)
{
	uint64_t c0 = thread_cpu_ns(), t0 = bench_now_ns();

	while (bench_now_ns() - t0 < W10_COMPUTE_NS)
		;
	v->compute_ns = thread_cpu_ns() - c0;
}

static int commit_ring(struct commit_var *v)
{
	struct commit_shared *s = v->s;
	int r;

	r = mmapio_ring_prep_flush_ranges(v->ring, s->map, s->ranges, s->n, NULL);
	if (r < 0)
		return bench_fail("mmapio_ring_prep_flush_ranges", r);
	mmapio_ring_barrier(v->ring);
	r = mmapio_ring_prep_write(v->ring, s->map, 0, v->meta, PAGE, NULL);
	if (r < 0) {
		bench_ring_discard(v->ring);
		return bench_fail("mmapio_ring_prep_write", r);
	}
	mmapio_ring_barrier(v->ring);
	r = mmapio_ring_prep_flush(v->ring, s->map, 0, PAGE, NULL);
	if (r < 0) {
		bench_ring_discard(v->ring);
		return bench_fail("mmapio_ring_prep_flush", r);
	}
	r = mmapio_ring_submit(v->ring);
	if (r < 0) {
		bench_ring_discard(v->ring);
		return bench_fail("mmapio_ring_submit", r);
	}
	if (v->how == RING_COMPUTE)
		compute(v);
	return commit_reap(v->ring);
}

static int commit_hand(struct commit_var *v)
{
	struct commit_shared *s = v->s;

	if (v->how == HAND_MSYNC) {
		for (unsigned i = 0; i < s->n; i++)
			if (msync(s->base + s->ranges[i].off, PAGE, MS_SYNC) < 0)
				return bench_failf("msync: %s", strerror(errno));
	} else if (fdatasync(s->fd) < 0) {
		return bench_failf("fdatasync: %s", strerror(errno));
	}
	if (pwrite(s->fd, v->meta, PAGE, 0) != (ssize_t)PAGE)
		return bench_failf("pwrite: %s", strerror(errno));
	if (fdatasync(s->fd) < 0)
		return bench_failf("fdatasync: %s", strerror(errno));
	return 0;
}

static int commit_run(void *arg)
{
	struct commit_var *v = arg;

	return v->how == RING || v->how == RING_COMPUTE ? commit_ring(v) : commit_hand(v);
}

/* The CPU-time rows: the calling thread's CPU time over one commit. */
static int commit_run_cpu(void *arg, uint64_t *ns)
{
	struct commit_var *v = arg;
	uint64_t t0 = thread_cpu_ns();
	int r;

	v->compute_ns = 0;
	r = commit_run(arg);
	*ns = thread_cpu_ns() - t0 - v->compute_ns;
	return r;
}

static int check_page(struct commit_var *v, uint64_t off)
{
	unsigned char want[PAGE];

	if (pread(v->s->fd, v->page, PAGE, (off_t)off) != (ssize_t)PAGE)
		return bench_failf("pread at %llu: %s", (unsigned long long)off, strerror(errno));
	make_page(v->s, want, v->stamp, off);
	if (memcmp(v->page, want, PAGE) != 0)
		return bench_failf("page at %llu does not hold what commit %#llx wrote there",
				   (unsigned long long)off, (unsigned long long)v->stamp);
	return 0;
}

static int commit_verify(void *arg)
{
	struct commit_var *v = arg;

	if (check_page(v, 0) < 0)
		return -1;
	for (unsigned i = 0; i < v->s->n; i++)
		if (check_page(v, v->s->ranges[i].off) < 0)
			return -1;
	return 0;
}

/* Runs W10/N and W10/N-cpu.  Returns 0 or -1. */
static int commit_group(const struct bench_ctx *ctx, struct commit_shared *s, unsigned n)
{
	static const char *const names[] = { "ring commit: io_uring", "ring commit: blocking",
					     "msync per range + pwrite + fdatasync",
					     "fdatasync + pwrite + fdatasync",
					     "ring commit: io_uring, caller computes 2 ms" };
	static const enum bench_kind kinds[] = { BENCH_URING, BENCH_BLOCKING, BENCH_HAND,
						 BENCH_HAND, BENCH_URING };
	struct commit_var *v;
	char id[32], cpu_id[32];
	int status = 0;

	snprintf(id, sizeof(id), "W10/%u", n);
	snprintf(cpu_id, sizeof(cpu_id), "W10/%u-cpu", n);
	if (!bench_selected(ctx->opts, id) && !bench_selected(ctx->opts, cpu_id))
		return 0;
	v = calloc(NVAR, sizeof(*v));
	s->ranges = calloc(n, sizeof(*s->ranges));
	if (!v || !s->ranges) {
		free(v);
		free(s->ranges);
		s->ranges = NULL;
		bench_note_row(id, "setup", "out of memory", true);
		return -1;
	}
	s->n = n;
	s->cur_rep = 0;
	for (unsigned i = 0; i < NVAR; i++) {
		v[i].s = s;
		v[i].id = i;
		v[i].how = i < 2 ? RING : i == 2 ? HAND_MSYNC : i == 3 ? HAND_FDATASYNC : RING_COMPUTE;
	}
	v[0].ring = ctx->uring;
	v[4].ring = ctx->uring;
	v[1].ring = ctx->blocking;
	for (int cpu = 0; cpu < 2 && !bench_stopping(); cpu++) {
		struct bench_workload w = { .id = cpu ? cpu_id : id,
					    .unit = cpu ? BENCH_US_OP : BENCH_COMMITS_S,
					    .amount = 1 };

		if (!bench_selected(ctx->opts, w.id))
			continue;
		w.reps = ctx->opts->quick ? W10_REPS_QUICK : W10_REPS;
		if (ctx->opts->reps > w.reps)
			w.reps = ctx->opts->reps;
		snprintf(w.title, sizeof(w.title),
			 "commit %u dirty 4 KiB range%s, then the meta page, of a 64 MiB map (%s)", n,
			 n == 1 ? "" : "s", cpu ? "caller CPU us per commit" : "commits per second");
		for (unsigned i = 0; i < NVAR; i++) {
			if (cpu)
				bench_add_timed_variant(&w, names[i], kinds[i], i == 2, commit_prepare,
							commit_run_cpu, commit_verify, &v[i]);
			else
				bench_add_variant(&w, names[i], kinds[i], i == 2, commit_prepare,
						  commit_run, commit_verify, &v[i], v[i].ring);
		}
		if (bench_run(ctx, &w) < 0)
			status = -1;
	}
	free(v);
	free(s->ranges);
	s->ranges = NULL;
	return status;
}

int bench_w10(const struct bench_ctx *ctx)
{
	static const unsigned counts[] = { 1, 16, 256 };
	const struct mmapio_options mo = { .flags = MMAPIO_MAP_POPULATE };
	struct commit_shared *s;
	char *path;
	int r, status = 0;

	if (!bench_selected(ctx->opts, "W10"))
		return 0;
	s = calloc(1, sizeof(*s));
	path = bench_path(ctx->opts->dir, "w10");
	/* Written in full and synced: every block is allocated and every page resident. */
	if (!s || !path || bench_make_file(path, W10_LEN, 10, NULL) < 0) {
		bench_note_row("W10", "setup", s && path ? bench_last_error() : "out of memory",
			       true);
		free(s);
		free(path);
		return -1;
	}
	bench_fill(s->tmpl, sizeof(s->tmpl), 10, 0);
	r = mmapio_open(path, MMAPIO_READ_WRITE, &mo, &s->map);
	if (r < 0) {
		bench_fail("mmapio_open", r);
		bench_note_row("W10", "setup", bench_last_error(), true);
		status = -1;
		goto out;
	}
	s->base = mmapio_base(s->map);
	s->fd = mmapio_fd(s->map);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]) && !bench_stopping(); i++)
		if (commit_group(ctx, s, counts[i]) < 0)
			status = -1;
	r = mmapio_close(s->map);
	if (r < 0) {
		bench_fail("mmapio_close", r);
		bench_note_row("W10", "teardown", bench_last_error(), true);
		status = -1;
	}
out:
	unlink(path);
	free(path);
	free(s);
	return status;
}
