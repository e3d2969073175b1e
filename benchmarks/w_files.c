/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W4 and W9: many small files.
 *
 * W4 creates N files of 64 KiB with their space allocated, once all in one
 * directory and once spread over 8 (where io_uring's parallel workers can
 * take different directory locks).  The ring variants prepare N creates,
 * submit them with one call and reap N completions; the hand-written loop
 * is open(O_CREAT|O_TRUNC) + fallocate + close per file.  W4/durable makes
 * up to 200 of them durable (sparse, MMAPIO_CREATE_DURABLE, one submit)
 * against the loop a careful user writes: open + ftruncate + fsync + close
 * per file and one fsync of the directory at the end, which is what the
 * ring's shared directory sync should cost too.  W9 deletes N such
 * files: N ring deletes against an unlink loop.  Each run works in its own
 * directory, made before the first run: W4 runs create into an empty one,
 * W9 runs delete a set of files all made before the first delete (set_init
 * says why).  The rings are opened once by main, so ring setup is not part
 * of a run.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "bench.h"

struct file_set {
	char *dir;
	char **paths;            /* runs * n names: run r's file i is paths[r * n + i] */
	unsigned n;
	unsigned runs;
};

struct files_var {
	struct file_set *set;
	mmapio_ring *ring;
	unsigned index;          /* position among the workload's variants */
	unsigned nvars;
	char **cur;              /* the current run's n names */
};

/* Frees the names; the files stay until main removes the working directory. */
static void set_free(struct file_set *s)
{
	for (unsigned i = 0; s->paths && i < (size_t)s->n * s->runs; i++)
		free(s->paths[i]);
	free(s->paths);
	free(s->dir);
}

/*
 * Makes one fresh directory per run (with ndirs subdirectories when ndirs > 1)
 * and the names of the n files of every run.  Fresh directories, and no
 * deletion before the program ends, keep ext4 from skipping over recently
 * deleted inodes in every create: without a journal, ext4 will not reuse an
 * inode freed in the last 30 s, and a loop that deletes and recreates
 * thousands of files ends up measuring that scan (quadratic) instead of the
 * creates.
 */
static int set_init(struct file_set *s, const char *top, const char *name, unsigned n,
		    unsigned ndirs, unsigned runs)
{
	uint64_t need = (uint64_t)n * runs * BENCH_FILE_SIZE;
	struct statvfs fs;

	s->n = n;
	s->runs = runs;
	s->dir = bench_path(top, "%s", name);
	s->paths = calloc((size_t)n * runs, sizeof(char *));
	if (!s->dir || !s->paths)
		return bench_failf("out of memory");
	if (statvfs(top, &fs) == 0 && need > (uint64_t)fs.f_bavail * fs.f_frsize / 2)
		return bench_failf("%llu MiB of files would take more than half the free space",
				   (unsigned long long)(need >> 20));
	if (mkdir(s->dir, 0755) < 0)
		return bench_failf("mkdir %s: %s", s->dir, strerror(errno));
	for (unsigned r = 0; r < runs; r++) {
		char *d = bench_path(s->dir, "run%u", r);
		int rc = d ? mkdir(d, 0755) : -1;

		for (unsigned k = 0; rc == 0 && ndirs > 1 && k < ndirs; k++) {
			char *sub = bench_path(d, "d%u", k);

			rc = sub ? mkdir(sub, 0755) : -1;
			free(sub);
		}
		for (unsigned i = 0; rc == 0 && i < n; i++) {
			char **p = &s->paths[(size_t)r * n + i];

			*p = ndirs > 1 ? bench_path(d, "d%u/f%05u", i % ndirs, i)
				       : bench_path(d, "f%05u", i);
			if (!*p)
				rc = -1;
		}
		free(d);
		if (rc < 0)
			return bench_failf("making run directories: %s", strerror(errno));
	}
	return 0;
}

static int create_one(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return bench_failf("open %s: %s", path, strerror(errno));
	if (fallocate(fd, 0, 0, BENCH_FILE_SIZE) < 0) {
		close(fd);
		return bench_failf("fallocate %s: %s", path, strerror(errno));
	}
	close(fd);
	return 0;
}

/* Every run of every variant gets its own set of names (see set_init). */
static int files_prepare(void *arg, unsigned rep)
{
	struct files_var *v = arg;

	v->cur = &v->set->paths[(size_t)(rep * v->nvars + v->index) * v->set->n];
	return 0;
}

static int w4_ring(void *arg)
{
	struct files_var *v = arg;

	for (unsigned i = 0; i < v->set->n; i++) {
		int r = mmapio_ring_prep_create(v->ring, v->cur[i], BENCH_FILE_SIZE, NULL,
						NULL);

		if (r < 0) {
			bench_ring_discard(v->ring);
			return bench_fail("mmapio_ring_prep_create", r);
		}
	}
	return bench_ring_complete(v->ring, v->set->n, MMAPIO_OP_CREATE);
}

