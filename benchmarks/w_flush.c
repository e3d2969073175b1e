/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W6 and W7: making dirty pages of a map durable.
 *
 * W6 dirties N random 4 KiB pages of a map (a new random set in every
 * repetition, the same set for every variant of it) and makes them durable:
 * one MMAPIO_OP_FLUSH of the N ranges, which the library coalesces, on a
 * ring of each backend; msync(MS_SYNC) per range by hand (the baseline);
 * one fdatasync of the whole file by hand.
 *
 * W7 dirties every page of a --size map and measures the wall time of
 * "make it durable and compute": the ring variants submit the flush, compute,
 * then reap; the baseline does msync(MS_SYNC) and then computes.  The
 * compute time is set to one measured flush, so perfect overlap would be 2x.
 *
 * Every variant has its own file, allocated and written back before the
 * first run, so no variant inherits another's dirty pages.  prepare re-dirties
 * pages untimed before each run.  What verify can observe is that each
 * stamped page reads back from the file; durability itself is not visible
 * without dropping caches or cutting power, which this program does not do.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define PAGE 4096u
#define W7_CHUNK (1u << 20)

struct flush_file {
	char *path;
	uint64_t len;
	mmapio_map *map;         /* mmapio variants */
	int fd;                  /* hand variants, and verify */
	unsigned char *raw;      /* hand variants */
};

struct w6_shared {
	unsigned cur_rep;        /* repetition the ranges were drawn for, + 1 */
	unsigned n;
	struct mmapio_range *ranges;
	unsigned char *used;     /* one byte per page, for drawing distinct pages */
	uint64_t npages;
};

struct flush_var {
	struct flush_file f;
	struct w6_shared *w6;
	mmapio_ring *ring;
	uint64_t stamp;          /* value the last prepare wrote */
	uint64_t compute_iters;  /* W7 */
	unsigned char *buf;      /* W7: W7_CHUNK bytes for re-dirtying */
};

static volatile uint64_t compute_sink;

/* CPU work that touches no file: a chain of multiplications the compiler cannot drop. */
static __attribute__((noinline)) void compute(uint64_t iters)
{
	uint64_t x = iters | 1;

	for (uint64_t i = 0; i < iters; i++)
		x = x * 0x9e3779b97f4a7c15u + i;
	compute_sink = x;
}

static int file_open(struct flush_file *f, const char *dir, const char *name, uint64_t len,
		     bool with_mmapio)
{
	int r;

	f->fd = -1;
	f->len = len;
	f->path = bench_path(dir, "%s", name);
	if (!f->path)
		return bench_failf("out of memory");
	if (bench_make_file(f->path, len, 6, NULL) < 0)
		return -1;
	f->fd = open(f->path, O_RDWR | O_CLOEXEC);
	if (f->fd < 0)
		return bench_failf("open %s: %s", f->path, strerror(errno));
	if (with_mmapio) {
		r = mmapio_open(f->path, MMAPIO_READ_WRITE, NULL, &f->map);
		if (r < 0)
			return bench_fail("mmapio_open(READ_WRITE)", r);
		return 0;
	}
	f->raw = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
	if (f->raw == MAP_FAILED) {
		f->raw = NULL;
		return bench_failf("mmap: %s", strerror(errno));
	}
	return 0;
}

static int file_close(struct flush_file *f)
{
	int r = 0;

	if (f->map)
		r = mmapio_close(f->map);
	if (f->raw)
		munmap(f->raw, f->len);
	if (f->fd >= 0)
		close(f->fd);
	if (f->path)
		unlink(f->path);
	free(f->path);
	return r < 0 ? bench_fail("mmapio_close", r) : 0;
}

/* Stores an 8-byte stamp at the start of a page, through mmapio or the raw mapping. */
static int stamp_page(struct flush_var *v, uint64_t off)
{
	int r;

	if (!v->f.map) {
		memcpy(v->f.raw + off, &v->stamp, sizeof(v->stamp));
		return 0;
	}
	r = mmapio_write(v->f.map, off, &v->stamp, sizeof(v->stamp));
	return r < 0 ? bench_fail("mmapio_write", r) : 0;
}

static int check_stamp(const struct flush_var *v, uint64_t off)
{
	uint64_t got;

	if (pread(v->f.fd, &got, sizeof(got), (off_t)off) != (ssize_t)sizeof(got))
		return bench_failf("pread at %llu: %s", (unsigned long long)off, strerror(errno));
	if (got != v->stamp)
		return bench_failf("page at %llu holds %#llx, expected %#llx", (unsigned long long)off,
				   (unsigned long long)got, (unsigned long long)v->stamp);
	return 0;
}

/* Draws this repetition's N distinct random pages, in random order. */
static void w6_draw(struct w6_shared *s, unsigned rep)
{
	uint64_t seed = 0x6a09e667f3bcc909u ^ ((uint64_t)rep << 17);

	if (s->cur_rep == rep + 1)
		return;
	s->cur_rep = rep + 1;
	memset(s->used, 0, s->npages);
	bench_draw_pages(seed, s->used, s->npages, s->ranges, s->n, PAGE, BENCH_FLUSH_PAGE);
}

