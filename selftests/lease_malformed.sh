#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# lease_malformed: crafted and malformed packets (scapy) through both hooks
# of the gateway: truncated headers, bogus extension-header chains,
# fragments, routing headers, ICMPv6 errors quoting garbage. Nothing may
# crash (the runner fails on any oops or WARN), broken packets are dropped
# and counted, well-formed corner cases are handled as documented, and the
# lease still works afterwards.
source "$(dirname "$0")/lib.sh"
require_cmd python3
python3 -c 'import scapy' 2>/dev/null || { skip "scapy" "python3-scapy missing"; exit_status; }
source "$(dirname "$0")/leasenet.sh"

check "enable and lease" gx config set enabled on vprefix 2001:db8:ff::/48
check "lease" gx lease add $REAL $PEER $VIRT lifetime 300
check "ping through the lease" ping_p

# MAC addresses to address frames to G from H's and X's side.
g0=$(ip -n "$G" -j link show g0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')
g1=$(ip -n "$G" -j link show g1 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["address"])')

# craft IFACE DSTMAC SRC DST: send the malformed set in both directions.
craft() {
	python3 - "$@" <<'PY'
import sys
from scapy.all import Ether, IPv6, UDP, TCP, ICMPv6EchoRequest, Raw, sendp
from scapy.all import IPv6ExtHdrFragment, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop
from scapy.all import IPv6ExtHdrRouting, ICMPv6PacketTooBig, ICMPv6DestUnreach
iface, mac, src, dst = sys.argv[1:5]
e = Ether(dst=mac)
ip = IPv6(src=src, dst=dst)
pkts = [
    # payload length beyond the frame
    e / IPv6(src=src, dst=dst, plen=1000, nh=17) / Raw(b"x" * 4),
    # a UDP header cut short
    e / IPv6(src=src, dst=dst, nh=17) / Raw(b"\x00\x01"),
    # a TCP header cut short
    e / IPv6(src=src, dst=dst, nh=6) / Raw(b"\x00\x19\x00"),
    # an extension header longer than the packet
    e / IPv6(src=src, dst=dst, nh=0) / Raw(b"\x11\xff" + b"\x00" * 6),
    # a chain of 12 destination options headers
    e / ip / (IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()) / IPv6ExtHdrDestOpt()
      / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
      / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
      / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt() / IPv6ExtHdrDestOpt()
      / UDP(dport=9) / Raw(b"deep"),
    # a first and a non-first fragment
    e / ip / IPv6ExtHdrFragment(offset=0, m=1, id=7) / UDP(dport=9) / Raw(b"a" * 48),
    e / ip / IPv6ExtHdrFragment(offset=7, m=0, id=7) / Raw(b"b" * 16),
    # a routing header (passed unmodified by design)
    e / ip / IPv6ExtHdrRouting(addresses=[dst], segleft=0) / UDP(dport=9),
    # ICMPv6 errors quoting garbage, nothing, and a truncated header
    e / ip / ICMPv6PacketTooBig(mtu=1280) / Raw(b"\x60\x00"),
    e / ip / ICMPv6DestUnreach() / Raw(b""),
    e / ip / ICMPv6DestUnreach() / IPv6(src=dst, dst=src, nh=6) / Raw(b"\x00"),
    # zero-length payload, hop-by-hop alone, no next header
    e / IPv6(src=src, dst=dst, nh=59),
    e / ip / IPv6ExtHdrHopByHop(nh=59),
]
for _ in range(3):
    sendp(pkts, iface=iface, verbose=False)
print("sent %d" % (3 * len(pkts)))
PY
}

before=$(gstat drop_malformed)
check "malformed packets P -> V (ingress)" \
	ip netns exec "$X" bash -c "$(declare -f craft); craft x0 $g1 $PEER $VIRT"
check "malformed packets H -> P (egress)" \
	ip netns exec "$H" bash -c "$(declare -f craft); craft h0 $g0 $REAL $PEER"
sleep 1
check "broken headers are dropped and counted" [ "$(gstat drop_malformed)" -gt "$before" ]
check "the module is still loaded" [ -d /sys/module/guise ]
check "the lease still works" ping_p
check "the counters still read" gx stats

exit_status
