/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Durable creates, copies and renames in one submit share their directory
 * syncs: each directory is synced once, after the last durable operation
 * in it, and those operations complete only after that sync, with its
 * error when it fails.  Every test runs once per engine (the rings are
 * opened by name, as the flush suite does): on the blocking engine the
 * directory syncs are counted in the system-call table (an fsync of a
 * descriptor opened with O_DIRECTORY), on io_uring with the engine's CQE
 * counts (mmapio__ur_hooks.cqes, step DFSYNC of every kind).
 */
#include "helpers.h"
#include "uring/hooks.h"

#include <fcntl.h>

TestSuite(dir_sync, .init = th_setup, .fini = th_teardown, .timeout = 120);

/* The user_data of operation i: an address no real pointer has. */
#define UD(i) ((void *)(uintptr_t)(0x1000 + (i)))
#define UD_INDEX(p) ((uintptr_t)(p) - 0x1000)

/* ---- counting directory syncs on the blocking engine ---- */

#define MAX_FDS 4096

/* What the wrapped system calls saw, for the blocking engine's tests. */
static struct {
	char *dir_of_fd[MAX_FDS];   /* the path of each descriptor opened O_DIRECTORY */
	unsigned dir_syncs;         /* fsyncs of such descriptors */
	unsigned creates;           /* openat with O_CREAT that succeeded */
	unsigned creates_at_sync[8]; /* creates seen by the first 8 directory syncs */
	const char *fail_dir;       /* a directory whose fsync fails with -EIO, or NULL */
} seen;

static int (*real_openat)(int, const char *, int, unsigned);
static int (*real_close)(int);
static int (*real_fsync)(int);

static int counting_openat(int dirfd, const char *path, int flags, unsigned mode)
{
	int fd = real_openat(dirfd, path, flags, mode);

	if (fd >= 0 && fd < MAX_FDS && (flags & O_DIRECTORY)) {
		free(seen.dir_of_fd[fd]);
		seen.dir_of_fd[fd] = strdup(path);
	}
	if (fd >= 0 && (flags & O_CREAT))
		seen.creates++;
	return fd;
}

static int counting_close(int fd)
{
	if (fd >= 0 && fd < MAX_FDS) {
		free(seen.dir_of_fd[fd]);
		seen.dir_of_fd[fd] = NULL;
	}
	return real_close(fd);
}

static int counting_fsync(int fd)
{
	const char *dir = fd >= 0 && fd < MAX_FDS ? seen.dir_of_fd[fd] : NULL;

	if (dir == NULL)
		return real_fsync(fd);
	if (seen.dir_syncs < 8)
		seen.creates_at_sync[seen.dir_syncs] = seen.creates;
	seen.dir_syncs++;
	if (seen.fail_dir != NULL && strcmp(dir, seen.fail_dir) == 0)
		return -EIO;
	return real_fsync(fd);
}

/* Opens a ring on engine and starts counting its directory syncs. */
static mmapio_ring *open_counted(enum mmapio_backend engine)
{
	mmapio_ring *ring = th_open_engine_ring(engine);

	/* io_uring's engine makes blocking calls too, a ring's close among them. */
	real_openat = mmapio__sys.openat;
	real_close = mmapio__sys.close;
	real_fsync = mmapio__sys.fsync;
	mmapio__sys.openat = counting_openat;
	mmapio__sys.close = counting_close;
	mmapio__sys.fsync = counting_fsync;
	memset(mmapio__ur_hooks.cqes, 0, sizeof(mmapio__ur_hooks.cqes));
	return ring;
}

/*
 * The directory syncs so far: the fsyncs of directories in the system-call
 * table, plus on io_uring those that went to the kernel.
 */
static unsigned dir_syncs(enum mmapio_backend engine)
{
	unsigned long n = seen.dir_syncs;

	if (engine == MMAPIO_BACKEND_FALLBACK)
		return (unsigned)n;
	for (unsigned k = 0; k < MMAPIO__UR_NKINDS; k++)
		n += mmapio__ur_hooks.cqes[k][MMAPIO__UR_DFSYNC];
	return (unsigned)n;
}

/*
 * Waits for all n outstanding completions, stores each result by its
 * user_data index (UD(i), i < n) and checks that each came exactly once.
 */
