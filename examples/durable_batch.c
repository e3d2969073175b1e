/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A durable batch of new files: N creates with MMAPIO_CREATE_DURABLE in one
 * submit.  Each file is synced, and the ring syncs their directory once,
 * after the last of them, instead of once per file; every completion comes
 * after that sync, so a completion with result 0 means the file and its
 * name survive a crash.  A durable delete has no flag: a ring delete, a
 * barrier, then one mmapio_ring_prep_sync_dir of the directory.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include "example_util.h"

#define NFILES 32

int main(int argc, char **argv)
{
	const char *dir = example_dir(argc, argv);
	struct mmapio_options durable = { .flags = MMAPIO_CREATE_DURABLE };
	struct mmapio_completion c[NFILES + 1];
	char path[NFILES][512];
	mmapio_ring *ring;
	int n;

	CHECK(mmapio_ring_open(NULL, &ring));

	/* The creates: durable, one directory sync for all of them. */
	for (int i = 0; i < NFILES; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/segment-%02d", dir, i);
		CHECK(mmapio_ring_prep_create(ring, path[i], 65536, &durable, NULL));
	}
	CHECK(mmapio_ring_submit(ring));
	for (n = 0; n < NFILES;) {
		int got = mmapio_ring_wait(ring, c + n, NFILES - (unsigned)n, 1, -1);

		CHECK(got);
		n += got;
	}
	for (int i = 0; i < n; i++)
		CHECK(c[i].result);
	printf("created %d durable files, their directory synced once\n", NFILES);

	/* The deletes: a barrier, then the directory sync comes last. */
	for (int i = 0; i < NFILES; i++)
		CHECK(mmapio_ring_prep_delete(ring, path[i], NULL));
	CHECK(mmapio_ring_barrier(ring));
	CHECK(mmapio_ring_prep_sync_dir(ring, dir, (void *)dir));
	CHECK(mmapio_ring_submit(ring));
	for (n = 0; n < NFILES + 1;) {
		int got = mmapio_ring_wait(ring, c + n, NFILES + 1 - (unsigned)n, 1, -1);

		CHECK(got);
		n += got;
	}
	for (int i = 0; i < n; i++) {
		CHECK(c[i].result);
		/* The directory sync comes last: the barrier held it back. */
		if ((c[i].user_data == dir) != (i == NFILES))
			return 1;
	}
	printf("deleted %d files, then one directory sync\n", NFILES);
	CHECK(mmapio_ring_close(ring));
	return 0;
}
