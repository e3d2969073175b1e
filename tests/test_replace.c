/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmapio_copy with MMAPIO_COPY_OVERWRITE replaces the destination
 * atomically: after a failure at any point the old destination is byte for
 * byte what it was and no temporary is left in its directory; after
 * success it is the whole new file with the source's permission bits.
 * Every case runs three ways: a direct synchronous copy (small source), a
 * synchronous copy large enough to go through the default ring, and a
 * copy prepared on an explicit ring of the engine this run is for
 * (MMAPIO_BACKEND).
 */
#include <dirent.h>
#include <sys/mount.h>

#include "helpers.h"

/* Unmounts the small filesystem of the full-disk tests on every path. */
static void replace_fini(void)
{
	if (th_dir[0]) {
		TH_PATH(mnt, "mnt");

		umount2(mnt, MNT_DETACH);
	}
	th_teardown();
}

TestSuite(replace, .init = th_setup, .fini = replace_fini, .timeout = 120);

#define OLD_LEN 300000
#define SMALL_LEN 100000               /* a direct synchronous copy */
#define LARGE_LEN (1024 * 1024 + 3)    /* goes through the default ring */

enum how { SYNC_SMALL, SYNC_LARGE, RING };

/* Returns the engine this run asks for. */
static enum mmapio_backend run_backend(void)
{
	return th_env_is_uring() ? MMAPIO_BACKEND_URING : MMAPIO_BACKEND_FALLBACK;
}

/* Copies src over dst the given way.  Returns the copy's result. */
static int copy_over(enum how how, const char *src, const char *dst, unsigned flags)
{
	struct mmapio_ring_options ro = { 0 };
	struct mmapio_completion c;
	mmapio_ring *ring;
	int r;

	if (how != RING)
		return mmapio_copy(src, dst, flags);
	ro.backend = run_backend();
	r = mmapio_ring_open(&ro, &ring);
	if (r == -ENOSYS || r == -EPERM || r == -ENOTSUP)
		return r; /* reported as a skip by the caller */
	cr_assert_eq(r, 0, "mmapio_ring_open: %s", mmapio_strerror(r));
	TH_ASSERT_RC(mmapio_ring_prep_copy(ring, src, dst, flags, (void *)0x77), 0);
	TH_ASSERT_RC(mmapio_ring_submit(ring), 1);
	TH_ASSERT_RC(mmapio_ring_wait(ring, &c, 1, 1, -1), 1);
	cr_assert_eq(c.user_data, (void *)0x77);
	TH_ASSERT_RC(mmapio_ring_close(ring), 0);
	return c.result;
}

/* Returns how many entries dir holds besides . and .. */
static int dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "opendir %s", dir);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Asserts that path holds OLD_LEN bytes of 'A'. */
static void assert_old(const char *path)
{
	size_t len;
	unsigned char *b = th_read_file(path, &len);

	cr_assert_eq(len, OLD_LEN, "the old destination changed size to %zu", len);
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(b[i], 'A', "the old destination changed at byte %zu", i);
	free(b);
}

/* Writes the old destination and a new source of len pattern bytes. */
static void make_files(const char *dir, const char *src, const char *dst, size_t len)
{
	unsigned char *old = th_malloc(OLD_LEN);

	(void)dir;
	memset(old, 'A', OLD_LEN);
	th_write_file(dst, old, OLD_LEN, 0600);
	th_write_pattern_file(src, len, 9);
	cr_assert_eq(chmod(src, 0640), 0);
	free(old);
}

static size_t len_of(enum how how)
{
	return how == SYNC_SMALL ? SMALL_LEN : LARGE_LEN;
}

/* Success: dst is the whole new file, with src's mode, and nothing else is left. */
static void replaces(enum how how, unsigned flags)
{
	TH_PATH(src, "src");
	TH_PATH(dst, "dst");
	struct stat st;
	int r;

	make_files(th_dir, src, dst, len_of(how));
	r = copy_over(how, src, dst, MMAPIO_COPY_OVERWRITE | flags);
	if (r == -ENOSYS || r == -EPERM || r == -ENOTSUP)
		TH_SKIP("no io_uring ring here: %s", mmapio_strerror(r));
	TH_ASSERT_RC(r, 0);
	th_assert_file_pattern(dst, len_of(how), 9);
	cr_assert_eq(stat(dst, &st), 0);
	cr_assert_eq(st.st_mode & 0777, 0640);
	cr_assert_eq(dir_entries(th_dir), 2, "a temporary was left behind");
}

