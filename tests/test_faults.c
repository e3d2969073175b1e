/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Guarded copies under hostile conditions: a thread that blocks SIGBUS, an
 * application that installs its own SIGBUS handler after the library's, a
 * guarded copy in a signal handler that interrupted another one.  In every
 * case a fault inside mmapio_read / mmapio_write must come back as
 * -EFAULT, the map must stay usable (its lock released), and faults that
 * are not the library's must still reach the application's handler.
 *
 * A fault the guard misses kills the test's process, which Criterion
 * reports as a crash: that is how these tests fail.
 */
#include <pthread.h>
#include <setjmp.h>
#include <sys/time.h>

#include "helpers.h"

TestSuite(faults, .init = th_setup, .fini = th_teardown);

#define FILE_LEN ((size_t)4 << 20)

/*
 * Creates a file of FILE_LEN bytes, maps it read-write, fills it, and cuts
 * the file to keep bytes underneath the map, so that every page after them
 * faults.  Returns the map.
 */
static mmapio_map *cut_map_to(const char *name, off_t keep)
{
	TH_PATH(p, name);
	unsigned char *src = th_malloc(FILE_LEN);
	mmapio_map *map;

	th_fill(src, FILE_LEN, 0, 5);
	TH_ASSERT_RC(mmapio_create(p, FILE_LEN, NULL, &map), 0);
	TH_ASSERT_RC(mmapio_write(map, 0, src, FILE_LEN), 0);
	cr_assert_eq(truncate(p, keep), 0);
	free(src);
	return map;
}

/* The same, cut to one page. */
static mmapio_map *cut_map(const char *name)
{
	return cut_map_to(name, 4096);
}

struct blocked_arg {
	mmapio_map *map;
	int read_rc;
	int write_rc;
};

/* A worker that blocks every signal, as thread pools commonly do. */
static void *blocked_worker(void *p)
{
	struct blocked_arg *a = p;
	unsigned char buf[8192];
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	a->read_rc = mmapio_read(a->map, FILE_LEN - sizeof(buf), buf, sizeof(buf));
	memset(buf, 1, sizeof(buf));
	a->write_rc = mmapio_write(a->map, FILE_LEN - sizeof(buf), buf, sizeof(buf));
	return NULL;
}

Test(faults, thread_blocking_sigbus_gets_efault)
{
	TH_SKIP_UNDER_VALGRIND("SIGBUS for a truncated mapping");
	struct blocked_arg a = { .map = cut_map("blocked") };
	pthread_t t;
	sigset_t mask;

	cr_assert_eq(pthread_create(&t, NULL, blocked_worker, &a), 0);
	cr_assert_eq(pthread_join(t, NULL), 0);
	cr_assert_eq(a.read_rc, -EFAULT);
	cr_assert_eq(a.write_rc, -EFAULT);
	/* The library left this thread's mask alone. */
	cr_assert_eq(pthread_sigmask(SIG_SETMASK, NULL, &mask), 0);
	cr_assert_eq(sigismember(&mask, SIGBUS), 0);
	TH_ASSERT_RC(mmapio_close(a.map), 0);
}

