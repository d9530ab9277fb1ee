#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guise-certd and guise-crlwatch end to end on loopback, TAP output. Run
# by certd_e2e (the C driver), or by hand:
#   certd_e2e.sh DIR CERTD CRLWATCH
# DIR is an empty scratch directory; CERTD and CRLWATCH the programs.
#
# A real PKI (certd_pki.sh: cross-certified roots, intermediates, `openssl
# ca` revocations, a delta CRL); then: validation agrees with `openssl
# verify -crl_check_all -use_deltas` on a corpus, the path cache, `openssl
# ocsp` against the responder, bad input, acquire-by-URL (allowed by
# [network] acquire_allow; subscriptions by subscribe_allow or, for the
# ring, the SAN default), a chain of 10
# certd instances receiving one notification exactly once each (with a
# loop back to the first), the revocation event stream, forged, tampered
# and replayed notifications, subscriptions, path sharing,
# guise-crlwatch pushing what `openssl ca -gencrl` writes, and forwarding
# over connections opened ahead ([network] prewarm) to a peer that
# restarts.
set -u

dir=${1:?usage: certd_e2e.sh DIR CERTD CRLWATCH}
certd=${2:?}
crlwatch=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

cd "$dir"
echo "TAP version 13"
sh "$here/certd_pki.sh" "$dir" || {
	echo "Bail out! cannot make the test PKI"
	exit 1
}
mkdir -p pub saved

# An HTTP server for acquire-by-URL and CRL locations.
python3 -c '
import http.server, os, sys
os.chdir(sys.argv[1])
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2] + ".tmp", "w").write(str(s.server_port))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()' "$dir/pub" "$dir/pub.port" &
pids="$pids $!"

# config NAME [extra lines]: NAME.conf
config() {
	local name=$1 l
	shift
	{
		printf '[server]\nlisten = [::1]:0\nocsp_listen = 127.0.0.1:0\n'
		printf 'cert = %s/server.crt\nkey = %s/server.key\nca = %s/tlsca.crt\n' \
			"$dir" "$dir" "$dir"
		printf '[trust]\nanchors = %s/rootA.crt\nintermediates = %s/chain.pem\n' \
			"$dir" "$dir"
		printf 'crl = %s/crls.pem\ncrl = %s/intA1-delta.crl\n' "$dir" "$dir"
		printf 'notifier = %s/notifier.crt\n' "$dir"
		printf '[ocsp]\nsigner = %s/ocspA.crt %s/ocspA.key\n' "$dir" "$dir"
		printf 'signer = %s/ocspB.crt %s/ocspB.key\n' "$dir" "$dir"
		printf 'signer = %s/ocspA3.crt %s/ocspA3.key\n' "$dir" "$dir"
		printf '[network]\nfetch_timeout = 5\n'
		for l in "$@"; do
			printf '%s\n' "$l"
		done
	} >"$name.conf"
}

start() { # NAME: start certd NAME; sets PORT_NAME and OCSP_NAME
	rm -f "$1.port"
	"$certd" --foreground --config "$1.conf" --port-file "$1.port" \
		2>>"$1.log" &
	pids="$pids $!"
	wait_file "$1.port" || return 1
	eval "PORT_$1=$(sed -n 1p "$1.port")"
	eval "OCSP_$1=$(sed -n 2p "$1.port")"
}

port() { eval "echo \$PORT_$1"; }

api() { # NAME PATH [curl args...]
	local name=$1 path=$2
	shift 2
	curl -s --max-time 20 --cacert tlsca.crt --cert client.crt \
		--key client.key "$@" "https://[::1]:$(port "$name")$path"
}

b64() { openssl x509 -in "$1" -outform DER | base64 -w0; }

validate() { # NAME CERTFILE [PURPOSE]: the status
	local body="{\"cert\":\"$(b64 "$2")\"${3:+,\"purpose\":\"$3\"}}"
	api "$1" /v1/validate -d "$body" |
		sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}

metric() { # NAME METRIC
	api "$1" /v1/metrics | sed -n "s/^guise_certd_$2 //p"
}

# What `openssl verify` says, in certd's words.
verify_status() { # CERTFILE [PURPOSE]
	local out=$(openssl verify -crl_check_all -use_deltas -CAfile rootA.crt \
		-untrusted chain.pem -CRLfile crls.pem \
		-CRLfile intA1-delta.crl ${2:+-purpose $2} "$1" 2>&1)
	case $out in
	*": OK") echo good ;;
	*"certificate revoked"*) echo revoked ;;
	*"unable to get certificate CRL"* | *"CRL has expired"*) echo unknown ;;
	*) echo invalid ;;
	esac
}

# main: a client certificate (client.crt) names 2001:db8:9::1, not ::1,
# where the URLs it subscribes are: they are allowed by
# [network] subscribe_allow (a list; the key repeats). Acquire is off
# unless [network] acquire_allow names where it may fetch: here the local
# HTTP server (section 5).
config main "peer = https://[::1]:PEERPORT/v1/paths" "subscribe_limit = 3" \
	"subscribe_allow = https://[::1]:OTHERPORT/v1/paths" \
	"subscribe_allow = https://[::1]:1/v1/notify, https://[::1]:2/v1/notify https://[::1]:3/v1/notify" \
	"subscribe_allow = https://[::1]:4/v1/notify https://[::1]:5/v1/notify" \
	"acquire_allow = http://127.0.0.1:PUBPORT/"
config peer
out=$("$certd" --check-config --config peer.conf 2>&1)
ok $? "--check-config accepts a usable configuration: $out"
config badcrl
printf '[trust]\ncrl = %s/server.crt\n' "$dir" >>badcrl.conf
"$certd" --check-config --config badcrl.conf >badcrl.out 2>&1
is "$?" 1 "--check-config refuses a CRL file that does not parse"
grep -q "NOT usable" badcrl.out
ok $? "... and says so"

