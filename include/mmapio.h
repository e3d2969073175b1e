/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmapio: memory-mapped file I/O for Linux, with file creation, copying,
 * deletion and msync-style durability submitted through io_uring and a
 * portable blocking fallback.
 *
 * Conventions that hold for every function below unless its comment says
 * otherwise:
 *
 *  - Functions that can fail return int: >= 0 on success, a negative errno
 *    value on failure.  mmapio_strerror() describes any return value.
 *  - Objects are returned through an out-parameter.  On failure nothing is
 *    allocated, *out is left untouched, and no descriptor or mapping leaks.
 *  - The library never prints, never aborts on bad input, and never exits.
 *  - Offsets and lengths are checked without overflow for any uint64_t or
 *    size_t value: a range is valid when off < mmapio_len(map) and
 *    len <= mmapio_len(map) - off.  A zero-length range at a valid offset is
 *    a no-op that succeeds; on a zero-length map every range is -ERANGE.
 *
 * Error values (see also mmapio_strerror):
 *
 *   -EINVAL   NULL pointer, unknown flag or mode, zero size where not
 *             allowed, non-zero reserved field, misaligned atomic offset
 *             (mmapio_atomic_*)
 *   -ERANGE   off + len beyond the map (checked without overflow)
 *   -EACCES   write, mutable view or resize on a read-only map
 *             (resize also on a copy-on-write map, see mmapio_resize)
 *   -EBUSY    resize or close while views or ring operations are held
 *   -EFAULT   a fault (SIGBUS) caught during a guarded copy: the file was
 *             truncated underneath, the disk is full behind a sparse file,
 *             or the device reported an I/O error
 *   -ENOTSUP  operation not supported on this platform or backend
 *   other     errors from the operating system, passed through as -errno
 */
#ifndef MMAPIO_H
#define MMAPIO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(MMAPIO_BUILDING) && defined(_WIN32)
/* A DLL exports exactly what is marked; callers need no dllimport. */
#define MMAPIO_EXPORT __declspec(dllexport)
#elif defined(MMAPIO_BUILDING) && defined(__GNUC__)
#define MMAPIO_EXPORT __attribute__((visibility("default")))
#else
#define MMAPIO_EXPORT
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

#define MMAPIO_VERSION_MAJOR 0
#define MMAPIO_VERSION_MINOR 1
#define MMAPIO_VERSION_PATCH 0
#define MMAPIO_VERSION_STRING "0.1.0"

/*
 * Encodes a version as one comparable number.  Plain integer arithmetic, so
 * that it also works in #if.
 */
#define MMAPIO_VERSION_ENCODE(maj, min, patch) \
	(((maj) * 65536L) + ((min) * 256L) + (patch))

/* The version of the header being compiled against. */
#define MMAPIO_VERSION_NUMBER \
	MMAPIO_VERSION_ENCODE(MMAPIO_VERSION_MAJOR, MMAPIO_VERSION_MINOR, MMAPIO_VERSION_PATCH)

/* True at compile time when the header is at least version maj.min.patch. */
#define MMAPIO_CHECK_VERSION(maj, min, patch) \
	(MMAPIO_VERSION_NUMBER >= MMAPIO_VERSION_ENCODE(maj, min, patch))

/*
 * Returns the version of the library loaded at run time, encoded as
 * MMAPIO_VERSION_ENCODE does.  Thread-safe.
 */
MMAPIO_EXPORT unsigned long mmapio_version(void);

