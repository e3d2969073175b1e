/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Windows test runner: the registry behind tests/win/include/criterion/
 * criterion.h, and a main() that runs the registered tests.
 *
 * Each test runs in a process of its own: the runner starts itself again
 * (CreateProcessW) with "--run suite::name".  As with Criterion's fork per
 * test on Linux, that gives every test a fresh library state (the
 * per-thread default ring, MMAPIO_BACKEND as the test sets it, the guard's
 * handler, the Win32 call table), keeps a test that crashes or hangs from
 * taking the others with it (a crash is reported with its exception code,
 * a hang is ended at the suite's timeout), and lets a failed assertion on
 * any thread end its test at once.  Each child gets an empty TMPDIR that the
 * runner removes afterwards, whatever the child left behind, and
 * MMAPIO_BACKEND=fallback unless the caller set it: the blocking engine is
 * the only one on Windows, as in the suites' "-fallback" runs on Linux.
 *
 * Tests that cannot run on Windows are of two kinds.  Those that reach for
 * something Windows lacks (fork, FIFOs, SIGBUS, the POSIX system-call
 * table, a truncation of a mapped file) skip themselves with the reason
 * when they touch it (tests/win/compat.h).  Those whose expectations are
 * POSIX semantics Windows does not have are listed in not_on_windows below
 * with the reason, and reported as skipped without being run.
 *
 * Usage: mmapio-wintests [-v] [-j N] [--list] [PATTERN...]; a pattern is a
 * suite, suite::name, or a prefix ending in '*'.  The last line printed is
 * "N passed, M failed, K skipped"; the exit status is 1 when any failed.
 */
#define WIN32_LEAN_AND_MEAN
#include <windows.h>

#include <fcntl.h>
#include <io.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compat_decls.h"
#include "criterion/criterion.h"

/* ------------------------------------------------------------------------ */
/* What does not run on Windows, and why                                    */
/* ------------------------------------------------------------------------ */

/* Conditions under which an entry applies. */
static bool always(void)
{
	return true;
}

static bool under_wine(void)
{
	return th_win_under_wine() != 0;
}

/* True when a file cannot be deleted with POSIX semantics (FileDispositionInfoEx). */
static bool no_posix_delete(void)
{
	wchar_t dir[MAX_PATH], name[MAX_PATH + 40];
	struct {
		DWORD flags;
	} info = { 0x1 | 0x2 }; /* delete, POSIX semantics */
	HANDLE h;
	BOOL ok;

	GetTempPathW(MAX_PATH, dir);
	_snwprintf(name, MAX_PATH + 40, L"%lsmmapio-probe-%lu", dir,
		   (unsigned long)GetCurrentProcessId());
	h = CreateFileW(name, GENERIC_WRITE | DELETE, 7, NULL, CREATE_ALWAYS, 0, NULL);
	if (h == INVALID_HANDLE_VALUE)
		return true;
	ok = SetFileInformationByHandle(h, (FILE_INFO_BY_HANDLE_CLASS)21, &info, sizeof(info));
	CloseHandle(h);
	DeleteFileW(name);
	return !ok;
}

static const struct {
	const char *test;
	bool (*when)(void);
	const char *reason;
} not_on_windows[] = {
	{ "lifecycle::create_permission_bits_and_umask", always,
	  "Windows files have a read-only attribute, not permission bits and a umask" },
	{ "copy_delete::copy_keeps_permission_bits", always,
	  "Windows files have a read-only attribute, not permission bits (the attribute "
	  "is copied)" },
	{ "ring::batch_create_1000_files", always,
	  "checks permission bits 0600 and 0644 of the created files, which Windows files "
	  "do not have" },
	{ "errors::eacces_from_file_permissions", under_wine,
	  "wine runs as root here, and root opens a read-only file for writing (Windows "
	  "refuses with ERROR_ACCESS_DENIED)" },
	{ "copy_delete::delete_while_mapped_keeps_the_map_working", no_posix_delete,
	  "without POSIX delete semantics (FileDispositionInfoEx: Windows 10 1809, NTFS; not "
	  "in wine 8) a deleted file keeps its name until its last handle and view close" },
};

/* ------------------------------------------------------------------------ */
/* The registry                                                             */
/* ------------------------------------------------------------------------ */

struct test {
	const char *suite;
	const char *name;
	void (*fn)(void);
	const struct criterion_test_extra_data *extra;
};

struct suite {
	const char *name;
	const struct criterion_test_extra_data *extra;
};

static struct test *tests;
static size_t n_tests, cap_tests;
static struct suite suites[64];
static size_t n_suites;

void cr_win_register_test(const char *suite, const char *name, void (*fn)(void),
			  const struct criterion_test_extra_data *extra)
{
	if (n_tests == cap_tests) {
		cap_tests = cap_tests ? 2 * cap_tests : 256;
		tests = realloc(tests, cap_tests * sizeof(*tests));
		if (tests == NULL)
			abort();
	}
	tests[n_tests++] = (struct test){ suite, name, fn, extra };
}

void cr_win_register_suite(const char *suite, const struct criterion_test_extra_data *extra)
{
	if (n_suites < sizeof(suites) / sizeof(suites[0]))
		suites[n_suites++] = (struct suite){ suite, extra };
}

static const struct criterion_test_extra_data *suite_extra(const char *suite)
{
	static const struct criterion_test_extra_data none;
	size_t i;

	for (i = 0; i < n_suites; i++)
		if (strcmp(suites[i].name, suite) == 0)
			return suites[i].extra;
	return &none;
}

static int by_name(const void *a, const void *b)
{
	const struct test *x = a, *y = b;
	int c = strcmp(x->suite, y->suite);

	return c ? c : strcmp(x->name, y->name);
}

/* ------------------------------------------------------------------------ */
/* Inside a test's process                                                  */
/* ------------------------------------------------------------------------ */

enum { EXIT_PASS = 0, EXIT_FAIL = 1, EXIT_SKIP = 77 };

static jmp_buf test_jmp;
static DWORD test_thread;
static bool in_test, expect_failed;

/* Ends the process at once, from any thread, without running exit handlers. */
__attribute__((noreturn)) static void die(int code)
{
	fflush(stdout);
	fflush(stderr);
	TerminateProcess(GetCurrentProcess(), (UINT)code);
	for (;;)
		;
}

void cr_win_fail(bool fatal, const char *file, int line, const char *what, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s:%d: %s failed: %s%s\n", file, line, fatal ? "assertion" : "expectation",
		what, msg[1] ? msg : "");
	if (!fatal) {
		expect_failed = true;
		return;
	}
	if (!in_test || GetCurrentThreadId() != test_thread)
		die(EXIT_FAIL);
	longjmp(test_jmp, 1);
}

