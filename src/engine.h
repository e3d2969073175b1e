/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The engine contract.  src/ talks to engines only through this header: an
 * engine is one static const struct mmapio__engine, and the ring front end
 * (src/ring.c) picks one per ring.  The two engines are the blocking engine
 * (fallback/blocking.c, every platform) and the io_uring engine (uring/,
 * Linux; a stub whose open() says "not built" where it is left out).
 *
 * Operations (struct mmapio__op) are prepared and validated by src/ring_prep.c,
 * which fills in everything a backend needs: absolute paths copied to the
 * heap, a flush's page-rounded file range plus the matching mapping address.
 * A backend never touches struct mmapio_map.
 *
 * Ownership: submit() takes a NULL-terminated chain of operations.  From then
 * on the backend owns them until it hands each one back, exactly once, through
 * the engine's done() callback with op->result set (>= 0 or -errno).  done()
 * may be called from inside submit() (the blocking backend does all its work
 * there) or from inside reap().  The backend must not touch an op after
 * handing it back.
 */
#ifndef MMAPIO_BACKEND_H
#define MMAPIO_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "mmapio.h"
#include "platform.h"
#include "visibility.h"

struct mmapio__op {
	struct mmapio__op *next;  /* chain link, free for the owner's use */
	enum mmapio_op kind;
	int result;               /* set by the backend before done() */
	void *user_data;          /* the caller's pointer, untouched */
	unsigned ring_flags;      /* MMAPIO__OP_*: between the ring and the engine */
	union {
		struct {
			char *path;
			uint64_t size;     /* may be 0: an empty file */
			unsigned perm;     /* permission bits, resolved (never 0); umask applies */
			unsigned flags;    /* MMAPIO_CREATE_EXCLUSIVE | _SPARSE | _DURABLE */
		} create;
		struct {
			char *src;
			char *dst;
			unsigned flags;    /* MMAPIO_COPY_OVERWRITE | _DURABLE */
		} copy;
		struct {
			char *path;
		} del;
		struct {
			int fd;            /* the map's descriptor, valid until done() */
			void *addr;        /* mapping address of off (page aligned), or NULL */
			uint64_t off;      /* page aligned */
			uint64_t len;      /* page-rounded, > 0; may exceed 32 bits */
			/*
			 * prep_flush_ranges: nranges >= 2 page-aligned,
			 * sorted, disjoint ranges inside [off, off + len)
			 * (their span, of which addr is the start), each to be
			 * made durable on its own; the pages between them need
			 * not be.  A heap array the op owns (mmapio__op_free
			 * frees it).  NULL and 0: the one range [off, off + len).
			 */
			struct mmapio_range *ranges;
			size_t nranges;
		} flush;
		struct {
			int fd;            /* the map's descriptor, valid until done() */
			const void *src;   /* the caller's bytes, valid until done() */
			uint64_t off;      /* file offset, any alignment */
			size_t len;        /* may be 0 */
			/*
			 * NULL, or where off lies in the mapping: the
			 * descriptor has O_APPEND or O_DIRECT, so the bytes
			 * are copied through the mapping (guarded), not
			 * written at off, when the operation runs.
			 */
			void *via_map;
		} write;
		struct {
			char *from;
			char *to;
			unsigned flags;    /* MMAPIO_RENAME_NOREPLACE | _EXCHANGE | _DURABLE */
		} rename;
		struct {
			char *path;        /* the directory to fsync */
		} sync_dir;
	} u;
	void *map;                /* ring.c's: the map a flush or write belongs to */
	uintptr_t priv[4];        /* backend scratch space */
};

/*
 * Flags of struct mmapio__op.ring_flags.
 *
 * MMAPIO__OP_NO_DIR_SYNC, set by the ring (src/ring_dsync.c) on a durable
 * create, copy without MMAPIO_COPY_OVERWRITE, or rename whose directory
 * other durable operations of the same submit share: the engine makes the
 * file durable as DURABLE says but syncs no directory; the ring syncs each
 * directory once, after the last of its operations, and completes them
 * only after that.
 *
 * MMAPIO__OP_MADE_FILE, set by the engine on such a create that succeeded
 * and made its file (it was not there before): should the shared sync
 * fail, the ring removes the file, as a failed durable create does.
 */
#define MMAPIO__OP_NO_DIR_SYNC 0x1u
#define MMAPIO__OP_MADE_FILE   0x2u

/*
 * MMAPIO__OP_LINK_NEXT, set by the ring (src/ring_order.c) on an operation
 * of a chain submitted only after the engine's link() accepted the pair:
 * the operation after it in the chain runs only once this one has
 * succeeded, and when this one fails it completes with -ECANCELED without
 * running.  The engine clears nothing; the ring clears the flag when the
 * engine refuses the chain.
 */
