/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pc-child: the writer of the power-cut test.
 *
 *   pc-child CASE DIR ROUND
 *
 * Writes into the directory DIR with the library, in the way CASE names,
 * and after each item is durable as the library promises it (the flush,
 * the ring completion or the durable copy returned 0) writes the item's
 * number and the time to descriptor 3, the harness's pipe (format.h).  Items are
 * records of format.h in DIR/data, or batch-created files, or copies.  The
 * child runs until it is killed: the harness cuts the filesystem off at a
 * random moment, SIGKILLs it, remounts and checks every reported item.
 *
 * After the cut every call fails (-EIO, or -EFAULT from a guarded copy into
 * a page the filesystem will not give any more, or SIGBUS in a view): the
 * child then reports nothing more and exits with status 3, naming the call
 * on stderr.  The harness shows that text only when the child ended before
 * the cut, which is a finding of its own.
 *
 * Exit status: 77 when the case cannot run here (no io_uring), 2 for bad
 * usage, 3 when a library call failed.  DIR exists and is durable already
 * (the harness made it so).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "format.h"
#include "mmapio.h"

struct child {
	const char *dir;
	uint64_t round;
	mmapio_map *map;
	mmapio_ring *ring;
	const char *what; /* the call that failed */
	unsigned char rec[PC_REC_SIZE];
};

typedef int (*record_step)(struct child *c, uint64_t seq);

struct method {
	const char *name;
	int (*run)(struct child *c, const struct method *m);
	record_step step;             /* for run_records */
	enum mmapio_backend backend;  /* the ring's, or the default ring's */
};

/*
 * Hands one number to the harness, stamped with the time: called right
 * after the call that made the item durable returned.  A harness that is
 * gone ends the child.
 */
static void report(uint64_t n)
{
	struct pc_report rep = { n, pc_now_ns() };
	ssize_t w;

	do
		w = write(PC_REPORT_FD, &rep, sizeof(rep));
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)sizeof(rep))
		_exit(4);
}

/* Capacity reached: says so, then waits for the SIGKILL like any round. */
static _Noreturn void finish(void)
{
	report(PC_REPORT_DONE);
	for (;;)
		pause();
}

static int fail(const struct child *c, int r)
{
	fprintf(stderr, "pc-child: %s: %s\n", c->what, mmapio_strerror(r));
	return 3;
}

static int skip(const char *why, int r)
{
	fprintf(stderr, "pc-child: skip: %s: %s\n", why, mmapio_strerror(r));
	return PC_EXIT_SKIP;
}

static void path_in_dir(const struct child *c, char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", c->dir, name);
}

/*
 * Opens the ring of a ring case on the engine it names.  A machine without
 * io_uring skips the io_uring cases rather than testing the fallback twice.
 * Returns 0 or an exit status.
 */
static int open_ring(struct child *c, const struct method *m)
{
	struct mmapio_ring_options o = { .backend = m->backend };
	int r = mmapio_ring_open(&o, &c->ring);

	c->what = "mmapio_ring_open";
	if (r < 0)
		return m->backend == MMAPIO_BACKEND_URING ? skip("io_uring ring", r) : fail(c, r);
	if (mmapio_ring_backend(c->ring, NULL) != m->backend)
		return skip("the ring is not on the engine asked for", -ENOTSUP);
	return 0;
}

/* Submits what is prepared and waits for n completions; returns the first error. */
static int submit_and_wait(struct child *c, unsigned n, void (*done)(uint64_t))
{
	struct mmapio_completion comp[16];
	int r, first = 0;

	c->what = "mmapio_ring_submit";
	r = mmapio_ring_submit(c->ring);
	if (r < 0)
		return r;
	while (n > 0) {
		c->what = "mmapio_ring_wait";
		r = mmapio_ring_wait(c->ring, comp, n < 16 ? n : 16, 1, -1);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		for (int i = 0; i < r; i++) {
			if (comp[i].result < 0 && first == 0) {
				c->what = "ring completion";
				first = comp[i].result;
			}
			/* Each success is durable by itself: report it at once. */
			if (comp[i].result == 0 && done != NULL)
				done((uint64_t)(uintptr_t)comp[i].user_data);
		}
		n -= (unsigned)r;
	}
	return first;
}

/* ------------------------------------------------------------------------ */
/* Records: one per step, each step making its record durable its own way   */
/* ------------------------------------------------------------------------ */

