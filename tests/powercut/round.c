/* SPDX-License-Identifier: Apache-2.0 */
/*
 * One round of the power-cut test: start the child, let it write, cut the
 * filesystem off at a random moment while it does, kill it, and remount.
 *
 * The cut must land while the child is writing, or the round proves
 * nothing: the harness waits for the first report (the child is in its
 * loop, its file exists), waits a random 0..max_delay_ms more while it
 * keeps reading reports (so the child never blocks on a full pipe), checks
 * that the child is still alive and has not run out of room, and only then
 * shuts the filesystem down.  A few milliseconds later, during which the
 * child runs into the dead filesystem (its calls fail with EIO), it is
 * SIGKILLed and the pipe is drained: an item reported by a call that
 * returned before the cut began is held to the promise, a later one is
 * checked but not counted (format.h says why).  The unmount waits until the
 * child is reaped and its files are closed.
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The child's side of the round, as the harness sees it. */
struct child_io {
	pid_t pid;
	int rep_fd, err_fd;          /* -1 once at end of file */
	unsigned char carry[sizeof(struct pc_report)]; /* a report split across reads */
	size_t ncarry;
	char err[1536];              /* the end of the child's stderr */
	size_t nerr;
};

uint64_t pc_random(struct pc_env *env, uint64_t bound)
{
	uint64_t x = env->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	env->rng = x;
	return bound == 0 ? 0 : x % bound;
}

static double now_ms(void)
{
	return (double)pc_now_ns() / 1e6;
}

