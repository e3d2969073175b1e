/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the parts of the fuzz target share: the decoded input, the model of
 * the files and maps, and the checks.  fuzz_mmapio.c says how it all fits
 * together; model.c holds the model, ops_*.c the calls.
 */
#ifndef MMAPIO_FUZZ_H
#define MMAPIO_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mmapio.h"

/* ------------------------------------------------------------------------ */
/* Known library bugs                                                       */
/* ------------------------------------------------------------------------ */

/*
 * Each KNOWN_BUG_ switch names a behaviour of the library that differs from
 * its documentation and that the fuzzer has found (tests/fuzz/findings/
 * holds the input and the note).  1: the model tolerates today's behaviour,
 * or the decoder steers around it where it would hang, so that CI runs
 * green while the bug is listed.  Set it to 0 once the fix has landed: the
 * model then demands the documented result.  To try a fix first, name the
 * switches at run time: MMAPIO_FUZZ_STRICT=KNOWN_BUG_A,KNOWN_BUG_B (or
 * "all") turns them off for that run.
 */

/*
 * A thread that holds a read view of a writable map and calls mmapio_write,
 * mmapio_view_write or their segment forms on the same map waits for its
 * own read lock for ever (glibc's rwlock does not detect it).  DESIGN.md,
 * "The map lock": -EDEADLK at once.  Issue 8, defect 6.  At 1 the decoder
 * does not make those calls.
 */
#ifndef KNOWN_BUG_WRITE_UNDER_OWN_READ_VIEW_HANGS
#define KNOWN_BUG_WRITE_UNDER_OWN_READ_VIEW_HANGS 0 /* fixed: the finding is a regression test now */
#endif

/*
 * Releasing a mutable view on another thread than the one that took it
 * unlocks glibc's rwlock as a reader would, so the next write hangs.
 * DESIGN.md: "A view may be released on any thread".  Issue 8, defect 6.
 * At 1 the decoder releases mutable views on their own thread only.
 */
#ifndef KNOWN_BUG_WRITE_VIEW_RELEASE_ON_OTHER_THREAD
#define KNOWN_BUG_WRITE_VIEW_RELEASE_ON_OTHER_THREAD 0 /* fixed: the finding is a regression test now */
#endif

/*
 * With a mutable view held, the same thread's mmapio_read, read views,
 * segment reads and atomic words of that map fail with -EDEADLK, which the
 * header does not list for them (the thread owns the map exclusively, so
 * nothing stops them).  Issue 8, defect 6.  At 1 the model accepts
 * -EDEADLK for them as well as the documented result.
 */
#ifndef KNOWN_BUG_EDEADLK_UNDER_OWN_WRITE_VIEW
#define KNOWN_BUG_EDEADLK_UNDER_OWN_WRITE_VIEW 0 /* fixed: the finding is a regression test now */
#endif

/*
 * A zero-length map made with a reservation (opts.reserve > 0, an empty
 * file) has a non-NULL base: the reservation's.  Resolved by the header,
 * which now promises exactly that (the base a reservation's growth keeps);
 * the model checks it (model.c) and this switch no longer acts.
 */
#ifndef KNOWN_BUG_EMPTY_MAP_RESERVED_BASE
#define KNOWN_BUG_EMPTY_MAP_RESERVED_BASE 0 /* fixed: the finding is a regression test now */
#endif

/*
 * A ring flush that has nothing to sync (a read-only or copy-on-write map,
 * or an empty range) does not hold its map: mmapio_close returns 0 and
 * mmapio_resize goes ahead before its completion is reaped, where the
 * header of mmapio_ring_prep_flush says "mmapio_close returns -EBUSY before
 * then" and mmapio_resize lists -EBUSY "while ... ring operations are
 * outstanding".  Harmless today (such an operation never touches the map),
 * but not what was documented.  Finding ring-flush-uncounted-close.
 * Resolved by the header of mmapio_ring_prep_flush, which now says that a
 * flush with nothing to sync does not hold its map; at 1 (the documented
 * behaviour) the model accepts 0 for those calls.
 */
