#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds mmapio with its tests and runs every suite (each suite whose calls
# reach an engine on both engines, see tests/meson.build), then lists the
# skipped tests with their reasons and ends with one line
# "N passed, N failed, N skipped" counting every Criterion test.
# Usage: sh scripts/test.sh [BUILD_DIR [MESON_OPTION...]]
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=${1:-build}
[ $# -gt 0 ] && shift
if [ -d "$build" ]; then
	meson setup --reconfigure "$build" -Dtests=enabled "$@" >/dev/null
else
	meson setup "$build" -Dtests=enabled "$@" >/dev/null
fi
ninja -C "$build"
status=0
meson test -C "$build" --print-errorlogs --num-processes 2 || status=$?
python3 .ci/summarize.py --skips 0 0 "$build/meson-logs/testlog.json" || [ "$status" -ne 0 ] || status=1
exit "$status"
