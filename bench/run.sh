#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: run the lease datapath benchmark (bench/lease_bench.sh) in the
# QEMU test VM and keep its report. Build first (make module userspace, or
# use `make bench`, which does both).
#
#   bench/run.sh
#
# Parameters go to the guest through build/bench/params.env:
#   BENCH_LEASES BENCH_RATE_COUNT BENCH_SECS BENCH_ROUNDS BENCH_INSERT_BUDGET
#   BENCH_DEADLINE BENCH_LOADER (see bench/lease_bench.sh);
#   BENCH_VM_TIMEOUT is the host-side limit for the VM (1500 s).
# The VM's output lands in build/vm/bench/ (demo.log: the whole run); the
# report, from "=== results" on, is copied to build/bench/lease_bench.txt.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
OUT=$REPO/build/bench
mkdir -p "$OUT"

{
	echo "# written by bench/run.sh $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
	for v in BENCH_LEASES BENCH_RATE_COUNT BENCH_SECS BENCH_ROUNDS BENCH_INSERT_BUDGET \
		BENCH_DEADLINE; do
		if [ -n "${!v:-}" ]; then
			[[ "${!v}" =~ ^[0-9]+$ ]] || { echo "bench: $v must be a number" >&2; exit 2; }
			echo "$v=${!v}"
		fi
	done
	case ${BENCH_LOADER:-} in
	'') ;;
	python) echo "BENCH_LOADER=python" ;;
	*) echo "bench: BENCH_LOADER must be python or empty" >&2; exit 2 ;;
	esac
} >"$OUT/params.env"

# The host side of the guest's CPU-time measurements (see cpu_sampler.sh).
mkdir -p build/vm/bench
bench/cpu_sampler.sh build/vm/bench $$ &
sampler=$!
trap 'kill "$sampler" 2>/dev/null' EXIT

start=$(date +%s)
rc=0
selftests/vm/run.sh --demo bench/lease_bench.sh --results build/vm/bench \
	--timeout "${BENCH_VM_TIMEOUT:-1500}" || rc=$?
secs=$(($(date +%s) - start))
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null || true

log=$REPO/build/vm/bench/demo.log
if [ -f "$log" ] && grep -q '^=== results' "$log"; then
	sed -n '/^=== results/,/^=== end/p' "$log" >"$OUT/lease_bench.txt"
	echo "bench: report in build/bench/lease_bench.txt (full log build/vm/bench/demo.log)"
else
	echo "bench: no report: the run did not finish (see build/vm/bench/console.log)" >&2
	[ "$rc" -eq 0 ] && rc=1
fi
echo "bench: wall time $((secs / 60))m$((secs % 60))s"
exit "$rc"
