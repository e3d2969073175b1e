#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Sums the results of every meson test log given into one closing line.

A test program that printed Criterion's synthesis line contributes its
passing and failing (failing + crashing) tests; any other test counts as one
pass or one fail by meson's verdict.  A Criterion program that reports no
failure but that meson still failed (a sanitizer error at exit, a timeout)
adds one failure, so no red result can vanish from the total.  Usage:
summarize.py EXTRA_PASS EXTRA_FAIL LOG.json...
"""
import json
import re
import sys

SYNTH = re.compile(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| Failing: (\d+) \| Crashing: (\d+)")


def main():
    passed, failed, skipped = int(sys.argv[1]), int(sys.argv[2]), 0
    for path in sys.argv[3:]:
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
            out = (t.get("stdout") or "") + (t.get("stderr") or "")
            ok = t["result"] == "OK"
            m = SYNTH.findall(out)
            if t["result"] == "SKIP":
                skipped += 1
            elif m:
                _, p, f, c = map(int, m[-1])
                passed += p
                failed += f + c
                if not ok and f + c == 0:
                    failed += 1
            elif ok:
                passed += 1
            else:
                failed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


sys.exit(main())
