#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds the benchmark program (release build) and runs its default workload
# in a fresh temporary directory, printing the table.  Extra arguments go to
# the program, e.g. sh scripts/bench.sh --quick --json out.json
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh
build=build-release
if [ -d "$build" ]; then
	meson setup --reconfigure "$build" --buildtype=release -Dbenchmarks=enabled >/dev/null
else
	meson setup "$build" --buildtype=release -Dbenchmarks=enabled >/dev/null
fi
if ! out=$(ninja -C "$build" 2>&1); then
	printf '%s\n' "$out" >&2
	exit 1
fi
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/mmapio-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
"$build/benchmarks/mmapio-bench" --dir "$dir" "$@"
