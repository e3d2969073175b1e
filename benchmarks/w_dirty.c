/* SPDX-License-Identifier: Apache-2.0 */
/*
 * W6/dirty-16 and W6/dirty-many: a commit's ranges in a map that is dirty
 * everywhere.  Every page of a --size map is dirty (written through the
 * file) and N random 4 KiB ranges of it are made durable: one
 * prep_flush_ranges on a ring of each backend; one fdatasync of the whole
 * file; msync(MS_SYNC) per range.  N is 16, and 1000 for dirty-many, whose
 * msync-per-range variant --quick leaves out (a thousand cache flushes can
 * take seconds per run).
 *
 * What each variant wrote back is counted as the file's dirty page-cache
 * pages before the run minus after it: cachestat(2) where the kernel has
 * it, else the Shared_Dirty + Private_Dirty of the mapping in
 * /proc/self/smaps (the pages are then dirtied through the mapping, so
 * that it sees them).  The kernel writes whole folios, so a 4 KiB range
 * costs the folio that holds it; the folio size seen, measured once by
 * writing back one dirty page, is printed with the figures.
 *
 * Before each run the previous run's count is taken, the file is written
 * back untimed and dirtied again, so every run starts from the same fully
 * dirty state and no dirty page grows old enough for the kernel's flusher
 * to write it during a measurement.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

#define PAGE 4096u
#define CHUNK (1u << 20)
#define SYS_CACHESTAT 451
#define DIRTY_MANY 1000u

struct dirty_shared {
	unsigned n;
	unsigned cur_rep;        /* repetition the ranges were drawn for, + 1 */
	uint64_t npages;
	struct mmapio_range *ranges;
	unsigned char *used;
	unsigned char *buf;      /* CHUNK bytes for dirtying */
	bool smaps;              /* no cachestat: count through the mapping */
};

struct dirty_var {
	struct dirty_shared *sh;
	char *path;
	uint64_t len;
	int fd;
	mmapio_map *map;         /* ring variants */
	unsigned char *mem;      /* the mapping: mmapio_base or the hand variants' own */
	mmapio_ring *ring;
	uint64_t stamp;
	int64_t before;          /* dirty bytes after the last prepare, -1 for none */
	unsigned last_rep;
	double written;          /* bytes written back, summed over measured runs */
	unsigned nwritten;
};

/* cachestat(2)'s structures (Linux 6.5). */
struct cs_range {
	uint64_t off, len;
};
struct cs_stat {
	uint64_t nr_cache, nr_dirty, nr_writeback, nr_evicted, nr_recently_evicted;
};

/* Dirty (or under write-back) bytes of [off, off + len) of fd; -1 without cachestat. */
static int64_t cachestat_dirty(int fd, uint64_t off, uint64_t len)
{
	struct cs_range r = { off, len };
	struct cs_stat s;

	if (syscall(SYS_CACHESTAT, fd, &r, &s, 0) != 0)
		return -1;
	return (int64_t)((s.nr_dirty + s.nr_writeback) * PAGE);
}

/*
 * Shared_Dirty + Private_Dirty of the mapping that starts at mem, in bytes;
 * -1 when it is not found.  A mapping's header line starts with its
 * address in lower-case hex; its fields start with an upper-case name.
 */
static int64_t smaps_dirty(const void *mem)
{
	char line[512], want[32];
	int64_t total = -1;
	bool in = false;
	FILE *f = fopen("/proc/self/smaps", "re");

	if (!f)
		return -1;
	snprintf(want, sizeof(want), "%lx-", (unsigned long)(uintptr_t)mem);
	while (fgets(line, sizeof(line), f)) {
		unsigned long kb;

		if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f')) {
			if (in)
				break;
			in = strncmp(line, want, strlen(want)) == 0;
			if (in)
				total = 0;
		} else if (in && (sscanf(line, "Shared_Dirty: %lu kB", &kb) == 1 ||
				  sscanf(line, "Private_Dirty: %lu kB", &kb) == 1)) {
			total += (int64_t)kb * 1024;
		}
	}
	fclose(f);
	return total;
}

static int64_t dirty_bytes(const struct dirty_var *v)
{
	return v->sh->smaps ? smaps_dirty(v->mem) : cachestat_dirty(v->fd, 0, v->len);
}

/* Makes every page of the file dirty: through the mapping when smaps counts. */
static int dirty_all(struct dirty_var *v)
{
	for (uint64_t off = 0; off < v->len; off += CHUNK) {
		size_t n = v->len - off < CHUNK ? (size_t)(v->len - off) : CHUNK;

		if (v->sh->smaps) {
			for (size_t k = 0; k < n; k += PAGE)
				v->mem[off + k]++;
		} else if (pwrite(v->fd, v->sh->buf, n, (off_t)off) != (ssize_t)n) {
			return bench_failf("pwrite: %s", strerror(errno));
		}
	}
	return 0;
}

