/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmapio_copy and mmapio_delete through the calling thread's default ring:
 * exact sizes and bytes (checked with read(2)), permission bits, refusals
 * that leave every file as it was, and no descriptor leaks.
 */
#include "helpers.h"

TestSuite(copy_delete, .init = th_setup, .fini = th_teardown, .timeout = 120);

static void copy_and_check(uint64_t size, unsigned seed)
{
	char sname[64], dname[64];

	snprintf(sname, sizeof(sname), "src-%llu", (unsigned long long)size);
	snprintf(dname, sizeof(dname), "dst-%llu", (unsigned long long)size);
	TH_PATH(src, sname);
	TH_PATH(dst, dname);
	th_write_pattern_file(src, size, seed);
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), 0);
	th_assert_file_pattern(dst, size, seed);
	/* The source is untouched. */
	th_assert_file_pattern(src, size, seed);
}

Test(copy_delete, copy_0_bytes)
{
	copy_and_check(0, 60);
}

Test(copy_delete, copy_1_byte)
{
	copy_and_check(1, 61);
}

Test(copy_delete, copy_4095_bytes)
{
	copy_and_check(4095, 62);
}

Test(copy_delete, copy_4096_bytes)
{
	copy_and_check(4096, 63);
}

Test(copy_delete, copy_1MiB_plus_3_bytes)
{
	copy_and_check((1u << 20) + 3, 64);
}

Test(copy_delete, copy_64MiB)
{
	copy_and_check(64u << 20, 65);
}

Test(copy_delete, copy_keeps_permission_bits)
{
	TH_PATH(src, "s");
	TH_PATH(dst, "d");
	struct stat st;

	th_write_pattern_file(src, 100, 66);
	cr_assert_eq(chmod(src, 0640), 0);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_DURABLE), 0);
	cr_assert_eq(stat(dst, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0640, "mode %o", st.st_mode & 07777);
	th_assert_file_pattern(dst, 100, 66);
}

Test(copy_delete, existing_destination_refused_and_untouched)
{
	TH_PATH(src, "s");
	TH_PATH(dst, "d");
	unsigned char old[777];

	th_write_pattern_file(src, 5000, 67);
	th_fill(old, sizeof(old), 0, 68);
	th_write_file(dst, old, sizeof(old), 0600);
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), -EEXIST);
	th_assert_file_eq(dst, old, sizeof(old));
	th_assert_file_pattern(src, 5000, 67);

	/* An empty existing destination counts as existing too. */
	th_write_file(dst, "", 0, 0600);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_DURABLE), -EEXIST);
	cr_assert_eq(th_file_size(dst), 0);
}

Test(copy_delete, overwrite_replaces_bigger_and_smaller_destinations)
{
	TH_PATH(src, "s");
	TH_PATH(dst, "d");

	th_write_pattern_file(src, 5000, 69);
	th_write_pattern_file(dst, 100000, 70);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), 0);
	th_assert_file_pattern(dst, 5000, 69);

	th_write_pattern_file(src, 300000, 71);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE), 0);
	th_assert_file_pattern(dst, 300000, 71);

	th_write_file(src, "", 0, 0644);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), 0);
	cr_assert_eq(th_file_size(dst), 0);
}

Test(copy_delete, copy_onto_itself_refused_and_intact)
{
	TH_PATH(src, "self");
	TH_PATH(hard, "hardlink");
	TH_PATH(sym, "symlink");
	char dotted[PATH_MAX];

	th_write_pattern_file(src, 9000, 72);
	TH_ASSERT_RC(mmapio_copy(src, src, 0), -EINVAL);
	th_assert_file_pattern(src, 9000, 72);
	TH_ASSERT_RC(mmapio_copy(src, src, MMAPIO_COPY_OVERWRITE), -EINVAL);
	th_assert_file_pattern(src, 9000, 72);

	/* The same file under another name. */
	cr_assert_lt((size_t)snprintf(dotted, sizeof(dotted), "%s/./self", th_dir), sizeof(dotted));
	TH_ASSERT_RC(mmapio_copy(src, dotted, MMAPIO_COPY_OVERWRITE), -EINVAL);
	th_assert_file_pattern(src, 9000, 72);

	cr_assert_eq(link(src, hard), 0);
	TH_ASSERT_RC(mmapio_copy(src, hard, MMAPIO_COPY_OVERWRITE), -EINVAL);
	TH_ASSERT_RC(mmapio_copy(hard, src, MMAPIO_COPY_OVERWRITE), -EINVAL);
	th_assert_file_pattern(src, 9000, 72);

	cr_assert_eq(symlink(src, sym), 0);
	TH_ASSERT_RC(mmapio_copy(sym, src, MMAPIO_COPY_OVERWRITE), -EINVAL);
	TH_ASSERT_RC(mmapio_copy(src, sym, MMAPIO_COPY_OVERWRITE), -EINVAL);
	th_assert_file_pattern(src, 9000, 72);
}

