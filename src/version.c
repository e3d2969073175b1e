/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The library's run-time version.  The values come from the header the
 * library itself was built with, so a program can compare them with the
 * MMAPIO_VERSION_* macros of the header it was compiled against.
 */
#include "internal.h"

/* Returns the run-time version, encoded as MMAPIO_VERSION_ENCODE does. */
MMAPIO_EXPORT unsigned long mmapio_version(void)
{
	return MMAPIO_VERSION_NUMBER;
}

/* Returns the run-time version as a static string such as "0.1.0". */
MMAPIO_EXPORT const char *mmapio_version_string(void)
{
	return MMAPIO_VERSION_STRING;
}
