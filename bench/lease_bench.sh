#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lease_bench: the lease datapath benchmark. Runs INSIDE the test VM
# (bench/run.sh starts it with selftests/vm/run.sh --demo), working
# directory = the checkout, $MODULE = the module to load.
#
# One gateway namespace per topology, all alike, all in one boot:
#
#   bp-CASE-0 sc --veth-- p-CASE-0 \
#                                   bg-T (gateway G) g1 --veth-- k0 bk-T (sink K)
#   bp-CASE-1 sc --veth-- p-CASE-1 /
#
# T is the case's topology: plain, g1 (guise, 1 lease), gn (guise, N
# leases), nat (nftables NAT66), natr and natw (nftables NAT66 for many
# flows: see below), npt (ip6tables NPTv6); the random-peer cases of plain
# and guise share the topology of their one-flow twin. Case "direct" has no
# gateway: its senders are wired straight to its sink, to measure what
# generating and sinking a packet costs by itself.
#
# G routes the peers 2001:db8:2::/64 to K (permanent neighbour entry: no ND
# in the loop); K drops everything at tc ingress, after its rx counter.
# pktgen in bp-CASE-X (kpktgend_X: vCPU X) sends 78-byte frames (64-byte
# IPv6/UDP packets) from R = 2001:db8:1::10 to one peer P = 2001:db8:2::1,
# or to random peers 2001:db8:2::0 .. N-1 (N a power of two), or to random
# peers 2001:db8:2::0 .. F-1 (F = BENCH_NAT_FLOWS, a power of two <= N).
# Each peer is one UDP flow (ports 9 -> 9). Everything a
# packet costs (pktgen, G, K) is paid on vCPU X, in softirq right after
# pktgen's transmit; this shell stays on the other vCPU meanwhile.
#
# Measuring: the host runs other TCG guests, so wall-clock rates drift by
# 2-3x within minutes. bench/cpu_sampler.sh (started by bench/run.sh) reads
# how much host CPU time each vCPU thread got; the guest asks for a sample
# before and after every run through files in its results export. The
# figure of merit is a case's cost in host CPU ns per packet delivered to
# K, i.e. packets per vCPU-second, which is independent of the host's load.
# Without the sampler, wall-clock time is used instead (and said so).
# Every case runs once on each vCPU per round; the cases' order rotates.
# Ratios are computed per round and the median over rounds is shown with
# the spread. "gateway only" ratios subtract the direct case's cost (the
# generator and the sink) from both sides.
#
# NAT66 for many flows. With conntrack every new flow costs an entry and
# a NAT binding; a lease is per peer and needs no per-flow state. natr
# sends the traffic of "guise, N leases, random peers" (random peers over
# all N: nearly every packet starts a new conntrack entry, which lives 30 s
# unreplied) through NAT66 (snat of 2001:db8:2::/64-bound traffic to V1,
# dnat of V1 back), natw the traffic of "guise, N leases, random peers
# over F" through the same rules after a warm-up that created the F
# entries (UDP timeout 3600 s in that gateway, so they stay): conntrack
# then only looks them up. The conntrack table (global, shared by the
# gateways) is sized by BENCH_CT_HASH and BENCH_CT_MAX so that it never
# drops for lack of space; its per-gateway counters (entries,
# insert_failed, drop, early_drop, ...; 6.1 no longer counts "insert" and
# "found") are reported.
#
# Also: kernel memory per lease (SUnreclaim + Percpu + VmallocUsed deltas
# around loading N leases), idle CPU with N leases (lease expiry), and
# lease insertion (guise lease load) against IPv6 route insertion (ip
# -batch) of the same count, interleaved in chunks, on one vCPU.
#
# Parameters (environment, or build/bench/params.env from bench/run.sh):
#   BENCH_LEASES         N, a power of two (default 1048576; halved until
#                        the estimated load time and memory fit)
#   BENCH_RATE_COUNT     leases and routes for the insert-rate test (262144)
#   BENCH_SECS           seconds per run (3)
#   BENCH_ROUNDS         rounds over all cases (4)
#   BENCH_DEADLINE       start no round after this many seconds (1020)
#   BENCH_INSERT_BUDGET  seconds allowed for loading N leases (480)
#   BENCH_NAT_FLOWS      F, flows of the warm NAT66 case and its guise twin
#                        (default 65536; a power of two, at most N)
#   BENCH_CT_HASH        conntrack buckets (hashsize, default 262144)
#   BENCH_CT_MAX         nf_conntrack_max (default 1048576)
#   BENCH_CASES          measure only these cases (space-separated names,
#                        e.g. "direct plain g1 gnr natr"); default all
#   BENCH_PERF=1         after the rounds, profile the cases of
#                        BENCH_PERF_CASES (default "g1 gnr gnw natr natw")
#                        with perf (cpu-clock, the vCPU of the case; the
#                        host's perf, Debian package linux-perf) and print
#                        the top symbols; data in BENCH_CPU_DIR
#   BENCH_LOADER=python  insert with bench/lease_insert.py even when
#                        `guise lease load` exists
#   BENCH_CPU_DIR        the results export the sampler watches
#                        (build/vm/bench)
#
# A case that cannot run prints "skipped: why"; the script exits 0 unless
# the module cannot be loaded.
set -uo pipefail

MODULE=${MODULE:-kmod/guise.ko}
# shellcheck source=/dev/null
[ -f build/bench/params.env ] && source build/bench/params.env
# shellcheck source=bench/guest_lib.sh
source bench/guest_lib.sh
N_WANT=${BENCH_LEASES:-1048576}
N=$N_WANT
M=${BENCH_RATE_COUNT:-262144}
SECS=${BENCH_SECS:-3}
ROUNDS=${BENCH_ROUNDS:-4}
DEADLINE=${BENCH_DEADLINE:-1020}	# no new round after this many seconds
BUDGET=${BENCH_INSERT_BUDGET:-480}
CPU_DIR=${BENCH_CPU_DIR:-build/vm/bench}
F=${BENCH_NAT_FLOWS:-65536}
CT_HASH=${BENCH_CT_HASH:-262144}
CT_MAX=${BENCH_CT_MAX:-1048576}
CASE_SEL=${BENCH_CASES:-}
PERF=${BENCH_PERF:-0}
PERF_CASES=${BENCH_PERF_CASES:-g1 gnr gnw natr natw}
CHUNK=16384	# lines per ip/guise process in the insert-rate test
T0=$(date +%s)

R=2001:db8:1::10
P1=2001:db8:2::1
V1=2001:db8:ff::1
TMP=$(mktemp -d /tmp/lease_bench.XXXXXX)
declare -a NSS=() HOLDERS=()
declare -A CTLFD=() DONEFD=() NSPID=()

