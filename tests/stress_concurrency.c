/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The concurrency workload of test_views.c as a plain program, so that it
 * can run under ThreadSanitizer, where Criterion's runner cannot start
 * (Snaipe/Criterion#274).  Writers and readers share one read-write map,
 * then writers, readers, a resizer and a closer share it (conc_mix_run),
 * also on a map with a reservation; then readers share a read-only map;
 * every record seen must be uniform and the file must hold uniform records
 * afterwards.  Exits 0 on success, 1 on
 * a failure (described on stderr), 77 when it cannot set up.
 */
#include "concurrency.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Under valgrind, which runs one thread at a time and each many times
 * slower, the same invariants are checked over a fifth of the iterations,
 * so that the run stays within its time limit on two loaded cores.
 */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define CONC_SCALE (RUNNING_ON_VALGRIND ? 5u : 1u)
#endif
#endif
#ifndef CONC_SCALE
#define CONC_SCALE 1u
#endif

static int read_file(const char *path, unsigned char *buf, size_t cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0;

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + got, cap - got);

		if (n < 0) {
			close(fd);
			return -errno;
		}
		if (n == 0 || got + (size_t)n == cap) {
			got += (size_t)n;
			break;
		}
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return 0;
}

struct ro_arg {
	mmapio_map *map;
	const unsigned char *want;
	unsigned id;
	int bad;
};

static void *ro_reader(void *arg)
{
	struct ro_arg *a = arg;
	unsigned seed = 0x2468aceu + a->id;
	unsigned char got[700];

	for (int i = 0; i < 2000 && !a->bad; i++) {
		uint64_t off = conc_rand(&seed) % (CONC_LEN - sizeof(got));
		size_t n = 1 + conc_rand(&seed) % sizeof(got);
		struct mmapio_view v;

		if (i % 2) {
			if (mmapio_read(a->map, off, got, n) != 0 || memcmp(got, a->want + off, n))
				a->bad = 1;
		} else if (mmapio_view_read(a->map, off, n, &v) != 0) {
			a->bad = 1;
		} else {
			if (memcmp(v.data, a->want + off, n) != 0)
				a->bad = 1;
			mmapio_view_release(&v);
		}
	}
	return NULL;
}

int main(void)
{
	static unsigned char all[CONC_LEN + 1];
	char dir[PATH_MAX], path[PATH_MAX + 16], side[PATH_MAX + 16], msg[200];
	struct mmapio_options reserved = { .reserve = 1u << 20 };
	const char *tmp = getenv("TMPDIR");
	struct ro_arg ra[4];
	pthread_t t[4];
	mmapio_map *map = NULL;
	size_t len = 0;
	int rc, status = 1;

	snprintf(dir, sizeof(dir), "%s/mmapio-stress-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		return 77;
	}
	snprintf(path, sizeof(path), "%s/records", dir);
	snprintf(side, sizeof(side), "%s/side", dir);
	rc = mmapio_create(side, 4096, NULL, &map);
	if (rc != 0 || mmapio_close(map) != 0) {
		fprintf(stderr, "mmapio_create side: %s\n", mmapio_strerror(rc));
		goto out;
	}

	rc = mmapio_create(path, CONC_LEN, NULL, &map);
	if (rc != 0) {
		fprintf(stderr, "mmapio_create: %s\n", mmapio_strerror(rc));
		goto out;
	}
	if (conc_run(map, 2, 2, 1500 / CONC_SCALE, msg, sizeof(msg)) != 0 ||
	    conc_run(map, 3, 3, 1000 / CONC_SCALE, msg, sizeof(msg)) != 0 ||
	    conc_mix_run(map, side, 2, 3, 1500 / CONC_SCALE, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "read-write map: %s\n", msg);
		mmapio_close(map);
		goto out;
	}
	printf("mixed, read-write map: %s\n", msg);
	rc = mmapio_close(map);
	if (rc != 0) {
		fprintf(stderr, "mmapio_close: %s\n", mmapio_strerror(rc));
		goto out;
	}
	/* The same file again, through a map whose growth stays in its reservation. */
	rc = mmapio_open(path, MMAPIO_READ_WRITE, &reserved, &map);
	if (rc != 0 || conc_mix_run(map, side, 2, 2, 1000 / CONC_SCALE, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "reserved map: %s\n", rc ? mmapio_strerror(rc) : msg);
		if (rc == 0)
			mmapio_close(map);
		goto out;
	}
	printf("mixed, reserved map: %s\n", msg);
	rc = mmapio_close(map);
	if (rc != 0) {
		fprintf(stderr, "mmapio_close: %s\n", mmapio_strerror(rc));
		goto out;
	}
	rc = read_file(path, all, sizeof(all), &len);
	if (rc != 0 || conc_check_file(all, len, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "file: %s\n", rc ? strerror(-rc) : msg);
		goto out;
	}

	/* The same bytes through a read-only map, read by four threads. */
	rc = mmapio_open(path, MMAPIO_READ_ONLY, NULL, &map);
	if (rc != 0) {
		fprintf(stderr, "mmapio_open: %s\n", mmapio_strerror(rc));
		goto out;
	}
	for (unsigned i = 0; i < 4; i++) {
		ra[i] = (struct ro_arg){ .map = map, .want = all, .id = i };
		pthread_create(&t[i], NULL, ro_reader, &ra[i]);
	}
	status = 0;
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		if (ra[i].bad) {
			fprintf(stderr, "read-only map: thread %u read wrong bytes\n", i);
			status = 1;
		}
	}
	mmapio_close(map);
out:
	unlink(path);
	unlink(side);
	rmdir(dir);
	if (status == 0)
		printf("concurrency: ok\n");
	return status;
}
