/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The blocking backend: every operation runs with ordinary system calls on
 * the submitting thread, inside submit(), so its completions are ready as
 * soon as submit() returns and reap() never has anything left to do.
 *
 * It is also the per-operation fallback of the io_uring backend
 * (its run()), which is why everything here is thread-safe and
 * keeps no state outside the engine.  Every system call goes through the
 * mmapio__sys table so that tests can inject failures into it.  EINTR is
 * not retried here: the real table entries retry it themselves, and a
 * failure a test injects must reach the caller unchanged.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "platform.h"
#include "sys.h"

/* The buffer of the pread/pwrite copy loop. */
#define COPY_BUFFER_SIZE ((size_t)1 << 20)

/* The most one copy_file_range call is asked to move (it caps at 2 GiB). */
#define COPY_CHUNK_MAX ((uint64_t)1 << 30)

struct blocking_engine {
	struct mmapio__engine_params params;
	int efd;              /* eventfd to signal after handing back, or -1 */
	uint64_t ops;         /* operations run, for stats */
};

/*
 * Opens the directory that holds path and fsyncs it, so that a new directory
 * entry survives a crash.  Returns 0 or -errno.
 */
static int sync_parent_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *dir = NULL;
	int fd, r;

	if (slash == NULL) {
		dir = strdup(".");
	} else if (slash == path) {
		dir = strdup("/");
	} else {
		dir = strndup(path, (size_t)(slash - path));
	}
	if (dir == NULL)
		return -ENOMEM;

	fd = mmapio__sys.openat(AT_FDCWD, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	free(dir);
	if (fd < 0)
		return fd;

	r = mmapio__sys.fsync(fd);
	mmapio__sys.close(fd);
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
	int r;

	if (size == 0)
		return 0;
	if (!(flags & MMAPIO_CREATE_SPARSE)) {
		r = mmapio__sys.fallocate(fd, 0, 0, size);
		if (r != -EOPNOTSUPP && r != -ENOSYS)
			return r;
	}
	return mmapio__sys.ftruncate(fd, size);
}

/*
 * Opens an existing path again for the non-exclusive create, after the
 * exclusive attempt found it.  A directory is -EISDIR and any other file
 * that is not regular is -EINVAL, so that a FIFO or a device is never
 * truncated or grown.  Returns the descriptor or -errno.
 */
