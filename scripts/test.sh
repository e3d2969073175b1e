#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds mmapio with its tests and runs every suite (each backend-dependent
# suite on both backends).  Usage: sh scripts/test.sh [BUILD_DIR [MESON_OPTION...]]
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
meson test -C "$build" --print-errorlogs --num-processes 2
