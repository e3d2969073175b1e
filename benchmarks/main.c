/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mmapio-bench: runs workloads W1..W12 (W6 also on fully dirty maps) and S1
 * on the io_uring backend, the blocking backend and plain hand-written
 * system calls in one process and prints a table of medians and ratios.  See usage() for the options and README.md
 * for what the figures mean.
 *
 * Exit status: 0 when every variant ran and verified; 1 when a variant
 * failed or its result did not verify (its row says why); 2 for a usage
 * error; 3 when the environment could not be set up; 130 when interrupted.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "bench.h"

#define TMPFS_MAGIC_NUMBER 0x01021994

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mmapio-bench [options]\n"
		"  --quick          small sizes: finishes in under 10 s\n"
		"  --reps N         measured repetitions per variant, N >= 7 (default 7);\n"
		"                   S1 measures single operations: max(N, 501), or 101 with --quick\n"
		"  --size BYTES     large-file size for W1, W2, W5, W7 and the fully dirty W6\n"
		"                   maps (W6/dirty-16, W6/dirty-many); W3 and W6 use a quarter\n"
		"                   (default 256M; suffixes K, M, G)\n"
		"  --files N        files for W4 and W9, dirty ranges for W6 (default 1000)\n"
		"  --ops N          W8 operations per thread and run (default 1000000)\n"
		"  --qd N           ring queue depth passed to mmapio_ring_open (default 64)\n"
		"  --dir DIR        make the working directory inside DIR (default $TMPDIR,\n"
		"                   else /var/tmp; never a tmpfs unless DIR is given); it is\n"
		"                   removed at exit\n"
		"  --only LIST      comma-separated workloads, e.g. W3,W5 or W4/8dirs\n"
		"  --json FILE      also write the results as JSON (see chart.sh)\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -1;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static bool is_tmpfs(const char *dir)
{
	struct statfs s;

	return statfs(dir, &s) == 0 && (unsigned long)s.f_type == TMPFS_MAGIC_NUMBER;
}

