#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# firstpkt_bench: issue 5's on-demand (gateway mode) first-packet delay.
# Runs INSIDE the test VM (bench/guest.sh, started by bench/run.sh
# firstpkt|all), working directory = the checkout, $MODULE = the module.
#
#   H (reals 2001:db8:1::100..+K-1, and S = 2001:db8:1::10)
#     --- G (guise; miss 2001:db8:1::100/120 upcall; vprefix 2001:db8:ff::/48)
#     --- P (2001:db8:2::2; the peers 2001:db8:3::1:0 + i and ::2:0 + i on lo)
#
# guise-leased runs in the guest's root namespace with [kernel] netns = G
# and [gateway] enabled = on (store on the guest's tmpfs). One prober
# process (bench/firstpkt_probe.py; CLOCK_MONOTONIC) holds sockets in H, G
# and P and sends one UDP datagram per probe from a new socket in H, at
# most one in flight; it takes the time until P's socket has it (one way)
# and until P's answer is back at H (round trip). For each of
# FBENCH_N new flows (real reals[i % K], peer ::1:0 + i), interleaved:
#
#   ondemand  the flow's first packet: G holds it, LEASE_MISS, leased
#             rents (SQLite, group commit) and installs, G releases it;
#   lease     the same (real, peer) from a new socket: the lease exists;
#   pass      from S (no miss rule): plain forwarding through G's hooks.
#
# Before leased starts, FBENCH_KERNEL_N flows (peers ::2:0 + i) whose
# LEASE_MISS the prober answers itself with a LEASE_NEW at once: the
# kernel's hold-and-release alone, i.e. the floor for any daemon.
#
# Parameters (environment, or build/bench/params.env from bench/run.sh):
# FBENCH_N (300), FBENCH_KERNEL_N (100), FBENCH_REALS (8 real addresses),
# FBENCH_GAP_MS (10: mean pause between probes); FBENCH_STRACE=1 also
# counts guise-leased's system calls during its run (`strace -c`; a
# diagnosis: strace slows the daemon down, so its delays mean nothing).
#
# With 2 or more vCPUs the prober (H's and P's side, and the kernel's
# forwarding it triggers) is pinned to CPU 0 and guise-leased to CPU 1, as
# if gateway and hosts were different machines: otherwise the daemon,
# woken by the same LEASE_MISS, preempts the prober on its CPU.
set -uo pipefail

