/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The map calls: making and closing maps, copying access, resize, flush,
 * advice, page locks and atomic words.  Each call is predicted from the
 * header's rules in the order the header gives them (bad arguments, mode,
 * lock, range, the file's size), made, and its result and bytes checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* A pointer that no call may store on failure. */
#define SENTINEL_MAP ((mmapio_map *)(uintptr_t)0x5a5a5a5a)

/* ------------------------------------------------------------------------ */
/* Predictions                                                              */
/* ------------------------------------------------------------------------ */

/* The result of an access the range check has let through, from the file's size. */
static int access_result(const struct fz_map *m, uint64_t off, uint64_t n)
{
	switch (fz_access_class(m, off, n)) {
	case FZ_ACC_OK:
		return 0;
	case FZ_ACC_FAULT:
		return -EFAULT;
	default:
		return FZ_SKIP;
	}
}

/*
 * mmapio_read: -EINVAL, -ERANGE, -EFAULT.  With a mutable view of the map
 * held by this thread, *alt allows today's -EDEADLK.
 */
int fz_predict_read(const struct fz_map *m, uint64_t off, uint64_t n, bool null_dst, bool *alt)
{
	*alt = false;
	if (null_dst && n)
		return -EINVAL;
	if (m->mode != MMAPIO_READ_ONLY && m->write_views > 0)
		*alt = fz_known[KB_EDEADLK_UNDER_OWN_WRITE_VIEW];
	if (!fz_range_ok(m->len, off, n))
		return -ERANGE;
	return access_result(m, off, n);
}

/*
 * mmapio_write: -EINVAL, -EACCES, then the write lock (-EDEADLK when this
 * thread holds a view of the map), -ERANGE, -EFAULT.
 */
int fz_predict_write(const struct fz_map *m, uint64_t off, uint64_t n, bool null_src)
{
	if (null_src && n)
		return -EINVAL;
	if (m->mode == MMAPIO_READ_ONLY)
		return -EACCES;
	if (m->read_views > 0)
		return fz_known[KB_WRITE_UNDER_OWN_READ_VIEW_HANGS] ? FZ_SKIP : -EDEADLK;
	if (m->write_views > 0)
		return -EDEADLK;
	if (!fz_range_ok(m->len, off, n))
		return -ERANGE;
	return access_result(m, off, n);
}

/* mmapio_view_read / mmapio_view_write (out not NULL). */
int fz_predict_view(const struct fz_map *m, uint64_t off, uint64_t n, bool write, bool *alt)
{
	*alt = false;
	if (!write) {
		if (m->mode != MMAPIO_READ_ONLY && m->write_views > 0)
			*alt = fz_known[KB_EDEADLK_UNDER_OWN_WRITE_VIEW];
		return fz_range_ok(m->len, off, n) ? 0 : -ERANGE;
	}
	if (m->mode == MMAPIO_READ_ONLY)
		return -EACCES;
	if (m->read_views > 0)
		return fz_known[KB_WRITE_UNDER_OWN_READ_VIEW_HANGS] ? FZ_SKIP : -EDEADLK;
	if (m->write_views > 0)
		return -EDEADLK;
	return fz_range_ok(m->len, off, n) ? 0 : -ERANGE;
}

/* mmapio_flush_range: -ERANGE, else 0 (nothing here makes a sync fail). */
int fz_predict_flush_range(const struct fz_map *m, uint64_t off, uint64_t n)
{
	return fz_range_ok(m->len, off, n) ? 0 : -ERANGE;
}

void fz_check_read_bytes(const struct fz_map *m, uint64_t off, uint64_t n, const char *what)
{
	size_t i;

	if (n == 0)
		return;
	fz_map_expected(m, off, (size_t)n, fz.tmp);
	if (memcmp(fz.buf, fz.tmp, (size_t)n) == 0)
		return;
	for (i = 0; i < n && fz.buf[i] == fz.tmp[i]; i++)
		;
	fz_fail("%s: byte %llu of the map reads 0x%02x, the model says 0x%02x", what,
		(unsigned long long)(off + i), fz.buf[i], fz.tmp[i]);
}

