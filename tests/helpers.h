/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Helpers shared by the Criterion suites: a temporary directory per test,
 * whole-file reads and writes with plain read(2)/write(2), descriptor
 * counting through /proc/self/fd, and fill patterns.  Everything here checks
 * what a user of the library would see, independently of the library.
 *
 * Each suite includes this header once and declares
 *
 *   TestSuite(name, .init = th_setup, .fini = th_teardown);
 *
 * so that every test starts with an empty directory th_dir, the system-call
 * table at its defaults, and a umask of 022.
 */
#ifndef MMAPIO_TESTS_HELPERS_H
#define MMAPIO_TESTS_HELPERS_H

#include <criterion/criterion.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mmapio.h"
#include "sys.h"

#ifndef MMAPIO_TEST_HAVE_URING
#define MMAPIO_TEST_HAVE_URING 0
#endif

#define TH_PAGE ((size_t)sysconf(_SC_PAGESIZE))

/* The per-test temporary directory, made by th_setup. */
static char th_dir[PATH_MAX];

/* Fills buf with th_path_of(name) for a name inside th_dir. */
static inline const char *th_path(char *buf, size_t size, const char *name)
{
	int n = snprintf(buf, size, "%s/%s", th_dir, name);

	cr_assert(n > 0 && (size_t)n < size, "path too long: %s/%s", th_dir, name);
	return buf;
}

/* A path buffer filled in place: TH_PATH(p, "name") declares char p[]. */
#define TH_PATH(var, name) \
	char var[PATH_MAX];  \
	th_path(var, sizeof(var), (name))

static inline int th_rm_one(const char *path, const struct stat *st, int type,
			    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP || type == FTW_D)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* Removes a directory tree; missing trees are fine. */