say() { printf '%s\n' "$*"; }
log() { printf '# [%4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }
now_ns() { date +%s%N; }
# fdiv A B [DIGITS]: A/B with DIGITS decimals ("-" if B is 0 or empty)
fdiv() { awk -v a="${1:-}" -v b="${2:-}" -v d="${3:-2}" \
	'BEGIN { if (a == "" || b == "" || b + 0 == 0) print "-"; else printf "%.*f\n", d, a / b }'; }

cleanup() {
	local ns p
	for p in "${HOLDERS[@]}"; do kill "$p" 2>/dev/null; done
	for ns in "${NSS[@]}"; do
		ip netns exec "$ns" sh -c 'echo stop >/proc/net/pktgen/pgctrl' 2>/dev/null
		ip netns delete "$ns" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

mkns() { ip netns add "$1" && NSS+=("$1") && ip -n "$1" link set lo up; }
# nsholder NS: a process that lives in NS, NSPID[NS], so that counters of
# NS can be read from /proc/PID/net/ with shell builtins (no process start
# per sample: under TCG one costs ~0.3 s of the measured vCPUs)
nsholder() {
	local pid i me
	ip netns exec "$1" bash -c 'exec 3<>"$0"; read -r -u 3 _' "$TMP/never" &
	pid=$!
	HOLDERS+=("$pid")
	me=$(readlink /proc/self/ns/net)
	for ((i = 0; i < 100; i++)); do
		[ "$(readlink "/proc/$pid/ns/net" 2>/dev/null)" != "$me" ] && break
		bsleep 0.05
	done
	NSPID[$1]=$pid
}
# dev_rx PID DEV: received packets of DEV in PID's netns (/proc/PID/net/dev)
dev_rx() {
	local line f
	while IFS= read -r line; do
		line=${line#"${line%%[![:space:]]*}"}
		[ "${line%%:*}" = "$2" ] || continue
		read -r -a f <<<"${line#*:}"
		echo "${f[1]}"
		return
	done <"/proc/$1/net/dev"
	echo 0
}
delns() {
	local i
	ip netns delete "$1" 2>/dev/null
	for i in "${!NSS[@]}"; do
		[ "${NSS[i]}" = "$1" ] && unset 'NSS[i]'
	done
	NSS=("${NSS[@]}")
	return 0
}

mac_of() { ip -n "$1" link show "$2" | awk '/link\/ether/ { print $2 }'; }
lease_count() { guise -n "$1" -j config show 2>/dev/null |
	grep -o '"lease_count": *[0-9]*' | grep -o '[0-9]*$'; }
# mem_kb: "SUnreclaim Percpu VmallocUsed" in kB
mem_kb() { awk '/^(SUnreclaim|Percpu|VmallocUsed):/ { v[$1] = $2 }
	END { print v["SUnreclaim:"] + 0, v["Percpu:"] + 0, v["VmallocUsed:"] + 0 }' /proc/meminfo; }
avail_kb() { awk '/^MemAvailable:/ { print $2 }' /proc/meminfo; }
settle() { sync; echo 2 >/proc/sys/vm/drop_caches 2>/dev/null; sleep "${1:-3}"; }
# bsleep SECS: sleep without starting a process (TCG makes fork+exec cost
# milliseconds of the very vCPU time being measured)
mkfifo "$TMP/never" && exec {SLEEPFD}<>"$TMP/never"
bsleep() { read -r -t "$1" -u "$SLEEPFD" _; return 0; }
# pin CPU: this shell (and what it starts from now on) runs on vCPU CPU
pin() { taskset -pc "$1" "$BASHPID" >/dev/null 2>&1; }

# leases_file COUNT FILE: lease i is (R, 2001:db8:2::i) -> 2001:db8:ff::i
leases_file() {
	awk -v n="$1" -v r="$R" 'BEGIN { for (i = 0; i < n; i++) {
		h = int(i / 65536); l = i % 65536
		printf "%s 2001:db8:2::%x:%x 2001:db8:ff::%x:%x lifetime 1h\n", r, h, l, h, l } }' >"$2"
}
routes_file() {
	awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
		printf "route add 2001:db8:2::%x:%x/128 dev d0\n", int(i / 65536), i % 65536 }' >"$2"
}

# --- host CPU time of the vCPUs (bench/cpu_sampler.sh) ---------------------------

HOST_CPU=0 NO_SAMPLER=0 SEQ=0 TID0='' TID1='' SAMPLE=''
# host_sample: SAMPLE = one line "WALL_NS TID:RUN_NS ..." from the host
# sampler. Shell builtins only: no process runs on the measured vCPUs.
host_sample() {
	local i id rest
	SAMPLE=''
	[ "$NO_SAMPLER" -eq 1 ] && return 1
	SEQ=${EPOCHREALTIME/./}	# unique, also from subshells
	# one short write: the host reads the old id, nothing, or the new id
	echo "$SEQ" 2>/dev/null >"$CPU_DIR/cpu.req" || return 1
	for ((i = 0; i < 400; i++)); do
		if read -r id rest 2>/dev/null <"$CPU_DIR/cpu.ack" && [ "$id" = "$SEQ" ]; then
			SAMPLE=$rest
			return 0
		fi
		bsleep 0.02
	done
	return 1
}
# tid_ns TID SAMPLE: that thread's run time in the sample
tid_ns() {
	local w
	for w in $2; do
		[ "${w%%:*}" = "$1" ] && { echo "${w#*:}"; return; }
	done
}
# busiest S1 S2: the thread that ran most between two samples, and how long
busiest() { awk -v a="$1" -v b="$2" 'BEGIN { n = split(a, x, " "); for (i = 2; i <= n; i++) {
		split(x[i], y, ":"); old[y[1]] = y[2] }
	n = split(b, x, " "); for (i = 2; i <= n; i++) { split(x[i], y, ":")
		if (y[1] in old && y[2] - old[y[1]] > best) { best = y[2] - old[y[1]]; who = y[1] } }
	printf "%s %.0f\n", who, best }'; }
# cpu_setup: find the QEMU threads of vCPU 0 and 1 by burning each for 2 s
cpu_setup() {
	local s0 s1 s2 d0 d1
	[ -w "$CPU_DIR" ] || { CPU_WHY="no writable $CPU_DIR"; return 1; }
	host_sample || { CPU_WHY="no answer from bench/cpu_sampler.sh on the host"; return 1; }
	s0=$SAMPLE
	taskset -c 0 timeout 2 sh -c 'while :; do :; done'
	host_sample || return 1
	s1=$SAMPLE
	taskset -c 1 timeout 2 sh -c 'while :; do :; done'
	host_sample || return 1
	s2=$SAMPLE
	read -r TID0 d0 <<<"$(busiest "$s0" "$s1")"
	read -r TID1 d1 <<<"$(busiest "$s1" "$s2")"
	if [ -z "$TID0" ] || [ "$TID0" = "$TID1" ] || [ "$d0" -lt 100000000 ] || [ "$d1" -lt 100000000 ]; then
		CPU_WHY="could not tell the vCPU threads apart ($TID0: $d0 ns, $TID1: $d1 ns)"
		return 1
	fi
	log "vCPU 0 = host thread $TID0 (${d0} ns in a 2 s burn), vCPU 1 = $TID1 (${d1} ns)"
}
# vcpu_ns CPU S1 S2: host ns vCPU CPU ran between two samples ("" if unknown)
vcpu_ns() {
	local tid a b
	[ "$HOST_CPU" -eq 1 ] || return 0
	tid=$TID0
	[ "$1" -eq 1 ] && tid=$TID1
	a=$(tid_ns "$tid" "$2") b=$(tid_ns "$tid" "$3")
	[ -n "$a" ] && [ -n "$b" ] && echo $((b - a))
}

# --- module, tools ------------------------------------------------------------------

say "=== guise lease datapath benchmark"
bench_load_module
bench_describe

HAVE_PKTGEN=1 WHY_PKTGEN=''
modprobe pktgen 2>"$TMP/err" || { HAVE_PKTGEN=0; WHY_PKTGEN="modprobe pktgen: $(head -c 200 "$TMP/err")"; }
if [ "$(nproc)" -lt 2 ] || ! command -v taskset >/dev/null; then
	HAVE_PKTGEN=0 WHY_PKTGEN="needs 2 vCPUs and taskset (util-linux)"
fi
HAVE_LOAD=0
guise lease help 2>&1 | grep -q '^ *load ' && HAVE_LOAD=1
[ "${BENCH_LOADER:-}" = python ] && HAVE_LOAD=0
if [ "$HAVE_LOAD" -eq 1 ]; then
	LOADER="guise lease load"
	LOADER_NOTE="guise lease load: pipelined, up to 256 requests per sendmsg, one ack per batch"
else
	LOADER="bench/lease_insert.py"
	LOADER_NOTE="bench/lease_insert.py: pipelined, its speed is Python's"
