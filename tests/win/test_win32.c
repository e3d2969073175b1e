/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What only the Windows platform has to get right, checked the way a user
 * would see it: the Windows error table, sharing violations, UTF-8 paths
 * beyond ASCII and beyond MAX_PATH, read-only attributes, C runtime
 * descriptors, the fault guard, the reader-writer lock's glibc semantics,
 * the event pipe, and failures injected through the Win32 call table
 * (fallback/win32_sys.h) where the shared suites inject through the POSIX
 * one: a failed flush sticks, a failed resize or create leaves file and
 * map as they were.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "compat_decls.h"
#include "mmapio.h"
#include "platform.h"
#include "win32_plat.h"
#include "win32_sys.h"

static char dir[MAX_PATH * 2];

/* A fresh directory under the runner's TMPDIR for each test. */
static void setup(void)
{
	const char *base = getenv("TMPDIR");
	char tmp[MAX_PATH];

	mmapio__w32_reset();
	if (base == NULL || !*base) {
		GetTempPathA(sizeof(tmp), tmp);
		base = tmp;
	}
	snprintf(dir, sizeof(dir), "%s\\win32-%lu", base, (unsigned long)GetCurrentProcessId());
	cr_assert(CreateDirectoryA(dir, NULL), "CreateDirectory(%s): %lu", dir, GetLastError());
}

static void teardown(void)
{
	mmapio__w32_reset();
}

TestSuite(win32, .init = setup, .fini = teardown, .timeout = 60);

#define RC(call, want)                                                                     \
	do {                                                                               \
		int rc_ = (call), want_ = (want);                                          \
		cr_assert_eq(rc_, want_, "%s: got %d (%s), expected %d (%s)", #call, rc_,   \
			     mmapio_strerror(rc_), want_, mmapio_strerror(want_));         \
	} while (0)

/* Fills buf with the path of name inside the test's directory. */
static const char *path(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
	return buf;
}

/* The size of the file at the UTF-8 path p, or -1. */
static long long file_size(const char *p)
{
	WIN32_FILE_ATTRIBUTE_DATA d;
	wchar_t *w;
	BOOL ok;

	if (mmapio__w32_wpath(p, &w) < 0)
		return -1;
	ok = GetFileAttributesExW(w, GetFileExInfoStandard, &d);
	free(w);
	return ok ? ((long long)d.nFileSizeHigh << 32 | d.nFileSizeLow) : -1;
}

/* Creates the file at p holding len bytes of value v. */
static void make_file(const char *p, size_t len, int v)
{
	mmapio_map *map;
	unsigned char *buf = malloc(len);

	cr_assert_not_null(buf);
	memset(buf, v, len);
	RC(mmapio_create(p, len, NULL, &map), 0);
	RC(mmapio_write(map, 0, buf, len), 0);
	RC(mmapio_close(map), 0);
	free(buf);
}

/* ---- The error table ---- */

