/* SPDX-License-Identifier: Apache-2.0 */
/*
 * S1: single operations, one at a time, in microseconds each: the
 * synchronous call, the same operation on a ring, and the system calls a
 * user would write by hand.
 *
 * The synchronous calls (mmapio_delete, mmapio_flush_range, mmapio_copy)
 * run direct system calls on the calling thread, except copies of 512 KiB
 * and more, which go through the thread's default ring, whose backend
 * MMAPIO_BACKEND picks when the thread first uses it.  The ring variants
 * open a ring of their own with the backend option and run each operation
 * as prep + submit + wait for its completion.  Every variant runs on a
 * thread of its own: the synchronous ones created right after setenv() of
 * MMAPIO_BACKEND and checked with mmapio_default_backend, the ring ones
 * with their ring opened on that thread (a ring is not thread-safe), and
 * the hand-written baseline too, so that every variant is handed its
 * operation the same way.  The thread times only the operation: the
 * hand-over, and the untimed preparation the main thread did before it
 * (make the file to delete, dirty the page to flush, remove the copy's
 * destination), stay out of the figure.
 *
 *   S1/delete   mmapio_delete of a 64 KiB file (space allocated) vs unlink
 *   S1/flush    mmapio_flush_range of one dirty 4 KiB page of a read-write
 *               map vs msync(MS_SYNC) of that page, re-dirtied before each
 *   S1/copy4K   mmapio_copy of a resident 4 KiB file to a new file vs a
 *               hand-written open + copy_file_range loop + close; the same
 *               for 64 KiB, 256 KiB, 512 KiB and 1 MiB (S1/copy1M), where
 *               the library's choice between direct and ring changes
 *
 * Each operation runs on an io_uring ring and on a blocking ring, and as
 * the synchronous call with the default ring on io_uring and on the
 * blocking backend.  A run is one operation, so min and max are single
 * operations; the variants take turns in every repetition.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

#define S1_PAGE 4096u
#define S1_FLUSH_FILE (64u << 10)
#define S1_REPS 501u
#define S1_REPS_QUICK 101u
#define S1_THREADS 5

/*
 * A thread that runs one variant's operations: synchronous calls with its
 * own default ring, operations on a ring of its own, or system calls.
 */
struct s1_thread {
	const char *label;       /* "ring, io_uring", for the variant names */
	const char *backend_env; /* sync variants: MMAPIO_BACKEND for the default ring */
	bool own_ring;           /* ring variants: open a ring with backend want */
	enum mmapio_backend want;
	enum bench_kind kind;
	pthread_t tid;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int (*job)(void *arg, uint64_t *ns);
	void *arg;
	uint64_t ns;
	int rc;
	bool busy, quit, ready;
	mmapio_ring *ring;       /* own_ring: the thread's ring */
	int backend;             /* the backend of that ring (or -errno) */
	char reason[192];
};

/* One variant of one S1 workload. */
struct s1_var {
	struct s1_thread *t;
	int (*job)(void *arg, uint64_t *ns);   /* the timed call, run on t */
	bool hand;
	unsigned index;          /* among the workload's variants, for unique names */
	const char *dir;
	char *path;              /* delete: the current file; copy: the destination */
	const char *src;         /* copy */
	unsigned rep;
	/* flush */
	char *fpath;
	int fd;
	mmapio_map *map;
	unsigned char *raw;
	uint64_t stamp;
};

/*
 * Opens the ring the thread's variant uses: its own (own_ring), or the
 * default ring now, while the environment is the one meant for it.
 * Returns the backend or -errno, with *reason set.
 */
static int s1_thread_ring(struct s1_thread *t, const char **reason)
{
	struct mmapio_ring_options o = { .backend = t->want };
	int r;

	if (t->backend_env)
		return mmapio_default_backend(reason);
	if (!t->own_ring)
		return -1;
	r = mmapio_ring_open(&o, &t->ring);
	if (r < 0)
		return r;
	return (int)mmapio_ring_backend(t->ring, reason);
}

static void *s1_thread_main(void *arg)
{
	struct s1_thread *t = arg;
	const char *reason = NULL;
	int b = s1_thread_ring(t, &reason);

	pthread_mutex_lock(&t->mu);
	t->backend = b;
	snprintf(t->reason, sizeof(t->reason), "%s", reason ? reason : "");
	t->ready = true;
	pthread_cond_broadcast(&t->cv);
	for (;;) {
		while (!t->busy && !t->quit)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->quit)
			break;
		pthread_mutex_unlock(&t->mu);
		{
			uint64_t ns = 0;
			int rc = t->job(t->arg, &ns);

			pthread_mutex_lock(&t->mu);
			t->rc = rc;
			t->ns = ns;
		}
		t->busy = false;
		pthread_cond_broadcast(&t->cv);
	}
	pthread_mutex_unlock(&t->mu);
	mmapio_ring_close(t->ring);
	return NULL;
}

