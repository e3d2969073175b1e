/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Copying one file to another on Windows, in the three steps both engines
 * share (open, place, close; see src/platform.h) and as one call.  The same
 * refusals as on POSIX: a directory source is -EISDIR, anything else that
 * is not a regular file -EINVAL; the same file as destination is -EINVAL
 * and stays untouched; an existing destination is -EEXIST without
 * MMAPIO_COPY_OVERWRITE.  A new destination is created exclusively
 * (CREATE_NEW) and written in place; an existing one is never written:
 * the copy goes to a hidden temporary in its directory
 * (".<name>.mmapio-<pid>-<n>"), which MoveFileExW with
 * MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH puts in its place in
 * one step, once the temporary is closed (mmapio__plat_copy_place).  The data moves through a 1 MiB buffer with ReadFile and
 * WriteFile on the two handles: CopyFileExW would open the files itself,
 * by name, and could not copy into the file this call created exclusively.
 *
 * Permission bits are what Windows has of them: the read-only attribute is
 * copied.  A destination that is mapped, or held open without
 * FILE_SHARE_DELETE, cannot be replaced; Windows says "access denied" and
 * the copy returns -EBUSY (mmapio__w32_access_denied).
 */
#include <errno.h>
#include <io.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "win32_plat.h"
#include "win32_sys.h"

#define COPY_BUFFER_SIZE ((DWORD)1 << 20)

/*
 * Returns a new heap string naming a temporary for the UTF-16 dst in its
 * directory, or NULL on ENOMEM.
 */
static wchar_t *temp_name(const wchar_t *dst)
{
	static LONG counter;
	const wchar_t *base = dst, *p;
	wchar_t *dir = mmapio__w32_dir_of(dst), *name;
	size_t len;

	if (dir == NULL)
		return NULL;
	for (p = dst; *p; p++)
		if (*p == L'/' || *p == L'\\' || *p == L':')
			base = p + 1;
	len = wcslen(dir) + wcslen(base) + 48;
	name = malloc(len * sizeof(wchar_t));
	if (name != NULL)
		_snwprintf(name, len, L"%ls\\.%ls.mmapio-%lu-%ld", dir, base,
			   (unsigned long)GetCurrentProcessId(), InterlockedIncrement(&counter));
	free(dir);
	return name;
}

/* A UTF-8 copy of the UTF-16 w on the heap, or NULL. */
static char *utf8_dup(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	char *s = n > 0 ? malloc((size_t)n) : NULL;

	if (s != NULL && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
		free(s);
		s = NULL;
	}
	return s;
}

/*
 * Creates the temporary a replacing copy is written to.  Returns 0 with *out
 * and f->tmp (UTF-8, heap) set, or -errno.
 */
static int open_temporary(const wchar_t *dst, DWORD attrs, struct mmapio__copy_files *f,
			  HANDLE *out)
{
	int r = -EEXIST, i;

	for (i = 0; i < 16 && r == -EEXIST; i++) {
		wchar_t *name = temp_name(dst);

		if (name == NULL)
			return -ENOMEM;
		r = mmapio__w32_open_w(name, GENERIC_READ | GENERIC_WRITE, CREATE_NEW,
				       attrs | FILE_ATTRIBUTE_HIDDEN, out);
		if (r == 0) {
			f->tmp = utf8_dup(name);
			if (f->tmp == NULL) {
				mmapio__w32.close_handle(*out);
				mmapio__w32_unlink_w(name);
				r = -ENOMEM;
			}
		}
		free(name);
	}
	return r;
}

/*
 * Opens where the copy's data goes (see the top of the file).  Returns 0
 * with *out set, or -errno.
 */
static int open_copy_dst(const wchar_t *dst, const struct mmapio__file_info *src_fi,
			 unsigned flags, struct mmapio__copy_files *f, HANDLE *out)
{
	DWORD attrs = mmapio__w32_attrs_of_perm(src_fi->perm);
	struct mmapio__file_info fi;
	int r;

	r = mmapio__w32_open_w(dst, GENERIC_READ | GENERIC_WRITE, CREATE_NEW, attrs, out);
	if (r == 0) {
		f->created = 1;
		return 0;
	}
	if (r != -EEXIST && r != -EISDIR)
		return r;
	r = mmapio__w32_wpath_info(dst, &fi);
	if (r < 0)
		return r == -ENOENT ? -EEXIST : r;
	if (fi.dev == src_fi->dev && fi.ino == src_fi->ino)
		return -EINVAL;
	if (fi.type == MMAPIO__FILE_DIRECTORY)
		return -EISDIR;
	if (fi.type != MMAPIO__FILE_REGULAR)
		return -EINVAL;
	if (!(flags & MMAPIO_COPY_OVERWRITE))
		return -EEXIST;
	return open_temporary(dst, attrs, f, out);
}

MMAPIO_INTERNAL int mmapio__plat_copy_open(const char *src, const char *dst, unsigned flags,
					   struct mmapio__copy_files *f)
{
	struct mmapio__file_info fi;
	wchar_t *wsrc = NULL, *wdst = NULL;
	HANDLE in, out;
	int r;