Test(win32, error_table_gives_linux_errno_values)
{
	static const struct {
		DWORD win;
		int err;
	} cases[] = {
		{ ERROR_FILE_NOT_FOUND, ENOENT },    { ERROR_PATH_NOT_FOUND, ENOENT },
		{ ERROR_ACCESS_DENIED, EACCES },     { ERROR_INVALID_HANDLE, EBADF },
		{ ERROR_NOT_ENOUGH_MEMORY, ENOMEM }, { ERROR_SHARING_VIOLATION, EBUSY },
		{ ERROR_LOCK_VIOLATION, EBUSY },     { ERROR_FILE_EXISTS, EEXIST },
		{ ERROR_ALREADY_EXISTS, EEXIST },    { ERROR_INVALID_PARAMETER, EINVAL },
		{ ERROR_DISK_FULL, ENOSPC },         { ERROR_HANDLE_DISK_FULL, ENOSPC },
		{ ERROR_DIR_NOT_EMPTY, ENOTEMPTY },  { ERROR_FILENAME_EXCED_RANGE, ENAMETOOLONG },
		{ ERROR_NOT_SUPPORTED, ENOTSUP },    { ERROR_CALL_NOT_IMPLEMENTED, ENOSYS },
		{ 1224 /* ERROR_USER_MAPPED_FILE */, EBUSY },
		{ ERROR_WORKING_SET_QUOTA, ENOMEM }, { ERROR_IO_DEVICE, EIO },
		{ ERROR_CRC, EIO },                  { ERROR_NOT_SAME_DEVICE, EXDEV },
		{ ERROR_WRITE_PROTECT, EROFS },      { ERROR_DIRECTORY, ENOTDIR },
		{ ERROR_OPERATION_ABORTED, ECANCELED }, { ERROR_NOACCESS, EFAULT },
		{ 0x7fffffff, EIO }, /* unknown */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_assert_eq(mmapio__w32_errno(cases[i].win), cases[i].err,
			     "Windows error %lu: errno %d, expected %d", (unsigned long)cases[i].win,
			     mmapio__w32_errno(cases[i].win), cases[i].err);
}

Test(win32, strerror_describes_the_posix_values_the_c_runtime_does_not)
{
	cr_assert_str_eq(mmapio_strerror(-ECANCELED), "Operation canceled");
	cr_assert_str_eq(mmapio_strerror(-ETIME), "Timer expired");
	cr_assert_str_eq(mmapio_strerror(-ENOENT), "No such file or directory");
	cr_assert_str_eq(mmapio_strerror(-123456), "Unknown error");
}

/* ---- Sharing, attributes, paths, descriptors ---- */

Test(win32, a_file_held_without_sharing_is_ebusy)
{
	char p[MAX_PATH * 2], q[MAX_PATH * 2];
	mmapio_map *map = (mmapio_map *)0x1;
	wchar_t *w;
	HANDLE h;

	make_file(path(p, sizeof(p), "held"), 100, 'h');
	cr_assert_eq(mmapio__w32_wpath(p, &w), 0);
	h = CreateFileW(w, GENERIC_READ, 0, NULL, OPEN_EXISTING, 0, NULL);
	free(w);
	cr_assert_neq(h, INVALID_HANDLE_VALUE);
	RC(mmapio_open(p, MMAPIO_READ_ONLY, NULL, &map), -EBUSY);
	cr_assert_eq(map, (mmapio_map *)0x1, "*out written on failure");
	RC(mmapio_copy(p, path(q, sizeof(q), "copy"), 0), -EBUSY);
	RC(mmapio_delete(p), -EBUSY);
	cr_assert_eq(file_size(q), -1, "a failed copy left its destination");
	CloseHandle(h);
	RC(mmapio_open(p, MMAPIO_READ_ONLY, NULL, &map), 0);
	RC(mmapio_close(map), 0);
}

Test(win32, utf8_names_reach_windows_as_utf16)
{
	/* "é€✓" in UTF-8, and the same name in UTF-16. */
	static const char name[] = "\xc3\xa9\xe2\x82\xac\xe2\x9c\x93.bin";
	static const wchar_t wname[] = L"\u00e9\u20ac\u2713.bin";
	char p[MAX_PATH * 2], q[MAX_PATH * 2];
	wchar_t wdir[MAX_PATH * 2], wp[MAX_PATH * 3];
	unsigned char got[3];
	mmapio_map *map;

	path(p, sizeof(p), name);
	make_file(p, 3, 'u');
	MultiByteToWideChar(CP_UTF8, 0, dir, -1, wdir, MAX_PATH * 2);
	_snwprintf(wp, MAX_PATH * 3, L"%ls\\%ls", wdir, wname);
	cr_assert_neq(GetFileAttributesW(wp), INVALID_FILE_ATTRIBUTES,
		      "the UTF-8 name did not become the UTF-16 name");
	RC(mmapio_open(p, MMAPIO_READ_ONLY, NULL, &map), 0);
	RC(mmapio_read(map, 0, got, 3), 0);
	cr_assert_arr_eq(got, "uuu", 3);
	RC(mmapio_close(map), 0);
	RC(mmapio_copy(p, path(q, sizeof(q), "\xe2\x9c\x93-copy"), 0), 0);
	cr_assert_eq(file_size(q), 3);
	RC(mmapio_delete(q), 0);
	RC(mmapio_delete(p), 0);
	cr_assert_eq(GetFileAttributesW(wp), INVALID_FILE_ATTRIBUTES);
	/* Not UTF-8 at all. */
	RC(mmapio_open("\xff\xfe", MMAPIO_READ_ONLY, NULL, &map), -EINVAL);
}

Test(win32, paths_longer_than_max_path)
{
	char p[1200], q[1200];
	wchar_t *w;
	mmapio_map *map;
	unsigned char got[4];
	size_t n;

	/* Nested directories of 50 characters until the path passes 300. */
	snprintf(p, sizeof(p), "%s", dir);
	while (strlen(p) < 300) {
		n = strlen(p);
		snprintf(p + n, sizeof(p) - n, "/%s", "d123456789012345678901234567890123456789012345678");
		cr_assert_eq(mmapio__w32_wpath(p, &w), 0);
		cr_assert(CreateDirectoryW(w, NULL), "CreateDirectoryW: %lu", GetLastError());
		free(w);
	}
	snprintf(q, sizeof(q), "%s/long.bin", p);
	cr_assert_gt(strlen(q), MAX_PATH);
	RC(mmapio_create(q, 5000, NULL, &map), 0);
	RC(mmapio_write(map, 4990, "long", 4), 0);
	RC(mmapio_resize(map, 9000), 0);
	RC(mmapio_close(map), 0);
	RC(mmapio_open(q, MMAPIO_READ_ONLY, NULL, &map), 0);
	RC(mmapio_read(map, 4990, got, 4), 0);
	cr_assert_arr_eq(got, "long", 4);
	RC(mmapio_close(map), 0);
	snprintf(p + strlen(p), sizeof(p) - strlen(p), "/copy.bin");
	RC(mmapio_copy(q, p, 0), 0);
	RC(mmapio_copy(q, p, MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE), 0);
	RC(mmapio_delete(p), 0);
	RC(mmapio_delete(q), 0);
	RC(mmapio_delete(q), -ENOENT);
}

Test(win32, read_only_files_delete_and_are_replaced_as_on_posix)
{
	char src[MAX_PATH * 2], dst[MAX_PATH * 2];
	wchar_t *w;
	mmapio_map *map;
	unsigned char got[2];

	make_file(path(src, sizeof(src), "src"), 2, 's');
	make_file(path(dst, sizeof(dst), "dst"), 50, 'd');
	cr_assert_eq(mmapio__w32_wpath(dst, &w), 0);
	cr_assert(SetFileAttributesW(w, FILE_ATTRIBUTE_READONLY));
	/* wine runs as root here, and root may open a read-only file for writing. */
	if (!th_win_under_wine())
		RC(mmapio_open(dst, MMAPIO_READ_WRITE, NULL, &map), -EACCES);
	RC(mmapio_copy(src, dst, MMAPIO_COPY_OVERWRITE), 0);
	cr_assert_eq(file_size(dst), 2);
	RC(mmapio_open(dst, MMAPIO_READ_ONLY, NULL, &map), 0);
	RC(mmapio_read(map, 0, got, 2), 0);
	cr_assert_arr_eq(got, "ss", 2);
	RC(mmapio_close(map), 0);
	cr_assert(SetFileAttributesW(w, FILE_ATTRIBUTE_READONLY));
	RC(mmapio_delete(dst), 0);
	cr_assert_eq(GetFileAttributesW(w), INVALID_FILE_ATTRIBUTES);
	free(w);
}

Test(win32, a_copy_keeps_the_read_only_attribute)
{
	char src[MAX_PATH * 2], dst[MAX_PATH * 2];
	wchar_t *ws, *wd;

	make_file(path(src, sizeof(src), "src"), 10, 'r');
	cr_assert_eq(mmapio__w32_wpath(src, &ws), 0);
	cr_assert(SetFileAttributesW(ws, FILE_ATTRIBUTE_READONLY));
	RC(mmapio_copy(src, path(dst, sizeof(dst), "dst"), 0), 0);
	cr_assert_eq(mmapio__w32_wpath(dst, &wd), 0);
	cr_assert(GetFileAttributesW(wd) & FILE_ATTRIBUTE_READONLY);
	cr_assert(!(GetFileAttributesW(wd) & FILE_ATTRIBUTE_HIDDEN), "the copy stayed hidden");
	free(ws);
	free(wd);
}

Test(win32, open_fd_and_mmapio_fd_are_c_runtime_descriptors)
{
	char p[MAX_PATH * 2];
	mmapio_map *map;
	char got[4] = { 0 };
	int fd, mfd;

	make_file(path(p, sizeof(p), "fd"), 4, 'f');
	fd = _open(p, _O_RDWR | _O_BINARY);
	cr_assert_geq(fd, 0);
	RC(mmapio_open_fd(fd, MMAPIO_READ_WRITE, NULL, &map), 0);
	_close(fd);
	mfd = mmapio_fd(map);
	cr_assert_neq(_get_osfhandle(mfd), -1, "mmapio_fd is not a C runtime descriptor");
	RC(mmapio_write(map, 0, "FDFD", 4), 0);
	cr_assert_eq(_lseek(mfd, 0, SEEK_SET), 0);
	cr_assert_eq(_read(mfd, got, 4), 4);
	cr_assert_arr_eq(got, "FDFD", 4);
	RC(mmapio_close(map), 0);
	RC(mmapio_open_fd(fd, MMAPIO_READ_ONLY, NULL, &map), -EBADF);
}

Test(win32, resizing_a_file_another_map_holds_is_ebusy)
{
	char p[MAX_PATH * 2];
	mmapio_map *a, *b;
	unsigned char got[8];

	make_file(path(p, sizeof(p), "two"), 3 * 4096, 't');
	RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &a), 0);
	RC(mmapio_open(p, MMAPIO_READ_ONLY, NULL, &b), 0);
	/* Windows cannot cut a file another view maps; both maps stay whole. */
	RC(mmapio_resize(a, 4096), -EBUSY);
	cr_assert_eq(mmapio_len(a), 3 * 4096);
	RC(mmapio_read(a, 3 * 4096 - 8, got, 8), 0);
	RC(mmapio_read(b, 3 * 4096 - 8, got, 8), 0);
	cr_assert_arr_eq(got, "tttttttt", 8);
	RC(mmapio_close(b), 0);
	RC(mmapio_resize(a, 4096), 0);
	cr_assert_eq(file_size(p), 4096);
	RC(mmapio_close(a), 0);
}

