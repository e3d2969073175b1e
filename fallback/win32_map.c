/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform's mappings on Windows: a file section (CreateFileMappingW)
 * and one view of it (MapViewOfFileEx), grown, shrunk and moved as the file
 * changes length (syncing, advice, page locking and residency are in
 * win32_pages.c).
 *
 * What Windows imposes, and how this file answers it:
 *
 *  - A section keeps the length the file had when it was made, and a view
 *    cannot be extended.  Growing the map therefore makes a new section and
 *    a new view (of the same file pages: all views and sections of one file
 *    share its cache, so they are coherent).
 *  - A mapped file cannot be truncated (ERROR_USER_MAPPED_FILE) until every
 *    view and section of it is closed.  mmapio__w32_set_length closes the
 *    map's own view and section around the cut and maps them again, at the
 *    same address where it can; another map of the same file in the way
 *    makes it -EBUSY.  Growing a mapped file is allowed and needs nothing.
 *    mmapio__plat_map_shrink maps the shorter view at once, so that no
 *    page past the new end stays mapped in between.
 *  - An empty file has no section (ERROR_FILE_INVALID): a map of an empty
 *    file maps nothing and its base is NULL (or its reservation's start).
 *  - A reservation is address space held behind the view, so that growth
 *    keeps the base.  Windows 10 1803 and later have placeholders
 *    (VirtualAlloc2 with MEM_RESERVE_PLACEHOLDER, MapViewOfFile3 with
 *    MEM_REPLACE_PLACEHOLDER), looked up at run time in kernelbase.dll and
 *    tried once on a scratch section: a view is swapped into and out of its
 *    placeholder atomically, so no other allocation can take the address
 *    meanwhile.  Where they are missing or refused (Windows 7 and 8; wine 8
 *    answers ERROR_INVALID_PARAMETER), the reservation is plain reserved
 *    memory (MEM_RESERVE): to grow or cut the view, the view and the
 *    reserved tail are let go and the new view is mapped at the same base
 *    at once.  A thread of the program that allocates address space in
 *    that instant could take the spot; then the old length is mapped back
 *    at the base and the resize fails with -ENOMEM, and only should even
 *    that spot be gone does the view move (the reservation is then given
 *    up).  Either way the resize runs under the map's write lock, so no
 *    access through the library sees the moment between.
 *
 * Windows lends the registry below nothing but an fd: the core hands
 * mmapio__plat_set_size a descriptor, so the mapping of that descriptor is
 * found there to be closed around the change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "win32_guard.h"
#include "win32_plat.h"
#include "win32_sys.h"

#ifndef MEM_RESERVE_PLACEHOLDER
#define MEM_RESERVE_PLACEHOLDER 0x00040000
#endif
#ifndef MEM_REPLACE_PLACEHOLDER
#define MEM_REPLACE_PLACEHOLDER 0x00004000
#endif
#ifndef MEM_PRESERVE_PLACEHOLDER
#define MEM_PRESERVE_PLACEHOLDER 0x00000002
#endif
#ifndef MEM_COALESCE_PLACEHOLDERS
#define MEM_COALESCE_PLACEHOLDERS 0x00000001
#endif

/* The platform's own part of a mapping (struct mmapio__mapping.plat). */
struct w32_map {
	struct w32_map *next, *prev;   /* the registry */
	struct mmapio__mapping *m;
	HANDLE section;                /* NULL while no view is mapped */
	void *view;                    /* the view (== m->base), NULL while none */
	int kind;                      /* RES_* */
	void *tail;                    /* RES_SOFT: the reserved tail, or NULL */
};

/* What a mapping's reservation is made of. */
enum {
	RES_NONE,          /* no reservation */
	RES_PLACEHOLDER,   /* placeholders (VirtualAlloc2) */
	RES_SOFT           /* reserved memory, let go for the instant of a remap */
};

/* ------------------------------------------------------------------------ */
/* Placeholders, found at run time                                          */
/* ------------------------------------------------------------------------ */

typedef PVOID(WINAPI *virtual_alloc2_fn)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, void *, ULONG);
typedef PVOID(WINAPI *map_view3_fn)(HANDLE, HANDLE, PVOID, ULONG64, SIZE_T, ULONG, ULONG,
				     void *, ULONG);
typedef BOOL(WINAPI *unmap_view2_fn)(HANDLE, PVOID, ULONG);

