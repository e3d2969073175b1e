/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform's file services on Windows: opening, describing, sizing,
 * writing, syncing and removing files, and creating a map's file.  Paths
 * arrive in UTF-8 and reach Windows in UTF-16 (mmapio__w32_wpath); files are
 * C runtime descriptors wrapping Win32 handles (_open_osfhandle), so that
 * mmapio_open_fd and mmapio_fd take and give what _open() and _close() use.
 * Every Win32 call that can fail goes through the mmapio__w32 table.
 *
 * Every handle is opened with FILE_SHARE_READ | FILE_SHARE_WRITE |
 * FILE_SHARE_DELETE, so that an open map does not keep other programs from
 * reading, writing, renaming or deleting its file, as on POSIX.  What
 * Windows still refuses (truncating or replacing a mapped file) comes back
 * as -EBUSY.
 */
#include <errno.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>
#include "platform.h"
#include "win32_plat.h"
#include "win32_sys.h"

#include <winioctl.h>  /* after windows.h, which win32_sys.h includes */
#include <winternl.h>

MMAPIO_INTERNAL const DWORD mmapio__w32_share = FILE_SHARE_READ | FILE_SHARE_WRITE |
						 FILE_SHARE_DELETE;

/* ------------------------------------------------------------------------ */
/* Describing files                                                         */
/* ------------------------------------------------------------------------ */

