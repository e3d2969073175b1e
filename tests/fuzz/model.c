/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The model: what every file (inode) must hold, which path names which
 * file, and what every map must show; and the checks that hold the real
 * files and maps against it.
 *
 * Files.  An inode has bytes, a size and permission bits.  The bytes from
 * size on are always zero in the model, because nothing the decoder does
 * writes past the end of a file: the kernel zeroes the tail of the last page
 * when a file is cut, and a growing file reads as zero.
 *
 * Maps.  Read-only and read-write maps share the page cache, so they show
 * their inode's bytes.  A copy-on-write map shows a page of the file until
 * it writes to that page; from then on the page is its own (Linux's
 * MAP_PRIVATE; POSIX leaves it unspecified).  Write faults that the kernel
 * forces while prefaulting make pages private too: MADV_POPULATE_WRITE
 * always, mlock and MAP_POPULATE on older kernels (probed at start).  Cutting the file takes the pages wholly past the new
 * end away from every mapping, private ones included (the kernel unmaps
 * "even COWs"), so they are the file's again if it grows back.
 *
 * A map longer than its file (another map cut the file) is stale: accesses
 * inside the file behave as usual, accesses wholly in pages past the end of
 * file fault, and the decoder does not make accesses that straddle the end
 * (fz_access_class).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Allocates zeroed memory for the model or fails the run.  Returns it. */
static void *model_alloc(size_t n)
{
	void *p = calloc(1, n);

	if (p == NULL)
		fz_fail("out of memory for the model");
	return p;
}

void fz_model_init(void)
{
	size_t pages = (size_t)(FZ_MAX_FILE / fz.page) + 1;
	int i;

	for (i = 0; i < FZ_INODES; i++) {
		fz.inode[i].data = model_alloc(FZ_BUF);
		fz.inode[i].witness = -1;
	}
	for (i = 0; i < FZ_MAPS; i++) {
		fz.map[i].priv = model_alloc(FZ_BUF);
		fz.map[i].priv_page = model_alloc(pages);
	}
}

void fz_model_reset(void)
{
	int i;

	for (i = 0; i < FZ_INODES; i++) {
		struct fz_inode *n = &fz.inode[i];

		if (n->witness >= 0)
			close(n->witness);
		memset(n->data, 0, FZ_BUF);
		n->witness = -1;
		n->used = false;
		n->size = 0;
	}
	for (i = 0; i < FZ_MAPS; i++)
		fz.map[i].used = false;
	memset(fz.view, 0, sizeof(fz.view));
	memset(fz.seg, 0, sizeof(fz.seg));
	for (i = 0; i < FZ_NPATHS; i++)
		fz.path_inode[i] = -1;
}

uint64_t fz_page_up(uint64_t v)
{
	return (v + fz.page - 1) & ~(uint64_t)(fz.page - 1);
}

uint64_t fz_page_down(uint64_t v)
{
	return v & ~(uint64_t)(fz.page - 1);
}

/* ------------------------------------------------------------------------ */
/* Inodes and paths                                                         */
/* ------------------------------------------------------------------------ */

/* Returns the index of a new, empty inode with the given permission bits. */
int fz_inode_new(unsigned perm)
{
	int i;

	for (i = 0; i < FZ_INODES; i++) {
		struct fz_inode *n = &fz.inode[i];

		if (n->used)
			continue;
		n->used = true;
		n->witness = -1;
		n->dev = n->ino = 0;
		n->size = 0;
		n->perm = perm;
		n->allocated = true;
		return i;
	}
	fz_fail("model: out of inode slots");
}

/* Returns whether a path or a map still refers to inode i. */
static bool inode_in_use(int i)
{
	int k;

	for (k = 0; k < FZ_NPATHS; k++)
		if (fz.path_inode[k] == i)
			return true;
	for (k = 0; k < FZ_MAPS; k++)
		if (fz.map[k].used && fz.map[k].inode == i)
			return true;
	return false;
}

void fz_inode_release_if_unused(int i)
{
	struct fz_inode *n = &fz.inode[i];

	if (i < 0 || !n->used || inode_in_use(i))
		return;
	if (n->witness >= 0)
		close(n->witness);
	memset(n->data, 0, (size_t)n->size);
	n->witness = -1;
	n->used = false;
}

