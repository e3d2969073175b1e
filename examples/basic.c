/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seed's first example: create a 1 MiB file, write "Hello, mmap!" at
 * offset 100, flush it to stable storage, reopen the file read-only and look
 * at the 12 bytes through a zero-copy view.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <string.h>

#include "example_util.h"

int main(int argc, char **argv)
{
	char path[512];
	const char *dir = example_dir(argc, argv);
	const char msg[] = "Hello, mmap!";
	mmapio_map *map;
	struct mmapio_view view;

	snprintf(path, sizeof(path), "%s/basic.bin", dir);

	CHECK(mmapio_create(path, 1 << 20, NULL, &map));
	CHECK(mmapio_write(map, 100, msg, strlen(msg)));
	CHECK(mmapio_flush(map));
	CHECK(mmapio_close(map));

	CHECK(mmapio_open(path, MMAPIO_READ_ONLY, NULL, &map));
	CHECK(mmapio_view_read(map, 100, strlen(msg), &view));
	printf("%s: %.*s (map of %llu bytes)\n", path, (int)view.len, (const char *)view.data,
	       (unsigned long long)mmapio_len(map));
	if (view.len != strlen(msg) || memcmp(view.data, msg, view.len) != 0) {
		fprintf(stderr, "read back the wrong bytes\n");
		return 1;
	}
	mmapio_view_release(&view);
	CHECK(mmapio_close(map));
	CHECK(mmapio_delete(path));
	return 0;
}