#ifndef KNOWN_BUG_UNCOUNTED_RING_FLUSH
#define KNOWN_BUG_UNCOUNTED_RING_FLUSH 1
#endif

/*
 * mmapio_ring_prep_create accepts a size above INT64_MAX; the operation then
 * completes with -EINVAL on io_uring and -EFBIG on the blocking engine, and
 * an existing file is truncated to 0 bytes on the way (issue 8, defect 8,
 * and finding ring-create-huge-size).  mmapio_create refuses such a size
 * with -EFBIG before touching anything, and DESIGN.md wants argument errors
 * from the prep call.  At 1 the model predicts today's behaviour exactly;
 * at 0 it demands -EFBIG or -EINVAL from the prep call.
 */
#ifndef KNOWN_BUG_RING_CREATE_HUGE_SIZE
#define KNOWN_BUG_RING_CREATE_HUGE_SIZE 0 /* fixed: the finding is a regression test now */
#endif

/*
 * A ring write (mmapio_ring_prep_write) on a map whose descriptor has
 * O_APPEND (mmapio_open_fd accepts one for a read-write map) puts its
 * bytes at the end of the file, which grows by len, instead of at off, on
 * both engines: pwrite and io_uring's write append on such a descriptor.
 * The header: "writing len bytes from src into the file of map at off";
 * mmapio_write goes through the mapping for such descriptors (src/access.c).
 * Finding ring-write-append.  At 1 the decoder makes no ring write on
 * such a map.  Fixed: such writes go through the mapping (63a1bf9).
 */
#ifndef KNOWN_BUG_RING_WRITE_APPEND
#define KNOWN_BUG_RING_WRITE_APPEND 0 /* fixed: the finding is a regression test now */
#endif

/*
 * A ring write on a map whose descriptor has O_DIRECT completes with
 * -EINVAL where its offset, length or buffer is not aligned for direct
 * I/O, and writes nothing; the arguments are valid (the prep call took
 * them) and mmapio_write goes through the mapping for such descriptors.
 * The header lists only the write's own errors (-ENOSPC, -EIO) for the
 * completion.  Finding ring-write-direct.  At 1 the decoder makes no ring
 * write on such a map.  Fixed with ring-write-append (63a1bf9).
 */
#ifndef KNOWN_BUG_RING_WRITE_DIRECT
#define KNOWN_BUG_RING_WRITE_DIRECT 0 /* fixed: the finding is a regression test now */
#endif

/* The switches as this run has them (fz_known_bugs_init reads the environment). */
enum fz_known_bug {
	KB_WRITE_UNDER_OWN_READ_VIEW_HANGS,
	KB_WRITE_VIEW_RELEASE_ON_OTHER_THREAD,
	KB_EDEADLK_UNDER_OWN_WRITE_VIEW,
	KB_EMPTY_MAP_RESERVED_BASE,
	KB_UNCOUNTED_RING_FLUSH,
	KB_RING_CREATE_HUGE_SIZE,
	KB_RING_WRITE_APPEND,
	KB_RING_WRITE_DIRECT,
	KB_COUNT
};
extern bool fz_known[KB_COUNT];
void fz_known_bugs_init(void);

/* ------------------------------------------------------------------------ */
/* Sizes                                                                    */
/* ------------------------------------------------------------------------ */

#define FZ_MAX_FILE ((uint64_t)1 << 20)  /* no file grows beyond 1 MiB */
#define FZ_BUF (FZ_MAX_FILE + 4096)      /* scratch buffers */
#define FZ_MAPS 6
#define FZ_VIEWS 8
#define FZ_SEGS 4
#define FZ_RINGS 3
#define FZ_RING_OPS 24                   /* pending operations per ring */
#define FZ_INODES 12
#define FZ_MAX_OPS 256                   /* calls decoded from one input */
#define FZ_LOCKS 16                      /* range locks per map the model keeps */

