/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the Win32 files of the platform share among themselves (nothing here
 * is part of src/platform.h): UTF-16 path helpers, the share mode of every
 * handle, and the hook through which a file's length changes with its
 * mapping closed around it.
 */
#ifndef MMAPIO_WIN32_PLAT_H
#define MMAPIO_WIN32_PLAT_H

#include <stdbool.h>
#include <stdint.h>

#include "platform.h"
#include "win32_sys.h"

/* FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE: see win32_file.c. */
extern MMAPIO_INTERNAL const DWORD mmapio__w32_share;

/*
 * Opens the UTF-16 path w with the share mode above (CreateFileW with the
 * given access, disposition and attributes).  Returns 0 with *out set;
 * -EISDIR for a directory; or -errno.
 */
MMAPIO_INTERNAL int mmapio__w32_open_w(const wchar_t *w, DWORD access, DWORD disposition,
				       DWORD attrs, HANDLE *out);

/* -ENOTDIR when a component of w is a file, else r (a -ENOENT). */
MMAPIO_INTERNAL int mmapio__w32_enoent(const wchar_t *w, int r);

/* Describes the file at w, following links.  Returns 0 or -errno. */
MMAPIO_INTERNAL int mmapio__w32_wpath_info(const wchar_t *w, struct mmapio__file_info *out);

/* True when w names a directory. */
MMAPIO_INTERNAL bool mmapio__w32_is_dir(const wchar_t *w);

/* The directory part of w in a new heap string ("." for a bare name), or NULL. */
MMAPIO_INTERNAL wchar_t *mmapio__w32_dir_of(const wchar_t *w);

/* Flushes the directory holding w (see win32_file.c).  Returns 0 or -errno. */
MMAPIO_INTERNAL int mmapio__w32_sync_parent_w(const wchar_t *w);

/* Flushes the UTF-16 directory dir, as mmapio__plat_sync_dir.  0 or -errno. */
MMAPIO_INTERNAL int mmapio__w32_sync_dir_w(const wchar_t *dir);

/*
 * The errno value of ERROR_ACCESS_DENIED from deleting or replacing w:
 * -EISDIR, -EACCES (read-only) or -EBUSY (in use).
 */
MMAPIO_INTERNAL int mmapio__w32_access_denied(const wchar_t *w);

/* Removes the file at w, read-only or not.  Returns 0, -EISDIR or -errno. */
MMAPIO_INTERNAL int mmapio__w32_unlink_w(const wchar_t *w);

/*
 * Runs op(arg) on target, clearing target's read-only attribute for one
 * more try when op fails with -EACCES (Windows honours it for deleting and
 * replacing; POSIX does not).  Returns op's result.
 */
MMAPIO_INTERNAL int mmapio__w32_despite_readonly(const wchar_t *target,
						 int (*op)(const void *), const void *arg);

/* The attributes of a new file with permission bits perm. */
MMAPIO_INTERNAL DWORD mmapio__w32_attrs_of_perm(unsigned perm);

/*
 * Sets the length of the file open on fd (handle h) to size bytes.  A
 * mapped file cannot be cut on Windows (ERROR_USER_MAPPED_FILE), so the
 * mapping of fd, if this process has one, closes its view and section for
 * the cut and maps them again afterwards, at the same address where it can
 * (win32_map.c).  Returns 0, or -errno with the file at its old length;
 * -EBUSY when another mapping of the file is in the way.
 */
MMAPIO_INTERNAL int mmapio__w32_set_length(int fd, HANDLE h, uint64_t size);

/* The function name of kernelbase.dll (or kernel32.dll), or NULL. */
MMAPIO_INTERNAL void (*mmapio__w32_find_function(const char *name))(void);

/* Starts reading [addr, addr + len) in where Windows can (Windows 8+). */
MMAPIO_INTERNAL void mmapio__w32_prefetch(void *addr, size_t len);

/*
 * True when reservations can be made of placeholders here (VirtualAlloc2
 * and MapViewOfFile3 found and working; see win32_map.c).
 */
MMAPIO_INTERNAL bool mmapio__w32_placeholders(void);

#endif
