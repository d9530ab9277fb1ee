#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 600
#
# content_bypass: datagrams that would reach a protected flow's sockets
# without being opened are refused, and what a user namespace installs is
# charged to its memory cgroup.
#
#   A (no key, crafts) --- veth --- R (rx key, a plain receiver)
#
# 1. Fragments. nf_defrag_ipv6 does not reassemble a packet that already
#    has conntrack state or is untracked (a notrack rule before defrag):
#    its fragments pass PREROUTING as they are and the stack reassembles
#    them after it. A fragment to a group R holds rx keys for is dropped
#    (drop_fragment), forged plaintext and sealed datagrams alike; without
#    the notrack rule a sealed datagram larger than the MTU is reassembled
#    first and decrypts; fragments to another group pass.
# 2. Routing headers. With seg6_enabled, a packet to R's unicast address
#    whose SRv6 next segment is the group is re-routed to it after
#    PREROUTING: LOCAL_IN refuses it (drop_routing). (content_router checks
#    the forwarding side.)
# 3. Memory accounting. Keys installed from a process in a memory cgroup
#    are charged to it (per-CPU request buffers and counters, the key, its
#    replay bitmap, the flow).
source "$(dirname "$0")/lib.sh"
require_cmd python3 nft
python3 -c 'import scapy, cryptography' 2>/dev/null ||
	{ skip "content tests" "python3-scapy or python3-cryptography missing"; exit_status; }

GROUP=ff3e::4242 PORT=5000 OTHER=ff3e::99
K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
S1=c0c1c2c3
AADDR=fd00:d::1 RADDR=fd00:d::2

setup_ns A R
defer cleanup_all_ns
ip link add eth0 netns "$A" type veth peer name eth0 netns "$R"
ip -n "$A" addr add $AADDR/64 dev eth0 nodad
ip -n "$R" addr add $RADDR/64 dev eth0 nodad
ip -n "$A" link set eth0 up
ip -n "$R" link set eth0 up
guise -n "$R" config set enabled on

