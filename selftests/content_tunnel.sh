#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 300
#
# content_tunnel: a UDP tunnel over a protected flow.
#
#   S (tx key) --- veth --- R (rx key)
#   vx0 (VXLAN 42, group ff3e::4242, port 5000) in both
#
# VXLAN floods what it has no forwarding entry for (nolearning) to the
# group: the outer datagrams are guise's. An inner UDP datagram leaves
# the inner socket CHECKSUM_PARTIAL, its checksum left to the device, and
# VXLAN computes the outer checksum around it (local checksum offload):
# S's LOCAL_OUT gets a CHECKSUM_PARTIAL skb whose checksum to complete is
# the inner one. guise must complete it before sealing, else R opens an
# inner datagram with only the pseudo-header sum in its checksum field,
# which R's inner stack verifies and drops.
source "$(dirname "$0")/lib.sh"
require_cmd python3

GROUP=ff3e::4242 PORT=5000
K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
S1=c0c1c2c3

setup_ns S R
defer cleanup_all_ns
ip link add eth0 netns "$S" type veth peer name eth0 netns "$R"
i=1
for ns in "$S" "$R"; do
	ip -n "$ns" addr add fd00:e::$i/64 dev eth0 nodad
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link add vx0 type vxlan id 42 group $GROUP dev eth0 \
		dstport $PORT nolearning
	ip -n "$ns" addr add fd00:99::$i/64 dev vx0 nodad
	ip -n "$ns" link set vx0 up
	guise -n "$ns" config set enabled on
	i=$((i + 1))
done
RMAC=$(ip netns exec "$R" cat /sys/class/net/vx0/address)
ip -n "$S" neigh add fd00:99::2 lladdr "$RMAC" dev vx0 nud permanent
cstat() { guise -n "$1" -j stats | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }

check "S: tx key, R: rx key for the VXLAN group and port" bash -c "
	guise -n $S key add $GROUP $PORT id 1 alg chacha20-poly1305 dir tx secret $K1 salt $S1 &&
	guise -n $R key add $GROUP $PORT id 1 alg chacha20-poly1305 dir rx secret $K1 salt $S1"
enc=$(cstat "$S" content_encrypted) dec=$(cstat "$R" content_decrypted)
ip netns exec "$R" python3 selftests/nettool.py udp-count 7000 10 >/tmp/tunnel-r.txt &
rcv=$!
for _ in $(seq 300); do grep -q ready /tmp/tunnel-r.txt 2>/dev/null && break; sleep 0.1; done
check "S sends 20 inner datagrams over vx0" \
	ip netns exec "$S" python3 selftests/nettool.py udp-burst fd00:99::2 7000 20
wait "$rcv"
echo "# encrypted $(($(cstat "$S" content_encrypted) - enc)), decrypted $(($(cstat "$R" content_decrypted) - dec))"
check "the outer datagrams were sealed and opened" \
	[ "$(cstat "$R" content_decrypted)" -ge $((dec + 20)) ]
check "R's inner socket receives all 20 (inner checksums correct)" \
	[ "$(tail -n 1 /tmp/tunnel-r.txt)" = 20 ]

exit_status