static int add_report(struct pc_reports *rep, const struct pc_report *v)
{
	if (v->n == PC_REPORT_DONE) {
		rep->done = true;
		return 0;
	}
	if (rep->n == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 1024;
		struct pc_report *nv = realloc(rep->v, cap * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		rep->v = nv;
		rep->cap = cap;
	}
	rep->v[rep->n++] = *v;
	return 0;
}

static void read_reports(struct child_io *io, struct pc_reports *rep)
{
	unsigned char buf[4096];
	ssize_t n = read(io->rep_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(io->rep_fd);
		io->rep_fd = -1;
		return;
	}
	for (ssize_t i = 0; i < n; i++) {
		io->carry[io->ncarry++] = buf[i];
		if (io->ncarry == sizeof(io->carry)) {
			struct pc_report v;

			memcpy(&v, io->carry, sizeof(v));
			io->ncarry = 0;
			if (add_report(rep, &v) < 0) {
				fprintf(stderr, "pc-harness: out of memory\n");
				exit(1);
			}
		}
	}
}

/* Keeps the last part of the child's stderr: the part that names its failure. */
static void read_stderr(struct child_io *io)
{
	char buf[512];
	ssize_t n = read(io->err_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(io->err_fd);
		io->err_fd = -1;
		return;
	}
	_Static_assert(sizeof(buf) < sizeof(io->err), "one read fits in the kept tail");
	if (io->nerr + (size_t)n > sizeof(io->err) - 1) {
		size_t drop = io->nerr + (size_t)n - (sizeof(io->err) - 1);

		memmove(io->err, io->err + drop, io->nerr - drop);
		io->nerr -= drop;
	}
	memcpy(io->err + io->nerr, buf, (size_t)n);
	io->nerr += (size_t)n;
	io->err[io->nerr] = '\0';
}

/*
 * Reads what the child sends until the deadline, until stop() holds, or
 * until both pipes are at end of file (the child is dead).
 */
static void pump(struct child_io *io, struct pc_reports *rep, double deadline,
		 bool (*stop)(const struct pc_reports *rep))
{
	while (io->rep_fd >= 0 || io->err_fd >= 0) {
		struct pollfd p[2] = { { io->rep_fd, POLLIN, 0 }, { io->err_fd, POLLIN, 0 } };
		double left = deadline - now_ms();

		if ((stop != NULL && stop(rep)) || left <= 0)
			return;
		if (poll(p, 2, left < 1 ? 1 : (int)left) <= 0)
			continue;
		if (p[0].revents)
			read_reports(io, rep);
		if (p[1].revents)
			read_stderr(io);
	}
}

static bool has_report(const struct pc_reports *rep)
{
	return rep->n > 0 || rep->done;
}

/*
 * The random moment is brought forward when the child nears the end of
 * its room, so that the cut lands while it writes even on a fast device
 * (durable creates run at a few thousand a second on a loop device).
 */
static bool nearly_full(const struct pc_reports *rep)
{
	return rep->n >= PC_CAPACITY / 4 * 3 || rep->done;
}

/* Starts the child with its reports on descriptor 3 and stderr to us. */
static int spawn(const struct pc_env *env, const struct pc_case *cs, unsigned round,
		 const char *dir, struct child_io *io)
{
	int rp[2], ep[2];
	char round_s[24];

	if (pipe2(rp, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(ep, O_CLOEXEC) < 0) {
		close(rp[0]);
		close(rp[1]);
		return -errno;
	}
	snprintf(round_s, sizeof(round_s), "%u", round);
	io->pid = fork();
	if (io->pid == 0) {
		/* A harness that dies must not leave a writer behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(rp[1], PC_REPORT_FD) < 0 || dup2(ep[1], STDERR_FILENO) < 0 ||
		    dup2(ep[1], STDOUT_FILENO) < 0)
			_exit(126);
		execl(env->child, "pc-child", cs->name, dir, round_s, (char *)NULL);
		_exit(127);
	}
	close(rp[1]);
	close(ep[1]);
	if (io->pid < 0) {
		close(rp[0]);
		close(ep[0]);
		return -errno;
	}
	pc_track_child(io->pid);
	io->rep_fd = rp[0];
	io->err_fd = ep[0];
	fcntl(io->rep_fd, F_SETFL, O_NONBLOCK);
	fcntl(io->err_fd, F_SETFL, O_NONBLOCK);
	return 0;
}

/* Reaps the child, which is dead or dying; returns its wait status. */
static int reap(struct child_io *io)
{
	int st = 0;

	while (waitpid(io->pid, &st, 0) < 0 && errno == EINTR)
		;
	pc_track_child(0);
	if (io->rep_fd >= 0)
		close(io->rep_fd);
	if (io->err_fd >= 0)
		close(io->err_fd);
	io->rep_fd = io->err_fd = -1;
	return st;
}

static void describe_status(char *buf, size_t size, int st)
{
	if (WIFEXITED(st))
		snprintf(buf, size, "exit status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(st),
			 strsignal(WTERMSIG(st)));
	else
		snprintf(buf, size, "wait status %#x", st);
}

/* The child ended (or must be ended) before the cut: say how, and why. */
static enum pc_round_status early_end(struct child_io *io, struct pc_reports *rep,
				      struct pc_round_info *info, const char *what)
{
	char how[96];
	int st;

	kill(io->pid, SIGKILL);
	pump(io, rep, now_ms() + 5000, NULL); /* the rest of its stderr */
	st = reap(io);
	if (WIFEXITED(st) && WEXITSTATUS(st) == PC_EXIT_SKIP) {
		static const char prefix[] = "pc-child: skip: ";
		const char *why = io->err;

		if (strncmp(why, prefix, sizeof(prefix) - 1) == 0)
			why += sizeof(prefix) - 1;
		snprintf(info->msg, sizeof(info->msg), "%s", why);
		info->msg[strcspn(info->msg, "\n")] = '\0';
		return PC_ROUND_SKIP;
	}
	describe_status(how, sizeof(how), st);
	snprintf(info->msg, sizeof(info->msg), "%s (%s); its stderr:\n%s", what, how,
		 io->nerr ? io->err : "(empty)\n");
	return PC_ROUND_ERROR;
}

/*
 * Unmounts the cut filesystem, drops the device's cache and mounts it
 * again, which replays the journal as a boot after a power cut would.
 */
static enum pc_round_status remount(const struct pc_env *env, struct pc_round_info *info)
{
	int r = pc_umount(env);

	if (r == 0)
		r = pc_drop_bdev_cache(env);
	if (r == 0)
		r = pc_mount(env);
	if (r == 0)
		return PC_ROUND_OK;
	snprintf(info->msg, sizeof(info->msg), "remounting %s on %s after the cut: %s", env->dev,
		 env->mnt, strerror(-r));
	return PC_ROUND_FATAL;
}

enum pc_round_status pc_round(struct pc_env *env, const struct pc_case *cs, unsigned round,
			      const char *dir, struct pc_reports *rep, struct pc_round_info *info)
{
	struct child_io io = { .rep_fd = -1, .err_fd = -1 };
	double first;
	int r;

	memset(info, 0, sizeof(*info));
	r = spawn(env, cs, round, dir, &io);
	if (r < 0) {
		snprintf(info->msg, sizeof(info->msg), "starting %s: %s", env->child, strerror(-r));
		return PC_ROUND_FATAL;
	}

	/* 1. The child is writing once it has reported its first item. */
	pump(&io, rep, now_ms() + 20000, has_report);
	if (!has_report(rep))
		return early_end(&io, rep, info, "the child made no item durable in 20 s");
	first = now_ms();

	/* 2. A random moment later, with the child still at work... */
	pump(&io, rep, first + (double)pc_random(env, env->max_delay_ms * 1000ull + 1) / 1000,
	     nearly_full);
	if (rep->done)
		return early_end(&io, rep, info, "the child ran out of room before the cut");
	if (io.rep_fd < 0 || waitpid(io.pid, NULL, WNOHANG) != 0)
		return early_end(&io, rep, info, "the child ended before the cut");

	/* 3. ...the power cut. */
	info->cut_ms = now_ms() - first;
	rep->cut_ns = pc_now_ns();
	r = pc_shutdown(env);
	if (r < 0) {
		kill(io.pid, SIGKILL);
		reap(&io);
		snprintf(info->msg, sizeof(info->msg), "EXT4_IOC_SHUTDOWN on %s: %s", env->mnt,
			 strerror(-r));
		return r == -ENOTTY || r == -EOPNOTSUPP || r == -EPERM
			       ? PC_ROUND_NO_SHUTDOWN
			       : PC_ROUND_FATAL;
	}

	/* 4. Let the child meet the dead filesystem, then kill it and drain the pipe. */
	pump(&io, rep, now_ms() + (double)pc_random(env, 5000) / 1000, NULL);
	kill(io.pid, SIGKILL);
	pump(&io, rep, now_ms() + 60000, NULL);
	if (io.rep_fd >= 0 || io.err_fd >= 0) {
		snprintf(info->msg, sizeof(info->msg), "the child outlived SIGKILL by 60 s");
		return PC_ROUND_FATAL;
	}
	reap(&io);

	/* 5. Reboot, as far as the filesystem can tell. */
	return remount(env, info);
}
