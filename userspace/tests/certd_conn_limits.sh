#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The connection caps of daemon/http.c, shared by every daemon: a certd
# on 127.0.0.1 with max_connections = 8 and max_connections_per_client =
# 4. One client (127.0.0.2) holds 4 idle connections: its 5th is
# closed at once, while another address (127.0.0.1) is still served;
# with 8 open, a connection from anyone is closed; the refusals show in
# /v1/metrics; closed connections give their places back. A second certd
# with handshake_timeout = 2 cuts a handshake trickled a byte a second
# at 2 s, not a connection whose handshake is done; with
# max_connections_per_prefix = 3, the 4th connection from one IPv6 /64
# is closed while another /64 and IPv4 clients get in (in a network
# namespace with addresses of its own: as root, else skipped). A method
# no endpoint serves gets 405 in JSON; headers without end close the
# connection at 16 KiB. Then --check-config refuses bad values in
# certd, leased and keyd. Run by
# certd_conn_limits.c (TAP): sh certd_conn_limits.sh DIR CERTD LEASED
# KEYD.
set -u

# Root: the whole test in a network namespace of its own, where lo gets
# addresses in two /64s (fd00:64:a::/64, fd00:64:b::/64). The namespace
# left is named in GUISE_CONN_NETNS: the host's lo is never touched.
here_ns=$(readlink /proc/self/ns/net)
if [ -z "${GUISE_CONN_NETNS:-}" ] && [ "$(id -u)" = 0 ] &&
	unshare -n true 2>/dev/null; then
	GUISE_CONN_NETNS=$here_ns exec unshare -n sh "$0" "$@"
fi
netns=
if [ -n "${GUISE_CONN_NETNS:-}" ] && [ "$GUISE_CONN_NETNS" != "$here_ns" ] &&
	ip link set lo up; then
	netns=1
	for a in a::1 a::2 a::3 a::4 b::1; do
		ip -6 addr add "fd00:64:$a/64" dev lo nodad || netns=
	done
fi

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
# A symbolic link left at the port file's old temporary name (in a
# shared directory, say) is not written through.
echo precious >victim
ln -s victim certd.port.tmp
"$certd" --foreground --config certd.conf --port-file certd.port \
	2>>certd.log &
