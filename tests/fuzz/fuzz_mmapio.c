/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmapio's libFuzzer target: a model-checked sequence of calls.
 *
 * What it does.  Each input is decoded into up to FZ_MAX_OPS calls of the
 * public API on the files of one private directory: "f" (the file), "g"
 * (a second path), "d" (a directory) and "nodir/x" (a path whose directory
 * does not exist).  The input's first byte chooses the directory: one on
 * the disk's filesystem, where flushes are real I/O and large writes go
 * through pwrite, or one on tmpfs, five times faster; both are made once
 * per process and emptied after each input.  Up to six maps of those files are open at once, in every
 * mode and made every way (mmapio_open, mmapio_open_fd on descriptors of
 * every access mode, mmapio_create with and without a reservation, sparse,
 * populated); the calls read, write, take and release views (on this thread
 * or another), make and use segments, resize, flush, advise, lock, operate
 * on atomic words, take and drop byte-range locks, start write-back, copy,
 * rename and delete files, and drive rings on both engines
 * (prep_create/copy/delete/flush/flush_ranges/write/rename/sync_dir,
 * barriers, cancels, submit, peek, wait with small timeouts, close).  Arguments are drawn to hit the edges: zero
 * lengths, the end of the map, page boundaries, values near UINT64_MAX,
 * NULL pointers, unknown flags and modes.
 *
 * What it checks.  model.c keeps what every file must hold and what every
 * map must show.  Every return code must be the one the model predicts
 * from the header (-ERANGE, -EACCES, -EINVAL, -EBUSY, -EFAULT, ... exactly);
 * every byte a read, a view or an atomic returns must be the model's; after
 * each flush, each close and at the end of each input the files are read
 * back with pread on the fuzzer's own descriptors, their sizes, permission
 * bits and reserved blocks compared, the paths and the directory listed, no
 * mapping of the files may remain and no descriptor may leak.  A mismatch
 * prints the calls of the input and aborts, which libFuzzer reports as a
 * crash.  The checks hold no timing: io_uring completions may come in any
 * order and at any time, and the decoder never lets a synchronous call race
 * an asynchronous one on the same file (fz_quiesce).
 *
 * What it does not do.  Calls the current library would hang on are not
 * made (see the KNOWN_BUG_ switches in fuzz.h, each with its finding in
 * tests/fuzz/findings/).  Accesses that straddle the end of a file another
 * map has cut are not made (model.c says why).  Files stay at or below
 * 1 MiB.
 *
 * Running.  scripts/fuzz.sh [SECONDS] builds it with clang
 * (-Dfuzz=enabled: -fsanitize=fuzzer,address,undefined) and runs it on a
 * copy of tests/fuzz/corpus/.  The normal build links the same code with
 * replay.c into fuzz_replay, which meson test runs over the corpus once.
 * MMAPIO_FUZZ_TRACE=1 prints each call as it is made; MMAPIO_FUZZ_DIR is
 * where the disk directory is made (default $TMPDIR, else /tmp), and
 * MMAPIO_FUZZ_SHM the tmpfs one (default /dev/shm; "none": disk only).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fuzz.h"

struct fz_state fz;
struct fz_in fz_input;

/* ------------------------------------------------------------------------ */
/* Input                                                                    */
/* ------------------------------------------------------------------------ */

uint8_t fz_u8(void)
{
	uint8_t v;

	if (fz_input.n == 0)
		return 0;
	v = *fz_input.p++;
	fz_input.n--;
	return v;
}

uint16_t fz_u16(void)
{
	uint16_t lo = fz_u8();

	return (uint16_t)(lo | (uint16_t)fz_u8() << 8);
}

uint32_t fz_u32(void)
{
	uint32_t lo = fz_u16();

	return lo | (uint32_t)fz_u16() << 16;
}

uint64_t fz_u64(void)
{
	uint64_t lo = fz_u32();

	return lo | (uint64_t)fz_u32() << 32;
}

