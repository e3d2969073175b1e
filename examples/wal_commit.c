/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A write-ahead-log style commit in one ring submit: the dirty data pages
 * are flushed, then (after a barrier) the meta page that points at them is
 * written through the file, then (after another barrier) the meta page is
 * flushed.  A crash at any point never leaves a durable meta page without
 * its data; a failing data flush cancels the meta write (-ECANCELED).
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <string.h>

#include "example_util.h"

#define PAGE 4096u
#define DATA_PAGES 8u

struct meta {
	char magic[8];
	unsigned long long seq;   /* the commit number */
	unsigned long long pages; /* data pages it covers */
};

int main(int argc, char **argv)
{
	const char *dir = example_dir(argc, argv);
	struct mmapio_range dirty[DATA_PAGES / 2];
	struct mmapio_completion c[3];
	struct meta meta = { "mmapwal", 1, DATA_PAGES }, back;
	mmapio_ring *ring;
	mmapio_map *map;
	char path[512], page[PAGE];
	int n = 0;

	snprintf(path, sizeof(path), "%s/store.db", dir);
	CHECK(mmapio_create(path, (uint64_t)(DATA_PAGES + 1) * PAGE, NULL, &map));
	CHECK(mmapio_ring_open(NULL, &ring));

	/* The transaction: every other data page changes (page 0 is the meta page). */
	for (unsigned i = 0; i < DATA_PAGES / 2; i++) {
		memset(page, 'a' + (int)i, sizeof(page));
		dirty[i].off = (uint64_t)(1 + 2 * i) * PAGE;
		dirty[i].len = PAGE;
		CHECK(mmapio_write(map, dirty[i].off, page, PAGE));
	}

	/* The commit: data durable, then the meta page written, then durable. */
	CHECK(mmapio_ring_prep_flush_ranges(ring, map, dirty, DATA_PAGES / 2, "data"));
	CHECK(mmapio_ring_barrier(ring));
	CHECK(mmapio_ring_prep_write(ring, map, 0, &meta, sizeof(meta), "meta write"));
	CHECK(mmapio_ring_barrier(ring));
	CHECK(mmapio_ring_prep_flush(ring, map, 0, PAGE, "meta flush"));
	CHECK(mmapio_ring_submit(ring));
	while (n < 3) {
		int got = mmapio_ring_wait(ring, c + n, 3 - (unsigned)n, 3 - (unsigned)n, -1);

		CHECK(got);
		n += got;
	}
	for (int i = 0; i < 3; i++) {
		printf("%-10s %s\n", (const char *)c[i].user_data, mmapio_strerror(c[i].result));
		if (c[i].result != 0)
			return 1;
	}

	/* The meta page shows through the map as well as in the file. */
	CHECK(mmapio_read(map, 0, &back, sizeof(back)));
	if (memcmp(&back, &meta, sizeof(meta)) != 0)
		return 1;
	printf("committed seq %llu over %llu pages\n", back.seq, back.pages);
	CHECK(mmapio_ring_close(ring));
	CHECK(mmapio_close(map));
	CHECK(mmapio_delete(path));
	return 0;
}
