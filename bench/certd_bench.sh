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
#      `openssl ocsp -index ... -port` (and `-multi 2` where OpenSSL has
#      it) on the same certificate: a new connection per request, HTTP/1.1
#      keep-alive (POST and RFC 5019 GET), with the EC P-256 delegated
#      signer and an RSA-2048 one (bench/src/ocsp_load.c);
#  (d) cached validations per second (certd_validate() with its path
#      cache, in process) against a raw X509_verify_cert loop on the same
#      1000 chains (bench/src/certd_validate_bench.c);
#  (a) revocation freshness, pushed to 10 and 50 servers against polling
#      every 60 s (bench/certd_fresh.sh, bench/src/certd_fresh.c).
# Report: build/bench/certd_bench.txt (and certd_fresh.txt).
#
#   bench/certd_bench.sh [ENTRIES] [LOOKUPS]
# Environment: CERTD (default build/bin/guise-certd; CRLWATCH beside it),
# OUT (build/bench), OCSP_SECS (3 a line), OCSP_ROUNDS (3), OCSP_THREADS
# (4), OCSP_MULTI (2), VALIDATE_SECS (5),
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
cc -O2 -std=gnu11 -Wall -Wextra -Werror -o "$out/ocsp_load" \
	bench/src/ocsp_load.c -lcurl -lpthread
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
# openssl ocsp -multi: its responder processes first, then the parent.
trap 'for p in $pids; do kill $(pgrep -P $p) $p 2>/dev/null; done
rm -rf "$tmp"' EXIT
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
# (b) The same issuer (intA1) answered by two delegated signers: the EC
# P-256 one of certd_pki.sh and an RSA-2048 one made here (OCSPSigning).
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 \
	-out ocspArsa.key 2>/dev/null
openssl req -new -key ocspArsa.key -subj "/CN=guise test OCSP intA1 RSA" \
	-out ocspArsa.csr 2>/dev/null
openssl x509 -req -in ocspArsa.csr -CA intA1.crt -CAkey intA1.key \
	-set_serial "0x$(openssl rand -hex 8)" -days 30 -sha256 \
	-extfile ocsp.ext -out ocspArsa.crt 2>/dev/null
