/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The real Win32 calls behind mmapio__w32, the one table that turns a
 * Windows error code into an errno value, and the conversions every Win32
 * file of the platform shares: UTF-8 paths to UTF-16, C runtime
 * descriptors to handles and back.
 *
 * Errors.  Each wrapper reads GetLastError() right after the call that
 * failed and returns -errno from errno_table below, so that callers see the
 * same negative errno values as on Linux (the values are the C runtime's:
 * ENOTSUP is 129 under mingw-w64, 95 under glibc, and a caller compares
 * against its own <errno.h> either way).  Choices where Windows has no
 * exact counterpart:
 *
 *  - ERROR_SHARING_VIOLATION, ERROR_LOCK_VIOLATION, ERROR_USER_MAPPED_FILE
 *    (a mapped file cannot be truncated) and ERROR_BUSY are -EBUSY: the
 *    file is in use by another handle or view, which is passing and says
 *    nothing about permissions (-EACCES would send a user to check them).
 *  - ERROR_ACCESS_DENIED is -EACCES.  Windows also answers it for opening or
 *    deleting a directory as a file; the callers ask the attributes and
 *    turn that case into -EISDIR, as Linux reports it.
 *  - ERROR_INVALID_NAME and ERROR_BAD_PATHNAME are -EINVAL and -ENOENT:
 *    a name Windows cannot express at all, a path that leads nowhere.
 *  - A code the table does not know is -EIO.
 */
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdlib.h>
#include <string.h>

#include "win32_sys.h"

/* Codes older mingw-w64 headers lack. */
#ifndef ERROR_USER_MAPPED_FILE
#define ERROR_USER_MAPPED_FILE 1224L
#endif
#ifndef ERROR_DISK_QUOTA_EXCEEDED
#define ERROR_DISK_QUOTA_EXCEEDED 1295L
#endif

/* The largest transfer one ReadFile or WriteFile is asked for. */
#define IO_CHUNK_MAX ((DWORD)1 << 30)

/* ------------------------------------------------------------------------ */
/* The error table                                                          */
/* ------------------------------------------------------------------------ */

