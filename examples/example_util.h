/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the example programs: a scratch directory and a way to stop with
 * a message.  Examples, unlike the library, may print and exit.
 */
#ifndef MMAPIO_EXAMPLE_UTIL_H
#define MMAPIO_EXAMPLE_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <mmapio.h>

/* Prints what failed and why, then exits with status 1. */
#define CHECK(call)                                                            \
	do {                                                                   \
		int check_rc_ = (call);                                        \
		if (check_rc_ < 0) {                                           \
			fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, \
				#call, mmapio_strerror(check_rc_));            \
			exit(1);                                               \
		}                                                              \
	} while (0)

static char example_tmpdir[256];

/* Removes the scratch directory at exit; it is empty once an example passed. */
static void example_remove_tmpdir(void)
{
	rmdir(example_tmpdir);
}

/*
 * Returns argv[1] when given, else a fresh directory made with mkdtemp under
 * $TMPDIR (or /tmp) and removed again at exit.
 */
static inline const char *example_dir(int argc, char **argv)
{
	const char *tmp = getenv("TMPDIR");

	if (argc > 1)
		return argv[1];
	snprintf(example_tmpdir, sizeof(example_tmpdir), "%s/mmapio-example-XXXXXX",
		 tmp ? tmp : "/tmp");
	if (!mkdtemp(example_tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
	atexit(example_remove_tmpdir);
	return example_tmpdir;
}

#endif
