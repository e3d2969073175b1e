/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A scripted engine: a struct mmapio__engine whose submit, reap and close
 * do what the test's script says, so that the ring front end (src/ring*.c)
 * can be held to its promises on paths that real engines reach only by
 * accident: operations completing inside submit, on a later reap or only
 * at close; reaps failing with -EINTR, -EAGAIN, -ETIME, -EBADFD or -EEXIST;
 * a submit refused; a close refused, or one that gives up and keeps what
 * it owns (an engine that can no longer make progress).
 *
 * Time is the engine's clock: every reap call advances it one tick, and a
 * reap asked to wait for more than is due advances it to the next tick at
 * which something is due.  An operation's plan (found by its user_data)
 * says at which tick after its submit it is handed back (0: inside submit;
 * SE_AT_CLOSE: only at close) and with what result.  With run_ops set, the
 * engine performs each operation for real with the blocking engine at
 * submit, as a kernel would start it at once, and its result is that of
 * the real work.  se_finish() completes an operation "in the background"
 * (as the kernel does between calls): it signals the ring's event and the
 * next reap hands it back.
 *
 * One script per process (Criterion forks a process per test): fill
 * se_script, then open rings with se_ring_open.  Include after helpers.h.
 */
#ifndef MMAPIO_TESTS_SCRIPT_ENGINE_H
#define MMAPIO_TESTS_SCRIPT_ENGINE_H

#include <limits.h>
#include <poll.h>
#include <time.h>

#include "engine.h"
#include "ring.h"

#define SE_AT_CLOSE UINT_MAX
#define SE_MAX_PLANS 64
#define SE_MAX_OWNED 256
#define SE_MAX_LOG 64

/* What the script says of one operation. */
struct se_plan {
	void *user_data;
	unsigned at;      /* ticks after its submit; 0: inside submit; SE_AT_CLOSE */
	int result;       /* unless run_ops */
};

struct se_script {
	struct se_plan plans[SE_MAX_PLANS];
	unsigned nplans;
	struct se_plan fallback_plan; /* for operations without a plan of their own */
	bool run_ops;

	/* Submit: refused with these, taking nothing, before it takes anything. */
	int submit_refusals[8];
	unsigned nsubmit_refusals;

	/* Reap: successive calls return these first, handing nothing back. */
	int reap_errors[16];
	unsigned nreap_errors;
	int reap_lasting;     /* then every call returns this, when non-zero */
	unsigned lasting_after; /* ... but only after this many good reaps */
	int timeout_result;   /* what a timed reap that ran out returns with nothing: 0 or -ETIME */

	/* Close. */
	int close_refusals[4];     /* returned first, the engine left whole */
	unsigned nclose_refusals;
	unsigned close_refusal_handback; /* ops handed back by a refused close first */
	bool close_keeps_ops;      /* close returns 0 and keeps what it owns */
	int close_result;          /* result of SE_AT_CLOSE ops handed back by close */
	bool handback_twice;       /* hands every op back twice (an engine bug) */

	/* What happened. */
	unsigned submits, reaps, closes, handed_back, opens;
	unsigned log_min[SE_MAX_LOG];
	int log_timeout[SE_MAX_LOG];
	void *kept_engine;         /* the engine a keeping close left behind */
};

static struct se_script se_script;

struct se_owned {
	struct mmapio__op *op;
	unsigned due;     /* tick; UINT_MAX: at close */
	int result;
};

struct se_engine {
	struct mmapio__engine_params params;
	const struct mmapio__event *ev;
	unsigned tick;
	unsigned good_reaps;
	struct se_owned owned[SE_MAX_OWNED];
	unsigned n;
};

/* The plan of op: its own, or the script's fallback plan. */
static inline const struct se_plan *se_plan_of(const struct mmapio__op *op)
{
	for (unsigned i = 0; i < se_script.nplans; i++)
		if (se_script.plans[i].user_data == op->user_data)
			return &se_script.plans[i];
	return &se_script.fallback_plan;
}

/* Adds a plan: op with user_data ud is handed back at tick at with result. */
static inline void se_plan(void *ud, unsigned at, int result)
{
	cr_assert_lt(se_script.nplans, SE_MAX_PLANS);
	se_script.plans[se_script.nplans++] = (struct se_plan){ ud, at, result };
}

static inline void se_signal(struct se_engine *e)
{
	if (e->ev != NULL)
		mmapio__plat_event_signal(e->ev);
}

/* Hands op back with result, as the contract says (once, unless the script says twice). */
static inline void se_hand_back(struct se_engine *e, struct mmapio__op *op, int result)
{
	op->result = result;
	se_script.handed_back++;
	e->params.done(e->params.ctx, op);
	if (se_script.handback_twice)
		e->params.done(e->params.ctx, op);
}

/* Hands back owned entry i, keeping the rest in order.  */
static inline void se_hand_back_at(struct se_engine *e, unsigned i, int result)
{
	struct mmapio__op *op = e->owned[i].op;

	memmove(&e->owned[i], &e->owned[i + 1], (e->n - i - 1) * sizeof(e->owned[0]));
	e->n--;
	se_hand_back(e, op, result);
}

/* Hands back everything due by now.  Returns how many. */
static inline unsigned se_hand_back_due(struct se_engine *e)
{
	unsigned handed = 0;

	for (unsigned i = 0; i < e->n;) {
		if (e->owned[i].due <= e->tick) {
			se_hand_back_at(e, i, e->owned[i].result);
			handed++;
		} else {
			i++;
		}
	}
	return handed;
}

/* The next tick at which something is due, or UINT_MAX. */
static inline unsigned se_next_due(const struct se_engine *e)
{
	unsigned next = UINT_MAX;

	for (unsigned i = 0; i < e->n; i++)
		if (e->owned[i].due < next)
			next = e->owned[i].due;
	return next;
}

