#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: run the benchmarks in ONE boot of the QEMU test VM and print
# their reports: the lease datapath benchmark (bench/lease_bench.sh), then
# the protected-content benchmark (bench/content_bench.sh), then the
# revocation end-to-end benchmark (bench/revoke_bench.sh), then the
# gateway-mode first-packet benchmark (bench/firstpkt_bench.sh), all driven
# by bench/guest.sh. Build the module and the CLI first (`make bench` =
# scripts/bench.sh does it); this builds the content benchmark's tools
# (bench/src/ -> build/bench/).
#
#   bench/run.sh [all|lease|content|revoke|firstpkt|leased|certd|keyd]   (default all)
#
# "leased" is host only (no VM): bench/leased_bench.sh, guise-leased
# against a raw SQLite loop and ISC Kea DHCPv6 on loopback and network
# namespaces (root; scripts/deps.sh bench). "all" runs it on the host after
# the VM; its report goes to build/bench/leased_bench.txt.
# "certd" is host only too: bench/certd_bench.sh (guise-certd's issue 7
# benchmarks (a)-(d): pushed CRL freshness to 10/50 servers, OCSP, CRL
# lookups, cached validations); "all" runs it after leased_bench.sh;
# report build/bench/certd_bench.txt.
# "keyd" is host only: bench/keyd_bench.sh (DEMM/announcement codecs
# against raw OpenSSL EVP, the cost of revoking one client of N); "all"
# runs it last; report build/bench/keyd_bench.txt.
# "revoke" runs bench/revoke_bench.sh in the guest (issue 7 (e)): CRL
# publication to lease removal in the kernel, push against polling.
# "firstpkt" runs bench/firstpkt_bench.sh in the guest (issue 5): the
# delay of the first packet of a new flow H -> P through a gateway whose
# guise-leased rents on LEASE_MISS, p50/p99/max, side by side with the
# same packets once the lease exists, with plain forwarding, and with
# upcalls the prober answers itself (the kernel's hold/release alone).
#
# Parameters (environment) go to the guest through build/bench/params.env
# and build/bench/content_params.env:
#   lease:   BENCH_LEASES BENCH_RATE_COUNT BENCH_SECS BENCH_ROUNDS
#            BENCH_INSERT_BUDGET BENCH_DEADLINE BENCH_LOADER BENCH_NAT_FLOWS
#            BENCH_CT_HASH BENCH_CT_MAX BENCH_CASES BENCH_PERF
#            BENCH_PERF_CASES
#            (see bench/lease_bench.sh)
#   content: CBENCH_SECS CBENCH_ROUNDS CBENCH_ALGS CBENCH_TX CBENCH_RT
#            CBENCH_PREGEN CBENCH_DEADLINE CBENCH_TCRYPT CBENCH_PERF
#            CBENCH_PERF_CASES (see
#            bench/content_bench.sh); BENCH_BASE_MODULE=PATH: a second
#            build of guise.ko, measured as "guise-base" in the same
#            rounds (copied to build/bench/guise-base.ko)
#   revoke:  RBENCH_N RBENCH_BASE_N RBENCH_WATCH RBENCH_POLL (see
#            bench/revoke_bench.sh; in build/bench/params.env)
#   firstpkt: FBENCH_N FBENCH_KERNEL_N FBENCH_REALS FBENCH_GAP_MS
#            FBENCH_STRACE (see bench/firstpkt_bench.sh; in
#            build/bench/params.env)
#   BENCH_VM_TIMEOUT  host-side limit for the VM (2100 s)
#   GUISE_VM_CPU  the TCG guest's CPU model (QEMU -cpu; default max, as
#            for `make check`), passed to selftests/vm/run.sh --cpu and
#            named in each report's header. Under TCG the crypto's SIMD
#            code (AVX2, AES-NI, PCLMULQDQ) runs emulated; a model without
#            those features makes the guest kernel pick the scalar code
#            ("crypto:" lines of the content report): e.g.
#            max,-avx,-avx2,-fma,-f16c,-vaes,-aes,-pclmulqdq,-ssse3,-sse4.1,-sse4.2
#            (ChaCha20-Poly1305 2-3x cheaper under TCG, AES-GCM dearer;
#            guise/plaintext per rx-CPU second about the same: the default
#            stays max, see Documentation/performance.rst "Guest CPU model").
# Defaults keep the whole run near 25 minutes under TCG (firstpkt: about
# 1-3 minutes of it).
#
# The VM's output lands in build/vm/bench/ (demo.log: the whole guest log);
# the reports go to build/bench/lease_bench.txt, content_bench.txt,
# revoke_bench.txt and firstpkt_bench.txt.
# The module and the CLI used are copies (build/bench/guise.ko,
# build/bench/bin/guise), so a rebuild during the run changes nothing.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
OUT=$REPO/build/bench
RES=$REPO/build/vm/bench
LOGS=$OUT/content-build
WHAT=${1:-all}
case $WHAT in
all | lease | content | revoke | firstpkt) ;;
leased) exec bench/leased_bench.sh ;;
certd) exec sh bench/certd_bench.sh ;;
keyd) exec bench/keyd_bench.sh ;;
*) echo "usage: bench/run.sh [all|lease|content|revoke|firstpkt|leased|certd|keyd]" >&2; exit 2 ;;
esac
mkdir -p "$OUT" "$LOGS" "$RES"
VM_CPU=${GUISE_VM_CPU:-max}