/* Draws this repetition's N distinct random pages, in random order. */
static void draw(struct dirty_shared *s, unsigned rep)
{
	uint64_t seed = 0xbb67ae8584caa73bu ^ ((uint64_t)rep << 21) ^ s->n;

	if (s->cur_rep == rep + 1)
		return;
	s->cur_rep = rep + 1;
	memset(s->used, 0, s->npages);
	bench_draw_pages(seed, s->used, s->npages, s->ranges, s->n, PAGE, BENCH_FLUSH_PAGE);
}

/*
 * Counts what the previous run wrote back, writes the file back untimed,
 * dirties all of it again, stamps this repetition's ranges and counts the
 * dirty bytes.
 */
static int dirty_prepare(void *arg, unsigned rep)
{
	struct dirty_var *v = arg;
	int64_t after = v->before >= 0 ? dirty_bytes(v) : -1;

	if (after >= 0 && v->last_rep >= 1 && v->before >= after) {
		v->written += (double)(v->before - after);
		v->nwritten++;
	}
	if (fdatasync(v->fd) < 0)
		return bench_failf("fdatasync: %s", strerror(errno));
	if (dirty_all(v) < 0)
		return -1;
	draw(v->sh, rep);
	v->stamp = 0x6d00000000000000u | ((uint64_t)rep << 20) | v->sh->n;
	for (unsigned i = 0; i < v->sh->n; i++)
		memcpy(v->mem + v->sh->ranges[i].off, &v->stamp, sizeof(v->stamp));
	v->before = dirty_bytes(v);
	v->last_rep = rep;
	return 0;
}

static int dirty_ring(void *arg)
{
	struct dirty_var *v = arg;
	int r = mmapio_ring_prep_flush_ranges(v->ring, v->map, v->sh->ranges, v->sh->n, NULL);

	if (r < 0)
		return bench_fail("mmapio_ring_prep_flush_ranges", r);
	return bench_ring_complete(v->ring, 1, MMAPIO_OP_FLUSH);
}

static int dirty_msync_each(void *arg)
{
	struct dirty_var *v = arg;

	for (unsigned i = 0; i < v->sh->n; i++)
		if (msync(v->mem + v->sh->ranges[i].off, BENCH_FLUSH_PAGE, MS_SYNC) < 0)
			return bench_failf("msync: %s", strerror(errno));
	return 0;
}

static int dirty_fdatasync(void *arg)
{
	struct dirty_var *v = arg;

	if (fdatasync(v->fd) < 0)
		return bench_failf("fdatasync: %s", strerror(errno));
	return 0;
}

static int dirty_verify(void *arg)
{
	struct dirty_var *v = arg;

	for (unsigned i = 0; i < v->sh->n; i++) {
		uint64_t got;

		if (pread(v->fd, &got, sizeof(got), (off_t)v->sh->ranges[i].off) != sizeof(got))
			return bench_failf("pread: %s", strerror(errno));
		if (got != v->stamp)
			return bench_failf("range at %llu holds %#llx, expected %#llx",
					   (unsigned long long)v->sh->ranges[i].off,
					   (unsigned long long)got, (unsigned long long)v->stamp);
	}
	return 0;
}

static int var_open(struct dirty_var *v, const char *dir, const char *name, uint64_t len,
		    bool with_mmapio)
{
	int r;

	v->before = -1;
	v->len = len;
	v->path = bench_path(dir, "%s", name);
	if (!v->path)
		return bench_failf("out of memory");
	if (bench_make_file(v->path, len, 6, NULL) < 0)
		return -1;
	v->fd = open(v->path, O_RDWR | O_CLOEXEC);
	if (v->fd < 0)
		return bench_failf("open %s: %s", v->path, strerror(errno));
	if (with_mmapio) {
		r = mmapio_open(v->path, MMAPIO_READ_WRITE, NULL, &v->map);
		if (r < 0)
			return bench_fail("mmapio_open(READ_WRITE)", r);
		v->mem = mmapio_base(v->map);
		return 0;
	}
	v->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->mem == MAP_FAILED) {
		v->mem = NULL;
		return bench_failf("mmap: %s", strerror(errno));
	}
	return 0;
}

static int var_close(struct dirty_var *v)
{
	int r = 0;

	if (v->map)
		r = mmapio_close(v->map);
	else if (v->mem)
		munmap(v->mem, v->len);
	if (v->fd >= 0)
		close(v->fd);
	if (v->path)
		unlink(v->path);
	free(v->path);
	return r < 0 ? bench_fail("mmapio_close", r) : 0;
}

/*
 * The folio size the kernel writes back for one dirty 4 KiB page: the
 * dirty bytes that one page's write-back cleans, in a fully dirty file
 * (the largest of a few pages).  Returns 0 when it cannot be seen.
 */
static uint64_t folio_seen(struct dirty_var *v)
{
	uint64_t best = 0;

	if (dirty_all(v) < 0)
		return 0;
	for (unsigned i = 1; i <= 4; i++) {
		uint64_t off = v->len / 5 * i / PAGE * PAGE;
		int64_t b = dirty_bytes(v), a;

		if (b < 0 || sync_file_range(v->fd, (off_t)off, PAGE, SYNC_FILE_RANGE_WAIT_BEFORE |
					     SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) < 0)
			return 0;
		a = dirty_bytes(v);
		if (a >= 0 && b > a && (uint64_t)(b - a) > best)
			best = (uint64_t)(b - a);
	}
	fdatasync(v->fd);
	return best;
}