bool fz_done(void)
{
	return fz_input.n == 0;
}

/* ------------------------------------------------------------------------ */
/* Reporting                                                                */
/* ------------------------------------------------------------------------ */

#define TRACE_LINES (FZ_MAX_OPS * 2)
static char trace_line[TRACE_LINES][200];
static unsigned trace_n;
static bool trace_live;

void fz_trace(const char *fmt, ...)
{
	va_list ap;

	if (trace_n >= TRACE_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(trace_line[trace_n], sizeof(trace_line[0]), fmt, ap);
	va_end(ap);
	if (trace_live)
		fprintf(stderr, "mmapio-fuzz: %3u %s\n", trace_n, trace_line[trace_n]);
	trace_n++;
}

_Noreturn void fz_fail(const char *fmt, ...)
{
	va_list ap;
	unsigned i;

	fprintf(stderr, "\nmmapio-fuzz: the calls of this input:\n");
	for (i = 0; i < trace_n; i++)
		fprintf(stderr, "  %3u %s\n", i, trace_line[i]);
	fprintf(stderr, "mmapio-fuzz: MISMATCH: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	abort();
}

void fz_expect(const char *what, int got, int want)
{
	if (got != want)
		fz_fail("%s returned %d (%s), the model says %d (%s)", what, got,
			mmapio_strerror(got), want, mmapio_strerror(want));
}

void fz_expect2(const char *what, int got, int want, bool alt_ok, int alt)
{
	if (got == want || (alt_ok && got == alt))
		return;
	if (alt_ok)
		fz_fail("%s returned %d (%s), the model says %d (%s) or %d (%s)", what, got,
			mmapio_strerror(got), want, mmapio_strerror(want), alt, mmapio_strerror(alt));
	fz_fail("%s returned %d (%s), the model says %d (%s)", what, got, mmapio_strerror(got), want,
		mmapio_strerror(want));
}

/* ------------------------------------------------------------------------ */
/* Known bugs                                                               */
/* ------------------------------------------------------------------------ */

static const char *const known_name[KB_COUNT] = {
	[KB_WRITE_UNDER_OWN_READ_VIEW_HANGS] = "KNOWN_BUG_WRITE_UNDER_OWN_READ_VIEW_HANGS",
	[KB_WRITE_VIEW_RELEASE_ON_OTHER_THREAD] = "KNOWN_BUG_WRITE_VIEW_RELEASE_ON_OTHER_THREAD",
	[KB_EDEADLK_UNDER_OWN_WRITE_VIEW] = "KNOWN_BUG_EDEADLK_UNDER_OWN_WRITE_VIEW",
	[KB_EMPTY_MAP_RESERVED_BASE] = "KNOWN_BUG_EMPTY_MAP_RESERVED_BASE",
	[KB_UNCOUNTED_RING_FLUSH] = "KNOWN_BUG_UNCOUNTED_RING_FLUSH",
	[KB_RING_CREATE_HUGE_SIZE] = "KNOWN_BUG_RING_CREATE_HUGE_SIZE",
	[KB_RING_WRITE_APPEND] = "KNOWN_BUG_RING_WRITE_APPEND",
	[KB_RING_WRITE_DIRECT] = "KNOWN_BUG_RING_WRITE_DIRECT",
};

bool fz_known[KB_COUNT] = {
	[KB_WRITE_UNDER_OWN_READ_VIEW_HANGS] = KNOWN_BUG_WRITE_UNDER_OWN_READ_VIEW_HANGS,
	[KB_WRITE_VIEW_RELEASE_ON_OTHER_THREAD] = KNOWN_BUG_WRITE_VIEW_RELEASE_ON_OTHER_THREAD,
	[KB_EDEADLK_UNDER_OWN_WRITE_VIEW] = KNOWN_BUG_EDEADLK_UNDER_OWN_WRITE_VIEW,
	[KB_EMPTY_MAP_RESERVED_BASE] = KNOWN_BUG_EMPTY_MAP_RESERVED_BASE,
	[KB_UNCOUNTED_RING_FLUSH] = KNOWN_BUG_UNCOUNTED_RING_FLUSH,
	[KB_RING_CREATE_HUGE_SIZE] = KNOWN_BUG_RING_CREATE_HUGE_SIZE,
	[KB_RING_WRITE_APPEND] = KNOWN_BUG_RING_WRITE_APPEND,
	[KB_RING_WRITE_DIRECT] = KNOWN_BUG_RING_WRITE_DIRECT,
};

/* Turns off the switches MMAPIO_FUZZ_STRICT names ("all": every one). */
void fz_known_bugs_init(void)
{
	const char *strict = getenv("MMAPIO_FUZZ_STRICT");
	int k;

	if (strict == NULL)
		return;
	for (k = 0; k < KB_COUNT; k++) {
		const char *hit = strstr(strict, known_name[k]);
		size_t n = strlen(known_name[k]);

		if (strcmp(strict, "all") == 0 ||
		    (hit != NULL && (hit[n] == '\0' || hit[n] == ',')))
			fz_known[k] = false;
	}
}

/* ------------------------------------------------------------------------ */
/* Argument pickers                                                         */
/* ------------------------------------------------------------------------ */

/* Values near the ends of uint64_t and size_t, for the overflow checks. */
static uint64_t pick_huge(void)
{
	static const uint64_t huge[] = {
		UINT64_MAX, UINT64_MAX - 1, (uint64_t)1 << 63, (uint64_t)INT64_MAX,
		UINT64_MAX - 4095, (uint64_t)SIZE_MAX / 2, UINT64_MAX - 7,
	};

	return huge[fz_u8() % (sizeof(huge) / sizeof(huge[0]))];
}

uint64_t fz_pick_off(uint64_t len)
{
	uint32_t r;

	switch (fz_u8() % 10) {
	case 0:
	case 1:
	case 2:
		r = fz_u32();
		return len ? r % len : 0;
	case 3:
		return 0;
	case 4:
		return len ? len - 1 - fz_u8() % (len < 16 ? len : 16) : 0;
	case 5:
		return len;
	case 6:
		return len + fz_u8();
	case 7:
		return (uint64_t)(fz_u8() % (len / fz.page + 2)) * fz.page;
	case 8:
		return pick_huge();
	default:
		return fz_u64();
	}
}

uint64_t fz_pick_len(uint64_t len, uint64_t off)
{
	uint64_t room = off < len ? len - off : 0, v;

	switch (fz_u8() % 10) {
	case 0:
	case 1:
	case 2:
		v = fz_u32();
		if (room == UINT64_MAX) /* a segment made by hand may be that long */
			return v;
		return room ? v % (room + 1) : v % 4;
	case 3:
		return 0;
	case 4:
		return room;
	case 5:
		return room + 1 + fz_u8() % 8;
	case 6:
		v = fz_u8() % 64;
		return v < room ? v : room;
	case 7:
		v = (uint64_t)(1 + fz_u8() % 4) * fz.page;
		return v <= room ? v : room;
	case 8:
		return pick_huge();
	default:
		return fz_u64() % (2 * FZ_BUF);
	}
}

uint64_t fz_pick_size(void)
{
	const uint64_t p = fz.page;
	const uint64_t t[] = { 1, 100, p - 1, p, p + 1, 2 * p, 3 * p + 17, 8 * p,
			       65536, 65537, 200000, FZ_MAX_FILE };
	uint8_t s = fz_u8();

	if (s < 240)
		return t[s % (sizeof(t) / sizeof(t[0]))];
	return 1 + fz_u32() % FZ_MAX_FILE;
}

uint64_t fz_pick_new_size(uint64_t cur)
{
	uint64_t v;

	switch (fz_u8() % 16) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	case 2:
		return (uint64_t)INT64_MAX + 1;
	case 3:
		v = cur + fz.page;
		break;
	case 4:
		v = cur > 1 ? cur - 1 : 1;
		break;
	case 5:
		v = cur / 2 ? cur / 2 : 1;
		break;
	case 6:
		v = cur > 0 ? cur * 2 : 1;
		break;
	default:
		return fz_pick_size();
	}
	return v > FZ_MAX_FILE ? FZ_MAX_FILE : v;
}

int fz_pick_path(void)
{
	static const int t[] = { FZ_P0, FZ_P0, FZ_P0, FZ_P0, FZ_P0, FZ_P1, FZ_P1, FZ_P1, FZ_PD, FZ_PX };

	return t[fz_u8() % 10];
}

int fz_pick_map(void)
{
	int s = fz_u8() % FZ_MAPS, k;

	for (k = 0; k < FZ_MAPS; k++) {
		int i = (s + k) % FZ_MAPS;

		if (fz.map[i].used)
			return i;
	}
	return -1;
}

/* Fills dst with len bytes of a pattern that seed chooses. */
void fz_fill(uint8_t *dst, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 0x9e3779b9u;
	size_t i;

	if (x == 0)
		x = 1;
	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		dst[i] = (uint8_t)(x >> 24);
	}
}

