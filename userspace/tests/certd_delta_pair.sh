#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A full CRL and its delta issued together share their CRL number (RFC
# 5280 5.2.3). guise-crlwatch notifies each (location only, its default);
# guise-certd must take both: the delta's notification does not make the
# full CRL's a duplicate, whichever comes first. Two rounds: full and
# delta 1001 (base 1000, a_delta revoked), then full and delta 1002
# (base 1001, a_good revoked). Before, with the delta first, the full
# CRLs were answered "duplicate", delta 1002 then had no base, and
# a_good stayed "good" (found in a review). Run by certd_delta_pair.c
# (TAP): sh certd_delta_pair.sh DIR CERTD CRLWATCH.
set -u

dir=${1:?usage: certd_delta_pair.sh DIR CERTD CRLWATCH}
certd=${2:?}
crlwatch=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
pki_setup
export CADIR=intA1.d

api() {
	curl -s --max-time 20 --cacert tlsca.crt --cert client.crt \
		--key client.key "$@"
}
status() { # NAME CERT: certd NAME's verdict on CERT
	api "https://[::1]:$(sed -n 1p "$1.port")/v1/validate" \
		-d "{\"cert\":\"$(openssl x509 -in "$2.crt" -outform DER |
			base64 -w0)\"}" |
		sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}
post() { # NAME FILE: certd NAME's answer to the notification in FILE
	api -H 'Content-Type: application/cms' --data-binary "@$2" \
		"https://[::1]:$(sed -n 1p "$1.port")/v1/notify"
}
revoke() {
	openssl ca -batch -config ca.cnf -revoke "$1.crt" \
		-crl_reason keyCompromise 2>/dev/null
}
full_crl() { # NUMBER OUT
	echo "$1" >intA1.d/crlnumber
	openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext -out "$2" \
		2>/dev/null
}
delta_crl() { # NUMBER BASE OUT: a delta of all that index.txt revokes
	printf '[d%s]\nauthorityKeyIdentifier = keyid\n2.5.29.27 = critical, DER:02:02:%02X:%02X\n' \
		"$1" $(($2 >> 8)) $(($2 & 255)) >>ca.cnf
	echo "$1" >intA1.d/crlnumber
	openssl ca -batch -config ca.cnf -gencrl -crlexts "d$1" -out "$3" \
		2>/dev/null
}
notes() { # DIR: crlwatch signs a notification of each CRL in DIR, saved
	mkdir -p "saved-$1"
	"$crlwatch" --dir "$1" --issuer chain.pem --sign-cert notifier.crt \
		--sign-key notifier.key --notify-existing --once \
		--save "saved-$1" --to "https://[::1]:1/v1/notify" \
		--cert client.crt --key client.key --ca tlsca.crt \
		--no-prewarm 2>>watch.log
	[ -n "$(ls "saved-$1"/*-full-*.cms 2>/dev/null)" ] &&
		[ -n "$(ls "saved-$1"/*-delta-*.cms 2>/dev/null)" ]
}

# The CA's two rounds; full CRL 1000 is in crls.pem already.
revoke a_delta
mkdir r1 && full_crl 1001 r1/intA1.crl && delta_crl 1001 1000 r1/intA1-delta.crl
notes r1
ok $? "round 1: full and delta CRL 1001 notified (kind full, kind delta)"
revoke a_good
mkdir r2 && full_crl 1002 r2/intA1.crl && delta_crl 1002 1001 r2/intA1-delta.crl
notes r2
ok $? "round 2: full and delta CRL 1002"
openssl cms -verify -noverify -inform DER -binary \
	-in "$(ls saved-r1/*-delta-*.cms)" 2>/dev/null | grep -q '"kind":"delta"'
ok $? "the delta's notification says \"kind\": \"delta\""

for order in delta-first full-first; do
	cat >"$order.conf" <<CONF
[server]
listen = [::1]:0
cert = $dir/server.crt
key = $dir/server.key
ca = $dir/tlsca.crt
[trust]
anchors = $dir/rootA.crt
intermediates = $dir/chain.pem
crl = $dir/crls.pem
notifier = $dir/notifier.crt
[network]
fetch_timeout = 5
CONF
	"$certd" --foreground -v --config "$order.conf" --port-file "$order.port" \
		2>>"$order.log" &
	pid=$!
	pids="$pids $pid"
	wait_file "$order.port"
	ok $? "$order: certd starts"
	is "$(status "$order" a_good)" good "$order: a_good is good at first"
	if [ $order = delta-first ]; then
		set -- r1 delta r1 full r2 delta r2 full
	else
		set -- r1 full r1 delta r2 full r2 delta
	fi
	while [ $# -ge 2 ]; do
		f=$(ls "saved-$1"/*-"$2"-*.cms)
		post "$order" "$f" >"$order.out"
		echo "# $order $1 $2: $(cat "$order.out")"
		cat "$order.out" >>"$order.answers"
		shift 2
	done
	if [ $order = delta-first ]; then
		is "$(grep -c '"result":"accepted"' "$order.answers")" 4 \
			"delta first: all four notifications accepted (a delta's does not make its full CRL's a duplicate)"
	fi
	is "$(status "$order" a_delta)" revoked "$order: a_delta revoked (round 1)"
	is "$(status "$order" a_good)" revoked "$order: a_good revoked (round 2's full and delta CRL)"
	api "https://[::1]:$(sed -n 1p "$order.port")/v1/health" >"$order.health"
	grep -q '"issuer":"/CN=guise test intA1","pushed":[0-9]*,"crl_number":"1002"' \
		"$order.health"
	ok $? "$order: intA1's cached full CRL is 1002"
	kill "$pid"
	wait "$pid"
	ok $? "$order: certd exits 0"
	! grep -q Sanitizer "$order.log"
	ok $? "$order: no sanitizer report"
done

echo "1..$n"
[ "$failed" -eq 0 ]