fi
HAVE_TCPDUMP=1
command -v tcpdump >/dev/null || HAVE_TCPDUMP=0
NFT_WHY=''
command -v nft >/dev/null || NFT_WHY="nft not installed (Debian package nftables)"
NPT_CMD='' NPT_WHY=''
for c in ip6tables-legacy ip6tables; do
	if command -v "$c" >/dev/null; then NPT_CMD=$c; break; fi
done
[ -n "$NPT_CMD" ] || NPT_WHY="ip6tables not installed (Debian package iptables)"

CPU_WHY=''
pin 1
if command -v taskset >/dev/null && cpu_setup; then
	HOST_CPU=1
	UNIT="host CPU time of the vCPU that did the work (bench/cpu_sampler.sh)"
else
	NO_SAMPLER=1
	UNIT="WALL-CLOCK time (${CPU_WHY:-no taskset}): skewed by the host's load"
	log "no host CPU times: $CPU_WHY; falling back to wall-clock time"
fi

# insert_leases NS FILE COUNT TIMEOUT [START]: add the leases of FILE, or
# without `guise lease load`, leases START..START+COUNT-1 with
# bench/lease_insert.py (the same addresses as FILE). On vCPU 0.
insert_leases() {
	if [ "$HAVE_LOAD" -eq 1 ]; then
		timeout "$4" taskset -c 0 guise -n "$1" lease load "$2" >"$TMP/load.out" 2>&1
	else
		timeout "$4" taskset -c 0 ip netns exec "$1" python3 bench/lease_insert.py "$3" "${5:-0}" \
			>"$TMP/load.out" 2>&1
	fi
}
# timed CMD...: run CMD; TIMED_WALL and TIMED_CPU (vCPU 0 host ns, or the
# wall time without the sampler) say what it took
timed() {
	local s1 s2 t1 t2 rc
	host_sample
	s1=$SAMPLE
	t1=$(now_ns)
	"$@"
	rc=$?
	t2=$(now_ns)
	host_sample
	s2=$SAMPLE
	TIMED_WALL=$((t2 - t1))
	TIMED_CPU=$(vcpu_ns 0 "$s1" "$s2")
	TIMED_CPU=${TIMED_CPU:-$TIMED_WALL}
	return $rc
}

# --- insert rate: guise lease load vs ip -batch, M of each, in chunks --------------

