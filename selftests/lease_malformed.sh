#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# lease_malformed: crafted and malformed packets (scapy) through both hooks
# of the gateway: truncated headers, bogus extension-header chains,
# fragments, routing headers, ICMPv6 errors quoting garbage. Nothing may
# crash (the runner fails on any oops or WARN), broken packets are dropped
# and counted, well-formed corner cases are handled as documented, and the
# lease still works afterwards. Then, with captures on P's and H's links:
#   - routing headers (type 0 and SRH) under the default policy pass
#     unmodified (P receives R -> P), and under `routing-header drop` are
#     dropped both ways and counted as drop_routing;
#   - first fragments whose upper-layer header is cut off (RFC 7112: a TCP
#     SYN to port 25 under block-smtp whose port is in the second fragment,
#     TCP with 8 bytes, UDP and ICMPv6 behind a destination options header)
#     are dropped and counted as drop_malformed, both ways, while their
#     non-first fragments and a well-formed fragmented datagram pass
#     rewritten; the same with conntrack (nf_defrag_ipv6) active in G.
source "$(dirname "$0")/lib.sh"
require_cmd python3 tcpdump
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
# (not scapy.all: it takes seconds more to import under emulation)
from scapy.layers.inet import UDP, TCP
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest
from scapy.layers.inet6 import IPv6ExtHdrFragment, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop
from scapy.layers.inet6 import IPv6ExtHdrRouting, ICMPv6PacketTooBig, ICMPv6DestUnreach
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.sendrecv import sendp
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
gstat_gt() { [ "$(gstat "$1")" -gt "$2" ]; }
check "broken headers are dropped and counted" busywait 5000 gstat_gt drop_malformed "$before"
check "the module is still loaded" [ -d /sys/module/guise ]
check "the lease still works" ping_p
check "the counters still read" gx stats

# --- captures --------------------------------------------------------------
# capture NS IFACE FILE [TCPDUMP-OPTIONS]: capture IPv6 into FILE in the
# background until capture_stop, which writes FILE.txt: one line per
# packet, from its own header chain (not from a quote):
#   SRC DST [rh] [frag=ID/OFFSET/MF] [udp=PORT|tcp=PORT]
CAP_PIDS=() CAP_FILES=()
capture() {
	local ns=$1 dev=$2 file=$3
	shift 3
	ip netns exec "$ns" tcpdump -i "$dev" -U -n -w "$file" "$@" ip6 \
		2>"$file.log" &
	CAP_PIDS+=($!)
	CAP_FILES+=("$file")
	busywait 10000 grep -q "listening on" "$file.log"
}
capture_stop() {
	[ ${#CAP_PIDS[@]} -gt 0 ] || return 0
	sleep 1
	kill "${CAP_PIDS[@]}" 2>/dev/null
	wait "${CAP_PIDS[@]}" 2>/dev/null
	python3 - "${CAP_FILES[@]}" <<'PY'
import sys
from scapy.layers.inet import UDP, TCP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrFragment
from scapy.layers.inet6 import IPv6ExtHdrRouting, IPv6ExtHdrSegmentRouting
from scapy.layers.inet6 import IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop
from scapy.utils import rdpcap
ext = (IPv6ExtHdrRouting, IPv6ExtHdrSegmentRouting, IPv6ExtHdrFragment,
       IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop)
for name in sys.argv[1:]:
    with open(name + ".txt", "w") as txt:
        for p in rdpcap(name):
            if IPv6 not in p:
                continue
            ip = p[IPv6]
            out = [ip.src, ip.dst]
            layer = ip.payload
            while isinstance(layer, ext):
                if isinstance(layer, (IPv6ExtHdrRouting,
                                      IPv6ExtHdrSegmentRouting)):
                    out.append("rh")
                if isinstance(layer, IPv6ExtHdrFragment):
                    out.append("frag=%d/%d/%d"
                               % (layer.id, layer.offset, layer.m))
                layer = layer.payload
            if type(layer) in (UDP, TCP) and layer.dport is not None:
                out.append("%s=%d" % (type(layer).__name__.lower(),
                                      layer.dport))
            print(" ".join(out), file=txt)
PY
	CAP_PIDS=() CAP_FILES=()
}
defer capture_stop
# seen FILE REGEX / unseen FILE REGEX: a packet line of FILE.txt matches.
seen() { grep -E -- "$2" "$1.txt"; }
unseen() { ! seen "$@"; }
# udp_first NS PORT OUT: in the background, write "SRC LENGTH" of the
# first datagram NS receives on PORT within 60 s to OUT, else "none";
# udp_wait waits for it.
udp_first() {
	: >"$3"
	ip netns exec "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::", int(sys.argv[1])))
print("ready", flush=True)
s.settimeout(60)
try:
    data, addr = s.recvfrom(65536)
    print(addr[0], len(data), flush=True)
except socket.timeout:
    print("none", flush=True)
' "$2" >"$3" 2>&1 &
	UDP_PID=$!
	busywait 10000 grep -q ready "$3"
}
udp_wait() { wait "$UDP_PID"; }

