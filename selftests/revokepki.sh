#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The small PKI of the revocation tests (revoke_e2e, bench/revoke_bench.sh,
# the demo), made with `openssl ca` in DIR so that `openssl ca -revoke` and
# `-gencrl` work on it afterwards:
#
#   ca.d/ca.crt, ca.d/ca.key   the CA (openssl ca directory ca.d, config
#                              ca.cnf; use CADIR=ca.d); issues everything
#   server.crt/.key            every daemon's TLS identity (serverAuth +
#                              clientAuth; SAN ::1, SERVER_ADDR, localhost)
#   NAME.crt/.key              a client per NAME=ADDR (clientAuth, SAN
#                              IP:ADDR): the address it rents leases for
#                              and enrols with
#   pub/ca.crl                 the CA's first CRL (nothing revoked)
#
# Afterwards, to revoke NAME and make a new CRL:
#   CADIR=ca.d openssl ca -batch -config ca.cnf -revoke NAME.crt
#   CADIR=ca.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext -out F
#
# Usage: revokepki.sh DIR SERVER_ADDR [NAME=ADDR...]
set -eu

dir=${1:?usage: revokepki.sh DIR SERVER_ADDR [NAME=ADDR...]}
srv=${2:?}
shift 2
cd "$dir"
mkdir -p ca.d/new pub

cat >ca.cnf <<'CNF'
[ca]
default_ca = CA_default
[CA_default]
dir = $ENV::CADIR
database = $dir/index.txt
serial = $dir/serial
crlnumber = $dir/crlnumber
new_certs_dir = $dir/new
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_days = 2
default_crl_days = 2
policy = pol
unique_subject = no
copy_extensions = none
[pol]
commonName = supplied
[crl_ext]
authorityKeyIdentifier = keyid
CNF
CADIR=ca.d
export CADIR
: >ca.d/index.txt
echo 1000 >ca.d/crlnumber
# A random 64-bit serial, first bit clear (positive, no leading zero octet).
printf '%x%s\n' $((($(od -An -N1 -tu1 /dev/urandom) & 0x7f) | 0x10)) \
	"$(openssl rand -hex 7)" >ca.d/serial

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout ca.d/ca.key -out ca.d/ca.crt -days 2 \
	-subj "/CN=guise revoke test ca" \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
cp ca.d/ca.crt ca.crt

leaf() { # NAME EKU SAN
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
	printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = %s\nsubjectAltName = %s\nauthorityKeyIdentifier = keyid\n' \
		"$2" "$3" >"$1.ext"
	openssl ca -batch -config ca.cnf -in "$1.csr" -out "$1.crt" \
		-extfile "$1.ext" -notext 2>/dev/null
	rm -f "$1.csr" "$1.ext"
}

leaf server serverAuth,clientAuth "IP:::1,IP:$srv,DNS:localhost"
for c in "$@"; do
	leaf "${c%%=*}" clientAuth "IP:${c#*=}"
done
openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext \
	-out pub/ca.crl 2>/dev/null