say ""
say "--- insertion: $M leases ($LOADER) vs $M IPv6 routes (ip -batch)"
LEASE_RATE='' ROUTE_RATE='' LEASE_WRATE='' ROUTE_WRATE='' BPL_EST='' RATE_WHY=''
M=$(((M + CHUNK - 1) / CHUNK * CHUNK))
leases_file "$M" "$TMP/rate_leases.txt"
routes_file "$M" "$TMP/rate_routes.txt"
split -l "$CHUNK" -a 3 "$TMP/rate_leases.txt" "$TMP/lchunk."
split -l "$CHUNK" -a 3 "$TMP/rate_routes.txt" "$TMP/rchunk."
rm -f "$TMP/rate_leases.txt" "$TMP/rate_routes.txt"
mkns br-route
ip -n br-route link add d0 type dummy && ip -n br-route link set d0 up
mkns br-lease
guise -n br-lease config set enabled on vprefix 2001:db8:ff::/48 max-leases $((M > N ? M : N)) >/dev/null
# Warm up both paths (TCG translates code on first use), then drop what
# the warm-up added.
head -n 2048 "$TMP/rchunk.aaa" >"$TMP/warm_routes.txt"
head -n 2048 "$TMP/lchunk.aaa" >"$TMP/warm_leases.txt"
taskset -c 0 ip -n br-route -batch "$TMP/warm_routes.txt" >/dev/null 2>&1
ip -n br-route -6 route flush dev d0 >/dev/null 2>&1
insert_leases br-lease "$TMP/warm_leases.txt" 2048 60
guise -n br-lease lease flush >/dev/null
settle 2
# Chunks alternate (route chunk, lease chunk, ...) so that drift in the
# host's load hits both alike; one `ip -batch` per chunk also keeps ip's
# memory bounded (its RSS grows by kilobytes per batch line).
r_cpu=0 l_cpu=0 r_wall=0 l_wall=0 i=0
for f in "$TMP"/rchunk.*; do
	lf=$TMP/lchunk.${f##*.}
	timed timeout 300 taskset -c 0 ip -n br-route -batch "$f" >"$TMP/route.out" 2>&1 ||
		{ RATE_WHY="ip -batch failed: $(head -c 200 "$TMP/route.out")"; break; }
	r_cpu=$((r_cpu + TIMED_CPU)) r_wall=$((r_wall + TIMED_WALL))
	timed insert_leases br-lease "$lf" "$CHUNK" 300 $((i * CHUNK)) ||
		{ RATE_WHY="lease insert failed: $(head -c 200 "$TMP/load.out")"; break; }
	l_cpu=$((l_cpu + TIMED_CPU)) l_wall=$((l_wall + TIMED_WALL)) i=$((i + 1))
	rm -f "$f" "$lf"
done
nroutes=$(ip -n br-route -6 route show dev d0 | grep -c '^2001:db8:2::')
lcount=$(lease_count br-lease)
if [ -z "$RATE_WHY" ] && [ "$nroutes" -eq "$M" ] && [ "${lcount:-0}" -eq "$M" ]; then
	ROUTE_RATE=$(fdiv $((M * 1000)) $((r_cpu / 1000000)) 0)
	LEASE_RATE=$(fdiv $((M * 1000)) $((l_cpu / 1000000)) 0)
	ROUTE_WRATE=$(fdiv $((M * 1000)) $((r_wall / 1000000)) 0)
	LEASE_WRATE=$(fdiv $((M * 1000)) $((l_wall / 1000000)) 0)
	say "routes: $M, $ROUTE_RATE per vCPU-second, $ROUTE_WRATE per wall second"
	say "leases: $M, $LEASE_RATE per vCPU-second, $LEASE_WRATE per wall second"
else
	RATE_WHY=${RATE_WHY:-"only $nroutes routes and ${lcount:-0} leases of $M: $(head -c 200 "$TMP/load.out")"}
	say "insertion: skipped: $RATE_WHY"
fi
# Free both now: deleting the device and flushing are synchronous; a
# deleted netns is cleaned up later by a worker that would compete with
# what follows.
ip -n br-route link del d0
settle 3
m0=$(mem_kb)
guise -n br-lease lease flush >/dev/null
settle 3
m1=$(mem_kb)
# what the M leases held: to size N below
[ -n "$LEASE_RATE" ] && BPL_EST=$(awk -v a="$m1" -v b="$m0" -v n="$M" 'BEGIN { split(a, x, " ")
	split(b, y, " "); t = 0; for (i = 1; i <= 3; i++) t += y[i] - x[i]; printf "%d\n", t * 1024 / n }')
[ -n "$BPL_EST" ] && log "the $M leases held ~$BPL_EST B each"
delns br-route
delns br-lease
rm -f "$TMP"/rchunk.* "$TMP"/lchunk.*
settle 3

# --- N: as many leases as fit in the time budget and in memory --------------------------

if [ -n "$LEASE_WRATE" ] && [ -n "$BPL_EST" ]; then
	while [ "$N" -gt 1024 ]; do
		# loading slows down as the table grows: 2x the small-table rate
		est_s=$(awk -v n="$N" -v r="$LEASE_WRATE" 'BEGIN { printf "%d\n", n / r * 2 }')
		# what a lease held above, ~70 B per line of the lease file
		# (tmpfs), 96 MB slack
		need_kb=$((N / 1024 * (BPL_EST + 70) + 98304))
		[ "$est_s" -le "$BUDGET" ] && [ "$need_kb" -le "$(avail_kb)" ] && break
		N=$((N / 2))
	done
fi
[ "$F" -gt "$N" ] && F=$N
N_NOTE=''
[ "$N" -ne "$N_WANT" ] && N_NOTE=" (reduced from $N_WANT: the estimated load time at $LEASE_WRATE leases/s must stay under ${BUDGET}s and the memory under MemAvailable)"

# --- topologies ----------------------------------------------------------------------------------

# gk T: G (bg-T) and K (bk-T); G forwards the peers 2001:db8:2::/64 to K
gk() {
	local G=bg-$1 K=bk-$1 kmac
	mkns "$G" && mkns "$K" && nsholder "$K" || return 1
	ip link add g1 netns "$G" type veth peer name k0 netns "$K" || return 1
	ip -n "$G" addr add 2001:db8:3::1/64 dev g1 nodad
	ip -n "$K" addr add 2001:db8:3::2/64 dev k0 nodad
	ip -n "$G" link set g1 up
	ip -n "$K" link set k0 up
	ip netns exec "$G" sysctl -qw net.ipv6.conf.all.forwarding=1
	kmac=$(mac_of "$K" k0)
	ip -n "$G" -6 neigh replace 2001:db8:3::2 lladdr "$kmac" dev g1 nud permanent
	ip -n "$G" -6 route add 2001:db8:2::/64 via 2001:db8:3::2 dev g1 || return 1
	if ! { tc -n "$K" qdisc add dev k0 clsact &&
		tc -n "$K" filter add dev k0 ingress matchall action drop; } 2>/dev/null; then
		log "$1: no tc matchall drop at the sink; K's stack drops instead"
	fi
}
# direct: bk-direct only; its senders are wired to it (see sender)
direct_sink() { mkns bk-direct && nsholder bk-direct; }

# pg NS FILE LINE...: write each LINE to /proc/net/pktgen/FILE in NS
pg() {
	local ns=$1 f=$2
	shift 2
	ip netns exec "$ns" sh -c 'f=$1; shift; for l in "$@"; do
		echo "$l" >"/proc/net/pktgen/$f" || { echo "pktgen $f: \"$l\" refused" >&2; exit 1; }
	done' sh "$f" "$@"
}

# pgdev NS DEV CPU GW PORT PEERS: veth DEV in NS <-> PORT in GW, and a
# pktgen device on DEV driven by kpktgend_CPU: R -> P1 (PEERS = 0), or R ->
# random peers 2001:db8:2::0..PEERS-1 (a power of two; pktgen: dst =
# (random | min) & max)
pgdev() {
	local ns=$1 dev=$2 cpu=$3 gw=$4 port=$5 gmac mode
	ip link add "$dev" netns "$ns" type veth peer name "$port" netns "$gw" || return 1
	ip -n "$ns" link set "$dev" up
	ip -n "$gw" link set "$port" up
	gmac=$(mac_of "$gw" "$port")
	mode=("dst6 $P1")
	[ "$6" -gt 0 ] && mode=("dst6_min 2001:db8:2::" \
		"dst6_max $(printf '2001:db8:2::%x:%x' $((($6 - 1) >> 16)) $((($6 - 1) & 0xffff)))")
	pg "$ns" "kpktgend_$cpu" "add_device $dev" || return 1
	pg "$ns" "$dev" "count 0" "clone_skb 0" "burst 1" "delay 0" "pkt_size 78" \
		"dst_mac $gmac" "src6 $R" "flag UDPCSUM" "udp_src_min 9" "udp_src_max 9" \
		"udp_dst_min 9" "udp_dst_max 9" "${mode[@]}"
}

# sender CASE CPU: namespace bp-CASE-CPU with two pktgen devices that one
# "start" starts and one "stop" stops together: sc, the case, on vCPU CPU
# into the case's gateway (or straight into bk-direct), and sr, the
# reference, on the other vCPU into bg-ref
sender() {
	local c=$1 cpu=$2 ns=bp-$1-$2 gw=bg-${TOPO[$1]} port=p-$1-$2
	[ "$c" = direct ] && gw=bk-direct
	mkns "$ns" || return 1
	pgdev "$ns" sc "$cpu" "$gw" "$port" "$(peers "$c")" || return 1
	if [ "$c" = direct ] && ! { tc -n "$gw" qdisc add dev "$port" clsact &&
		tc -n "$gw" filter add dev "$port" ingress matchall action drop; } 2>/dev/null; then
		log "direct: no tc matchall drop at the sink; its stack drops instead"
	fi
	pgdev "$ns" sr $((1 - cpu)) bg-ref "r-$1-$2" 0 || return 1
	# A shell living in the namespace starts and stops its pktgen on
	# command (pgctrl acts on the writer's namespace), so that a run
	# starts no new process: commands and "done" go through FIFOs.
	local ctl=$TMP/ctl-$c-$cpu done=$TMP/done-$c-$cpu fd
	mkfifo "$ctl" "$done" || return 1
	ip netns exec "$ns" bash -c 'exec 3<>"$1" 4<>"$2"
		while read -r cmd <&3; do
			case $cmd in
			start) ( echo start >/proc/net/pktgen/pgctrl ) 2>/dev/null & p=$! ;;
			stop) echo stop >/proc/net/pktgen/pgctrl; wait "$p"; echo done >&4 ;;
			*) exit 0 ;;
			esac
		done' sh "$ctl" "$done" &
	HOLDERS+=("$!")
	NSPID[$ns]=$!
	exec {fd}<>"$ctl"
	CTLFD[$c-$cpu]=$fd
	exec {fd}<>"$done"
	DONEFD[$c-$cpu]=$fd
}