static int step_flush(struct child *c, uint64_t seq)
{
	int r;

	c->what = "mmapio_write";
	r = mmapio_write(c->map, pc_rec_off(seq), c->rec, PC_REC_SIZE);
	if (r == 0) {
		c->what = "mmapio_flush";
		r = mmapio_flush(c->map);
	}
	return r;
}

static int step_flush_range(struct child *c, uint64_t seq)
{
	int r;

	c->what = "mmapio_write";
	r = mmapio_write(c->map, pc_rec_off(seq), c->rec, PC_REC_SIZE);
	if (r == 0) {
		c->what = "mmapio_flush_range";
		r = mmapio_flush_range(c->map, pc_rec_off(seq), PC_REC_SIZE);
	}
	return r;
}

static int step_segment(struct child *c, uint64_t seq)
{
	struct mmapio_segment seg;
	int r;

	c->what = "mmapio_segment_init";
	r = mmapio_segment_init(c->map, pc_rec_off(seq), PC_REC_SIZE, &seg);
	if (r == 0) {
		c->what = "mmapio_segment_write";
		r = mmapio_segment_write(&seg, 0, c->rec, PC_REC_SIZE);
	}
	if (r == 0) {
		c->what = "mmapio_segment_flush";
		r = mmapio_segment_flush(&seg);
	}
	return r;
}

static int step_ring(struct child *c, uint64_t seq)
{
	int r;

	c->what = "mmapio_write";
	r = mmapio_write(c->map, pc_rec_off(seq), c->rec, PC_REC_SIZE);
	if (r == 0) {
		c->what = "mmapio_ring_prep_flush";
		r = mmapio_ring_prep_flush(c->ring, c->map, pc_rec_off(seq), PC_REC_SIZE, NULL);
	}
	return r == 0 ? submit_and_wait(c, 1, NULL) : r;
}

/* Appends: the map grows by one record before each write. */
static int step_growth(struct child *c, uint64_t seq)
{
	int r = 0;

	if (seq > 0) {
		c->what = "mmapio_resize";
		r = mmapio_resize(c->map, pc_rec_off(seq + 1));
	}
	if (r == 0)
		r = step_flush(c, seq);
	return r;
}

static int step_view(struct child *c, uint64_t seq)
{
	struct mmapio_view v;
	int r;

	c->what = "mmapio_view_write";
	r = mmapio_view_write(c->map, pc_rec_off(seq), PC_REC_SIZE, &v);
	if (r < 0)
		return r;
	/* Unguarded: after the cut this may be the SIGBUS that ends the child. */
	memcpy(v.data, c->rec, PC_REC_SIZE);
	mmapio_view_release(&v);
	c->what = "mmapio_flush";
	return mmapio_flush(c->map);
}

/*
 * The control: written like the others, reported without any flush.  The
 * pause stands in for the flush, so that the control writes at about the
 * pace of the flushing cases and is still writing when the cut comes.
 */
static int step_control(struct child *c, uint64_t seq)
{
	struct timespec pause_for = { 0, 1000 * 1000 };

	c->what = "mmapio_write";
	nanosleep(&pause_for, NULL);
	return mmapio_write(c->map, pc_rec_off(seq), c->rec, PC_REC_SIZE);
}

/*
 * Creates DIR/data durably (the file and its directory entry), so that a
 * record's flush is all that stands between it and the disk.  Growth starts
 * with one record's room; in odd rounds without an address reservation, so
 * that both the in-place growth and the moving one are cut.
 */
static int open_data(struct child *c, const struct method *m)
{
	char path[PATH_MAX];
	bool growth = m->step == step_growth;
	struct mmapio_options o = {
		.flags = MMAPIO_CREATE_DURABLE,
		.reserve = growth && c->round % 2 == 0 ? pc_rec_off(PC_CAPACITY) : 0,
	};
	int r;

	path_in_dir(c, path, sizeof(path), PC_DATA_NAME);
	c->what = "mmapio_create";
	r = mmapio_create(path, pc_rec_off(growth ? 1 : PC_CAPACITY), &o, &c->map);
	return r < 0 ? fail(c, r) : 0;
}