static int w6_prepare(void *arg, unsigned rep)
{
	struct flush_var *v = arg;

	w6_draw(v->w6, rep);
	v->stamp = 0x5700000000000000u | ((uint64_t)rep << 20);
	for (unsigned i = 0; i < v->w6->n; i++)
		if (stamp_page(v, v->w6->ranges[i].off) < 0)
			return -1;
	return 0;
}

static int w6_ring(void *arg)
{
	struct flush_var *v = arg;
	int r = mmapio_ring_prep_flush_ranges(v->ring, v->f.map, v->w6->ranges, v->w6->n, NULL);

	if (r < 0)
		return bench_fail("mmapio_ring_prep_flush_ranges", r);
	return bench_ring_complete(v->ring, 1, MMAPIO_OP_FLUSH);
}

static int w6_msync_each(void *arg)
{
	struct flush_var *v = arg;

	for (unsigned i = 0; i < v->w6->n; i++)
		if (msync(v->f.raw + v->w6->ranges[i].off, BENCH_FLUSH_PAGE, MS_SYNC) < 0)
			return bench_failf("msync: %s", strerror(errno));
	return 0;
}

static int w6_fdatasync(void *arg)
{
	struct flush_var *v = arg;

	if (fdatasync(v->f.fd) < 0)
		return bench_failf("fdatasync: %s", strerror(errno));
	return 0;
}

static int w6_verify(void *arg)
{
	struct flush_var *v = arg;

	for (unsigned i = 0; i < v->w6->n; i++)
		if (check_stamp(v, v->w6->ranges[i].off) < 0)
			return -1;
	return 0;
}

int bench_w6(const struct bench_ctx *ctx)
{
	static const char *const names[] = { "w6-uring", "w6-blocking", "w6-msync", "w6-fdatasync" };
	uint64_t len = ctx->opts->size / 4 / PAGE * PAGE;
	struct bench_workload w = { .id = "W6", .unit = BENCH_MS, .amount = 1 };
	struct w6_shared sh = { .n = ctx->opts->files };
	struct flush_var v[4];
	int status = -1;
	char sz[32];

	if (!bench_selected(ctx->opts, "W6"))
		return 0;
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 4; i++)
		v[i].f.fd = -1;
	/* At least four pages per range, so that the random set stays sparse. */
	if (len < (uint64_t)sh.n * 4 * PAGE)
		len = (uint64_t)sh.n * 4 * PAGE;
	sh.npages = len / PAGE;
	sh.ranges = calloc(sh.n, sizeof(*sh.ranges));
	sh.used = calloc(sh.npages, 1);
	if (!sh.ranges || !sh.used) {
		bench_note_row("W6", "setup", "out of memory", true);
		goto out;
	}
	for (int i = 0; i < 4; i++) {
		v[i].w6 = &sh;
		if (file_open(&v[i].f, ctx->opts->dir, names[i], len, i < 2) < 0) {
			bench_note_row("W6", "setup", bench_last_error(), true);
			goto out;
		}
	}
	v[0].ring = ctx->uring;
	v[1].ring = ctx->blocking;
	snprintf(w.title, sizeof(w.title),
		 "make %u random dirty 4 KiB ranges of a %s map durable (ranges in random order)",
		 sh.n, bench_size_str(sz, sizeof(sz), len));
	bench_add_variant(&w, "ring flush_ranges: io_uring", BENCH_URING, false, w6_prepare, w6_ring,
			  w6_verify, &v[0], ctx->uring);
	bench_add_variant(&w, "ring flush_ranges: blocking", BENCH_BLOCKING, false, w6_prepare,
			  w6_ring, w6_verify, &v[1], ctx->blocking);
	bench_add_variant(&w, "msync(MS_SYNC) per range", BENCH_HAND, true, w6_prepare,
			  w6_msync_each, w6_verify, &v[2], NULL);
	bench_add_variant(&w, "one fdatasync", BENCH_HAND, false, w6_prepare, w6_fdatasync,
			  w6_verify, &v[3], NULL);
	status = bench_run(ctx, &w);
out:
	for (int i = 0; i < 4; i++)
		if (file_close(&v[i].f) < 0) {
			bench_note_row("W6", "teardown", bench_last_error(), true);
			status = -1;
		}
	free(sh.ranges);
	free(sh.used);
	return status;
}

/*
 * Dirties every page, writing the stamp at the start of each through pwrite
 * on the map's file.  Storing through the mapping would work too, but after
 * a flush every page is write-protected again, and the write fault costs
 * about 14 us per page on ext4 here: 0.9 s per repetition of untimed
 * preparation.  The flush that follows finds the same dirty page-cache pages
 * whichever way they were dirtied, as msync and fsync work on the file.
 */
