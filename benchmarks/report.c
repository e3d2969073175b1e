/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What the program reports besides the table: the header describing the
 * machine and the settings, the ring counters behind each ring row, the
 * targets as measured ratios and bounds, and the JSON file (written by hand,
 * one result per line, so that line tools such as chart.sh can read it).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static struct {
	char date[64];
	char kernel[512];
	char fs[64];
	char load[64];
	unsigned long fs_magic;
	long cpus;
	char cpu_model[128];
	char uring[256];
	char blocking[256];
	bool uring_ok;
} env;

/* Names the filesystem types a benchmark directory is likely to sit on. */
static const char *fs_magic_name(unsigned long magic)
{
	switch (magic) {
	case 0xef53: return "ext2/3/4";
	case 0x01021994: return "tmpfs";
	case 0x58465342: return "xfs";
	case 0x9123683e: return "btrfs";
	case 0x794c7630: return "overlayfs";
	case 0xf2f52010: return "f2fs";
	case 0x2fc12fc1: return "zfs";
	case 0x6969: return "nfs";
	case 0x65735546: return "fuse";
	case 0x858458f6: return "ramfs";
	}
	return "unknown";
}

/*
 * ext4 without a journal behaves differently enough to say so: fsync commits
 * no journal, and inodes freed in the last 30 s are not reused (W4, W9).
 * ext4 reports its journal thread in sysfs, "<none>" when there is none.
 */
static void ext4_journal_note(const char *dev, char *out, size_t size)
{
	char path[512], task[64] = "";
	const char *base = strrchr(dev, '/');
	size_t n = strlen(out);
	FILE *f;

	if (strcmp(out, "ext4") != 0 || !base)
		return;
	snprintf(path, sizeof(path), "/sys/fs/ext4/%s/journal_task", base + 1);
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(task, sizeof(task), f) && strncmp(task, "<none>", 6) == 0)
		snprintf(out + n, size - n, ", no journal");
	fclose(f);
}

/*
 * The mount table names ext4 where the magic number cannot tell it from ext2
 * and ext3: take the type of the longest mount point containing dir.
 */
static void fs_type_from_mounts(const char *dir, char *out, size_t size)
{
	char real[PATH_MAX], line[4096], dev[256], mnt[PATH_MAX], type[64], best_dev[256] = "";
	size_t best = 0;
	FILE *f;

	if (!realpath(dir, real) || !(f = fopen("/proc/self/mounts", "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t n;

		if (sscanf(line, "%255s %4095s %63s", dev, mnt, type) != 3)
			continue;
		n = strlen(mnt);
		if (strncmp(real, mnt, n) != 0 || (real[n] != '/' && real[n] != '\0' && n > 1))
			continue;
		if (n >= best) {
			best = n;
			snprintf(out, size, "%s", type);
			snprintf(best_dev, sizeof(best_dev), "%s", dev);
		}
	}
	fclose(f);
	ext4_journal_note(best_dev, out, size);
}

static void cpu_model(char *out, size_t size)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "re");

	snprintf(out, size, "unknown");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && colon) {
			colon += 1 + strspn(colon + 1, " \t");
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(out, size, "%s", colon);
			break;
		}
	}
	fclose(f);
}

