/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The seed's third example: copy a file, refuse to overwrite the copy
 * without MMAPIO_COPY_OVERWRITE, check the copy's bytes, then delete both.
 */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */

#include <errno.h>
#include <string.h>

#include "example_util.h"

int main(int argc, char **argv)
{
	char src[512], dst[512], back[16];
	const char *dir = example_dir(argc, argv);
	mmapio_map *map;
	int rc;

	snprintf(src, sizeof(src), "%s/source.bin", dir);
	snprintf(dst, sizeof(dst), "%s/copy.bin", dir);

	CHECK(mmapio_create(src, 8192, NULL, &map));
	CHECK(mmapio_write(map, 4090, "copied bytes", 12));
	CHECK(mmapio_flush(map));
	CHECK(mmapio_close(map));

	CHECK(mmapio_copy(src, dst, 0));
	rc = mmapio_copy(src, dst, 0);
	printf("copying again without MMAPIO_COPY_OVERWRITE: %s\n", mmapio_strerror(rc));
	if (rc != -EEXIST)
		return 1;
	CHECK(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE));

	CHECK(mmapio_open(dst, MMAPIO_READ_ONLY, NULL, &map));
	CHECK(mmapio_read(map, 4090, back, 12));
	printf("%s: %.12s (%llu bytes)\n", dst, back, (unsigned long long)mmapio_len(map));
	if (memcmp(back, "copied bytes", 12) != 0 || mmapio_len(map) != 8192)
		return 1;
	CHECK(mmapio_close(map));

	CHECK(mmapio_delete(src));
	CHECK(mmapio_delete(dst));
	rc = mmapio_delete(dst);
	printf("deleting a missing file: %s\n", mmapio_strerror(rc));
	return rc == -ENOENT ? 0 : 1;
}
