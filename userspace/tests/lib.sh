# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the daemons' sh tests (certd_e2e.sh, leased_revoke.sh,
# keyd_revoke.sh, leased_certd_check.sh) after they set dir (the scratch
# directory), certd (the program) and here (this directory): TAP helpers,
# process cleanup, polling with a deadline, the test PKI and a certd.
# dash, bash and busybox sh all know "local".

n=0
failed=0
pids=""

ok() { # COND-EXIT-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
	fi
}

is() { # GOT WANT DESCRIPTION
	local r
	[ "$1" = "$2" ]
	r=$?
	ok $r "$3"
	[ $r -eq 0 ] || echo "#   got \"$1\", want \"$2\""
}

cleanup() {
	for p in $pids; do
		kill "$p" 2>/dev/null
	done
	for p in $pids; do
		wait "$p" 2>/dev/null
	done
}
trap cleanup EXIT

wait_file() { # FILE: up to 30 s
	local w=0
	while [ ! -s "$1" ] && [ $w -lt 300 ]; do
		sleep 0.1
		w=$((w + 1))
	done
	[ -s "$1" ]
}

wait_count() { # FILE PATTERN COUNT: up to 30 s for COUNT matching lines
	local w=0
	while [ "$(grep -c "$2" "$1" 2>/dev/null)" -lt "$3" ] &&
		[ $w -lt 300 ]; do
		sleep 0.1
		w=$((w + 1))
	done
	[ "$(grep -c "$2" "$1" 2>/dev/null)" -ge "$3" ]
}

now_ms() { date +%s%3N; }

# Into $dir, the TAP header, certd_pki.sh's PKI, and pub/ for CRLs.
pki_setup() {
	cd "$dir" || exit 1
	echo "TAP version 13"
	sh "$here/certd_pki.sh" "$dir" || {
		echo "Bail out! cannot make the test PKI"
		exit 1
	}
	mkdir -p pub
}

# A guise-certd on LISTEN holding the PKI's CRLs; its pid in CPID, its
# port in certd.port. Fails if it does not start within 30 s.
start_certd() { # LISTEN
	cat >certd.conf <<CONF
[server]
listen = $1
cert = $dir/server.crt
key = $dir/server.key
ca = $dir/tlsca.crt
[trust]
anchors = $dir/rootA.crt
anchors = $dir/rootB.crt
intermediates = $dir/chain.pem
crl = $dir/crls.pem
CONF
	rm -f certd.port
	"$certd" --foreground --config certd.conf --port-file certd.port \
		2>>certd.log &
	CPID=$!
	pids="$pids $CPID"
	wait_file certd.port
}