/* Other work on the machine shows in the spread of the rows; the load says how much. */
static void read_loadavg(char *out, size_t size)
{
	FILE *f = fopen("/proc/loadavg", "re");
	double a = 0, b = 0, c = 0;

	snprintf(out, size, "unknown");
	if (f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(out, size, "%.2f %.2f %.2f", a, b, c);
	if (f)
		fclose(f);
}

static void describe_ring(char *out, size_t size, mmapio_ring *ring, const char *missing)
{
	const char *reason = NULL;
	enum mmapio_backend b;

	if (!ring) {
		snprintf(out, size, "unavailable: %s", missing);
		return;
	}
	b = mmapio_ring_backend(ring, &reason);
	snprintf(out, size, "%s (mmapio_ring_backend reason: \"%s\")",
		 b == MMAPIO_BACKEND_URING ? "io_uring" : b == MMAPIO_BACKEND_FALLBACK ? "blocking" : "auto?",
		 reason ? reason : "");
}

void bench_print_header(const struct bench_ctx *ctx)
{
	const struct bench_opts *o = ctx->opts;
	struct utsname u;
	struct statfs sfs;
	time_t now = time(NULL);
	char sz[32];

	strftime(env.date, sizeof(env.date), "%Y-%m-%d %H:%M:%S %z", localtime(&now));
	if (uname(&u) == 0)
		snprintf(env.kernel, sizeof(env.kernel), "%s %s %s %s", u.sysname, u.release, u.version,
			 u.machine);
	if (statfs(o->dir, &sfs) == 0)
		env.fs_magic = (unsigned long)sfs.f_type;
	snprintf(env.fs, sizeof(env.fs), "%s", fs_magic_name(env.fs_magic));
	fs_type_from_mounts(o->dir, env.fs, sizeof(env.fs));
	env.cpus = sysconf(_SC_NPROCESSORS_ONLN);
	read_loadavg(env.load, sizeof(env.load));
	cpu_model(env.cpu_model, sizeof(env.cpu_model));
	env.uring_ok = ctx->uring != NULL;
	describe_ring(env.uring, sizeof(env.uring), ctx->uring, ctx->uring_reason);
	describe_ring(env.blocking, sizeof(env.blocking), ctx->blocking, "");

	printf("mmapio-bench: io_uring backend vs blocking backend vs plain system calls\n");
	printf("  date        %s\n", env.date);
	printf("  library     mmapio %s\n", mmapio_version_string());
	printf("  kernel      %s\n", env.kernel);
	printf("  work dir    %s (%s, statfs f_type %#lx)\n", o->dir, env.fs, env.fs_magic);
	printf("  cpus        %ld online, %s; load average at start %s\n", env.cpus, env.cpu_model,
	       env.load);
	printf("  uring ring  %s\n", env.uring);
	printf("  block ring  %s\n", env.blocking);
	printf("  rings       queue depth %u, flags 0 (none defined), opened once before the "
	       "workloads\n", o->queue_depth);
	printf("  sizes       --size %s, --files %u, W8 %llu ops per thread and run%s\n",
	       bench_size_str(sz, sizeof(sz), o->size), o->files, (unsigned long long)o->access_ops,
	       o->quick ? " (--quick)" : "");
	printf("  blocks      W1 1 MiB views and pread; W2 4 KiB and 1 MiB pieces; W3 64 KiB "
	       "regions;\n              W4/W9 64 KiB files; W5 1 MiB read/write buffer; W6 4 KiB "
	       "ranges; the library's\n              internal copy window is not visible through "
	       "its API\n");
	printf("  method      1 warm-up (then verification) + %u measured runs per variant, variants\n"
	       "              taking turns in each repetition; CLOCK_MONOTONIC; nothing dropped "
	       "from the page cache\n", o->reps);
	printf("  S1          one operation per run, %u measured runs per variant, each variant on a\n"
	       "              thread of its own that times only the call (us/op)\n", bench_s1_reps(o));
	printf("  ratio       against the row marked baseline; > 1 means faster than it "
	       "(for ms, ns/op and us/op: baseline/median)\n");
	if (strstr(env.fs, "no journal"))
		printf("  note        ext4 without a journal will not reuse an inode freed in the last "
		       "30 s: every create\n              scans past them, so W4 and W9 slow down after "
		       "mass deletions by anyone on\n              this filesystem (this program's own "
		       "cleanup at exit included)\n");
	printf("\n");
}

void bench_print_ring_counters(void)
{
	bool any = false;

	for (unsigned i = 0; i < bench_result_count(); i++) {
		const struct bench_result *r = bench_result_at(i);
		double k;

		if (!r->has_stats || r->runs == 0)
			continue;
		if (!any)
			printf("\nring counters per measured run (mmapio_ring_stats):\n");
		any = true;
		k = 1.0 / r->runs;
		printf("  %-14s %-38s prepared %6.0f  sqes %6.0f  enters %5.0f  blocking ops %6.0f\n",
		       r->id, r->variant, (double)r->stats.prepared * k, (double)r->stats.uring_sqes * k,
		       (double)r->stats.uring_enters * k, (double)r->stats.blocking_ops * k);
		if (r->kind == BENCH_URING && r->stats.uring_sqes == 0)
			printf("  %-14s note: this io_uring ring submitted no io_uring request; "
			       "the library ran the work with blocking calls\n", "");
	}
}

/* Which statistic of a row a target looks at. */
enum target_stat { STAT_MEDIAN, STAT_P99, STAT_MAX };

/*
 * A goal: a bound on one row's statistic (b NULL), or on the ratio of two
 * rows' medians.  Ratios are speed-ups (>= goal, baseline/median for
 * ns/op-like units) unless at_most is set, which bounds the cost ratio
 * a / b instead (how much dearer a is than b).  The second row is in
 * workload id_b, or in id when id_b is NULL.
 */
struct target {
	const char *label;
	const char *id, *a;
	const char *id_b, *b;
	enum target_stat stat;
	bool at_most;
	double goal;
	const char *unit;       /* of an absolute bound */
	/*
	 * A second row of the same workload as b, or NULL: the ratio is then
	 * taken against the better of the two (a commit has two hand-written
	 * forms, and the ring has to beat the one an engine would pick).
	 */
	const char *b2;
};

static const struct target targets[] = {
	{ "W1 views vs raw mmap", "W1", "mmapio_view_read 1 MiB + sum", NULL, "raw mmap + sum",
	  STAT_MEDIAN, false, 0.95, NULL, NULL },
	{ "W1 views vs pread loop", "W1", "mmapio_view_read 1 MiB + sum", NULL,
	  "pread 1 MiB + sum", STAT_MEDIAN, false, 1.3, NULL, NULL },
	{ "W3 mmapio (io_uring) vs sparse mmap", "W3", "mmapio write+flush: io_uring", NULL,
	  "ftruncate+mmap+memcpy+msync", STAT_MEDIAN, false, 1.3, NULL, NULL },
	{ "W4 io_uring vs loop, one dir", "W4/1dir", "ring create: io_uring", NULL,
	  "open+fallocate+close loop", STAT_MEDIAN, false, 1.0, NULL, NULL },
	{ "W4 io_uring vs loop, 8 dirs", "W4/8dirs", "ring create: io_uring", NULL,
	  "open+fallocate+close loop", STAT_MEDIAN, false, 1.5, NULL, NULL },
	{ "W5 io_uring vs copy_file_range", "W5", "ring copy: io_uring", NULL,
	  "copy_file_range loop", STAT_MEDIAN, false, 1.25, NULL, NULL },
	{ "W5 io_uring vs read/write loop", "W5", "ring copy: io_uring", NULL,
	  "read/write loop 1 MiB", STAT_MEDIAN, false, 1.0, NULL, NULL },
	{ "W6 io_uring vs msync per range", "W6", "ring flush_ranges: io_uring", NULL,
	  "msync(MS_SYNC) per range", STAT_MEDIAN, false, 4.0, NULL, NULL },
	{ "W6 sparse, io_uring vs one fdatasync", "W6", "ring flush_ranges: io_uring", NULL,
	  "one fdatasync", STAT_MEDIAN, false, 1.0, NULL, NULL },
	{ "W6 sparse, blocking vs one fdatasync", "W6", "ring flush_ranges: blocking", NULL,
	  "one fdatasync", STAT_MEDIAN, false, 1.0, NULL, NULL },
	{ "W6 dirty map, 16 ranges: io_uring vs fdatasync", "W6/dirty-16",
	  "ring flush_ranges: io_uring", NULL, "one fdatasync", STAT_MEDIAN, false, 5.0, NULL,
	  NULL },
	{ "W6 dirty map, 16 ranges: blocking vs fdatasync", "W6/dirty-16",
	  "ring flush_ranges: blocking", NULL, "one fdatasync", STAT_MEDIAN, false, 5.0, NULL,
	  NULL },
	{ "W6 dirty map, 16 ranges: io_uring vs msync each", "W6/dirty-16",
	  "ring flush_ranges: io_uring", NULL, "msync(MS_SYNC) per range", STAT_MEDIAN, false,
	  2.0, NULL, NULL },
	{ "W6 dirty map, 16 ranges: blocking vs msync each", "W6/dirty-16",
	  "ring flush_ranges: blocking", NULL, "msync(MS_SYNC) per range", STAT_MEDIAN, false,
	  2.0, NULL, NULL },
	{ "W6 dirty map, 1000 ranges: io_uring vs fdatasync", "W6/dirty-many",
	  "ring flush_ranges: io_uring", NULL, "one fdatasync", STAT_MEDIAN, false, 1.0, NULL,
	  NULL },
	{ "W6 dirty map, 1000 ranges: blocking vs fdatasync", "W6/dirty-many",
	  "ring flush_ranges: blocking", NULL, "one fdatasync", STAT_MEDIAN, false, 1.0, NULL,
	  NULL },
	{ "W7 io_uring overlap vs serial", "W7", "submit flush, compute, reap: io_uring", NULL,
	  "msync(MS_SYNC), then compute", STAT_MEDIAN, false, 1.5, NULL, NULL },
	{ "W8 read-write view, ns", "W8/view-rw-1t", "mmapio_view_write+release", NULL, NULL,
	  STAT_MEDIAN, true, 30, "ns", NULL },
	{ "W8 read-only segment check, ns", "W8/seg-ro-1t", "mmapio_segment_sub", NULL, NULL,
	  STAT_MEDIAN, true, 5, "ns", NULL },
	{ "W8 read view rw map, 2 threads", "W8/view-rw-2t", "mmapio_view_read+release", NULL,
	  NULL, STAT_MEDIAN, true, 15, "ns", NULL },
	{ "W8 read view rw map, 2 vs 1 thread", "W8/view-rw-2t", "mmapio_view_read+release",
	  "W8/view-rw-1t", "mmapio_view_read+release", STAT_MEDIAN, true, 1.5, NULL, NULL },
	{ "W8 read view ro map, 2 threads", "W8/view-ro-2t", "mmapio_view_read+release", NULL,
	  NULL, STAT_MEDIAN, true, 10, "ns", NULL },
	{ "W8 read view rw map, 2t, CPU time", "W8/view-rw-2t", "mmapio_view_read+release, CPU time", NULL,
	  NULL, STAT_MEDIAN, true, 15, "ns", NULL },
	{ "W8 rw map, 2 vs 1 thread, CPU time", "W8/view-rw-2t",
	  "mmapio_view_read+release, CPU time", "W8/view-rw-1t",
	  "mmapio_view_read+release, CPU time", STAT_MEDIAN, true, 1.5, NULL, NULL },
	{ "W8 read view ro map, 2t, CPU time", "W8/view-ro-2t",
	  "mmapio_view_read+release, CPU time", NULL, NULL, STAT_MEDIAN, true, 10, "ns", NULL },
	{ "W10 ring commit vs hand-written, N=16", "W10/16", "ring commit: io_uring", NULL,
	  "msync per range + pwrite + fdatasync", STAT_MEDIAN, false, 1.3, NULL,
	  "fdatasync + pwrite + fdatasync" },
	{ "W10 ring commit vs hand-written, N=256", "W10/256", "ring commit: io_uring", NULL,
	  "msync per range + pwrite + fdatasync", STAT_MEDIAN, false, 1.3, NULL,
	  "fdatasync + pwrite + fdatasync" },
	{ "W10 caller CPU/commit, ring vs hand, N=16", "W10/16-cpu", "ring commit: io_uring",
	  NULL,
	  "msync per range + pwrite + fdatasync", STAT_MEDIAN, true, 0.5, NULL,
	  "fdatasync + pwrite + fdatasync" },
	/* 2.6 us: a 1-byte write with no readers before the per-thread map lock, here. */
	{ "W11 write, no readers (2.6 us before the lock)", "W11/0readers",
	  "mmapio_write, no readers", NULL, NULL, STAT_MEDIAN, true, 2.6, "us", NULL },
	{ "W11 write p99, 1 reader", "W11/1reader", "mmapio_write, readers take views", NULL,
	  NULL, STAT_P99, true, 1000, "us", NULL },
	{ "W11 write p99, 3 readers", "W11/3readers", "mmapio_write, readers take views", NULL,
	  NULL, STAT_P99, true, 5000, "us", NULL },
	{ "W11 write max, 3 readers", "W11/3readers", "mmapio_write, readers take views", NULL,
	  NULL, STAT_MAX, true, 50000, "us", NULL },
	{ "W12 caller asleep: all done within 2x of a driven batch", "W12",
	  "caller asleep, stat only: io_uring", NULL, "driven batch, ring_wait: io_uring",
	  STAT_MEDIAN, true, 2.0, NULL, NULL },
};

static double stat_of(const struct bench_result *r, enum target_stat stat)
{
	return stat == STAT_P99 ? r->p99 : stat == STAT_MAX ? r->max : r->median;
}

/* Returns the target's measured value, or a negative number when it was not measured. */
static double target_value(const struct target *t)
{
	const struct bench_result *a = bench_result_find(t->id, t->a);
	const struct bench_result *b = t->b ? bench_result_find(t->id_b ? t->id_b : t->id, t->b)
					    : NULL;

	const struct bench_result *b2 = t->b2 ? bench_result_find(t->id_b ? t->id_b : t->id, t->b2)
					      : NULL;

	if (b2 && b2->ok && (!b || !b->ok ||
			     (bench_higher_is_better(b2->unit) ? b2->median > b->median
							       : b2->median < b->median)))
		b = b2;
	if (!a || !a->ok || (t->b && (!b || !b->ok)))
		return -1;
	if (!t->b)
		return stat_of(a, t->stat);
	if (t->at_most)
		return a->median / b->median;
	return bench_higher_is_better(a->unit) ? a->median / b->median : b->median / a->median;
}

static bool target_met(const struct target *t, double v)
{
	return t->at_most ? v <= t->goal : v >= t->goal;
}

void bench_print_targets(void)
{
	printf("\ngoals (measured on this machine in this run; a report, not a test):\n");
	for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		const struct target *t = &targets[i];
		const char *unit = t->b ? "x" : t->unit;
		double v = target_value(t);
		char goal[32], got[32];

		snprintf(goal, sizeof(goal), "%s %g%s%s", t->at_most ? "<=" : ">=", t->goal,
			 t->b ? "" : " ", unit);
		if (v < 0)
			snprintf(got, sizeof(got), "not measured");
		else
			snprintf(got, sizeof(got), "%.3f%s%s", v, t->b ? "" : " ", unit);
		printf("  %-50s %-10s %14s  %s\n", t->label, goal, got,
		       v < 0 ? "" : target_met(t, v) ? "met" : "missed");
	}
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* JSON has no NaN or infinity; a ratio without a baseline is null. */
static void json_number(FILE *f, double v, bool valid)
{
	if (valid)
		fprintf(f, "%.6g", v);
	else
		fputs("null", f);
}

static void json_result(FILE *f, const struct bench_result *r)
{
	fputs("    {\"workload\": ", f);
	json_string(f, r->id);
	fputs(", \"variant\": ", f);
	json_string(f, r->variant);
	fprintf(f, ", \"kind\": \"%s\", \"baseline\": %s, \"unit\": \"%s\", \"higher_is_better\": %s",
		bench_kind_name(r->kind), r->baseline ? "true" : "false", bench_unit_name(r->unit),
		bench_higher_is_better(r->unit) ? "true" : "false");
	fprintf(f, ", \"status\": \"%s\"", r->ok ? "ok" : r->skipped ? "skipped" : "error");
	fputs(", \"median\": ", f);
	json_number(f, r->median, r->ok);
	fputs(", \"min\": ", f);
	json_number(f, r->min, r->ok);
	fputs(", \"max\": ", f);
	json_number(f, r->max, r->ok);
	fputs(", \"p99\": ", f);
	json_number(f, r->p99, r->ok);
	fputs(", \"ratio\": ", f);
	json_number(f, r->ratio, r->ok && r->ratio > 0);
	fputs(", \"samples\": [", f);
	for (unsigned i = 0; i < r->nsamples; i++)
		fprintf(f, "%s%.6g", i ? ", " : "", r->samples[i]);
	fputs("]", f);
	if (r->has_stats && r->runs > 0)
		fprintf(f, ", \"ring_stats_per_run\": {\"prepared\": %.6g, \"completed\": %.6g, "
			"\"uring_sqes\": %.6g, \"uring_enters\": %.6g, \"blocking_ops\": %.6g}",
			(double)r->stats.prepared / r->runs, (double)r->stats.completed / r->runs,
			(double)r->stats.uring_sqes / r->runs, (double)r->stats.uring_enters / r->runs,
			(double)r->stats.blocking_ops / r->runs);
	fputs(", \"title\": ", f);
	json_string(f, r->title);
	fputs(", \"error\": ", f);
	if (r->ok)
		fputs("null", f);
	else
		json_string(f, r->error);
	fputs("}", f);
}

int bench_write_json(const struct bench_ctx *ctx, const char *path)
{
	const struct bench_opts *o = ctx->opts;
	FILE *f = fopen(path, "w");
	unsigned n = bench_result_count();
	size_t nt = sizeof(targets) / sizeof(targets[0]);

	if (!f)
		return -1;
	fputs("{\n  \"program\": \"mmapio-bench\",\n  \"library_version\": ", f);
	json_string(f, mmapio_version_string());
	fputs(",\n  \"date\": ", f);
	json_string(f, env.date);
	fputs(",\n  \"kernel\": ", f);
	json_string(f, env.kernel);
	fputs(",\n  \"filesystem\": ", f);
	json_string(f, env.fs);
	fputs(",\n  \"dir\": ", f);
	json_string(f, o->dir);
	fprintf(f, ",\n  \"cpus\": %ld,\n  \"cpu_model\": ", env.cpus);
	json_string(f, env.cpu_model);
	fputs(",\n  \"load_average_at_start\": ", f);
	json_string(f, env.load);
	fprintf(f, ",\n  \"warmup_runs\": 1,\n  \"reps\": %u,\n  \"quick\": %s,\n  \"size\": %llu,"
		"\n  \"files\": %u,\n  \"access_ops\": %llu,\n  \"queue_depth\": %u,\n"
		"  \"ring_flags\": 0,\n", o->reps, o->quick ? "true" : "false",
		(unsigned long long)o->size, o->files, (unsigned long long)o->access_ops,
		o->queue_depth);
	fprintf(f, "  \"backends\": {\"uring\": {\"available\": %s, \"description\": ",
		env.uring_ok ? "true" : "false");
	json_string(f, env.uring);
	fputs("}, \"blocking\": {\"available\": true, \"description\": ", f);
	json_string(f, env.blocking);
	fputs("}},\n  \"results\": [\n", f);
	for (unsigned i = 0; i < n; i++) {
		json_result(f, bench_result_at(i));
		fputs(i + 1 < n ? ",\n" : "\n", f);
	}
	fputs("  ],\n  \"targets\": [\n", f);
	for (size_t i = 0; i < nt; i++) {
		double v = target_value(&targets[i]);

		fputs("    {\"target\": ", f);
		json_string(f, targets[i].label);
		fprintf(f, ", \"workload\": \"%s\", \"bound\": \"%s%s\", \"goal\": %g, \"value\": ",
			targets[i].id, targets[i].at_most ? "max_" : "min_",
			targets[i].b ? "ratio" : targets[i].unit, targets[i].goal);
		json_number(f, v, v >= 0);
		fprintf(f, ", \"met\": %s}%s\n",
			v < 0 ? "null" : target_met(&targets[i], v) ? "true" : "false",
			i + 1 < nt ? "," : "");
	}
	fputs("  ]\n}\n", f);
	return fclose(f) == 0 ? 0 : -1;
}
