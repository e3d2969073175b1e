/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The test hooks of hooks.h, where they touch requests: SQEs of a hooked
 * step become NOPs before they reach the kernel, CQEs of a hooked step
 * report the hooked result (and every CQE is counted by kind and step),
 * and enters can be refused.  The feature knobs are read by uring.c when
 * a ring opens.  With every knob at zero this costs one test per enter and
 * one test and one increment per CQE.
 */
#include <string.h>
#include <unistd.h>

#include "uring.h"

MMAPIO_INTERNAL struct mmapio__ur_hooks mmapio__ur_hooks;

MMAPIO_INTERNAL void mmapio__ur_hooks_reset(void)
{
	memset(&mmapio__ur_hooks, 0, sizeof(mmapio__ur_hooks));
}

/* Returns the hooked result of step for kind (a -errno), or 0 for none. */
static int ur_hooked(unsigned kind, unsigned step)
{
	if (kind >= MMAPIO__UR_NKINDS || step >= MMAPIO__UR_NSTEPS)
		return 0;
	if (step == MMAPIO__UR_ALLOC && kind == MMAPIO_OP_CREATE &&
	    mmapio__ur_hooks.refuse_fallocate)
		return -EOPNOTSUPP;
	return mmapio__ur_hooks.result[kind][step];
}

/* True when any result knob is set. */
static bool ur_any_result_hook(void)
{
	static const int zero[MMAPIO__UR_NKINDS][MMAPIO__UR_NSTEPS];

	return mmapio__ur_hooks.refuse_fallocate || mmapio__ur_hooks.short_write > 0 ||
	       memcmp(mmapio__ur_hooks.result, zero, sizeof(zero)) != 0;
}

/*
 * Turns sqe into a request that the kernel fails (a write to descriptor
 * -1: -EBADF), keeping its link flags, so that what is linked behind it is
 * cancelled as after a real failure.
 */
static void ur_hook_fail(struct io_uring_sqe *sqe, unsigned char flags, uint64_t ud)
{
	io_uring_prep_write(sqe, -1, NULL, 0, 0);
	sqe->flags = flags;
	sqe->user_data = ud;
}

/*
 * The short_write hook: writes the first short_write bytes of the first
 * request of t, a write, itself, and makes the request one the kernel
 * fails.  Returns true when it did.
 */
static bool ur_hook_short(struct ur_task *t, struct io_uring_sqe *sqe, uint64_t ud)
{
	unsigned cut = mmapio__ur_hooks.short_write;
	unsigned char flags = sqe->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK);
	ssize_t n;

	if (cut == 0 || t->op->kind != MMAPIO_OP_WRITE || t->fnext != 0 || t->hook_short != 0 ||
	    sqe->opcode != IORING_OP_WRITE || sqe->len <= cut)
		return false;
	n = pwrite(sqe->fd, (const void *)(uintptr_t)sqe->addr, cut, (off_t)sqe->off);
	if (n <= 0)
		return false;
	t->hook_short = (int)n;
	ur_hook_fail(sqe, flags, ud);
	return true;
}

MMAPIO_INTERNAL void mmapio__ur_hook_sqes(struct ur_engine *e)
{
	struct io_uring_sq *sq = &e->ring.sq;
	unsigned i, head;

	if (!ur_any_result_hook())
		return;
	head = IO_URING_READ_ONCE(*sq->khead);
	for (i = head; i != sq->sqe_tail; i++) {
		struct io_uring_sqe *sqe = &sq->sqes[i & sq->ring_mask];
		uint64_t ud = sqe->user_data;
		struct ur_task *t = (struct ur_task *)(uintptr_t)(ud & ~(uint64_t)(UR_TAG_SPAN - 1));
		unsigned step = UR_TAG_STEP((unsigned)(ud & (UR_TAG_SPAN - 1)));
		unsigned char flags;

		if (ud == 0 || ud == LIBURING_UDATA_TIMEOUT || t == NULL)
			continue;
		if (step == UR_WRITE && ur_hook_short(t, sqe, ud))
			continue;
		if (step == UR_CLOSE || step == UR_DCLOSE || step == UR_GATE ||
		    ur_hooked((unsigned)t->op->kind, step) == 0)
			continue;
		/*
		 * The links stay, so the rest of a chain runs as it would;
		 * only a link to the next operation (t->link_next) is broken,
		 * as the failure would break it, so that the operation behind
		 * does not run.
		 */
		flags = sqe->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK);
		if ((flags & IOSQE_IO_LINK) && t->link_next != NULL) {
			ur_hook_fail(sqe, flags, ud);
			continue;
		}
		io_uring_prep_nop(sqe);
		sqe->flags = flags;
		sqe->user_data = ud;
	}
}

MMAPIO_INTERNAL int mmapio__ur_hook_result(unsigned kind, unsigned step, int res)
{
	int h = ur_hooked(kind, step);

	if (kind < MMAPIO__UR_NKINDS && step < MMAPIO__UR_NSTEPS)
		mmapio__ur_hooks.cqes[kind][step]++;
	return h != 0 ? h : res;
}

MMAPIO_INTERNAL int mmapio__ur_hook_enter(const struct ur_engine *e)
{
	if (mmapio__ur_hooks.enter_error >= 0)
		return 0;
	if (e->stats.uring_enters < mmapio__ur_hooks.enter_after)
		return 0;
	return mmapio__ur_hooks.enter_error;
}
