/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The measuring loop: variants of one workload take turns within each
 * repetition (the first variant of repetition r is variant r mod n, so no
 * variant always runs right after the same neighbour), repetition 0 is an
 * untimed warm-up after which every variant's result is verified, and each
 * row reports the median, minimum and maximum of the measured runs and the
 * ratio of its median to the baseline's.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

#define BENCH_MAX_RESULTS 192

static struct bench_result results[BENCH_MAX_RESULTS];
static unsigned nresults;
static char last_error[256];
static volatile sig_atomic_t stop_requested;

bool bench_stopping(void)
{
	return stop_requested != 0;
}

void bench_request_stop(void)
{
	stop_requested = 1;
}

int bench_fail(const char *call, int err)
{
	snprintf(last_error, sizeof(last_error), "%s: %s (%d)", call, mmapio_strerror(err), err);
	return -1;
}

const char *bench_last_error(void)
{
	return last_error;
}

int bench_failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(last_error, sizeof(last_error), fmt, ap);
	va_end(ap);
	return -1;
}

void bench_add_variant(struct bench_workload *w, const char *name, enum bench_kind kind,
		       bool baseline, int (*prepare)(void *, unsigned), int (*run)(void *),
		       int (*verify)(void *), void *arg, mmapio_ring *ring)
{
	struct bench_variant *v;

	/* A workload with too many variants is a bug in this program. */
	if (w->n >= BENCH_MAX_VARIANTS) {
		fprintf(stderr, "mmapio-bench: too many variants in %s\n", w->id);
		exit(2);
	}
	v = &w->v[w->n++];
	v->name = name;
	v->kind = kind;
	v->baseline = baseline;
	v->prepare = prepare;
	v->run = run;
	v->verify = verify;
	v->arg = arg;
	v->ring = ring;
}

void bench_add_timed_variant(struct bench_workload *w, const char *name, enum bench_kind kind,
			     bool baseline, int (*prepare)(void *, unsigned),
			     int (*run_timed)(void *, uint64_t *), int (*verify)(void *), void *arg)
{
	bench_add_variant(w, name, kind, baseline, prepare, NULL, verify, arg, NULL);
	w->v[w->n - 1].run_timed = run_timed;
}

const char *bench_unit_name(enum bench_unit unit)
{
	switch (unit) {
	case BENCH_GBPS: return "GB/s";
	case BENCH_FILES_S: return "files/s";
	case BENCH_MS: return "ms";
	case BENCH_NS_OP: return "ns/op";
	case BENCH_US_OP: return "us/op";
	case BENCH_COMMITS_S: return "commits/s";
	}
	return "?";
}

const char *bench_kind_name(enum bench_kind kind)
{
	switch (kind) {
	case BENCH_URING: return "uring";
	case BENCH_BLOCKING: return "blocking";
	case BENCH_CORE: return "core";
	case BENCH_HAND: return "syscalls";
	}
	return "?";
}

bool bench_higher_is_better(enum bench_unit unit)
{
	return unit == BENCH_GBPS || unit == BENCH_FILES_S || unit == BENCH_COMMITS_S;
}

unsigned bench_result_count(void)
{
	return nresults;
}

const struct bench_result *bench_result_at(unsigned i)
{
	return i < nresults ? &results[i] : NULL;
}

const struct bench_result *bench_result_find(const char *id, const char *variant)
{
	for (unsigned i = 0; i < nresults; i++)
		if (strcmp(results[i].id, id) == 0 && strcmp(results[i].variant, variant) == 0)
			return &results[i];
	return NULL;
}

static struct bench_result *new_result(const char *id, const char *title, const char *variant)
{
	struct bench_result *r;

	if (nresults >= BENCH_MAX_RESULTS) {
		fprintf(stderr, "mmapio-bench: too many result rows\n");
		exit(2);
	}
	r = &results[nresults++];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	snprintf(r->title, sizeof(r->title), "%s", title);
	snprintf(r->variant, sizeof(r->variant), "%s", variant);
	return r;
}