# systemd readiness (Type=notify): READY=1 once serving, STOPPING=1 on
# SIGTERM, through $NOTIFY_SOCKET.
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
open(sys.argv[1] + ".bound", "w").write("1")
s.settimeout(30)
with open(sys.argv[2], "a") as out:
    for _ in range(2):
        out.write(s.recv(4096).decode() + "\n")
        out.flush()' "$dir/notify.sock" "$dir/notify.out" &
pids="$pids $!"
wait_file notify.sock.bound
NOTIFY_SOCKET=$dir/notify.sock "$certd" --foreground --config peer.conf \
	2>>notify.log &
npid=$!
wait_count notify.out '^READY=1' 1
ok $? "READY=1 to systemd once serving"
kill -TERM $npid
wait_count notify.out '^STOPPING=1' 1
ok $? "STOPPING=1 to systemd on SIGTERM"
wait $npid
is "$?" 0 "exit 0 after SIGTERM"
start peer
# A server whose certificate names other.example, not ::1 (section 2b).
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	-keyout othername.key -out othername.csr -subj "/CN=othername" \
	2>/dev/null
printf 'subjectAltName=DNS:other.example\nextendedKeyUsage=serverAuth\n' \
	>othername.ext
openssl x509 -req -in othername.csr -CA tlsca.crt -CAkey tlsca.key \
	-CAcreateserial -days 2 -extfile othername.ext -out othername.crt \
	2>/dev/null
config other
sed -i "s|$dir/server.crt|$dir/othername.crt|; s|$dir/server.key|$dir/othername.key|" \
	other.conf
start other
wait_file pub.port
sed -i "s/PEERPORT/$PORT_peer/; s/OTHERPORT/$PORT_other/; s/PUBPORT/$(cat pub.port)/" \
	main.conf
start main
ok $? "guise-certd starts (API $PORT_main, OCSP $OCSP_main)"

# 1. The corpus against openssl verify.
for c in a_good a_revoked a_delta a_expired a_server c_leaf u_leaf b_good \
	b_revoked s_leaf x_leaf; do
	want=$(verify_status $c.crt)
	is "$(validate main $c.crt)" "$want" "validate $c: $want, as openssl verify"
done
for c in a_good a_server; do
	want=$(verify_status $c.crt sslclient)
	is "$(validate main $c.crt sslclient)" "$want" \
		"validate $c for sslclient: $want, as openssl verify"
done
api main /v1/validate -d "{\"cert\":\"$(b64 b_good.crt)\"}" >b_good.json
grep -q '"subject":"/CN=guise test rootB","issuer":"/CN=guise test rootA"' \
	b_good.json
ok $? "b_good's path crosses to rootA through the cross-certificate"
grep -q '"cached":true' b_good.json
ok $? "a second validation comes from the path cache"
api main /v1/validate -d "{\"cert\":\"$(b64 b_good.crt)\",\"at\":$(($(date +%s) - 86400 * 365 * 10))}" |
	grep -q '"status":"invalid","reason":"certificate is not yet valid"'
ok $? "validation at a time before the certificate: not yet valid"

