#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# leased_bench.sh: the guise-leased benchmark of issue 5, on the host
# (loopback and a veth pair between two network namespaces), one run,
# side by side:
#  (1) a raw SQLite loop, one transaction per insert, guise-leased's
#      pragmas (journal_mode=WAL, synchronous=FULL): inserts/s, latency
#      (bench/src/leased_sqlite.c);
#  (2) guise-leased (this tree's build, [kernel] sync = off, the store
#      durable: WAL + synchronous=FULL, group commit: [store] batch_max 64)
#      driven over mutual TLS by closed-loop libcurl clients
#      (bench/src/leased_load.c): N rents, then N returns; rents/s,
#      returns/s, rent latency p50/p99; once for each number of clients
#      in GC_THREADS, the best rent+return rate with a rent p99 within
#      the 10 ms target taken (as Kea's best rate of its sweep is);
#  (3) the same with [store] batch_max = 1 (a commit per write), 16
#      clients;
#  (3b) group commit again with fewer clients (LAT_THREADS, N/4 rents
#      each): rent latency against concurrency, and the clients' own CPU
#      time (clients and server share the host's CPUs);
#  (4) ISC Kea DHCPv6 (kea-dhcp6, memfile) in one namespace, perfdhcp in
#      the other over a veth pair: the best SARR rate with releases at the
#      same rate (-r R -F R) over a sweep of R, then N leases' worth of
#      time at it (the sustained run); strace counts Kea's fsync calls
#      during a short extra run.
# Ratios: (2) against (1) (target >= 5x at p99 <= 10 ms) and rent+return
# pairs/s of (2) against Kea's lease+release pairs/s (target >= 1x).
# Like for like, the target ratio takes both sustained over about N
# leases, each counted as (allocations + releases) / 2 / seconds; the
# ratio against Kea's best 3 s sweep is printed too (the harder one).
# Report: build/bench/leased_bench.txt. Needs root (namespaces) and
# kea-dhcp6-server + kea-admin (scripts/deps.sh bench).
#
#   bench/leased_bench.sh [N]            (default 10000 leases)
# Environment: LEASED (default build/bin/guise-leased), OUT (build/bench),
# GC_THREADS ("16 32 64"), LAT_THREADS ("1 4 8"), SQLITE_SECS (10),
# KEA_RATES ("500 1000 2000 4000 8000"), KEA_SWEEP_SECS (3).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
out=${OUT:-$repo/build/bench}
leased=${LEASED:-$repo/build/bin/guise-leased}
n=${1:-10000}
gc_threads=${GC_THREADS:-16 32 64}
threads=16 # the batch_max 1 run's clients
[[ "$n${gc_threads// /}" =~ ^[0-9]+$ ]] || { echo "leased_bench: N and GC_THREADS are numbers" >&2; exit 2; }
[ -x "$leased" ] || { echo "leased_bench: $leased not built (make userspace)" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || { echo "leased_bench: needs root (network namespaces)" >&2; exit 1; }
for t in kea-dhcp6 perfdhcp; do
	command -v "$t" >/dev/null || { echo "leased_bench: $t missing (scripts/deps.sh bench)" >&2; exit 1; }
done
mkdir -p "$out"
cc -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$out/leased_load" \
	bench/src/leased_load.c -lcurl -lpthread
cc -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$out/leased_sqlite" \
	bench/src/leased_sqlite.c -lsqlite3

# On the build's disk, not a tmpfs: fsync must cost what it costs.
tmp=$(mktemp -d "$out/leased-bench.XXXXXX")
ns="gbench$$"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	ip netns del "$ns-s" 2>/dev/null || true
	ip netns del "$ns-c" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
report=$out/leased_bench.txt
# cpu PID: the process's user+system CPU time so far, in ms (the host is
# shared: CPU per operation is steadier than operations per second)
hz=$(getconf CLK_TCK)
cpu() { awk -v hz="$hz" '{ printf "%.0f\n", ($14 + $15) * 1000 / hz }' "/proc/$1/stat"; }
say() { echo "$*" | tee -a "$report"; }
: >"$report"
say "# $(date -u '+%Y-%m-%d %H:%M UTC'): host $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
say "# $(df -T "$tmp" | awk 'NR == 2 { print "store on " $2 " (" $1 ")" }'), SQLite $(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || pkg-config --modversion sqlite3), Kea $(kea-dhcp6 -v)"

# --- (1) raw SQLite ------------------------------------------------------------
raw=$("$out/leased_sqlite" "$tmp/raw.db" "$n" "${SQLITE_SECS:-10}")
read -r _ raw_n raw_s raw_rate raw_p50 raw_p99 <<<"$raw"

# --- (2), (3) guise-leased ----------------------------------------------------------
sh userspace/tests/leased_certs.sh "$tmp" >/dev/null
# run_leased NAME BATCH_MAX COUNT: "rent ..." and "return ..." lines
run_leased() {
	local name=$1 port i
	cat >"$tmp/$name.conf" <<CONF
[server]
listen = [::1]:0
cert = $tmp/server.crt
key = $tmp/server.key
ca = $tmp/ca.crt
db = $tmp/$name.db
[pool]
prefix = 2001:db8:ff::/48
max_per_client = 10000000
rent_rate = 0
[kernel]
sync = off
[gateway]
enabled = off
[store]
batch_max = $2
CONF
	"$leased" -f -c "$tmp/$name.conf" -p "$tmp/$name.port" 2>"$tmp/$name.log" &
	pids+=($!)
	for ((i = 0; i < 100; i++)); do
		[ -s "$tmp/$name.port" ] && break
		sleep 0.1
	done
	port=$(cat "$tmp/$name.port")
	c0=$(cpu "${pids[-1]}")
	"$out/leased_load" "https://[::1]:$port" "$tmp" "${threads}" "$3"
	echo "cpu_ms $(($(cpu "${pids[-1]}") - c0))"
	curl -s --cacert "$tmp/ca.crt" --cert "$tmp/operator.crt" --key "$tmp/operator.key" \
		"https://[::1]:$port/v1/metrics" | grep -E '^guise_leased_group_commit(s|_writes)_total ' || true
	kill "${pids[-1]}"
	wait "${pids[-1]}" 2>/dev/null || true
}
# Group commit at each number of clients in GC_THREADS, like Kea's rate
# sweep below: the figure of merit is the run with the most rent+return
# pairs/s whose rent p99 is within the 10 ms target (or the first run if
# none is).
gc=""
gc_best=-1
sweep=""
for t in $gc_threads; do
	r=$(threads=$t run_leased "group$t" 64 "$n")
	read -r p p99 ok <<<"$(awk '/^rent / { n = $2; rs = $3; p99 = $6 } /^return / { ts = $3 }
		END { printf "%.0f %s %d\n", n / (rs + ts), p99, p99 <= 10 }' <<<"$r")"
	sweep+="$t $p $p99"$'\n'
	if [ -z "$gc" ] || { [ "$ok" = 1 ] && [ "$p" -gt "$gc_best" ]; }; then
		gc=$r
		gc_threads_best=$t
		[ "$ok" = 1 ] && gc_best=$p
	fi
done
threads=$gc_threads_best
read -r _ gc_n gc_rs gc_rent gc_p50 gc_p99 gc_err <<<"$(grep '^rent ' <<<"$gc")"
read -r _ _ gc_ts gc_ret gc_rp50 gc_rp99 gc_rerr <<<"$(grep '^return ' <<<"$gc")"
gc_commits=$(awk '/^guise_leased_group_commits_total/ { print $2 }' <<<"$gc")
gc_writes=$(awk '/^guise_leased_group_commit_writes_total/ { print $2 }' <<<"$gc")
gc_cpu=$(awk '/^cpu_ms/ { print $2 }' <<<"$gc")
gc_ccpu=$(awk '/^client_cpu_ms/ { print $2 }' <<<"$gc")
one_n=$((n / 4 > 0 ? n / 4 : 1))
one=$(threads=16 run_leased single 1 "$one_n")
read -r _ one_n one_rs one_rent one_p50 one_p99 one_err <<<"$(grep '^rent ' <<<"$one")"
# Rent latency against the number of clients: "T rents/s p50 p99 server
# client" (CPU ms per rent+return pair).
lat=""
for t in ${LAT_THREADS:-1 4 8}; do
	[[ "$t" =~ ^[0-9]+$ ]] || continue
	r=$(threads=$t run_leased "lat$t" 64 "$one_n")
	lat+=$(awk -v t="$t" -v n="$one_n" '/^rent / { r = $4; p50 = $5; p99 = $6 }
		/^cpu_ms/ { s = $2 } /^client_cpu_ms/ { c = $2 }
		END { printf "%s %s %s %s %.3f %.3f\n", t, r, p50, p99, s / n, c / n }' <<<"$r")$'\n'
done

# --- (4) Kea DHCPv6 -------------------------------------------------------------------
ip netns add "$ns-s"
ip netns add "$ns-c"
ip link add "${ns}s" type veth peer name "${ns}c"
for side in s c; do
	ip link set "${ns}$side" netns "$ns-$side"
	ip netns exec "$ns-$side" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
		net.ipv6.conf.default.accept_dad=0 "net.ipv6.conf.${ns}$side.accept_dad=0"
	ip netns exec "$ns-$side" ip link set lo up
	ip netns exec "$ns-$side" ip link set "${ns}$side" up
done
ip netns exec "$ns-s" ip addr add 2001:db8:1::1/64 dev "${ns}s" nodad
cat >"$tmp/kea.json" <<JSON
{ "Dhcp6": {
  "interfaces-config": { "interfaces": [ "${ns}s" ] },
  "lease-database": { "type": "memfile", "persist": true,
                      "name": "$tmp/leases6.csv", "lfc-interval": 0 },
  "server-id": { "type": "LLT", "persist": false },
  "preferred-lifetime": 3000, "valid-lifetime": 3600,
  "renew-timer": 1000, "rebind-timer": 2000,
  "subnet6": [ { "id": 1, "subnet": "2001:db8:1::/64", "interface": "${ns}s",
                 "pools": [ { "pool": "2001:db8:1::1:0-2001:db8:1::ffff:ffff" } ] } ],
  "loggers": [ { "name": "kea-dhcp6", "severity": "ERROR",
                 "output_options": [ { "output": "$tmp/kea.log" } ] } ] } }
JSON
export KEA_PIDFILE_DIR=$tmp KEA_LOCKFILE_DIR=$tmp
ip netns exec "$ns-s" kea-dhcp6 -c "$tmp/kea.json" >"$tmp/kea.out" 2>&1 &
pids+=($!)
kea_pid=$!
sleep 2
kill -0 "$kea_pid" 2>/dev/null || { cat "$tmp/kea.out" >&2; echo "leased_bench: kea-dhcp6 did not start" >&2; exit 1; }
# perfdhcp RATE ARGS...: the achieved SARR rate and the replies counted
perf() {
	local rate=$1
	shift
	ip netns exec "$ns-c" perfdhcp -6 -l "${ns}c" -R 100000000 -r "$rate" -F "$rate" "$@" 2>&1 |
		awk '/^Rate:/ { r = $2 } /Statistics for: REQUEST-REPLY/ { s = 1 }
		     /Statistics for: RELEASE-REPLY/ { s = 2 }
		     /^received packets:/ { if (s == 1) q = $3; if (s == 2) l = $3 }
		     END { printf "%.0f %d %d\n", r, q, l }' || true
}
best=0
best_rate=0
for r in ${KEA_RATES:-500 1000 2000 4000 8000}; do
	read -r got _ _ <<<"$(perf "$r" -p "${KEA_SWEEP_SECS:-3}")"
	if [ "${got:-0}" -gt "$best" ]; then best=$got; best_rate=$r; fi
done
# N leases' worth of time at the best rate (-n counts every message).
kea_secs=$(awk -v n="$n" -v r="$best" 'BEGIN { s = r > 0 ? n / r : 3; printf "%d", s < 3 ? 3 : s + 0.999 }')
c0=$(cpu "$kea_pid")
read -r kea_rate kea_leases kea_released <<<"$(perf "$best_rate" -p "$kea_secs")"
kea_cpu=$(($(cpu "$kea_pid") - c0))
# Kea's rent+return analogue: allocations and releases answered, halved,
# per second of the run (as guise's N rents + N returns over their time).
kea_pairs=$(awk -v a="$kea_leases" -v b="$kea_released" -v s="$kea_secs" \
	'BEGIN { printf "%.0f", (a + b) / 2 / s }')
# Durability: does memfile sync a lease before the reply? Count the
# calls while a short load runs.
kea_sync="strace missing"
if command -v strace >/dev/null; then
	strace -f -c -e trace=fsync,fdatasync,sync_file_range,msync,write,writev \
		-o "$tmp/kea.strace" -p "$kea_pid" 2>/dev/null &
	spid=$!
	sleep 1
	perf 500 -p 2 >/dev/null
	kill -INT "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	kea_sync=$(awk '$NF ~ /^(fsync|fdatasync|sync_file_range|msync|write|writev)$/ { c[$NF] = $4 }
		END { printf "fsync %d, fdatasync %d, write %d (2 s at 500 exchanges/s)",
		      c["fsync"], c["fdatasync"], c["write"] + c["writev"] }' "$tmp/kea.strace")
fi

# --- report ------------------------------------------------------------------------------
pairs=$(awk -v n="$gc_n" -v a="$gc_rs" -v b="$gc_ts" 'BEGIN { printf "%.0f", n / (a + b) }')
say ""
say "== raw SQLite, one transaction per insert (WAL, synchronous=FULL)"
say "inserts                      $raw_n in ${raw_s} s = $raw_rate/s, latency p50 $raw_p50 ms p99 $raw_p99 ms"
say "== guise-leased, group commit (batch_max 64, WAL, synchronous=FULL), N rents then N returns, against clients"
say "clients  rent+return pairs/s  rent p99 ms"
while read -r t p p99; do
	[ -n "$t" ] && say "$(printf '%7s  %19s  %11s' "$t" "$p" "$p99")"
done <<<"$sweep"
say "== the best of those within rent p99 <= 10 ms: $threads mTLS clients"
say "rents                        $gc_n in ${gc_rs} s = $gc_rent/s, latency p50 $gc_p50 ms p99 $gc_p99 ms, errors $gc_err"
say "returns                      $gc_n in ${gc_ts} s = $gc_ret/s, latency p50 $gc_rp50 ms p99 $gc_rp99 ms, errors $gc_rerr"
say "rent+return pairs            $pairs/s"
say "commits                      ${gc_commits:-?} for ${gc_writes:-?} writes"
say "server CPU                   ${gc_cpu} ms = $(awk -v c="$gc_cpu" -v n="$gc_n" -v s="$gc_rs" -v t="$gc_ts" 'BEGIN { printf "%.3f ms per rent+return pair, %.0f%% of one CPU", c / n, c / (s + t) / 10 }')"
say "client CPU                   ${gc_ccpu:-?} ms = $(awk -v c="${gc_ccpu:-0}" -v n="$gc_n" 'BEGIN { printf "%.3f", c / n }') ms per pair (the $threads clients, same CPUs)"
say "== guise-leased, batch_max 1 (a commit per write), 16 clients"
say "rents                        $one_n in ${one_rs} s = $one_rent/s, latency p50 $one_p50 ms p99 $one_p99 ms, errors $one_err"
say "== guise-leased, group commit, rent latency against clients ($one_n rents each run)"
say "clients  rents/s  p50 ms  p99 ms  server CPU ms/pair  client CPU ms/pair"
while read -r t r p50 p99 sc cc; do
	[ -n "$t" ] && say "$(printf '%7s  %7s  %6s  %6s  %18s  %18s' "$t" "$r" "$p50" "$p99" "$sc" "$cc")"
done <<<"$lat"
say "== ISC Kea DHCPv6 $(kea-dhcp6 -v) memfile (persist), perfdhcp over veth, releases at the SARR rate"
say "sweep best                   $best SARR/s at -r $best_rate"
say "leases                       $kea_leases in $kea_secs s: $kea_rate SARR/s, $kea_released released"
say "lease+release pairs          $kea_pairs/s ((leases + released) / 2 / $kea_secs s)"
say "server CPU                   ${kea_cpu} ms = $(awk -v c="$kea_cpu" -v n="$kea_leases" -v s="$kea_secs" 'BEGIN { printf "%.3f ms per lease (with its release), %.0f%% of one CPU", n ? c / n : 0, c / s / 10 }')"
say "kea memfile syscalls         $kea_sync"
say "== ratios"
awk -v g="$gc_rent" -v r="$raw_rate" -v p99="$gc_p99" 'BEGIN {
	printf "group-commit rents / raw SQLite inserts     %.1fx (target >= 5x), rent p99 %s ms (target <= 10)\n", g / r, p99 }' | tee -a "$report"
awk -v g="$gc_rent" -v o="$one_rent" 'BEGIN {
	printf "group commit / batch_max 1                  %.1fx\n", g / o }' | tee -a "$report"
# The target: both sustained over about N leases, each with its release.
# Kea's rate moves between the sweep and the run (shared host): the
# ratio against its best sweep is the harder bound.
awk -v p="$pairs" -v k="$kea_pairs" 'BEGIN { if (k > 0)
	printf "guise rent+return pairs / Kea lease+release pairs, sustained  %.2fx (target >= 1x)\n", p / k }' | tee -a "$report"
awk -v p="$pairs" -v b="$best" 'BEGIN { if (b > 0)
	printf "guise rent+return pairs / Kea best sweep SARR/s              %.2fx\n", p / b }' | tee -a "$report"
awk -v gc="$gc_cpu" -v gn="$gc_n" -v kc="$kea_cpu" -v kn="$kea_leases" 'BEGIN {
	if (gc > 0 && kn > 0 && kc > 0)
		printf "the same per server CPU second                                %.2fx\n", (gn / gc) / (kn / kc) }' | tee -a "$report"
say "durability: guise-leased acknowledges a rent or return after its COMMIT's fsync of the WAL; Kea memfile writes its CSV without fsync (above)"
