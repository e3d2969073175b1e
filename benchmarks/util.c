/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers the workloads share: the clock, test data that can be checked at
 * any offset without keeping a copy, file comparison, directory removal and
 * the submit-and-reap loop every ring variant uses.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define CHUNK (1u << 20)

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Not inlined, so that every variant of a read workload runs exactly the same
 * summing code and only the way the bytes arrive differs.
 */
__attribute__((noinline)) uint64_t bench_sum_words(const void *p, size_t len)
{
	const uint64_t *w = p;
	uint64_t s = 0;

	for (size_t i = 0; i < len / 8; i++)
		s += w[i];
	return s;
}

static uint64_t splitmix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

/* Word i of stream seed is a hash of (seed, i), so any range can be regenerated. */
void bench_fill(void *buf, size_t len, uint64_t seed, uint64_t off)
{
	uint64_t *w = buf, base = off / 8, key = splitmix(seed);

	for (size_t i = 0; i < len / 8; i++)
		w[i] = splitmix(key ^ (base + i));
}

char *bench_size_str(char *buf, size_t size, uint64_t bytes)
{
	if (bytes >= (1u << 30) && bytes % (1u << 30) == 0)
		snprintf(buf, size, "%llu GiB", (unsigned long long)(bytes >> 30));
	else if (bytes >= (1u << 20) && bytes % (1u << 20) == 0)
		snprintf(buf, size, "%llu MiB", (unsigned long long)(bytes >> 20));
	else if (bytes >= 1024 && bytes % 1024 == 0)
		snprintf(buf, size, "%llu KiB", (unsigned long long)(bytes >> 10));
	else
		snprintf(buf, size, "%llu B", (unsigned long long)bytes);
	return buf;
}

uint64_t bench_rand(uint64_t *state)
{
	uint64_t x = *state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 0x2545f4914f6cdd1du;
}

void bench_draw_pages(uint64_t seed, unsigned char *used, uint64_t npages,
		      struct mmapio_range *ranges, unsigned n, uint64_t page_size, uint64_t len)
{
	for (unsigned i = 0; i < n; i++) {
		uint64_t p;

		do
			p = bench_rand(&seed) % npages;
		while (used[p]);
		used[p] = 1;
		ranges[i] = (struct mmapio_range){ p * page_size, len };
	}
}

int bench_make_file(const char *path, uint64_t size, uint64_t seed, uint64_t *sum)
{
	uint64_t s = 0;
	void *buf = malloc(CHUNK);
	int fd, rc = -1;

	if (!buf)
		return bench_failf("out of memory");
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = bench_failf("open %s: %s", path, strerror(errno));
		goto out;
	}
	/* Allocate up front, as the library's create does, so that no run pays for it. */
	if (fallocate(fd, 0, 0, (off_t)size) < 0 && errno != EOPNOTSUPP) {
		rc = bench_failf("fallocate %s: %s", path, strerror(errno));
		goto out;
	}
	for (uint64_t off = 0; off < size; off += CHUNK) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		bench_fill(buf, n, seed, off);
		s += bench_sum_words(buf, n);
		if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n) {
			rc = bench_failf("pwrite %s: %s", path, strerror(errno));
			goto out;
		}
	}
	/*
	 * Written back now, so that later timed runs do not share the disk with
	 * this file's write-back.
	 */
	if (fdatasync(fd) < 0) {
		rc = bench_failf("fdatasync %s: %s", path, strerror(errno));
		goto out;
	}
	if (sum)
		*sum = s;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

int bench_touch_file(const char *path)
{
	void *buf = malloc(CHUNK);
	int fd, rc = 0;
	ssize_t n;

	if (!buf)
		return bench_failf("out of memory");
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		free(buf);
		return bench_failf("open %s: %s", path, strerror(errno));
	}
	while ((n = read(fd, buf, CHUNK)) > 0)
		;
	if (n < 0)
		rc = bench_failf("read %s: %s", path, strerror(errno));
	close(fd);
	free(buf);
	return rc;
}