/* ---- Injected failures ---- */

static int flush_calls;

static int fail_flush_file(HANDLE h)
{
	(void)h;
	flush_calls++;
	return -EIO;
}

static int count_flush_file(HANDLE h)
{
	flush_calls++;
	return FlushFileBuffers(h) ? 0 : -EIO;
}

Test(win32, a_failed_flush_sticks)
{
	char p[MAX_PATH * 2];
	mmapio_map *map;

	make_file(path(p, sizeof(p), "sticky"), 8192, 's');
	RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &map), 0);
	RC(mmapio_write(map, 0, "x", 1), 0);
	mmapio__w32.flush_file = fail_flush_file;
	RC(mmapio_flush(map), -EIO);
	mmapio__w32_reset();
	RC(mmapio_flush(map), -EIO);
	RC(mmapio_flush_range(map, 4096, 10), -EIO);
	RC(mmapio_close(map), 0);
}

Test(win32, a_durable_create_flushes_file_and_directory)
{
	struct mmapio_options o = { .flags = MMAPIO_CREATE_DURABLE };
	char p[MAX_PATH * 2], q[MAX_PATH * 2];
	mmapio_map *map;

	mmapio__w32.flush_file = count_flush_file;
	RC(mmapio_create(path(p, sizeof(p), "plain"), 4096, NULL, &map), 0);
	RC(mmapio_close(map), 0);
	cr_assert_eq(flush_calls, 0, "a plain create flushed %d times", flush_calls);
	RC(mmapio_create(path(q, sizeof(q), "durable"), 4096, &o, &map), 0);
	RC(mmapio_close(map), 0);
	cr_assert_geq(flush_calls, 1, "a durable create never flushed");
	RC(mmapio_copy(p, path(q, sizeof(q), "copy"), MMAPIO_COPY_DURABLE), 0);
	cr_assert_geq(flush_calls, 2, "a durable copy never flushed");
}