/* Ends the test as skipped with the reason msg. */
__attribute__((noreturn)) static void skip_with(const char *msg)
{
	fprintf(stderr, "skipped: %s\n", msg);
	if (!in_test || GetCurrentThreadId() != test_thread)
		die(EXIT_SKIP);
	longjmp(test_jmp, 2);
}

void cr_win_skip(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	skip_with(msg[0] == ' ' ? msg + 1 : msg);
}

void th_win_skip(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	skip_with(msg);
}

/* An exception nothing handled: report it instead of starting a debugger. */
static LONG WINAPI on_crash(EXCEPTION_POINTERS *ep)
{
	fprintf(stderr, "crashed: exception 0x%08lx at %p\n",
		(unsigned long)ep->ExceptionRecord->ExceptionCode,
		ep->ExceptionRecord->ExceptionAddress);
	die((int)ep->ExceptionRecord->ExceptionCode);
}

/* Runs one test in this process.  Returns the process's exit status. */
static int run_here(const struct test *t)
{
	/* volatile: read again after the longjmp of a failed assertion. */
	const struct criterion_test_extra_data *volatile se = suite_extra(t->suite);
	int how;

	SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
	SetUnhandledExceptionFilter(on_crash);
	test_thread = GetCurrentThreadId();
	in_test = true;
	how = setjmp(test_jmp);
	if (how == 0) {
		if (se->init)
			se->init();
		if (t->extra->init)
			t->extra->init();
		t->fn();
	}
	if (how == 2)
		return EXIT_SKIP; /* as Criterion: no .fini for a skipped test */
	/* A fini that fails ends here again with how == 1: run no more of it. */
	if (how == 0 || how == 1) {
		int again = setjmp(test_jmp);

		if (again == 0) {
			if (t->extra->fini)
				t->extra->fini();
			if (se->fini)
				se->fini();
		} else {
			how = 1;
		}
	}
	in_test = false;
	return how == 1 || expect_failed ? EXIT_FAIL : EXIT_PASS;
}

