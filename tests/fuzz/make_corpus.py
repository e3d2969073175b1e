#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpus of the fuzz target into tests/fuzz/corpus/.

Each seed is a short call sequence on one theme, encoded the way
fuzz_mmapio.c decodes it: one opcode byte per call (enum fz_opcode), then
the bytes its picker functions read, in their order.  Run it after changing
the decoder, then check what the seeds do with
MMAPIO_FUZZ_TRACE=1 build/tests/fuzz/fuzz_replay tests/fuzz/corpus/NAME.
Usage: make_corpus.py [OUTPUT_DIR]
"""
import os
import struct
import sys

# enum fz_opcode
(OPEN, OPEN_FD, CREATE, CLOSE, READ, WRITE, VIEW, VIEW_RELEASE, VIEW_TOUCH, SEGMENT,
 SEGMENT_ACCESS, RESIZE, FLUSH, ADVISE, LOCK, ATOMIC, COPY, DELETE, RING_OPEN, RING_PREP,
 RING_SUBMIT, RING_REAP, RING_CLOSE, RING_MISC, BAD_ARGS, CHECK, RING_BARRIER, RING_CANCEL,
 RENAME, FLUSH_START, RANGE_LOCK) = range(31)

# fz_pick_path: t[b % 10]
P0, P1, PD, PX = 0, 5, 8, 9
# pick_mode: t[b % 10]
RO, RW, COW, BAD_MODE = 0, 1, 2, 7
# fz_pick_size: t[b % 12] for b < 240
SZ = {"1": 0, "100": 1, "p-1": 2, "p": 3, "p+1": 4, "2p": 5, "3p+17": 6, "8p": 7,
      "64k": 8, "64k+1": 9, "200000": 10, "1m": 11}
# open_fd kinds
FD_RDONLY, FD_RDWR, FD_WRONLY, FD_APPEND, FD_PATH, FD_DIRECT, FD_M1, FD_CLOSED, FD_PR, FD_PW = range(10)
# ring backends in fz_op_ring_open: b % 6
B_FALLBACK, B_URING, B_AUTO, B_BAD = 0, 1, 2, 5

F_EXCL, F_SPARSE, F_DURABLE, F_POPULATE = 1, 2, 4, 8
# mmapio_rename flags (and 8, unknown)
R_NOREPLACE, R_EXCHANGE, R_DURABLE = 1, 2, 4
# prep_sync_dir targets (enum fz_sync_target)
SYNC_TOP, SYNC_D, SYNC_NODIR, SYNC_F, SYNC_G = range(5)
# range lock flags byte: bit 0 exclusive (else shared), bit 1 NOWAIT; 0x1c both kinds
L_SHARED, L_EXCL, L_NOWAIT, L_BOTH, L_UNKNOWN = 0, 1, 2, 0x1c, 0x18


def u32(v):
    return list(struct.pack("<I", v))


def u64(v):
    return list(struct.pack("<Q", v))


# fz_pick_off selectors
def off_zero():
    return [3]


def off_end():
    return [5]


def off_at(v):           # v % len (len > 0)
    return [0] + u32(v)


def off_page(k):         # (k % (len / page + 2)) * page
    return [7, k]


def off_huge(i=0):
    return [8, i]


# fz_pick_len selectors
def len_room():
    return [4]


def len_zero():
    return [3]


def len_small(v):        # min(v % 64, room)
    return [6, v]


def len_pages(k):        # min(k * page, room), 1 <= k <= 4
    return [7, k - 1]


def len_at(v):           # v % (room + 1) (room > 0)
    return [0] + u32(v)


def len_over(k=0):       # room + 1 + k
    return [5, k]


def len_huge(i=0):
    return [8, i]


def size(name):
    return [SZ[name]]


def opts_null():
    return [0]


def opts(flags=0, perm=3, reserve=None, durable=False, bad=None):
    """fz_pick_opts: perm is an index into {0, 0600, 0640, 0644, 0755, 0700, 0664, 0640}."""
    s = 0x41 if durable else 0x01
    if bad is not None:
        s = 0xf1 | (0x40 if durable else 0)
    out = [s, flags, perm] + (reserve if reserve is not None else [0])
    if bad is not None:
        out += bad
    return out


RES_NONE, RES_4M, RES_64M, RES_HUGE = [0], [6], [7, 0], [7, 1]


class Seq:
    # The first byte chooses the filesystem: 1 tmpfs, 0 the disk's.
    def __init__(self, disk=False):
        self.b = [0 if disk else 1]

    def op(self, code, *parts):
        self.b.append(code)
        for p in parts:
            self.b += p
        return self

    def create(self, path, sz, o=None):
        return self.op(CREATE, [path], [2] + sz, o or opts_null())

    def open(self, path, mode, o=None):
        return self.op(OPEN, [path], [mode], o or opts_null())

    def open_fd(self, kind, path, mode, o=None):
        return self.op(OPEN_FD, [kind], [path], [mode], o or opts_null())

    def close(self, m):
        return self.op(CLOSE, [m])

    def read(self, m, off, ln, null=False):
        return self.op(READ, [m], off, ln, [0 if null else 1])

    def write(self, m, off, ln, seed=7, null=False):
        return self.op(WRITE, [m], off, ln, u32(seed), [0 if null else 1])

    def view(self, m, write, off, ln):
        return self.op(VIEW, [m], [1 if write else 0], off, ln, [1])

    def release(self, v, other=False, twice=False):
        return self.op(VIEW_RELEASE, [v], [(1 if other else 0) | (2 if twice else 0)])

    def touch(self, v, seed=3, a=0, b=0xffffffff):
        return self.op(VIEW_TOUCH, [v], u32(seed), u32(a), u32(b))

    def seg_init(self, slot, m, off, ln):
        return self.op(SEGMENT, [0], [slot], [m], off, ln)

    def seg_sub(self, slot, m, src, off, ln):
        return self.op(SEGMENT, [1], [slot], [m], [src], off, ln)

    def seg_raw(self, slot, m, huge_base, off, ln):
        return self.op(SEGMENT, [2], [slot], [m], [1 if huge_base else 0], off, ln)

    def seg_bad(self, m):
        return self.op(SEGMENT, [3], [0], [m])

    def seg_access(self, s, kind, off, ln, seed=5):
        # kind: 0 read, 1 write, 2 view_read, 3 view_write, 4 flush
        return self.op(SEGMENT_ACCESS, [s], [kind], u32(seed), [1], off, ln)

    def resize(self, m, sel):
        return self.op(RESIZE, [m], sel)

    def flush(self, m, whole=True, off=None, ln=None):
        return self.op(FLUSH, [m], [0 if whole else 1], off or off_zero(), ln or len_room())

    def advise(self, m, advice, off, ln):
        return self.op(ADVISE, [m], [advice], off, ln)

    def lock(self, m, unlock, off, ln):
        return self.op(LOCK, [m], [1 if unlock else 0], off, ln)

    def atomic(self, m, width8, op, sel, value=1, match=True):
        # pick_word_off: a u32 (when len > 0), then a selector (0: aligned)
        k = (1 if width8 else 0) | (op << 1)
        return self.op(ATOMIC, [m], [k], u32(0x1234), sel, u64(value), [1], [1 if match else 0],
                       u64(0x55))

    def copy(self, src, dst, overwrite=False, bad=False):
        f = (1 if overwrite else 0) | (0xc0 if bad else 0)
        return self.op(COPY, [src], [1], [f]) if dst == P1 else \
            self.op(COPY, [src], [0], [dst], [f])

    def delete(self, path):
        return self.op(DELETE, [path])

    def ring_open(self, slot, backend, depth=0, bad=0):
        return self.op(RING_OPEN, [slot], [backend], [bad], [depth])

    def prep_create(self, r, path, sz, o=None):
        return self.op(RING_PREP, [r], [0], [1], [path], [2] + sz, o or opts_null())

    def prep_create_huge(self, r, path):      # size UINT64_MAX
        return self.op(RING_PREP, [r], [0], [1], [path], [1], opts_null())

    def prep_create_empty(self, r, path):
        return self.op(RING_PREP, [r], [0], [1], [path], [0], opts_null())

    def prep_copy(self, r, src, dst, overwrite=False):
        if dst == P1:
            return self.op(RING_PREP, [r], [1], [1], [src], [1], [1 if overwrite else 0])
        return self.op(RING_PREP, [r], [1], [1], [src], [0], [dst], [1 if overwrite else 0])

    def prep_copy_durable(self, r, src, dst):  # MMAPIO_COPY_DURABLE, no overwrite
        if dst == P1:
            return self.op(RING_PREP, [r], [1], [1], [src], [1], [0x30])
        return self.op(RING_PREP, [r], [1], [1], [src], [0], [dst], [0x30])

    def prep_delete(self, r, path):
        return self.op(RING_PREP, [r], [2], [1], [path])

    def prep_flush(self, r, m, off, ln):
        return self.op(RING_PREP, [r], [3], [m], off, ln)

    def prep_flush_ranges(self, r, m, ranges):
        out = [m, len(ranges), 1]
        for off, ln in ranges:
            out += off + ln
        return self.op(RING_PREP, [r], [4], out)

    def submit(self, r):
        return self.op(RING_SUBMIT, [r])

    def peek(self, r, mx=8):
        return self.op(RING_REAP, [r], [0], [mx], [0], [0])

    def wait(self, r, mx=8, mn=1, timeout_idx=4):
        # timeouts: 0, 1, 5, 20, -1, -2
        return self.op(RING_REAP, [r], [1], [mx], [mn], [timeout_idx])

    def prep_write(self, r, m, off, ln, seed=13, null=False):
        return self.op(RING_PREP, [r], [5], [m], off, ln, u32(seed), [0 if null else 1])

    def _rename_paths(self, frm, to, flags):
        return [flags, frm] + ([0, to] if to is not None else [1])

    def prep_rename(self, r, frm, to, flags=0):
        return self.op(RING_PREP, [r], [6], [1], self._rename_paths(frm, to, flags))

    def prep_sync_dir(self, r, target, null=False):
        return self.op(RING_PREP, [r], [7], [0 if null else 1], [target])

    def barrier(self, r):
        return self.op(RING_BARRIER, [r])

    def cancel(self, r, how, pick=0):
        # how % 4: 0 or 1 an unsubmitted operation, 2 one a blocking ring ran, 3 an unknown id
        return self.op(RING_CANCEL, [r], [how], [pick])

    def rename(self, frm, to, flags=0):
        return self.op(RENAME, self._rename_paths(frm, to, flags))

    def flush_start(self, m, off, ln):
        return self.op(FLUSH_START, [m], off, ln)

    def range_lock(self, m, flags, off, ln, unlock=False, huge=False):
        how = (1 if unlock else 0) | (0x30 if huge else 0)
        return self.op(RANGE_LOCK, [m], [flags], [how], off, ln)

    def ring_close(self, r):
        return self.op(RING_CLOSE, [r])

    def ring_misc(self, r, kind):
        return self.op(RING_MISC, [r], [kind])

    def bad(self, kind, m=0):
        return self.op(BAD_ARGS, [kind], [m] if kind == 0 else [])

    def check(self):
        return self.op(CHECK)


def seeds():
    s = {}

    # One read-write map: write, read back, flush, check, close.
    q = Seq().create(P0, size("2p"))
    q.write(0, off_zero(), len_room(), seed=1).read(0, off_at(100), len_small(50))
    q.write(0, off_at(4000), len_small(200), seed=2).flush(0).check().close(0).check()
    s["basic-rw"] = q

    # Several maps of the file in every mode, made every way.
    q = Seq(disk=True).create(P0, size("64k+1"), opts(F_SPARSE, perm=1))
    q.open(P0, RO).open(P0, COW).open_fd(FD_APPEND, P0, RW).open_fd(FD_RDONLY, P0, COW)
    q.write(2, off_zero(), len_room(), seed=9).read(1, off_zero(), len_room())
    q.write(3, off_page(3), len_pages(1), seed=4).read(3, off_zero(), len_room())
    q.write(0, off_page(1), len_pages(4), seed=5).read(3, off_zero(), len_room())
    q.open(P0, RW, opts(F_POPULATE, reserve=RES_4M)).open(P0, COW, opts(F_POPULATE))
    q.write(0, off_zero(), len_small(40), seed=6).check()
    q.close(0).close(1).close(2).close(3).close(4).close(5).check()
    s["modes"] = q

    # On the disk: large writes into uncached pages go through pwrite.
    q = Seq(disk=True).create(P0, size("1m"), opts(reserve=RES_4M)).open(P0, COW)
    q.write(0, off_zero(), len_room(), seed=31).open_fd(FD_APPEND, P0, RW)
    q.resize(0, [7, SZ["200000"]]).write(0, off_page(5), len_room(), seed=32)
    q.read(2, off_zero(), len_small(60)).read(1, off_page(50), len_pages(2)).flush(2).check().close(0).close(1).close(2)
    s["disk-pwrite"] = q

    # Descriptors of every kind for mmapio_open_fd, and the refusals.
    q = Seq().create(P0, size("p+1"))
    for k in range(10):
        q.open_fd(k, P0, RO).open_fd(k, P0, RW)
        q.close(1).close(2)
    q.open_fd(FD_RDONLY, PD, RO).open(PD, RO).open(PX, RW).open(P1, RO).open(P0, BAD_MODE)
    q.open(P0, RW, opts(bad=[1, 2, 9])).open(P0, RO, opts(reserve=RES_HUGE))
    s["open-fd"] = q

    # Views held across calls, released on this thread and another one.
    q = Seq().create(P0, size("3p+17")).open(P0, RO).open(P0, COW)
    q.view(0, False, off_zero(), len_room()).view(2, True, off_page(1), len_pages(1))
    q.touch(0).touch(1).write(0, off_zero(), len_small(10)).read(2, off_zero(), len_small(60))
    q.read(2, off_zero(), len_huge()).view(2, False, off_zero(), len_small(1))
    q.close(0).resize(0, [8, SZ["p"]]).release(1).release(0, other=True, twice=True)
    q.view(1, False, off_end(), len_zero()).view(1, False, off_at(5), len_room())
    q.touch(0).release(0, other=True).close(1).close(0).close(2)
    s["views"] = q

    # Segments: made by init, sub and by hand; read, write, view, flush.
    q = Seq().create(P0, size("8p")).open(P0, COW)
    q.seg_init(0, 0, off_page(1), len_pages(3)).seg_sub(1, 0, 0, off_at(10), len_room())
    q.seg_raw(2, 0, True, off_huge(), len_huge(1)).seg_raw(3, 1, False, off_at(3), len_room())
    q.seg_access(0, 1, off_zero(), len_room()).seg_access(1, 0, off_zero(), len_room())
    q.seg_access(2, 0, off_at(1), len_small(8)).seg_access(3, 1, off_zero(), len_small(30))
    q.seg_access(0, 2, off_zero(), len_zero()).seg_access(0, 4, off_zero(), len_zero())
    q.seg_access(3, 3, off_zero(), len_zero()).touch(0).touch(1).release(0).release(1)
    q.seg_bad(0).check().close(0).close(1)
    s["segments"] = q

    # Resize with and without a reservation; another map goes stale and faults.
    q = Seq(disk=True).create(P0, size("2p"), opts(reserve=RES_4M)).open(P0, RO).open(P0, COW)
    q.write(0, off_zero(), len_room(), seed=11).write(2, off_zero(), len_small(20))
    q.resize(0, [5]).check().read(1, off_page(1), len_small(9))
    q.read(1, off_zero(), len_small(30)).read(2, off_page(1), len_pages(1))
    q.resize(0, [6]).read(2, off_page(1), len_pages(1)).resize(1, [3]).resize(0, [0]).resize(0, [1]).resize(0, [2]).resize(0, [7, 240] + u32(900000))
    q.resize(0, [11, SZ["1m"]]).check().close(1).close(2).close(0)
    s["resize"] = q

    # Advice, page locks and atomic words on every mode.
    q = Seq().create(P0, size("64k")).open(P0, COW).open(P0, RO)
    for a in range(9):
        q.advise(a % 3, a, off_zero(), len_pages(2))
    q.lock(0, False, off_zero(), len_room()).lock(1, False, off_page(2), len_pages(1))
    q.lock(0, True, off_zero(), len_room()).lock(2, False, off_end(), len_zero())
    for op in range(4):
        for m in range(3):
            q.atomic(m, op % 2 == 0, op, [0], value=0x1111 * (op + 1))
    q.atomic(0, True, 0, [5, 1]).atomic(0, False, 1, [6, 0]).atomic(0, True, 3, [0], match=False)
    q.check().close(0).close(1).close(2)
    s["advise-lock-atomic"] = q

    # Copy and delete of the file and the second path, every refusal.
    q = Seq().create(P0, size("p-1"), opts(perm=4)).write(0, off_zero(), len_room(), seed=21)
    q.copy(P0, P1).copy(P0, P1).copy(P0, P1, overwrite=True).open(P1, RW)
    q.write(1, off_zero(), len_small(9)).copy(P1, P0, overwrite=True).read(0, off_zero(), len_room())
    q.copy(P0, P0, overwrite=True).copy(PD, P1).copy(PX, P1).copy(P0, PD).copy(P0, PX)
    q.copy(P0, P1, bad=True).delete(P1).delete(P1).delete(PD).delete(PX).delete(P0)
    q.read(0, off_zero(), len_room()).check().create(P1, size("200000")).copy(P1, P0)
    q.close(0).close(1).check()
    s["copy-delete"] = q

    # Both engines: every prep call, submit, peek, wait, counters, close.
    for name, backend in (("ring-fallback", B_FALLBACK), ("ring-uring", B_URING)):
        q = Seq().create(P0, size("64k")).ring_open(0, backend, depth=1)
        q.prep_create(0, P1, size("p")).prep_copy(0, P0, P1, overwrite=True)
        q.prep_flush(0, 0, off_zero(), len_room()).submit(0).close(0)
        q.prep_flush_ranges(0, 0, [(off_zero(), len_small(5)), (off_page(2), len_pages(1))])
        q.prep_delete(0, P1).submit(0).ring_misc(0, 0).ring_misc(0, 1).peek(0, 1)
        q.wait(0, 8, 3, 4).ring_misc(0, 2).prep_create(0, P1, size("1"), opts(F_EXCL))
        q.prep_create_empty(0, PX).prep_copy(0, PD, P1).prep_flush(0, 0, off_end(), len_zero())
        q.submit(0).wait(0, 8, 9, 0).wait(0, 2, 1, 1).peek(0).prep_create_huge(0, P0)
        q.prep_create_huge(0, P1).submit(0).wait(0, 8, 2, 4).prep_delete(0, P0).ring_close(0)
        q.check().close(0)
        s[name] = q

    # Durable creates and copies in one directory share one directory sync,
    # the ring's own operation (counted in blocking_ops on the blocking
    # engine); two in the missing directory fail by themselves and share none.
    for name, backend in (("ring-dir-sync-fallback", B_FALLBACK), ("ring-dir-sync-uring", B_URING)):
        q = Seq().create(P0, size("p")).ring_open(1, backend)
        q.prep_create(1, P1, size("64k"), opts(F_DURABLE, durable=True))
        q.prep_create(1, P0, size("2p"), opts(F_DURABLE, durable=True))
        q.prep_create(1, PX, size("p"), opts(F_DURABLE, durable=True)).prep_create(1, PX, size("1"), opts(F_DURABLE, durable=True))
        q.submit(1).ring_misc(1, 2).wait(1, 8, 4, 4).ring_misc(1, 2).prep_delete(1, P1).submit(1)
        q.prep_create(1, P0, size("p"), opts(F_EXCL | F_DURABLE, durable=True)).prep_copy_durable(1, P0, P1)
        q.submit(1).wait(1, 8, 3, 4).ring_misc(1, 2).ring_close(1).check()
        s[name] = q

    # Ring writes ordered by barriers: write, flush, write run in that
    # order; a failed rename cancels the groups after it (-ECANCELED), and a
    # write holds its map open until it is reaped.
    for name, backend in (("ring-write-barrier-fallback", B_FALLBACK),
                          ("ring-write-barrier-uring", B_URING)):
        q = Seq().create(P0, size("64k")).open(P0, RO).ring_open(0, backend)
        q.prep_write(0, 0, off_zero(), len_pages(2), seed=41).barrier(0)
        q.prep_flush(0, 0, off_zero(), len_pages(2)).barrier(0).barrier(0)
        q.prep_write(0, 0, off_page(3), len_small(40), seed=42).submit(0).wait(0, 8, 3, 4)
        q.read(0, off_zero(), len_room()).prep_write(0, 1, off_zero(), len_small(9))
        q.prep_write(0, 0, off_end(), len_zero()).prep_write(0, 0, off_zero(), len_small(5), null=True)
        q.prep_write(0, 0, off_at(77), len_zero(), null=True).prep_write(0, 0, off_page(1), len_over())
        q.barrier(0).prep_write(0, 0, off_page(4), len_pages(1), seed=43).close(0).submit(0)
        q.ring_misc(0, 2)
        q.wait(0, 8, 2, 4).close(0).open(P0, RW).ring_misc(0, 2)
        q.prep_rename(0, PX, P1).barrier(0).prep_write(0, 0, off_zero(), len_small(30), seed=44)
        q.barrier(0).prep_create(0, P1, size("p")).submit(0).wait(0, 8, 3, 4).ring_misc(0, 2)
        q.prep_write(0, 0, off_zero(), len_small(3), seed=45).barrier(0).prep_delete(0, P0)
        q.submit(0).wait(0, 8, 2, 4).read(0, off_zero(), len_small(60)).check().ring_close(0)
        q.close(0).close(1)
        s[name] = q

    # Renames on a ring and by mmapio_rename: durable ones share their
    # directory's sync with a durable create; exchange, no-replace, onto
    # the directory, from nowhere, bad flags; directory syncs of everything.
    for name, backend in (("ring-rename-fallback", B_FALLBACK), ("ring-rename-uring", B_URING)):
        q = Seq().create(P0, size("p+1")).write(0, off_zero(), len_room(), seed=51).ring_open(1, backend)
        q.prep_rename(1, P0, P1, R_DURABLE).prep_create(1, P0, size("2p"), opts(F_DURABLE, durable=True))
        q.submit(1).wait(1, 8, 2, 4).ring_misc(1, 2).check()
        q.prep_rename(1, P0, P1, R_EXCHANGE).prep_rename(1, P1, P0, R_NOREPLACE)
        q.prep_rename(1, P0, PD).prep_rename(1, P0, P1, R_NOREPLACE | R_EXCHANGE)
        q.prep_rename(1, P0, P1, 0xc0).prep_rename(1, PX, P0, R_DURABLE)
        q.prep_rename(1, P1, P1, R_EXCHANGE)
        for t in range(5):
            q.prep_sync_dir(1, t)
        q.prep_sync_dir(1, SYNC_TOP, null=True).submit(1).wait(1, 12, 10, 4).ring_misc(1, 2)
        q.rename(P1, P0).rename(P0, PD, R_NOREPLACE).rename(P0, PD).rename(P0, PX).rename(PX, P0)
        q.rename(P0, P0).rename(P0, P0, R_NOREPLACE).rename(P0, P1, R_NOREPLACE | R_DURABLE)
        q.rename(P1, P0, R_EXCHANGE).create(P0, size("1")).rename(P1, P0, R_EXCHANGE | R_DURABLE)
        q.rename(P1, P1).rename(P0, P1, R_NOREPLACE | R_EXCHANGE).rename(P0, P1, 0xc8)
        q.prep_delete(1, P1).prep_sync_dir(1, SYNC_G).submit(1).wait(1, 8, 2, 4)
        q.prep_sync_dir(1, SYNC_F).ring_misc(1, 2).ring_close(1).check().read(0, off_zero(), len_room())
        q.close(0)
        s[name] = q

    # Cancels: of operations not submitted (each completes with -ECANCELED
    # and fails its group), of one a blocking ring ran, of unknown ids.
    for name, backend in (("ring-cancel-fallback", B_FALLBACK), ("ring-cancel-uring", B_URING)):
        q = Seq().create(P0, size("p")).ring_open(2, backend)
        q.prep_create(2, P1, size("1")).submit(2).cancel(2, 2, 0).cancel(2, 3, 0).wait(2, 8, 1, 4)
        q.prep_create(2, P1, size("p")).prep_delete(2, P0).cancel(2, 0, 1).cancel(2, 3, 200)
        q.ring_misc(2, 1).submit(2).wait(2, 8, 2, 4).ring_misc(2, 2)
        q.prep_create(2, P1, size("100")).barrier(2).prep_copy(2, P0, P1, overwrite=True)
        q.cancel(2, 1, 0).barrier(2).prep_delete(2, P0).submit(2).wait(2, 8, 3, 4)
        q.prep_create(2, P1, size("1")).submit(2).cancel(2, 2, 0).wait(2, 8, 1, 4).ring_misc(2, 2)
        q.prep_delete(2, P1).cancel(2, 0, 0).ring_close(2).check().close(0)
        s[name] = q

    # Range locks of two read-write maps of one file and a read-only one:
    # conflicts (-EAGAIN), exclusive on read-only (-EACCES), conversions,
    # unlocks that split ranges, bad flags and ranges; write-back started.
    q = Seq().create(P0, size("3p+17")).open(P0, RW).open(P0, RO)
    q.range_lock(0, L_EXCL, off_zero(), len_pages(2)).range_lock(1, L_SHARED, off_page(1), len_pages(1))
    q.range_lock(1, L_EXCL | L_NOWAIT, off_page(2), len_zero()).range_lock(2, L_EXCL, off_zero(), len_small(9))
    q.range_lock(2, L_SHARED, off_page(3), len_room()).range_lock(0, L_SHARED, off_page(1), len_pages(1))
    q.range_lock(1, L_SHARED, off_zero(), len_small(10)).range_lock(0, 0, off_zero(), len_small(10), unlock=True)
    q.range_lock(1, L_SHARED, off_zero(), len_small(10)).range_lock(0, L_BOTH, off_zero(), len_zero())
    q.range_lock(0, L_BOTH | 0x20, off_zero(), len_zero()).range_lock(0, L_UNKNOWN, off_zero(), len_zero())
    q.range_lock(0, L_SHARED, [3], [3], huge=True).range_lock(0, L_SHARED, [3], [3], unlock=True, huge=True)
    q.range_lock(0, 0, off_huge(), len_huge(), unlock=True).range_lock(1, 0, off_zero(), len_zero(), unlock=True)
    q.range_lock(2, L_SHARED, off_zero(), len_zero()).close(1).range_lock(0, L_EXCL, off_zero(), len_pages(1))
    for m in range(3):
        q.flush_start(m, off_zero(), len_zero()).flush_start(m, off_end(), len_zero())
        q.flush_start(m, off_page(1), len_pages(1)).flush_start(m, off_at(5), len_over())
    q.flush_start(0, off_huge(), len_zero()).check().close(0).close(2)
    s["range-lock-flush-start"] = q

    # An empty file made by a ring, then mapped: every range is -ERANGE.
    q = Seq().ring_open(1, B_AUTO).prep_create_empty(1, P0).submit(1).wait(1, 4, 1, 4)
    q.open(P0, RW, opts(reserve=RES_4M)).open(P0, RO).read(0, off_zero(), len_zero())
    q.view(1, False, off_zero(), len_zero()).atomic(1, True, 0, [0]).flush(0, False)
    q.resize(0, [3]).check().ring_close(1).close(0).close(1)
    s["empty-file"] = q

    # NULL pointers, unknown modes, flags and options everywhere.
    q = Seq().create(P0, size("100"))
    for k in range(4):
        q.bad(k)
    q.create(P1, [0]).create(P1, [1]).create(PD, size("1")).create(PX, size("1"))
    q.create(P0, size("1"), opts(F_EXCL)).create(P1, size("1"), opts(bad=[0, 3]))
    q.ring_open(2, B_BAD, bad=1).ring_open(2, B_BAD, bad=3).ring_open(2, B_AUTO, bad=1)
    q.wait(2, 1, 2, 0).wait(2, 1, 0, 5).peek(2, 0).ring_close(2).close(0)
    s["bad-args"] = q
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(out, exist_ok=True)
    for name, q in sorted(seeds().items()):
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes(q.b))
    print(f"make_corpus: {len(seeds())} seeds in {out}")


if __name__ == "__main__":
    main()
