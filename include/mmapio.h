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
 *    value on failure.  mmapio_strerror() describes any return value.  Each
 *    function's comment lists every value it returns; "-errno from X" means
 *    whatever the system call X reports, passed through.
 *  - Objects are returned through an out-parameter, which comes last.  On
 *    failure nothing is allocated, *out is left untouched, and no
 *    descriptor or mapping leaks.
 *  - The library never prints, never aborts on bad input, and never exits.
 *  - Offsets and lengths are checked without overflow for any uint64_t or
 *    size_t value: a range is valid when off < mmapio_len(map) and
 *    len <= mmapio_len(map) - off.  A zero-length range at a valid offset is
 *    a no-op that succeeds; on a zero-length map every range is -ERANGE.
 *  - Getters (mmapio_len, mmapio_mode, mmapio_fd, mmapio_base,
 *    mmapio_ring_backend, mmapio_ring_inflight) accept NULL and then return
 *    the zero value of their return type: 0, NULL, MMAPIO_READ_ONLY or
 *    MMAPIO_BACKEND_AUTO (the enumerators whose value is 0).  The one getter
 *    that returns an int in the -errno convention, mmapio_fd, returns
 *    -EINVAL instead.  Getters never block and never fail otherwise.
 *  - Calls that take a writable map's lock (reads, writes, views, atomics,
 *    advice, flushes, resize) may also return -EAGAIN, passed on from
 *    pthread_rwlock_rdlock when the process holds the system's maximum of
 *    read locks; no other limit of the lock is reachable.
 *  - Every function is thread-safe unless its comment says otherwise; a
 *    ring is the exception (see "Rings").
 *
 * Error values (see also mmapio_strerror):
 *
 *   -EINVAL   NULL pointer, unknown flag or mode, zero size where not
 *             allowed, non-zero reserved field, misaligned atomic offset
 *             (mmapio_atomic_*)
 *   -ERANGE   off + len beyond the map (checked without overflow)
 *   -EACCES   write, mutable view or resize on a read-only map
 *             (resize also on a copy-on-write map, see mmapio_resize)
 *   -EBUSY    close while views (any thread's) or ring operations are
 *             out; resize while ring operations are out
 *   -EDEADLK  the calling thread holds a view of the map and the call needs
 *             the map's write lock (write, mutable view, segment write,
 *             resize): returned at once, never a hang
 *   -EFBIG    a file or size larger than this process can map (beyond
 *             SIZE_MAX, or beyond INT64_MAX for the file system)
 *   -EFAULT   a fault (SIGBUS) caught during a guarded copy: the file was
 *             truncated underneath, the disk is full behind a sparse file,
 *             or the device reported an I/O error
 *   -ENOMEM   the library could not allocate what the call needs
 *   -ENOTSUP  operation not supported on this platform or backend
 *   other     errors from the operating system, passed through as -errno
 *
 * Blocking.  These calls may block the calling thread, and no other does:
 *
 *  - file-system work on the calling thread: mmapio_create, mmapio_open,
 *    mmapio_open_fd, mmapio_resize, mmapio_flush, mmapio_flush_range,
 *    mmapio_segment_flush, mmapio_copy, mmapio_delete, and the first call
 *    of a thread that opens its default ring (mmapio_default_backend,
 *    large copies);
 *  - waiting for the map's lock: mmapio_read, mmapio_segment_read and the
 *    read views and atomics of a writable map wait while another thread
 *    holds a mutable view or writes; mmapio_write, mmapio_segment_write and
 *    mutable views wait while another thread holds any view or writes;
 *    mmapio_resize waits for other threads' writes and views;
 *  - page faults the kernel must serve from the device: any copy into or
 *    out of a map, mmapio_advise with the POPULATE advice, mmapio_lock;
 *  - rings: mmapio_ring_submit on the blocking backend (it runs the
 *    operations before it returns), mmapio_ring_wait (up to its timeout),
 *    and mmapio_ring_close (it waits for the operations in flight).
 *    mmapio_ring_peek never waits; on io_uring, copies beyond the 64 (or
 *    the queue depth, when smaller) whose files submit opened start at the
 *    next mmapio_ring_submit (also with nothing prepared) or a
 *    mmapio_ring_wait with a timeout other than 0, because opening their
 *    files may block.  What runs while the caller calls nothing at all is
 *    said at mmapio_ring_submit.
 *
 * ABI.  Public structs keep reserved space so that later versions can add
 * fields without changing their size, and hold fixed-width integers rather
 * than enums (an enum's size is the compiler's choice); the enum types are
 * kept for function parameters and return values, and each field says
 * which enum its values come from.  Reserved fields of the option structs
 * must be zero (-EINVAL otherwise; zero-initialising the struct does it);
 * reserved fields of the structs the library fills (views, segments,
 * completions, statistics) belong to the library: leave them alone.
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
 * MMAPIO_VERSION_ENCODE does.  Cannot fail.  Thread-safe.
 */
MMAPIO_EXPORT unsigned long mmapio_version(void);

/*
 * Returns the run-time version as a static string such as "0.1.0", never
 * NULL and never freed.  Thread-safe.
 */
MMAPIO_EXPORT const char *mmapio_version_string(void);

/* ------------------------------------------------------------------------ */
/* Errors                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Returns a static string describing a return value of this library: "Success"
 * for values >= 0, the library's meaning for -EINVAL, -ERANGE, -EACCES,
 * -EBUSY, -EFAULT and -ENOTSUP (see the table above), the system's text for
 * other negative values, "Unknown error" where there is none.  Never NULL;
 * the string is never freed.  Thread-safe.
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
#define MMAPIO_CREATE_DURABLE   (1u << 2) /* create: fsync the file and its directory (a
					     ring batch syncs each directory once) */
#define MMAPIO_MAP_POPULATE     (1u << 3) /* create/open: prefault the mapping */
#define MMAPIO_CREATE_OR_OPEN   (1u << 4) /* create: open an existing file as it is instead */

/*
 * Options for mmapio_create, mmapio_open, mmapio_open_fd and
 * mmapio_ring_prep_create.  Passing NULL means all defaults, and so does a
 * zero-initialised struct:
 *
 *   struct mmapio_options o = { 0 };
 *
 * Defaults: permission bits 0644 (the umask applies), create truncates or
 * extends an existing file to the size asked for, space is preallocated with
 * fallocate (falling back to ftruncate where the filesystem refuses), no
 * fsync, no address-space reservation.  The library only reads the struct,
 * and not after the call returns.
 */