static int w7_prepare(void *arg, unsigned rep)
{
	struct flush_var *v = arg;

	v->stamp = 0x7700000000000000u | ((uint64_t)rep << 20);
	for (uint64_t off = 0; off < v->f.len; off += W7_CHUNK) {
		size_t n = v->f.len - off < W7_CHUNK ? (size_t)(v->f.len - off) : W7_CHUNK;

		for (size_t k = 0; k < n; k += PAGE)
			memcpy(v->buf + k, &v->stamp, sizeof(v->stamp));
		if (pwrite(v->f.fd, v->buf, n, (off_t)off) != (ssize_t)n)
			return bench_failf("pwrite: %s", strerror(errno));
	}
	return 0;
}

static int w7_ring(void *arg)
{
	struct flush_var *v = arg;
	int r = mmapio_ring_prep_flush(v->ring, v->f.map, 0, v->f.len, NULL);

	if (r < 0)
		return bench_fail("mmapio_ring_prep_flush", r);
	if (bench_ring_submit(v->ring, 1, MMAPIO_OP_FLUSH) < 0)
		return -1;
	compute(v->compute_iters);
	return bench_ring_reap(v->ring, 1, MMAPIO_OP_FLUSH);
}

static int w7_serial(void *arg)
{
	struct flush_var *v = arg;

	if (msync(v->f.raw, v->f.len, MS_SYNC) < 0)
		return bench_failf("msync: %s", strerror(errno));
	compute(v->compute_iters);
	return 0;
}

static int w7_verify(void *arg)
{
	struct flush_var *v = arg;

	for (uint64_t off = 0; off < v->f.len; off += PAGE)
		if (check_stamp(v, off) < 0)
			return -1;
	return 0;
}

/*
 * Sets the compute time to one flush: dirties the baseline's map, times its
 * msync, and converts that into iterations of compute().
 */
static int w7_calibrate(struct flush_var *base, uint64_t *iters, double *ms)
{
	uint64_t t0, flush_ns, n = 4000000;

	if (w7_prepare(base, 0) < 0)
		return -1;
	t0 = bench_now_ns();
	if (msync(base->f.raw, base->f.len, MS_SYNC) < 0)
		return bench_failf("msync: %s", strerror(errno));
	flush_ns = bench_now_ns() - t0;
	t0 = bench_now_ns();
	compute(n);
	*iters = (uint64_t)((double)n * (double)flush_ns / (double)(bench_now_ns() - t0 + 1));
	*ms = (double)flush_ns / 1e6;
	return 0;
}

int bench_w7(const struct bench_ctx *ctx)
{
	static const char *const names[] = { "w7-uring", "w7-blocking", "w7-serial" };
	uint64_t len = ctx->opts->size / PAGE * PAGE, iters = 0;
	unsigned char *buf;
	struct bench_workload w = { .id = "W7", .unit = BENCH_MS, .amount = 1 };
	struct flush_var v[3];
	int status = -1;
	double ms = 0;
	char sz[32];

	if (!bench_selected(ctx->opts, "W7"))
		return 0;
	memset(v, 0, sizeof(v));
	for (int i = 0; i < 3; i++)
		v[i].f.fd = -1;
	buf = calloc(1, W7_CHUNK);
	if (!buf) {
		bench_note_row("W7", "setup", "out of memory", true);
		return -1;
	}
	for (int i = 0; i < 3; i++)
		v[i].buf = buf;
	for (int i = 0; i < 3; i++)
		if (file_open(&v[i].f, ctx->opts->dir, names[i], len, i < 2) < 0) {
			bench_note_row("W7", "setup", bench_last_error(), true);
			goto out;
		}
	if (w7_calibrate(&v[2], &iters, &ms) < 0) {
		bench_note_row("W7", "setup", bench_last_error(), true);
		goto out;
	}
	for (int i = 0; i < 3; i++)
		v[i].compute_iters = iters;
	v[0].ring = ctx->uring;
	v[1].ring = ctx->blocking;
	snprintf(w.title, sizeof(w.title),
		 "make %s of dirty pages durable and compute %.0f ms (= one measured flush)",
		 bench_size_str(sz, sizeof(sz), len), ms);
	bench_add_variant(&w, "submit flush, compute, reap: io_uring", BENCH_URING, false,
			  w7_prepare, w7_ring, w7_verify, &v[0], ctx->uring);
	bench_add_variant(&w, "submit flush, compute, reap: blocking", BENCH_BLOCKING, false,
			  w7_prepare, w7_ring, w7_verify, &v[1], ctx->blocking);
	bench_add_variant(&w, "msync(MS_SYNC), then compute", BENCH_HAND, true, w7_prepare,
			  w7_serial, w7_verify, &v[2], NULL);
	status = bench_run(ctx, &w);
out:
	for (int i = 0; i < 3; i++)
		if (file_close(&v[i].f) < 0) {
			bench_note_row("W7", "teardown", bench_last_error(), true);
			status = -1;
		}
	free(buf);
	return status;
}
