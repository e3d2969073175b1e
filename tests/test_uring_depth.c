/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Work submitted beyond the old queue depth goes on while the caller does
 * something else: on a ring opened with queue_depth 0, one
 * mmapio_ring_submit of 1000 creates or deletes puts them all into the
 * kernel, and they reach the disk with no further ring call.  Where the
 * header says the caller's next call is needed (creates beyond the direct
 * descriptor slots, which RLIMIT_NOFILE or the max_slots hook bound, and
 * operations beyond a queue_depth the caller chose), exactly that much
 * waits, and the next call finishes the rest.  Closing a ring with
 * thousands of operations in flight finishes them all, leaving no
 * descriptor behind; and the default ring's kernel memory stays small.
 */
#include "helpers.h"
#include "uring_helpers.h"

#include <dirent.h>
#include <sys/resource.h>
#include <time.h>

TestSuite(uring_depth, .init = ur_setup, .fini = ur_teardown, .timeout = 120);

#define FILE_SIZE 4096u

/* Sleeps ms milliseconds, the ring untouched. */
static void nap_ms(unsigned ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void file_path(char *buf, size_t len, const char *dir, unsigned i)
{
	snprintf(buf, len, "%s/f%05u", dir, i);
}

/* True when file i of dir is there with its full size. */
static bool file_done(const char *dir, unsigned i)
{
	char p[PATH_MAX];
	struct stat st;

	file_path(p, sizeof(p), dir, i);
	return stat(p, &st) == 0 && st.st_size == FILE_SIZE;
}

/* True when file i of dir is gone. */
static bool file_gone(const char *dir, unsigned i)
{
	char p[PATH_MAX];
	struct stat st;

	file_path(p, sizeof(p), dir, i);
	return stat(p, &st) < 0 && errno == ENOENT;
}

/* Counts files [0, n) of dir for which check holds. */
static unsigned count(const char *dir, unsigned n, bool (*check)(const char *, unsigned))
{
	unsigned c = 0;

	for (unsigned i = 0; i < n; i++)
		c += check(dir, i);
	return c;
}

/*
 * Polls with stat, never calling the ring, until want of the n files hold
 * check or limit_ms passes.  Returns the count last seen.
 */
static unsigned poll_files(const char *dir, unsigned n, unsigned want, unsigned limit_ms,
			   bool (*check)(const char *, unsigned))
{
	unsigned seen = 0;

	for (unsigned waited = 0; waited <= limit_ms; waited += 10) {
		seen = count(dir, n, check);
		if (seen >= want)
			break;
		nap_ms(10);
	}
	return seen;
}

/* Prepares n creates of FILE_SIZE bytes, dir/f00000 on, and submits them. */
static void submit_creates(mmapio_ring *ring, const char *dir, unsigned n)
{
	char p[PATH_MAX];

	for (unsigned i = 0; i < n; i++) {
		file_path(p, sizeof(p), dir, i);
		TH_ASSERT_RC(mmapio_ring_prep_create(ring, p, FILE_SIZE, NULL, NULL), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), (int)n);
}

/* Reaps n completions of kind op; returns how many failed, *first the first error. */
static unsigned reap_all(mmapio_ring *ring, unsigned n, unsigned op, int *first)
{
	struct mmapio_completion c[64];
	unsigned got = 0, failed = 0;

	*first = 0;
	while (got < n) {
		int rc = mmapio_ring_wait(ring, c, 64, 1, 30000);

		if (rc <= 0)
			break;
		for (int i = 0; i < rc; i++) {
			if ((c[i].result != 0 || c[i].op != op) && failed++ == 0)
				*first = c[i].result != 0 ? c[i].result : -EPROTO;
		}
		got += (unsigned)rc;
	}
	return failed + (n - got);
}

/* Opens an io_uring ring with queue_depth 0, or skips the test. */
static mmapio_ring *open_default_uring(void)
{
	return open_uring(0);
}

Test(uring_depth, default_ring_1000_creates_reach_the_disk_without_a_further_call)
{
	mmapio_ring *ring = open_default_uring();
	unsigned done;
	int first;

	TH_PATH(dir, "c");
	cr_assert_eq(mkdir(dir, 0755), 0);
	submit_creates(ring, dir, 1000);
	done = poll_files(dir, 1000, 1000, 10000, file_done);
	cr_assert_eq(done, 1000,
		     "%u of 1000 creates were on disk 10 s after the submit, the caller asleep",
		     done);
	cr_assert_eq(reap_all(ring, 1000, MMAPIO_OP_CREATE, &first), 0, "first error %d", first);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

Test(uring_depth, default_ring_1000_deletes_run_without_a_further_call)
{
	mmapio_ring *ring = open_default_uring();
	char p[PATH_MAX];
	unsigned gone;
	int first;

	TH_PATH(dir, "d");
	cr_assert_eq(mkdir(dir, 0755), 0);
	submit_creates(ring, dir, 1000);
	cr_assert_eq(reap_all(ring, 1000, MMAPIO_OP_CREATE, &first), 0, "first error %d", first);
	for (unsigned i = 0; i < 1000; i++) {
		file_path(p, sizeof(p), dir, i);
		TH_ASSERT_RC(mmapio_ring_prep_delete(ring, p, NULL), 0);
	}
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1000);
	gone = poll_files(dir, 1000, 1000, 10000, file_gone);
	cr_assert_eq(gone, 1000, "%u of 1000 deletes had run 10 s after the submit", gone);
	cr_assert_eq(reap_all(ring, 1000, MMAPIO_OP_DELETE, &first), 0, "first error %d", first);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}

/*
 * Checks the rule of the header for creates beyond the slots: the first
 * slots creates (in submission order) reach the disk without a call, the
 * others do not start before the caller's next call, and a wait then
 * finishes them all.
 */
static void creates_beyond_slots(mmapio_ring *ring, const char *dir, unsigned n,
				 unsigned slots)
{
	unsigned done, later;
	int first;

	submit_creates(ring, dir, n);
	done = poll_files(dir, slots, slots, 10000, file_done);
	TH_CHILD_CHECK(done == slots, "%u of the first %u creates were on disk after 10 s", done,
		       slots);
	nap_ms(200);
	later = count(dir, n, file_done);
	TH_CHILD_CHECK(later == slots,
		       "%u creates on disk with %u slots and no call; the header says %u", later,
		       slots, slots);
	done = reap_all(ring, n, MMAPIO_OP_CREATE, &first);
	TH_CHILD_CHECK(done == 0, "%u creates failed, first with %d", done, first);
	TH_CHILD_CHECK(count(dir, n, file_done) == n, "not every file is there after the wait");
}

/* A ring whose slots or queue depth bound what goes into the kernel at once. */
struct bound_case {
	char dir[PATH_MAX];
	rlim_t nofile;       /* soft RLIMIT_NOFILE at ring open, 0: as it is */
	unsigned max_slots;  /* the hook, 0: off */
	unsigned depth;      /* queue_depth */
	unsigned n;          /* creates */
	unsigned bound;      /* how many the header says go in at submit */
};

static void bound_child(void *arg)
{
	const struct bound_case *bc = arg;
	struct mmapio_ring_options o = { .queue_depth = bc->depth,
					 .backend = MMAPIO_BACKEND_URING };
	struct rlimit rl;
	mmapio_ring *ring = NULL;
	int rc;

	TH_CHILD_CHECK(mkdir(bc->dir, 0755) == 0, "mkdir: %s", strerror(errno));
	mmapio__ur_hooks.max_slots = bc->max_slots;
	if (bc->nofile > 0) {
		TH_CHILD_CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
		rl.rlim_cur = bc->nofile;
		TH_CHILD_CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0, "setrlimit: %s",
			       strerror(errno));
	}
	rc = mmapio_ring_open(&o, &ring);
	if (rc == -ENOTSUP || rc == -ENOSYS || rc == -EPERM)
		TH_CHILD_SKIP("no io_uring here: %s", mmapio_strerror(rc));
	TH_CHILD_CHECK(rc == 0, "ring_open: %d", rc);
	creates_beyond_slots(ring, bc->dir, bc->n, bc->bound);
	TH_CHILD_CHECK(mmapio_ring_close(ring) == 0, "ring_close");
}