# 2. Path sharing: main's new paths reach the peer, which caches them.
shared=$(metric main paths_shared_total)
i=0
while [ "$(metric peer paths_received_total)" != "$shared" ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
[ "$shared" -ge 2 ]
ok $? "main shared its $shared new paths with its peer"
is "$(metric peer paths_received_total)" "$shared" "the peer received and cached all of them"
api peer /v1/validate -d "{\"cert\":\"$(b64 b_good.crt)\"}" | grep -q '"cached":true'
ok $? "the peer answers b_good from the shared path"
is "$(metric peer paths_shared_total)" 0 "the peer does not share received paths again"

# 2b. Outgoing TLS: a POST to a destination seen before resumes its
# session; a destination whose certificate does not name the URL's host
# is refused (the server certificate is checked, not only its CA).
newleaf() { # NAME: a fresh certificate of intB1, so a new path
	openssl req -new -key b_good.key -subj "/CN=$1" -out "$1.csr" \
		2>/dev/null
	CADIR=intB1.d openssl ca -batch -config ca.cnf -in "$1.csr" \
		-out "$1.crt" -extfile b_good.ext -notext 2>/dev/null
}
wait_metric() { # NAME METRIC VALUE
	local i=0
	while [ "$(metric "$1" "$2")" != "$3" ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}
wait_metric main posts_sent_total "$shared"
sent0=$(metric main posts_sent_total)
res0=$(($(metric main posts_resumed_total) + $(metric main posts_reused_total)))
newleaf resume1
is "$(validate main resume1.crt)" good "a new certificate: a new path"
wait_metric main posts_sent_total $((sent0 + 1))
is "$(metric main posts_sent_total)" $((sent0 + 1)) "its path was posted to the peer"
# Over the connection an earlier POST left open ([network] keepalive), or
# a new one that resumed the peer's TLS session.
is "$(($(metric main posts_resumed_total) + $(metric main posts_reused_total)))" \
	$((res0 + 1)) "over a kept connection or a resumed TLS session (the peer was seen before)"
api main /v1/subscribe -d "{\"url\":\"https://[::1]:$PORT_other/v1/paths\",\"topic\":\"paths\"}" |
	grep -q '"subscribed":true'
ok $? "main sends its paths to a server named other.example too"
fail0=$(metric main posts_failed_total)
sent0=$(metric main posts_sent_total)
newleaf resume2
validate main resume2.crt >/dev/null
wait_metric main posts_failed_total $((fail0 + 1))
is "$(metric main posts_failed_total)" $((fail0 + 1)) \
	"the POST to https://[::1] answered by other.example's certificate failed"
wait_metric main posts_sent_total $((sent0 + 1))
is "$(curl -s --max-time 20 --cacert tlsca.crt --cert client.crt \
	--key client.key --resolve "other.example:$PORT_other:::1" \
	"https://other.example:$PORT_other/v1/metrics" |
	sed -n 's/^guise_certd_paths_received_total //p')" 0 \
	"other.example received nothing"
grep -q "POST https://\[::1\]:$PORT_other/v1/paths: .*certificate verify failed (IP address mismatch)" main.log
ok $? "main logged why: IP address mismatch"
api main /v1/unsubscribe -d "{\"url\":\"https://[::1]:$PORT_other/v1/paths\",\"topic\":\"paths\"}" |
	grep -q '"subscribed":false'
ok $? "unsubscribed again"

# A subscription is held by the client certificates that asked for it:
# another client (server.crt, another subject) can neither end it nor
# take it over; with two holders, the first to let go leaves it on.
api2() { # NAME PATH [curl args...]: as the client certificate server.crt
	local name=$1 path=$2
	shift 2
	curl -s --max-time 20 --cacert tlsca.crt --cert server.crt \
		--key server.key "$@" "https://[::1]:$(port "$name")$path"
}
subs() { api main /v1/health | python3 -c 'import json,sys; print(json.load(sys.stdin)["subscribers"])'; }
SUB='{"url":"https://[::1]:1/v1/notify"}'
subs0=$(subs)
api main /v1/subscribe -d "$SUB" | grep -q '"subscribed":true'
ok $? "client subscribes a URL"
code=$(api2 main /v1/unsubscribe -d "$SUB" -o /dev/null -w '%{http_code}')
is "$code" 403 "another client cannot unsubscribe it: 403"
is "$(subs)" $((subs0 + 1)) "... and it stays subscribed"
api2 main /v1/subscribe -d "$SUB" | grep -q '"subscribed":true'
ok $? "the other client subscribes the same URL: a second hold"
api main /v1/unsubscribe -d "$SUB" | grep -q '"subscribed":false'
ok $? "the first lets go"
is "$(subs)" $((subs0 + 1)) "... the URL stays, held by the second"
code=$(api main /v1/unsubscribe -d "$SUB" -o /dev/null -w '%{http_code}')
is "$code" 403 "the first, no longer a holder, cannot end it: 403"
api2 main /v1/unsubscribe -d "$SUB" | grep -q '"subscribed":false'
ok $? "the last holder lets go"
is "$(subs)" "$subs0" "... and the subscription ends"
# One client holds at most [network] subscribe_limit (main: 3) of them,
# so no certificate holder fills the list (1024) alone.
lim=0
for p in 2 3 4; do
	api2 main /v1/subscribe -d "{\"url\":\"https://[::1]:$p/v1/notify\"}" |
		grep -q '"subscribed":true' || lim=1
done
ok $lim "a client subscribes 3 URLs"
code=$(api2 main /v1/subscribe -d '{"url":"https://[::1]:5/v1/notify"}' \
	-o limit.json -w '%{http_code}')
is "$code" 429 "a 4th: 429 (subscribe_limit = 3)"
grep -q '"limit":3' limit.json
ok $? "... saying the limit: $(cat limit.json)"
code=$(api2 main /v1/subscribe -d '{"url":"https://[::1]:2/v1/notify"}' \
	-o /dev/null -w '%{http_code}')
is "$code" 200 "subscribing one it holds again is no new hold: 200"
code=$(api main /v1/subscribe -d '{"url":"https://[::1]:5/v1/notify"}' \
	-o /dev/null -w '%{http_code}')
is "$code" 200 "another client still may (the limit is per client)"
for p in 2 3 4; do
	api2 main /v1/unsubscribe -d "{\"url\":\"https://[::1]:$p/v1/notify\"}" >/dev/null
done
api main /v1/unsubscribe -d '{"url":"https://[::1]:5/v1/notify"}' >/dev/null
is "$(subs)" "$subs0" "all let go again"

# 3. OCSP with openssl ocsp.
ocsp() { # ISSUER CERT VAFILE
	openssl ocsp -url "http://127.0.0.1:$OCSP_main/" -issuer "$1" \
		-cert "$2" -VAfile "$3" 2>&1
}
for t in "intA1 a_good good ocspA" "intA1 a_revoked revoked ocspA" \
	"intA1 a_delta revoked ocspA" "intB1 b_good good ocspB" \
	"intB1 b_revoked revoked ocspB" "intA3 u_leaf unknown ocspA3"; do
	set -- $t
	out=$(ocsp $1.crt $2.crt $4.crt)
	echo "$out" | grep -q "^Response verify OK" &&
		echo "$out" | grep -q "^$2.crt: $3\$"
	ok $? "openssl ocsp $2: $3, signature verified"
done
openssl ocsp -url "http://127.0.0.1:$OCSP_main/" -issuer intA1.crt \
	-cert a_good.crt -CAfile rootA.crt -verify_other chain.pem 2>&1 |
	grep -q "^Response verify OK"
ok $? "openssl ocsp: the delegated signer chains to rootA"
openssl ocsp -issuer intA1.crt -cert a_revoked.crt -no_nonce \
	-reqout req.der 2>/dev/null
req=$(base64 -w0 req.der | sed 's/+/%2B/g; s/\//%2F/g; s/=/%3D/g')
curl -s --max-time 10 -o resp.der "http://127.0.0.1:$OCSP_main/$req"
openssl ocsp -respin resp.der -issuer intA1.crt -cert a_revoked.crt \
	-VAfile ocspA.crt 2>&1 | grep -q "a_revoked.crt: revoked"
ok $? "OCSP GET form (RFC 6960 A.1): revoked"
printf 'garbage' | curl -s --max-time 10 --data-binary @- \
	-H 'Content-Type: application/ocsp-request' \
	"http://127.0.0.1:$OCSP_main/" | od -An -tx1 | tr -d ' \n' >bad.hex
is "$(cat bad.hex)" 30030a0101 "OCSP garbage: malformedRequest"
# RFC 5019: GET and POST of one nonce-less request get the same bytes,
# with HTTP caching headers; a path prefix and unescaped base64 work too.
ocsp_post() { # REQFILE OUT [curl args...]
	local req=$1 o=$2
	shift 2
	curl -s --max-time 10 -o "$o" --data-binary "@$req" \
		-H 'Content-Type: application/ocsp-request' "$@" \
		"http://127.0.0.1:$OCSP_main/"
}
ocsp_post req.der post.der -D post.hdr
cmp -s resp.der post.der
ok $? "OCSP GET and POST of the same request: identical responses"
raw=$(base64 -w0 req.der)
curl -s --max-time 10 -o resp2.der -D get.hdr \
	"http://127.0.0.1:$OCSP_main/ocsp/intA1/$raw"
cmp -s resp.der resp2.der
ok $? "OCSP GET under a path prefix, base64 not escaped: identical"
grep -qi '^Cache-Control: max-age=[0-9]*, public, no-transform, must-revalidate' get.hdr &&
	grep -qi '^ETag: "[0-9a-f]*"' get.hdr &&
	grep -qi '^Last-Modified: ' get.hdr && grep -qi '^Expires: ' get.hdr &&
	grep -qi '^Content-Length: ' get.hdr
ok $? "OCSP GET: Cache-Control, ETag, Last-Modified, Expires, Content-Length"
etag=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *//p' get.hdr | tr -d '\r')
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' \
	-H "If-None-Match: $etag" "http://127.0.0.1:$OCSP_main/$req")
is "$code" 304 "OCSP GET with the ETag in If-None-Match: 304"
curl -sv --max-time 10 -o ka1.der -o ka2.der "http://127.0.0.1:$OCSP_main/$req" \
	"http://127.0.0.1:$OCSP_main/$req" 2>ka.log
grep -q 'Re-using existing connection' ka.log && cmp -s ka1.der resp.der &&
	cmp -s ka2.der resp.der
ok $? "OCSP keep-alive: two requests answered on one connection"
openssl ocsp -issuer intA1.crt -cert a_good.crt -reqout nonce.der 2>/dev/null
ocsp_post nonce.der nonce.resp -D nonce.hdr
grep -qi '^Cache-Control: no-store' nonce.hdr &&
	openssl ocsp -no_nonce -respin nonce.resp -issuer intA1.crt \
		-cert a_good.crt -VAfile ocspA.crt 2>&1 | grep -q "a_good.crt: good"
ok $? "OCSP with a nonce: good, Cache-Control: no-store"
nonce=$(openssl ocsp -reqin nonce.der -req_text 2>/dev/null |
	sed -n '/OCSP Nonce/{n;p;}' | tr -d ' ')
[ -n "$nonce" ] && openssl ocsp -respin nonce.resp -resp_text -noverify \
	2>/dev/null | sed -n '/OCSP Nonce/{n;p;}' | tr -d ' ' | grep -qx "$nonce"
ok $? "OCSP with a nonce: the nonce echoed (signed afresh)"
# b_good is revoked later (section 7): the cached answer must not outlive it.
openssl ocsp -issuer intB1.crt -cert b_good.crt -no_nonce \
	-reqout bgood.der 2>/dev/null
ocsp_post bgood.der bgood1.der
ocsp_post bgood.der bgood2.der
cmp -s bgood1.der bgood2.der && openssl ocsp -respin bgood2.der \
	-issuer intB1.crt -cert b_good.crt -VAfile ocspB.crt 2>&1 |
	grep -q "b_good.crt: good"
ok $? "OCSP b_good: good, the second answer from the response cache"

# 4. Bad input.
code=$(api main /v1/validate -o /dev/null -w '%{http_code}' -d '{"cert":"AAAA"}')
is "$code" 400 "a malformed certificate: 400"
code=$(api main /v1/validate -o /dev/null -w '%{http_code}' -d '{"cert":')
is "$code" 400 "malformed JSON: 400"
code=$(curl -s --max-time 10 --cacert tlsca.crt -o /dev/null -w '%{http_code}' \
	"https://[::1]:$PORT_main/v1/health")
[ "$code" != 200 ]
ok $? "no client certificate: refused ($code)"

# A second connection that resumes the first one's TLS session (as the
# forwarding thread does once a keep-alive connection has ended).
codes=$(curl -s --max-time 20 --cacert tlsca.crt --cert client.crt \
	--key client.key -H 'Connection: close' -o /dev/null -o /dev/null \
	-w '%{http_code} ' "https://[::1]:$PORT_main/v1/health" \
	"https://[::1]:$PORT_main/v1/health")
is "$codes" "200 200 " "a resumed TLS session is accepted"

# 5. Acquire by URL.
wait_file pub.port
PUB=$(cat pub.port)
cp a_good.crt a_revoked.crt pub/
acq() { # FILE: the HTTP code
	api main /v1/acquire -o acq.json -w '%{http_code}' \
		-d "{\"url\":\"http://127.0.0.1:$PUB/$1\"}"
}
is "$(acq a_good.crt)" 200 "acquire a_good: 200"
grep -q 'BEGIN CERTIFICATE' acq.json
ok $? "acquire a_good returns the certificate"
is "$(acq a_revoked.crt)" 422 "acquire a_revoked: refused (422)"
grep -q '"status":"revoked"' acq.json && ! grep -q 'BEGIN CERTIFICATE' acq.json
ok $? "acquire a_revoked: status revoked, no certificate"
is "$(acq missing.crt)" 502 "acquire of a missing URL: 502"

# 6. Ten validation servers in a forwarding chain built with subscribe
# messages: n_i forwards to n_i+1, and n10 back to n1 (a loop).
i=1
while [ $i -le 10 ]; do
	config "n$i"
	start "n$i" || echo "# n$i did not start"
	i=$((i + 1))
done
# Without [network] subscribe_allow a client may subscribe only https://
# URLs of a host its certificate names: the servers subscribe each other
# with server.crt (it names ::1), as a peer subscribes with its own
# certificate.
sub_ok=0
i=1
while [ $i -le 10 ]; do
	next=$((i % 10 + 1))
	api2 "n$i" /v1/subscribe \
		-d "{\"url\":\"https://[::1]:$(port n$next)/v1/notify\",\"topic\":\"crl\"}" |
		grep -q '"subscribed":true' || sub_ok=1
	i=$((i + 1))
done
ok $sub_ok "10 servers subscribed to each other in a ring"
# A stream consumer on n7: the revocation event stream.
curl -sN --max-time 120 --cacert tlsca.crt --cert client.crt \
	--key client.key "https://[::1]:$(port n7)/v1/events" >events.ndjson &
pids="$pids $!"
i=0
while ! grep -q '"type":"hello"' events.ndjson 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
grep -q '"type":"hello"' events.ndjson
ok $? "event stream: hello"

# The CA revokes b_good and publishes a CRL; guise-crlwatch notices it in
# the repository (pub/) and notifies n1, signed with the CA's own key.
CADIR=intB1.d openssl ca -batch -config ca.cnf -revoke b_good.crt \
	-crl_reason keyCompromise 2>/dev/null
CADIR=intB1.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext \
	-out pub/intB1.crl 2>/dev/null
serial=$(openssl x509 -in b_good.crt -noout -serial | sed 's/.*=//')
"$crlwatch" --dir pub --location-base "http://127.0.0.1:$PUB" \
	--issuer intB1.crt --sign-cert intB1.crt --sign-key intB1.key \
	--serials --save saved \
	--to "https://[::1]:$PORT_n1/v1/notify" --cert client.crt \
	--key client.key --ca tlsca.crt --once 2>>crlwatch.log
ok $? "guise-crlwatch --once: the new CRL notified to n1"
all_revoked() {
	local k=1
	while [ $k -le 10 ]; do
		[ "$(validate n$k b_good.crt)" = revoked ] || return 1
		k=$((k + 1))
	done
}
t=0
while ! all_revoked && [ $t -lt 30 ]; do
	sleep 0.5
	t=$((t + 1))
done
all_revoked
ok $? "all 10 servers hold the new CRL: b_good revoked everywhere"
# n10 forwards back to n1: let that arrive.
t=0
while [ "$(metric n1 notify_duplicate_total)" != 1 ] && [ $t -lt 50 ]; do
	sleep 0.1
	t=$((t + 1))
done
once=0
i=1
while [ $i -le 10 ]; do
	a=$(metric n$i notify_accepted_total)
	d=$(metric n$i notify_duplicate_total)
	want_d=0
	[ $i -eq 1 ] && want_d=1
	if [ "$a" != 1 ] || [ "$d" != $want_d ]; then
		echo "# n$i: accepted $a, duplicates $d"
		once=1
	fi
	i=$((i + 1))
done
ok $once "each server accepted the notification exactly once; the loop ended at n1"
t=0
while ! grep -q "\"type\":\"revoked\".*$serial" events.ndjson && [ $t -lt 50 ]; do
	sleep 0.1
	t=$((t + 1))
done
grep "\"type\":\"revoked\"" events.ndjson |
	grep -q "\"issuer\":\"/CN=guise test intB1\".*\"$serial\""
ok $? "event stream on n7: b_good's serial revoked by intB1"

# 7. Forged, tampered and replayed notifications.
note=$(ls saved/*.cms | head -1)
post_note() { # NAME FILE: the HTTP code
	api "$1" /v1/notify -o note.json -w '%{http_code}' \
		-H 'Content-Type: application/cms' --data-binary "@$2"
}
rej0=$(metric main notify_rejected_total)
openssl cms -verify -noverify -inform DER -in "$note" -binary \
	-out note.txt 2>/dev/null
openssl cms -sign -nodetach -binary -outform DER -signer forger.crt \
	-inkey forger.key -in note.txt -out forged.cms 2>/dev/null
is "$(post_note main forged.cms)" 403 "a notification signed by an unknown key: 403"
cp "$note" tampered.cms
size=$(wc -c <tampered.cms)
printf 'X' | dd of=tampered.cms bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
is "$(post_note main tampered.cms)" 403 "a tampered notification: 403"
openssl cms -sign -nodetach -binary -outform DER -signer intA1.crt \
	-inkey intA1.key -in note.txt -out wrongca.cms 2>/dev/null
is "$(post_note main wrongca.cms)" 403 "intA1 vouching for intB1's CRL: 403"
is "$(metric main notify_rejected_total)" $((rej0 + 3)) "3 rejections counted"
is "$(post_note n5 "$note")" 200 "a replayed notification: answered"
grep -q '"result":"duplicate"' note.json
ok $? "a replayed notification is dropped as a duplicate"
is "$(metric n5 notify_accepted_total)" 1 "the replay was not accepted again"
openssl cms -sign -nodetach -binary -outform DER -signer notifier.crt \
	-inkey notifier.key -in note.txt -out notifier.cms 2>/dev/null
is "$(post_note main notifier.cms)" 200 "the configured notifier's signature is accepted"
is "$(validate main b_good.crt)" revoked "main fetched the CRL named by the notification"
ocsp_post bgood.der bgood3.der
openssl ocsp -respin bgood3.der -issuer intB1.crt -cert b_good.crt \
	-VAfile ocspB.crt 2>&1 | grep -q "b_good.crt: revoked"
ok $? "OCSP b_good after the new CRL: revoked (the response cache let go)"

# 8. guise-crlwatch as a daemon: subscribe to it, then `openssl ca -gencrl`.
# An hour's poll: only the directory watch (inotify) can notice the CRL
# within the 10 s this waits. The subscribing client's certificate names
# 2001:db8:9::1, not ::1: the peer's URL is allowed explicitly.
"$crlwatch" --dir pub --location-base "http://127.0.0.1:$PUB" \
	--issuer chain.pem --sign-cert notifier.crt --sign-key notifier.key \
	--interval 3600 \
	--subscribe-allow "https://[::1]:$PORT_peer/v1/notify" \
	--listen '[::1]:0' --server-cert server.crt --server-key server.key \
	--server-ca tlsca.crt --port-file watch.port --cert client.crt \
	--key client.key --ca tlsca.crt -v 2>>crlwatch.log &
WPID=$!
pids="$pids $WPID"
wait_file watch.port
warm0=$(metric peer peer_keepalive_total)
curl -s --max-time 10 --cacert tlsca.crt --cert client.crt --key client.key \
	-d "{\"url\":\"https://[::1]:$PORT_peer/v1/notify\"}" \
	"https://[::1]:$(cat watch.port)/v1/subscribe" | grep -q '"subscribed":true'
ok $? "peer subscribed to guise-crlwatch"
# Pre-warm: crlwatch opens the new subscriber's connection at once.
wait_metric peer peer_keepalive_total $((warm0 + 1))
is "$(metric peer peer_keepalive_total)" $((warm0 + 1)) \
	"crlwatch opened its connection to the new subscriber ahead of any CRL"
CADIR=intA1.d openssl ca -batch -config ca.cnf -revoke a_good.crt \
	-crl_reason keyCompromise 2>/dev/null
CADIR=intA1.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext \
	-out pub/intA1.crl.tmp 2>/dev/null && mv pub/intA1.crl.tmp pub/intA1.crl
t=0
while [ "$(validate peer a_good.crt)" != revoked ] && [ $t -lt 40 ]; do
	sleep 0.25
	t=$((t + 1))
done
is "$(validate peer a_good.crt)" revoked "crlwatch noticed the new CRL at once (inotify) and pushed it: a_good revoked at the peer"
t=0
while ! grep -q "notified to 1 of 1" crlwatch.log && [ $t -lt 40 ]; do
	sleep 0.25
	t=$((t + 1))
done
grep -q "notified to 1 of 1 (1 over kept connections)" crlwatch.log
ok $? "the notification went over the pre-warmed connection (no handshake)"
warm0=$(metric peer peer_keepalive_total)
kill -HUP "$WPID"
wait_metric peer peer_keepalive_total $((warm0 + 1))
is "$(metric peer peer_keepalive_total)" $((warm0 + 1)) \
	"SIGHUP: crlwatch reconnected to its subscriber at once"
kill -0 "$WPID"
ok $? "... and runs on"
watch_api() { # CERT PATH JSON: crlwatch's HTTP status
	curl -s --max-time 10 --cacert tlsca.crt --cert "$1.crt" \
		--key "$1.key" -d "$3" -o /dev/null -w '%{http_code}' \
		"https://[::1]:$(cat watch.port)$2"
}
is "$(watch_api server /v1/unsubscribe "{\"url\":\"https://[::1]:$PORT_peer/v1/notify\"}")" \
	403 "crlwatch: another client cannot unsubscribe the peer: 403"
is "$(watch_api client /v1/unsubscribe "{\"url\":\"https://[::1]:$PORT_peer/v1/notify\"}")" \
	200 "crlwatch: its subscriber can, and subscribes again"
is "$(watch_api client /v1/subscribe "{\"url\":\"https://[::1]:$PORT_peer/v1/notify\"}")" \
	200 "crlwatch: subscribed again"
code=$(api main /v1/unsubscribe -d '{"url":"https://[::1]:1/v1/notify"}' \
	-o /dev/null -w '%{http_code}')
is "$code" 404 "unsubscribing an unknown URL: 404"

# 9. A second CRL through the ring: each server sends it over the
# connection its first forward left open ([network] keepalive).
CADIR=intB1.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext \
	-out ring.crl 2>/dev/null && mkdir -p ring && mv ring.crl ring/intB1.crl
"$crlwatch" --dir ring --issuer intB1.crt --sign-cert intB1.crt \
	--sign-key intB1.key --carry \
	--to "https://[::1]:$PORT_n1/v1/notify" --cert client.crt \
	--key client.key --ca tlsca.crt --once 2>>crlwatch.log
ok $? "guise-crlwatch --once: a second CRL notified to n1"
wait_metric n1 notify_duplicate_total 2
twice=0
i=1
while [ $i -le 10 ]; do
	wait_metric "n$i" posts_reused_total 1
	a=$(metric n$i notify_accepted_total)
	r=$(metric n$i posts_reused_total)
	if [ "$a" != 2 ] || [ "$r" != 1 ]; then
		echo "# n$i: accepted $a, POSTs over a kept connection $r"
		twice=1
	fi
	i=$((i + 1))
done
ok $twice "the second CRL reached each server once, over the kept connections"
is "$(metric n1 notify_duplicate_total)" 2 "the loop ended at n1 again"

# 10. Pre-warmed forwarding ([network] prewarm, the default): fa connects
# to the fb of its forward list at start, before any notification, and
# keeps a connection; fb restarts on the same port: a notification at once
# still reaches it (the kept connection went stale), and fa connects again
# by itself. fa2 (prewarm = no) does not connect ahead; fa3's peer is down:
# retried with a backoff, one warning.
metric_is() { [ "$(metric "$1" "$2")" = "$3" ]; }
publish() { # NAME: a new CRL of intB1 notified (carried) to NAME
	local d=pub_$n
	mkdir -p "$d"
	CADIR=intB1.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext \
		-out "$d.crl" 2>/dev/null && mv "$d.crl" "$d/intB1.crl"
	"$crlwatch" --dir "$d" --issuer intB1.crt --sign-cert intB1.crt \
		--sign-key intB1.key --carry --to "https://[::1]:$(port "$1")/v1/notify" \
		--cert client.crt --key client.key --ca tlsca.crt --once \
		2>>crlwatch.log
}
restart_fb() { # stop fb, start it again on the same port
	kill "$fb_pid" && wait "$fb_pid" 2>/dev/null
	sed -i "s/^listen = .*/listen = [::1]:$PORT_fb/" fb.conf
	start fb
	fb_pid=$!
	[ "$(port fb)" = "$fb_port" ]
}
config fb
start fb
fb_pid=$!
fb_port=$PORT_fb
config fa3 "forward = https://[::1]:1/v1/notify"
start fa3
config fa2 "forward = https://[::1]:$PORT_fb/v1/notify" "prewarm = no"
start fa2
config fa "forward = https://[::1]:$PORT_fb/v1/notify"
start fa
wait_until 10 metric_is fb peer_keepalive_total 1
ok $? "prewarm: fa connected to fb at start (fb answered its health request)"
is "$(metric fa forward_warmed_total)/$(metric fa forward_connected)" 1/1 \
	"fa counts it and holds the connection"
is "$(metric fb notify_accepted_total)" 0 "... before any notification"
is "$(metric fa2 forward_warmed_total)/$(metric fa2 forward_connected)" 0/0 \
	"prewarm = no: fa2, started before fa, did not connect ahead"
publish fa
ok $? "a notification to fa"
wait_until 10 metric_is fb notify_accepted_total 1
ok $? "fa forwarded it to fb"
# (fa counts the POST once it has read fb's answer, a moment later)
wait_until 10 metric_is fa posts_sent_total 1
is "$(metric fa posts_reused_total)/$(metric fa posts_sent_total)" 1/1 \
	"the first forward went over the pre-warmed connection"
restart_fb
ok $? "fb restarted on the same port"
publish fa
ok $? "at once a second notification to fa"
wait_until 20 metric_is fb notify_accepted_total 1
ok $? "the restarted fb received it (the connection kept to the old one had gone stale)"
is "$(metric fa posts_sent_total)/$(metric fa posts_failed_total)" 2/0 \
	"fa: 2 forwards, none failed"
restart_fb
ok $? "fb restarted again"
wait_until 30 metric_is fb peer_keepalive_total 1
ok $? "fa connected to the new fb by itself, before a notification"
wait_until 10 metric_is fa forward_connected 1
ok $? "... and holds that connection"
reused=$(metric fa posts_reused_total)
publish fa
wait_until 20 metric_is fb notify_accepted_total 1
ok $? "a third notification reached the new fb"
is "$(metric fa posts_reused_total)" $((reused + 1)) \
	"... over the connection fa opened ahead"
wait_until 10 sh -c "[ \"\$(curl -s --max-time 20 --cacert tlsca.crt \
	--cert client.crt --key client.key \
	https://[::1]:$PORT_fa3/v1/metrics |
	sed -n 's/^guise_certd_forward_warm_failed_total //p')\" -ge 3 ]"