struct mmapio_options {
	uint32_t flags;     /* MMAPIO_CREATE_* and MMAPIO_MAP_* bits */
	uint32_t perm;      /* permission bits (<= 07777) for created files; 0 means 0644 */
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
 * discarded) unless MMAPIO_CREATE_EXCLUSIVE is given (-EEXIST), or
 * MMAPIO_CREATE_OR_OPEN, which opens an existing file as it is instead: its
 * own size (0 for an empty file: a map of length 0), not size, its bytes
 * kept; size then applies only to a file this call makes.  The check and
 * the open have no window between them (an exclusive create first, and a
 * file that vanishes before the second open is created after all).  The
 * file is made with
 * direct system calls on the calling thread: one create gains nothing from a
 * ring round trip (batches of creates go through mmapio_ring_prep_create).
 * Blocks for the file-system work, and with MMAPIO_CREATE_DURABLE for two
 * fsyncs.
 *
 * @param path  file to create; its directory must exist
 * @param size  length in bytes; 0 is -EINVAL (open an empty file instead)
 * @param opts  NULL for defaults; MMAPIO_CREATE_*, MMAPIO_MAP_POPULATE
 * @param[out] out  receives the map; the caller frees it with mmapio_close
 *
 * Returns 0 on success; -EINVAL for NULL path/out, size 0, unknown flags,
 * permission bits beyond 07777 or non-zero reserved fields,
 * MMAPIO_CREATE_OR_OPEN together with MMAPIO_CREATE_EXCLUSIVE, when path
 * names an existing file that is not regular, and for a pseudo-file that
 * does not keep the size it is given (procfs, sysfs); -EFBIG for a size beyond
 * SIZE_MAX or INT64_MAX; -EEXIST with MMAPIO_CREATE_EXCLUSIVE and an
 * existing file; -EISDIR when path is a directory; -ENOENT or -ENOTDIR for
 * a missing directory; -EACCES where permissions forbid it; -ENOSPC when
 * the space cannot be reserved; -ENOMEM; other -errno from open,
 * fallocate, ftruncate, fsync, fstat and mmap.  On failure a file this call
 * created is removed again (a file that existed before is left truncated).
 * Thread-safe.
 */
MMAPIO_EXPORT int mmapio_create(const char *path, uint64_t size,
				const struct mmapio_options *opts, mmapio_map **out);

/*
 * Opens the existing regular file at path and maps it in the given mode.
 * An empty file gives a map of length 0.  Of the option flags only
 * MMAPIO_MAP_POPULATE (prefault) and MMAPIO_CREATE_SPARSE (resize grows
 * with ftruncate instead of fallocate) act here; the others are accepted
 * and ignored.
 *
 * @param path  file to open
 * @param mode  MMAPIO_READ_ONLY, MMAPIO_READ_WRITE or MMAPIO_COPY_ON_WRITE
 * @param opts  NULL for defaults
 * @param[out] out  receives the map; the caller frees it with mmapio_close
 *
 * Returns 0 on success; -EINVAL for NULL arguments, an unknown mode,
 * unknown flags or non-zero reserved fields, and for a file that is neither
 * regular nor a directory; -ENOENT for a missing file; -EISDIR for a
 * directory; -EACCES where the file's permissions forbid the mode; -EFBIG
 * for a file larger than the address space; -ENOMEM; other -errno from
 * open, fstat and mmap.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_open(const char *path, enum mmapio_mode mode,
			      const struct mmapio_options *opts, mmapio_map **out);

/*
 * Maps the regular file open on fd.  The map owns a duplicate of fd
 * (F_DUPFD_CLOEXEC); the caller keeps and closes its own descriptor.
 *
 * @param fd  open for reading, and for writing in MMAPIO_READ_WRITE mode
 * @param mode, opts, out  as for mmapio_open
 *
 * Returns as mmapio_open, plus -EBADF for a negative, closed or O_PATH fd;
 * -EACCES when fd's access mode does not allow the map's mode; -EMFILE
 * when the duplicate cannot be made.  On Windows fd is a C runtime
 * descriptor (_open, _open_osfhandle), and the map's duplicate is one too.
 * Thread-safe.
 */
MMAPIO_EXPORT int mmapio_open_fd(int fd, enum mmapio_mode mode,
				 const struct mmapio_options *opts, mmapio_map **out);

/*
 * Unmaps and closes.  Does not flush: dirty pages of a read-write map reach
 * the file through the page cache as usual, but only mmapio_flush makes
 * them durable.  NULL is a no-op returning 0.
 *
 * Returns 0, or -EBUSY (and leaves the map fully usable) while views (of
 * any thread, also of threads that have exited) or ring operations on the
 * map are outstanding.  Must not race with other calls on the same map;
 * never blocks.
 */
MMAPIO_EXPORT int mmapio_close(mmapio_map *map);

/* Length of the map in bytes (the file size it was opened or resized to); 0 for NULL. */
MMAPIO_EXPORT uint64_t mmapio_len(const mmapio_map *map);

/* Mode the map was opened in; MMAPIO_READ_ONLY for NULL. */
MMAPIO_EXPORT enum mmapio_mode mmapio_mode(const mmapio_map *map);

/*
 * The map's file descriptor, owned by the map: do not close it.  -EINVAL
 * for NULL.  On Windows a C runtime descriptor; _get_osfhandle gives its
 * handle.
 */
MMAPIO_EXPORT int mmapio_fd(const mmapio_map *map);

/*
 * Raw base pointer of the mapping, for callers who do their own concurrency
 * control: NULL for NULL and for a zero-length map without a reservation.
 * A map with a reservation (mmapio_options.reserve) has its base from the
 * start, also at length 0, and keeps it while it grows inside the
 * reservation: that is what the reservation is for.  The pointer is valid
 * until the map is closed, or resized beyond its reservation.  Accesses
 * through it are neither bounds-checked nor SIGBUS-guarded.
 */
MMAPIO_EXPORT void *mmapio_base(mmapio_map *map);

/* ------------------------------------------------------------------------ */
/* Copying access (bounds-checked, SIGBUS-guarded)                           */
/* ------------------------------------------------------------------------ */

/*
 * Copies len bytes at off out of the map into dst.  On read-write and
 * copy-on-write maps it holds the map's read lock for the copy, so it never
 * sees a half-applied mmapio_write (and waits for one); on read-only maps it
 * takes no lock.
 *
 * Returns 0; -EINVAL for NULL map or dst (dst may be NULL when len is 0);
 * -ERANGE for a range outside the map; -EFAULT when the copy faulted (the
 * file shrank underneath or the device failed): dst's contents are then
 * unspecified; -ENOMEM only for a thread beyond the 128th using the map at
 * once when the lock's overflow table cannot grow.  A thread holding a
 * mutable view of the map reads it without waiting.  Thread-safe.
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
 * Returns 0; -EINVAL for NULL arguments (src may be NULL when len is 0);
 * -EACCES on a read-only map; -ERANGE for a range outside the map;
 * -EDEADLK at once when the calling thread holds a view of the map (the
 * write lock would wait for the thread itself);
 * -EFAULT when the copy faulted or the file was found shorter than the map
 * (truncated underneath, no space behind a sparse file, I/O error);
 * -ENOSPC, -EIO and other -errno from pwrite and fstat.  On failure the
 * range holds an unspecified mix of old and new bytes.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_write(mmapio_map *map, uint64_t off, const void *src, size_t len);

/* ------------------------------------------------------------------------ */
/* Zero-copy views                                                          */
/* ------------------------------------------------------------------------ */

