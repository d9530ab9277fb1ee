#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
#
# config_idle: a namespace that never uses guise costs it no periodic work
# and no expiry wheel. The lease collector and the key collector run only
# while their table holds something: the first lease or key starts them,
# an empty table stops them, and a lease or key added after a pause is
# still collected at its expiry (the collector restarts on time).
# shellcheck disable=SC2317 # functions below run through check/busywait
source "$(dirname "$0")/lib.sh"
require_cmd python3

N=20
TR=/sys/kernel/tracing
K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
S1=c0c1c2c3

mountpoint -q "$TR" || mount -t tracefs nodev "$TR" 2>/dev/null
if [ ! -e "$TR/events/workqueue/workqueue_execute_start/enable" ]; then
	skip "collectors idle" "no tracefs workqueue events in this kernel"
	exit_status
fi
ev=$TR/events/workqueue/workqueue_execute_start
defer sh -c "echo 0 >$ev/enable; echo 0 >$TR/tracing_on; echo >$TR/trace"

# runs SECONDS: "LEASE KEY", how many times each collector ran meanwhile
# (the trace line names the work function).
runs()
{
	echo 0 >"$TR/tracing_on"
	echo >"$TR/trace"
	echo 1 >"$ev/enable"
	echo 1 >"$TR/tracing_on"
	sleep "$1"
	echo 0 >"$TR/tracing_on"
	echo "$(grep -c 'guise_lease_gc' "$TR/trace") $(grep -c 'guise_key_gc' "$TR/trace")"
}
# big_allocs CMD...: how many 32 KiB kmallocs (the wheel: 4096 list
# heads, kvcalloc) CMD makes; above a page kmalloc bypasses the slab
# caches, so the kmem trace events count them, not /proc/slabinfo.
big_allocs()
{
	local e n
	echo 0 >"$TR/tracing_on"
	echo >"$TR/trace"
	for e in kmalloc kmalloc_node; do
		[ -d "$TR/events/kmem/$e" ] || continue
		echo 'bytes_req == 32768' >"$TR/events/kmem/$e/filter"
		echo 1 >"$TR/events/kmem/$e/enable"
	done
	echo 1 >"$TR/tracing_on"
	"$@"
	echo 0 >"$TR/tracing_on"
	for e in kmalloc kmalloc_node; do
		[ -d "$TR/events/kmem/$e" ] || continue
		echo 0 >"$TR/events/kmem/$e/enable"
		echo 0 >"$TR/events/kmem/$e/filter"
	done
	n=$(grep -c 'bytes_req=32768' "$TR/trace")
	echo "$n"
}

# --- idle namespaces --------------------------------------------------------
names=()
for i in $(seq $N); do names+=("IDLE$i"); done
# (not in $(...): setup_ns sets the variables IDLE1... in this shell)
big_allocs setup_ns "${names[@]}" >/tmp/idle_allocs.txt
defer cleanup_all_ns
allocs=$(tail -n 1 /tmp/idle_allocs.txt)
echo "# 32 KiB kmallocs while creating $N namespaces: $allocs"
check "no expiry wheel per idle namespace ($allocs 32 KiB allocations < $((N / 2)))" \
	[ "$allocs" -lt $((N / 2)) ]

r=$(runs 3)
echo "# collector runs in 3 s with $N idle namespaces: lease, key = $r"
check "no collector runs in idle namespaces" [ "$r" = "0 0" ]

# --- one namespace starts using guise ---------------------------------------
G=$IDLE1
gx() { guise -n "$G" "$@"; }
count() { gx -j config show | python3 -c 'import json,sys; c = json.load(sys.stdin); print(c["lease_count"], c["key_count"])'; }

check "serve 2001:db8:ff::/48" gx config set enabled on vprefix 2001:db8:ff::/48
allocs=$(big_allocs gx lease add 2001:db8:1::1 2001:db8:2::1 2001:db8:ff::1 lifetime 60 | tail -n 1)
first_lease() { [ "$(count)" = "1 0" ] && [ "$allocs" -ge 1 ]; }
check "the first lease (60 s) comes with its wheel (32 KiB allocations: $allocs)" \
	first_lease
check "a key" gx key add ff3e::4242 5000 id 1 alg chacha20-poly1305 dir rx \
	secret $K1 salt $S1
r=$(runs 3)
echo "# collector runs in 3 s with one lease and one key: lease, key = $r"
check "both collectors run while their table holds something" \
	python3 -c "l, k = map(int, '$r'.split()); exit(not (l >= 1 and k >= 1))"

check "delete the lease and the key" sh -c "
	guise -n $G lease del 2001:db8:1::1 2001:db8:2::1 &&
	guise -n $G key flush"
sleep 2		# each collector's last run sees its table empty
r=$(runs 3)
echo "# collector runs in 3 s after the tables emptied: lease, key = $r"
check "both collectors stop once their table is empty" [ "$r" = "0 0" ]

# --- restarted after a pause: expiry still on time --------------------------
check "a 4 s lease and a key expiring in 4 s, after the pause" sh -c "
	guise -n $G lease add 2001:db8:1::1 2001:db8:2::1 2001:db8:ff::1 lifetime 4 &&
	guise -n $G key add ff3e::4242 5000 id 1 alg chacha20-poly1305 dir rx \
		secret $K1 salt $S1 not-after +4s"
check "two entries" [ "$(count)" = "1 1" ]
count_is_zero() { [ "$(count)" = "0 0" ]; }
check "both collected at their expiry" busywait 15000 count_is_zero

exit_status