# --- routing headers: pass (the default) or drop -----------------------------
# rhsend IFACE DSTMAC SRC DST PORT: three UDP datagrams to PORT with a type 0
# routing header and three to PORT+4 with a segment routing header, both
# with segments left 0 (DST is the final destination). HLIM: hop limit.
rhsend() {
	python3 - "$@" <<'PY'
import sys
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6, IPv6ExtHdrRouting, IPv6ExtHdrSegmentRouting
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.sendrecv import sendp
iface, mac, src, dst, port = sys.argv[1:6]
hlim = int(sys.argv[6]) if len(sys.argv) > 6 else 64
port = int(port)
ip = Ether(dst=mac) / IPv6(src=src, dst=dst, hlim=hlim)
pkts = [ip / IPv6ExtHdrRouting(type=0, addresses=[dst], segleft=0)
        / UDP(sport=40000, dport=port) / Raw(b"rh0"),
        ip / IPv6ExtHdrSegmentRouting(addresses=[dst], segleft=0,
                                      lastentry=0)
        / UDP(sport=40000, dport=port + 4) / Raw(b"srh")]
sendp(pkts * 3, iface=iface, verbose=False)
PY
}
# rhround: H sends R -> P (ports 7770/7774), X sends P -> V with hop limit 2
# (ports 7771/7775: passed unmodified, G sends it back towards X, where
# it ends); captures on P's link and of what G sends to X.
rhround() {
	capture "$P" p0 /tmp/rh_p.pcap
	capture "$X" x0 /tmp/rh_x.pcap -Q in
	ip netns exec "$H" bash -c "$(declare -f rhsend); rhsend h0 $g0 $REAL $PEER 7770"
	ip netns exec "$X" bash -c "$(declare -f rhsend); rhsend x0 $g1 $PEER $VIRT 7771 2"
	capture_stop
}

check "default routing-header policy: pass" \
	[ "$(gx -j config show | python3 -c 'import json,sys; print(json.load(sys.stdin)["routing_header"])')" = pass ]
before=$(gstat drop_routing)
rhround
check "pass: R -> P with a type 0 routing header reaches P unmodified (source R)" \
	seen /tmp/rh_p.pcap "^$REAL $PEER rh udp=7770\$"
check "pass: ... never as V" unseen /tmp/rh_p.pcap "^$VIRT .*udp=7770"
check "pass: R -> P with an SRH leaves G unmodified" \
	seen /tmp/rh_x.pcap "^$REAL $PEER rh udp=7774\$"
check "pass: P -> V with a routing header is not rewritten" \
	seen /tmp/rh_x.pcap "^$PEER $VIRT rh udp=7771\$"
check "pass: nothing counted as drop_routing" [ "$(gstat drop_routing)" = "$before" ]

check "config set routing-header drop" gx config set routing-header drop
check "config show: routing-header drop" \
	bash -c "guise -n $G config show | grep -qx 'routing-header drop'"
before=$(gstat drop_routing)
rhround
check "drop: no packet with source R reaches P" unseen /tmp/rh_p.pcap "^$REAL "
check "drop: no routing-header packet leaves G, either way" \
	unseen /tmp/rh_x.pcap "udp=(7770|7771|7774|7775)"
check "drop: 12 packets counted as drop_routing (6 egress, 6 ingress)" \
	[ "$(gstat drop_routing)" = $((before + 12)) ]
check "drop: the lease still works without a routing header" ping_p
check "config set routing-header pass" gx config set routing-header pass

