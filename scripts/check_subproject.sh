#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Builds a throwaway superproject that uses this tree as the meson
# subproject subprojects/mmapio and checks what a user would see:
#
#  - dependency('mmapio') with -Ddefault_library=static links the static
#    library (the program needs no libmmapio.so) and the program runs;
#  - with the default (shared) it links libmmapio.so.0 and runs;
#  - as a subproject, mmapio defines no test, benchmark or example target
#    unless asked, and -Dmmapio:tests=enabled brings its tests back.
#
# Usage: sh scripts/check_subproject.sh.  Exit status 0 means it passed.
set -eu
cd "$(dirname "$0")/.."
src=$(pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mmapio-super-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

mkdir -p "$tmp/super/subprojects"
ln -s "$src" "$tmp/super/subprojects/mmapio"
cat > "$tmp/super/meson.build" <<'EOF'
project('super', 'c', default_options: ['c_std=c11'])
mmapio_dep = dependency('mmapio')
executable('user', 'user.c', dependencies: mmapio_dep)
EOF
cat > "$tmp/super/user.c" <<'EOF'
#include <mmapio.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	char path[4096], back[6] = "";
	mmapio_map *map = NULL;

	if (argc != 2)
		return 2;
	snprintf(path, sizeof(path), "%s/f", argv[1]);
	if (mmapio_create(path, 4096, NULL, &map) != 0 || mmapio_write(map, 0, "hello", 5) != 0 ||
	    mmapio_read(map, 0, back, 5) != 0 || mmapio_flush(map) != 0 || mmapio_close(map) != 0 ||
	    mmapio_delete(path) != 0 || strcmp(back, "hello") != 0)
		return 1;
	printf("mmapio %s works from a subproject\n", mmapio_version_string());
	return 0;
}
EOF

fail() {
	echo "check_subproject: $*" >&2
	exit 1
}

# Lists the names of the targets of the build directory $1, one a line.
targets() {
	meson introspect --targets "$1" |
		python3 -c 'import json, sys; print("\n".join(t["name"] for t in json.load(sys.stdin)))'
}

# Configures the superproject into $1 with the remaining options, builds
# and runs the program.
build_and_run() {
	dir=$1
	shift
	meson setup "$dir" "$tmp/super" --force-fallback-for=mmapio "$@" >"$tmp/setup.log" 2>&1 ||
		{ cat "$tmp/setup.log"; fail "meson setup $* failed"; }
	ninja -C "$dir" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log"; fail "build $* failed"; }
	mkdir -p "$dir/run"
	"$dir/user" "$dir/run" || fail "the program built with $* failed"
}

# 1. Static: the program carries the library; nothing of mmapio's own is built.
build_and_run "$tmp/static" -Ddefault_library=static
if readelf -d "$tmp/static/user" | grep -q 'libmmapio'; then
	fail "default_library=static: the program still needs libmmapio.so"
fi
nm "$tmp/static/user" | grep -q ' T mmapio_create$' ||
	fail "default_library=static: mmapio_create is not in the program"
[ -e "$tmp/static/subprojects/mmapio/libmmapio.a" ] ||
	fail "default_library=static: no libmmapio.a"
[ ! -e "$tmp/static/subprojects/mmapio/libmmapio.so" ] ||
	fail "default_library=static: libmmapio.so was built too"
if targets "$tmp/static" | grep -E '^(test_|mmapio-bench|example-|abi-layout|dlclose-check|version-check)'; then
	fail "as a subproject mmapio defined the targets above without being asked"
fi
echo "check_subproject: default_library=static links libmmapio.a; no tests, benchmarks or examples"

# 2. Shared (the default): the program needs libmmapio.so.0.
build_and_run "$tmp/shared"
readelf -d "$tmp/shared/user" | grep -q 'NEEDED.*libmmapio\.so\.0' ||
	fail "default_library=shared: the program does not link libmmapio.so.0"
echo "check_subproject: default_library=shared links libmmapio.so.0"

# 3. Asked for, the tests come back (configured only, not built).
meson setup "$tmp/tests" "$tmp/super" --force-fallback-for=mmapio -Dmmapio:tests=enabled \
	>"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log"; fail "meson setup -Dmmapio:tests=enabled failed"; }
targets "$tmp/tests" | grep -q '^abi-layout$' ||
	fail "-Dmmapio:tests=enabled: the tests were not defined"
echo "check_subproject: -Dmmapio:tests=enabled defines the tests"