# k_rx CASE: packets the case's sink received (direct: both ports)
k_rx() {
	local K=bk-${TOPO[$1]}
	[ "$1" = direct ] && K=bk-direct
	if [ -n "${NSPID[$K]:-}" ] && [ -r "/proc/${NSPID[$K]}/net/dev" ]; then
		if [ "$1" = direct ]; then
			echo $(($(dev_rx "${NSPID[$K]}" p-direct-0) + $(dev_rx "${NSPID[$K]}" p-direct-1)))
		else
			dev_rx "${NSPID[$K]}" k0
		fi
		return
	fi
	if [ "$1" = direct ]; then
		ip netns exec bk-direct sh -c 'cat /sys/class/net/p-direct-0/statistics/rx_packets \
			/sys/class/net/p-direct-1/statistics/rx_packets' | awk '{ s += $1 } END { print s + 0 }'
	else
		ip netns exec "bk-${TOPO[$1]}" cat /sys/class/net/k0/statistics/rx_packets
	fi
}
# pg_result NS DEV: "USEC SENT" of the device's last run
pg_result() {
	local line re='^Result: OK: ([0-9]+)\(c.* usec, ([0-9]+) '
	if [ -n "${NSPID[$1]:-}" ] && [ -r "/proc/${NSPID[$1]}/net/pktgen/$2" ]; then
		while IFS= read -r line; do
			[[ $line =~ $re ]] && { echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"; return; }
		done <"/proc/${NSPID[$1]}/net/pktgen/$2"
		return
	fi
	ip netns exec "$1" cat "/proc/net/pktgen/$2" |
	sed -n 's/^Result: OK: \([0-9]*\)(c.* usec, \([0-9]*\) .*/\1 \2/p'; }

# runpair CASE CPU: the case on vCPU CPU and the reference on the other,
# together; prints "CASE_DELIVERED CASE_CPU_NS REF_DELIVERED REF_CPU_NS
# CASE_WALL_NS CASE_SENT" (CPU_NS: host time of that vCPU over the run,
# or pktgen's run time without the sampler)
runpair() {
	local c=$1 x=$2 ns=bp-$1-$2 a ra b rb s1 s2 us sent rus cpu rcpu
	a=$(k_rx "$c") ra=$(k_rx ref)
	# From here to the second sample: shell builtins here, one fork in the
	# namespace's control shell (see sender)
	host_sample
	s1=$SAMPLE
	echo start >&"${CTLFD[$c-$x]}"
	bsleep "$SECS"
	echo stop >&"${CTLFD[$c-$x]}"
	read -r -t 60 -u "${DONEFD[$c-$x]}" _
	host_sample
	s2=$SAMPLE
	b=$(k_rx "$c") rb=$(k_rx ref)
	read -r us sent <<<"$(pg_result "$ns" sc)"
	read -r rus _ <<<"$(pg_result "$ns" sr)"
	cpu=$(vcpu_ns "$x" "$s1" "$s2")
	rcpu=$(vcpu_ns $((1 - x)) "$s1" "$s2")
	echo "$((b - a)) ${cpu:-$((${us:-0} * 1000))} $((rb - ra)) ${rcpu:-$((${rus:-0} * 1000))}" \
		"$((${us:-0} * 1000)) ${sent:-0}"
}

# verify CASE WANT_SRC_REGEX [AVOID_REGEX]: 300 packets from each sender of
# the case (and of the reference); 5 captured at the case's sink must show
# the expected source
verify() {
	local c=$1 want=$2 avoid=${3:-} cap=$TMP/cap-$1 pid='' a ra b rb src cpu dev=k0 K=bk-${TOPO[$1]}
	[ "$c" = direct ] && { dev='p-direct-0'; K=bk-direct; }
	a=$(k_rx "$c") ra=$(k_rx ref)
	if [ "$HAVE_TCPDUMP" -eq 1 ]; then
		ip netns exec "$K" timeout 40 tcpdump -n -l -i "$dev" -c 5 ip6 and udp >"$cap" 2>/dev/null &
		pid=$!
		sleep 2
	fi
	for cpu in 0 1; do
		pg "bp-$c-$cpu" sc "count 300" && pg "bp-$c-$cpu" sr "count 300" &&
			ip netns exec "bp-$c-$cpu" timeout 30 sh -c 'echo start >/proc/net/pktgen/pgctrl'
		pg "bp-$c-$cpu" sc "count 0" && pg "bp-$c-$cpu" sr "count 0"
	done
	sleep 0.5
	b=$(k_rx "$c") rb=$(k_rx ref)
	if [ $((b - a)) -lt 500 ] || [ $((rb - ra)) -lt 500 ]; then
		echo "only $((b - a)) (reference: $((rb - ra))) of 600 probe packets reached the sink"
		[ -n "$pid" ] && kill "$pid" 2>/dev/null
		return 1
	fi
	[ "$HAVE_TCPDUMP" -eq 1 ] || { echo "delivered $((b - a))/600 (no tcpdump: source not checked)"; return 0; }
	wait "$pid" 2>/dev/null
	src=$(awk '/IP6 / { sub(/\.[0-9]+$/, "", $3); print $3; exit }' "$cap")
	if ! grep -qE "IP6 $want\\.9 >" "$cap"; then
		echo "sink saw source '${src:-nothing}', wanted $want"
		return 1
	fi
	if [ -n "$avoid" ] && grep -qE "IP6 $avoid\\.9 >" "$cap"; then
		echo "sink saw the unrewritten source $avoid"
		return 1
	fi
	echo "delivered $((b - a))/600, sink sees source $src"
}

# --- build the cases --------------------------------------------------------------------------

CASES=()
declare -A LABEL=() SKIP=() NOTE=() TOPO=() RAND=()
# RAND: 0 = one flow, N = random peers over all N, F = over the first F
add_case() { CASES+=("$1"); TOPO[$1]=$2; RAND[$1]=$3; LABEL[$1]=$4; }
peers() { case ${RAND[$1]} in N) echo "$N" ;; F) echo "$F" ;; *) echo 0 ;; esac; }
add_case direct direct 0 "no gateway: pktgen -> sink"
add_case plain plain 0 "plain IPv6 forwarding, 1 flow (A/A)"
add_case plainr plain N "plain IPv6 forwarding, random peers"
add_case g1 g1 0 "guise, 1 lease, 1 flow"
add_case gn gn 0 "guise, N leases, 1 flow"
add_case gnr gn N "guise, N leases, random peers (all leased)"
add_case gnw gn F "guise, N leases, random peers over F"
add_case nat nat 0 "nftables NAT66 (snat+dnat, conntrack), 1 flow"
add_case natr natr N "NAT66, random peers over N (new flows)"
add_case natw natw F "NAT66, random peers over F (warm table)"
add_case npt npt 0 "ip6tables NPTv6 (SNPT/DNPT), 1 flow"
TOPO[ref]=ref
TOPOS=(ref direct plain g1 gn nat natr natw npt)
# BENCH_CASES: only these cases (and only the topologies they need)
if [ -n "$CASE_SEL" ]; then
	keep=()
	for c in "${CASES[@]}"; do
		[[ " $CASE_SEL " == *" $c "* ]] && keep+=("$c")
	done
	CASES=("${keep[@]}")
	keep=(ref)
	for t in "${TOPOS[@]}"; do
		for c in "${CASES[@]}"; do
			[ "${TOPO[$c]}" = "$t" ] && { keep+=("$t"); break; }
		done
	done
	TOPOS=("${keep[@]}")
fi
declare -A TSKIP=()

# conntrack: big enough that the many-flow NAT66 cases never drop for lack
# of room (global settings, in the initial namespace)
CT_LINE=''
if [ -z "$NFT_WHY" ] && [[ " ${TOPOS[*]} " == *" nat"* ]]; then
	modprobe nf_conntrack 2>/dev/null
	echo "$CT_HASH" >/sys/module/nf_conntrack/parameters/hashsize 2>/dev/null
	sysctl -qw net.netfilter.nf_conntrack_max="$CT_MAX" 2>/dev/null
	CT_LINE="conntrack: hashsize $(cat /sys/module/nf_conntrack/parameters/hashsize 2>/dev/null), nf_conntrack_max $(sysctl -n net.netfilter.nf_conntrack_max 2>/dev/null) (global), UDP timeouts $(sysctl -n net.netfilter.nf_conntrack_udp_timeout 2>/dev/null) s unreplied (natw's gateway: 3600 s)"
	log "$CT_LINE"
fi