/* The paths the calls name, inside the per-process directory. */
enum fz_path {
	FZ_P0 = 0,   /* "f": the file */
	FZ_P1 = 1,   /* "g": the second path */
	FZ_PD = 2,   /* "d": a directory, always there */
	FZ_PX = 3,   /* "nodir/x": in a directory that does not exist */
	FZ_NPATHS = 4
};

/* ------------------------------------------------------------------------ */
/* The input                                                                */
/* ------------------------------------------------------------------------ */

/* Bytes of the input, read from the front; zeros once it is used up. */
struct fz_in {
	const uint8_t *p;
	size_t n;
};

uint8_t fz_u8(void);
uint16_t fz_u16(void);
uint32_t fz_u32(void);
uint64_t fz_u64(void);
/* True when the input is used up. */
bool fz_done(void);

/* ------------------------------------------------------------------------ */
/* The model                                                                */
/* ------------------------------------------------------------------------ */

/* A file (an inode): what its bytes, size and permission bits must be. */
struct fz_inode {
	bool used;
	int witness;          /* the fuzzer's own O_RDONLY descriptor, -1 until attached */
	uint64_t dev, ino;    /* identity, once attached */
	uint64_t size;
	unsigned perm;        /* permission bits (07777) */
	bool allocated;       /* every byte below size has blocks reserved */
	uint8_t *data;        /* FZ_MAX_FILE bytes, zero from size on */
};

/* A range lock a map holds: [lo, hi), hi UINT64_MAX for "to the end". */
struct fz_lock {
	uint64_t lo, hi;
	bool exclusive;
};

/* An open map and what the model knows of it. */
struct fz_map {
	bool used;
	mmapio_map *map;
	enum mmapio_mode mode;
	int inode;
	uint64_t len;
	bool sparse;          /* made with MMAPIO_CREATE_SPARSE: resize grows with ftruncate */
	size_t resv;          /* page-rounded reservation in force, 0 for none */
	void *resv_base;      /* the base while the reservation holds */
	unsigned views;       /* views out (this process has only this thread's) */
	unsigned read_views;  /* of them: read views of a writable map (read lock) */
	unsigned write_views; /* of them: mutable views (write lock) */
	unsigned ring_counted;   /* ring flushes and writes that hold the map open */
	unsigned ring_uncounted; /* ring flushes the library completes without the map */
	/* The byte-range locks of the map's open file description (mmapio_range_lock). */
	struct fz_lock locks[FZ_LOCKS];
	unsigned nlocks;
	/*
	 * Copy-on-write maps: Linux keeps a MAP_PRIVATE page shared with the
	 * file until the map writes to it (or a write fault is forced by
	 * MAP_POPULATE, mlock or MADV_POPULATE_WRITE); from then on the page is
	 * the map's own.  priv holds those pages' bytes.
	 */
	uint8_t *priv;
	uint8_t *priv_page;   /* one flag per page */
};

struct fz_view {
	bool used;
	struct mmapio_view v;
	int map;
	bool write;
	uint64_t off;
	size_t len;
};

struct fz_seg {
	bool used;
	struct mmapio_segment s;
	int map;
};

/* A ring operation between its prep call and its completion. */
struct fz_rop {
	bool used;
	bool submitted;
	bool applied;         /* its effect is in the model */
	enum mmapio_op kind;
	uint64_t id;          /* the user_data */
	int expect;           /* the result the model predicts, once applied */
	/* create */
	int path;
	uint64_t size;
	unsigned flags, perm;
	/* copy, rename */
	int src, dst;
	/* flush, write */
	int map;
	bool counted;
	/* write: the bytes (the op's own, freed when it is forgotten) go to inode at off */
	int inode;
	uint64_t off;
	size_t len;
	uint8_t *data;
	bool via_map;         /* O_APPEND or O_DIRECT descriptor: copied through the mapping */
	/* sync_dir: what it names (enum fz_sync_target in ops_ring.c) */
	int dir;
	/* ordering: the barrier group it was prepared in (mmapio_ring_barrier) */
	unsigned group;
	bool cancelled;       /* completes with -ECANCELED without running */
};