ok $? "fa3 retries its peer that is down"
is "$(metric fa3 forward_down)/$(metric fa3 forward_connected)" 1/0 \
	"fa3: the peer counted down, no connection"
is "$(grep -c 'cannot connect to https://\[::1\]:1' fa3.log)" 1 \
	"fa3 warned once about it, not at every attempt"

# 11. guise-crlwatch started while its subscriber is down: it retries
# (1, 2, 4 ... s) and holds a connection as soon as the subscriber is up.
kill "$fb_pid" && wait "$fb_pid" 2>/dev/null
mkdir -p nocrl
"$crlwatch" --dir nocrl --issuer intB1.crt --sign-cert notifier.crt \
	--sign-key notifier.key \
	--to "https://[::1]:$fb_port/v1/notify" --cert client.crt \
	--key client.key --ca tlsca.crt -v 2>>crlwatch2.log &
pids="$pids $!"
wait_until 10 grep -q "retrying with backoff" crlwatch2.log
ok $? "crlwatch: the subscriber is down, retrying"
restart_fb
ok $? "fb up again, after crlwatch"
wait_until 30 grep -q "connected again" crlwatch2.log
ok $? "crlwatch connected to it by itself, before any notification"

# 12. A subscriber that accepts connections but never answers (a server
# hung in its TLS handshake) must not hold up the others: crlwatch sends
# to all subscribers at once. The silent one is listed first; fb must
# have the CRL while crlwatch still waits for the silent one (10 s).
python3 -c 'import socket, time
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0))
s.listen(16)  # the kernel completes the connections; nothing reads them
print(s.getsockname()[1], flush=True)
time.sleep(120)' >silent.port &
pids="$pids $!"
wait_until 10 test -s silent.port
before=$(metric fb notify_accepted_total)
d=pub_silent
mkdir -p "$d"
CADIR=intB1.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext \
	-out "$d.crl" 2>/dev/null && mv "$d.crl" "$d/intB1.crl"
