/* SPDX-License-Identifier: Apache-2.0 */
/*
 * For suites whose forked children make one system call fail the way a
 * container's seccomp policy would (io_uring_setup or io_uring_enter
 * refused).  Include after helpers.h.
 */
#ifndef MMAPIO_TESTS_SECCOMP_HELPERS_H
#define MMAPIO_TESTS_SECCOMP_HELPERS_H

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define TH_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define TH_AUDIT_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define TH_AUDIT_ARCH AUDIT_ARCH_I386
#elif defined(__riscv) && __riscv_xlen == 64
#define TH_AUDIT_ARCH AUDIT_ARCH_RISCV64
#endif

/*
 * In a child: makes system call nr fail with err for this process, for
 * good, or skips the test where seccomp filters are unavailable.
 */
static inline void th_deny_syscall(long nr, int err)
{
#if defined(TH_AUDIT_ARCH)
	struct sock_filter filter[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, TH_AUDIT_ARCH, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ((unsigned)err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {
		.len = (unsigned short)(sizeof(filter) / sizeof(filter[0])),
		.filter = filter,
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		TH_CHILD_SKIP("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
		TH_CHILD_SKIP("seccomp filters unavailable: %s", strerror(errno));
#else
	(void)nr;
	(void)err;
	TH_CHILD_SKIP("no seccomp filter for this architecture");
#endif
}

#endif
