/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Atomic words: values land in the file, misaligned offsets are -EINVAL,
 * words past the end -ERANGE, stores on read-only maps -EACCES (file
 * unchanged), and increments from two processes sharing the file and from
 * several threads sharing a map never lose an update.
 */
#include <pthread.h>

#include "helpers.h"

TestSuite(atomic, .init = th_setup, .fini = th_teardown, .timeout = 60);

Test(atomic, store_load_and_cas_reach_the_file)
{
	TH_PATH(p, "a");
	mmapio_map *map;
	uint64_t v64 = 0, expect64;
	uint32_t v32 = 0, expect32;
	unsigned char *bytes;
	size_t len;

	TH_ASSERT_RC(mmapio_create(p, 4096, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_atomic_store_u64(map, 8, 0x1122334455667788ull), 0);
	TH_ASSERT_RC(mmapio_atomic_load_u64(map, 8, &v64), 0);
	cr_assert_eq(v64, 0x1122334455667788ull);

	/* A CAS with a stale expectation fails and reports the current value. */
	expect64 = 1;
	TH_ASSERT_RC(mmapio_atomic_cas_u64(map, 8, &expect64, 2), 0);
	cr_assert_eq(expect64, 0x1122334455667788ull);
	TH_ASSERT_RC(mmapio_atomic_cas_u64(map, 8, &expect64, 42), 1);
	TH_ASSERT_RC(mmapio_atomic_fetch_add_u64(map, 8, 8, &v64), 0);
	cr_assert_eq(v64, 42);

	TH_ASSERT_RC(mmapio_atomic_store_u32(map, 4092, 0xdeadbeefu), 0);
	expect32 = 0xdeadbeefu;
	TH_ASSERT_RC(mmapio_atomic_cas_u32(map, 4092, &expect32, 7), 1);
	TH_ASSERT_RC(mmapio_atomic_fetch_add_u32(map, 4092, 3, NULL), 0);
	TH_ASSERT_RC(mmapio_atomic_load_u32(map, 4092, &v32), 0);
	cr_assert_eq(v32, 10);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);

	bytes = th_read_file(p, &len);
	cr_assert_eq(len, 4096);
	memcpy(&v64, bytes + 8, 8);
	memcpy(&v32, bytes + 4092, 4);
	cr_assert_eq(v64, 50, "the file holds %llu at offset 8", (unsigned long long)v64);
	cr_assert_eq(v32, 10);
	free(bytes);
}

Test(atomic, misaligned_out_of_range_and_read_only_are_refused)
{
	TH_PATH(p, "b");
	mmapio_map *map;
	uint64_t v64 = 5;
	uint32_t v32;
	unsigned char before[4096], *after;
	size_t len;

	th_write_pattern_file(p, sizeof(before), 3);
	th_fill(before, sizeof(before), 0, 3);
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_atomic_store_u64(map, 4, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_atomic_load_u64(map, 1, &v64), -EINVAL);
	TH_ASSERT_RC(mmapio_atomic_cas_u32(map, 2, &v32, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_atomic_fetch_add_u32(map, 4094, 1, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_atomic_store_u64(map, 4096, 1), -ERANGE);
	TH_ASSERT_RC(mmapio_atomic_load_u32(map, UINT64_MAX - 3, &v32), -ERANGE);
	TH_ASSERT_RC(mmapio_atomic_load_u64(map, 0, NULL), -EINVAL);
	TH_ASSERT_RC(mmapio_atomic_cas_u64(map, 0, NULL, 1), -EINVAL);
	TH_ASSERT_RC(mmapio_atomic_load_u64(NULL, 0, &v64), -EINVAL);
	TH_ASSERT_RC(mmapio_close(map), 0);

	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_ONLY, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_atomic_store_u64(map, 0, 1), -EACCES);
	TH_ASSERT_RC(mmapio_atomic_fetch_add_u32(map, 0, 1, NULL), -EACCES);
	TH_ASSERT_RC(mmapio_atomic_cas_u64(map, 0, &v64, 1), -EACCES);
	/* Loads work on read-only maps. */
	TH_ASSERT_RC(mmapio_atomic_load_u64(map, 0, &v64), 0);
	cr_assert_eq(memcmp(&v64, before, 8), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);

	after = th_read_file(p, &len);
	cr_assert_eq(len, sizeof(before));
	cr_assert_arr_eq(after, before, sizeof(before), "a refused atomic changed the file");
	free(after);
}

#define ADDS 20000

struct adder {
	mmapio_map *map;
	int failures;
};

static void *add_many(void *arg)
{
	struct adder *a = arg;

	for (int i = 0; i < ADDS; i++)
		if (mmapio_atomic_fetch_add_u64(a->map, 64, 1, NULL) != 0)
			a->failures++;
	return NULL;
}

Test(atomic, threads_and_processes_lose_no_increment)
{
	TH_PATH(p, "c");
	mmapio_map *map;
	struct adder a[3];
	pthread_t t[3];
	uint64_t v;
	pid_t child;
	int status;

	TH_ASSERT_RC(mmapio_create(p, 4096, NULL, &map), 0);
	child = fork();
	cr_assert_neq(child, -1);
	if (child == 0) {
		/* A second process with its own map of the same file. */
		mmapio_map *m2;
		int bad = mmapio_open(p, MMAPIO_READ_WRITE, NULL, &m2) != 0;

		for (int i = 0; !bad && i < ADDS; i++)
			bad = mmapio_atomic_fetch_add_u64(m2, 64, 1, NULL) != 0;
		_exit(bad || mmapio_close(m2) != 0);
	}
	for (int i = 0; i < 3; i++) {
		a[i] = (struct adder){ .map = map };
		cr_assert_eq(pthread_create(&t[i], NULL, add_many, &a[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		pthread_join(t[i], NULL);
		cr_assert_eq(a[i].failures, 0);
	}
	cr_assert_eq(waitpid(child, &status, 0), child);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child failed: %#x", status);
	TH_ASSERT_RC(mmapio_atomic_load_u64(map, 64, &v), 0);
	cr_assert_eq(v, 4ull * ADDS, "got %llu increments", (unsigned long long)v);
	TH_ASSERT_RC(mmapio_close(map), 0);
}
