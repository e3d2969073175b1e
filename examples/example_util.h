/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Shared by the example programs: a scratch directory and a way to stop with
 * a message.  Examples, unlike the library, may print and exit.
 */
#ifndef MMAPIO_EXAMPLE_UTIL_H
#define MMAPIO_EXAMPLE_UTIL_H

#include <stdio.h>
#include <stdlib.h>

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

/*
 * Returns argv[1] when given, else a fresh directory made with mkdtemp under
 * $TMPDIR (or /tmp).  The path is written into buf.
 */
static inline const char *example_dir(int argc, char **argv, char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	if (argc > 1)
		return argv[1];
	snprintf(buf, len, "%s/mmapio-example-XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(buf)) {
		perror("mkdtemp");
		exit(1);
	}
	return buf;
}

#endif
