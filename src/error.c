/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Descriptions of return values.  Every string is static, so the function
 * is thread-safe; strerror() is avoided because it may write into a shared
 * buffer for unknown values.
 */
#include <limits.h>
#include <string.h>

#include "internal.h"

/*
 * Returns a static string describing err: "Success" for err >= 0; for the
 * errno values the library gives a meaning of its own, that meaning and the
 * system's (a caller cannot tell which of the two produced an -EINVAL); the
 * system's text for other negative values; "Unknown error" where the
 * system has none.
 */
MMAPIO_EXPORT const char *mmapio_strerror(int err)
{
	const char *desc;

	if (err >= 0)
		return "Success";
	/* -INT_MIN does not exist; no errno value is that large anyway. */
	if (err == INT_MIN)
		return "Unknown error";

	switch (-err) {
	case EINVAL:
		return "Invalid argument (a NULL pointer, unknown flag or mode, zero size, "
		       "non-zero reserved field or misaligned offset, or an argument or "
		       "file the system refused)";
	case ERANGE:
		return "Offset and length reach beyond the map";
	case EACCES:
		return "Permission denied (operation not allowed by the map's mode, "
		       "or by the file's permissions)";
	case EBUSY:
		return "Busy (views or ring operations on the map are still outstanding, "
		       "or the system found the resource busy)";
	case EDEADLK:
		return "The calling thread holds a view of the map, and the call needs "
		       "the map's write lock";
	case EFAULT:
		return "Fault during a guarded copy (file truncated underneath, "
		       "no space behind a sparse file, or I/O error), or an address the system refused";
	case ENOTSUP:
		return "Operation not supported on this platform, backend or filesystem";
	default:
		break;
	}

	desc = mmapio__plat_errno_text(-err);
	return desc ? desc : "Unknown error";
}