/* Fills *out from what the handle h tells. */
static int info_of_handle(HANDLE h, struct mmapio__file_info *out)
{
	BY_HANDLE_FILE_INFORMATION bi;
	DWORD type = GetFileType(h);
	int r;

	memset(out, 0, sizeof(*out));
	if (type != FILE_TYPE_DISK) {
		out->type = MMAPIO__FILE_OTHER;
		return 0;
	}
	r = mmapio__w32.file_info(h, &bi);
	if (r < 0)
		return r;
	out->size = ((uint64_t)bi.nFileSizeHigh << 32) | bi.nFileSizeLow;
	out->dev = bi.dwVolumeSerialNumber;
	out->ino = ((uint64_t)bi.nFileIndexHigh << 32) | bi.nFileIndexLow;
	if (bi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
		out->type = MMAPIO__FILE_DIRECTORY;
	else if (bi.dwFileAttributes & FILE_ATTRIBUTE_DEVICE)
		out->type = MMAPIO__FILE_OTHER;
	else
		out->type = MMAPIO__FILE_REGULAR;
	/* What the C runtime's stat() reports: the read-only attribute. */
	out->perm = (bi.dwFileAttributes & FILE_ATTRIBUTE_READONLY) ? 0444 : 0666;
	if (out->type == MMAPIO__FILE_DIRECTORY)
		out->perm |= 0111;
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_file_info(int fd, struct mmapio__file_info *out)
{
	HANDLE h = mmapio__w32_handle(fd);

	if (h == NULL)
		return -EBADF;
	return info_of_handle(h, out);
}

MMAPIO_INTERNAL int mmapio__w32_wpath_info(const wchar_t *w, struct mmapio__file_info *out)
{
	HANDLE h;
	int r;

	/* Attributes only, following links; backup semantics opens directories. */
	r = mmapio__w32.create_file(w, FILE_READ_ATTRIBUTES, mmapio__w32_share, OPEN_EXISTING,
				    FILE_FLAG_BACKUP_SEMANTICS, &h);
	if (r < 0)
		return r == -ENOENT ? mmapio__w32_enoent(w, r) : r;
	r = info_of_handle(h, out);
	mmapio__w32.close_handle(h);
	return r;
}

MMAPIO_INTERNAL int mmapio__plat_path_info(const char *path, struct mmapio__file_info *out)
{
	wchar_t *w;
	int r = mmapio__w32_wpath(path, &w);

	if (r < 0)
		return r;
	r = mmapio__w32_wpath_info(w, out);
	free(w);
	return r;
}

MMAPIO_INTERNAL bool mmapio__w32_is_dir(const wchar_t *w)
{
	DWORD a;

	return mmapio__w32.attributes(w, &a) == 0 && (a & FILE_ATTRIBUTE_DIRECTORY);
}

/* ------------------------------------------------------------------------ */
/* Opening and closing                                                      */
/* ------------------------------------------------------------------------ */

/*
 * Windows reports a path through a regular file ("file/name") as not found
 * (ERROR_PATH_NOT_FOUND); POSIX says ENOTDIR.  Walks up w: the first
 * ancestor that exists decides, -ENOTDIR when it is not a directory.
 * Returns -ENOTDIR or r.
 */
MMAPIO_INTERNAL int mmapio__w32_enoent(const wchar_t *w, int r)
{
	wchar_t *dir = mmapio__w32_dir_of(w), *up;
	DWORD a;
	int i;

	for (i = 0; dir != NULL && i < 64; i++) {
		if (mmapio__w32.attributes(dir, &a) == 0) {
			if (!(a & FILE_ATTRIBUTE_DIRECTORY))
				r = -ENOTDIR;
			break;
		}
		up = mmapio__w32_dir_of(dir);
		if (up == NULL || wcscmp(up, dir) == 0) {
			free(up);
			break;
		}
		free(dir);
		dir = up;
	}
	free(dir);
	return r;
}

MMAPIO_INTERNAL int mmapio__w32_open_w(const wchar_t *w, DWORD access, DWORD disposition,
				       DWORD attrs, HANDLE *out)
{
	int r = mmapio__w32.create_file(w, access, mmapio__w32_share, disposition, attrs, out);

	/* Windows refuses to open a directory as a file with "access denied". */
	if (r == -EACCES && mmapio__w32_is_dir(w))
		return -EISDIR;
	if (r == -ENOENT)
		return mmapio__w32_enoent(w, r);
	return r;
}

MMAPIO_INTERNAL int mmapio__plat_open(const char *path, enum mmapio_mode mode)
{
	DWORD access = mode == MMAPIO_READ_WRITE ? GENERIC_READ | GENERIC_WRITE : GENERIC_READ;
	wchar_t *w;
	HANDLE h;
	int r;

	r = mmapio__w32_wpath(path, &w);
	if (r < 0)
		return r;
	r = mmapio__w32_open_w(w, access, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, &h);
	free(w);
	if (r < 0)
		return r;
	return mmapio__w32_fd_of(h, mode != MMAPIO_READ_WRITE);
}

/*
 * The access rights the handle was opened with, from the object manager
 * (ntdll's NtQueryObject, found at run time).  Returns 0 with *out set, or
 * -ENOTSUP where it cannot be asked.
 */
static int granted_access(HANDLE h, ACCESS_MASK *out)
{
	typedef NTSTATUS(NTAPI * query_fn)(HANDLE, OBJECT_INFORMATION_CLASS, PVOID, ULONG,
					   PULONG);
	static query_fn query;
	PUBLIC_OBJECT_BASIC_INFORMATION info;
	ULONG len = 0;

	if (query == NULL) {
		HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
		FARPROC p = ntdll ? GetProcAddress(ntdll, "NtQueryObject") : NULL;

		if (p == NULL)
			return -ENOTSUP;
		/* Racing threads store the same pointer. */
		query = (query_fn)(void (*)(void))p;
	}
	if (query(h, ObjectBasicInformation, &info, sizeof(info), &len) < 0)
		return -ENOTSUP;
	*out = info.GrantedAccess;
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_dup(int fd, enum mmapio_mode mode)
{
	HANDLE h = mmapio__w32_handle(fd), nh;
	ACCESS_MASK acc;
	int r;

	if (h == NULL)
		return -EBADF;
	if (granted_access(h, &acc) == 0) {
		if (!(acc & FILE_READ_DATA))
			return -EACCES;
		if (mode == MMAPIO_READ_WRITE && !(acc & FILE_WRITE_DATA))
			return -EACCES;
	}
	r = mmapio__w32.dup_handle(h, &nh);
	if (r < 0)
		return r;
	return mmapio__w32_fd_of(nh, mode != MMAPIO_READ_WRITE);
}

MMAPIO_INTERNAL int mmapio__plat_close(int fd)
{
	/* _close closes the handle too; it fails only for a bad descriptor. */
	return _close(fd) == 0 ? 0 : -EBADF;
}

/* ------------------------------------------------------------------------ */
/* Size, data, durability                                                   */
/* ------------------------------------------------------------------------ */

MMAPIO_INTERNAL int mmapio__plat_set_size(int fd, uint64_t size)
{
	HANDLE h = mmapio__w32_handle(fd);

	if (h == NULL)
		return -EBADF;
	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	return mmapio__w32_set_length(fd, h, size);
}

/*
 * Windows has no fallocate.  Setting the allocation size reserves the
 * clusters (Windows; wine refuses it with ERROR_CALL_NOT_IMPLEMENTED), and
 * on NTFS extending a file that is not sparse allocates its clusters too,
 * so the file is then extended to the end of the range.
 */
MMAPIO_INTERNAL int mmapio__plat_allocate(int fd, uint64_t off, uint64_t len)
{
	HANDLE h = mmapio__w32_handle(fd);
	struct mmapio__file_info fi;
	uint64_t end;
	int r;

	if (h == NULL)
		return -EBADF;
	if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return -EFBIG;
	end = off + len;
	r = info_of_handle(h, &fi);
	if (r < 0)
		return r;
	if (end <= fi.size)
		return 0;
	r = mmapio__w32.set_allocation(h, end);
	if (r == -ENOSPC)
		return r;
	return mmapio__w32_set_length(fd, h, end);
}

MMAPIO_INTERNAL int mmapio__plat_write_at(int fd, const void *buf, size_t len, uint64_t off)
{
	HANDLE h = mmapio__w32_handle(fd);
	const unsigned char *p = buf;

	if (h == NULL)
		return -EBADF;
	while (len > 0) {
		DWORD want = len > 0x40000000u ? 0x40000000u : (DWORD)len;
		int64_t n = mmapio__w32.write_at(h, p, want, off);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO; /* no progress and no error: give up rather than spin */
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_sync_file(int fd)
{
	HANDLE h = mmapio__w32_handle(fd);

	return h == NULL ? -EBADF : mmapio__w32.flush_file(h);
}

/*
 * Returns a new heap string with the directory part of the UTF-16 path w
 * ("." for a bare name), or NULL on ENOMEM.
 */
MMAPIO_INTERNAL wchar_t *mmapio__w32_dir_of(const wchar_t *w)
{
	const wchar_t *end = NULL, *p;
	wchar_t *dir;
	size_t n;

	for (p = w; *p; p++)
		if (*p == L'/' || *p == L'\\' || (*p == L':' && p == w + 1))
			end = p;
	if (end == NULL)
		return _wcsdup(L".");
	/* Keep the separator of a root ("C:\", "\"), drop any other. */
	n = (size_t)(end - w);
	if (n == 0 || (*end == L':') || (n == 2 && w[1] == L':'))
		n++;
	dir = malloc((n + 1) * sizeof(wchar_t));
	if (dir == NULL)
		return NULL;
	memcpy(dir, w, n * sizeof(wchar_t));
	dir[n] = 0;
	return dir;
}

/*
 * Flushes the UTF-16 directory dir (mmapio__w32_sync_dir_w), or the one
 * that holds the UTF-16 path w (mmapio__w32_sync_parent_w).  NTFS journals its
 * metadata and makes a directory's handle flushable only with write
 * access; where the directory cannot be opened that way or does not take a
 * flush (ERROR_INVALID_FUNCTION, ERROR_ACCESS_DENIED), the entry is as
 * durable as the file system makes it and 0 is returned.  Returns 0 or
 * -errno.
 */
MMAPIO_INTERNAL int mmapio__w32_sync_dir_w(const wchar_t *dir)
{
	HANDLE h;
	int r;

	r = mmapio__w32.create_file(dir, GENERIC_READ | GENERIC_WRITE, mmapio__w32_share,
				    OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, &h);
	if (r == -EACCES)
		return 0;
	if (r < 0)
		return r;
	r = mmapio__w32.flush_file(h);
	mmapio__w32.close_handle(h);
	return r == -EINVAL || r == -EACCES ? 0 : r;
}

MMAPIO_INTERNAL int mmapio__w32_sync_parent_w(const wchar_t *w)
{
	wchar_t *dir = mmapio__w32_dir_of(w);
	int r;

	if (dir == NULL)
		return -ENOMEM;
	r = mmapio__w32_sync_dir_w(dir);
	free(dir);
	return r;
}

MMAPIO_INTERNAL int mmapio__plat_sync_dir(const char *dir)
{
	wchar_t *w;
	int r = mmapio__w32_wpath(dir, &w);

	if (r < 0)
		return r;
	r = mmapio__w32_sync_dir_w(w);
	free(w);
	return r;
}

MMAPIO_INTERNAL int mmapio__plat_sync_parent(const char *path)
{
	wchar_t *w;
	int r = mmapio__w32_wpath(path, &w);

	if (r < 0)
		return r;
	r = mmapio__w32_sync_parent_w(w);
	free(w);
	return r;
}

/* Returns a new heap string in UTF-8 for the UTF-16 w, or NULL. */
static char *utf8_of(const wchar_t *w)
{
	int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
	char *s;

	if (n <= 0)
		return NULL;
	s = malloc((size_t)n);
	if (s != NULL && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) != n) {
		free(s);
		s = NULL;
	}
	return s;
}

MMAPIO_INTERNAL char *mmapio__plat_abspath(const char *path)
{
	wchar_t *w = NULL, *full = NULL;
	char *abs = NULL;
	DWORD need;

	if (path[0] == '\0' || mmapio__w32_wpath(path, &w) < 0)
		return _strdup(path);
	need = GetFullPathNameW(w, 0, NULL, NULL);
	if (need > 0)
		full = malloc(need * sizeof(wchar_t));
	if (full != NULL) {
		DWORD got = GetFullPathNameW(w, need, full, NULL);

		if (got > 0 && got < need)
			abs = utf8_of(full);
	}
	free(full);
	free(w);
	return abs != NULL ? abs : _strdup(path);
}

/* ------------------------------------------------------------------------ */
/* Removing                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Runs op (DeleteFileW or a replacing MoveFileExW) on a target that may
 * carry the read-only attribute, which Windows honours for deleting and
 * replacing where POSIX asks only the directory: on -EACCES the attribute
 * is cleared and op tried once more, and put back should that fail too.
 * Returns op's result.
 */
MMAPIO_INTERNAL int mmapio__w32_despite_readonly(const wchar_t *target,
						 int (*op)(const void *), const void *arg)
{
	DWORD a;
	int r = op(arg);

	if (r != -EACCES || mmapio__w32.attributes(target, &a) < 0 ||
	    !(a & FILE_ATTRIBUTE_READONLY) || (a & FILE_ATTRIBUTE_DIRECTORY))
		return r;
	if (mmapio__w32.set_attributes(target, a & ~(DWORD)FILE_ATTRIBUTE_READONLY) < 0)
		return r;
	r = op(arg);
	if (r < 0)
		mmapio__w32.set_attributes(target, a);
	return r;
}

static int delete_op(const void *w)
{
	return mmapio__w32.delete_file(w);
}

/*
 * Removes the name at once, as unlink does, where Windows can: POSIX
 * delete semantics (Windows 10 1809, NTFS).  Elsewhere DeleteFileW marks the
 * file for deletion and the name stays until the last handle and view of
 * it are closed.  Both leave open maps of the file working.
 */
MMAPIO_INTERNAL int mmapio__w32_unlink_w(const wchar_t *w)
{
	HANDLE h;
	int r;

	/* The link itself, not what it points to, as unlink removes it. */
	r = mmapio__w32.create_file(w, DELETE, mmapio__w32_share, OPEN_EXISTING,
				    FILE_FLAG_OPEN_REPARSE_POINT, &h);
	if (r == 0) {
		r = mmapio__w32.delete_posix(h);
		mmapio__w32.close_handle(h);
		if (r == 0)
			return 0;
	}
	if (r == -ENOENT || r == -ENOTDIR)
		return mmapio__w32_enoent(w, r);
	r = mmapio__w32_despite_readonly(w, delete_op, w);
	if (r == -EACCES)
		return mmapio__w32_access_denied(w);
	return r == -ENOENT ? mmapio__w32_enoent(w, r) : r;
}

/*
 * What ERROR_ACCESS_DENIED from deleting or replacing w means: -EISDIR for
 * a directory (Linux's answer), -EACCES for a read-only file Windows would
 * not let go of, and -EBUSY for a writable regular file, which Windows
 * refuses only while it is mapped or open elsewhere without
 * FILE_SHARE_DELETE.
 */
MMAPIO_INTERNAL int mmapio__w32_access_denied(const wchar_t *w)
{
	DWORD a;

	if (mmapio__w32.attributes(w, &a) < 0)
		return -EACCES;
	if (a & FILE_ATTRIBUTE_DIRECTORY)
		return -EISDIR;
	return (a & FILE_ATTRIBUTE_READONLY) ? -EACCES : -EBUSY;
}

/*
 * The directory part of path, in UTF-8: "." for a bare name, the root kept
 * with its separator ("/", "\\", "C:\\"), a drive alone for "C:name".
 * Both separators count.
 */
MMAPIO_INTERNAL char *mmapio__plat_dirname(const char *path)
{
	const char *end = NULL, *p;
	size_t n;
	char *dir;

	for (p = path; *p; p++)
		if (*p == '/' || *p == '\\' || (*p == ':' && p == path + 1))
			end = p;
	if (end == NULL)
		return _strdup(".");
	n = (size_t)(end - path);
	if (n == 0 || *end == ':' || (n == 2 && path[1] == ':'))
		n++;
	dir = malloc(n + 1);
	if (dir == NULL)
		return NULL;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return dir;
}

struct move_args {
	const wchar_t *from, *to;
	DWORD flags;
};

static int move_op(const void *arg)
{
	const struct move_args *m = arg;

	return mmapio__w32.move_file(m->from, m->to, m->flags);
}

/*
 * rename(2) on MoveFileExW: a plain rename replaces (a read-only target
 * too, as POSIX asks only the directory); MMAPIO_RENAME_NOREPLACE is
 * MoveFileExW without MOVEFILE_REPLACE_EXISTING (-EEXIST); Windows has no
 * atomic exchange of two names, so MMAPIO_RENAME_EXCHANGE is -ENOTSUP.
 */
MMAPIO_INTERNAL int mmapio__plat_rename(const char *from, const char *to, unsigned flags)
{
	struct move_args m;
	wchar_t *wfrom = NULL, *wto = NULL;
	int r;

	if (flags & MMAPIO_RENAME_EXCHANGE)
		return -ENOTSUP;
	r = mmapio__w32_wpath(from, &wfrom);
	if (r == 0)
		r = mmapio__w32_wpath(to, &wto);
	if (r < 0)
		goto out;
	m.from = wfrom;
	m.to = wto;
	if (flags & MMAPIO_RENAME_NOREPLACE) {
		m.flags = 0;
		r = move_op(&m);
	} else {
		m.flags = MOVEFILE_REPLACE_EXISTING;
		r = mmapio__w32_despite_readonly(wto, move_op, &m);
		if (r == -EACCES && !mmapio__w32_is_dir(wfrom))
			r = mmapio__w32_access_denied(wto);
	}
	if (r == -ENOENT || r == -ENOTDIR)
		r = mmapio__w32_enoent(wfrom, r);
out:
	free(wfrom);
	free(wto);
	return r;
}

/* The OVERLAPPED and the byte count of [off, off + len), len 0: to the end. */
static void lock_span(uint64_t off, uint64_t len, OVERLAPPED *ov, DWORD *lo, DWORD *hi)
{
	memset(ov, 0, sizeof(*ov));
	ov->Offset = (DWORD)off;
	ov->OffsetHigh = (DWORD)(off >> 32);
	if (len == 0 || len > UINT64_MAX - off) {
		/* Everything from off on: as far as a 64-bit offset reaches. */
		len = UINT64_MAX - off;
		if (len == 0)
			len = 1;
	}
	*lo = (DWORD)len;
	*hi = (DWORD)(len >> 32);
}

/*
 * Byte-range locks on LockFileEx.  Unlike fcntl locks they belong to the
 * handle, not the process, a range must be unlocked exactly as it was
 * locked, and they are mandatory: other handles' reads and writes of a
 * locked range fail (mapped views are not checked).
 */
MMAPIO_INTERNAL int mmapio__plat_lock_range(int fd, uint64_t off, uint64_t len, unsigned flags)
{
	HANDLE h = mmapio__w32_handle(fd);
	DWORD lo, hi, how = 0, err;
	OVERLAPPED ov;

	if (h == NULL)
		return -EBADF;
	lock_span(off, len, &ov, &lo, &hi);
	if (flags & MMAPIO_RANGE_EXCLUSIVE)
		how |= LOCKFILE_EXCLUSIVE_LOCK;
	if (flags & MMAPIO_RANGE_NOWAIT)
		how |= LOCKFILE_FAIL_IMMEDIATELY;
	if (LockFileEx(h, how, 0, lo, hi, &ov))
		return 0;
	err = GetLastError();
	if (err == ERROR_IO_PENDING) {
		/* An overlapped handle: wait for the lock as a blocking call would. */
		DWORD got;

		if (GetOverlappedResult(h, &ov, &got, TRUE))
			return 0;
		err = GetLastError();
	}
	if (err == ERROR_LOCK_VIOLATION)
		return (flags & MMAPIO_RANGE_NOWAIT) ? -EAGAIN : -EDEADLK;
	return -mmapio__w32_errno(err);
}

MMAPIO_INTERNAL int mmapio__plat_unlock_range(int fd, uint64_t off, uint64_t len)
{
	HANDLE h = mmapio__w32_handle(fd);
	DWORD lo, hi, err;
	OVERLAPPED ov;

	if (h == NULL)
		return -EBADF;
	lock_span(off, len, &ov, &lo, &hi);
	if (UnlockFileEx(h, 0, lo, hi, &ov))
		return 0;
	/*
	 * Nothing locked there: fcntl's F_UNLCK succeeds on that.  Windows
	 * says ERROR_NOT_LOCKED, wine ERROR_LOCK_VIOLATION (an unlock cannot
	 * conflict with anyone else's lock, so it means the same).
	 */
	err = GetLastError();
	if (err == ERROR_NOT_LOCKED || err == ERROR_LOCK_VIOLATION)
		return 0;
	return -mmapio__w32_errno(err);
}

MMAPIO_INTERNAL int mmapio__plat_unlink(const char *path)
{
	wchar_t *w;
	int r = mmapio__w32_wpath(path, &w);

	if (r < 0)
		return r;
	r = mmapio__w32_unlink_w(w);
	free(w);
	return r;
}

/* ------------------------------------------------------------------------ */
/* Creating a map's file                                                    */
/* ------------------------------------------------------------------------ */

/* The attributes of a new file with permission bits perm. */
MMAPIO_INTERNAL DWORD mmapio__w32_attrs_of_perm(unsigned perm)
{
	return (perm & 0200) ? FILE_ATTRIBUTE_NORMAL : FILE_ATTRIBUTE_READONLY;
}

/*
 * Gives the open file exactly size bytes: reserved (mmapio__plat_allocate)
 * unless the caller asked for a sparse file, which is then marked sparse
 * where the file system supports it and extended.  Returns 0 or -errno.
 */
static int size_file(int fd, HANDLE h, uint64_t size, unsigned flags)
{
	struct mmapio__file_info fi;
	DWORD ret;
	int r;

	if (flags & MMAPIO_CREATE_SPARSE) {
		/* Best effort: a file system without sparse files extends fully. */
		DeviceIoControl(h, FSCTL_SET_SPARSE, NULL, 0, NULL, 0, &ret, NULL);
		r = mmapio__plat_set_size(fd, size);
	} else {
		r = mmapio__plat_allocate(fd, 0, size);
	}
	if (r == 0)
		r = info_of_handle(h, &fi);
	if (r == 0 && fi.size != size)
		r = -EINVAL;
	return r;
}

/*
 * Opens the file for the create: exclusively first, so that we know whether
 * we made it; an existing one (without MMAPIO_CREATE_EXCLUSIVE) is opened
 * again after checking that it is a regular file, and truncated unless
 * MMAPIO_CREATE_OR_OPEN keeps it as it is.  An existing file kept may
 * vanish between the two opens: then the exclusive create is tried again.
 * Returns 0 with *out and *created set, or -errno.
 */
static int open_for_create(const wchar_t *w, unsigned perm, unsigned flags, HANDLE *out,
			   int *created)
{
	struct mmapio__file_info fi;
	DWORD rw = GENERIC_READ | GENERIC_WRITE;
	bool keep = (flags & MMAPIO_CREATE_OR_OPEN) != 0;
	int r, tries = 0;

	for (;;) {
		r = mmapio__w32_open_w(w, rw, CREATE_NEW, mmapio__w32_attrs_of_perm(perm), out);
		if (r == 0) {
			*created = 1;
			return 0;
		}
		if (r != -EEXIST)
			return r;
		if (flags & MMAPIO_CREATE_EXCLUSIVE)
			return mmapio__w32_is_dir(w) ? -EISDIR : -EEXIST;
		r = mmapio__w32_open_w(w, rw, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, out);
		if (r == 0)
			break;
		if (r != -ENOENT || !keep || ++tries == 8)
			return r;
	}
	r = info_of_handle(*out, &fi);
	if (r == 0 && fi.type != MMAPIO__FILE_REGULAR)
		r = -EINVAL;
	if (r == 0 && !keep)
		r = mmapio__w32.set_end_of_file(*out, 0);
	if (r < 0)
		mmapio__w32.close_handle(*out);
	return r;
}

MMAPIO_INTERNAL int mmapio__plat_create_file(const char *path, uint64_t size, unsigned perm,
					       unsigned flags, int *created)
{
	wchar_t *w;
	HANDLE h;
	int fd, r;

	*created = 0;
	r = mmapio__w32_wpath(path, &w);
	if (r < 0)
		return r;
	r = open_for_create(w, perm, flags, &h, created);
	if (r < 0)
		goto out;
	fd = mmapio__w32_fd_of(h, 0);
	if (fd < 0) {
		r = fd;
		goto undo;
	}
	/* An existing file kept (MMAPIO_CREATE_OR_OPEN) is mapped as it is. */
	if ((flags & MMAPIO_CREATE_OR_OPEN) && !*created) {
		free(w);
		return fd;
	}
	r = size == 0 ? 0 : size_file(fd, h, size, flags);
	if (r == 0 && (flags & MMAPIO_CREATE_DURABLE)) {
		r = mmapio__w32.flush_file(h);
		if (r == 0 && !(flags & MMAPIO__PLAT_NO_DIR_SYNC))
			r = mmapio__w32_sync_parent_w(w);
	}
	if (r == 0) {
		free(w);
		return fd;
	}
	_close(fd);
undo:
	if (*created)
		mmapio__w32_unlink_w(w);
	*created = 0;
out:
	free(w);
	return r;
}
