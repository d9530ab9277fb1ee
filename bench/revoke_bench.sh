#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# revoke_bench: benchmark (e) of issue 7, revocation end to end: the time
# from the publication of a CRL to the revoked client's lease gone from
# the kernel. Runs INSIDE the test VM (bench/guest.sh, started by
# bench/run.sh revoke|all), working directory = the checkout, $MODULE =
# the module to load.
#
# Namespace S runs the control plane on ::1: guise-certd, guise-crlwatch
# watching the CA's CRL directory, guise-leased ([certd] url, kernel sync
# into namespace G). PKI: selftests/revokepki.sh (one CA, `openssl ca`).
# RBENCH_N + RBENCH_BASE_N clients (2001:db8:1::100 + i) each rent one
# lease over mutual TLS; all are in G's kernel. Then, one client after
# the other: `openssl ca -revoke` + `-gencrl` into a staging file,
# selftests/revoketool.py renames it into the watched directory (the
# publication, t0) and dumps G's lease table over netlink in a loop until
# that client's lease is gone (t1). Reported: t1 - t0 (and from the start
# of -gencrl), p50 and max.
#
#   push:     crlwatch watches the directory (inotify, and a scan every
#             RBENCH_WATCH s = 0.05): a new CRL is pushed as a signed
#             notification to certd, which streams "revoked" events to
#             leased, which removes the lease (store, then kernel).
#   baseline: the same chain, but the new CRL is only noticed by a
#             periodic poll of the repository every RBENCH_POLL s (2):
#             crlwatch --url fetches the CRL over HTTP from a web server
#             serving the same directory (python3 -m http.server in S),
#             which no file event can wake. That is the seed's baseline,
#             where validation servers re-fetch CRLs every 60 s, scaled
#             down so that it fits a benchmark. A
#             revocation then waits for the next poll, uniform in
#             [0, P), plus the processing: p50 = P/2 + proc, max -> P +
#             proc. Measured with P = RBENCH_POLL, and that formula
#             evaluated for P = 60 s with the measured processing time
#             (the push p50) is printed next to it.
#
# Parameters (environment, or build/bench/params.env from bench/run.sh):
# RBENCH_N (20), RBENCH_BASE_N (10), RBENCH_WATCH (0.05), RBENCH_POLL (2).
set -uo pipefail

# shellcheck source=/dev/null
[ -f build/bench/params.env ] && source build/bench/params.env
# shellcheck source=bench/guest_lib.sh
source bench/guest_lib.sh
N=${RBENCH_N:-20}
NB=${RBENCH_BASE_N:-10}
WATCH=${RBENCH_WATCH:-0.05}
POLL=${RBENCH_POLL:-2}
MODULE=${MODULE:-kmod/guise.ko}
T0=$(date +%s)
say() { printf '%s\n' "$*"; }
log() { printf '# [%4ds] %s\n' "$(($(date +%s) - T0))" "$*"; }
REPO=$PWD
RTOOL="python3 $REPO/selftests/revoketool.py"

say "=== guise revocation end-to-end benchmark"
bench_load_module
bench_describe
say "$(openssl version)"

S=rb-s-$$ G=rb-g-$$
tmp=$(mktemp -d)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	ip netns delete "$S" 2>/dev/null
	ip netns delete "$G" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
for ns in "$S" "$G"; do
	ip netns add "$ns" && ip -n "$ns" link set lo up || { say "error: netns"; exit 1; }
done
guise -n "$G" config set enabled on vprefix 2001:db8:ff::/48 || exit 1

clients=()
for ((i = 1; i <= N + NB; i++)); do
	clients+=("c$i=2001:db8:1::$(printf '%x' $((0x100 + i)))")
