#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Sums the results of every meson test log given into one closing line,
"N passed, N failed, N skipped".

A test that printed TAP (the Criterion suites do, see tests/helpers.h)
contributes each of its tests: "ok" passes, "ok ... # SKIP why" is
skipped, "not ok" fails (unless marked # TODO).  A TAP test that meson
still failed without a failing line (a sanitizer error at exit, a timeout,
a missing plan) adds one failure, so no red result can vanish from the
total.  Any other test counts as one pass, skip or failure by meson's
verdict.  With --skips, every skipped test is listed with its reason
before the closing line.

Usage: summarize.py [--skips] [--extra-skip N] EXTRA_PASS EXTRA_FAIL LOG.json...

EXTRA_PASS, EXTRA_FAIL and --extra-skip count what ran outside meson (the
valgrind runs, the power-cut cases, the fuzzer, the Windows suite).
"""
import json
import re
import sys

TAP = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*(?:-\s*)?([^#]*?)\s*(?:#\s*(.*))?$")
OK_RESULTS = {"OK", "EXPECTEDFAIL"}


def tap_counts(name, stdout, skips):
    """Returns (passed, failed, skipped, seen) for the TAP lines in stdout."""
    passed = failed = skipped = 0
    seen = False
    for line in stdout.splitlines():
        m = TAP.match(line)
        if not m:
            continue
        seen = True
        status, _, test, directive = m.groups()
        directive = directive or ""
        if directive.upper().startswith("TODO"):
            passed += status == "ok"
            continue
        if status == "not ok":
            failed += 1
        elif directive.upper().startswith("SKIP"):
            skipped += 1
            skips.append(f"{name}: {test}: {directive[4:].strip() or 'skipped'}")
        else:
            passed += 1
    return passed, failed, skipped, seen


def main():
    args = sys.argv[1:]
    list_skips = bool(args) and args[0] == "--skips"
    if list_skips:
        args = args[1:]
    extra_skip = 0
    if len(args) >= 2 and args[0] == "--extra-skip":
        extra_skip = int(args[1])
        args = args[2:]
    passed, failed, skipped = int(args[0]), int(args[1]), extra_skip
    skips = []
    for path in args[2:]:
        try:
            lines = open(path).read().splitlines()
        except OSError:
            print(f"summarize: no test log {path}: counted as one failure")
            failed += 1
            continue
        for line in lines:
            if not line.strip():
                continue
            t = json.loads(line)
            name = t["name"].split(" / ")[-1]
            p, f, s, seen = tap_counts(name, t.get("stdout") or "", skips)
            if seen:
                passed, failed, skipped = passed + p, failed + f, skipped + s
                if t["result"] not in OK_RESULTS | {"SKIP"} and f == 0:
                    failed += 1
            elif t["result"] in OK_RESULTS:
                passed += 1
            elif t["result"] == "SKIP":
                skipped += 1
                skips.append(f"{name}: skipped")
            else:
                failed += 1
    if list_skips:
        for s in skips:
            print(f"skipped: {s}")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


sys.exit(main())