/*
 * Sets inode i to n bytes as ftruncate does.  Cutting zeroes the model's
 * bytes from n on and gives the pages wholly past n back to the file in
 * every copy-on-write map of the inode.
 */
void fz_inode_set_size(int i, uint64_t n)
{
	struct fz_inode *in = &fz.inode[i];
	int k;

	if (n > FZ_MAX_FILE)
		fz_fail("model: size %llu beyond the model", (unsigned long long)n);
	if (n < in->size) {
		uint64_t first = fz_page_up(n) / fz.page;

		memset(in->data + n, 0, (size_t)(in->size - n));
		for (k = 0; k < FZ_MAPS; k++) {
			struct fz_map *m = &fz.map[k];
			uint64_t p, pages;

			if (!m->used || m->inode != i || m->mode != MMAPIO_COPY_ON_WRITE)
				continue;
			pages = fz_page_up(m->len) / fz.page;
			for (p = first; p < pages; p++)
				m->priv_page[p] = 0;
		}
	}
	in->size = n;
}

/*
 * Rewrites inode i in place with the bytes, size and permission bits of
 * from, as a copy onto an existing destination does today: cut to 0, then
 * written.
 */
void fz_inode_replace(int i, const struct fz_inode *from)
{
	struct fz_inode *in = &fz.inode[i];

	fz_inode_set_size(i, 0);
	memcpy(in->data, from->data, (size_t)from->size);
	in->size = from->size;
	in->perm = from->perm & 0777;
	in->allocated = false;
}

int fz_path_regular(int path)
{
	if (path != FZ_P0 && path != FZ_P1)
		return -1;
	return fz.path_inode[path];
}

