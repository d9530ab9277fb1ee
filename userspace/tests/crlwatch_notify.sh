#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guise-crlwatch's output side on loopback, TAP output. Run by
# crlwatch_notify (the C driver), or by hand:
#   crlwatch_notify.sh DIR CRLWATCH
# DIR is an empty scratch directory, CRLWATCH the program. Subscribers
# and CRL servers are small python3 servers (sub.py, crlsrv.py below)
# that answer as told and log what they got.
#
#  1. delivery: a subscriber answering 503, 503 then 200 gets the CRL;
#     one answering 429 (Retry-After) too;
#  2. a subscriber that is down keeps only the newest CRL of an issuer
#     pending, and gets it without --serials (its list would be the
#     difference to a CRL it never got), while the others get exact lists;
#  3. --save: one file per issuer, full or delta, and number;
#  4. --state: a CRL published while crlwatch was down is notified at
#     start, one notified before is not again, and the mark does not pass
#     a CRL a subscriber has not acknowledged;
#  5. subscriptions: the default (https, the client's own SAN host),
#     --subscribe-allow prefixes, --subscribe-limit (429), holder
#     identities that a one-line form would confuse; a --to destination
#     subscribed or unsubscribed by a client: no change, no hold counted;
#     --state keeps the subscriptions and their holders across restarts
#     (checked again against --subscribe-allow; a damaged file is logged);
#     an API subscriber's requests connect to no loopback address its URL
#     does not name (a host name resolving there);
#  6. --url: conditional GETs (304), the fetch off the event loop,
#     redirects not followed (the target never asked), a body over the
#     64 MiB cap refused, --url-ca, failures logged once;
#  7. a subscriber that accepts connections and never answers holds up
#     neither the others, nor the subscription API, nor shutdown: the
#     POSTs and pre-warms run on the event loop;
#  8. a URL is subscribed, matched and unsubscribed in one form: two
#     spellings of it are one subscription (--to too).
set -u

