#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Test PKI for the guise-keyd tests, written to DIR:
#   ca.crt/ca.key     the CA of clients and server
#   server            the daemon (SAN IP ::1 [and SERVER_ADDRESS], DNS localhost)
#   server2           the same SANs, CN=server2 (a renewed certificate)
#   admin             2001:db8:9::1, OU=role:admin
#   operator          2001:db8:9::2, OU=role:operator
#   host1, host2      clients 2001:db8:1::10 and 2001:db8:1::11
#   stranger          2001:db8:1::99, known to no server
#
# Usage: keyd_certs.sh DIR [SERVER_ADDRESS]
set -eu

dir=${1:?usage: keyd_certs.sh DIR [SERVER_ADDRESS]}
extra=${2:+,IP:$2}
cd "$dir"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout ca.key -out ca.crt -subj "/CN=guise keyd test ca" -days 2 \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null

leaf() { # NAME SUBJECT EXTENSIONS
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
	printf '%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key \
		-set_serial "0x$(openssl rand -hex 8)" -days 2 \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

client='extendedKeyUsage=clientAuth'
leaf server /CN=server "subjectAltName=IP:::1$extra,DNS:localhost
extendedKeyUsage=serverAuth"
leaf server2 /CN=server2 "subjectAltName=IP:::1$extra,DNS:localhost
extendedKeyUsage=serverAuth"
leaf admin "/CN=admin/OU=role:admin" "subjectAltName=IP:2001:db8:9::1
$client"
leaf operator "/CN=operator/OU=role:operator" "subjectAltName=IP:2001:db8:9::2
$client"
leaf host1 /CN=host1 "subjectAltName=IP:2001:db8:1::10
$client"
leaf host2 /CN=host2 "subjectAltName=IP:2001:db8:1::11
$client"
leaf stranger /CN=stranger "subjectAltName=IP:2001:db8:1::99
$client"
