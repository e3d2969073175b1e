/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The public structs keep the layout this version published: sizes and
 * field offsets are pinned at compile time on LP64 targets (x86-64,
 * aarch64, riscv64, ...), so that a change to the ABI cannot slip in as a
 * side effect.  At run time it checks that the calls which fill
 * library-owned structs leave their reserved words zero, and that releasing
 * a view clears it.  Exit status 0 means it passed.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mmapio.h>

#if UINTPTR_MAX == UINT64_MAX && SIZE_MAX == UINT64_MAX
#define PIN(type, size) _Static_assert(sizeof(type) == (size), #type " changed size")
#define AT(type, field, off) \
	_Static_assert(offsetof(type, field) == (off), #type "." #field " moved")

PIN(struct mmapio_options, 64);
AT(struct mmapio_options, flags, 0);
AT(struct mmapio_options, perm, 4);
AT(struct mmapio_options, reserve, 8);
AT(struct mmapio_options, reserved, 16);

PIN(struct mmapio_view, 64);
AT(struct mmapio_view, data, 0);
AT(struct mmapio_view, len, 8);
AT(struct mmapio_view, map_, 16);
AT(struct mmapio_view, kind_, 24);
AT(struct mmapio_view, reserved_words_, 32);

PIN(struct mmapio_segment, 40);
AT(struct mmapio_segment, map, 0);
AT(struct mmapio_segment, off, 8);
AT(struct mmapio_segment, len, 16);
AT(struct mmapio_segment, reserved, 24);

PIN(struct mmapio_ring_options, 64);
AT(struct mmapio_ring_options, queue_depth, 0);
AT(struct mmapio_ring_options, flags, 4);
AT(struct mmapio_ring_options, backend, 8);
AT(struct mmapio_ring_options, reserved, 16);

PIN(struct mmapio_completion, 24);
AT(struct mmapio_completion, op, 0);
AT(struct mmapio_completion, result, 4);
AT(struct mmapio_completion, user_data, 8);
AT(struct mmapio_completion, reserved, 16);

PIN(struct mmapio_range, 16);
PIN(struct mmapio_ring_stats, 64);
#endif

/* Fails the program with a message when cond is false. */
#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond)) {                                                  \
			fprintf(stderr, "abi_layout: line %d: %s\n", __LINE__, #cond); \
			status = 1;                                             \
		}                                                               \
	} while (0)

/* True when the n bytes at p are all zero. */
static int all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

int main(void)
{
	char dir[] = "/tmp/mmapio-abi-XXXXXX", path[64];
	struct mmapio_segment seg, sub;
	struct mmapio_view view;
	mmapio_map *map = NULL;
	int status = 0;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/f", dir);
	CHECK(mmapio_create(path, 8192, NULL, &map) == 0);
	if (map == NULL)
		return 1;

	memset(&seg, 0xa5, sizeof(seg));
	CHECK(mmapio_segment_init(map, 100, 1000, &seg) == 0);
	CHECK(seg.map == map && seg.off == 100 && seg.len == 1000);
	CHECK(all_zero(seg.reserved, sizeof(seg.reserved)));
	memset(&sub, 0xa5, sizeof(sub));
	CHECK(mmapio_segment_sub(&seg, 10, 20, &sub) == 0);
	CHECK(sub.map == map && sub.off == 110 && sub.len == 20);
	CHECK(all_zero(sub.reserved, sizeof(sub.reserved)));
	/* out last, like every other call: a failing init leaves *out alone. */
	CHECK(mmapio_segment_init(map, 8192, 1, &sub) == -ERANGE);
	CHECK(sub.map == map && sub.off == 110 && sub.len == 20);

	CHECK(mmapio_view_read(map, 0, 16, &view) == 0);
	CHECK(view.data != NULL && view.len == 16);
	mmapio_view_release(&view);
	CHECK(all_zero(&view, sizeof(view)));

	CHECK(mmapio_close(map) == 0);
	unlink(path);
	rmdir(dir);
	return status;
}