static int parse_args(int argc, char **argv, struct bench_opts *o, const char **parent)
{
	static const struct option longopts[] = {
		{ "quick", no_argument, NULL, 'q' },  { "reps", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 's' }, { "files", required_argument, NULL, 'f' },
		{ "ops", required_argument, NULL, 'o' },  { "qd", required_argument, NULL, 'Q' },
		{ "dir", required_argument, NULL, 'd' },  { "only", required_argument, NULL, 'O' },
		{ "json", required_argument, NULL, 'j' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t size = 0, files = 0, ops = 0, v;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'q': o->quick = true; break;
		case 'd': *parent = optarg; break;
		case 'O': o->only = optarg; break;
		case 'j': o->json = optarg; break;
		case 'h': usage(stdout); exit(0);
		case 'r': case 's': case 'f': case 'o': case 'Q':
			if (parse_u64(optarg, &v) < 0 || v == 0) {
				fprintf(stderr, "mmapio-bench: bad number '%s'\n", optarg);
				return -1;
			}
			if (c == 'r')
				o->reps = v > BENCH_MAX_REPS ? BENCH_MAX_REPS : (unsigned)v;
			else if (c == 's')
				size = v;
			else if (c == 'f')
				files = v;
			else if (c == 'o')
				ops = v;
			else
				o->queue_depth = v > 4096 ? 4096 : (unsigned)v;
			break;
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return -1;
	}
	if (o->reps < 7) {
		fprintf(stderr, "mmapio-bench: --reps must be at least 7\n");
		return -1;
	}
	o->size = size ? size : o->quick ? 32u << 20 : 256u << 20;
	o->files = files ? (files > 1000000 ? 1000000 : (unsigned)files) : o->quick ? 50 : 1000;
	o->access_ops = ops ? ops : o->quick ? 100000 : 1000000;
	/* Whole 64 KiB blocks keep every workload's pieces and pages aligned. */
	o->size = o->size / (64u << 10) * (64u << 10);
	if (o->size < (1u << 20)) {
		fprintf(stderr, "mmapio-bench: --size must be at least 1M\n");
		return -1;
	}
	return 0;
}

static int make_workdir(struct bench_opts *o, const char *parent)
{
	const char *tmp = getenv("TMPDIR");

	if (!parent) {
		/* A tmpfs has no disk behind it: flushes would measure nothing. */
		parent = tmp && *tmp && !is_tmpfs(tmp) ? tmp : "/var/tmp";
		if (tmp && *tmp && parent != tmp)
			fprintf(stderr, "mmapio-bench: $TMPDIR %s is a tmpfs; using /var/tmp\n", tmp);
	}
	if (is_tmpfs(parent))
		fprintf(stderr, "mmapio-bench: %s is a tmpfs: the flush workloads reach no disk\n",
			parent);
	snprintf(o->dir, sizeof(o->dir), "%s/mmapio-bench.XXXXXX", parent);
	if (!mkdtemp(o->dir)) {
		fprintf(stderr, "mmapio-bench: mkdtemp %s: %s\n", o->dir, strerror(errno));
		return -1;
	}
	return 0;
}

static void on_signal(int sig)
{
	(void)sig;
	bench_request_stop();
}

static int open_rings(struct bench_ctx *ctx, unsigned depth, char *why, size_t whylen)
{
	struct mmapio_ring_options ro = { .queue_depth = depth, .backend = MMAPIO_BACKEND_URING };
	mmapio_ring *ring;
	int r;

	r = mmapio_ring_open(&ro, &ring);
	if (r < 0) {
		snprintf(why, whylen, "mmapio_ring_open(MMAPIO_BACKEND_URING): %s (%d)",
			 mmapio_strerror(r), r);
		ctx->uring_reason = why;
	} else {
		ctx->uring = ring;
		mmapio_ring_backend(ring, &ctx->uring_reason);
	}
	ro.backend = MMAPIO_BACKEND_FALLBACK;
	r = mmapio_ring_open(&ro, &ring);
	if (r < 0) {
		fprintf(stderr, "mmapio-bench: mmapio_ring_open(MMAPIO_BACKEND_FALLBACK): %s (%d)\n",
			mmapio_strerror(r), r);
		return -1;
	}
	ctx->blocking = ring;
	return 0;
}

int main(int argc, char **argv)
{
	struct bench_opts opts = { .reps = 7, .queue_depth = 64 };
	struct bench_ctx ctx = { .opts = &opts };
	static int (*const workloads[])(const struct bench_ctx *) = {
		bench_w1_w2, bench_w3, bench_w4, bench_w5, bench_w6, bench_w6_dirty, bench_w7,
		bench_w8, bench_w9, bench_w10, bench_w11, bench_w12, bench_s1,
	};
	const char *parent = NULL;
	char why[256], *data = NULL;
	struct sigaction sa;
	uint64_t started;
	int status = 0;

	if (parse_args(argc, argv, &opts, &parent) < 0)
		return 2;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (make_workdir(&opts, parent) < 0)
		return 3;
	if (open_rings(&ctx, opts.queue_depth, why, sizeof(why)) < 0) {
		status = 3;
		goto out;
	}
	bench_print_header(&ctx);

	/* The resident input of W1, W2 and W5: written, synced, then read once. */
	if (bench_selected(&opts, "W1") || bench_selected(&opts, "W2/4KiB") ||
	    bench_selected(&opts, "W2/1MiB") || bench_selected(&opts, "W5")) {
		data = bench_path(opts.dir, "data");
		if (!data || bench_make_file(data, opts.size, 1, &ctx.data_sum) < 0 ||
		    bench_touch_file(data) < 0) {
			fprintf(stderr, "mmapio-bench: input file: %s\n",
				data ? bench_last_error() : "out of memory");
			status = 3;
			goto out;
		}
		ctx.data_path = data;
	}

	started = bench_now_ns();
	bench_print_table_head();
	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		if (bench_stopping())
			break;
		if (workloads[i](&ctx) < 0)
			status = 1;
	}
	bench_print_ring_counters();
	bench_print_targets();
	printf("\nworkloads took %.1f s\n", (double)(bench_now_ns() - started) / 1e9);
	if (opts.json) {
		if (bench_write_json(&ctx, opts.json) < 0) {
			fprintf(stderr, "mmapio-bench: writing %s: %s\n", opts.json, strerror(errno));
			status = status ? status : 3;
		} else {
			printf("\nresults written to %s\n", opts.json);
		}
	}
	if (status == 1)
		printf("\nmmapio-bench: FAILED: see the ERROR rows above\n");
	if (bench_stopping()) {
		printf("\nmmapio-bench: interrupted\n");
		status = 130;
	}
out:
	mmapio_ring_close(ctx.uring);
	mmapio_ring_close(ctx.blocking);
	free(data);
	if (bench_rmtree(opts.dir) < 0)
		fprintf(stderr, "mmapio-bench: could not remove %s: %s\n", opts.dir, strerror(errno));
	return status;
}