static void reap_all(mmapio_ring *ring, unsigned n, int *results)
{
	struct mmapio_completion c[64], extra;
	unsigned seen_ud[256] = { 0 }, got = 0;

	cr_assert_leq(n, 256);
	while (got < n) {
		int rc = mmapio_ring_wait(ring, c, 64, 1, 30000);

		cr_assert_gt(rc, 0, "wait: %d (%s) after %u of %u", rc, mmapio_strerror(rc), got,
			     n);
		for (int k = 0; k < rc; k++) {
			uintptr_t i = UD_INDEX(c[k].user_data);

			cr_assert_lt(i, n, "a completion with user_data %p", c[k].user_data);
			seen_ud[i]++;
			results[i] = c[k].result;
		}
		got += (unsigned)rc;
	}
	for (unsigned i = 0; i < n; i++)
		cr_assert_eq(seen_ud[i], 1, "operation %u completed %u times", i, seen_ud[i]);
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
	TH_ASSERT_RC(mmapio_ring_peek(ring, &extra, 1), 0);
}

static const struct mmapio_options durable = { .flags = MMAPIO_CREATE_DURABLE };

/* Fills path with dir/name<i>. */
static void name_in(char *path, size_t size, const char *dir, const char *name, unsigned i)
{
	int n = snprintf(path, size, "%s/%s%u", dir, name, i);

	cr_assert(n > 0 && (size_t)n < size);
}

/* Makes the directory th_dir/name and fills dir with its path. */
static void make_dir(char *dir, size_t size, const char *name)
{
	th_path(dir, size, name);
	cr_assert_eq(mkdir(dir, 0755), 0, "mkdir %s: %s", dir, strerror(errno));
}

/* Each test runs on both engines: name_uring and name_blocking. */
#define BOTH_ENGINES(name)                                                   \
	static void name(enum mmapio_backend engine);                        \
	Test(dir_sync, name##_uring) { name(MMAPIO_BACKEND_URING); }          \
	Test(dir_sync, name##_blocking) { name(MMAPIO_BACKEND_FALLBACK); }    \
	static void name(enum mmapio_backend engine)

/* ---- the tests ---- */

#define NCREATES 200

/* The defect of issue 11: a batch of durable creates synced the directory per file. */
BOTH_ENGINES(durable_creates_in_one_dir_sync_it_once)
{
	mmapio_ring *ring = open_counted(engine);
	static int res[NCREATES];
	char dir[PATH_MAX], p[PATH_MAX];

	make_dir(dir, sizeof(dir), "d");
	for (unsigned i = 0; i < NCREATES; i++) {
		name_in(p, sizeof(p), dir, "f", i);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 4096, &durable, UD(i)), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), NCREATES);
	reap_all(ring, NCREATES, res);
	for (unsigned i = 0; i < NCREATES; i++) {
		cr_assert_eq(res[i], 0, "create %u: %d (%s)", i, res[i], mmapio_strerror(res[i]));
		name_in(p, sizeof(p), dir, "f", i);
		cr_assert_eq(th_file_size(p), 4096);
	}
	cr_assert_eq(dir_syncs(engine), 1, "%u durable creates in one dir issue 1 dir sync, got %u",
		     NCREATES, dir_syncs(engine));
	if (engine == MMAPIO_BACKEND_FALLBACK)
		cr_assert_eq(seen.creates_at_sync[0], NCREATES,
			     "the directory was synced after %u of %u creates",
			     seen.creates_at_sync[0], NCREATES);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

BOTH_ENGINES(two_directories_get_two_syncs)
{
	mmapio_ring *ring = open_counted(engine);
	char a[PATH_MAX], b[PATH_MAX], p[PATH_MAX];
	int res[10];

	make_dir(a, sizeof(a), "a");
	make_dir(b, sizeof(b), "b");
	/* Interleaved: the sharing does not depend on the order of the preps. */
	for (unsigned i = 0; i < 10; i++) {
		name_in(p, sizeof(p), i % 2 ? b : a, "f", i);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 0, &durable, UD(i)), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), 10);
	reap_all(ring, 10, res);
	for (unsigned i = 0; i < 10; i++)
		cr_assert_eq(res[i], 0, "create %u: %d", i, res[i]);
	cr_assert_eq(dir_syncs(engine), 2);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* An op alone in its directory keeps its own sync, as before. */
