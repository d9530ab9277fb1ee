#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# lease_churn: leases are added, replaced, deleted and flushed as fast as
# the CLI can while traffic crosses the gateway and held-packet upcalls are
# pending, and the module is unloaded and reloaded under all of it, with
# a listener on the events group (expiry and miss events in flight). The
# runner fails the run on any WARN, oops or leak report; here every unload
# must be reported clean.
source "$(dirname "$0")/lib.sh"
require_cmd python3
source "$(dirname "$0")/leasenet.sh"

CYCLES=${CYCLES:-5}

configure() {
	gx config set enabled on vprefix 2001:db8:ff::/48 \
		miss 2001:db8:1::/64 upcall upcall-timeout 500 >/dev/null 2>&1
}
configure

ip netns exec "$H" ping -6 -q -i 0.005 $PEER >/dev/null 2>&1 &
defer kill $!
(while :; do
	ip netns exec "$H" python3 selftests/nettool.py udp-burst $PEER 9 20
done) >/dev/null 2>&1 &
defer kill $!
(while :; do
	gx lease add $REAL $PEER $VIRT lifetime 2
	gx lease add $REAL $PEER $VIRT lifetime 1 rate 100 block-smtp
	gx lease del $REAL $PEER
	gx lease add 2001:db8:1::11 $PEER 2001:db8:ff::11 lifetime 1
	gx lease flush
	gx -j lease show
done) >/dev/null 2>&1 &
defer kill $!
(while :; do configure; gx stats; sleep 0.2; done) >/dev/null 2>&1 &
defer kill $!
# A listener on the events group, joined again after each reload, so that
# the collector sends LEASE_EXPIRED (it skips the message without one)
# and LEASE_MISS has a receiver while the module goes: no event may be
# sent once the family is unregistered (its group ids freed).
(while :; do
	ip netns exec "$G" timeout 15 python3 selftests/genl.py listen 8 || sleep 0.5
done) >/tmp/churn_events.txt 2>&1 &
defer kill $!

for _ in $(seq 60); do [ "$(gstat lease_tx)" -gt 0 ] && break; sleep 0.5; done
check "traffic is rewritten while leases churn" [ "$(gstat lease_tx)" -gt 0 ]

before=$(dmesg | grep -c 'guise: unloaded' || true)
bad=0
for i in $(seq 1 "$CYCLES"); do
	sleep 2
	if ! rmmod guise || ! insmod kmod/guise.ko; then
		echo "# cycle $i failed"
		bad=$((bad + 1))
	fi
done
sleep 2
after=$(dmesg | grep -c 'guise: unloaded' || true)

check "$CYCLES unload/reload cycles under churn and traffic" [ "$bad" -eq 0 ]
check "every unload clean" [ $((after - before)) -eq "$CYCLES" ]
check "no leak reported" bash -c "! dmesg | grep -q 'guise: leaked'"
echo "# events heard by the listeners: $(grep -c '^cmd=' /tmp/churn_events.txt)"

exit_status