/*
 * A borrowed window into the map.  data and len are for the caller; the
 * fields after them are the library's: mmapio_view_read and
 * mmapio_view_write fill them, mmapio_view_release reads them and zeroes
 * the whole view.  Do not change them, copy a view to release it twice, or
 * release a view that was never filled (a zeroed one is fine).
 *
 * A view holds the map's read lock (read view on a writable map) or write
 * lock (mutable view) until released, so other threads' mmapio_write,
 * mutable views and resize wait for it, and close fails with -EBUSY while
 * it is out.  It may be released on any thread; it counts as the taking
 * thread's until then.  Readers on different threads write no shared cache
 * line (per-thread counters), and a waiting writer holds back new readers.
 *
 * Views are NOT guarded against SIGBUS: if another process truncates the
 * file, touching view memory past the new end of file kills the process
 * with SIGBUS like any mapping does.  Use mmapio_read/mmapio_write where
 * the file may change size underneath.
 *
 * A thread holding a view of a map gets -EDEADLK at once from
 * mmapio_write, mmapio_view_write, segment writes and mmapio_resize on that
 * map, instead of waiting for itself; the holder of a mutable view reads
 * its own map (reads, read views, atomics, flush, advice) without waiting.
 */
struct mmapio_view {
	void *data;           /* first byte of the range; NULL when released */
	size_t len;           /* length of the range in bytes */
	/* The library's (see above): */
	mmapio_map *map_;     /* the map the view holds */
	uint32_t kind_;       /* what the view holds: no lock, read lock, write lock */
	uint32_t reserved_;   /* reserved for the library */
	void *reserved_words_[4]; /* reserved for the library (libuv's reserved[]) */
};

/*
 * Borrows len bytes at off for reading.
 *
 * @param[out] out  filled in on success; release it with mmapio_view_release
 *
 * Returns 0; -EINVAL for NULL arguments; -ERANGE for a range outside the
 * map; -ENOMEM as mmapio_read.  Waits while another thread writes or holds
 * a mutable view.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_view_read(mmapio_map *map, uint64_t off, size_t len,
				   struct mmapio_view *out);

/*
 * Borrows len bytes at off for writing, holding the write lock until the
 * view is released; waits until no other thread holds a view or writes.
 *
 * @param[out] out  filled in on success; release it with mmapio_view_release
 *
 * Returns 0; -EINVAL for NULL arguments; -EACCES on a read-only map;
 * -ERANGE for a range outside the map; -EDEADLK at once when the calling
 * thread holds a view of the map already.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_view_write(mmapio_map *map, uint64_t off, size_t len,
				    struct mmapio_view *out);

/*
 * Releases a view from mmapio_view_read or mmapio_view_write and zeroes it.
 * NULL or an already released (zeroed) view is a no-op.  Cannot fail and
 * never blocks.  Any thread may release a view.
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
 * the read lock only to keep resize out, so they wait while another thread
 * holds a mutable view), and like views they are not guarded against
 * SIGBUS.  Thread-safe.
 *
 * Each returns 0 (the CAS calls: 1 when the word held *expected and was
 * replaced by desired, 0 when it was not, with *expected updated to the
 * value found); -EINVAL for NULL arguments or a misaligned offset; -ERANGE
 * for a word outside the map; -EACCES for store, add or CAS on a read-only
 * map; -ENOMEM as mmapio_read.  Atomics take only a read hold (the
 * atomic instruction orders them), so they never return -EDEADLK.
 * load stores the word in *out; fetch_add stores the previous value in *old
 * when old is not NULL.
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
 * (which may have shrunk since the segment was made).  Segments own
 * nothing: the map must outlive every use of them.  map, off and len may be
 * read; make segments with mmapio_segment_init or mmapio_segment_sub, which
 * zero the reserved words (a segment built by hand must zero them too).
 */
struct mmapio_segment {
	mmapio_map *map;
	uint64_t off;
	uint64_t len;
	uint64_t reserved[2]; /* the library's: zero, leave them alone */
};

/*
 * Fills *out with the range [off, off + len) of map.
 *
 * @param[out] out  the segment; nothing to free
 *
 * Returns 0; -EINVAL for NULL map or out; -ERANGE for a range outside the
 * map (a zero-length range at a valid offset is fine).  Never blocks.
 */
MMAPIO_EXPORT int mmapio_segment_init(mmapio_map *map, uint64_t off, uint64_t len,
				      struct mmapio_segment *out);

/*
 * Fills *out with [off, off + len) relative to seg.  out may be seg itself.
 * Returns 0; -EINVAL for NULL seg, seg->map or out; -ERANGE for a range
 * outside the segment.  Never blocks.
 */
MMAPIO_EXPORT int mmapio_segment_sub(const struct mmapio_segment *seg, uint64_t off,
				     uint64_t len, struct mmapio_segment *out);

/*
 * mmapio_read relative to the segment.  Returns as mmapio_read, with -EINVAL
 * for NULL seg or seg->map and -ERANGE for a range outside the segment too.
 */
MMAPIO_EXPORT int mmapio_segment_read(const struct mmapio_segment *seg, uint64_t off,
				      void *dst, size_t len);

/*
 * mmapio_write relative to the segment.  Returns as mmapio_write, with
 * -EINVAL for NULL seg or seg->map and -ERANGE for a range outside the
 * segment too.
 */
MMAPIO_EXPORT int mmapio_segment_write(const struct mmapio_segment *seg, uint64_t off,
				       const void *src, size_t len);

/*
 * A read view of the whole segment.  Returns as mmapio_view_read, with
 * -EINVAL for NULL seg or seg->map and -ERANGE for a segment longer than
 * SIZE_MAX too.
 */
MMAPIO_EXPORT int mmapio_segment_view_read(const struct mmapio_segment *seg,
					   struct mmapio_view *out);

/*
 * A mutable view of the whole segment.  Returns as mmapio_view_write, with
 * -EINVAL for NULL seg or seg->map and -ERANGE for a segment longer than
 * SIZE_MAX too.
 */
MMAPIO_EXPORT int mmapio_segment_view_write(const struct mmapio_segment *seg,
					    struct mmapio_view *out);

/*
 * Makes the segment durable.  Returns as mmapio_flush_range, with -EINVAL
 * for NULL seg or seg->map.
 */
MMAPIO_EXPORT int mmapio_segment_flush(const struct mmapio_segment *seg);

/* ------------------------------------------------------------------------ */
/* Durability and size                                                      */
/* ------------------------------------------------------------------------ */

