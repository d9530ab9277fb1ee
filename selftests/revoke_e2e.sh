#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 1200
#
# revoke_e2e: a certificate revocation reaches the datapath end to end.
#
#   A (2001:db8:1::10) --+
#   B (2001:db8:1::11) --+-- SW (bridge) -- G (gateway) -- P (peer 2001:db8:3::20)
#   S (2001:db8:1::5) ---+
#
# S is the control plane: guise-certd, guise-crlwatch (polling the CA's
# CRL directory every 50 ms), guise-leased (kernel sync into G, [certd]
# url) and a guise-keyd server ([certd] url; tx keys in S, control
# messages in-band on the LAN), all on a PKI made with `openssl ca`
# (selftests/revokepki.sh). A and B each rent a lease over mutual TLS
# (`guise lease acquire`: egress half in their own kernel, ingress half in
# G's), enrol with keyd and receive channel 1 in plaintext (rx keys in
# their kernels). While A pings P through its lease and S multicasts, the
# CA revokes B (`openssl ca -revoke` + `-gencrl`, the CRL published into
# the watched directory). Checked: B's lease leaves G's kernel and
# leased's store, B's rx keys leave B's kernel, B gets no plaintext any
# more and cannot reach P; A's lease and keys stay, A loses no ping and
# no multicast datagram (through the re-keying). Prints the time from
# -gencrl (and from the publication) to the kernel lease removal and to
# the key removal (revoketool.py polls the kernel over netlink).
source "$(dirname "$0")/lib.sh"
require_cmd guise-certd guise-crlwatch guise-leased guise-keyd openssl curl python3

GROUP=ff3e::4242 PORT=5000 CTL=4999 PEER=2001:db8:3::20
SADDR=2001:db8:1::5 AADDR=2001:db8:1::10 BADDR=2001:db8:1::11
TOOL="python3 selftests/keyd_tool.py"
RTOOL="python3 selftests/revoketool.py"
tmp=$(mktemp -d)
defer rm -rf "$tmp"

# --- the network -------------------------------------------------------------
setup_ns S G P A B SW
defer cleanup_all_ns
ip -n "$SW" link add br0 type bridge mcast_snooping 0
ip -n "$SW" link set br0 up
lan() { # NS IF ADDR
	ip link add "$2" netns "$1" type veth peer name "p-$2-${1%%-*}" netns "$SW"
	ip -n "$SW" link set "p-$2-${1%%-*}" master br0 up
	ip -n "$1" addr add "$3/64" dev "$2" nodad
	ip -n "$1" link set "$2" up
}
lan "$S" eth0 $SADDR
lan "$A" eth0 $AADDR
lan "$B" eth0 $BADDR
lan "$G" g0 2001:db8:1::1
ip link add g1 netns "$G" type veth peer name p0 netns "$P"
ip -n "$G" addr add 2001:db8:3::1/64 dev g1 nodad
ip -n "$P" addr add $PEER/64 dev p0 nodad
ip -n "$G" link set g1 up
ip -n "$P" link set p0 up
ip netns exec "$G" sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$A" route add default via 2001:db8:1::1
ip -n "$B" route add default via 2001:db8:1::1
ip -n "$P" route add 2001:db8:ff::/48 via 2001:db8:3::1	# no route to A, B
for ns in "$G" "$A" "$B"; do
	guise -n "$ns" config set enabled on vprefix 2001:db8:ff::/48
done
guise -n "$S" config set enabled on
# The first content key of a boot can take many seconds under TCG (the
# kernel's AEAD set-up); keyd's admin API would time out (10 s) on it.
t=$(date +%s%N)
check "warm-up: a content key in S's kernel, and away again" bash -c "
	guise -n $S key add ff3e::1 1 id 1 alg chacha20-poly1305 dir tx \
		secret 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f salt c0c1c2c3 && guise -n $S key flush"
echo "# the first key add took $((($(date +%s%N) - t) / 1000000)) ms"

# --- PKI and daemons ---------------------------------------------------------
check "PKI: CA, server, clients a and b (openssl ca)" \
	sh selftests/revokepki.sh "$tmp" $SADDR a=$AADDR b=$BADDR
