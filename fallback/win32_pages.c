/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform's page services on Windows, over a mapping of win32_map.c:
 * making a range durable, advice, prefetching, locking pages in memory,
 * and residency.
 */
#include <errno.h>

#include "platform.h"
#include "win32_guard.h"
#include "win32_plat.h"
#include "win32_sys.h"

typedef BOOL(WINAPI *prefetch_fn)(HANDLE, ULONG_PTR, WIN32_MEMORY_RANGE_ENTRY *, ULONG);

MMAPIO_INTERNAL void (*mmapio__w32_find_function(const char *name))(void)
{
	const wchar_t *dlls[] = { L"kernelbase.dll", L"kernel32.dll" };
	size_t i;

	for (i = 0; i < 2; i++) {
		HMODULE h = GetModuleHandleW(dlls[i]);
		FARPROC p = h ? GetProcAddress(h, name) : NULL;

		if (p != NULL)
			return (void (*)(void))p;
	}
	return NULL;
}

/*
 * PrefetchVirtualMemory (Windows 8 and later; found at run time) starts
 * reading the range in and returns; without it, nothing is done.
 */
MMAPIO_INTERNAL void mmapio__w32_prefetch(void *addr, size_t len)
{
	static prefetch_fn prefetch;
	static bool looked;
	WIN32_MEMORY_RANGE_ENTRY r = { addr, len };

	if (!__atomic_load_n(&looked, __ATOMIC_ACQUIRE)) {
		/* Racing threads store the same pointer. */
		prefetch = (prefetch_fn)mmapio__w32_find_function("PrefetchVirtualMemory");
		__atomic_store_n(&looked, true, __ATOMIC_RELEASE);
	}
	if (prefetch != NULL && len > 0)
		prefetch(GetCurrentProcess(), 1, &r, 0);
}

/*
 * FlushViewOfFile starts writing the dirty pages and returns once they are
 * on their way; FlushFileBuffers then waits until the file's data and
 * metadata are on the disk (it asks the drive to flush its cache too).
 */
MMAPIO_INTERNAL int mmapio__plat_sync_range(int fd, void *addr, size_t len)
{
	HANDLE h = mmapio__w32_handle(fd);
	int r;

	if (h == NULL)
		return -EBADF;
	r = mmapio__w32.flush_view(addr, len);
	if (r == 0)
		r = mmapio__w32.flush_file(h);
	return r;
}

/*
 * FlushViewOfFile of each range starts all their writes; one
 * FlushFileBuffers then waits for the disk once for all of them.
 */
MMAPIO_INTERNAL int mmapio__plat_sync_ranges(int fd, void *addr, uint64_t off,
					     const struct mmapio_range *ranges, size_t n)
{
	HANDLE h = mmapio__w32_handle(fd);
	size_t i;
	int r = 0;

	if (h == NULL)
		return -EBADF;
	for (i = 0; i < n && r == 0; i++)
		r = mmapio__w32.flush_view((unsigned char *)addr + (ranges[i].off - off),
					   (size_t)ranges[i].len);
	if (r == 0)
		r = mmapio__w32.flush_file(h);
	return r;
}

/*
 * FlushViewOfFile alone starts writing the dirty pages of the range back
 * and returns without FlushFileBuffers' wait for the disk.
 */
MMAPIO_INTERNAL int mmapio__plat_writeback_start(int fd, void *addr, size_t len, uint64_t off)
{
	(void)off;
	if (mmapio__w32_handle(fd) == NULL)
		return -EBADF;
	return mmapio__w32.flush_view(addr, len);
}

struct touch_args {
	volatile unsigned char *addr;
	size_t len;
	bool write;
};

/* Reads (or rewrites in place, atomically) one byte of every page. */
static void touch_pages(void *p)
{
	struct touch_args *t = p;
	size_t page = mmapio__plat_page_size(), off;

	for (off = 0; off < t->len; off += page) {
		if (t->write)
			__atomic_fetch_or(t->addr + off, 0, __ATOMIC_RELAXED);
		else
			(void)t->addr[off];
	}
}

/*
 * Windows has no access-pattern advice for a mapping: NORMAL, RANDOM,
 * SEQUENTIAL and DONTNEED are hints it would ignore, and return 0.
 * WILLNEED starts read-ahead with PrefetchVirtualMemory (Windows 8+).  The
 * populating advice touches every page under the fault guard, so that a
 * page past the end of the file is -EFAULT as MADV_POPULATE reports it;
 * POPULATE_WRITE rewrites a byte of each page with an atomic or of 0,
 * which dirties it without changing it, as a write fault would.
 */
MMAPIO_INTERNAL int mmapio__plat_advise(void *addr, size_t len, enum mmapio_advice advice)
{
	struct touch_args t = { addr, len, advice == MMAPIO_ADVICE_POPULATE_WRITE };

	switch (advice) {
	case MMAPIO_ADVICE_NORMAL:
	case MMAPIO_ADVICE_RANDOM:
	case MMAPIO_ADVICE_SEQUENTIAL:
	case MMAPIO_ADVICE_DONTNEED:
		return 0;
	case MMAPIO_ADVICE_WILLNEED:
		mmapio__w32_prefetch(addr, len);
		return 0;
	case MMAPIO_ADVICE_POPULATE_READ:
	case MMAPIO_ADVICE_POPULATE_WRITE:
		return mmapio__w32_guarded_run(touch_pages, &t, addr, len, NULL, 0);
	}
	return -ENOTSUP;
}

MMAPIO_INTERNAL int mmapio__plat_lock_pages(void *addr, size_t len)
{
	return mmapio__w32.lock_pages(addr, len);
}

MMAPIO_INTERNAL int mmapio__plat_unlock_pages(void *addr, size_t len)
{
	return mmapio__w32.unlock_pages(addr, len);
}

/*
 * Windows can tell whether a page is in this process's working set, not
 * whether it is in the file cache, which is what the core asks; -ENOTSUP
 * makes it copy through the mapping, which is always correct.
 */
MMAPIO_INTERNAL int mmapio__plat_resident(const void *addr)
{
	(void)addr;
	return -ENOTSUP;
}