/* Returns the run-time version as a static string such as "0.1.0". */
MMAPIO_EXPORT const char *mmapio_version_string(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Returns a static string describing a return value of this library: "Success"
 * for values >= 0, the library's meaning for the errno values in the table
 * above, strerror's text for other negative values.  Thread-safe; the string
 * is never freed.
 */
MMAPIO_EXPORT const char *mmapio_strerror(int err);

/* ------------------------------------------------------------------------ */
/* Maps                                                                     */
/* ------------------------------------------------------------------------ */

/* An open file mapping.  Opaque; owns its file descriptor and its mapping. */
typedef struct mmapio_map mmapio_map;

enum mmapio_mode {
	MMAPIO_READ_ONLY = 0,     /* PROT_READ, MAP_SHARED; no locks on reads */
	MMAPIO_READ_WRITE = 1,    /* PROT_READ|PROT_WRITE, MAP_SHARED */
	MMAPIO_COPY_ON_WRITE = 2  /* MAP_PRIVATE: writable, never reaches the file */
};

/* Flags for mmapio_options.flags. */
#define MMAPIO_CREATE_EXCLUSIVE (1u << 0) /* create: fail with -EEXIST if the file exists */
#define MMAPIO_CREATE_SPARSE    (1u << 1) /* create: do not preallocate; ftruncate only */
#define MMAPIO_CREATE_DURABLE   (1u << 2) /* create: fsync the file and its directory */
#define MMAPIO_MAP_POPULATE     (1u << 3) /* create/open: prefault the mapping */

/*
 * Options for mmapio_create, mmapio_open and mmapio_open_fd.  Passing NULL
 * means all defaults, and so does a zero-initialised struct:
 *
 *   struct mmapio_options o = { 0 };
 *
 * Defaults: permission bits 0644 (the umask applies), create truncates or
 * extends an existing file to the size asked for, space is preallocated with
 * fallocate (falling back to ftruncate where the filesystem refuses), no
 * fsync, no address-space reservation.
 */
struct mmapio_options {
	unsigned flags;     /* MMAPIO_CREATE_* and MMAPIO_MAP_* bits */
	unsigned perm;      /* permission bits for created files; 0 means 0644 */
	/*
	 * Address space to reserve for the map, in bytes.  When larger than the
	 * file, the map keeps a PROT_NONE reservation behind the file so that
	 * mmapio_resize can grow up to this size without moving the base
	 * pointer.  0 means no reservation (growth may move the base).  On
	 * Windows without placeholders (before 10 1803, and under wine) the
	 * reservation is let go for the instant a resize remaps the view:
	 * should another thread allocate address space there meanwhile, the
	 * resize fails with -ENOMEM and the base stays.
	 */
	uint64_t reserve;
	uint64_t reserved[6]; /* must be zero; -EINVAL otherwise */
};

/*
 * Creates the regular file at path with exactly size bytes of zeros and maps
 * it read-write.  An existing file is truncated first (its contents are
 * discarded) unless MMAPIO_CREATE_EXCLUSIVE is given.  The file is made with
 * direct system calls on the calling thread: one create gains nothing from a
 * ring round trip (batches of creates go through mmapio_ring_prep_create).
 *
 * @param path  file to create; its directory must exist
 * @param size  length in bytes; 0 is -EINVAL (open an empty file instead)
 * @param opts  NULL for defaults
 * @param[out] out  receives the map; the caller frees it with mmapio_close
 *
 * Returns 0 on success; -EINVAL for NULL path/out, size 0, unknown flags or
 * non-zero reserved fields; -EEXIST with MMAPIO_CREATE_EXCLUSIVE and an
 * existing file; -EISDIR when path is a directory; -ENOSPC when the space
 * cannot be reserved; other -errno from open, fallocate, ftruncate, mmap.
 * On failure a file this call created is removed again (a file that existed
 * before is left truncated).  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_create(const char *path, uint64_t size,
				const struct mmapio_options *opts, mmapio_map **out);

/*
 * Opens the existing regular file at path and maps it in the given mode.
 * An empty file gives a map of length 0.
 *
 * Returns 0 on success; -EINVAL for NULL arguments or an unknown mode;
 * -ENOENT for a missing file; -EISDIR for a directory; -EINVAL for a file
 * that is neither regular nor a directory; -EACCES where the file's
 * permissions forbid the mode; other -errno from open, fstat, mmap.
 * Thread-safe.
 */
MMAPIO_EXPORT int mmapio_open(const char *path, enum mmapio_mode mode,
			      const struct mmapio_options *opts, mmapio_map **out);

/*
 * Maps the regular file open on fd.  The map owns a duplicate of fd
 * (F_DUPFD_CLOEXEC); the caller keeps and closes its own descriptor.  fd
 * must be open for reading, and for writing in MMAPIO_READ_WRITE mode
 * (-EACCES otherwise).  Returns as mmapio_open, plus -EBADF for a bad fd.
 * On Windows fd is a C runtime descriptor (_open, _open_osfhandle), and the
 * map's duplicate is one too.
 */
MMAPIO_EXPORT int mmapio_open_fd(int fd, enum mmapio_mode mode,
				 const struct mmapio_options *opts, mmapio_map **out);

/*
 * Unmaps and closes.  Does not flush: dirty pages of a read-write map reach
 * the file through the page cache as usual, but only mmapio_flush makes
 * them durable.  NULL is a no-op returning 0.
 *
 * Returns 0, or -EBUSY (and leaves the map fully usable) while views or
 * ring operations on the map are outstanding.  Must not race with other
 * calls on the same map.
 */
MMAPIO_EXPORT int mmapio_close(mmapio_map *map);

/* Length of the map in bytes (the file size it was opened or resized to). */
MMAPIO_EXPORT uint64_t mmapio_len(const mmapio_map *map);

/* Mode the map was opened in. */
MMAPIO_EXPORT enum mmapio_mode mmapio_mode(const mmapio_map *map);

/*
 * The map's file descriptor, owned by the map: do not close it.  On Windows
 * a C runtime descriptor; _get_osfhandle gives its handle.
 */
MMAPIO_EXPORT int mmapio_fd(const mmapio_map *map);

/*
 * Raw base pointer of the mapping (NULL for a zero-length map), for callers
 * who do their own concurrency control.  The pointer is valid until the map
 * is closed, or resized without a reservation (see mmapio_options.reserve).
 * Accesses through it are neither bounds-checked nor SIGBUS-guarded.
 */
MMAPIO_EXPORT void *mmapio_base(mmapio_map *map);

/* ------------------------------------------------------------------------ */
/* Copying access (bounds-checked, SIGBUS-guarded)                           */
/* ------------------------------------------------------------------------ */

/*
 * Copies len bytes at off out of the map into dst.  On read-write and
 * copy-on-write maps it holds the map's read lock for the copy, so it never
 * sees a half-applied mmapio_write; on read-only maps it takes no lock.
 *
 * Returns 0; -EINVAL for NULL map or dst (dst may be NULL when len is 0);
 * -ERANGE for a range outside the map; -EFAULT when the copy faulted (the
 * file shrank underneath or the device failed): dst's contents are then
 * unspecified.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_read(mmapio_map *map, uint64_t off, void *dst, size_t len);

/*
 * Copies len bytes from src into the map at off, under the map's write lock
 * (the seed's update_region).  Not durable until flushed.
 *
 * Writes of 64 KiB or more into pages that are not yet in the page cache go
 * through pwrite(2) on the map's descriptor, which fills fresh pages without
 * a fault and a zero-fill each (over twice as fast); the mapping sees the
 * bytes at once, as both share the page cache.  Copy-on-write maps always
 * copy through the mapping.
 *
 * Returns 0; -EINVAL for NULL arguments; -EACCES on a read-only map; -ERANGE
 * for a range outside the map; -EFAULT when the copy faulted or the file was
 * found shorter than the map (truncated underneath, no space behind a sparse
 * file, I/O error); -ENOSPC or -EIO where pwrite reported them.  On failure
 * the range holds an unspecified mix of old and new bytes.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_write(mmapio_map *map, uint64_t off, const void *src, size_t len);

/* ------------------------------------------------------------------------ */
/* Zero-copy views                                                          */
/* ------------------------------------------------------------------------ */

/*
 * A borrowed window into the map.  data/len are for the caller; the private
 * fields must not be touched.  A view holds the map's read lock (read view
 * on a writable map) or write lock (mutable view) until released, so
 * mmapio_write, mutable views and resize wait for it, and close and resize
 * fail with -EBUSY while it is out.
 *
 * Views are NOT guarded against SIGBUS: if another process truncates the
 * file, touching view memory past the new end of file kills the process
 * with SIGBUS like any mapping does.  Use mmapio_read/mmapio_write where
 * the file may change size underneath.
 *
 * A thread must not call mmapio_write, take a mutable view or resize a map
 * while it holds a view of that same map: the write lock would wait for
 * the thread itself.
 */
struct mmapio_view {
	void *data;
	size_t len;
	/* private fields follow */
	mmapio_map *map_;
	unsigned kind_;
	unsigned reserved_;
};

/*
 * Borrows len bytes at off for reading.  Returns 0 with *out filled in;
 * -EINVAL for NULL arguments; -ERANGE for a range outside the map.  Release
 * with mmapio_view_release.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_view_read(mmapio_map *map, uint64_t off, size_t len,
				   struct mmapio_view *out);

/*
 * Borrows len bytes at off for writing, holding the write lock until the
 * view is released.  Returns 0; -EINVAL; -EACCES on a read-only map;
 * -ERANGE.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_view_write(mmapio_map *map, uint64_t off, size_t len,
				    struct mmapio_view *out);

/*
 * Releases a view from mmapio_view_read or mmapio_view_write and clears it.
 * NULL or an already released (zeroed) view is a no-op.
 */
MMAPIO_EXPORT void mmapio_view_release(struct mmapio_view *view);

/* ------------------------------------------------------------------------ */
/* Atomic words                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Sequentially consistent atomic operations on naturally aligned 64- and
 * 32-bit words of the map, for counters and flags shared between threads or
 * between processes mapping the same file read-write.  off must be a
 * multiple of the word size.  They take no write lock (writable maps hold
 * the read lock only to keep resize out), and like views they are not
 * guarded against SIGBUS.  Thread-safe.
 *
 * Each returns 0 (the CAS calls: 1 when the word held *expected and was
 * replaced by desired, 0 when it was not, with *expected updated to the
 * value found); -EINVAL for NULL arguments or a misaligned offset; -ERANGE
 * for a word outside the map; -EACCES for store, add or CAS on a read-only
 * map.  fetch_add stores the previous value in *old when old is not NULL.
 */
MMAPIO_EXPORT int mmapio_atomic_load_u64(mmapio_map *map, uint64_t off, uint64_t *out);
MMAPIO_EXPORT int mmapio_atomic_store_u64(mmapio_map *map, uint64_t off, uint64_t value);
MMAPIO_EXPORT int mmapio_atomic_fetch_add_u64(mmapio_map *map, uint64_t off, uint64_t delta,
					      uint64_t *old);
MMAPIO_EXPORT int mmapio_atomic_cas_u64(mmapio_map *map, uint64_t off, uint64_t *expected,
					uint64_t desired);
MMAPIO_EXPORT int mmapio_atomic_load_u32(mmapio_map *map, uint64_t off, uint32_t *out);
MMAPIO_EXPORT int mmapio_atomic_store_u32(mmapio_map *map, uint64_t off, uint32_t value);
MMAPIO_EXPORT int mmapio_atomic_fetch_add_u32(mmapio_map *map, uint64_t off, uint32_t delta,
					      uint32_t *old);
MMAPIO_EXPORT int mmapio_atomic_cas_u32(mmapio_map *map, uint64_t off, uint32_t *expected,
					uint32_t desired);

/* ------------------------------------------------------------------------ */
/* Segments                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * A value naming a range of a map.  Accessors take offsets relative to the
 * segment and check them against the segment and, again, against the map
 * (which may have shrunk since the segment was made).  Segments own nothing.
 */
struct mmapio_segment {
	mmapio_map *map;
	uint64_t off;
	uint64_t len;
};

/* Fills *out with the range [off, off + len) of map.  Returns 0, -EINVAL, -ERANGE. */
MMAPIO_EXPORT int mmapio_segment_init(struct mmapio_segment *out, mmapio_map *map,
				      uint64_t off, uint64_t len);

/* Fills *out with [off, off + len) relative to seg.  Returns 0, -EINVAL, -ERANGE. */
MMAPIO_EXPORT int mmapio_segment_sub(const struct mmapio_segment *seg, uint64_t off,
				     uint64_t len, struct mmapio_segment *out);

/* mmapio_read relative to the segment.  Returns as mmapio_read. */
MMAPIO_EXPORT int mmapio_segment_read(const struct mmapio_segment *seg, uint64_t off,
				      void *dst, size_t len);

/* mmapio_write relative to the segment.  Returns as mmapio_write. */
MMAPIO_EXPORT int mmapio_segment_write(const struct mmapio_segment *seg, uint64_t off,
				       const void *src, size_t len);

/* A read view of the whole segment.  Returns as mmapio_view_read. */
MMAPIO_EXPORT int mmapio_segment_view_read(const struct mmapio_segment *seg,
					   struct mmapio_view *out);

/* A mutable view of the whole segment.  Returns as mmapio_view_write. */
MMAPIO_EXPORT int mmapio_segment_view_write(const struct mmapio_segment *seg,
					    struct mmapio_view *out);

/* Makes the segment durable.  Returns as mmapio_flush_range. */
MMAPIO_EXPORT int mmapio_segment_flush(const struct mmapio_segment *seg);

/* ------------------------------------------------------------------------ */
/* Durability and size                                                      */
/* ------------------------------------------------------------------------ */

/*
 * Makes the whole map durable with msync(MS_SYNC) semantics: returns 0 only
 * once the data is on stable storage as far as the OS can promise.  Runs
 * msync(MS_SYNC) on the calling thread: one flush through the thread's
 * default ring measured slower on io_uring (README, "Synchronous calls:
 * ring or direct"); MMAPIO_SYNC_ROUTE=ring sends it through the ring
 * instead (IORING_OP_FSYNC with IORING_FSYNC_DATASYNC on io_uring).
 *
 * Read-only maps: 0.  Copy-on-write maps: 0, as their changes never reach
 * the file.  After a flush has failed with a write-back error the kernel may
 * have dropped the dirty pages, so the map remembers the first such error
 * and every later flush of it returns that error too.
 *
 * Returns 0; -EINVAL for NULL; -EIO, -ENOSPC and other -errno from the sync.
 * Thread-safe; does not block readers or writers of the map.
 */
MMAPIO_EXPORT int mmapio_flush(mmapio_map *map);

/*
 * Makes [off, off + len) durable, rounded out to whole pages.  Returns as
 * mmapio_flush, plus -ERANGE for a range outside the map.
 */
MMAPIO_EXPORT int mmapio_flush_range(mmapio_map *map, uint64_t off, uint64_t len);

/*
 * Changes the file's size to new_size and the map with it, under the write
 * lock.  Growth reads as zero (preallocated unless the map was created with
 * MMAPIO_CREATE_SPARSE); shrinking unmaps the tail before the file is cut,
 * so no page stays mapped past end of file.  Growth within the map's
 * reservation keeps the base pointer; growth beyond it may move it.
 *
 * Returns 0; -EINVAL for NULL or new_size 0; -EACCES on read-only and
 * copy-on-write maps (their changes must not reach the file); -EBUSY while
 * views or ring operations are outstanding; -ENOMEM, -ENOSPC and other
 * -errno from the OS, leaving the map and the file at their old size.
 */
MMAPIO_EXPORT int mmapio_resize(mmapio_map *map, uint64_t new_size);

/* ------------------------------------------------------------------------ */
/* Advice, prefetch and locking by range                                    */
/* ------------------------------------------------------------------------ */

enum mmapio_advice {
	MMAPIO_ADVICE_NORMAL = 0,
	MMAPIO_ADVICE_RANDOM,
	MMAPIO_ADVICE_SEQUENTIAL,
	MMAPIO_ADVICE_WILLNEED,       /* start read-ahead, do not wait */
	MMAPIO_ADVICE_DONTNEED,       /* drop the pages from this mapping */
	MMAPIO_ADVICE_POPULATE_READ,  /* prefault readable, waiting (Linux 5.14+) */
	MMAPIO_ADVICE_POPULATE_WRITE  /* prefault writable, waiting (Linux 5.14+) */
};

/*
 * Gives the kernel advice about [off, off + len), rounded out to pages.
 * Returns 0; -EINVAL for NULL or an unknown advice; -ERANGE; -EACCES for
 * POPULATE_WRITE on a read-only map; -ENOTSUP where the kernel lacks the
 * advice; other -errno from madvise.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_advise(mmapio_map *map, uint64_t off, uint64_t len,
				enum mmapio_advice advice);

/*
 * Locks [off, off + len), rounded out to pages, into memory (mlock), or
 * unlocks it.  Returns 0; -EINVAL; -ERANGE; -ENOMEM or -EPERM from mlock
 * when RLIMIT_MEMLOCK is too small.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_lock(mmapio_map *map, uint64_t off, uint64_t len);
MMAPIO_EXPORT int mmapio_unlock(mmapio_map *map, uint64_t off, uint64_t len);

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

#define MMAPIO_COPY_OVERWRITE (1u << 0) /* replace an existing destination */
#define MMAPIO_COPY_DURABLE   (1u << 1) /* fsync the copy and its directory */

/*
 * Copies the regular file src to dst: size and bytes exact, permission bits
 * of src.  Sources under 512 KiB are copied with direct system calls on
 * the calling thread, larger ones through the thread's default ring, where
 * each was measured faster (README, "Synchronous calls: ring or direct");
 * MMAPIO_SYNC_ROUTE=ring|direct overrides the choice.
 *
 * Returns 0; -EINVAL for NULL paths or unknown flags, and when src and dst
 * name the same file (which is left intact); -EEXIST when dst exists and
 * MMAPIO_COPY_OVERWRITE was not given; -ENOENT for a missing src or a
 * missing destination directory; -EISDIR when src is a directory; other
 * -errno from the OS.  A failed copy removes the partial destination it
 * created.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_copy(const char *src, const char *dst, unsigned flags);

/*
 * Removes the file at path with unlink(2) on the calling thread, which
 * measured faster than a round trip through the default ring
 * (MMAPIO_SYNC_ROUTE=ring overrides).  Returns 0; -EINVAL for NULL;
 * -ENOENT; -EISDIR for a directory; other -errno.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_delete(const char *path);


/* ------------------------------------------------------------------------ */
/* Rings: asynchronous and batched operations                               */
/* ------------------------------------------------------------------------ */

/*
 * A submission queue for file operations.  Operations are prepared, then
 * handed over with one mmapio_ring_submit, and their completions are reaped
 * by polling (mmapio_ring_peek), by waiting (mmapio_ring_wait), or by
 * watching mmapio_ring_fd in an event loop.
 *
 * On the io_uring backend the work runs in the kernel while the caller goes
 * on; on the blocking backend submit performs the operations before it
 * returns and their completions are ready at once.
 *
 * Every operation whose prep call returned 0 produces exactly one
 * completion, whatever happens to it later (errors included); an operation
 * whose prep call failed produces none.  A ring is not thread-safe: use it
 * from the thread that opened it.  A ring does not survive fork(): a child
 * shares the parent's kernel ring, so it must open rings of its own (the
 * per-thread default ring of the synchronous calls does this by itself).
 */
typedef struct mmapio_ring mmapio_ring;

enum mmapio_backend {
	MMAPIO_BACKEND_AUTO = 0,     /* io_uring where it works, else blocking */
	MMAPIO_BACKEND_URING = 1,    /* io_uring; fail if it cannot be set up */
	MMAPIO_BACKEND_FALLBACK = 2  /* blocking system calls */
};

struct mmapio_ring_options {
	unsigned queue_depth;        /* operations in flight; 0 means 64 */
	unsigned flags;              /* none defined yet; must be 0 */
	/*
	 * AUTO follows the MMAPIO_BACKEND environment variable (uring,
	 * fallback or auto) when it is set, and picks io_uring where it can
	 * otherwise.  URING or FALLBACK ignore the environment.
	 */
	enum mmapio_backend backend;
	unsigned reserved0;          /* must be zero */
	uint64_t reserved[6];        /* must be zero */
};

enum mmapio_op {
	MMAPIO_OP_CREATE = 1,
	MMAPIO_OP_COPY = 2,
	MMAPIO_OP_DELETE = 3,
	MMAPIO_OP_FLUSH = 4
};

struct mmapio_completion {
	enum mmapio_op op;   /* which kind of operation completed */
	int result;          /* 0 on success, -errno on failure */
	void *user_data;     /* the pointer given to the prep call */
	uint64_t reserved;
};

/* A byte range, for mmapio_ring_prep_flush_ranges. */
struct mmapio_range {
	uint64_t off;
	uint64_t len;
};

/* Counters of a ring, for tests and benchmarks. */
struct mmapio_ring_stats {
	uint64_t prepared;        /* operations accepted by prep calls */
	uint64_t completed;       /* completions handed to the caller */
	uint64_t uring_sqes;      /* requests submitted to io_uring */
	uint64_t uring_enters;    /* io_uring_enter system calls made */
	uint64_t blocking_ops;    /* operations run with blocking calls */
	uint64_t reserved[3];
};

/*
 * Opens a ring.  With the io_uring backend the kernel ring is set up here;
 * a setup failure with -ENOSYS, -EPERM or -ENOMEM selects the blocking
 * backend under MMAPIO_BACKEND_AUTO and is returned under
 * MMAPIO_BACKEND_URING.
 *
 * Returns 0 with *out set (free with mmapio_ring_close); -EINVAL for NULL
 * out, unknown flags or non-zero reserved fields; -ENOTSUP for
 * MMAPIO_BACKEND_URING in a build without io_uring; setup errors as above.
 */
MMAPIO_EXPORT int mmapio_ring_open(const struct mmapio_ring_options *opts, mmapio_ring **out);

/*
 * Waits for every submitted operation to complete, discards completions not
 * yet reaped and operations prepared but not submitted, and frees the ring.
 * No descriptor leaks.  NULL is a no-op.  Call it from the thread that
 * opened the ring.
 *
 * Returns 0; or -EEXIST, leaving the ring open and usable, when another
 * thread calls it while operations are in flight on an io_uring ring that
 * the kernel lets only its opening thread collect from (a single-issuer
 * ring; this version does not set rings up that way).  Close it from its
 * own thread then.
 */
MMAPIO_EXPORT int mmapio_ring_close(mmapio_ring *ring);

/*
 * Which backend the ring runs on, and why, as a static string such as
 * "io_uring" or "blocking: io_uring_setup: Operation not permitted" that
 * stays valid until the ring is closed.  reason may be NULL.
 */
MMAPIO_EXPORT enum mmapio_backend mmapio_ring_backend(const mmapio_ring *ring,
						      const char **reason);

/*
 * The same for the calling thread's default ring, which the synchronous
 * calls use where they go through a ring (copies of 512 KiB and more, or
 * every call with MMAPIO_SYNC_ROUTE=ring), and which is opened on first
 * use.  mmapio_create, mmapio_delete, mmapio_flush and smaller copies run
 * direct system calls on the calling thread and do not need it.  Returns
 * the backend (>= 0), or -errno when the default ring cannot be opened (for
 * example MMAPIO_BACKEND=uring on a system without io_uring).  The reason
 * string is valid until the thread exits.  Like the thread's first
 * synchronous call, it fixes the thread's MMAPIO_SYNC_ROUTE.
 */
MMAPIO_EXPORT int mmapio_default_backend(const char **reason);

/*
 * Prepares the creation of a file of size bytes (0 allowed here: an empty
 * file), honouring opts' perm, MMAPIO_CREATE_EXCLUSIVE, MMAPIO_CREATE_SPARSE
 * and MMAPIO_CREATE_DURABLE.  The path is copied.  Returns 0, or -EINVAL for
 * NULL ring or path, unknown flags or non-zero reserved fields; -ENOMEM.
 */
MMAPIO_EXPORT int mmapio_ring_prep_create(mmapio_ring *ring, const char *path, uint64_t size,
					  const struct mmapio_options *opts, void *user_data);

/* Prepares mmapio_copy(src, dst, flags).  Paths are copied.  Returns 0, -EINVAL, -ENOMEM. */
MMAPIO_EXPORT int mmapio_ring_prep_copy(mmapio_ring *ring, const char *src, const char *dst,
					unsigned flags, void *user_data);

/* Prepares mmapio_delete(path).  The path is copied.  Returns 0, -EINVAL, -ENOMEM. */
MMAPIO_EXPORT int mmapio_ring_prep_delete(mmapio_ring *ring, const char *path, void *user_data);

/*
 * Prepares mmapio_flush_range(map, off, len).  The map must stay open until
 * the completion is reaped: mmapio_close returns -EBUSY before then.
 * Returns 0; -EINVAL; -ERANGE for a range outside the map.
 */
MMAPIO_EXPORT int mmapio_ring_prep_flush(mmapio_ring *ring, mmapio_map *map, uint64_t off,
					 uint64_t len, void *user_data);

/*
 * Prepares one flush covering n ranges of map: they are coalesced and made
 * durable with as few data syncs as possible, and complete as one
 * operation.  The array is copied.  Returns 0; -EINVAL (n == 0 included);
 * -ERANGE when any range is outside the map; -ENOMEM.
 */
MMAPIO_EXPORT int mmapio_ring_prep_flush_ranges(mmapio_ring *ring, mmapio_map *map,
						const struct mmapio_range *ranges, size_t n,
						void *user_data);

/*
 * Hands every prepared operation to the backend.  Returns the number of
 * operations handed over (>= 0), or -errno for a ring-level failure in
 * which case nothing was handed over and the operations stay prepared.
 */
MMAPIO_EXPORT int mmapio_ring_submit(mmapio_ring *ring);

/*
 * Copies up to max completions that are ready into out without blocking.
 * Returns the number copied (0 when none is ready); -EINVAL; or, with
 * nothing to copy, the -errno of a ring-level failure (io_uring_enter
 * failing for good, for example -EBADFD), after which the operations stay
 * in flight: polling again will not help until the cause is gone.
 */
MMAPIO_EXPORT int mmapio_ring_peek(mmapio_ring *ring, struct mmapio_completion *out,
				   unsigned max);

/*
 * Waits until at least min completions are ready (min <= max, at most the
 * number outstanding), or timeout_ms passes (-1: no limit), then copies up
 * to max of them into out.  Returns the number copied, which may be fewer
 * than min on timeout; -EINVAL for bad arguments; -EINTR if a signal
 * interrupted the wait with nothing reaped; or, with nothing reaped, the
 * -errno of a ring-level failure (see mmapio_ring_peek) instead of waiting
 * for ever on a ring that cannot make progress.
 */
MMAPIO_EXPORT int mmapio_ring_wait(mmapio_ring *ring, struct mmapio_completion *out,
				   unsigned max, unsigned min, int timeout_ms);

/*
 * A descriptor (eventfd) that polls readable while completions may be
 * ready; add it to epoll or poll, then call mmapio_ring_peek, which also
 * resets it.  Owned by the ring.  Returns the descriptor, or -errno when it
 * cannot be created.  On Windows it is a C runtime descriptor of an
 * anonymous pipe's read end: PeekNamedPipe on its handle reports a byte
 * while completions may be ready, and a blocking _read of one byte returns
 * then (Windows cannot poll() a pipe).
 */
MMAPIO_EXPORT int mmapio_ring_fd(mmapio_ring *ring);

/* Number of operations submitted whose completions have not been reaped. */
MMAPIO_EXPORT unsigned mmapio_ring_inflight(const mmapio_ring *ring);

/* Copies the ring's counters into *out.  Returns 0 or -EINVAL. */
MMAPIO_EXPORT int mmapio_ring_stats(const mmapio_ring *ring, struct mmapio_ring_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* MMAPIO_H */
