#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: what `make bench` runs. Installs what is missing, builds the
# module and the CLI, then runs the lease datapath benchmark in the QEMU
# guest (bench/run.sh). Numbers come from TCG emulation: compare ratios.
# See Documentation/performance.rst.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
LOGS=$REPO/build/bench
mkdir -p "$LOGS"

scripts/deps.sh build vm
for target in module userspace; do
	if ! make "$target" >"$LOGS/make-$target.log" 2>&1; then
		echo "bench: make $target failed; last lines of build/bench/make-$target.log:" >&2
		tail -n 20 "$LOGS/make-$target.log" | sed 's/^/    | /' >&2
		exit 1
	fi
done
exec bench/run.sh