/* Runs job(arg) on t and waits for it.  Returns its result, with *ns set. */
static int s1_call(struct s1_thread *t, int (*job)(void *, uint64_t *), void *arg, uint64_t *ns)
{
	int rc;

	pthread_mutex_lock(&t->mu);
	t->job = job;
	t->arg = arg;
	t->busy = true;
	pthread_cond_broadcast(&t->cv);
	while (t->busy)
		pthread_cond_wait(&t->cv, &t->mu);
	rc = t->rc;
	*ns = t->ns;
	pthread_mutex_unlock(&t->mu);
	return rc;
}

static int set_or_unset(const char *name, const char *value)
{
	return value ? setenv(name, value, 1) : unsetenv(name);
}

/*
 * Starts t with its environment, waits until its default ring is open, and
 * restores nothing: the caller puts the environment back once all threads
 * are up.  Returns 0 or fails with a message.
 */
static int s1_thread_start(struct s1_thread *t)
{
	int rc;

	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	if (t->backend_env && set_or_unset("MMAPIO_BACKEND", t->backend_env) < 0)
		return bench_failf("setenv: %s", strerror(errno));
	rc = pthread_create(&t->tid, NULL, s1_thread_main, t);
	if (rc != 0)
		return bench_failf("pthread_create: %s", strerror(rc));
	t->running = true;
	pthread_mutex_lock(&t->mu);
	while (!t->ready)
		pthread_cond_wait(&t->cv, &t->mu);
	pthread_mutex_unlock(&t->mu);
	return 0;
}

static void s1_thread_stop(struct s1_thread *t)
{
	if (!t->running)
		return;
	pthread_mutex_lock(&t->mu);
	t->quit = true;
	pthread_cond_broadcast(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->tid, NULL);
	t->running = false;
}

/* True when the thread's ring is on the backend it asked for. */
static bool s1_thread_ok(const struct s1_thread *t)
{
	return t->kind == BENCH_HAND || t->backend == (int)t->want;
}

/*
 * Runs the one operation just prepared on ring (prep_rc: what its prep call
 * returned): submit, and wait for its completion.  Returns its result, or
 * the -errno of the prep call, the submit or the wait.
 */
static int s1_ring_one(mmapio_ring *ring, int prep_rc)
{
	struct mmapio_completion c;
	int r;

	if (prep_rc < 0)
		return prep_rc;
	r = mmapio_ring_submit(ring);
	if (r < 0)
		return r;
	r = mmapio_ring_wait(ring, &c, 1, 1, -1);
	if (r < 0)
		return r;
	return r == 1 ? c.result : -EIO;
}

/* The name of what a variant's job calls, for failure messages. */
static const char *s1_call_name(const struct s1_var *v, const char *sync_call)
{
	return v->t->ring ? "ring prep + submit + wait" : sync_call;
}

static const char *backend_name(int b)
{
	return b == MMAPIO_BACKEND_URING ? "io_uring" : b == MMAPIO_BACKEND_FALLBACK ? "blocking"
										     : "none";
}

/* --- S1/delete ------------------------------------------------------------ */