static int run_records(struct child *c, const struct method *m)
{
	int r;

	if (m->backend != MMAPIO_BACKEND_AUTO && (r = open_ring(c, m)) != 0)
		return r;
	if ((r = open_data(c, m)) != 0)
		return r;
	for (uint64_t seq = 0; seq < PC_CAPACITY; seq++) {
		pc_record_fill(c->rec, PC_KIND_DATA, c->round, seq);
		r = m->step(c, seq);
		if (r < 0)
			return fail(c, r);
		report(seq);
	}
	finish();
}

/*
 * Batches of four records flushed as one prep_flush_ranges: records two
 * apart, given in reverse order, so that the ranges have gaps between them
 * (filled by the next batch) and must be sorted and coalesced correctly.
 */
static int run_ranges(struct child *c, const struct method *m)
{
	int r;

	if ((r = open_ring(c, m)) != 0 || (r = open_data(c, m)) != 0)
		return r;
	for (uint64_t b = 0;; b++) {
		uint64_t base = (b / 2) * 8 + b % 2;
		struct mmapio_range rg[4];

		if (base + 6 >= PC_CAPACITY)
			finish();
		for (unsigned k = 0; k < 4; k++) {
			uint64_t seq = base + 2 * k;

			pc_record_fill(c->rec, PC_KIND_DATA, c->round, seq);
			c->what = "mmapio_write";
			r = mmapio_write(c->map, pc_rec_off(seq), c->rec, PC_REC_SIZE);
			if (r < 0)
				return fail(c, r);
			rg[3 - k] = (struct mmapio_range){ pc_rec_off(seq), PC_REC_SIZE };
		}
		c->what = "mmapio_ring_prep_flush_ranges";
		r = mmapio_ring_prep_flush_ranges(c->ring, c->map, rg, 4, NULL);
		if (r == 0)
			r = submit_and_wait(c, 1, NULL);
		if (r < 0)
			return fail(c, r);
		for (unsigned k = 0; k < 4; k++)
			report(base + 2 * k);
	}
}

/*
 * A storage engine's commit, as one submit: the commit's data records are
 * written through the file (prep_write) and flushed, a barrier, the meta
 * record (the count of commits done) is written, a barrier, and the meta
 * range flushed.  Each commit's records are reported once all of it is
 * done.  The records are staged in a buffer of the child's own, which must
 * stay valid until the completions: one commit runs at a time.
 */
static int run_commits(struct child *c, const struct method *m)
{
	static unsigned char data[PC_COMMIT_RECS][PC_REC_SIZE], meta[PC_REC_SIZE];
	int r;

	if ((r = open_ring(c, m)) != 0 || (r = open_data(c, m)) != 0)
		return r;
	for (uint64_t k = 0; (k + 1) * PC_COMMIT_RECS < PC_META_SLOT; k++) {
		struct mmapio_range rg[PC_COMMIT_RECS];

		c->what = "mmapio_ring_prep_write";
		for (unsigned i = 0; i < PC_COMMIT_RECS && r == 0; i++) {
			uint64_t seq = k * PC_COMMIT_RECS + i;

			pc_record_fill(data[i], PC_KIND_DATA, c->round, seq);
			r = mmapio_ring_prep_write(c->ring, c->map, pc_rec_off(seq), data[i],
						   PC_REC_SIZE, NULL);
			rg[i] = (struct mmapio_range){ pc_rec_off(seq), PC_REC_SIZE };
		}
		if (r == 0) {
			c->what = "mmapio_ring_prep_flush_ranges";
			r = mmapio_ring_prep_flush_ranges(c->ring, c->map, rg, PC_COMMIT_RECS, NULL);
		}
		if (r == 0)
			r = mmapio_ring_barrier(c->ring);
		if (r == 0) {
			pc_record_fill(meta, PC_KIND_DATA, c->round, k + 1);
			c->what = "mmapio_ring_prep_write (meta)";
			r = mmapio_ring_prep_write(c->ring, c->map, pc_rec_off(PC_META_SLOT), meta,
						   PC_REC_SIZE, NULL);
		}
		if (r == 0)
			r = mmapio_ring_barrier(c->ring);
		if (r == 0) {
			c->what = "mmapio_ring_prep_flush (meta)";
			r = mmapio_ring_prep_flush(c->ring, c->map, pc_rec_off(PC_META_SLOT),
						   PC_REC_SIZE, NULL);
		}
		if (r == 0)
			r = submit_and_wait(c, PC_COMMIT_RECS + 3, NULL);
		if (r < 0)
			return fail(c, r);
		for (unsigned i = 0; i < PC_COMMIT_RECS; i++)
			report(k * PC_COMMIT_RECS + i);
	}
	finish();
}

