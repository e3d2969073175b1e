/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform's file services on POSIX hosts: opening, describing, sizing,
 * writing, syncing and removing files, creating a map's file, and copying
 * one file to another (the part both engines share, so that they accept and
 * refuse exactly the same things).  Every system call goes through the
 * mmapio__sys table so that tests can inject failures into it.  EINTR is
 * not retried here: the real table entries retry it themselves, and a
 * failure a test injects must reach the caller unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "platform.h"
#include "posix_features.h"
#include "sys.h"

/* The buffer of the pread/pwrite copy loop. */
#define COPY_BUFFER_SIZE ((size_t)1 << 20)

/* The most one copy_file_range call is asked to move (it caps at 2 GiB). */
#define COPY_CHUNK_MAX ((uint64_t)1 << 30)

#ifndef O_PATH
#define O_PATH 0
#endif
#ifndef O_DIRECT
#define O_DIRECT 0
#endif

/* ------------------------------------------------------------------------ */
/* Plain file services                                                      */
/* ------------------------------------------------------------------------ */

/* Fills *out from st; fd_flags from the descriptor's status flags (or 0). */
static void info_from_stat(const struct stat *st, int status_flags,
			   struct mmapio__file_info *out)
{
	memset(out, 0, sizeof(*out));
	out->size = st->st_size > 0 ? (uint64_t)st->st_size : 0;
	out->dev = (uint64_t)st->st_dev;
	out->ino = (uint64_t)st->st_ino;
	out->perm = (uint32_t)(st->st_mode & 07777);
	if (S_ISREG(st->st_mode))
		out->type = MMAPIO__FILE_REGULAR;
	else if (S_ISDIR(st->st_mode))
		out->type = MMAPIO__FILE_DIRECTORY;
	else
		out->type = MMAPIO__FILE_OTHER;
	if (status_flags & O_APPEND)
		out->fd_flags |= MMAPIO__FD_APPEND;
	if (O_DIRECT != 0 && (status_flags & O_DIRECT))
		out->fd_flags |= MMAPIO__FD_DIRECT;
}

MMAPIO_INTERNAL int mmapio__plat_open(const char *path, enum mmapio_mode mode)
{
	/*
	 * O_NONBLOCK keeps a FIFO from blocking the open until a writer comes
	 * (the caller's type check then refuses it); it changes nothing for
	 * regular files.
	 */
	int flags = (mode == MMAPIO_READ_WRITE ? O_RDWR : O_RDONLY) | O_CLOEXEC | O_NOCTTY |
		    O_NONBLOCK;

	return mmapio__sys.openat(AT_FDCWD, path, flags, 0);
}

MMAPIO_INTERNAL int mmapio__plat_dup(int fd, enum mmapio_mode mode)
{
	int fl, acc;

	if (fd < 0)
		return -EBADF;
	fl = mmapio__sys.fcntl_getfl(fd);
	if (fl < 0)
		return fl;
	/* An O_PATH descriptor can neither be read nor mapped. */
	if (O_PATH != 0 && (fl & O_PATH))
		return -EBADF;
	acc = fl & O_ACCMODE;
	if (acc == O_WRONLY || (mode == MMAPIO_READ_WRITE && acc != O_RDWR))
		return -EACCES;
	return mmapio__sys.dupfd(fd);
}

MMAPIO_INTERNAL int mmapio__plat_close(int fd)
{
	return mmapio__sys.close(fd);
}