/* ------------------------------------------------------------------------ */
/* Options                                                                  */
/* ------------------------------------------------------------------------ */

/* A reservation: none, smaller or larger than the file, or one that cannot be. */
static uint64_t pick_reserve(uint64_t size_hint)
{
	switch (fz_u8() % 8) {
	case 3:
		return size_hint / 2;
	case 4:
		return size_hint + fz.page;
	case 5:
		return 4 * size_hint + 1;
	case 6:
		return (uint64_t)4 << 20;
	case 7:
		return fz_u8() & 1 ? UINT64_MAX : (uint64_t)64 << 20;
	default:
		return 0;
	}
}

void fz_pick_opts(struct fz_opts *f, uint64_t size_hint)
{
	static const unsigned perms[] = { 0, 0600, 0640, 0644, 0755, 0700, 0664, 0640 };
	uint8_t s = fz_u8();

	memset(f, 0, sizeof(*f));
	if (s % 4 == 0)
		return;
	f->p = &f->o;
	f->o.flags = fz_u8() & 0x0f;
	/* Durable creates cost syncs: a few of them are enough. */
	if ((s & 0x40) == 0)
		f->o.flags &= ~MMAPIO_CREATE_DURABLE;
	f->o.perm = perms[fz_u8() % 8];
	f->o.reserve = pick_reserve(size_hint);
	if ((s & 0xf0) == 0xf0) {
		f->bad = true;
		switch (fz_u8() % 3) {
		case 0:
			/* Bit 4 is MMAPIO_CREATE_OR_OPEN, which the model leaves out. */
			f->o.flags |= 1u << (5 + fz_u8() % 27);
			break;
		case 1:
			f->o.reserved[fz_u8() % 6] = 1 + fz_u8();
			break;
		default:
			f->o.perm |= 010000;
			break;
		}
	}
	f->flags = f->o.flags;
	f->perm = f->o.perm;
	f->reserve = f->o.reserve;
}

/* A mode, now and then an unknown one.  *bad says which. */
static enum mmapio_mode pick_mode(bool *bad)
{
	static const int t[] = { MMAPIO_READ_ONLY, MMAPIO_READ_WRITE, MMAPIO_COPY_ON_WRITE,
				 MMAPIO_READ_ONLY, MMAPIO_READ_WRITE, MMAPIO_COPY_ON_WRITE,
				 MMAPIO_READ_WRITE, 3, MMAPIO_COPY_ON_WRITE, 77 };
	int m = t[fz_u8() % 10];

	*bad = m > MMAPIO_COPY_ON_WRITE;
	return (enum mmapio_mode)m;
}

/* Returns a free map slot or -1. */
static int free_map_slot(void)
{
	int s;

	for (s = 0; s < FZ_MAPS; s++)
		if (!fz.map[s].used)
			return s;
	return -1;
}

/* The result of mapping a file once the arguments have passed. */
static int map_result(const struct fz_opts *o)
{
	/* The reservation cannot be rounded to pages. */
	return o->reserve == UINT64_MAX ? -ENOMEM : 0;
}

/* Records a new map, checks it, and checks *out was left alone on failure. */
static void map_made(const char *what, int rc, mmapio_map *out, enum mmapio_mode mode, int inode,
		     const struct fz_opts *o)
{
	int slot;

	if (rc < 0) {
		if (out != SENTINEL_MAP)
			fz_fail("%s failed but stored %p in *out", what, (void *)out);
		return;
	}
	slot = fz_map_new(out, mode, inode, o->flags, o->reserve);
	fz_check_map(slot, what, false);
}

/* ------------------------------------------------------------------------ */
/* Making and closing maps                                                  */
/* ------------------------------------------------------------------------ */

