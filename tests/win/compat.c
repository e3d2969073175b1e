/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The POSIX calls of tests/win/compat.h, done with the C runtime and
 * Win32.  This file is compiled without compat.h's macros (it needs the C
 * runtime's own names) and with windows.h, which the suites never see.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <direct.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <winioctl.h>

#include "compat_decls.h"
#include "win32_plat.h"
#include "win32_sys.h"

/* ------------------------------------------------------------------------ */
/* Helpers                                                                  */
/* ------------------------------------------------------------------------ */

int th_win_under_wine(void)
{
	HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");

	return ntdll != NULL && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* Sets errno from GetLastError() and returns -1. */
static int fail_last_error(void)
{
	errno = mmapio__w32_errno(GetLastError());
	return -1;
}

/* A UTF-16 copy of the UTF-8 path (free it), or NULL with errno set. */
static wchar_t *wide(const char *path)
{
	wchar_t *w = NULL;
	int r = mmapio__w32_wpath(path, &w);

	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return w;
}

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

int th_open(const char *path, int flags, ...)
{
	unsigned mode = 0;
	va_list ap;

	if (flags & TH_O_DIRECT)
		th_win_skip("O_DIRECT is not an open() flag of the C runtime "
			    "(unbuffered I/O is CreateFile's FILE_FLAG_NO_BUFFERING)");
	if (flags & _O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, unsigned);
		va_end(ap);
	}
	/* Binary always, and the C runtime knows only the owner's write bit. */
	return _open(path, flags | _O_BINARY, (mode & 0200) ? _S_IREAD | _S_IWRITE : _S_IREAD);
}

/* Fills *st from the handle h. */
static int stat_handle(HANDLE h, struct th_stat *st)
{
	BY_HANDLE_FILE_INFORMATION bi;
	FILE_STANDARD_INFO si;
	ULARGE_INTEGER t;

	memset(st, 0, sizeof(*st));
	if (GetFileType(h) != FILE_TYPE_DISK) {
		st->st_mode = _S_IFIFO | 0600;
		return 0;
	}
	if (!GetFileInformationByHandle(h, &bi))
		return fail_last_error();
	st->st_dev = bi.dwVolumeSerialNumber;
	st->st_ino = ((uint64_t)bi.nFileIndexHigh << 32) | bi.nFileIndexLow;
	st->st_nlink = bi.nNumberOfLinks;
	st->st_size = (int64_t)(((uint64_t)bi.nFileSizeHigh << 32) | bi.nFileSizeLow);
	st->st_mode = (bi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) ? _S_IFDIR | 0755 : _S_IFREG;
	if (!(bi.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY))
		st->st_mode |= (bi.dwFileAttributes & FILE_ATTRIBUTE_READONLY) ? 0444 : 0666;
	if (GetFileInformationByHandleEx(h, FileStandardInfo, &si, sizeof(si)))
		st->st_blocks = (si.AllocationSize.QuadPart + 511) / 512;
	st->st_blksize = 4096;
	t.LowPart = bi.ftLastWriteTime.dwLowDateTime;
	t.HighPart = bi.ftLastWriteTime.dwHighDateTime;
	st->st_mtime = (time_t)(t.QuadPart / 10000000ull - 11644473600ull);
	return 0;
}

