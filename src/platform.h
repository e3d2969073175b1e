/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The platform contract: every operating-system service that the core
 * (src/) and the engines use.  The implementations live in fallback/ (POSIX,
 * what Linux adds to it, Windows); src/ includes no OS header and calls the
 * OS only through the functions declared here.
 *
 * Conventions: every function that can fail returns >= 0 on success and
 * -errno on failure (Windows errors are mapped to the same values).  Files
 * are C runtime descriptors (int) on every platform.  Unless a comment says
 * otherwise every function is thread-safe and async-signal-unsafe.
 */
#ifndef MMAPIO_PLATFORM_H
#define MMAPIO_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmapio.h"
#include "visibility.h"

/* ------------------------------------------------------------------------ */
/* Time, memory pages                                                       */
/* ------------------------------------------------------------------------ */

/* Milliseconds on a monotonic clock, for wait deadlines. */
MMAPIO_INTERNAL int64_t mmapio__plat_now_ms(void);

/* The size of a memory page (the mapping granularity), cached. */
MMAPIO_INTERNAL size_t mmapio__plat_page_size(void);

/*
 * The system's description of errno value errnum as a static string that no
 * other call overwrites, or NULL where the platform has none.
 */
MMAPIO_INTERNAL const char *mmapio__plat_errno_text(int errnum);

/*
 * Allocates size bytes aligned to align (a power of two, at most a page;
 * size need not be a multiple of it), or returns NULL on ENOMEM.  Memory
 * from it goes back with mmapio__plat_aligned_free only (never free():
 * Windows keeps such blocks apart, _aligned_malloc / _aligned_free).
 */
MMAPIO_INTERNAL void *mmapio__plat_aligned_alloc(size_t align, size_t size);

/* Frees what mmapio__plat_aligned_alloc returned; NULL is ignored. */
MMAPIO_INTERNAL void mmapio__plat_aligned_free(void *p);

/* Gives the processor to another thread for a moment (a spin's back-off). */
MMAPIO_INTERNAL void mmapio__plat_yield(void);

/* ------------------------------------------------------------------------ */
/* Threads                                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Waiting on a word, futex-style: the blocking half of the core's own
 * locks (src/maplock.c), which keep their state in atomic words and only
 * ask the platform to put a thread to sleep and wake it.  The words are
 * ordinary memory accessed with atomics; nothing needs initializing or
 * destroying, so locks built on them fit in any struct and survive fork.
 * Windows implements these with WaitOnAddress / WakeByAddressAll, Linux
 * could use futex(2); POSIX hosts use a small table of mutexes and
 * condition variables hashed by address.
 *
 * mmapio__plat_wait blocks the calling thread while *addr == expected,
 * until a thread calls mmapio__plat_wake_all(addr).  It compares and goes
 * to sleep atomically with respect to wake_all: a waker that changed *addr
 * and then calls wake_all is never missed.  It returns at once when *addr
 * differs from expected, and may return spuriously, so callers re-check
 * their condition in a loop.  Async-signal-unsafe.
 */
MMAPIO_INTERNAL void mmapio__plat_wait(const uint32_t *addr, uint32_t expected);

/*
 * Wakes every thread blocked in mmapio__plat_wait on addr.  Callers change
 * *addr before calling it.  Cheap when no thread waits, but not free: the
 * core calls it only when it knows of a sleeper.
 */
MMAPIO_INTERNAL void mmapio__plat_wake_all(const uint32_t *addr);

/* A thread-specific slot whose destructor runs when a thread exits. */
struct mmapio__tls_key {
	uintptr_t opaque;
};

/*
 * Creates a key whose destructor runs with the thread's non-NULL value when
 * that thread exits.  Returns 0 or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_tls_key_create(struct mmapio__tls_key *key,
						void (*destructor)(void *));
/* Sets the calling thread's value of key.  Returns 0 or -errno. */
MMAPIO_INTERNAL int mmapio__plat_tls_key_set(struct mmapio__tls_key *key, void *value);

