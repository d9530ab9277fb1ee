#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# content_multicast: protected multicast end to end on one LAN.
#
#   S (sender, tx key) ---+
#   R1 (rx key) ----------+-- bridge (no snooping)
#   U (no key) ---------- +
#
# A plain UDP sender in S and plain UDP receivers: R1 gets byte-identical
# plaintext, U never plaintext, the wire only ciphertext, and the
# ciphertext equals what OpenSSL computes (known-answer check for both
# algorithms). Key rollover under traffic loses nothing; replayed and
# tampered datagrams are dropped and counted; 60 KB datagrams (fragmented
# on the wire) decrypt; truncated ones are counted.
source "$(dirname "$0")/lib.sh"
require_cmd tcpdump python3
python3 -c 'import scapy, cryptography' 2>/dev/null ||
	{ skip "content tests" "python3-scapy or python3-cryptography missing"; exit_status; }

GROUP=ff3e::4242 PORT=5000
K1=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
K2=a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf
S1=c0c1c2c3 S2=d0d1d2d3

setup_ns SW S R1 U
defer cleanup_all_ns
ip -n "$SW" link add br0 type bridge mcast_snooping 0
ip -n "$SW" link set br0 up
i=1
for ns in "$S" "$R1" "$U"; do
	ip link add eth0 netns "$ns" type veth peer name "p$i" netns "$SW"
	ip -n "$SW" link set "p$i" master br0 up
	ip -n "$ns" addr add fd00:c::$i/64 dev eth0 nodad
	ip -n "$ns" link set eth0 up
	guise -n "$ns" config set enabled on
	i=$((i + 1))
done

send() { ip netns exec "$S" python3 selftests/nettool.py mcast-send $GROUP $PORT eth0 "$@"; }
# Under emulation on a loaded host a python start can take seconds: the
# receivers' windows start with their first datagram (30 s at most before
# it), and results are read once the receivers are done. A receiver told
# how many datagrams to expect (NETTOOL_EXPECT=N recv ...) ends a second
# after the Nth (extras and duplicates still count), its window the limit.
export NETTOOL_FIRST_WAIT=30
RECVS=()
recv() { # recv NS SECONDS OUTFILE: background receiver, waits until ready
	ip netns exec "$1" python3 selftests/nettool.py mcast-recv $GROUP $PORT eth0 "$2" >"$3" &
	RECVS+=($!)
	for _ in $(seq 300); do grep -q ready "$3" 2>/dev/null && return; sleep 0.1; done
}
recv_done() { # in this shell, not in $(...): wait for the receivers
	local p
	for p in "${RECVS[@]}"; do wait "$p" 2>/dev/null; done
	RECVS=()
}
# recv_stop: end the receivers' windows now (once the checks have seen
# every datagram counted, a second for delivery); they still count what
# is queued on their sockets.
recv_stop() {
	sleep 1
	kill -TERM "${RECVS[@]}" 2>/dev/null
	recv_done
}
result() { tail -n 1 "$1"; }
# cstat NS NAME: a counter ("name value" lines: no python to start, which
# takes a second or two under emulation)
cstat() { guise -n "$1" stats | awk -v k="$2" '$1 == k { print $2; n++ } END { exit !n }'; }
rstat_is() { [ "$(cstat "$R1" "$1")" -eq "$2" ]; }
# capture NS IFACE PCAP FILTER: tcpdump in the background ($dump), until
# it listens; capture_done: a second for what it has not written yet,
# then it ends
capture() {
	ip netns exec "$1" tcpdump -i "$2" -U -n -w "$3" "$4" 2>"$3.log" &
	dump=$!
	busywait 20000 grep -q "listening on" "$3.log"
}
capture_done() { sleep 1; kill "$dump"; wait "$dump" 2>/dev/null; }
key() { # key NS DIR ID ALG SECRET SALT [more]
	local ns=$1 dir=$2 id=$3 alg=$4 secret=$5 salt=$6
	shift 6
	guise -n "$ns" key add $GROUP $PORT id "$id" alg "$alg" dir "$dir" \
		secret "$secret" salt "$salt" "$@"
}

