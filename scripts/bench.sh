#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# bench.sh: what `make bench` runs. Installs what is missing, builds the
# module and the CLI, then runs the lease datapath benchmark and the
# protected-content benchmark in ONE boot of the QEMU guest (bench/run.sh,
# about 22 minutes under TCG), then the daemons' host-only benchmarks
# (bench/leased_bench.sh, certd_bench.sh, keyd_bench.sh), and prints the
# reports with their ratios.
# Numbers come from TCG emulation on a shared host: compare the ratios,
# measured side by side in the same run. See Documentation/performance.rst.
set -euo pipefail

cd "$(dirname "$0")/.."
LOGS=build/bench
mkdir -p "$LOGS"

scripts/deps.sh build vm bench
for target in module userspace; do
	if ! make "$target" >"$LOGS/make-$target.log" 2>&1; then
		echo "bench: make $target failed; last lines of build/bench/make-$target.log:" >&2
		tail -n 20 "$LOGS/make-$target.log" | sed 's/^/    | /' >&2
		exit 1
	fi
done
exec bench/run.sh all
