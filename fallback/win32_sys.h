/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Win32 call table: the Windows counterpart of fallback/sys.h.  Every
 * Win32 call of fallback/win32*.c that can fail in a way a caller must
 * handle goes through mmapio__w32 (SQLite's aSyscall pattern), so that tests
 * can replace an entry to inject ERROR_DISK_FULL, ERROR_IO_DEVICE or a
 * failing mapping.  Each entry follows the library's convention: 0 (or a
 * count) on success, -errno on failure, the Windows error already turned
 * into errno by mmapio__w32_errno(); GetLastError() is never the channel.
 *
 * The table is process-wide and not synchronised: tests swap entries while
 * no other thread is inside the library, and restore them with
 * mmapio__w32_reset().
 */
#ifndef MMAPIO_WIN32_SYS_H
#define MMAPIO_WIN32_SYS_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <stddef.h>
#include <stdint.h>

#include "visibility.h"

struct mmapio__w32 {
	/* CreateFileW; *out is a handle that is never INVALID_HANDLE_VALUE. */
	int (*create_file)(const wchar_t *path, DWORD access, DWORD share, DWORD disposition,
			   DWORD flags, HANDLE *out);
	int (*close_handle)(HANDLE h);
	int (*file_info)(HANDLE h, BY_HANDLE_FILE_INFORMATION *out);
	/* SetFileInformationByHandle(FileEndOfFileInfo). */
	int (*set_end_of_file)(HANDLE h, uint64_t size);
	/* SetFileInformationByHandle(FileAllocationInfo). */
	int (*set_allocation)(HANDLE h, uint64_t size);
	int (*flush_file)(HANDLE h);
	/* Transfers at an offset; return the byte count (may be short). */
	int64_t (*read_at)(HANDLE h, void *buf, DWORD len, uint64_t off);
	int64_t (*write_at)(HANDLE h, const void *buf, DWORD len, uint64_t off);
	/* CreateFileMappingW of the whole file; *out never NULL. */
	int (*create_section)(HANDLE file, DWORD protect, HANDLE *out);
	/* MapViewOfFileEx (at NULL: anywhere); *out never NULL. */
	int (*map_view)(HANDLE section, DWORD access, size_t len, void *at, void **out);
	int (*unmap_view)(void *addr);
	int (*flush_view)(void *addr, size_t len);
	int (*lock_pages)(void *addr, size_t len);
	int (*unlock_pages)(void *addr, size_t len);
	int (*move_file)(const wchar_t *from, const wchar_t *to, DWORD flags);
	int (*delete_file)(const wchar_t *path);
	/* GetFileAttributesW; *out is never INVALID_FILE_ATTRIBUTES. */
	int (*attributes)(const wchar_t *path, DWORD *out);
	int (*set_attributes)(const wchar_t *path, DWORD attrs);
	/*
	 * SetFileInformationByHandle(FileDispositionInfoEx) with delete,
	 * POSIX semantics and ignore-read-only: the name goes at once, open
	 * handles and views keep the file (Windows 10 1809 and later).
	 */
	int (*delete_posix)(HANDLE h);
	/* DuplicateHandle within this process, same access, not inheritable. */
	int (*dup_handle)(HANDLE h, HANDLE *out);
};

extern MMAPIO_INTERNAL struct mmapio__w32 mmapio__w32;

/* Restores every entry of mmapio__w32 to the real Win32 call. */
MMAPIO_INTERNAL void mmapio__w32_reset(void);

/*
 * The errno value (positive) for a Windows error code, from the one table
 * in win32_sys.c; EIO for a code the table does not know.
 */
MMAPIO_INTERNAL int mmapio__w32_errno(DWORD err);

/* -errno for GetLastError() of the call that just failed. */
MMAPIO_INTERNAL int mmapio__w32_last_error(void);

/*
 * Converts the UTF-8 path to a new heap string in UTF-16 (free() it),
 * prefixed with \\?\ once it is too long for the plain Win32 form.  Returns
 * 0 with *out set; -EINVAL for invalid UTF-8 or an empty path; -ENOMEM;
 * -ENAMETOOLONG.
 */
MMAPIO_INTERNAL int mmapio__w32_wpath(const char *path, wchar_t **out);

/*
 * The OS handle of a C runtime descriptor, or NULL for a descriptor that
 * is not open.
 */
MMAPIO_INTERNAL HANDLE mmapio__w32_handle(int fd);

/*
 * Wraps h in a C runtime descriptor (read-only when rdonly), taking it
 * over.  Returns the descriptor, or -errno with h closed.
 */
MMAPIO_INTERNAL int mmapio__w32_fd_of(HANDLE h, int rdonly);

#endif