	memset(f, 0, sizeof(*f));
	f->in = f->out = -1;
	r = mmapio__w32_wpath(src, &wsrc);
	if (r == 0)
		r = mmapio__w32_wpath(dst, &wdst);
	if (r == 0)
		r = mmapio__w32_open_w(wsrc, GENERIC_READ, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, &in);
	if (r < 0)
		goto out;
	f->in = mmapio__w32_fd_of(in, 1);
	if (f->in < 0) {
		r = f->in;
		goto out;
	}
	r = mmapio__plat_file_info(f->in, &fi);
	if (r == 0 && fi.type == MMAPIO__FILE_DIRECTORY)
		r = -EISDIR;
	else if (r == 0 && fi.type != MMAPIO__FILE_REGULAR)
		r = -EINVAL;
	if (r == 0)
		r = open_copy_dst(wdst, &fi, flags, f, &out);
	if (r == 0) {
		f->out = mmapio__w32_fd_of(out, 0);
		r = f->out < 0 ? f->out : 0;
	}
	if (r == 0)
		f->size = fi.size;
out:
	free(wsrc);
	free(wdst);
	if (r < 0)
		return mmapio__plat_copy_close(f, dst, r);
	return 0;
}

static int replace_op(const void *arg)
{
	const wchar_t *const *names = arg;

	return mmapio__w32.move_file(names[0], names[1],
				     MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH);
}

/*
 * The temporary is closed first: a write-back error that shows only at
 * close fails the copy while dst is still the old file (and Windows would
 * not replace a file with one that is open without FILE_SHARE_DELETE
 * anyway).  MOVEFILE_WRITE_THROUGH returns only once the move is on the
 * disk, so a durable copy's directory is synced by the move (f->synced).
 * Windows cannot exchange two names, so a failure after the move is not
 * possible to undo, and none can happen: the move is the last step.
 */
MMAPIO_INTERNAL int mmapio__plat_copy_place(struct mmapio__copy_files *f, const char *dst,
					    unsigned flags)
{
	const wchar_t *names[2];
	wchar_t *wtmp = NULL, *wdst = NULL;
	DWORD a;
	int r;

	if (f->tmp == NULL)
		return 0;
	if (f->out >= 0) {
		r = _close(f->out);
		f->out = -1;
		if (r != 0)
			return -EIO;
	}
	r = mmapio__w32_wpath(f->tmp, &wtmp);
	if (r == 0)
		r = mmapio__w32_wpath(dst, &wdst);
	if (r == 0) {
		names[0] = wtmp;
		names[1] = wdst;
		r = mmapio__w32_despite_readonly(wdst, replace_op, names);
		if (r == -EACCES)
			r = mmapio__w32_access_denied(wdst);
	}
	if (r == 0) {
		/* The copy is the file now: no longer hidden. */
		if (mmapio__w32.attributes(wdst, &a) == 0)
			mmapio__w32.set_attributes(wdst, a & ~(DWORD)FILE_ATTRIBUTE_HIDDEN);
		free(f->tmp);
		f->tmp = NULL;
		if (flags & MMAPIO_COPY_DURABLE)
			f->synced = 1;
	}
	free(wtmp);
	free(wdst);
	return r;
}

/* Removes the file at the UTF-8 path, ignoring failure. */
static void remove_quietly(const char *path)
{
	wchar_t *w;

	if (mmapio__w32_wpath(path, &w) == 0) {
		mmapio__w32_unlink_w(w);
		free(w);
	}
}

MMAPIO_INTERNAL int mmapio__plat_copy_close(struct mmapio__copy_files *f, const char *dst,
					    int result)
{
	if (f->out >= 0 && _close(f->out) != 0 && result == 0)
		result = -EIO;
	if (f->in >= 0)
		_close(f->in);
	if (result < 0 && f->created)
		remove_quietly(dst);
	if (f->tmp != NULL) {
		remove_quietly(f->tmp);
		free(f->tmp);
	}
	memset(f, 0, sizeof(*f));
	f->in = f->out = -1;
	return result;
}

/*
 * Copies size bytes from in to out through a buffer.  A read of 0 bytes
 * means the source shrank, and the copy ends there.  Returns 0 or -errno.
 */
static int copy_data(HANDLE in, HANDLE out, uint64_t size)
{
	unsigned char *buf = malloc(COPY_BUFFER_SIZE);
	uint64_t off = 0;
	int r = 0;

	if (buf == NULL)
		return -ENOMEM;
	while (off < size && r == 0) {
		DWORD want = size - off < COPY_BUFFER_SIZE ? (DWORD)(size - off) : COPY_BUFFER_SIZE;
		int64_t got = mmapio__w32.read_at(in, buf, want, off), done = 0;

		if (got <= 0) {
			r = (int)got;
			break;
		}
		while (done < got && r == 0) {
			int64_t put = mmapio__w32.write_at(out, buf + done, (DWORD)(got - done),
							   off + (uint64_t)done);

			if (put < 0)
				r = (int)put;
			else if (put == 0)
				r = -EIO; /* no progress and no error: give up rather than spin */
			else
				done += put;
		}
		off += (uint64_t)got;
	}
	free(buf);
	return r;
}

MMAPIO_INTERNAL int mmapio__plat_copy_file(const char *src, const char *dst, unsigned flags)
{
	struct mmapio__copy_files f;
	int r;

	r = mmapio__plat_copy_open(src, dst, flags, &f);
	if (r < 0)
		return r;
	if (f.size > 0)
		r = copy_data(mmapio__w32_handle(f.in), mmapio__w32_handle(f.out), f.size);
	if (r == 0 && (flags & MMAPIO_COPY_DURABLE))
		r = mmapio__plat_sync_file(f.out);
	if (r == 0)
		r = mmapio__plat_copy_place(&f, dst, flags);
	if (r == 0 && (flags & MMAPIO_COPY_DURABLE) && !f.synced &&
	    !(flags & MMAPIO__PLAT_NO_DIR_SYNC))
		r = mmapio__plat_sync_parent(dst);
	return mmapio__plat_copy_close(&f, dst, r);
}
