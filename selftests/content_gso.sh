#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# content_gso: protected multicast with UDP GSO senders and GRO receivers.
#
#   S (sender, tx key) ---+
#   R (rx key, GRO) ------+-- bridge (no snooping)
#   A (no key, crafts) ---+
#
# S sends with UDP_SEGMENT: every segment must leave as its own guise
# datagram (its own sequence number, 32 bytes longer) and R must get every
# plaintext byte-identical, the short last segment included, whether R
# sees the segments one by one, merged again by GRO on its veth (with
# rx-udp-gro-forwarding, for a UDP_GRO socket, or chained by fraglist
# GRO), or the GSO skb whole
# (veth and bridge pass it on unsegmented). A burst that grows past 64 KiB
# is refused and counted. A crafts bursts of ciphertext with a tampered,
# a replayed, an unknown-key and a bad-header datagram among good ones:
# each bad one is dropped and counted, its neighbours delivered.
source "$(dirname "$0")/lib.sh"
require_cmd tcpdump python3 ethtool
python3 -c 'import scapy, cryptography' 2>/dev/null ||
	{ skip "content tests" "python3-scapy or python3-cryptography missing"; exit_status; }

GROUP=ff3e::4242 PORT=5000
K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
S1=c0c1c2c3

setup_ns SW S R A
defer cleanup_all_ns
ip -n "$SW" link add br0 type bridge mcast_snooping 0
ip -n "$SW" link set br0 up
i=1
for ns in "$S" "$R" "$A"; do
	ip link add eth0 netns "$ns" type veth peer name "p$i" netns "$SW"
	ip -n "$SW" link set "p$i" master br0 up
	ip -n "$ns" addr add fd00:c::$i/64 dev eth0 nodad
	ip -n "$ns" link set eth0 up
	guise -n "$ns" config set enabled on
	i=$((i + 1))
done
# veth GROs what its peer sends only when that peer has no TSO (or for a
# local sender's skbs with rx-udp-gro-forwarding): p2 is R's peer.
ip netns exec "$SW" ethtool -K p2 tso off
eth() { ip netns exec "$1" ethtool -K eth0 "${@:2}"; }

# A receiver's window, 5 s, starts with its first datagram (30 s at most
# before it); recv_done waits for the windows to end. A sender's bursts
# leave within milliseconds. Told how many datagrams to expect
# (NETTOOL_EXPECT=N recv ...), a receiver ends a second after the Nth
# (extras and duplicates still count), its window the limit.
export NETTOOL_FIRST_WAIT=30
RECVS=()
recv() { # recv NS SECONDS OUTFILE: background receiver, waits until ready
	ip netns exec "$1" python3 selftests/nettool.py mcast-recv $GROUP $PORT eth0 "$2" >"$3" &
	RECVS+=($!)
	for _ in $(seq 300); do grep -q ready "$3" 2>/dev/null && return; sleep 0.1; done
}
recv_done() {
	local p
	for p in "${RECVS[@]}"; do wait "$p" 2>/dev/null; done
	RECVS=()
}
result() { tail -n 1 "$1"; }
# cstat NS NAME: a counter ("name value" lines: no python to start, which
# takes a second or two under emulation)
cstat() { guise -n "$1" stats | awk -v k="$2" '$1 == k { print $2; n++ } END { exit !n }'; }
gsend() { # gsend NS SENDS SEGS SIZE LAST FIRST
	ip netns exec "$1" python3 selftests/nettool.py mcast-gso-send $GROUP $PORT eth0 "${@:2}"
}
DUMP=
capture() { # capture NS IFACE PCAP [FILTER]: until tcpdump listens
	ip netns exec "$1" tcpdump -i "$2" -U -n -s 0 -w "$3" "${4:-udp port $PORT or ip6[6] == 44}" 2>"$3.log" &
	DUMP=$!
	busywait 20000 grep -q "listening on" "$3.log"
}
# (tcpdump hands packets on in blocks retired after up to 1 s)
capture_done() { sleep 1; kill "$DUMP"; wait "$DUMP" 2>/dev/null; }
# send_captured NS IFACE PCAP WHAT SENDS SEGS SIZE LAST FIRST: R listens
# (for SENDS x SEGS datagrams), S sends the bursts (check WHAT) while NS
# captures IFACE into PCAP.
send_captured() {
	capture "$1" "$2" "$3"
	NETTOOL_EXPECT=$(($5 * $6)) recv "$R" 5 /tmp/r.txt
	check "$4" gsend "$S" "${@:5}"
	recv_done
	capture_done
}
# merged PCAP: R's capture holds a GSO or GRO skb (UDP length above 1500)
merged() {
	python3 - "$1" <<'PY'
import sys
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6  # noqa: F401 (dissects IPv6; scapy.all takes seconds more)
from scapy.utils import rdpcap
n = sum(1 for p in rdpcap(sys.argv[1]) if UDP in p and p[UDP].len > 1500)
print("packets longer than the MTU: %d" % n)
sys.exit(0 if n else 1)
PY
}