check "S: tx key 1 (chacha20-poly1305)" key "$S" tx 1 chacha20-poly1305 $K1 $S1
check "R1: rx key 1" key "$R1" rx 1 chacha20-poly1305 $K1 $S1
check "key show never prints a secret" \
	bash -c "! guise -n $S -j key show | grep -qi -e $K1 -e secret"
check "a second key with the same id refused" \
	bash -c "guise -n $S key add $GROUP $PORT id 1 alg chacha20-poly1305 dir tx secret $K1 salt $S1 2>&1 | grep -q 'already installed'"
check "a unicast group refused" \
	bash -c "guise -n $S key add 2001:db8::1 $PORT id 9 alg aes128-gcm dir rx secret 000102030405060708090a0b0c0d0e0f salt $S1 2>&1 | grep -q 'multicast'"

capture "$SW" p1 /tmp/content.pcap udp
defer kill "$dump"
NETTOOL_EXPECT=50 recv "$R1" 8 /tmp/r1.txt
NETTOOL_EXPECT=50 recv "$U" 8 /tmp/u.txt
check "S sends 50 datagrams of 1200 bytes" send 50 1200
recv_done
check "R1 receives all 50, byte-identical" [ "$(result /tmp/r1.txt)" = "good 50 bad 0 plain 0" ]
check "U receives only ciphertext, never plaintext" \
	bash -c "grep -Eq '^good 0 bad [1-9][0-9]* plain 0$' /tmp/u.txt"
capture_done
check "the wire carries no plaintext" bash -c "! grep -q 'guise-plaintext-marker' /tmp/content.pcap"
check "counters: 50 encrypted in S, 50 decrypted in R1" \
	[ "$(cstat "$S" content_encrypted) $(cstat "$R1" content_decrypted)" = "50 50" ]

kat() { # kat PCAP ALG KEYHEX SALTHEX SIZE INDEX: first datagram vs OpenSSL
	python3 - "$@" <<'PY'
import sys
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6  # noqa: F401 (dissects IPv6; scapy.all takes seconds more)
from scapy.utils import rdpcap
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
sys.path.insert(0, "selftests")
from nettool import payload
pcap, alg, key, salt, size, index = sys.argv[1:7]
pkts = [p for p in rdpcap(pcap) if UDP in p and p[UDP].dport == 5000]
wire = bytes(pkts[0][UDP].payload)
hdr = wire[:16]
seq = hdr[8:16]
aead = ChaCha20Poly1305 if alg == "chacha20-poly1305" else AESGCM
want = aead(bytes.fromhex(key)).encrypt(bytes.fromhex(salt) + seq,
                                         payload(int(index), int(size)), hdr)
print("header", hdr.hex())
sys.exit(0 if wire[16:] == want and hdr[0] == 0x47 else 1)
PY
}
check "known answer: chacha20-poly1305 ciphertext equals OpenSSL's" \
	kat /tmp/content.pcap chacha20-poly1305 $K1 $S1 1200 0

# --- a sender's own datagrams, looped back ------------------------------------------
# With a receiver in S itself and IPV6_MULTICAST_LOOP on, S's sealed
# datagrams come back to its PREROUTING. S holds only a tx key: they pass
# as they are (ciphertext, like U's), neither opened nor counted as drops.
before=$(cstat "$S" drop_no_key)
NETTOOL_EXPECT=5 recv "$S" 4 /tmp/s.txt
NETTOOL_EXPECT=5 recv "$R1" 4 /tmp/r1.txt
NETTOOL_LOOP=1 check "S sends 5 datagrams with multicast loop on" send 5 300 1000
recv_done
check "R1 receives all 5" [ "$(result /tmp/r1.txt)" = "good 5 bad 0 plain 0" ]
check "S's own receiver gets the looped ciphertext, never plaintext" \
	[ "$(result /tmp/s.txt)" = "good 0 bad 5 plain 0" ]