static int reopen_existing(const char *path, unsigned perm)
{
	struct stat st;
	int fd, r;

	/* O_NOCTTY: a terminal device in the way must not become ours. */
	fd = mmapio__sys.openat(AT_FDCWD, path,
				O_CREAT | O_RDWR | O_CLOEXEC | O_TRUNC | O_NOCTTY, perm);
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

MMAPIO_INTERNAL int mmapio__plat_create_file(const char *path, uint64_t size, unsigned perm,
					       unsigned flags, int *created)
{
	struct stat st;
	int fd, r;

	*created = 0;

	/*
	 * The exclusive open tells us whether this call made the file, which
	 * decides whether a failure later may remove it again.
	 */
	fd = mmapio__sys.openat(AT_FDCWD, path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, perm);
	if (fd == -EEXIST) {
		if (flags & MMAPIO_CREATE_EXCLUSIVE) {
			/* A directory in the way is reported as such, not as -EEXIST. */
			if (mmapio__sys.fstatat(AT_FDCWD, path, &st, 0) == 0 && S_ISDIR(st.st_mode))
				return -EISDIR;
			return -EEXIST;
		}
		fd = reopen_existing(path, perm);
		if (fd < 0)
			return fd;
	} else if (fd < 0) {
		return fd;
	} else {
		*created = 1;
	}

	r = size_file(fd, size, flags);
	if (r == 0 && (flags & MMAPIO_CREATE_DURABLE)) {
		r = mmapio__sys.fsync(fd);
		if (r == 0)
			r = sync_parent_dir(path);
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

/*
 * Creates the file of a CREATE operation and closes it again.  Returns 0 or
 * -errno.
 */
static int run_create(const struct mmapio__op *op)
{
	int created;
	int fd = mmapio__plat_create_file(op->u.create.path, op->u.create.size,
					    op->u.create.perm, op->u.create.flags, &created);

	if (fd < 0)
		return fd;
	/* The file is complete; a failing close cannot undo that on Linux. */
	mmapio__sys.close(fd);
	return 0;
}

/*
 * Opens the destination of a copy.  A new file is made exclusively so that
 * we know we created it (*created = 1).  An existing destination is checked
 * against the source first: the same file is -EINVAL and stays untouched,
 * a directory -EISDIR, anything else that is not a regular file -EINVAL,
 * and without MMAPIO_COPY_OVERWRITE it is -EEXIST.  It is truncated only
 * after its descriptor has been checked again, so a rename racing with us
 * cannot make us truncate the source.  Returns the descriptor or -errno.
 */
static int open_copy_dst(const char *dst, const struct stat *src_st, unsigned flags,
			 int *created)
{
	struct stat st;
	int fd, r;

	*created = 0;
	fd = mmapio__sys.openat(AT_FDCWD, dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
				src_st->st_mode & 0777);
	if (fd >= 0) {
		*created = 1;
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

	/* O_NONBLOCK: a FIFO swapped in since the check must not hang us. */
	fd = mmapio__sys.openat(AT_FDCWD, dst, O_WRONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
	if (fd < 0)
		return fd;
	r = mmapio__sys.fstat(fd, &st);
	if (r == 0 && st.st_dev == src_st->st_dev && st.st_ino == src_st->st_ino)
		r = -EINVAL;
	else if (r == 0 && !S_ISREG(st.st_mode))
		r = -EINVAL;
	if (r == 0)
		r = mmapio__sys.ftruncate(fd, 0);
	if (r < 0) {
		mmapio__sys.close(fd);
		return r;
	}
	return fd;
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

	f->out = -1;
	f->created = 0;
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
		f->out = open_copy_dst(dst, &st, flags, &f->created);
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
	if (r < 0) {
		if (f->out >= 0)
			mmapio__sys.close(f->out);
		if (f->created)
			mmapio__sys.unlinkat(AT_FDCWD, dst, 0);
		mmapio__sys.close(f->in);
		f->in = f->out = -1;
		f->created = 0;
	}
	return r;
}

/*
 * Copies the regular file src to dst (see mmapio_copy for the rules).  A
 * destination this call created is removed again on failure.  Returns 0 or
 * -errno.
 */
static int run_copy(const struct mmapio__op *op)
{
	const char *dst = op->u.copy.dst;
	struct mmapio__copy_files f;
	int r, c;

	r = mmapio__plat_copy_open(op->u.copy.src, dst, op->u.copy.flags, &f);
	if (r < 0)
		return r;
	if (f.size > 0)
		r = copy_data(f.in, f.out, f.size);
	if (r == 0 && (op->u.copy.flags & MMAPIO_COPY_DURABLE)) {
		r = mmapio__sys.fsync(f.out);
		if (r == 0)
			r = sync_parent_dir(dst);
	}
	/* On NFS a write-back error can surface only at close. */
	c = mmapio__sys.close(f.out);
	if (r == 0 && c < 0 && c != -EINTR)
		r = c;
	if (r < 0 && f.created)
		mmapio__sys.unlinkat(AT_FDCWD, dst, 0);
	mmapio__sys.close(f.in);
	return r;
}

/*
 * Makes a flush range durable: msync(MS_SYNC) over the mapping where the
 * ring gave an address (the kernel then runs vfs_fsync_range over exactly
 * that range, data only), else fdatasync of the whole file.  Returns 0 or
 * -errno.
 */
static int run_flush(const struct mmapio__op *op)
{
	if (op->u.flush.addr != NULL)
		return mmapio__sys.msync(op->u.flush.addr, (size_t)op->u.flush.len, MS_SYNC);
	return mmapio__sys.fdatasync(op->u.flush.fd);
}

/* Runs one operation with blocking platform calls.  Thread-safe. */
static int blocking_run(struct mmapio__op *op)
{
	switch (op->kind) {
	case MMAPIO_OP_CREATE:
		return run_create(op);
	case MMAPIO_OP_COPY:
		return run_copy(op);
	case MMAPIO_OP_DELETE:
		return mmapio__sys.unlinkat(AT_FDCWD, op->u.del.path, 0);
	case MMAPIO_OP_FLUSH:
		return run_flush(op);
	}
	return -EINVAL;
}

/* Returns 0 with *engine set, or -ENOMEM with the reason in why. */
static int blocking_open(const struct mmapio__engine_params *params, void **engine,
			 char *why, size_t whylen)
{
	struct blocking_engine *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "blocking: out of memory");
		return -ENOMEM;
	}
	e->params = *params;
	e->efd = -1;
	*engine = e;
	return 0;
}

/* Frees the engine; it never owns an operation between calls.  Returns 0. */
static int blocking_close(void *engine)
{
	free(engine);
	return 0;
}

/*
 * Signals the eventfd, if any.  A full counter (EAGAIN) means it is already
 * readable, which is all a waiter needs, so the result is not checked.  The
 * descriptor belongs to the ring, which made it non-blocking.
 */
static void signal_eventfd(int efd)
{
	uint64_t one = 1;
	ssize_t n;

	do {
		n = write(efd, &one, sizeof(one));
	} while (n < 0 && errno == EINTR);
}

/* Runs every operation of the chain and hands each back.  Returns 0. */
static int blocking_submit(void *engine, struct mmapio__op *chain)
{
	struct blocking_engine *e = engine;
	bool any = chain != NULL;

	while (chain != NULL) {
		struct mmapio__op *op = chain;

		/* done() may relink op, so step past it first. */
		chain = op->next;
		op->next = NULL;
		op->result = blocking_run(op);
		e->ops++;
		e->params.done(e->params.ctx, op);
	}
	if (any && e->efd >= 0)
		signal_eventfd(e->efd);
	return 0;
}

/* Everything was handed back inside submit(); returns 0. */
static int blocking_reap(void *engine, unsigned min, int timeout_ms)
{
	return 0;
}

/* Returns 0: the engine never keeps an operation. */
static unsigned blocking_owned(void *engine)
{
	return 0;
}

/* Remembers efd to signal after each submit.  Returns 0. */
static int blocking_set_eventfd(void *engine, int efd)
{
	struct blocking_engine *e = engine;

	e->efd = efd;
	return 0;
}

/* Fills *out with the engine's counters. */
static void blocking_stats(void *engine, struct mmapio__engine_stats *out)
{
	const struct blocking_engine *e = engine;

	memset(out, 0, sizeof(*out));
	out->blocking_ops = e->ops;
}

MMAPIO_INTERNAL const struct mmapio__engine mmapio__engine_blocking = {
	.name = "blocking",
	.kind = MMAPIO_BACKEND_FALLBACK,
	.open = blocking_open,
	.close = blocking_close,
	.submit = blocking_submit,
	.reap = blocking_reap,
	.owned = blocking_owned,
	.set_eventfd = blocking_set_eventfd,
	.stats = blocking_stats,
	.run = blocking_run,
};
