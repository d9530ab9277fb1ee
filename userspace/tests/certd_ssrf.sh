#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Where a client may make guise-certd send requests, TAP output. Run by
# certd_ssrf (the C driver), or by hand:
#   certd_ssrf.sh DIR CERTD
# DIR is an empty scratch directory; CERTD the program.
#
# POST /v1/subscribe makes certd POST notifications (or paths) to a URL,
# POST /v1/acquire makes it GET one: neither may reach loopback,
# link-local (169.254.169.254) or other internal services on a client's
# word. certd_pki.sh's client.crt names 2001:db8:9::1, server.crt ::1,
# 127.0.0.1 and localhost (both are client certificates here).
#
# san: no [network] subscribe_allow or acquire_allow. A client may
# subscribe only https:// URLs of a host its certificate's subjectAltName
# names; acquire is off (403, nothing fetched).
# sal: both lists. Only URLs under a prefix (scheme, host, port exact,
# path at or below a "/"); an acquire of a name that resolves to a
# loopback address is refused at connect time, and so is what certd
# sends a subscriber (fwd); redirects are not
# followed. A local listener counts the connections made to it: a refused
# acquire makes none. A name that resolves to a refused address and an
# allowed one is fetched from the allowed one (in namespaces of its own).
set -u

dir=${1:?usage: certd_ssrf.sh DIR CERTD}
certd=${2:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

pki_setup
mkdir -p pub/certs pub/other
cp a_good.crt a_revoked.crt pub/certs/
cp a_good.crt pub/other/

# lsn.py NAME MODE [ARG]: an HTTP/1.0 server on 127.0.0.1 and ::1, one
# port (NAME.port); one line per accepted connection in NAME.conns. MODE
# serve: the files of pub/ (404 if none); redirect: 302 to ARG.
cat >lsn.py <<'PY'
import os, socket, sys, threading
name, mode = sys.argv[1], sys.argv[2]
arg = sys.argv[3] if len(sys.argv) > 3 else ""
lock = threading.Lock()
open(name + ".conns", "w").close()
def bind():
    for _ in range(50):
        a = socket.socket(socket.AF_INET)
        a.bind(("127.0.0.1", 0))
        port = a.getsockname()[1]
        b = socket.socket(socket.AF_INET6)
        try:
            b.bind(("::1", port))
        except OSError:
            a.close(); b.close(); continue
        return port, [a, b]
    sys.exit(1)
def answer(c):
    with lock:
        with open(name + ".conns", "a") as f:
            f.write("1\n")
    c.settimeout(5)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            d = c.recv(4096)
            if not d:
                break
            data += d
        path = data.split(b" ")[1].decode() if data.count(b" ") > 1 else "/"
        if mode == "redirect":
            c.sendall(("HTTP/1.0 302 Found\r\nLocation: %s\r\n"
                       "Content-Length: 0\r\n\r\n" % arg).encode())
        else:
            f = os.path.join("pub", path.lstrip("/"))
            if ".." not in path and os.path.isfile(f):
                body = open(f, "rb").read()
                c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n"
                          % len(body) + body)
            else:
                c.sendall(b"HTTP/1.0 404 Not Found\r\n"
                          b"Content-Length: 0\r\n\r\n")
    except OSError:
        pass
    c.close()
def serve(s):
    s.listen(16)
    while True:
        c, _ = s.accept()
        threading.Thread(target=answer, args=(c,), daemon=True).start()
port, socks = bind()
for s in socks[1:]:
    threading.Thread(target=serve, args=(s,), daemon=True).start()
open(name + ".port.tmp", "w").write(str(port))
os.rename(name + ".port.tmp", name + ".port")
serve(socks[0])
PY
python3 lsn.py cnt serve 2>>lsn.log &
pids="$pids $!"
wait_file cnt.port
CNT=$(cat cnt.port)
python3 lsn.py redir redirect "http://127.0.0.1:$CNT/other/a_good.crt" \
	2>>lsn.log &
pids="$pids $!"
wait_file redir.port
REDIR=$(cat redir.port)

