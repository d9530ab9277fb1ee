#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# config_reload: the module loads and unloads 50 times while IPv6 traffic
# flows between two namespaces and a reader hammers the netlink family, and
# every unload is clean (no "leaked" report; the runner also fails the run
# on any WARN/oops in dmesg).
source "$(dirname "$0")/lib.sh"

CYCLES=${CYCLES:-50}

setup_ns A B
defer cleanup_all_ns

ip link add veth0 netns "$A" type veth peer name veth1 netns "$B"
ip -n "$A" addr add fd00:1::1/64 dev veth0 nodad
ip -n "$B" addr add fd00:1::2/64 dev veth1 nodad
ip -n "$A" link set veth0 up
ip -n "$B" link set veth1 up

ip netns exec "$A" ping -6 -q -i 0.01 fd00:1::2 >/dev/null 2>&1 &
ping_pid=$!
defer kill "$ping_pid"
# Readers racing with unload: errors are expected while the family is
# gone; crashes, hangs and leaks are not.
(while :; do guise -n "$A" config show; guise -n "$B" stats; done) \
	>/dev/null 2>&1 &
reader_pid=$!
defer kill "$reader_pid"

dmesg_before=$(dmesg | grep -c 'guise: unloaded' || true)
bad=0
for i in $(seq 1 "$CYCLES"); do
	if ! rmmod guise || ! insmod kmod/guise.ko ||
	   ! guise -n "$A" config set enabled on vprefix 2001:db8:ff::/48 \
		miss 2001:db8:1::/64 upcall >/dev/null; then
		echo "# cycle $i failed"
		bad=$((bad + 1))
	fi
done
dmesg_after=$(dmesg | grep -c 'guise: unloaded' || true)

check "$CYCLES load/unload cycles under traffic" [ "$bad" -eq 0 ]
check "every unload reported clean" \
	[ $((dmesg_after - dmesg_before)) -eq "$CYCLES" ]
check "no leak reported" bash -c "! dmesg | grep -q 'guise: leaked'"
check "traffic still flows" ip netns exec "$A" ping -6 -c 1 -W 2 fd00:1::2
check "configuration works after the cycles" \
	bash -c "guise -n $A -j config show | grep -q '2001:db8:ff::/48'"

exit_status