"$crlwatch" --dir "$d" --issuer intB1.crt --sign-cert intB1.crt \
	--sign-key intB1.key --carry \
	--to "https://[::1]:$(cat silent.port)/v1/notify" \
	--to "https://[::1]:$fb_port/v1/notify" --cert client.crt \
	--key client.key --ca tlsca.crt --once -v 2>>crlwatch3.log &
cw_pid=$!
wait_until 5 metric_is fb notify_accepted_total $((before + 1))
ok $? "a silent subscriber listed first: fb got the CRL at once"
kill -0 "$cw_pid" 2>/dev/null
ok $? "... while crlwatch was still waiting for the silent one"
wait "$cw_pid"
is $? 1 "crlwatch --once: exit status 1, one subscriber not notified"
grep -q "notified to 1 of 2" crlwatch3.log
ok $? "crlwatch logged 1 of 2 subscribers notified"

# 13. POST /v1/acquire fetches off the event loop: while an acquire waits
# for a server that accepts and never answers (fetch_timeout 5 s), the
# daemon answers validations; 8 acquires at once (CERTD_ACQUIRE_MAX) and
# the next is refused 503 at once; a client that gives up on its acquire
# leaves nothing behind; SIGTERM with an acquire under way gives up its
# fetch, exits 0, and the sanitizers report nothing.
python3 -c 'import socket, time
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0))
s.listen(64)  # the kernel completes the connections; nothing reads them
print(s.getsockname()[1], flush=True)
time.sleep(90)' >hang.port &
pids="$pids $!"
wait_until 10 test -s hang.port
HANG=$(cat hang.port)
config acq "acquire_allow = http://[::1]:$HANG/ http://127.0.0.1:$(cat pub.port)/"
start acq
acq_pid=$!
hang() { # NAME [curl args...]: an acquire of the silent URL, in the background
	local name=$1
	shift
	api acq /v1/acquire -o "$name.json" -w '%{http_code}' "$@" \
		-d "{\"url\":\"http://[::1]:$HANG/$name.crt\"}" >"$name.code" &
	HPID=$!
}
hang h0
h0=$HPID
wait_until 10 metric_is acq acquires_total 1
t0=$(now_ms)
st=$(validate acq a_good.crt)
t1=$(now_ms)
kill -0 "$h0" 2>/dev/null
ok $? "a validation is answered while an acquire waits for a silent server ($((t1 - t0)) ms)"
is "$st" good "... with its result"
hang h1 --max-time 1 # gives up long before the fetch does
h1=$HPID
hpids=""
for k in 2 3 4 5 6 7; do
	hang "h$k"
	hpids="$hpids $HPID"
