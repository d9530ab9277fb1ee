#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Revocation to guise-keyd on loopback, TAP output. Run by keyd_revoke
# (the C driver), or by hand:
#   keyd_revoke.sh DIR KEYD CERTD CRLWATCH
#
# certd_pki.sh's PKI; guise-certd holding its CRLs; a guise-keyd server
# (sync off, control messages unicast to ::1) subscribed to certd's event
# stream. Clients a1 (a_good's address) and b1 (b_good's) are entitled to
# channel 1 and enrol with their certificates; the CA revokes b_good with
# `openssl ca -revoke` + `-gencrl`; guise-crlwatch --once notifies certd;
# b1 must lose its entitlement (as `guise revoke` does: Kc rotated) while
# a1 keeps it, and b_good's next request is refused by the [certd] check
# while a_good's are served from the check's cache. Prints the time from
# -gencrl to the revocation.
set -u

dir=${1:?usage: keyd_revoke.sh DIR KEYD CERTD CRLWATCH}
keyd=${2:?}
certd=${3:?}
crlwatch=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
pki_setup
start_certd "[::1]:0"
ok $? "guise-certd starts"
CERTD=$(sed -n 1p certd.port)

cat tlsca.crt rootA.crt rootB.crt chain.pem >clients.pem
{
	printf '[keyd]\nrole = server\n'
	server_conf keyd
	printf '[control]\nport = 47391\nunicast = ::1\n[kernel]\nsync = off\n'
	certd_conf
} >keyd.conf
start_daemon keyd "$keyd"
ok $? "guise-keyd starts"
KEYD=$(cat keyd.port)
subscribed keyd
ok $? "guise-keyd subscribed to certd's event stream"

admin() { local_api keyd "$@"; }
setup_ok=0
admin /v1/clients/add '{"id":"a1","address":"2001:db8:1::10"}' >/dev/null || setup_ok=1
admin /v1/clients/add '{"id":"b1","address":"2001:db8:2::10"}' >/dev/null || setup_ok=1
admin /v1/channels/add '{"id":1,"group":"ff3e::4242","port":5000}' >/dev/null || setup_ok=1
admin /v1/entitle '{"client":"a1","channel":1}' >/dev/null || setup_ok=1
admin /v1/entitle '{"client":"b1","channel":1}' >/dev/null || setup_ok=1
admin /v1/clients >clients0.json
grep -q '"id": *"b1".*"channels": *\[ *1 *\]' clients0.json || setup_ok=1
ok $setup_ok "clients a1, b1 entitled to channel 1"
[ "$(enroll a_good)" = 200 ] && [ "$(enroll b_good)" = 200 ]
ok $? "a_good and b_good enrol"
rot0=$(admin /v1/status | sed -n 's/.*"kc_rotations": *\([0-9]*\).*/\1/p')

revoke_publish intB1 b_good
ok $? "guise-crlwatch --once notified certd"
b1_entitled() {
	admin /v1/clients | tr -d ' \n' | grep -q '"id":"b1","address":"[^"]*","channels":\[1\]'
}
i=0
while b1_entitled && [ $i -lt 400 ]; do
	sleep 0.025
	i=$((i + 1))
done
t1=$(now_ms)
! b1_entitled
ok $? "b1's entitlement to channel 1 is revoked"
echo "# gencrl to entitlement revocation: $((t1 - T0)) ms (crlwatch, certd, event stream, keyd)"
admin /v1/clients | tr -d ' \n' | grep -q '"id":"a1","address":"[^"]*","channels":\[1\]'
ok $? "a1 keeps its entitlement"
status=$(admin /v1/status | tr -d ' \n')
echo "$status" | grep -q '"certs_revoked":1'
ok $? "status: certs_revoked 1"
rot1=$(echo "$status" | sed -n 's/.*"kc_rotations":\([0-9]*\).*/\1/p')
[ -n "$rot0" ] && [ "$rot1" -gt "$rot0" ]
ok $? "channel 1's Kc rotated ($rot0 -> $rot1)"

# [certd] check (on by default): every request's client certificate is
# asked about (cached); the revoked one is refused before the handler.
certd_calls() {
	curl -s --max-time 20 --cacert tlsca.crt --cert client.crt \
		--key client.key "https://[::1]:$CERTD/v1/metrics" |
		sed -n 's/^guise_certd_validations_total //p'
}
cc() { # FIELD: of /v1/status's certcheck object
	admin /v1/status | tr -d ' \n' |
		sed -n "s/.*\"certcheck\":{[^}]*\"$1\":\([a-z0-9]*\).*/\1/p"
}
code=$(curl -s --max-time 20 --cacert tlsca.crt --cert b_good.crt \
	--key b_good.key -o b_enroll.json -w '%{http_code}' -X POST \
	"https://[::1]:$KEYD/v1/enroll")
[ "$code" = 403 ] && grep -q '"error": *"certificate revoked"' b_enroll.json
ok $? "b_good's next request is refused 403 certificate revoked ($code)"
v0=$(certd_calls)
h0=$(cc hits)
[ "$(enroll a_good)" = 200 ] && [ "$(enroll a_good)" = 200 ]
ok $? "a_good is still served"
v1=$(certd_calls)
[ "$(cc hits)" -ge $((h0 + 2)) ] && [ -n "$v0" ] && [ "$v0" = "$v1" ]
ok $? "a_good's checks are cache hits (certd validations $v0 -> $v1)"
[ "$(cc on)" = true ] && [ "$(cc denied)" -ge 1 ]
ok $? "status: certcheck on, denied $(cc denied), misses $(cc misses)"
! grep -q 'Sanitizer' keyd.log
ok $? "no sanitizer report from guise-keyd"

cleanup
pids=""
echo "1..$n"
[ $failed -eq 0 ]