check "S counts no drop_no_key for its own looped datagrams" \
	[ "$(cstat "$S" drop_no_key)" -eq "$before" ]

# --- replay and tampering ---------------------------------------------------------
# Re-send captured datagram N from U's port, maybe altered. Altered ones
# get a fresh sequence number, so only the tag check can catch them.
# (One python for several: scapy takes seconds to start under emulation.)
replay() { # replay MODE N [MODE N]...
	python3 - /tmp/content.pcap "$@" <<'PY'
import sys
from scapy.layers.inet import UDP
from scapy.layers.inet6 import IPv6  # noqa: F401 (dissects IPv6; scapy.all takes seconds more)
from scapy.layers.l2 import Ether
from scapy.sendrecv import sendp
from scapy.utils import rdpcap
pcap, args = sys.argv[1], sys.argv[2:]
pkts = [p for p in rdpcap(pcap) if UDP in p and p[UDP].dport == 5000]
for mode, n in zip(args[::2], map(int, args[1::2])):
    p = pkts[n].copy()
    raw = bytearray(bytes(p[UDP].payload))
    if mode != "none":
        raw[8:16] = (100000 + n).to_bytes(8, "big")   # fresh sequence number
    if mode == "ciphertext": raw[40] ^= 1
    if mode == "tag": raw[-1] ^= 1
    if mode == "keyid": raw[7] ^= 1
    if mode == "magic": raw[0] ^= 0xff
    if mode == "truncated": raw = raw[:20]
    p[UDP].remove_payload(); p[UDP].add_payload(bytes(raw))
    del p[UDP].len, p[UDP].chksum, p["IPv6"].plen
    sendp(Ether(bytes(p)), iface="eth0", verbose=False)
PY
}
# R1's receiver listens through all of them (60 s at most): once the
# last drop is counted, recv_stop ends it.
recv "$R1" 60 /tmp/r1.txt
before=$(cstat "$R1" drop_replay)
ip netns exec "$U" bash -c "$(declare -f replay); replay none 0 none 7"
check "replayed datagrams are dropped" busywait 5000 rstat_is drop_replay $((before + 2))
before=$(cstat "$R1" drop_auth)
ip netns exec "$U" bash -c "$(declare -f replay); replay seq 1 ciphertext 2 tag 3"
check "tampered header, ciphertext and tag: dropped (auth)" \
	busywait 5000 rstat_is drop_auth $((before + 3))
before=$(cstat "$R1" drop_no_key)
ip netns exec "$U" bash -c "$(declare -f replay); replay keyid 4"
check "a tampered key id finds no key" busywait 5000 rstat_is drop_no_key $((before + 1))
before=$(cstat "$R1" drop_bad_header)
ip netns exec "$U" bash -c "$(declare -f replay); replay magic 6"
check "a bad magic is counted as a bad header" busywait 5000 rstat_is drop_bad_header $((before + 1))
before=$(cstat "$R1" drop_truncated)
ip netns exec "$U" bash -c "$(declare -f replay); replay truncated 5"
check "a truncated datagram is counted" busywait 5000 rstat_is drop_truncated $((before + 1))
recv_stop
check "none of them reached the application" [ "$(result /tmp/r1.txt)" = "good 0 bad 0 plain 0" ]
check "per-key counters show the drops" \
	bash -c "guise -n $R1 -j key show | python3 -c 'import json,sys; k=json.load(sys.stdin)[0][\"stats\"]; assert k[\"drop_replay\"] >= 2 and k[\"drop_auth\"] >= 3, k'"

# --- replace: a key's validity changes in place ------------------------------------
# (guise-keyd shortens a member's previous key this way after a
# revocation.) The same key object: its counters and replay window stay.
na=$(($(date +%s) + 600))
check "replace: R1's rx key 1 gets a new not-after" \
	key "$R1" rx 1 chacha20-poly1305 $K1 $S1 not-after $na replace