MMAPIO_INTERNAL int mmapio__plat_file_info(int fd, struct mmapio__file_info *out)
{
	struct stat st;
	int fl, r;

	r = mmapio__sys.fstat(fd, &st);
	if (r < 0)
		return r;
	/*
	 * The status flags decide how the file may be written (O_APPEND,
	 * O_DIRECT): without them the answer would be a guess.
	 */
	fl = mmapio__sys.fcntl_getfl(fd);
	if (fl < 0)
		return fl;
	info_from_stat(&st, fl, out);
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_path_info(const char *path, struct mmapio__file_info *out)
{
	struct stat st;
	int r = mmapio__sys.fstatat(AT_FDCWD, path, &st, 0);

	if (r < 0)
		return r;
	info_from_stat(&st, 0, out);
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_set_size(int fd, uint64_t size)
{
	return mmapio__sys.ftruncate(fd, size);
}

MMAPIO_INTERNAL int mmapio__plat_allocate(int fd, uint64_t off, uint64_t len)
{
	int r = mmapio__sys.fallocate(fd, 0, off, len);

	return r == -ENOSYS ? -EOPNOTSUPP : r;
}

MMAPIO_INTERNAL int mmapio__plat_write_at(int fd, const void *buf, size_t len, uint64_t off)
{
	const unsigned char *p = buf;

	while (len > 0) {
		int64_t n = mmapio__sys.pwrite(fd, p, len, off);

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
#if MMAPIO_APPLE
	/* fsync on macOS leaves the data in the drive's cache. */
	if (fcntl(fd, F_FULLFSYNC) == 0)
		return 0;
#endif
	return mmapio__sys.fdatasync(fd);
}

MMAPIO_INTERNAL char *mmapio__plat_abspath(const char *path)
{
	char cwd[PATH_MAX];
	size_t clen, plen;
	char *abs;

	if (path[0] == '/' || path[0] == '\0' || getcwd(cwd, sizeof(cwd)) == NULL)
		return strdup(path);
	clen = strlen(cwd);
	plen = strlen(path);
	if (clen + 1 + plen >= PATH_MAX)
		return strdup(path);
	abs = malloc(clen + 1 + plen + 1);
	if (abs == NULL)
		return NULL;
	memcpy(abs, cwd, clen);
	abs[clen] = '/';
	memcpy(abs + clen + 1, path, plen + 1);
	return abs;
}

MMAPIO_INTERNAL int mmapio__plat_rename(const char *from, const char *to, unsigned flags)
{
	unsigned kind = flags & (MMAPIO_RENAME_NOREPLACE | MMAPIO_RENAME_EXCHANGE);
	int r;

	if (kind == 0)
		return mmapio__sys.renameat(AT_FDCWD, from, AT_FDCWD, to);
	/* renameat2's RENAME_NOREPLACE is 1 and RENAME_EXCHANGE 2, as ours. */
	r = mmapio__sys.renameat2(AT_FDCWD, from, AT_FDCWD, to, kind);
	/* No renameat2 (-ENOSYS), or a filesystem that lacks the kind (-EINVAL). */
	if (r == -ENOSYS || r == -EINVAL)
		return -ENOTSUP;
	return r;
}

MMAPIO_INTERNAL int mmapio__plat_lock_range(int fd, uint64_t off, uint64_t len, unsigned flags)
{
	return mmapio__sys.setlk(fd, (flags & MMAPIO_RANGE_EXCLUSIVE) ? 2 : 1,
				 !(flags & MMAPIO_RANGE_NOWAIT), MMAPIO_LINUX, off, len);
}

MMAPIO_INTERNAL int mmapio__plat_unlock_range(int fd, uint64_t off, uint64_t len)
{
	return mmapio__sys.setlk(fd, 0, false, MMAPIO_LINUX, off, len);
}

MMAPIO_INTERNAL int mmapio__plat_unlink(const char *path)
{
	return mmapio__sys.unlinkat(AT_FDCWD, path, 0);
}

/* ------------------------------------------------------------------------ */
/* Creating a map's file, copying                                           */
/* ------------------------------------------------------------------------ */

/*
 * Opens the directory that holds path and fsyncs it, so that a new directory
 * entry survives a crash.  Returns 0 or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_sync_dir(const char *dir)
{
	int fd, r;

	fd = mmapio__sys.openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (fd < 0)
		return fd;
	r = mmapio__sys.fsync(fd);
	mmapio__sys.close(fd);
	return r;
}

MMAPIO_INTERNAL int mmapio__plat_sync_parent(const char *path)
{
	char *dir = mmapio__plat_dirname(path);
	int r;

	if (dir == NULL)
		return -ENOMEM;
	r = mmapio__plat_sync_dir(dir);
	free(dir);
	return r;
}

/*
 * Gives the open file exactly size bytes: fallocate reserves the blocks (so
 * that later writes through a mapping cannot fault for lack of space) unless
 * the caller asked for a sparse file or the filesystem cannot do it, in
 * which case ftruncate only sets the length.  Returns 0 or -errno.
 */
static int size_file(int fd, uint64_t size, unsigned flags)
{
	struct stat st;
	int r;

	if (size == 0)
		return 0;
	if (!(flags & MMAPIO_CREATE_SPARSE)) {
		r = mmapio__sys.fallocate(fd, 0, 0, size);
		if (r != -EOPNOTSUPP && r != -ENOSYS)
			return r;
	}
	r = mmapio__sys.ftruncate(fd, size);
	/*
	 * A pseudo-file (procfs, sysfs) calls itself regular, cannot reserve
	 * space, and takes a length without keeping it: refuse it rather than
	 * hand out a map of 0 bytes for a create of size bytes.
	 */
	if (r == 0)
		r = mmapio__sys.fstat(fd, &st);
	if (r == 0 && (uint64_t)st.st_size != size)
		r = -EINVAL;
	return r;
}

/*
 * Opens an existing path again for the non-exclusive create, after the
 * exclusive attempt found it.  A directory is -EISDIR and any other file
 * that is not regular is -EINVAL, so that a FIFO or a device is never
 * truncated or grown.  Returns the descriptor or -errno.
 */
static int reopen_existing(const char *path, unsigned perm, bool keep)
{
	struct stat st;
	int fd, r;

	/*
	 * O_NOCTTY: a terminal device in the way must not become ours.  To
	 * keep the file as it is (MMAPIO_CREATE_OR_OPEN) it is opened without
	 * O_CREAT or O_TRUNC, and non-blocking so that a FIFO cannot hang us.
	 */
	fd = mmapio__sys.openat(AT_FDCWD, path,
				keep ? O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK
				     : O_CREAT | O_RDWR | O_CLOEXEC | O_TRUNC | O_NOCTTY,
				perm);
	if (fd < 0)
		return fd;
	r = mmapio__sys.fstat(fd, &st);
	if (r == 0 && !S_ISREG(st.st_mode))
		r = -EINVAL;
	if (r < 0) {
		mmapio__sys.close(fd);
		return r;
	}
	return fd;
}

static int finish_create(int fd, const char *path, uint64_t size, unsigned flags, int *created);

MMAPIO_INTERNAL int mmapio__plat_create_file(const char *path, uint64_t size, unsigned perm,
					       unsigned flags, int *created)
{
	struct stat st;
	int fd;

	bool keep = (flags & MMAPIO_CREATE_OR_OPEN) != 0;
	int tries = 0;

	*created = 0;

	/*
	 * The exclusive open tells us whether this call made the file, which
	 * decides whether a failure later may remove it again.  An existing
	 * file kept as it is may vanish between the two opens: then the
	 * exclusive create is tried again, so that there is no window in
	 * which another process's file is truncated or a new one is missed.
	 */
	for (;;) {
		fd = mmapio__sys.openat(AT_FDCWD, path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
					perm);
		if (fd != -EEXIST)
			break;
		if (flags & MMAPIO_CREATE_EXCLUSIVE) {
			/* A directory in the way is reported as such, not as -EEXIST. */
			if (mmapio__sys.fstatat(AT_FDCWD, path, &st, 0) == 0 && S_ISDIR(st.st_mode))
				return -EISDIR;
			return -EEXIST;
		}
		fd = reopen_existing(path, perm, keep);
		if (fd >= 0)
			return keep ? fd : finish_create(fd, path, size, flags, created);
		if (fd != -ENOENT || !keep || ++tries == 8)
			return fd;
	}
	if (fd < 0)
		return fd;
	*created = 1;
	return finish_create(fd, path, size, flags, created);
}

/*
 * Gives a file just opened by mmapio__plat_create_file its size and, for a
 * durable create, makes it durable.  Returns fd, or -errno with fd closed
 * and a file this call created removed.
 */
static int finish_create(int fd, const char *path, uint64_t size, unsigned flags, int *created)
{
	int r;

	r = size_file(fd, size, flags);
	if (r == 0 && (flags & MMAPIO_CREATE_DURABLE)) {
		r = mmapio__sys.fsync(fd);
		if (r == 0 && !(flags & MMAPIO__PLAT_NO_DIR_SYNC))
			r = mmapio__plat_sync_parent(path);
	}
	if (r < 0) {
		mmapio__sys.close(fd);
		if (*created)
			mmapio__sys.unlinkat(AT_FDCWD, path, 0);
		*created = 0;
		return r;
	}
	return fd;
}

MMAPIO_INTERNAL char *mmapio__plat_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/*
 * Returns a new heap string naming a temporary for dst in dst's directory
 * (".<name>.mmapio-<pid>-<n>", so that the final rename cannot cross
 * filesystems and a leftover is recognisable), or NULL on ENOMEM.
 */
static char *temp_name(const char *dst)
{
	static unsigned counter;
	const char *base = strrchr(dst, '/');
	char *dir = mmapio__plat_dirname(dst), *name;
	size_t len;

	if (dir == NULL)
		return NULL;
	base = base != NULL ? base + 1 : dst;
	len = strlen(dir) + strlen(base) + 48;
	name = malloc(len);
	if (name != NULL)
		snprintf(name, len, "%s/.%s.mmapio-%ld-%u", dir, base, (long)getpid(),
			 __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED));
	free(dir);
	return name;
}

/*
 * Creates the temporary that a replacing copy is written to: an unnamed
 * O_TMPFILE in dst's directory where the filesystem supports it (a crash
 * then leaves nothing behind), else a named one made exclusively.  Returns
 * the descriptor with f->tmpfile or f->tmp set, or -errno.
 */
static int open_temporary(const char *dst, unsigned mode, struct mmapio__copy_files *f)
{
	char *name;
	int fd, i;

#if MMAPIO_LINUX && defined(O_TMPFILE)
	name = mmapio__plat_dirname(dst);
	if (name == NULL)
		return -ENOMEM;
	fd = mmapio__sys.openat(AT_FDCWD, name, O_TMPFILE | O_WRONLY | O_CLOEXEC, mode);
	free(name);
	if (fd >= 0) {
		f->tmpfile = 1;
		return fd;
	}
	if (fd != -EOPNOTSUPP && fd != -EISDIR && fd != -EINVAL)
		return fd;
#endif
	for (i = 0; i < 16; i++) {
		name = temp_name(dst);
		if (name == NULL)
			return -ENOMEM;
		fd = mmapio__sys.openat(AT_FDCWD, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
					mode);
		if (fd >= 0) {
			f->tmp = name;
			return fd;
		}
		free(name);
		if (fd != -EEXIST)
			break;
	}
	return fd;
}

/*
 * Opens where a copy's data goes.  A new dst is made exclusively so that we
 * know we created it (f->created).  An existing dst is checked against the
 * source: the same file is -EINVAL and stays untouched, a directory
 * -EISDIR, anything else that is not a regular file -EINVAL, and without
 * MMAPIO_COPY_OVERWRITE it is -EEXIST; with it, the copy goes to a
 * temporary (open_temporary) and dst is not opened at all.  Returns the
 * descriptor or -errno.
 */
static int open_copy_dst(const char *dst, const struct stat *src_st, unsigned flags,
			 struct mmapio__copy_files *f)
{
	struct stat st;
	int fd, r;

	fd = mmapio__sys.openat(AT_FDCWD, dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				src_st->st_mode & 0777);
	if (fd >= 0) {
		f->created = 1;
		return fd;
	}
	if (fd != -EEXIST)
		return fd;

	r = mmapio__sys.fstatat(AT_FDCWD, dst, &st, 0);
	if (r < 0)
		return r == -ENOENT ? -EEXIST : r; /* a dangling symlink exists too */
	if (st.st_dev == src_st->st_dev && st.st_ino == src_st->st_ino)
		return -EINVAL;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (!(flags & MMAPIO_COPY_OVERWRITE))
		return -EEXIST;
	return open_temporary(dst, src_st->st_mode & 0777, f);
}

/*
 * Copies from *off to size with pread/pwrite through a 1 MiB buffer, for
 * file pairs copy_file_range cannot handle.  Short reads and writes are
 * continued; a read of 0 bytes means the source shrank, and the copy ends
 * there.  Advances *off.  Returns 0 or -errno.
 */
static int copy_rw(int in, int out, uint64_t *off, uint64_t size)
{
	unsigned char *buf = malloc(COPY_BUFFER_SIZE);
	int r = 0;

	if (buf == NULL)
		return -ENOMEM;
	while (*off < size) {
		size_t want = size - *off < COPY_BUFFER_SIZE ? (size_t)(size - *off)
							       : COPY_BUFFER_SIZE;
		int64_t got, put;
		size_t done = 0;

		got = mmapio__sys.pread(in, buf, want, *off);
		if (got < 0) {
			r = (int)got;
			goto out;
		}
		if (got == 0)
			goto out;
		while (done < (size_t)got) {
			put = mmapio__sys.pwrite(out, buf + done, (size_t)got - done,
						 *off + done);
			if (put < 0) {
				r = (int)put;
				goto out;
			}
			if (put == 0) {
				/* No progress and no error: give up rather than spin. */
				r = -EIO;
				goto out;
			}
			done += (size_t)put;
		}
		*off += (uint64_t)got;
	}
out:
	free(buf);
	return r;
}

/*
 * Copies the data of in to out, which is empty and could not be cloned:
 * copy_file_range (in-kernel, and offloaded by NFS and others), else
 * pread/pwrite.  Returns 0 or -errno.
 */
static int copy_data(int in, int out, uint64_t size)
{
	uint64_t in_off = 0, out_off = 0;

	while (in_off < size) {
		uint64_t left = size - in_off;
		int64_t n;

		n = mmapio__sys.copy_file_range(in, &in_off, out, &out_off,
						(size_t)(left < COPY_CHUNK_MAX ? left : COPY_CHUNK_MAX));
		if (n == -EXDEV || n == -ENOSYS || n == -EOPNOTSUPP || n == -EINVAL)
			return copy_rw(in, out, &out_off, size);
		if (n < 0)
			return (int)n;
		if (n == 0)
			break; /* the source shrank under us: copy what there was */
	}
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_copy_open(const char *src, const char *dst, unsigned flags,
					   struct mmapio__copy_files *f)
{
	struct stat st;
	int r;

	memset(f, 0, sizeof(*f));
	f->out = -1;
	/*
	 * O_NONBLOCK keeps a FIFO from blocking the open until a writer comes
	 * (fstat then refuses it); it changes nothing for regular files.
	 */
	f->in = mmapio__sys.openat(AT_FDCWD, src, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
	if (f->in < 0)
		return f->in;

	r = mmapio__sys.fstat(f->in, &st);
	if (r == 0 && S_ISDIR(st.st_mode))
		r = -EISDIR;
	else if (r == 0 && !S_ISREG(st.st_mode))
		r = -EINVAL;
	if (r == 0) {
		f->out = open_copy_dst(dst, &st, flags, f);
		r = f->out < 0 ? f->out : 0;
	}
	/* The mode passed to open was filtered by the umask; make it exact. */
	if (r == 0)
		r = mmapio__sys.fchmod(f->out, st.st_mode & 0777);
	if (r == 0) {
		f->size = (uint64_t)st.st_size;
		/* Where the filesystem shares extents, a clone beats any copy. */
		if (f->size > 0) {
			r = mmapio__sys.ficlone(f->out, f->in);
			if (r == 0)
				f->size = 0;
			else if (r == -EOPNOTSUPP || r == -EXDEV || r == -EINVAL ||
				 r == -ENOTTY || r == -ENOSYS)
				r = 0;
		}
	}
	if (r < 0)
		return mmapio__plat_copy_close(f, dst, r);
	return 0;
}

/*
 * Gives an unnamed temporary a name in dst's directory, so that rename can
 * put it in dst's place (linkat cannot replace).  linkat with AT_EMPTY_PATH
 * needs a capability; the /proc path does not.  Returns 0 with f->tmp set,
 * or -errno.
 */
static int name_tmpfile(struct mmapio__copy_files *f, const char *dst)
{
	char proc[64], *name;
	int r = -EEXIST, i;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->out);
	for (i = 0; i < 16 && r == -EEXIST; i++) {
		name = temp_name(dst);
		if (name == NULL)
			return -ENOMEM;
		r = mmapio__sys.linkat(f->out, "", AT_FDCWD, name, AT_EMPTY_PATH);
		if (r == -ENOENT || r == -EPERM || r == -EACCES || r == -EINVAL)
			r = mmapio__sys.linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW);
		if (r == 0) {
			f->tmp = name;
			f->tmpfile = 0;
			return 0;
		}
		free(name);
	}
	return r;
}

/*
 * Swaps the temporary and dst (renameat2's RENAME_EXCHANGE), so that the
 * old file stays at hand under the temporary's name until the directory
 * sync says the swap is durable.  Returns 0, -ENOTSUP where the host or
 * filesystem cannot exchange, or -errno.
 */
static int exchange(const char *a, const char *b)
{
	int r = mmapio__sys.renameat2(AT_FDCWD, a, AT_FDCWD, b, MMAPIO_RENAME_EXCHANGE);

	return r == -ENOSYS || r == -EINVAL ? -ENOTSUP : r;
}

/*
 * Puts the temporary in dst's place durably: exchanges the two names,
 * syncs the directory, and only then removes the old file (now under the
 * temporary's name); a failed sync exchanges them back, so that dst is the
 * old file again.  Where exchanging is not supported it renames and syncs,
 * and a failed sync is reported with dst already the new file.  Returns 0
 * or -errno.
 */
/*
 * place_durably without an exchange: the old file keeps a second name (a
 * hard link) while the temporary is renamed over dst and the directory
 * synced, so that a failed sync can rename it back.  Where the filesystem
 * has no hard links, a plain rename and sync, whose failure leaves dst the
 * new file.  Returns 0 or -errno.
 */
static int place_by_link(struct mmapio__copy_files *f, const char *dst)
{
	char *old = temp_name(dst);
	int r;

	if (old == NULL)
		return -ENOMEM;
	r = mmapio__sys.linkat(AT_FDCWD, dst, AT_FDCWD, old, 0);
	if (r < 0 && r != -ENOENT) {
		free(old);
		old = NULL;
		if (r != -EPERM && r != -EOPNOTSUPP && r != -EMLINK)
			return r;
	} else if (r == -ENOENT) {
		free(old); /* dst vanished meanwhile: nothing to keep */
		old = NULL;
	}
	r = mmapio__sys.renameat(AT_FDCWD, f->tmp, AT_FDCWD, dst);
	if (r == 0) {
		free(f->tmp);
		f->tmp = NULL;
		r = mmapio__plat_sync_parent(dst);
		/* The old name goes; should that fail, like the sync, it goes back. */
		if (r == 0 && old != NULL)
			r = mmapio__sys.unlinkat(AT_FDCWD, old, 0);
		if (r < 0 && old != NULL && mmapio__sys.renameat(AT_FDCWD, old, AT_FDCWD, dst) == 0) {
			free(old);
			return r; /* dst is the old file again */
		}
		free(old);
		return r;
	}
	if (old != NULL) {
		mmapio__sys.unlinkat(AT_FDCWD, old, 0);
		free(old);
	}
	return r;
}

static int place_durably(struct mmapio__copy_files *f, const char *dst)
{
	int r = exchange(f->tmp, dst);

	/* No exchange here, or dst vanished meanwhile. */
	if (r == -ENOTSUP || r == -ENOENT)
		return place_by_link(f, dst);
	if (r < 0)
		return r;
	r = mmapio__plat_sync_parent(dst);
	if (r < 0) {
		/* Back: dst is the old file, the temporary the new (removed later). */
		exchange(f->tmp, dst);
		return r;
	}
	/*
	 * The old file, under the temporary's name, goes.  Should that fail,
	 * the names are exchanged back and the error returned, so that a
	 * failed copy still leaves the old dst and no temporary (the new file
	 * is removed by mmapio__plat_copy_close).
	 */
	r = mmapio__sys.unlinkat(AT_FDCWD, f->tmp, 0);
	if (r < 0) {
		exchange(f->tmp, dst);
		return r;
	}
	free(f->tmp);
	f->tmp = NULL;
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_copy_place(struct mmapio__copy_files *f, const char *dst,
					    unsigned flags)
{
	int r;

	if (f->tmpfile) {
		r = name_tmpfile(f, dst);
		if (r < 0)
			return r;
	}
	if (f->tmp == NULL)
		return 0;
	/*
	 * Closed before it is put in place: a write-back error that shows
	 * only at close (NFS) must fail the copy while dst is still the old
	 * file.
	 */
	r = mmapio__sys.close(f->out);
	f->out = -1;
	if (r < 0 && r != -EINTR)
		return r;
	if (flags & MMAPIO_COPY_DURABLE) {
		r = place_durably(f, dst);
		if (r == 0)
			f->synced = 1;
		return r;
	}
	r = mmapio__sys.renameat(AT_FDCWD, f->tmp, AT_FDCWD, dst);
	if (r < 0)
		return r;
	free(f->tmp);
	f->tmp = NULL;
	return 0;
}

MMAPIO_INTERNAL int mmapio__plat_copy_close(struct mmapio__copy_files *f, const char *dst,
					    int result)
{
	int c = 0;

	if (f->out >= 0) {
		/* On NFS a write-back error can surface only at close. */
		c = mmapio__sys.close(f->out);
		if (result == 0 && c < 0 && c != -EINTR)
			result = c;
	}
	if (f->in >= 0)
		mmapio__sys.close(f->in);
	if (result < 0 && f->created)
		mmapio__sys.unlinkat(AT_FDCWD, dst, 0);
	/* A temporary still named here was never put in place. */
	if (f->tmp != NULL) {
		mmapio__sys.unlinkat(AT_FDCWD, f->tmp, 0);
		free(f->tmp);
	}
	memset(f, 0, sizeof(*f));
	f->in = f->out = -1;
	return result;
}

MMAPIO_INTERNAL int mmapio__plat_copy_file(const char *src, const char *dst, unsigned flags)
{
	struct mmapio__copy_files f;
	int r;

	r = mmapio__plat_copy_open(src, dst, flags, &f);
	if (r < 0)
		return r;
	if (f.size > 0)
		r = copy_data(f.in, f.out, f.size);
	if (r == 0 && (flags & MMAPIO_COPY_DURABLE))
		r = mmapio__sys.fsync(f.out);
	if (r == 0)
		r = mmapio__plat_copy_place(&f, dst, flags);
	if (r == 0 && (flags & MMAPIO_COPY_DURABLE) && !f.synced &&
	    !(flags & MMAPIO__PLAT_NO_DIR_SYNC))
		r = mmapio__plat_sync_parent(dst);
	return mmapio__plat_copy_close(&f, dst, r);
}