int bench_check_file_seed(const char *path, uint64_t size, uint64_t seed)
{
	char *got = malloc(CHUNK), *want = malloc(CHUNK);
	struct stat st;
	int fd = -1, rc = -1;

	if (!got || !want) {
		rc = bench_failf("out of memory");
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = bench_failf("%s: %s", path, strerror(errno));
		goto out;
	}
	if ((uint64_t)st.st_size != size) {
		rc = bench_failf("%s has %lld bytes, expected %llu", path, (long long)st.st_size,
				 (unsigned long long)size);
		goto out;
	}
	for (uint64_t off = 0; off < size; off += CHUNK) {
		size_t n = size - off < CHUNK ? (size_t)(size - off) : CHUNK;

		if (pread(fd, got, n, (off_t)off) != (ssize_t)n) {
			rc = bench_failf("%s: short read at %llu", path, (unsigned long long)off);
			goto out;
		}
		bench_fill(want, n, seed, off);
		if (memcmp(got, want, n) != 0) {
			rc = bench_failf("%s differs from the expected bytes in [%llu, %llu)", path,
					 (unsigned long long)off, (unsigned long long)(off + n));
			goto out;
		}
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(got);
	free(want);
	return rc;
}

int bench_check_files_equal(const char *a, const char *b)
{
	char *x = malloc(CHUNK), *y = malloc(CHUNK);
	int fa = -1, fb = -1, rc = -1;
	struct stat sa, sb;

	if (!x || !y) {
		rc = bench_failf("out of memory");
		goto out;
	}
	fa = open(a, O_RDONLY | O_CLOEXEC);
	fb = open(b, O_RDONLY | O_CLOEXEC);
	if (fa < 0 || fb < 0 || fstat(fa, &sa) < 0 || fstat(fb, &sb) < 0) {
		rc = bench_failf("%s: %s", fa < 0 ? a : b, strerror(errno));
		goto out;
	}
	if (sa.st_size != sb.st_size) {
		rc = bench_failf("%s has %lld bytes, %s has %lld", b, (long long)sb.st_size, a,
				 (long long)sa.st_size);
		goto out;
	}
	for (off_t off = 0; off < sa.st_size; off += CHUNK) {
		size_t n = sa.st_size - off < CHUNK ? (size_t)(sa.st_size - off) : CHUNK;

		if (pread(fa, x, n, off) != (ssize_t)n || pread(fb, y, n, off) != (ssize_t)n) {
			rc = bench_failf("short read at %lld", (long long)off);
			goto out;
		}
		if (memcmp(x, y, n) != 0) {
			rc = bench_failf("%s differs from %s in [%lld, %lld)", b, a, (long long)off,
					 (long long)(off + (off_t)n));
			goto out;
		}
	}
	rc = 0;
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(x);
	free(y);
	return rc;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	if (remove(path) < 0 && errno != ENOENT)
		return -1;
	return 0;
}

int bench_rmtree(const char *path)
{
	return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

char *bench_path(const char *dir, const char *fmt, ...)
{
	char name[256], *out;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	if (asprintf(&out, "%s/%s", dir, name) < 0)
		return NULL;
	return out;
}

static const char *op_name(enum mmapio_op op)
{
	switch (op) {
	case MMAPIO_OP_CREATE: return "create";
	case MMAPIO_OP_COPY: return "copy";
	case MMAPIO_OP_DELETE: return "delete";
	case MMAPIO_OP_FLUSH: return "flush";
	case MMAPIO_OP_WRITE: return "write";
	case MMAPIO_OP_RENAME: return "rename";
	case MMAPIO_OP_SYNC_DIR: return "sync_dir";
	}
	return "?";
}

int bench_ring_wait_n(mmapio_ring *ring, struct mmapio_completion *c, unsigned n)
{
	unsigned got = 0;
	int r;

	while (got < n) {
		/* Waiting for all that is left at once saves wake-ups on both backends. */
		r = mmapio_ring_wait(ring, c + got, n - got, n - got, -1);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return bench_fail("mmapio_ring_wait", r);
		if (r == 0)
			return bench_failf("mmapio_ring_wait returned no completion without a timeout");
		got += (unsigned)r;
	}
	return 0;
}

int bench_ring_reap(mmapio_ring *ring, unsigned n, enum mmapio_op op)
{
	struct mmapio_completion c[64];
	unsigned got = 0, failed = 0;
	int first_err = 0, bad_op = 0;

	while (got < n) {
		unsigned want = n - got < 64 ? n - got : 64;

		if (bench_ring_wait_n(ring, c, want) < 0)
			return -1;
		for (unsigned i = 0; i < want; i++) {
			if (c[i].op != op && !failed++) {
				first_err = -EPROTO;
				bad_op = (int)c[i].op;
			} else if (c[i].result < 0 && !failed++) {
				first_err = c[i].result;
			}
		}
		got += want;
	}
	if (failed) {
		if (first_err == -EPROTO)
			return bench_failf("a %s completion came back with op %d", op_name(op), bad_op);
		return bench_failf("%u of %u %s completions failed; first: %s (%d)", failed, n,
				   op_name(op), mmapio_strerror(first_err), first_err);
	}
	return 0;
}

int bench_ring_submit(mmapio_ring *ring, unsigned n, enum mmapio_op op)
{
	int r = mmapio_ring_submit(ring);

	if (r < 0) {
		bench_ring_discard(ring);
		return bench_fail("mmapio_ring_submit", r);
	}
	if ((unsigned)r != n) {
		bench_ring_discard(ring);
		return bench_failf("mmapio_ring_submit handed over %d of %u prepared %s operations", r,
				   n, op_name(op));
	}
	return 0;
}

int bench_ring_complete(mmapio_ring *ring, unsigned n, enum mmapio_op op)
{
	if (bench_ring_submit(ring, n, op) < 0)
		return -1;
	return bench_ring_reap(ring, n, op);
}

void bench_ring_discard(mmapio_ring *ring)
{
	struct mmapio_completion c[64];

	mmapio_ring_submit(ring);
	while (mmapio_ring_inflight(ring) > 0 && mmapio_ring_wait(ring, c, 64, 1, -1) >= 0)
		;
}

bool bench_selected(const struct bench_opts *opts, const char *workload)
{
	const char *p = opts->only;

	if (!p)
		return true;
	while (*p) {
		size_t n = strcspn(p, ",");

		size_t m = strlen(workload);

		/* "W4" picks "W4/8dirs", and "W8/seg-ro-1t" picks its family "W8" too. */
		if (n > 0 && strncasecmp(workload, p, n) == 0 &&
		    (workload[n] == '\0' || workload[n] == '/'))
			return true;
		if (n > m && strncasecmp(workload, p, m) == 0 && p[m] == '/')
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}