static const struct {
	DWORD win;
	int err;
} errno_table[] = {
	{ ERROR_INVALID_FUNCTION, EINVAL },          /* 1: e.g. a sync of a pipe */
	{ ERROR_FILE_NOT_FOUND, ENOENT },            /* 2 */
	{ ERROR_PATH_NOT_FOUND, ENOENT },            /* 3 */
	{ ERROR_TOO_MANY_OPEN_FILES, EMFILE },       /* 4 */
	{ ERROR_ACCESS_DENIED, EACCES },             /* 5 (directories: see above) */
	{ ERROR_INVALID_HANDLE, EBADF },             /* 6 */
	{ ERROR_NOT_ENOUGH_MEMORY, ENOMEM },         /* 8 */
	{ ERROR_INVALID_ACCESS, EACCES },            /* 12 */
	{ ERROR_OUTOFMEMORY, ENOMEM },               /* 14 */
	{ ERROR_INVALID_DRIVE, ENOENT },             /* 15 */
	{ ERROR_NOT_SAME_DEVICE, EXDEV },            /* 17 */
	{ ERROR_WRITE_PROTECT, EROFS },              /* 19 */
	{ ERROR_NOT_READY, EIO },                    /* 21 */
	{ ERROR_CRC, EIO },                          /* 23 */
	{ ERROR_SEEK, EIO },                         /* 25 */
	{ ERROR_WRITE_FAULT, EIO },                  /* 29 */
	{ ERROR_READ_FAULT, EIO },                   /* 30 */
	{ ERROR_GEN_FAILURE, EIO },                  /* 31 */
	{ ERROR_SHARING_VIOLATION, EBUSY },          /* 32 */
	{ ERROR_LOCK_VIOLATION, EBUSY },             /* 33 */
	{ ERROR_HANDLE_EOF, EIO },                   /* 38 */
	{ ERROR_HANDLE_DISK_FULL, ENOSPC },          /* 39 */
	{ ERROR_NOT_SUPPORTED, ENOTSUP },            /* 50 */
	{ ERROR_BAD_NETPATH, ENOENT },               /* 53 */
	{ ERROR_NETNAME_DELETED, EIO },              /* 64 */
	{ ERROR_FILE_EXISTS, EEXIST },               /* 80 */
	{ ERROR_CANNOT_MAKE, EACCES },               /* 82 */
	{ ERROR_INVALID_PARAMETER, EINVAL },         /* 87 */
	{ ERROR_BROKEN_PIPE, EPIPE },                /* 109 */
	{ ERROR_OPEN_FAILED, EIO },                  /* 110 */
	{ ERROR_BUFFER_OVERFLOW, ENAMETOOLONG },     /* 111 */
	{ ERROR_DISK_FULL, ENOSPC },                 /* 112 */
	{ ERROR_CALL_NOT_IMPLEMENTED, ENOSYS },      /* 120 */
	{ ERROR_INSUFFICIENT_BUFFER, ENOMEM },       /* 122 */
	{ ERROR_INVALID_NAME, EINVAL },              /* 123 */
	{ ERROR_NEGATIVE_SEEK, EINVAL },             /* 131 */
	{ ERROR_DIR_NOT_EMPTY, ENOTEMPTY },          /* 145 */
	{ ERROR_NOT_LOCKED, ENOLCK },                /* 158 */
	{ ERROR_BAD_PATHNAME, ENOENT },              /* 161 */
	{ ERROR_BUSY, EBUSY },                       /* 170 */
	{ ERROR_ALREADY_EXISTS, EEXIST },            /* 183 */
	{ ERROR_FILENAME_EXCED_RANGE, ENAMETOOLONG },/* 206 */
	{ ERROR_FILE_TOO_LARGE, EFBIG },             /* 223 */
	{ ERROR_NO_DATA, EPIPE },                    /* 232 */
	{ ERROR_DIRECTORY, ENOTDIR },                /* 267 */
	{ ERROR_DELETE_PENDING, ENOENT },            /* 303: the name is going away */
	{ ERROR_INVALID_ADDRESS, EINVAL },           /* 487 */
	{ ERROR_OPERATION_ABORTED, ECANCELED },      /* 995 */
	{ ERROR_NOACCESS, EFAULT },                  /* 998 */
	{ ERROR_FILE_INVALID, EINVAL },              /* 1006: e.g. mapping an empty file */
	{ ERROR_IO_DEVICE, EIO },                    /* 1117 */
	{ ERROR_MAPPED_ALIGNMENT, EINVAL },          /* 1132 */
	{ ERROR_USER_MAPPED_FILE, EBUSY },           /* 1224 */
	{ ERROR_PRIVILEGE_NOT_HELD, EPERM },         /* 1314 */
	{ ERROR_WORKING_SET_QUOTA, ENOMEM },         /* 1453: VirtualLock past the quota */
	{ ERROR_COMMITMENT_LIMIT, ENOMEM },          /* 1455 */
	{ ERROR_TIMEOUT, ETIMEDOUT },                /* 1460 */
	{ ERROR_INVALID_USER_BUFFER, EFAULT },       /* 1784 */
	{ ERROR_NOT_ENOUGH_QUOTA, ENOMEM },          /* 1816 */
	{ ERROR_CANT_ACCESS_FILE, EACCES },          /* 1920 */
	{ ERROR_CANT_RESOLVE_FILENAME, ELOOP },      /* 1921 */
	{ ERROR_DISK_QUOTA_EXCEEDED, ENOSPC },       /* 1295 */
};

MMAPIO_INTERNAL int mmapio__w32_errno(DWORD err)
{
	size_t i;

	for (i = 0; i < sizeof(errno_table) / sizeof(errno_table[0]); i++)
		if (errno_table[i].win == err)
			return errno_table[i].err;
	return EIO;
}

MMAPIO_INTERNAL int mmapio__w32_last_error(void)
{
	return -mmapio__w32_errno(GetLastError());
}

/* ------------------------------------------------------------------------ */
/* Paths and descriptors                                                    */
/* ------------------------------------------------------------------------ */

/* Paths at least this long (in UTF-16 units) get the \\?\ prefix. */
#define LONG_PATH_MIN 240

/*
 * Makes a long path usable past MAX_PATH: the full path with backslashes,
 * prefixed \\?\ (or \\?\UNC\ for a share).  Returns 0 with *w replaced, or
 * -errno with *w untouched.
 */
static int long_form(wchar_t **w)
{
	DWORD need = GetFullPathNameW(*w, 0, NULL, NULL), got;
	wchar_t *full, *out;
	size_t skip = 0;
	const wchar_t *pre = L"\\\\?\\";

	if (need == 0)
		return mmapio__w32_last_error();
	full = malloc(need * sizeof(wchar_t));
	if (full == NULL)
		return -ENOMEM;
	got = GetFullPathNameW(*w, need, full, NULL);
	if (got == 0 || got >= need) {
		free(full);
		return got == 0 ? mmapio__w32_last_error() : -ENAMETOOLONG;
	}
	if (full[0] == L'\\' && full[1] == L'\\') {
		if (full[2] == L'?' || full[2] == L'.') {
			free(*w); /* already in device form */
			*w = full;
			return 0;
		}
		pre = L"\\\\?\\UNC\\";
		skip = 2;
	}
	out = malloc((wcslen(pre) + got - skip + 1) * sizeof(wchar_t));
	if (out == NULL) {
		free(full);
		return -ENOMEM;
	}
	wcscpy(out, pre);
	wcscat(out, full + skip);
	free(full);
	free(*w);
	*w = out;
	return 0;
}

