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
 * glibc 2.32 and later describe an errno value with strerrordesc_np(), which
 * returns a static string (or NULL for an unknown value) and never touches
 * a shared buffer.  Elsewhere only the library's own values are described.
 */
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 32))
static const char *os_description(int errnum)
{
	return strerrordesc_np(errnum);
}
#else
static const char *os_description(int errnum)
{
	(void)errnum;
	return NULL;
}
#endif

/*
 * Returns a static string describing err: "Success" for err >= 0, the
 * library's meaning for the errno values it gives a meaning of its own, the
 * system's text for other negative values, and "Unknown error" where the
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
		return "Invalid argument (NULL pointer, unknown flag or mode, zero size, "
		       "non-zero reserved field, or misaligned offset)";
	case ERANGE:
		return "Offset and length reach beyond the map";
	case EACCES:
		return "Permission denied (operation not allowed by the map's mode, "
		       "or by the file's permissions)";
	case EBUSY:
		return "Views or ring operations on the map are still outstanding";
	case EDEADLK:
		return "The calling thread holds a view of the map, and the call needs "
		       "the map's write lock";
	case EFAULT:
		return "Fault during a guarded copy (file truncated underneath, "
		       "no space behind a sparse file, or I/O error)";
	case ENOTSUP:
		return "Operation not supported on this platform or backend";
	default:
		break;
	}

	desc = os_description(-err);
	return desc ? desc : "Unknown error";
}
