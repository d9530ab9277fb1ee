#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guise-certd benchmark (a) of issue 7, on the host (loopback): revocation
# freshness, the time from a CRL's publication to every one of 10 and of
# 50 validation servers holding it, pushed against polling every 60 s.
# Called by bench/certd_bench.sh; runs alone too. Report (appended):
# $OUT/certd_fresh.txt.
#
# Publication: `openssl ca -revoke` + `openssl ca -gencrl` (the test PKI of
# userspace/tests/certd_pki.sh, CA intB1) write the new CRL, which is
# renamed into the repository directory pub/: t0. guise-crlwatch watches
# pub/ (a daemon scanning every FRESH_INTERVAL s, or with FRESH_WATCH=once
# run as the hook after -gencrl: `guise-crlwatch --once`), signs the
# notification with the CA's key, carries the CRL in it (--carry) and
# posts it to s1.
#
# Topology: a tree of forwarding lists ([network] forward), in heap
# order: s_i forwards to s_(f(i-1)+2) .. s_(fi+1), f = ceil(sqrt(N - 1)).
# 10 servers: crlwatch -> s1 -> s2..s4 -> s5..s10 (f = 3); 50 servers:
# crlwatch -> s1 -> s2..s8 -> s9..s50 (f = 7). Each server forwards to
# its whole list at once (certd's forwarding thread runs its POSTs in
# parallel).
#
# "Holding it": bench/src/certd_fresh.c waits on every server's revocation
# event stream (GET /v1/events) for the "revoked" line with the revoked
# serial, then reads each server's /v1/health, whose "loaded_at" says (on
# the server's clock, to the microsecond) when the CRL entered its cache:
# the times are loaded_at - t0, so a slow bench process does not inflate
# them. At the end, POST /v1/validate of the last revoked certificate must
# answer "revoked" on every server. Publications are FRESH_GAP s apart
# (11: longer than the servers' 10 s idle timeout, so the bench's health
# queries open new connections; forwarding connections are kept for
# [network] keepalive, 300 s: the first publication opens them, the
# next ones reuse them; publications further apart open new ones).
#
# Polling every 60 s: certd has no CRL polling (it is pushed; SIGHUP
# reloads files), so the baseline is modelled, not measured: each server
# fetches at an independent uniform phase, so a CRL published at a random
# moment reaches a server U(0, 60 s) later and all N servers after the
# largest of N such draws (fetch and load time not added, which favours
# polling).
#
#   bench/certd_fresh.sh [SIZES]      (default "10 50")
# Environment: CERTD, CRLWATCH (default build/bin/...), OUT (build/bench),
# FRESH_ROUNDS (publications per size, 10), FRESH_PERIOD (60),
# FRESH_GAP (11), FRESH_WATCH (daemon or once), FRESH_INTERVAL (0.05),
# FRESH_VERBOSE=1 (every server's time), FRESH_KEEP=1 (keep the scratch
# directory).
set -eu
cd "$(dirname "$0")/.."
repo=$PWD
out=${OUT:-$repo/build/bench}
certd=${CERTD:-$repo/build/bin/guise-certd}
crlwatch=${CRLWATCH:-$(dirname "$certd")/guise-crlwatch}
rounds=${FRESH_ROUNDS:-10}
period=${FRESH_PERIOD:-60}
mode=${FRESH_WATCH:-daemon}
interval=${FRESH_INTERVAL:-0.05}
gap=${FRESH_GAP:-11}
sizes=${1:-10 50}
report=$out/certd_fresh.txt
mkdir -p "$out"
: >"$report"
for p in "$certd" "$crlwatch"; do
	[ -x "$p" ] || {
		echo "$p not built: (a) skipped" | tee -a "$report"
		exit 0
	}
done
cc -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE \
	-o "$out/certd_fresh" bench/src/certd_fresh.c -lcurl -ljansson