static int del_prepare(void *arg, unsigned rep)
{
	struct s1_var *v = arg;
	int fd;

	free(v->path);
	v->path = bench_path(v->dir, "d%u-%u", v->index, rep);
	if (!v->path)
		return bench_failf("out of memory");
	fd = open(v->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return bench_failf("open %s: %s", v->path, strerror(errno));
	if (fallocate(fd, 0, 0, BENCH_FILE_SIZE) < 0) {
		close(fd);
		return bench_failf("fallocate %s: %s", v->path, strerror(errno));
	}
	close(fd);
	return 0;
}

static int del_job(void *arg, uint64_t *ns)
{
	struct s1_var *v = arg;
	uint64_t t0 = bench_now_ns(), t1;
	int r;

	if (v->hand)
		r = unlink(v->path) < 0 ? -errno : 0;
	else if (v->t->ring)
		r = s1_ring_one(v->t->ring, mmapio_ring_prep_delete(v->t->ring, v->path, v));
	else
		r = mmapio_delete(v->path);
	t1 = bench_now_ns();
	*ns = t1 - t0;
	if (r < 0)
		return bench_fail(v->hand ? "unlink" : s1_call_name(v, "mmapio_delete"), r);
	return 0;
}

static int del_verify(void *arg)
{
	struct s1_var *v = arg;
	struct stat st;

	if (lstat(v->path, &st) == 0 || errno != ENOENT)
		return bench_failf("%s still exists after the delete", v->path);
	return 0;
}

/* --- S1/flush ------------------------------------------------------------- */

static int flush_open(struct s1_var *v)
{
	int r;

	v->fd = -1;
	v->fpath = bench_path(v->dir, "flush%u", v->index);
	if (!v->fpath)
		return bench_failf("out of memory");
	if (bench_make_file(v->fpath, S1_FLUSH_FILE, 11, NULL) < 0)
		return -1;
	v->fd = open(v->fpath, O_RDWR | O_CLOEXEC);
	if (v->fd < 0)
		return bench_failf("open %s: %s", v->fpath, strerror(errno));
	if (!v->hand) {
		r = mmapio_open(v->fpath, MMAPIO_READ_WRITE, NULL, &v->map);
		return r < 0 ? bench_fail("mmapio_open(READ_WRITE)", r) : 0;
	}
	v->raw = mmap(NULL, S1_FLUSH_FILE, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->raw == MAP_FAILED) {
		v->raw = NULL;
		return bench_failf("mmap: %s", strerror(errno));
	}
	return 0;
}

static void flush_close(struct s1_var *v)
{
	if (v->map)
		mmapio_close(v->map);
	if (v->raw)
		munmap(v->raw, S1_FLUSH_FILE);
	if (v->fd >= 0)
		close(v->fd);
	if (v->fpath)
		unlink(v->fpath);
	free(v->fpath);
}

/* Dirties the page with a new stamp, through the library or the raw mapping. */
static int flush_prepare(void *arg, unsigned rep)
{
	struct s1_var *v = arg;
	int r;

	v->stamp = 0x5100000000000000u | ((uint64_t)v->index << 32) | rep;
	if (v->hand) {
		memcpy(v->raw, &v->stamp, sizeof(v->stamp));
		return 0;
	}
	r = mmapio_write(v->map, 0, &v->stamp, sizeof(v->stamp));
	return r < 0 ? bench_fail("mmapio_write", r) : 0;
}

static int flush_job(void *arg, uint64_t *ns)
{
	struct s1_var *v = arg;
	uint64_t t0 = bench_now_ns(), t1;
	int r;

	if (v->hand)
		r = msync(v->raw, S1_PAGE, MS_SYNC) < 0 ? -errno : 0;
	else if (v->t->ring)
		r = s1_ring_one(v->t->ring,
				mmapio_ring_prep_flush(v->t->ring, v->map, 0, S1_PAGE, v));
	else
		r = mmapio_flush_range(v->map, 0, S1_PAGE);
	t1 = bench_now_ns();
	*ns = t1 - t0;
	if (r < 0)
		return bench_fail(v->hand ? "msync" : s1_call_name(v, "mmapio_flush_range"), r);
	return 0;
}

/* The stamp reads back through the file; durability itself is not observable here. */
static int flush_verify(void *arg)
{
	struct s1_var *v = arg;
	uint64_t got;

	if (pread(v->fd, &got, sizeof(got), 0) != (ssize_t)sizeof(got))
		return bench_failf("pread: %s", strerror(errno));
	if (got != v->stamp)
		return bench_failf("the page holds %#llx, expected %#llx", (unsigned long long)got,
				   (unsigned long long)v->stamp);
	return 0;
}

/* --- S1/copy4K, S1/copy1M ------------------------------------------------- */

static int copy_prepare(void *arg, unsigned rep)
{
	struct s1_var *v = arg;

	(void)rep;
	if (unlink(v->path) < 0 && errno != ENOENT)
		return bench_failf("unlink %s: %s", v->path, strerror(errno));
	return 0;
}

/* The copy a careful user writes by hand.  Returns 0 or -errno. */
static int copy_by_hand(const char *src, const char *dst)
{
	struct stat st;
	int in, out, r = 0;
	off_t done = 0;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (fstat(in, &st) < 0) {
		r = -errno;
		close(in);
		return r;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
	if (out < 0) {
		r = -errno;
		close(in);
		return r;
	}
	while (done < st.st_size) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)(st.st_size - done), 0);

		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		done += n;
	}
	close(in);
	if (close(out) < 0 && r == 0)
		r = -errno;
	return r;
}

