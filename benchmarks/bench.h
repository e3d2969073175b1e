/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared declarations of the benchmark program mmapio-bench.
 *
 * A workload (struct bench_workload, "W4/8dirs") holds variants: the same job
 * done on the io_uring backend, on the blocking backend, through the
 * backend-free core API, and by hand with plain system calls.  The harness
 * (harness.c) runs all variants of a workload in turns within each
 * repetition, times each run with CLOCK_MONOTONIC, verifies each variant's
 * result once after its warm-up run, and prints one row per variant.
 * The workloads themselves live in w_*.c, one family per file.
 */
#ifndef MMAPIO_BENCH_H
#define MMAPIO_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mmapio.h>

#define BENCH_MAX_VARIANTS 6
#define BENCH_MAX_REPS 1000

/* Sizes the workloads pass to the library and to the hand-written code. */
#define BENCH_VIEW_WINDOW (1u << 20)    /* W1 view and pread block */
#define BENCH_SMALL_PIECE 4096u         /* W2 small piece */
#define BENCH_LARGE_PIECE (1u << 20)    /* W2 large piece */
#define BENCH_REGION (64u << 10)        /* W3 write region */
#define BENCH_FILE_SIZE (64u << 10)     /* W4/W9 file size */
#define BENCH_SPREAD_DIRS 8u            /* W4 spread variant */
#define BENCH_RW_BUFFER (1u << 20)      /* W5 read/write loop buffer */
#define BENCH_FLUSH_PAGE 4096u          /* W6 range length */

/* Command-line settings, fixed before the first workload runs. */
struct bench_opts {
	unsigned reps;          /* measured repetitions (a warm-up comes first) */
	uint64_t size;          /* large-file size: W1, W2, W5, W7 */
	unsigned files;         /* W4/W9 file count and W6 range count */
	unsigned queue_depth;   /* passed to mmapio_ring_open */
	uint64_t access_ops;    /* W8 operations per thread and run */
	bool quick;
	const char *only;       /* comma-separated workload names, or NULL */
	const char *json;       /* output file, or NULL */
	char dir[4096];         /* the fresh working directory */
};

/* What a variant is, for the table, the JSON and the chart's colours. */
enum bench_kind {
	BENCH_URING,     /* mmapio on a ring opened with MMAPIO_BACKEND_URING */
	BENCH_BLOCKING,  /* mmapio on a ring opened with MMAPIO_BACKEND_FALLBACK */
	BENCH_CORE,      /* mmapio core API that no backend takes part in */
	BENCH_HAND       /* plain system calls written by hand */
};

enum bench_unit {
	BENCH_GBPS,      /* amount is bytes per run; higher is better */
	BENCH_FILES_S,   /* amount is files per run; higher is better */
	BENCH_MS,        /* milliseconds per run; lower is better */
	BENCH_NS_OP,     /* amount is operations per run; lower is better */
	BENCH_US_OP,     /* amount is operations per run; lower is better */
	BENCH_COMMITS_S  /* amount is commits per run; higher is better */
};

/*
 * One way of doing a workload.  Every callback returns 0 or a negative value
 * after describing the failure with bench_fail() or bench_failf().
 *
 * prepare runs untimed before every run (re-dirty pages, remove the files
 * the previous run made); rep is 0 for the warm-up and 1..reps after, so
 * that all variants of one repetition can share its random choices.  run is
 * the timed part.  verify checks what the warm-up run produced.  Any of
 * prepare and verify may be NULL.
 *
 * run_timed, when set, replaces run for a variant that times itself and
 * stores the nanoseconds of its timed part in *ns: S1 runs each operation on
 * a thread of its own and must leave the hand-over to that thread out of
 * the figure.
 */
struct bench_variant {
	const char *name;
	enum bench_kind kind;
	bool baseline;
	int (*prepare)(void *arg, unsigned rep);
	int (*run)(void *arg);
	int (*run_timed)(void *arg, uint64_t *ns);
	int (*verify)(void *arg);
	void *arg;
	mmapio_ring *ring;      /* ring whose counters are reported, or NULL */
};

struct bench_workload {
	const char *id;         /* "W4/8dirs" */
	char title[160];        /* one line saying what is measured */
	enum bench_unit unit;
	double amount;          /* bytes, files or operations per run */
	unsigned reps;          /* measured repetitions; 0 means --reps */
	bool percentiles;       /* rows also print the p99 of the samples */
	unsigned n;
	struct bench_variant v[BENCH_MAX_VARIANTS];
};

/* Everything a workload needs from main. */
struct bench_ctx {
	const struct bench_opts *opts;
	mmapio_ring *uring;          /* NULL when io_uring could not be opened */
	mmapio_ring *blocking;
	const char *uring_reason;    /* why uring is NULL, or its backend reason */
	const char *data_path;       /* the resident input file of opts->size bytes */
	uint64_t data_sum;           /* sum of its 64-bit words */
};

/* harness.c */
void bench_add_variant(struct bench_workload *w, const char *name, enum bench_kind kind,
		       bool baseline, int (*prepare)(void *, unsigned), int (*run)(void *),
		       int (*verify)(void *), void *arg, mmapio_ring *ring);
/* Adds a variant that times itself (see struct bench_variant's run_timed). */
void bench_add_timed_variant(struct bench_workload *w, const char *name, enum bench_kind kind,
			     bool baseline, int (*prepare)(void *, unsigned),
			     int (*run_timed)(void *, uint64_t *), int (*verify)(void *), void *arg);
