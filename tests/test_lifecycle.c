/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Creating, opening and closing maps in every mode: sizes, contents, empty
 * files, permission bits and the umask, exclusive and durable creation,
 * address-space reservation, descriptors owned and not leaked.
 */
#include "helpers.h"

#include <sys/mman.h>

TestSuite(lifecycle, .init = th_setup, .fini = th_teardown, .timeout = 60);

/* Asserts that every byte of the map reads as zero. */
static void assert_map_zero(mmapio_map *map)
{
	uint64_t len = mmapio_len(map);
	unsigned char *buf = th_malloc((size_t)len);

	TH_ASSERT_RC(mmapio_read(map, 0, buf, (size_t)len), 0);
	for (uint64_t i = 0; i < len; i++)
		cr_assert_eq(buf[i], 0, "byte %llu is 0x%02x", (unsigned long long)i, buf[i]);
	free(buf);
}

Test(lifecycle, create_gives_zeroed_file_of_exact_size)
{
	static const uint64_t sizes[] = { 1, 100, 4095, 4096, 4097, 3 * 4096 + 17, 1 << 20 };

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[32];
		mmapio_map *map = NULL;
		unsigned char *zeros;

		snprintf(name, sizeof(name), "f%zu", i);
		TH_PATH(p, name);
		TH_ASSERT_RC(mmapio_create(p, sizes[i], NULL, &map), 0);
		cr_assert_not_null(map);
		cr_assert_eq(mmapio_len(map), sizes[i]);
		cr_assert_eq(mmapio_mode(map), MMAPIO_READ_WRITE);
		cr_assert_not_null(mmapio_base(map));
		cr_assert_eq(th_file_size(p), (long long)sizes[i]);
		assert_map_zero(map);
		TH_ASSERT_RC(mmapio_close(map), 0);

		zeros = calloc(1, (size_t)sizes[i]);
		cr_assert_not_null(zeros);
		th_assert_file_eq(p, zeros, (size_t)sizes[i]);
		free(zeros);
	}
}

Test(lifecycle, create_truncates_existing_file)
{
	TH_PATH(p, "old");
	unsigned char zeros[300] = { 0 };
	mmapio_map *map = NULL;

	th_write_pattern_file(p, 10000, 1);
	TH_ASSERT_RC(mmapio_create(p, sizeof(zeros), NULL, &map), 0);
	cr_assert_eq(mmapio_len(map), sizeof(zeros));
	assert_map_zero(map);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_assert_file_eq(p, zeros, sizeof(zeros));
}

