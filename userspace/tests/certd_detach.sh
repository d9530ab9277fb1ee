#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guise-certd and guise-keyd without --foreground (daemon/detach.c): the
# command returns 0 only once the detached daemon serves (its port file
# is written and it answers), the daemon is no child of the command's
# caller and leaves on SIGTERM; a start that fails after the fork (a
# store that cannot be opened, a key that does not load) makes the
# command exit with the daemon's status and leaves no process behind.
# Run by certd_detach.c (TAP): sh certd_detach.sh DIR CERTD KEYD.
set -u
dir=${1:?usage: certd_detach.sh DIR CERTD KEYD}
certd=${2:?}
keyd=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
pki_setup

# The pids of processes whose command line names FILE.
pids_of() { # FILE
	local p
	for p in /proc/[0-9]*; do
		{ tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -qF -- "$1 " &&
			echo "${p#/proc/}"
	done
}

# Start PROGRAM detached on NAME.conf (stdout and stderr to NAME.log);
# the command's exit status in ST, the detached daemon's pid in DPID
# (empty if none runs).
start_detached() { # NAME PROGRAM
	rm -f "$1.port"
	"$2" -v --config "$dir/$1.conf" --port-file "$1.port" >>"$1.log" 2>&1
	ST=$?
	DPID=$(pids_of "$dir/$1.conf")
	pids="$pids $DPID"
}

# Does PID leave within 10 s?
gone() { # PID
	local w=0
	while kill -0 "$1" 2>/dev/null && [ $w -lt 100 ]; do
		sleep 0.1
		w=$((w + 1))
	done
	! kill -0 "$1" 2>/dev/null
}

# The detached daemon NAME: serving when the command returned, then gone
# on SIGTERM.
detached_serves() { # NAME PROGRAM CHECK-DESCRIPTION CHECK-COMMAND...
	local name=$1 prog=$2 what=$3
	shift 3
	start_detached "$name" "$prog"
	is "$ST" 0 "$name: the detached start exits 0"
	[ -n "$DPID" ] && [ "$(echo "$DPID" | wc -w)" -eq 1 ]
	ok $? "$name: one detached daemon runs (pid $DPID)"
	[ -s "$name.port" ]
	ok $? "$name: its port file is written before the command returns"
	PORT=$(sed -n 1p "$name.port" 2>/dev/null)
	"$@"
	ok $? "$name: $what, at once"
	[ -n "$DPID" ] && [ "$(awk '{ print $4 }' "/proc/$DPID/stat")" != $$ ]
	ok $? "$name: not a child of the caller"
	[ -n "$DPID" ] && kill -TERM "$DPID" && gone "$DPID"
	ok $? "$name: leaves on SIGTERM"
}

# A failed start after the fork: the daemon's status, no process left.
detached_fails() { # NAME PROGRAM
	start_detached "$1" "$2"
	[ "$ST" -ne 0 ] && [ "$ST" -lt 126 ]
	ok $? "$1: a start that fails exits non-zero ($ST)"
	[ -z "$DPID" ]
	ok $? "$1: and leaves no daemon behind"
	[ ! -s "$1.port" ]
	ok $? "$1: and writes no port file"
}

certd_health() {
	curl -s --max-time 5 --cacert tlsca.crt --cert client.crt \
		--key client.key "https://127.0.0.1:$PORT/v1/health" |
		grep -q '"status":"ok"'
}
# A TCP connection to keyd's API port (its requests need roles this PKI
# does not give: the listener is what matters here).
keyd_listens() {
	curl -s --max-time 5 -o /dev/null --cacert tlsca.crt \
		--cert client.crt --key client.key "https://[::1]:$PORT/"
	[ $? -ne 7 ] && [ -n "$PORT" ]
}

cat >certd.conf <<CONF
[server]
listen = 127.0.0.1:0
cert = $dir/server.crt
key = $dir/server.key
ca = $dir/tlsca.crt
[trust]
anchors = $dir/rootA.crt
CONF
detached_serves certd "$certd" "it answers /v1/health" certd_health

# The trust anchors are read after the fork (a missing CRL file is not
# fatal: CRLs also arrive later).
sed "s|^anchors = .*|anchors = $dir/no-such.crt|" certd.conf >certd-bad.conf
detached_fails certd-bad "$certd"

printf 'store secret\n' >keyd.secret
keyd_conf() { # DB
	cat <<CONF
[keyd]
role = server
[server]
listen = [::1]:0
cert = $dir/server.crt
key = $dir/server.key
ca = $dir/tlsca.crt
db = $1
socket = $dir/keyd.sock
secret_file = $dir/keyd.secret
[control]
port = $((20000 + $$ % 10000))
unicast = ::1
[kernel]
sync = off
CONF
}
keyd_conf "$dir/keyd.db" >keyd.conf
detached_serves keyd "$keyd" "it accepts TLS connections" keyd_listens

# The store opens after the fork (SQLite must not cross it).
keyd_conf "$dir/no-such-dir/keyd.db" >keyd-bad.conf
detached_fails keyd-bad "$keyd"

echo "1..$n"
[ "$failed" -eq 0 ]
