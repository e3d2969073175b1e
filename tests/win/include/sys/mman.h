/* SPDX-License-Identifier: Apache-2.0 */
/*
 * <sys/mman.h> for the Windows test build: the names the suites spell in
 * the signatures of their fault injectors, and msync (FlushViewOfFile).
 */
#ifndef MMAPIO_TESTS_WIN_SYS_MMAN_H
#define MMAPIO_TESTS_WIN_SYS_MMAN_H

#include <stddef.h>

#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define MAP_SHARED 1
#define MAP_PRIVATE 2
#define MAP_FIXED 0x10
#define MAP_FAILED ((void *)-1)
#define MS_ASYNC 1
#define MS_SYNC 4
#define MS_INVALIDATE 2
#define MADV_NORMAL 0
#define MADV_RANDOM 1
#define MADV_SEQUENTIAL 2
#define MADV_WILLNEED 3
#define MADV_DONTNEED 4

int th_msync(void *addr, size_t len, int flags);
#define msync th_msync

#endif