# config NAME [lines...]: NAME.conf
config() {
	local name=$1 l
	shift
	{
		printf '[server]\nlisten = [::1]:0\n'
		printf 'cert = %s/server.crt\nkey = %s/server.key\nca = %s/tlsca.crt\n' \
			"$dir" "$dir" "$dir"
		printf '[trust]\nanchors = %s/rootA.crt\nintermediates = %s/chain.pem\n' \
			"$dir" "$dir"
		printf 'crl = %s/crls.pem\n' "$dir"
		printf '[network]\nfetch_timeout = 5\n'
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >"$name.conf"
}

start() { # NAME: start certd NAME; its API port in PORT_NAME
	rm -f "$1.port"
	"$certd" --foreground -v --config "$1.conf" --port-file "$1.port" \
		2>>"$1.log" &
	pids="$pids $!"
	wait_file "$1.port" || return 1
	eval "PORT_$1=$(sed -n 1p "$1.port")"
}

port() { eval "echo \${PORT_$1:-0}"; }

# call NAME CERT PATH JSON: the HTTP status; the body in out.json
call() {
	curl -s --max-time 20 --cacert tlsca.crt --cert "$2.crt" \
		--key "$2.key" -d "$4" -o out.json -w '%{http_code}' \
		"https://[::1]:$(port "$1")$3"
}
sub() { call "$1" "$2" /v1/subscribe "{\"url\":\"$3\"${4:+,\"topic\":\"$4\"}}"; }
unsub() { call "$1" "$2" /v1/unsubscribe "{\"url\":\"$3\"}"; }
acq() { call "$1" client /v1/acquire "{\"url\":\"$2\"}"; }
conns() { wc -l <"$1.conns" | tr -d ' '; }
metric() { # NAME METRIC
	curl -s --max-time 20 --cacert tlsca.crt --cert client.crt \
		--key client.key "https://[::1]:$(port "$1")/v1/metrics" |
		sed -n "s/^guise_certd_$2 //p"
}
says() { # TEXT: out.json holds it
	grep -qF "$1" out.json
}

config san
start san
ok $? "certd san starts (no subscribe_allow, no acquire_allow)"
config sal \
	"subscribe_allow = https://[::1]:1/v1/, https://localhost:2/only/this" \
	"acquire_allow = http://127.0.0.1:$CNT/certs/ http://localhost:$CNT/" \
	"acquire_allow = http://127.0.0.1:$REDIR/"
start sal
ok $? "certd sal starts (subscribe_allow and acquire_allow lists)"

# --- 1. Subscribe without subscribe_allow: the SAN default ------------------
is "$(sub san client http://169.254.169.254/latest/meta-data/)" 403 \
	"subscribe http://169.254.169.254/ (link-local metadata): 403"
says '"url not allowed: '
ok $? "... 'url not allowed': $(cat out.json)"
is "$(sub san client "https://[::1]:$(port san)/v1/notify")" 403 \
	"subscribe https://[::1] (loopback; the certificate names 2001:db8:9::1): 403"
says "subjectAltName"
ok $? "... saying the certificate must name the host"
is "$(sub san client https://127.0.0.1:8080/admin)" 403 \
	"subscribe https://127.0.0.1:8080/admin: 403"
is "$(sub san client "https://[::1]:1/v1/paths" paths)" 403 \
	"the paths topic too: 403"
is "$(sub san client "https://[2001:db8:9::1]:8443/v1/notify")" 200 \
	"the client's own address (its certificate names it): 200"
is "$(sub san server "https://[::1]:1/v1/notify")" 200 \
	"server.crt names ::1: it may subscribe https://[::1]:1"
is "$(sub san server "https://localhost:1/v1/notify")" 200 \
	"... and https://localhost:1 (a DNS name of its certificate)"
is "$(sub san server "http://[::1]:1/v1/notify")" 403 \
	"... not http:// (https only by default)"
is "$(sub san server "https://[::1]:1/v1/notify?x=1")" 403 \
	"... nor a URL with a query"
is "$(sub san server "https://u:p@[::1]:1/v1/notify")" 403 \
	"... nor one with a user and password"
is "$(sub san server "https://[::1]:1/v1/%2e%2e/admin")" 403 \
	"... nor an escaped .. in the path"
is "$(sub san server "https://[0:0::1]:1/v1/x/../other")" 200 \
	"a URL written otherwise is subscribed as libcurl writes it again"
says '"url":"https://[::1]:1/v1/other"'
ok $? "... $(cat out.json)"
is "$(unsub san server "https://[::1]:1/v1/other")" 200 \
	"... and unsubscribed under that form"
is "$(metric san subscribe_denied_total)" 8 \
	"subscribe_denied_total counts the 8 refusals"
grep -q "subscribe http://169.254.169.254/latest/meta-data/: refused" san.log
ok $? "the refusal is logged"

# --- 2. Subscribe with subscribe_allow ---------------------------------------
is "$(sub sal client "https://[::1]:1/v1/notify")" 200 \
	"subscribe_allow: a URL under a prefix, whatever the client's SAN"
is "$(sub sal client "https://[::1]:1/v1/../admin")" 403 \
	"... not a path that leaves the prefix with .."
says "subscribe_allow"
ok $? "... saying why: $(cat out.json)"
is "$(sub sal client "https://[::1]:1/v1x")" 403 \
	"... nor a path that only starts with its text"
is "$(sub sal client "https://[::1]:3/v1/notify")" 403 "... nor another port"
is "$(sub sal client "http://[::1]:1/v1/notify")" 403 "... nor another scheme"
is "$(sub sal client "https://127.0.0.1:1/v1/notify")" 403 \
	"... nor another host (127.0.0.1 is not ::1)"
is "$(sub sal client http://169.254.169.254/)" 403 "... nor 169.254.169.254"
is "$(sub sal client "https://localhost:2/only/this")" 200 \
	"the second prefix of the list (comma separated): the path itself"
is "$(sub sal client "https://localhost:2/only/thisx")" 403 \
	"... not a longer name"
is "$(sub sal server "https://[::1]:4/v1/notify")" 403 \
	"with a list, the SAN default no longer applies (server.crt names ::1)"

# --- 2b. What certd sends a subscriber connects where the guard allows ------
# A subscription checked as a URL, then sent to: a name that resolves to
# loopback (its DNS answer changed since, say) gets no connection; a URL
# naming 127.0.0.1 itself does.
config fwd "subscribe_allow = http://localhost:$CNT/v1/, http://127.0.0.1:$CNT/v1/"
start fwd
ok $? "certd fwd starts (subscribe_allow: localhost and 127.0.0.1, http)"
is "$(sub fwd client "http://localhost:$CNT/v1/paths" paths)" 200 \
	"fwd: paths to http://localhost (a name resolving to loopback): subscribed"
is "$(sub fwd client "http://127.0.0.1:$CNT/v1/paths" paths)" 200 \
	"... and to http://127.0.0.1 (the address itself)"
c0=$(conns cnt)
is "$(call fwd client /v1/validate "{\"cert\":\"$(openssl x509 -in a_good.crt -outform DER | base64 -w0)\"}")" \
	200 "a validation of a new path: shared with both subscribers"
wait_until 20 grep -q "POST http://localhost:$CNT/v1/paths: its host resolves to" fwd.log
ok $? "... not to localhost: $(grep -m1 -o 'localhost:[0-9]*/v1/paths: its host resolves to [^ ]*' fwd.log)"
wait_until 20 [ "$(conns cnt)" -ge $((c0 + 1)) ]
ok $? "... but to 127.0.0.1"
sleep 0.5
is "$(conns cnt)" $((c0 + 1)) "... one connection in all"

# --- 3. Acquire without acquire_allow: off -----------------------------------
c0=$(conns cnt)
is "$(acq san "http://127.0.0.1:$CNT/certs/a_good.crt")" 403 \
	"acquire without [network] acquire_allow: 403"
says "acquire is not enabled ([network] acquire_allow)"
ok $? "... saying so: $(cat out.json)"
is "$(conns cnt)" "$c0" "... and nothing was fetched (no connection)"
is "$(metric san acquires_denied_total)" 1 "acquires_denied_total: 1"

# --- 4. Acquire with acquire_allow -------------------------------------------
c0=$(conns cnt)
is "$(acq sal "http://127.0.0.1:$CNT/certs/a_good.crt")" 200 \
	"acquire of a URL under an acquire_allow prefix: 200"
says "BEGIN CERTIFICATE"
ok $? "... with the certificate"
is "$(conns cnt)" $((c0 + 1)) "... fetched over one connection"
is "$(acq sal "http://127.0.0.1:$CNT/certs/a_revoked.crt")" 422 \
	"an allowed URL of a revoked certificate: 422"
c0=$(conns cnt)
is "$(acq sal "http://127.0.0.1:$CNT/other/a_good.crt")" 403 \
	"acquire of a path outside the prefixes: 403"
says '"url not allowed: not under a [network] acquire_allow prefix'
ok $? "... saying why: $(cat out.json)"
is "$(acq sal "http://[::1]:$CNT/certs/a_good.crt")" 403 \
	"acquire of another host (::1, the list names 127.0.0.1): 403"
is "$(acq sal "http://127.0.0.1:$CNT/certs/../other/a_good.crt")" 403 \
	"acquire leaving the prefix with ..: 403"
is "$(acq sal "http://127.0.0.1:$CNT/certs/%2e%2e/other/a_good.crt")" 403 \
	"... or with an escaped ..: 403"
is "$(acq sal http://169.254.169.254/latest/meta-data/)" 403 \
	"acquire of http://169.254.169.254/: 403"
is "$(acq sal "http://localhost:$CNT/a_good.crt")" 403 \
	"a listed name that resolves to a loopback address: 403 at connect time"
says "resolves to"
ok $? "... saying why: $(cat out.json)"
is "$(conns cnt)" "$c0" "none of these refused acquires connected to the listener"
r0=$(conns redir)
is "$(acq sal "http://127.0.0.1:$REDIR/a_good.crt")" 502 \
	"an allowed URL that redirects elsewhere: the redirect is not followed (502)"
is "$(conns redir)/$(conns cnt)" "$((r0 + 1))/$c0" \
	"... one connection to the redirector, none to where it pointed"
is "$(metric sal acquires_denied_total)" 6 "acquires_denied_total: 6"

# --- 4b. A name with a refused address and an allowed one -------------------
# two.test resolves to ::1 first (the guard refuses it) and to 192.0.2.1
# (allowed): libcurl goes on to 192.0.2.1 and fetches, so the answer is
# that fetch's, not 403 "resolves to ::1". In a user, network and mount
# namespace of its own (192.0.2.1 and fd00::1 on its loopback, its own
# /etc/hosts), so fixed ports; skipped where none can be made.
config two "acquire_allow = http://two.test:8080/"
cat >ns.sh <<'SH'
certd=$1
ip link set lo up && ip addr add 192.0.2.1/32 dev lo &&
	ip addr add fd00::1/128 dev lo || exit 3
printf '::1 two.test\n192.0.2.1 two.test\n' >ns.hosts
mount --bind ns.hosts /etc/hosts || exit 3
getent ahosts two.test | sed -n '1s/ .*//p' >ns.first
python3 -m http.server --bind 192.0.2.1 --directory pub 8080 \
	>/dev/null 2>ns.http &
h=$!
"$certd" --foreground -v --config two.conf --port-file two.port 2>>two.log &
c=$!
t=0
until [ -s two.port ] && curl -s -o /dev/null http://192.0.2.1:8080/; do
	[ $t -lt 300 ] || break
	sleep 0.1
	t=$((t + 1))
done
curl -s --max-time 20 --cacert tlsca.crt --cert client.crt --key client.key \
	-d '{"url":"http://two.test:8080/certs/a_good.crt"}' -o two.json \
	-w '%{http_code}' "https://[::1]:$(sed -n 1p two.port)/v1/acquire" >two.code
kill $c $h
wait $c
SH
if unshare -rnm true 2>/dev/null && command -v ip >/dev/null; then
	unshare -rnm sh ns.sh "$certd"
	is "$?/$(cat ns.first 2>/dev/null)" 0/::1 \
		"in namespaces of its own, two.test resolves to ::1 first"
	is "$(cat two.code 2>/dev/null)" 200 \
		"acquire of a name resolving to ::1 (refused) and 192.0.2.1: 200"
	grep -q "BEGIN CERTIFICATE" two.json
	ok $? "... with the certificate, not the refusal of ::1: $(head -c 80 two.json)"
	is "$(grep -c 'GET /certs/a_good.crt' ns.http)" 1 "... fetched from 192.0.2.1"
	! grep -q Sanitizer two.log
	ok $? "no sanitizer report from two"
else
	for _ in 1 2 3 4 5; do
		n=$((n + 1))
		echo "ok $n # SKIP no user, network and mount namespace"
	done
fi

# --- 5. The configuration ----------------------------------------------------
config bad1 "acquire_allow = ftp://127.0.0.1/"
"$certd" --check-config --config bad1.conf >bad1.out 2>&1
is "$?" 1 "--check-config: acquire_allow = ftp://...: refused"
grep -q 'acquire_allow: invalid value' bad1.out
ok $? "... an invalid value: $(head -1 bad1.out)"
config bad2 "subscribe_allow = https://[::1]:1/ https://h/?q"
"$certd" --check-config --config bad2.conf >bad2.out 2>&1
is "$?" 1 "--check-config: a subscribe_allow prefix with a query: refused"
config bad3 "subscribe_allow = , "
"$certd" --check-config --config bad3.conf >bad3.out 2>&1
is "$?" 1 "--check-config: an empty subscribe_allow: refused"

for f in san sal fwd; do
	! grep -q 'Sanitizer' "$f.log"
	ok $? "no sanitizer report from $f"
done

cleanup
pids=""
echo "1..$n"
[ $failed -eq 0 ]
