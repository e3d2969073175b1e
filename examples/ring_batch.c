/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The ring tour: batch-create 1000 files, copy one, flush a map, and reap
 * every completion from an epoll loop watching the ring's eventfd.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "example_util.h"

#define NFILES 1000

int main(int argc, char **argv)
{
	char path[512], copy[512];
	const char *dir = example_dir(argc, argv);
	const char *why;
	struct mmapio_completion done[64];
	struct epoll_event ev = { .events = EPOLLIN };
	mmapio_ring *ring;
	mmapio_map *map;
	unsigned outstanding = 0, failed = 0;
	int ep, n;

	CHECK(mmapio_ring_open(NULL, &ring));
	mmapio_ring_backend(ring, &why);
	printf("backend: %s\n", why);

	/* 1000 files of 64 KiB, each preallocated, handed over in one submit. */
	for (int i = 0; i < NFILES; i++) {
		snprintf(path, sizeof(path), "%s/f%04d", dir, i);
		CHECK(mmapio_ring_prep_create(ring, path, 64 << 10, NULL, NULL));
	}
	/* A map to flush and a file to copy, in the same batch. */
	snprintf(path, sizeof(path), "%s/data", dir);
	CHECK(mmapio_create(path, 1 << 20, NULL, &map));
	CHECK(mmapio_write(map, 4096, "durable", 7));
	CHECK(mmapio_ring_prep_flush(ring, map, 0, mmapio_len(map), map));
	snprintf(copy, sizeof(copy), "%s/data.copy", dir);
	CHECK(mmapio_ring_prep_copy(ring, path, copy, 0, NULL));

	n = mmapio_ring_submit(ring);
	CHECK(n);
	outstanding = (unsigned)n;

	/* Reap from an event loop: the ring's descriptor polls readable. */
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.ptr = ring;
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, mmapio_ring_fd(ring), &ev) < 0) {
		perror("epoll");
		return 1;
	}
	while (outstanding > 0) {
		struct epoll_event got;

		n = epoll_wait(ep, &got, 1, 10000);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "epoll_wait: %s, %u outstanding\n",
				n < 0 ? strerror(errno) : "no completion within 10 s", outstanding);
			return 1;
		}
		while ((n = mmapio_ring_peek(ring, done, 64)) > 0) {
			for (int i = 0; i < n; i++) {
				if (done[i].result < 0) {
					fprintf(stderr, "operation %d failed: %s\n", done[i].op,
						mmapio_strerror(done[i].result));
					failed++;
				}
				if (done[i].op == MMAPIO_OP_FLUSH)
					printf("flush of %p: %s\n", done[i].user_data,
					       mmapio_strerror(done[i].result));
			}
			outstanding -= (unsigned)n;
		}
	}
	close(ep);
	printf("%d operations done, %u failed\n", NFILES + 2, failed);

	/* Synchronous calls use the thread's default ring. */
	CHECK(mmapio_copy(path, copy, MMAPIO_COPY_OVERWRITE));
	CHECK(mmapio_close(map));
	CHECK(mmapio_ring_close(ring));

	/* Check the created files' sizes, then clean up. */
	for (int i = 0; i < NFILES; i++) {
		struct stat st;

		snprintf(path, sizeof(path), "%s/f%04d", dir, i);
		if (stat(path, &st) != 0 || st.st_size != 64 << 10) {
			fprintf(stderr, "%s: missing or wrong size\n", path);
			failed++;
		}
		CHECK(mmapio_delete(path));
	}
	snprintf(path, sizeof(path), "%s/data", dir);
	CHECK(mmapio_delete(path));
	CHECK(mmapio_delete(copy));
	return failed ? 1 : 0;
}