static int enospc_length(HANDLE h, uint64_t size)
{
	(void)h;
	(void)size;
	return -ENOSPC;
}

static int enospc_allocation(HANDLE h, uint64_t size)
{
	(void)h;
	(void)size;
	return -ENOSPC;
}

static int enomem_left; /* failures enomem_view still gives; < 0: for ever */

static int enomem_view(HANDLE s, DWORD access, size_t len, void *at, void **out)
{
	if (enomem_left != 0) {
		enomem_left--;
		return -ENOMEM;
	}
	*out = MapViewOfFileEx(s, access, 0, 0, len, at);
	return *out != NULL ? 0 : -ENOMEM;
}

/* Asserts that map reads len bytes of value v from the start and is len long. */
static void assert_map(mmapio_map *map, size_t len, int v)
{
	unsigned char *buf = malloc(len), *want = malloc(len);

	cr_assert(buf && want);
	memset(want, v, len);
	cr_assert_eq(mmapio_len(map), len);
	RC(mmapio_read(map, 0, buf, len), 0);
	cr_assert_arr_eq(buf, want, len);
	free(buf);
	free(want);
}

Test(win32, a_resize_that_fails_leaves_file_and_map_as_they_were)
{
	char p[MAX_PATH * 2];
	mmapio_map *map;

	make_file(path(p, sizeof(p), "resize"), 5000, 'r');
	RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &map), 0);

	mmapio__w32.set_allocation = enospc_allocation;
	RC(mmapio_resize(map, 1 << 20), -ENOSPC);
	mmapio__w32_reset();
	cr_assert_eq(file_size(p), 5000);
	assert_map(map, 5000, 'r');

	mmapio__w32.set_end_of_file = enospc_length;
	RC(mmapio_resize(map, 1 << 20), -ENOSPC);
	RC(mmapio_resize(map, 100), -ENOSPC);
	mmapio__w32_reset();
	cr_assert_eq(file_size(p), 5000);
	assert_map(map, 5000, 'r');

	/* The file grew, the new view could not be mapped: the file goes back. */
	mmapio__w32.map_view = enomem_view;
	enomem_left = 1;
	RC(mmapio_resize(map, 1 << 20), -ENOMEM);
	mmapio__w32_reset();
	cr_assert_eq(file_size(p), 5000);
	assert_map(map, 5000, 'r');

	RC(mmapio_resize(map, 1 << 20), 0);
	RC(mmapio_resize(map, 3000), 0);
	assert_map(map, 3000, 'r');
	RC(mmapio_close(map), 0);
	cr_assert_eq(file_size(p), 3000);
}