/*
 * Registers fn to run in the child after fork() (nothing where the platform
 * has no fork).  Returns 0 or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_atfork_child(void (*fn)(void));

/*
 * Registers fork handlers (pthread_atfork): prepare runs in the forking
 * thread before the fork, parent and child after it in either process.
 * Any of them may be NULL; nothing happens where the platform has no fork.
 * Returns 0 or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_atfork(void (*prepare)(void), void (*parent)(void),
					void (*child)(void));

/* The value of the environment variable name, or NULL. */
MMAPIO_INTERNAL const char *mmapio__plat_getenv(const char *name);

/* ------------------------------------------------------------------------ */
/* Events: a descriptor that polls readable while completions wait           */
/* ------------------------------------------------------------------------ */

struct mmapio__event {
	int fd;      /* the descriptor a caller polls (eventfd, pipe's read end) */
	int wfd;     /* the descriptor signal() writes to (== fd for an eventfd) */
};

/* Opens a non-blocking, close-on-exec event.  Returns 0 or -errno. */
MMAPIO_INTERNAL int mmapio__plat_event_open(struct mmapio__event *ev);
/* Makes the event readable; async-signal-safe; never fails visibly. */
MMAPIO_INTERNAL void mmapio__plat_event_signal(const struct mmapio__event *ev);
/* Makes the event unreadable until the next signal. */
MMAPIO_INTERNAL void mmapio__plat_event_drain(const struct mmapio__event *ev);
/* Closes the event's descriptors. */
MMAPIO_INTERNAL void mmapio__plat_event_close(struct mmapio__event *ev);

/* ------------------------------------------------------------------------ */
/* Files                                                                    */
/* ------------------------------------------------------------------------ */

/* What struct mmapio__file_info.type says. */
enum {
	MMAPIO__FILE_REGULAR = 1,
	MMAPIO__FILE_DIRECTORY = 2,
	MMAPIO__FILE_OTHER = 3     /* FIFO, device, socket, ... */
};

/* Flags of struct mmapio__file_info.fd_flags: how the descriptor was opened. */
#define MMAPIO__FD_APPEND  0x1u   /* writes go to the end of the file */
#define MMAPIO__FD_DIRECT  0x2u   /* transfers bypass the page cache */

/* What the core needs to know of an open file (no struct stat here). */
struct mmapio__file_info {
	uint64_t size;        /* bytes */
	uint64_t dev;         /* identity: equal dev and ino mean the same file */
	uint64_t ino;
	uint32_t type;        /* MMAPIO__FILE_* */
	uint32_t perm;        /* permission bits */
	uint32_t fd_flags;    /* MMAPIO__FD_*; 0 from mmapio__plat_path_info */
	uint32_t reserved;
};

/*
 * Opens the existing file at path for a map of the given mode: read-write
 * for MMAPIO_READ_WRITE, read-only otherwise; close-on-exec; a FIFO does not
 * block the open.  Returns the descriptor or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_open(const char *path, enum mmapio_mode mode);

/*
 * Duplicates fd (close-on-exec) for a map of the given mode after checking
 * that fd's access mode allows it.  Returns the new descriptor; -EBADF for
 * a descriptor that cannot be read or mapped; -EACCES when the access mode
 * does not allow mode; or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_dup(int fd, enum mmapio_mode mode);

/* Closes fd.  Returns 0 or -errno (the descriptor is gone either way). */
MMAPIO_INTERNAL int mmapio__plat_close(int fd);

/* Describes the file open on fd.  Returns 0 or -errno. */
MMAPIO_INTERNAL int mmapio__plat_file_info(int fd, struct mmapio__file_info *out);

/* Describes the file at path, following links.  Returns 0 or -errno. */
MMAPIO_INTERNAL int mmapio__plat_path_info(const char *path, struct mmapio__file_info *out);

/*
 * Sets the file's length to size bytes, cutting or extending it sparse.
 * Returns 0, -EFBIG for a size the platform cannot express, or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_set_size(int fd, uint64_t size);

/*
 * Reserves disk blocks for [off, off + len), extending the file when the
 * range ends past it (never shrinking it).  Returns 0; -EOPNOTSUPP where the
 * platform or filesystem cannot reserve space (the caller then extends the
 * file sparse); -ENOSPC; or -errno.  A failure may leave the file extended.
 */