void fz_op_open(void)
{
	int path = fz_pick_path(), inode, want, rc;
	bool bad_mode;
	enum mmapio_mode mode = pick_mode(&bad_mode);
	mmapio_map *out = SENTINEL_MAP;
	struct fz_opts o;

	inode = fz_path_regular(path);
	fz_pick_opts(&o, inode >= 0 ? fz.inode[inode].size : 0);
	if (free_map_slot() < 0)
		return;
	fz_quiesce(1u << path, -1);
	inode = fz_path_regular(path);
	if (bad_mode || o.bad)
		want = -EINVAL;
	else if (path == FZ_PD)
		want = -EISDIR;
	else if (inode < 0)
		want = -ENOENT;
	else
		want = map_result(&o);
	fz_trace("open path=%d mode=%d opts=%s flags=%#x reserve=%llu -> %d", path, (int)mode,
		 o.p ? (o.bad ? "bad" : "set") : "NULL", o.flags, (unsigned long long)o.reserve,
		 want);
	rc = mmapio_open(fz.path[path], mode, o.p, &out);
	fz_expect("mmapio_open", rc, want);
	map_made("mmapio_open", rc, out, mode, inode, &o);
}

/* Descriptor kinds for mmapio_open_fd. */
enum {
	FD_RDONLY, FD_RDWR, FD_WRONLY, FD_APPEND, FD_PATH, FD_DIRECT, FD_MINUS_ONE, FD_CLOSED,
	FD_PIPE_READ, FD_PIPE_WRITE, FD_KINDS
};

/*
 * Opens the fuzzer's descriptor of the given kind on path.  Returns it, -1
 * for FD_MINUS_ONE, a closed number for FD_CLOSED, or -2 when it cannot be
 * had (the call is then not made).  *other receives the pipe's other end.
 */
static int open_kind(int kind, int path, int *other)
{
	static const int flags[] = { O_RDONLY, O_RDWR, O_WRONLY, O_RDWR | O_APPEND, O_PATH,
				     O_RDWR | O_DIRECT };
	int p[2], fd;

	*other = -1;
	switch (kind) {
	case FD_MINUS_ONE:
		return -1;
	case FD_CLOSED:
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		return fd >= 0 ? fd : -2;
	case FD_PIPE_READ:
	case FD_PIPE_WRITE:
		if (pipe2(p, O_CLOEXEC) < 0)
			return -2;
		*other = kind == FD_PIPE_READ ? p[1] : p[0];
		return kind == FD_PIPE_READ ? p[0] : p[1];
	default:
		if (path == FZ_PX || (path <= FZ_P1 && fz_path_regular(path) < 0))
			return -2;
		if (kind == FD_DIRECT && !fz.o_direct_ok)
			kind = FD_RDWR;
		fd = open(fz.path[path], flags[kind] | O_CLOEXEC);
		return fd >= 0 ? fd : -2;
	}
}

/* What mmapio_open_fd returns for a descriptor of kind on path, once the arguments pass. */
static int predict_open_fd(int kind, int path, enum mmapio_mode mode, const struct fz_opts *o)
{
	switch (kind) {
	case FD_MINUS_ONE:
	case FD_CLOSED:
	case FD_PATH:
		return -EBADF;
	case FD_WRONLY:
	case FD_PIPE_WRITE:
		return -EACCES;
	case FD_RDONLY:
	case FD_PIPE_READ:
		if (mode == MMAPIO_READ_WRITE)
			return -EACCES;
		break;
	default:
		break;
	}
	if (kind == FD_PIPE_READ)
		return -EINVAL;
	if (path == FZ_PD)
		return -EISDIR;
	return map_result(o);
}