/*
 * Makes the whole map durable with msync(MS_SYNC) semantics: returns 0 only
 * once the data is on stable storage as far as the OS can promise.  Runs
 * msync(MS_SYNC) on the calling thread and blocks until it is done: one
 * flush through a ring measured slower on io_uring (README, "Synchronous
 * calls: ring or direct"); batches of flushes go through
 * mmapio_ring_prep_flush.
 *
 * Read-only maps: 0.  Copy-on-write maps: 0, as their changes never reach
 * the file.  After a flush has failed with a write-back error the kernel may
 * have dropped the dirty pages, so the map remembers the first such error
 * and every later flush of it returns that error too.
 *
 * Returns 0; -EINVAL for NULL; -EIO, -ENOSPC, -EDQUOT and other -errno
 * from msync (or the map's remembered error); -ENOMEM; -ERANGE only when
 * other threads shrink the map again and again while the flush looks up
 * its length.  Thread-safe; does not block readers or writers of the map.
 */
MMAPIO_EXPORT int mmapio_flush(mmapio_map *map);

/*
 * Makes [off, off + len) durable, rounded out to whole pages.  A zero-length
 * range at a valid offset syncs nothing and returns the map's remembered
 * write-back error, if any.  Returns as mmapio_flush, plus -ERANGE for a
 * range outside the map.
 */
MMAPIO_EXPORT int mmapio_flush_range(mmapio_map *map, uint64_t off, uint64_t len);

/*
 * Changes the file's size to new_size and the map with it, under the write
 * lock.  Growth reads as zero (preallocated unless the map was created or
 * opened with MMAPIO_CREATE_SPARSE); shrinking unmaps the tail before the
 * file is cut, so no page stays mapped past end of file.  Growth within the
 * map's reservation keeps the base pointer; growth beyond it may move it.
 * Waits, as a writer does, for other threads' views and writes to end.
 *
 * Returns 0; -EINVAL for NULL or new_size 0; -EACCES on read-only and
 * copy-on-write maps (their changes must not reach the file); -EFBIG for a
 * size beyond SIZE_MAX or INT64_MAX; -EDEADLK at once when the calling
 * thread holds a view of the map; -EBUSY while ring operations on the map
 * are outstanding (they are the caller's to reap, so waiting could hang); -ENOMEM, -ENOSPC, -EDQUOT and other -errno from fallocate,
 * ftruncate, mmap, mremap and munmap, leaving the map and the file at their
 * old size.
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
 * POPULATE advice; -EFAULT when populating met a page past end of file or
 * an I/O error; -ENOMEM and other -errno from madvise.  The POPULATE advice
 * blocks until the pages are in.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_advise(mmapio_map *map, uint64_t off, uint64_t len,
				enum mmapio_advice advice);

/*
 * Locks [off, off + len), rounded out to pages, into memory (mlock, which
 * faults the pages in and so may block), or unlocks it (munlock).  Returns
 * 0; -EINVAL for NULL; -ERANGE; -ENOMEM or -EPERM from mlock when
 * RLIMIT_MEMLOCK is too small; -EAGAIN from mlock when the pages cannot be
 * locked for now; other -errno from munlock.  Thread-safe.
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
 * of src.  Blocks until the copy is complete.  Sources under 512 KiB are
 * copied with direct system calls on the calling thread, larger ones
 * through the thread's default ring (opened on first use), where each was
 * measured faster (README, "Synchronous calls: ring or direct").
 *
 * Returns 0; -EINVAL for NULL paths or unknown flags, when src is neither
 * regular nor a directory (a FIFO, a device), when an existing dst is not
 * a regular file, and when src and dst name the same file (which is left
 * intact); -EEXIST when dst exists and MMAPIO_COPY_OVERWRITE was not given;
 * -ENOENT for a missing src or a missing destination directory; -EISDIR
 * when src or dst is a directory; -EACCES where permissions forbid it;
 * -ENOSPC, -EDQUOT, -EIO and other -errno from open, fstat, fchmod,
 * copy_file_range, read, write, fsync and close; -ENOMEM; for copies that
 * go through the default ring, the -errno of a ring-level failure when
 * even closing the ring could not collect the copy.  A copy the default
 * ring cannot take (it does not open, refuses the copy, or was broken
 * before the copy started) runs direct instead; if the ring fails during
 * the copy it is closed, which waits for the copy, and the copy's own
 * result is returned.  For a ring copy of any size, open a ring.
 *
 * With MMAPIO_COPY_OVERWRITE an existing dst is replaced atomically: the
 * copy is written to a new file in dst's directory (O_TMPFILE where the
 * filesystem has it, else a uniquely named ".<name>.mmapio-*"), made
 * durable first with MMAPIO_COPY_DURABLE, and put in place with one
 * rename, so that dst is at every moment, across a crash too, either the
 * whole old file or the whole new one.  On any failure the old dst is byte
 * for byte what it was and no temporary is left.  A crash can leave one
 * file named ".<name>.mmapio-<pid>-<n>" beside dst (the copy between its
 * naming and the rename, or the old file between the exchange and its
 * removal); dst itself is never affected, and such files are safe to
 * delete.  The new dst has
 * the caller's ownership, not the old one's.  With MMAPIO_COPY_DURABLE the
 * directory is synced after the rename; should that sync fail, the error
 * is returned although dst is already the new file.  A failed copy to a
 * dst that did not exist removes what it created.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_copy(const char *src, const char *dst, unsigned flags);

/*
 * Removes the file at path with unlink(2) on the calling thread, which
 * measured faster than a round trip through a ring.  Returns 0; -EINVAL
 * for NULL; -ENOENT for a missing file; -EISDIR for a directory; -ENOTDIR,
 * -EACCES, -EPERM, -EROFS, -EBUSY and other -errno from unlink; -ENOMEM.
 * Thread-safe.
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

/*
 * Options for mmapio_ring_open.  NULL means all defaults, and so does a
 * zero-initialised struct.  Read only during the call.
 */
struct mmapio_ring_options {
	/*
	 * Operations in flight at once (the window), at most 1024; 0 (the
	 * default) lets io_uring take up to 4000 at once, with a 256 KiB
	 * completion ring: see mmapio_ring_submit.  The blocking backend
	 * ignores it.
	 */
	uint32_t queue_depth;
	uint32_t flags;              /* none defined yet; must be 0 */
	/*
	 * An enum mmapio_backend value.  AUTO follows the MMAPIO_BACKEND
	 * environment variable (uring, fallback or auto) when it is set, and
	 * picks io_uring where it can otherwise.  URING or FALLBACK ignore the
	 * environment.
	 */
	uint32_t backend;
	uint32_t reserved0;          /* must be zero */
	uint64_t reserved[6];        /* must be zero */
};

