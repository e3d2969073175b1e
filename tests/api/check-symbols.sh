#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The shared library exports exactly the functions the header declares and
# the version script lists: no internal mmapio__ symbol leaks out, and no
# declared function is missing.
set -eu
lib=$1 header=$2 map=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 == "T" { sub(/@.*/, "", $3); print $3 }' | sort -u > "$tmp/exported"
grep -A1 'MMAPIO_EXPORT' "$header" | grep -o 'mmapio_[a-z0-9_]*(' | tr -d '(' | sort -u > "$tmp/declared"
grep -o 'mmapio_[a-z0-9_]*;' "$map" | tr -d ';' | sort -u > "$tmp/listed"
status=0
if ! diff -u "$tmp/declared" "$tmp/exported"; then
	echo "exported symbols differ from the header's declarations" >&2
	status=1
fi
if ! diff -u "$tmp/declared" "$tmp/listed"; then
	echo "the version script differs from the header's declarations" >&2
	status=1
fi
exit $status