struct fz_ring {
	bool used;
	mmapio_ring *ring;
	bool async;           /* io_uring: completions come when they come */
	enum mmapio_backend backend;
	uint64_t prepared, completed, blocking_ops;
	unsigned inflight;    /* submitted, not reaped */
	/*
	 * Barriers: the group later prep calls go to, whether one was prepared
	 * since the last barrier (else a barrier adds nothing), and the first
	 * group with a failed operation (UINT_MAX: none yet): every operation
	 * of a later group completes with -ECANCELED.
	 */
	unsigned group;
	bool group_used;
	unsigned failed_group;
	struct fz_rop ops[FZ_RING_OPS];
};

/* What one of the two filesystems offers, found once. */
struct fz_fs {
	char dir[256];        /* the private directory on it */
	bool allocates;       /* fallocate reserves blocks that st_blocks shows */
	bool sparse;          /* ftruncate growth leaves st_blocks at 0 */
	bool o_direct_ok;     /* O_DIRECT opens here */
	/*
	 * Which prefaulting makes the pages of a private writable mapping its
	 * own (forces a write fault) here.  Probed rather than assumed: kernels
	 * have changed it, and AddressSanitizer turns mlock into a no-op.
	 */
	bool cow_mlock, cow_populate, cow_populate_write;
};

struct fz_state {
	/*
	 * Two private directories, made once per process: on the filesystem of
	 * $MMAPIO_FUZZ_DIR (default $TMPDIR, /tmp), where flushes are real I/O
	 * and fallocate leaves the page cache empty, and on tmpfs (/dev/shm),
	 * five times faster.  The first byte of each input chooses.
	 */
	struct fz_fs fs[2];
	int nfs;              /* 1 when there is no tmpfs to use */
	int cur_fs;
	char dir[256];        /* the current input's directory */
	char path[FZ_NPATHS][300];
	int path_inode[FZ_NPATHS];  /* FZ_P0/FZ_P1: inode index or -1 */
	struct fz_inode inode[FZ_INODES];
	struct fz_map map[FZ_MAPS];
	struct fz_view view[FZ_VIEWS];
	struct fz_seg seg[FZ_SEGS];
	struct fz_ring ring[FZ_RINGS];
	uint64_t next_id;
	size_t page;
	uint8_t *buf;         /* FZ_BUF: what the library reads into */
	uint8_t *src;         /* FZ_BUF: what it writes from */
	uint8_t *tmp;         /* FZ_BUF: the fuzzer's own reads */
	unsigned umask_bits;
	/* What this host offers, found once (the fs_ ones: of the current fs). */
	bool uring_ok;        /* an io_uring ring opens */
	bool fs_allocates;
	bool fs_sparse;
	bool o_direct_ok;
	bool copy_in_place;   /* an overwriting copy rewrites the old inode */
	bool mlock_ok;        /* mlock is not limited (root, or no RLIMIT_MEMLOCK) */
	bool rename_noreplace_ok; /* mmapio_rename takes MMAPIO_RENAME_NOREPLACE */
	bool rename_exchange_ok;  /* and MMAPIO_RENAME_EXCHANGE (else -ENOTSUP) */
	bool ofd_locks;       /* range locks belong to the map (Linux), not the process */
	bool cow_mlock, cow_populate, cow_populate_write; /* of the current fs */
	int uring_open_rc;    /* what opening an io_uring ring returned */
	enum mmapio_backend auto_backend; /* what MMAPIO_BACKEND_AUTO picks here */
	int base_fds;         /* descriptors open before an input */
	unsigned ops_run;
	uint32_t seed;
};

extern struct fz_state fz;
extern struct fz_in fz_input;