Test(win32, a_create_that_fails_leaves_no_file)
{
	char p[MAX_PATH * 2];
	mmapio_map *map = (mmapio_map *)0x1;

	mmapio__w32.set_allocation = enospc_allocation;
	RC(mmapio_create(path(p, sizeof(p), "full"), 1 << 20, NULL, &map), -ENOSPC);
	cr_assert_eq(map, (mmapio_map *)0x1);
	cr_assert_eq(file_size(p), -1, "the failed create left its file");
	mmapio__w32_reset();
	mmapio__w32.map_view = enomem_view;
	enomem_left = -1;
	RC(mmapio_create(p, 4096, NULL, &map), -ENOMEM);
	cr_assert_eq(file_size(p), -1, "the failed create left its file");
}

/* ---- The fault guard ---- */

static volatile LONG app_handler_calls;
static volatile unsigned char *app_page;

/* An application's own handler: commits its page on first touch. */
static LONG WINAPI app_handler(EXCEPTION_POINTERS *ep)
{
	const EXCEPTION_RECORD *er = ep->ExceptionRecord;
	uintptr_t a = (uintptr_t)er->ExceptionInformation[1];

	if (er->ExceptionCode != EXCEPTION_ACCESS_VIOLATION || a < (uintptr_t)app_page ||
	    a >= (uintptr_t)app_page + 4096)
		return EXCEPTION_CONTINUE_SEARCH;
	InterlockedIncrement(&app_handler_calls);
	VirtualAlloc((void *)app_page, 4096, MEM_COMMIT, PAGE_READWRITE);
	return EXCEPTION_CONTINUE_EXECUTION;
}

Test(win32, the_guard_claims_only_faults_inside_its_copy)
{
	unsigned char *bad = VirtualAlloc(NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS);
	unsigned char buf[64];
	void *h;

	cr_assert_not_null(bad);
	app_page = VirtualAlloc(NULL, 4096, MEM_RESERVE, PAGE_NOACCESS);
	cr_assert_not_null(app_page);
	h = AddVectoredExceptionHandler(0, app_handler);
	for (int i = 0; i < 3; i++) {
		RC(mmapio__plat_guarded_copy(buf, bad + 100, sizeof(buf)), -EFAULT);
		RC(mmapio__plat_guarded_copy(bad, buf, sizeof(buf)), -EFAULT);
		RC(mmapio__plat_guarded_copy(buf, "fine", 5), 0);
	}
	cr_assert_arr_eq(buf, "fine", 5);
	/* A fault outside any guarded copy reaches the application's handler. */
	app_page[10] = 7;
	cr_assert_eq(app_handler_calls, 1, "the application's handler ran %ld times", app_handler_calls);
	cr_assert_eq(app_page[10], 7);
	/* Inside a guarded copy's range the guard is first, whoever else listens. */
	VirtualFree((void *)app_page, 4096, MEM_DECOMMIT);
	RC(mmapio__plat_guarded_copy((void *)(app_page + 100), "x", 1), -EFAULT);
	cr_assert_eq(app_handler_calls, 1, "the application's handler saw the guard's fault");
	RemoveVectoredExceptionHandler(h);
	VirtualFree(bad, 0, MEM_RELEASE);
	VirtualFree((void *)app_page, 0, MEM_RELEASE);
}