/* Converts one run's duration into the workload's unit. */
static double metric(const struct bench_workload *w, uint64_t ns)
{
	double t = ns > 0 ? (double)ns : 1.0;

	switch (w->unit) {
	case BENCH_GBPS: return w->amount / t;               /* bytes per ns = GB/s */
	case BENCH_FILES_S: return w->amount / (t / 1e9);
	case BENCH_COMMITS_S: return w->amount / (t / 1e9);
	case BENCH_MS: return t / 1e6;
	case BENCH_NS_OP: return t / w->amount;
	case BENCH_US_OP: return t / 1e3 / w->amount;
	}
	return 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void summarise(struct bench_result *r)
{
	double sorted[BENCH_MAX_REPS];
	unsigned n = r->nsamples;

	memcpy(sorted, r->samples, n * sizeof(double));
	qsort(sorted, n, sizeof(double), cmp_double);
	r->min = sorted[0];
	r->max = sorted[n - 1];
	r->median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
	/* The nearest-rank p99: the smallest sample with 99% of samples at or below it. */
	r->p99 = sorted[(n * 99 + 99) / 100 - 1];
}

/* Prints a number with about four significant digits and no exponent. */
static void format_value(char *buf, size_t size, double v)
{
	if (v >= 1000)
		snprintf(buf, size, "%.0f", v);
	else if (v >= 100)
		snprintf(buf, size, "%.1f", v);
	else if (v >= 10)
		snprintf(buf, size, "%.2f", v);
	else
		snprintf(buf, size, "%.3f", v);
}

void bench_print_table_head(void)
{
	printf("%-14s %-38s %10s %10s %10s  %-9s %6s\n", "workload", "variant", "median", "min",
	       "max", "unit", "ratio");
}

void bench_note_row(const char *id, const char *variant, const char *text, bool failure)
{
	struct bench_result *r = new_result(id, "", variant);

	r->skipped = !failure;
	snprintf(r->error, sizeof(r->error), "%s", text);
	printf("%-14s %-38s %s%s\n", id, variant, failure ? "ERROR: " : "", text);
}

static void print_row(const struct bench_workload *w, const struct bench_result *r)
{
	char med[32], lo[32], hi[32], ratio[32];

	if (r->skipped) {
		printf("%-14s %-38s %s\n", w->id, r->variant, r->error);
		return;
	}
	if (!r->ok) {
		printf("%-14s %-38s ERROR: %s\n", w->id, r->variant, r->error);
		return;
	}
	format_value(med, sizeof(med), r->median);
	format_value(lo, sizeof(lo), r->min);
	format_value(hi, sizeof(hi), r->max);
	if (r->ratio > 0)
		snprintf(ratio, sizeof(ratio), "%.2f", r->ratio);
	else
		snprintf(ratio, sizeof(ratio), "-");
	printf("%-14s %-38s %10s %10s %10s  %-9s %6s", w->id, r->variant, med, lo, hi,
	       bench_unit_name(w->unit), ratio);
	if (w->percentiles) {
		format_value(med, sizeof(med), r->p99);
		printf("  p99 %s", med);
	}
	printf("%s\n", r->baseline ? "  baseline" : "");
}

static void add_stats(struct mmapio_ring_stats *sum, const struct mmapio_ring_stats *a,
		      const struct mmapio_ring_stats *b)
{
	sum->prepared += b->prepared - a->prepared;
	sum->completed += b->completed - a->completed;
	sum->uring_sqes += b->uring_sqes - a->uring_sqes;
	sum->uring_enters += b->uring_enters - a->uring_enters;
	sum->blocking_ops += b->blocking_ops - a->blocking_ops;
}

/* Runs one variant once; returns 0 with *ns set, or -1 with last_error set. */
static int run_once(struct bench_variant *v, struct bench_result *r, unsigned rep, uint64_t *ns)
{
	struct mmapio_ring_stats before, after;
	uint64_t t0, t1;

	last_error[0] = '\0';
	if (v->prepare && v->prepare(v->arg, rep) < 0)
		return -1;
	if (v->ring && rep > 0)
		mmapio_ring_stats(v->ring, &before);
	if (v->run_timed) {
		t0 = 0;
		if (v->run_timed(v->arg, &t1) < 0)
			return -1;
	} else {
		t0 = bench_now_ns();
		if (v->run(v->arg) < 0)
			return -1;
		t1 = bench_now_ns();
	}
	if (v->ring && rep > 0) {
		mmapio_ring_stats(v->ring, &after);
		add_stats(&r->stats, &before, &after);
		r->has_stats = true;
		r->runs++;
	}
	*ns = t1 - t0;
	if (rep == 0 && v->verify && v->verify(v->arg) < 0) {
		char msg[sizeof(last_error)];

		snprintf(msg, sizeof(msg), "%s", last_error);
		snprintf(last_error, sizeof(last_error), "verification failed: %.200s", msg);
		return -1;
	}
	return 0;
}

int bench_run(const struct bench_ctx *ctx, struct bench_workload *w)
{
	struct bench_result *res[BENCH_MAX_VARIANTS] = { 0 };
	unsigned reps = w->reps ? w->reps : ctx->opts->reps, live = 0;
	const struct bench_result *base = NULL;
	int status = 0;

	if (reps > BENCH_MAX_REPS)
		reps = BENCH_MAX_REPS;
	printf("-- %s: %s\n", w->id, w->title);
	for (unsigned i = 0; i < w->n; i++) {
		res[i] = new_result(w->id, w->title, w->v[i].name);
		res[i]->kind = w->v[i].kind;
		res[i]->baseline = w->v[i].baseline;
		res[i]->unit = w->unit;
		if (w->v[i].kind == BENCH_URING && ctx->uring == NULL) {
			res[i]->skipped = true;
			snprintf(res[i]->error, sizeof(res[i]->error),
				 "not run: io_uring unavailable (see the header)");
		} else {
			res[i]->ok = true;
			live++;
		}
	}

	for (unsigned rep = 0; rep <= reps && live > 0 && !bench_stopping(); rep++) {
		for (unsigned k = 0; k < w->n && !bench_stopping(); k++) {
			unsigned i = (rep + k) % w->n;
			uint64_t ns = 0;

			if (!res[i]->ok)
				continue;
			if (run_once(&w->v[i], res[i], rep, &ns) < 0) {
				res[i]->ok = false;
				snprintf(res[i]->error, sizeof(res[i]->error), "%s", last_error);
				live--;
				continue;
			}
			if (rep > 0)
				res[i]->samples[res[i]->nsamples++] = metric(w, ns);
		}
	}

	for (unsigned i = 0; i < w->n; i++) {
		if (res[i]->ok && res[i]->nsamples == 0) {
			/* Interrupted before any measured run. */
			res[i]->ok = false;
			snprintf(res[i]->error, sizeof(res[i]->error), "interrupted");
		}
		if (res[i]->ok)
			summarise(res[i]);
		if (res[i]->baseline && res[i]->ok)
			base = res[i];
		if (!res[i]->ok && !res[i]->skipped)
			status = -1;
	}
	for (unsigned i = 0; i < w->n; i++) {
		if (res[i]->ok && base) {
			/* Ratio > 1 means faster than the baseline, whichever way the unit points. */
			if (bench_higher_is_better(w->unit))
				res[i]->ratio = res[i]->median / base->median;
			else
				res[i]->ratio = base->median / res[i]->median;
		}
		print_row(w, res[i]);
	}
	fflush(stdout);
	return status;
}