static inline void th_rmtree(const char *path)
{
	nftw(path, th_rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

static inline void th_make_tmpdir(char *buf, size_t size)
{
	const char *base = getenv("TMPDIR");
	int n;

	if (!base || !*base)
		base = "/tmp";
	n = snprintf(buf, size, "%s/mmapio-test-XXXXXX", base);
	cr_assert(n > 0 && (size_t)n < size);
	cr_assert_not_null(mkdtemp(buf), "mkdtemp under %s: %s", base, strerror(errno));
}

static inline void th_setup(void)
{
	umask(022);
	mmapio__sys_reset();
	th_make_tmpdir(th_dir, sizeof(th_dir));
}

static inline void th_teardown(void)
{
	mmapio__sys_reset();
	if (th_dir[0])
		th_rmtree(th_dir);
	th_dir[0] = '\0';
}

/*
 * The suites report in TAP on stdout (Criterion's own report stays on
 * stderr), so that meson's TAP protocol sees every test, skipped ones
 * included: Criterion 2.4's "Synthesis" line and its --tap output both
 * leave tests skipped with cr_skip_test out.  These hooks run in the
 * runner process, once per test (TEST_CRASH for a test that crashed,
 * POST_TEST for the others) and once at the end, where the plan goes.
 * Each suite includes this header once, so the hooks exist once per
 * program.
 */
static unsigned th_tap_count;
static const struct criterion_test_stats *th_tap_crashed;

/* A test that crashed gets TEST_CRASH and no POST_TEST. */
ReportHook(TEST_CRASH)(struct criterion_test_stats *stats)
{
	th_tap_count++;
	th_tap_crashed = stats;
	printf("not ok %u - %s::%s\n# crashed (signal %d, exit code %d)\n", th_tap_count,
	       stats->test->category, stats->test->name, stats->signal, stats->exit_code);
	fflush(stdout);
}

ReportHook(POST_TEST)(struct criterion_test_stats *stats)
{
	const char *suite = stats->test->category, *name = stats->test->name;

	if (stats == th_tap_crashed)
		return;
	th_tap_count++;
	if (stats->test_status == CR_STATUS_SKIPPED) {
		printf("ok %u - %s::%s # SKIP %s\n", th_tap_count, suite, name,
		       stats->message ? stats->message : "skipped");
	} else if (stats->test_status == CR_STATUS_PASSED) {
		printf("ok %u - %s::%s\n", th_tap_count, suite, name);
	} else {
		printf("not ok %u - %s::%s\n", th_tap_count, suite, name);
		for (struct criterion_assert_stats *a = stats->asserts; a; a = a->next)
			if (!a->passed)
				printf("# %s:%u: %s\n", a->file ? a->file : "?", a->line,
				       a->message ? a->message : "assertion failed");
		if (stats->timed_out)
			printf("# timed out\n");
		else if (stats->crashed)
			printf("# crashed (signal %d, exit code %d)\n", stats->signal,
			       stats->exit_code);
	}
	fflush(stdout);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	(void)stats;
	printf("1..%u\n", th_tap_count);
	fflush(stdout);
}

/*
 * Skips the test with a reason.  Criterion does not run .fini for a skipped
 * test, so the temporary directory is removed first.
 */
#define TH_SKIP(...)                        \
	do {                                \
		th_teardown();              \
		cr_skip_test(__VA_ARGS__);  \
	} while (0)

/*
 * True when the test runs under valgrind, whose emulation neither raises
 * SIGBUS for a load from a truncated mapping outside its own memcpy nor
 * reports page-cache residency as the kernel does.  The few tests that
 * depend on those skip there with that reason; they run natively in every
 * other build.
 */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TH_UNDER_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef TH_UNDER_VALGRIND
#define TH_UNDER_VALGRIND() false
#endif

#define TH_SKIP_UNDER_VALGRIND(what)                                              \
	do {                                                                      \
		if (TH_UNDER_VALGRIND())                                          \
			TH_SKIP("valgrind does not emulate %s", (what));          \
	} while (0)

/*
 * Reaps exactly n completions from ring into out, each wait up to 30 s, and
 * checks that nothing is left in flight.
 */
static inline void th_reap_n(mmapio_ring *ring, struct mmapio_completion *out, unsigned n)
{
	unsigned got = 0;

	while (got < n) {
		int rc = mmapio_ring_wait(ring, out + got, n - got, 1, 30000);

		cr_assert_gt(rc, 0, "mmapio_ring_wait after %u of %u: %d (%s)", got, n, rc,
			     mmapio_strerror(rc));
		got += (unsigned)rc;
	}
	cr_assert_eq(mmapio_ring_inflight(ring), 0);
}

/* Byte i of the fill pattern with the given seed: not periodic below 4 GiB. */
static inline unsigned char th_pattern_byte(uint64_t i, unsigned seed)
{
	uint32_t x = (uint32_t)(i * 2654435761u) ^ (uint32_t)(i >> 32) ^ (seed * 0x9e3779b9u);

	x ^= x >> 15;
	x *= 0x2c1b3c6du;
	x ^= x >> 12;
	return (unsigned char)(x >> 24);
}

/* Fills buf with the pattern for file offsets [off, off + len). */
static inline void th_fill(void *buf, size_t len, uint64_t off, unsigned seed)
{
	unsigned char *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = th_pattern_byte(off + i, seed);
}

/* malloc that fails the test instead of returning NULL. */
static inline void *th_malloc(size_t len)
{
	void *p = malloc(len ? len : 1);

	cr_assert_not_null(p, "malloc(%zu)", len);
	return p;
}

/*
 * Reads the whole file at path with open(2)/read(2) into a malloc'd buffer
 * (free it).  Returns NULL with errno set when the file cannot be opened.
 */
static inline unsigned char *th_read_file(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	cr_assert_eq(fstat(fd, &st), 0);
	buf = th_malloc((size_t)st.st_size + 1);
	for (;;) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		cr_assert(n >= 0, "read(%s): %s", path, strerror(errno));
		if (n == 0)
			break;
		got += (size_t)n;
		cr_assert(got <= (size_t)st.st_size, "%s grew while being read", path);
	}
	close(fd);
	*len = got;
	return buf;
}

/* Writes exactly len bytes of buf to a new (or truncated) file at path. */
static inline void th_write_file(const char *path, const void *buf, size_t len, mode_t mode)
{
	const unsigned char *p = buf;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	cr_assert(fd >= 0, "open(%s): %s", path, strerror(errno));
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		cr_assert(n > 0, "write(%s): %s", path, strerror(errno));
		p += n;
		len -= (size_t)n;
	}
	cr_assert_eq(close(fd), 0);
}

/* Writes a file of len bytes of the pattern with the given seed, in chunks. */
static inline void th_write_pattern_file(const char *path, uint64_t len, unsigned seed)
{
	size_t chunk = 1u << 20;
	unsigned char *buf = th_malloc(chunk);
	uint64_t off = 0;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	cr_assert(fd >= 0, "open(%s): %s", path, strerror(errno));
	while (off < len) {
		size_t n = len - off < chunk ? (size_t)(len - off) : chunk;

		th_fill(buf, n, off, seed);
		cr_assert_eq(pwrite(fd, buf, n, (off_t)off), (ssize_t)n);
		off += n;
	}
	cr_assert_eq(close(fd), 0);
	free(buf);
}