/* ------------------------------------------------------------------------ */
/* The calls                                                                */
/* ------------------------------------------------------------------------ */

/* The opcodes: the first byte of each call.  tests/fuzz/make_corpus.py mirrors them. */
enum fz_opcode {
	OP_OPEN = 0,
	OP_OPEN_FD = 1,
	OP_CREATE = 2,
	OP_CLOSE = 3,
	OP_READ = 4,
	OP_WRITE = 5,
	OP_VIEW = 6,
	OP_VIEW_RELEASE = 7,
	OP_VIEW_TOUCH = 8,
	OP_SEGMENT = 9,
	OP_SEGMENT_ACCESS = 10,
	OP_RESIZE = 11,
	OP_FLUSH = 12,
	OP_ADVISE = 13,
	OP_LOCK = 14,
	OP_ATOMIC = 15,
	OP_COPY = 16,
	OP_DELETE = 17,
	OP_RING_OPEN = 18,
	OP_RING_PREP = 19,
	OP_RING_SUBMIT = 20,
	OP_RING_REAP = 21,
	OP_RING_CLOSE = 22,
	OP_RING_MISC = 23,
	OP_BAD_ARGS = 24,
	OP_CHECK = 25,
	OP_RING_BARRIER = 26,
	OP_RING_CANCEL = 27,
	OP_RENAME = 28,
	OP_FLUSH_START = 29,
	OP_RANGE_LOCK = 30,
	OP_COUNT
};