/* Opens the fuzzer's own descriptor on inode i through path. */
void fz_witness_attach(int i, int path)
{
	struct fz_inode *n = &fz.inode[i];
	struct stat st;
	int fd;

	if (n->witness >= 0)
		return;
	fd = open(fz.path[path], O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fz_fail("model: cannot open %s to watch it: %s", fz.path[path], strerror(errno));
	if (fstat(fd, &st) < 0)
		fz_fail("model: fstat %s: %s", fz.path[path], strerror(errno));
	n->witness = fd;
	n->dev = (uint64_t)st.st_dev;
	n->ino = (uint64_t)st.st_ino;
}

/* True when an io_uring operation that names path is pending. */
static bool path_busy(int path)
{
	int r, k;

	for (r = 0; r < FZ_RINGS; r++) {
		const struct fz_ring *g = &fz.ring[r];

		if (!g->used || !g->async)
			continue;
		for (k = 0; k < FZ_RING_OPS; k++) {
			const struct fz_rop *o = &g->ops[k];

			if (!o->used || o->kind == MMAPIO_OP_FLUSH)
				continue;
			if (o->path == path || o->src == path || o->dst == path)
				return true;
		}
	}
	return false;
}

void fz_witness_attach_missing(void)
{
	int p;

	for (p = FZ_P0; p <= FZ_P1; p++) {
		int i = fz.path_inode[p];

		if (i >= 0 && fz.inode[i].witness < 0 && !path_busy(p))
			fz_witness_attach(i, p);
	}
}

/* ------------------------------------------------------------------------ */
/* Path operations                                                          */
/* ------------------------------------------------------------------------ */

/*
 * Predicts a create of path (size bytes, flags of MMAPIO_CREATE_*, perm as
 * given in the options) and applies it on success.  Returns the predicted
 * result, with *inode and *created set on success.
 */
int fz_model_create(int path, uint64_t size, unsigned flags, unsigned perm, int *inode,
		    bool *created)
{
	int i;

	if (path == FZ_PD)
		return -EISDIR;
	if (path == FZ_PX)
		return -ENOENT;
	i = fz.path_inode[path];
	*created = i < 0;
	if (i >= 0) {
		if (flags & MMAPIO_CREATE_EXCLUSIVE)
			return -EEXIST;
		/* O_TRUNC, then the size: the same inode, all zeros. */
		fz_inode_set_size(i, 0);
		fz_inode_set_size(i, size);
		fz.inode[i].allocated = !(flags & MMAPIO_CREATE_SPARSE);
		*inode = i;
		return 0;
	}
	i = fz_inode_new((perm != 0 ? perm : 0644) & ~fz.umask_bits & 07777);
	fz_inode_set_size(i, size);
	fz.inode[i].allocated = !(flags & MMAPIO_CREATE_SPARSE);
	fz.path_inode[path] = i;
	*inode = i;
	return 0;
}

/*
 * Predicts mmapio_copy(src, dst, flags) and applies it on success: the
 * source is opened first, then the destination is checked.  Returns the
 * predicted result.
 */
int fz_model_copy(int src, int dst, unsigned flags)
{
	int si, di, ni;

	if (flags & ~(MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE))
		return -EINVAL;
	if (src == FZ_PD)
		return -EISDIR;
	si = fz_path_regular(src);
	if (si < 0)
		return -ENOENT;
	if (dst == FZ_PX)
		return -ENOENT;
	if (dst == FZ_PD)
		return -EISDIR;
	di = fz.path_inode[dst];
	if (di >= 0) {
		if (di == si)
			return -EINVAL;
		if (!(flags & MMAPIO_COPY_OVERWRITE))
			return -EEXIST;
		if (fz.copy_in_place) {
			fz_inode_replace(di, &fz.inode[si]);
			return 0;
		}
	}
	ni = fz_inode_new(fz.inode[si].perm & 0777);
	memcpy(fz.inode[ni].data, fz.inode[si].data, (size_t)fz.inode[si].size);
	fz.inode[ni].size = fz.inode[si].size;
	fz.inode[ni].allocated = false;
	fz.path_inode[dst] = ni;
	if (di >= 0)
		fz_inode_release_if_unused(di);
	return 0;
}

/* Predicts mmapio_delete(path) and applies it.  Returns the predicted result. */
int fz_model_delete(int path)
{
	int i;

	if (path == FZ_PD)
		return -EISDIR;
	i = fz_path_regular(path);
	if (i < 0)
		return -ENOENT;
	fz.path_inode[path] = -1;
	fz_inode_release_if_unused(i);
	return 0;
}

/* The error renameat2 gives for from, to and flags (checked in its order), or 0. */
static int rename_target(int from, int to, unsigned flags)
{
	if (from == FZ_PX || to == FZ_PX || fz_path_regular(from) < 0)
		return -ENOENT;
	/* A file onto the directory d: renameat2 checks NOREPLACE first. */
	if (to == FZ_PD)
		return (flags & MMAPIO_RENAME_NOREPLACE) ? -EEXIST : -EISDIR;
	if ((flags & MMAPIO_RENAME_NOREPLACE) && fz.path_inode[to] >= 0)
		return -EEXIST;
	if ((flags & MMAPIO_RENAME_EXCHANGE) && fz.path_inode[to] < 0)
		return -ENOENT;
	return 0;
}

/*
 * Predicts mmapio_rename(from, to, flags) and applies it on success.  The
 * decoder never renames the directory d, nor exchanges it (from is f, g or
 * nodir/x; an exchange's to is not d), so that d stays where the model
 * has it.  The same name on both sides is a rename that does nothing.
 * Returns the predicted result.
 */
int fz_model_rename(int from, int to, unsigned flags)
{
	const unsigned known = MMAPIO_RENAME_NOREPLACE | MMAPIO_RENAME_EXCHANGE |
			       MMAPIO_RENAME_DURABLE;
	int rc, si, di;

	if ((flags & ~known) || ((flags & MMAPIO_RENAME_NOREPLACE) &&
				 (flags & MMAPIO_RENAME_EXCHANGE)))
		return -EINVAL;
	/* The host's lack comes before anything is looked up (posix_file.c). */
	if (((flags & MMAPIO_RENAME_NOREPLACE) && !fz.rename_noreplace_ok) ||
	    ((flags & MMAPIO_RENAME_EXCHANGE) && !fz.rename_exchange_ok))
		return -ENOTSUP;
	rc = rename_target(from, to, flags);
	if (rc < 0 || from == to)
		return rc;
	si = fz.path_inode[from];
	di = fz.path_inode[to];
	fz.path_inode[to] = si;
	fz.path_inode[from] = (flags & MMAPIO_RENAME_EXCHANGE) ? di : -1;
	if (!(flags & MMAPIO_RENAME_EXCHANGE) && di >= 0)
		fz_inode_release_if_unused(di);
	return 0;
}

void fz_inode_pwrite(int i, uint64_t off, const uint8_t *src, size_t len)
{
	struct fz_inode *in = &fz.inode[i];

	if (len == 0)
		return;
	/* Past the end (another map cut the file): the file grows, with a hole before off. */
	if (off > in->size)
		in->allocated = false;
	if (off + len > in->size)
		fz_inode_set_size(i, off + len);
	memcpy(in->data + off, src, len);
}

/* ------------------------------------------------------------------------ */
/* Maps                                                                     */
/* ------------------------------------------------------------------------ */

uint64_t fz_map_file_size(const struct fz_map *m)
{
	return fz.inode[m->inode].size;
}

void fz_map_expected(const struct fz_map *m, uint64_t off, size_t n, uint8_t *out)
{
	const struct fz_inode *in = &fz.inode[m->inode];

	/* The model's bytes past the end of file are zero, as the file reads. */
	while (n > 0) {
		uint64_t page_end = fz_page_down(off) + fz.page;
		size_t chunk = page_end - off < n ? (size_t)(page_end - off) : n;

		if (m->mode == MMAPIO_COPY_ON_WRITE && m->priv_page[off / fz.page])
			memcpy(out, m->priv + off, chunk);
		else
			memcpy(out, in->data + off, chunk);
		off += chunk;
		out += chunk;
		n -= chunk;
	}
}

/*
 * Makes the pages of [lo, hi) of copy-on-write map m its own, as a write
 * fault does: each takes the bytes the map showed at that moment.
 */
void fz_cow_make_private(struct fz_map *m, uint64_t lo, uint64_t hi)
{
	uint64_t p, last;

	if (m->mode != MMAPIO_COPY_ON_WRITE || hi <= lo)
		return;
	last = fz_page_up(hi < m->len ? hi : m->len) / fz.page;
	for (p = lo / fz.page; p < last; p++) {
		uint64_t a = p * fz.page, b = a + fz.page < m->len ? a + fz.page : m->len;

		if (m->priv_page[p])
			continue;
		fz_map_expected(m, a, (size_t)(b - a), m->priv + a);
		m->priv_page[p] = 1;
	}
}

void fz_map_store(struct fz_map *m, uint64_t off, const uint8_t *src, size_t len)
{
	struct fz_inode *in = &fz.inode[m->inode];

	if (len == 0)
		return;
	switch (m->mode) {
	case MMAPIO_READ_WRITE:
		if (off + len > in->size)
			fz_fail("model: store past the end of the file");
		memcpy(in->data + off, src, len);
		break;
	case MMAPIO_COPY_ON_WRITE:
		fz_cow_make_private(m, off, off + len);
		memcpy(m->priv + off, src, len);
		break;
	default:
		fz_fail("model: store into a read-only map");
	}
}

enum fz_access fz_access_class(const struct fz_map *m, uint64_t off, uint64_t len)
{
	uint64_t size = fz_map_file_size(m);

	if (len == 0 || off + len <= size)
		return FZ_ACC_OK;
	if (off >= fz_page_up(size))
		return FZ_ACC_FAULT;
	return FZ_ACC_AVOID;
}

/*
 * Records a new map of inode in a free slot: its length is the file's size,
 * its reservation what mmapio_options.reserve gives (only when larger than
 * the mapped pages).  Returns the slot.
 */
int fz_map_new(mmapio_map *map, enum mmapio_mode mode, int inode, unsigned flags,
	       uint64_t reserve)
{
	int s;

	for (s = 0; s < FZ_MAPS; s++) {
		struct fz_map *m = &fz.map[s];
		size_t mapped;

		if (m->used)
			continue;
		m->used = true;
		m->map = map;
		m->mode = mode;
		m->inode = inode;
		m->len = fz.inode[inode].size;
		m->sparse = (flags & MMAPIO_CREATE_SPARSE) != 0;
		mapped = (size_t)fz_page_up(m->len);
		m->resv = reserve > m->len && fz_page_up(reserve) > mapped ? (size_t)fz_page_up(reserve)
									   : 0;
		m->resv_base = mmapio_base(map);
		m->views = m->read_views = m->write_views = 0;
		m->ring_counted = m->ring_uncounted = 0;
		m->nlocks = 0;
		memset(m->priv_page, 0, (size_t)(FZ_MAX_FILE / fz.page) + 1);
		if (mode == MMAPIO_COPY_ON_WRITE && (flags & MMAPIO_MAP_POPULATE) && fz.cow_populate)
			fz_cow_make_private(m, 0, m->len);
		return s;
	}
	fz_fail("model: no free map slot");
}

void fz_map_forget(int slot)
{
	int k, inode = fz.map[slot].inode;

	fz.map[slot].used = false;
	for (k = 0; k < FZ_SEGS; k++)
		if (fz.seg[k].used && fz.seg[k].map == slot)
			fz.seg[k].used = false;
	fz_inode_release_if_unused(inode);
}

/* ------------------------------------------------------------------------ */
/* Checks                                                                   */
/* ------------------------------------------------------------------------ */

/* Reads all n bytes at off of fd into buf.  Returns 0 or -errno. */
static int read_all(int fd, uint8_t *buf, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t got = pread(fd, buf, n, (off_t)off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return -errno;
		if (got == 0)
			return -EIO;
		buf += got;
		n -= (size_t)got;
		off += (uint64_t)got;
	}
	return 0;
}

/* Fails the run at the first byte where got and want differ. */
static void compare_bytes(const char *what, const uint8_t *got, const uint8_t *want, size_t n,
			  uint64_t base_off)
{
	size_t i;

	if (memcmp(got, want, n) == 0)
		return;
	for (i = 0; i < n && got[i] == want[i]; i++)
		;
	fz_fail("%s: byte %llu is 0x%02x, the model says 0x%02x", what,
		(unsigned long long)(base_off + i), got[i], want[i]);
}

/*
 * Checks inode i through the fuzzer's own descriptor: size, permission
 * bits, every byte (pread), and the blocks reserved where the model says
 * they are.
 */
void fz_check_inode(int i, const char *why, bool bytes)
{
	const struct fz_inode *n = &fz.inode[i];
	char what[160];
	struct stat st;
	int r;

	if (!n->used || n->witness < 0)
		return;
	if (fstat(n->witness, &st) < 0)
		fz_fail("%s: fstat of the file: %s", why, strerror(errno));
	if ((uint64_t)st.st_size != n->size)
		fz_fail("%s: the file has %lld bytes, the model says %llu", why,
			(long long)st.st_size, (unsigned long long)n->size);
	if ((unsigned)(st.st_mode & 07777) != n->perm)
		fz_fail("%s: the file has mode %04o, the model says %04o", why,
			(unsigned)(st.st_mode & 07777), n->perm);
	if (n->allocated && fz.fs_allocates && (uint64_t)st.st_blocks * 512 < n->size)
		fz_fail("%s: %llu bytes reserved for a preallocated file of %llu", why,
			(unsigned long long)st.st_blocks * 512, (unsigned long long)n->size);
	if (!bytes)
		return;
	r = read_all(n->witness, fz.tmp, (size_t)n->size, 0);
	if (r < 0)
		fz_fail("%s: pread of the file: %s", why, strerror(-r));
	snprintf(what, sizeof(what), "%s: the file (pread)", why);
	compare_bytes(what, fz.tmp, n->data, (size_t)n->size, 0);
}

/*
 * Checks map slot: length, mode, descriptor, base pointer, and the bytes
 * it shows through its base pointer inside the file.
 */
void fz_check_map(int slot, const char *why, bool bytes)
{
	const struct fz_map *m = &fz.map[slot];
	const struct fz_inode *in = &fz.inode[m->inode];
	uint64_t n = m->len < in->size ? m->len : in->size;
	unsigned char *base = mmapio_base(m->map);
	char what[160];
	struct stat st;
	int fd;

	if (mmapio_len(m->map) != m->len)
		fz_fail("%s: map %d: mmapio_len %llu, the model says %llu", why, slot,
			(unsigned long long)mmapio_len(m->map), (unsigned long long)m->len);
	if (mmapio_mode(m->map) != m->mode)
		fz_fail("%s: map %d: mmapio_mode %d, opened as %d", why, slot,
			(int)mmapio_mode(m->map), (int)m->mode);
	fd = mmapio_fd(m->map);
	if (fd < 0 || fstat(fd, &st) < 0)
		fz_fail("%s: map %d: mmapio_fd %d is not open", why, slot, fd);
	if (in->witness >= 0 && ((uint64_t)st.st_ino != in->ino || (uint64_t)st.st_dev != in->dev))
		fz_fail("%s: map %d: mmapio_fd is another file", why, slot);
	/* The header: NULL for a zero-length map without a reservation only. */
	if (m->len == 0 && m->resv == 0 && base != NULL)
		fz_fail("%s: map %d: a zero-length map without a reservation has base %p", why,
			slot, (void *)base);
	if (m->len == 0 && m->resv != 0 && base == NULL)
		fz_fail("%s: map %d: a zero-length map with a reservation has no base", why, slot);
	if (m->len > 0 && base == NULL)
		fz_fail("%s: map %d: base is NULL for %llu bytes", why, slot,
			(unsigned long long)m->len);
	if (m->resv != 0 && fz_page_up(m->len) <= m->resv && (void *)base != m->resv_base)
		fz_fail("%s: map %d: base moved from %p to %p inside its reservation", why, slot,
			m->resv_base, (void *)base);
	if (n == 0 || !bytes)
		return;
	fz_map_expected(m, 0, (size_t)n, fz.tmp);
	snprintf(what, sizeof(what), "%s: map %d (mode %d) through its base", why, slot,
		 (int)m->mode);
	compare_bytes(what, base, fz.tmp, (size_t)n, 0);
}

/*
 * Checks that the directory holds exactly the names the model has, and
 * nothing else (no temporary file of a copy, no stray create).
 */
static void check_dir(const char *why)
{
	struct dirent *e;
	DIR *d = opendir(fz.dir);

	if (d == NULL)
		fz_fail("%s: opendir: %s", why, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		const char *name = e->d_name;

		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strcmp(name, "d") == 0)
			continue;
		/* A pending io_uring operation may be making or removing it. */
		if (strcmp(name, "f") == 0 && (fz.path_inode[FZ_P0] >= 0 || path_busy(FZ_P0)))
			continue;
		if (strcmp(name, "g") == 0 && (fz.path_inode[FZ_P1] >= 0 || path_busy(FZ_P1)))
			continue;
		closedir(d);
		fz_fail("%s: the directory holds \"%s\", which the model does not", why, name);
	}
	closedir(d);
}