Test(uring_depth, soft_nofile_64_creates_beyond_64_slots_wait_for_the_next_call)
{
	struct bound_case bc = { .nofile = 64, .n = 1000, .bound = 64 };

	th_path(bc.dir, sizeof(bc.dir), "n");
	th_run_in_child(bound_child, &bc);
}

Test(uring_depth, eight_slots_creates_beyond_them_wait_for_the_next_call)
{
	struct bound_case bc = { .max_slots = 8, .n = 200, .bound = 8 };

	th_path(bc.dir, sizeof(bc.dir), "s");
	th_run_in_child(bound_child, &bc);
}

Test(uring_depth, queue_depth_16_operations_beyond_it_wait_for_the_next_call)
{
	struct bound_case bc = { .depth = 16, .n = 100, .bound = 16 };

	th_path(bc.dir, sizeof(bc.dir), "q");
	th_run_in_child(bound_child, &bc);
}

/* Returns the number of descriptors the process has open. */
static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	cr_assert_not_null(d);
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

Test(uring_depth, close_with_5000_creates_in_flight_finishes_them_all)
{
	unsigned before = open_fds(), done;
	mmapio_ring *ring = open_default_uring();

	TH_PATH(dir, "x");
	cr_assert_eq(mkdir(dir, 0755), 0);
	submit_creates(ring, dir, 5000);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	done = count(dir, 5000, file_done);
	cr_assert_eq(done, 5000, "ring_close returned with %u of 5000 creates done", done);
	cr_assert_eq(open_fds(), before, "descriptors open: %u before the ring, %u after close",
		     before, open_fds());
}

/*
 * Returns the bytes of the process's mappings of io_uring rings
 * ("anon_inode:[io_uring]" in /proc/self/maps).
 */
static uint64_t uring_mapped_bytes(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	uint64_t total = 0;

	cr_assert_not_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long long lo, hi;

		if (strstr(line, "io_uring") == NULL)
			continue;
		if (sscanf(line, "%llx-%llx", &lo, &hi) == 2)
			total += hi - lo;
	}
	fclose(f);
	return total;
}

Test(uring_depth, default_ring_maps_at_most_512_KiB_of_kernel_rings)
{
	uint64_t before = uring_mapped_bytes(), used;
	mmapio_ring *ring = open_default_uring();

	used = uring_mapped_bytes() - before;
	cr_assert_gt(used, 0, "no io_uring mapping found in /proc/self/maps");
	cr_assert_leq(used, 512u << 10, "a default ring maps %llu KiB of rings",
		      (unsigned long long)(used >> 10));
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
}
