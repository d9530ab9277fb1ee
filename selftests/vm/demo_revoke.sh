# SPDX-License-Identifier: GPL-2.0
# Demo scene (sourced by demo_guest.sh): a certificate revocation reaches
# the kernel. A client C holds a lease in gateway G's kernel and a content
# key in its own; the CA revokes C's certificate with `openssl ca -revoke`
# + `-gencrl`; guise-crlwatch -> guise-certd -> guise-leased and guise-keyd
# remove both within milliseconds. Uses step/run (selftests/revoke_e2e.sh
# is the test of the same chain).

step "revoke: the control plane in RS (certd, crlwatch, leased -> RG's kernel, keyd)"
RS=demo-rs RG=demo-rg RC=demo-rc RP=demo-rp RW=demo-rw RT=/tmp/demo-revoke
cleanup_revoke() {
	local p
	for p in $RT/*.pid; do [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
	for n in $RS $RG $RC $RP $RW; do ip netns delete $n 2>/dev/null; done
	rm -rf $RT
}
mkdir -p $RT
for n in $RS $RG $RC $RP $RW; do ip netns add $n; ip -n $n link set lo up; done
ip -n $RW link add br0 type bridge mcast_snooping 0
ip -n $RW link set br0 up
for l in "$RS eth0 2001:db8:1::5" "$RC eth0 2001:db8:1::10" "$RG g0 2001:db8:1::1"; do
	set -- $l
	ip link add $2 netns $1 type veth peer name p-${1#demo-} netns $RW
	ip -n $RW link set p-${1#demo-} master br0 up
	ip -n $1 addr add $3/64 dev $2 nodad
	ip -n $1 link set $2 up
done
ip link add g1 netns $RG type veth peer name p0 netns $RP
ip -n $RG addr add 2001:db8:3::1/64 dev g1 nodad
ip -n $RP addr add 2001:db8:3::20/64 dev p0 nodad
ip -n $RG link set g1 up
ip -n $RP link set p0 up
ip netns exec $RG sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n $RC route add default via 2001:db8:1::1
ip -n $RP route add 2001:db8:ff::/48 via 2001:db8:3::1
for n in $RG $RC; do guise -n $n config set enabled on vprefix 2001:db8:ff::/48; done
guise -n $RS config set enabled on
# The first content key of a boot can take seconds under TCG; not inside
# keyd's admin API call (10 s timeout).
guise -n $RS key add ff3e::1 1 id 1 alg chacha20-poly1305 dir tx secret "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f" \
	salt c0c1c2c3 && guise -n $RS key flush
echo "# a CA made with openssl ca; C's certificate carries its address 2001:db8:1::10"
run sh selftests/revokepki.sh $RT 2001:db8:1::5 c=2001:db8:1::10
TLSC="cert = $RT/server.crt
key = $RT/server.key
ca = $RT/ca.crt"
printf '[server]\nlisten = [::1]:8440\n%s\n[trust]\nanchors = %s/ca.crt\ncrl = %s/pub/ca.crl\n' \
	"$TLSC" $RT $RT >$RT/certd.conf
CERTDC="[certd]
url = https://[::1]:8440
$TLSC"
printf '[server]\nlisten = [::]:0\n%s\ndb = %s/leased.db\n[pool]\nprefix = 2001:db8:ff::/48\n[kernel]\nnetns = %s\n%s\n' \
	"$TLSC" $RT $RG "$CERTDC" >$RT/leased.conf
printf '[keyd]\nrole = server\n[server]\nlisten = [::]:8442\n%s\ndb = %s/keyd.db\nsocket = %s/keyd.sock\n[control]\ninterface = eth0\nrefresh = 2s\ndemm_lifetime = 8s\n%s\n' \
	"$TLSC" $RT $RT "$CERTDC" >$RT/keyd.conf
printf '[keyd]\nrole = client\n[control]\ninterface = eth0\nrefresh = 2s\ndemm_lifetime = 8s\n[client]\ngroups = ff3e::4242\nkey_file = %s/c.km\npass_file = %s/pass\nstate = %s/c.state\nsocket = %s/c.sock\n' \
	$RT $RT $RT $RT >$RT/c.conf
echo "demo passphrase" >$RT/pass
rbg() { # NAME NS CMD...
	local name=$1 ns=$2
	shift 2
	ip netns exec $ns "$@" >$RT/$name.log 2>&1 &
	echo $! >$RT/$name.pid
}
rbg certd $RS guise-certd --foreground --config $RT/certd.conf
rbg crlwatch $RS guise-crlwatch -v --dir $RT/pub --issuer $RT/ca.crt --sign-cert $RT/ca.crt --sign-key $RT/ca.d/ca.key \
	--carry --serials --to https://[::1]:8440/v1/notify --cert $RT/server.crt \
	--key $RT/server.key --ca $RT/ca.crt --interval 0.05
sleep 1
rbg leased $RS guise-leased -v --foreground --config $RT/leased.conf --port-file $RT/leased.port
rbg keyd $RS guise-keyd -v --foreground --config $RT/keyd.conf
for _ in $(seq 300); do
	grep -q 'revocation: connected' $RT/leased.log 2>/dev/null &&
		grep -q 'revocation: connected' $RT/keyd.log 2>/dev/null && break
	sleep 0.1
done
run sh -c "grep -h 'revocation: connected' $RT/leased.log $RT/keyd.log"

step "revoke: C rents a lease over mutual TLS and enrols for channel 1"
radmin() { run ip netns exec $RS guise "$@" --socket $RT/keyd.sock; }
radmin client add c 2001:db8:1::10
radmin channel add 1 ff3e::4242 5000 bandwidth 1000
radmin content add 10 channel 1
radmin entitle c 1
run ip netns exec $RC guise enroll --server https://[2001:db8:1::5]:8442 \
	--cert $RT/c.crt --key $RT/c.key --ca $RT/ca.crt --out $RT/c.km \
	--pass-file $RT/pass --iterations 10000
rbg c $RC guise-keyd --foreground --config $RT/c.conf
RLEASED=https://[2001:db8:1::5]:$(cat $RT/leased.port)
printf '$ %s\n' "ip netns exec $RC guise lease acquire --server $RLEASED --peer 2001:db8:3::20 --lifetime 10m --cert $RT/c.crt --key $RT/c.key --ca $RT/ca.crt"
for _ in 1 2 3; do	# a loaded TCG guest may refuse the first connection
	ip netns exec $RC guise lease acquire --server $RLEASED --peer 2001:db8:3::20 \
		--lifetime 10m --cert $RT/c.crt --key $RT/c.key --ca $RT/ca.crt >$RT/acquire.txt 2>&1 && break
	sleep 1
done
cat $RT/acquire.txt
[ "$(python3 selftests/revoketool.py count $RG lease 2001:db8:1::10)" = 1 ] ||
	{ echo "demo: FAILED: no lease in $RG"; exit 1; }
for _ in $(seq 200); do [ "$(python3 selftests/revoketool.py count $RC key)" -ge 1 ] && break; sleep 0.1; done
run ip netns exec $RC ping -6 -c 1 -W 2 2001:db8:3::20
echo "# the lease in the gateway's kernel, the content key in C's kernel:"
run guise -n $RG lease show
run guise -n $RC key show

step "revoke: the CA revokes C's certificate and publishes a CRL"
run sh -c "cd $RT && CADIR=ca.d openssl ca -batch -config ca.cnf -revoke c.crt -crl_reason keyCompromise 2>&1 | tail -n 1"
rtg=$(date +%s%N)
run sh -c "cd $RT && CADIR=ca.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext -out stage.crl 2>/dev/null"
echo "# publish it into crlwatch's directory and watch both kernels over netlink:"
printf '$ %s\n' "python3 selftests/revoketool.py publish stage.crl pub/ca.crl --lease $RG 2001:db8:1::10 --keys $RC"
rres=$(python3 selftests/revoketool.py publish $RT/stage.crl $RT/pub/ca.crl --gencrl-start $rtg \
	--lease $RG 2001:db8:1::10 --keys $RC --timeout 15) ||
	{ echo "demo: FAILED: $rres"; exit 1; }
echo "$rres" | python3 -c "import json,sys; d=json.load(sys.stdin)
l = list(d['lease_ms'].values())[0]; k = list(d['keys_ms'].values())[0]
print('    lease gone from the gateway kernel %6.1f ms after the CRL was published (%.0f ms after -gencrl started)' % (l, l + d['gencrl_ms']))
print('    key gone from the client kernel    %6.1f ms after the CRL was published (%.0f ms after -gencrl started)' % (k, k + d['gencrl_ms']))"
run guise -n $RG lease show
run guise -n $RC key show
printf '$ %s\n' "ip netns exec $RC ping -6 -c 1 -W 1 2001:db8:3::20"
ip netns exec $RC ping -6 -c 1 -W 1 2001:db8:3::20 | grep -E 'transmitted'
run sh -c "grep -h -E 'revoked|CRL number' $RT/crlwatch.log $RT/leased.log $RT/keyd.log | sed 's/^/    /'; true"
cleanup_revoke