int th_stat(const char *path, struct th_stat *st)
{
	wchar_t *w = wide(path);
	HANDLE h;
	int r;

	if (w == NULL)
		return -1;
	h = CreateFileW(w, FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
			NULL, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
	free(w);
	if (h == INVALID_HANDLE_VALUE)
		return fail_last_error();
	r = stat_handle(h, st);
	CloseHandle(h);
	return r;
}

int th_fstat(int fd, struct th_stat *st)
{
	HANDLE h = mmapio__w32_handle(fd);

	if (h == NULL) {
		errno = EBADF;
		return -1;
	}
	return stat_handle(h, st);
}

/* One transfer at off through the descriptor's handle. */
static ssize_t transfer(int fd, void *buf, size_t len, int64_t off, int write)
{
	HANDLE h = mmapio__w32_handle(fd);
	OVERLAPPED ov = { 0 };
	DWORD n = 0;
	BOOL ok;

	if (h == NULL) {
		errno = EBADF;
		return -1;
	}
	ov.Offset = (DWORD)off;
	ov.OffsetHigh = (DWORD)((uint64_t)off >> 32);
	if (len > 0x40000000u)
		len = 0x40000000u;
	ok = write ? WriteFile(h, buf, (DWORD)len, &n, &ov) : ReadFile(h, buf, (DWORD)len, &n, &ov);
	if (!ok) {
		if (!write && GetLastError() == ERROR_HANDLE_EOF)
			return 0;
		return fail_last_error();
	}
	return (ssize_t)n;
}

ssize_t th_pread(int fd, void *buf, size_t len, int64_t off)
{
	return transfer(fd, buf, len, off, 0);
}

ssize_t th_pwrite(int fd, const void *buf, size_t len, int64_t off)
{
	return transfer(fd, (void *)buf, len, off, 1);
}

/*
 * Cuts or extends the file at the host path under wine, with the host's
 * truncate(1), started as a Unix program (wine runs ELF executables given
 * to CreateProcess natively).  Returns 0 or -1.
 */
static int host_truncate(const wchar_t *w, int64_t len)
{
	typedef char *(CDECL * unix_name_fn)(const wchar_t *);
	HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
	unix_name_fn unix_name = (unix_name_fn)(void (*)(void))GetProcAddress(k32, "wine_get_unix_file_name");
	STARTUPINFOW si = { .cb = sizeof(si) };
	PROCESS_INFORMATION pi;
	wchar_t cmd[1200];
	char *u;

	if (unix_name == NULL || (u = unix_name(w)) == NULL)
		return -1;
	_snwprintf(cmd, sizeof(cmd) / sizeof(cmd[0]), L"/usr/bin/truncate -s %lld \"%hs\"",
		   (long long)len, u);
	HeapFree(GetProcessHeap(), 0, u);
	if (!CreateProcessW(L"Z:\\usr\\bin\\truncate", cmd, NULL, NULL, FALSE, 0, NULL, NULL, &si,
			    &pi))
		return -1;
	/* The exit status of a Unix program says little here: the caller checks the size. */
	WaitForSingleObject(pi.hProcess, 30000);
	CloseHandle(pi.hProcess);
	CloseHandle(pi.hThread);
	return 0;
}

/* The full path of the file open on h, or NULL. */
static wchar_t *path_of_handle(HANDLE h)
{
	DWORD n = GetFinalPathNameByHandleW(h, NULL, 0, 0);
	wchar_t *w = n ? malloc((n + 1) * sizeof(wchar_t)) : NULL;

	if (w != NULL && GetFinalPathNameByHandleW(h, w, n + 1, 0) == 0) {
		free(w);
		w = NULL;
	}
	/* wine_get_unix_file_name wants the DOS form: drop the device prefix. */
	if (w != NULL && wcsncmp(w, L"\\\\?\\", 4) == 0 && w[5] == L':')
		memmove(w, w + 4, (wcslen(w) - 3) * sizeof(wchar_t));
	return w;
}

/* Sets the length of the file on h; see compat.h for a mapped file. */
static int set_length(HANDLE h, const wchar_t *w, int64_t len)
{
	FILE_END_OF_FILE_INFO info;
	wchar_t *own = NULL;
	int r;

	info.EndOfFile.QuadPart = len;
	if (SetFileInformationByHandle(h, FileEndOfFileInfo, &info, sizeof(info)))
		return 0;
	if (GetLastError() != ERROR_USER_MAPPED_FILE)
		return fail_last_error();
	if (!th_win_under_wine())
		th_win_skip("Windows cannot cut a mapped file (ERROR_USER_MAPPED_FILE), "
			    "so no process can truncate it underneath a map");
	if (w == NULL)
		w = own = path_of_handle(h);
	r = w != NULL ? host_truncate(w, len) : -1;
	free(own);
	/*
	 * wine hands back a process handle that may signal before the Unix
	 * program is done: wait for the length to change, 10 s at most.
	 */
	for (int i = 0; r == 0; i++) {
		LARGE_INTEGER size;

		if (GetFileSizeEx(h, &size) && size.QuadPart == len)
			break;
		if (i == 1000)
			r = -1;
		Sleep(10);
	}
	if (r < 0)
		errno = EBUSY;
	return r;
}

int th_ftruncate(int fd, int64_t len)
{
	HANDLE h = mmapio__w32_handle(fd);

	if (h == NULL) {
		errno = EBADF;
		return -1;
	}
	return set_length(h, NULL, len);
}

int th_truncate(const char *path, int64_t len)
{
	wchar_t *w = wide(path);
	HANDLE h;
	int r;

	if (w == NULL)
		return -1;
	h = CreateFileW(w, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
			OPEN_EXISTING, 0, NULL);
	if (h == INVALID_HANDLE_VALUE) {
		free(w);
		return fail_last_error();
	}
	r = set_length(h, w, len);
	CloseHandle(h);
	free(w);
	return r;
}

int th_fsync(int fd)
{
	HANDLE h = mmapio__w32_handle(fd);

	if (h == NULL) {
		errno = EBADF;
		return -1;
	}
	return FlushFileBuffers(h) ? 0 : fail_last_error();
}

int th_fallocate(int fd, int mode, int64_t off, int64_t len)
{
	HANDLE h = mmapio__w32_handle(fd);
	FILE_ALLOCATION_INFO info;

	if (h == NULL || mode != 0) {
		errno = h == NULL ? EBADF : EOPNOTSUPP;
		return -1;
	}
	info.AllocationSize.QuadPart = off + len;
	if (!SetFileInformationByHandle(h, FileAllocationInfo, &info, sizeof(info))) {
		errno = GetLastError() == ERROR_DISK_FULL ? ENOSPC : EOPNOTSUPP;
		return -1;
	}
	return 0;
}

int th_unlink(const char *path)
{
	wchar_t *w = wide(path);
	int r;

	if (w == NULL)
		return -1;
	r = mmapio__w32_unlink_w(w);
	free(w);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	return 0;
}

int th_rename(const char *from, const char *to)
{
	wchar_t *a = wide(from), *b = wide(to);
	int r = -1;

	if (a != NULL && b != NULL)
		r = MoveFileExW(a, b, MOVEFILE_REPLACE_EXISTING) ? 0 : fail_last_error();
	free(a);
	free(b);
	return r;
}

int th_mkdir(const char *path, unsigned mode)
{
	(void)mode;
	return _mkdir(path);
}

char *th_mkdtemp(char *templ)
{
	size_t n = strlen(templ);
	static LONG counter;
	int i;

	if (n < 6 || strcmp(templ + n - 6, "XXXXXX") != 0) {
		errno = EINVAL;
		return NULL;
	}
	for (i = 0; i < 100; i++) {
		unsigned v = (unsigned)GetCurrentProcessId() * 2654435761u ^
			     (unsigned)InterlockedIncrement(&counter) * 40503u ^ GetTickCount();

		snprintf(templ + n - 6, 7, "%06x", v & 0xffffff);
		if (_mkdir(templ) == 0)
			return templ;
		if (errno != EEXIST)
			return NULL;
	}
	return NULL;
}

int th_link(const char *from, const char *to)
{
	wchar_t *a = wide(from), *b = wide(to);
	int r = -1;

	if (a != NULL && b != NULL)
		r = CreateHardLinkW(b, a, NULL) ? 0 : fail_last_error();
	free(a);
	free(b);
	return r;
}

int th_symlink(const char *from, const char *to)
{
	(void)from;
	(void)to;
	th_win_skip("symbolic links need SeCreateSymbolicLinkPrivilege on Windows");
}

ssize_t th_readlink(const char *path, char *buf, size_t len)
{
	(void)path;
	(void)buf;
	(void)len;
	errno = EINVAL;
	return -1;
}

int th_mkfifo(const char *path, unsigned mode)
{
	(void)path;
	(void)mode;
	th_win_skip("Windows has no FIFOs in the file system (named pipes live in \\\\.\\pipe\\)");
}

int th_fcntl(int fd, int cmd, ...)
{
	HANDLE h = mmapio__w32_handle(fd);
	DWORD flags;

	if (h == NULL) {
		errno = EBADF;
		return -1;
	}
	switch (cmd) {
	case TH_F_GETFD:
		if (!GetHandleInformation(h, &flags))
			return fail_last_error();
		return (flags & HANDLE_FLAG_INHERIT) ? 0 : TH_FD_CLOEXEC;
	case TH_F_GETFL:
		return 0; /* the access mode is not asked by the suites here */
	default:
		errno = EINVAL;
		return -1;
	}
}

/* Walks dir depth first (children before their directory). */
static int walk(const char *dir, th_nftw_fn fn, int flags, int level)
{
	char pattern[MAX_PATH * 3], path[MAX_PATH * 3];
	struct th_stat st;
	WIN32_FIND_DATAA fd;
	struct FTW ftw = { 0, level };
	HANDLE f;
	int r = 0;

	snprintf(pattern, sizeof(pattern), "%s\\*", dir);
	f = FindFirstFileA(pattern, &fd);
	if (f != INVALID_HANDLE_VALUE) {
		do {
			if (!strcmp(fd.cFileName, ".") || !strcmp(fd.cFileName, ".."))
				continue;
			snprintf(path, sizeof(path), "%s\\%s", dir, fd.cFileName);
			if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
				r = walk(path, fn, flags, level + 1);
			} else {
				memset(&st, 0, sizeof(st));
				th_stat(path, &st);
				r = fn(path, &st, FTW_F, &ftw);
			}
		} while (r == 0 && FindNextFileA(f, &fd));
		FindClose(f);
	}
	if (r == 0) {
		memset(&st, 0, sizeof(st));
		th_stat(dir, &st);
		r = fn(dir, &st, (flags & FTW_DEPTH) ? FTW_DP : FTW_D, &ftw);
	}
	return r;
}