check "... in place: not-after changed, the per-key counters kept" \
	bash -c "guise -n $R1 -j key show | python3 -c 'import json,sys; k=[k for k in json.load(sys.stdin) if k[\"id\"] == 1][0]; assert k[\"not_after\"] == $na and k[\"stats\"][\"drop_replay\"] >= 2, k'"
check "replace with another salt is refused" \
	bash -c "guise -n $R1 key add $GROUP $PORT id 1 alg chacha20-poly1305 dir rx secret $K1 salt 01020304 replace 2>&1 | grep -q 'algorithm and salt must match'"
check "replace of a key not installed adds it" \
	bash -c "guise -n $R1 key add $GROUP $PORT id 55 alg aes128-gcm dir rx secret 000102030405060708090a0b0c0d0e0f salt $S1 replace && guise -n $R1 -j key show | grep -q '\"id\": 55' && guise -n $R1 key del $GROUP $PORT id 55 dir rx"

# --- sequence 2^64-1 ---------------------------------------------------------------
# No sender ever uses it (a tx key is exhausted before): an authentic
# datagram with it, sealed with the installed key, must neither wrap the
# window (top = seq + 1 = 0 reopened it to every replay) nor hang the
# receiver (with the window at 0 its slide never ended).
seal() { # seal KEYID SEQ: a datagram sealed with K1/S1 (chacha20-poly1305)
	ip netns exec "$U" python3 - "$1" "$2" $K1 $S1 $GROUP $PORT <<'PY'
import sys
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
sys.path.insert(0, "selftests")
from nettool import mcast_sock, payload
kid, seq, key, salt, group, port = sys.argv[1:7]
hdr = bytes([0x47, 1, 1, 1]) + int(kid).to_bytes(4, "big") + \
    int(seq).to_bytes(8, "big")
ct = ChaCha20Poly1305(bytes.fromhex(key)).encrypt(bytes.fromhex(salt) + hdr[8:],
                                                   payload(0, 100), hdr)
s, _ = mcast_sock("eth0")
s.sendto(hdr + ct, (group, int(port)))
PY
}
U64_MAX=18446744073709551615
before=$(cstat "$R1" drop_replay) dec=$(cstat "$R1" content_decrypted)
check "an authentic datagram with sequence 2^64-1 (key 1)" seal 1 $U64_MAX
check "... is dropped as a replay, not decrypted" \
	busywait 3000 rstat_is drop_replay $((before + 1))
check "... the receiver is alive" guise -n "$R1" stats
ip netns exec "$U" bash -c "$(declare -f replay); replay none 9"
check "a datagram seen before is still a replay afterwards" \
	busywait 3000 rstat_is drop_replay $((before + 2))
check "R1: rx key 9, a fresh window (top 0)" key "$R1" rx 9 chacha20-poly1305 $K1 $S1
check "sequence 2^64-1 on a fresh window" seal 9 $U64_MAX
check "... dropped as a replay, the receiver alive" \
	busywait 3000 rstat_is drop_replay $((before + 3))
check "sequence 0 on that key then decrypts" seal 9 0
check "... once" busywait 3000 rstat_is content_decrypted $((dec + 1))
check "... and its replay is refused" seal 9 0
check "... counted" busywait 3000 rstat_is drop_replay $((before + 4))
check "R1: key 9 removed" guise -n "$R1" key del $GROUP $PORT id 9 dir rx

# --- rollover under continuous traffic ------------------------------------------
NETTOOL_EXPECT=200 recv "$R1" 20 /tmp/r1.txt
(NETTOOL_INTERVAL=0.02 send 200 1000 1000) &
sender=$!
sleep 1
check "rollover: R1 gets key 2 first" key "$R1" rx 2 aes256-gcm $K2 $S2
check "rollover: S gets key 2 (newest tx key wins)" key "$S" tx 2 aes256-gcm $K2 $S2
sleep 1
check "rollover: S drops key 1" guise -n "$S" key del $GROUP $PORT id 1 dir tx
wait "$sender"
sleep 1
check "rollover: R1 drops key 1 after the last old datagram" \
	guise -n "$R1" key del $GROUP $PORT id 1 dir rx