Test(lifecycle, create_extends_existing_file_with_zeros)
{
	TH_PATH(p, "old");
	mmapio_map *map = NULL;

	th_write_pattern_file(p, 10, 1);
	TH_ASSERT_RC(mmapio_create(p, 8192, NULL, &map), 0);
	cr_assert_eq(th_file_size(p), 8192);
	assert_map_zero(map);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(lifecycle, create_exclusive)
{
	TH_PATH(p, "x");
	struct mmapio_options o = { .flags = MMAPIO_CREATE_EXCLUSIVE };
	mmapio_map *map = NULL;
	mmapio_map *sentinel = (mmapio_map *)&o;
	mmapio_map *out = sentinel;
	unsigned char data[5000];

	/* A new file is created. */
	TH_ASSERT_RC(mmapio_create(p, 4096, &o, &map), 0);
	cr_assert_eq(th_file_size(p), 4096);
	TH_ASSERT_RC(mmapio_close(map), 0);

	/* An existing one is refused and left alone, and *out is untouched. */
	th_fill(data, sizeof(data), 0, 7);
	th_write_file(p, data, sizeof(data), 0644);
	TH_ASSERT_RC(mmapio_create(p, 100, &o, &out), -EEXIST);
	cr_assert_eq(out, sentinel);
	th_assert_file_eq(p, data, sizeof(data));
}

Test(lifecycle, create_durable_syncs_file_and_directory)
{
	TH_PATH(p, "d");
	struct mmapio_options o = { .flags = MMAPIO_CREATE_DURABLE };
	mmapio_map *map = NULL;
	unsigned char zeros[12345] = { 0 };

	TH_ASSERT_RC(mmapio_create(p, sizeof(zeros), &o, &map), 0);
	cr_assert_eq(mmapio_len(map), sizeof(zeros));
	TH_ASSERT_RC(mmapio_write(map, 0, "durable", 7), 0);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	memcpy(zeros, "durable", 7);
	th_assert_file_eq(p, zeros, sizeof(zeros));
}

/* Counts fsync/fdatasync calls made through the system-call table. */
static int sync_calls;
static int count_fsync(int fd)
{
	sync_calls++;
	return fsync(fd) == 0 ? 0 : -errno;
}
static int count_fdatasync(int fd)
{
	sync_calls++;
	return fdatasync(fd) == 0 ? 0 : -errno;
}

Test(lifecycle, create_durable_issues_two_syncs)
{
	/*
	 * mmapio_create makes the file with direct system calls on the calling
	 * thread (see mmapio.h), so the table sees the file's sync and the
	 * directory's sync; a plain create makes none.
	 */
	TH_PATH(p, "d");
	TH_PATH(q, "plain");
	struct mmapio_options o = { .flags = MMAPIO_CREATE_DURABLE };
	mmapio_map *map = NULL;

	mmapio__sys.fsync = count_fsync;
	mmapio__sys.fdatasync = count_fdatasync;
	sync_calls = 0;
	TH_ASSERT_RC(mmapio_create(q, 4096, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_eq(sync_calls, 0, "a plain create synced %d times", sync_calls);
	TH_ASSERT_RC(mmapio_create(p, 4096, &o, &map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_geq(sync_calls, 2, "a durable create synced %d times, expected file + directory",
		      sync_calls);
}

/* True when the filesystem under th_dir supports fallocate. */
static bool fs_has_fallocate(void)
{
	TH_PATH(p, ".probe");
	int fd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	bool ok;

	cr_assert(fd >= 0);
	ok = fallocate(fd, 0, 0, 1 << 20) == 0;
	close(fd);
	unlink(p);
	return ok;
}

Test(lifecycle, create_preallocates_unless_sparse)
{
	TH_PATH(p, "full");
	TH_PATH(s, "sparse");
	struct mmapio_options o = { .flags = MMAPIO_CREATE_SPARSE };
	mmapio_map *map = NULL;
	struct stat st;
	const uint64_t size = 8u << 20;

	if (!fs_has_fallocate())
		TH_SKIP("the filesystem under $TMPDIR or /tmp has no fallocate");
	TH_ASSERT_RC(mmapio_create(p, size, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq((uint64_t)st.st_size, size);
	cr_assert_geq((uint64_t)st.st_blocks * 512, size,
		      "default create reserved %lld bytes of %llu", (long long)st.st_blocks * 512,
		      (unsigned long long)size);

	TH_ASSERT_RC(mmapio_create(s, size, &o, &map), 0);
	assert_map_zero(map);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_eq(stat(s, &st), 0);
	cr_assert_eq((uint64_t)st.st_size, size);
	cr_assert_lt((uint64_t)st.st_blocks * 512, size,
		     "a sparse create allocated the whole file (%lld blocks)",
		     (long long)st.st_blocks);
}

Test(lifecycle, create_populate)
{
	TH_PATH(p, "pop");
	struct mmapio_options o = { .flags = MMAPIO_MAP_POPULATE };
	mmapio_map *map = NULL;

	TH_ASSERT_RC(mmapio_create(p, 65536, &o, &map), 0);
	assert_map_zero(map);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_eq(th_file_size(p), 65536);
}

static mode_t create_mode(unsigned perm, mode_t mask)
{
	TH_PATH(p, "perm");
	struct mmapio_options o = { .perm = perm };
	mmapio_map *map = NULL;
	struct stat st;

	unlink(p);
	umask(mask);
	TH_ASSERT_RC(mmapio_create(p, 10, &o, &map), 0);
	umask(022);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_eq(stat(p, &st), 0);
	return st.st_mode & 07777;
}

Test(lifecycle, create_permission_bits_and_umask)
{
	cr_assert_eq(create_mode(0, 022), 0644);
	cr_assert_eq(create_mode(0, 077), 0600);
	cr_assert_eq(create_mode(0600, 022), 0600);
	cr_assert_eq(create_mode(0666, 027), 0640);
	cr_assert_eq(create_mode(0640, 0), 0640);
	cr_assert_eq(create_mode(0755, 002), 0755);
}

Test(lifecycle, open_each_mode_sees_file_bytes)
{
	static const enum mmapio_mode modes[] = { MMAPIO_READ_ONLY, MMAPIO_READ_WRITE,
						  MMAPIO_COPY_ON_WRITE };
	TH_PATH(p, "data");
	const size_t len = 3 * 4096 + 123;
	unsigned char *want = th_malloc(len);
	unsigned char *got = th_malloc(len);

	th_write_pattern_file(p, len, 3);
	th_fill(want, len, 0, 3);
	for (size_t i = 0; i < 3; i++) {
		mmapio_map *map = NULL;

		TH_ASSERT_RC(mmapio_open(p, modes[i], NULL, &map), 0);
		cr_assert_eq(mmapio_len(map), len);
		cr_assert_eq(mmapio_mode(map), modes[i]);
		memset(got, 0, len);
		TH_ASSERT_RC(mmapio_read(map, 0, got, len), 0);
		cr_assert_arr_eq(got, want, len);
		cr_assert_arr_eq(mmapio_base(map), want, len);
		TH_ASSERT_RC(mmapio_close(map), 0);
	}
	th_assert_file_eq(p, want, len);
	free(want);
	free(got);
}

Test(lifecycle, open_zero_length_file_in_each_mode)
{
	TH_PATH(p, "empty");
	unsigned char b = 0;

	th_write_file(p, "", 0, 0644);
	for (int m = MMAPIO_READ_ONLY; m <= MMAPIO_COPY_ON_WRITE; m++) {
		mmapio_map *map = NULL;

		TH_ASSERT_RC(mmapio_open(p, (enum mmapio_mode)m, NULL, &map), 0);
		cr_assert_eq(mmapio_len(map), 0);
		cr_assert_eq(mmapio_mode(map), (enum mmapio_mode)m);
		cr_assert_null(mmapio_base(map));
		TH_ASSERT_RC(mmapio_read(map, 0, &b, 1), -ERANGE);
		TH_ASSERT_RC(mmapio_read(map, 0, &b, 0), -ERANGE);
		TH_ASSERT_RC(mmapio_close(map), 0);
	}
	cr_assert_eq(th_file_size(p), 0);
}

Test(lifecycle, open_fd_owns_a_duplicate)
{
	TH_PATH(p, "fd");
	const size_t len = 5000;
	unsigned char *want = th_malloc(len);
	unsigned char got[5000];
	mmapio_map *map = NULL;
	int fd, mfd, flags;

	th_write_pattern_file(p, len, 4);
	th_fill(want, len, 0, 4);
	fd = open(p, O_RDWR | O_CLOEXEC);
	cr_assert(fd >= 0);
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_READ_WRITE, NULL, &map), 0);
	mfd = mmapio_fd(map);
	cr_assert_geq(mfd, 0);
	cr_assert_neq(mfd, fd, "the map must own a duplicate, not the caller's fd");
	flags = fcntl(mfd, F_GETFD);
	cr_assert(flags >= 0 && (flags & FD_CLOEXEC), "the map's fd is not close-on-exec");

	/* The caller's descriptor is the caller's: closing it leaves the map working. */
	cr_assert_eq(close(fd), 0);
	TH_ASSERT_RC(mmapio_read(map, 0, got, len), 0);
	cr_assert_arr_eq(got, want, len);
	TH_ASSERT_RC(mmapio_write(map, 10, "fd!", 3), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	memcpy(want + 10, "fd!", 3);
	th_assert_file_eq(p, want, len);

	/* And the map's close leaves a still-open caller descriptor alone. */
	fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_READ_ONLY, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	cr_assert_neq(fcntl(fd, F_GETFD), -1, "mmapio_close closed the caller's fd");
	cr_assert_eq(pread(fd, got, 3, 10), 3);
	cr_assert_arr_eq(got, "fd!", 3);
	close(fd);
	free(want);
}

Test(lifecycle, open_fd_zero_length_and_cow)
{
	TH_PATH(p, "e");
	mmapio_map *map = NULL;
	int fd;

	th_write_file(p, "", 0, 0644);
	fd = open(p, O_RDONLY | O_CLOEXEC);
	cr_assert(fd >= 0);
	TH_ASSERT_RC(mmapio_open_fd(fd, MMAPIO_COPY_ON_WRITE, NULL, &map), 0);
	cr_assert_eq(mmapio_len(map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	close(fd);
}

Test(lifecycle, reservation_keeps_map_usable)
{
	TH_PATH(p, "r");
	struct mmapio_options o = { .reserve = 64u << 20 };
	mmapio_map *map = NULL;
	unsigned char buf[4096];

	TH_ASSERT_RC(mmapio_create(p, 4096, &o, &map), 0);
	cr_assert_eq(mmapio_len(map), 4096);
	cr_assert_eq(th_file_size(p), 4096, "the reservation must not grow the file");
	cr_assert_not_null(mmapio_base(map));
	th_fill(buf, sizeof(buf), 0, 5);
	TH_ASSERT_RC(mmapio_write(map, 0, buf, sizeof(buf)), 0);
	TH_ASSERT_RC(mmapio_read(map, 4095, buf, 2), -ERANGE);
	TH_ASSERT_RC(mmapio_close(map), 0);
	th_fill(buf, sizeof(buf), 0, 5);
	th_assert_file_eq(p, buf, sizeof(buf));

	/* A reservation smaller than the file is harmless. */
	o.reserve = 100;
	TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_WRITE, &o, &map), 0);
	cr_assert_eq(mmapio_len(map), 4096);
	TH_ASSERT_RC(mmapio_close(map), 0);

	/* Open with a reservation, in every mode. */
	o.reserve = 1u << 20;
	for (int m = MMAPIO_READ_ONLY; m <= MMAPIO_COPY_ON_WRITE; m++) {
		TH_ASSERT_RC(mmapio_open(p, (enum mmapio_mode)m, &o, &map), 0);
		TH_ASSERT_RC(mmapio_read(map, 0, buf, sizeof(buf)), 0);
		TH_ASSERT_RC(mmapio_close(map), 0);
	}
	th_fill(buf, sizeof(buf), 0, 5);
	th_assert_file_eq(p, buf, sizeof(buf));
}

Test(lifecycle, close_null_is_noop)
{
	TH_ASSERT_RC(mmapio_close(NULL), 0);
}

Test(lifecycle, no_descriptor_or_mapping_leaks)
{
	TH_PATH(p, "leak");
	TH_PATH(missing, "missing");
	struct mmapio_options ex = { .flags = MMAPIO_CREATE_EXCLUSIVE };
	mmapio_map *map = NULL;
	int before;

	/* Warm up anything the library opens once per thread (its default ring). */
	TH_ASSERT_RC(mmapio_create(p, 4096, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_flush(map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);

	before = th_count_fds();
	for (int i = 0; i < 50; i++) {
		TH_ASSERT_RC(mmapio_create(p, 4096, NULL, &map), 0);
		TH_ASSERT_RC(mmapio_close(map), 0);
		TH_ASSERT_RC(mmapio_open(p, MMAPIO_READ_ONLY, NULL, &map), 0);
		TH_ASSERT_RC(mmapio_close(map), 0);
		TH_ASSERT_RC(mmapio_create(p, 4096, &ex, &map), -EEXIST);
		TH_ASSERT_RC(mmapio_open(missing, MMAPIO_READ_ONLY, NULL, &map), -ENOENT);
		TH_ASSERT_RC(mmapio_open(th_dir, MMAPIO_READ_ONLY, NULL, &map), -EISDIR);
	}
	cr_assert_eq(th_count_fds(), before, "descriptors before %d, after %d", before,
		     th_count_fds());
}

Test(lifecycle, version_matches_header)
{
	cr_assert_eq(mmapio_version(), MMAPIO_VERSION_NUMBER);
	cr_assert_str_eq(mmapio_version_string(), MMAPIO_VERSION_STRING);
	cr_assert(MMAPIO_CHECK_VERSION(0, 1, 0));
	cr_assert(MMAPIO_CHECK_VERSION(0, 0, 9));
	cr_assert(!MMAPIO_CHECK_VERSION(0, 1, 1));
	cr_assert(!MMAPIO_CHECK_VERSION(1, 0, 0));
}

Test(lifecycle, create_refuses_a_pseudo_file)
{
	mmapio_map *map = (mmapio_map *)0x1;

	if (access("/proc/self/status", F_OK) != 0)
		TH_SKIP("no /proc on this system");
	TH_ASSERT_RC(mmapio_create("/proc/self/status", 4096, NULL, &map), -EINVAL);
	cr_assert_eq(map, (mmapio_map *)0x1, "*out was written on failure");
}
