#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Issue 7 benchmark (b): OCSP responses per second answered by
# guise-certd's responder (from its response cache) against OpenSSL's own,
# `openssl ocsp -index ... -port` (and `-multi 2` where OpenSSL has it), on
# the same certificate and issuer, with the EC P-256 delegated signer of
# certd_pki.sh and an RSA-2048 one made here: a new connection per request
# (POST, as `openssl ocsp -url` sends it; what standard clients do) and
# HTTP/1.1 keep-alive (POST and RFC 5019 GET). Load: bench/src/ocsp_load.c
# (epoll, OCSP_CONNS connections in flight, requests encoded once).
# Besides responses/s, every cell reports each server's CPU time per
# answer (all its threads or processes, from /proc/PID/task/*/schedstat),
# the fair figure on a shared machine, and the load generator's.
# CERTD_BASE=<another guise-certd> adds it as a third server (before/after
# in one run).
#
#   bench/certd_ocsp.sh          (also from bench/certd_bench.sh)
# Environment: CERTD (build/bin/guise-certd), CERTD_BASE, OUT (build/bench),
# OCSP_SECS (3 a cell, in OCSP_ROUNDS (3) interleaved slices), OCSP_CONNS
# (16), OCSP_THREADS (1, load generator threads), OCSP_MULTI (2).
# Report: OUT/certd_ocsp.txt.
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
out=${OUT:-$repo/build/bench}
certd=${CERTD:-$repo/build/bin/guise-certd}
base=${CERTD_BASE:-}
mkdir -p "$out"
[ -f /usr/include/http_parser.h ] || {
	echo "certd_ocsp: libhttp-parser-dev missing (scripts/deps.sh bench)" >&2
	exit 1
}
cc -O2 -std=gnu11 -Wall -Wextra -Werror -o "$out/ocsp_load" \
	bench/src/ocsp_load.c -lhttp_parser -lpthread