static int w4_hand(void *arg)
{
	struct files_var *v = arg;

	for (unsigned i = 0; i < v->set->n; i++)
		if (create_one(v->cur[i]) < 0)
			return -1;
	return 0;
}

/*
 * Checks that every file of the run is a regular file of BENCH_FILE_SIZE
 * bytes, and with allocated set that its blocks are allocated.
 */
static int verify_files(const struct files_var *v, bool allocated)
{
	struct stat st;

	for (unsigned i = 0; i < v->set->n; i++) {
		const char *p = v->cur[i];

		if (stat(p, &st) < 0)
			return bench_failf("%s: %s", p, strerror(errno));
		if (!S_ISREG(st.st_mode) || st.st_size != BENCH_FILE_SIZE)
			return bench_failf("%s: %lld bytes, expected %u", p, (long long)st.st_size,
					   BENCH_FILE_SIZE);
		if (allocated && (uint64_t)st.st_blocks * 512 < BENCH_FILE_SIZE)
			return bench_failf("%s: only %lld bytes allocated, expected %u", p,
					   (long long)st.st_blocks * 512, BENCH_FILE_SIZE);
	}
	return 0;
}

static int w4_verify(void *arg)
{
	return verify_files(arg, true);
}

static int w4_layout(const struct bench_ctx *ctx, const char *id, unsigned ndirs)
{
	struct file_set set = { 0 };
	struct files_var v[3];
	struct bench_workload w = { .id = id, .unit = BENCH_FILES_S };
	int status = -1;

	if (!bench_selected(ctx->opts, id))
		return 0;
	if (set_init(&set, ctx->opts->dir, ndirs > 1 ? "w4-spread" : "w4-one", ctx->opts->files,
		     ndirs, (ctx->opts->reps + 1) * 3) < 0) {
		bench_note_row(id, "setup", bench_last_error(), true);
		goto out;
	}
	w.amount = set.n;
	if (ndirs > 1)
		snprintf(w.title, sizeof(w.title),
			 "create %u files of 64 KiB (allocated), spread over %u fresh directories", set.n,
			 ndirs);
	else
		snprintf(w.title, sizeof(w.title),
			 "create %u files of 64 KiB (allocated) in one fresh directory", set.n);
	v[0] = (struct files_var){ &set, ctx->uring, 0, 3, NULL };
	v[1] = (struct files_var){ &set, ctx->blocking, 1, 3, NULL };
	v[2] = (struct files_var){ &set, NULL, 2, 3, NULL };
	bench_add_variant(&w, "ring create: io_uring", BENCH_URING, false, files_prepare, w4_ring,
			  w4_verify, &v[0], ctx->uring);
	bench_add_variant(&w, "ring create: blocking", BENCH_BLOCKING, false, files_prepare, w4_ring,
			  w4_verify, &v[1], ctx->blocking);
	bench_add_variant(&w, "open+fallocate+close loop", BENCH_HAND, true, files_prepare, w4_hand,
			  w4_verify, &v[2], NULL);
	status = bench_run(ctx, &w);
out:
	set_free(&set);
	return status;
}

/* The durable files of W4/durable: sparse, as ftruncate leaves them. */
static const struct mmapio_options durable_opts = {
	.flags = MMAPIO_CREATE_DURABLE | MMAPIO_CREATE_SPARSE,
};

static int w4d_ring(void *arg)
{
	struct files_var *v = arg;

	for (unsigned i = 0; i < v->set->n; i++) {
		int r = mmapio_ring_prep_create(v->ring, v->cur[i], BENCH_FILE_SIZE, &durable_opts,
						NULL);

		if (r < 0) {
			bench_ring_discard(v->ring);
			return bench_fail("mmapio_ring_prep_create", r);
		}
	}
	return bench_ring_complete(v->ring, v->set->n, MMAPIO_OP_CREATE);
}

/* Opens the directory that holds path and fsyncs it.  Returns 0 or -1. */
static int fsync_parent(const char *path)
{
	char *dir = strdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	int fd, rc = 0;

	if (slash == NULL) {
		free(dir);
		return bench_failf("no directory in %s", path);
	}
	*slash = '\0';
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		rc = bench_failf("fsync of %s: %s", dir, strerror(errno));
	if (fd >= 0)
		close(fd);
	free(dir);
	return rc;
}

static int w4d_hand(void *arg)
{
	struct files_var *v = arg;

	for (unsigned i = 0; i < v->set->n; i++) {
		const char *p = v->cur[i];
		int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd < 0)
			return bench_failf("open %s: %s", p, strerror(errno));
		if (ftruncate(fd, BENCH_FILE_SIZE) < 0 || fsync(fd) < 0) {
			close(fd);
			return bench_failf("ftruncate+fsync %s: %s", p, strerror(errno));
		}
		close(fd);
	}
	return fsync_parent(v->cur[0]);
}

static int w4d_verify(void *arg)
{
	/* Sparse: the durable creates only size their files. */
	return verify_files(arg, false);
}