done
wait_until 10 metric_is acq acquires_fetching 8
ok $? "8 acquires fetching at once"
t0=$(now_ms)
code=$(api acq /v1/acquire -o busy.json -w '%{http_code}' \
	-d "{\"url\":\"http://[::1]:$HANG/busy.crt\"}")
t1=$(now_ms)
is "$code" 503 "a 9th acquire at once: 503 ($((t1 - t0)) ms)"
grep -q 'too many acquires at once' busy.json
ok $? "... saying why"
is "$(metric acq acquires_busy_total)" 1 "counted in acquires_busy_total"
wait "$h0" "$h1" $hpids
is "$(cat h0.code)" 502 "the hung acquire ends 502 at fetch_timeout"
codes=$(cat h2.code h3.code h4.code h5.code h6.code h7.code)
is "$codes" "502502502502502502" "so do the others"
wait_until 10 metric_is acq acquires_fetching 0
ok $? "no acquire fetching any more (the one whose client left was answered too)"
is "$(validate acq a_good.crt)" good "the daemon serves on"
PUBPORT=$(cat pub.port)
code=$(api acq /v1/acquire -o acq2.json -w '%{http_code}' \
	-d "{\"url\":\"http://127.0.0.1:$PUBPORT/a_revoked.crt\"}")
