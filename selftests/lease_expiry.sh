#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
#
# lease_expiry: the expiry wheel. 300 leases in three lifetime classes
# (15, 30 and 45 s: a TCG guest on a busy host takes seconds per command)
# are collected class by class, oldest first, each with a LEASE_EXPIRED
# event that carries its counters, never before its expiry; a lease renewed
# to a later expiry is not collected at its old time; and leases whose
# expiry is about one wheel lap (GUISE_GC_SLOTS granules) away, i.e. on a
# slot the collector visits during the test, are left alone. lease_count
# (the table's size) falls as the collector frees. A flush of expired
# leases not collected yet sends their LEASE_EXPIRED events too.
# shellcheck disable=SC2317 # functions below run through check/busywait
source "$(dirname "$0")/lib.sh"
require_cmd python3

setup_ns G
defer cleanup_all_ns
gx() { guise -n "$G" "$@"; }
count() { gx -j config show | python3 -c 'import json,sys; print(json.load(sys.stdin)["lease_count"])'; }
count_le() { [ "$(count)" -le "$1" ]; }
events_ge() { [ "$(wc -l </tmp/expiry_events.txt)" -ge "$1" ]; }
lap_leases_live() {
	local i
	for i in 1 2 3; do gx lease show virt "2001:db8:ff::a:$i" || return 1; done
}
REAL=2001:db8:1::10

# One wheel lap in seconds: 4096 granules of 2^ceil(log2(HZ)) jiffies.
hz=$(sed -n 's/^CONFIG_HZ=//p' "/boot/config-$(uname -r)" 2>/dev/null)
LAP=$(python3 -c "import math; hz = int('${hz:-250}'); print(round(4096 * 2 ** math.ceil(math.log2(hz)) / hz))")
echo "# HZ ${hz:-250 (assumed)}, one wheel lap = $LAP s"

check "serve 2001:db8:ff::/48" gx config set enabled on vprefix 2001:db8:ff::/48

# class c (0, 1, 2): lifetime 15 + 15c s; lease i: peer/virt ::(c+1):i
python3 - >/tmp/expiry_leases.txt <<PY
for c in range(3):
    for i in range(100):
        print("$REAL 2001:db8:2::%x:%x 2001:db8:ff::%x:%x lifetime %d"
              % (c + 1, i + 1, c + 1, i + 1, 15 + 15 * c))
PY
EVENTS=301	# the 300, and the renewed lease

gx -j monitor lease count "$EVENTS" 2>/tmp/expiry_monitor.err |
	python3 -u -c 'import sys, time
for line in sys.stdin:
    print("%.3f %s" % (time.time(), line), end="", flush=True)' >/tmp/expiry_events.txt &
mon_pid=$!
defer kill "$mon_pid"
sleep 1	# subscribed

check "renewable lease, 15 s" gx lease add $REAL 2001:db8:2::9:1 2001:db8:ff::9:1 lifetime 15
t0=$(date +%s.%N)
check "load 300 leases (15, 30 and 45 s)" gx lease load /tmp/expiry_leases.txt
t_renew=$(date +%s.%N)
check "... renew the 15 s lease to 60 s" gx lease add $REAL 2001:db8:2::9:1 2001:db8:ff::9:1 lifetime 60
for d in -1 0 1; do
	check "lease about one wheel lap ahead ($((LAP + 15 + d)) s)" \
		gx lease add $REAL 2001:db8:2::a:$((d + 2)) 2001:db8:ff::a:$((d + 2)) \
		lifetime $((LAP + 15 + d))
done
check "304 leases in the table" [ "$(count)" = 304 ]

check "the 15 s class is collected (lease_count 204)" \
	busywait 45000 count_le 204
check "the renewed lease is not collected at its old expiry" \
	gx lease show $REAL 2001:db8:2::9:1
check "the leases about a lap ahead are still there" \
	lap_leases_live

check "all $EVENTS LEASE_EXPIRED events arrive" \
	busywait 120000 events_ge "$EVENTS"
kill "$mon_pid" 2>/dev/null
check "the table keeps only the 3 leases a lap ahead" [ "$(count)" = 3 ]

check "events: every lease once, in expiry order, none early, with counters" \
	python3 - /tmp/expiry_events.txt "$t0" "$t_renew" <<'PY'