static void (*const op_table[OP_COUNT])(void) = {
	[OP_OPEN] = fz_op_open,
	[OP_OPEN_FD] = fz_op_open_fd,
	[OP_CREATE] = fz_op_create,
	[OP_CLOSE] = fz_op_close,
	[OP_READ] = fz_op_read,
	[OP_WRITE] = fz_op_write,
	[OP_VIEW] = fz_op_view,
	[OP_VIEW_RELEASE] = fz_op_view_release,
	[OP_VIEW_TOUCH] = fz_op_view_touch,
	[OP_SEGMENT] = fz_op_segment,
	[OP_SEGMENT_ACCESS] = fz_op_segment_access,
	[OP_RESIZE] = fz_op_resize,
	[OP_FLUSH] = fz_op_flush,
	[OP_ADVISE] = fz_op_advise,
	[OP_LOCK] = fz_op_lock,
	[OP_ATOMIC] = fz_op_atomic,
	[OP_COPY] = fz_op_copy,
	[OP_DELETE] = fz_op_delete,
	[OP_RING_OPEN] = fz_op_ring_open,
	[OP_RING_PREP] = fz_op_ring_prep,
	[OP_RING_SUBMIT] = fz_op_ring_submit,
	[OP_RING_REAP] = fz_op_ring_reap,
	[OP_RING_CLOSE] = fz_op_ring_close,
	[OP_RING_MISC] = fz_op_ring_misc,
	[OP_BAD_ARGS] = fz_op_bad_args,
	[OP_CHECK] = fz_op_check,
	[OP_RING_BARRIER] = fz_op_ring_barrier,
	[OP_RING_CANCEL] = fz_op_ring_cancel,
	[OP_RENAME] = fz_op_rename,
	[OP_FLUSH_START] = fz_op_flush_start,
	[OP_RANGE_LOCK] = fz_op_range_lock,
};