MMAPIO_INTERNAL int mmapio__plat_allocate(int fd, uint64_t off, uint64_t len);

/*
 * Writes all len bytes of buf at off through the file (not the mapping),
 * continuing short writes.  Returns 0 or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_write_at(int fd, const void *buf, size_t len, uint64_t off);

/*
 * Makes the file's data durable (fdatasync; F_FULLFSYNC where fsync does
 * not reach the disk).  Returns 0 or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_sync_file(int fd);

/* Makes the directory dir's entries durable (fsync).  Returns 0 or -errno. */
MMAPIO_INTERNAL int mmapio__plat_sync_dir(const char *dir);

/*
 * Makes the directory entry of path durable: syncs the directory that holds
 * path.  Returns 0 or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_sync_parent(const char *path);

/*
 * Copies path to the heap, made absolute against the current directory (an
 * io_uring engine may resolve it later, after the caller has changed
 * directory).  Where the directory cannot be read or the result would be
 * too long, the path is copied as given.  Returns the copy (free() it) or
 * NULL on ENOMEM.
 */
MMAPIO_INTERNAL char *mmapio__plat_abspath(const char *path);

/*
 * Renames from to to with MMAPIO_RENAME_NOREPLACE or _EXCHANGE honoured
 * (not _DURABLE: that is mmapio__plat_sync_parent).  Returns 0; -ENOTSUP
 * where the host or filesystem lacks the kind asked for; or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_rename(const char *from, const char *to, unsigned flags);

/*
 * Starts write-back of [addr, addr + len) of a mapping of fd (page aligned,
 * at file offset off) without waiting for it.  Returns 0 or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_writeback_start(int fd, void *addr, size_t len, uint64_t off);

/*
 * Locks [off, off + len) of the file open on fd (len 0: to the end of any
 * size) shared or exclusive (MMAPIO_RANGE_*), waiting unless
 * MMAPIO_RANGE_NOWAIT.  Returns 0; -EAGAIN on a conflict with NOWAIT; or
 * -errno.  mmapio__plat_unlock_range releases; returns 0 or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_lock_range(int fd, uint64_t off, uint64_t len, unsigned flags);
MMAPIO_INTERNAL int mmapio__plat_unlock_range(int fd, uint64_t off, uint64_t len);

/*
 * Returns the directory part of path in a new heap string ("." for a bare
 * name, "/" for a name in the root; free() it), or NULL on ENOMEM.
 */
MMAPIO_INTERNAL char *mmapio__plat_dirname(const char *path);

/* Removes the file at path.  Returns 0 or -errno. */
MMAPIO_INTERNAL int mmapio__plat_unlink(const char *path);

/*
 * Opens (creating) path for reading and writing and gives it exactly size
 * bytes: exclusive with MMAPIO_CREATE_EXCLUSIVE, truncating without it;
 * space reserved unless MMAPIO_CREATE_SPARSE (sparse where the filesystem
 * cannot reserve); with MMAPIO_CREATE_DURABLE the file and its directory are
 * made durable, the directory not with MMAPIO__PLAT_NO_DIR_SYNC too.
 * Returns the descriptor (>= 0), with *created telling whether this call
 * made the file (it is removed again on failure), or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_create_file(const char *path, uint64_t size, unsigned perm,
					     unsigned flags, int *created);

/*
 * A flag of mmapio__plat_create_file and mmapio__plat_copy_file beside the
 * public ones: with MMAPIO_CREATE_DURABLE or MMAPIO_COPY_DURABLE the file
 * is made durable but its directory is not synced; the caller syncs it
 * (a ring does, once for many files).  A copy that replaces an existing
 * file syncs the directory all the same, as part of putting it in place.
 */
#define MMAPIO__PLAT_NO_DIR_SYNC (1u << 31)