/* The kind of a completed operation (struct mmapio_completion.op). */
enum mmapio_op {
	MMAPIO_OP_CREATE = 1,   /* mmapio_ring_prep_create */
	MMAPIO_OP_COPY = 2,     /* mmapio_ring_prep_copy */
	MMAPIO_OP_DELETE = 3,   /* mmapio_ring_prep_delete */
	MMAPIO_OP_FLUSH = 4,    /* mmapio_ring_prep_flush, mmapio_ring_prep_flush_ranges */
	MMAPIO_OP_WRITE = 5,    /* mmapio_ring_prep_write */
	MMAPIO_OP_RENAME = 6,   /* mmapio_ring_prep_rename */
	MMAPIO_OP_SYNC_DIR = 7  /* mmapio_ring_prep_sync_dir */
};

/* One finished operation, as mmapio_ring_peek and mmapio_ring_wait fill it. */
struct mmapio_completion {
	uint32_t op;         /* which kind of operation completed: an enum mmapio_op value */
	int32_t result;      /* 0 on success, -errno on failure (as the synchronous call) */
	void *user_data;     /* the pointer given to the prep call */
	uint64_t reserved;   /* the library's: leave it alone */
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
	uint64_t blocking_ops;    /* operations run with blocking calls (the ring's own too) */
	uint64_t reserved[3];     /* the library's: zero today */
};

/*
 * Opens a ring.  With the io_uring backend the kernel ring is set up here;
 * a setup failure with -ENOSYS, -EPERM or -ENOMEM selects the blocking
 * backend under MMAPIO_BACKEND_AUTO and is returned under
 * MMAPIO_BACKEND_URING.
 *
 * @param opts  NULL for defaults
 * @param[out] out  receives the ring; the caller frees it with mmapio_ring_close
 *
 * Returns 0; -EINVAL for NULL out, unknown flags, an unknown backend or
 * non-zero reserved fields; -ENOMEM; -ENOTSUP for MMAPIO_BACKEND_URING in a
 * build without io_uring; -ENOSYS, -EPERM (seccomp, the io_uring_disabled
 * sysctl) or -ENOMEM from io_uring_setup under MMAPIO_BACKEND_URING (or
 * AUTO with MMAPIO_BACKEND=uring); any other -errno from io_uring_setup
 * (-EMFILE, -ENFILE, -EINVAL) under every choice that tries io_uring, as
 * it is not a reason to fall back.  Thread-safe (each ring is then its
 * opener's).
 */
MMAPIO_EXPORT int mmapio_ring_open(const struct mmapio_ring_options *opts, mmapio_ring **out);

/*
 * Waits for every submitted operation to complete, discards completions not
 * yet reaped, operations prepared but not submitted and operations held
 * back by a barrier (those never run), and frees the ring.
 * No descriptor leaks.  NULL is a no-op.  Call it from the thread that
 * opened the ring.  Operations an engine can no longer collect (a ring the
 * kernel disabled) are released without a completion: a map whose flush
 * was among them can be closed, and no error is recorded in it.  Returns
 * 0; it cannot fail.
 */
MMAPIO_EXPORT int mmapio_ring_close(mmapio_ring *ring);

/*
 * Which backend the ring runs on (never MMAPIO_BACKEND_AUTO for a ring; AUTO
 * for NULL), and why: when reason is not NULL it receives a string such as
 * "io_uring" or "blocking: io_uring_setup: Operation not permitted" that
 * stays valid until the ring is closed ("no ring" for NULL, static).
 */
MMAPIO_EXPORT enum mmapio_backend mmapio_ring_backend(const mmapio_ring *ring,
						      const char **reason);

/*
 * The same for the calling thread's default ring, which the synchronous
 * calls use where they go through a ring (copies of 512 KiB and more), and
 * which is opened on first use.  mmapio_create, mmapio_delete,
 * mmapio_flush and smaller copies run direct system calls on the calling
 * thread and do not need it.  After a lasting ring failure the thread's
 * default ring is closed and the next call opens a new one.  Returns the
 * backend (>= 0); or, when the
 * default ring cannot be opened, the errors of mmapio_ring_open with
 * default options (for example -EPERM for MMAPIO_BACKEND=uring where
 * seccomp refuses io_uring, -ENOTSUP for it in a build without io_uring),
 * and -EAGAIN or -ENOMEM when the thread-exit hook cannot be created.  When
 * reason is not NULL it receives a string that is valid until the thread
 * exits.  Thread-safe: each thread has its own default ring.
 */
MMAPIO_EXPORT int mmapio_default_backend(const char **reason);

/*
 * Prepares the creation of a file of size bytes (0 allowed here: an empty
 * file), honouring opts' perm, MMAPIO_CREATE_EXCLUSIVE, MMAPIO_CREATE_SPARSE
 * and MMAPIO_CREATE_DURABLE (MMAPIO_MAP_POPULATE is accepted and does
 * nothing).  The path is copied; opts is read during the call only.
 * Returns 0; -EINVAL for NULL ring or path, unknown flags, permission bits
 * beyond 07777 or non-zero reserved fields; -ENOMEM.  The completion carries
 * what mmapio_create would return for the file itself.  Never blocks.
 *
 * A durable create completes once the file and its name are durable.
 * Durable creates, copies and renames of one submit share their directory
 * syncs: see mmapio_ring_submit.
 */
MMAPIO_EXPORT int mmapio_ring_prep_create(mmapio_ring *ring, const char *path, uint64_t size,
					  const struct mmapio_options *opts, void *user_data);

/*
 * Prepares mmapio_copy(src, dst, flags).  Paths are copied (relative ones
 * made absolute against the current directory now).  Returns 0; -EINVAL
 * for NULL ring or paths, or unknown flags; -ENOMEM.  The completion
 * carries what mmapio_copy would return.  Never blocks.  Durable copies of
 * one submit share their directory syncs (see mmapio_ring_submit).
 */
MMAPIO_EXPORT int mmapio_ring_prep_copy(mmapio_ring *ring, const char *src, const char *dst,
					unsigned flags, void *user_data);

/*
 * Prepares mmapio_delete(path).  The path is copied (a relative one made
 * absolute now).  Returns 0; -EINVAL for NULL ring or path; -ENOMEM.  The
 * completion carries what mmapio_delete would return.  Never blocks.
 */
MMAPIO_EXPORT int mmapio_ring_prep_delete(mmapio_ring *ring, const char *path, void *user_data);

/*
 * Prepares mmapio_flush_range(map, off, len).  The map must stay open until
 * the completion is reaped: mmapio_close returns -EBUSY before then, and so
 * does mmapio_resize.  A flush with nothing to sync (a read-only or
 * copy-on-write map, or an empty range) completes in the ring without
 * touching the map again, and so does not hold it.  Returns 0; -EINVAL for NULL ring or map; -ERANGE
 * for a range outside the map; -ENOMEM.  The completion carries what
 * mmapio_flush_range would return (0 for read-only and copy-on-write maps).
 * Never blocks.
 */
MMAPIO_EXPORT int mmapio_ring_prep_flush(mmapio_ring *ring, mmapio_map *map, uint64_t off,
					 uint64_t len, void *user_data);

