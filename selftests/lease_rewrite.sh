#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# lease_rewrite: the address rewrite end to end.
#
#   H (R) --- G (owns 2001:db8:ff::/48) --- X (router) ---- P (peer)
#   2001:db8:1::10        2001:db8:2::/64       |  MTU 1280 on X's side
#                                               +---- T (third party)
#
# X knows a route to the virtual prefix (via G) but none to H's real
# prefix: only leased traffic can get an answer. Checked: ping, UDP and a
# TCP bulk transfer H<->P through a lease; a capture on G--X shows V and
# never R; path MTU discovery (X's Packet Too Big reaches H rewritten); BIG
# TCP packets (over 64 KiB, jumbo option) are rewritten; G's
# own Time Exceeded about P -> V quotes V, not R; P cannot address R
# itself while (R, P) is leased; T cannot reach V; X's neighbour
# solicitation for V reaches G (proxy ND); a lease
# without INGRESS does not answer; expiry stops
# traffic and emits LEASE_EXPIRED; miss policy drop; outbound TCP/25 block
# and the rate limit count per lease, and hold on two CPUs at once.
source "$(dirname "$0")/lib.sh"
require_cmd tcpdump python3

source "$(dirname "$0")/leasenet.sh"

check "enable guise on G" gx config set enabled on vprefix 2001:db8:ff::/48
check "without a lease P cannot answer R" no_ping_p

check "lease add" gx lease add $REAL $PEER $VIRT lifetime 120
check "lease show lists it with its counters" \
	bash -c "guise -n $G -j lease show | python3 -c 'import json,sys; l=json.load(sys.stdin); assert len(l) == 1 and l[0][\"virt\"] == \"$VIRT\" and \"tx_packets\" in l[0][\"stats\"]'"

ip netns exec "$X" tcpdump -i x0 -U -n -w /tmp/gx.pcap ip6 2>/dev/null &
dump_pid=$!
defer kill "$dump_pid"
sleep 1

check "ping H -> P through the lease" ping_p
serve "$P" /tmp/udp-echo.txt udp-echo 7000
check "UDP H -> P and back" ip netns exec "$H" python3 selftests/nettool.py udp-ping $PEER 7000
serve "$P" /tmp/tcp-sink.txt tcp-sink 7001
check "TCP bulk 2 MB H -> P (larger than every MTU)" \
	ip netns exec "$H" timeout 60 python3 selftests/nettool.py tcp-send $PEER 7001 2000000
check "path MTU learnt: PTB from X reached H" \
	bash -c "ip -n $H -6 route get $PEER | grep -q 'mtu 1280'"
check "ICMPv6 errors were rewritten" [ "$(gstat lease_icmp)" -ge 1 ]

# BIG TCP: with h0's GSO size over 64 KiB, H's TCP sends GSO packets that
# say payload length 0 and carry a jumbo option; G rewrites them like any.
ip -n "$H" link set h0 gso_max_size 185000
ip netns exec "$G" tcpdump -i g0 -U -n -s 200 -w /tmp/g0.pcap \
	"ip6 and src $REAL" 2>/dev/null &
big_pid=$!
defer kill "$big_pid"
sleep 1
before=$(gstat drop_malformed)
serve "$P" /tmp/tcp-sink2.txt tcp-sink 7002
check "TCP bulk 16 MB H -> P with BIG TCP on H" \
	ip netns exec "$H" timeout 120 python3 selftests/nettool.py tcp-send $PEER 7002 16000000
sleep 1
kill "$big_pid" 2>/dev/null; wait "$big_pid" 2>/dev/null
ip -n "$H" link set h0 gso_max_size 65536
check "... G received packets over 64 KiB (jumbo)" \
	bash -c "tcpdump -n -v -r /tmp/g0.pcap 2>/dev/null | grep -qi jumbo"
check "... none of them counted malformed" [ "$(gstat drop_malformed)" -eq "$before" ]
check "lease counters count both ways" \
	bash -c "[ \$(guise -n $G -j lease show | python3 -c 'import json,sys; s=json.load(sys.stdin)[0][\"stats\"]; print(min(s[\"tx_packets\"], s[\"rx_packets\"]))') -ge 3 ]"

sleep 1
kill "$dump_pid" 2>/dev/null; wait "$dump_pid" 2>/dev/null
tcpdump -n -r /tmp/gx.pcap 2>/dev/null >/tmp/gx.txt
check "capture on G--X saw the virtual address" grep -q "$VIRT" /tmp/gx.txt
check "capture on G--X never saw the real address" bash -c "! grep -q '$REAL' /tmp/gx.txt"

