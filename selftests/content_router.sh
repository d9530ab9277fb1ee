#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# content_router: a multicast router decrypts for its downstream LAN.
#
#   S (tx key) --- M (router, smcroute, rx key) --- R2 (no key)
#
# M holds the key and forwards ff3e::4242 from upstream to downstream; the
# decryption happens in M's PREROUTING before the multicast route, so R2,
# which knows nothing of guise, receives plaintext. M hands the decrypted
# datagram on with CHECKSUM_PARTIAL: with M's downstream transmit checksum
# offload off, the stack completes the checksum, R2 (which then verifies
# it in software) must accept every datagram, and a capture on R2 must
# show a correct UDP checksum on each; 60 KB datagrams, reassembled and
# decrypted by M, are fragmented again on the way down. S then sends UDP
# GSO bursts that M's upstream veth merges again (GRO with
# rx-udp-gro-forwarding): M decrypts every datagram of the merged skbs and
# R2 gets each, with correct checksums. Then the module is unloaded and
# reloaded while the stream flows: the unload is clean and, re-keyed,
# decryption resumes.
source "$(dirname "$0")/lib.sh"
require_cmd smcrouted python3 tcpdump ethtool

GROUP=ff3e::4242 PORT=5000
K=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f SALT=c0c1c2c3

setup_ns S M R2
defer cleanup_all_ns
ip link add eth0 netns "$S" type veth peer name eth0 netns "$M"
ip link add eth1 netns "$M" type veth peer name eth0 netns "$R2"
ip -n "$S" addr add fd00:c1::1/64 dev eth0 nodad
ip -n "$M" addr add fd00:c1::2/64 dev eth0 nodad
ip -n "$M" addr add fd00:c2::2/64 dev eth1 nodad
ip -n "$R2" addr add fd00:c2::3/64 dev eth0 nodad
for l in "$S eth0" "$M eth0" "$M eth1" "$R2 eth0"; do
	set -- $l
	ip -n "$1" link set "$2" up
done
ip netns exec "$M" sysctl -qw net.ipv6.conf.all.forwarding=1

cat >/tmp/smcroute-M.conf <<CONF
phyint eth0 enable
phyint eth1 enable
mroute from eth0 group $GROUP to eth1
CONF
ip netns exec "$M" smcrouted -n -N -f /tmp/smcroute-M.conf -i smc-guise \
	-u /tmp/smcroute-M.sock -P /tmp/smcroute-M.pid -l err &
defer kill $!
sleep 2

keys() {
	guise -n "$S" config set enabled on &&
	guise -n "$M" config set enabled on &&
	guise -n "$S" key add $GROUP $PORT id 7 alg aes128-gcm dir tx \
		secret ${K:0:32} salt $SALT &&
	guise -n "$M" key add $GROUP $PORT id 7 alg aes128-gcm dir rx \
		secret ${K:0:32} salt $SALT
}
# The receiver's window starts with its first datagram (slow emulated
# guests); r2 waits until it is done and prints its result. Told how many
# datagrams to expect (NETTOOL_EXPECT=N recv ...), it ends a second after
# the Nth (extras and duplicates still count), its window the limit.
export NETTOOL_FIRST_WAIT=30
recv() {
	ip netns exec "$R2" python3 selftests/nettool.py mcast-recv $GROUP $PORT eth0 "$1" >/tmp/r2.txt &
	RECV=$!
	for _ in $(seq 300); do grep -q ready /tmp/r2.txt 2>/dev/null && return; sleep 0.1; done
}
recv_done() { wait "$RECV" 2>/dev/null; }	# in this shell, not in $(...)
r2() { tail -n 1 /tmp/r2.txt; }
send() { ip netns exec "$S" python3 selftests/nettool.py mcast-send $GROUP $PORT eth0 "$@"; }
# cstat NS NAME: a counter ("name value" lines: no python to start, which
# takes a second or two under emulation)
cstat() { guise -n "$1" stats | awk -v k="$2" '$1 == k { print $2; n++ } END { exit !n }'; }
# capture NS PCAP FILTER: tcpdump on NS's eth0 in the background ($!),
# until it listens
capture() {
	ip netns exec "$1" tcpdump -i eth0 -U -n -s 0 -w "$2" "$3" 2>"$2.log" &
	busywait 20000 grep -q "listening on" "$2.log"
}

check "keys: tx in S, rx in the router M" keys
# smcroute installs the (S, G) route on the first packet's upcall; under
# emulation that can take long enough for the kernel's unresolved queue
# to drop some. Prime the route before counting.
send 5 100 900
sleep 2
NETTOOL_EXPECT=30 recv 6
check "S sends 30 datagrams" send 30 1200
recv_done
check "R2, without guise, receives all 30 in plaintext" \
	[ "$(r2)" = "good 30 bad 0 plain 0" ]
check "M decrypted what it forwarded" [ "$(cstat "$M" content_decrypted)" -ge 30 ]

# SRv6 (seg6_enabled on M): a packet to M's own address whose next
# segment is the group is re-routed to it after PREROUTING, never opened,
# and would go down the multicast route as it is. M's FORWARD refuses it.
ip netns exec "$M" sysctl -qw net.ipv6.conf.all.seg6_enabled=1 \
	net.ipv6.conf.eth0.seg6_enabled=1