check "S: tx key 1 (chacha20-poly1305)" guise -n "$S" key add $GROUP $PORT \
	id 1 alg chacha20-poly1305 dir tx secret $K1 salt $S1
check "R: rx key 1" guise -n "$R" key add $GROUP $PORT \
	id 1 alg chacha20-poly1305 dir rx secret $K1 salt $S1

# --- 1. the sender's skb segmented at S: what the wire carries ---------------------
# wire PCAP N SIZE LAST FIRST: N ciphertext datagrams, SIZE + 32 bytes (the
# last of each burst LAST + 32), consecutive distinct sequence numbers, each
# opening (OpenSSL) to payload(FIRST..FIRST + N - 1) exactly once.
wire() {
	python3 - /tmp/gso-wire.pcap "$@" $K1 $S1 <<'PY'
import sys
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6  # noqa: F401 (dissects IPv6; scapy.all takes seconds more)
from scapy.utils import rdpcap
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
sys.path.insert(0, "selftests")
from nettool import payload
pcap, n, size, last, first, key, salt = sys.argv[1:8]
n, size, last, first = int(n), int(size), int(last), int(first)
aead = ChaCha20Poly1305(bytes.fromhex(key))
seqs, got, lens = [], set(), {}
for p in rdpcap(pcap):
    if UDP not in p or p[UDP].dport != 5000:
        continue
    w = bytes(p[UDP].payload)
    assert len(w) == p[UDP].len - 8, "UDP length %d for %d bytes" % (p[UDP].len, len(w))
    assert w[:4] == b"\x47\x01\x01\x01" and w[4:8] == b"\0\0\0\1", w[:8].hex()
    assert b"guise-plaintext-marker" not in w, "plaintext on the wire"
    pt = aead.decrypt(bytes.fromhex(salt) + w[8:16], w[16:], w[:16])
    i = int(pt[23:31])
    assert pt == payload(i, len(pt)) and i not in got, i
    got.add(i)
    seqs.append(int.from_bytes(w[8:16], "big"))
    lens[len(w)] = lens.get(len(w), 0) + 1
print("datagrams %d, sizes %s, sequence %s..%s" % (len(seqs), lens, min(seqs), max(seqs)))
assert got == set(range(first, first + n)), sorted(set(range(first, first + n)) - got)
assert sorted(seqs) == list(range(min(seqs), min(seqs) + n)), "sequence not consecutive"
bursts = n // 8
assert lens == {size + 32: n - bursts, last + 32: bursts}, lens
PY
}
eth "$S" tx-udp-segmentation off
send_captured "$SW" p1 /tmp/gso-wire.pcap \
	"S sends 5 GSO bursts of 8 datagrams (7 x 1000 + 300 bytes)" 5 8 1000 300 0
check "R receives all 40, byte-identical, the short ones too" \
	[ "$(result /tmp/r.txt)" = "good 40 bad 0 plain 0" ]
check "the wire: 40 datagrams of 1032 and 332 bytes, consecutive sequence, OpenSSL opens each" \
	wire 40 1000 300 0
check "counters: 40 encrypted in S, 40 decrypted in R" \
	[ "$(cstat "$S" content_encrypted) $(cstat "$R" content_decrypted)" = "40 40" ]

# bursts_to_r FIRST WHAT SEEN: S sends 5 bursts of 8 (payloads FIRST..),
# R's capture must hold skbs over the MTU (SEEN), R all 40 byte-identical.
bursts_to_r() {
	send_captured "$R" eth0 /tmp/gso-r.pcap "S sends 5 bursts, $2" \
		5 8 1000 300 "$1"
	check "R saw $3" merged /tmp/gso-r.pcap
	check "R receives all 40, byte-identical" [ "$(result /tmp/r.txt)" = "good 40 bad 0 plain 0" ]
}

# --- 2. GRO on R's veth, rx-udp-gro-forwarding ---------------------------------------
eth "$R" gro on rx-udp-gro-forwarding on
bursts_to_r 100 "R's veth merges them (GRO)" "merged skbs"
check "counters: 80 decrypted in R, no drop" \
	[ "$(cstat "$R" content_decrypted) $(cstat "$R" drop_auth) $(cstat "$R" drop_truncated)" = "80 0 0" ]

