/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The first program of the Windows port, kept as a plain smoke test that
 * needs no test framework: create, write, read, flush, resize, reopen,
 * copy and delete a file through the public API, checking the bytes on
 * disk with the C runtime.  Exits 0 when everything holds.
 */
#include <fcntl.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

#include "mmapio.h"

static int failures;

#define CHECK(cond)                                                              \
	do {                                                                     \
		if (!(cond)) {                                                   \
			printf("smoke: line %d: %s failed\n", __LINE__, #cond);  \
			failures++;                                              \
		}                                                                \
	} while (0)

#define CHECK_RC(call, want)                                                     \
	do {                                                                     \
		int rc_ = (call);                                                \
		if (rc_ != (want)) {                                             \
			printf("smoke: line %d: %s = %d (%s), expected %d\n", __LINE__, \
			       #call, rc_, mmapio_strerror(rc_), (want));        \
			failures++;                                              \
		}                                                                \
	} while (0)

/* Reads the file at path with _read into buf; returns the byte count or -1. */
static long read_file(const char *path, char *buf, long cap)
{
	int fd = _open(path, _O_RDONLY | _O_BINARY);
	long got = 0, n;

	if (fd < 0)
		return -1;
	while ((n = _read(fd, buf + got, (unsigned)(cap - got))) > 0)
		got += n;
	_close(fd);
	return got;
}

int main(void)
{
	char dir[MAX_PATH], a[MAX_PATH + 16], b[MAX_PATH + 16], buf[9000];
	mmapio_map *map = NULL;
	struct mmapio_view v;

	GetTempPathA(sizeof(dir), dir);
	snprintf(dir + strlen(dir), sizeof(dir) - strlen(dir), "mmapio-smoke-%lu",
		 (unsigned long)GetCurrentProcessId());
	CHECK(CreateDirectoryA(dir, NULL));
	snprintf(a, sizeof(a), "%s/a.bin", dir);
	snprintf(b, sizeof(b), "%s/b.bin", dir);

	CHECK_RC(mmapio_create(a, 5000, NULL, &map), 0);
	CHECK(mmapio_len(map) == 5000);
	CHECK_RC(mmapio_write(map, 10, "hello", 5), 0);
	memset(buf, 0, sizeof(buf));
	CHECK_RC(mmapio_read(map, 10, buf, 5), 0);
	CHECK(memcmp(buf, "hello", 5) == 0);
	CHECK_RC(mmapio_read(map, 4999, buf, 2), -ERANGE);
	CHECK_RC(mmapio_flush(map), 0);
	CHECK_RC(mmapio_resize(map, 8192), 0);
	CHECK_RC(mmapio_write(map, 8190, "xy", 2), 0);
	CHECK_RC(mmapio_resize(map, 100), 0);
	CHECK(mmapio_len(map) == 100);
	CHECK_RC(mmapio_resize(map, 50), 0);
	CHECK_RC(mmapio_view_read(map, 0, 50, &v), 0);
	CHECK(memcmp((char *)v.data + 10, "hello", 5) == 0);
	CHECK_RC(mmapio_close(map), -EBUSY);
	mmapio_view_release(&v);
	CHECK_RC(mmapio_close(map), 0);
	CHECK(read_file(a, buf, sizeof(buf)) == 50);
	CHECK(memcmp(buf + 10, "hello", 5) == 0);

	CHECK_RC(mmapio_open(a, MMAPIO_READ_ONLY, NULL, &map), 0);
	CHECK_RC(mmapio_write(map, 0, "z", 1), -EACCES);
	CHECK_RC(mmapio_close(map), 0);
	CHECK_RC(mmapio_open(dir, MMAPIO_READ_ONLY, NULL, &map), -EISDIR);

	CHECK_RC(mmapio_copy(a, b, 0), 0);
	CHECK_RC(mmapio_copy(a, b, 0), -EEXIST);
	CHECK_RC(mmapio_copy(a, b, MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE), 0);
	CHECK(read_file(b, buf, sizeof(buf)) == 50);
	CHECK_RC(mmapio_delete(b), 0);
	CHECK_RC(mmapio_delete(b), -ENOENT);
	CHECK_RC(mmapio_delete(dir), -EISDIR);
	CHECK_RC(mmapio_delete(a), 0);
	CHECK(RemoveDirectoryA(dir));

	printf("smoke: %s\n", failures ? "FAILED" : "ok");
	return failures ? 1 : 0;
}