recv_done
check "rollover under traffic: all 200 datagrams arrive" \
	[ "$(result /tmp/r1.txt)" = "good 200 bad 0 plain 0" ]

# --- known answer for AES-256-GCM, and 60 KB datagrams -----------------------------
capture "$SW" p1 /tmp/content2.pcap 'udp port 5000 or ip6[6] == 44'
NETTOOL_EXPECT=4 recv "$R1" 20 /tmp/r1.txt
check "S sends one datagram of 1000 bytes" send 1 1000 7000
check "S sends 3 datagrams of 60000 bytes (fragmented on the wire)" send 3 60000 5000
recv_done
check "60 KB datagrams decrypt whole" [ "$(result /tmp/r1.txt)" = "good 4 bad 0 plain 0" ]
capture_done
check "known answer: aes256-gcm ciphertext equals OpenSSL's" \
	kat /tmp/content2.pcap aes256-gcm $K2 $S2 1000 7000

# --- expiry ----------------------------------------------------------------------
timeout 15 guise -n "$R1" -j monitor key count 1 >/tmp/key-events.txt &
sleep 1
mon=$!
check "a key valid for 2 s" key "$R1" rx 77 aes128-gcm ${K1:0:32} $S1 not-after +2
# (key show must answer: an error is not "gone")
key77_gone() { local k; k=$(guise -n "$R1" -j key show) && ! grep -q '"id": 77' <<<"$k"; }
check "the expired key is gone" busywait 15000 key77_gone
wait "$mon"
check "KEY_EXPIRED event arrived, without secrets" \
	bash -c "grep -q '\"event\": \"key_expired\"' /tmp/key-events.txt && grep -q '\"id\": 77' /tmp/key-events.txt && ! grep -qi secret /tmp/key-events.txt"

# A sender's last tx key expires: the collector tells (KEY_EXPIRED) but
# keeps it, so the flow's datagrams are dropped (fail closed) instead of
# leaving in clear once the key and its flow are gone (they did, a second
# after the expiry).
PORT2=5001
check "S: tx key 78 of port $PORT2, valid for 2 s" \
	guise -n "$S" key add $GROUP $PORT2 id 78 alg aes128-gcm dir tx \
	secret ${K1:0:32} salt $S1 not-after +2
# (past its expiry and the collector's next pass)
sleep 4
check "the expired tx key is kept (the flow's last)" \
	bash -c "guise -n $S -j key show | grep -q '\"id\": 78'"
before=$(cstat "$S" drop_no_key)
NETTOOL_FIRST_WAIT=6 NETTOOL_EXPECT=5 ip netns exec "$U" python3 selftests/nettool.py mcast-recv $GROUP $PORT2 eth0 4 >/tmp/u2.txt &
u2=$!
busywait 30000 grep -q ready /tmp/u2.txt
out=$(ip netns exec "$S" python3 selftests/nettool.py mcast-send $GROUP $PORT2 eth0 5 500 2>&1)
check "... and the sender's datagram is refused (EPERM), not sent" \
	grep -q 'Operation not permitted' <<<"$out"
check "... counted in drop_no_key" \
	busywait 5000 bash -c "[ \$(guise -n $S stats | awk '\$1 == \"drop_no_key\" { print \$2 }') -ge $((before + 1)) ]"
wait "$u2"
echo "# U on port $PORT2: $(result /tmp/u2.txt)"
check "... none left in clear" [ "$(result /tmp/u2.txt)" = "good 0 bad 0 plain 0" ]
check "deleted, the flow is plain again (not protected)" \
	guise -n "$S" key del $GROUP $PORT2 id 78 dir tx

# --- revocation ----------------------------------------------------------------
check "key flush for the flow" guise -n "$R1" key flush $GROUP $PORT
NETTOOL_EXPECT=5 recv "$R1" 4 /tmp/r1.txt
send 5 500 9000
recv_done
check "without keys R1 gets ciphertext only" [ "$(result /tmp/r1.txt)" = "good 0 bad 5 plain 0" ]

exit_status