before=$(gstat drop_not_peer)
check "T cannot reach V" bash -c "! ip netns exec $T ping -6 -c 2 -i 0.2 -W 1 $VIRT >/dev/null"
check "... and is counted (drop_not_peer)" [ "$(gstat drop_not_peer)" -gt "$before" ]
# Proxy ND (the pool on-link upstream): X's unicast neighbour solicitation
# for V comes from X, not P, and must still reach G, which answers it.
ns_probe() {
	ip netns exec "$X" python3 - "$VIRT" <<'PY'
import socket, struct, sys, time
virt = socket.inet_pton(socket.AF_INET6, sys.argv[1])
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 255)
s.settimeout(0.5)
s.sendto(struct.pack("!BBHI", 135, 0, 0, 0) + virt, (sys.argv[1], 0))
end = time.time() + 3
while time.time() < end:
    try:
        b = s.recv(2048)
    except socket.timeout:
        continue
    if b[0] == 136 and b[8:24] == virt:
        print("neighbour advertisement for V")
        sys.exit(0)
sys.exit("no neighbour advertisement for V")
PY
}
ip netns exec "$G" sysctl -qw net.ipv6.conf.all.proxy_ndp=1
ip -n "$G" neigh add proxy $VIRT dev g1
before=$(gstat drop_not_peer)
check "X's unicast NS for V is answered by G (proxy ND)" ns_probe
check "... and not counted as a drop" [ "$(gstat drop_not_peer)" -eq "$before" ]
ip -n "$G" neigh del proxy $VIRT dev g1

before=$(gstat drop_unleased)
check "an unleased pooled address is unreachable" \
	bash -c "! ip netns exec $P ping -6 -c 1 -W 1 2001:db8:ff::99 >/dev/null"
check "... and is counted (drop_unleased)" [ "$(gstat drop_unleased)" -gt "$before" ]

# --- ICMPv6 errors about P's packets to V, sent before they reach R ------------
# P -> V with hop limit 2: X forwards it with 1, G makes it P -> R and
# cannot forward it: G's own Time Exceeded quotes P -> R. P must see V in
# the quote, never R, and valid checksums (ICMPv6, and the quoted UDP's
# over P -> V).
hoplimit_error() {
	ip netns exec "$P" python3 - "$PEER" "$VIRT" "$REAL" <<'PY'
import socket, struct, sys, threading
# (not scapy.all: it takes seconds more to import under emulation)
from scapy.compat import raw
from scapy.layers.inet6 import IPv6, ICMPv6TimeExceeded
from scapy.layers.l2 import Ether  # noqa: F401 (dissects what p0 captures)
from scapy.sendrecv import AsyncSniffer
peer, virt, real = sys.argv[1:4]
def ok(src, dst, nh, data):  # the one's complement sum over all is 0xffff
    b = socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(
        socket.AF_INET6, dst) + struct.pack("!IxxxB", len(data), nh) + data
    b += b"\0" * (len(b) % 2)
    t = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while t >> 16:
        t = (t & 0xffff) + (t >> 16)
    return t == 0xffff
# the probe goes once the sniffer listens; it stops at the first Time
# Exceeded (5 s at most)
started, got = threading.Event(), threading.Event()
sn = AsyncSniffer(iface="p0", store=True,
                  lfilter=lambda p: ICMPv6TimeExceeded in p,
                  started_callback=started.set, prn=lambda p: got.set())
sn.start()
started.wait(10)
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 2)
s.sendto(b"hop limit probe " * 4, (virt, 7300))
got.wait(5)
pkts = sn.stop()
assert pkts, "no Time Exceeded reached P"
ip6 = pkts[0][IPv6]
icmp = raw(ip6)[40:]
assert ip6.nh == 58 and ok(ip6.src, ip6.dst, 58, icmp), "bad ICMPv6 checksum"
q = icmp[8:]
qsrc, qdst = (socket.inet_ntop(socket.AF_INET6, q[o:o + 16]) for o in (8, 24))
print("quote %s -> %s" % (qsrc, qdst))
assert socket.inet_pton(socket.AF_INET6, real) not in raw(ip6), "R leaked"
assert (qsrc, qdst) == (peer, virt), "quote is not P -> V"
assert q[6] == 17 and ok(qsrc, qdst, 17, q[40:]), "bad quoted UDP checksum"
PY
}
# P checksums in software for this: over veth a CHECKSUM_PARTIAL datagram
# would travel with only the pseudo-header sum in its checksum field, and
# so would G's quote of it.
ip netns exec "$P" python3 selftests/nettool.py tx-csum p0 off
before=$(gstat lease_icmp)
check "G's Time Exceeded about P -> V quotes V, never R; checksums valid" \
	hoplimit_error
ip netns exec "$P" python3 selftests/nettool.py tx-csum p0 on
check "... counted as a rewritten ICMPv6 error" [ "$(gstat lease_icmp)" -gt "$before" ]

# --- abuse controls ------------------------------------------------------------
check "replace: egress+ingress, block SMTP, 5 pps burst 5" \
	gx lease add $REAL $PEER $VIRT lifetime 120 block-smtp rate 5 burst 5
