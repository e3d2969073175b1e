/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Atomically replacing a file: the new contents go to a temporary file in
 * the same directory and are made durable, then one durable rename on a
 * ring puts it in place and syncs the directory.  Readers see the old file
 * or the new one, never a mix, across a crash too.  (mmapio_copy with
 * MMAPIO_COPY_OVERWRITE does the same for a copy.)
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <string.h>

#include "example_util.h"

/* Writes text (with its NUL) as the whole file at path, durably. */
static void write_file(const char *path, const char *text)
{
	mmapio_map *map;

	CHECK(mmapio_create(path, strlen(text) + 1, NULL, &map));
	CHECK(mmapio_write(map, 0, text, strlen(text) + 1));
	CHECK(mmapio_flush(map));
	CHECK(mmapio_close(map));
}

int main(int argc, char **argv)
{
	const char *dir = example_dir(argc, argv);
	char path[512], tmp[512], back[64];
	struct mmapio_completion c;
	mmapio_ring *ring;
	mmapio_map *map;

	snprintf(path, sizeof(path), "%s/config", dir);
	snprintf(tmp, sizeof(tmp), "%s/config.tmp", dir);
	write_file(path, "version 1");

	write_file(tmp, "version 2");
	CHECK(mmapio_ring_open(NULL, &ring));
	CHECK(mmapio_ring_prep_rename(ring, tmp, path, MMAPIO_RENAME_DURABLE, NULL));
	CHECK(mmapio_ring_submit(ring));
	CHECK(mmapio_ring_wait(ring, &c, 1, 1, -1));
	printf("rename: %s\n", mmapio_strerror(c.result));
	CHECK(c.result);
	CHECK(mmapio_ring_close(ring));

	CHECK(mmapio_open(path, MMAPIO_READ_ONLY, NULL, &map));
	CHECK(mmapio_read(map, 0, back, mmapio_len(map)));
	CHECK(mmapio_close(map));
	printf("%s: %s\n", path, back);
	if (strcmp(back, "version 2") != 0)
		return 1;
	CHECK(mmapio_delete(path));
	return 0;
}