void fz_op_open_fd(void)
{
	int kind = fz_u8() % FD_KINDS, path = fz_pick_path(), fd, other, want, rc, inode;
	bool bad_mode;
	enum mmapio_mode mode = pick_mode(&bad_mode);
	mmapio_map *out = SENTINEL_MAP;
	struct fz_opts o;

	fz_pick_opts(&o, 0);
	if (free_map_slot() < 0)
		return;
	fz_quiesce(1u << path, -1);
	inode = fz_path_regular(path);
	fd = open_kind(kind, path, &other);
	if (fd == -2)
		return;
	if (bad_mode || o.bad)
		want = -EINVAL;
	else
		want = predict_open_fd(kind, path, mode, &o);
	fz_trace("open_fd kind=%d path=%d mode=%d opts=%s flags=%#x reserve=%llu -> %d", kind, path,
		 (int)mode, o.p ? (o.bad ? "bad" : "set") : "NULL", o.flags,
		 (unsigned long long)o.reserve, want);
	rc = mmapio_open_fd(fd, mode, o.p, &out);
	if (rc == 0 && fd >= 0 && mmapio_fd(out) == fd)
		fz_fail("mmapio_open_fd: the map uses the caller's descriptor, not a duplicate");
	if (fd >= 0 && kind != FD_CLOSED)
		close(fd);
	if (other >= 0)
		close(other);
	fz_expect("mmapio_open_fd", rc, want);
	map_made("mmapio_open_fd", rc, out, mode, inode, &o);
}

void fz_op_create(void)
{
	int path = fz_pick_path(), inode = -1, want, rc;
	uint8_t s = fz_u8();
	uint64_t size = s % 16 == 0 ? 0 : s % 16 == 1 ? UINT64_MAX : fz_pick_size();
	mmapio_map *out = SENTINEL_MAP;
	bool created = false;
	struct fz_opts o;

	fz_pick_opts(&o, size);
	if (free_map_slot() < 0)
		return;
	fz_quiesce(1u << path, -1);
	if (size == 0 || o.bad)
		want = -EINVAL;
	else if (size > (uint64_t)INT64_MAX)
		want = -EFBIG;
	else
		want = fz_model_create(path, size, o.flags, o.perm, &inode, &created);
	if (want == 0 && map_result(&o) < 0) {
		/* The file is made, the map is not: a file this call made goes again. */
		want = map_result(&o);
		if (created) {
			fz.path_inode[path] = -1;
			fz_inode_release_if_unused(inode);
		}
	}
	fz_trace("create path=%d size=%llu opts=%s flags=%#x perm=%o reserve=%llu -> %d", path,
		 (unsigned long long)size, o.p ? (o.bad ? "bad" : "set") : "NULL", o.flags, o.perm,
		 (unsigned long long)o.reserve, want);
	rc = mmapio_create(fz.path[path], size, o.p, &out);
	fz_expect("mmapio_create", rc, want);
	if (rc == 0 && created)
		fz_witness_attach(inode, path);
	/* Prefaulting may allocate (tmpfs gives every faulted page a block). */
	if (rc == 0 && (o.flags & MMAPIO_CREATE_SPARSE) && !(o.flags & MMAPIO_MAP_POPULATE) &&
	    fz.fs_sparse) {
		struct stat st;

		if (fstat(fz.inode[inode].witness, &st) == 0 && st.st_blocks != 0)
			fz_fail("mmapio_create sparse: the new file has %lld blocks",
				(long long)st.st_blocks);
	}
	map_made("mmapio_create", rc, out, MMAPIO_READ_WRITE, inode, &o);
	if (inode >= 0 && fz.inode[inode].used)
		fz_check_inode(inode, "mmapio_create", false);
	fz_check_paths("mmapio_create");
}

void fz_op_close(void)
{
	int s = fz_pick_map(), want, rc, inode;
	struct fz_map *m;
	bool alt;

	if (s < 0) {
		fz_trace("close NULL -> 0");
		fz_expect("mmapio_close(NULL)", mmapio_close(NULL), 0);
		return;
	}
	m = &fz.map[s];
	fz_quiesce(0, m->inode);
	want = m->views || m->ring_counted || m->ring_uncounted ? -EBUSY : 0;
	alt = want == -EBUSY && !m->views && !m->ring_counted && fz_known[KB_UNCOUNTED_RING_FLUSH];
	fz_trace("close map=%d (views %u, ring flushes %u+%u) -> %d", s, m->views, m->ring_counted,
		 m->ring_uncounted, want);
	rc = mmapio_close(m->map);
	fz_expect2("mmapio_close", rc, want, alt, 0);
	if (rc < 0) {
		fz_check_map(s, "mmapio_close refused", false);
		return;
	}
	inode = m->inode;
	fz_rings_forget_map(s);
	fz_map_forget(s);
	fz_check_inode(inode, "mmapio_close", true);
}