say ""
MEM_LINE='' NLOAD_LINE='' IDLE_LINE=''
idle_ms() {	# host ms of both vCPUs per second, over 10 s of no traffic
	local s1 s2 a b
	host_sample || return 1
	s1=$SAMPLE
	bsleep 10
	host_sample || return 1
	s2=$SAMPLE
	a=$(vcpu_ns 0 "$s1" "$s2") b=$(vcpu_ns 1 "$s1" "$s2")
	awk -v a="$a" -v b="$b" -v w1="${s1%% *}" -v w2="${s2%% *}" \
		'BEGIN { printf "%.1f\n", (a + b) / 1e6 / ((w2 - w1) / 1e9) }'
}
for t in "${TOPOS[@]}"; do
	if [ "$HAVE_PKTGEN" -eq 0 ]; then
		TSKIP[$t]="pktgen unusable: $WHY_PKTGEN"
		continue
	fi
	if [ "$t" = direct ]; then
		direct_sink 2>"$TMP/err" || TSKIP[$t]="sink setup failed: $(head -c 200 "$TMP/err")"
		continue
	fi
	if ! gk "$t" 2>"$TMP/err"; then
		TSKIP[$t]="topology setup failed: $(head -c 200 "$TMP/err")"
		continue
	fi
	G=bg-$t
	case $t in
	g1)
		guise -n "$G" config set enabled on vprefix 2001:db8:ff::/48 >/dev/null &&
			guise -n "$G" lease add $R $P1 $V1 lifetime 1h >/dev/null 2>"$TMP/err" ||
			TSKIP[$t]="guise config/lease failed: $(head -c 200 "$TMP/err")"
		;;
	gn)
		guise -n "$G" config set enabled on vprefix 2001:db8:ff::/48 max-leases "$N" >/dev/null
		log "generating $N leases"
		leases_file "$N" "$TMP/leases.txt"
		settle 3
		idle0=''
		[ "$HOST_CPU" -eq 1 ] && idle0=$(idle_ms)
		m0=$(mem_kb)
		log "loading $N leases into $G ($LOADER, on vCPU 0)"
		timed insert_leases "$G" "$TMP/leases.txt" "$N" $((BUDGET * 2))
		ncount=$(lease_count "$G")
		rm -f "$TMP/leases.txt"
		settle 5
		m1=$(mem_kb)
		log "loaded ${ncount:-0} in $(fdiv "$TIMED_WALL" 1000000000 1) s"
		NLOAD_LINE="$N leases in one $LOADER: $(fdiv $((N * 1000)) $((TIMED_CPU / 1000000)) 0) per vCPU-second, $(fdiv $((N * 1000)) $((TIMED_WALL / 1000000)) 0) per wall second"
		if [ "${ncount:-0}" -ne "$N" ]; then
			TSKIP[$t]="only ${ncount:-0} of $N leases loaded in $(fdiv "$TIMED_WALL" 1000000000 1) s: $(head -c 200 "$TMP/load.out")"
		else
			MEM_LINE=$(awk -v a="$m0" -v b="$m1" -v n="$N" 'BEGIN { split(a, x, " "); split(b, y, " ")
				s = (y[1] - x[1]) * 1024; p = (y[2] - x[2]) * 1024; v = (y[3] - x[3]) * 1024
				printf "%.1f %.1f %.1f %.1f\n", s / n, p / n, v / n, (s + p + v) / n }')
			if [ -n "$idle0" ]; then
				idle1=$(idle_ms)
				IDLE_LINE="idle guest, both vCPUs: $idle0 ms/s before loading the N leases, ${idle1:-?} ms/s after"
				log "$IDLE_LINE"
			fi
		fi
		;;
	nat | natr | natw)
		# nat: the one flow R -> P1; natr, natw: every peer of
		# 2001:db8:2::/64 (the flows of the random-peer cases)
		dst=$P1
		[ "$t" != nat ] && dst=2001:db8:2::/64
		if [ -n "$NFT_WHY" ]; then
			TSKIP[$t]=$NFT_WHY
		elif ! ip netns exec "$G" nft -f - 2>"$TMP/err" <<-EOF
			table ip6 bench_nat66 {
				chain pre {
					type nat hook prerouting priority dstnat; policy accept;
					iifname "g1" ip6 daddr $V1 dnat to $R
				}
				chain post {
					type nat hook postrouting priority srcnat; policy accept;
					oifname "g1" ip6 saddr $R ip6 daddr $dst snat to $V1
				}
			}
		EOF
		then
			TSKIP[$t]="nft NAT66 table refused: $(head -c 200 "$TMP/err")"
		elif [ "$t" = natw ] &&
			! ip netns exec "$G" sysctl -qw net.netfilter.nf_conntrack_udp_timeout=3600 2>"$TMP/err"; then
			TSKIP[$t]="conntrack UDP timeout: $(head -c 200 "$TMP/err")"
		fi
		;;
	npt)
		if [ -n "$NPT_WHY" ]; then
			TSKIP[$t]=$NPT_WHY
		elif ! { ip netns exec "$G" "$NPT_CMD" -t mangle -A POSTROUTING -o g1 -s 2001:db8:1::/64 \
				-j SNPT --src-pfx 2001:db8:1::/64 --dst-pfx 2001:db8:ff::/64 &&
			ip netns exec "$G" "$NPT_CMD" -t mangle -A PREROUTING -i g1 -d 2001:db8:ff::/64 \
				-j DNPT --src-pfx 2001:db8:ff::/64 --dst-pfx 2001:db8:1::/64; } 2>"$TMP/err"; then
			TSKIP[$t]="$NPT_CMD SNPT/DNPT refused: $(head -c 200 "$TMP/err")"
		else
			LABEL[npt]="ip6tables NPTv6 (SNPT/DNPT, $NPT_CMD), 1 flow"
		fi
		;;
	esac
done
for c in "${CASES[@]}"; do
	if [ -n "${TSKIP[ref]:-}" ]; then
		SKIP[$c]="reference gateway: ${TSKIP[ref]}"
		continue
	elif [ -n "${TSKIP[${TOPO[$c]}]:-}" ]; then
		SKIP[$c]=${TSKIP[${TOPO[$c]}]}
		continue
	fi
	for cpu in 0 1; do
		sender "$c" "$cpu" 2>"$TMP/err" && continue
		SKIP[$c]="pktgen setup failed: $(head -c 200 "$TMP/err")"
		break
	done
done

# The source each case must deliver (NPTv6 maps 2001:db8:1::10 into the
# virtual /64 checksum-neutrally: only its prefix is predictable).
declare -A WANT=([direct]="2001:db8:1::10" [plain]="2001:db8:1::10" [plainr]="2001:db8:1::10"
	[g1]="2001:db8:ff::1" [gn]="2001:db8:ff::1" [gnr]="2001:db8:ff::[0-9a-f:]+"
	[gnw]="2001:db8:ff::[0-9a-f:]+" [nat]="2001:db8:ff::1" [natr]="2001:db8:ff::1"
	[natw]="2001:db8:ff::1" [npt]="2001:db8:ff:0:[0-9a-f:]+")
for c in "${CASES[@]}"; do
	[ -n "${SKIP[$c]:-}" ] && continue
	avoid=$R
	case $c in direct|plain|plainr) avoid='' ;; esac
	if out=$(verify "$c" "${WANT[$c]}" "$avoid" 2>&1); then
		NOTE[$c]=$out
	else
		SKIP[$c]="check failed: $out"
	fi
	log "check $c: $out"
done

# ct_stat NS: "count insert_failed drop early_drop invalid clashres
# chainlength search_restart" of NS's conntrack (sums over the CPUs; this
# kernel no longer counts "insert" and "found": always 0)
ct_stat() {
	local n
	n=$(ip netns exec "$1" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null)
	ip netns exec "$1" cat /proc/net/stat/nf_conntrack 2>/dev/null | awk -v n="${n:-0}" '
		function hex(x,   i, v) { v = 0; x = tolower(x)
			for (i = 1; i <= length(x); i++) v = v * 16 + index("0123456789abcdef", substr(x, i, 1)) - 1
			return v }
		NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
		{ for (k in col) s[k] += hex($col[k]) }
		END { printf "%d %d %d %d %d %d %d %d\n", n, s["insert_failed"], s["drop"],
			s["early_drop"], s["invalid"], s["clashres"], s["chainlength"],
			s["search_restart"] }'
}
# warm-up of natw: 4 F packets from each of its senders (random peers over
# F: all but ~2 % of the F flows get their conntrack entry)
if [ -z "${SKIP[natw]:-}" ] && [[ " ${CASES[*]} " == *" natw "* ]]; then
	for cpu in 0 1; do
		pg "bp-natw-$cpu" sc "count $((4 * F))" && pg "bp-natw-$cpu" sr "count 1"
	done
	wpids=()
	for cpu in 0 1; do
		ip netns exec "bp-natw-$cpu" timeout 600 sh -c 'echo start >/proc/net/pktgen/pgctrl' &
		wpids+=("$!")
	done
	wait "${wpids[@]}"
	for cpu in 0 1; do pg "bp-natw-$cpu" sc "count 0" && pg "bp-natw-$cpu" sr "count 0"; done
	read -r n _ <<<"$(ct_stat bg-natw)"
	NOTE[natw]+=", warm-up: $((8 * F)) packets, $n of $F flows in conntrack"
	log "natw warm-up: $n conntrack entries for $F flows"
