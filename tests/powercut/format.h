/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the power-cut child writes and the harness checks after the cut:
 * one definition, so that the two programs cannot disagree.
 *
 * Records are 4 KiB: a head (magic, kind, number, round, CRC-32) and a
 * payload drawn from a generator seeded with (kind, round, number), so a
 * record that holds another record's bytes, another round's, or a mix of
 * old and new pages fails its check.  The CRC covers the whole record with
 * the CRC field zeroed.
 *
 * The records of a data file start at PC_REC_BASE, not at 0, so that every
 * record straddles a page boundary: a flush that does not round its range
 * out to whole pages leaves the record's tail behind, and the check sees it.
 */
#ifndef PC_FORMAT_H
#define PC_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define PC_REC_SIZE 4096u
#define PC_REC_BASE 1024u
#define PC_MAGIC 0x54554350u /* "PCUT" */

/*
 * Records (or files, or copies) a child writes at most in one round.  The
 * cut comes long before: a flushing child makes a few hundred records a
 * second on a loop device, and the control is paced to about a thousand.
 */
#define PC_CAPACITY 4096u

/*
 * What a child sends for each durable item: its number, and when the call
 * that made it durable returned (CLOCK_MONOTONIC, which all processes
 * share).  The harness holds to the promise only the items whose call
 * returned before the cut began: in a real power cut no call returns
 * afterwards, but ext4's shutdown lets an fsync already in flight return 0
 * without its data (it drops the failed unwritten-extent conversion once
 * shut down), so later items are checked and shown, not counted.
 * 16 bytes: a pipe write this small is atomic.
 */
struct pc_report {
	uint64_t n;
	uint64_t t_ns;
};

/* Reported (as n) after the last item when a child reaches PC_CAPACITY. */
#define PC_REPORT_DONE UINT64_MAX

/* The descriptor on which a child reports. */
#define PC_REPORT_FD 3

/* The time base of pc_report.t_ns. */
uint64_t pc_now_ns(void);

/* Exit status of a child for a case that cannot run here (77, as automake). */
#define PC_EXIT_SKIP 77

/* Record kinds: data records, and the blocks of the two copy sources. */
enum pc_kind {
	PC_KIND_DATA = 1,
	PC_KIND_COPY_A = 'A',
	PC_KIND_COPY_B = 'B',
};

/* The data file of the record cases, in the round's directory. */
#define PC_DATA_NAME "data"

/* The copy case: two sources of different sizes and the destination. */
#define PC_COPY_SRC_A "src-A"
#define PC_COPY_SRC_B "src-B"
#define PC_COPY_DST "dst"
#define PC_COPY_BUSY "busy" /* the other writer beside the copies (child.c) */
/*
 * A is large enough to go through the thread's default ring (copies of
 * 512 KiB or more, src/sync.c), B is small enough to be copied with direct
 * calls: alternating them covers both routes, and their different sizes
 * show a destination cut short or left with the other's tail.
 */
#define PC_COPY_A_BLOCKS 256u /* 1 MiB */
#define PC_COPY_B_BLOCKS 96u  /* 384 KiB */

/* The version a copy case's copy number i writes: 0, 2, 4... A, odd B. */
static inline enum pc_kind pc_copy_kind(uint64_t i)
{
	return (i & 1) ? PC_KIND_COPY_B : PC_KIND_COPY_A;
}

static inline uint32_t pc_copy_blocks(enum pc_kind kind)
{
	return kind == PC_KIND_COPY_A ? PC_COPY_A_BLOCKS : PC_COPY_B_BLOCKS;
}

/* Offset of data record seq in a data file. */
static inline uint64_t pc_rec_off(uint64_t seq)
{
	return PC_REC_BASE + seq * PC_REC_SIZE;
}

/*
 * The size of batch-created file n: 0 to about 60 KiB, not page-aligned,
 * some of them empty, so that a size the create did not make durable shows.
 */
static inline uint64_t pc_create_size(uint64_t n)
{
	return (n * 2654435761u % 16u) * 3989u + (n % 7u);
}

/* Writes the name of batch-created file n ("f000042") into buf. */
void pc_create_name(char *buf, size_t size, uint64_t n);

/*
 * The commit cases: commit k writes data records PC_COMMIT_RECS * k ... +
 * PC_COMMIT_RECS - 1, then, after a barrier, the meta record in slot
 * PC_META_SLOT, a data record whose number is the count of commits done
 * (k + 1).  After a cut the meta record may claim only records that are
 * intact.
 */
#define PC_COMMIT_RECS 4u
#define PC_META_SLOT (PC_CAPACITY - 1)

/* Fills buf (PC_REC_SIZE bytes) with record seq of the given kind and round. */
void pc_record_fill(void *buf, enum pc_kind kind, uint64_t round, uint64_t seq);

/* What a record read back after the cut holds. */
enum pc_check {
	PC_CHECK_OK,      /* exactly the record that was written */
	PC_CHECK_LOST,    /* zeros or missing: it never reached the disk */
	PC_CHECK_CORRUPT, /* anything else: a torn, stale or misplaced record */
};

/*
 * Checks the got bytes at buf (got < PC_REC_SIZE when the file was short)
 * against record seq of kind and round: magic, kind, number, round, CRC,
 * and last the payload byte for byte.  When why is not NULL it receives a
 * static description of what was found.
 */
enum pc_check pc_record_check(const void *buf, size_t got, enum pc_kind kind, uint64_t round,
			      uint64_t seq, const char **why);

#endif /* PC_FORMAT_H */
