#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# content_run.sh: the protected-content benchmark alone: builds the module
# and the CLI, then runs bench/content_bench.sh in the QEMU test VM through
# bench/run.sh (which builds its tools and takes its CBENCH_* parameters).
# `make bench` runs it together with the lease benchmark in one boot.
#
#   bench/content_run.sh
set -euo pipefail

cd "$(dirname "$0")/.."
mkdir -p build/bench
scripts/deps.sh build vm
for target in module userspace; do
	if ! make "$target" >"build/bench/make-$target.log" 2>&1; then
		echo "bench: make $target failed; last lines of build/bench/make-$target.log:" >&2
		tail -n 20 "build/bench/make-$target.log" | sed 's/^/    | /' >&2
		exit 1
	fi
done
exec bench/run.sh content
