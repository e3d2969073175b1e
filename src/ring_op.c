/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Ring operations and their lists: allocating and freeing an operation
 * (with the ring's bookkeeping around it), building a flush, copy or
 * delete, finishing or discarding one, and the singly linked lists and the
 * list of what an engine holds.  The other ring files use these; nothing
 * here calls them, so the ring's files call each other in one direction.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ring.h"

/* ------------------------------------------------------------------------ */
/* Lists                                                                    */
/* ------------------------------------------------------------------------ */

MMAPIO_INTERNAL void mmapio__op_list_push(struct op_list *list, struct mmapio__op *op)
{
	op->next = NULL;
	if (list->tail != NULL)
		list->tail->next = op;
	else
		list->head = op;
	list->tail = op;
	list->n++;
}

MMAPIO_INTERNAL struct mmapio__op *mmapio__op_list_pop(struct op_list *list)
{
	struct mmapio__op *op = list->head;

	if (op == NULL)
		return NULL;
	list->head = op->next;
	if (list->head == NULL)
		list->tail = NULL;
	list->n--;
	op->next = NULL;
	return op;
}

/* The ring's bookkeeping around op (see struct mmapio__ring_op). */
static struct mmapio__ring_op *ring_op(struct mmapio__op *op)
{
	return (struct mmapio__ring_op *)(void *)op;
}

MMAPIO_INTERNAL void mmapio__ring_give(struct mmapio_ring *ring, struct mmapio__op *op)
{
	struct mmapio__ring_op *rop = ring_op(op);

	rop->prev = NULL;
	rop->next = ring->given;
	if (ring->given != NULL)
		ring->given->prev = rop;
	ring->given = rop;
	rop->given = true;
}

MMAPIO_INTERNAL bool mmapio__ring_take(struct mmapio_ring *ring, struct mmapio__op *op)
{
	struct mmapio__ring_op *rop = ring_op(op);

	if (!rop->given)
		return false;
	if (rop->prev != NULL)
		rop->prev->next = rop->next;
	else
		ring->given = rop->next;
	if (rop->next != NULL)
		rop->next->prev = rop->prev;
	rop->prev = rop->next = NULL;
	rop->given = false;
	return true;
}

/* ------------------------------------------------------------------------ */
/* Operations                                                               */
/* ------------------------------------------------------------------------ */

MMAPIO_INTERNAL struct mmapio__op *mmapio__op_new(enum mmapio_op kind)
{
	/* Room for the ring's bookkeeping (see struct mmapio__ring_op). */
	struct mmapio__ring_op *rop = calloc(1, sizeof(*rop));

	if (rop == NULL)
		return NULL;
	rop->op.kind = kind;
	return &rop->op;
}

MMAPIO_INTERNAL void mmapio__op_free(struct mmapio__op *op)
{
	if (op == NULL)
		return;
	switch (op->kind) {
	case MMAPIO_OP_CREATE:
		free(op->u.create.path);
		break;
	case MMAPIO_OP_COPY:
		free(op->u.copy.src);
		free(op->u.copy.dst);
		break;
	case MMAPIO_OP_DELETE:
		free(op->u.del.path);
		break;
	case MMAPIO_OP_RENAME:
		free(op->u.rename.from);
		free(op->u.rename.to);
		break;
	case MMAPIO_OP_SYNC_DIR:
		free(op->u.sync_dir.path);
		break;
	case MMAPIO_OP_FLUSH:
		free(op->u.flush.ranges);
		break;
	case MMAPIO_OP_WRITE:
		break;
	}
	free(op); /* the struct mmapio__ring_op it starts */
}

MMAPIO_INTERNAL bool mmapio__op_is_local(const struct mmapio__op *op)
{
	/* The backend contract promises backends a flush length > 0. */
	return op->kind == MMAPIO_OP_FLUSH && op->u.flush.len == 0;
}

MMAPIO_INTERNAL int mmapio__op_finish(struct mmapio__op *op)
{
	if (op->kind == MMAPIO_OP_FLUSH && op->map != NULL) {
		op->result = mmapio__flush_finish(op->map, op->result);
		op->map = NULL;
	} else if (op->kind == MMAPIO_OP_WRITE && op->map != NULL) {
		mmapio__op_unpin(op->map);
		op->map = NULL;
	}
	return op->result;
}

MMAPIO_INTERNAL void mmapio__op_discard(struct mmapio__op *op)
{
	if (op->kind == MMAPIO_OP_FLUSH && op->map != NULL) {
		mmapio__flush_finish(op->map, 0);
		op->map = NULL;
	} else if (op->kind == MMAPIO_OP_WRITE && op->map != NULL) {
		mmapio__op_unpin(op->map);
		op->map = NULL;
	}
	mmapio__op_free(op);
}

MMAPIO_INTERNAL int mmapio__flush_op(mmapio_map *map, uint64_t off, uint64_t len,
				     struct mmapio__op **out)
{
	struct mmapio__op *op;
	int r;

	if (map == NULL)
		return -EINVAL;
	r = mmapio__check_range(__atomic_load_n(&map->len, __ATOMIC_ACQUIRE), off, len);
	if (r < 0)
		return r;
	op = mmapio__op_new(MMAPIO_OP_FLUSH);
	if (op == NULL)
		return -ENOMEM;

	/*
	 * Read-only and copy-on-write maps have nothing to make durable, and
	 * an empty range has no pages; such flushes complete in the ring.  An
	 * empty range of a read-write map still reports an earlier write-back
	 * failure, because the data it lost is still not on disk.
	 */
	if (map->mode != MMAPIO_READ_WRITE) {
		op->result = 0;
	} else if (len == 0) {
		op->result = __atomic_load_n(&map->flush_error, __ATOMIC_ACQUIRE);
	} else {
		r = mmapio__flush_prepare(map, off, len, op);
		if (r < 0) {
			mmapio__op_free(op);
			return r;
		}
	}
	*out = op;
	return 0;
}

/* Copies path to the heap, absolute or as given (see mmapio__copy_op). */
static char *path_copy(const char *path, bool absolute)
{
	return absolute ? mmapio__plat_abspath(path) : strdup(path);
}

MMAPIO_INTERNAL int mmapio__copy_op(const char *src, const char *dst, unsigned flags,
				    bool absolute, struct mmapio__op **out)
{
	struct mmapio__op *op;

	if (src == NULL || dst == NULL ||
	    (flags & ~(MMAPIO_COPY_OVERWRITE | MMAPIO_COPY_DURABLE)) != 0)
		return -EINVAL;
	op = mmapio__op_new(MMAPIO_OP_COPY);
	if (op == NULL)
		return -ENOMEM;
	op->u.copy.src = path_copy(src, absolute);
	op->u.copy.dst = path_copy(dst, absolute);
	if (op->u.copy.src == NULL || op->u.copy.dst == NULL) {
		mmapio__op_free(op);
		return -ENOMEM;
	}
	op->u.copy.flags = flags;
	*out = op;
	return 0;
}

MMAPIO_INTERNAL int mmapio__delete_op(const char *path, bool absolute, struct mmapio__op **out)
{
	struct mmapio__op *op;

	if (path == NULL)
		return -EINVAL;
	op = mmapio__op_new(MMAPIO_OP_DELETE);
	if (op == NULL)
		return -ENOMEM;
	op->u.del.path = path_copy(path, absolute);
	if (op->u.del.path == NULL) {
		mmapio__op_free(op);
		return -ENOMEM;
	}
	*out = op;
	return 0;
}


MMAPIO_INTERNAL int mmapio__rename_op(const char *from, const char *to, unsigned flags,
				      struct mmapio__op **out)
{
	const unsigned known = MMAPIO_RENAME_NOREPLACE | MMAPIO_RENAME_EXCHANGE |
			       MMAPIO_RENAME_DURABLE;
	struct mmapio__op *op;

	if (from == NULL || to == NULL || (flags & ~known) != 0 ||
	    ((flags & MMAPIO_RENAME_NOREPLACE) && (flags & MMAPIO_RENAME_EXCHANGE)))
		return -EINVAL;
	op = mmapio__op_new(MMAPIO_OP_RENAME);
	if (op == NULL)
		return -ENOMEM;
	op->u.rename.from = path_copy(from, true);
	op->u.rename.to = path_copy(to, true);
	if (op->u.rename.from == NULL || op->u.rename.to == NULL) {
		mmapio__op_free(op);
		return -ENOMEM;
	}
	op->u.rename.flags = flags;
	*out = op;
	return 0;
}

MMAPIO_INTERNAL int mmapio__sync_dir_op(const char *dir, struct mmapio__op **out)
{
	struct mmapio__op *op;

	if (dir == NULL)
		return -EINVAL;
	op = mmapio__op_new(MMAPIO_OP_SYNC_DIR);
	if (op == NULL)
		return -ENOMEM;
	op->u.sync_dir.path = path_copy(dir, true);
	if (op->u.sync_dir.path == NULL) {
		mmapio__op_free(op);
		return -ENOMEM;
	}
	*out = op;
	return 0;
}
