#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The test PKI of guise-certd, made with `openssl ca` in DIR:
#
#   rootA  rootB           two root CAs, cross-certified (B_by_A, A_by_B)
#   intA1 <- rootA         issues a_good, a_revoked (full CRL), a_delta
#                          (revoked in the delta CRL only), a_expired,
#                          a_server (serverAuth only), ocspA (OCSP signer)
#   intA2 <- rootA         revoked by rootA; issues c_leaf
#   intA3 <- rootA         publishes no CRL; issues u_leaf, ocspA3
#   intB1 <- rootB         issues b_good, b_revoked, ocspB
#   intB2 <- rootB         its CRL is stale (nextUpdate passed); s_leaf
#   rootC                  not trusted; issues x_leaf
#
# CRLs: NAME.crl (PEM) for rootA rootB intA1 intA2 intB1 intB2, and
# intA1-delta.crl. chain.pem holds every intermediate and cross
# certificate, crls.pem every CRL. The API's own TLS PKI: tlsca, server
# (SAN ::1, 127.0.0.1, localhost; serverAuth + clientAuth), client, and
# notifier (a self-signed key allowed to sign notifications).
#
# Usage: certd_pki.sh DIR
set -eu

dir=${1:?usage: certd_pki.sh DIR}
cd "$dir"

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
default_days = 30
default_crl_days = 7
policy = pol
unique_subject = no
copy_extensions = none
email_in_dn = no
[pol]
commonName = supplied
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[crl_ext]
authorityKeyIdentifier = keyid
[crl_fresh]
authorityKeyIdentifier = keyid
freshestCRL = URI:http://crl.example/intA1-delta.crl
CNF

CADIR=.
export CADIR

key() { # NAME
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1.key" 2>/dev/null
}

capdir() { # NAME: the openssl ca directory of CA NAME
	mkdir -p "$1.d/new"
	: >"$1.d/index.txt"
	openssl rand -hex 8 >"$1.d/serial"
	echo 1000 >"$1.d/crlnumber"
	cp "$1.crt" "$1.d/ca.crt"
	cp "$1.key" "$1.d/ca.key"
}

root() { # NAME
	key "$1"
	openssl req -x509 -new -key "$1.key" -out "$1.crt" -days 60 \
		-subj "/CN=guise test $1" -config ca.cnf -extensions ca_ext \
		2>/dev/null
	capdir "$1"
}

# sign ISSUER NAME EXTFILE [openssl ca options...]: NAME.csr -> NAME.crt
sign() {
	issuer=$1 name=$2 ext=$3
	shift 3
	CADIR=$issuer.d
	openssl ca -batch -config ca.cnf -in "$name.csr" -out "$name.crt" \
		-extfile "$ext" -notext "$@" 2>/dev/null
}

csr() { # NAME SUBJECT-CN [KEYNAME]
	k=${3:-$1}
	[ -f "$k.key" ] || key "$k"
	openssl req -new -key "$k.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
}

printf 'basicConstraints = critical, CA:TRUE\nkeyUsage = critical, keyCertSign, cRLSign\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n' >ca.ext

intermediate() { # ISSUER NAME
	csr "$2" "guise test $2"
	sign "$1" "$2" ca.ext
	capdir "$2"
}

leaf() { # ISSUER NAME IPV6 EKU [openssl ca options...]
	issuer=$1 name=$2 ip=$3 eku=$4
	shift 4
	printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = %s\nsubjectAltName = IP:%s\nauthorityKeyIdentifier = keyid\n' \
		"$eku" "$ip" >"$name.ext"
	csr "$name" "$name"
	sign "$issuer" "$name" "$name.ext" "$@"
}

crl() { # CA [openssl ca -gencrl options...]
	ca=$1
	shift
	CADIR=$ca.d
	openssl ca -batch -config ca.cnf -gencrl -crlexts "${EXTS:-crl_ext}" \
		-out "$ca.crl" "$@" 2>/dev/null
}

revoke() { # CA NAME REASON
	CADIR=$1.d
	openssl ca -batch -config ca.cnf -revoke "$2.crt" -crl_reason "$3" \
		2>/dev/null
}

root rootA
root rootB
root rootC
# Cross-certification: each root's key and name, certified by the other.
csr B_by_A "guise test rootB" rootB
sign rootA B_by_A ca.ext
csr A_by_B "guise test rootA" rootA
sign rootB A_by_B ca.ext