export NETTOOL_FIRST_WAIT=0
recv() { # recv SECONDS: R's receiver, in the background, until ready
	ip netns exec "$R" python3 selftests/nettool.py mcast-recv $GROUP $PORT eth0 "$1" >/tmp/bypass-r.txt &
	RECV=$!
	for _ in $(seq 300); do grep -q ready /tmp/bypass-r.txt 2>/dev/null && return; sleep 0.1; done
}
# The window is long for a loaded guest; once the last check has seen its
# packet counted, a second for delivery, then SIGTERM ends it early.
recv_done() { sleep 1; kill -TERM "$RECV" 2>/dev/null; wait "$RECV" 2>/dev/null; }
result() { tail -n 1 /tmp/bypass-r.txt; }
cstat() { guise -n "$R" -j stats | python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
rstat_is() { [ "$(cstat "$1")" -eq "$2" ]; }

# craft MODE INDEX [DST]: A sends, with scapy or a socket,
#   sealed      a datagram sealed with K1/S1, 3000 bytes: A's stack fragments it
#   frag-plain  forged plaintext payload(INDEX, 2000) in 2 fragments (scapy)
#   frag-sealed a sealed datagram of 2000 bytes in 2 fragments (scapy)
#   srh         plaintext payload(INDEX, 500) to R's address, SRv6 next segment DST
craft() {
	ip netns exec "$A" python3 - "$@" <<PY
import sys
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from scapy.all import Ether, IPv6, UDP, Raw, sendp, fragment6, raw
from scapy.layers.inet6 import IPv6ExtHdrFragment, IPv6ExtHdrSegmentRouting, in6_chksum
sys.path.insert(0, "selftests")
from nettool import mcast_sock, payload
mode, i = sys.argv[1], int(sys.argv[2])
dst = sys.argv[3] if len(sys.argv) > 3 else "$GROUP"
hdr = bytes([0x47, 1, 1, 1]) + (1).to_bytes(4, "big") + (1000 + i).to_bytes(8, "big")
size = 3000 if mode == "sealed" else 2000   # 2 fragments of at most 1280
sealed = hdr + ChaCha20Poly1305(bytes.fromhex("$K1")).encrypt(
    bytes.fromhex("$S1") + hdr[8:], payload(i, size), hdr)
if mode == "sealed":
    s, _ = mcast_sock("eth0")
    s.sendto(sealed, (dst, $PORT))
    sys.exit(0)
def mac(a):
    from socket import inet_pton, AF_INET6
    b = inet_pton(AF_INET6, a)
    return "33:33:" + ":".join("%02x" % x for x in b[12:])
if mode.startswith("frag"):
    data = payload(i, 2000) if mode == "frag-plain" else sealed
    p = IPv6(src="$AADDR", dst=dst) / IPv6ExtHdrFragment() / \
        UDP(sport=4000, dport=$PORT) / Raw(data)
    frags = fragment6(p, 1280)
    assert len(frags) == 2
    for f in frags:
        sendp(Ether(dst=mac(dst)) / f, iface="eth0", verbose=False)
elif mode == "srh":
    data = payload(i, 500)
    # The UDP checksum as the group's sockets verify it: to the final segment.
    u = UDP(sport=4000, dport=$PORT) / Raw(data)
    cks = in6_chksum(17, IPv6(src="$AADDR", dst=dst), raw(u))
    p = IPv6(src="$AADDR", dst="$RADDR") / \
        IPv6ExtHdrSegmentRouting(addresses=[dst, "$RADDR"], segleft=1) / \
        UDP(sport=4000, dport=$PORT, chksum=cks) / Raw(data)
    sendp(Ether(dst="$RMAC") / p, iface="eth0", verbose=False)
PY
}

# One receiver in R for all of 1. and 2.: only the one sealed datagram
# that is reassembled before PREROUTING may reach it.
RMAC=$(ip netns exec "$R" cat /sys/class/net/eth0/address)
recv 90

# --- 1. fragments --------------------------------------------------------------
check "R: rx key 1" guise -n "$R" key add $GROUP $PORT id 1 alg chacha20-poly1305 \
	dir rx secret $K1 salt $S1
dec=$(cstat content_decrypted)
check "A sends a sealed 3000-byte datagram, fragmented on the wire" craft sealed 1
check "... reassembled by nf_defrag_ipv6 and decrypted" \
	busywait 5000 rstat_is content_decrypted $((dec + 1))

check "R: notrack before defrag (raw, priority -450)" bash -c "
	ip netns exec $R nft add table ip6 r &&
	ip netns exec $R nft add chain ip6 r c '{ type filter hook prerouting priority -450; }' &&
	ip netns exec $R nft add rule ip6 r c notrack"
before=$(cstat drop_fragment)
check "A sends forged plaintext in 2 fragments" craft frag-plain 2
check "... both fragments dropped and counted (drop_fragment)" \
	busywait 5000 rstat_is drop_fragment $((before + 2))
check "A sends a sealed datagram in 2 fragments" craft frag-sealed 3
check "... untracked, not reassembled first: dropped too (fail closed)" \
	busywait 5000 rstat_is drop_fragment $((before + 4))
check "A sends fragments to a group without rx keys" craft frag-plain 4 $OTHER
sleep 1
check "... they pass, not counted" rstat_is drop_fragment $((before + 4))
ip netns exec "$R" nft delete table ip6 r

# --- 2. SRv6: the destination becomes the group after PREROUTING -------------------------
ip netns exec "$R" sysctl -qw net.ipv6.conf.all.seg6_enabled=1 net.ipv6.conf.eth0.seg6_enabled=1
before=$(cstat drop_routing)
check "A sends plaintext to R's address, SRv6 next segment the group" craft srh 5
check "... dropped in LOCAL_IN and counted (drop_routing)" \
	busywait 5000 rstat_is drop_routing $((before + 1))

recv_done
check "R's socket got the sealed datagram's plaintext, nothing else" \
	[ "$(result)" = "good 1 bad 0 plain 0" ]

# --- 3. memory cgroup accounting -----------------------------------------------------
# 200 rx keys with 8192-sequence replay windows: each charges a 1 KiB
# bitmap and the key to slab, its request buffers and counters to percpu.
memcg_test() {
	local cg=/tmp/guise-cg ncpu before_p before_s after_p after_s
	mkdir -p $cg
	if ! mountpoint -q $cg && ! mount -t cgroup2 none $cg 2>/dev/null; then
		skip "memcg accounting" "no cgroup2"
		return
	fi
	defer umount $cg
	if ! echo +memory >$cg/cgroup.subtree_control 2>/dev/null ||
		! mkdir -p $cg/guise; then
		skip "memcg accounting" "no memory controller in cgroup2"
		return
	fi
	defer rmdir $cg/guise
	memstat() { awk -v k="$1" '$1 == k { print $2 }' $cg/guise/memory.stat; }
	before_p=$(memstat percpu) before_s=$(memstat slab)
	check "200 keys added from a process in the cgroup" bash -c "
		echo \$\$ >$cg/guise/cgroup.procs &&
		for i in \$(seq 200); do
			guise -n $R key add ff3e::4243 \$((6000 + i)) id 1 alg chacha20-poly1305 \
				dir rx secret $K1 salt $S1 replay-window 8192 || exit 1
		done"
	after_p=$(memstat percpu) after_s=$(memstat slab)
	echo "# memcg: percpu $before_p -> $after_p, slab $before_s -> $after_s"
	ncpu=$(nproc)
	check "... per-CPU buffers charged to the cgroup (>= 200 x $ncpu x 64 bytes)" \
		[ $((after_p - before_p)) -ge $((200 * ncpu * 64)) ]
	check "... keys and replay bitmaps charged (>= 200 x 1 KiB of slab)" \
		[ $((after_s - before_s)) -ge $((200 * 1024)) ]
	check "keys flushed" guise -n "$R" key flush ff3e::4243 6001
	check "all keys flushed" guise -n "$R" key flush
}
memcg_test

exit_status