# --- first fragments without their whole upper-layer header (RFC 7112) ------
# fragsend IFACE DSTMAC SRC DST BASE [DIR]: datagrams SRC -> DST in two
# fragments, identification BASE+n, checksums for SRC -> DST. DIR egress
# (default): 1 a TCP SYN to port 25 whose first fragment holds a
# destination options header and not one byte of TCP (the port is in the
# second), 2 a TCP SYN to port 80 whose first fragment holds 8 bytes of TCP
# (ports, no checksum), 3 UDP and 4 an ICMPv6 echo request behind a
# destination options header that fills the first fragment, 5 a
# well-formed UDP datagram to port 7780 (the first fragment holds the UDP
# header and 16 bytes). DIR ingress: only 6, like 3.
fragsend() {
	python3 - "$@" <<'PY'
import sys
from scapy.compat import raw
from scapy.layers.inet import TCP, UDP
from scapy.layers.inet6 import IPv6, ICMPv6EchoRequest
from scapy.layers.inet6 import IPv6ExtHdrDestOpt, IPv6ExtHdrFragment
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.sendrecv import sendp
iface, mac, src, dst, base = sys.argv[1:6]
way = sys.argv[6] if len(sys.argv) > 6 else "egress"
base = int(base)
e = Ether(dst=mac)


def split(l4, nh, fid, cut):
    """@l4 (after the IPv6 header) in two fragments, @cut bytes first."""
    body = raw(IPv6(src=src, dst=dst) / l4)[40:]
    frag = e / IPv6(src=src, dst=dst)
    return [frag / IPv6ExtHdrFragment(nh=nh, offset=0, m=1, id=fid)
            / Raw(body[:cut]),
            frag / IPv6ExtHdrFragment(nh=nh, offset=cut // 8, m=0, id=fid)
            / Raw(body[cut:])]


if way == "egress":
    pkts = (split(IPv6ExtHdrDestOpt() / TCP(sport=40025, dport=25,
                                            flags="S"), 60, base + 1, 8)
            + split(TCP(sport=40080, dport=80, flags="S"), 6, base + 2, 8)
            + split(IPv6ExtHdrDestOpt() / UDP(sport=40053, dport=7779)
                    / Raw(b"u" * 16), 60, base + 3, 8)
            + split(IPv6ExtHdrDestOpt() / ICMPv6EchoRequest(id=7, seq=1)
                    / Raw(b"e" * 16), 60, base + 4, 8)
            + split(UDP(sport=40000, dport=7780) / Raw(b"f" * 40), 17,
                    base + 5, 24))
else:
    pkts = split(IPv6ExtHdrDestOpt() / UDP(sport=40053, dport=7779)
                 / Raw(b"u" * 16), 60, base + 6, 8)
sendp(pkts, iface=iface, verbose=False)
PY
}
# fraground BASE: send both ways with captures on P's and H's links, P
# waiting for the well-formed datagram on UDP port 7780.
fraground() {
	capture "$P" p0 /tmp/fr_p.pcap
	capture "$H" h0 /tmp/fr_h.pcap
	udp_first "$P" 7780 /tmp/fr_udp.out
	ip netns exec "$H" bash -c "$(declare -f fragsend); fragsend h0 $g0 $REAL $PEER $1"
	ip netns exec "$X" bash -c "$(declare -f fragsend); fragsend x0 $g1 $PEER $VIRT $1 ingress"
	udp_wait
	capture_stop
}
# What P's socket got: the datagram of 40 bytes from V.
received() { tail -n 1 /tmp/fr_udp.out; }

check "lease with block-smtp" gx lease add $REAL $PEER $VIRT lifetime 300 block-smtp
before=$(gstat drop_malformed)
smtp_before=$(gstat drop_smtp)
fraground 2500
check "short first fragments dropped and counted as drop_malformed (4 egress, 1 ingress)" \
	[ "$(gstat drop_malformed)" = $((before + 5)) ]
check "the SYN to port 25 behind a destination options header never reaches P" \
	unseen /tmp/fr_p.pcap "frag=2501/0/"
check "no short first fragment reaches P (TCP 8 bytes, UDP, ICMPv6)" \
	unseen /tmp/fr_p.pcap "frag=250[234]/0/"
check "no short first fragment reaches H" unseen /tmp/fr_h.pcap "frag=2506/0/"
check "the SMTP block counted nothing: those were malformed" \
	[ "$(gstat drop_smtp)" = "$smtp_before" ]
check "non-first fragments still pass, rewritten: R -> P as V" \
	seen /tmp/fr_p.pcap "^$VIRT $PEER frag=2501/1/0\$"
check "... and P -> V as R" seen /tmp/fr_h.pcap "^$PEER $REAL frag=2506/1/0\$"
check "a well-formed fragmented datagram passes, rewritten" \
	seen /tmp/fr_p.pcap "^$VIRT $PEER frag=2505/0/1 udp=7780\$"
check "... and P reassembles it (checksum fixed in the first fragment)" \
	[ "$(received)" = "$VIRT 40" ]

# With conntrack in G, nf_defrag_ipv6 reassembles in PREROUTING before
# either hook, but passes a first fragment without its whole header chain
# on alone (nf_ct_frag6_gather), holding the rest until it times out.
if ip netns exec "$G" nft -f - <<'NFT' 2>/dev/null
table ip6 guisetest {
	chain pre {
		type filter hook prerouting priority 0;
		ct state new counter
	}
}
NFT
then
	before=$(gstat drop_malformed)
	fraground 2510
	check "conntrack: short first fragments still dropped and counted" \
		[ "$(gstat drop_malformed)" = $((before + 5)) ]
	check "conntrack: none of those datagrams reaches P, in any fragment" \
		unseen /tmp/fr_p.pcap "frag=251[1-4]/"
	check "conntrack: nor H" unseen /tmp/fr_h.pcap "frag=2516/"
	check "conntrack: the well-formed datagram reaches P, reassembled by G" \
		[ "$(received)" = "$VIRT 40" ]
	check "... and fragmented anew (G's own identification)" \
		unseen /tmp/fr_p.pcap "frag=2515/"
	ip netns exec "$G" nft delete table ip6 guisetest
else
	skip "fragments with conntrack in G" "nft could not add a ct rule"
fi
check "the lease still works" ping_p

exit_status