static int copy_job(void *arg, uint64_t *ns)
{
	struct s1_var *v = arg;
	uint64_t t0 = bench_now_ns(), t1;
	int r;

	if (v->hand)
		r = copy_by_hand(v->src, v->path);
	else if (v->t->ring)
		r = s1_ring_one(v->t->ring, mmapio_ring_prep_copy(v->t->ring, v->src, v->path, 0, v));
	else
		r = mmapio_copy(v->src, v->path, 0);
	t1 = bench_now_ns();
	*ns = t1 - t0;
	if (r < 0)
		return bench_fail(v->hand ? "copy_file_range copy" : s1_call_name(v, "mmapio_copy"), r);
	return 0;
}

static int copy_verify(void *arg)
{
	struct s1_var *v = arg;

	return bench_check_files_equal(v->src, v->path);
}

/* --- the workloads -------------------------------------------------------- */

unsigned bench_s1_reps(const struct bench_opts *opts)
{
	unsigned reps = opts->quick ? S1_REPS_QUICK : S1_REPS;

	return opts->reps > reps ? opts->reps : reps;
}

/* The harness's run_timed: hands the variant's call to its thread. */
static int s1_run(void *arg, uint64_t *ns)
{
	struct s1_var *v = arg;

	return s1_call(v->t, v->job, v, ns);
}

struct s1_spec {
	const char *id;
	const char *call;        /* "mmapio_delete", for the variant names */
	const char *ring_call;   /* "ring delete", for the ring variants' names */
	const char *hand_name;
	char title[160];
	int (*prepare)(void *, unsigned);
	int (*job)(void *, uint64_t *);
	int (*verify)(void *);
	uint64_t copy_size;      /* copy workloads: the source's size */
	bool flush;
};

/* Runs one S1 workload on the started threads.  Returns 0 or -1. */
static int s1_workload(const struct bench_ctx *ctx, struct s1_thread *threads,
		       const struct s1_spec *spec)
{
	struct bench_workload w = { .unit = BENCH_US_OP, .amount = 1 };
	struct s1_var v[S1_THREADS];
	char names[S1_THREADS][64];
	char *dir = NULL, *src = NULL;
	int status = -1;

	memset(v, 0, sizeof(v));
	for (int i = 0; i < S1_THREADS; i++)
		v[i].fd = -1;
	if (!bench_selected(ctx->opts, spec->id))
		return 0;
	w.id = spec->id;
	w.reps = bench_s1_reps(ctx->opts);
	snprintf(w.title, sizeof(w.title), "%s", spec->title);
	dir = bench_path(ctx->opts->dir, "%s", strchr(spec->id, '/') + 1);
	if (!dir || mkdir(dir, 0755) < 0) {
		bench_note_row(spec->id, "setup", dir ? strerror(errno) : "out of memory", true);
		goto out;
	}
	if (spec->copy_size) {
		src = bench_path(dir, "src");
		if (!src || bench_make_file(src, spec->copy_size, 12, NULL) < 0 ||
		    bench_touch_file(src) < 0) {
			bench_note_row(spec->id, "setup", src ? bench_last_error() : "out of memory",
				       true);
			goto out;
		}
	}
	for (int i = 0; i < S1_THREADS; i++) {
		struct s1_thread *t = &threads[i];

		v[i].t = t;
		v[i].hand = t->kind == BENCH_HAND;
		v[i].index = (unsigned)i;
		v[i].dir = dir;
		v[i].src = src;
		v[i].job = spec->job;
		if (v[i].hand)
			snprintf(names[i], sizeof(names[i]), "%s", spec->hand_name);
		else if (t->own_ring)
			snprintf(names[i], sizeof(names[i]), "%s %s", spec->ring_call, t->label);
		else
			snprintf(names[i], sizeof(names[i]), "%s %s", spec->call, t->label);
		if (!s1_thread_ok(t)) {
			char why[256];

			snprintf(why, sizeof(why), "not run: backend %s, %s (%d), asked for %s",
				 backend_name(t->backend), t->reason[0] ? t->reason : mmapio_strerror(t->backend),
				 t->backend, backend_name((int)t->want));
			bench_note_row(spec->id, names[i], why, false);
			continue;
		}
		if (spec->copy_size) {
			v[i].path = bench_path(dir, "dst%d", i);
			if (!v[i].path) {
				bench_note_row(spec->id, "setup", "out of memory", true);
				goto out;
			}
		}
		if (spec->flush && flush_open(&v[i]) < 0) {
			bench_note_row(spec->id, "setup", bench_last_error(), true);
			goto out;
		}
		bench_add_timed_variant(&w, names[i], t->kind, v[i].hand, spec->prepare, s1_run,
					spec->verify, &v[i]);
	}
	status = bench_run(ctx, &w);
out:
	for (int i = 0; i < S1_THREADS; i++) {
		if (spec->flush)
			flush_close(&v[i]);
		if (v[i].path)
			unlink(v[i].path);
		free(v[i].path);
	}
	if (src)
		unlink(src);
	free(src);
	if (dir)
		bench_rmtree(dir);
	free(dir);
	return status;
}