/* ------------------------------------------------------------------------ */
/* Copying access                                                           */
/* ------------------------------------------------------------------------ */

void fz_op_read(void)
{
	int s = fz_pick_map(), want, rc;
	uint64_t off, n;
	bool null_dst, alt;
	struct fz_map *m;

	if (s < 0)
		return;
	m = &fz.map[s];
	off = fz_pick_off(m->len);
	n = fz_pick_len(m->len, off);
	null_dst = fz_u8() % 16 == 0;
	fz_quiesce(0, m->inode);
	want = fz_predict_read(m, off, n, null_dst, &alt);
	if (want == FZ_SKIP)
		return;
	fz_trace("read map=%d off=%llu len=%llu%s -> %d", s, (unsigned long long)off,
		 (unsigned long long)n, null_dst ? " dst=NULL" : "", want);
	rc = mmapio_read(m->map, off, null_dst ? NULL : fz.buf, (size_t)n);
	fz_expect2("mmapio_read", rc, want, alt, -EDEADLK);
	if (rc == 0)
		fz_check_read_bytes(m, off, n, "mmapio_read");
}

void fz_op_write(void)
{
	int s = fz_pick_map(), want, rc;
	uint64_t off, n;
	uint32_t seed;
	bool null_src;
	struct fz_map *m;

	if (s < 0)
		return;
	m = &fz.map[s];
	off = fz_pick_off(m->len);
	n = fz_pick_len(m->len, off);
	seed = fz_u32();
	null_src = fz_u8() % 16 == 0;
	fz_quiesce(0, m->inode);
	want = fz_predict_write(m, off, n, null_src);
	if (want == FZ_SKIP)
		return;
	if (want == 0)
		fz_fill(fz.src, (size_t)n, seed);
	fz_trace("write map=%d off=%llu len=%llu seed=%u%s -> %d", s, (unsigned long long)off,
		 (unsigned long long)n, seed, null_src ? " src=NULL" : "", want);
	rc = mmapio_write(m->map, off, null_src ? NULL : fz.src, (size_t)n);
	fz_expect("mmapio_write", rc, want);
	if (rc == 0)
		fz_map_store(m, off, fz.src, (size_t)n);
}

/* ------------------------------------------------------------------------ */
/* Size, durability, advice, locks                                          */
/* ------------------------------------------------------------------------ */

void fz_op_resize(void)
{
	int s = fz_pick_map(), want, rc;
	uint64_t n, old;
	struct fz_map *m;
	bool alt;

	if (s < 0)
		return;
	m = &fz.map[s];
	n = fz_pick_new_size(m->len);
	fz_quiesce(0, m->inode);
	if (n == 0)
		want = -EINVAL;
	else if (m->mode != MMAPIO_READ_WRITE)
		want = -EACCES;
	else if (n > (uint64_t)INT64_MAX)
		want = -EFBIG;
	else if (m->views || m->ring_counted || m->ring_uncounted)
		want = -EBUSY;
	else
		want = 0;
	alt = want == -EBUSY && !m->views && !m->ring_counted && fz_known[KB_UNCOUNTED_RING_FLUSH];
	fz_trace("resize map=%d %llu -> %llu (file %llu, views %u) -> %d", s,
		 (unsigned long long)m->len, (unsigned long long)n,
		 (unsigned long long)fz_map_file_size(m), m->views, want);
	rc = mmapio_resize(m->map, n);
	/* DESIGN.md says -EDEADLK for a caller holding a view, the header -EBUSY. */
	if (alt)
		fz_expect2("mmapio_resize", rc, want, true, 0);
	else
		fz_expect2("mmapio_resize", rc, want, want == -EBUSY && m->views > 0, -EDEADLK);
	if (rc == 0) {
		old = fz_map_file_size(m);
		fz_inode_set_size(m->inode, n);
		if (n > old && m->sparse)
			fz.inode[m->inode].allocated = false;
		m->len = n;
		if (m->resv != 0 && fz_page_up(n) > m->resv)
			m->resv = 0; /* grown past it: the map moved and gave it up */
		fz_check_inode(m->inode, "mmapio_resize", false);
	}
	fz_check_map(s, "mmapio_resize", false);
}