/* ------------------------------------------------------------------------ */
/* Set-up, once per process                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Removes the files of the directory; with keep_d the subdirectory "d"
 * stays (emptied).  Anything left there beyond the model's files has been
 * reported by fz_check_paths already.
 */
static void clean_dir(bool keep_d)
{
	struct dirent *e;
	char path[600];
	DIR *d = opendir(fz.dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    strcmp(e->d_name, "d") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", fz.dir, e->d_name);
		if (unlink(path) < 0 && errno == EISDIR)
			rmdir(path);
	}
	closedir(d);
	if (!keep_d)
		rmdir(fz.path[FZ_PD]);
}

/* Removes the current directory and what is in it. */
static void remove_dir(void)
{
	if (fz.dir[0] == '\0')
		return;
	clean_dir(false);
	rmdir(fz.dir);
}

/* Makes a probe file of size bytes in the directory.  Returns its descriptor. */
static int probe_file(const char *name, char *path, size_t cap)
{
	int fd;

	snprintf(path, cap, "%s/%s", fz.dir, name);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		fz_fail("probe: cannot create %s: %s", path, strerror(errno));
	return fd;
}

/*
 * Returns whether prefaulting a private writable mapping the given way
 * (1: mlock, 2: MAP_POPULATE, 3: MADV_POPULATE_WRITE) makes its pages its
 * own: after the file changes, the mapping still shows the old bytes.
 */
static bool probe_cow(int how)
{
	char path[300];
	int fd = probe_file("probe-cow", path, sizeof(path));
	size_t len = 2 * fz.page;
	unsigned char *p;
	bool own;

	if (ftruncate(fd, (off_t)len) < 0)
		fz_fail("probe: ftruncate: %s", strerror(errno));
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | (how == 2 ? MAP_POPULATE : 0),
		 fd, 0);
	if (p == MAP_FAILED)
		fz_fail("probe: mmap: %s", strerror(errno));
	if ((volatile unsigned char)p[0] != 0)
		fz_fail("probe: a new file does not read as zero");
	if (how == 1 && mlock(p, len) < 0) {
		munmap(p, len);
		close(fd);
		unlink(path);
		return false; /* no mlock here: fz.mlock_ok keeps the calls out */
	}
	if (how == 3 && madvise(p, len, 23 /* MADV_POPULATE_WRITE */) < 0)
		fz_fail("probe: MADV_POPULATE_WRITE: %s", strerror(errno));
	if (pwrite(fd, "xx", 1, 0) != 1 || pwrite(fd, "xx", 1, (off_t)fz.page) != 1)
		fz_fail("probe: pwrite: %s", strerror(errno));
	own = p[0] == 0;
	if (own != (p[fz.page] == 0))
		fz_fail("probe: prefaulting way %d made one page private and not the other", how);
	munmap(p, len);
	close(fd);
	unlink(path);
	return own;
}

/* Finds what the filesystem of the current directory offers. */
static void probe_fs(struct fz_fs *f)
{
	char a[300], b[300];
	struct stat st, st2;
	int fd, fd2;

	fd = probe_file("probe-a", a, sizeof(a));
	f->allocates = fallocate(fd, 0, 0, 65536) == 0 && fstat(fd, &st) == 0 &&
		       (uint64_t)st.st_blocks * 512 >= 65536;
	close(fd);
	fd2 = probe_file("probe-b", b, sizeof(b));
	f->sparse = ftruncate(fd2, 65536) == 0 && fstat(fd2, &st2) == 0 && st2.st_blocks == 0;
	close(fd2);
	fd = open(a, O_RDWR | O_DIRECT | O_CLOEXEC);
	f->o_direct_ok = fd >= 0;
	if (fd >= 0)
		close(fd);
	unlink(a);
	unlink(b);
	f->cow_mlock = probe_cow(1);
	f->cow_populate = probe_cow(2);
	f->cow_populate_write = probe_cow(3);
}

