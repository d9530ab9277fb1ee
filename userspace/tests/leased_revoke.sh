#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Revocation to guise-leased on loopback, TAP output. Run by leased_revoke
# (the C driver), or by hand:
#   leased_revoke.sh DIR LEASED CERTD CRLWATCH
#
# certd_pki.sh's PKI; guise-certd holding its CRLs; guise-leased (sync
# off) subscribed to certd's event stream. a_good (intA1) and b_good
# (intB1) each rent a lease; the CA revokes b_good with `openssl ca
# -revoke` + `-gencrl`; guise-crlwatch --once notifies certd; b_good's
# lease must leave guise-leased (/v1/list as admin on the UNIX socket)
# while a_good's stays. Prints the time from -gencrl to the removal.
set -u

dir=${1:?usage: leased_revoke.sh DIR LEASED CERTD CRLWATCH}
leased=${2:?}
certd=${3:?}
crlwatch=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
pki_setup
start_certd "[::1]:0"
ok $? "guise-certd starts"
CERTD=$(sed -n 1p certd.port)

# guise-leased trusts the leaf certificates' roots and intermediates.
cat tlsca.crt rootA.crt rootB.crt chain.pem >clients.pem
cat >leased.conf <<CONF
[server]
listen = [::1]:0
cert = $dir/server.crt
key = $dir/server.key
ca = $dir/clients.pem
db = $dir/leased.db
socket = $dir/leased.sock
[pool]
prefix = 2001:db8:ff::/48
[kernel]
sync = off
[certd]
url = https://[::1]:$CERTD
cert = $dir/client.crt
key = $dir/client.key
ca = $dir/tlsca.crt
CONF
"$leased" --foreground -v --config leased.conf --port-file leased.port \
	2>>leased.log &
pids="$pids $!"
wait_file leased.port
ok $? "guise-leased starts"
LEASED=$(cat leased.port)
i=0
while ! grep -q "revocation: connected" leased.log && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q "revocation: connected" leased.log
ok $? "guise-leased subscribed to certd's event stream"

rent() { # CERT: the HTTP code
	curl -s --max-time 20 --cacert tlsca.crt --cert "$1.crt" \
		--key "$1.key" -o "rent_$1.json" -w '%{http_code}' \
		-d '{"peer":"2001:db8:3::20"}' "https://[::1]:$LEASED/v1/rent"
}
admin() { # PATH
	curl -s --max-time 20 --unix-socket leased.sock "http://localhost$1"
}
[ "$(rent a_good)" = 201 ]
ok $? "a_good rents a lease"
[ "$(rent b_good)" = 201 ]
ok $? "b_good rents a lease"
admin /v1/list >list0.json
grep -q '2001:db8:1::10' list0.json && grep -q '2001:db8:2::10' list0.json
ok $? "/v1/list shows both leases"

# The CA revokes b_good and publishes a CRL; guise-crlwatch notifies certd.
CADIR=intB1.d openssl ca -batch -config ca.cnf -revoke b_good.crt \
	-crl_reason keyCompromise 2>/dev/null
t0=$(now_ms)
CADIR=intB1.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext \
	-out pub/intB1.crl 2>/dev/null
"$crlwatch" --dir pub --sign-cert intB1.crt --sign-key intB1.key --carry \
	--serials --to "https://[::1]:$CERTD/v1/notify" --cert client.crt \
	--key client.key --ca tlsca.crt --once 2>>crlwatch.log
ok $? "guise-crlwatch --once notified certd"
i=0
while admin /v1/list | grep -q '2001:db8:2::10' && [ $i -lt 400 ]; do
	sleep 0.025
	i=$((i + 1))
done
t1=$(now_ms)
admin /v1/list >list1.json
! grep -q '2001:db8:2::10' list1.json
ok $? "b_good's lease is gone from guise-leased"
echo "# gencrl to lease removal: $((t1 - t0)) ms (crlwatch, certd, event stream, leased)"
grep -q '2001:db8:1::10' list1.json
ok $? "a_good's lease stays"
admin /v1/metrics | grep -q '^guise_leased_revoked_total 1$'
ok $? "metrics: guise_leased_revoked_total 1"
admin /v1/audit >audit.json; grep -q '"action": *"revoke"' audit.json
ok $? "the audit log records the revocation"

cleanup
pids=""
echo "1..$n"
[ $failed -eq 0 ]
