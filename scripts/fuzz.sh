#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds the model-checking fuzz target (tests/fuzz/) with clang, libFuzzer
# and the address and undefined-behaviour sanitizers, and runs it for
# SECONDS (default 60) on a copy of tests/fuzz/corpus/, so the repository is
# never written.  Any finding fails the run: a model mismatch (abort), a
# crash, a sanitizer report, a leak, a hang (-timeout).  Ends with
# libFuzzer's figures and one line "fuzz: N passed, M failed".
#
# Usage: scripts/fuzz.sh [SECONDS [BUILD_DIR]]
#   FUZZ_DIR       where the target makes its files on the disk's filesystem
#                  (default: the run's temporary directory under $TMPDIR or
#                  /tmp); each input's first byte chooses that directory or
#                  one on tmpfs (/dev/shm, five times faster; FUZZ_SHM=none
#                  leaves it out)
#   FUZZ_ARGS      more libFuzzer flags, e.g. "-seed=1 -max_len=2048"
#   FUZZ_KEEP      directory that receives the crash inputs of a failed run
#                  (default BUILD_DIR/fuzz-findings)
#   FUZZ_CORPUS_OUT directory that receives the grown corpus (default: dropped)
set -uo pipefail
cd "$(dirname "$0")/.."

fail() {
	echo "fuzz: $*"
	echo "fuzz: 0 passed, 1 failed"
	exit 1
}

# The whole run is one function, read before it starts, so that editing
# this file while a run is going does not change what that run does.
main() {
	secs=${1:-60}
	build=${2:-build-fuzz}
	keep=${FUZZ_KEEP:-$build/fuzz-findings}

	case $secs in
	'' | *[!0-9]*) fail "SECONDS must be a number, not '$secs'" ;;
	esac
	command -v clang >/dev/null || fail "clang is not installed (apt-get install clang)"
	# libFuzzer's runtime is a separate package that clang only recommends.
	probe=$(mktemp -d "${TMPDIR:-/tmp}/mmapio-fuzz-probe-XXXXXX")
	printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' >"$probe/p.c"
	clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" >/dev/null 2>&1 ||
		{ rm -rf "$probe"; fail "clang cannot link libFuzzer (apt-get install libclang-rt-dev)"; }
	rm -rf "$probe"

	# The build: clang, the target's feature on, everything else off.
	opts=(-Dfuzz=enabled -Db_sanitize=address,undefined -Db_lundef=false -Dtests=disabled
		-Dbenchmarks=disabled -Dexamples=disabled -Dbuildtype=debugoptimized)
	if [ -f "$build/build.ninja" ]; then
		meson setup --reconfigure "$build" "${opts[@]}" >"$build.setup.log" 2>&1
	else
		CC=clang meson setup "$build" "${opts[@]}" >"$build.setup.log" 2>&1
	fi || { cat "$build.setup.log"; fail "meson setup failed"; }
	rm -f "$build.setup.log"
	ninja -C "$build" tests/fuzz/fuzz_mmapio >"$build/fuzz-build.log" 2>&1 ||
		{ cat "$build/fuzz-build.log"; fail "the fuzz target does not build"; }
	target=$build/tests/fuzz/fuzz_mmapio

	work=$(mktemp -d "${TMPDIR:-/tmp}/mmapio-fuzz-run-XXXXXX")
	trap 'rm -rf "$work"' EXIT
	mkdir -p "$work/corpus" "$work/artifacts" "$work/files"
	cp tests/fuzz/corpus/* "$work/corpus/"
	# The findings are good seeds too: sequences that once went wrong.
	find tests/fuzz/findings -type f ! -name '*.md' -exec cp {} "$work/corpus/" \;
	files_dir=${FUZZ_DIR:-$work/files}
	export MMAPIO_FUZZ_SHM=${FUZZ_SHM:-/dev/shm}

	echo "fuzz: $target for ${secs}s on $(ls "$work/corpus" | wc -l) seeds," \
		"files in $files_dir and $MMAPIO_FUZZ_SHM"
	# -timeout: one input that runs this long has hung (a ring that never
	# completes, a lock that waits for its own thread).  -rss_limit_mb: the
	# model keeps a few MiB per file and map.
	# shellcheck disable=SC2086
	MMAPIO_FUZZ_DIR=$files_dir "$target" -max_total_time="$secs" -print_final_stats=1 \
		-timeout=60 -rss_limit_mb=4096 -max_len=4096 -artifact_prefix="$work/artifacts/" \
		${FUZZ_ARGS:-} "$work/corpus" >"$work/log" 2>&1
	rc=$?

	# The figures: the last status line (cov, ft, corpus) and the final stats.
	last=$(grep -E '^#[0-9]+' "$work/log" | tail -n 1)
	final_stat() { sed -n "s/^stat::$1: *//p" "$work/log" | tail -n 1; }
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<<"$last")
	execs=$(final_stat number_of_executed_units)
	speed=$(final_stat average_exec_per_sec)
	echo "fuzz: last status: $last"
	echo "fuzz: executions ${execs:-?}, exec/s ${speed:-?}, cov ${cov:-?}, ft ${ft:-?}, corpus ${corp:-?}" \
		"(new units $(final_stat new_units_added), peak rss $(final_stat peak_rss_mb) MB)"

	if [ -n "${FUZZ_CORPUS_OUT:-}" ]; then
		mkdir -p "$FUZZ_CORPUS_OUT" && cp "$work/corpus"/* "$FUZZ_CORPUS_OUT/"
	fi
	findings=$(ls "$work/artifacts" 2>/dev/null | wc -l)
	if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then
		grep -E 'MISMATCH|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|deadly signal|timeout' \
			"$work/log" | head -n 20
		echo "fuzz: --- end of the log ---"
		tail -n 60 "$work/log"
		mkdir -p "$keep"
		cp "$work/log" "$keep/fuzz.log"
		if [ "$findings" -ne 0 ]; then
			cp "$work/artifacts"/* "$keep/"
			echo "fuzz: $findings finding(s) kept in $keep:"
			ls "$keep"
			echo "fuzz: replay one with MMAPIO_FUZZ_TRACE=1 $target FILE;" \
				"shrink it with $target -minimize_crash=1 -runs=10000 FILE"
			# A CI log is often all that is left of a run: each finding's
			# calls and the input itself (base64 -d > FILE gives it back).
			for f in "$work/artifacts"/*; do
				echo "fuzz: --- $(basename "$f"): the calls it makes ---"
				MMAPIO_FUZZ_DIR=$files_dir MMAPIO_FUZZ_TRACE=1 "$target" -timeout=60 "$f" 2>&1 |
					grep -vE '^ +#[0-9]+ 0x' | head -n 80
				echo "fuzz: --- $(basename "$f"): base64 ---"
				base64 -w 76 "$f"
			done
		fi
		echo "fuzz: 0 passed, 1 failed"
		exit 1
	fi
	echo "fuzz: 1 passed, 0 failed"
}

main "$@"
exit $?
