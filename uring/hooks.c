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

	return mmapio__ur_hooks.refuse_fallocate ||
	       memcmp(mmapio__ur_hooks.result, zero, sizeof(zero)) != 0;
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
		const struct ur_task *t = (const struct ur_task *)(uintptr_t)(
			ud & ~(uint64_t)(UR_TAG_SPAN - 1));
		unsigned step = UR_TAG_STEP((unsigned)(ud & (UR_TAG_SPAN - 1)));
		unsigned char flags;

		if (ud == 0 || ud == LIBURING_UDATA_TIMEOUT || t == NULL)
			continue;
		if (step == UR_CLOSE || step == UR_DCLOSE || step == UR_GATE ||
		    ur_hooked((unsigned)t->op->kind, step) == 0)
			continue;
		/* The links stay, so the rest of a chain runs as it would. */
		flags = sqe->flags & (IOSQE_IO_LINK | IOSQE_IO_HARDLINK);
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
