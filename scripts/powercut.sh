#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The power-cut durability test (issue 8): builds tests/powercut in
# build-powercut, makes a sparse 256 MiB ext4 image under /var/tmp (journal
# as mkfs.ext4 makes it by default), attaches it to a loop device and runs
# the harness, which mounts it, cuts it off under a writing child again and
# again, remounts it and checks what survived.  See tests/powercut/harness.c.
#
#   bash scripts/powercut.sh [HARNESS OPTION...]
#     e.g. --rounds 50, --case flush,view, --seed 123, --verbose,
#          --no-expect-copy-failure (once the atomic replace has landed)
#
# Exit status: 0 when every case passed, 1 when one failed, 77 (with a
# "SKIP: ..." line) when this machine refuses loop devices or mounting.
# The image, the loop device and the mount are removed on every way out.
set -uo pipefail
cd "$(dirname "$0")/.."

build=build-powercut

skip() {
	echo "SKIP: $*"
	echo "powercut: 0 passed, 0 failed, 1 skipped"
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root for loop devices and mount"
for tool in losetup mkfs.ext4 mount umount mountpoint; do
	command -v "$tool" >/dev/null 2>&1 || skip "$tool is not installed"
done

# Build first: a build error is a failure, not a skip.
sh scripts/deps.sh || exit 1
if [ -d "$build" ]; then
	meson setup --reconfigure "$build" -Dtests=enabled >/dev/null || exit 1
else
	meson setup "$build" -Dtests=enabled >/dev/null || exit 1
fi
if ! out=$(ninja -C "$build" tests/powercut/pc-child tests/powercut/pc-harness 2>&1); then
	printf '%s\n' "$out" >&2
	echo "powercut: 0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d /var/tmp/mmapio-powercut-XXXXXX) || exit 1
img=$work/ext4.img
mnt=$work/mnt
dev=""

# Undoes everything below, in reverse order, whatever happened: the
# harness unmounts by itself, but not if it was SIGKILLed.  The loop device
# is found through the image, so one attached by an interrupted losetup
# goes too.
cleanup() {
	local i d
	for i in $(seq 50); do
		mountpoint -q "$mnt" 2>/dev/null || break
		umount "$mnt" 2>/dev/null || sleep 0.2
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

truncate -s 256M "$img" || exit 1
mkfs.ext4 -q -F "$img" || { echo "mkfs.ext4 failed"; echo "powercut: 0 passed, 1 failed"; exit 1; }
dev=$(losetup -f --show "$img" 2>&1) || skip "loop device refused: $dev"
mkdir "$mnt" || exit 1

# The harness's closing count is held back and printed last, after the
# filesystem check below, so that it stays the run's last line.
summary="" rc=1
while IFS= read -r line; do
	case $line in
	"powercut: "*" passed, "*" failed"*) summary=$line ;;
	"pc-harness-exit="*) rc=${line#pc-harness-exit=} ;;
	*) printf '%s\n' "$line" ;;
	esac
done < <("$build/tests/powercut/pc-harness" --dev "$dev" --mnt "$mnt" \
	--child "$build/tests/powercut/pc-child" "$@"; echo "pc-harness-exit=$?")
if [ "$rc" -eq 77 ]; then
	echo "powercut: 0 passed, 0 failed, 1 skipped"
	exit 77
fi

# The filesystem itself after all those cuts: a finding of the kernel's
# journal, not of the library, so it is reported and not counted.
if command -v e2fsck >/dev/null 2>&1 && ! mountpoint -q "$mnt"; then
	if fsck_out=$(e2fsck -fn "$dev" 2>&1); then
		echo "powercut: e2fsck after the run: clean"
	else
		echo "powercut: e2fsck after the run found problems (not counted):"
		printf '%s\n' "$fsck_out" | head -20
	fi
fi
echo "${summary:-powercut: 0 passed, 1 failed (the harness printed no count)}"
exit "$rc"