int th_nftw(const char *dir, th_nftw_fn fn, int fds, int flags)
{
	(void)fds;
	return walk(dir, fn, flags, 0);
}

/* ------------------------------------------------------------------------ */
/* Processes, environment                                                   */
/* ------------------------------------------------------------------------ */

int th_setenv(const char *name, const char *value, int overwrite)
{
	if (!overwrite && getenv(name) != NULL)
		return 0;
	/* Both the C runtime's copy and the process's, for children. */
	SetEnvironmentVariableA(name, value);
	return _putenv_s(name, value) == 0 ? 0 : -1;
}

int th_unsetenv(const char *name)
{
	SetEnvironmentVariableA(name, NULL);
	return _putenv_s(name, "") == 0 ? 0 : -1;
}

long th_sysconf(int name)
{
	SYSTEM_INFO si;

	GetSystemInfo(&si);
	if (name == TH_SC_PAGESIZE)
		return (long)si.dwPageSize;
	if (name == TH_SC_NPROCESSORS_ONLN)
		return (long)si.dwNumberOfProcessors;
	errno = EINVAL;
	return -1;
}

int th_fork(void)
{
	th_win_skip("fork() does not exist on Windows");
}

int th_sigaction(int sig, const void *sa, void *old)
{
	(void)sa;
	(void)old;
	if (sig == TH_SIGBUS)
		th_win_skip("Windows has no SIGBUS: a fault in a mapping is an exception "
			    "(EXCEPTION_IN_PAGE_ERROR), caught by a vectored handler");
	th_win_skip("Windows has no sigaction()");
}