dir=${1:?usage: crlwatch_notify.sh DIR CRLWATCH}
crlwatch=${2:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cd "$dir" || exit 1
echo "TAP version 13"


# --- A PKI: CRL issuers (openssl ca -gencrl), the TLS CA and leaves ------
cat >ca.cnf <<'CNF'
[ca]
default_ca = c
[c]
dir = $ENV::CADIR
database = $dir/index.txt
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 7
[crl_ext]
authorityKeyIdentifier = keyid
[delta_ext]
authorityKeyIdentifier = keyid
2.5.29.27 = critical, DER:02:01:01
CNF
mkca() { # NAME
	mkdir -p "$1.d"
	: >"$1.d/index.txt"
	echo 01 >"$1.d/crlnumber"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.crt" -subj "/CN=guise test $1" \
		-days 2 -addext basicConstraints=critical,CA:TRUE \
		-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
}
revoke() { # CA SERIAL (hex)
	printf 'R\t301231235959Z\t250101000000Z\t%s\tunknown\t/CN=leaf %s\n' \
		"$2" "$2" >>"$1.d/index.txt"
}
gencrl() { # CA OUT [EXTS]: the next CRL of CA, renamed into OUT
	CADIR=$1.d openssl ca -batch -config ca.cnf -gencrl -cert "$1.crt" \
		-keyfile "$1.key" -crlexts "${3:-crl_ext}" -out "$2.tmp" \
		2>/dev/null && mv "$2.tmp" "$2"
}
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout tlsca.key -out tlsca.crt -days 2 -subj "/CN=guise test tlsca" \
	-addext basicConstraints=critical,CA:TRUE \
	-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
tls_leaf() { # NAME SUBJECT EXTENSIONS
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "$2" 2>/dev/null
	printf '%s\n' "$3" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA tlsca.crt -CAkey tlsca.key \
		-set_serial "0x$(openssl rand -hex 8)" -days 2 \
		-extfile "$1.ext" -out "$1.crt" 2>/dev/null
}
tls_leaf server /CN=server "subjectAltName=IP:::1,IP:127.0.0.1,DNS:localhost
extendedKeyUsage=serverAuth,clientAuth"
tls_leaf client /CN=client "subjectAltName=IP:2001:db8:9::1
extendedKeyUsage=clientAuth"
# Two subjects that differ only after their first 255 characters (the
# one-line form an identity was once cut to): the same O and OUs, 64
# characters each, then CN=one or CN=two.
long=$(printf '%064d' 0 | tr 0 o)
long="/O=$long/OU=$long/OU=$long/OU=$long"
tls_leaf c1 "$long/CN=one" "subjectAltName=IP:2001:db8:9::2
extendedKeyUsage=clientAuth"
tls_leaf c2 "$long/CN=two" "subjectAltName=IP:2001:db8:9::2
extendedKeyUsage=clientAuth"
for c in caA caB caC caD caE caF caG caH; do
	mkca $c
done
[ -s c2.crt ] && [ -s caH.crt ] || {
	echo "Bail out! cannot make the test PKI"
	exit 1
}
TLS="--cert client.crt --key client.key --ca tlsca.crt"

# --- Fake subscribers -----------------------------------------------------
# sub.py NAME [PORT]: HTTPS with client certificates on [::1]; NAME.port.
# POST: answered as NAME.mode says ("ok"; "fail N": 503 to the next N;
# "429 N": 429 with Retry-After: 1 to the next N), the body kept as
# NAME.K.cms, "K CODE FILE" appended to NAME.posts.
cat >sub.py <<'PY'
import http.server, os, socket, ssl, sys, threading
d, name = sys.argv[1], sys.argv[2]
port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
lock = threading.Lock()
count = [0]
posts = os.path.join(d, name + ".posts")
if os.path.exists(posts):
    count[0] = sum(1 for _ in open(posts))
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def reply(self, code, hdrs=()):
        body = b"{}"
        self.send_response(code)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        self.reply(200)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            mf = os.path.join(d, name + ".mode")
            mode = open(mf).read().split() if os.path.exists(mf) else []
            mode = mode or ["ok"]
            code = 200
            if mode[0] in ("fail", "429") and int(mode[1]) > 0:
                code = 503 if mode[0] == "fail" else 429
                open(mf + ".tmp", "w").write("%s %d\n" % (mode[0], int(mode[1]) - 1))
                os.rename(mf + ".tmp", mf)
            count[0] += 1
            f = "%s.%d.cms" % (name, count[0])
            open(os.path.join(d, f), "wb").write(body)
            with open(posts, "a") as out:
                out.write("%d %d %s\n" % (count[0], code, f))
        self.reply(code, [("Retry-After", "1")] if code == 429 else ())
class S(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6
    allow_reuse_address = True
    daemon_threads = True
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
ctx.load_verify_locations(os.path.join(d, "tlsca.crt"))
ctx.verify_mode = ssl.CERT_REQUIRED
s = S(("::1", port), H)
s.socket = ctx.wrap_socket(s.socket, server_side=True)
p = os.path.join(d, name + ".port")
open(p + ".tmp", "w").write(str(s.server_address[1]))
os.rename(p + ".tmp", p)
s.serve_forever()
PY
start_sub() { # NAME [PORT]: its port in NAME.port, its pid in SUBPID
	rm -f "$1.port"
	python3 sub.py "$dir" "$@" 2>>"$1.err" &
	SUBPID=$!
	pids="$pids $SUBPID"
	wait_file "$1.port"
}
lines() { # PATTERN FILE: how many lines of FILE match (0 if no FILE)
	local c
	c=$(grep -c -- "$1" "$2" 2>/dev/null)
	echo "${c:-0}"
}
posts() { # NAME CODE: how many POSTs NAME answered CODE
	lines " $2 " "$1.posts"
}
note() { # FILE: the JSON inside a notification
	openssl cms -verify -noverify -inform DER -in "$1" -binary 2>/dev/null
}
last_ok() { # NAME: the JSON of the last notification NAME answered 200
	note "$(grep ' 200 ' "$1.posts" | tail -1 | cut -d' ' -f3)"
}
count_is() { [ "$(posts "$1" "$2")" -ge "$3" ]; }

start_sub s1
S1=$(cat s1.port)
start_sub s2
S2=$(cat s2.port)

# --issuer for a crlwatch command line: each test CA signs its own CRLs
# and the notifications (-s/--sign-cert), so it is the issuer.
issuer_of() {
	local a prev=
	for a in "$@"; do
		case $prev in -s | --sign-cert) echo "--issuer $a" ;; esac
		prev=$a
	done
}

# Start crlwatch NAME -v (stderr to NAME.log, pid in WPID) with ARGS;
# waits for its "watching" line (30 s).
start_watch() { # NAME ARGS...
	local name=$1 n0 t=0
	shift
	n0=$(lines watching "$name.log")
	# shellcheck disable=SC2046 # one word each
	"$crlwatch" $(issuer_of "$@") -v "$@" 2>>"$name.log" &
	WPID=$!
	pids="$pids $WPID"
	while [ "$(lines watching "$name.log")" -le "$n0" ] &&
		kill -0 "$WPID" 2>/dev/null && [ $t -lt 300 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	[ "$(lines watching "$name.log")" -gt "$n0" ]
}
stop() { # PID
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# --- 1. A failed notification is re-sent until acknowledged ---------------
mkdir pubA
gencrl caA pubA/caA.crl
echo "fail 2" >s1.mode
start_watch w1 --dir pubA -s caA.crt -k caA.key --to "https://[::1]:$S1/v1/notify" $TLS --no-prewarm \
	--interval 0.5
ok $? "crlwatch started (a CRL present at start: not notified)"
W1=$WPID
gencrl caA pubA/caA.crl
wait_until 20 count_is s1 200 1
ok $? "a subscriber answering 503 twice got the new CRL at last"
is "$(posts s1 503)/$(posts s1 200)" 2/1 "... three POSTs: 503, 503, 200"
grep -q "delivered after retrying" w1.log
ok $? "crlwatch logged the delivery after retrying"
grep -q "notified to 0 of 1.*; 1 pending" w1.log
ok $? "... and the pending count when the first POST failed"
echo "429 1" >s1.mode
gencrl caA pubA/caA.crl
wait_until 20 count_is s1 200 2
ok $? "a 429 (Retry-After: 1) is re-sent too"
is "$(posts s1 429)" 1 "... after one 429"
stop "$W1"

# --- 2. Only the newest per issuer pending; a catch-up without serials ----
mkdir pubB
gencrl caB pubB/caB.crl
start_watch w2 --dir pubB -s caB.crt -k caB.key --serials --to "https://[::1]:$S1/v1/notify" \
	--to "https://[::1]:$S2/v1/notify" $TLS --no-prewarm --interval 0.5
W2=$WPID
f0=$(posts s1 503)
ok0=$(posts s1 200)
s2ok=$(posts s2 200)
echo "fail 1000" >s1.mode
revoke caB 0A
gencrl caB pubB/caB.crl # number 02: serial 0A
wait_until 20 count_is s2 200 $((s2ok + 1))
wait_until 20 count_is s1 503 $((f0 + 1))
ok $? "CRL 02: s2 has it, s1 is down"
revoke caB 0B
gencrl caB pubB/caB.crl # number 03: serial 0B
wait_until 20 count_is s2 200 $((s2ok + 2))
ok $? "CRL 03: s2 has it"
last_ok s2 | grep -q '"crl_number":"03".*"revoked":\["0B"\]'
ok $? "... listing the serial new since 02 only: $(last_ok s2 | grep -o '"revoked":[^]]*]')"
note "$(grep ' 200 ' s2.posts | tail -2 | head -1 | cut -d' ' -f3)" |
	grep -q '"crl_number":"02".*"revoked":\["0A"\]'
ok $? "... and 02 listed 0A"
f1=$(posts s1 503)
wait_until 20 count_is s1 503 $((f1 + 1))
echo ok >s1.mode
wait_until 20 count_is s1 200 $((ok0 + 1))
ok $? "s1 up again: it got a notification"
last_ok s1 | grep -q '"crl_number":"03"'
ok $? "... of CRL 03, the newest"
last_ok s1 | grep -q '"revoked"'
is $? 1 "... without a serial list (it missed 02: a list of 03's new serials would leave out 0A)"
sleep 2.5
is "$(posts s1 200)" $((ok0 + 1)) "02, replaced by 03, was never sent to it again"
grep -q "catch-up without --serials" w2.log
ok $? "crlwatch logged the catch-up"
stop "$W2"

# --- 3. --save: one file per issuer, full or delta, and number ------------
mkdir pubC saved
gencrl caC pubC/caC.crl
gencrl caD pubC/caD.crl
echo 01 >caC.d/crlnumber
gencrl caC pubC/caC-delta.crl delta_ext
"$crlwatch" --issuer caC.crt --issuer caD.crt --dir pubC --sign-cert caC.crt --sign-key caC.key --save saved \
	--once 2>>w3.log
ok $? "--once over two issuers' CRLs and a delta, all numbered 01"
is "$(ls saved | grep -c '\.cms$')" 3 "--save kept three notifications: $(ls saved | tr '\n' ' ')"
is "$(ls saved | grep -c -- '-delta-01\.cms$')" 1 "... one of them the delta's"
is "$(ls -a saved | grep -c '\.tmp')" 0 "... no temporary file left"

# --- 4. --state: what was published while crlwatch was down --------------
mkdir pubE
gencrl caE pubE/caE.crl # 01
s2ok=$(posts s2 200)
start_watch w4 --state st --dir pubE --sign-cert caE.crt --sign-key caE.key \
	--to "https://[::1]:$S2/v1/notify" $TLS --no-prewarm --interval 0.5
ok $? "crlwatch --state: first start"
W4=$WPID
stop "$W4"
[ -f st/started ] && [ "$(cat st/*.full)" = 01 ]
ok $? "... left st/started and the issuer's mark 01"
is "$(posts s2 200)" "$s2ok" "... and notified nothing at its first start"
gencrl caE pubE/caE.crl # 02, while crlwatch is down
start_watch w4 --state st --dir pubE --sign-cert caE.crt --sign-key caE.key \
	--to "https://[::1]:$S2/v1/notify" $TLS --no-prewarm --interval 0.5
W4=$WPID
wait_until 10 count_is s2 200 $((s2ok + 1))
ok $? "CRL 02, published while crlwatch was down, notified at start"
last_ok s2 | grep -q '"crl_number":"02"'
ok $? "... its number: 02"
# (written once crlwatch has taken s2's answer, which s2 logs first)
mark_is() { [ "$(cat st/*.full 2>/dev/null)" = "$1" ]; }
wait_until 10 mark_is 02
ok $? "the mark is 02: $(cat st/*.full)"
stop "$W4"
start_watch w4 --state st --dir pubE --sign-cert caE.crt --sign-key caE.key \
	--to "https://[::1]:$S2/v1/notify" $TLS --no-prewarm --interval 0.5
W4=$WPID
grep -q "CRL number 2 notified before (--state): skipped" w4.log
ok $? "restarted again: 02 is not notified twice"
is "$(posts s2 200)" $((s2ok + 1)) "... s2 got nothing more"
stop "$W4"
echo "fail 1000" >s1.mode
start_watch w4 --state st --dir pubE --sign-cert caE.crt --sign-key caE.key \
	--to "https://[::1]:$S1/v1/notify" $TLS --no-prewarm --interval 0.5
W4=$WPID
f0=$(posts s1 503)
gencrl caE pubE/caE.crl # 03: s1 does not take it
wait_until 10 count_is s1 503 $((f0 + 1))
stop "$W4"
is "$(cat st/*.full)" 02 "a CRL a subscriber did not acknowledge does not move the mark (a restart notifies it again)"
echo ok >s1.mode

# --- 5. Subscriptions ---------------------------------------------------------
# sub_api WATCHPORT CERT PATH URL: the HTTP code; the body in sub.json.
sub_api() {
	curl -s --max-time 20 --cacert tlsca.crt --cert "$2.crt" \
		--key "$2.key" -d "{\"url\":\"$4\"}" -o sub.json \
		-w '%{http_code}' "https://[::1]:$1$3"
}
start_watch w5 --dir pubE --sign-cert caE.crt --sign-key caE.key $TLS \
	--listen '[::1]:0' --server-cert server.crt --server-key server.key \
	--server-ca tlsca.crt --port-file w5.port --subscribe-limit 2 \
	--no-prewarm --interval 3600
W5=$WPID
P5=$(cat w5.port)
is "$(sub_api "$P5" client /v1/subscribe "https://[::1]:$S2/v1/notify")" 403 \
	"default: a client may not point crlwatch at a host its certificate does not name (::1 vs 2001:db8:9::1)"
grep -q "subjectAltName" sub.json
ok $? "... saying why: $(cat sub.json)"
is "$(sub_api "$P5" server /v1/subscribe "https://[::1]:$S2/v1/notify")" 200 \
	"a client whose certificate names ::1 may subscribe https://[::1]:..."
is "$(sub_api "$P5" server /v1/subscribe "http://[::1]:$S2/v1/notify")" 403 \
	"... not http:// (https only by default)"
is "$(sub_api "$P5" server /v1/subscribe "https://u:p@[::1]:$S2/v1/notify")" 403 \
	"... nor a URL with a user and password"
is "$(sub_api "$P5" server /v1/subscribe "https://[::1]:$S2/v1/notify?x=1")" 403 \
	"... nor one with a query"
is "$(sub_api "$P5" server /v1/subscribe "https://127.0.0.1:1/v1/notify")" 200 \
	"a second URL, on its other address"
is "$(sub_api "$P5" server /v1/subscribe "https://localhost:1/v1/notify")" 429 \
	"a third: 429 (--subscribe-limit 2)"
grep -q '"limit":2' sub.json
ok $? "... saying the limit: $(cat sub.json)"
is "$(sub_api "$P5" server /v1/subscribe "https://[::1]:$S2/v1/notify")" 200 \
	"subscribing one it holds again: 200 (no new hold)"
is "$(sub_api "$P5" server /v1/unsubscribe "https://127.0.0.1:1/v1/notify")" 200 \
	"it lets go of one"
is "$(sub_api "$P5" server /v1/subscribe "https://localhost:1/v1/notify")" 200 \
	"... and may subscribe another (DNS name of its certificate)"
stop "$W5"
start_watch w6 --dir pubE --sign-cert caE.crt --sign-key caE.key $TLS \
	--listen '[::1]:0' --server-cert server.crt --server-key server.key \
	--server-ca tlsca.crt --port-file w6.port --no-prewarm --interval 3600 \
	--subscribe-allow "https://[::1]:$S2/v1/" \
	--subscribe-allow "https://localhost:$S1/only/this"
W6=$WPID
P6=$(cat w6.port)
is "$(sub_api "$P6" client /v1/subscribe "https://[::1]:$S2/v1/notify")" 200 \
	"--subscribe-allow: a URL under a prefix, whatever the client's SAN"
is "$(sub_api "$P6" client /v1/subscribe "https://[0:0::1]:$S2/v1/other")" 200 \
	"... the same IPv6 address written otherwise"
is "$(sub_api "$P6" client /v1/subscribe "https://[::1]:$S2/v1/../admin")" 403 \
	"... not a path that leaves the prefix with .."
is "$(sub_api "$P6" client /v1/subscribe "https://[::1]:$S2/v1/%2e%2e/admin")" 403 \
	"... nor with an escaped .."
is "$(sub_api "$P6" client /v1/subscribe "https://[::1]:$S2/v1x")" 403 \
	"... nor a path that only starts with its text"
is "$(sub_api "$P6" client /v1/subscribe "https://[::1]:1/v1/notify")" 403 \
	"... nor another port"
is "$(sub_api "$P6" client /v1/subscribe "http://[::1]:$S2/v1/notify")" 403 \
	"... nor another scheme"
is "$(sub_api "$P6" client /v1/subscribe "https://127.0.0.1:$S2/v1/notify")" 403 \
	"... nor another host"
is "$(sub_api "$P6" client /v1/subscribe "https://localhost:$S1/only/this")" 200 \
	"a prefix without a trailing slash: the path itself"
is "$(sub_api "$P6" client /v1/subscribe "https://localhost:$S1/only/this/x")" 200 \
	"... or below it"
is "$(sub_api "$P6" client /v1/subscribe "https://localhost:$S1/only/thisx")" 403 \
	"... not a longer name"
is "$(sub_api "$P6" c1 /v1/subscribe "https://[::1]:$S2/v1/c1")" 200 \
	"c1 (a long subject, CN=one last) subscribes"
is "$(sub_api "$P6" c2 /v1/unsubscribe "https://[::1]:$S2/v1/c1")" 403 \
	"c2 (the same but CN=two, past the 255th character) cannot unsubscribe it"
is "$(sub_api "$P6" c1 /v1/unsubscribe "https://[::1]:$S2/v1/c1")" 200 \
	"c1 can"
stop "$W6"
# A --to destination: a client's subscribe of it is no hold (none of its
# --subscribe-limit), its unsubscribe no change (200), and it stays.
start_watch w6b --dir pubE --sign-cert caE.crt --sign-key caE.key $TLS \
	--to "https://[::1]:$S1/v1/notify" --listen '[::1]:0' \
	--server-cert server.crt --server-key server.key --server-ca tlsca.crt \
	--port-file w6b.port --subscribe-limit 2 --no-prewarm --interval 0.2
W6B=$WPID
P6B=$(cat w6b.port)
is "$(sub_api "$P6B" server /v1/subscribe "https://127.0.0.1:1/v1/notify")" 200 \
	"--subscribe-limit 2: a client subscribes one URL"
is "$(sub_api "$P6B" server /v1/subscribe "https://[::1]:$S1/v1/notify")" 200 \
	"... and a --to destination: 200"
is "$(sub_api "$P6B" server /v1/subscribe "https://localhost:1/v1/notify")" 200 \
	"... which took none of its limit: a second URL of its own still fits"
is "$(sub_api "$P6B" server /v1/subscribe "https://[::1]:$S1/v1/notify")" 200 \
	"... at its limit now, the --to destination again: 200, not 429"
is "$(sub_api "$P6B" server /v1/unsubscribe "https://[::1]:$S1/v1/notify")" 200 \
	"its unsubscribe of the --to destination: 200, no change"
grep -q '"subscribed":false' sub.json
ok $? "... $(cat sub.json)"
ok0=$(posts s1 200)
gencrl caE pubE/caE.crl
wait_until 20 count_is s1 200 $((ok0 + 1))
ok $? "the --to destination still gets the next CRL"
stop "$W6B"
"$crlwatch" --issuer caE.crt --dir pubE -s caE.crt -k caE.key --subscribe-allow \
	"https://[::1]:1/?q" 2>/dev/null
is $? 2 "--subscribe-allow with a query: refused at start"

# --state keeps what was subscribed over --listen, with its holders.
w7() { # NAME [ARGS...]: crlwatch with --state st7 and the API
	local name=$1
	shift
	start_watch "$name" --state st7 --dir pubE --sign-cert caE.crt \
		--sign-key caE.key $TLS --listen '[::1]:0' \
		--server-cert server.crt --server-key server.key \
		--server-ca tlsca.crt --port-file w7.port --no-prewarm \
		--interval 0.2 "$@"
	W7=$WPID
	P7=$(cat w7.port)
}
ALLOW7="--subscribe-allow https://[::1]:$S2/v1/"
# shellcheck disable=SC2086 # ALLOW7: two words
w7 w7a $ALLOW7
is "$(sub_api "$P7" server /v1/subscribe "https://[::1]:$S2/v1/notify")" 200 \
	"--state: server subscribes s2"
is "$(sub_api "$P7" c1 /v1/subscribe "https://[::1]:$S2/v1/notify")" 200 \
	"... and c1 the same URL (two holders)"
is "$(sub_api "$P7" c1 /v1/subscribe "https://[::1]:$S2/v1/gone")" 200 \
	"c1 subscribes another URL"
is "$(sub_api "$P7" c1 /v1/unsubscribe "https://[::1]:$S2/v1/gone")" 200 \
	"... and unsubscribes it"
grep -q '"holders"' st7/subscriptions.json && ! grep -q gone st7/subscriptions.json
ok $? "st7/subscriptions.json holds the subscription, not the one let go"
stop "$W7"
# shellcheck disable=SC2086
w7 w7b $ALLOW7
grep -q "2 subscription hold(s) restored" w7b.log
ok $? "restarted: both holds restored"
ok0=$(posts s2 200)
gencrl caE pubE/caE.crl
wait_until 20 count_is s2 200 $((ok0 + 1))
ok $? "... and s2 gets the next CRL without subscribing again"
is "$(sub_api "$P7" c2 /v1/unsubscribe "https://[::1]:$S2/v1/notify")" 403 \
	"a restored subscription: c2 cannot unsubscribe it"
is "$(sub_api "$P7" c1 /v1/unsubscribe "https://[::1]:$S2/v1/notify")" 200 \
	"... c1 lets go of its hold"
is "$(sub_api "$P7" server /v1/unsubscribe "https://[::1]:$S2/v1/notify")" 200 \
	"... and server of its: the subscription ends"
stop "$W7"
# shellcheck disable=SC2086
w7 w7c $ALLOW7
ok0=$(posts s2 200)
gencrl caE pubE/caE.crl
sleep 1.5
is "$(posts s2 200)" "$ok0" "restarted after both let go: s2 gets nothing"
is "$(sub_api "$P7" server /v1/subscribe "https://[::1]:$S2/v1/notify")" 200 \
	"server subscribes s2 again"
stop "$W7"
w7 w7d --subscribe-allow "https://[::1]:$S2/other/"
grep -q "no longer subscribed: the URL is not under a --subscribe-allow" w7d.log
ok $? "restarted with another --subscribe-allow: the URL it no longer allows is dropped, said"
stop "$W7"
echo '{"version": 1, "subscriptions": [' >st7/subscriptions.json
w7 w7e
ok $? "a subscriptions file cut short: crlwatch still starts"
grep -q "subscriptions.json: cannot read" w7e.log
ok $? "... saying it cannot read it"
stop "$W7"
H7=sha256:$(printf 'a%.0s' $(seq 64))
printf '{"version": 1, "subscriptions": [%s, %s, %s]}' \
	"{\"url\": \"https://[::1]:$S2/v1/n?q=1\", \"holders\": [\"$H7\"]}" \
	"{\"url\": \"http://[::1]:$S2/v1/n\", \"holders\": [\"$H7\"]}" \
	"{\"url\": \"https://[::1]:$S2/v1/n\", \"holders\": [\"$H7\"]}" \
	>st7/subscriptions.json
w7 w7f
is "$(lines 'no longer subscribed' w7f.log)/$(lines '1 subscription hold(s) restored' w7f.log)" 2/1 \
	"a file edited by hand: a URL with a query and an http:// one (no --subscribe-allow) are dropped, the https:// one restored"
stop "$W7"
# An API subscriber is connected to no loopback (link-local ...) address
# unless its URL names that address: a name that resolves there (a DNS
# answer changed after the subscribe) gets no POST.
# The --to destination on the same host and port is the operator's and
# unchecked: its connection, in libcurl's shared pool, must not carry
# the API subscriber's requests past the check (it did, from a re-send on).
start_watch w8 --dir pubE --sign-cert caE.crt --sign-key caE.key $TLS \
	--listen '[::1]:0' --server-cert server.crt --server-key server.key \
	--server-ca tlsca.crt --port-file w8.port --interval 0.2 \
	--to "https://localhost:$S2/v1/to" \
	--subscribe-allow "https://localhost:$S2/v1/" \
	--subscribe-allow "https://[::1]:$S2/v1/"
W8=$WPID
P8=$(cat w8.port)
is "$(sub_api "$P8" c1 /v1/subscribe "https://localhost:$S2/v1/notify")" 200 \
	"an allowed URL whose host name resolves to loopback: subscribed"
ok0=$(posts s2 200)
gencrl caE pubE/caE.crl
wait_until 20 grep -q "POST https://localhost:$S2/v1/notify: its host resolves to" w8.log
ok $? "... but not POSTed to: $(grep -m1 -o 'POST https://localhost[^;]*' w8.log)"
wait_until 20 count_is s2 200 $((ok0 + 1))
ok $? "the --to destination on that host and port gets its POST"
sleep 4 # the subscriber's re-sends (about 1 and 2 s), over the --to's connection
is "$(posts s2 200)" $((ok0 + 1)) "... and s2 nothing more: not the subscriber's re-sends either"
is "$(lines "POST https://localhost:$S2/v1/notify: CRL number .* delivered" w8.log)" 0 \
	"... which crlwatch does not report delivered"
grep -q "pre-warm https://localhost:$S2/v1/notify: its host resolves to" w8.log
ok $? "... nor a pre-warm connection"
is "$(sub_api "$P8" c1 /v1/subscribe "https://[::1]:$S2/v1/notify")" 200 \
	"the URL that names ::1 itself: subscribed"
gencrl caE pubE/caE.crl
wait_until 20 count_is s2 200 $((ok0 + 3))
ok $? "... and POSTed to (with the --to's)"
stop "$W8"

# --- 6. --url ---------------------------------------------------------------
# crlsrv.py NAME [tls]: serves NAME.crl at /crl on 127.0.0.1 with an ETag
# (304 to If-None-Match), /redir: 302 to what NAME.location says (default
# /crl), /big: 65 MiB of zeros; while NAME.hang exists, answers after
# 20 s. "PATH IF-NONE-MATCH CODE" appended to NAME.req.
cat >crlsrv.py <<'PY'
import hashlib, http.server, os, ssl, sys, time
d, name = sys.argv[1], sys.argv[2]
log = os.path.join(d, name + ".req")
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if os.path.exists(os.path.join(d, name + ".hang")):
            with open(log, "a") as out:
                out.write("%s hang -\n" % self.path)
            time.sleep(20)
        inm = self.headers.get("If-None-Match", "-")
        hdrs = []
        loc = os.path.join(d, name + ".location")
        if self.path == "/redir":
            code, body = 302, b""
            hdrs.append(("Location", open(loc).read().strip()
                         if os.path.exists(loc) else "/crl"))
        elif self.path == "/big":
            code, body = 200, bytes(65 << 20)
        else:
            body = open(os.path.join(d, name + ".crl"), "rb").read()
            etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
            hdrs.append(("ETag", etag))
            code = 304 if inm == etag else 200
            if code == 304:
                body = b""
        with open(log, "a") as out:
            out.write("%s %s %d\n" % (self.path, inm, code))
        self.send_response(code)
        for k, v in hdrs:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
if len(sys.argv) > 3:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
    s.socket = ctx.wrap_socket(s.socket, server_side=True)
p = os.path.join(d, name + ".port")
open(p + ".tmp", "w").write(str(s.server_address[1]))
os.rename(p + ".tmp", p)
s.serve_forever()
PY
gencrl caF cs.crl
python3 crlsrv.py "$dir" cs 2>>cs.err &
pids="$pids $!"
python3 crlsrv.py "$dir" cst tls 2>>cst.err &
pids="$pids $!"
python3 crlsrv.py "$dir" ct 2>>ct.err &
pids="$pids $!"
cp cs.crl cst.crl
cp cs.crl ct.crl
wait_file cs.port && wait_file cst.port && wait_file ct.port
CS=$(cat cs.port)
CST=$(cat cst.port)
CT=$(cat ct.port)
s2ok=$(posts s2 200)
start_watch w7 --url "http://127.0.0.1:$CS/crl" --sign-cert caF.crt \
	--sign-key caF.key --to "https://[::1]:$S2/v1/notify" $TLS \
	--listen '[::1]:0' --server-cert server.crt --server-key server.key \
	--server-ca tlsca.crt --port-file w7.port --no-prewarm --interval 0.2
W7=$WPID
P7=$(cat w7.port)
wait_until 10 sh -c '[ "$(grep -c " 304$" cs.req)" -ge 3 ]' 2>/dev/null
ok $? "conditional GET: the CRL server answers the polls 304"
gencrl caF cs.crl
wait_until 10 count_is s2 200 $((s2ok + 1))
ok $? "a new CRL at the URL is notified"
last_ok s2 | grep -q '"crl_number":"02"'
ok $? "... its number 02"
touch cs.hang
wait_until 10 grep -q hang cs.req
t0=$(now_ms)
code=$(sub_api "$P7" server /v1/subscribe "https://[::1]:$S1/v1/notify")
t1=$(now_ms)
is "$code" 200 "while the CRL server hangs, the subscription API answers"
[ $((t1 - t0)) -lt 3000 ]
ok $? "... at once ($((t1 - t0)) ms: the fetch runs off the event loop)"
rm -f cs.hang
t0=$(now_ms)
stop "$W7"
t1=$(now_ms)
[ $((t1 - t0)) -lt 5000 ]
ok $? "SIGTERM with a fetch under way: exit at once ($((t1 - t0)) ms)"
mkdir saved8
echo "http://127.0.0.1:$CT/crl" >cs.location
"$crlwatch" --issuer caF.crt --url "http://127.0.0.1:$CS/redir" -s caF.crt -k caF.key \
	--save saved8 --once 2>>w8.log
is $? 1 "--url answered by a redirect to another server: --once fails"
ls saved8/*.cms >/dev/null 2>&1
is $? 2 "... nothing notified"
is "$(lines . ct.req)" 0 "... the redirect's target was never asked"
grep -q "HTTP 302, a redirect to http://127.0.0.1:$CT/crl: not followed" w8.log
ok $? "... the refusal logged: $(grep -o 'HTTP 302.*followed' w8.log | head -1)"
"$crlwatch" --issuer caF.crt --url "http://127.0.0.1:$CS/big" -s caF.crt -k caF.key \
	--once 2>>w8b.log
is $? 1 "--url with a 65 MiB body: --once fails"
grep -q "Maximum file size exceeded" w8b.log
ok $? "... refused by the 64 MiB cap of a CRL file: $(grep -o 'Maximum.*' w8b.log | head -1)"
mkdir saved9 saved10
"$crlwatch" --issuer caF.crt --url "https://127.0.0.1:$CST/crl" -s caF.crt -k caF.key \
	$TLS --url-ca tlsca.crt --save saved9 --once 2>>w9.log
ls saved9/*.cms >/dev/null 2>&1
ok $? "--url-ca: an https CRL server verified against it"
"$crlwatch" --issuer caF.crt --url "https://127.0.0.1:$CST/crl" -s caF.crt -k caF.key \
	$TLS --save saved10 --once 2>>w10.log
ls saved10/*.cms >/dev/null 2>&1
is $? 2 "without it, the system's store, not --ca (the subscribers' CA): not fetched"
grep -q "certificate" w10.log
ok $? "... and logged: $(grep -o 'SSL.*' w10.log | head -1)"
start_watch w11 --url "http://127.0.0.1:1/crl" -s caF.crt -k caF.key \
	--interval 0.05
W11=$WPID
sleep 1.5
stop "$W11"
is "$(lines '--url http://127.0.0.1:1/crl' w11.log)" 1 \
	"a CRL server that is down: logged once, not every 50 ms"

# --- 7. A subscriber that accepts connections and never answers ----------
# hole.py NAME: a TCP listener on [::1] that nobody accepts from: the
# kernel completes the connections, nothing reads them (a server hung in
# its TLS handshake). Its port in NAME.port.
cat >hole.py <<'PY'
import os, socket, sys, time
d, name = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0))
s.listen(64)
p = os.path.join(d, name + ".port")
open(p + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(p + ".tmp", p)
time.sleep(600)
PY
python3 hole.py "$dir" hole 2>>hole.err &
pids="$pids $!"
wait_file hole.port
HOLE="https://[::1]:$(cat hole.port)/v1/notify"
# The times asserted are the silent subscriber's own timeouts, as crlwatch
# logs them (a POST: 10 s, a pre-warm: 5 s): what must happen first is
# checked before the log says that one expired, not against a clock.
hole_timed_out() { # LOG: a POST to the silent subscriber failed
	grep -qF "POST $HOLE: " "$1"
}
hole_warm_failed() { # LOG
	grep -qF "pre-warm $HOLE: " "$1"
}
mkdir pubG newG
gencrl caG pubG/caG.crl # 01, there at start
s2ok=$(posts s2 200)
start_watch w12 --dir pubG -s caG.crt -k caG.key --to "$HOLE" \
	--to "https://[::1]:$S2/v1/notify" $TLS --no-prewarm --interval 0.5 \
	--listen '[::1]:0' --server-cert server.crt --server-key server.key \
	--server-ca tlsca.crt --port-file w12.port
W12=$WPID
P12=$(cat w12.port)
gencrl caG newG/caG.crl            # 02
gencrl caG newG/caG-delta.crl delta_ext # 03, a delta
t0=$(now_ms)
mv newG/caG.crl newG/caG-delta.crl pubG/
wait_until 30 count_is s2 200 $((s2ok + 2))
ok $? "a full CRL and a delta at once beside a silent subscriber: the other one got both ($(($(now_ms) - t0)) ms)"
hole_timed_out w12.log
is $? 1 "... before the silent one's first POST timed out (10 s): each CRL went to all at once, the scan waited for none"
t0=$(now_ms)
code=$(sub_api "$P12" server /v1/subscribe "https://[::1]:$S1/v1/notify")
t1=$(now_ms)
is "$code" 200 "the subscription API answers while the POSTs to the silent one are under way ($((t1 - t0)) ms)"
hole_timed_out w12.log
is $? 1 "... before they timed out"
wait_until 30 hole_timed_out w12.log
ok $? "the silent subscriber's POSTs time out: logged"
wait_until 5 sh -c '[ "$(grep -c "notified to 1 of 2" w12.log)" -ge 2 ]'
ok $? "... and each CRL's line says 1 of 2, when both POSTs were over"
sleep 2 # a re-send to it (after 0.5 to 1 s) is under way now
t0=$(now_ms)
kill "$W12"
wait "$W12"
rc=$?
t1=$(now_ms)
is "$rc" 0 "SIGTERM while a re-send to the silent one is under way: exit status 0"
[ $((t1 - t0)) -lt 5000 ]
ok $? "... at once ($((t1 - t0)) ms)"

# Pre-warm (the default) of a subscriber that never answers: each
# subscription of it starts a GET of 5 s at most.
start_watch w13 --dir pubG -s caG.crt -k caG.key $TLS --interval 0.5 \
	--listen '[::1]:0' --server-cert server.crt --server-key server.key \
	--server-ca tlsca.crt --port-file w13.port
W13=$WPID
P13=$(cat w13.port)
codes=""
t0=$(now_ms)
for _ in 1 2 3; do
	codes="$codes $(sub_api "$P13" server /v1/subscribe "$HOLE")"
	codes="$codes $(sub_api "$P13" server /v1/unsubscribe "$HOLE")"
done
t1=$(now_ms)
is "$codes" " 200 200 200 200 200 200" "subscribing and unsubscribing the silent one three times ($((t1 - t0)) ms)"
hole_warm_failed w13.log
is $? 1 "... answered before any of its pre-warms timed out (5 s): each given up with the subscription"
is "$(sub_api "$P13" server /v1/subscribe "$HOLE")" 200 "the silent one subscribed again"
is "$(sub_api "$P13" server /v1/subscribe "https://[::1]:$S2/v1/notify")" 200 "... and s2"
s2ok=$(posts s2 200)
gencrl caG pubG/caG.crl # 04
wait_until 20 count_is s2 200 $((s2ok + 1))
ok $? "a CRL: s2 has it"
is "$(sub_api "$P13" server /v1/unsubscribe "$HOLE")" 200 \
	"the silent one unsubscribes while its POST is under way"
wait_until 5 grep -q "notified to 1 of 2" w13.log
ok $? "... which counts as not delivered: 1 of 2"
hole_timed_out w13.log
is $? 1 "... and is given up, not waited for"
t0=$(now_ms)
kill "$W13"
wait "$W13"
rc=$?
t1=$(now_ms)
is "$rc" 0 "SIGTERM: exit status 0 ($((t1 - t0)) ms)"

# --- 8. One subscription per URL, however it is spelled ---------------------
mkdir pubH
gencrl caH pubH/caH.crl # 01
start_watch w14 --dir pubH -s caH.crt -k caH.key $TLS --no-prewarm \
	--interval 0.5 --listen '[::1]:0' --server-cert server.crt \
	--server-key server.key --server-ca tlsca.crt --port-file w14.port \
	--subscribe-limit 3
W14=$WPID
P14=$(cat w14.port)
is "$(sub_api "$P14" server /v1/subscribe "https://[::1]:$S2/v1/notify")" 200 \
	"subscribed https://[::1]:S2/v1/notify"
is "$(sub_api "$P14" server /v1/subscribe "https://[0:0::1]:$S2/v1/x/../notify")" 200 \
	"... and https://[0:0::1]:S2/v1/x/../notify"
grep -qF "\"url\": \"https://[::1]:$S2/v1/notify\"" sub.json ||
	grep -qF "\"url\":\"https://[::1]:$S2/v1/notify\"" sub.json
ok $? "... which is the same URL: $(cat sub.json)"
is "$(sub_api "$P14" server /v1/subscribe "https://LOCALHOST:443/v1/n")" 200 \
	"subscribed https://LOCALHOST:443/v1/n"
is "$(sub_api "$P14" server /v1/subscribe "https://localhost/v1/n")" 200 \
	"... and https://localhost/v1/n: the same (host case, default port)"
is "$(sub_api "$P14" server /v1/subscribe "https://127.0.0.1:1/v1/notify")" 200 \
	"a third URL: the two spellings held one subscription each (--subscribe-limit 3)"
is "$(sub_api "$P14" server /v1/subscribe "https://127.0.0.1:2/v1/notify")" 429 \
	"... a fourth: 429"
s2ok=$(posts s2 200)
gencrl caH pubH/caH.crl # 02
wait_until 20 count_is s2 200 $((s2ok + 1))
sleep 1
is "$(posts s2 200)" $((s2ok + 1)) "a CRL: one POST to the URL subscribed twice"
is "$(sub_api "$P14" server /v1/unsubscribe "https://[::1]:$S2/v1/./notify")" 200 \
	"unsubscribed with another spelling"
is "$(sub_api "$P14" server /v1/unsubscribe "https://[::1]:$S2/v1/notify")" 404 \
	"... then it is gone: 404"
is "$(sub_api "$P14" server /v1/unsubscribe "https://Localhost:443/v1/n")" 200 \
	"https://Localhost:443/v1/n unsubscribes https://localhost/v1/n"
stop "$W14"
mkdir pubH1
cp pubH/caH.crl pubH1/
s2ok=$(posts s2 200)
"$crlwatch" --issuer caH.crt --dir pubH1 -s caH.crt -k caH.key $TLS -v \
	--to "https://[::1]:$S2/v1/notify" --to "https://[0:0:0::1]:$S2/v1/a/../notify" \
	--once 2>>w15.log
is $? 0 "--once with one subscriber given twice (--to, spelled otherwise): delivered"
is "$(posts s2 200)" $((s2ok + 1)) "... once"
grep -q "notified to 1 of 1" w15.log
ok $? "... to 1 of 1 subscriber"

! grep -q Sanitizer w*.log
ok $? "no sanitizer report from crlwatch"

cleanup
pids=""
echo "1..$n"
[ $failed -eq 0 ]
