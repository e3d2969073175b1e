/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The blocking engine: every operation runs with platform calls
 * (src/platform.h) on the submitting thread, inside submit(), so its
 * completions are ready as soon as submit() returns and reap() never has
 * anything left to do.  It is portable: nothing here names an OS call.
 *
 * It is also the per-operation fallback of the io_uring engine (its run()),
 * which is why everything here is thread-safe and keeps no state outside
 * the engine.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "platform.h"

struct blocking_engine {
	struct mmapio__engine_params params;
	const struct mmapio__event *ev; /* to signal after handing back, or NULL */
	uint64_t ops;         /* operations run, for stats */
};

/*
 * The platform's flag for an operation whose directory the ring syncs
 * (MMAPIO__OP_NO_DIR_SYNC), or 0.
 */
static unsigned dir_sync_flag(const struct mmapio__op *op)
{
	return (op->ring_flags & MMAPIO__OP_NO_DIR_SYNC) ? MMAPIO__PLAT_NO_DIR_SYNC : 0;
}

/*
 * Creates the file of a CREATE operation and closes it again; tells the
 * ring when it made the file.  Returns 0 or -errno.
 */
static int run_create(struct mmapio__op *op)
{
	int created;
	int fd = mmapio__plat_create_file(op->u.create.path, op->u.create.size,
					  op->u.create.perm, op->u.create.flags | dir_sync_flag(op),
					  &created);

	if (fd < 0)
		return fd;
	if (created)
		op->ring_flags |= MMAPIO__OP_MADE_FILE;
	/* The file is complete; a failing close cannot undo that on Linux. */
	mmapio__plat_close(fd);
	return 0;
}

/*
 * Makes a flush range durable: msync(MS_SYNC) over the mapping where the
 * ring gave an address (the kernel then runs vfs_fsync_range over exactly
 * that range, data only), else fdatasync of the whole file.  Several ranges
 * (prep_flush_ranges) go to the platform together, which waits for the
 * disk once for all of them where it can.  Returns 0 or -errno.
 */
static int run_flush(const struct mmapio__op *op)
{
	if (op->u.flush.addr != NULL && op->u.flush.nranges > 0)
		return mmapio__plat_sync_ranges(op->u.flush.fd, op->u.flush.addr, op->u.flush.off,
						op->u.flush.ranges, op->u.flush.nranges);
	if (op->u.flush.addr != NULL)
		return mmapio__plat_sync_range(op->u.flush.fd, op->u.flush.addr,
					       (size_t)op->u.flush.len);
	return mmapio__plat_sync_file(op->u.flush.fd);
}

/*
 * Renames, then with MMAPIO_RENAME_DURABLE syncs the directory of to and,
 * when it is another one, that of from, as mmapio_rename does (unless the
 * ring syncs them: MMAPIO__OP_NO_DIR_SYNC).  Returns 0 or -errno (a
 * failing sync although the rename happened).
 */
static int run_rename(const struct mmapio__op *op)
{
	char *dto, *dfrom;
	int r = mmapio__plat_rename(op->u.rename.from, op->u.rename.to, op->u.rename.flags);

	if (r < 0 || !(op->u.rename.flags & MMAPIO_RENAME_DURABLE) ||
	    (op->ring_flags & MMAPIO__OP_NO_DIR_SYNC))
		return r;
	dto = mmapio__plat_dirname(op->u.rename.to);
	dfrom = mmapio__plat_dirname(op->u.rename.from);
	if (dto == NULL || dfrom == NULL) {
		r = -ENOMEM;
		goto out;
	}
	r = mmapio__plat_sync_dir(dto);
	if (r == 0 && strcmp(dto, dfrom) != 0)
		r = mmapio__plat_sync_dir(dfrom);
out:
	free(dto);
	free(dfrom);
	return r;
}

/* Runs one operation with blocking platform calls.  Thread-safe. */
static int blocking_run(struct mmapio__op *op)
{
	switch (op->kind) {
	case MMAPIO_OP_CREATE:
		return run_create(op);
	case MMAPIO_OP_COPY:
		return mmapio__plat_copy_file(op->u.copy.src, op->u.copy.dst,
					      op->u.copy.flags | dir_sync_flag(op));
	case MMAPIO_OP_DELETE:
		return mmapio__plat_unlink(op->u.del.path);
	case MMAPIO_OP_FLUSH:
		return run_flush(op);
	case MMAPIO_OP_WRITE:
		/* Through the mapping for an O_APPEND or O_DIRECT descriptor. */
		if (op->u.write.via_map != NULL)
			return mmapio__plat_guarded_copy(op->u.write.via_map, op->u.write.src,
							 op->u.write.len);
		return mmapio__plat_write_at(op->u.write.fd, op->u.write.src, op->u.write.len,
					     op->u.write.off);
	case MMAPIO_OP_RENAME:
		return run_rename(op);
	case MMAPIO_OP_SYNC_DIR:
		return mmapio__plat_sync_dir(op->u.sync_dir.path);
	}
	return -EINVAL;
}

/* Returns 0 with *engine set, or -ENOMEM with the reason in why. */
static int blocking_open(const struct mmapio__engine_params *params, void **engine,
			 char *why, size_t whylen)
{
	struct blocking_engine *e = calloc(1, sizeof(*e));

	if (e == NULL) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "blocking: out of memory");
		return -ENOMEM;
	}
	e->params = *params;
	*engine = e;
	return 0;
}

/* Frees the engine; it never owns an operation between calls.  Returns 0. */
static int blocking_close(void *engine)
{
	free(engine);
	return 0;
}

/* Runs every operation of the chain and hands each back.  Returns 0. */
static int blocking_submit(void *engine, struct mmapio__op *chain)
{
	struct blocking_engine *e = engine;
	bool any = chain != NULL;

	while (chain != NULL) {
		struct mmapio__op *op = chain;

		/* done() may relink op, so step past it first. */
		chain = op->next;
		op->next = NULL;
		op->result = blocking_run(op);
		e->ops++;
		e->params.done(e->params.ctx, op);
	}
	if (any && e->ev != NULL)
		mmapio__plat_event_signal(e->ev);
	return 0;
}

/* Everything was handed back inside submit(); returns 0. */
static int blocking_reap(void *engine, unsigned min, int timeout_ms)
{
	return 0;
}

/* Returns 0: the engine never keeps an operation. */
static unsigned blocking_owned(void *engine)
{
	return 0;
}

/* Remembers ev to signal after each submit.  Returns 0. */
static int blocking_set_event(void *engine, const struct mmapio__event *ev)
{
	struct blocking_engine *e = engine;

	e->ev = ev;
	return 0;
}

/* Fills *out with the engine's counters. */
static void blocking_stats(void *engine, struct mmapio__engine_stats *out)
{
	const struct blocking_engine *e = engine;

	memset(out, 0, sizeof(*out));
	out->blocking_ops = e->ops;
}

MMAPIO_INTERNAL const struct mmapio__engine mmapio__engine_blocking = {
	.name = "blocking",
	.kind = MMAPIO_BACKEND_FALLBACK,
	.open = blocking_open,
	.close = blocking_close,
	.submit = blocking_submit,
	.reap = blocking_reap,
	.owned = blocking_owned,
	.set_event = blocking_set_event,
	.stats = blocking_stats,
	.run = blocking_run,
};
