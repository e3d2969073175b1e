/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W12: work beyond a queue depth, with the caller asleep.  1000 creates of
 * 4 KiB (--files when larger) are submitted with one mmapio_ring_submit on
 * an io_uring ring opened with default options (queue_depth 0), and timed
 * until every file is on disk:
 *
 *   caller asleep   after the submit the thread only sleeps, 1 ms at a
 *                   time, and looks at the files with stat (in submission
 *                   order, so about one stat per millisecond), never
 *                   calling the ring; it reaps once all are there, untimed
 *   driven batch    the submit, then mmapio_ring_wait until every
 *                   completion is back (the baseline)
 *
 * The goal is the ratio of the two medians.  After the rows, two notes:
 * how many creates were on disk after a fixed sleep of twice the driven
 * batch's median, with nothing but the sleep after the submit, on the
 * default ring and on the program's own io_uring ring (--qd, 64 unless
 * given), where a window of that size stops at its depth.
 *
 * prepare makes the run's fresh directory and prepares the creates, so the
 * timed part starts at the submit.  Files are never deleted before the
 * program ends (see W4 on ext4's recently deleted inodes).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench.h"

#define W12_FILES 1000u
#define W12_SIZE 4096u
#define W12_REPS_QUICK 5u

struct depth_var {
	const struct bench_ctx *ctx;
	mmapio_ring *ring;
	const char *name;       /* directory prefix of the variant's runs */
	bool asleep;
	unsigned n;
	unsigned run;           /* runs prepared so far */
	char dir[4160];         /* the current run's directory */
};

static void nap_ns(long ns)
{
	struct timespec ts = { ns / 1000000000L, ns % 1000000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void file_path(char *buf, size_t len, const char *dir, unsigned i)
{
	snprintf(buf, len, "%s/f%06u", dir, i);
}

/* True when file i of dir is there with its full size. */
static bool file_done(const char *dir, unsigned i)
{
	char p[4200];
	struct stat st;

	file_path(p, sizeof(p), dir, i);
	return stat(p, &st) == 0 && st.st_size == W12_SIZE;
}

static unsigned count_done(const char *dir, unsigned n)
{
	unsigned c = 0;

	for (unsigned i = 0; i < n; i++)
		c += file_done(dir, i);
	return c;
}

/* Makes a fresh directory for the next run and prepares its creates on ring. */
static int depth_prepare_on(struct depth_var *v, mmapio_ring *ring)
{
	char p[4200];
	int r;

	snprintf(v->dir, sizeof(v->dir), "%s/w12-%s-%u", v->ctx->opts->dir, v->name, v->run++);
	if (mkdir(v->dir, 0755) < 0)
		return bench_failf("mkdir %s: %s", v->dir, strerror(errno));
	for (unsigned i = 0; i < v->n; i++) {
		file_path(p, sizeof(p), v->dir, i);
		r = mmapio_ring_prep_create(ring, p, W12_SIZE, NULL, NULL);
		if (r < 0) {
			bench_ring_discard(ring);
			return bench_fail("mmapio_ring_prep_create", r);
		}
	}
	return 0;
}

static int depth_prepare(void *arg, unsigned rep)
{
	struct depth_var *v = arg;

	(void)rep;
	return depth_prepare_on(v, v->ring);
}

/*
 * Sleeps until every file of the run is on disk: checks them in
 * submission order, the next one each millisecond, then all once more.
 */
static void sleep_until_done(const struct depth_var *v)
{
	unsigned next = 0;

	for (;;) {
		while (next < v->n && file_done(v->dir, next))
			next++;
		if (next == v->n && count_done(v->dir, v->n) == v->n)
			return;
		nap_ns(1000000L);
	}
}

/* Times the submit and the sleep until all are on disk; reaps untimed. */
static int depth_run_asleep(void *arg, uint64_t *ns)
{
	struct depth_var *v = arg;
	uint64_t t0 = bench_now_ns();

	if (bench_ring_submit(v->ring, v->n, MMAPIO_OP_CREATE) < 0)
		return -1;
	sleep_until_done(v);
	*ns = bench_now_ns() - t0;
	return bench_ring_reap(v->ring, v->n, MMAPIO_OP_CREATE);
}

static int depth_run_driven(void *arg)
{
	struct depth_var *v = arg;

	return bench_ring_complete(v->ring, v->n, MMAPIO_OP_CREATE);
}

static int depth_verify(void *arg)
{
	struct depth_var *v = arg;
	unsigned done = count_done(v->dir, v->n);

	if (done != v->n)
		return bench_failf("%u of %u files are there with their size", done, v->n);
	return 0;
}

/*
 * Submits a batch on ring, sleeps sleep_ns, counts the files on disk, then
 * reaps.  Prints the count as a note row.
 */
static void depth_note_sleep(struct depth_var *v, mmapio_ring *ring, const char *what,
			     uint64_t sleep_ns)
{
	char text[160];
	unsigned done;

	if (depth_prepare_on(v, ring) < 0 ||
	    bench_ring_submit(ring, v->n, MMAPIO_OP_CREATE) < 0) {
		bench_note_row("W12", what, bench_last_error(), true);
		return;
	}
	nap_ns((long)sleep_ns);
	done = count_done(v->dir, v->n);
	if (bench_ring_reap(ring, v->n, MMAPIO_OP_CREATE) < 0) {
		bench_note_row("W12", what, bench_last_error(), true);
		return;
	}
	snprintf(text, sizeof(text), "%u of %u on disk after sleeping %.1f ms", done, v->n,
		 (double)sleep_ns / 1e6);
	bench_note_row("W12", what, text, false);
}

int bench_w12(const struct bench_ctx *ctx)
{
	struct bench_workload w = { .id = "W12", .unit = BENCH_MS, .amount = 1 };
	struct mmapio_ring_options ro = { .backend = MMAPIO_BACKEND_URING };
	struct depth_var v[2];
	const struct bench_result *driven;
	mmapio_ring *ring = NULL;
	unsigned n = ctx->opts->files > W12_FILES ? ctx->opts->files : W12_FILES;
	char qd[64];
	int r, status = 0;

	if (!bench_selected(ctx->opts, "W12"))
		return 0;
	if (ctx->uring == NULL) {
		bench_note_row("W12", "io_uring", "not run: io_uring unavailable (see the header)",
			       false);
		return 0;
	}
	r = mmapio_ring_open(&ro, &ring);
	if (r < 0) {
		bench_fail("mmapio_ring_open(queue_depth 0)", r);
		bench_note_row("W12", "setup", bench_last_error(), true);
		return -1;
	}
	memset(v, 0, sizeof(v));
	for (unsigned i = 0; i < 2; i++) {
		v[i].ctx = ctx;
		v[i].ring = ring;
		v[i].n = n;
		v[i].asleep = i == 0;
		v[i].name = i == 0 ? "asleep" : "driven";
	}
	snprintf(w.title, sizeof(w.title),
		 "%u creates of 4 KiB, one submit on a default ring: ms until all on disk", n);
	w.reps = ctx->opts->quick ? W12_REPS_QUICK : ctx->opts->reps;
	bench_add_timed_variant(&w, "caller asleep, stat only: io_uring", BENCH_URING, false,
				depth_prepare, depth_run_asleep, depth_verify, &v[0]);
	bench_add_variant(&w, "driven batch, ring_wait: io_uring", BENCH_URING, true,
			  depth_prepare, depth_run_driven, depth_verify, &v[1], ring);
	if (bench_run(ctx, &w) < 0)
		status = -1;

	driven = bench_result_find("W12", "driven batch, ring_wait: io_uring");
	if (driven != NULL && driven->ok && !bench_stopping()) {
		uint64_t sleep_ns = (uint64_t)(2 * driven->median * 1e6);

		depth_note_sleep(&v[0], ring, "asleep 2x driven: default ring", sleep_ns);
		snprintf(qd, sizeof(qd), "asleep 2x driven: queue_depth %u", ctx->opts->queue_depth);
		depth_note_sleep(&v[0], ctx->uring, qd, sleep_ns);
	}
	mmapio_ring_close(ring);
	return status;
}