static inline int se_open(const struct mmapio__engine_params *params, void **engine, char *why,
			  size_t whylen)
{
	struct se_engine *e = calloc(1, sizeof(*e));

	(void)why;
	(void)whylen;
	if (e == NULL)
		return -ENOMEM;
	e->params = *params;
	se_script.opens++;
	*engine = e;
	return 0;
}

static inline int se_close(void *engine)
{
	struct se_engine *e = engine;
	unsigned n;

	se_script.closes++;
	if (se_script.nclose_refusals > 0) {
		int r = se_script.close_refusals[0];

		memmove(se_script.close_refusals, se_script.close_refusals + 1,
			--se_script.nclose_refusals * sizeof(int));
		for (n = 0; n < se_script.close_refusal_handback && e->n > 0; n++)
			se_hand_back_at(e, 0, e->owned[0].result);
		return r;
	}
	if (se_script.close_keeps_ops && e->n > 0) {
		se_script.kept_engine = e;
		return 0;
	}
	while (e->n > 0)
		se_hand_back_at(e, 0, e->owned[0].due == UINT_MAX ? se_script.close_result
								: e->owned[0].result);
	free(e);
	return 0;
}

static inline int se_submit(void *engine, struct mmapio__op *chain)
{
	struct se_engine *e = engine;
	bool any = false;

	se_script.submits++;
	if (se_script.nsubmit_refusals > 0) {
		int r = se_script.submit_refusals[0];

		memmove(se_script.submit_refusals, se_script.submit_refusals + 1,
			--se_script.nsubmit_refusals * sizeof(int));
		return r;
	}
	while (chain != NULL) {
		struct mmapio__op *op = chain;
		const struct se_plan *p = se_plan_of(op);
		int result = se_script.run_ops ? mmapio__engine_blocking.run(op) : p->result;

		chain = op->next;
		op->next = NULL;
		if (p->at == 0) {
			se_hand_back(e, op, result);
			any = true;
			continue;
		}
		cr_assert_lt(e->n, SE_MAX_OWNED);
		e->owned[e->n++] = (struct se_owned){
			op, p->at == SE_AT_CLOSE ? UINT_MAX : e->tick + p->at, result
		};
	}
	if (any)
		se_signal(e);
	return 0;
}

/* Sleeps ms milliseconds (a timed reap that runs out). */
static inline void se_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static inline int se_reap(void *engine, unsigned min, int timeout_ms)
{
	struct se_engine *e = engine;
	unsigned handed;

	if (se_script.reaps < SE_MAX_LOG) {
		se_script.log_min[se_script.reaps] = min;
		se_script.log_timeout[se_script.reaps] = timeout_ms;
	}
	se_script.reaps++;
	if (se_script.nreap_errors > 0) {
		int r = se_script.reap_errors[0];

		memmove(se_script.reap_errors, se_script.reap_errors + 1,
			--se_script.nreap_errors * sizeof(int));
		return r;
	}
	if (se_script.reap_lasting != 0 && e->good_reaps >= se_script.lasting_after)
		return se_script.reap_lasting;
	e->good_reaps++;
	e->tick++;
	handed = se_hand_back_due(e);
	while (handed < min && timeout_ms != 0 && se_next_due(e) != UINT_MAX) {
		e->tick = se_next_due(e);
		handed += se_hand_back_due(e);
	}
	if (handed >= min || timeout_ms == 0)
		return (int)handed;
	/* Short, and nothing more is ever due: the wait runs out. */
	cr_assert_neq(timeout_ms, -1, "scripted engine: a reap without a time limit would "
		      "wait for ever (min %u, %u owned)", min, e->n);
	se_sleep_ms(timeout_ms);
	return handed > 0 ? (int)handed : se_script.timeout_result;
}

static inline unsigned se_owned_count(void *engine)
{
	return ((struct se_engine *)engine)->n;
}

static inline int se_set_event(void *engine, const struct mmapio__event *ev)
{
	((struct se_engine *)engine)->ev = ev;
	return 0;
}

static inline void se_stats(void *engine, struct mmapio__engine_stats *out)
{
	(void)engine;
	memset(out, 0, sizeof(*out));
}

static const struct mmapio__engine se_engine = {
	.name = "scripted",
	.kind = MMAPIO_BACKEND_FALLBACK,
	.open = se_open,
	.close = se_close,
	.submit = se_submit,
	.reap = se_reap,
	.owned = se_owned_count,
	.set_event = se_set_event,
	.stats = se_stats,
	.run = NULL,
};

/*
 * Completes the owned operation with user_data ud in the background, with
 * result: the next reap hands it back, and the ring's event fires now.
 */
static inline void se_finish(mmapio_ring *ring, void *ud, int result)
{
	struct se_engine *e = ring->state;

	for (unsigned i = 0; i < e->n; i++) {
		if (e->owned[i].op->user_data == ud) {
			e->owned[i].due = e->tick;
			e->owned[i].result = result;
			se_signal(e);
			return;
		}
	}
	cr_assert_fail("se_finish: no operation %p is owned", ud);
}

/* Opens a ring on the scripted engine; fails the test otherwise. */
static inline mmapio_ring *se_ring_open(void)
{
	mmapio_ring *ring = NULL;
	int r = mmapio__ring_open_engine(&se_engine, NULL, &ring);

	cr_assert_eq(r, 0, "mmapio__ring_open_engine: %d", r);
	return ring;
}

/* Pushes a reap error onto the script. */
static inline void se_reap_error(int err)
{
	cr_assert_lt(se_script.nreap_errors, 16);
	se_script.reap_errors[se_script.nreap_errors++] = err;
}

/* True when fd polls readable now. */
static inline bool se_readable(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

#endif
