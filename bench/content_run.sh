#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# content_run.sh: the protected-content datapath benchmark, host side.
# Builds the module, the CLI and the benchmark's tools (bench/src/ ->
# build/bench/), runs bench/content_bench.sh in the QEMU test VM and prints
# its report (also kept in build/bench/content_bench.txt; the whole guest
# log is build/vm/cbench/demo.log).
#
#   bench/content_run.sh
#
# Parameters go to the guest through build/bench/content_params.env:
#   CBENCH_SECS CBENCH_ROUNDS CBENCH_ALGS CBENCH_TX CBENCH_RT CBENCH_PREGEN
#   (see bench/content_bench.sh);
#   CBENCH_VM_TIMEOUT host-side limit for the VM (1500 s).
# Numbers come from TCG emulation on a shared 2-core host: compare the
# ratios measured side by side in one run, not the absolute rates.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
OUT=$REPO/build/bench
LOGS=$OUT/content-build
mkdir -p "$OUT" "$LOGS"

[ -x scripts/deps.sh ] && scripts/deps.sh build vm
for target in module userspace; do
	if ! make "$target" >"$LOGS/make-$target.log" 2>&1; then
		echo "bench: make $target failed; last lines of ${LOGS#"$REPO"/}/make-$target.log:" >&2
		tail -n 20 "$LOGS/make-$target.log" | sed 's/^/    | /' >&2
		exit 1
	fi
done
CFLAGS=(-std=gnu11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude/uapi)
for tool in mcast_send udp_count relay; do
	libs=()
	[ "$tool" != udp_count ] && libs=(-lcrypto)
	if ! gcc "${CFLAGS[@]}" -o "$OUT/$tool" "bench/src/$tool.c" "${libs[@]}" \
		>"$LOGS/$tool.log" 2>&1; then
		echo "bench: building bench/src/$tool.c failed:" >&2
		sed 's/^/    | /' "$LOGS/$tool.log" >&2
		exit 1
	fi
done

{
	echo "# written by bench/content_run.sh $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
	for v in CBENCH_SECS CBENCH_ROUNDS CBENCH_TX CBENCH_RT CBENCH_PREGEN; do
		if [ -n "${!v:-}" ]; then
			[[ "${!v}" =~ ^[0-9]+$ ]] || { echo "bench: $v must be a number" >&2; exit 2; }
			echo "$v=${!v}"
		fi
	done
	if [ -n "${CBENCH_ALGS:-}" ]; then
		[[ "$CBENCH_ALGS" =~ ^[a-z0-9\ -]+$ ]] || { echo "bench: bad CBENCH_ALGS" >&2; exit 2; }
		echo "CBENCH_ALGS='$CBENCH_ALGS'"
	fi
} >"$OUT/content_params.env"

echo "bench: running the VM, about 12 minutes (progress: tail -f build/bench/content_vm.log)"
load0=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
rc=0
selftests/vm/run.sh --demo bench/content_bench.sh --results build/vm/cbench \
	--timeout "${CBENCH_VM_TIMEOUT:-1500}" >"$OUT/content_vm.log" 2>&1 || rc=$?
secs=$(($(date +%s) - start))

log=$REPO/build/vm/cbench/demo.log
if [ -f "$log" ] && grep -q '^=== results' "$log"; then
	{
		grep -m1 '^kernel ' "$log"
		grep -m1 '^CPU flags' "$log"
		grep -m1 '^OpenSSL ' "$log"
		echo "host: $(nproc) CPUs, load average $load0 before the run, $(cut -d' ' -f1-3 /proc/loadavg) after"
		sed -n '/^=== results/,/^=== end/p' "$log"
	} | tr -d '\r' >"$OUT/content_bench.txt"
	cat "$OUT/content_bench.txt"
	echo "bench: report in build/bench/content_bench.txt (guest log build/vm/cbench/demo.log)"
else
	echo "bench: no report: the run did not finish; last lines of the VM's output:" >&2
	tail -n 30 "$OUT/content_vm.log" | sed 's/^/    | /' >&2
	[ "$rc" -eq 0 ] && rc=1
fi
echo "bench: wall time $((secs / 60))m$((secs % 60))s"
exit "$rc"
