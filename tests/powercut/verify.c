/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The checks after the remount, with plain system calls and never the
 * library under test: every reported record intact, every reported file
 * there with its size, the copy's destination one whole version.
 */
#include "harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Notes a finding; the first few are kept for the log. */
__attribute__((format(printf, 2, 3))) static void note(struct pc_result *res, const char *fmt,
							...)
{
	size_t len = strlen(res->note);
	va_list ap;

	if (len > sizeof(res->note) - 64)
		return;
	if (len > 0)
		len += (size_t)snprintf(res->note + len, sizeof(res->note) - len, "; ");
	va_start(ap, fmt);
	vsnprintf(res->note + len, sizeof(res->note) - len, fmt, ap);
	va_end(ap);
}

/*
 * Counts one item's finding: against the promise when its call returned
 * before the cut began, aside when it returned later (format.h).
 */
static void count(struct pc_result *res, bool late, enum pc_check c)
{
	res->checked++;
	if (late) {
		res->late++;
		res->late_bad += c != PC_CHECK_OK;
	} else if (c == PC_CHECK_LOST) {
		res->lost++;
	} else if (c == PC_CHECK_CORRUPT) {
		res->corrupt++;
	}
}

/* Reads up to len bytes at off, continuing short reads; returns the count. */
static size_t read_at(int fd, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, (char *)buf + got, len - got, (off_t)(off + got));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

static void join(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

void pc_verify_records(const char *dir, unsigned round, const struct pc_reports *rep,
		       struct pc_result *res)
{
	unsigned char buf[PC_REC_SIZE];
	char path[4096];
	int fd;

	join(path, sizeof(path), dir, PC_DATA_NAME);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && rep->n > 0)
		note(res, "%s: %s", PC_DATA_NAME, strerror(errno));
	for (size_t i = 0; i < rep->n; i++) {
		uint64_t seq = rep->v[i].n;
		size_t got = fd < 0 ? 0 : read_at(fd, buf, PC_REC_SIZE, pc_rec_off(seq));
		const char *why;
		enum pc_check c = pc_record_check(buf, got, PC_KIND_DATA, round, seq, &why);

		count(res, pc_late(rep, i), c);
		if (c != PC_CHECK_OK)
			note(res, "%srecord %llu: %s", pc_late(rep, i) ? "late " : "",
			     (unsigned long long)seq, why);
	}
	if (fd >= 0)
		close(fd);
}

/*
 * The commit cases: every reported record intact (pc_verify_records), and
 * the meta record, whatever commit it names, never ahead of its data:
 * every record of the commits it counts must be intact.  A meta record
 * that names no commit of this round (lost: nothing committed yet) claims
 * nothing.  A broken promise counts as one corrupt item.
 */
void pc_verify_commit(const char *dir, unsigned round, const struct pc_reports *rep,
		      struct pc_result *res)
{
	unsigned char meta[PC_REC_SIZE], buf[PC_REC_SIZE];
	uint64_t claimed = 0;
	char path[4096];
	size_t got;
	int fd;

	pc_verify_records(dir, round, rep, res);
	join(path, sizeof(path), dir, PC_DATA_NAME);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	got = read_at(fd, meta, PC_REC_SIZE, pc_rec_off(PC_META_SLOT));
	for (uint64_t k = PC_META_SLOT / PC_COMMIT_RECS; k > 0; k--)
		if (pc_record_check(meta, got, PC_KIND_DATA, round, k, NULL) == PC_CHECK_OK) {
			claimed = k;
			break;
		}
	for (uint64_t seq = 0; seq < claimed * PC_COMMIT_RECS; seq++) {
		const char *why;
		size_t n = read_at(fd, buf, PC_REC_SIZE, pc_rec_off(seq));

		if (pc_record_check(buf, n, PC_KIND_DATA, round, seq, &why) != PC_CHECK_OK) {
			count(res, false, PC_CHECK_CORRUPT);
			note(res, "the meta page names %llu commits but record %llu is not intact: %s",
			     (unsigned long long)claimed, (unsigned long long)seq, why);
			break;
		}
	}
	close(fd);
}

