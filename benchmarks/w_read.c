/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W1 and W2: reading the resident input file.
 *
 * W1 reads it sequentially without copying (mmapio views of 1 MiB, the raw
 * mapping, or pread into a 1 MiB buffer) and sums every 64-bit word, so
 * each variant touches every byte exactly once.  W2 copies it out in 4 KiB
 * and 1 MiB pieces with mmapio_read or pread, without summing.
 *
 * The map, the raw mapping and the descriptor are opened once, before the
 * warm-up, as a program reading a file repeatedly would: the warm-up then
 * faults the page tables in and the measured runs see a resident file with
 * a populated mapping.  No backend takes part in these calls (views and
 * copies are core code), so there is one mmapio row and no per-backend rows.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

struct read_shared {
	mmapio_map *map;
	int fd;
	const unsigned char *raw;
	uint64_t len;
	uint64_t expected;        /* word sum of the file */
};

struct read_var {
	struct read_shared *sh;
	size_t piece;
	void *buf;
	uint64_t sum;             /* word sum seen by the last run */
};

static int w1_views(void *arg)
{
	struct read_var *rv = arg;
	uint64_t s = 0, len = rv->sh->len;

	for (uint64_t off = 0; off < len; off += rv->piece) {
		size_t n = len - off < rv->piece ? (size_t)(len - off) : rv->piece;
		struct mmapio_view v;
		int r = mmapio_view_read(rv->sh->map, off, n, &v);

		if (r < 0)
			return bench_fail("mmapio_view_read", r);
		s += bench_sum_words(v.data, v.len);
		mmapio_view_release(&v);
	}
	rv->sum = s;
	return 0;
}

static int w1_raw(void *arg)
{
	struct read_var *rv = arg;

	rv->sum = bench_sum_words(rv->sh->raw, rv->sh->len);
	return 0;
}

static int w1_pread(void *arg)
{
	struct read_var *rv = arg;
	uint64_t s = 0, len = rv->sh->len;

	for (uint64_t off = 0; off < len; off += rv->piece) {
		size_t n = len - off < rv->piece ? (size_t)(len - off) : rv->piece;

		if (pread(rv->sh->fd, rv->buf, n, (off_t)off) != (ssize_t)n)
			return bench_failf("pread at %llu: %s", (unsigned long long)off,
					   strerror(errno));
		s += bench_sum_words(rv->buf, n);
	}
	rv->sum = s;
	return 0;
}

static int read_verify(void *arg)
{
	struct read_var *rv = arg;

	if (rv->sum != rv->sh->expected)
		return bench_failf("word sum %#llx, expected %#llx", (unsigned long long)rv->sum,
				   (unsigned long long)rv->sh->expected);
	return 0;
}

/* The W2 loops; they sum only when verify asks, so that runs measure the copy alone. */
static int w2_mmapio_pass(struct read_var *rv, bool sum)
{
	uint64_t s = 0, len = rv->sh->len;

	for (uint64_t off = 0; off < len; off += rv->piece) {
		size_t n = len - off < rv->piece ? (size_t)(len - off) : rv->piece;
		int r = mmapio_read(rv->sh->map, off, rv->buf, n);

		if (r < 0)
			return bench_fail("mmapio_read", r);
		if (sum)
			s += bench_sum_words(rv->buf, n);
	}
	rv->sum = s;
	return 0;
}

static int w2_pread_pass(struct read_var *rv, bool sum)
{
	uint64_t s = 0, len = rv->sh->len;

	for (uint64_t off = 0; off < len; off += rv->piece) {
		size_t n = len - off < rv->piece ? (size_t)(len - off) : rv->piece;

		if (pread(rv->sh->fd, rv->buf, n, (off_t)off) != (ssize_t)n)
			return bench_failf("pread at %llu: %s", (unsigned long long)off,
					   strerror(errno));
		if (sum)
			s += bench_sum_words(rv->buf, n);
	}
	rv->sum = s;
	return 0;
}

static int w2_mmapio(void *arg)
{
	return w2_mmapio_pass(arg, false);
}

static int w2_pread(void *arg)
{
	return w2_pread_pass(arg, false);
}

static int w2_mmapio_verify(void *arg)
{
	return w2_mmapio_pass(arg, true) < 0 ? -1 : read_verify(arg);
}

static int w2_pread_verify(void *arg)
{
	return w2_pread_pass(arg, true) < 0 ? -1 : read_verify(arg);
}