#define MMAPIO__OP_LINK_NEXT   0x4u

/* What a backend receives when a ring opens it. */
struct mmapio__engine_params {
	unsigned queue_depth;     /* the caller's, or 0: the engine's default */
	/*
	 * The engine that runs, one at a time on the submitting thread, what
	 * this one cannot (an opcode the kernel lacks): its run() is set.
	 * NULL for the blocking engine itself.
	 */
	const struct mmapio__engine *fallback;
	/* Hands a finished operation back to the ring.  See the ownership rules. */
	void (*done)(void *ctx, struct mmapio__op *op);
	void *ctx;
};

/* Counters a backend keeps; ring.c adds its own and reports them. */
struct mmapio__engine_stats {
	uint64_t uring_sqes;
	uint64_t uring_enters;
	uint64_t blocking_ops;
};

struct mmapio__engine {
	const char *name;         /* "io_uring", "blocking" */
	enum mmapio_backend kind;

	/*
	 * Sets up an engine.  Returns 0 with *engine set, or -errno.  On failure
	 * writes a human-readable reason ("io_uring_setup: Operation not
	 * permitted") into why, which holds whylen bytes.  -ENOSYS, -EPERM and
	 * -ENOMEM mean "this backend cannot run here": AUTO rings then use the
	 * blocking backend and keep the reason.
	 */
	int (*open)(const struct mmapio__engine_params *params, void **engine,
		    char *why, size_t whylen);

	/*
	 * Completes every operation the engine still owns (through done()),
	 * then frees the engine.  Leaks no descriptor.  Returns 0, or -EEXIST
	 * when the calling thread may not collect the operations still in
	 * flight (an io_uring ring set up for a single issuer, closed from
	 * another thread): the engine is then left whole and usable, and
	 * must be closed from its own thread.
	 */
	int (*close)(void *engine);

	/*
	 * Takes ownership of the chain (NULL: nothing new, but a turn to do
	 * work that may block, which the engine keeps out of reap(0, 0)).
	 * Returns 0, never failing for individual operations (their errors
	 * travel in op->result); or a ring-level -errno with nothing taken
	 * (io_uring enter failing for good).
	 */
	int (*submit)(void *engine, struct mmapio__op *chain);

	/*
	 * Makes progress: hands back finished operations.  Waits until at
	 * least min operations have been handed back by this call, or
	 * timeout_ms has passed (-1: no limit; 0: poll).  Returns the number
	 * handed back; -EINTR when a signal cut the wait short with nothing
	 * handed back; or another -errno for a ring-level failure with nothing
	 * handed back (for example -EEXIST from a thread that may not use an
	 * io_uring ring set up for a single issuer, or -EBADFD from a ring the
	 * kernel has disabled).  After a failure the operations stay owned by
	 * the engine, and callers must not retry in a loop: the failure is
	 * lasting until the cause changes (the owning thread calls).
	 */
	int (*reap)(void *engine, unsigned min, int timeout_ms);

	/*
	 * Number of operations the engine owns (submitted, not yet handed
	 * back).
	 */
	unsigned (*owned)(void *engine);

	/*
	 * Asks the engine to signal ev (NULL: stop) whenever an operation may
	 * have finished.  Returns 0 or -errno.
	 */
	int (*set_event)(void *engine, const struct mmapio__event *ev);

	void (*stats)(void *engine, struct mmapio__engine_stats *out);

	/*
	 * Runs one operation to completion on the calling thread, without an
	 * engine instance and without calling done(), and returns its result
	 * (>= 0 or -errno).  Thread-safe.  NULL for engines that cannot.
	 */
	int (*run)(struct mmapio__op *op);

	/*
	 * Asks whether the engine can run next strictly after first in
	 * the kernel, without the ring holding next back: next starts only
	 * once first has succeeded; when first fails, next completes with
	 * -ECANCELED without having run; every operation still completes
	 * exactly once.  len is the number of operations the chain of
	 * linked operations would hold with next (2 for a pair): the engine
	 * must be able to start them all at once.  Returns true when it
	 * can, for the ring to set MMAPIO__OP_LINK_NEXT on first and submit
	 * next right after it in the same chain.  NULL for engines that
	 * cannot (the ring then holds next until first has completed).
	 */
	bool (*link)(void *engine, const struct mmapio__op *first, const struct mmapio__op *next,
		     unsigned len);
};

/* The blocking engine (fallback/blocking.c). */
extern MMAPIO_INTERNAL const struct mmapio__engine mmapio__engine_blocking;

/*
 * The io_uring engine (uring/).  In builds without io_uring it is a stub
 * whose open() returns -ENOTSUP with the reason "io_uring: not built".
 */
extern MMAPIO_INTERNAL const struct mmapio__engine mmapio__engine_uring;

#endif
