#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The connection caps of daemon/http.c, shared by every daemon: a certd
# on 127.0.0.1 with max_connections = 8 and max_connections_per_client =
# 4. One client (127.0.0.2) holds 4 silent connections: its 5th is
# closed at once, while another address (127.0.0.1) is still served;
# with 8 open, a connection from anyone is closed; the refusals show in
# /v1/metrics; closed connections give their places back. Then
# --check-config refuses bad values in certd, leased and keyd. Run by
# certd_conn_limits.c (TAP): sh certd_conn_limits.sh DIR CERTD LEASED
# KEYD.
set -u

dir=${1:?usage: certd_conn_limits.sh DIR CERTD LEASED KEYD}
certd=${2:?}
leased=${3:?}
keyd=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
pki_setup

cat >certd.conf <<CONF
[server]
listen = 127.0.0.1:0
cert = $dir/server.crt
key = $dir/server.key
ca = $dir/tlsca.crt
max_connections = 8
max_connections_per_client = 4
[trust]
anchors = $dir/rootA.crt
CONF
"$certd" --foreground --config certd.conf --port-file certd.port \
	2>>certd.log &
CPID=$!
pids="$pids $CPID"
wait_file certd.port
ok $? "certd started"
PORT=$(sed -n 1p certd.port)

# GET PATH from source address FROM (default 127.0.0.1): the body to
# stdout; curl's exit status.
get() { # PATH [FROM]
	curl -s --max-time 10 --interface "${2:-127.0.0.1}" \
		--cacert tlsca.crt --cert client.crt --key client.key \
		"https://127.0.0.1:$PORT$1"
}
health() { # [FROM]
	get /v1/health "${1:-127.0.0.1}" | grep -q '"status":"ok"'
}
# A sample of /v1/metrics (all of it in metrics.txt).
metric() { # NAME-AND-LABELS
	get /v1/metrics >metrics.txt
	awk -v m="$1" '$1 == m { print $2 }' metrics.txt
}

# Poll (10 s) until the gauge reads WANT, the request asking included.
gauge_is() { # WANT
	local w=0 g
	while :; do
		g=$(metric 'guise_certd_http_connections{server="https"}')
		[ "$g" = "$1" ] && return 0
		if [ $w -ge 50 ]; then
			echo "#   the gauge reads \"$g\", want $1"
			return 1
		fi
		sleep 0.2
		w=$((w + 1))
	done
}
# Run a command until it succeeds, up to 10 s.
retry() { # COMMAND...
	local w=0
	until "$@"; do
		[ $w -ge 50 ] && return 1
		sleep 0.2
		w=$((w + 1))
	done
}

health
ok $? "it answers"
is "$(metric 'guise_certd_http_connections{server="https"}')" 1 \
	"the gauge counts the connection asking"

# TCP connections driven by commands in cmd.N files: "open ADDR N" (each
# must stay open), "probe ADDR" (one more, which certd must close within
# 3 s), "close ADDR". The outcome of command N in done.N: "ok" or what
# went wrong. Held connections trickle the start of a TLS record, a
# byte a second: certd's 10 s idle timeout must not end them meanwhile.
python3 - "$PORT" <<'PY' &
import errno, os, socket, sys, time
port = int(sys.argv[1])
held = {}
sent = {}
def conn(addr):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((addr, 0))
    s.connect(("127.0.0.1", port))
    return s
def is_closed(s):
    # certd's answer to a refused connection: end of file or a reset.
    try:
        return s.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
    except OSError as e:
        return e.errno == errno.ECONNRESET
def closed_within(s, wait):
    end = time.time() + wait
    while time.time() < end:
        if is_closed(s):
            return True
        time.sleep(0.02)
    return False
# A TLS handshake record of 512 bytes, never finished.
record = bytes([0x16, 0x03, 0x01, 0x02, 0x00]) + bytes(507)
def trickle():
    for s in [s for l in held.values() for s in l]:
        i = sent.get(s, 0)
        s.send(record[i:i + 1])
        sent[s] = i + 1
n = 0
deadline = time.time() + 300
last = time.time()
while time.time() < deadline:
    if time.time() - last >= 1:
        trickle()
        last = time.time()
    f = "cmd.%d" % n
    if not os.path.exists(f):
        time.sleep(0.02)
        continue
    words = open(f).read().split()
    out = "ok"
    if words[0] == "open":
        new = [conn(words[1]) for _ in range(int(words[2]))]
        held.setdefault(words[1], []).extend(new)
        # Given time to be refused: none may be.
        time.sleep(0.5)
        if any(is_closed(s) for s in new):
            out = "certd closed one of them"
    elif words[0] == "probe":
        t = time.time()
        s = conn(words[1])
        if not closed_within(s, 3):
            out = "still open after 3 s"
        else:
            out = "ok %.2f s" % (time.time() - t)
        s.close()
    elif words[0] == "close":
        for s in held.pop(words[1], []):
            s.close()
    elif words[0] == "check":
        if any(is_closed(s) for l in held.values() for s in l):
            out = "certd closed a held connection"
    open("done.%d.tmp" % n, "w").write(out + "\n")
    os.rename("done.%d.tmp" % n, "done.%d" % n)
    n += 1
    if words[0] == "exit":
        break