CPID=$!
pids="$pids $CPID"
wait_file certd.port
ok $? "certd started"
[ "$(cat victim)" = precious ] && [ -f certd.port ] && [ ! -L certd.port ]
ok $? "the port file is written under a name of its own: a link at certd.port.tmp is not followed"
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
# The same of the second certd (port PORT2, on ::1).
get2() { # PATH [FROM]
	curl -s --max-time 10 --interface "${2:-::1}" \
		--cacert tlsca.crt --cert client.crt --key client.key \
		"https://[::1]:$PORT2$1"
}
health2() { # [FROM]
	get2 /v1/health "${1:-::1}" | grep -q '"status":"ok"'
}
metric2() { # NAME-AND-LABELS
	get2 /v1/metrics >metrics2.txt
	awk -v m="$1" '$1 == m { print $2 }' metrics2.txt
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

# Connections driven by commands in cmd.N files: "port P" (the certd to
# talk to, on 127.0.0.1 or ::1 after the source's family), "open ADDR
# N" (N connections from ADDR that finish their TLS handshake, each must
# stay open), "probe ADDR [S]" (one more, plain TCP, which certd must
# close within S s, default 3), "close ADDR", "check" (none of the held
# closed), "trickle ADDR" (a TLS handshake record sent a byte a second:
# the time until certd closes it), "idle ADDR S" (a finished handshake,
# then S s of silence, then a request, which must be answered), "start
# ADDR" (a handshake begun and left waiting, not checked). The outcome
# of command N in done.N: "ok" or what went wrong. Held connections send
# the start of a request a byte a second: certd's 10 s idle timeout must
# not end them meanwhile.
python3 - "$PORT" <<'PY' &
import errno, os, socket, ssl, sys, time
port = int(sys.argv[1])
held = {}
sent = {}
tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
tls.check_hostname = False
tls.load_verify_locations("tlsca.crt")
tls.load_cert_chain("client.crt", "client.key")
def conn(addr):
    if ":" in addr:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        dst = "::1"
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        dst = "127.0.0.1"
    s.bind((addr, 0))
    s.connect((dst, port))
    return s
def tls_conn(addr):
    s = tls.wrap_socket(conn(addr))
    s.settimeout(5)
    s.do_handshake()
    return s
def is_closed(s):
    # certd's answer to a refused connection: end of file or a reset.
    try:
        if isinstance(s, ssl.SSLSocket):
            s.setblocking(False)
            return s.recv(1) == b""
        return s.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except (BlockingIOError, ssl.SSLWantReadError):
        return False
    except OSError:
        return True
def closed_within(s, wait):
    end = time.time() + wait
    while time.time() < end:
        if is_closed(s):
            return True
        time.sleep(0.02)
    return False
# The start of a TLS handshake record of 512 bytes, never finished.
record = bytes([0x16, 0x03, 0x01, 0x02, 0x00]) + bytes(507)
# The start of a request, never finished.
request = b"GET /v1/health HTTP/1.1\r\nX-Slow: " + b"a" * 500
def trickle():
    for s in [s for l in held.values() for s in l]:
        i = sent.get(s, 0)
        try:
            s.send(request[i:i + 1])
        except OSError:
            pass # closed: "check" tells
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
    if words[0] == "port":
        port = int(words[1])
    elif words[0] == "open":
        new = []
        try:
            for _ in range(int(words[2])):
                new.append(tls_conn(words[1]))
        except OSError as e:
            out = "certd closed one of them: %s" % e
        held.setdefault(words[1], []).extend(new)
        # Given time to be refused: none may be.
        time.sleep(0.5)
        if any(is_closed(s) for s in new):
            out = "certd closed one of them"
    elif words[0] == "probe":
        t = time.time()
        s = conn(words[1])
        wait = float(words[2]) if len(words) > 2 else 3
        if not closed_within(s, wait):
            out = "still open after %g s" % wait
        else:
            out = "ok %.2f s" % (time.time() - t)
        s.close()
    elif words[0] == "start":
        s = conn(words[1])
        s.send(record[:5])
        held.setdefault("raw", []).append(s)
        sent[s] = len(request) # not trickled
    elif words[0] == "close":
        for s in held.pop(words[1], []):
            s.close()
    elif words[0] == "check":
        if any(is_closed(s) for l in held.values() for s in l):
            out = "certd closed a held connection"
    elif words[0] == "trickle":
        t = time.time()
        s = conn(words[1])
        i = 0
        out = "still open after 8 s"
        while time.time() - t < 8:
            try:
                s.send(record[i:i + 1])
                i += 1
            except OSError:
                pass # closed: told below
            if closed_within(s, 1):
                out = "closed after %.2f s, %d bytes" % (time.time() - t, i)
                break
            trickle()
            last = time.time()
        s.close()
    elif words[0] == "idle":
        try:
            s = tls_conn(words[1])
            time.sleep(float(words[2]))
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\n"
                      b"Connection: close\r\n\r\n")
            answer = b""
            while True:
                b = s.recv(4096)
                if not b:
                    break
                answer += b
            s.close()
            if not answer.startswith(b"HTTP/1.1 200") or \
                    b'"status":"ok"' not in answer:
                out = "answer %r" % answer[:60]
        except OSError as e:
            out = "failed: %s" % e
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
okcmd "127.0.0.2 closes them" close 127.0.0.2

# --- Request limits of daemon/http.c ------------------------------------------
# A method no endpoint serves: 405 in JSON with Allow (libevent's own
# answer was 501 and an HTML page).
code=$(curl -s --max-time 10 -X PUT -o put.json -D put.hdr -w '%{http_code}' \
	--cacert tlsca.crt --cert client.crt --key client.key \
	"https://127.0.0.1:$PORT/v1/validate")
is "$code" 405 "PUT /v1/validate: 405"
grep -q '"error": *"method not allowed"' put.json &&
	grep -qi '^Allow: POST' put.hdr
