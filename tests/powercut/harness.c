/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pc-harness: the power-cut durability test (issue 8, "The proof").
 *
 *   pc-harness --dev /dev/loopN --mnt DIR --child PATH [--rounds N]
 *              [--case NAME[,NAME...]] [--max-delay-ms MS] [--seed S]
 *              [--mount-options OPTS] [--verbose]
 *
 * For each case and round it mounts the ext4 filesystem on the loop device,
 * starts pc-child writing items durably and reporting each, cuts the
 * filesystem off at a random moment (EXT4_IOC_SHUTDOWN with NOLOGFLUSH:
 * nothing more reaches the device, as in a power cut), SIGKILLs the child,
 * remounts and checks that every reported item is intact (round.c,
 * verify.c).  scripts/powercut.sh makes the image and the loop device and
 * runs this; it is not a meson test because it needs root and minutes.
 *
 * Why C and not bash: the cut must land at a chosen moment while the
 * child is writing, which takes reading the child's reports as they come,
 * the shutdown ioctl, and checking thousands of 4 KiB records per round;
 * bash can do none of these directly.  The script keeps what bash is good
 * at: building, the image and the loop device, and a trap that removes
 * them on every way out.
 *
 * To add a case (a barrier commit, issue 11): a method in child.c's table
 * that reports each item once it is durable, a row in the table below, and
 * a pc_verify_* function in verify.c if its items are a new kind.
 *
 * Prints a table (case, rounds, items reported, checked, lost, corrupt,
 * verdict) and ends with "powercut: N passed, M failed" (", K skipped"
 * when cases were skipped), one per case.  Exit status 0 when none failed,
 * 1 when one did, 77 when the kernel refused the mount or the shutdown.
 */
#include "harness.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const struct pc_case cases[] = {
	{ "flush", PC_VERIFY_RECORDS, 0 },
	{ "flush_range", PC_VERIFY_RECORDS, 0 },
	{ "segment", PC_VERIFY_RECORDS, 0 },
	{ "ring-uring", PC_VERIFY_RECORDS, 0 },
	{ "ring-fallback", PC_VERIFY_RECORDS, 0 },
	{ "ranges-uring", PC_VERIFY_RECORDS, 0 },
	{ "ranges-fallback", PC_VERIFY_RECORDS, 0 },
	{ "growth", PC_VERIFY_RECORDS, 0 },
	{ "view", PC_VERIFY_RECORDS, 0 },
	{ "create-uring", PC_VERIFY_CREATES, 0 },
	{ "create-fallback", PC_VERIFY_CREATES, 0 },
	{ "copy-uring", PC_VERIFY_COPY, PC_CASE_COPY },
	{ "copy-fallback", PC_VERIFY_COPY, PC_CASE_COPY },
	{ "commit-uring", PC_VERIFY_COMMIT, 0 },
	{ "commit-fallback", PC_VERIFY_COMMIT, 0 },
	{ "control", PC_VERIFY_RECORDS, PC_CASE_CONTROL },
};
#define NCASES (sizeof(cases) / sizeof(cases[0]))

/* A case's figures over its rounds. */
struct tally {
	unsigned rounds, bad_rounds, errors;
	uint64_t reported, checked, lost, corrupt, late, late_bad;
	unsigned copy[PC_COPY_STATES], strays;
	double cut_ms;
	bool skipped;
	char why[sizeof(((struct pc_round_info *)0)->msg) + 32]; /* skip reason or first error */
};

struct options {
	unsigned rounds;
	bool selected[NCASES];
	uint64_t seed;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: pc-harness --dev DEV --mnt DIR --child PATH [--rounds N (10)]\n"
		   "       [--case NAME[,NAME...]] [--max-delay-ms MS (250)] [--seed S]\n"
		   "       [--mount-options OPTS] [--verbose]\n"
		   "cases:");
	for (size_t i = 0; i < NCASES; i++)
		fprintf(f, " %s", cases[i].name);
	fprintf(f, "\n");
}