intermediate rootA intA1
intermediate rootA intA2
intermediate rootA intA3
intermediate rootB intB1
intermediate rootB intB2

client=clientAuth
leaf intA1 a_good 2001:db8:1::10 $client
leaf intA1 a_revoked 2001:db8:1::11 $client
leaf intA1 a_delta 2001:db8:1::12 $client
leaf intA1 a_expired 2001:db8:1::13 $client -startdate 20200101000000Z \
	-enddate 20200201000000Z
leaf intA1 a_server 2001:db8:1::14 serverAuth
leaf intA2 c_leaf 2001:db8:1::20 $client
leaf intA3 u_leaf 2001:db8:1::30 $client
leaf intB1 b_good 2001:db8:2::10 $client
leaf intB1 b_revoked 2001:db8:2::11 $client
leaf intB2 s_leaf 2001:db8:2::20 $client
leaf rootC x_leaf 2001:db8:3::10 $client

printf 'basicConstraints = critical, CA:FALSE\nkeyUsage = critical, digitalSignature\nextendedKeyUsage = OCSPSigning\n' >ocsp.ext
csr ocspA "guise test OCSP intA1"
sign intA1 ocspA ocsp.ext
csr ocspB "guise test OCSP intB1"
sign intB1 ocspB ocsp.ext
csr ocspA3 "guise test OCSP intA3"
sign intA3 ocspA3 ocsp.ext

revoke intA1 a_revoked keyCompromise
revoke intB1 b_revoked superseded
revoke rootA intA2 cACompromise
crl rootA
crl rootB
crl intA2
crl intB1
crl intB2 -crl_lastupdate 20200101000000Z -crl_nextupdate 20200102000000Z
# A full CRL that points at its delta (freshestCRL): OpenSSL uses deltas
# only then. Both carry the same lastUpdate: with -use_deltas, `openssl
# verify` takes a delta with a newer lastUpdate for the base CRL and then
# misses the base's revocations (certd applies RFC 5280: base + delta).
now=$(date -u -d '-1 min' +%Y%m%d%H%M%SZ)
EXTS=crl_fresh crl intA1 -crl_lastupdate "$now"
# The delta: revocations after the full CRL, in an index of their own.
cp intA1.d/index.txt intA1.d/index.before
revoke intA1 a_delta affiliationChanged
grep -v -x -F -f intA1.d/index.before intA1.d/index.txt \
	>intA1.d/index.delta || true
# deltaCRLIndicator (2.5.29.27): the base CRL number, a DER INTEGER.
base=$(openssl crl -in intA1.crl -noout -crlnumber | sed 's/.*=//; s/^0x//')
[ $((${#base} % 2)) -eq 0 ] || base=0$base
printf '[delta_ext]\nauthorityKeyIdentifier = keyid\n2.5.29.27 = critical, DER:02:%02X:%s\n' \
	$((${#base} / 2)) "$(echo "$base" | sed 's/../&:/g; s/:$//')" >>ca.cnf
cp intA1.d/index.txt intA1.d/index.all
cp intA1.d/index.delta intA1.d/index.txt
CADIR=intA1.d
openssl ca -batch -config ca.cnf -gencrl -crlexts delta_ext \
	-crl_lastupdate "$now" -out intA1-delta.crl 2>/dev/null
cp intA1.d/index.all intA1.d/index.txt

cat intA1.crt intA2.crt intA3.crt intB1.crt intB2.crt B_by_A.crt \
	A_by_B.crt >chain.pem
cat rootA.crl rootB.crl intA1.crl intA2.crl intB1.crl intB2.crl >crls.pem

# The API's TLS.
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout tlsca.key -out tlsca.crt -days 2 -subj "/CN=guise test tlsca" \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
tls_leaf() { # NAME EXTENSIONS
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
	printf '%s\n' "$2" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA tlsca.crt -CAkey tlsca.key \
		-set_serial "0x$(openssl rand -hex 8)" -days 2 \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
tls_leaf server "subjectAltName=IP:::1,IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth"
tls_leaf client "subjectAltName=IP:2001:db8:9::1
extendedKeyUsage=clientAuth"
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout notifier.key -out notifier.crt -days 2 \
	-subj "/CN=guise test notifier" 2>/dev/null
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout forger.key -out forger.crt -days 2 \
	-subj "/CN=guise test rootA" 2>/dev/null