MMAPIO_INTERNAL int mmapio__w32_wpath(const char *path, wchar_t **out)
{
	int n, r;
	wchar_t *w;

	if (path == NULL || path[0] == '\0')
		return path == NULL ? -EINVAL : -ENOENT;
	n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, NULL, 0);
	if (n <= 0)
		return -EINVAL;
	w = malloc((size_t)n * sizeof(wchar_t));
	if (w == NULL)
		return -ENOMEM;
	if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, path, -1, w, n) != n) {
		free(w);
		return -EINVAL;
	}
	if (n > LONG_PATH_MIN) {
		r = long_form(&w);
		if (r < 0) {
			free(w);
			return r;
		}
	}
	*out = w;
	return 0;
}

MMAPIO_INTERNAL HANDLE mmapio__w32_handle(int fd)
{
	intptr_t h;

	if (fd < 0)
		return NULL;
	h = _get_osfhandle(fd);
	if (h == -1 || h == -2)
		return NULL;
	return (HANDLE)h;
}

MMAPIO_INTERNAL int mmapio__w32_fd_of(HANDLE h, int rdonly)
{
	int fd = _open_osfhandle((intptr_t)h, _O_BINARY | _O_NOINHERIT | (rdonly ? _O_RDONLY : 0));

	if (fd < 0) {
		int e = errno ? -errno : -EMFILE;

		mmapio__w32.close_handle(h);
		return e;
	}
	return fd;
}

/* ------------------------------------------------------------------------ */
/* The real calls                                                           */
/* ------------------------------------------------------------------------ */

static int real_create_file(const wchar_t *path, DWORD access, DWORD share, DWORD disposition,
			    DWORD flags, HANDLE *out)
{
	HANDLE h = CreateFileW(path, access, share, NULL, disposition, flags, NULL);

	if (h == INVALID_HANDLE_VALUE)
		return mmapio__w32_last_error();
	*out = h;
	return 0;
}

static int real_close_handle(HANDLE h)
{
	return CloseHandle(h) ? 0 : mmapio__w32_last_error();
}

static int real_file_info(HANDLE h, BY_HANDLE_FILE_INFORMATION *out)
{
	return GetFileInformationByHandle(h, out) ? 0 : mmapio__w32_last_error();
}

static int real_set_end_of_file(HANDLE h, uint64_t size)
{
	FILE_END_OF_FILE_INFO info;

	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	info.EndOfFile.QuadPart = (LONGLONG)size;
	return SetFileInformationByHandle(h, FileEndOfFileInfo, &info, sizeof(info))
		       ? 0
		       : mmapio__w32_last_error();
}

static int real_set_allocation(HANDLE h, uint64_t size)
{
	FILE_ALLOCATION_INFO info;

	if (size > (uint64_t)INT64_MAX)
		return -EFBIG;
	info.AllocationSize.QuadPart = (LONGLONG)size;
	return SetFileInformationByHandle(h, FileAllocationInfo, &info, sizeof(info))
		       ? 0
		       : mmapio__w32_last_error();
}

static int real_flush_file(HANDLE h)
{
	return FlushFileBuffers(h) ? 0 : mmapio__w32_last_error();
}

/* Fills ov for a transfer at off. */
static void at_offset(OVERLAPPED *ov, uint64_t off)
{
	memset(ov, 0, sizeof(*ov));
	ov->Offset = (DWORD)off;
	ov->OffsetHigh = (DWORD)(off >> 32);
}

static int64_t real_read_at(HANDLE h, void *buf, DWORD len, uint64_t off)
{
	OVERLAPPED ov;
	DWORD got = 0;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	at_offset(&ov, off);
	if (len > IO_CHUNK_MAX)
		len = IO_CHUNK_MAX;
	if (!ReadFile(h, buf, len, &got, &ov)) {
		/* Reading at or past the end of the file: 0 bytes, as pread says. */
		if (GetLastError() == ERROR_HANDLE_EOF)
			return 0;
		return mmapio__w32_last_error();
	}
	return (int64_t)got;
}