/* ---- Waiting on a word ---- */

struct waiter {
	uint32_t word;
	volatile LONG state; /* 1 about to wait, 2 saw the word change */
};

static void *wait_for_word(void *arg)
{
	struct waiter *w = arg;

	InterlockedExchange(&w->state, 1);
	while (__atomic_load_n(&w->word, __ATOMIC_SEQ_CST) == 0)
		mmapio__plat_wait(&w->word, 0);
	InterlockedExchange(&w->state, 2);
	return NULL;
}

Test(win32, a_waiter_sleeps_until_woken)
{
	struct waiter w = { 0, 0 };
	uint32_t other = 5;
	pthread_t t;

	/* A word that differs from expected returns at once. */
	mmapio__plat_wait(&other, 4);
	cr_assert_eq(pthread_create(&t, NULL, wait_for_word, &w), 0);
	while (w.state != 1)
		Sleep(1);
	Sleep(50);
	cr_assert_eq(w.state, 1, "the waiter returned while the word was unchanged");
	__atomic_store_n(&w.word, 1, __ATOMIC_SEQ_CST);
	mmapio__plat_wake_all(&w.word);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(w.state, 2);
}

struct releaser {
	struct mmapio_view *v;
};

static void *release_view(void *arg)
{
	mmapio_view_release(((struct releaser *)arg)->v);
	return NULL;
}

Test(win32, a_mutable_view_released_on_another_thread_frees_the_lock)
{
	char p[MAX_PATH * 2];
	struct mmapio_view v;
	struct releaser r = { &v };
	mmapio_map *map;
	pthread_t t;

	make_file(path(p, sizeof(p), "view"), 4096, 'v');
	RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &map), 0);
	RC(mmapio_view_write(map, 0, 10, &v), 0);
	cr_assert_eq(pthread_create(&t, NULL, release_view, &r), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	RC(mmapio_write(map, 0, "after", 5), 0);
	RC(mmapio_close(map), 0);
}

/* ---- The event ---- */

static DWORD pending(int fd)
{
	DWORD avail = 0;

	cr_assert(PeekNamedPipe((HANDLE)_get_osfhandle(fd), NULL, 0, NULL, &avail, NULL));
	return avail;
}

Test(win32, the_ring_descriptor_is_a_pipe_that_fills_with_completions)
{
	char p[MAX_PATH * 2];
	struct mmapio_completion c[2];
	mmapio_ring *ring;
	char byte;
	int fd;

	RC(mmapio_ring_open(NULL, &ring), 0);
	fd = mmapio_ring_fd(ring);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pending(fd), 0);
	RC(mmapio_ring_prep_create(ring, path(p, sizeof(p), "e1"), 10, NULL, NULL), 0);
	RC(mmapio_ring_prep_create(ring, path(p, sizeof(p), "e2"), 10, NULL, NULL), 0);
	RC(mmapio_ring_submit(ring), 2);
	cr_assert_geq(pending(fd), 1, "no byte after two completions");
	/* A blocking read returns at once: a thread can wait on it. */
	cr_assert_eq(_read(fd, &byte, 1), 1);
	RC(mmapio_ring_peek(ring, c, 1), 1);
	cr_assert_geq(pending(fd), 1, "a completion still waits: the pipe must stay readable");
	RC(mmapio_ring_peek(ring, c, 2), 1);
	cr_assert_eq(pending(fd), 0, "peek must drain the pipe once nothing waits");
	RC(mmapio_ring_close(ring), 0);
}

/* ---- Reservations without placeholders ---- */

static void *squat_at; /* the base whose growth the injector spoils */

/*
 * Maps as Windows would, except that the first exact mapping at squat_at
 * finds its spot taken, as if another thread had allocated there in the
 * instant the view and the reserved tail were let go.
 */