BOTH_ENGINES(an_op_alone_in_its_directory_syncs_it_itself)
{
	mmapio_ring *ring = open_counted(engine);
	char a[PATH_MAX], b[PATH_MAX], p[PATH_MAX];
	int res[2];

	make_dir(a, sizeof(a), "a");
	make_dir(b, sizeof(b), "b");
	name_in(p, sizeof(p), a, "f", 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 10, &durable, UD(0)), 0);
	name_in(p, sizeof(p), b, "f", 1);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 10, &durable, UD(1)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 2);
	reap_all(ring, 2, res);
	cr_assert_eq(res[0], 0);
	cr_assert_eq(res[1], 0);
	cr_assert_eq(dir_syncs(engine), 2);
	if (engine == MMAPIO_BACKEND_URING) {
		cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_CREATE][MMAPIO__UR_DFSYNC], 2);
		cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_SYNC_DIR][MMAPIO__UR_DFSYNC], 0);
	}
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * Copies and renames share the sync too; a rename between two directories
 * syncs both, once each, with the other operations of each.
 */
BOTH_ENGINES(durable_copies_and_renames_share_the_syncs)
{
	mmapio_ring *ring = open_counted(engine);
	char a[PATH_MAX], b[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	TH_PATH(src, "src");
	int res[6];

	make_dir(a, sizeof(a), "a");
	make_dir(b, sizeof(b), "b");
	th_write_pattern_file(src, 10000, 3);
	for (unsigned i = 0; i < 3; i++) {
		name_in(p, sizeof(p), a, "copy", i);
		TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, p, MMAPIO_COPY_DURABLE, UD(i)), 0);
	}
	for (unsigned i = 3; i < 6; i++) {
		name_in(p, sizeof(p), b, "old", i);
		th_write_file(p, "x", 1, 0644);
		name_in(q, sizeof(q), a, "moved", i);
		TH_ASSERT_RC(mmapio_ring_prep_rename(ring, p, q, MMAPIO_RENAME_DURABLE, UD(i)), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), 6);
	reap_all(ring, 6, res);
	for (unsigned i = 0; i < 6; i++)
		cr_assert_eq(res[i], 0, "op %u: %d (%s)", i, res[i], mmapio_strerror(res[i]));
	for (unsigned i = 0; i < 3; i++) {
		name_in(p, sizeof(p), a, "copy", i);
		th_assert_file_pattern(p, 10000, 3);
	}
	for (unsigned i = 3; i < 6; i++) {
		name_in(q, sizeof(q), a, "moved", i);
		th_assert_file_eq(q, "x", 1);
	}
	cr_assert_eq(dir_syncs(engine), 2, "a and b once each, got %u", dir_syncs(engine));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * A failed operation of the batch fails alone; the others still share one
 * sync, and non-durable operations in the same directory are unaffected.
 */
