# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the daemons' sh tests (certd_e2e.sh, leased_revoke.sh,
# keyd_revoke.sh, leased_certd_check.sh, leased_revalidate.sh) after they
# set dir (the scratch directory), certd (the program) and here (this
# directory): TAP helpers, process cleanup, polling with a deadline, the
# test PKI, a certd, and guise-leased/guise-keyd configured to follow it.
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
wait_until() { # SECONDS COMMAND...: poll COMMAND every 0.1 s
	local t=0 max=$(($1 * 10))
	shift
	while ! "$@" && [ $t -lt $max ]; do
		sleep 0.1
		t=$((t + 1))
	done
	"$@"
}

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

# --- guise-leased and guise-keyd beside that certd -------------------------
# (clients.pem: what they trust for client certificates; CERTD: certd's
# API port; crlwatch: the program.)

# The [server] section of daemon NAME: NAME.db, NAME.sock in $dir.
server_conf() { # NAME
	cat <<CONF
[server]
listen = [::1]:0
cert = $dir/server.crt
key = $dir/server.key
ca = $dir/clients.pem
db = $dir/$1.db
socket = $dir/$1.sock
CONF
}

# The [certd] section: certd at URL (default the one started here).
certd_conf() { # [URL]
	cat <<CONF
[certd]
url = ${1:-https://[::1]:$CERTD}
cert = $dir/client.crt
key = $dir/client.key
ca = $dir/tlsca.crt
CONF
}

# Start PROGRAM -f -v on NAME.conf, stderr to NAME.log; its pid in DPID.
# Fails if it has not written NAME.port within 30 s.
start_daemon() { # NAME PROGRAM
	rm -f "$1.port"
	"$2" --foreground -v --config "$1.conf" --port-file "$1.port" \
		2>>"$1.log" &
	DPID=$!
	pids="$pids $DPID"
	wait_file "$1.port"
}

# Has daemon NAME connected to certd's event stream COUNT times (30 s)?
subscribed() { # NAME [COUNT]
	wait_count "$1.log" "revocation: connected" "${2:-1}"
}

# HTTP code of a request over the daemon NAME's UNIX socket; the body to
# stdout.
local_api() { # NAME PATH [JSON]
	curl -s --max-time 20 --unix-socket "$1.sock" ${3:+-d "$3"} \
		"http://localhost$2"
}

# The CA CA (intB1, ...) revokes CERT.crt and writes pub/CA.crl (T0: the
# time -gencrl starts, ms); guise-crlwatch --once pushes it to certd.
revoke_publish() { # CA CERT
	CADIR=$1.d openssl ca -batch -config ca.cnf -revoke "$2.crt" \
		-crl_reason keyCompromise 2>/dev/null
	T0=$(now_ms)
	CADIR=$1.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext \
		-out "pub/$1.crl" 2>/dev/null
	"$crlwatch" --dir pub --issuer "$1.crt" --sign-cert "$1.crt" \
		--sign-key "$1.key" \
		--carry --serials --to "https://[::1]:$CERTD/v1/notify" \
		--cert client.crt --key client.key --ca tlsca.crt --once \
		2>>crlwatch.log
}

# HTTP code of CERT renting a lease for peer 2001:db8:3::20 from the
# guise-leased on port LEASED; the answer in rent_CERT.json.
rent() { # CERT
	curl -s --max-time 20 --cacert tlsca.crt --cert "$1.crt" \
		--key "$1.key" -o "rent_$1.json" -w '%{http_code}' \
		-d '{"peer":"2001:db8:3::20"}' "https://[::1]:$LEASED/v1/rent"
}

# HTTP code of CERT enrolling with the guise-keyd on port KEYD.
enroll() { # CERT
	curl -s --max-time 20 --cacert tlsca.crt --cert "$1.crt" \
		--key "$1.key" -o /dev/null -w '%{http_code}' -X POST \
		"https://[::1]:$KEYD/v1/enroll"
}