/*
 * Asserts that the file at path holds exactly the len bytes at expect,
 * read with read(2), naming the first differing offset.
 */
static inline void th_assert_file_eq(const char *path, const void *expect, size_t len)
{
	size_t got_len = 0;
	unsigned char *got = th_read_file(path, &got_len);
	const unsigned char *e = expect;

	cr_assert_not_null(got, "open(%s): %s", path, strerror(errno));
	cr_assert_eq(got_len, len, "%s: size %zu, expected %zu", path, got_len, len);
	for (size_t i = 0; i < len; i++) {
		if (got[i] != e[i]) {
			unsigned g = got[i];

			free(got);
			cr_assert_fail("%s: byte %zu is 0x%02x, expected 0x%02x", path, i, g,
				       (unsigned)e[i]);
		}
	}
	free(got);
}

/*
 * Asserts that the file at path holds exactly len bytes of the pattern with
 * the given seed, streaming it through read(2) in 1 MiB chunks.
 */
static inline void th_assert_file_pattern(const char *path, uint64_t len, unsigned seed)
{
	size_t chunk = 1u << 20;
	unsigned char *got = th_malloc(chunk);
	unsigned char *want = th_malloc(chunk);
	uint64_t off = 0;
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	cr_assert(fd >= 0, "open(%s): %s", path, strerror(errno));
	cr_assert_eq(fstat(fd, &st), 0);
	cr_assert_eq((uint64_t)st.st_size, len, "%s: size %lld, expected %llu", path,
		     (long long)st.st_size, (unsigned long long)len);
	for (;;) {
		ssize_t n = read(fd, got, chunk);

		cr_assert(n >= 0, "read(%s): %s", path, strerror(errno));
		if (n == 0)
			break;
		cr_assert(off + (uint64_t)n <= len, "%s: more bytes than its size", path);
		th_fill(want, (size_t)n, off, seed);
		if (memcmp(got, want, (size_t)n) != 0) {
			size_t i = 0;

			while (got[i] == want[i])
				i++;
			cr_assert_fail("%s: byte %llu is 0x%02x, expected 0x%02x", path,
				       (unsigned long long)(off + i), (unsigned)got[i],
				       (unsigned)want[i]);
		}
		off += (uint64_t)n;
	}
	cr_assert_eq(off, len, "%s: read %llu bytes, expected %llu", path,
		     (unsigned long long)off, (unsigned long long)len);
	close(fd);
	free(got);
	free(want);
}

/* Size of the file at path per stat(2), or -1 when it does not exist. */
static inline long long th_file_size(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return (long long)st.st_size;
}

static inline bool th_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

#ifdef _WIN32
/* Windows (tests/win): descriptor counting and "children" without fork. */
#include "win/helpers_win.h"
#else
/* Number of entries in /proc/self/fd, not counting the one used to list it. */
static inline int th_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "opendir(/proc/self/fd): %s", strerror(errno));
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1;
}
#endif

/* The backend this test run asks for through MMAPIO_BACKEND ("" if unset). */
static inline const char *th_backend_env(void)
{
	const char *b = getenv("MMAPIO_BACKEND");

	return b ? b : "";
}

static inline bool th_env_is_uring(void)
{
	return strcmp(th_backend_env(), "uring") == 0;
}

/*
 * Forces the blocking backend for the rest of this (forked) test: the
 * default ring follows MMAPIO_BACKEND when it is first opened, so this must
 * run before the first library call that uses it.
 */
static inline void th_force_fallback(void)
{
	cr_assert_eq(setenv("MMAPIO_BACKEND", "fallback", 1), 0);
}

/*
 * Opens a ring on the given engine (MMAPIO_BACKEND_URING or
 * MMAPIO_BACKEND_FALLBACK), whatever MMAPIO_BACKEND says, for the tests
 * that cover one engine path each in a single run.  Skips the test, with
 * the reason, where io_uring is not built or the kernel refuses it.
 */