struct th_posix_sys *th_win_posix_sys(void)
{
	th_win_skip("injects failures through the POSIX system-call table (fallback/sys.h); "
		    "the Windows build calls Win32 through fallback/win32_sys.h");
}

void th_win_sys_reset(void)
{
	mmapio__w32_reset();
}

/* ------------------------------------------------------------------------ */
/* poll                                                                     */
/* ------------------------------------------------------------------------ */

/*
 * POLLIN on a pipe means PeekNamedPipe reports bytes (the ring's event is a
 * pipe on Windows); every other descriptor is always ready, as a regular
 * file is.  Waits in steps of a millisecond up to timeout_ms (-1: for ever).
 */
int th_poll(struct th_pollfd *fds, unsigned long n, int timeout_ms)
{
	ULONGLONG deadline = GetTickCount64() + (ULONGLONG)(timeout_ms < 0 ? 0 : timeout_ms);

	for (;;) {
		int ready = 0;
		unsigned long i;

		for (i = 0; i < n; i++) {
			HANDLE h = mmapio__w32_handle(fds[i].fd);
			DWORD avail = 0;

			fds[i].revents = 0;
			if (h == NULL) {
				fds[i].revents = TH_POLLNVAL;
			} else if (GetFileType(h) == FILE_TYPE_PIPE) {
				if (!PeekNamedPipe(h, NULL, 0, NULL, &avail, NULL))
					fds[i].revents = TH_POLLHUP;
				else if (avail > 0)
					fds[i].revents = fds[i].events & TH_POLLIN;
			} else {
				fds[i].revents = fds[i].events & (TH_POLLIN | TH_POLLOUT);
			}
			ready += fds[i].revents != 0;
		}
		if (ready > 0 || timeout_ms == 0 ||
		    (timeout_ms > 0 && GetTickCount64() >= deadline))
			return ready;
		Sleep(1);
	}
}

int th_msync(void *addr, size_t len, int flags)
{
	(void)flags;
	return FlushViewOfFile(addr, len) ? 0 : fail_last_error();
}

int th_win_count_handles(void)
{
	DWORD handles = 0;
	int fd, n = 0;

	for (fd = 0; fd < 2048; fd++)
		n += _get_osfhandle(fd) != -1;
	GetProcessHandleCount(GetCurrentProcess(), &handles);
	return n + (int)handles;
}

int th_fdatasync(int fd)
{
	return th_fsync(fd);
}