# --- the content benchmark's tools ---------------------------------------------
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
[ -f kmod/guise.ko ] || { echo "bench: kmod/guise.ko missing (make module)" >&2; exit 1; }
cp kmod/guise.ko "$OUT/guise.ko"
rm -f "$OUT/guise-base.ko"
if [ -n "${BENCH_BASE_MODULE:-}" ]; then
	cp "$BENCH_BASE_MODULE" "$OUT/guise-base.ko" ||
		{ echo "bench: cannot copy BENCH_BASE_MODULE" >&2; exit 2; }
fi
[ -x build/bin/guise ] || { echo "bench: build/bin/guise missing (make userspace)" >&2; exit 1; }
mkdir -p "$OUT/bin"
cp build/bin/guise "$OUT/bin/guise"	# bench/guest.sh puts it first in PATH

# --- parameters ----------------------------------------------------------------
num() { [[ "${!1}" =~ ^[0-9]+$ ]] || { echo "bench: $1 must be a number" >&2; exit 2; }; }
{
	echo "# written by bench/run.sh $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
	echo "BENCH_WHAT=$WHAT"
	# the lease part stops starting rounds after BENCH_DEADLINE s
	: "${BENCH_DEADLINE:=760}"
	for v in BENCH_LEASES BENCH_RATE_COUNT BENCH_SECS BENCH_ROUNDS BENCH_INSERT_BUDGET \
		BENCH_DEADLINE BENCH_NAT_FLOWS BENCH_CT_HASH BENCH_CT_MAX BENCH_PERF; do
		[ -n "${!v:-}" ] && num "$v" && echo "$v=${!v}"
	done
	for v in RBENCH_N RBENCH_BASE_N RBENCH_POLL FBENCH_N FBENCH_KERNEL_N FBENCH_REALS \
		FBENCH_GAP_MS; do
		[ -n "${!v:-}" ] && num "$v" && echo "$v=${!v}"
	done
	case ${FBENCH_STRACE:-} in
	'' | 0) ;;
	1) echo "FBENCH_STRACE=1" ;;
	*) echo "bench: FBENCH_STRACE must be 0 or 1" >&2; exit 2 ;;
	esac
	if [ -n "${RBENCH_WATCH:-}" ]; then
		[[ "$RBENCH_WATCH" =~ ^[0-9]*\.?[0-9]+$ ]] || { echo "bench: bad RBENCH_WATCH" >&2; exit 2; }
		echo "RBENCH_WATCH=$RBENCH_WATCH"
	fi
	for v in BENCH_CASES BENCH_PERF_CASES; do
		[ -n "${!v:-}" ] || continue
		[[ "${!v}" =~ ^[a-z0-9\ ]+$ ]] || { echo "bench: bad $v" >&2; exit 2; }
		echo "$v='${!v}'"
	done
	case ${BENCH_LOADER:-} in
	'') ;;
	python) echo "BENCH_LOADER=python" ;;
	*) echo "bench: BENCH_LOADER must be python or empty" >&2; exit 2 ;;
	esac
} >"$OUT/params.env"
{
	echo "# written by bench/run.sh $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
	: "${CBENCH_SECS:=3}" "${CBENCH_ROUNDS:=3}" "${CBENCH_DEADLINE:=600}"
	for v in CBENCH_SECS CBENCH_ROUNDS CBENCH_TX CBENCH_RT CBENCH_PREGEN CBENCH_DEADLINE \
		CBENCH_TCRYPT CBENCH_PERF; do
		[ -n "${!v:-}" ] && num "$v" && echo "$v=${!v}"
	done
	if [ -n "${CBENCH_PERF_CASES:-}" ]; then
		[[ "$CBENCH_PERF_CASES" =~ ^[a-z\ ]+$ ]] || { echo "bench: bad CBENCH_PERF_CASES" >&2; exit 2; }
		echo "CBENCH_PERF_CASES='$CBENCH_PERF_CASES'"
	fi
	: "${CBENCH_ALGS:=chacha20-poly1305 aes256-gcm}"
	[[ "$CBENCH_ALGS" =~ ^[a-z0-9\ -]+$ ]] || { echo "bench: bad CBENCH_ALGS" >&2; exit 2; }
	echo "CBENCH_ALGS='$CBENCH_ALGS'"
	if [ -f "$OUT/guise-base.ko" ]; then echo "CBENCH_BASE=build/bench/guise-base.ko"; fi
} >"$OUT/content_params.env"

