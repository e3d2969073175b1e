/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A durable batch of new files with one directory sync: the creates run in
 * one submit (without MMAPIO_CREATE_DURABLE, which would sync the directory
 * once per file), a barrier, then one mmapio_ring_prep_sync_dir of their
 * directory makes every new entry survive a crash.  A durable delete is the
 * same shape: a ring delete, a barrier, a directory sync.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include "example_util.h"

#define NFILES 32

int main(int argc, char **argv)
{
	const char *dir = example_dir(argc, argv);
	struct mmapio_completion c[NFILES + 1];
	char path[NFILES][512];
	mmapio_ring *ring;
	int n = 0, pass;

	CHECK(mmapio_ring_open(NULL, &ring));
	for (pass = 0; pass < 2; pass++) {
		/* Pass 0 creates the files, pass 1 deletes them, each made durable. */
		for (int i = 0; i < NFILES; i++) {
			snprintf(path[i], sizeof(path[i]), "%s/segment-%02d", dir, i);
			if (pass == 0)
				CHECK(mmapio_ring_prep_create(ring, path[i], 65536, NULL, NULL));
			else
				CHECK(mmapio_ring_prep_delete(ring, path[i], NULL));
		}
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
		printf("%s %d files, then one directory sync\n", pass == 0 ? "created" : "deleted",
		       NFILES);
	}
	CHECK(mmapio_ring_close(ring));
	return 0;
}