cd "$tmp" || exit 1
TLS="cert = $tmp/server.crt
key = $tmp/server.key
ca = $tmp/ca.crt"
cat >certd.conf <<CONF
[server]
listen = [::1]:0
$TLS
[trust]
anchors = $tmp/ca.crt
crl = $tmp/pub/ca.crl
CONF
pids=()
bg() { # NS LOG CMD...: start CMD in NS in the background
	local ns=$1 log=$2
	shift 2
	ip netns exec "$ns" "$@" >>"$log" 2>&1 &
	pids+=($!)
}
stop_all() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
	pids=()
}
defer stop_all
bg "$S" certd.log guise-certd --foreground --config certd.conf --port-file certd.port
check "guise-certd starts in S" busywait 60000 test -s certd.port
CERTD="https://[::1]:$(sed -n 1p certd.port)"
bg "$S" crlwatch.log guise-crlwatch -v --dir pub --issuer ca.crt --sign-cert ca.crt \
	--sign-key ca.d/ca.key --carry --serials --to "$CERTD/v1/notify" \
	--cert server.crt --key server.key --ca ca.crt --interval 0.05
CERTDCONF="[certd]
url = $CERTD
$TLS"
cat >leased.conf <<CONF
[server]
listen = [::]:0
$TLS
db = $tmp/leased.db
socket = $tmp/leased.sock
[pool]
prefix = 2001:db8:ff::/48
default_lifetime = 10m
[kernel]
sync = on
netns = $G
$CERTDCONF
CONF
cat >keyd.conf <<CONF
[keyd]
role = server
[server]
listen = [::]:0
$TLS
db = $tmp/keyd.db
socket = $tmp/keyd.sock
secret_file = $tmp/keyd.secret
[control]
port = $CTL
interface = eth0
refresh = 3s
demm_lifetime = 10s
switch_delay = 2s
$CERTDCONF
CONF
printf 'revoke e2e store secret\n' >keyd.secret
printf 'revoke e2e passphrase\n' >pass
for c in a b; do
	cat >$c.conf <<CONF
[keyd]
role = client
[control]
port = $CTL
interface = eth0
refresh = 3s
demm_lifetime = 10s
[client]
groups = $GROUP
key_file = $tmp/$c.km
pass_file = $tmp/pass
state = $tmp/$c.state
socket = $tmp/$c.sock
CONF
done
bg "$S" leased.log guise-leased -v --foreground --config leased.conf --port-file leased.port
bg "$S" keyd.log guise-keyd -v --foreground --config keyd.conf --port-file keyd.port
check "guise-leased (kernel sync into G) and the keyd server start in S" \
	busywait 60000 bash -c 'test -s leased.port && test -s keyd.port'
check "both follow certd's revocation event stream" busywait 60000 bash -c \
	'grep -q "revocation: connected" leased.log && grep -q "revocation: connected" keyd.log'
LEASED="https://[$SADDR]:$(cat leased.port)"
KEYD="https://[$SADDR]:$(cat keyd.port)"

kadmin() { ip netns exec "$S" guise "$@" --socket "$tmp/keyd.sock"; }
check "keyd: clients a and b" bash -c "$(declare -f kadmin); tmp=$tmp S=$S
	kadmin client add a $AADDR && kadmin client add b $BADDR"
check "keyd: channel 1 [$GROUP]:$PORT, content 10" bash -c "$(declare -f kadmin); tmp=$tmp S=$S
	kadmin channel add 1 $GROUP $PORT bandwidth 1000 && kadmin content add 10 channel 1"
check "keyd: a and b entitled to channel 1" bash -c "$(declare -f kadmin); tmp=$tmp S=$S
	kadmin entitle a 1 && kadmin entitle b 1"
for c in a b; do
	ns=$A
	[ $c = b ] && ns=$B
	check "$c enrols with its certificate and starts its keyd client" bash -c "
		ip netns exec $ns guise enroll --server $KEYD --cert $c.crt --key $c.key \
			--ca ca.crt --out $c.km --pass-file pass --iterations 10000"
	bg "$ns" $c.log guise-keyd -v --foreground --config $c.conf
	out=$(ip netns exec "$ns" guise -j lease acquire --server "$LEASED" --peer $PEER \
		--lifetime 10m --cert $c.crt --key $c.key --ca ca.crt 2>&1)
	printf -v "V_$c" '%s' "$(echo "$out" | python3 -c \
		'import json,sys; print(json.load(sys.stdin)["virtual"])' 2>/dev/null)"
	check "$c acquires a lease for P (${out//$'\n'/ })" eval "[[ \$V_$c == 2001:db8:ff:* ]]"
