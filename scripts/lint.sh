#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make lint: the style gates. checkpatch --strict on the module and the
# uapi header, a W=1 + sparse (C=2: every file) module build that must print
# no warning, and clang-format on userspace. Exit 1 on any finding.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh lint >&2
fail=0

echo "== checkpatch --strict"
if ! perl build/ksrc/scripts/checkpatch.pl --no-tree --strict --terse \
	--show-types --ignore FILE_PATH_CHANGES \
	-f $(ls kmod/*.[ch] | grep -v "\.mod\.c$") \
	include/uapi/linux/guise.h; then
	fail=1
fi

echo "== module build with W=1 and sparse"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
make -s module W=1 C=2 >"$log" 2>&1 || fail=1
# Kbuild's own chatter is not a finding; anything else is.
if grep -v -e '^make' -e '^  [A-Z]' -e '^Skipping BTF' "$log"; then
	fail=1
else
	echo "clean"
fi

echo "== clang-format"
mapfile -t files < <(git ls-files 'userspace/*.c' 'userspace/*.h' \
	'selftests/*.c')
if [ ${#files[@]} -gt 0 ] &&
   ! clang-format --dry-run --Werror "${files[@]}"; then
	fail=1
else
	echo "clean (${#files[@]} files)"
fi

if [ $fail -ne 0 ]; then
	echo "lint: FAILED"
	exit 1
fi
echo "lint: passed"