/*
 * Prepares one flush of n ranges of map, completing as one operation: when
 * it completes with 0 the bytes of every range are durable, as after
 * mmapio_flush_range of each.  Only the ranges are written back, not the
 * pages between them (in a map dirty elsewhere, a sync of their span would
 * write back everything in it).  The ranges may come in any order and
 * overlap; empty ones are skipped (only empty ones: the completion carries
 * what an empty mmapio_flush_range would).
 *
 * Merge rule: each range is rounded out to whole pages, they are sorted by
 * offset, and two become one when the gap between them is at most one page
 * (0 when they touch or overlap); nothing else is merged.  The kernel
 * writes back whole page-cache folios, so a 4 KiB range can take up to the
 * folio that holds it (ext4 makes folios of up to 2 MiB) to the disk.
 *
 * The sequence, and why it is durable: write-back of every merged range is
 * started, then each is written again where it was dirtied meanwhile and
 * waited for (sync_file_range WRITE, then WAIT_BEFORE | WRITE |
 * WAIT_AFTER), and finally one ranged data sync over the first range
 * (msync(MS_SYNC), vfs_fsync_range), which finds it clean and so only
 * writes the file's metadata and flushes the disk's cache, once for all
 * the ranges whose writes have finished by then.  On io_uring the
 * requests of each step are in flight together (IORING_OP_SYNC_FILE_RANGE,
 * then one IORING_OP_FSYNC with IORING_FSYNC_DATASYNC), ordered after
 * nothing else in the ring; a kernel without IORING_OP_SYNC_FILE_RANGE
 * runs the operation on the blocking engine, which makes the same calls.
 * Where the platform has no sync_file_range (macOS, the BSDs) each range
 * is msync(MS_SYNC)ed in turn (on macOS one F_FULLFSYNC follows); on
 * Windows each is FlushViewOfFile'd and one FlushFileBuffers follows.
 *
 * The first failure stops the sequence and is the completion's result; a
 * write-back error sticks to the map as for mmapio_flush_range.  The
 * operation completes exactly once, whatever fails.  The array is read
 * during the call only.  Returns 0; -EINVAL for NULL ring, map or ranges,
 * or n == 0; -ERANGE when any range is outside the map; -ENOMEM.  Never
 * blocks.
 */
MMAPIO_EXPORT int mmapio_ring_prep_flush_ranges(mmapio_ring *ring, mmapio_map *map,
						const struct mmapio_range *ranges, size_t n,
						void *user_data);

/*
 * Hands every prepared operation to the backend.  On the blocking backend
 * the operations run before it returns.
 *
 * On io_uring, submit puts into the kernel, before it returns, the first
 * stage of every operation that fits in the window, and the kernel runs
 * those stages to their end with no further call from the caller, whether
 * it sleeps or computes.  The window is queue_depth operations when the
 * caller gives one; with 0 it is 4000 (halved down to 64 where the kernel
 * refuses the memory, as RLIMIT_MEMLOCK does before Linux 5.12; 64 on
 * kernels without sparse direct descriptor tables (Linux 5.18 and older),
 * where each running create would hold one of the process's descriptors).
 * Creates,
 * durable copies, durable renames and directory syncs also need one of
 * the ring's direct descriptor slots, of which there are as many as the
 * window, at most the soft RLIMIT_NOFILE when the ring opened (the ring
 * never raises it).  The cost of the default window: 64 bytes of kernel
 * completion ring per operation and 16 KiB of submission ring, 276 KiB
 * mapped per ring (28 KiB for queue_depth 64), plus about 8 bytes of
 * kernel and 4 of user memory per slot; each operation running holds
 * about 1 KiB more until it completes.
 *
 * A first stage is: for a create, the whole file (open, allocate or size,
 * fsync when durable, close); a delete; a flush of up to 16 GiB (8 parts of
 * 2 GiB); a write (but for the rest of a short one); a rename.  Measured
 * (benchmark W12): 1000 creates submitted on a default ring, the caller
 * asleep, were all on disk in 24.6 ms against 22.9 ms for a batch reaped
 * with mmapio_ring_wait; with queue_depth 64, 64 of the 1000 were there
 * after 45.7 ms.
 *
 * The ring has no thread of its own, so everything else waits for the
 * caller's next mmapio_ring_submit, mmapio_ring_peek or mmapio_ring_wait
 * (and every completion is only handed over by those): operations beyond
 * the window, and creates beyond the slots (with RLIMIT_NOFILE at 64, the
 * 65th create of a batch starts when the caller next calls), which start
 * as those calls collect finished ones; the later stages of an operation,
 * which start from its first stage's completions: the directory sync of a
 * durable create, copy or rename, a create that finds a file in the way or
 * whose file system refuses fallocate, a flush's parts beyond the eighth,
 * the rest of a short write; and every copy's data: each 1 MiB chunk's
 * write is queued as its read's completion is collected, so a 64 MiB copy
 * submitted to a caller who then slept for 1 s had written nothing (87 to
 * 127 ms when driven).  mmapio_ring_close waits for all of it.  Groups
 * held back by a barrier wait for the caller's next call too, except
 * chains of single writes and flushes, which the kernel runs in order by
 * itself (see mmapio_ring_barrier); after a short write in such a chain,
 * the rest of the write and what follows it wait for the next call.
 *
 * Returns the number of operations
 * handed over (>= 0, 0 when none was prepared); -EINVAL for NULL;
 * -EOVERFLOW when more than INT_MAX operations are prepared; or the -errno
 * of a ring-level failure, in which case nothing was handed over and the
 * operations stay prepared.
 *
 * Durable operations handed over together share their directory syncs:
 * where two or more of MMAPIO_CREATE_DURABLE creates, MMAPIO_COPY_DURABLE
 * copies (without MMAPIO_COPY_OVERWRITE) and MMAPIO_RENAME_DURABLE renames
 * of this submit, between the same two barriers, name entries in one
 * directory, each of them makes its own file durable and the ring syncs
 * that directory once, after the last of them has finished (a rename's
 * two directories each with the others that name it).  Their completions
 * still mean what they say: each is delivered only after its directory's
 * sync (and a rename's after both), and when that sync fails, every one of
 * them completes with its error, as a sync of its own would have, and the
 * files those creates made and those copies wrote are removed again.  The
 * group they belong to completes, for the next barrier, only after the
 * sync.  An operation alone in its directory syncs it itself, as before;
 * an overwriting durable copy always does, because the sync is part of
 * putting the copy in place.  The directory is the one the absolute path
 * names (its dirname): two paths that reach one directory differently
 * (a symbolic link, a bind mount) count as two and are synced twice, which
 * is safe.  The shared syncs are operations of the ring's own: they have
 * no completion, but count in mmapio_ring_stats' engine counters.
 */
MMAPIO_EXPORT int mmapio_ring_submit(mmapio_ring *ring);