BOTH_ENGINES(non_durable_and_failed_ops_beside_a_shared_sync)
{
	mmapio_ring *ring = open_counted(engine);
	struct mmapio_options excl = { .flags = MMAPIO_CREATE_DURABLE | MMAPIO_CREATE_EXCLUSIVE };
	char a[PATH_MAX], p[PATH_MAX];
	int res[8];

	make_dir(a, sizeof(a), "a");
	name_in(p, sizeof(p), a, "taken", 0);
	th_write_file(p, "keep", 4, 0644);
	/* 0-2 durable, 3 durable and exclusive on an existing file, 4-5 plain, 6 delete, 7 sync_dir. */
	for (unsigned i = 0; i < 3; i++) {
		name_in(p, sizeof(p), a, "f", i);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 100, &durable, UD(i)), 0);
	}
	name_in(p, sizeof(p), a, "taken", 0);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 100, &excl, UD(3)), 0);
	for (unsigned i = 4; i < 6; i++) {
		name_in(p, sizeof(p), a, "f", i);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 100, NULL, UD(i)), 0);
	}
	name_in(p, sizeof(p), a, "missing", 6);
	TH_ASSERT_RC(mmapio_ring_prep_delete(ring, p, UD(6)), 0);
	TH_ASSERT_RC(mmapio_ring_prep_sync_dir(ring, a, UD(7)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 8);
	reap_all(ring, 8, res);
	for (unsigned i = 0; i < 3; i++)
		cr_assert_eq(res[i], 0, "durable create %u: %d", i, res[i]);
	TH_ASSERT_RC(res[3], -EEXIST);
	name_in(p, sizeof(p), a, "taken", 0);
	th_assert_file_eq(p, "keep", 4);
	cr_assert_eq(res[4], 0);
	cr_assert_eq(res[5], 0);
	TH_ASSERT_RC(res[6], -ENOENT);
	cr_assert_eq(res[7], 0);
	/* The shared one and the caller's own. */
	cr_assert_eq(dir_syncs(engine), 2, "got %u", dir_syncs(engine));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * A barrier ends the sharing: each group syncs its directory before the
 * next group starts.
 */
BOTH_ENGINES(each_barrier_group_gets_its_own_sync)
{
	mmapio_ring *ring = open_counted(engine);
	char a[PATH_MAX], p[PATH_MAX];
	int res[9];

	make_dir(a, sizeof(a), "a");
	for (unsigned i = 0; i < 9; i++) {
		if (i == 3 || i == 6)
			TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
		name_in(p, sizeof(p), a, "f", i);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 100, &durable, UD(i)), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), 9);
	reap_all(ring, 9, res);
	for (unsigned i = 0; i < 9; i++)
		cr_assert_eq(res[i], 0, "create %u: %d", i, res[i]);
	cr_assert_eq(dir_syncs(engine), 3, "got %u", dir_syncs(engine));
	if (engine == MMAPIO_BACKEND_FALLBACK) {
		/* Each sync came after its group's creates and before the next group's. */
		cr_assert_eq(seen.creates_at_sync[0], 3);
		cr_assert_eq(seen.creates_at_sync[1], 6);
		cr_assert_eq(seen.creates_at_sync[2], 9);
	} else {
		cr_assert_eq(mmapio__ur_hooks.cqes[MMAPIO_OP_SYNC_DIR][MMAPIO__UR_DFSYNC], 3);
	}
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * A failing shared sync fails every durable operation of that directory
 * with its error, as a sync of each would have, and removes the files
 * they made; the other directory's operations succeed.  The blocking
 * engine's fsync of a is failed in the system-call table.  On io_uring
 * the shared syncs are held in the kernel (the gate hook) while a is
 * renamed away, so that its sync fails for real (-ENOENT); meanwhile no
 * durable create may complete, while a plain create does.
 */
BOTH_ENGINES(a_failed_shared_sync_fails_that_directorys_ops_only)
{
	mmapio_ring *ring = open_counted(engine);
	char a[PATH_MAX], b[PATH_MAX], p[PATH_MAX];
	TH_PATH(gone, "a-gone");
	struct mmapio_completion c[8];
	int res[7], gate[2] = { -1, -1 }, want;
	bool uring = engine == MMAPIO_BACKEND_URING;

	make_dir(a, sizeof(a), "a");
	make_dir(b, sizeof(b), "b");
	if (uring) {
		cr_assert_eq(pipe2(gate, O_CLOEXEC), 0);
		mmapio__ur_hooks.gate_fd = gate[0];
		mmapio__ur_hooks.gate_kinds = 1u << MMAPIO_OP_SYNC_DIR;
	} else {
		seen.fail_dir = a;
	}
	/* 0-2 durable in a, 3-5 durable in b, 6 a plain create in b. */
	for (unsigned i = 0; i < 6; i++) {
		name_in(p, sizeof(p), i < 3 ? a : b, "f", i);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 100, &durable, UD(i)), 0);
	}
	name_in(p, sizeof(p), b, "plain", 6);
	TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 100, NULL, UD(6)), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 7);
	want = -EIO;
	if (uring) {
		/* The plain create completes; the durable ones wait for their syncs. */
		int rc = mmapio_ring_wait(ring, c, 8, 1, 30000);

		cr_assert_eq(rc, 1, "only the plain create may complete, got %d", rc);
		cr_assert_eq(c[0].user_data, UD(6));
		cr_assert_eq(c[0].result, 0);
		for (int k = 0; k < 20; k++) {
			rc = mmapio_ring_peek(ring, c, 8);
			cr_assert_eq(rc, 0, "a durable create completed before its directory sync");
			usleep(1000);
		}
		cr_assert_eq(rename(a, gone), 0, "rename: %s", strerror(errno));
		cr_assert_eq(write(gate[1], "gg", 2), 2);
		want = -ENOENT;
		reap_all(ring, 6, res);
	} else {
		reap_all(ring, 7, res);
		cr_assert_eq(res[6], 0);
	}
	for (unsigned i = 0; i < 3; i++)
		TH_ASSERT_RC(res[i], want);
	for (unsigned i = 3; i < 6; i++)
		cr_assert_eq(res[i], 0, "create %u in b: %d (%s)", i, res[i], mmapio_strerror(res[i]));
	cr_assert_eq(dir_syncs(engine), 2, "got %u", dir_syncs(engine));
	if (!uring) {
		/* As a failed durable create does, each removed the file it made. */
		for (unsigned i = 0; i < 3; i++) {
			name_in(p, sizeof(p), a, "f", i);
			cr_assert(!th_exists(p), "%s is still there", p);
		}
	}
	for (unsigned i = 3; i < 6; i++) {
		name_in(p, sizeof(p), b, "f", i);
		cr_assert_eq(th_file_size(p), 100);
	}
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	if (uring) {
		close(gate[0]);
		close(gate[1]);
	}
}