freeport() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
start_certd() { # NAME SIGNER: sets port_NAME
	cat >"$1.conf" <<CONF
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
signer = $tmp/$2.crt $tmp/$2.key
CONF
	"$certd" -f -c "$1.conf" -p "$1.port" 2>"$1.log" &
	pids="$pids $!"
	i=0
	while [ ! -s "$1.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	eval "port_$1=$(sed -n 2p "$1.port")"
}
multi=""
openssl ocsp -help 2>&1 | grep -q -- '-multi' && multi=${OCSP_MULTI:-2}
start_openssl() { # NAME SIGNER [MULTI]: sets port_NAME
	p=$(freeport)
	openssl ocsp -index intA1.d/index.txt -CA intA1.crt -rsigner "$2.crt" \
		-rkey "$2.key" -port "$p" -ignore_err ${3:+-multi "$3"} \
		2>/dev/null &
	pids="$pids $!"
	eval "port_$1=$p"
}
start_certd cec ocspA
start_certd crsa ocspArsa
start_openssl oec ocspA
start_openssl orsa ocspArsa
if [ -n "$multi" ]; then
	start_openssl mec ocspA "$multi"
	start_openssl mrsa ocspArsa "$multi"
fi
sleep 1
openssl ocsp -issuer intA1.crt -cert a_good.crt -no_nonce -reqout req.der \
	2>/dev/null
# RFC 5019 GET: /<url-encoded base64 of the DER request>.
get=$(openssl base64 -A -in req.der | sed 's,/,%2F,g; s,+,%2B,g; s,=,%3D,g')
# Every responder must answer "good", signed by its signer.
for s in cec:ocspA crsa:ocspArsa oec:ocspA orsa:ocspArsa \
	${multi:+mec:ocspA mrsa:ocspArsa}; do
	eval "p=\$port_${s%%:*}"
	curl -s --max-time 10 -o resp.der --data-binary @req.der \
		-H 'Content-Type: application/ocsp-request' "http://127.0.0.1:$p/"
	openssl ocsp -respin resp.der -issuer intA1.crt -cert a_good.crt \
		-VAfile "${s#*:}.crt" 2>&1 | grep -q 'a_good.crt: good' ||
		echo "(b) ${s%%:*}: no verified good answer" >&2
done
secs=${OCSP_SECS:-3}
rounds=${OCSP_ROUNDS:-3}
threads=${OCSP_THREADS:-4}
# The cells of the table, measured in ROUNDS interleaved slices of
# SECS/ROUNDS seconds so that the machine's load hits them alike.
cells="cec:new:post oec:new:post cec:keep:post oec:keep:post cec:keep:get
oec:keep:get crsa:new:post orsa:new:post crsa:keep:post orsa:keep:post"
[ -n "$multi" ] && cells="$cells mec:new:post mec:keep:post mrsa:new:post
mrsa:keep:post"
slice=$(awk -v s="$secs" -v r="$rounds" 'BEGIN { print s / r }')
: >ocsp.txt
r=0
while [ $r -lt "$rounds" ]; do
	for cell in $cells; do
		srv=${cell%%:*} rest=${cell#*:}
		mode=${rest%%:*} method=${rest#*:}
		eval "p=\$port_$srv"
		url="http://127.0.0.1:$p/"
		[ "$method" = get ] && url="$url$get"
		"$out/ocsp_load" "$url" req.der "$slice" "$threads" "$mode" \
			"$method" 2>ocsp.err >ocsp.rate || echo 0 >ocsp.rate
		echo "$cell $(cat ocsp.rate) $(cat ocsp.err)" >>ocsp.txt
	done
	r=$((r + 1))
done
{
	echo "== (b) OCSP responses/s, $threads client threads (libcurl), no" \
		"nonce, $rounds x $slice s interleaved per cell; load average:" \
		"$(cut -d' ' -f1-3 /proc/loadavg)"
	echo "   $(openssl version | cut -d' ' -f1-2) responder: openssl ocsp" \
		"-index -port${multi:+; -multi $multi: $multi processes}"
	awk -v multi="$multi" '
	{
		# cell rate "answers" N, "failures" F, "connections" C
		split($1, c, ":"); k = $1
		sum[k] += $2; n[k]++; ans[k] += $4; fail[k] += $6; con[k] += $8
	}
	function rate(k) { return n[k] ? sum[k] / n[k] : 0 }
	function line(sig, conn, meth, mode, method,   c, o, m, kc, ko, km) {
		kc = "c" sig ":" mode ":" method; ko = "o" sig ":" mode ":" method
		km = "m" sig ":" mode ":" method
		c = rate(kc); o = rate(ko); m = (km in n) ? rate(km) : -1
		printf "%-8s %-11s %-4s %8.0f %8.0f %7.1fx", (sig == "ec" ? "P-256" : "RSA-2048"), conn, meth, c, o, (o > 0 ? c / o : 0)
		if (multi != "" && m >= 0)
			printf " %8.0f %7.1fx", m, (m > 0 ? c / m : 0)
		else if (multi != "")
			printf " %8s %8s", "-", "-"
		printf "   conns/answers: certd %d/%d, openssl %d/%d", con[kc], ans[kc], con[ko], ans[ko]
		if (fail[kc] + fail[ko] + fail[km])
			printf ", failures %d/%d/%d", fail[kc], fail[ko], fail[km]
		printf "\n"
	}
	END {
		printf "%-8s %-11s %-4s %8s %8s %8s", "signer", "connection", "req", "certd", "openssl", "ratio"
		if (multi != "")
			printf " %8s %8s", "multi" multi, "ratio"
		printf "\n"
		line("ec", "new", "POST", "new", "post")
		line("ec", "keep-alive", "POST", "keep", "post")
		line("ec", "keep-alive", "GET", "keep", "get")
		line("rsa", "new", "POST", "new", "post")
		line("rsa", "keep-alive", "POST", "keep", "post")
	}' ocsp.txt
	echo "   keep-alive: the client keeps its connection when the server" \
		"allows it (conns/answers shows whether it did)."
} | tee -a "$out/certd_bench.txt"
