/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seed's second example: write "ABCDE" through a mutable zero-copy view,
 * which holds the map's write lock until it is released, then read it back
 * with a bounds-checked copy.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <string.h>

#include "example_util.h"

int main(int argc, char **argv)
{
	char path[512], back[5];
	const char *dir = example_dir(argc, argv);
	mmapio_map *map;
	struct mmapio_view view;

	snprintf(path, sizeof(path), "%s/mutable.bin", dir);

	CHECK(mmapio_create(path, 4096, NULL, &map));
	CHECK(mmapio_view_write(map, 0, 5, &view));
	memcpy(view.data, "ABCDE", 5);
	mmapio_view_release(&view);
	CHECK(mmapio_flush_range(map, 0, 5));

	CHECK(mmapio_read(map, 0, back, sizeof(back)));
	printf("%s: %.5s\n", path, back);
	if (memcmp(back, "ABCDE", 5) != 0) {
		fprintf(stderr, "read back the wrong bytes\n");
		return 1;
	}
	CHECK(mmapio_close(map));
	CHECK(mmapio_delete(path));
	return 0;
}