tmp=$(mktemp -d)
pids=""
stop_all() {
	for p in $pids; do
		kill "$p" 2>/dev/null || true
	done
	for p in $pids; do
		wait "$p" 2>/dev/null || true
	done
	pids=""
}
trap 'stop_all; [ -n "${FRESH_KEEP:-}" ] && echo "kept $tmp" >&2 || rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

sh userspace/tests/certd_pki.sh "$tmp" >/dev/null
cd "$tmp"
mkdir pub
cp intB1.crl pub/intB1.crl

# One certificate to revoke per publication: r1, r2, ... issued by intB1.
total=0
for n in $sizes; do
	total=$((total + rounds))
done
i=1
while [ $i -le $total ]; do
	openssl req -new -key b_good.key -subj "/CN=r$i" -out "r$i.csr" \
		2>/dev/null
	CADIR=intB1.d openssl ca -batch -config ca.cnf -in "r$i.csr" \
		-out "r$i.crt" -extfile b_good.ext -notext 2>/dev/null
	i=$((i + 1))
done
# prepare.sh OFFSET ROUND: revoke r(OFFSET+ROUND), write pub/.new.crl
# (a dot file: not a CRL name for guise-crlwatch), print the serial.
cat >prepare.sh <<EOF
set -e
cd "$tmp"
c=r\$((\$1 + \$2))
CADIR=intB1.d openssl ca -batch -config ca.cnf -revoke \$c.crt \\
	-crl_reason keyCompromise 2>/dev/null
CADIR=intB1.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext \\
	-out pub/.new.crl 2>/dev/null
openssl x509 -in \$c.crt -noout -serial | sed 's/.*=//'
EOF

conf() { # NAME [forward URLs...]
	name=$1
	shift
	{
		printf '[server]\nlisten = [::1]:0\n'
		printf 'cert = %s/server.crt\nkey = %s/server.key\nca = %s/tlsca.crt\n' \
			"$tmp" "$tmp" "$tmp"
		printf '[trust]\nanchors = %s/rootA.crt\nintermediates = %s/chain.pem\n' \
			"$tmp" "$tmp"
		printf 'crl = %s/crls.pem\n[network]\n' "$tmp"
		for u in "$@"; do
			printf 'forward = %s\n' "$u"
		done
	} >"$name.conf"
}

start() { # NAME: in the background; wait_port NAME later
	rm -f "$1.port"
	"$certd" -f -c "$1.conf" -p "$1.port" 2>>"$1.log" &
	pids="$pids $!"
	echo $! >"$1.pid"
}

wait_port() { # NAME
	w=0
	while [ ! -s "$1.port" ] && [ $w -lt 300 ]; do
		sleep 0.05
		w=$((w + 1))
	done
	[ -s "$1.port" ] || {
		echo "certd $1 did not start:" >&2
		cat "$1.log" >&2
		exit 1
	}
	sed -n 1p "$1.port"
}

cpu_all() { # N: user + system CPU of s1..sN, in clock ticks (1/100 s)
	t=0
	i=1
	while [ $i -le "$1" ]; do
		t=$((t + $(awk '{ print $14 + $15 }' "/proc/$(cat "s$i.pid")/stat")))
		i=$((i + 1))
	done
	echo $t
}