/*
 * A failed shared sync fails a rename whose names are in that directory;
 * the rename itself happened, as with a rename's own sync.
 */
BOTH_ENGINES(a_failed_shared_sync_fails_the_renames_into_it)
{
	mmapio_ring *ring;
	char a[PATH_MAX], b[PATH_MAX], p[PATH_MAX], q[PATH_MAX];
	int res[4];

	if (engine == MMAPIO_BACKEND_URING) {
		mmapio__ur_hooks.result[MMAPIO_OP_SYNC_DIR][MMAPIO__UR_DFSYNC] = -EIO;
		ring = open_counted(engine);
	} else {
		ring = open_counted(engine);
		seen.fail_dir = a;
	}
	make_dir(a, sizeof(a), "a");
	make_dir(b, sizeof(b), "b");
	for (unsigned i = 0; i < 4; i++) {
		name_in(p, sizeof(p), b, "old", i);
		th_write_file(p, "r", 1, 0644);
		name_in(q, sizeof(q), i < 2 ? a : b, "new", i);
		TH_ASSERT_RC(mmapio_ring_prep_rename(ring, p, q, MMAPIO_RENAME_DURABLE, UD(i)), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), 4);
	reap_all(ring, 4, res);
	if (engine == MMAPIO_BACKEND_URING) {
		/* Every shared sync fails there: b's too, which all four renames need. */
		for (unsigned i = 0; i < 4; i++)
			TH_ASSERT_RC(res[i], -EIO);
	} else {
		TH_ASSERT_RC(res[0], -EIO);
		TH_ASSERT_RC(res[1], -EIO);
		cr_assert_eq(res[2], 0);
		cr_assert_eq(res[3], 0);
	}
	for (unsigned i = 0; i < 4; i++) {
		name_in(q, sizeof(q), i < 2 ? a : b, "new", i);
		th_assert_file_eq(q, "r", 1);
	}
	cr_assert_eq(dir_syncs(engine), 2, "got %u", dir_syncs(engine));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/* Closing a ring with shared syncs outstanding still syncs and leaks nothing. */
BOTH_ENGINES(close_with_durable_ops_unreaped)
{
	mmapio_ring *ring = open_counted(engine);
	char a[PATH_MAX], p[PATH_MAX];

	make_dir(a, sizeof(a), "a");
	for (unsigned i = 0; i < 5; i++) {
		name_in(p, sizeof(p), a, "f", i);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 100, &durable, UD(i)), 0);
	}
	TH_ASSERT_RC(mmapio_ring_barrier(ring), 0);
	for (unsigned i = 5; i < 8; i++) {
		name_in(p, sizeof(p), a, "f", i);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, 100, &durable, UD(i)), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), 8);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	for (unsigned i = 0; i < 5; i++) {
		name_in(p, sizeof(p), a, "f", i);
		cr_assert_eq(th_file_size(p), 100);
	}
	cr_assert_geq(dir_syncs(engine), 1);
}
