# SPDX-License-Identifier: GPL-2.0
# Demo scene (sourced by demo_guest.sh): guise-keyd hands content keys to
# an entitled client in-band, then takes them back. Uses step/run.

step "keyd: a key server S and a client C; the content sender is plain"
KS=demo-ks KC=demo-kc KT=/tmp/demo-keyd
cleanup_keyd() {
	[ -f $KT/s.pid ] && kill "$(cat $KT/s.pid)" 2>/dev/null
	[ -f $KT/c.pid ] && kill "$(cat $KT/c.pid)" 2>/dev/null
	ip netns delete $KS 2>/dev/null
	ip netns delete $KC 2>/dev/null
	rm -rf $KT
}
mkdir -p $KT
for n in $KS $KC; do ip netns add $n; ip -n $n link set lo up; done
ip link add eth0 netns $KS type veth peer name eth0 netns $KC
ip -n $KS addr add fd00:d::1/64 dev eth0 nodad
ip -n $KC addr add fd00:d::2/64 dev eth0 nodad
ip -n $KS link set eth0 up
ip -n $KC link set eth0 up
guise -n $KS config set enabled on
guise -n $KC config set enabled on
sh userspace/tests/keyd_certs.sh $KT fd00:d::1 >/dev/null 2>&1
echo "demo passphrase" >$KT/pass
cat >$KT/s.conf <<CONF
[keyd]
role = server
[server]
listen = [::]:8443
cert = $KT/server.crt
key = $KT/server.key
ca = $KT/ca.crt
db = $KT/s.db
socket = $KT/s.sock
[control]
interface = eth0
refresh = 2s
demm_lifetime = 8s
CONF
cat >$KT/c.conf <<CONF
[keyd]
role = client
[control]
interface = eth0
refresh = 2s
demm_lifetime = 8s
[client]
groups = ff3e::4242
key_file = $KT/c.km
pass_file = $KT/pass
state = $KT/c.state
socket = $KT/c.sock
CONF
ip netns exec $KS guise-keyd --foreground --config $KT/s.conf >$KT/s.log 2>&1 &
echo $! >$KT/s.pid
for _ in $(seq 100); do [ -S $KT/s.sock ] && break; sleep 0.1; done
kadmin() { run ip netns exec $KS guise "$@" --socket $KT/s.sock; }
kadmin client add demo-client 2001:db8:1::10
kadmin channel add 1 ff3e::4242 5000 bandwidth 1000
kadmin content add 10 channel 1 alg chacha20-poly1305
kadmin entitle demo-client 1
kadmin channel show
run ip netns exec $KC guise enroll --server "https://[fd00:d::1]:8443" \
	--cert $KT/host1.crt --key $KT/host1.key --ca $KT/ca.crt \
	--out $KT/c.km --pass-file $KT/pass --iterations 10000
ip netns exec $KC guise-keyd --foreground --config $KT/c.conf >$KT/c.log 2>&1 &
echo $! >$KT/c.pid
for _ in $(seq 100); do [ -S $KT/c.sock ] && break; sleep 0.1; done
sleep 4

step "keyd: C opened DEMM -> Kc -> announcement -> Ks and installed the rx key"
run guise status --socket $KT/c.sock
run guise -n $KC key show
run guise -n $KS key show
ip netns exec $KC python3 selftests/nettool.py mcast-recv ff3e::4242 5000 eth0 4 >$KT/r.txt &
sleep 1
ip netns exec $KS python3 selftests/nettool.py mcast-send ff3e::4242 5000 eth0 5 600 >/dev/null
sleep 4
echo "    C's plain receiver: $(tail -n 1 $KT/r.txt)"

step "keyd: revoke C; its empty DEMM removes the key at once"
kadmin revoke demo-client 1
sleep 1
run guise status --socket $KT/c.sock
run guise -n $KC key show
cleanup_keyd
