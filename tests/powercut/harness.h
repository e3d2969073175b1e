/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The power-cut harness's parts: the filesystem and its cleanup (fs.c),
 * one round of child, cut and remount (round.c), the checks after the
 * remount (verify.c), and the cases and their table (harness.c).
 */
#ifndef PC_HARNESS_H
#define PC_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "format.h"

/* What the run was given: where the filesystem is and how to cut it. */
struct pc_env {
	const char *dev;        /* the loop device holding the ext4 image */
	const char *mnt;        /* where it is mounted */
	const char *mount_opts; /* ext4 mount options, NULL for the defaults */
	const char *child;      /* the pc-child program */
	unsigned max_delay_ms;  /* the cut comes 0..this long after the first report */
	bool verbose;
	uint64_t rng;           /* xorshift state: the run is repeatable by its seed */
};

/* What one child reported, in the order it came. */
struct pc_reports {
	struct pc_report *v;
	size_t n, cap;
	uint64_t cut_ns; /* when the cut began: later items are late (format.h) */
	bool done;       /* the child reached PC_CAPACITY */
};

/* Was item i reported by a call that returned after the cut began? */
static inline bool pc_late(const struct pc_reports *rep, size_t i)
{
	return rep->v[i].t_ns >= rep->cut_ns;
}

/* What became of a copy case's destination. */
enum pc_copy_state {
	PC_COPY_OLD,     /* the last reported version, complete */
	PC_COPY_NEW,     /* the version being copied at the cut, complete */
	PC_COPY_MISSING, /* no destination at all */
	PC_COPY_SIZE,    /* a size that is neither version's: cut short or empty */
	PC_COPY_TORN,    /* a version's size, with bytes that are not all of it */
	PC_COPY_STATES
};

/* What a check after the remount found in one round. */
struct pc_result {
	uint64_t checked;  /* items looked at, late ones included */
	uint64_t lost;     /* reported in time, and gone (zeros, missing, the copy's neither) */
	uint64_t corrupt;  /* reported in time, and different (torn, misplaced, wrong size) */
	uint64_t late;     /* reported by calls that returned after the cut began */
	uint64_t late_bad; /* of those, not intact: shown, not counted */
	enum pc_copy_state copy;
	unsigned strays;  /* copy case: files beside the sources and destination */
	char note[256];   /* the first findings, for the log */
};

/* How the child's reports are checked. */
enum pc_verify {
	PC_VERIFY_RECORDS,
	PC_VERIFY_CREATES,
	PC_VERIFY_COPY,
	PC_VERIFY_COMMIT,
};

#define PC_CASE_CONTROL (1u << 0) /* must lose data: shows the test can fail */
#define PC_CASE_COPY    (1u << 1) /* expected to fail under --expect-copy-failure */

struct pc_case {
	const char *name; /* also the child's name for it */
	enum pc_verify verify;
	unsigned flags;
};

/* How a round went, beside what the check found. */
enum pc_round_status {
	PC_ROUND_OK,          /* cut while writing, remounted: ready to check */
	PC_ROUND_SKIP,        /* the child cannot run the case here (reason in msg) */
	PC_ROUND_NO_SHUTDOWN, /* the kernel refused EXT4_IOC_SHUTDOWN: skip the run */
	PC_ROUND_ERROR,       /* the child failed before the cut, or finished early */
	PC_ROUND_FATAL,       /* the filesystem could not be unmounted or remounted */
};

struct pc_round_info {
	double cut_ms;    /* from the first report to the cut */
	char msg[2048];   /* for SKIP, ERROR, FATAL: why, with the child's stderr */
};

/* fs.c */
void pc_cleanup_install(const char *mnt);
void pc_track_child(pid_t pid);
int pc_mount(const struct pc_env *env);
int pc_umount(const struct pc_env *env);
int pc_drop_bdev_cache(const struct pc_env *env);
int pc_shutdown(const struct pc_env *env);
int pc_make_dir(const struct pc_env *env, const char *name, char *path, size_t size);
int pc_remove_tree(const char *path);
void pc_fsck_report(const struct pc_env *env);

/* round.c */
enum pc_round_status pc_round(struct pc_env *env, const struct pc_case *cs, unsigned round,
			      const char *dir, struct pc_reports *rep, struct pc_round_info *info);
uint64_t pc_random(struct pc_env *env, uint64_t bound);

/* verify.c */
void pc_verify_records(const char *dir, unsigned round, const struct pc_reports *rep,
		       struct pc_result *res);
void pc_verify_creates(const char *dir, const struct pc_reports *rep, struct pc_result *res);
void pc_verify_commit(const char *dir, unsigned round, const struct pc_reports *rep,
		      struct pc_result *res);
void pc_verify_copy(const char *dir, unsigned round, const struct pc_reports *rep,
		    struct pc_result *res);
const char *pc_copy_state_name(enum pc_copy_state s);

#endif /* PC_HARNESS_H */