Test(replace, sync_small_replaces_whole) { replaces(SYNC_SMALL, 0); }
Test(replace, sync_large_replaces_whole) { replaces(SYNC_LARGE, 0); }
Test(replace, ring_replaces_whole) { replaces(RING, 0); }
Test(replace, sync_small_durable_replaces_whole) { replaces(SYNC_SMALL, MMAPIO_COPY_DURABLE); }
Test(replace, ring_durable_replaces_whole) { replaces(RING, MMAPIO_COPY_DURABLE); }

/* Fails the k-th data transfer of a copy with -EIO. */
static int transfers_left;

static int64_t failing_pwrite(int fd, const void *buf, size_t len, uint64_t off)
{
	if (--transfers_left < 0)
		return -EIO;
	return pwrite(fd, buf, len, (off_t)off);
}

static int64_t failing_cfr(int in, uint64_t *in_off, int out, uint64_t *out_off, size_t len)
{
	(void)in, (void)in_off, (void)out, (void)out_off, (void)len;
	return -EXDEV; /* send the copy to the pread/pwrite loop */
}

static int failing_fsync(int fd)
{
	(void)fd;
	return -EIO;
}

static int failing_rename(int a, const char *from, int b, const char *to)
{
	(void)a, (void)from, (void)b, (void)to;
	return -EIO;
}

/*
 * A failure while the data is written, at the fsync of a durable copy, or
 * at the final rename: the old destination is intact, nothing is left.
 * Injected into the platform's system calls, so the direct synchronous
 * copy is what runs (the ring's data path bypasses the table).
 */
Test(replace, failed_write_keeps_the_old_destination)
{
	TH_PATH(src, "src");
	TH_PATH(dst, "dst");

	make_files(th_dir, src, dst, SMALL_LEN);
	mmapio__sys.copy_file_range = failing_cfr;
	mmapio__sys.pwrite = failing_pwrite;
	transfers_left = 0;
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), -EIO);
	mmapio__sys_reset();
	assert_old(dst);
	cr_assert_eq(dir_entries(th_dir), 2, "a temporary was left behind");
}

Test(replace, failed_fsync_keeps_the_old_destination)
{
	TH_PATH(src, "src");
	TH_PATH(dst, "dst");

	make_files(th_dir, src, dst, SMALL_LEN);
	mmapio__sys.fsync = failing_fsync;
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE), -EIO);
	mmapio__sys_reset();
	assert_old(dst);
	cr_assert_eq(dir_entries(th_dir), 2, "a temporary was left behind");
}

Test(replace, failed_rename_keeps_the_old_destination)
{
	TH_PATH(src, "src");
	TH_PATH(dst, "dst");

	make_files(th_dir, src, dst, SMALL_LEN);
	mmapio__sys.renameat = failing_rename;
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), -EIO);
	mmapio__sys_reset();
	assert_old(dst);
	cr_assert_eq(dir_entries(th_dir), 2, "a temporary was left behind");
}

/*
 * A full filesystem: a 1 MiB tmpfs holding a 300,000-byte destination
 * cannot take a second megabyte.  Every way of copying must fail with
 * -ENOSPC and leave the old destination as it was.
 */
static void full_disk(enum how how)
{
	TH_PATH(mnt, "mnt");
	TH_PATH(src, "src"); /* outside the small filesystem */
	TH_PATH(dst, "mnt/dst");
	int r;

	cr_assert_eq(mkdir(mnt, 0755), 0);
	if (mount("mmapio-test", mnt, "tmpfs", 0, "size=1m") != 0)
		TH_SKIP("cannot mount a small tmpfs here: %s", strerror(errno));
	make_files(mnt, src, dst, LARGE_LEN);
	r = copy_over(how, src, dst, MMAPIO_COPY_OVERWRITE);
	if (r == -ENOSYS || r == -EPERM || r == -ENOTSUP) {
		umount2(mnt, MNT_DETACH);
		TH_SKIP("no io_uring ring here: %s", mmapio_strerror(r));
	}
	cr_assert_eq(r, -ENOSPC, "got %d (%s)", r, mmapio_strerror(r));
	assert_old(dst);
	cr_assert_eq(dir_entries(mnt), 1, "a temporary was left behind");
	cr_assert_eq(umount2(mnt, MNT_DETACH), 0);
}

Test(replace, full_disk_sync_keeps_the_old_destination) { full_disk(SYNC_LARGE); }
Test(replace, full_disk_ring_keeps_the_old_destination) { full_disk(RING); }
