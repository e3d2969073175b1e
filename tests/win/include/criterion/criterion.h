/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A thin stand-in for Criterion's <criterion/criterion.h> for the Windows
 * build, where Criterion is not packaged.  It knows the part of the API the
 * suites use: Test() and TestSuite() with .init, .fini, .timeout, .disabled
 * and .description, cr_assert and cr_expect with their _eq, _neq, _lt,
 * _leq, _gt, _geq, _null, _not_null, _str_eq, _str_neq and _arr_eq forms,
 * cr_assert_fail and cr_skip_test.  Tests register themselves in a table
 * through constructors; tests/win/runner.c runs each one in a process of
 * its own (see there for why).
 *
 * Semantics kept from Criterion: a failed cr_assert* ends the test (its
 * .fini still runs), a failed cr_expect* marks it failed and goes on,
 * cr_skip_test ends it as skipped without running .fini, and the optional
 * trailing arguments of every assertion are a printf format and its
 * arguments.  A failed assertion on a thread other than the test's ends
 * the test process at once, as a failure.
 */
#ifndef MMAPIO_TESTS_WIN_CRITERION_H
#define MMAPIO_TESTS_WIN_CRITERION_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct criterion_test_extra_data {
	int cr_win_first_;         /* keeps the initialisers below free of overrides */
	void (*init)(void);
	void (*fini)(void);
	double timeout;          /* seconds; 0: the runner's default */
	bool disabled;
	const char *description;
	int signal;              /* expected death by signal: not on Windows */
	int exit_code;
};

/* Registers a test or a suite's defaults (runner.c). */
void cr_win_register_test(const char *suite, const char *name, void (*fn)(void),
			  const struct criterion_test_extra_data *extra);
void cr_win_register_suite(const char *suite, const struct criterion_test_extra_data *extra);

/*
 * Reports a failed check: fatal ends the test.  fmt is " " followed by the
 * caller's format (so that an assertion without a message still passes a
 * non-empty format).
 */
void cr_win_fail(bool fatal, const char *file, int line, const char *what, const char *fmt, ...)
	__attribute__((format(gnu_printf, 5, 6)));

/* Ends the test as skipped with the formatted reason (" " + format). */
void cr_win_skip(const char *fmt, ...) __attribute__((noreturn, format(gnu_printf, 1, 2)));

#define CR_WIN_ID(suite, name) cr_win_##suite##__##name

#define Test(suite, name, ...)                                                            \
	static void CR_WIN_ID(suite, name)(void);                                         \
	__attribute__((constructor)) static void CR_WIN_ID(suite, name##__reg)(void)      \
	{                                                                                 \
		static const struct criterion_test_extra_data extra = { .cr_win_first_ = 0, \
									 __VA_ARGS__ };   \
		cr_win_register_test(#suite, #name, CR_WIN_ID(suite, name), &extra);      \
	}                                                                                 \
	static void CR_WIN_ID(suite, name)(void)

#define TestSuite(suite, ...)                                                             \
	__attribute__((constructor)) static void CR_WIN_ID(suite, _suite__reg)(void)      \
	{                                                                                 \
		static const struct criterion_test_extra_data extra = { .cr_win_first_ = 0, \
									 __VA_ARGS__ };   \
		cr_win_register_suite(#suite, &extra);                                    \
	}                                                                                 \
	struct cr_win_suite_##suite##_unused

/* The checks.  Each evaluates its operands once. */
#define cr_win_check(fatal, cond, what, ...)                                              \
	do {                                                                              \
		if (!(cond))                                                              \
			cr_win_fail((fatal), __FILE__, __LINE__, (what), " " __VA_ARGS__); \
	} while (0)

#define cr_assert(cond, ...) cr_win_check(true, (cond), #cond, __VA_ARGS__)
#define cr_expect(cond, ...) cr_win_check(false, (cond), #cond, __VA_ARGS__)
#define cr_assert_fail(...) cr_win_fail(true, __FILE__, __LINE__, "cr_assert_fail", " " __VA_ARGS__)
#define cr_skip_test(...) cr_win_skip(" " __VA_ARGS__)

#define cr_win_cmp(fatal, a, op, b, ...) \
	cr_win_check((fatal), (a)op(b), #a " " #op " " #b, __VA_ARGS__)

#define cr_assert_eq(a, b, ...) cr_win_cmp(true, a, ==, b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) cr_win_cmp(true, a, !=, b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) cr_win_cmp(true, a, <, b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) cr_win_cmp(true, a, <=, b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) cr_win_cmp(true, a, >, b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) cr_win_cmp(true, a, >=, b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) cr_win_cmp(false, a, ==, b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) cr_win_cmp(false, a, !=, b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) cr_win_cmp(false, a, <, b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) cr_win_cmp(false, a, <=, b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) cr_win_cmp(false, a, >, b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) cr_win_cmp(false, a, >=, b, __VA_ARGS__)

#define cr_assert_null(p, ...) cr_win_check(true, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_not_null(p, ...) cr_win_check(true, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) cr_win_check(false, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) cr_win_check(false, (p) != NULL, #p " != NULL", __VA_ARGS__)

#define cr_assert_str_eq(a, b, ...) \
	cr_win_check(true, strcmp((a), (b)) == 0, "strcmp(" #a ", " #b ") == 0", __VA_ARGS__)
#define cr_assert_str_neq(a, b, ...) \
	cr_win_check(true, strcmp((a), (b)) != 0, "strcmp(" #a ", " #b ") != 0", __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) \
	cr_win_check(false, strcmp((a), (b)) == 0, "strcmp(" #a ", " #b ") == 0", __VA_ARGS__)

#define cr_assert_arr_eq(a, b, size, ...)                                                  \
	cr_win_check(true, memcmp((a), (b), (size)) == 0,                                  \
		     "memcmp(" #a ", " #b ", " #size ") == 0", __VA_ARGS__)
#define cr_assert_arr_neq(a, b, size, ...)                                                 \
	cr_win_check(true, memcmp((a), (b), (size)) != 0,                                  \
		     "memcmp(" #a ", " #b ", " #size ") != 0", __VA_ARGS__)
#define cr_expect_arr_eq(a, b, size, ...)                                                  \
	cr_win_check(false, memcmp((a), (b), (size)) == 0,                                 \
		     "memcmp(" #a ", " #b ", " #size ") == 0", __VA_ARGS__)

/*
 * Report hooks: tests/helpers.h prints TAP from them under Criterion; here
 * the runner reports itself, so a hook compiles to an unused function and
 * the structs carry just the fields helpers.h reads.
 */
enum criterion_test_status { CR_STATUS_PASSED, CR_STATUS_FAILED, CR_STATUS_SKIPPED };

struct criterion_test {
	const char *name;
	const char *category;
};

struct criterion_assert_stats {
	const char *message;
	bool passed;
	unsigned line;
	const char *file;
	struct criterion_assert_stats *next;
};

struct criterion_test_stats {
	struct criterion_test *test;
	enum criterion_test_status test_status;
	const char *message;
	struct criterion_assert_stats *asserts;
	bool timed_out;
	bool crashed;
	int signal;
	int exit_code;
};

struct criterion_global_stats {
	size_t nb_tests;
};

#define ReportHook(kind) __attribute__((unused)) static void cr_win_report_hook_##kind

#endif