/* ------------------------------------------------------------------------ */
/* The parent                                                               */
/* ------------------------------------------------------------------------ */

static bool verbose;

/* True when the test suite::name is matched by pattern. */
static bool matches(const struct test *t, const char *pattern)
{
	char full[256];
	size_t n = strlen(pattern);

	snprintf(full, sizeof(full), "%s::%s", t->suite, t->name);
	if (n > 0 && pattern[n - 1] == '*')
		return strncmp(full, pattern, n - 1) == 0;
	return strcmp(pattern, t->suite) == 0 || strcmp(pattern, full) == 0;
}

static const char *reason_not_on_windows(const struct test *t)
{
	char full[256];
	size_t i;

	snprintf(full, sizeof(full), "%s::%s", t->suite, t->name);
	for (i = 0; i < sizeof(not_on_windows) / sizeof(not_on_windows[0]); i++)
		if (strcmp(not_on_windows[i].test, full) == 0 && not_on_windows[i].when())
			return not_on_windows[i].reason;
	return NULL;
}

/* Removes the tree at the \\?\ path w (no MAX_PATH limit), read-only files included. */
static void remove_tree_w(const wchar_t *w)
{
	size_t n = wcslen(w);
	wchar_t *pattern = malloc((n + 3) * sizeof(wchar_t)), *sub;
	WIN32_FIND_DATAW fd;
	HANDLE f;

	if (pattern == NULL)
		return;
	_snwprintf(pattern, n + 3, L"%ls\\*", w);
	f = FindFirstFileW(pattern, &fd);
	if (f != INVALID_HANDLE_VALUE) {
		do {
			if (!wcscmp(fd.cFileName, L".") || !wcscmp(fd.cFileName, L".."))
				continue;
			sub = malloc((n + wcslen(fd.cFileName) + 2) * sizeof(wchar_t));
			if (sub == NULL)
				continue;
			_snwprintf(sub, n + wcslen(fd.cFileName) + 2, L"%ls\\%ls", w, fd.cFileName);
			SetFileAttributesW(sub, FILE_ATTRIBUTE_NORMAL);
			if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY)
				remove_tree_w(sub);
			else
				DeleteFileW(sub);
			free(sub);
		} while (FindNextFileW(f, &fd));
		FindClose(f);
	}
	free(pattern);
	RemoveDirectoryW(w);
}

/* Removes the tree at the ANSI path dir, however deep it goes. */
static void remove_tree(const char *dir)
{
	wchar_t wdir[MAX_PATH], full[MAX_PATH + 8];

	MultiByteToWideChar(CP_ACP, 0, dir, -1, wdir, MAX_PATH);
	wcscpy(full, L"\\\\?\\");
	if (GetFullPathNameW(wdir, MAX_PATH, full + 4, NULL) == 0)
		return;
	remove_tree_w(full);
}

/* A child at work. */
struct child {
	const struct test *t;
	HANDLE process;
	char dir[MAX_PATH];
	char out[MAX_PATH];
	ULONGLONG deadline;
	ULONGLONG started;
};

static char work[MAX_PATH];
static unsigned n_passed, n_failed, n_skipped;