int bench_s1(const struct bench_ctx *ctx)
{
	struct s1_thread threads[S1_THREADS] = {
		{ .label = "", .kind = BENCH_HAND },
		{ .label = "io_uring", .own_ring = true, .want = MMAPIO_BACKEND_URING,
		  .kind = BENCH_URING },
		{ .label = "blocking", .own_ring = true, .want = MMAPIO_BACKEND_FALLBACK,
		  .kind = BENCH_BLOCKING },
		{ .label = "default io_uring", .backend_env = "uring",
		  .want = MMAPIO_BACKEND_URING, .kind = BENCH_URING },
		{ .label = "default blocking", .backend_env = "fallback",
		  .want = MMAPIO_BACKEND_FALLBACK, .kind = BENCH_BLOCKING },
	};
	struct s1_spec specs[] = {
		{ .id = "S1/delete", .call = "mmapio_delete", .ring_call = "ring delete",
		  .hand_name = "unlink",
		  .prepare = del_prepare, .job = del_job, .verify = del_verify },
		{ .id = "S1/flush", .call = "mmapio_flush_range", .ring_call = "ring flush",
		  .hand_name = "msync(MS_SYNC) 4 KiB",
		  .prepare = flush_prepare, .job = flush_job, .verify = flush_verify, .flush = true },
#define S1_COPY(name, size)                                                            \
		{ .id = "S1/copy" name, .call = "mmapio_copy", .ring_call = "ring copy", \
		  .hand_name = "open+copy_file_range+close", .prepare = copy_prepare,  \
		  .job = copy_job, .verify = copy_verify, .copy_size = (size) }
		S1_COPY("4K", 4u << 10),
		S1_COPY("64K", 64u << 10),
		S1_COPY("256K", 256u << 10),
		S1_COPY("512K", 512u << 10),
		S1_COPY("1M", 1u << 20),
#undef S1_COPY
	};
	char *old_backend = NULL;
	const char *env;
	bool any = false;
	int status = 0;

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
		any = any || bench_selected(ctx->opts, specs[i].id);
	if (!any)
		return 0;
	snprintf(specs[0].title, sizeof(specs[0].title),
		 "one delete of a 64 KiB file (us per op, median of single ops)");
	snprintf(specs[1].title, sizeof(specs[1].title),
		 "one flush of one dirty 4 KiB page of a 64 KiB read-write map");
	for (size_t i = 2; i < sizeof(specs) / sizeof(specs[0]); i++) {
		char sz[32];

		snprintf(specs[i].title, sizeof(specs[i].title),
			 "one copy of a resident %s file to a new file (not synced)",
			 bench_size_str(sz, sizeof(sz), specs[i].copy_size));
	}

	/* Each thread's default ring reads the environment once, when it opens. */
	env = getenv("MMAPIO_BACKEND");
	old_backend = env ? strdup(env) : NULL;
	printf("-- S1 threads: one per variant; synchronous calls with the default ring opened "
	       "right after setenv, ring operations on a ring of the thread's own\n");
	for (int i = 0; i < S1_THREADS; i++) {
		struct s1_thread *t = &threads[i];

		if (s1_thread_start(t) < 0) {
			bench_note_row("S1", "setup", bench_last_error(), true);
			status = -1;
			goto out;
		}
		if (t->kind == BENCH_HAND)
			continue;
		printf("   %-18s %s%s: backend %s (reason \"%s\")%s\n", t->label,
		       t->own_ring ? "own ring" : "MMAPIO_BACKEND=",
		       t->own_ring ? "" : t->backend_env, backend_name(t->backend),
		       t->reason[0] ? t->reason : mmapio_strerror(t->backend),
		       s1_thread_ok(t) ? "" : "  NOT WHAT IT ASKED FOR");
	}
	set_or_unset("MMAPIO_BACKEND", old_backend);

	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]) && !bench_stopping(); i++)
		if (s1_workload(ctx, threads, &specs[i]) < 0)
			status = -1;
out:
	set_or_unset("MMAPIO_BACKEND", old_backend);
	for (int i = 0; i < S1_THREADS; i++)
		s1_thread_stop(&threads[i]);
	free(old_backend);
	return status;
}
