#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guise-certd benchmark (c), second half, on the host (loopback): the
# latency of validations while a CRL of ENTRIES (default 1,000,000)
# entries loads, against a running daemon (bench/src/certd_crlload_bench.c).
# Called by bench/certd_bench.sh; runs alone too. Report (appended):
# $OUT/certd_crlload.txt.
#
# The test PKI of userspace/tests/certd_pki.sh; a CRL of intB1 with
# ENTRIES random serials and b_good's, and a notification carrying it.
# For each daemon (CERTD, and CERTD_BASE if set: a build of the tree
# before the loads left the event loop) and each way in (SIGHUP reload of
# [trust] crl, a notification POSTed to /v1/notify), a fresh daemon: one
# client validates b_good back to back on one keep-alive mTLS connection
# and the load starts after 1 s; the load is over at the first "revoked"
# answer. Printed: the load time and p50 / p99 / max of the validations
# answered during it (and of the idle second before, for reference).
#
# With CRLLOAD_CYCLE=K and the modes "cycle-hup" / "cycle-notify" instead:
# K loads per daemon (CRLs of the same entries, numbers +1..K, b_good in
# the odd ones only, so each load ends at the first answer that flips),
# each after CRLLOAD_IDLE (2) seconds of idle validations; the answers of
# the idle windows, of the loads and of the 0.5 s after each are counted
# separately (over 1 ms: count and per 1000), and for SIGHUP the
# scheduler's account of the loop thread and of the "crl-loader" thread
# (/proc/PID/task/TID/schedstat: CPU time, and time spent runnable
# waiting for a CPU), so that the daemon's own stalls can be told from
# the machine's.
#
#   bench/certd_crlload.sh [ENTRIES]
# Environment: CERTD (build/bin/guise-certd), CERTD_BASE (none), OUT
# (build/bench), CRLLOAD_MODES ("hup notify"), CRLLOAD_CYCLE (0),
# CRLLOAD_IDLE (2), REUSE (none).
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
out=${OUT:-$repo/build/bench}
certd=${CERTD:-$repo/build/bin/guise-certd}
entries=${1:-1000000}
modes=${CRLLOAD_MODES:-hup notify}
report=$out/certd_crlload.txt
mkdir -p "$out"
cc -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iuserspace/daemon \
	-Iuserspace/lib -o "$out/certd_crlload_bench" \
	bench/src/certd_crlload_bench.c userspace/daemon/crlnote.c \
	userspace/daemon/base64.c \
	$(pkg-config --cflags --libs openssl jansson libcurl) -lpthread

# REUSE=DIR: the PKI and CRLs are made in DIR and kept, or taken from
# there if present (same ENTRIES and CRLLOAD_CYCLE), to repeat a run.
tmp=${REUSE:-$(mktemp -d)}
mkdir -p "$tmp"
pid=""
trap '[ -z "$pid" ] || kill $pid 2>/dev/null; [ -n "${REUSE:-}" ] || rm -rf "$tmp"' EXIT
cycles=${CRLLOAD_CYCLE:-0}
if [ -f "$tmp/big.cms" ]; then
	cd "$tmp"
	made="reused the CRLs of $tmp"
else
	sh userspace/tests/certd_pki.sh "$tmp" >/dev/null
	cd "$tmp"
	serial=$(openssl x509 -in b_good.crt -noout -serial | sed 's/.*=//')
	made=$("$out/certd_crlload_bench" mkcrl intB1.crt intB1.key "$entries" \
		2000 "$serial" big.crl big.cms \
		$([ "$cycles" = 0 ] || echo "$cycles"))
fi

run() { # NAME CERTD MODE
	cp crls.pem crls.run
	cat >certd.conf <<CONF
[server]
listen = [::1]:0
cert = $tmp/server.crt
key = $tmp/server.key
ca = $tmp/tlsca.crt
max_body = 67108864
[trust]
anchors = $tmp/rootA.crt
intermediates = $tmp/chain.pem
crl = $tmp/crls.run
CONF
	rm -f port
	"$2" -f -c certd.conf -p port 2>>certd.log &
	pid=$!
	i=0
	while [ ! -s port ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
	url="https://[::1]:$(sed -n 1p port)"
	echo "-- $1, $3"
	if [ "$3" = cycle-hup ]; then
		k=1
		while [ $k -le "$cycles" ]; do
			cp big.crl.$k run.$k
			k=$((k + 1))
		done
		"$out/certd_crlload_bench" run "$url" tlsca.crt client.crt \
			client.key b_good.crt cycle-hup "$pid" crls.run \
			"${CRLLOAD_IDLE:-2}" "$cycles" run
	elif [ "$3" = cycle-notify ]; then
		"$out/certd_crlload_bench" run "$url" tlsca.crt client.crt \
			client.key b_good.crt cycle-notify "${CRLLOAD_IDLE:-2}" \
			"$cycles" big.cms
	elif [ "$3" = hup ]; then
		cp big.crl crls.new
		"$out/certd_crlload_bench" run "$url" tlsca.crt client.crt \
			client.key b_good.crt hup "$pid" crls.run crls.new
	else
		"$out/certd_crlload_bench" run "$url" tlsca.crt client.crt \
			client.key b_good.crt notify big.cms
	fi
	kill $pid
	wait $pid 2>/dev/null || true
	pid=""
}

{
	echo "== (c) validations while a CRL loads: $made"
	echo "   (one client, back to back, b_good of intB1 on one mTLS connection)"
	for m in $modes; do
		run "guise-certd ($certd)" "$certd" "$m"
		if [ -n "${CERTD_BASE:-}" ]; then
			run "before: loads on the event loop ($CERTD_BASE)" \
				"$CERTD_BASE" "$m"
		fi
	done
} | tee -a "$report"
