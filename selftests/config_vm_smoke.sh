#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# config_vm_smoke: the test VM itself works — the module is loaded, network
# namespaces, veth (autoloaded through the host's modprobe) and IPv6 between
# two namespaces work, and the CLI from build/bin runs.
source "$(dirname "$0")/lib.sh"

setup_ns A B
defer cleanup_all_ns

check "module is loaded" test -d /sys/module/guise
check "veth pair between two namespaces" \
	ip link add veth0 netns "$A" type veth peer name veth1 netns "$B"
check "addresses 2001:db8:5::1 and ::2" sh -c "
	ip -n $A addr add 2001:db8:5::1/64 dev veth0 nodad &&
	ip -n $B addr add 2001:db8:5::2/64 dev veth1 nodad &&
	ip -n $A link set veth0 up && ip -n $B link set veth1 up"
check "IPv6 ping from A to B" \
	ip netns exec "$A" ping -6 -c 1 -W 5 2001:db8:5::2
check "IPv6 ping from B to A" \
	ip netns exec "$B" ping -6 -c 1 -W 5 2001:db8:5::1
if command -v guise >/dev/null; then
	check "guise --version runs" guise --version
else
	skip "guise --version runs" "build/bin/guise not built"
fi

exit_status
