/* SPDX-License-Identifier: Apache-2.0 */
/* The platform's clock on POSIX hosts. */
#include <time.h>

#include "platform.h"

/* Returns milliseconds on CLOCK_MONOTONIC. */
MMAPIO_INTERNAL int64_t mmapio__plat_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
