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
#  (b) OCSP requests per second and server CPU per answer of certd's
#      responder against `openssl ocsp -index ... -port` (and `-multi 2`
#      where OpenSSL has it) on the same certificate: a new connection per
#      request, HTTP/1.1 keep-alive (POST and RFC 5019 GET), with the EC
#      P-256 delegated signer and an RSA-2048 one (bench/certd_ocsp.sh,
#      bench/src/ocsp_load.c);
#  (d) cached validations per second (certd_validate() with its path
#      cache, in process) against a raw X509_verify_cert loop on the same
#      1000 chains (bench/src/certd_validate_bench.c);
#  (a) revocation freshness, pushed to 10 and 50 servers against polling
#      every 60 s (bench/certd_fresh.sh, bench/src/certd_fresh.c).
# Report: build/bench/certd_bench.txt (and certd_fresh.txt).
#
#   bench/certd_bench.sh [ENTRIES] [LOOKUPS]
# Environment: CERTD (default build/bin/guise-certd; CRLWATCH beside it),
# OUT (build/bench), OCSP_* and CERTD_BASE (see bench/certd_ocsp.sh),
# VALIDATE_SECS (5),
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
trap 'rm -rf "$tmp"' EXIT
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
CERTD=$certd OUT=$out sh bench/certd_ocsp.sh >/dev/null ||
	echo "(b) bench/certd_ocsp.sh failed" >"$out/certd_ocsp.txt"
tee -a "$out/certd_bench.txt" <"$out/certd_ocsp.txt"