void pc_verify_creates(const char *dir, const struct pc_reports *rep, struct pc_result *res)
{
	char path[4096], name[32];

	for (size_t i = 0; i < rep->n; i++) {
		uint64_t want = pc_create_size(rep->v[i].n);
		bool late = pc_late(rep, i);
		struct stat st;

		pc_create_name(name, sizeof(name), rep->v[i].n);
		join(path, sizeof(path), dir, name);
		if (lstat(path, &st) < 0) {
			count(res, late, PC_CHECK_LOST);
			note(res, "%s%s: %s", late ? "late " : "", name, strerror(errno));
		} else if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != want) {
			count(res, late, PC_CHECK_CORRUPT);
			note(res, "%s%s: %s of %lld bytes, want a file of %llu", late ? "late " : "",
			     name, S_ISREG(st.st_mode) ? "a file" : "not a file",
			     (long long)st.st_size, (unsigned long long)want);
		} else {
			count(res, late, PC_CHECK_OK);
		}
	}
}

const char *pc_copy_state_name(enum pc_copy_state s)
{
	static const char *const names[PC_COPY_STATES] = {
		[PC_COPY_OLD] = "old",
		[PC_COPY_NEW] = "new",
		[PC_COPY_MISSING] = "missing",
		[PC_COPY_SIZE] = "wrong size",
		[PC_COPY_TORN] = "torn",
	};

	return names[s];
}

/* Is the open file exactly version kind, block for block? */
static bool holds_version(int fd, enum pc_kind kind, unsigned round, struct pc_result *res)
{
	unsigned char buf[PC_REC_SIZE];

	for (uint32_t blk = 0; blk < pc_copy_blocks(kind); blk++) {
		size_t got = read_at(fd, buf, PC_REC_SIZE, (uint64_t)blk * PC_REC_SIZE);
		const char *why;

		if (pc_record_check(buf, got, kind, round, blk, &why) != PC_CHECK_OK) {
			note(res, "block %u: %s", blk, why);
			return false;
		}
	}
	return true;
}

/* Counts files the copies left beside the sources and the destination. */
static unsigned count_strays(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	unsigned n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strcmp(e->d_name, PC_COPY_SRC_A) && strcmp(e->d_name, PC_COPY_SRC_B) &&
		    strcmp(e->d_name, PC_COPY_DST) && strcmp(e->d_name, PC_COPY_BUSY))
			n++;
	closedir(d);
	return n;
}

/*
 * The destination must be the last version reported in time or the one
 * that was being copied at the cut, whole: since the versions alternate
 * between A and B, entirely A or entirely B, at that version's exact size.
 * The harness cut only after copy 0 was reported, so there is a last one.
 */
void pc_verify_copy(const char *dir, unsigned round, const struct pc_reports *rep,
		    struct pc_result *res)
{
	uint64_t last = 0;
	enum pc_kind old, cur;
	char path[4096];
	struct stat st;
	int fd;

	for (size_t i = 0; i < rep->n; i++) {
		if (pc_late(rep, i))
			res->late++;
		else if (rep->v[i].n > last)
			last = rep->v[i].n;
	}
	old = pc_copy_kind(last);
	res->checked = 1;
	res->strays = count_strays(dir);
	join(path, sizeof(path), dir, PC_COPY_DST);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		res->copy = PC_COPY_MISSING;
		res->lost = 1;
		note(res, "%s after copy %llu: %s", PC_COPY_DST, (unsigned long long)last,
		     strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	if ((uint64_t)st.st_size == (uint64_t)pc_copy_blocks(PC_KIND_COPY_A) * PC_REC_SIZE)
		cur = PC_KIND_COPY_A;
	else if ((uint64_t)st.st_size == (uint64_t)pc_copy_blocks(PC_KIND_COPY_B) * PC_REC_SIZE)
		cur = PC_KIND_COPY_B;
	else
		cur = 0;
	if (cur == 0) {
		res->copy = PC_COPY_SIZE;
		res->lost = 1;
		note(res, "%s after copy %llu (%c): %lld bytes, neither A's nor B's size",
		     PC_COPY_DST, (unsigned long long)last, (char)old, (long long)st.st_size);
	} else if (!holds_version(fd, cur, round, res)) {
		res->copy = PC_COPY_TORN;
		res->corrupt = 1;
		note(res, "%s after copy %llu (%c) has %c's size", PC_COPY_DST,
		     (unsigned long long)last, (char)old, (char)cur);
	} else {
		res->copy = cur == old ? PC_COPY_OLD : PC_COPY_NEW;
	}
	close(fd);
}