/*
 * Copies up to max completions that are ready into out without blocking.
 * Returns the number copied (0 when none is ready); -EINVAL for NULL ring,
 * NULL out with max > 0, or max > INT_MAX; or, with nothing to copy, the
 * -errno of a ring-level failure (io_uring_enter failing for good, for
 * example -EBADFD), after which the operations stay in flight: polling
 * again will not help until the cause is gone.  -EAGAIN, -EBUSY and -ETIME
 * from the kernel are passing conditions, not failures: peek then reports
 * nothing ready.
 */
MMAPIO_EXPORT int mmapio_ring_peek(mmapio_ring *ring, struct mmapio_completion *out,
				   unsigned max);

/*
 * Waits until at least min completions are ready (min <= max, at most the
 * number outstanding), or timeout_ms passes (-1: no limit, 0: do not wait),
 * then copies up to max of them into out.  Returns the number copied, which
 * may be fewer than min on timeout; -EINVAL for NULL ring, NULL out with
 * max > 0, min > max, max > INT_MAX or timeout_ms < -1; -EINTR if a signal
 * interrupted the wait with nothing reaped; or, with nothing reaped, the
 * -errno of a ring-level failure (see mmapio_ring_peek) instead of waiting
 * for ever on a ring that cannot make progress.  Passing conditions
 * (-EAGAIN, -EBUSY, -ETIME from the kernel) do not end the wait before min
 * or the timeout.
 */
MMAPIO_EXPORT int mmapio_ring_wait(mmapio_ring *ring, struct mmapio_completion *out,
				   unsigned max, unsigned min, int timeout_ms);

/*
 * A descriptor (eventfd) that polls readable while completions may be
 * ready; add it to epoll or poll, then call mmapio_ring_peek, which also
 * resets it.  Owned by the ring: do not close it.  Returns the descriptor
 * (the same one on every call); -EINVAL for NULL; -EMFILE, -ENFILE,
 * -ENOMEM from eventfd (or pipe); or the -errno of registering it with
 * io_uring.  On Windows it is a C runtime descriptor of an anonymous pipe's
 * read end: PeekNamedPipe on its handle reports a byte while completions
 * may be ready, and a blocking _read of one byte returns then (Windows
 * cannot poll() a pipe).
 */
MMAPIO_EXPORT int mmapio_ring_fd(mmapio_ring *ring);

/* Number of operations submitted whose completions have not been reaped; 0 for NULL. */
MMAPIO_EXPORT unsigned mmapio_ring_inflight(const mmapio_ring *ring);

/*
 * Copies the ring's counters into *out.  Returns 0, or -EINVAL for NULL ring
 * or out.  Never blocks.
 */
MMAPIO_EXPORT int mmapio_ring_stats(const mmapio_ring *ring, struct mmapio_ring_stats *out);

/* ------------------------------------------------------------------------ */
/* Storage-engine primitives                                                */
/* ------------------------------------------------------------------------ */

#define MMAPIO_RENAME_NOREPLACE (1u << 0) /* -EEXIST if `to` exists */
#define MMAPIO_RENAME_EXCHANGE  (1u << 1) /* swap the two names atomically */
#define MMAPIO_RENAME_DURABLE   (1u << 2) /* fsync the directory (both, if they differ) */

/*
 * Renames the file at from to to, atomically: to names either the old file
 * or from's, never neither.  MMAPIO_RENAME_NOREPLACE refuses an existing
 * to with -EEXIST (without a window between check and rename);
 * MMAPIO_RENAME_EXCHANGE swaps two existing names; MMAPIO_RENAME_DURABLE
 * then syncs the directory of to (and of from when it is another one), so
 * that the new names survive a crash.  Runs on the calling thread.
 *
 * Returns 0; -EINVAL for NULL paths, unknown flags, or NOREPLACE together
 * with EXCHANGE; -ENOTSUP where the host or filesystem lacks NOREPLACE or
 * EXCHANGE (renameat2 on Linux 3.15+; ext4, XFS, Btrfs, tmpfs have both);
 * -EEXIST; -ENOENT; -EXDEV across filesystems; other -errno from the OS.
 * With DURABLE, a failing directory sync is returned although the rename
 * itself happened.  Thread-safe; may block.
 */
MMAPIO_EXPORT int mmapio_rename(const char *from, const char *to, unsigned flags);

/*
 * Ordering on a ring.  mmapio_ring_barrier splits the operations prepared
 * on a ring into groups: an operation prepared after a barrier starts only
 * when every operation prepared before it on this ring (submitted earlier
 * or not) has completed.  If any of those failed (a completion result < 0,
 * -ECANCELED included), every operation of the group after the barrier
 * completes with -ECANCELED without running, and that group counts as
 * failed for the next barrier: once a group before a barrier has failed,
 * every later operation on that ring after a barrier is cancelled, so a
 * caller that wants to go on after a failed ordered commit opens a new
 * ring.  A barrier with nothing prepared since the last one (or since the
 * ring opened) adds nothing.
 *
 * The ring has no thread of its own: a group held back by a barrier is
 * handed to the engine by the caller's next mmapio_ring_submit,
 * mmapio_ring_peek or mmapio_ring_wait after the group before it has
 * completed (mmapio_ring_wait does so itself while it waits, so a wait for
 * every outstanding completion returns when all groups are done).  The
 * group is handed over as mmapio_ring_submit hands operations over, so a
 * peek that releases one may do what a submit may (on io_uring: open a
 * copy's files, run an operation the kernel lacks).  Held
 * operations count as submitted: mmapio_ring_inflight includes them.
 *
 * What runs without the caller (io_uring).  Where a barrier separates two
 * groups of exactly one operation each that reach the engine together
 * (prepared and submitted in one mmapio_ring_submit, or released together
 * by one call), and each is a mmapio_ring_prep_write of at most 1 GiB or a
 * mmapio_ring_prep_flush of at most 2 GiB, the kernel runs them in order
 * itself (a linked chain), with no call between them: write, barrier,
 * flush, submit, and both complete while the caller sleeps.  Chains of
 * such single-operation groups (write, barrier, flush, barrier, write)
 * run the same way.  The outcome is the one described above: after a
 * failed (or short and then failed) write the flush completes with
 * -ECANCELED without running.  Not chained: a flush of a map whose sticky
 * write-back error is set, a write on a map whose descriptor has O_APPEND
 * or O_DIRECT (see mmapio_ring_prep_write), flushes of several ranges,
 * groups of several operations (those run in parallel, which is faster
 * than a chain), and other kinds; those wait for the caller's next call
 * as above.
 * mmapio_ring_cancel of an operation chained behind another returns
 * -EALREADY, as for any operation the engine has.  The blocking engine
 * runs operations in mmapio_ring_submit anyway.
 *
 * Returns 0, or -EINVAL for NULL.  A barrier is not an operation: it has
 * no completion.  Never blocks.
 */
MMAPIO_EXPORT int mmapio_ring_barrier(mmapio_ring *ring);