/* Starts t in a child process.  Returns false (and counts a failure) when it cannot. */
static bool start_child(const struct test *t, unsigned seq, struct child *c)
{
	const struct criterion_test_extra_data *se = suite_extra(t->suite);
	SECURITY_ATTRIBUTES sa = { sizeof(sa), NULL, TRUE };
	STARTUPINFOA si = { .cb = sizeof(si) };
	PROCESS_INFORMATION pi;
	char exe[MAX_PATH], cmd[MAX_PATH + 300];
	double timeout = t->extra->timeout ? t->extra->timeout : se->timeout;
	bool started;
	DWORD err = 0;
	HANDLE out;

	c->t = t;
	snprintf(c->dir, sizeof(c->dir), "%s\\t%u", work, seq);
	snprintf(c->out, sizeof(c->out), "%s\\t%u.out", work, seq);
	CreateDirectoryA(c->dir, NULL);
	out = CreateFileA(c->out, GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE, &sa,
			  CREATE_ALWAYS, 0, NULL);
	GetModuleFileNameA(NULL, exe, sizeof(exe));
	snprintf(cmd, sizeof(cmd), "\"%s\" --run %s::%s", exe, t->suite, t->name);
	SetEnvironmentVariableA("TMPDIR", c->dir);
	si.dwFlags = STARTF_USESTDHANDLES;
	si.hStdInput = NULL;
	si.hStdOutput = out;
	si.hStdError = out;
	/* wine now and then fails a CreateProcess under load (error 1359): retry. */
	started = false;
	for (int tries = 0; out != INVALID_HANDLE_VALUE && !started && tries < 5; tries++) {
		started = CreateProcessA(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
		err = GetLastError();
		if (!started)
			Sleep(100);
	}
	if (!started) {
		printf("[FAIL] %s::%s: cannot start: error %lu\n", t->suite, t->name,
		       (unsigned long)(out == INVALID_HANDLE_VALUE ? GetLastError() : err));
		if (out != INVALID_HANDLE_VALUE)
			CloseHandle(out);
		n_failed++;
		return false;
	}
	CloseHandle(out);
	CloseHandle(pi.hThread);
	c->process = pi.hProcess;
	c->started = GetTickCount64();
	c->deadline = c->started + (ULONGLONG)((timeout > 0 ? timeout : 300) * 1000);
	return true;
}

/* Prints the child's output (all of it, or only its skip reason). */
static void print_output(const char *path, bool skip_reason_only, char *reason, size_t rlen)
{
	char line[2048];
	FILE *f = fopen(path, "rb");

	if (reason != NULL && rlen > 0)
		reason[0] = '\0';
	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strncmp(line, "skipped: ", 9) == 0 && reason != NULL) {
			snprintf(reason, rlen, "%s", line + 9);
			continue;
		}
		if (!skip_reason_only)
			printf("    %s\n", line);
	}
	fclose(f);
}

/* Collects a finished (or timed-out) child and reports its verdict. */
static void finish_child(struct child *c, bool timed_out)
{
	const struct test *t = c->t;
	DWORD code = 1;
	char reason[1024];
	unsigned ms = (unsigned)(GetTickCount64() - c->started);

	if (timed_out) {
		TerminateProcess(c->process, 1);
		WaitForSingleObject(c->process, 5000);
	}
	GetExitCodeProcess(c->process, &code);
	CloseHandle(c->process);
	if (timed_out) {
		printf("[FAIL] %s::%s: timed out after %u ms\n", t->suite, t->name, ms);
		print_output(c->out, false, reason, sizeof(reason));
		n_failed++;
	} else if (code == EXIT_PASS) {
		printf("[PASS] %s::%s (%u ms)\n", t->suite, t->name, ms);
		if (verbose)
			print_output(c->out, false, NULL, 0);
		n_passed++;
	} else if (code == EXIT_SKIP) {
		print_output(c->out, true, reason, sizeof(reason));
		printf("[SKIP] %s::%s: %s\n", t->suite, t->name, reason);
		n_skipped++;
	} else {
		if (code == EXIT_FAIL)
			printf("[FAIL] %s::%s (%u ms)\n", t->suite, t->name, ms);
		else
			printf("[FAIL] %s::%s: crashed with status 0x%08lx\n", t->suite, t->name,
			       (unsigned long)code);
		print_output(c->out, false, reason, sizeof(reason));
		n_failed++;
	}
	fflush(stdout);
	remove_tree(c->dir);
	DeleteFileA(c->out);
}