ip netns exec "$H" python3 -c "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM); s.settimeout(1)
try: s.connect(('$PEER', 25))
except Exception: pass" 
check "outbound TCP/25 dropped and counted" [ "$(lease_stat drop_smtp)" -ge 1 ]
ip netns exec "$H" ping -6 -q -c 40 -i 0.01 -W 1 $PEER >/dev/null 2>&1
check "rate limit drops the excess and counts it" [ "$(lease_stat drop_rate)" -ge 20 ]
# Two senders, one per CPU, share one lease's bucket: a CPU that read the
# clock before another took the bucket's lock first must not see negative
# time (as u64: a whole burst refilled, the stamp moved back). What passes
# is bounded by rate x time + burst, measured from the replace (which
# empties the bucket) to the senders' end.
tx0=$(lease_stat tx_packets)
t0=$(date +%s.%N)
check "replace: 50 pps burst 10" gx lease add $REAL $PEER $VIRT lifetime 120 rate 50 burst 10
senders=()
for cpu in 0 1; do
	ip netns exec "$H" python3 -c '
import os, socket, sys, time
os.sched_setaffinity(0, {int(sys.argv[1])})
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
end = time.monotonic() + 4
while time.monotonic() < end:
    try:
        s.sendto(b"x" * 32, (sys.argv[2], 9))
    except OSError:
        pass  # dropped by the rate limit: EPERM
' $cpu $PEER &
	senders+=($!)
done
wait "${senders[@]}"
t1=$(date +%s.%N)
passed=$(($(lease_stat tx_packets) - tx0))
allowed=$(python3 -c "print(int(50 * ($t1 - $t0)) + 10)")
echo "# two CPUs at 50 pps burst 10 for $(python3 -c "print(round($t1 - $t0, 2))") s: $passed passed, at most $allowed allowed, $(lease_stat drop_rate) dropped in all"
check "two CPUs on one bucket: no more than rate x time + burst passes" \
	[ "$passed" -le "$allowed" ]

# --- expiry ----------------------------------------------------------------------
ip netns exec "$G" timeout 30 python3 selftests/genl.py listen 25 >/tmp/events.txt &
listen_pid=$!
for _ in $(seq 100); do grep -q listening /tmp/events.txt && break; sleep 0.2; done
check "short lease (3 s)" gx lease add $REAL $PEER $VIRT lifetime 3
check "traffic flows before expiry" ping_p
sleep 4
check "expired lease: traffic stops in the datapath" no_ping_p
check "expired lease gone from show" bash -c "[ \"\$(guise -n $G -j lease show)\" = '[]' ]"
for _ in $(seq 50); do grep -q '^cmd=7$' /tmp/events.txt && break; sleep 0.2; done
kill "$listen_pid" 2>/dev/null
check "LEASE_EXPIRED event arrived" grep -q '^cmd=7$' /tmp/events.txt

# --- miss policy -----------------------------------------------------------------
check "miss policy drop for H's prefix" gx config set miss 2001:db8:1::/64 drop
before=$(gstat miss_drop)
ping_p
check "unleased egress from R dropped and counted" [ "$(gstat miss_drop)" -gt "$before" ]

# --- errors ------------------------------------------------------------------------
check "V outside the served prefixes refused" \
	bash -c "guise -n $G lease add $REAL $PEER 2001:db8:99::1 lifetime 60 2>&1 | grep -q 'outside the served prefixes'"
check "lease add" gx lease add $REAL $PEER $VIRT lifetime 60
check "V already leased to another (real, peer) refused" \
	bash -c "guise -n $G lease add 2001:db8:1::11 $PEER $VIRT lifetime 60 2>&1 | grep -q 'leased to another'"
check "lease del by (real, peer)" gx lease del $REAL $PEER
check "a lease of 366 days" gx lease add $REAL $PEER $VIRT lifetime 366d
check "... reports its time left past 49.7 days (no u32 ms wrap)" \
	bash -c "[ \$(guise -n $G -j lease show | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"expires_ms\"])') -gt 31536000000 ]"
check "lease flush" gx lease flush

# --- P -> R directly while (R, P) is leased ----------------------------------
# Even where R's prefix is routed (X learns it here), P may not address R
# itself while it holds a lease on (R, P): an error about such a packet
# would come back with V in its quote and tell P who V is. T may.
check "miss policy pass for H's prefix" gx config set miss 2001:db8:1::/64 pass
ip -n "$X" route add 2001:db8:1::/64 via 2001:db8:2::1
check "lease add" gx lease add $REAL $PEER $VIRT lifetime 60
before=$(gstat drop_direct)
check "P cannot reach R directly while (R, P) is leased" \
	bash -c "! ip netns exec $P ping -6 -c 1 -W 1 $REAL >/dev/null"
check "... and is counted (drop_direct)" [ "$(gstat drop_direct)" -gt "$before" ]
check "T reaches R directly (no lease of its own)" \
	ip netns exec "$T" ping -6 -c 1 -W 2 $REAL
check "lease flush" gx lease flush
check "without the lease P reaches R directly" \
	ip netns exec "$P" ping -6 -c 1 -W 2 $REAL
ip -n "$X" route del 2001:db8:1::/64 via 2001:db8:2::1

exit_status
