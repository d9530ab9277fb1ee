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
{
	server_conf leased
	printf '[pool]\nprefix = 2001:db8:ff::/48\n[kernel]\nsync = off\n'
	certd_conf
} >leased.conf
start_daemon leased "$leased"
ok $? "guise-leased starts"
LEASED=$(cat leased.port)
subscribed leased
ok $? "guise-leased subscribed to certd's event stream"

admin() { local_api leased "$@"; }
[ "$(rent a_good)" = 201 ]
ok $? "a_good rents a lease"
[ "$(rent b_good)" = 201 ]
ok $? "b_good rents a lease"
admin /v1/list >list0.json
grep -q '2001:db8:1::10' list0.json && grep -q '2001:db8:2::10' list0.json
ok $? "/v1/list shows both leases"

# The CA revokes b_good and publishes a CRL; guise-crlwatch notifies certd.
revoke_publish intB1 b_good
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
echo "# gencrl to lease removal: $((t1 - T0)) ms (crlwatch, certd, event stream, leased)"
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