/* ------------------------------------------------------------------------ */
/* Durable batch creates                                                     */
/* ------------------------------------------------------------------------ */

#define CREATE_BATCH 8u

/*
 * Batches of eight durable creates in one submit; each file is reported as
 * its completion arrives.  Odd files are sparse, even ones preallocated, so
 * both ways of sizing a file are cut.
 */
static int run_creates(struct child *c, const struct method *m)
{
	char path[PATH_MAX], name[32];
	int r;

	if ((r = open_ring(c, m)) != 0)
		return r;
	for (uint64_t n = 0; n + CREATE_BATCH <= PC_CAPACITY; n += CREATE_BATCH) {
		for (uint64_t k = n; k < n + CREATE_BATCH; k++) {
			struct mmapio_options o = {
				.flags = MMAPIO_CREATE_DURABLE | MMAPIO_CREATE_EXCLUSIVE |
					 (k % 2 ? MMAPIO_CREATE_SPARSE : 0),
			};

			pc_create_name(name, sizeof(name), k);
			path_in_dir(c, path, sizeof(path), name);
			c->what = "mmapio_ring_prep_create";
			r = mmapio_ring_prep_create(c->ring, path, pc_create_size(k), &o,
						    (void *)(uintptr_t)k);
			if (r < 0)
				return fail(c, r);
		}
		r = submit_and_wait(c, CREATE_BATCH, report);
		if (r < 0)
			return fail(c, r);
	}
	finish();
}

/* ------------------------------------------------------------------------ */
/* Overwriting durable copies                                                */
/* ------------------------------------------------------------------------ */

/*
 * Writes a copy source with plain system calls and makes it durable: the
 * sources are the fixed input of the case, not what it tests.
 */
static int write_source(struct child *c, enum pc_kind kind, const char *name)
{
	char path[PATH_MAX];
	int fd;

	path_in_dir(c, path, sizeof(path), name);
	c->what = "writing a copy source";
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	for (uint32_t blk = 0; blk < pc_copy_blocks(kind); blk++) {
		pc_record_fill(c->rec, kind, c->round, blk);
		if (write(fd, c->rec, PC_REC_SIZE) != (ssize_t)PC_REC_SIZE) {
			close(fd);
			return errno ? -errno : -EIO;
		}
	}
	if (fsync(fd) < 0) {
		close(fd);
		return -errno;
	}
	return close(fd) < 0 ? -errno : 0;
}