# --- 3. GRO for a UDP_GRO socket ------------------------------------------------------
eth "$R" rx-udp-gro-forwarding off
NETTOOL_GRO=1 NETTOOL_EXPECT=40 recv "$R" 5 /tmp/r.txt
check "S sends 5 bursts to a UDP_GRO receiver" gsend "$S" 5 8 1000 300 200
recv_done
check "the UDP_GRO receiver got coalesced plaintext" \
	bash -c "grep -Eq '^coalesced [1-9]' /tmp/r.txt"
check "... all 40 datagrams byte-identical" [ "$(result /tmp/r.txt)" = "good 40 bad 0 plain 0" ]

# --- 3b. fraglist GRO (rx-gro-list) for a plain socket ---------------------------------
eth "$R" rx-gro-list on
bursts_to_r 250 "R's veth chains them (fraglist GRO)" "chained skbs"
eth "$R" rx-gro-list off

# --- 4. the GSO skb passed on whole (veth, bridge) -------------------------------------
eth "$S" tx-udp-segmentation on
eth "$R" gro off
bursts_to_r 300 "not segmented on the way" "GSO skbs"
check "counters: 200 encrypted in S, 200 decrypted in R" \
	[ "$(cstat "$S" content_encrypted) $(cstat "$R" content_decrypted)" = "200 200" ]

# --- 5. segments that outgrow the MTU, bursts that outgrow 64 KiB ------------------------
# 1452-byte segments fill a 1500-byte MTU; 32 bytes more and each is
# fragmented by the stack (ip6_finish_output_gso_slowpath_drop), as a
# datagram without GSO would be. With S's segmentation offload on, veth
# would hand the burst on whole, MTU or not: off, so that the wire shows
# what a real device gets.
# fragmented PCAP: fragments on the wire, no frame over the MTU
fragmented() {
	python3 - "$1" <<'PY'
import sys
# (scapy.all takes seconds more to import under emulation)
from scapy.layers.inet6 import IPv6ExtHdrFragment
from scapy.utils import rdpcap
ps = rdpcap(sys.argv[1])
frags = sum(1 for p in ps if IPv6ExtHdrFragment in p)
big = max((len(p) for p in ps), default=0)
print("fragments %d, largest frame %d bytes" % (frags, big))
sys.exit(0 if frags and big <= 1514 else 1)
PY
}
eth "$S" tx-udp-segmentation off
send_captured "$SW" p1 /tmp/gso-frag.pcap \
	"S sends 2 bursts of 1452-byte segments" 2 8 1452 500 400
check "the wire: the grown segments fragmented, no frame over the MTU" \
	fragmented /tmp/gso-frag.pcap
check "fragmented segments arrive whole and decrypt" [ "$(result /tmp/r.txt)" = "good 16 bad 0 plain 0" ]
eth "$S" tx-udp-segmentation on
before=$(cstat "$S" drop_too_big)
check_fail "64 x 1000 bytes: 66,048 once encrypted, refused" gsend "$S" 1 64 1000 1000 500
check "... and counted for each of the 64" [ "$(cstat "$S" drop_too_big)" -eq $((before + 64)) ]
before=$(cstat "$S" drop_too_big)
check_fail "one datagram of 65,500 bytes: refused" \
	ip netns exec "$S" python3 selftests/nettool.py mcast-send $GROUP $PORT eth0 1 65500
check "... and counted" [ "$(cstat "$S" drop_too_big)" -eq $((before + 1)) ]

# --- 6. crafted bursts: bad datagrams among good ones ------------------------------------
# A (no key) sends 8 ciphertext datagrams with UDP_SEGMENT, sequence
# BASE..BASE+7: #2 with a flipped tag bit, #4 a copy of #1 (a replay), #5
# naming key 9, #6 with a bad magic; #7 is short. #0, #1, #3, #7 are good.
# CRAFT_DSTOPT=1: with a Destination Options header between IPv6 and UDP,
# which a UDP socket cannot send with UDP_SEGMENT (no CHECKSUM_PARTIAL
# with extension headers), nor a packet socket with a virtio-net header
# (6.1 has no VIRTIO_NET_HDR_GSO_UDP_L4): 8 datagrams one by one, held
# by a plug qdisc on A's veth and released together, so that R's veth
# receives them in one NAPI poll and GRO merges them.
craft() { # craft BASE
	ip netns exec "$A" env CRAFT_DSTOPT="${CRAFT_DSTOPT:-0}" \
		python3 - "$1" $K1 $S1 $GROUP $PORT <<'PY'
import os
import socket
import sys
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
sys.path.insert(0, "selftests")
from nettool import payload, mcast_sock, SOL_UDP, UDP_SEGMENT
base, key, salt, group, port = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), \
    bytes.fromhex(sys.argv[3]), sys.argv[4], int(sys.argv[5])
