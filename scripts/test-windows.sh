#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Cross-builds mmapio for 64-bit Windows with mingw-w64 and runs the Windows
# tests under wine: the smoke program, then the behavioural suites
# (tests/win/runner.c, one process per test).  Prints the per-test verdicts
# and ends with one line "N passed, M failed, K skipped"; exits non-zero
# when anything failed.
#
# Usage: sh scripts/test-windows.sh [BUILD_DIR [RUNNER_ARGUMENT...]]
#   BUILD_DIR defaults to build-win; runner arguments select tests
#   (a suite, suite::name, or a prefix ending in '*') or set -j N.
# Needs: gcc-mingw-w64-x86-64, wine and wine64 (Debian), meson, ninja.
set -eu
cd "$(dirname "$0")/.."
build=${1:-build-win}
[ $# -gt 0 ] && shift

for tool in x86_64-w64-mingw32-gcc wine wineserver meson ninja; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "test-windows: $tool is missing (apt-get install gcc-mingw-w64-x86-64 wine wine64 meson ninja-build)"
		echo "0 passed, 1 failed, 0 skipped"
		exit 1
	fi
done

# A fresh wine prefix of our own (about 5 s and 700 MB), made before meson
# setup, which runs the cross file's exe_wrapper (wine) to check the
# compiler.  A fresh prefix says Windows 7; the suites expect Windows 10.
export WINEDEBUG=-all
WINEPREFIX=$(mktemp -d "${TMPDIR:-/tmp}/mmapio-wine-XXXXXX")
export WINEPREFIX
cleanup() {
	wineserver -k >/dev/null 2>&1 || true   # this prefix's server only
	rm -rf "$WINEPREFIX"
}
trap cleanup EXIT
wine wineboot --init >/dev/null 2>&1 || true
wine winecfg /v win10 >/dev/null 2>&1 || true
wineserver -w >/dev/null 2>&1 || true

options="--cross-file cross/x86_64-w64-mingw32.txt -Dbenchmarks=disabled -Dexamples=disabled"
if [ -d "$build/meson-private" ]; then
	# shellcheck disable=SC2086
	meson setup --reconfigure $options "$build" >/dev/null
else
	# shellcheck disable=SC2086
	meson setup $options "$build" >/dev/null
fi
ninja -C "$build" >/dev/null

smoke_pass=0 smoke_fail=0
# The DLL sits at the top of the build directory; wine finds it from there.
if (cd "$build" && wine tests/win/win-smoke.exe); then
	smoke_pass=1
else
	smoke_fail=1
fi

log=$WINEPREFIX/runner.log
status=0
[ $# -gt 0 ] || set -- -j 2
wine "$build/tests/win/mmapio-wintests.exe" "$@" | tee "$log" || status=$?
summary=$(tail -n 1 "$log")
case $summary in
*" passed, "*" failed, "*" skipped") ;;
*)
	echo "test-windows: the runner ended without its summary (status $status)"
	summary="0 passed, 1 failed, 0 skipped"
	status=1
	;;
esac
set -- $summary
passed=$(( $1 + smoke_pass )) failed=$(( $3 + smoke_fail )) skipped=$5
echo "$passed passed, $failed failed, $skipped skipped"
[ "$status" -eq 0 ] && [ "$failed" -eq 0 ]