static int squatted_view(HANDLE s, DWORD access, size_t len, void *at, void **out)
{
	if (at != NULL && at == squat_at) {
		void *squatter = VirtualAlloc(at, 65536, MEM_RESERVE, PAGE_NOACCESS);
		void *v = MapViewOfFileEx(s, access, 0, 0, len, at);
		DWORD err = GetLastError();

		if (squatter != NULL)
			VirtualFree(squatter, 0, MEM_RELEASE);
		squat_at = NULL; /* once */
		if (v != NULL) {
			*out = v;
			return 0;
		}
		return -mmapio__w32_errno(err);
	}
	*out = MapViewOfFileEx(s, access, 0, 0, len, at);
	return *out != NULL ? 0 : -mmapio__w32_errno(GetLastError());
}

Test(win32, a_raced_soft_reservation_fails_the_resize_and_keeps_its_base)
{
	struct mmapio_options o = { .reserve = 1u << 20 };
	char p[MAX_PATH * 2];
	unsigned char *base;
	mmapio_map *map;

	if (mmapio__w32_placeholders())
		cr_skip_test("placeholders work here: reservations are never let go");
	RC(mmapio_create(path(p, sizeof(p), "raced"), 4096, &o, &map), 0);
	RC(mmapio_write(map, 0, "kept", 4), 0);
	base = mmapio_base(map);
	squat_at = base;
	mmapio__w32.map_view = squatted_view;
	RC(mmapio_resize(map, 8 * 4096), -ENOMEM);
	cr_assert_eq(mmapio_base(map), base, "the raced resize moved the base");
	cr_assert_eq(mmapio_len(map), 4096);
	cr_assert_eq(file_size(p), 4096);
	cr_assert_arr_eq(base, "kept", 4);
	/* Nothing in the way now: the same resize keeps the base. */
	RC(mmapio_resize(map, 8 * 4096), 0);
	cr_assert_eq(mmapio_base(map), base);
	RC(mmapio_write(map, 8 * 4096 - 4, "tail", 4), 0);
	RC(mmapio_close(map), 0);
	cr_assert_eq(file_size(p), 8 * 4096);
}

/* ---- Thread-exit destructors ---- */

static struct mmapio__tls_key key;
static void *volatile destroyed;

static void record_destruction(void *value)
{
	destroyed = value;
}

static void *set_and_exit(void *arg)
{
	mmapio__plat_tls_key_set(&key, arg);
	return NULL;
}

Test(win32, a_thread_value_is_destroyed_when_its_thread_exits)
{
	static int value;
	pthread_t t;

	RC(mmapio__plat_tls_key_create(&key, record_destruction), 0);
	cr_assert_eq(pthread_create(&t, NULL, set_and_exit, &value), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(destroyed, (void *)&value, "the destructor did not run at thread exit");
}

/* ---- Flushes by range ---- */

static uintptr_t flushed_lo = UINTPTR_MAX, flushed_hi;

static int record_flush_view(void *addr, size_t len)
{
	if ((uintptr_t)addr < flushed_lo)
		flushed_lo = (uintptr_t)addr;
	if ((uintptr_t)addr + len > flushed_hi)
		flushed_hi = (uintptr_t)addr + len;
	return FlushViewOfFile(addr, len) ? 0 : -EIO;
}

Test(win32, a_range_flush_covers_its_pages_and_no_more)
{
	char p[MAX_PATH * 2];
	mmapio_map *map;
	uintptr_t base;

	make_file(path(p, sizeof(p), "range"), 16 * 4096, 'f');
	RC(mmapio_open(p, MMAPIO_READ_WRITE, NULL, &map), 0);
	base = (uintptr_t)mmapio_base(map);
	mmapio__w32.flush_view = record_flush_view;
	mmapio__w32.flush_file = count_flush_file;
	RC(mmapio_flush_range(map, 5 * 4096 + 100, 2 * 4096), 0);
	cr_assert_eq(flushed_lo, base + 5 * 4096, "the flush started at %#llx",
		     (unsigned long long)(flushed_lo - base));
	cr_assert_eq(flushed_hi, base + 8 * 4096, "the flush ended at %#llx",
		     (unsigned long long)(flushed_hi - base));
	cr_assert_geq(flush_calls, 1, "FlushFileBuffers never ran: not durable");
	RC(mmapio_close(map), 0);
}