is "$code" 422 "an acquire that can be fetched still works (a_revoked: 422)"
hang h8
h8=$HPID
wait_until 10 metric_is acq acquires_fetching 1
t0=$(now_ms)
kill -TERM "$acq_pid"
wait "$acq_pid"
is "$?" 0 "SIGTERM during an acquire: exit 0 ($(($(now_ms) - t0)) ms: the fetch given up)"
wait "$h8"
code=$(cat h8.code)
[ "$code" = 502 ] || [ "$code" = 000 ]
ok $? "... and the acquire's client was let go (answered or closed: $code)"
! grep -q 'Sanitizer' acq.log
ok $? "no sanitizer report from the acquire daemon"

# 14. Event streams that end: each closed stream's request is freed (the
# sanitized daemon's leak check at exit says so: a leak is a non-zero
# exit status and a LeakSanitizer report), also with one still open at
# SIGTERM.
config ev
start ev
ev_pid=$!
k=0
spids=""
while [ $k -lt 20 ]; do
	api ev /v1/events --max-time 0.5 -o /dev/null &
	spids="$spids $!"
	k=$((k + 1))
done
wait $spids
wait_until 10 metric_is ev event_streams 0
ok $? "20 event streams opened and dropped by their clients"
curl -sN --max-time 60 --cacert tlsca.crt --cert client.crt \
	--key client.key "https://[::1]:$(port ev)/v1/events" >ev_open.ndjson &
open_pid=$!
wait_until 10 grep -q '"type":"hello"' ev_open.ndjson
wait_until 10 metric_is ev event_streams 1
ok $? "one more stream open"
kill -TERM "$ev_pid"
wait "$ev_pid"
is "$?" 0 "SIGTERM: exit 0 (no leak at exit)"
! grep -q 'Sanitizer' ev.log
ok $? "no sanitizer report (LeakSanitizer) from the stream daemon"
wait "$open_pid" 2>/dev/null

cleanup
pids=""
echo "1..$n"
[ $failed -eq 0 ]