static inline mmapio_ring *th_open_engine_ring(enum mmapio_backend engine)
{
	struct mmapio_ring_options o = { .backend = engine };
	mmapio_ring *ring = NULL;
	int rc;

	if (engine == MMAPIO_BACKEND_URING && !MMAPIO_TEST_HAVE_URING)
		TH_SKIP("io_uring engine not built (-During=disabled or no liburing)");
	rc = mmapio_ring_open(&o, &ring);
	if (engine == MMAPIO_BACKEND_URING && (rc == -EPERM || rc == -ENOSYS || rc == -ENOMEM))
		TH_SKIP("io_uring cannot be set up here: %s", mmapio_strerror(rc));
	cr_assert_eq(rc, 0, "mmapio_ring_open(backend %d): %d (%s)", (int)engine, rc,
		     mmapio_strerror(rc));
	cr_assert_eq(mmapio_ring_backend(ring, NULL), engine);
	return ring;
}

/* Creates a file of len pattern bytes and returns a map of it in mode. */
static inline mmapio_map *th_open_pattern(const char *path, size_t len, unsigned seed,
					  enum mmapio_mode mode)
{
	mmapio_map *map = NULL;
	int rc;

	th_write_pattern_file(path, len, seed);
	rc = mmapio_open(path, mode, NULL, &map);
	cr_assert_eq(rc, 0, "mmapio_open(%s, %d): %d (%s)", path, (int)mode, rc,
		     mmapio_strerror(rc));
	cr_assert_not_null(map);
	return map;
}

/*
 * Running a check in a forked child of the test, for tests that change the
 * process in ways the test itself must not suffer (seccomp filters, dropped
 * privileges).  The child reports a failure through a pipe with
 * TH_CHILD_CHECK, or a skip with TH_CHILD_SKIP; the parent turns those into
 * a Criterion failure or skip.
 */
#ifndef _WIN32 /* Windows: tests/win/helpers_win.h */
static int th_child_fd = -1;

#define TH_CHILD_EXIT_SKIP 77

static inline void th_child_report(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3), noreturn));
static inline void th_child_report(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(msg) - 1)
		n = (int)sizeof(msg) - 1;
	if (n > 0 && write(th_child_fd, msg, (size_t)n) < 0)
		code = 2;
	_exit(code);
}
#endif

#define TH_CHILD_CHECK(cond, ...)                                                  \
	do {                                                                       \
		if (!(cond)) {                                                     \
			char th_m_[400];                                           \
			snprintf(th_m_, sizeof(th_m_), __VA_ARGS__);               \
			th_child_report(1, "line %d: %s: %s", __LINE__, #cond, th_m_); \
		}                                                                  \
	} while (0)

#define TH_CHILD_SKIP(...) th_child_report(TH_CHILD_EXIT_SKIP, __VA_ARGS__)

#ifndef _WIN32 /* Windows: tests/win/helpers_win.h */
/* Runs fn(arg) in a forked child and fails or skips the test as it reports. */
static inline void th_run_in_child(void (*fn)(void *), void *arg)
{
	char msg[600] = "";
	size_t got = 0;
	int fds[2], status;
	pid_t pid;

	cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
	if (pid == 0) {
		close(fds[0]);
		th_child_fd = fds[1];
		fn(arg);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], msg + got, sizeof(msg) - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	msg[got] = '\0';
	close(fds[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(!WIFSIGNALED(status), "the child died with signal %d (%s)%s%s",
		  WTERMSIG(status), strsignal(WTERMSIG(status)), got ? ": " : "", msg);
	if (WEXITSTATUS(status) == TH_CHILD_EXIT_SKIP)
		TH_SKIP("%s", msg);
	cr_assert_eq(WEXITSTATUS(status), 0, "in the child: %s", msg);
}
#endif

/* Asserts rc == want, printing both and their descriptions otherwise. */
#define TH_ASSERT_RC(call, want)                                                     \
	do {                                                                         \
		int th_rc_ = (call);                                                 \
		int th_want_ = (want);                                               \
		cr_assert_eq(th_rc_, th_want_, "%s: got %d (%s), expected %d (%s)", #call, \
			     th_rc_, mmapio_strerror(th_rc_), th_want_,              \
			     mmapio_strerror(th_want_));                             \
	} while (0)

#define TH_EXPECT_RC(call, want)                                                     \
	do {                                                                         \
		int th_rc_ = (call);                                                 \
		int th_want_ = (want);                                               \
		cr_expect_eq(th_rc_, th_want_, "%s: got %d (%s), expected %d (%s)", #call, \
			     th_rc_, mmapio_strerror(th_rc_), th_want_,              \
			     mmapio_strerror(th_want_));                             \
	} while (0)

#endif