void fz_op_flush(void)
{
	int s = fz_pick_map(), want, rc;
	uint8_t kind = fz_u8();
	uint64_t off, n;
	struct fz_map *m;

	if (s < 0)
		return;
	m = &fz.map[s];
	off = fz_pick_off(m->len);
	n = fz_pick_len(m->len, off);
	fz_quiesce(0, m->inode);
	if (kind % 3 == 0) {
		fz_trace("flush map=%d -> 0", s);
		rc = mmapio_flush(m->map);
		fz_expect("mmapio_flush", rc, 0);
	} else {
		want = fz_predict_flush_range(m, off, n);
		fz_trace("flush_range map=%d off=%llu len=%llu -> %d", s, (unsigned long long)off,
			 (unsigned long long)n, want);
		rc = mmapio_flush_range(m->map, off, n);
		fz_expect("mmapio_flush_range", rc, want);
	}
	if (rc == 0)
		fz_check_inode(m->inode, "flush", true);
}

/* Which pages [off, off + n) rounds out to, clamped to the map's pages. */
static void page_span(const struct fz_map *m, uint64_t off, uint64_t n, uint64_t *lo,
		      uint64_t *hi)
{
	uint64_t end = fz_page_up(off + n), mapped = fz_page_up(m->len);

	*lo = fz_page_down(off);
	*hi = end < mapped ? end : mapped;
}

/*
 * How a page-rounded range call behaves with the file's size: FZ_ACC_OK
 * when every page holds file data, FZ_ACC_FAULT when none does.
 */
static enum fz_access page_class(const struct fz_map *m, uint64_t lo, uint64_t hi)
{
	uint64_t eof = fz_page_up(fz_map_file_size(m));

	if (hi <= eof)
		return FZ_ACC_OK;
	if (lo >= eof)
		return FZ_ACC_FAULT;
	return FZ_ACC_AVOID;
}

void fz_op_advise(void)
{
	int s = fz_pick_map(), want, rc;
	uint8_t a = fz_u8() % 9;
	int advice = a == 7 ? 7 : a == 8 ? 1000 : a;
	uint64_t off, n, lo = 0, hi = 0;
	enum fz_access cls = FZ_ACC_OK;
	struct fz_map *m;

	if (s < 0)
		return;
	m = &fz.map[s];
	off = fz_pick_off(m->len);
	n = fz_pick_len(m->len, off);
	fz_quiesce(0, m->inode);
	if (advice > MMAPIO_ADVICE_POPULATE_WRITE)
		want = -EINVAL;
	else if (advice == MMAPIO_ADVICE_DONTNEED && m->mode == MMAPIO_COPY_ON_WRITE)
		want = -EACCES;
	else if (advice == MMAPIO_ADVICE_POPULATE_WRITE && m->mode == MMAPIO_READ_ONLY)
		want = -EACCES;
	else if (!fz_range_ok(m->len, off, n))
		want = -ERANGE;
	else if (n == 0)
		want = 0;
	else {
		page_span(m, off, n, &lo, &hi);
		cls = page_class(m, lo, hi);
		if (cls == FZ_ACC_AVOID)
			return;
		want = cls == FZ_ACC_FAULT && advice >= MMAPIO_ADVICE_POPULATE_READ ? -EFAULT : 0;
	}
	fz_trace("advise map=%d off=%llu len=%llu advice=%d -> %d", s, (unsigned long long)off,
		 (unsigned long long)n, advice, want);
	rc = mmapio_advise(m->map, off, n, (enum mmapio_advice)advice);
	fz_expect("mmapio_advise", rc, want);
	if (rc == 0 && advice == MMAPIO_ADVICE_POPULATE_WRITE && cls == FZ_ACC_OK &&
	    fz.cow_populate_write)
		fz_cow_make_private(m, lo, hi);
}

