# SPDX-License-Identifier: GPL-2.0
# Demo scene (sourced by demo_guest.sh): guise-leased in host mode. A host
# rents a virtual address over mutual TLS, talks to a peer through it, the
# peer (alone) learns who it was, the abuse desk resolves it later with a
# reason, and the audit log shows and proves all of it. Uses step/run.

step "leased: host LH behind gateway LG talks to peer LP; guise-leased programs LG"
LH=demo-lh LG=demo-lg LP=demo-lp LT=/tmp/demo-leased
cleanup_leased() {
	[ -f $LT/pid ] && kill "$(cat $LT/pid)" 2>/dev/null
	for n in $LH $LG $LP; do ip netns delete $n 2>/dev/null; done
	rm -rf $LT
}
mkdir -p $LT
for n in $LH $LG $LP; do ip netns add $n; ip -n $n link set lo up; done
ip link add h0 netns $LH type veth peer name g0 netns $LG
ip link add g1 netns $LG type veth peer name p0 netns $LP
ip -n $LH addr add 2001:db8:1::10/64 dev h0 nodad
ip -n $LG addr add 2001:db8:1::1/64 dev g0 nodad
ip -n $LG addr add 2001:db8:3::1/64 dev g1 nodad
ip -n $LP addr add 2001:db8:3::20/64 dev p0 nodad
for l in "$LH h0" "$LG g0" "$LG g1" "$LP p0"; do set -- $l; ip -n $1 link set $2 up; done
ip netns exec $LG sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n $LH route add default via 2001:db8:1::1
ip -n $LP route add 2001:db8:ff::/48 via 2001:db8:3::1	# no route to H
guise -n $LG config set enabled on vprefix 2001:db8:ff::/48
guise -n $LH config set enabled on vprefix 2001:db8:ff::/48
sh userspace/tests/leased_certs.sh $LT >/dev/null 2>&1
cat >$LT/leased.conf <<CONF
[server]
listen = [::1]:8443
cert = $LT/server.crt
key = $LT/server.key
ca = $LT/ca.crt
db = $LT/leased.db
socket = $LT/leased.sock
[pool]
prefix = 2001:db8:ff::/48
[kernel]
netns = $LG
CONF
run guise-leased --check-config --config $LT/leased.conf
guise-leased --foreground --config $LT/leased.conf >$LT/log 2>&1 &
echo $! >$LT/pid
for _ in $(seq 100); do [ -S $LT/leased.sock ] && break; sleep 0.1; done

step "leased: LH acquires a lease for LP (egress half in LH, ingress half in LG)"
TLS="--cert $LT/host1.crt --key $LT/host1.key --ca $LT/ca.crt"
V=$(guise -n $LH -j lease acquire --server https://[::1]:8443 \
	--peer 2001:db8:3::20 --lifetime 10m $TLS |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual"])')
echo "    rented $V"
run guise -n $LH lease show
run guise -n $LG lease show
run ip netns exec $LH ping -6 -c 2 -i 0.3 2001:db8:3::20
T=$(date +%s)

step "leased: only the peer learns who is behind $V"
creveal() { run curl -sS --cacert $LT/ca.crt --cert $LT/$1.crt --key $LT/$1.key \
	-d "{\"virtual\": \"$V\"}" https://[::1]:8443/v1/reveal; }
creveal peer
creveal host2

step "leased: LH releases it; later the abuse desk asks who had $V (reason required)"
sleep 1
run guise -n $LH lease release --server https://[::1]:8443 --virtual $V $TLS
run curl -sS --cacert $LT/ca.crt --cert $LT/abuse.crt --key $LT/abuse.key \
	-d "{\"virtual\": \"$V\", \"time\": $T, \"reason\": \"ticket 4711: spam\"}" \
	https://[::1]:8443/v1/history

step "leased: the hash-chained audit log (root on the local socket is admin)"
run guise audit export --format csv --socket $LT/leased.sock
run guise audit verify --socket $LT/leased.sock
cleanup_leased