done
log "PKI: a CA and $((N + NB)) client certificates (openssl ca)"
sh selftests/revokepki.sh "$tmp" ::1 "${clients[@]}" || { say "error: PKI"; exit 1; }
cd "$tmp" || exit 1
TLS="cert = $tmp/server.crt
key = $tmp/server.key
ca = $tmp/ca.crt"
cat >certd.conf <<CONF
[server]
listen = [::1]:0
$TLS
[trust]
anchors = $tmp/ca.crt
crl = $tmp/pub/ca.crl
CONF
bg() { # LOG CMD...
	local l=$1
	shift
	ip netns exec "$S" "$@" >>"$l" 2>&1 &
	pids+=($!)
}
waitfile() { local i; for ((i = 0; i < 300; i++)); do [ -s "$1" ] && return 0; sleep 0.1; done; return 1; }
bg certd.log guise-certd --foreground --config certd.conf --port-file certd.port
waitfile certd.port || { say "error: certd did not start"; tail certd.log; exit 1; }
CERTD="https://[::1]:$(sed -n 1p certd.port)"
cat >leased.conf <<CONF
[server]
listen = [::1]:0
$TLS
db = $tmp/leased.db
socket = $tmp/leased.sock
[pool]
prefix = 2001:db8:ff::/48
default_lifetime = 1h
[kernel]
sync = on
netns = $G
[certd]
url = $CERTD
$TLS
CONF
bg leased.log guise-leased --foreground --config leased.conf --port-file leased.port -v
waitfile leased.port || { say "error: leased did not start"; tail leased.log; exit 1; }
for ((i = 0; i < 200; i++)); do grep -q 'revocation: connected' leased.log && break; sleep 0.1; done
LEASED="https://[::1]:$(cat leased.port)"

crlwatch_pid=
start_crlwatch() { # INTERVAL SOURCE...: --dir DIR or --url URL
	local interval=$1
	shift
	if [ -n "$crlwatch_pid" ]; then
		kill "$crlwatch_pid" 2>/dev/null
		wait "$crlwatch_pid" 2>/dev/null
	fi
	ip netns exec "$S" guise-crlwatch "$@" --issuer ca.crt --sign-cert ca.crt --sign-key ca.d/ca.key \
		--carry --serials --to "$CERTD/v1/notify" --cert server.crt --key server.key \
		--ca ca.crt --interval "$interval" >>crlwatch.log 2>&1 &
	crlwatch_pid=$!
	pids+=($!)
	sleep 1	# it reads the CRLs present at start (not notified)
}

# The baseline's repository over HTTP: polled, never woken by inotify.
REPO_PORT=18080
bg repo.log python3 -m http.server --bind ::1 --directory pub "$REPO_PORT"
for ((i = 0; i < 100; i++)); do
	ip netns exec "$S" curl -sf -o /dev/null "http://[::1]:$REPO_PORT/ca.crl" && break
	sleep 0.1
done
[ "$i" -lt 100 ] || { say "error: the CRL repository's web server did not start"; tail repo.log; exit 1; }

log "renting $((N + NB)) leases over mutual TLS"
for c in "${clients[@]}"; do
	name=${c%%=*}
	code=$(ip netns exec "$S" curl -s --max-time 20 --cacert ca.crt --cert "$name.crt" \
		--key "$name.key" -o /dev/null -w '%{http_code}' \
		-d '{"peer":"2001:db8:3::20"}' "$LEASED/v1/rent")
	[ "$code" = 201 ] || { say "error: rent $name: HTTP $code"; tail leased.log; exit 1; }
done
have=$($RTOOL count "$G" lease)
log "G's kernel holds $have leases"
[ "$have" -eq $((N + NB)) ] || { say "error: expected $((N + NB)) leases in G"; exit 1; }

# revoke NAME ADDR: one revocation; prints "PUB_MS GENCRL_MS" (or "fail")
revoke() {
	local tg res
	CADIR=ca.d openssl ca -batch -config ca.cnf -revoke "$1.crt" 2>/dev/null || { echo fail; return; }
	tg=$(date +%s%N)
	CADIR=ca.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext -out stage.crl \
		2>/dev/null || { echo fail; return; }
	res=$($RTOOL publish stage.crl pub/ca.crl --gencrl-start "$tg" --lease "$G" "$2" \
		--timeout "$3") || { echo fail; return; }
	echo "$res" | python3 -c "import json,sys; d=json.load(sys.stdin)
l = list(d['lease_ms'].values())[0]; print(l, round(d['gencrl_ms'] + l, 1), d['poll_us'])"
}