static struct {
	virtual_alloc2_fn alloc2;
	map_view3_fn map3;
	unmap_view2_fn unmap2;
	bool placeholders;             /* the three above work here */
} api;

static INIT_ONCE api_once = INIT_ONCE_STATIC_INIT;

/*
 * Tries what a reservation does, on a section of the paging file: reserve
 * two allocation units as a placeholder, split off one page, map a page
 * of the section into it, write through it, and give it all back.
 * Returns true when every step worked.
 */
static bool placeholders_work(void)
{
	HANDLE self = GetCurrentProcess(), s;
	size_t page = mmapio__plat_page_size(), unit = 65536;
	unsigned char *p, *v = NULL;
	bool ok = false;

	p = api.alloc2(self, NULL, 2 * unit, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
		       PAGE_NOACCESS, NULL, 0);
	if (p == NULL)
		return false;
	s = CreateFileMappingW(INVALID_HANDLE_VALUE, NULL, PAGE_READWRITE, 0, (DWORD)page, NULL);
	if (s != NULL && VirtualFree(p, page, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)) {
		v = api.map3(s, self, p, 0, page, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0);
		if (v == p) {
			v[0] = 1;
			ok = api.unmap2(self, p, MEM_PRESERVE_PLACEHOLDER);
		} else if (v != NULL) {
			UnmapViewOfFile(v);
		}
	}
	if (s != NULL)
		CloseHandle(s);
	/* Whatever step failed: join what was split, then give it all back. */
	VirtualFree(p, 2 * unit, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS);
	VirtualFree(p, 0, MEM_RELEASE);
	return ok;
}

static BOOL CALLBACK find_api(PINIT_ONCE once, PVOID param, PVOID *ctx)
{
	(void)once;
	(void)param;
	(void)ctx;
	api.alloc2 = (virtual_alloc2_fn)mmapio__w32_find_function("VirtualAlloc2");
	api.map3 = (map_view3_fn)mmapio__w32_find_function("MapViewOfFile3");
	api.unmap2 = (unmap_view2_fn)mmapio__w32_find_function("UnmapViewOfFile2");
	api.placeholders = api.alloc2 && api.map3 && api.unmap2 && placeholders_work();
	return TRUE;
}

static void load_api(void)
{
	InitOnceExecuteOnce(&api_once, find_api, NULL, NULL);
}

MMAPIO_INTERNAL bool mmapio__w32_placeholders(void)
{
	load_api();
	return api.placeholders;
}

/* ------------------------------------------------------------------------ */
/* The registry: mappings by descriptor                                     */
/* ------------------------------------------------------------------------ */

static SRWLOCK registry_lock = SRWLOCK_INIT;
static struct w32_map *registry;

static void registry_add(struct w32_map *wm)
{
	AcquireSRWLockExclusive(&registry_lock);
	wm->prev = NULL;
	wm->next = registry;
	if (registry != NULL)
		registry->prev = wm;
	registry = wm;
	ReleaseSRWLockExclusive(&registry_lock);
}

static void registry_remove(struct w32_map *wm)
{
	AcquireSRWLockExclusive(&registry_lock);
	if (wm->prev != NULL)
		wm->prev->next = wm->next;
	else
		registry = wm->next;
	if (wm->next != NULL)
		wm->next->prev = wm->prev;
	ReleaseSRWLockExclusive(&registry_lock);
}

/*
 * Returns the mapping of fd, or NULL.  The mapping stays valid after the
 * lock is dropped: only mmapio__plat_unmap removes it, and the core never
 * unmaps a map while it changes the map's file length.
 */
static struct w32_map *registry_find(int fd)
{
	struct w32_map *wm;

	AcquireSRWLockShared(&registry_lock);
	for (wm = registry; wm != NULL && wm->m->fd != fd; wm = wm->next)
		;
	ReleaseSRWLockShared(&registry_lock);
	return wm;
}

/* ------------------------------------------------------------------------ */
/* Views                                                                    */
/* ------------------------------------------------------------------------ */

static DWORD section_protect(const struct mmapio__mapping *m)
{
	switch (m->mode) {
	case MMAPIO_READ_WRITE:
		return PAGE_READWRITE;
	case MMAPIO_COPY_ON_WRITE:
		return PAGE_WRITECOPY;
	default:
		return PAGE_READONLY;
	}
}