/* The files of a copy, as mmapio__plat_copy_open leaves them. */
struct mmapio__copy_files {
	int in;          /* the source, open for reading */
	int out;         /* where the data goes, open for writing, empty, mode of in */
	int created;     /* this copy made the destination: unlink it on failure */
	int tmpfile;     /* out is an unnamed temporary (O_TMPFILE) */
	char *tmp;       /* out's temporary name while it has one (heap), or NULL */
	int synced;      /* mmapio__plat_copy_place synced dst's directory */
	uint64_t size;   /* bytes left to copy: 0 when empty or cloned */
};

/*
 * The opening half of a copy, shared by both engines so that they accept
 * and refuse exactly the same things (see mmapio_copy): opens src
 * (-EISDIR for a directory, -EINVAL for anything else that is not a
 * regular file) and checks dst (the same inode as src is -EINVAL and stays
 * untouched; a directory -EISDIR; anything else not regular -EINVAL; an
 * existing dst is -EEXIST without MMAPIO_COPY_OVERWRITE).  A new dst is
 * created exclusively and written in place; an existing one is never
 * written: the copy goes to a new temporary file in dst's directory (an
 * unnamed O_TMPFILE where the filesystem has it, else a uniquely named
 * one), which mmapio__plat_copy_place later puts in dst's place
 * atomically.  out gets src's permission bits exactly, and a reflink clone
 * is tried.  Returns 0 with *f filled in, or -errno with everything it
 * opened closed and everything it created removed.
 */
MMAPIO_INTERNAL int mmapio__plat_copy_open(const char *src, const char *dst, unsigned flags,
					   struct mmapio__copy_files *f);

/*
 * Once the data is written (and, for a durable copy, synced): puts a
 * replacing copy in dst's place, so that dst is at every moment either the
 * old file or the whole new one.  The temporary is closed first (a
 * write-back error at close fails the copy with dst untouched).  With
 * MMAPIO_COPY_DURABLE in flags the names are exchanged, dst's directory is
 * synced (f->synced set) and only then the old file removed, so that a
 * failed sync can put the old file back; where the filesystem cannot
 * exchange, a rename and a sync, whose failure leaves dst the new file.
 * Nothing to do for a copy written in place.  Returns 0 or -errno; on
 * failure dst is the old file (mmapio__plat_copy_close then removes the
 * temporary).
 */
MMAPIO_INTERNAL int mmapio__plat_copy_place(struct mmapio__copy_files *f, const char *dst,
					    unsigned flags);

/*
 * Ends a copy: closes both files and, when result < 0 (or closing the
 * written file reports a write-back error), removes what the copy created,
 * the new dst or the temporary, so that a failed copy leaves dst as it was.
 * Returns the copy's final result.
 */
MMAPIO_INTERNAL int mmapio__plat_copy_close(struct mmapio__copy_files *f, const char *dst,
					    int result);

/*
 * Copies the regular file src to dst as mmapio_copy promises (see
 * mmapio.h): the same refusals as mmapio__plat_copy_open, data by the
 * fastest means the platform has, MMAPIO_COPY_DURABLE (and
 * MMAPIO__PLAT_NO_DIR_SYNC) honoured.  Returns 0 or -errno, with a
 * destination this call created removed on failure.
 */
MMAPIO_INTERNAL int mmapio__plat_copy_file(const char *src, const char *dst, unsigned flags);

/* ------------------------------------------------------------------------ */
/* Mappings                                                                 */
/* ------------------------------------------------------------------------ */

/* Flags of struct mmapio__mapping.flags. */
#define MMAPIO__MAP_POPULATE 0x1u /* prefault the pages when mapping them */

/*
 * A file mapping, as the platform lays it out.  Without a reservation the
 * file's first `mapped` bytes are mapped at base.  With one, base starts
 * `reservation` bytes of inaccessible address space, and the file is mapped
 * over its first `mapped` bytes; growth inside the reservation keeps base.
 * The core reads base and mapped; only the platform writes them.
 */
struct mmapio__mapping {
	unsigned char *base;  /* NULL while nothing is mapped or reserved */
	size_t mapped;        /* bytes of the file mapped, a multiple of pages */
	size_t reservation;   /* bytes of address space held at base; 0 if none */
	int fd;               /* the file */
	uint32_t mode;        /* enum mmapio_mode */
	uint32_t flags;       /* MMAPIO__MAP_* */
	uintptr_t plat;       /* the platform's own (the section on Windows) */
};