void fz_op_lock(void)
{
	int s = fz_pick_map(), want, rc;
	bool unlock = fz_u8() & 1;
	uint64_t off, n, lo = 0, hi = 0;
	struct fz_map *m;

	if (s < 0 || !fz.mlock_ok)
		return;
	m = &fz.map[s];
	off = fz_pick_off(m->len);
	n = fz_pick_len(m->len, off);
	fz_quiesce(0, m->inode);
	if (!fz_range_ok(m->len, off, n))
		want = -ERANGE;
	else if (n == 0)
		want = 0;
	else {
		page_span(m, off, n, &lo, &hi);
		if (page_class(m, lo, hi) != FZ_ACC_OK)
			return;
		want = 0;
	}
	fz_trace("%s map=%d off=%llu len=%llu -> %d", unlock ? "unlock" : "lock", s,
		 (unsigned long long)off, (unsigned long long)n, want);
	rc = unlock ? mmapio_unlock(m->map, off, n) : mmapio_lock(m->map, off, n);
	fz_expect(unlock ? "mmapio_unlock" : "mmapio_lock", rc, want);
	/* Where mlock prefaults a private writable mapping with write faults. */
	if (rc == 0 && !unlock && fz.cow_mlock)
		fz_cow_make_private(m, lo, hi);
}

/* ------------------------------------------------------------------------ */
/* Atomic words                                                             */
/* ------------------------------------------------------------------------ */

enum { AT_LOAD, AT_STORE, AT_ADD, AT_CAS };

/* The word of w bytes at off as the model has it. */
static uint64_t model_word(const struct fz_map *m, uint64_t off, unsigned w)
{
	uint8_t b[8];
	uint32_t v32;
	uint64_t v64;

	fz_map_expected(m, off, w, b);
	if (w == 4) {
		memcpy(&v32, b, 4);
		return v32;
	}
	memcpy(&v64, b, 8);
	return v64;
}

/* Stores the word of w bytes at off into the model. */
static void model_store_word(struct fz_map *m, uint64_t off, unsigned w, uint64_t v)
{
	uint32_t v32 = (uint32_t)v;

	fz_map_store(m, off, w == 4 ? (const uint8_t *)&v32 : (const uint8_t *)&v, w);
}

/* Picks an offset for a word of w bytes: aligned, misaligned, at the end, huge. */
static uint64_t pick_word_off(uint64_t len, unsigned w)
{
	uint32_t r = fz_u32();
	uint64_t a = (len ? r % len : 0) & ~(uint64_t)(w - 1);

	switch (fz_u8() % 8) {
	case 5:
		return a + 1 + fz_u8() % (w - 1);
	case 6:
		return (len & ~(uint64_t)(w - 1)) - (fz_u8() & 1 ? w : 0);
	case 7:
		return fz_pick_off(len) & ~(uint64_t)(w - 1);
	default:
		return a;
	}
}

/* Makes one atomic call.  Returns its result; *got receives the value it hands back. */
static int atomic_call(mmapio_map *map, int op, unsigned w, uint64_t off, uint64_t v,
		       uint64_t *expected, bool null_arg, uint64_t *got)
{
	uint32_t o32 = 0, e32 = (uint32_t)*expected;
	uint64_t o64 = 0;
	int rc;

	if (w == 4) {
		switch (op) {
		case AT_LOAD:
			rc = mmapio_atomic_load_u32(map, off, null_arg ? NULL : &o32);
			break;
		case AT_STORE:
			rc = mmapio_atomic_store_u32(map, off, (uint32_t)v);
			break;
		case AT_ADD:
			rc = mmapio_atomic_fetch_add_u32(map, off, (uint32_t)v, null_arg ? NULL : &o32);
			break;
		default:
			rc = mmapio_atomic_cas_u32(map, off, null_arg ? NULL : &e32, (uint32_t)v);
			*expected = e32;
			break;
		}
		*got = o32;
		return rc;
	}
	switch (op) {
	case AT_LOAD:
		rc = mmapio_atomic_load_u64(map, off, null_arg ? NULL : &o64);
		break;
	case AT_STORE:
		rc = mmapio_atomic_store_u64(map, off, v);
		break;
	case AT_ADD:
		rc = mmapio_atomic_fetch_add_u64(map, off, v, null_arg ? NULL : &o64);
		break;
	default:
		rc = mmapio_atomic_cas_u64(map, off, null_arg ? NULL : expected, v);
		break;
	}
	*got = o64;
	return rc;
}