static DWORD view_access(const struct mmapio__mapping *m)
{
	switch (m->mode) {
	case MMAPIO_READ_WRITE:
		return FILE_MAP_WRITE;
	case MMAPIO_COPY_ON_WRITE:
		return FILE_MAP_COPY;
	default:
		return FILE_MAP_READ;
	}
}

/*
 * Maps the file's first len bytes (len > 0) as a new section and view:
 * into the placeholder at `at` for a placeholder reservation (the view must
 * fill it exactly), else at `at` (NULL: anywhere), and where that address
 * is taken and not exact, anywhere.  A file shorter than len is mapped to
 * its end.  Returns 0 with wm->section and wm->view set; 1 when the file is
 * empty (it has no section: nothing to map); or -errno with nothing new
 * mapped.
 */
static int attach(struct w32_map *wm, size_t len, void *at, bool exact)
{
	struct mmapio__mapping *m = wm->m;
	HANDLE h = mmapio__w32_handle(m->fd), s;
	struct mmapio__file_info fi;
	void *v = NULL;
	int r;

	if (h == NULL)
		return -EBADF;
	r = mmapio__plat_file_info(m->fd, &fi);
	if (r < 0)
		return r;
	if (fi.size == 0)
		return 1; /* CreateFileMapping would say ERROR_FILE_INVALID */
	r = mmapio__w32.create_section(h, section_protect(m), &s);
	if (r < 0)
		return r;
	if (wm->kind == RES_PLACEHOLDER) {
		/*
		 * The view must fill its placeholder, whose length is whole
		 * pages; should Windows refuse a view longer than a file that
		 * ends inside its last page, the file's exact length is tried.
		 */
		v = api.map3(s, GetCurrentProcess(), at, 0, len, MEM_REPLACE_PLACEHOLDER,
			     section_protect(m), NULL, 0);
		if (v == NULL && fi.size < len)
			v = api.map3(s, GetCurrentProcess(), at, 0, (size_t)fi.size,
				     MEM_REPLACE_PLACEHOLDER, section_protect(m), NULL, 0);
		r = v != NULL ? 0 : mmapio__w32_last_error();
	} else {
		size_t n = fi.size < len ? 0 : len; /* 0: the whole (shorter) file */

		r = mmapio__w32.map_view(s, view_access(m), n, at, &v);
		if (r < 0 && at != NULL && !exact)
			r = mmapio__w32.map_view(s, view_access(m), n, NULL, &v);
	}
	if (r < 0) {
		mmapio__w32.close_handle(s);
		return r;
	}
	if (m->flags & MMAPIO__MAP_POPULATE)
		mmapio__w32_prefetch(v, len);
	wm->section = s;
	wm->view = v;
	return 0;
}

/*
 * Unmaps the view (back into its placeholder where it came from one) and
 * closes the section.  Nothing to do when none is mapped.
 */
static void detach(struct w32_map *wm)
{
	if (wm->view != NULL) {
		if (wm->kind == RES_PLACEHOLDER)
			api.unmap2(GetCurrentProcess(), wm->view, MEM_PRESERVE_PLACEHOLDER);
		else
			mmapio__w32.unmap_view(wm->view);
	}
	if (wm->section != NULL)
		mmapio__w32.close_handle(wm->section);
	wm->view = NULL;
	wm->section = NULL;
}

/*
 * Reshapes an unmapped placeholder reservation so that its first len bytes
 * are one placeholder (len 0: none) and the rest another.  Returns 0 or
 * -errno.
 */
static int shape_placeholders(struct mmapio__mapping *m, size_t len)
{
	if (!VirtualFree(m->base, m->reservation, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS)) {
		/* Already one placeholder: nothing was split off. */
		if (GetLastError() != ERROR_INVALID_PARAMETER)
			return mmapio__w32_last_error();
	}
	if (len > 0 && len < m->reservation &&
	    !VirtualFree(m->base, len, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER))
		return mmapio__w32_last_error();
	return 0;
}

/* The allocation granularity (64 KiB): where views and reservations start. */
static size_t granularity(void)
{
	SYSTEM_INFO si;

	GetSystemInfo(&si);
	return si.dwAllocationGranularity ? si.dwAllocationGranularity : 65536;
}

/*
 * Reserves what a soft reservation holds behind a view of len bytes: from
 * the first allocation unit after the view to its end.  A spot someone
 * took meanwhile is simply not held.
 */