static int w4_durable(const struct bench_ctx *ctx)
{
	const char *id = "W4/durable";
	unsigned n = ctx->opts->files < 200 ? ctx->opts->files : 200;
	struct file_set set = { 0 };
	struct files_var v[3];
	struct bench_workload w = { .id = id, .unit = BENCH_FILES_S };
	int status = -1;

	if (!bench_selected(ctx->opts, id))
		return 0;
	if (set_init(&set, ctx->opts->dir, "w4-durable", n, 1, (ctx->opts->reps + 1) * 3) < 0) {
		bench_note_row(id, "setup", bench_last_error(), true);
		goto out;
	}
	w.amount = set.n;
	snprintf(w.title, sizeof(w.title),
		 "create %u durable files of 64 KiB (sparse) in one fresh directory, one submit",
		 set.n);
	v[0] = (struct files_var){ &set, ctx->uring, 0, 3, NULL };
	v[1] = (struct files_var){ &set, ctx->blocking, 1, 3, NULL };
	v[2] = (struct files_var){ &set, NULL, 2, 3, NULL };
	bench_add_variant(&w, "ring create DURABLE: io_uring", BENCH_URING, false, files_prepare,
			  w4d_ring, w4d_verify, &v[0], ctx->uring);
	bench_add_variant(&w, "ring create DURABLE: blocking", BENCH_BLOCKING, false,
			  files_prepare, w4d_ring, w4d_verify, &v[1], ctx->blocking);
	bench_add_variant(&w, "open+ftruncate+fsync loop, 1 dir fsync", BENCH_HAND, true,
			  files_prepare, w4d_hand, w4d_verify, &v[2], NULL);
	status = bench_run(ctx, &w);
out:
	set_free(&set);
	return status;
}

int bench_w4(const struct bench_ctx *ctx)
{
	int a = w4_layout(ctx, "W4/1dir", 1);
	int b = w4_layout(ctx, "W4/8dirs", BENCH_SPREAD_DIRS);
	int c = w4_durable(ctx);

	return a < 0 || b < 0 || c < 0 ? -1 : 0;
}

static int w9_ring(void *arg)
{
	struct files_var *v = arg;

	for (unsigned i = 0; i < v->set->n; i++) {
		int r = mmapio_ring_prep_delete(v->ring, v->cur[i], NULL);

		if (r < 0) {
			bench_ring_discard(v->ring);
			return bench_fail("mmapio_ring_prep_delete", r);
		}
	}
	return bench_ring_complete(v->ring, v->set->n, MMAPIO_OP_DELETE);
}

static int w9_hand(void *arg)
{
	struct files_var *v = arg;

	for (unsigned i = 0; i < v->set->n; i++)
		if (unlink(v->cur[i]) < 0)
			return bench_failf("unlink %s: %s", v->cur[i], strerror(errno));
	return 0;
}

static int w9_verify(void *arg)
{
	struct files_var *v = arg;
	struct stat st;

	for (unsigned i = 0; i < v->set->n; i++)
		if (lstat(v->cur[i], &st) == 0 || errno != ENOENT)
			return bench_failf("%s still exists after the delete", v->cur[i]);
	return 0;
}

int bench_w9(const struct bench_ctx *ctx)
{
	struct file_set set = { 0 };
	struct files_var v[3];
	struct bench_workload w = { .id = "W9", .unit = BENCH_FILES_S };
	int status = -1;

	if (!bench_selected(ctx->opts, "W9"))
		return 0;
	if (set_init(&set, ctx->opts->dir, "w9", ctx->opts->files, 1, (ctx->opts->reps + 1) * 3) < 0) {
		bench_note_row("W9", "setup", bench_last_error(), true);
		goto out;
	}
	/* All files of all runs exist before the first delete, for the reason set_init gives. */
	for (size_t i = 0; i < (size_t)set.n * set.runs; i++)
		if (create_one(set.paths[i]) < 0) {
			bench_note_row("W9", "setup", bench_last_error(), true);
			goto out;
		}
	w.amount = set.n;
	snprintf(w.title, sizeof(w.title), "delete %u files of 64 KiB in one directory", set.n);
	v[0] = (struct files_var){ &set, ctx->uring, 0, 3, NULL };
	v[1] = (struct files_var){ &set, ctx->blocking, 1, 3, NULL };
	v[2] = (struct files_var){ &set, NULL, 2, 3, NULL };
	bench_add_variant(&w, "ring delete: io_uring", BENCH_URING, false, files_prepare, w9_ring,
			  w9_verify, &v[0], ctx->uring);
	bench_add_variant(&w, "ring delete: blocking", BENCH_BLOCKING, false, files_prepare, w9_ring,
			  w9_verify, &v[1], ctx->blocking);
	bench_add_variant(&w, "unlink loop", BENCH_HAND, true, files_prepare, w9_hand, w9_verify, &v[2],
			  NULL);
	status = bench_run(ctx, &w);
out:
	set_free(&set);
	return status;
}
