/* SPDX-License-Identifier: Apache-2.0 */
/* poll() for the Windows test build: see th_poll in tests/win/compat.c. */
#ifndef MMAPIO_TESTS_WIN_POLL_H
#define MMAPIO_TESTS_WIN_POLL_H

#include "../compat_decls.h"

typedef unsigned long nfds_t;
#define pollfd th_pollfd
#define POLLIN TH_POLLIN
#define POLLOUT TH_POLLOUT
#define POLLERR TH_POLLERR
#define POLLHUP TH_POLLHUP
#define POLLNVAL TH_POLLNVAL
#define poll th_poll

#endif