capture "$R2" /tmp/router-srh.pcap ip6
dump=$!
before=$(cstat "$M" drop_routing)
srh_send() {
	ip netns exec "$S" python3 - "$(ip netns exec "$M" cat /sys/class/net/eth0/address)" \
		$GROUP $PORT <<'PY'
import sys
# (scapy.all takes seconds more to import under emulation)
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrSegmentRouting
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.sendrecv import sendp
sys.path.insert(0, "selftests")
from nettool import payload
mac, group, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
p = IPv6(src="fd00:c1::1", dst="fd00:c1::2") / \
    IPv6ExtHdrSegmentRouting(addresses=[group, "fd00:c1::2"], segleft=1) / \
    UDP(sport=4000, dport=port) / Raw(payload(777, 500))
sendp(Ether(dst=mac) / p, iface="eth0", verbose=False)
PY
}
check "S sends plaintext to M's address, SRv6 next segment the group" srh_send
# (+2 when M also joined the group: LOCAL_IN refuses the local copy)
mstat_ge() { [ "$(cstat "$M" "$1")" -ge "$2" ]; }
check "... M drops it in FORWARD (drop_routing)" \
	busywait 5000 mstat_ge drop_routing $((before + 1))
sleep 1
kill "$dump"
wait "$dump" 2>/dev/null
check "... and the downstream wire never carries it" \
	bash -c "! grep -q 'guise-plaintext-marker:00000777' /tmp/router-srh.pcap"

check "M's downstream: transmit checksum offload off" \
	ip netns exec "$M" python3 selftests/nettool.py tx-csum eth1 off
capture "$R2" /tmp/router.pcap "udp port $PORT"
dump=$!
NETTOOL_EXPECT=22 recv 20
send_mixed() { send 20 1200 1000 && send 2 60000 2000; }
check "S sends 20 datagrams of 1200 bytes, 2 of 60000" send_mixed
recv_done
check "R2 verifies and accepts all 22, 60 KB ones refragmented by M" \
	[ "$(r2)" = "good 22 bad 0 plain 0" ]
sleep 1
kill "$dump"
wait "$dump" 2>/dev/null
# every unfragmented datagram on the downstream wire: plaintext, correct UDP checksum
udp_csums() { # udp_csums [PCAP]
	python3 - "${1:-/tmp/router.pcap}" "$PORT" <<'PY'
import sys
from scapy.compat import raw
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment, in6_chksum
from scapy.utils import rdpcap
good = bad = 0
for p in rdpcap(sys.argv[1]):
    if IPv6 not in p or UDP not in p or IPv6ExtHdrFragment in p or p[UDP].dport != int(sys.argv[2]):
        continue
    u = p[UDP].copy()
    want, u.chksum = u.chksum, 0
    c = in6_chksum(17, p[IPv6], raw(u)) or 0xffff
    ok = c == want and raw(u.payload).startswith(b"guise-plaintext-marker:")
    good, bad = good + ok, bad + (not ok)
print("checksums good %d bad %d" % (good, bad))
sys.exit(0 if good >= 20 and bad == 0 else 1)
PY
}
check "the downstream wire carries plaintext with correct UDP checksums" udp_csums

# GRO at the router: S's UDP GSO bursts are segmented before S's wire and
# merged again by M's upstream veth; M decrypts the merged skbs chunk by
# chunk and forwards them, segmented with checksums by the stack (M's
# downstream offload is still off).
ip netns exec "$M" ethtool -K eth0 gro on rx-udp-gro-forwarding on
ip netns exec "$S" ethtool -K eth0 tx-udp-segmentation off
capture "$M" /tmp/router-gro.pcap "udp port $PORT"
dump=$!
capture "$R2" /tmp/router.pcap "udp port $PORT"
dump2=$!
before=$(cstat "$M" content_decrypted)
NETTOOL_EXPECT=32 recv 10
check "S sends 4 GSO bursts of 8 datagrams (7 x 1000 + 400 bytes)" \
	ip netns exec "$S" python3 selftests/nettool.py mcast-gso-send $GROUP $PORT eth0 4 8 1000 400 3000
recv_done
check "R2 receives all 32 in plaintext, byte-identical" [ "$(r2)" = "good 32 bad 0 plain 0" ]
sleep 1
kill "$dump" "$dump2"
wait "$dump" "$dump2" 2>/dev/null
merged() {
	python3 - /tmp/router-gro.pcap <<'PY'
import sys
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6  # noqa: F401 (dissects IPv6)
from scapy.utils import rdpcap
n = sum(1 for p in rdpcap(sys.argv[1]) if UDP in p and p[UDP].len > 1500)
print("merged skbs: %d" % n)
sys.exit(0 if n else 1)
PY
}
check "M's upstream veth merged them (GRO)" merged
check "M decrypted each of the 32 datagrams" \
	[ "$(cstat "$M" content_decrypted)" -eq $((before + 32)) ]
check "downstream: 32 datagrams, plaintext, correct UDP checksums" udp_csums
ip netns exec "$M" ethtool -K eth0 gro off
check "M's downstream: transmit checksum offload on again" \
	ip netns exec "$M" python3 selftests/nettool.py tx-csum eth1 on

before=$(dmesg | grep -c 'guise: unloaded' || true)
(NETTOOL_INTERVAL=0.01 send 300 1200) &
sender=$!
sleep 1
check "rmmod while the stream flows" rmmod guise
check "insmod again" insmod kmod/guise.ko
check "re-key after reload" keys
wait "$sender"
check "the unload was clean" \
	[ "$(dmesg | grep -c 'guise: unloaded')" -eq $((before + 1)) ]
check "no leak reported" bash -c "! dmesg | grep -q 'guise: leaked'"
NETTOOL_EXPECT=10 recv 5
send 10 800 100
recv_done
check "after the reload R2 again receives plaintext" \
	[ "$(r2)" = "good 10 bad 0 plain 0" ]

exit_status