/* Fails the run: prints the message and the calls so far, then aborts. */
_Noreturn void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Appends a line to the trace of the current input (printed on failure). */
void fz_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Aborts unless got == want. */
void fz_expect(const char *what, int got, int want);
/* Aborts unless got is want or, when alt_ok, alt. */
void fz_expect2(const char *what, int got, int want, bool alt_ok, int alt);

/* Rounds v up / down to pages. */
uint64_t fz_page_up(uint64_t v);
uint64_t fz_page_down(uint64_t v);

/* Model of files and maps (model.c). */
void fz_model_init(void);
void fz_model_reset(void);
int fz_inode_new(unsigned perm);
void fz_inode_release_if_unused(int i);
void fz_inode_set_size(int i, uint64_t n);
void fz_inode_replace(int i, const struct fz_inode *from);
void fz_witness_attach(int i, int path);
void fz_witness_attach_missing(void);
void fz_map_store(struct fz_map *m, uint64_t off, const uint8_t *src, size_t len);
void fz_cow_make_private(struct fz_map *m, uint64_t lo, uint64_t hi);
int fz_map_new(mmapio_map *map, enum mmapio_mode mode, int inode, unsigned flags,
	       uint64_t reserve);
void fz_map_forget(int slot);
/* The file's real size for map m. */
uint64_t fz_map_file_size(const struct fz_map *m);

/* How an access to [off, off + len) inside a map behaves with the file's size. */
enum fz_access {
	FZ_ACC_OK,     /* inside the file */
	FZ_ACC_FAULT,  /* wholly in pages past the end of the file: -EFAULT */
	FZ_ACC_AVOID   /* straddles the end of file: not modelled, not made */
};
enum fz_access fz_access_class(const struct fz_map *m, uint64_t off, uint64_t len);

/* Predicts and applies the path operations (shared by calls and rings). */
int fz_model_create(int path, uint64_t size, unsigned flags, unsigned perm, int *inode,
		    bool *created);
int fz_model_copy(int src, int dst, unsigned flags);
int fz_model_delete(int path);
int fz_model_rename(int from, int to, unsigned flags);
/* Writes len bytes at off into inode i as pwrite does (growing the file). */
void fz_inode_pwrite(int i, uint64_t off, const uint8_t *src, size_t len);
/* The inode at path, or -1 when path names no regular file. */
int fz_path_regular(int path);
/* Fills out with the n bytes map m must show at off (off + n <= m->len). */
void fz_map_expected(const struct fz_map *m, uint64_t off, size_t n, uint8_t *out);

/* Checks against the real files and maps (model.c). */
/*
 * With bytes false only sizes, modes and identities are checked: reading
 * every page would fill the page cache, and the library takes another path
 * (pwrite) for large writes into pages that are not cached yet.
 */
void fz_check_inode(int i, const char *why, bool bytes);
void fz_check_map(int slot, const char *why, bool bytes);
void fz_check_paths(const char *why);
void fz_check_all(const char *why);
int fz_count_fds(void);

/* Argument pickers (fuzz_mmapio.c). */
uint64_t fz_pick_off(uint64_t len);
uint64_t fz_pick_len(uint64_t len, uint64_t off);
uint64_t fz_pick_size(void);
uint64_t fz_pick_new_size(uint64_t cur);
int fz_pick_path(void);
int fz_pick_map(void);
void fz_fill(uint8_t *dst, size_t len, uint32_t seed);
/* Paths and flags of a rename (ops_file.c). */
void fz_pick_rename(int *from, int *to, unsigned *flags);

/* Predictions of the map calls (ops_map.c): the result, or FZ_SKIP. */
#define FZ_SKIP 1  /* the call is not made (see fz_access_class, KNOWN_BUG_) */
/* True when [off, off + len) is inside a map of map_len bytes. */
static inline bool fz_range_ok(uint64_t map_len, uint64_t off, uint64_t len)
{
	return off < map_len && len <= map_len - off;
}
int fz_predict_read(const struct fz_map *m, uint64_t off, uint64_t n, bool null_dst,
		    bool *alt);
