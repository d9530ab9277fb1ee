#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guise-certd benchmarks of issue 7, on the host (loopback), one run:
#  (c) CRL lookups of certd's index against OpenSSL's
#      X509_CRL_get0_by_serial on a CRL of 1,000,000 entries, and CRL load
#      time against a plain d2i_X509_CRL (bench/src/certd_crl_bench.c);
#      the latency of validations answered by a running guise-certd while
#      it loads such a CRL, by SIGHUP and by notification
#      (bench/certd_crlload.sh, bench/src/certd_crlload_bench.c; with
#      CERTD_BASE=<an older guise-certd> side by side with it);
#  (b) OCSP requests per second answered by certd's responder against
#      `openssl ocsp -index ... -port` on the same certificate, a new
#      connection per request (bench/src/ocsp_load.c);
#  (d) cached validations per second (certd_validate() with its path
#      cache, in process) against a raw X509_verify_cert loop on the same
#      1000 chains (bench/src/certd_validate_bench.c);
#  (a) revocation freshness, pushed to 10 and 50 servers against polling
#      every 60 s (bench/certd_fresh.sh, bench/src/certd_fresh.c).
# Report: build/bench/certd_bench.txt (and certd_fresh.txt).
#
#   bench/certd_bench.sh [ENTRIES] [LOOKUPS]
# Environment: CERTD (default build/bin/guise-certd; CRLWATCH beside it),
# OUT (build/bench), OCSP_SECS (5), OCSP_THREADS (4), VALIDATE_SECS (5),
# VALIDATE_LEAVES (1000), FRESH_* (see bench/certd_fresh.sh),
# CERTD_SKIP_FRESH=1 to leave (a) out, CERTD_BASE and CRLLOAD_MODES (see
# bench/certd_crlload.sh), CERTD_SKIP_CRLLOAD=1 to leave that out.
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
out=${OUT:-$repo/build/bench}
certd=${CERTD:-$repo/build/bin/guise-certd}
mkdir -p "$out"
cc -O2 -std=gnu11 -D_GNU_SOURCE -Iuserspace/certd -o "$out/certd_crl_bench" \
	bench/src/certd_crl_bench.c userspace/certd/crl.c \
	$(pkg-config --cflags --libs openssl)
cc -O2 -std=gnu11 -o "$out/ocsp_load" bench/src/ocsp_load.c -lcurl -lpthread
cc -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iuserspace/certd \
	-Iuserspace/lib -Iuserspace/daemon -o "$out/certd_validate_bench" \
	bench/src/certd_validate_bench.c userspace/certd/validate.c \
	userspace/certd/path.c userspace/certd/crl.c userspace/certd/certio.c \
	userspace/lib/log.c userspace/daemon/base64.c \
	$(pkg-config --cflags --libs openssl jansson libevent)

{
	echo "== (c) CRL lookups and load"
	"$out/certd_crl_bench" "${1:-1000000}" "${2:-1000000}" 2>/dev/null
} | tee "$out/certd_bench.txt"

if [ -x "$certd" ] && [ -z "${CERTD_SKIP_CRLLOAD:-}" ]; then
	: >"$out/certd_crlload.txt"
	CERTD=$certd OUT=$out sh bench/certd_crlload.sh "${1:-1000000}" \
		>/dev/null ||
		echo "(c) bench/certd_crlload.sh failed" >>"$out/certd_crlload.txt"
	tee -a "$out/certd_bench.txt" <"$out/certd_crlload.txt"
fi

tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
sh userspace/tests/certd_pki.sh "$tmp" >/dev/null

{
	echo "== (d) validations per second, in process: certd's path cache" \
		"against X509_verify_cert"
	"$out/certd_validate_bench" "$tmp" "${VALIDATE_SECS:-5}" \
		"-${VALIDATE_LEAVES:-1000}"
} | tee -a "$out/certd_bench.txt"

if [ -x "$certd" ] && [ -z "${CERTD_SKIP_FRESH:-}" ]; then
	CERTD=$certd OUT=$out sh bench/certd_fresh.sh ||
		echo "(a) bench/certd_fresh.sh failed" >>"$out/certd_fresh.txt"
	cat "$out/certd_fresh.txt" >>"$out/certd_bench.txt"
fi

[ -x "$certd" ] || {
	echo "$certd not built: (a), (b) skipped" | tee -a "$out/certd_bench.txt"
	exit 0
}
cd "$tmp"
cat >certd.conf <<CONF
[server]
listen = [::1]:0
ocsp_listen = 127.0.0.1:0
cert = $tmp/server.crt
key = $tmp/server.key
ca = $tmp/tlsca.crt
[trust]
anchors = $tmp/rootA.crt
intermediates = $tmp/chain.pem
crl = $tmp/crls.pem
[ocsp]
signer = $tmp/ocspA.crt $tmp/ocspA.key
CONF
"$certd" -f -c certd.conf -p port 2>certd.log &
pids="$pids $!"
i=0
while [ ! -s port ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
ocsp_port=$(sed -n 2p port)
oport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
openssl ocsp -index intA1.d/index.txt -CA intA1.crt -rsigner ocspA.crt \
	-rkey ocspA.key -port "$oport" -ignore_err 2>/dev/null &
pids="$pids $!"
sleep 1
openssl ocsp -issuer intA1.crt -cert a_good.crt -no_nonce -reqout req.der \
	2>/dev/null
secs=${OCSP_SECS:-5}
threads=${OCSP_THREADS:-4}
c=$("$out/ocsp_load" "http://127.0.0.1:$ocsp_port/" req.der "$secs" "$threads")
o=$("$out/ocsp_load" "http://127.0.0.1:$oport/" req.der "$secs" "$threads")
{
	echo "== (b) OCSP, $threads clients, $secs s each, new connection per request"
	echo "guise-certd             $c responses/s"
	echo "openssl ocsp -port      $o responses/s"
	awk -v c="$c" -v o="$o" 'BEGIN { if (o > 0) printf "ratio                   %.1fx\n", c / o }'
} | tee -a "$out/certd_bench.txt"