/* Finds what this host offers (see struct fz_state). */
/*
 * What the header leaves to the host, asked of the library on the existing
 * files a and b: whether mmapio_rename takes NOREPLACE
 * and EXCHANGE (-ENOTSUP where it lacks renameat2), and whether two maps of
 * one file conflict in their range locks (open-file-description locks on
 * Linux) or not (POSIX locks, which belong to the process).  Asked on the
 * disk's filesystem; tmpfs has the same.  Leaves b, with a's byte, and no a.
 */
static void probe_rename_and_locks(const char *a, const char *b)
{
	mmapio_map *m1 = NULL, *m2 = NULL;
	int rc;

	rc = mmapio_rename(a, b, MMAPIO_RENAME_EXCHANGE);
	if (rc != 0 && rc != -ENOTSUP)
		fz_fail("probe: mmapio_rename EXCHANGE: %d", rc);
	fz.rename_exchange_ok = rc == 0;
	if (unlink(b) < 0)
		fz_fail("probe: unlink %s: %s", b, strerror(errno));
	rc = mmapio_rename(a, b, MMAPIO_RENAME_NOREPLACE);
	if (rc != 0 && rc != -ENOTSUP)
		fz_fail("probe: mmapio_rename NOREPLACE: %d", rc);
	fz.rename_noreplace_ok = rc == 0;
	if (rc != 0 && rename(a, b) < 0)
		fz_fail("probe: rename %s: %s", a, strerror(errno));

	if (mmapio_open(b, MMAPIO_READ_WRITE, NULL, &m1) != 0 ||
	    mmapio_open(b, MMAPIO_READ_WRITE, NULL, &m2) != 0)
		fz_fail("probe: two maps of %s do not open", b);
	if (mmapio_range_lock(m1, 0, 1, MMAPIO_RANGE_EXCLUSIVE | MMAPIO_RANGE_NOWAIT) != 0)
		fz_fail("probe: a range lock of a map alone fails");
	rc = mmapio_range_lock(m2, 0, 1, MMAPIO_RANGE_EXCLUSIVE | MMAPIO_RANGE_NOWAIT);
	if (rc != 0 && rc != -EAGAIN)
		fz_fail("probe: mmapio_range_lock of a second map: %d", rc);
	fz.ofd_locks = rc == -EAGAIN;
	mmapio_close(m2);
	mmapio_close(m1);
}

static void probe_host(void)
{
	char a[300], b[300];
	struct stat st, st2;
	struct rlimit rl;
	mmapio_ring *ring = NULL;
	int fd;

	fd = probe_file("probe-a", a, sizeof(a));
	if (write(fd, "x", 1) != 1)
		fz_fail("probe: write: %s", strerror(errno));
	close(fd);
	close(probe_file("probe-b", b, sizeof(b)));

	/* Today's overwriting copy rewrites the destination's inode. */
	if (stat(b, &st) < 0 || mmapio_copy(a, b, MMAPIO_COPY_OVERWRITE) != 0 || stat(b, &st2) < 0)
		fz_fail("probe: mmapio_copy onto an existing file failed");
	fz.copy_in_place = st.st_ino == st2.st_ino;
	probe_rename_and_locks(a, b);
	unlink(a);
	unlink(b);

	fz.mlock_ok = geteuid() == 0 ||
		      (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur == RLIM_INFINITY);

	{
		struct mmapio_ring_options o = { 0 };

		o.backend = MMAPIO_BACKEND_URING;
		fz.uring_open_rc = mmapio_ring_open(&o, &ring);
		fz.uring_ok = fz.uring_open_rc == 0;
		mmapio_ring_close(ring);
		ring = NULL;
		if (mmapio_ring_open(NULL, &ring) != 0)
			fz_fail("probe: an AUTO ring does not open");
		fz.auto_backend = mmapio_ring_backend(ring, NULL);
		mmapio_ring_close(ring);
	}
	/* The thread's default ring, opened now so that it is no leak later. */
	(void)mmapio_default_backend(NULL);
}