Test(copy_delete, missing_source)
{
	TH_PATH(src, "nope");
	TH_PATH(dst, "d");

	TH_ASSERT_RC(mmapio_copy(src, dst, 0), -ENOENT);
	cr_assert(!th_exists(dst), "a failed copy left a destination behind");
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), -ENOENT);
	cr_assert(!th_exists(dst));
}

Test(copy_delete, missing_destination_directory)
{
	TH_PATH(src, "s");
	TH_PATH(dst, "no/such/dir/d");

	th_write_pattern_file(src, 10, 73);
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), -ENOENT);
	TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), -ENOENT);
	th_assert_file_pattern(src, 10, 73);
}

Test(copy_delete, directory_source)
{
	TH_PATH(dst, "d");

	TH_ASSERT_RC(mmapio_copy(th_dir, dst, 0), -EISDIR);
	cr_assert(!th_exists(dst), "a failed copy left a destination behind");
}

Test(copy_delete, delete_removes_file)
{
	TH_PATH(p, "gone");
	TH_PATH(other, "stays");

	th_write_pattern_file(p, 1000, 74);
	th_write_pattern_file(other, 1000, 75);
	TH_ASSERT_RC(mmapio_delete(p), 0);
	cr_assert(!th_exists(p));
	th_assert_file_pattern(other, 1000, 75);
}

Test(copy_delete, delete_missing_file)
{
	TH_PATH(p, "never");

	TH_ASSERT_RC(mmapio_delete(p), -ENOENT);
	TH_ASSERT_RC(mmapio_delete("/nonexistent-dir-for-mmapio/x"), -ENOENT);
}

Test(copy_delete, delete_directory)
{
	TH_PATH(d, "sub");
	TH_PATH(inner, "sub/f");

	cr_assert_eq(mkdir(d, 0755), 0);
	th_write_pattern_file(inner, 10, 76);
	TH_ASSERT_RC(mmapio_delete(d), -EISDIR);
	th_assert_file_pattern(inner, 10, 76);
	/* An empty directory is refused too: delete is unlink, not rmdir. */
	cr_assert_eq(unlink(inner), 0);
	TH_ASSERT_RC(mmapio_delete(d), -EISDIR);
	cr_assert(th_exists(d));
}

Test(copy_delete, delete_symlink_removes_the_link_only)
{
	TH_PATH(target, "target");
	TH_PATH(sym, "sym");

	th_write_pattern_file(target, 10, 77);
	cr_assert_eq(symlink(target, sym), 0);
	TH_ASSERT_RC(mmapio_delete(sym), 0);
	cr_assert(!th_exists(sym));
	th_assert_file_pattern(target, 10, 77);
}

Test(copy_delete, delete_while_mapped_keeps_the_map_working)
{
	TH_PATH(p, "mapped");
	mmapio_map *map = th_open_pattern(p, 8192, 78, MMAPIO_READ_ONLY);
	unsigned char got[16], want[16];

	TH_ASSERT_RC(mmapio_delete(p), 0);
	cr_assert(!th_exists(p));
	th_fill(want, sizeof(want), 8000, 78);
	TH_ASSERT_RC(mmapio_read(map, 8000, got, sizeof(got)), 0);
	cr_assert_arr_eq(got, want, sizeof(want));
	TH_ASSERT_RC(mmapio_close(map), 0);
}

Test(copy_delete, no_descriptor_leaks)
{
	TH_PATH(src, "s");
	TH_PATH(dst, "d");
	TH_PATH(missing, "missing");
	int before;

	th_write_pattern_file(src, 70000, 79);
	/* The first call opens the default ring; count after it. */
	TH_ASSERT_RC(mmapio_copy(src, dst, 0), 0);
	before = th_count_fds();
	for (int i = 0; i < 30; i++) {
		TH_ASSERT_RC(mmapio_copy(src, dst, 0), -EEXIST);
		TH_ASSERT_RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), 0);
		TH_ASSERT_RC(mmapio_copy(missing, dst, MMAPIO_COPY_OVERWRITE), -ENOENT);
		TH_ASSERT_RC(mmapio_copy(src, src, 0), -EINVAL);
		TH_ASSERT_RC(mmapio_delete(dst), 0);
		TH_ASSERT_RC(mmapio_delete(dst), -ENOENT);
		TH_ASSERT_RC(mmapio_copy(src, dst, 0), 0);
	}
	cr_assert_eq(th_count_fds(), before, "descriptors before %d, after %d", before,
		     th_count_fds());
	th_assert_file_pattern(dst, 70000, 79);
}

Test(copy_delete, default_backend_follows_environment)
{
	const char *reason = NULL;
	int b = mmapio_default_backend(&reason);

	if (th_env_is_uring())
		cr_assert_eq(b, MMAPIO_BACKEND_URING, "default backend %d: %s", b,
			     reason ? reason : "(no reason)");
	else if (strcmp(th_backend_env(), "fallback") == 0)
		cr_assert_eq(b, MMAPIO_BACKEND_FALLBACK, "default backend %d: %s", b,
			     reason ? reason : "(no reason)");
	else
		cr_assert_geq(b, 0, "default backend: %d", b);
	cr_assert_not_null(reason);
	cr_assert_str_neq(reason, "");
}