/* Prints what each variant wrote back per run, and the folio size seen. */
static void print_written(const char *id, struct dirty_var *v, const char *const *labels,
			  unsigned nv, unsigned n, uint64_t folio)
{
	char sz[32];

	printf("  %-14s written back per run (%s): ", id,
	       v[0].sh->smaps ? "smaps dirty delta" : "cachestat dirty delta");
	for (unsigned i = 0; i < nv; i++) {
		double mib = v[i].nwritten ? v[i].written / v[i].nwritten / (1 << 20) : -1;

		if (mib < 0)
			printf("%s%s n/a", i ? ", " : "", labels[i]);
		else
			printf("%s%s %.1f MiB", i ? ", " : "", labels[i], mib);
	}
	if (v[0].nwritten)
		printf("; ring %.0f KiB per range", v[0].written / v[0].nwritten / n / 1024);
	printf("; folio size seen %s\n",
	       folio ? bench_size_str(sz, sizeof(sz), folio) : "not measured");
}

/* One fully dirty workload of n ranges; with_msync adds msync per range. */
static int run_dirty(const struct bench_ctx *ctx, const char *id, unsigned n, bool with_msync)
{
	static const char *const names[] = { "w6d-uring", "w6d-blocking", "w6d-fdatasync",
					     "w6d-msync" };
	static const char *const labels[] = { "io_uring", "blocking", "fdatasync", "msync" };
	uint64_t len = ctx->opts->size / PAGE * PAGE, folio = 0;
	struct bench_workload w = { .id = id, .unit = BENCH_MS, .amount = 1 };
	struct dirty_shared sh = { .n = n };
	unsigned nv = with_msync ? 4 : 3;
	struct dirty_var v[4];
	int status = -1;
	char sz[32];

	memset(v, 0, sizeof(v));
	for (int i = 0; i < 4; i++)
		v[i].fd = -1;
	if (len < (uint64_t)n * 4 * PAGE)
		len = (uint64_t)n * 4 * PAGE;
	sh.npages = len / PAGE;
	sh.ranges = calloc(n, sizeof(*sh.ranges));
	sh.used = calloc(sh.npages, 1);
	sh.buf = malloc(CHUNK);
	if (!sh.ranges || !sh.used || !sh.buf) {
		bench_note_row(id, "setup", "out of memory", true);
		goto out;
	}
	memset(sh.buf, 0x6d, CHUNK);
	for (unsigned i = 0; i < nv; i++) {
		v[i].sh = &sh;
		if (var_open(&v[i], ctx->opts->dir, names[i], len, i < 2) < 0) {
			bench_note_row(id, "setup", bench_last_error(), true);
			goto out;
		}
	}
	sh.smaps = cachestat_dirty(v[0].fd, 0, PAGE) < 0;
	folio = folio_seen(&v[2]);
	v[0].ring = ctx->uring;
	v[1].ring = ctx->blocking;
	snprintf(w.title, sizeof(w.title),
		 "make %u random 4 KiB ranges of a fully dirty %s map durable", n,
		 bench_size_str(sz, sizeof(sz), len));
	bench_add_variant(&w, "ring flush_ranges: io_uring", BENCH_URING, false, dirty_prepare,
			  dirty_ring, dirty_verify, &v[0], ctx->uring);
	bench_add_variant(&w, "ring flush_ranges: blocking", BENCH_BLOCKING, false, dirty_prepare,
			  dirty_ring, dirty_verify, &v[1], ctx->blocking);
	bench_add_variant(&w, "one fdatasync", BENCH_HAND, true, dirty_prepare, dirty_fdatasync,
			  dirty_verify, &v[2], NULL);
	if (with_msync)
		bench_add_variant(&w, "msync(MS_SYNC) per range", BENCH_HAND, false, dirty_prepare,
				  dirty_msync_each, dirty_verify, &v[3], NULL);
	status = bench_run(ctx, &w);
	if (!with_msync)
		bench_note_row(id, "msync(MS_SYNC) per range",
			       "left out with --quick: one cache flush per range", false);
	print_written(id, v, labels, nv, n, folio);
out:
	for (unsigned i = 0; i < 4; i++)
		if (var_close(&v[i]) < 0) {
			bench_note_row(id, "teardown", bench_last_error(), true);
			status = -1;
		}
	free(sh.ranges);
	free(sh.used);
	free(sh.buf);
	return status;
}

int bench_w6_dirty(const struct bench_ctx *ctx)
{
	int a = 0, b = 0;

	if (bench_selected(ctx->opts, "W6/dirty-16"))
		a = run_dirty(ctx, "W6/dirty-16", 16, true);
	if (bench_selected(ctx->opts, "W6/dirty-many"))
		b = run_dirty(ctx, "W6/dirty-many", DIRTY_MANY, !ctx->opts->quick);
	return a < 0 || b < 0 ? -1 : 0;
}