tmp=$(mktemp -d)
pids=""
# openssl ocsp -multi: its responder processes first, then the parent.
trap 'for p in $pids; do kill $(pgrep -P $p) $p 2>/dev/null; done
rm -rf "$tmp"' EXIT
sh userspace/tests/certd_pki.sh "$tmp" >/dev/null
cd "$tmp"
# The same issuer (intA1) answered by two delegated signers: the EC P-256
# one of certd_pki.sh and an RSA-2048 one made here (OCSPSigning).
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
start_certd() { # NAME SIGNER BINARY: sets port_NAME, pid_NAME
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
	"$3" -f -c "$1.conf" -p "$1.port" 2>"$1.log" &
	pids="$pids $!"
	eval "pid_$1=$!"
	i=0
	while [ ! -s "$1.port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	eval "port_$1=$(sed -n 2p "$1.port")"
}
multi=""
openssl ocsp -help 2>&1 | grep -q -- '-multi' && multi=${OCSP_MULTI:-2}
start_openssl() { # NAME SIGNER [MULTI]: sets port_NAME, pid_NAME
	p=$(freeport)
	openssl ocsp -index intA1.d/index.txt -CA intA1.crt -rsigner "$2.crt" \
		-rkey "$2.key" -port "$p" -ignore_err ${3:+-multi "$3"} \
		>/dev/null 2>&1 &
	pids="$pids $!"
	eval "pid_$1=$!"
	eval "port_$1=$p"
}
servers="c o${multi:+ m}${base:+ b}"
for sig in ec rsa; do
	key=ocspA
	[ $sig = rsa ] && key=ocspArsa
	start_certd "c$sig" $key "$certd"
	[ -z "$base" ] || start_certd "b$sig" $key "$base"
	start_openssl "o$sig" $key
	[ -z "$multi" ] || start_openssl "m$sig" $key "$multi"
done
sleep 1
openssl ocsp -issuer intA1.crt -cert a_good.crt -no_nonce -reqout req.der \
	2>/dev/null
# RFC 5019 GET: /<url-encoded base64 of the DER request>.
get=$(openssl base64 -A -in req.der | sed 's,/,%2F,g; s,+,%2B,g; s,=,%3D,g')
# Every responder must answer "good", signed by its signer, to the request
# as `openssl ocsp -url` sends it.
for srv in $servers; do
	for sig in ec rsa; do
		key=ocspA
		[ $sig = rsa ] && key=ocspArsa
		eval "p=\$port_$srv$sig"
		openssl ocsp -issuer intA1.crt -cert a_good.crt -no_nonce \
			-url "http://127.0.0.1:$p/" -VAfile $key.crt 2>&1 |
			grep -q 'a_good.crt: good' ||
			echo "(b) $srv$sig: no verified good answer" >&2
	done
done
secs=${OCSP_SECS:-3}
rounds=${OCSP_ROUNDS:-3}
conns=${OCSP_CONNS:-16}
threads=${OCSP_THREADS:-1}
slice=$(awk -v s="$secs" -v r="$rounds" 'BEGIN { print s / r }')
# The cells, measured in ROUNDS interleaved slices of SECS/ROUNDS seconds
# so that the machine's load hits them alike: SERVER+SIGNER:MODE:METHOD.
cells=""
for sig in ec rsa; do
	for mm in new:post keep:post keep:get; do
		for srv in $servers; do
			cells="$cells $srv$sig:$mm"
		done
	done
done
load0=$(cut -d' ' -f1-3 /proc/loadavg)
: >ocsp.txt
r=0
while [ $r -lt "$rounds" ]; do
	for cell in $cells; do
		srv=${cell%%:*} rest=${cell#*:}
		mode=${rest%%:*} method=${rest#*:}
		eval "p=\$port_$srv pid=\$pid_$srv"
		url="http://127.0.0.1:$p/"
		set -- -c "$conns" -t "$threads" -p "$pid"
		for c in $(pgrep -P "$pid"); do set -- "$@" -p "$c"; done
		[ "$mode" = keep ] && set -- "$@" -k
		[ "$method" = get ] && set -- "$@" -g && url="$url$get"
		"$out/ocsp_load" "$@" "$url" req.der "$slice" >ocsp.rate \
			2>ocsp.err || echo "rate=0 failed" >ocsp.rate
		echo "$cell $(cat ocsp.rate)" >>ocsp.txt
	done
	r=$((r + 1))
done
load1=$(cut -d' ' -f1-3 /proc/loadavg)
cp ocsp.txt "$out/certd_ocsp.raw"
{
	echo "== (b) OCSP responses/s and CPU per answer; $conns connections" \
		"in flight ($threads load generator thread(s), epoll), no" \
		"nonce, $rounds x $slice s interleaved per cell;" \
		"load average $load0 -> $load1; $(date -u '+%F %H:%M UTC')"
	echo "   $(openssl version | cut -d' ' -f1-2) responder: openssl ocsp" \
		"-index -port${multi:+; -multi $multi: $multi processes};" \
		"us/ans: server CPU (user+sys) per answer; cli: the load" \
		"generator's${base:+; b: CERTD_BASE}"
	awk -v servers="$servers" '
	{
		# SRVSIG:MODE:METHOD rate=R answers=A failures=F conns=C
		# secs=S srv_ns=N cli_ns=M
		k = $1
		for (i = 2; i <= NF; i++) {
			split($i, kv, "=")
			v[k, kv[1]] += kv[2]
		}
	}
	function rate(k) { return v[k, "secs"] ? v[k, "answers"] / v[k, "secs"] : 0 }
	function us(k, f) { return v[k, "answers"] ? v[k, f] / v[k, "answers"] / 1000 : 0 }
	END {
		ns = split(servers, sv, " ")
		printf "%-8s %-5s %-4s", "signer", "conn", "req"
		for (i = 1; i <= ns; i++)
			printf " %8s %6s %5s", sv[i] "/s", "us/ans", "cli"
		printf " %7s %7s\n", "c/o", "cpu o/c"
		split("new:post keep:post keep:get", mm, " ")
		for (s = 1; s <= 2; s++) {
			sig = s == 1 ? "ec" : "rsa"
			for (j = 1; j <= 3; j++) {
				split(mm[j], x, ":")
				printf "%-8s %-5s %-4s", (sig == "ec" ? "P-256" : "RSA-2048"), x[1], toupper(x[2])
				for (i = 1; i <= ns; i++) {
					k = sv[i] sig ":" mm[j]
					printf " %8.0f %6.1f %5.1f", rate(k), us(k, "srv_ns"), us(k, "cli_ns")
				}
				kc = "c" sig ":" mm[j]; ko = "o" sig ":" mm[j]
				printf " %6.1fx %6.1fx", (rate(ko) ? rate(kc) / rate(ko) : 0), (us(kc, "srv_ns") ? us(ko, "srv_ns") / us(kc, "srv_ns") : 0)
				f = 0
				for (i = 1; i <= ns; i++)
					f += v[sv[i] sig ":" mm[j], "failures"]
				if (f)
					printf "  failures %d", f
				printf "   conns/answers c %d/%d o %d/%d\n", v[kc, "conns"], v[kc, "answers"], v[ko, "conns"], v[ko, "answers"]
			}
		}
	}' ocsp.txt
	echo "   c/o: certd/openssl responses/s; cpu o/c: openssl's server CPU" \
		"per answer / certd's. OpenSSL 3.0 closes every connection, so" \
		"its keep-alive lines are new connections again."
} | tee "$out/certd_ocsp.txt"
