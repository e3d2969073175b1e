/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W3: create a file, write it in 64 KiB regions, make it durable.
 *
 * mmapio does it with mmapio_create (space preallocated), mmapio_write per
 * region and one flush of the whole map submitted on a ring of each backend.
 * The hand-written baseline is what a user of raw mmap writes: ftruncate
 * (a sparse file), mmap, memcpy per region, msync(MS_SYNC).  The other hand
 * variant skips the mapping: pwrite per region, then fdatasync.  Every run
 * starts from no file at all (prepare removes the previous run's file) and
 * ends with the data durable and the file closed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bench.h"

#define W3_SEED 3

struct w3_var {
	char *path;
	uint64_t size;
	const unsigned char *src;
	mmapio_ring *ring;
};

static int w3_prepare(void *arg, unsigned rep)
{
	struct w3_var *v = arg;

	(void)rep;
	if (unlink(v->path) < 0 && errno != ENOENT)
		return bench_failf("unlink %s: %s", v->path, strerror(errno));
	return 0;
}

static int w3_mmapio(void *arg)
{
	struct w3_var *v = arg;
	mmapio_map *map;
	int r, rc = -1;

	r = mmapio_create(v->path, v->size, NULL, &map);
	if (r < 0)
		return bench_fail("mmapio_create", r);
	for (uint64_t off = 0; off < v->size; off += BENCH_REGION) {
		r = mmapio_write(map, off, v->src + off, BENCH_REGION);
		if (r < 0) {
			bench_fail("mmapio_write", r);
			goto out;
		}
	}
	r = mmapio_ring_prep_flush(v->ring, map, 0, v->size, NULL);
	if (r < 0) {
		bench_fail("mmapio_ring_prep_flush", r);
		goto out;
	}
	rc = bench_ring_complete(v->ring, 1, MMAPIO_OP_FLUSH);
out:
	r = mmapio_close(map);
	if (r < 0 && rc == 0)
		rc = bench_fail("mmapio_close", r);
	return rc;
}

static int w3_hand_mmap(void *arg)
{
	struct w3_var *v = arg;
	unsigned char *p;
	int fd, rc = -1;

	fd = open(v->path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return bench_failf("open: %s", strerror(errno));
	if (ftruncate(fd, (off_t)v->size) < 0) {
		bench_failf("ftruncate: %s", strerror(errno));
		goto out;
	}
	p = mmap(NULL, v->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		bench_failf("mmap: %s", strerror(errno));
		goto out;
	}
	for (uint64_t off = 0; off < v->size; off += BENCH_REGION)
		memcpy(p + off, v->src + off, BENCH_REGION);
	if (msync(p, v->size, MS_SYNC) < 0)
		bench_failf("msync: %s", strerror(errno));
	else
		rc = 0;
	munmap(p, v->size);
out:
	close(fd);
	return rc;
}

static int w3_hand_pwrite(void *arg)
{
	struct w3_var *v = arg;
	int fd, rc = 0;

	fd = open(v->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return bench_failf("open: %s", strerror(errno));
	for (uint64_t off = 0; off < v->size && rc == 0; off += BENCH_REGION)
		if (pwrite(fd, v->src + off, BENCH_REGION, (off_t)off) != (ssize_t)BENCH_REGION)
			rc = bench_failf("pwrite: %s", strerror(errno));
	if (rc == 0 && fdatasync(fd) < 0)
		rc = bench_failf("fdatasync: %s", strerror(errno));
	close(fd);
	return rc;
}

static int w3_verify(void *arg)
{
	struct w3_var *v = arg;

	return bench_check_file_seed(v->path, v->size, W3_SEED);
}

int bench_w3(const struct bench_ctx *ctx)
{
	/* A quarter of --size, so that the default keeps within the time budget. */
	uint64_t size = ctx->opts->size / 4 / BENCH_REGION * BENCH_REGION;
	struct bench_workload w = { .id = "W3", .unit = BENCH_GBPS };
	static const char *const names[] = { "uring", "blocking", "mmap", "pwrite" };
	struct w3_var v[4] = { 0 };
	unsigned char *src;
	int status = -1;
	char sz[32];

	if (!bench_selected(ctx->opts, "W3"))
		return 0;
	if (size == 0)
		size = BENCH_REGION;
	src = malloc(size);
	if (!src) {
		bench_note_row("W3", "setup", "out of memory", true);
		return -1;
	}
	bench_fill(src, size, W3_SEED, 0);
	for (int i = 0; i < 4; i++) {
		v[i] = (struct w3_var){ .path = bench_path(ctx->opts->dir, "w3-%s", names[i]),
					.size = size, .src = src };
		if (!v[i].path) {
			bench_note_row("W3", "setup", "out of memory", true);
			goto out;
		}
	}
	v[0].ring = ctx->uring;
	v[1].ring = ctx->blocking;
	w.amount = (double)size;
	snprintf(w.title, sizeof(w.title),
		 "create a %s file, write it in 64 KiB regions, make it durable",
		 bench_size_str(sz, sizeof(sz), size));
	bench_add_variant(&w, "mmapio write+flush: io_uring", BENCH_URING, false, w3_prepare,
			  w3_mmapio, w3_verify, &v[0], ctx->uring);
	bench_add_variant(&w, "mmapio write+flush: blocking", BENCH_BLOCKING, false, w3_prepare,
			  w3_mmapio, w3_verify, &v[1], ctx->blocking);
	bench_add_variant(&w, "ftruncate+mmap+memcpy+msync", BENCH_HAND, true, w3_prepare,
			  w3_hand_mmap, w3_verify, &v[2], NULL);
	bench_add_variant(&w, "pwrite+fdatasync", BENCH_HAND, false, w3_prepare, w3_hand_pwrite,
			  w3_verify, &v[3], NULL);
	status = bench_run(ctx, &w);
out:
	for (int i = 0; i < 4; i++) {
		if (v[i].path)
			unlink(v[i].path);
		free(v[i].path);
	}
	free(src);
	return status;
}