PY
HPID=$!
pids="$pids $HPID"
cmdn=0
cmd() { # WORDS...: the outcome in $out
	echo "$*" >"cmd.$cmdn.tmp"
	mv "cmd.$cmdn.tmp" "cmd.$cmdn"
	wait_file "done.$cmdn"
	out=$(cat "done.$cmdn")
	cmdn=$((cmdn + 1))
}
okcmd() { # DESCRIPTION WORDS...
	local d=$1
	shift
	cmd "$@"
	case $out in
	ok*) ok 0 "$d ($out)" ;;
	*) ok 1 "$d: $out" ;;
	esac
}

okcmd "127.0.0.2 opens 4 connections, its cap: all stay open" \
	open 127.0.0.2 4
okcmd "its 5th connection is closed at once" probe 127.0.0.2
health
ok $? "meanwhile 127.0.0.1 is served (TLS, a real request)"
! health 127.0.0.2
ok $? "an HTTPS request from 127.0.0.2 fails: it is at its cap"

# The global cap: once certd has seen the curls close, 4 are open.
gauge_is 5
ok $? "127.0.0.2's 4 connections are counted (and the one asking)"
okcmd "127.0.0.3 opens 4 more: 8 open, the global cap" open 127.0.0.3 4
okcmd "a connection from 127.0.0.4 (no other) is closed at once" \
	probe 127.0.0.4
! health
ok $? "so is one from 127.0.0.1: the global cap counts every client"
okcmd "the 8 held connections are all still open" check
okcmd "127.0.0.3 closes its connections" close 127.0.0.3
retry health
ok $? "127.0.0.1 is served again"

# At least the probe and curl each (a retry above may add some).
r=$(metric 'guise_certd_http_connections_refused_total{server="https",reason="max_connections_per_client"}')
[ "${r:-0}" -ge 2 ]
ok $? "the per-client refusals are counted: $r"
r=$(metric 'guise_certd_http_connections_refused_total{server="https",reason="max_connections"}')
[ "${r:-0}" -ge 2 ]
ok $? "the global ones too: $r"
gauge_is 5
ok $? "open: 127.0.0.2's 4 and the metrics request"
grep -q '^guise_certd_http_accept_pauses_total{server="https"} 0$' \
	metrics.txt
ok $? "accept() pauses are exported"
[ "$(grep -c "refused" certd.log)" -eq 1 ]
ok $? "one warning for the refusals, not one each: $(grep refused certd.log)"

okcmd "127.0.0.2 closes its connections" close 127.0.0.2
retry health 127.0.0.2
ok $? "127.0.0.2 is served again: the closed connections gave their places back"
gauge_is 1
ok $? "all places are free again"
okcmd "and may hold 4 again" open 127.0.0.2 4
okcmd "but not 5" probe 127.0.0.2
cmd exit
wait "$HPID"

kill "$CPID"
wait "$CPID"
ok $? "certd exits 0 after SIGTERM"

# --- --check-config: the values each daemon refuses ------------------------
cat tlsca.crt >clients.pem
# The [server] section of certd.conf with one setting more.
bad_certd() { # SETTING
	sed "s|^max_connections = 8|$1|" certd.conf >bad.conf
	"$certd" --check-config --config bad.conf >bad.out 2>&1
}
for v in "max_connections = -1" "max_connections = 8x" \
	"max_connections = 1048577" "max_connections_per_client = " \
	"max_connections_per_client = many" "max_connection = 8"; do
	bad_certd "$v"
	r=$?
	grep -q "\[server\] ${v%% =*}" bad.out
	ok $(($r != 1 || $? != 0)) "certd --check-config refuses \"$v\": $(head -1 bad.out)"
done
bad_certd "max_connections = 0"
ok $? "max_connections = 0 (no cap) is accepted"
bad_certd "max_connections = 1048576"
ok $? "so is the largest value, 1048576"

cat >leased.conf <<CONF
$(server_conf leased)
max_connections_per_client = -4
[pool]
prefix = 2001:db8:100::/64
[kernel]
sync = off
CONF
"$leased" --check-config --config leased.conf >leased.out 2>&1
is "$?" 1 "guise-leased --check-config refuses it too"
grep -q '\[server\] max_connections_per_client: invalid value "-4"' leased.out
ok $? "naming the setting and the value: $(head -1 leased.out)"
sed -i 's/= -4$/= 0/' leased.conf
"$leased" --check-config --config leased.conf >leased.out 2>&1
ok $? "and accepts 0: $(head -1 leased.out)"

cat >keyd.conf <<CONF
[keyd]
role = server
$(server_conf keyd)
max_connections = lots
[kernel]
sync = off
CONF
"$keyd" --check-config --config keyd.conf >keyd.out 2>&1
is "$?" 1 "guise-keyd --check-config refuses a bad max_connections"
grep -q '\[server\] max_connections: invalid value "lots"' keyd.out
ok $? "naming it: $(head -1 keyd.out)"
sed -i 's/= lots$/= 100/' keyd.conf
"$keyd" --check-config --config keyd.conf >keyd.out 2>&1
ok $? "and accepts 100: $(head -1 keyd.out)"

echo "1..$n"
[ "$failed" -eq 0 ]