# shellcheck source=/dev/null
[ -f build/bench/params.env ] && source build/bench/params.env
# shellcheck source=bench/guest_lib.sh
source bench/guest_lib.sh
N=${FBENCH_N:-300}
KN=${FBENCH_KERNEL_N:-100}
K=${FBENCH_REALS:-8}
GAP=${FBENCH_GAP_MS:-10}
MODULE=${MODULE:-kmod/guise.ko}
PORT=7777
T0=$(date +%s)
say() { printf '%s\n' "$*"; }
log() { printf '# [%4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }
REPO=$PWD
PROBE="python3 $REPO/bench/firstpkt_probe.py"
PIN_PROBE=() PIN_LEASED=()
if [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then
	PIN_PROBE=(taskset -c 0) PIN_LEASED=(taskset -c 1)
fi

say "=== guise first-packet benchmark"
bench_load_module
bench_describe
[ "$N" -ge 1 ] && [ "$N" -le 65536 ] && [ "$KN" -le 65536 ] && [ "$K" -ge 1 ] && [ "$K" -le 255 ] ||
	{ say "error: FBENCH_N 1..65536, FBENCH_KERNEL_N 0..65536, FBENCH_REALS 1..255"; exit 2; }

H=fp-h-$$ G=fp-g-$$ P=fp-p-$$
tmp=$(mktemp -d)
leased_pid=
cleanup() {
	if [ -n "$leased_pid" ]; then
		kill "$leased_pid" 2>/dev/null
		wait "$leased_pid" 2>/dev/null
	fi
	for ns in "$H" "$G" "$P"; do ip netns delete "$ns" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
for ns in "$H" "$G" "$P"; do
	ip netns add "$ns" && ip -n "$ns" link set lo up || { say "error: netns"; exit 1; }
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0
done
link() { # NS1 IF1 ADDR1 NS2 IF2 ADDR2
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4" &&
		ip -n "$1" addr add "$3" dev "$2" nodad &&
		ip -n "$4" addr add "$6" dev "$5" nodad &&
		ip -n "$1" link set "$2" up && ip -n "$4" link set "$5" up
}
link "$H" h0 2001:db8:1::10/64 "$G" g0 2001:db8:1::1/64 &&
	link "$G" g1 2001:db8:2::1/64 "$P" p0 2001:db8:2::2/64 || { say "error: links"; exit 1; }
ip netns exec "$G" sysctl -qw net.ipv6.conf.all.forwarding=1
reals=()
{
	for ((k = 0; k < K; k++)); do
		r=2001:db8:1::$(printf '%x' $((0x100 + k)))
		reals+=("$r")
		echo "address add $r/64 dev h0 nodad"
	done
} >"$tmp/h.batch"
{
	for ((i = 0; i < N; i++)); do printf 'address add 2001:db8:3::1:%x/128 dev lo\n' "$i"; done
	for ((i = 0; i < KN; i++)); do printf 'address add 2001:db8:3::2:%x/128 dev lo\n' "$i"; done
} >"$tmp/p.batch"
ip -n "$H" -b "$tmp/h.batch" && ip -n "$P" -b "$tmp/p.batch" &&
	ip -n "$H" route add default via 2001:db8:1::1 &&
	ip -n "$G" route add 2001:db8:3::/64 via 2001:db8:2::2 &&
	ip -n "$P" route add default via 2001:db8:2::1 || { say "error: addresses/routes"; exit 1; }
REALS=$(IFS=,; echo "${reals[*]}")
guise -n "$G" config set enabled on vprefix 2001:db8:ff::/48 \
	miss 2001:db8:1::100/120 upcall upcall-timeout 3000 || { say "error: guise config"; exit 1; }
# Warm the neighbour caches: G <-> every source in H, G <-> P.
for src in 2001:db8:1::10 "${reals[@]}"; do
	ip netns exec "$H" ping -6 -c 1 -W 2 -I "$src" 2001:db8:1::1 >/dev/null
done
ip netns exec "$H" ping -6 -c 2 -i 0.2 -W 2 -I 2001:db8:1::10 2001:db8:3::1:0 >/dev/null ||
	{ say "error: H cannot reach P"; exit 1; }
log "topology: $K real addresses, $((N + KN)) peer addresses"

# --- the kernel's hold and release alone (no daemon) --------------------------
if [ "$KN" -gt 0 ]; then
	log "prober-answered upcalls: $KN flows"
	"${PIN_PROBE[@]}" $PROBE run kernel "$tmp/kernel.txt" --h "$H" --g "$G" --p "$P" --port $PORT \
		--reals "$REALS" --peer-base 2001:db8:3::2:0 --n "$KN" --gap-ms "$GAP" ||
		{ say "error: prober (kernel)"; exit 1; }
fi

# --- guise-leased in gateway mode -----------------------------------------------
log "certificates and guise-leased"
(cd "$tmp" &&
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
		-out ca.crt -subj "/CN=fp ca" -days 2 -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign &&
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
		-out server.csr -subj /CN=server &&
	printf 'subjectAltName=IP:::1\nextendedKeyUsage=serverAuth\n' >server.ext &&
	openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -set_serial 0x1234 -days 2 \
		-extfile server.ext -out server.crt) >"$tmp/pki.log" 2>&1 ||
	{ say "error: certificates"; cat "$tmp/pki.log"; exit 1; }
cat >"$tmp/leased.conf" <<CONF
[server]
listen = [::1]:0
cert = $tmp/server.crt
key = $tmp/server.key
ca = $tmp/ca.crt
db = $tmp/leased.db
socket = $tmp/leased.sock

[pool]
prefix = 2001:db8:ff::/48
default_lifetime = 10m
; N rents from K addresses in seconds: above the per-client defaults
max_per_client = 65536
rent_rate = 0

[kernel]
sync = on
netns = $G

[gateway]
enabled = on
CONF
"${PIN_LEASED[@]}" guise-leased --foreground --config "$tmp/leased.conf" --port-file "$tmp/port" \
	>"$tmp/leased.log" 2>&1 &
leased_pid=$!
for _ in $(seq 300); do [ -s "$tmp/port" ] && break; sleep 0.1; done
[ -s "$tmp/port" ] || { say "error: guise-leased did not start"; cat "$tmp/leased.log"; exit 1; }
metric() { curl -s --unix-socket "$tmp/leased.sock" http://localhost/v1/metrics |
	sed -n "s/^guise_leased_$1 //p"; }
stats0=$(guise -n "$G" -j stats)
# utime + stime of the daemon, in clock ticks
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12, $13 }' "/proc/$leased_pid/stat"; }
# its idle cost (the 1 s sweeper and such), to set apart from the rents
read -r iu0 is0 <<<"$(cpu_ticks)"
sleep 5
read -r iu1 is1 <<<"$(cpu_ticks)"
strace_pid=
if [ "${FBENCH_STRACE:-0}" = 1 ] && command -v strace >/dev/null; then
	strace -c -f -o "$tmp/strace.txt" -p "$leased_pid" 2>/dev/null &
	strace_pid=$!
	sleep 2
fi
read -r u0 s0 <<<"$(cpu_ticks)"
t_run0=$(date +%s%N)
log "on-demand flows through guise-leased: $N (x3 probes)"
"${PIN_PROBE[@]}" $PROBE run leased "$tmp/leased.txt" --h "$H" --g "$G" --p "$P" --port $PORT \
	--reals "$REALS" --pass-src 2001:db8:1::10 --peer-base 2001:db8:3::1:0 --n "$N" \
	--gap-ms "$GAP" || { say "error: prober (leased)"; tail "$tmp/leased.log"; exit 1; }
read -r u1 s1 <<<"$(cpu_ticks)"
t_run1=$(date +%s%N)
stats1=$(guise -n "$G" -j stats)
if [ -n "$strace_pid" ]; then
	kill -INT "$strace_pid" 2>/dev/null
	wait "$strace_pid" 2>/dev/null
fi
held=$(guise -n "$G" -j lease show | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
rents=$(metric rents_total) refused=$(metric rents_refused_total)
commits=$(metric group_commits_total) writes=$(metric group_commit_writes_total)
gwm=$(metric gateway_misses_total) gwd=$(metric gateway_dropped_total)
kill -0 "$leased_pid" 2>/dev/null || { say "error: guise-leased died"; tail "$tmp/leased.log"; }

say "=== results"
say "first packet of a new flow H -> P through gateway G (UDP, one datagram per probe,"
say "sequential, mean gap ${GAP} ms); $N flows from $K real addresses, each to a new peer"
echo "$stats0" "$stats1" | python3 -c '
import json, sys
d = json.JSONDecoder(); s = sys.stdin.read().strip(); a, i = d.raw_decode(s); b, _ = d.raw_decode(s[i:].strip())
k = ["miss_queued", "miss_released", "miss_timeout", "miss_overflow", "miss_event", "miss_pass"]
print("G during the leased run: " + ", ".join("%s %d" % (x, b.get(x, 0) - a.get(x, 0)) for x in k))'
say "guise-leased: rents $rents (refused $refused), gateway misses $gwm (dropped $gwd),"
say "  $commits group commits for $writes writes; G holds $held leases (store on tmpfs: fsync is free)"
awk -v u=$((u1 - u0)) -v s=$((s1 - s0)) -v i=$((iu1 + is1 - iu0 - is0)) \
	-v hz="$(getconf CLK_TCK)" -v n="$N" -v ms=$(((t_run1 - t_run0) / 1000000)) 'BEGIN {
	idle = i * 1000 / hz / 5; u = u * 1000 / hz; s = s * 1000 / hz
	printf "  CPU time of guise-leased: %.0f ms (user %.0f, system %.0f) in the %.1f s run,", u + s, u, s, ms / 1000
	printf " %.1f ms/s when idle\n", idle
	printf "  net of the idle rate: %.2f ms per on-demand lease (guest CPU time: it includes\n", (u + s - idle * ms / 1000) / n
	printf "  the time the host did not run the vCPU)\n" }'
say
reports=("$tmp/leased.txt")
[ "$KN" -gt 0 ] && reports+=("$tmp/kernel.txt")
$PROBE report "${reports[@]}"
if [ -n "$strace_pid" ]; then
	say
	say "system calls of guise-leased during the run (FBENCH_STRACE=1, strace -c):"
	head -n 30 "$tmp/strace.txt"
fi
rc=0
grep -q ' ondemand .* -1 ' "$tmp/leased.txt" && rc=1	# a first packet was lost
say "=== end (the benchmark ran $(($(date +%s) - T0)) s in the guest)"
exit "$rc"