import json, sys
t0, t_renew = float(sys.argv[2]), float(sys.argv[3])
seen, last = set(), -1
for line in open(sys.argv[1]):
    t, ev = line.split(" ", 1)
    t, ev = float(t), json.loads(ev)
    assert ev["event"] == "lease_expired", ev
    lease = ev["lease"]
    assert "tx_packets" in lease["stats"], lease
    virt = lease["virt"]
    assert virt not in seen, "twice: " + virt
    seen.add(virt)
    c = int(virt.split(":")[-2], 16)
    if c == 9:		# the renewed lease: 60 s from its renewal
        life, start, cls = 60, t_renew, 3
    else:
        assert 1 <= c <= 3, "collected: " + virt
        life, start, cls = 15 * c, t0, c - 1
    assert t >= start + life - 0.05, "%s collected %.2f s early" % (
        virt, start + life - t)
    assert cls >= last, "%s (class %d) after class %d" % (virt, cls, last)
    last = cls
assert len(seen) == 301, len(seen)
PY

# --- LEASE_FLUSH of expired leases the collector has not reached yet ----------
# An expired lease is collected once the granule of its expiry has ended;
# a flush before that unlinks it and must send its LEASE_EXPIRED then, as
# the collector and LEASE_NEW do. Timed on the kernel's jiffies
# (/proc/timer_list): 10 leases of 1 s are loaded a few jiffies into a
# granule, so they expire early in the next one and are collected about a
# granule (1 s) after their expiry; "leases N" of config show (expired
# leases count until collected) is read and the table flushed in between.
# Rounds until one left expired leases to the flush (a slow guest can
# miss the window); every lease of every round must get exactly one event,
# whoever unlinked it.
check "flush" gx lease flush
python3 - >/tmp/expiry_flush.txt <<PY
for i in range(10):
    print("$REAL 2001:db8:2::b:%x 2001:db8:ff::b:%x lifetime 1" % (i + 1, i + 1))
PY
gx -j monitor lease >/tmp/expiry_flush_events.txt 2>/dev/null &
fmon_pid=$!
defer kill "$fmon_pid"
sleep 1	# subscribed
python3 - "$G" "${hz:-250}" >/tmp/expiry_flush_rounds.txt <<'PY'
import math, subprocess, sys, time
ns, hz = sys.argv[1], int(sys.argv[2])
gran = 1 << math.ceil(math.log2(hz))	# jiffies per granule
def jiffies():
    with open("/proc/timer_list") as f:
        for line in f:
            if line.startswith("jiffies:"):
                return int(line.split()[1])
def gx(*args):
    return subprocess.run(["guise", "-n", ns] + list(args), check=True,
                          capture_output=True, text=True).stdout
for rnd in range(1, 9):
    lo, hi = gran // 32, gran // 8	# 8..32 jiffies in at HZ=250
    while not lo <= jiffies() % gran <= hi:
        time.sleep(((lo + 2 - jiffies() % gran) % gran) / hz)
    t0 = time.monotonic()
    gx("lease", "load", "/tmp/expiry_flush.txt")
    t1 = time.monotonic()
    time.sleep(max(0, t1 + 1.02 - time.monotonic()))	# all expired
    left = [l.split()[1] for l in gx("config", "show").splitlines()
            if l.startswith("leases ")][0]
    gx("lease", "flush")
    t2 = time.monotonic()
    print("round %d: load took %.2f s, %s of 10 expired leases left, "
          "flushed %.2f s after the load" % (rnd, t1 - t0, left, t2 - t0),
          flush=True)
    if int(left) > 0:
        break
PY
sed 's/^/# /' /tmp/expiry_flush_rounds.txt
rounds=$(grep -c '^round' /tmp/expiry_flush_rounds.txt)
check "a flush took expired leases before the collector ($rounds rounds)" \
	bash -c "tail -n 1 /tmp/expiry_flush_rounds.txt | grep -qv ' 0 of 10'"
flush_events() { [ "$(grep -c '"lease_expired"' /tmp/expiry_flush_events.txt)" -ge "$1" ]; }
busywait 10000 flush_events $((10 * rounds))
sleep 2	# and no more than that
kill "$fmon_pid" 2>/dev/null
check "every expired lease flushed or collected: one LEASE_EXPIRED each ($((10 * rounds)))" \
	[ "$(grep -c '"lease_expired"' /tmp/expiry_flush_events.txt)" -eq $((10 * rounds)) ]
check "empty after flush" [ "$(count)" = 0 ]

exit_status