fi
declare -A CT0=() CT1=() DELIV=()
for t in nat natr natw; do
	[ -n "${TSKIP[$t]:-}" ] || [[ " ${TOPOS[*]} " != *" $t "* ]] && continue
	CT0[$t]=$(ct_stat "bg-$t")
done

# --- forwarding: every case next to the reference, on each vCPU, every round ------------------

declare -A COSTS=() WPPS=()
REFCOSTS=''
ACTIVE=()
for c in "${CASES[@]}"; do [ -z "${SKIP[$c]:-}" ] && ACTIVE+=("$c"); done
for ((round = 0; round < ROUNDS; round++)); do
	if [ "$round" -gt 0 ] && [ $(($(date +%s) - T0)) -gt "$DEADLINE" ]; then
		log "deadline: stopping after $round rounds"
		ROUNDS=$round
		break
	fi
	n=${#ACTIVE[@]}
	for ((k = 0; k < n; k++)); do
		c=${ACTIVE[(k + round) % n]}	# rotate the order
		read -r d0 t0 rd0 rt0 w0 s0 <<<"$(runpair "$c" 0)"
		read -r d1 t1 rd1 rt1 w1 s1 <<<"$(runpair "$c" 1)"
		# score: the case's cost per packet relative to the reference's
		# in the same runs, geometric mean over the two placements
		read -r score rc0 rc1 c0 c1 <<<"$(awk -v d0="$d0" -v t0="$t0" -v rd0="$rd0" -v rt0="$rt0" \
			-v d1="$d1" -v t1="$t1" -v rd1="$rd1" -v rt1="$rt1" 'BEGIN {
			if (d0 > 0 && t0 > 0 && rd0 > 0 && rt0 > 0 && d1 > 0 && t1 > 0 && rd1 > 0 && rt1 > 0)
				printf "%.5f %.1f %.1f %.1f %.1f\n", sqrt(t0 / d0 / (rt0 / rd0) * t1 / d1 / (rt1 / rd1)),
					rt0 / rd0, rt1 / rd1, t0 / d0, t1 / d1 }')"
		wp=$(awk -v d="$((d0 + d1))" -v t="$((w0 + w1))" 'BEGIN { if (t > 0) printf "%d\n", d * 1e9 / t }')
		log "round $((round + 1)) $c: vCPU0 $d0/$s0 pkts ${c0:-?} ns/pkt (ref ${rc0:-?}), vCPU1 $d1/$s1 pkts ${c1:-?} ns/pkt (ref ${rc1:-?}): score ${score:-none}"
		COSTS[$c]+="${score:-x} "	# x keeps the rounds aligned
		DELIV[$c]=$((${DELIV[$c]:-0} + d0 + d1))
		WPPS[$c]+="${wp:-x} "
		[ -n "$score" ] && REFCOSTS+="$rc0 $rc1 "
	done
done

for t in nat natr natw; do
	[ -n "${CT0[$t]:-}" ] && CT1[$t]=$(ct_stat "bg-$t")
done

# --- profile (BENCH_PERF=1): where a case's vCPU spends its time ------------
PERF_OUT=''
if [ "$PERF" = 1 ] && command -v perf >/dev/null; then
	for c in $PERF_CASES; do
		[[ " ${ACTIVE[*]} " == *" $c "* ]] || continue
		pd=$CPU_DIR/perf-$c.data
		# the case on vCPU 0 (its reference on vCPU 1), perf on vCPU 0
		# perf sets up (seconds under TCG), then runs the workload,
		# which says so through a FIFO: only then does the case start
		rm -f "$TMP/perfgo" && mkfifo "$TMP/perfgo"
		perf record -q -e cpu-clock -F 1000 -C 0 -g -o "$pd" -- \
			sh -c 'echo go >"$0"; exec sleep "$1"' "$TMP/perfgo" $((SECS + 2)) \
			>/dev/null 2>"$TMP/perf.err" &
		pp=$!
		read -r -t 300 _ <"$TMP/perfgo"
		runpair "$c" 0 >/dev/null
		wait "$pp"
		# only the packet path: pktgen's thread and softirq on that vCPU
		perf report -i "$pd" --kallsyms=/proc/kallsyms --stdio --no-children --sort sym -g none \
			--comms kpktgend_0,ksoftirqd/0 --percentage relative --percent-limit 1 \
			2>/dev/null | grep -v '^#' | grep -v '^$' | head -30 >"$CPU_DIR/perf-$c.txt"
		PERF_OUT+=$'\n'"profile $c (${LABEL[$c]/N leases/$N leases}; perf cpu-clock on its vCPU):"$'\n'
		PERF_OUT+=$(sed 's/^/    /' "$CPU_DIR/perf-$c.txt")$'\n'
		log "perf $c: $(head -c 300 "$TMP/perf.err")"
	done
fi