ok $? "... in JSON, with Allow: $(cat put.json) $(grep -i '^allow' put.hdr | tr -d '\r')"
is "$(curl -s --max-time 10 -X DELETE -o /dev/null -w '%{http_code}' \
	--cacert tlsca.crt --cert client.crt --key client.key \
	"https://127.0.0.1:$PORT/v1/health")" 405 "DELETE /v1/health: 405"
# Headers without end: the connection is closed once they pass 16 KiB,
# and the daemon's memory does not follow (it grew without bound).
rss0=$(awk '/^VmRSS/ { print $2 }' /proc/$CPID/status)
python3 - "$PORT" <<'PY' >hdr.out 2>&1
import socket, ssl, sys, time
ctx = ssl.create_default_context(cafile="tlsca.crt")
ctx.load_cert_chain("client.crt", "client.key")
ctx.check_hostname = False
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: x\r\nX-A: ")
sent, t0 = 0, time.monotonic()
try:
    while sent < (64 << 20) and time.monotonic() - t0 < 20:
        s.sendall(b"a" * 65536)
        sent += 65536
except OSError:
    pass
print("sent %d KiB" % (sent >> 10))
PY
rss1=$(awk '/^VmRSS/ { print $2 }' /proc/$CPID/status)
sent=$(sed -n 's/^sent \([0-9]*\) KiB$/\1/p' hdr.out)
[ -n "$sent" ] && [ "$sent" -lt 65536 ]
ok $? "an endless header: the connection is closed ($(cat hdr.out) before)"
[ $((rss1 - rss0)) -lt 16384 ]
ok $? "... and the daemon did not buffer it (RSS $rss0 -> $rss1 kB)"
health
ok $? "certd answers on"

kill "$CPID"
wait "$CPID"
ok $? "certd exits 0 after SIGTERM"

# --- handshake_timeout and max_connections_per_prefix ----------------------
cat >certd2.conf <<CONF
[server]
listen = [::]:0
cert = $dir/server.crt
key = $dir/server.key
ca = $dir/tlsca.crt
handshake_timeout = 2
max_connections_per_client = 2
max_connections_per_prefix = 3
[trust]
anchors = $dir/rootA.crt
CONF
"$certd" --foreground --config certd2.conf --port-file certd2.port \
	2>>certd2.log &
CPID=$!
pids="$pids $CPID"
wait_file certd2.port
ok $? "a certd with handshake_timeout = 2 and max_connections_per_prefix = 3 started"
PORT2=$(sed -n 1p certd2.port)
cmd port "$PORT2"

# Its end: when the deadline fires (2 s), not when evhttp's 10 s per
# read would.
cmd trickle 127.0.0.5
t=$(echo "$out" | sed -n 's/^closed after \([0-9]*\)\..*/\1/p')
[ -n "$t" ] && [ "$t" -ge 1 ] && [ "$t" -le 5 ]
ok $? "a handshake trickled a byte a second is cut at the deadline: $out"
r=$(metric2 'guise_certd_http_handshake_timeouts_total{server="https"}')
[ "${r:-0}" -ge 1 ]
ok $? "the cut is counted: ${r:-none}"
grep -q "closed: TLS handshake not done in time (handshake_timeout" certd2.log
ok $? "and logged: $(grep handshake_timeout certd2.log | head -1)"
okcmd "a connection idle for 4 s after its handshake is still served" \
	idle 127.0.0.5 4

if [ -n "$netns" ]; then
	okcmd "fd00:64:a::1, ::2 and ::3 open one connection each: 3 from the /64, its cap" \
		open fd00:64:a::1 1
	okcmd "(fd00:64:a::2)" open fd00:64:a::2 1
	okcmd "(fd00:64:a::3)" open fd00:64:a::3 1
	# Within 1 s: the handshake deadline (2 s) would close it too.
	okcmd "one from fd00:64:a::4, new in that /64, is closed at once" \
		probe fd00:64:a::4 1
	! health2 fd00:64:a::4
	ok $? "so is an HTTPS request from it"
	health2 fd00:64:b::1
	ok $? "meanwhile fd00:64:b::1, another /64, is served"
	okcmd "IPv4 clients have no /64: 127.0.0.6 and 127.0.0.7 open 2 each" \
		open 127.0.0.6 2
	okcmd "(127.0.0.7)" open 127.0.0.7 2
	r=$(metric2 'guise_certd_http_connections_refused_total{server="https",reason="max_connections_per_prefix"}')
	[ "${r:-0}" -ge 2 ]
	ok $? "the per-/64 refusals are counted: ${r:-none}"
	grep -q "fd00:64:a::4 refused: 3 connections from its /64 (max_connections_per_prefix" \
		certd2.log
	ok $? "and logged: $(grep refused certd2.log | head -1)"
	okcmd "the held connections are all still open" check
	okcmd "fd00:64:a::1 closes its connection" close fd00:64:a::1
	retry health2 fd00:64:a::4
	ok $? "fd00:64:a::4 is served now: the closed connection gave its /64 place back"