static int64_t real_write_at(HANDLE h, const void *buf, DWORD len, uint64_t off)
{
	OVERLAPPED ov;
	DWORD put = 0;

	if (off > (uint64_t)INT64_MAX)
		return -EINVAL;
	at_offset(&ov, off);
	if (len > IO_CHUNK_MAX)
		len = IO_CHUNK_MAX;
	if (!WriteFile(h, buf, len, &put, &ov))
		return mmapio__w32_last_error();
	return (int64_t)put;
}

static int real_create_section(HANDLE file, DWORD protect, HANDLE *out)
{
	HANDLE s = CreateFileMappingW(file, NULL, protect, 0, 0, NULL);

	if (s == NULL)
		return mmapio__w32_last_error();
	*out = s;
	return 0;
}

static int real_map_view(HANDLE section, DWORD access, size_t len, void *at, void **out)
{
	void *p = MapViewOfFileEx(section, access, 0, 0, len, at);

	if (p == NULL)
		return mmapio__w32_last_error();
	*out = p;
	return 0;
}

static int real_unmap_view(void *addr)
{
	return UnmapViewOfFile(addr) ? 0 : mmapio__w32_last_error();
}

static int real_flush_view(void *addr, size_t len)
{
	return FlushViewOfFile(addr, len) ? 0 : mmapio__w32_last_error();
}

static int real_lock_pages(void *addr, size_t len)
{
	return VirtualLock(addr, len) ? 0 : mmapio__w32_last_error();
}

static int real_unlock_pages(void *addr, size_t len)
{
	/* munlock of pages that are not locked succeeds; so does this. */
	if (VirtualUnlock(addr, len) || GetLastError() == ERROR_NOT_LOCKED)
		return 0;
	return mmapio__w32_last_error();
}

static int real_move_file(const wchar_t *from, const wchar_t *to, DWORD flags)
{
	return MoveFileExW(from, to, flags) ? 0 : mmapio__w32_last_error();
}

static int real_delete_file(const wchar_t *path)
{
	return DeleteFileW(path) ? 0 : mmapio__w32_last_error();
}

static int real_attributes(const wchar_t *path, DWORD *out)
{
	DWORD a = GetFileAttributesW(path);

	if (a == INVALID_FILE_ATTRIBUTES)
		return mmapio__w32_last_error();
	*out = a;
	return 0;
}

static int real_set_attributes(const wchar_t *path, DWORD attrs)
{
	return SetFileAttributesW(path, attrs) ? 0 : mmapio__w32_last_error();
}

/*
 * FileDispositionInfoEx (21) and its flags, which mingw-w64 10 declares
 * only for some _WIN32_WINNT values.
 */
#define DISPOSITION_INFO_EX ((FILE_INFO_BY_HANDLE_CLASS)21)
#define DISPOSITION_DELETE 0x1u
#define DISPOSITION_POSIX_SEMANTICS 0x2u
#define DISPOSITION_IGNORE_READONLY 0x10u

static int real_delete_posix(HANDLE h)
{
	struct {
		DWORD flags;
	} info = { DISPOSITION_DELETE | DISPOSITION_POSIX_SEMANTICS | DISPOSITION_IGNORE_READONLY };

	return SetFileInformationByHandle(h, DISPOSITION_INFO_EX, &info, sizeof(info))
		       ? 0
		       : mmapio__w32_last_error();
}

static int real_dup_handle(HANDLE h, HANDLE *out)
{
	HANDLE self = GetCurrentProcess();

	if (!DuplicateHandle(self, h, self, out, 0, FALSE, DUPLICATE_SAME_ACCESS))
		return mmapio__w32_last_error();
	return 0;
}

/* The initialiser is spelled once and used for the table and for reset. */
#define MMAPIO__W32_REAL                                                              \
	{                                                                             \
		.create_file = real_create_file, .close_handle = real_close_handle,   \
		.file_info = real_file_info, .set_end_of_file = real_set_end_of_file, \
		.set_allocation = real_set_allocation, .flush_file = real_flush_file, \
		.read_at = real_read_at, .write_at = real_write_at,                   \
		.create_section = real_create_section, .map_view = real_map_view,     \
		.unmap_view = real_unmap_view, .flush_view = real_flush_view,         \
		.lock_pages = real_lock_pages, .unlock_pages = real_unlock_pages,     \
		.move_file = real_move_file, .delete_file = real_delete_file,         \
		.attributes = real_attributes, .set_attributes = real_set_attributes, \
		.delete_posix = real_delete_posix, .dup_handle = real_dup_handle,     \
	}

MMAPIO_INTERNAL struct mmapio__w32 mmapio__w32 = MMAPIO__W32_REAL;

MMAPIO_INTERNAL void mmapio__w32_reset(void)
{
	static const struct mmapio__w32 real = MMAPIO__W32_REAL;

	mmapio__w32 = real;
}