/*
 * Maps the first len bytes (a multiple of pages, may be 0) of m->fd with
 * m->mode and m->flags, inside a reservation of reserve bytes when reserve
 * is larger than len (0: none).  Fills base, mapped, reservation.  Returns 0
 * or -errno with nothing mapped.
 */
MMAPIO_INTERNAL int mmapio__plat_map(struct mmapio__mapping *m, size_t len, size_t reserve);

/*
 * Maps the file up to new_mapped bytes (> mapped, a multiple of pages):
 * inside the reservation base stays; otherwise the mapping is grown in
 * place or moved (base may change; the reservation is then given up).
 * Returns 0 with base and mapped updated, or -errno with the old mapping
 * intact.
 */
MMAPIO_INTERNAL int mmapio__plat_map_grow(struct mmapio__mapping *m, size_t new_mapped);

/*
 * Takes [new_mapped, mapped) out of the mapping (back into the reservation,
 * or unmapped), so that no page stays mapped past a shorter file.  Returns
 * 0 with mapped updated, or -errno with the mapping intact.
 */
MMAPIO_INTERNAL int mmapio__plat_map_shrink(struct mmapio__mapping *m, size_t new_mapped);

/* Unmaps everything of m, reservation included, and clears base and mapped. */
MMAPIO_INTERNAL void mmapio__plat_unmap(struct mmapio__mapping *m);

/*
 * Writes [addr, addr + len) (page aligned) of a mapping of the file open
 * on fd back to the file and waits
 * until it is durable (msync(MS_SYNC); FlushViewOfFile + FlushFileBuffers).
 * Returns 0 or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_sync_range(int fd, void *addr, size_t len);

/*
 * Makes the n ranges (file offsets, page aligned, sorted, disjoint, n >= 1)
 * of a mapping of fd durable, as mmapio__plat_sync_range of each would,
 * with one wait for the disk instead of one per range where the platform
 * can: on Linux write-back of every range is started (sync_file_range
 * WRITE), then each is waited for (WAIT_BEFORE | WRITE | WAIT_AFTER), then
 * one msync(MS_SYNC) of the first range, clean by then, writes the file's
 * metadata and flushes the disk's cache once; elsewhere mmapio__plat_sync_range
 * of each range (Windows: FlushViewOfFile of each, then one
 * FlushFileBuffers).  addr is the mapping address of file offset off, and
 * every range lies in the mapping.  Stops at the first failure.  Returns 0
 * or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_sync_ranges(int fd, void *addr, uint64_t off,
					     const struct mmapio_range *ranges, size_t n);

/*
 * Gives the kernel advice about [addr, addr + len) (page aligned).  Returns
 * 0; -ENOTSUP for advice the platform or kernel does not know; -EFAULT when
 * populating hit a page past the end of the file; or -errno.
 */
MMAPIO_INTERNAL int mmapio__plat_advise(void *addr, size_t len, enum mmapio_advice advice);

/* Lock and unlock [addr, addr + len) in memory.  Return 0 or -errno. */
MMAPIO_INTERNAL int mmapio__plat_lock_pages(void *addr, size_t len);
MMAPIO_INTERNAL int mmapio__plat_unlock_pages(void *addr, size_t len);

/*
 * Whether the page at addr is in memory: 1 yes, 0 no, -errno when the
 * platform cannot tell (the caller then assumes it is).
 */
MMAPIO_INTERNAL int mmapio__plat_resident(const void *addr);

/* ------------------------------------------------------------------------ */
/* Faults                                                                   */
/* ------------------------------------------------------------------------ */

/*
 * Copies len bytes from src to dst, either of which is inside a mapping,
 * catching the fault a page of a cut or unreadable file raises (SIGBUS;
 * EXCEPTION_IN_PAGE_ERROR).  Returns 0; -EFAULT when the copy faulted (dst
 * then holds an unspecified prefix); or -errno when the guard could not be
 * set up.
 */
MMAPIO_INTERNAL int mmapio__plat_guarded_copy(void *dst, const void *src, size_t len);

#endif