/*
 * Checks what a successful atomic call handed back (old: the word before,
 * as the model had it) and applies what it stored.
 */
static void atomic_done(struct fz_map *m, int op, unsigned w, uint64_t off, uint64_t v,
			uint64_t old, uint64_t got, uint64_t expected, bool null_arg, int rc)
{
	uint64_t mask = w == 4 ? UINT32_MAX : UINT64_MAX;

	switch (op) {
	case AT_LOAD:
		if (got != old)
			fz_fail("mmapio_atomic_load_u%u at %llu: %llu, the model says %llu", w * 8,
				(unsigned long long)off, (unsigned long long)got,
				(unsigned long long)old);
		break;
	case AT_STORE:
		model_store_word(m, off, w, v);
		break;
	case AT_ADD:
		if (!null_arg && got != old)
			fz_fail("mmapio_atomic_fetch_add_u%u at %llu: old %llu, the model says %llu",
				w * 8, (unsigned long long)off, (unsigned long long)got,
				(unsigned long long)old);
		model_store_word(m, off, w, (old + v) & mask);
		break;
	default:
		if (expected != old)
			fz_fail("mmapio_atomic_cas_u%u at %llu: *expected %llu, the word was %llu",
				w * 8, (unsigned long long)off, (unsigned long long)expected,
				(unsigned long long)old);
		/* A compare-and-swap is a write access even when it fails (x86 cmpxchg). */
		fz_cow_make_private(m, off, off + w);
		if (rc == 1)
			model_store_word(m, off, w, v);
		break;
	}
}

void fz_op_atomic(void)
{
	int s = fz_pick_map(), op, want, rc;
	uint8_t k = fz_u8();
	unsigned w = k & 1 ? 8 : 4;
	uint64_t off, v, guess, expected, old = 0, got = 0, mask;
	bool null_arg, alt = false, match_expected;
	struct fz_map *m;

	if (s < 0)
		return;
	m = &fz.map[s];
	op = (k >> 1) % 4;
	off = pick_word_off(m->len, w);
	v = fz_u64();
	null_arg = fz_u8() % 16 == 0;
	match_expected = fz_u8() & 1;
	guess = fz_u64();
	mask = w == 4 ? UINT32_MAX : UINT64_MAX;
	fz_quiesce(0, m->inode);
	if ((op == AT_LOAD || op == AT_CAS) && null_arg)
		want = -EINVAL;
	else if (off % w != 0)
		want = -EINVAL;
	else if (op != AT_LOAD && m->mode == MMAPIO_READ_ONLY)
		want = -EACCES;
	else {
		alt = m->mode != MMAPIO_READ_ONLY && m->write_views > 0 &&
		      fz_known[KB_EDEADLK_UNDER_OWN_WRITE_VIEW];
		if (!fz_range_ok(m->len, off, w))
			want = -ERANGE;
		else if (fz_access_class(m, off, w) != FZ_ACC_OK)
			return; /* words are not guarded: past the end of file is SIGBUS */
		else {
			old = model_word(m, off, w);
			want = 0;
		}
	}
	expected = match_expected && want == 0 ? old : guess & mask;
	if (want == 0 && op == AT_CAS)
		want = expected == old ? 1 : 0;
	fz_trace("atomic%u map=%d op=%d off=%llu value=%llu%s -> %d", w * 8, s, op,
		 (unsigned long long)off, (unsigned long long)v, null_arg ? " NULL" : "", want);
	rc = atomic_call(m->map, op, w, off, v, &expected, null_arg, &got);
	fz_expect2("mmapio_atomic", rc, want, alt, -EDEADLK);
	if (rc >= 0)
		atomic_done(m, op, w, off, v & mask, old, got, expected, null_arg, rc);
}