Test(faults, blocked_sigbus_stays_blocked_after_the_copy)
{
	TH_SKIP_UNDER_VALGRIND("SIGBUS for a truncated mapping");
	mmapio_map *map = cut_map("mask");
	unsigned char buf[64];
	sigset_t bus, now;

	sigemptyset(&bus);
	sigaddset(&bus, SIGBUS);
	cr_assert_eq(pthread_sigmask(SIG_BLOCK, &bus, NULL), 0);
	TH_ASSERT_RC(mmapio_read(map, FILE_LEN - 64, buf, sizeof(buf)), -EFAULT);
	TH_ASSERT_RC(mmapio_read(map, 0, buf, sizeof(buf)), 0);
	cr_assert_eq(pthread_sigmask(SIG_SETMASK, NULL, &now), 0);
	cr_assert_eq(sigismember(&now, SIGBUS), 1, "the caller's blocked SIGBUS was unblocked");
	cr_assert_eq(pthread_sigmask(SIG_UNBLOCK, &bus, NULL), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
}

static sigjmp_buf app_jump;
static volatile sig_atomic_t app_faults;

/* The application's own handler: counts and jumps back to its own code. */
static void app_sigbus(int sig, siginfo_t *info, void *uctx)
{
	(void)sig, (void)info, (void)uctx;
	app_faults++;
	siglongjmp(app_jump, 1);
}

Test(faults, handler_installed_after_the_library_keeps_the_guard)
{
	TH_SKIP_UNDER_VALGRIND("SIGBUS for a truncated mapping");
	mmapio_map *map = cut_map("later");
	unsigned char buf[4096];
	struct sigaction sa;
	volatile unsigned char *base;

	/* The library's handler goes in with the first guarded copy... */
	TH_ASSERT_RC(mmapio_read(map, 0, buf, sizeof(buf)), 0);
	/* ...and the application's own after it. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = app_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGBUS, &sa, NULL), 0);

	app_faults = 0;
	if (sigsetjmp(app_jump, 1) == 0) {
		TH_ASSERT_RC(mmapio_read(map, FILE_LEN - 4096, buf, sizeof(buf)), -EFAULT);
		memset(buf, 2, sizeof(buf));
		TH_ASSERT_RC(mmapio_write(map, FILE_LEN - 4096, buf, sizeof(buf)), -EFAULT);
	} else {
		cr_assert_fail("the application's handler took a fault of a guarded copy");
	}
	cr_assert_eq(app_faults, 0);

	/* The map's lock was released: a write elsewhere goes through. */
	TH_ASSERT_RC(mmapio_write(map, 0, "x", 1), 0);

	/* A fault outside the library still reaches the application. */
	base = mmapio_base(map);
	if (sigsetjmp(app_jump, 1) == 0)
		(void)base[FILE_LEN - 1];
	cr_assert_eq(app_faults, 1, "a fault outside the library missed the application");
	TH_ASSERT_RC(mmapio_close(map), 0);
}

/* A good map that the timer's handler reads from, inside the outer copy. */
static mmapio_map *inner_map;
static volatile sig_atomic_t inner_reads, inner_errors;

static void on_timer(int sig)
{
	unsigned char b[256];

	(void)sig;
	if (mmapio_read(inner_map, 0, b, sizeof(b)) != 0)
		inner_errors++;
	inner_reads++;
}

Test(faults, guarded_copy_in_a_signal_handler_keeps_the_outer_guard)
{
	TH_SKIP_UNDER_VALGRIND("SIGBUS for a truncated mapping");
	mmapio_map *map = cut_map_to("outer", (off_t)2 << 20);
	unsigned char *buf = th_malloc(FILE_LEN);
	struct itimerval it = { { 0, 20 }, { 0, 20 } };
	struct sigaction sa;
	TH_PATH(ip, "inner");
	int i;

	TH_ASSERT_RC(mmapio_create(ip, 4096, NULL, &inner_map), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
	/*
	 * The file keeps its first 2 MiB, so each outer copy runs 2 MiB of
	 * memcpy and then faults; a timer that fires every 20 us lands inside
	 * most of them.  The outer copy must end in -EFAULT every time,
	 * whether or not a nested copy ran in between.
	 */
	cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	for (i = 0; i < 3000; i++)
		TH_ASSERT_RC(mmapio_read(map, 0, buf, FILE_LEN), -EFAULT);
	memset(&it, 0, sizeof(it));
	setitimer(ITIMER_REAL, &it, NULL);
	cr_assert_eq(inner_errors, 0);
	cr_assert_gt(inner_reads, 0, "the timer never fired");
	TH_ASSERT_RC(mmapio_close(inner_map), 0);
	TH_ASSERT_RC(mmapio_close(map), 0);
	free(buf);
}

/*
 * The first guarded copy of a process installs the SIGBUS handler.  A
 * signal that lands during that install, and whose handler copies out of
 * a map, used to find its own thread inside the install's pthread_once and
 * wait for itself for ever (seen as a rare hang of the test above).  The
 * wrapper below raises the signal exactly there, every time.
 */
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static volatile sig_atomic_t raised_in_install;

static int sigaction_raising(int sig, const struct sigaction *act, struct sigaction *old)
{
	if (sig == SIGBUS && act != NULL && !raised_in_install) {
		raised_in_install = 1;
		raise(SIGALRM);
	}
	return real_sigaction(sig, act, old);
}

Test(faults, signal_during_the_guards_install_copies_too, .timeout = 20)
{
	unsigned char b[256];
	struct sigaction sa;
	TH_PATH(ip, "inner");

	TH_ASSERT_RC(mmapio_create(ip, 4096, NULL, &inner_map), 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_timer;
	sigemptyset(&sa.sa_mask);
	cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
	real_sigaction = mmapio__sys.sigaction;
	mmapio__sys.sigaction = sigaction_raising;

	TH_ASSERT_RC(mmapio_read(inner_map, 0, b, sizeof(b)), 0);
	mmapio__sys_reset();
	cr_assert_eq(raised_in_install, 1, "the install never called sigaction through the table");
	cr_assert_eq(inner_reads, 1, "the signal raised during the install was not handled");
	cr_assert_eq(inner_errors, 0);
	TH_ASSERT_RC(mmapio_close(inner_map), 0);
}