int fz_predict_write(const struct fz_map *m, uint64_t off, uint64_t n, bool null_src);
int fz_predict_view(const struct fz_map *m, uint64_t off, uint64_t n, bool write, bool *alt);
int fz_predict_flush_range(const struct fz_map *m, uint64_t off, uint64_t n);
/* Reads through mmapio_read or a segment and checks the bytes. */
void fz_check_read_bytes(const struct fz_map *m, uint64_t off, uint64_t n, const char *what);

/* Options for open, create and prep_create, as the input chooses them. */
struct fz_opts {
	struct mmapio_options o;
	const struct mmapio_options *p; /* NULL or &o */
	bool bad;                       /* -EINVAL expected */
	unsigned flags;
	unsigned perm;
	uint64_t reserve;
};
void fz_pick_opts(struct fz_opts *f, uint64_t size_hint);

/* The calls (ops_map.c, ops_view.c, ops_file.c, ops_ring.c). */
void fz_op_open(void);
void fz_op_open_fd(void);
void fz_op_create(void);
void fz_op_close(void);
void fz_op_read(void);
void fz_op_write(void);
void fz_op_view(void);
void fz_op_view_release(void);
void fz_op_view_touch(void);
void fz_op_segment(void);
void fz_op_segment_access(void);
void fz_op_resize(void);
void fz_op_flush(void);
void fz_op_advise(void);
void fz_op_lock(void);
void fz_op_atomic(void);
void fz_op_copy(void);
void fz_op_delete(void);
void fz_op_bad_args(void);
void fz_op_check(void);
void fz_op_ring_open(void);
void fz_op_ring_prep(void);
void fz_op_ring_submit(void);
/* Submits ring g and applies what a blocking ring ran (see ops_ring.c). */
void fz_ring_submit(struct fz_ring *g);
void fz_op_ring_reap(void);
void fz_op_ring_close(void);
void fz_op_ring_misc(void);
void fz_op_ring_barrier(void);
void fz_op_ring_cancel(void);
void fz_op_rename(void);
void fz_op_flush_start(void);
void fz_op_range_lock(void);

/* What a directory sync names (mmapio_ring_prep_sync_dir). */
enum fz_sync_target {
	SYNC_TOP,     /* the input's directory */
	SYNC_D,       /* the directory d */
	SYNC_NODIR,   /* nodir, which does not exist: -ENOENT */
	SYNC_F,       /* the file f: -ENOTDIR, or -ENOENT when it is not there */
	SYNC_G,       /* the same for g */
	SYNC_TARGETS
};

/* Ring internals that ops_ring.c and ops_ring_prep.c share. */
/* The paths operation o names, as bits of enum fz_path. */
unsigned fz_rop_paths(const struct fz_rop *o);
/* The pending operation of g with user_data id, or NULL. */
struct fz_rop *fz_rop_find(struct fz_ring *g, uint64_t id);
/* A ring in use, as the input picks it, or -1. */
int fz_pick_ring(void);
/*
 * fz_quiesce for a prep call on ring own (NULL: any other call): own's
 * operations of the groups before the one the prep goes to need no
 * waiting, as a barrier orders them before it.
 */
void fz_quiesce_but(const struct fz_ring *own, unsigned path_mask, int inode);

/*
 * Makes sure no io_uring operation is pending on the paths in path_mask
 * (bits of enum fz_path) or on the file of inode (-1: none): submits and
 * waits for them first.  Synchronous calls call it before they touch a path
 * or a map, so that what an asynchronous operation does is never raced.
 */
void fz_quiesce(unsigned path_mask, int inode);
/* Waits for every io_uring operation. */
void fz_quiesce_all(void);
/* Closes every ring, checking what it returns. */
void fz_rings_close_all(void);
/* Drops map slot from every pending ring operation (the map was closed). */
void fz_rings_forget_map(int slot);

#endif