static int select_cases(struct options *o, char *list)
{
	for (char *save = NULL, *name = strtok_r(list, ",", &save); name != NULL;
	     name = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < NCASES && strcmp(cases[i].name, name) != 0; i++)
			;
		if (i == NCASES) {
			fprintf(stderr, "pc-harness: unknown case '%s'\n", name);
			return -1;
		}
		o->selected[i] = true;
	}
	return 0;
}

static int parse(int argc, char **argv, struct pc_env *env, struct options *o)
{
	enum { O_MOUNT_OPTS = 256 };
	static const struct option longopts[] = {
		{ "dev", required_argument, NULL, 'd' },
		{ "mnt", required_argument, NULL, 'm' },
		{ "child", required_argument, NULL, 'c' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "case", required_argument, NULL, 'C' },
		{ "max-delay-ms", required_argument, NULL, 'D' },
		{ "seed", required_argument, NULL, 's' },
		{ "mount-options", required_argument, NULL, O_MOUNT_OPTS },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool any = false;
	int c;

	while ((c = getopt_long(argc, argv, "v", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': env->dev = optarg; break;
		case 'm': env->mnt = optarg; break;
		case 'c': env->child = optarg; break;
		case 'r': o->rounds = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'C': if (select_cases(o, optarg) < 0) return -1; any = true; break;
		case 'D': env->max_delay_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 's': o->seed = strtoull(optarg, NULL, 0); break;
		case O_MOUNT_OPTS: env->mount_opts = optarg; break;
		case 'v': env->verbose = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return -1;
		}
	}
	if (env->dev == NULL || env->mnt == NULL || env->child == NULL || o->rounds == 0 ||
	    optind != argc) {
		usage(stderr);
		return -1;
	}
	for (size_t i = 0; !any && i < NCASES; i++)
		o->selected[i] = true;
	return 0;
}

static void check(const struct pc_case *cs, const char *dir, unsigned round,
		  const struct pc_reports *rep, struct pc_result *res)
{
	switch (cs->verify) {
	case PC_VERIFY_RECORDS: pc_verify_records(dir, round, rep, res); break;
	case PC_VERIFY_CREATES: pc_verify_creates(dir, rep, res); break;
	case PC_VERIFY_COPY: pc_verify_copy(dir, round, rep, res); break;
	case PC_VERIFY_COMMIT: pc_verify_commit(dir, round, rep, res); break;
	}
}

static void add_round(struct tally *t, const struct pc_reports *rep,
		      const struct pc_round_info *info, const struct pc_result *res)
{
	t->rounds++;
	t->reported += rep->n;
	t->checked += res->checked;
	t->late += res->late;
	t->late_bad += res->late_bad;
	t->lost += res->lost;
	t->corrupt += res->corrupt;
	t->bad_rounds += res->lost + res->corrupt > 0;
	t->cut_ms += info->cut_ms;
	t->strays += res->strays;
	if (res->checked > 0 && res->copy < PC_COPY_STATES)
		t->copy[res->copy]++;
}

/*
 * Runs one round of a case and checks it.  Returns 0 to go on, 1 to stop
 * the case (skipped), -1 to stop the run (the filesystem is gone, or the
 * kernel cannot cut it: *skip_run then says so).
 */
static int one_round(struct pc_env *env, const struct pc_case *cs, unsigned ci, unsigned round,
		     struct tally *t, bool *skip_run)
{
	struct pc_reports rep = { 0 };
	struct pc_round_info info;
	struct pc_result res = { .copy = PC_COPY_STATES };
	enum pc_round_status st;
	char name[64], dir[1024]; /* pc_make_dir refuses a longer path */
	int r, ret = 0;

	snprintf(name, sizeof(name), "c%02u-r%04u", ci, round);
	r = pc_make_dir(env, name, dir, sizeof(dir));
	if (r < 0) {
		t->errors++;
		snprintf(t->why, sizeof(t->why), "round %u: making %s/%s: %s", round, env->mnt,
			 name, strerror(-r));
		printf("  %-16s round %3u: FATAL: %s\n", cs->name, round, t->why);
		return -1;
	}
	st = pc_round(env, cs, round, dir, &rep, &info);
	switch (st) {
	case PC_ROUND_OK:
		check(cs, dir, round, &rep, &res);
		add_round(t, &rep, &info, &res);
		if (env->verbose || (res.lost + res.corrupt > 0 && !(cs->flags & PC_CASE_CONTROL)))
			printf("  %-16s round %3u: %5zu reported (%llu late), cut %5.1f ms "
			       "after the first: %s\n",
			       cs->name, round, rep.n, (unsigned long long)res.late, info.cut_ms,
			       res.note[0] ? res.note : "all intact");
		break;
	case PC_ROUND_SKIP:
		t->skipped = true;
		snprintf(t->why, sizeof(t->why), "%s", info.msg);
		ret = 1;
		break;
	case PC_ROUND_ERROR:
		t->errors++;
		if (t->why[0] == '\0')
			snprintf(t->why, sizeof(t->why), "round %u: %s", round, info.msg);
		printf("  %-16s round %3u: ERROR: %s\n", cs->name, round, info.msg);
		break;
	case PC_ROUND_NO_SHUTDOWN:
		*skip_run = true;
		ret = -1;
		break;
	case PC_ROUND_FATAL:
		t->errors++;
		snprintf(t->why, sizeof(t->why), "round %u: %s", round, info.msg);
		printf("  %-16s round %3u: FATAL: %s\n", cs->name, round, info.msg);
		ret = -1;
		break;
	}
	free(rep.v);
	if (ret >= 0 && (r = pc_remove_tree(dir)) < 0) {
		t->errors++;
		snprintf(t->why, sizeof(t->why), "round %u: removing %s: %s", round, dir,
			 strerror(-r));
		printf("  %-16s round %3u: FATAL: %s\n", cs->name, round, t->why);
		ret = -1;
	}
	return ret;
}

/* The verdict of a case; returns 1 when it passed, 0 when it failed. */
static int verdict(const struct pc_case *cs, const struct tally *t, char *buf, size_t size)
{
	bool broken = t->lost + t->corrupt > 0;

	if (t->errors > 0 || t->rounds == 0) {
		snprintf(buf, size, "FAIL (%u round%s could not run)", t->errors,
			 t->errors == 1 ? "" : "s");
		return 0;
	}
	if (cs->flags & PC_CASE_CONTROL) {
		snprintf(buf, size, broken ? "pass (lost data in %u of %u rounds)"
					   : "FAIL (lost nothing in %u rounds: the test cannot fail)",
			 broken ? t->bad_rounds : t->rounds, t->rounds);
		return broken;
	}
	snprintf(buf, size, broken ? "FAIL" : "pass");
	return !broken;
}

static void print_table(const struct options *o, const struct tally *t, double seconds)
{
	unsigned passed = 0, failed = 0, skipped = 0;
	char v[128], late[48];

	printf("\n%-16s %6s %9s %9s %6s %7s %9s  %s\n", "case", "rounds", "reported", "checked",
	       "lost", "corrupt", "late/bad", "verdict");
	for (size_t i = 0; i < NCASES; i++) {
		if (!o->selected[i])
			continue;
		if (t[i].skipped && t[i].rounds == 0) {
			printf("%-16s %6s %9s %9s %6s %7s %9s  skip: %s\n", cases[i].name, "-", "-",
			       "-", "-", "-", "-", t[i].why);
			skipped++;
			continue;
		}
		if (verdict(&cases[i], &t[i], v, sizeof(v)))
			passed++;
		else
			failed++;
		snprintf(late, sizeof(late), "%llu/%llu", (unsigned long long)t[i].late,
			 (unsigned long long)t[i].late_bad);
		printf("%-16s %6u %9llu %9llu %6llu %7llu %9s  %s\n", cases[i].name, t[i].rounds,
		       (unsigned long long)t[i].reported, (unsigned long long)t[i].checked,
		       (unsigned long long)t[i].lost, (unsigned long long)t[i].corrupt, late, v);
	}
	printf("\n");
	for (size_t i = 0; i < NCASES; i++) {
		const struct tally *c = &t[i];

		if (!o->selected[i] || c->rounds == 0)
			continue;
		if (cases[i].flags & PC_CASE_COPY)
			printf("%s: destination after the cut: old %u, new %u, missing %u, "
			       "wrong size %u, torn %u: neither old nor new in %u of %u rounds "
			       "(%.0f%%); %llu copies reported; %u stray files\n",
			       cases[i].name, c->copy[PC_COPY_OLD], c->copy[PC_COPY_NEW],
			       c->copy[PC_COPY_MISSING], c->copy[PC_COPY_SIZE], c->copy[PC_COPY_TORN],
			       c->bad_rounds, c->rounds, 100.0 * c->bad_rounds / c->rounds,
			       (unsigned long long)c->reported, c->strays);
		if (cases[i].flags & PC_CASE_CONTROL)
			printf("%s: lost data in %u of %u rounds; %llu of %llu reported records "
			       "lost, %llu corrupt\n",
			       cases[i].name, c->bad_rounds, c->rounds, (unsigned long long)c->lost,
			       (unsigned long long)c->checked, (unsigned long long)c->corrupt);
		if (c->errors > 0)
			printf("%s: first error: %s\n", cases[i].name, c->why);
	}
	printf("late/bad: items whose call returned after the cut began, and how many of "
	       "them were not intact; no call returns after a real power cut, so they are "
	       "shown, not counted\n");
	printf("powercut: took %.0f s\n", seconds);
	printf("powercut: %u passed, %u failed", passed, failed);
	if (skipped > 0)
		printf(", %u skipped", skipped);
	printf("\n");
}

static bool any_failed(const struct options *o, const struct tally *t)
{
	char v[128];

	for (size_t i = 0; i < NCASES; i++)
		if (o->selected[i] && !(t[i].skipped && t[i].rounds == 0) &&
		    !verdict(&cases[i], &t[i], v, sizeof(v)))
			return true;
	return false;
}

int main(int argc, char **argv)
{
	struct pc_env env = { .max_delay_ms = 250 };
	struct options o = { .rounds = 10 };
	static struct tally t[NCASES];
	struct timespec t0, t1;
	bool skip_run = false;
	int r, stop = 0;

	o.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	if (parse(argc, argv, &env, &o) < 0)
		return 2;
	env.rng = o.seed ? o.seed : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	pc_cleanup_install(env.mnt);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	r = pc_mount(&env);
	if (r == -EPERM || r == -EACCES || r == -ENODEV || r == -ENOSYS) {
		/* Not allowed here (a container), or no ext4 in this kernel. */
		printf("SKIP: mounting ext4 from %s on %s refused: %s\n", env.dev, env.mnt,
		       strerror(-r));
		return 77;
	}
	if (r < 0) {
		printf("pc-harness: mounting %s on %s: %s\n", env.dev, env.mnt, strerror(-r));
		printf("powercut: 0 passed, 1 failed\n");
		return 1;
	}
	printf("powercut: ext4 on %s at %s%s%s, %u rounds per case, cut 0-%u ms after the "
	       "first report, seed %llu\n",
	       env.dev, env.mnt, env.mount_opts ? " -o " : "", env.mount_opts ? env.mount_opts : "",
	       o.rounds, env.max_delay_ms, (unsigned long long)o.seed);
	for (unsigned ci = 0; ci < NCASES && stop >= 0; ci++) {
		if (!o.selected[ci])
			continue;
		stop = 0;
		for (unsigned round = 0; round < o.rounds && stop == 0; round++)
			stop = one_round(&env, &cases[ci], ci, round, &t[ci], &skip_run);
		if (env.verbose && t[ci].rounds > 0)
			printf("  %-16s mean cut %.0f ms after the first report\n", cases[ci].name,
			       t[ci].cut_ms / t[ci].rounds);
	}
	if (skip_run) {
		printf("SKIP: this kernel cannot cut the filesystem off (EXT4_IOC_SHUTDOWN)\n");
		return 77;
	}
	if (stop < 0)
		printf("powercut: stopped early: the filesystem could not be prepared or "
		       "remounted\n");
	r = pc_umount(&env);
	if (r < 0)
		fprintf(stderr, "pc-harness: unmounting %s: %s\n", env.mnt, strerror(-r));
	else
		pc_fsck_report(&env);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_table(&o, t, (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	return stop < 0 || r < 0 || any_failed(&o, t) ? 1 : 0;
}