void fz_check_paths(const char *why)
{
	struct stat st;
	int p;

	for (p = FZ_P0; p <= FZ_P1; p++) {
		int i = fz.path_inode[p];
		int r;

		if (path_busy(p))
			continue; /* what it names is settled when the operation is reaped */
		r = stat(fz.path[p], &st);
		if (i < 0 && r == 0)
			fz_fail("%s: %s exists, the model says it does not", why, fz.path[p]);
		if (i < 0)
			continue;
		if (r < 0)
			fz_fail("%s: %s: %s, the model says it exists", why, fz.path[p],
				strerror(errno));
		if (!S_ISREG(st.st_mode))
			fz_fail("%s: %s is not a regular file", why, fz.path[p]);
		if (fz.inode[i].witness >= 0 && (uint64_t)st.st_ino != fz.inode[i].ino)
			fz_fail("%s: %s is another inode than the model's", why, fz.path[p]);
	}
	if (stat(fz.path[FZ_PD], &st) < 0 || !S_ISDIR(st.st_mode))
		fz_fail("%s: the directory d is gone", why);
	check_dir(why);
}

void fz_check_all(const char *why)
{
	int i;

	fz_quiesce_all();
	fz_witness_attach_missing();
	fz_check_paths(why);
	for (i = 0; i < FZ_INODES; i++)
		fz_check_inode(i, why, true);
	for (i = 0; i < FZ_MAPS; i++)
		if (fz.map[i].used)
			fz_check_map(i, why, true);
}

/* Returns the number of descriptors this process has open. */
int fz_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1; /* the directory's own */
}