static void reserve_tail(struct w32_map *wm, size_t len)
{
	struct mmapio__mapping *m = wm->m;
	size_t g = granularity(), start = (len + g - 1) / g * g;

	wm->tail = NULL;
	if (start < m->reservation)
		wm->tail = VirtualAlloc(m->base + start, m->reservation - start, MEM_RESERVE,
					PAGE_NOACCESS);
}

static void release_tail(struct w32_map *wm)
{
	if (wm->tail != NULL)
		VirtualFree(wm->tail, 0, MEM_RELEASE);
	wm->tail = NULL;
}

/* Gives a reservation back (its view already detached) and forgets it. */
static void release_reservation(struct w32_map *wm)
{
	struct mmapio__mapping *m = wm->m;

	if (wm->kind == RES_PLACEHOLDER) {
		shape_placeholders(m, 0);
		VirtualFree(m->base, 0, MEM_RELEASE);
	} else if (wm->kind == RES_SOFT) {
		release_tail(wm);
	}
	wm->kind = RES_NONE;
	m->reservation = 0;
}

/*
 * Maps the file's first len bytes (> 0) for a mapping whose view is
 * detached: at the start of its reservation, or where the old view was (or
 * anywhere) without one.  Should placeholders not hold this file, the
 * reservation is given up and the view goes anywhere.  Returns 0 with base
 * set (an empty file maps nothing); -ENOMEM when the spot of a soft
 * reservation was taken; or -errno with nothing mapped: base is then NULL,
 * or a reservation's start while the reservation is kept.
 */
static int place_view(struct w32_map *wm, size_t len)
{
	struct mmapio__mapping *m = wm->m;
	void *at = m->base;
	int r;

	if (wm->kind == RES_PLACEHOLDER) {
		r = shape_placeholders(m, len);
		if (r == 0)
			r = attach(wm, len, m->base, true);
		if (r >= 0)
			return 0;
		release_reservation(wm);
		at = NULL;
	} else if (wm->kind == RES_SOFT) {
		release_tail(wm);
		r = attach(wm, len, m->base, true);
		reserve_tail(wm, r == 0 ? len : 0);
		/* ERROR_INVALID_ADDRESS: someone took the spot; the space is not there. */
		return r == -EINVAL ? -ENOMEM : r > 0 ? 0 : r;
	}
	r = attach(wm, len, at, false);
	__atomic_store_n(&m->base, (unsigned char *)(r == 0 ? wm->view : NULL), __ATOMIC_RELEASE);
	return r > 0 ? 0 : r;
}

/* ------------------------------------------------------------------------ */
/* The contract                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Sets up a reservation of reserve bytes for wm: placeholders where they
 * work, else reserved memory.  Leaves wm without one when the address
 * space cannot be had (the map then works without a reservation).
 */
static void reserve(struct w32_map *wm, size_t reserve)
{
	struct mmapio__mapping *m = wm->m;
	void *p = NULL;

	if (api.placeholders)
		p = api.alloc2(GetCurrentProcess(), NULL, reserve,
			       MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS, NULL, 0);
	if (p != NULL) {
		wm->kind = RES_PLACEHOLDER;
	} else {
		p = VirtualAlloc(NULL, reserve, MEM_RESERVE, PAGE_NOACCESS);
		if (p == NULL)
			return;
		wm->kind = RES_SOFT;
		wm->tail = p;
	}
	m->base = p;
	m->reservation = reserve;
}

MMAPIO_INTERNAL int mmapio__plat_map(struct mmapio__mapping *m, size_t len, size_t reserve_len)
{
	struct w32_map *wm = calloc(1, sizeof(*wm));
	int r = 0;

	m->base = NULL;
	m->mapped = 0;
	m->reservation = 0;
	if (wm == NULL)
		return -ENOMEM;
	wm->m = m;
	load_api();
	if (reserve_len > len)
		reserve(wm, reserve_len);
	if (len > 0)
		r = place_view(wm, len);
	if (r < 0) {
		release_reservation(wm);
		m->base = NULL;
		free(wm);
		return r;
	}
	m->mapped = len;
	m->plat = (uintptr_t)wm;
	registry_add(wm);
	return 0;
}

/*
 * Maps new_mapped bytes afresh at a new address, then drops the old view and
 * any reservation.  Returns 0 with base updated, or -errno with the old
 * mapping intact.
 */
