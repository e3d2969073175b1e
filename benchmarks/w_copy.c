/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W5: copy the resident input file to a new file.
 *
 * mmapio copies with one MMAPIO_OP_COPY on a ring of each backend (the same
 * operation mmapio_copy runs on the thread's default ring).  The hand-written
 * baseline is a copy_file_range loop, the other hand variant a read/write
 * loop through a 1 MiB buffer.  Each run starts with no destination (prepare
 * removes it) and ends with the copy closed, not synced: durability is W3's
 * and W6's subject, and a sync here would measure the disk instead of the
 * copy.  Removing the destination before the next run discards its dirty
 * pages, so write-back of earlier copies does not pile up behind later runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

struct w5_var {
	const char *src;
	char *dst;
	mmapio_ring *ring;
	char *buf;
};

static int w5_prepare(void *arg, unsigned rep)
{
	struct w5_var *v = arg;

	(void)rep;
	if (unlink(v->dst) < 0 && errno != ENOENT)
		return bench_failf("unlink %s: %s", v->dst, strerror(errno));
	return 0;
}

static int w5_ring(void *arg)
{
	struct w5_var *v = arg;
	int r = mmapio_ring_prep_copy(v->ring, v->src, v->dst, 0, NULL);

	if (r < 0)
		return bench_fail("mmapio_ring_prep_copy", r);
	return bench_ring_complete(v->ring, 1, MMAPIO_OP_COPY);
}

/* Opens both ends as a careful hand-written copy would; returns 0 or fails. */
static int open_pair(const struct w5_var *v, int *in, int *out, off_t *size)
{
	struct stat st;

	*in = open(v->src, O_RDONLY | O_CLOEXEC);
	if (*in < 0 || fstat(*in, &st) < 0) {
		if (*in >= 0)
			close(*in);
		return bench_failf("open %s: %s", v->src, strerror(errno));
	}
	*out = open(v->dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
	if (*out < 0) {
		close(*in);
		return bench_failf("open %s: %s", v->dst, strerror(errno));
	}
	*size = st.st_size;
	return 0;
}

static int w5_copy_file_range(void *arg)
{
	struct w5_var *v = arg;
	int in, out, rc = 0;
	off_t size, done = 0;

	if (open_pair(v, &in, &out, &size) < 0)
		return -1;
	while (done < size) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)(size - done), 0);

		if (n <= 0) {
			rc = bench_failf("copy_file_range: %s", n < 0 ? strerror(errno) : "early EOF");
			break;
		}
		done += n;
	}
	close(in);
	close(out);
	return rc;
}

static int w5_read_write(void *arg)
{
	struct w5_var *v = arg;
	int in, out, rc = 0;
	off_t size;
	ssize_t n;

	if (open_pair(v, &in, &out, &size) < 0)
		return -1;
	while (rc == 0 && (n = read(in, v->buf, BENCH_RW_BUFFER)) != 0) {
		if (n < 0) {
			rc = bench_failf("read: %s", strerror(errno));
			break;
		}
		for (ssize_t w = 0, k; w < n; w += k) {
			k = write(out, v->buf + w, (size_t)(n - w));
			if (k < 0) {
				rc = bench_failf("write: %s", strerror(errno));
				break;
			}
		}
	}
	close(in);
	close(out);
	return rc;
}

static int w5_verify(void *arg)
{
	struct w5_var *v = arg;

	return bench_check_files_equal(v->src, v->dst);
}

int bench_w5(const struct bench_ctx *ctx)
{
	static const char *const names[] = { "uring", "blocking", "cfr", "rw" };
	struct bench_workload w = { .id = "W5", .unit = BENCH_GBPS,
				    .amount = (double)ctx->opts->size };
	struct w5_var v[4] = { 0 };
	int status = -1;
	char sz[32];

	if (!bench_selected(ctx->opts, "W5"))
		return 0;
	for (int i = 0; i < 4; i++) {
		v[i].src = ctx->data_path;
		v[i].dst = bench_path(ctx->opts->dir, "w5-%s.copy", names[i]);
		if (!v[i].dst) {
			bench_note_row("W5", "setup", "out of memory", true);
			goto out;
		}
	}
	v[0].ring = ctx->uring;
	v[1].ring = ctx->blocking;
	v[3].buf = malloc(BENCH_RW_BUFFER);
	/* The source was read by main once, so it is resident; read it again to be sure. */
	if (!v[3].buf || bench_touch_file(ctx->data_path) < 0) {
		bench_note_row("W5", "setup", v[3].buf ? bench_last_error() : "out of memory", true);
		goto out;
	}
	snprintf(w.title, sizeof(w.title), "copy a resident %s file to a new file (not synced)",
		 bench_size_str(sz, sizeof(sz), ctx->opts->size));
	bench_add_variant(&w, "ring copy: io_uring", BENCH_URING, false, w5_prepare, w5_ring,
			  w5_verify, &v[0], ctx->uring);
	bench_add_variant(&w, "ring copy: blocking", BENCH_BLOCKING, false, w5_prepare, w5_ring,
			  w5_verify, &v[1], ctx->blocking);
	bench_add_variant(&w, "copy_file_range loop", BENCH_HAND, true, w5_prepare,
			  w5_copy_file_range, w5_verify, &v[2], NULL);
	bench_add_variant(&w, "read/write loop 1 MiB", BENCH_HAND, false, w5_prepare, w5_read_write,
			  w5_verify, &v[3], NULL);
	status = bench_run(ctx, &w);
out:
	for (int i = 0; i < 4; i++) {
		if (v[i].dst)
			unlink(v[i].dst);
		free(v[i].dst);
	}
	free(v[3].buf);
	return status;
}