aead, out = ChaCha20Poly1305(key), []
for j in range(8):
    seq = (base + j).to_bytes(8, "big")
    hdr = b"\x47\x01\x01\x01\0\0\0\1" + seq
    out.append(bytearray(hdr + aead.encrypt(salt + seq, payload(base + j, 600 if j < 7 else 200), hdr)))
out[2][-1] ^= 1
out[4] = bytearray(out[1])
out[5][7] = 9
out[6][0] ^= 0xff
if os.environ["CRAFT_DSTOPT"] != "1":
    s, _ = mcast_sock("eth0")
    s.setsockopt(SOL_UDP, UDP_SEGMENT, 632)
    s.sendto(b"".join(out), (group, port))
    sys.exit(0)
s, _ = mcast_sock("eth0")
# next header (filled in by the kernel), length 8 bytes, PadN
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_DSTOPTS, bytes([0, 0, 1, 4, 0, 0, 0, 0]))
for d in out:
    s.sendto(d, (group, port))
PY
}
stats() { # R's content_decrypted drop_auth drop_replay drop_no_key drop_bad_header
	guise -n "$R" stats | awk '{ v[$1] = $2 } END {
		print v["content_decrypted"], v["drop_auth"], v["drop_replay"], v["drop_no_key"], v["drop_bad_header"] }'
}
add() { # add "a b c d e" "f g h i j": element-wise sum
	local a b i sum=()
	read -ra a <<<"$1"
	read -ra b <<<"$2"
	for i in "${!a[@]}"; do sum+=("$((a[i] + b[i]))"); done
	echo "${sum[*]}"
}
crafted() { # crafted BASE DESC: A's burst to R, checked
	local before
	before=$(stats)
	NETTOOL_GRO=${GRO_RECV:-0} NETTOOL_EXPECT=4 recv "$R" 5 /tmp/r.txt
	check "A sends a crafted burst ($2)" "${CRAFT:-craft}" "$1"
	recv_done
	check "the 4 good datagrams of the burst arrive, byte-identical" \
		[ "$(result /tmp/r.txt)" = "good 4 bad 0 plain 0" ]
	check "decrypted +4; auth, replay, no key, bad header +1 each" \
		[ "$(stats)" = "$(add "$before" "4 1 1 1 1")" ]
}
# A UDP_GRO receiver: with one open (the static key that makes GRO look
# up sockets is on while it is), GRO finds R's socket and merges for it.
eth "$A" tx-udp-segmentation off
eth "$R" gro on
capture "$R" eth0 /tmp/gso-r.pcap
GRO_RECV=1 crafted 5000 "segmented at A, merged again by GRO at R"
capture_done
check "R saw the crafted burst merged" merged /tmp/gso-r.pcap
eth "$A" tx-udp-segmentation on
eth "$R" gro off
crafted 6000 "a GSO skb all the way"
check "per-key counters show the drops" \
	bash -c "guise -n $R -j key show | python3 -c 'import json,sys; k=json.load(sys.stdin)[0][\"stats\"]; assert k[\"drop_replay\"] == 2 and k[\"drop_auth\"] == 2, k'"
# With a Destination Options header: the merged skb goes on as
# CHECKSUM_PARTIAL, its transport header still at the options header,
# where local delivery parses from (it used to be moved to the UDP header
# and the datagrams, counted as decrypted, were dropped after the hook).
eth "$R" gro on
# (tcpdump's "udp" does not look past extension headers)
capture "$R" eth0 /tmp/gso-r.pcap "ip6[6] == 60"
check "A: a plug qdisc on eth0 (holds what A sends)" \
	tc -n "$A" qdisc add dev eth0 root plug limit 1000000
# craft, then let the 8 datagrams go at once
craft_plugged() { craft "$1" && tc -n "$A" qdisc change dev eth0 root plug release_indefinite; }
CRAFT=craft_plugged CRAFT_DSTOPT=1 GRO_RECV=1 \
	crafted 7000 "with a Destination Options header, merged by GRO at R"
capture_done
tc -n "$A" qdisc del dev eth0 root
check "R saw the burst with the options header merged" merged /tmp/gso-r.pcap
eth "$R" gro off

guise -n "$R" stats | sed 's/^/# R: /'
guise -n "$S" stats | sed 's/^/# S: /'
exit_status