done
cd - >/dev/null || exit 1

in_store() { curl -s --unix-socket "$tmp/leased.sock" http://localhost/v1/list | grep -q "\"$1\""; }
check "G's kernel holds the leases of a and b (ingress halves)" \
	bash -c "[ \$($RTOOL count $G lease $AADDR) = 1 ] && [ \$($RTOOL count $G lease $BADDR) = 1 ]"
check "leased's store holds both" bash -c "$(declare -f in_store); tmp=$tmp
	in_store $AADDR && in_store $BADDR"
check "A and B reach P through their leases" bash -c "
	ip netns exec $A ping -6 -c 1 -W 3 $PEER >/dev/null &&
	ip netns exec $B ping -6 -c 1 -W 3 $PEER >/dev/null"
check "A and B installed rx keys in their kernels" busywait 60000 bash -c \
	"[ \$($RTOOL count $A key) -ge 1 ] && [ \$($RTOOL count $B key) -ge 1 ]" ||
	for f in keyd a b; do sed "s/^/# $f: /" "$tmp/$f.log" | tail -n 8; done

# --- traffic, and the revocation in the middle of it -----------------------------
# Traffic from before the revocation until 6 s after it went through (A's
# re-keying, switch_delay 2 s, happens then): receivers in A and B, a
# sender in S (20/s), A pinging P through its lease (10/s); then stopped
# (keyd_tool.py reports on SIGTERM, ping on SIGINT).
ip netns exec "$A" $TOOL recv $GROUP $PORT eth0 900 >"$tmp/ra.json" &
recv_a=$!
ip netns exec "$B" $TOOL recv $GROUP $PORT eth0 900 >"$tmp/rb.json" &
recv_b=$!
busywait 60000 bash -c "grep -q ready $tmp/ra.json && grep -q ready $tmp/rb.json"
ip netns exec "$S" $TOOL send $GROUP $PORT eth0 20 900 >"$tmp/sent" &
sender=$!
ip netns exec "$A" ping -6 -i 0.1 -W 2 $PEER >"$tmp/ping_a" 2>&1 &
pinger=$!
pids+=($recv_a $recv_b $sender $pinger)	# stopped below; this for early exits
sleep 3	# traffic flows before the revocation (timing, not an assertion)
check "the CA revokes b (openssl ca -revoke)" bash -c "cd $tmp &&
	CADIR=ca.d openssl ca -batch -config ca.cnf -revoke b.crt -crl_reason keyCompromise 2>&1 | tail -n 1"
tg=$(date +%s%N)
check "the CA makes a CRL (openssl ca -gencrl)" bash -c "cd $tmp &&
	CADIR=ca.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext -out stage.crl 2>/dev/null"
res=$($RTOOL publish "$tmp/stage.crl" "$tmp/pub/ca.crl" --gencrl-start "$tg" \
	--lease "$G" $BADDR --keys "$B" --timeout 30)
rc=$?
echo "# revoketool: $res"
val() { echo "$res" | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
lease_ms=$(val "d['lease_ms']['$G/$BADDR']")
keys_ms=$(val "d['keys_ms']['$B']")
gencrl_ms=$(val "d['gencrl_ms']")
pub=$(val "d['publish']")
log_test $rc "B's lease left G's kernel and B's rx keys left B's kernel (deadline 30 s)"
echo "# openssl ca -gencrl + publication: $gencrl_ms ms"
echo "# -gencrl -> B's lease gone from G's kernel: $(val "round(d['gencrl_ms'] + (d['lease_ms']['$G/$BADDR'] or 0), 1)") ms (publication -> $lease_ms ms)"
echo "# -gencrl -> B's rx keys gone from B's kernel: $(val "round(d['gencrl_ms'] + (d['keys_ms']['$B'] or 0), 1)") ms (publication -> $keys_ms ms)"

check "... and from leased's store" busywait 20000 bash -c "$(declare -f in_store); tmp=$tmp
	! in_store $BADDR"
check "A's lease stays in G's kernel and in the store" bash -c "$(declare -f in_store); tmp=$tmp
	[ \$($RTOOL count $G lease $AADDR) = 1 ] && in_store $AADDR"
check "A's rx keys stay in A's kernel" bash -c "[ \$($RTOOL count $A key) -ge 1 ]"
check "keyd: b lost channel 1, a keeps it; one certificate revoked" bash -c "
	c=\$(curl -s --unix-socket $tmp/keyd.sock http://localhost/v1/clients | tr -d ' \n')
	s=\$(curl -s --unix-socket $tmp/keyd.sock http://localhost/v1/status | tr -d ' \n')
	echo \"\$c\"; echo \"\$s\" | grep -o '\"certs_revoked\":[0-9]*'
	[[ \$c == *'\"id\":\"a\",\"address\":\"$AADDR\",\"channels\":[1]'* ]] &&
	[[ \$c != *'\"id\":\"b\",\"address\":\"$BADDR\",\"channels\":[1]'* ]] &&
	[[ \$s == *'\"certs_revoked\":1'* ]]"
check_fail "B no longer reaches P" ip netns exec "$B" ping -6 -c 1 -W 1 $PEER

sleep 6	# traffic through A's re-keying (timing, not an assertion)
kill -TERM $sender
wait $sender
kill -INT $pinger
wait $pinger
sleep 1	# the last datagrams arrive
kill -TERM $recv_a $recv_b
wait $recv_a $recv_b
echo "# A ping: $(grep -E 'transmitted' "$tmp/ping_a")"
# The echo in flight when ping was stopped may lack its reply: every
# sequence number up to the last one answered must have been answered.
check "A lost no ping through its lease during the revocation" python3 -c "
import re, sys
seqs = set(int(m) for m in re.findall(r'icmp_seq=(\d+) ', open('$tmp/ping_a').read()))
print(len(seqs), 'replies, last icmp_seq', max(seqs or [0]))
sys.exit(0 if len(seqs) >= 50 and seqs == set(range(1, max(seqs) + 1)) else 1)"
check "A received every datagram in plaintext, through the re-keying" \
	bash -c "[ \"\$(tail -1 $tmp/ra.json | python3 -c \"import json,sys; d=json.load(sys.stdin); s=sorted(n for t,n in d['seqs']); print(d['good'], d['cipher'], s == list(range(len(s))))\")\" = \"\$(sed 's/sent //' $tmp/sent) 0 True\" ]"
echo "# A: $(tail -1 "$tmp/ra.json" | python3 -c "import json,sys; d=json.load(sys.stdin)
s = set(n for t, n in d['seqs']); miss = [n for n in range(max(s) + 1) if n not in s] if s else []
print(d['good'], 'plaintext,', d['cipher'], 'other;', 'missing %s ... %s' % (miss[:5], miss[-5:]) if miss else 'none missing')"), $(cat "$tmp/sent")"
check "B received plaintext before the revocation" \
	bash -c "[ \$(tail -1 $tmp/rb.json | python3 -c \"import json,sys; print(json.load(sys.stdin)['good'])\") -ge 20 ]"
# B's last plaintext: no later than its keys left the kernel (+ 0.2 s for
# a datagram already decrypted and queued to the socket).
check "B received no plaintext after its keys were removed" \
	bash -c "tail -1 $tmp/rb.json | python3 -c \"import json,sys; d=json.load(sys.stdin)
last = max(t for t,n in d['seqs']); print('last plaintext', round(last - $pub, 3), 's after publication;', d['cipher'], 'undecryptable')
sys.exit(0 if last <= $pub + ${keys_ms:-0} / 1000 + 0.2 and d['cipher'] > 0 else 1)\""
echo "# B: $(tail -1 "$tmp/rb.json" | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['good'], 'plaintext,', d['cipher'], 'undecryptable; last plaintext', round(max(t for t,n in d['seqs']) - $pub, 3), 's after publication')")"
check "the daemons are still running" bash -c "kill -0 ${pids[*]}"
for f in crlwatch certd leased keyd; do
	sed "s/^/# $f: /" "$tmp/$f.log" | tail -n 4
done
exit_status