# stat: "median min max" of the numbers on stdin (nothing if none)
stat() { tr ' ' '\n' | grep -E '^[0-9.]+$' | sort -g | awk '{ v[NR] = $1 }
	END { if (NR == 0) exit; m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		print m, v[1], v[NR] }'; }
for c in "${ACTIVE[@]}"; do
	[ -n "$(echo "${COSTS[$c]:-}" | stat)" ] || SKIP[$c]="no packets measured"
done
# per_round EXPR CASE...: EXPR (awk, over the cases' per-packet costs,
# named by case) for every round; "median min max", nothing if a case is
# missing or a denominator is not positive
per_round() {
	local expr=$1 c i
	shift
	for c in "$@"; do [ -n "${SKIP[$c]:-}" ] || [ -z "${COSTS[$c]:-}" ] && return 0; done
	for ((i = 0; i < ROUNDS; i++)); do
		local args=() ok=1 v
		for c in "$@"; do
			read -r -a v <<<"${COSTS[$c]}"
			[[ "${v[i]:-x}" =~ ^[0-9.]+$ ]] || ok=0
			args+=(-v "$c=${v[i]:-0}")
		done
		[ "$ok" -eq 1 ] && awk "${args[@]}" "BEGIN { r = $expr; if (r > 0) printf \"%.4f\\n\", r }" 2>/dev/null
	done | tr '\n' ' ' | stat
}

# guise counters: did the rewrite run for the measured traffic?
for t in g1 gn; do
	[ -n "${TSKIP[$t]:-}" ] && continue
	tx=$(guise -n "bg-$t" -j stats 2>/dev/null | grep -o '"lease_tx": *[0-9]*' | grep -o '[0-9]*$')
	NOTE[$t]+=", guise lease_tx in G: ${tx:-?}"
done

# --- report ------------------------------------------------------------------------------------------

say ""
say "=== results"
say "TCG emulation, 2 vCPUs: compare ratios, not absolute numbers."
say "N = $N leases$N_NOTE"
say ""
say "forwarding: pktgen, 78-byte frames (64-byte IPv6/UDP packets), sender -> G -> sink over"
say "veth; a packet's work all on one vCPU. Cost per packet delivered = $UNIT."
say "Each case runs next to the reference (plain forwarding, 1 flow, own gateway) on the"
say "other vCPU, then swapped: score = case cost / reference cost in the same runs"
say "(geometric mean of both placements). $ROUNDS rounds x 2 runs x ${SECS}s; medians."
say ""
read -r REFCOST _ <<<"$(echo "$REFCOSTS" | stat)"
printf '%-48s %-19s %7s %10s %9s\n' "case" "score (min-max)" "ns/pkt" "gateway ns" "wall pps"
for c in "${CASES[@]}"; do
	lbl=${LABEL[$c]/N leases/$N leases}
	if [ -n "${SKIP[$c]:-}" ]; then
		printf '%-48s skipped: %s\n' "$lbl" "${SKIP[$c]}"
		continue
	fi
	read -r med lo hi <<<"$(echo "${COSTS[$c]}" | stat)"
	read -r wmed _ <<<"$(echo "${WPPS[$c]}" | stat)"
	gw=-
	if [ "$c" != direct ]; then
		read -r gw _ <<<"$(per_round "$c - direct" "$c" direct)"
		[ -n "$gw" ] && gw=$(awk -v g="$gw" -v r="${REFCOST:-0}" 'BEGIN { printf "%.0f\n", g * r }') || gw=-
	fi
	printf '%-48s %-19s %7.0f %10s %9.0f\n' "$lbl" "$(printf '%.3f (%.2f-%.2f)' "$med" "$lo" "$hi")" \
		"$(awk -v m="$med" -v r="${REFCOST:-0}" 'BEGIN { print m * r }')" "$gw" "${wmed:-0}"
done
[ -n "${REFCOST:-}" ] && printf '%-48s %-19s %7.0f\n' "reference (plain IPv6 forwarding, 1 flow)" 1 "$REFCOST"
say "(ns/pkt: score x the reference's median cost; gateway ns: minus the no-gateway"
say " case, i.e. G's forwarding work plus one more veth hop)"

# ratio LABEL TARGET "median min max" "median min max"
ratio() {
	local v1 v2
	v1=$(awk -v s="$3" -v t="$2" 'BEGIN { n = split(s, x, " "); if (n < 3) { print "skipped"; exit }
		printf "%.3f (%.2f-%.2f) %s\n", x[1], x[2], x[3], (x[1] >= t) ? "ok" : "MISS" }')
	v2=$(awk -v s="$4" -v t="$2" 'BEGIN { n = split(s, x, " "); if (n < 3) { print "skipped"; exit }
		printf "%.3f (%.2f-%.2f) %s\n", x[1], x[2], x[3], (x[1] >= t) ? "ok" : "MISS" }')
	printf '%-36s %-7s %-26s %s\n' "$1" ">= $2" "$v1" "$v2"
}
say ""
say "throughput ratios (1 / score), per round, median (min-max); end to end, and"
say "gateway only (the no-gateway cost, generator + sink, taken off both sides):"
printf '%-36s %-7s %-26s %s\n' "ratio" "target" "end to end" "gateway only"
ratio "guise(1) / plain" 0.90 "$(per_round "plain / g1" plain g1)" \
	"$(per_round "(plain - direct) / (g1 - direct)" plain g1 direct)"
ratio "guise(1) / nftables NAT66" 1.5 "$(per_round "nat / g1" nat g1)" \
	"$(per_round "(nat - direct) / (g1 - direct)" nat g1 direct)"
ratio "guise(1) / ip6tables NPTv6" 0.95 "$(per_round "npt / g1" npt g1)" \
	"$(per_round "(npt - direct) / (g1 - direct)" npt g1 direct)"
ratio "guise(N) / guise(1), same flow" 0.95 "$(per_round "g1 / gn" g1 gn)" \
	"$(per_round "(g1 - direct) / (gn - direct)" g1 gn direct)"
ratio "guise(N) / guise(1), random peers*" 0.95 "$(per_round "g1 / (gnr - plainr + plain)" g1 gnr plainr plain)" \
	"$(per_round "(g1 - direct) / (gnr - plainr + plain - direct)" g1 gnr plainr plain direct)"
ratio "guise(N) / guise(1), peers over F*" 0.95 "$(per_round "g1 / (gnw - plainr + plain)" g1 gnw plainr plain)" \
	"$(per_round "(g1 - direct) / (gnw - plainr + plain - direct)" g1 gnw plainr plain direct)"
say "* every packet to another of the N leases (or of the first F = $F); what random"
say "  peers cost without guise (plainr - plain) is taken off guise(N)'s cost"
say ""
say "NAT66 for the same flows (both sides send the same random-peer traffic;"
say "no correction needed). 1 flow: the single-flow cases above."
printf '%-36s %-7s %-26s %s\n' "ratio" "target" "end to end" "gateway only"
ratio "guise(1) / NAT66, 1 flow" 1.5 "$(per_round "nat / g1" nat g1)" \
	"$(per_round "(nat - direct) / (g1 - direct)" nat g1 direct)"
ratio "guise(N) / NAT66, peers over N" 1.5 "$(per_round "natr / gnr" natr gnr)" \
	"$(per_round "(natr - direct) / (gnr - direct)" natr gnr direct)"
ratio "guise(N) / NAT66, peers over F" 1.5 "$(per_round "natw / gnw" natw gnw)" \
	"$(per_round "(natw - direct) / (gnw - direct)" natw gnw direct)"
say "  peers over N = $N: a packet is a new conntrack flow unless its peer sent in the"
say "  last 30 s (unreplied UDP timeout): nearly always when N is large (1M)"
say "  peers over F = $F: flows whose conntrack entries exist (warm table)"
[ -n "$CT_LINE" ] && say "  $CT_LINE"
ctnames=(count insert_failed drop early_drop invalid clashres chaintoolong search_restart)
for t in nat natr natw; do
	[ -n "${CT1[$t]:-}" ] || continue
	read -r -a a <<<"${CT0[$t]}"
	read -r -a b <<<"${CT1[$t]}"
	line="  conntrack in bg-$t over the rounds: entries ${a[0]} -> ${b[0]}"
	for ((i = 1; i < ${#ctnames[@]}; i++)); do
		line+=", ${ctnames[i]} $((b[i] - a[i]))"
	done
	pk=0
	for c in "${CASES[@]}"; do [ "${TOPO[$c]}" = "$t" ] && pk=$((pk + ${DELIV[$c]:-0})); done
	say "$line; packets delivered $pk"
done
say ""
say "checks:"
for c in "${CASES[@]}"; do
	[ -n "${NOTE[$c]:-}" ] && printf '  %-7s %s\n' "$c" "${NOTE[$c]}"
done

[ -n "$PERF_OUT" ] && say "$PERF_OUT"

say ""
say "memory per lease (N = $N; /proc/meminfo deltas around loading them):"
if [ -n "$MEM_LINE" ]; then
	read -r s p v tot <<<"$MEM_LINE"
	printf '  %-24s %8s B/lease\n' "slab (SUnreclaim)" "$s" "percpu (Percpu)" "$p" \
		"vmalloc (VmallocUsed)" "$v" "total" "$tot"
	printf '  %-24s %8s           %s\n' "target" "<= 256" \
		"$(awk -v t="$tot" 'BEGIN { print (t <= 256) ? "ok" : "MISS" }')"
else
	say "  skipped: ${TSKIP[gn]:-no N-lease table}"
fi
[ -n "$IDLE_LINE" ] && say "  $IDLE_LINE"

say ""
say "insertion ($M of each, in alternating chunks of $CHUNK, on vCPU 0;"
say "$LOADER_NOTE):"
if [ -n "$LEASE_RATE" ] && [ -n "$ROUTE_RATE" ]; then
	printf '  %-24s %12s %12s\n' "" "/vCPU-second" "/wall second" \
		"$LOADER" "$LEASE_RATE" "$LEASE_WRATE" "ip -batch route add" "$ROUTE_RATE" "$ROUTE_WRATE"
	r=$(fdiv "$LEASE_RATE" "$ROUTE_RATE" 3)
	printf '  %-24s %12s   target >= 2: %s\n' "lease / route" "$r" \
		"$(awk -v r="$r" 'BEGIN { print (r >= 2) ? "ok" : "MISS" }')"
else
	say "  skipped: $RATE_WHY"
fi
[ -n "$NLOAD_LINE" ] && say "  at scale: $NLOAD_LINE"

say ""
say "=== end (the benchmark ran $(($(date +%s) - T0)) s in the guest)"
exit 0