/* Makes the input's paths name the files of filesystem k. */
static void use_fs(int k)
{
	const struct fz_fs *f = &fz.fs[k];

	fz.cur_fs = k;
	snprintf(fz.dir, sizeof(fz.dir), "%s", f->dir);
	snprintf(fz.path[FZ_P0], sizeof(fz.path[0]), "%s/f", fz.dir);
	snprintf(fz.path[FZ_P1], sizeof(fz.path[0]), "%s/g", fz.dir);
	snprintf(fz.path[FZ_PD], sizeof(fz.path[0]), "%s/d", fz.dir);
	snprintf(fz.path[FZ_PX], sizeof(fz.path[0]), "%s/nodir/x", fz.dir);
	fz.fs_allocates = f->allocates;
	fz.fs_sparse = f->sparse;
	fz.o_direct_ok = f->o_direct_ok;
	fz.cow_mlock = f->cow_mlock;
	fz.cow_populate = f->cow_populate;
	fz.cow_populate_write = f->cow_populate_write;
}

/* Makes a private directory under base for filesystem k, and probes it. */
static void make_fs_dir(int k, const char *base)
{
	struct fz_fs *f = &fz.fs[k];

	snprintf(f->dir, sizeof(f->dir), "%s/mmapio-fuzz-XXXXXX", base);
	if (mkdtemp(f->dir) == NULL)
		fz_fail("cannot make a directory under %s: %s", base, strerror(errno));
	use_fs(k);
	if (mkdir(fz.path[FZ_PD], 0755) < 0)
		fz_fail("mkdir %s: %s", fz.path[FZ_PD], strerror(errno));
	probe_fs(f);
}

/* Returns the tmpfs directory to use ($MMAPIO_FUZZ_SHM, /dev/shm), or NULL. */
static const char *tmpfs_base(void)
{
	const char *shm = getenv("MMAPIO_FUZZ_SHM");
	struct statfs sf;

	if (shm == NULL || shm[0] == '\0')
		shm = "/dev/shm";
	if (strcmp(shm, "none") == 0 || statfs(shm, &sf) != 0 || sf.f_type != TMPFS_MAGIC ||
	    access(shm, W_OK) != 0)
		return NULL;
	return shm;
}

/* Removes both directories when the process ends. */
static void remove_dirs(void)
{
	int k;

	for (k = 0; k < fz.nfs; k++) {
		use_fs(k);
		remove_dir();
	}
}

/* Makes the private directories and everything that lasts for the process. */
static void setup_once(void)
{
	const char *base = getenv("MMAPIO_FUZZ_DIR"), *shm = tmpfs_base();
	long page = sysconf(_SC_PAGESIZE);

	if (base == NULL || base[0] == '\0')
		base = getenv("TMPDIR");
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	trace_live = getenv("MMAPIO_FUZZ_TRACE") != NULL && getenv("MMAPIO_FUZZ_TRACE")[0] == '1';
	fz_known_bugs_init();
	fz.page = page > 0 ? (size_t)page : 4096;
	fz.umask_bits = 022;
	umask(fz.umask_bits);
	fz.buf = malloc(FZ_BUF);
	fz.src = malloc(FZ_BUF);
	fz.tmp = malloc(FZ_BUF);
	if (!fz.buf || !fz.src || !fz.tmp)
		fz_fail("out of memory");
	fz_model_init();
	fz_model_reset();
	make_fs_dir(0, base);
	fz.nfs = 1;
	atexit(remove_dirs);
	if (shm != NULL) {
		make_fs_dir(1, shm);
		fz.nfs = 2;
	}
	use_fs(0);
	probe_host();
	if (trace_live)
		fprintf(stderr,
			"mmapio-fuzz: dirs %s %s page %zu uring %d (%d) auto %d copy-in-place %d "
			"mlock %d rename noreplace %d exchange %d ofd-locks %d\n",
			fz.fs[0].dir, fz.nfs > 1 ? fz.fs[1].dir : "-", fz.page, fz.uring_ok,
			fz.uring_open_rc, (int)fz.auto_backend, fz.copy_in_place, fz.mlock_ok,
			fz.rename_noreplace_ok, fz.rename_exchange_ok, fz.ofd_locks);
}