# --- the VM ------------------------------------------------------------------------
# The host side of the lease part's CPU-time measurements (cpu_sampler.sh).
bench/cpu_sampler.sh "$RES" $$ &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT

load0=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
echo "bench: running the VM ($WHAT, -cpu $VM_CPU), about 25 minutes for all (progress: tail -f build/vm/bench/demo.log)"
rc=0
selftests/vm/run.sh --demo bench/guest.sh --module build/bench/guise.ko --results "$RES" \
	--cpu "$VM_CPU" --timeout "${BENCH_VM_TIMEOUT:-2100}" >"$OUT/vm.log" 2>&1 || rc=$?
secs=$(($(date +%s) - start))
load1=$(cut -d' ' -f1-3 /proc/loadavg)
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true

# report NAME TITLE: the NAME report (between its "=== results" and
# "=== end", after TITLE) from the guest log into build/bench/NAME.txt
log=$RES/demo.log
report() {
	local f=$OUT/$1.txt part=$OUT/$1.part
	# the part of the log from TITLE to its first "=== end"
	[ -f "$log" ] && tr -d '\r' <"$log" | awk -v t="=== $2" 'index($0, t) == 1 { on = 1 }
		on { print } on && /^=== end/ { exit }' >"$part"
	if [ -s "$part" ] && grep '^=== results' "$part" >/dev/null; then
		{
			echo "# $(date -u '+%Y-%m-%d %H:%M UTC'): host $(nproc) CPUs, load average" \
				"$load0 before the VM, $load1 after (other jobs share the host)"
			echo "# guest CPU model: -cpu $VM_CPU (TCG; GUISE_VM_CPU)"
			grep -m5 -E '^(kernel |CPU flags|OpenSSL |module |crypto)' "$part"
			sed -n '/^=== results/,$p' "$part"
		} >"$f"
		cat "$f"
		echo
	else
		echo "bench: no $1 report: that part did not finish (see build/vm/bench/demo.log)" >&2
		if [ "$rc" -eq 0 ]; then rc=1; fi
	fi
	rm -f "$part"
}
case $WHAT in all | lease) report lease_bench "guise lease datapath benchmark" ;; esac
case $WHAT in all | content) report content_bench "guise content datapath benchmark" ;; esac
case $WHAT in all | revoke) report revoke_bench "guise revocation end-to-end benchmark" ;; esac
case $WHAT in all | firstpkt) report firstpkt_bench "guise first-packet benchmark" ;; esac
echo "bench: reports in build/bench/{lease,content,revoke,firstpkt}_bench.txt, guest log build/vm/bench/demo.log"
echo "bench: wall time $((secs / 60))m$((secs % 60))s"
# The host-only part, after the VM so the two do not share the CPUs.
if [ "$WHAT" = all ]; then
	echo "bench: guise-leased against SQLite and Kea on the host (bench/leased_bench.sh)"
	bench/leased_bench.sh || { echo "bench: bench/leased_bench.sh failed" >&2; rc=1; }
	echo "bench: guise-certd's benchmarks on the host (bench/certd_bench.sh)"
	sh bench/certd_bench.sh || { echo "bench: bench/certd_bench.sh failed" >&2; rc=1; }
	echo "bench: guise-keyd's codec and revocation-cost benchmark (bench/keyd_bench.sh)"
	bench/keyd_bench.sh || { echo "bench: bench/keyd_bench.sh failed" >&2; rc=1; }
fi
exit "$rc"