offset=0
{
	echo "== (a) revocation freshness: CRL published -> all servers hold it"
	echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$report"
for n in $sizes; do
	# The tree in heap order: s_i forwards to s_(f(i-1)+2) .. s_(fi+1).
	f=1
	while [ $((f * f)) -lt $((n - 1)) ]; do
		f=$((f + 1))
	done
	# From the leaves up: a server's forward list needs its children's
	# ports; the leaves start all at once.
	i=$n
	while [ $i -ge 1 ]; do
		urls=""
		c=$((f * (i - 1) + 2))
		while [ $c -le $((f * i + 1)) ] && [ $c -le "$n" ]; do
			p=$(wait_port "s$c")
			eval "port_$c=$p"
			urls="$urls https://[::1]:$p/v1/notify"
			c=$((c + 1))
		done
		# shellcheck disable=SC2086
		conf "s$i" $urls
		start "s$i"
		i=$((i - 1))
	done
	p=$(wait_port s1)
	port_1=$p
	to=" --to https://[::1]:$p/v1/notify"
	: >ports
	i=1
	while [ $i -le "$n" ]; do
		eval echo "\$port_$i" >>ports
		i=$((i + 1))
	done
	rm -rf saved
	mkdir saved
	watch="$crlwatch --dir $tmp/pub --carry --save $tmp/saved \
--issuer $tmp/intB1.crt --sign-cert $tmp/intB1.crt --sign-key $tmp/intB1.key$to \
--cert $tmp/client.crt --key $tmp/client.key --ca $tmp/tlsca.crt"
	if [ "$mode" = once ]; then
		hook="$watch --once >>$tmp/crlwatch.log 2>&1"
		what="guise-crlwatch --once --carry (hook after -gencrl)"
	else
		hook=""
		# shellcheck disable=SC2086
		$watch --interval "$interval" 2>>crlwatch.log &
		pids="$pids $!"
		sleep 1 # its first scan: the CRLs present are not new
		what="guise-crlwatch --carry --interval $interval (daemon)"
	fi
	echo "-- $n servers: $what -> s1 -> $f servers ->" \
		"$((n - 1 - f)) servers (a tree, forward lists of up to $f)" |
		tee -a "$report"
	cpu0=$(cpu_all "$n")
	"$out/certd_fresh" ports tlsca.crt client.crt client.key "$rounds" \
		"sh $tmp/prepare.sh $offset" pub/.new.crl pub/intB1.crl "$hook" \
		"$period" saved "$gap" | tee -a "$report"
	offset=$((offset + rounds))
	# Every server answers "revoked" for the last revoked certificate.
	last=$(base64 -w0 <"r$offset.crt")
	bad=0
	i=1
	while [ $i -le "$n" ]; do
		s=$(curl -s --max-time 10 --cacert tlsca.crt --cert client.crt \
			--key client.key -d "{\"cert\":\"$last\"}" \
			"https://[::1]:$(eval echo "\$port_$i")/v1/validate" |
			sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
		[ "$s" = revoked ] || bad=$((bad + 1))
		i=$((i + 1))
	done
	rss=0
	pss=0
	max=0
	i=1
	while [ $i -le "$n" ]; do
		k=$(awk '/^VmRSS:/ { print $2 }' "/proc/$(cat "s$i.pid")/status")
		rss=$((rss + k))
		[ "$k" -gt $max ] && max=$k
		k=$(awk '/^Pss:/ { print $2 }' "/proc/$(cat "s$i.pid")/smaps_rollup" 2>/dev/null || echo 0)
		pss=$((pss + ${k:-0}))
		i=$((i + 1))
	done
	cpu1=$(cpu_all "$n")
	# What the daemons complained about (failed forwards...), if anything.
	i=1
	while [ $i -le "$n" ]; do
		cat "s$i.log"
		i=$((i + 1))
	done | sort | uniq -c | sed 's/^ */warn   /' | head -5 | tee -a "$report"
	{
		echo "CPU    $n guise-certd: $(((cpu1 - cpu0) * 10 / rounds)) ms a" \
			"publication in all (TLS for the bench's streams and" \
			"health queries included)"
		echo "check  POST /v1/validate of r$offset: revoked on $((n - bad)) of $n servers"
		echo "RSS    $n guise-certd: $((rss / 1024)) MiB in all, $((rss / n)) kB mean, $max kB max;" \
			"PSS (shared libraries split) $((pss / 1024)) MiB in all, $((pss / n)) kB mean"
	} | tee -a "$report"
	stop_all
	rm -f s*.conf s*.port s*.pid s*.log
done