/*
 * Prepares writing len bytes from src into the file of map at off, through
 * the file (pwrite; coherent with the MAP_SHARED mapping, whose pages show
 * the bytes), not through the mapping: so the bytes cannot be written back
 * before the operation runs, which a barrier can order after a flush.  src
 * is not copied and must stay valid and unchanged until the completion is
 * reaped.  The map must stay open until then: mmapio_close and
 * mmapio_resize return -EBUSY before that, as for a ring flush.  The write
 * is not durable by itself: flush the range afterwards (after a barrier).
 * On a map whose descriptor has O_APPEND or O_DIRECT (mmapio_open_fd),
 * where a write at off would land at the end of the file or be refused
 * for its alignment, the bytes are copied through the mapping instead,
 * when the operation runs (on the calling thread: such a write is not the
 * kernel's, on either engine), as mmapio_write does for such maps; so
 * they still cannot be written back before then.  The descriptor's flags
 * are asked by this call.
 *
 * Returns 0; -EINVAL for NULL ring or map, or NULL src with len > 0;
 * -ERANGE for a range outside the map (len 0 included when off is at or
 * past the end, as mmapio_write);
 * -EACCES for a read-only or copy-on-write map; -ENOMEM.  The completion
 * (MMAPIO_OP_WRITE) carries 0, or the -errno of the write (-ENOSPC, -EIO;
 * -EFAULT through the mapping when the file has shrunk under the map, as
 * mmapio_write).  Never blocks.
 */
MMAPIO_EXPORT int mmapio_ring_prep_write(mmapio_ring *ring, mmapio_map *map, uint64_t off,
					 const void *src, size_t len, void *user_data);

/*
 * Prepares mmapio_rename(from, to, flags) (MMAPIO_RENAME_NOREPLACE,
 * _EXCHANGE, _DURABLE; with DURABLE the directory of to, and of from when
 * it is another one, is synced before the operation completes).  Paths are
 * copied (relative ones made absolute against the current directory now).
 * Returns 0; -EINVAL for NULL ring or paths, unknown flags, or NOREPLACE
 * together with EXCHANGE; -ENOMEM.  The completion (MMAPIO_OP_RENAME)
 * carries what mmapio_rename would return.  Never blocks.  Durable renames
 * of one submit share their directory syncs with each other and with
 * durable creates and copies (see mmapio_ring_submit).
 */
MMAPIO_EXPORT int mmapio_ring_prep_rename(mmapio_ring *ring, const char *from, const char *to,
					  unsigned flags, void *user_data);

/*
 * Prepares making the entries of directory dir durable (fsync of the
 * directory): after a batch of creates, copies, renames or deletes in it
 * and a barrier, one such sync makes them all survive a crash.  The path
 * is copied (a relative one made absolute now).  Returns 0; -EINVAL for
 * NULL ring or dir; -ENOMEM.  The completion (MMAPIO_OP_SYNC_DIR) carries
 * 0; -ENOENT for a missing directory; -ENOTDIR; other -errno of opening or
 * syncing it.  Never blocks.
 */
MMAPIO_EXPORT int mmapio_ring_prep_sync_dir(mmapio_ring *ring, const char *dir, void *user_data);

/*
 * Cancels the operations with this user_data that have not been handed to
 * the engine yet: prepared and not submitted, or submitted and held back by
 * a barrier.  Each completes exactly once with -ECANCELED, without running
 * (a cancelled create leaves no file); one that was not submitted yet
 * counts as submitted from now on (mmapio_ring_inflight includes it until
 * it is reaped).  A cancelled operation counts as failed for the next
 * barrier.  Operations already with the engine run on and complete
 * normally.
 *
 * Returns the number cancelled (> 0); -EINVAL for NULL; -ENOENT when no
 * operation with that user_data is pending; -EALREADY when the only ones
 * pending are already with the engine, or have run and wait for their
 * directory's shared sync (see mmapio_ring_submit).  Never blocks.
 */
MMAPIO_EXPORT int mmapio_ring_cancel(mmapio_ring *ring, void *user_data);

/*
 * Starts writing [off, off + len) of a read-write map back to the file and
 * returns without waiting (sync_file_range(SYNC_FILE_RANGE_WRITE) on Linux,
 * msync(MS_ASYNC) elsewhere), so that a later mmapio_flush_range of the
 * same range finds less to do.  It promises nothing about durability: only
 * a flush does.  len 0 means to the end of the map.  Read-only and
 * copy-on-write maps: 0, nothing done.  Returns 0; -EINVAL for NULL;
 * -ERANGE for a range outside the map; other -errno from the OS.
 * Thread-safe; does not wait for the disk (it may wait for pages already
 * under write-back).
 */
MMAPIO_EXPORT int mmapio_flush_start(mmapio_map *map, uint64_t off, uint64_t len);

#define MMAPIO_RANGE_SHARED    1u /* a read lock: many holders */
#define MMAPIO_RANGE_EXCLUSIVE 2u /* a write lock: one holder */
#define MMAPIO_RANGE_NOWAIT    4u /* -EAGAIN instead of waiting on a conflict */

/*
 * Locks the byte range [off, off + len) of the map's file against other
 * holders: other maps of the file in this or another process, and other
 * processes' fcntl locks.  len 0 means from off to the end of any file size;
 * the range is not limited by the map's length.  Exactly one of
 * MMAPIO_RANGE_SHARED and MMAPIO_RANGE_EXCLUSIVE, optionally
 * MMAPIO_RANGE_NOWAIT.  Locking a range the map already holds converts it
 * (shared to exclusive and back).
 *
 * On Linux these are open-file-description locks: they belong to the map
 * (two maps of one file conflict even in one process, and threads do not
 * matter) and go with mmapio_close.  A map from mmapio_open_fd shares the
 * caller's open file description, and so its locks.  Elsewhere they are
 * POSIX fcntl locks, which belong to the process: two maps in one process
 * do not conflict, and closing any descriptor of the file, the library's
 * or the caller's, releases all of the process's locks on it.
 *
 * Returns 0; -EINVAL for NULL, bad flags or a range past INT64_MAX;
 * -EACCES for an exclusive lock on a read-only or copy-on-write map (whose
 * descriptor is read-only); -EAGAIN with NOWAIT on a conflict; -EDEADLK where
 * the OS detects a deadlock between processes; -EINTR when a signal cut the
 * wait short; other -errno from the OS.  Thread-safe; blocks without
 * NOWAIT.
 */
MMAPIO_EXPORT int mmapio_range_lock(mmapio_map *map, uint64_t off, uint64_t len, unsigned flags);

/*
 * Releases the map's locks on [off, off + len) (len 0: to the end).
 * Unlocking a range that holds no lock is 0.  Returns 0; -EINVAL for NULL;
 * other -errno from the OS.  Thread-safe.
 */
MMAPIO_EXPORT int mmapio_range_unlock(mmapio_map *map, uint64_t off, uint64_t len);

#ifdef __cplusplus
}
#endif

#endif /* MMAPIO_H */
