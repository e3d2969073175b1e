/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The filesystem under the power-cut test: mounting, cutting it off,
 * unmounting, and leaving nothing mounted and no child running on any way
 * out of the harness (atexit for the normal ones, a handler for SIGINT,
 * SIGTERM and SIGHUP; scripts/powercut.sh's trap covers a SIGKILL of the
 * harness itself and owns the loop device and the image).
 */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * From <linux/ext4.h> (missing from older kernel headers) and
 * <linux/fs.h> (which clashes with glibc's <sys/mount.h>).
 */
#ifndef EXT4_IOC_SHUTDOWN
#define EXT4_IOC_SHUTDOWN _IOR('X', 125, uint32_t)
#endif
#ifndef EXT4_GOING_FLAGS_NOLOGFLUSH
#define EXT4_GOING_FLAGS_NOLOGFLUSH 0x2
#endif
#ifndef BLKFLSBUF
#define BLKFLSBUF _IO(0x12, 97)
#endif

/* What the cleanup must undo; read by a signal handler, hence volatile. */
static volatile pid_t live_child;
static volatile sig_atomic_t mounted;
static const char *cleanup_mnt;

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/*
 * Unmounts, waiting out EBUSY: after a SIGKILL the kernel tears a dead
 * process's io_uring down asynchronously, and until it has, requests in
 * flight still hold files of the filesystem open.  A lazy unmount would not
 * do: the next mount of the device would find the old, shut-down superblock
 * still alive and reuse it.  Async-signal-safe.  Returns 0 or -errno.
 */
static int umount_waiting(const char *mnt)
{
	for (int i = 0; i < 3000; i++) {
		if (umount2(mnt, 0) == 0 || errno == EINVAL)
			return 0; /* EINVAL: not mounted (any more) */
		if (errno != EBUSY)
			return -errno;
		sleep_ms(10);
	}
	return -EBUSY;
}

/* Async-signal-safe: kill and reap the child, then unmount. */
static void cleanup_now(void)
{
	pid_t pid = live_child;

	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		live_child = 0;
	}
	if (mounted && cleanup_mnt != NULL && umount_waiting(cleanup_mnt) == 0)
		mounted = 0;
}

static void cleanup_at_exit(void)
{
	cleanup_now();
	if (mounted)
		fprintf(stderr, "pc-harness: could not unmount %s\n", cleanup_mnt);
}

static void cleanup_on_signal(int sig)
{
	static const char msg[] = "pc-harness: interrupted, cleaning up\n";

	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
		/* Nothing to do about it: the cleanup matters more. */
	}
	cleanup_now();
	_exit(128 + sig);
}

void pc_cleanup_install(const char *mnt)
{
	struct sigaction sa;

	cleanup_mnt = mnt;
	atexit(cleanup_at_exit);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = cleanup_on_signal;
	sigfillset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A child that dies under us must not kill the harness through a pipe. */
	signal(SIGPIPE, SIG_IGN);
}

void pc_track_child(pid_t pid)
{
	live_child = pid;
}

int pc_mount(const struct pc_env *env)
{
	if (mount(env->dev, env->mnt, "ext4", 0, env->mount_opts) < 0)
		return -errno;
	mounted = 1;
	return 0;
}

int pc_umount(const struct pc_env *env)
{
	int r = umount_waiting(env->mnt);

	if (r == 0)
		mounted = 0;
	return r;
}

/*
 * Drops the loop device's buffer cache after the unmount.  The shut-down
 * filesystem leaves metadata blocks there as it last changed them in
 * memory, journaled or not; a remount that read them from the cache would
 * see what never reached the disk.  A real power cut loses them, and so
 * does this.  Returns 0 or -errno.
 */
int pc_drop_bdev_cache(const struct pc_env *env)
{
	int fd = open(env->dev, O_RDONLY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, BLKFLSBUF, 0) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * The power cut: from here the filesystem writes nothing more, not even
 * its journal (NOLOGFLUSH), and every call on it fails with EIO.  What is
 * on the device now is what a machine losing power now would keep.
 * Returns 0 or -errno (-ENOTTY or -EOPNOTSUPP where the kernel lacks it).
 */
int pc_shutdown(const struct pc_env *env)
{
	uint32_t flags = EXT4_GOING_FLAGS_NOLOGFLUSH;
	int fd = open(env->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, EXT4_IOC_SHUTDOWN, &flags) < 0)
		r = -errno;
	/* Closed at once: an open descriptor would keep the unmount busy. */
	close(fd);
	return r;
}

static int fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

/*
 * Makes the round's directory and makes it durable (its inode and its entry
 * in the root), so that a child's item is lost only if the library's own
 * promise failed.  Returns 0 with the path in path, or -errno.
 */
int pc_make_dir(const struct pc_env *env, const char *name, char *path, size_t size)
{
	int r;

	if ((size_t)snprintf(path, size, "%s/%s", env->mnt, name) >= size)
		return -ENAMETOOLONG;
	if (mkdir(path, 0755) < 0)
		return -errno;
	r = fsync_path(path);
	return r < 0 ? r : fsync_path(env->mnt);
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

/* Removes a round's directory after its check, so the image never fills. */
int pc_remove_tree(const char *path)
{
	return nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
}

/*
 * Checks the unmounted image with e2fsck -fn and prints what it found:
 * after all those cuts the journal must have left a consistent
 * filesystem, but that is the kernel's promise, not the library's, so the
 * result is printed and not counted.  Prints nothing where e2fsck is
 * missing.
 */
void pc_fsck_report(const struct pc_env *env)
{
	char out[4096];
	size_t n = 0;
	int p[2], st = 0;
	pid_t pid;
	ssize_t r;

	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	pid = fork();
	if (pid == 0) {
		if (dup2(p[1], STDOUT_FILENO) < 0 || dup2(p[1], STDERR_FILENO) < 0)
			_exit(126);
		execlp("e2fsck", "e2fsck", "-fn", env->dev, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && (r = read(p[0], out + n, sizeof(out) - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (n += (size_t)r) == sizeof(out) - 1)
			break;
	}
	close(p[0]);
	out[n] = '\0';
	if (pid < 0)
		return;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		printf("powercut: e2fsck -fn after the run: clean\n");
	else
		printf("powercut: e2fsck -fn after the run found problems (not counted):\n%s", out);
}