/* Runs, prints and records a workload.  Returns 0, or -1 if a variant failed. */
int bench_run(const struct bench_ctx *ctx, struct bench_workload *w);
/* Records a skipped workload or variant group, printed as a row. */
void bench_note_row(const char *id, const char *variant, const char *text, bool failure);
int bench_fail(const char *call, int err);
int bench_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The message of the last bench_fail or bench_failf. */
const char *bench_last_error(void);
void bench_print_table_head(void);
/* True once SIGINT or SIGTERM has asked the program to stop. */
bool bench_stopping(void);
void bench_request_stop(void);

/* Results, kept for the targets, the ring counters and the JSON. */
struct bench_result {
	char id[32];
	char title[160];
	char variant[64];
	enum bench_kind kind;
	bool baseline;
	enum bench_unit unit;
	bool ok;                /* measured and verified */
	bool skipped;           /* not run: backend unavailable */
	char error[256];
	double median, min, max, ratio;   /* ratio 0 when there is no baseline */
	double p99;                       /* the sample that 99% of samples do not exceed */
	unsigned nsamples;
	double samples[BENCH_MAX_REPS];
	bool has_stats;
	struct mmapio_ring_stats stats;   /* ring counters over the measured runs */
	unsigned runs;                    /* measured runs the counters cover */
};
unsigned bench_result_count(void);
const struct bench_result *bench_result_at(unsigned i);
const struct bench_result *bench_result_find(const char *id, const char *variant);
const char *bench_unit_name(enum bench_unit unit);
const char *bench_kind_name(enum bench_kind kind);
bool bench_higher_is_better(enum bench_unit unit);

/* report.c */
void bench_print_header(const struct bench_ctx *ctx);
void bench_print_ring_counters(void);
/* Prints the targets; returns nothing: targets are goals, not tests. */
void bench_print_targets(void);
int bench_write_json(const struct bench_ctx *ctx, const char *path);

/* util.c */
uint64_t bench_now_ns(void);
uint64_t bench_sum_words(const void *p, size_t len);
/* Fills buf with the pseudo-random bytes of stream seed at byte offset off (8-aligned). */
void bench_fill(void *buf, size_t len, uint64_t seed, uint64_t off);
/* Writes a file of size bytes of bench_fill(seed) and syncs it; *sum gets its word sum. */
int bench_make_file(const char *path, uint64_t size, uint64_t seed, uint64_t *sum);
/* Reads path in full once so that its pages are resident. */
int bench_touch_file(const char *path);
/* Compares path with the bytes of bench_fill(seed); 0 when equal and size matches. */
int bench_check_file_seed(const char *path, uint64_t size, uint64_t seed);
/* Compares two files; 0 when equal. */
int bench_check_files_equal(const char *a, const char *b);
int bench_rmtree(const char *path);
/* Writes dir/name into a heap string; NULL on ENOMEM. */
char *bench_path(const char *dir, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Submits what is prepared on ring, expecting n operations, and reaps all n
 * completions, checking each result.  Returns 0 or fails with a message.
 */
int bench_ring_complete(mmapio_ring *ring, unsigned n, enum mmapio_op op);
/* The two halves of bench_ring_complete, for callers that work in between. */
int bench_ring_submit(mmapio_ring *ring, unsigned n, enum mmapio_op op);
/*
 * Waits (without a timeout, through EINTR) until n completions are in
 * c[0..n).  Returns 0, or -1 after printing why.
 */
int bench_ring_wait_n(mmapio_ring *ring, struct mmapio_completion *c, unsigned n);
int bench_ring_reap(mmapio_ring *ring, unsigned n, enum mmapio_op op);
/* After a failed prep call: submits and reaps whatever is prepared, ignoring results. */
void bench_ring_discard(mmapio_ring *ring);
/*
 * True when --only names the workload, a family it belongs to ("W4" for
 * "W4/8dirs"), or a member of it (so that "W8/seg-ro-1t" selects the W8 setup).
 */
bool bench_selected(const struct bench_opts *opts, const char *workload);
/* Formats a byte count as "256 MiB" into buf and returns buf. */
char *bench_size_str(char *buf, size_t size, uint64_t bytes);
/* A small pseudo-random generator for choices (not data). */
uint64_t bench_rand(uint64_t *state);
/*
 * Draws n distinct random pages among the npages whose used[] byte is 0,
 * marks them used, and sets ranges[i] to { page * page_size, len } in the
 * order drawn.  The caller clears used[] (and marks pages never to draw).
 */
void bench_draw_pages(uint64_t seed, unsigned char *used, uint64_t npages,
		      struct mmapio_range *ranges, unsigned n, uint64_t page_size, uint64_t len);

/* The workloads; each returns 0, or -1 when setup or a variant failed. */
int bench_w1_w2(const struct bench_ctx *ctx);
int bench_w3(const struct bench_ctx *ctx);
int bench_w4(const struct bench_ctx *ctx);
int bench_w5(const struct bench_ctx *ctx);
int bench_w6(const struct bench_ctx *ctx);
int bench_w6_dirty(const struct bench_ctx *ctx);
int bench_w7(const struct bench_ctx *ctx);
int bench_w8(const struct bench_ctx *ctx);
int bench_w9(const struct bench_ctx *ctx);
int bench_w10(const struct bench_ctx *ctx);
int bench_w11(const struct bench_ctx *ctx);
int bench_w12(const struct bench_ctx *ctx);
int bench_s1(const struct bench_ctx *ctx);
/* S1's measured repetitions: single operations need more than --reps. */
unsigned bench_s1_reps(const struct bench_opts *opts);

#endif