/* ------------------------------------------------------------------------ */
/* One input                                                                */
/* ------------------------------------------------------------------------ */

/* Fails the run if a mapping of a file in the directory is still there. */
static void check_no_mappings(void)
{
	char line[512];
	FILE *f = fopen("/proc/self/maps", "r");

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, fz.dir) != NULL) {
			fclose(f);
			fz_fail("after every close a mapping is left: %s", line);
		}
	}
	fclose(f);
}

/*
 * Ends an input: rings closed, views released, every map flushed, checked
 * and closed, the files checked once more, then nothing may be left mapped
 * or open.
 */
static void finish_input(void)
{
	int i;

	fz_check_all("end of input");
	fz_rings_close_all();
	for (i = 0; i < FZ_VIEWS; i++) {
		struct fz_view *v = &fz.view[i];

		if (!v->used)
			continue;
		mmapio_view_release(&v->v);
		fz.map[v->map].views--;
		if (v->write)
			fz.map[v->map].write_views--;
		else if (fz.map[v->map].mode != MMAPIO_READ_ONLY)
			fz.map[v->map].read_views--;
		v->used = false;
	}
	for (i = 0; i < FZ_MAPS; i++) {
		struct fz_map *m = &fz.map[i];
		int inode = m->inode;

		if (!m->used)
			continue;
		fz_expect("mmapio_flush at the end", mmapio_flush(m->map), 0);
		fz_check_inode(inode, "flush at the end", true);
		fz_expect("mmapio_close at the end", mmapio_close(m->map), 0);
		fz_map_forget(i);
		fz_check_inode(inode, "close at the end", true);
	}
	fz_check_all("after every close");
	check_no_mappings();
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setup_once();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds, fs;

	if (fz.nfs == 0)
		setup_once();
	fz_input.p = data;
	fz_input.n = size;
	fs = fz_u8() & 1;
	use_fs(fz.nfs > 1 ? fs : 0);
	trace_n = 0;
	fz.ops_run = 0;
	fz.next_id = 1;
	fds = fz_count_fds();
	if (trace_live)
		fprintf(stderr,
			"mmapio-fuzz: files in %s (fs %d: fallocate %d sparse %d O_DIRECT %d; "
			"private pages by mlock %d MAP_POPULATE %d MADV_POPULATE_WRITE %d)\n",
			fz.dir, fz.cur_fs, fz.fs_allocates, fz.fs_sparse, fz.o_direct_ok, fz.cow_mlock,
			fz.cow_populate, fz.cow_populate_write);

	while (!fz_done() && fz.ops_run < FZ_MAX_OPS) {
		uint8_t op = fz_u8() % OP_COUNT;

		fz.ops_run++;
		op_table[op]();
	}
	finish_input();

	fz_model_reset();
	clean_dir(true);
	if (fz_count_fds() != fds)
		fz_fail("descriptors leaked: %d open before the input, %d after", fds,
			fz_count_fds());
	return 0;
}

/* ASan: leave SIGBUS to the library's guard; report everything else. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "handle_sigbus=0:detect_leaks=1:allocator_may_return_null=1";
}