static int map_moved(struct w32_map *wm, size_t new_mapped)
{
	struct mmapio__mapping *m = wm->m;
	struct w32_map fresh = { .m = m, .kind = RES_NONE };
	int r = attach(&fresh, new_mapped, NULL, false);

	if (r < 0)
		return r; /* r == 1: an empty file, nothing mapped */
	detach(wm);
	release_reservation(wm);
	wm->section = fresh.section;
	wm->view = fresh.view;
	__atomic_store_n(&m->base, (unsigned char *)fresh.view, __ATOMIC_RELEASE);
	return 0;
}

/*
 * Maps the old length (m->mapped) back after a failed remap: at the same
 * place, else, for a soft reservation whose spot was taken, anywhere,
 * giving the reservation up (the only case in which its base moves).
 */
static void restore_view(struct w32_map *wm)
{
	struct mmapio__mapping *m = wm->m;

	if (m->mapped == 0 || place_view(wm, m->mapped) == 0 || wm->kind != RES_SOFT)
		return;
	release_reservation(wm);
	__atomic_store_n(&m->base, (unsigned char *)NULL, __ATOMIC_RELEASE);
	place_view(wm, m->mapped);
}

/*
 * Replaces the view with one of new_len bytes (0: none) at the same place.
 * Returns 0, or -errno with the old length mapped again (should even that
 * fail, nothing is mapped and base is NULL).
 */
static int remap(struct w32_map *wm, size_t new_len)
{
	struct mmapio__mapping *m = wm->m;
	int r = 0;

	detach(wm);
	if (new_len > 0) {
		r = place_view(wm, new_len);
	} else if (wm->kind == RES_PLACEHOLDER) {
		shape_placeholders(m, 0);
	} else if (wm->kind == RES_SOFT) {
		release_tail(wm);
		reserve_tail(wm, 0);
	} else {
		__atomic_store_n(&m->base, (unsigned char *)NULL, __ATOMIC_RELEASE);
	}
	if (r < 0)
		restore_view(wm);
	return r;
}

MMAPIO_INTERNAL int mmapio__plat_map_grow(struct mmapio__mapping *m, size_t new_mapped)
{
	struct w32_map *wm = (struct w32_map *)m->plat;
	int r;

	if (new_mapped <= m->mapped)
		return 0;
	if (wm->kind != RES_NONE && new_mapped <= m->reservation)
		r = remap(wm, new_mapped);
	else
		r = map_moved(wm, new_mapped);
	if (r == 0)
		m->mapped = new_mapped;
	return r;
}

MMAPIO_INTERNAL int mmapio__plat_map_shrink(struct mmapio__mapping *m, size_t new_mapped)
{
	struct w32_map *wm = (struct w32_map *)m->plat;
	int r;

	if (new_mapped >= m->mapped)
		return 0;
	r = remap(wm, new_mapped);
	if (r == 0)
		m->mapped = new_mapped;
	return r;
}

MMAPIO_INTERNAL void mmapio__plat_unmap(struct mmapio__mapping *m)
{
	struct w32_map *wm = (struct w32_map *)m->plat;

	if (wm != NULL) {
		registry_remove(wm);
		detach(wm);
		release_reservation(wm);
		free(wm);
	}
	m->plat = 0;
	m->base = NULL;
	m->mapped = 0;
	m->reservation = 0;
}

/*
 * Growing a mapped file is allowed, and the view's pages stay the file's
 * (one cache for all views of a file); cutting one is not.  So the view and
 * section are closed only when Windows refuses with ERROR_USER_MAPPED_FILE
 * and the view is this map's own, and mapped again afterwards.  Should the
 * view not map again after the change, the file is put back to its old
 * length (which a mapped file allows) and mapped once more, so that a
 * failure leaves the file as it was, as the contract asks.
 */
MMAPIO_INTERNAL int mmapio__w32_set_length(int fd, HANDLE h, uint64_t size)
{
	struct w32_map *wm = registry_find(fd);
	struct mmapio__file_info fi;
	int r = mmapio__w32.set_end_of_file(h, size), a;

	if (r != -EBUSY || wm == NULL || wm->view == NULL)
		return r;
	a = mmapio__plat_file_info(fd, &fi);
	if (a < 0)
		return r;
	detach(wm);
	r = mmapio__w32.set_end_of_file(h, size);
	/* The same length again (the caller shrank the map first if need be). */
	a = place_view(wm, wm->m->mapped);
	if (a < 0 && r == 0) {
		mmapio__w32.set_end_of_file(h, fi.size);
		restore_view(wm);
	} else if (a < 0) {
		restore_view(wm);
	}
	return r < 0 ? r : a;
}