static void w2_workload(const struct bench_ctx *ctx, struct read_shared *sh,
			struct read_var *vars, const char *id, size_t piece, int *status)
{
	struct bench_workload w = { .id = id, .unit = BENCH_GBPS, .amount = (double)sh->len };
	char sz[32], pc[32];

	snprintf(w.title, sizeof(w.title), "copy-out read of a resident %s file in %s pieces",
		 bench_size_str(sz, sizeof(sz), sh->len), bench_size_str(pc, sizeof(pc), piece));
	vars[0] = (struct read_var){ .sh = sh, .piece = piece, .buf = vars[0].buf };
	vars[1] = (struct read_var){ .sh = sh, .piece = piece, .buf = vars[1].buf };
	bench_add_variant(&w, "mmapio_read", BENCH_CORE, false, NULL, w2_mmapio, w2_mmapio_verify,
			  &vars[0], NULL);
	bench_add_variant(&w, "pread", BENCH_HAND, true, NULL, w2_pread, w2_pread_verify, &vars[1],
			  NULL);
	if (bench_run(ctx, &w) < 0)
		*status = -1;
}

int bench_w1_w2(const struct bench_ctx *ctx)
{
	struct read_shared sh = { .fd = -1, .raw = MAP_FAILED, .len = ctx->opts->size,
				  .expected = ctx->data_sum };
	struct read_var v[3] = { 0 };
	int status = 0, r;
	char sz[32];

	if (!bench_selected(ctx->opts, "W1") && !bench_selected(ctx->opts, "W2/4KiB") &&
	    !bench_selected(ctx->opts, "W2/1MiB"))
		return 0;
	r = mmapio_open(ctx->data_path, MMAPIO_READ_ONLY, NULL, &sh.map);
	if (r < 0) {
		bench_fail("mmapio_open(READ_ONLY)", r);
		bench_note_row("W1/W2", "setup", bench_last_error(), true);
		return -1;
	}
	sh.fd = open(ctx->data_path, O_RDONLY | O_CLOEXEC);
	if (sh.fd >= 0)
		sh.raw = mmap(NULL, sh.len, PROT_READ, MAP_SHARED, sh.fd, 0);
	for (int i = 0; i < 3; i++)
		v[i].buf = malloc(BENCH_VIEW_WINDOW);
	if (sh.fd < 0 || sh.raw == MAP_FAILED || !v[0].buf || !v[1].buf || !v[2].buf) {
		bench_note_row("W1/W2", "setup", strerror(errno), true);
		status = -1;
		goto out;
	}

	if (bench_selected(ctx->opts, "W1")) {
		struct bench_workload w = { .id = "W1", .unit = BENCH_GBPS, .amount = (double)sh.len };

		snprintf(w.title, sizeof(w.title),
			 "sequential zero-copy read + sum of a resident %s file (1 MiB windows)",
			 bench_size_str(sz, sizeof(sz), sh.len));
		v[0].sh = v[1].sh = v[2].sh = &sh;
		v[0].piece = v[2].piece = BENCH_VIEW_WINDOW;
		bench_add_variant(&w, "mmapio_view_read 1 MiB + sum", BENCH_CORE, false, NULL,
				  w1_views, read_verify, &v[0], NULL);
		bench_add_variant(&w, "raw mmap + sum", BENCH_HAND, true, NULL, w1_raw, read_verify,
				  &v[1], NULL);
		bench_add_variant(&w, "pread 1 MiB + sum", BENCH_HAND, false, NULL, w1_pread,
				  read_verify, &v[2], NULL);
		if (bench_run(ctx, &w) < 0)
			status = -1;
	}
	if (bench_selected(ctx->opts, "W2/4KiB"))
		w2_workload(ctx, &sh, v, "W2/4KiB", BENCH_SMALL_PIECE, &status);
	if (bench_selected(ctx->opts, "W2/1MiB"))
		w2_workload(ctx, &sh, v, "W2/1MiB", BENCH_LARGE_PIECE, &status);
out:
	for (int i = 0; i < 3; i++)
		free(v[i].buf);
	if (sh.raw != MAP_FAILED)
		munmap((void *)sh.raw, sh.len);
	if (sh.fd >= 0)
		close(sh.fd);
	r = mmapio_close(sh.map);
	if (r < 0) {
		bench_fail("mmapio_close", r);
		bench_note_row("W1/W2", "teardown", bench_last_error(), true);
		status = -1;
	}
	return status;
}