else
	n=$((n + 1))
	echo "ok $n # SKIP max_connections_per_prefix: not root, no network namespace"
fi
# A deadline still running when the server stops is freed with its
# connection (ASan would tell, and the exit status with it).
cmd start 127.0.0.8

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
	"max_connections_per_client = many" \
	"max_connections_per_prefix = 1048577" \
	"max_connections_per_prefix = -1" "handshake_timeout = -1" \
	"handshake_timeout = 2x" "handshake_timeout = 3601"; do
	bad_certd "$v"
	r=$?
	grep -q "\[server\] ${v%% =*}: invalid value" bad.out
	ok $(($r != 1 || $? != 0)) "certd --check-config refuses \"$v\": $(head -1 bad.out)"
done
bad_certd "max_connection = 8"
r=$?
grep -q "unknown setting \[server\] max_connection$" bad.out
ok $(($r != 1 || $? != 0)) "and an unknown setting: $(head -1 bad.out)"
for v in "max_connections = 0" "max_connections = 1048576" \
	"max_connections_per_prefix = 0" \
	"max_connections_per_prefix = 1048576" "handshake_timeout = 0" \
	"handshake_timeout = 3600" "handshake_timeout = 1m" \
	"handshake_timeout = 15s"; do
	bad_certd "$v"
	ok $? "\"$v\" is accepted: $(head -1 bad.out)"
done

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
sed -i 's/^max_connections_per_client = 0$/max_connections_per_prefix = 16\nhandshake_timeout = 5s/' \
	leased.conf
"$leased" --check-config --config leased.conf >leased.out 2>&1
ok $? "and max_connections_per_prefix, handshake_timeout: $(head -1 leased.out)"

# --- SIGHUP: a new handshake_timeout for new connections (guise-leased) ----
start_daemon leased "$leased"
ok $? "guise-leased started with handshake_timeout = 5s"
cmd port "$(sed -n 1p leased.port)"
sed -i 's/^handshake_timeout = 5s$/handshake_timeout = 1/' leased.conf
kill -HUP "$DPID"
wait_count leased.log "reloaded" 1
ok $? "SIGHUP: handshake_timeout = 1"
cmd trickle ::1
t=$(echo "$out" | sed -n 's/^closed after \([0-9]*\)\..*/\1/p')
[ -n "$t" ] && [ "$t" -le 2 ]
ok $? "a trickled handshake is cut after 1 s, not 5: $out"
r=$(local_api leased /v1/metrics |
	awk '$1 == "guise_leased_http_handshake_timeouts_total{server=\"https\"}" { print $2 }')
is "$r" 1 "guise-leased counts it"
# Every connection a full handshake, also after SIGHUP's new context:
# OpenSSL keeps no peer chain in a session, and leased asks certd about
# the client's whole chain (and keeps it for re-validation).
lport=$(sed -n 1p leased.port)
resumed() { # of two connections, the second offering the first's session
	sc() {
		sleep 1 | openssl s_client -connect "[::1]:$lport" \
			-CAfile tlsca.crt -cert client.crt -key client.key "$@" \
			2>/dev/null
	}
	{ sc -sess_out sess1; sc -sess_in sess1; } | grep -c '^Reused'
}
is "$(resumed)" 0 "guise-leased resumes no TLS session (the client's chain each time)"
cmd exit
wait "$HPID"
kill "$DPID"
wait "$DPID"
ok $? "guise-leased exits 0 after SIGTERM"

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