static int sync_dir(struct child *c)
{
	int fd = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	c->what = "syncing the directory";
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * The other writer on the filesystem, as any real system has one: it
 * appends to a file of its own and fsyncs it every couple of milliseconds,
 * and each of those fsyncs commits the journal with whatever else is in
 * the running transaction, such as a copy's half-done replacement of the
 * destination.  Without it the only commits would be the copies' own, and
 * a replace that is not atomic would still look atomic on ext4.  Plain
 * system calls: it is the setting, not the test.  It stops at the first
 * error, which comes with the cut.
 */
static void *busy_writer(void *arg)
{
	const struct child *c = arg;
	struct timespec gap = { 0, 200 * 1000 };
	char path[PATH_MAX], buf[PC_REC_SIZE];
	int fd;

	memset(buf, 'x', sizeof(buf));
	path_in_dir(c, path, sizeof(path), PC_COPY_BUSY);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return NULL;
	for (unsigned i = 0;; i = (i + 1) % 64) {
		/* Growing and cutting back: every fsync has metadata to commit. */
		if (i == 0 && ftruncate(fd, 0) < 0)
			break;
		if (pwrite(fd, buf, sizeof(buf), (off_t)i * PC_REC_SIZE) < 0 || fsync(fd) < 0)
			break;
		nanosleep(&gap, NULL);
	}
	close(fd);
	return NULL;
}

/*
 * Copy 0 puts A in place (a durable copy to a new name); copy i > 0
 * replaces the destination with A or B by MMAPIO_COPY_OVERWRITE |
 * MMAPIO_COPY_DURABLE, alternately, so that after the cut the destination
 * must be one complete version: the last reported one or the one after,
 * while busy_writer commits the journal under them.  The engine is the default ring's, chosen by MMAPIO_BACKEND, set here
 * before the first call as a user would.
 */
static int run_copies(struct child *c, const struct method *m)
{
	char src[2][PATH_MAX], dst[PATH_MAX];
	const char *reason;
	pthread_t busy;
	int r;

	setenv("MMAPIO_BACKEND", m->backend == MMAPIO_BACKEND_URING ? "uring" : "fallback", 1);
	r = mmapio_default_backend(&reason);
	if (r < 0 || r != (int)m->backend)
		return skip(r < 0 ? "default ring" : reason, r < 0 ? r : -ENOTSUP);
	if ((r = write_source(c, PC_KIND_COPY_A, PC_COPY_SRC_A)) < 0 ||
	    (r = write_source(c, PC_KIND_COPY_B, PC_COPY_SRC_B)) < 0 || (r = sync_dir(c)) < 0)
		return fail(c, r);
	path_in_dir(c, src[0], sizeof(src[0]), PC_COPY_SRC_A);
	path_in_dir(c, src[1], sizeof(src[1]), PC_COPY_SRC_B);
	path_in_dir(c, dst, sizeof(dst), PC_COPY_DST);
	r = pthread_create(&busy, NULL, busy_writer, c);
	if (r != 0) {
		c->what = "pthread_create";
		return fail(c, -r);
	}
	for (uint64_t i = 0; i < PC_CAPACITY; i++) {
		unsigned flags = MMAPIO_COPY_DURABLE | (i > 0 ? MMAPIO_COPY_OVERWRITE : 0);

		c->what = "mmapio_copy";
		r = mmapio_copy(src[pc_copy_kind(i) == PC_KIND_COPY_B], dst, flags);
		if (r < 0)
			return fail(c, r);
		report(i);
	}
	finish();
}

/* ------------------------------------------------------------------------ */

/* The cases; the harness's table (harness.c) names the same ones. */
static const struct method methods[] = {
	{ "flush", run_records, step_flush, MMAPIO_BACKEND_AUTO },
	{ "flush_range", run_records, step_flush_range, MMAPIO_BACKEND_AUTO },
	{ "segment", run_records, step_segment, MMAPIO_BACKEND_AUTO },
	{ "ring-uring", run_records, step_ring, MMAPIO_BACKEND_URING },
	{ "ring-fallback", run_records, step_ring, MMAPIO_BACKEND_FALLBACK },
	{ "ranges-uring", run_ranges, NULL, MMAPIO_BACKEND_URING },
	{ "ranges-fallback", run_ranges, NULL, MMAPIO_BACKEND_FALLBACK },
	{ "growth", run_records, step_growth, MMAPIO_BACKEND_AUTO },
	{ "view", run_records, step_view, MMAPIO_BACKEND_AUTO },
	{ "create-uring", run_creates, NULL, MMAPIO_BACKEND_URING },
	{ "create-fallback", run_creates, NULL, MMAPIO_BACKEND_FALLBACK },
	{ "copy-uring", run_copies, NULL, MMAPIO_BACKEND_URING },
	{ "copy-fallback", run_copies, NULL, MMAPIO_BACKEND_FALLBACK },
	{ "commit-uring", run_commits, NULL, MMAPIO_BACKEND_URING },
	{ "commit-fallback", run_commits, NULL, MMAPIO_BACKEND_FALLBACK },
	{ "control", run_records, step_control, MMAPIO_BACKEND_AUTO },
};

int main(int argc, char **argv)
{
	struct child c = { 0 };
	char *end;

	if (argc != 4) {
		fprintf(stderr, "usage: pc-child CASE DIR ROUND (reports on descriptor 3)\n");
		return 2;
	}
	if (fcntl(PC_REPORT_FD, F_GETFD) < 0) {
		fprintf(stderr, "pc-child: descriptor %d (the report pipe) is not open\n",
			PC_REPORT_FD);
		return 2;
	}
	c.dir = argv[2];
	errno = 0;
	c.round = strtoull(argv[3], &end, 10);
	if (errno != 0 || *end != '\0') {
		fprintf(stderr, "pc-child: bad round '%s'\n", argv[3]);
		return 2;
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, argv[1]) == 0)
			return methods[i].run(&c, &methods[i]);
	fprintf(stderr, "pc-child: unknown case '%s'\n", argv[1]);
	return 2;
}
