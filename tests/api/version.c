/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The run-time version call agrees with the header it was built with, and the
 * version string with the numbers.  Exit status 0 means it passed.
 */
#include <stdio.h>
#include <string.h>

#include <mmapio.h>

int main(void)
{
	char expect[32];

	snprintf(expect, sizeof(expect), "%d.%d.%d", MMAPIO_VERSION_MAJOR, MMAPIO_VERSION_MINOR,
		 MMAPIO_VERSION_PATCH);
	if (mmapio_version() != (unsigned long)MMAPIO_VERSION_NUMBER) {
		fprintf(stderr, "mmapio_version() = %#lx, header says %#lx\n", mmapio_version(),
			(unsigned long)MMAPIO_VERSION_NUMBER);
		return 1;
	}
	if (strcmp(mmapio_version_string(), expect) != 0 ||
	    strcmp(MMAPIO_VERSION_STRING, expect) != 0) {
		fprintf(stderr, "version string %s, expected %s\n", mmapio_version_string(), expect);
		return 1;
	}
	return 0;
}