run_phase() { # NAME INTERVAL FIRST COUNT TIMEOUT SOURCE... -> $tmp/NAME.txt
	local i c name addr out
	start_crlwatch "$2" "${@:6}"
	: >"$tmp/$1.txt"
	for ((i = $3; i < $3 + $4; i++)); do
		c=${clients[i]}
		name=${c%%=*} addr=${c#*=}
		out=$(revoke "$name" "$addr" "$5")
		log "$1: revoke $name ($addr): publication -> lease gone, -gencrl -> gone, poll round us: $out"
		echo "$out" >>"$tmp/$1.txt"
		# a random phase against crlwatch's ticks
		sleep "0.$((RANDOM % 10))"
	done
}
run_phase push "$WATCH" 0 "$N" 10 --dir pub
run_phase poll "$POLL" "$N" "$NB" $((POLL * 3 + 10)) --url "http://[::1]:$REPO_PORT/ca.crl"
left=$($RTOOL count "$G" lease)
revoked_total=$(curl -s --unix-socket leased.sock http://localhost/v1/metrics |
	sed -n 's/^guise_leased_revoked_total //p')

say "=== results"
python3 - "$tmp/push.txt" "$tmp/poll.txt" "$N" "$NB" "$WATCH" "$POLL" "$left" \
	"$((N + NB))" "${revoked_total:-?}" <<'PY'
import statistics, sys
def load(p):
    ok, fails = [], 0
    for line in open(p):
        f = line.split()
        if len(f) != 3:
            fails += 1
            continue
        ok.append((float(f[0]), float(f[1]), float(f[2])))
    return ok, fails
push, pf = load(sys.argv[1])
poll, bf = load(sys.argv[2])
n, nb, watch, P = int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
left, total, revoked = int(sys.argv[7]), int(sys.argv[8]), sys.argv[9]
def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] if v else float('nan')
def row(name, v):
    print("%-44s %9.1f %9.1f %9.1f" % (name, statistics.median(v), pct(v, 0.9), max(v)) if v
          else "%-44s   (none)" % name)
print("(e) CRL publication -> the revoked client's lease gone from the kernel")
print("    %d revocations pushed, one client each (%d failed); %d polled (%d failed)" % (
    len(push), pf, len(poll), bf))
print("    leases left in the kernel at the end: %d of %d (expected %d); leased revoked_total %s" % (
    left, total, total - n - nb, revoked))
print("    poll of the kernel table: one netlink dump per %.0f us on average (the resolution)" % (
    statistics.mean([p[2] for p in push + poll]) if push + poll else 0))
print()
print("%-44s %9s %9s %9s" % ("ms", "p50", "p90", "max"))
row("push, from publication (inotify)", [p[0] for p in push])
row("push, from the start of openssl ca -gencrl", [p[1] for p in push])
row("poll every %g s (HTTP), from publication" % P, [p[0] for p in poll])
row("poll every %g s (HTTP), from -gencrl" % P, [p[1] for p in poll])
if push:
    proc = statistics.median([p[0] for p in push])
    # the watcher's own directory poll is part of "push": at most `watch`
    print("%-44s %9.1f %9s %9.1f" % ("poll every 60 s (model: U[0,60 s) + proc)",
                                     30000 + proc, "", 60000 + proc))
    print()
    pp = statistics.median([p[0] for p in push])
    pm = max(p[0] for p in push)
    if poll:
        bp = statistics.median([p[0] for p in poll])
        bm = max(p[0] for p in poll)
        print("ratio poll(%g s)/push: p50 %.1fx, max %.1fx (measured)" % (P, bp / pp, bm / pm))
        if bp < P * 1000 / 4:
            # a poll waits U[0, P) for its round: a median far below P/2
            # means something other than the poll noticed the CRLs
            print("WARNING: the polled p50 is below P/4: the baseline did not wait for its polls")
    print("ratio poll(60 s)/push: p50 %.0fx, max %.0fx (model: p50 = 30 s + %.0f ms, max = 60 s + %.0f ms)" % (
        (30000 + proc) / pp, (60000 + proc) / pm, proc, proc))
    print("push: crlwatch notices the new file by inotify (its directory scan every %g s is the fallback)" % watch)
PY
rc=0
[ -s "$tmp/push.txt" ] && ! grep -q fail "$tmp/push.txt" "$tmp/poll.txt" || rc=1
[ "$left" -eq 0 ] || rc=1
say "=== end (the benchmark ran $(($(date +%s) - T0)) s in the guest)"
cd "$REPO" || true
exit "$rc"
