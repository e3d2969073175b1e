/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Test hooks of the io_uring engine: knobs that make a modern kernel look
 * like an older or a hostile one, so that every degraded path of uring/
 * runs in the test suites.  Programs never set them; every knob is off at
 * zero, and mmapio__ur_hooks_reset() turns them all off.
 *
 * The knobs are one process-wide struct, not synchronised: set them while no
 * io_uring ring has work in flight (the feature knobs are read when a ring
 * opens, the others as each SQE is handed to the kernel and each CQE comes
 * back).  In builds without io_uring the struct exists too and does nothing,
 * so that tests link either way.
 *
 * This header includes nothing of liburing: tests include it as
 * "uring/hooks.h".
 */
#ifndef MMAPIO_URING_HOOKS_H
#define MMAPIO_URING_HOOKS_H

#include <stdint.h>

#include "visibility.h"

/*
 * The steps of the operations' state machines, as the result knobs name
 * them.  Which kinds have which steps:
 *
 *   create   OPEN STAT ALLOC TRUNC FSYNC CLOSE DOPEN DFSYNC DCLOSE UNLINK
 *   copy     READ WRITE FSYNC DOPEN DFSYNC DCLOSE UNLINK
 *   delete   UNLINK
 *   flush    FSYNC (one per part of at most 2 GiB); with several ranges
 *            SYNC_RANGE (each part twice: start, then wait) and one FSYNC
 *   write    WRITE (one per short write)
 *   rename   RENAME DOPEN DFSYNC DCLOSE (the directory steps when durable)
 *   sync_dir DOPEN DFSYNC DCLOSE
 *
 * STAT is the statx of an existing file that a create reopened; TRUNC the
 * ftruncate of a sparse create, or of one whose filesystem refused
 * fallocate; UNLINK in a create or copy removes the file that a failed
 * operation made.
 */
enum mmapio__ur_step {
	MMAPIO__UR_OPEN,
	MMAPIO__UR_STAT,
	MMAPIO__UR_ALLOC,
	MMAPIO__UR_TRUNC,
	MMAPIO__UR_FSYNC,
	MMAPIO__UR_CLOSE,
	MMAPIO__UR_DOPEN,
	MMAPIO__UR_DFSYNC,
	MMAPIO__UR_DCLOSE,
	MMAPIO__UR_UNLINK,
	MMAPIO__UR_READ,
	MMAPIO__UR_WRITE,
	MMAPIO__UR_GATE,   /* the engine's own: the gate read below */
	MMAPIO__UR_RENAME,
	MMAPIO__UR_SYNC_RANGE, /* IORING_OP_SYNC_FILE_RANGE of a several-range flush */
	MMAPIO__UR_NSTEPS
};

/* The result knobs are indexed by enum mmapio_op, 1 to 7. */
#define MMAPIO__UR_NKINDS 8

struct mmapio__ur_hooks {
	/*
	 * Kernel features, read when a ring opens.
	 *
	 * no_ext_arg: as if IORING_FEAT_EXT_ARG were missing (before Linux
	 * 5.11): timed waits go through liburing, which queues a timeout SQE
	 * whose CQE carries LIBURING_UDATA_TIMEOUT.
	 * no_direct: no sparse file table, so no direct descriptor slots:
	 * creates open plain descriptors.
	 * no_probe: as if IORING_REGISTER_PROBE failed (before 5.6): no
	 * opcode is known, so every operation runs on the fallback engine.
	 * mask_ops: opcode n counts as missing when bit n is set (for
	 * example (uint64_t)1 << 55, IORING_OP_FTRUNCATE).
	 * max_slots: at most this many direct descriptor slots.
	 */
	int no_ext_arg;
	int no_direct;
	int no_probe;
	uint64_t mask_ops;
	unsigned max_slots;

	/*
	 * refuse_fallocate: every fallocate of a create completes with
	 * -EOPNOTSUPP without running, as on a filesystem that cannot
	 * reserve space; the create then sizes the file with ftruncate (on
	 * the ring with IORING_OP_FTRUNCATE, else with a blocking call).
	 */
	int refuse_fallocate;

	/*
	 * enter_error (a -errno): once a ring has made enter_after calls of
	 * io_uring_enter (the check its open makes counts, so 0 fails the
	 * open), every further one fails with enter_error without reaching
	 * the kernel, and the SQEs stay untaken.
	 */
	int enter_error;
	unsigned enter_after;

	/*
	 * result[kind][step] (a -errno): every request of that step of an
	 * operation of that kind completes with this result.  The request
	 * does not run (it goes to the kernel as a NOP, links intact), except
	 * the closes (CLOSE, DCLOSE), which run so that nothing leaks and
	 * only report the error.
	 */
	int result[MMAPIO__UR_NKINDS][MMAPIO__UR_NSTEPS];

	/*
	 * gate_kinds (bit 1 << kind): each operation of these kinds, once in
	 * the window, first reads one byte from gate_fd on the ring and
	 * starts only when that read completes (whatever its result).  A
	 * test holds operations in the kernel this way and releases them by
	 * writing one byte per operation to a pipe.
	 */
	unsigned gate_kinds;
	int gate_fd;

	/*
	 * short_write (bytes, 0 off): the first request of every write
	 * operation longer than this writes only its first short_write bytes,
	 * and the kernel sees the request fail, breaking a link from it as a
	 * short write does; its CQE reports the bytes written.  The write
	 * then goes on with the rest, as after any short write.
	 */
	unsigned short_write;

	/*
	 * Not a knob but a count, for tests that check how many requests of
	 * a kind the engine issued: cqes[kind][step] goes up by one for every
	 * CQE of that step of an operation of that kind that came back from
	 * the kernel (a hooked one included).  The directory syncs that a
	 * ring issues itself for a batch of durable operations are SYNC_DIR.
	 */
	unsigned long cqes[MMAPIO__UR_NKINDS][MMAPIO__UR_NSTEPS];

	/*
	 * Counts too.  linked[kind]: operations of that kind whose first
	 * request went to the kernel linked behind the previous operation's
	 * (IOSQE_IO_LINK on that one's SQE, in the same submission batch).
	 * link_cancelled[kind]: of those, how many the kernel cancelled
	 * because the request before failed or was short; such a CQE is not
	 * counted in cqes, as the request did not run.
	 */
	unsigned long linked[MMAPIO__UR_NKINDS];
	unsigned long link_cancelled[MMAPIO__UR_NKINDS];
};

extern MMAPIO_INTERNAL struct mmapio__ur_hooks mmapio__ur_hooks;

/* Turns every knob off. */
MMAPIO_INTERNAL void mmapio__ur_hooks_reset(void);

#endif