/* Runs the selected tests, jobs at a time.  Returns the exit status. */
static int run_all(const struct test **sel, size_t n, unsigned jobs)
{
	struct child running[MAXIMUM_WAIT_OBJECTS];
	unsigned busy = 0, seq = 0;
	size_t next = 0;
	char tmp[MAX_PATH];

	/* wine reuses small process ids: add the clock, and never reuse a directory. */
	GetTempPathA(sizeof(tmp), tmp);
	for (unsigned k = 0;; k++) {
		snprintf(work, sizeof(work), "%smmapio-wintests-%lu-%llx", tmp,
			 (unsigned long)GetCurrentProcessId(),
			 (unsigned long long)GetTickCount64() + k);
		if (CreateDirectoryA(work, NULL) || GetLastError() != ERROR_ALREADY_EXISTS)
			break;
	}
	if (getenv("MMAPIO_BACKEND") == NULL)
		SetEnvironmentVariableA("MMAPIO_BACKEND", "fallback");
	while (next < n || busy > 0) {
		HANDLE hs[MAXIMUM_WAIT_OBJECTS];
		ULONGLONG now, soonest = ~0ull;
		DWORD w;
		unsigned i;

		while (busy < jobs && next < n) {
			const struct test *t = sel[next++];
			const char *why = reason_not_on_windows(t);

			if (t->extra->disabled || suite_extra(t->suite)->disabled) {
				printf("[SKIP] %s::%s: disabled\n", t->suite, t->name);
				n_skipped++;
			} else if (why != NULL) {
				printf("[SKIP] %s::%s: %s\n", t->suite, t->name, why);
				n_skipped++;
			} else if (start_child(t, seq++, &running[busy])) {
				busy++;
			}
		}
		if (busy == 0)
			continue;
		for (i = 0; i < busy; i++) {
			hs[i] = running[i].process;
			if (running[i].deadline < soonest)
				soonest = running[i].deadline;
		}
		now = GetTickCount64();
		w = WaitForMultipleObjects(busy, hs, FALSE,
					   soonest > now ? (DWORD)(soonest - now) : 0);
		now = GetTickCount64();
		for (i = 0; i < busy;) {
			bool done = WaitForSingleObject(running[i].process, 0) == WAIT_OBJECT_0;

			if (done || now >= running[i].deadline) {
				finish_child(&running[i], !done);
				running[i] = running[--busy];
			} else {
				i++;
			}
		}
		(void)w;
	}
	remove_tree(work);
	printf("%u passed, %u failed, %u skipped\n", n_passed, n_failed, n_skipped);
	fflush(stdout);
	return n_failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	const struct test **sel;
	unsigned jobs = 1;
	bool list = false;
	size_t i, n = 0;
	int a, patterns = 0;

	/* The C runtime writes "\r\n" to a pipe in text mode; CI reads lines. */
	_setmode(_fileno(stdout), _O_BINARY);
	_setmode(_fileno(stderr), _O_BINARY);
	/* Files the suites open() are binary, as on POSIX. */
	_fmode = _O_BINARY;
	qsort(tests, n_tests, sizeof(*tests), by_name);

	if (argc == 3 && strcmp(argv[1], "--run") == 0) {
		for (i = 0; i < n_tests; i++)
			if (matches(&tests[i], argv[2]) && strchr(argv[2], ':'))
				return run_here(&tests[i]);
		fprintf(stderr, "no test %s\n", argv[2]);
		return 2;
	}
	sel = calloc(n_tests ? n_tests : 1, sizeof(*sel));
	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "-v") == 0)
			verbose = true;
		else if (strcmp(argv[a], "--list") == 0)
			list = true;
		else if (strcmp(argv[a], "-j") == 0 && a + 1 < argc)
			jobs = (unsigned)atoi(argv[++a]);
		else
			patterns++;
	}
	if (jobs < 1)
		jobs = 1;
	if (jobs > MAXIMUM_WAIT_OBJECTS)
		jobs = MAXIMUM_WAIT_OBJECTS;
	for (i = 0; i < n_tests; i++) {
		bool want = patterns == 0;

		for (a = 1; a < argc && !want; a++) {
			if (argv[a][0] == '-' ||
			    (a > 1 && strcmp(argv[a - 1], "-j") == 0))
				continue;
			want = matches(&tests[i], argv[a]);
		}
		if (want)
			sel[n++] = &tests[i];
	}
	if (list) {
		for (i = 0; i < n; i++)
			printf("%s::%s\n", sel[i]->suite, sel[i]->name);
		return 0;
	}
	return run_all(sel, n, jobs);
}
