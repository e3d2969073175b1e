#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The power-cut durability test (issue 8): builds tests/powercut in
# build-powercut, makes a sparse 256 MiB ext4 image under /var/tmp (journal
# as mkfs.ext4 makes it by default), attaches it to a loop device and runs
# the harness, which mounts it, cuts it off under a writing child again and
# again, remounts it and checks what survived.  See tests/powercut/harness.c.
#
#   bash scripts/powercut.sh [HARNESS OPTION...]
#     e.g. --rounds 50, --case flush,view, --seed 123, --verbose
#
# Exit status: 0 when every case passed, 1 when one failed, 77 (with a
# "SKIP: ..." line) when this machine refuses loop devices or mounting.
# The image, the loop device and the mount are removed on every way out.
# The harness ends with e2fsck -n of the image (reported, not counted).
# shellcheck disable=SC2317 # cleanup and stop run from traps
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

build="build-powercut"

skip() {
	echo "SKIP: $*"
	echo "powercut: 0 passed, 0 failed, 1 skipped"
	exit 77
}

fail() {
	echo "powercut: $*"
	echo "powercut: 0 passed, 1 failed"
	exit 1
}

[ "$(id -u)" -eq 0 ] || skip "needs root for loop devices and mount"
for tool in losetup mkfs.ext4 mount umount mountpoint; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done

work=$(mktemp -d /var/tmp/mmapio-powercut-XXXXXX) || exit 1
img=$work/ext4.img
mnt=$work/mnt
dev=""

# Undoes everything below, in reverse order, whatever happened: the
# harness unmounts by itself, but not if it was SIGKILLed.  The loop device
# is found through the image, so one attached by an interrupted losetup
# goes too.
cleanup() {
	local tries=50 d
	while [ "$tries" -gt 0 ] && mountpoint -q "$mnt" 2>/dev/null; do
		umount "$mnt" 2>/dev/null || sleep 0.2
		tries=$((tries - 1))
	done
	for d in $(losetup -n -O NAME -j "$img" 2>/dev/null); do
		losetup -d "$d" 2>/dev/null
	done
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

truncate -s 256M "$img" || fail "cannot make $img"
mkfs.ext4 -q -F "$img" || fail "mkfs.ext4 failed"
dev=$(losetup -f --show "$img" 2>&1) || skip "loop device refused: $dev"
mkdir "$mnt" || fail "cannot make $mnt"

# Built once the machine has shown it can run the test: a build error
# is a failure, not a skip.
sh scripts/deps.sh || fail "installing the build dependencies failed"
if [ -d "$build" ]; then
	meson setup --reconfigure "$build" -Dtests=enabled >/dev/null || fail "meson setup failed"
else
	meson setup "$build" -Dtests=enabled >/dev/null || fail "meson setup failed"
fi
if ! out=$(ninja -C "$build" tests/powercut/pc-child tests/powercut/pc-harness 2>&1); then
	printf '%s\n' "$out" >&2
	fail "the build failed"
fi

# In the background, so that a signal to this script is passed on to the
# harness (which kills its child and unmounts) and waited for before the
# trap removes the loop device and the image under it.
"$build/tests/powercut/pc-harness" --dev "$dev" --mnt "$mnt" \
	--child "$build/tests/powercut/pc-child" "$@" &
harness=$!
stop() {
	kill -"$1" "$harness" 2>/dev/null
	wait "$harness"
	exit "$2"
}
trap 'stop INT 130' INT
trap 'stop TERM 143' TERM
trap 'stop HUP 129' HUP
wait "$harness"
rc=$?
[ "$rc" -eq 77 ] && echo "powercut: 0 passed, 0 failed, 1 skipped"
exit "$rc"
