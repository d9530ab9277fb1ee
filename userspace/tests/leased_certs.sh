#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test PKI for the guise-leased tests, written to DIR:
#   ca.crt/ca.key          the client and server CA
#   server.crt/.key        the daemon (SAN IP ::1, DNS localhost)
#   host1, host2           clients 2001:db8:1::10 and 2001:db8:1::11
#   peer                   client 2001:db8:3::20 (the peer of the leases)
#   noip                   a client certificate without an IP address
#   rogue                  2001:db8:1::10, signed by another CA
#   admin, operator        2001:db8:9::1 / ::2 with OU=role:admin / operator
#   auditor, abuse         no address; OU=role:auditor / role:abuse-desk
#   alice                  no address, no role OU (roles come from a file)
#
# Usage: leased_certs.sh DIR
set -eu

dir=${1:?usage: leased_certs.sh DIR}
cd "$dir"

ca() { # NAME: a self-signed P-256 CA
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.crt" -subj "/CN=guise test $1" \
		-days 2 -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}

leaf() { # NAME CA EXTENSIONS [SUBJECT]
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "${4:-/CN=$1}" 2>/dev/null
	printf '%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.crt" -CAkey "$2.key" \
		-set_serial "0x$(openssl rand -hex 8)" -days 2 \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

client='extendedKeyUsage=clientAuth'
ca ca
ca otherca
leaf server ca "subjectAltName=IP:::1,DNS:localhost
extendedKeyUsage=serverAuth"
leaf host1 ca "subjectAltName=IP:2001:db8:1::10
$client"
leaf host2 ca "subjectAltName=IP:2001:db8:1::11
$client"
leaf peer ca "subjectAltName=IP:2001:db8:3::20
$client"
leaf noip ca "subjectAltName=DNS:noip.example
$client"
leaf inpool ca "subjectAltName=IP:2001:db8:ff::1234
$client"
leaf rogue otherca "subjectAltName=IP:2001:db8:1::10
$client"
leaf admin ca "subjectAltName=IP:2001:db8:9::1
$client" "/CN=admin/OU=role:admin"
leaf operator ca "subjectAltName=IP:2001:db8:9::2
$client" "/CN=operator/OU=staff/OU=role:operator"
leaf auditor ca "$client" "/CN=auditor/OU=role:auditor"
leaf abuse ca "$client" "/CN=abuse/OU=role:abuse-desk"
leaf alice ca "$client" "/CN=alice/OU=role:nonsense"
