#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guise-leased asking guise-certd about client certificates ([certd]
# check, daemon/certcheck.c) on loopback, TAP output. Run by
# leased_certd_check (the C driver), or by hand:
#   leased_certd_check.sh DIR LEASED CERTD CRLWATCH
#
# certd_pki.sh's PKI and a guise-certd holding its CRLs. a_good and b_good
# are served and cached (repeated requests: cache hits, no second call to
# certd); the CA revokes b_good (`openssl ca -revoke` + `-gencrl`,
# guise-crlwatch --once); b_good is then refused 403 on any request, also
# those that touch no lease (health, reveal), while a_good is served;
# u_leaf (no CRL: "unknown") is refused; a reconnection of the event
# stream flushes the cache. A certd that accepts but never answers: the
# request waits [certd] timeout while the loop serves others, then 503.
# certd stopped: on_error = deny refuses (503), on_error = allow serves.
set -u

dir=${1:?usage: leased_certd_check.sh DIR LEASED CERTD CRLWATCH}
leased=${2:?}
certd=${3:?}
crlwatch=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
pki_setup
start_certd "[::1]:0"
ok $? "guise-certd starts"
CERTD=$(sed -n 1p certd.port)

# guise-leased trusts the leaf certificates' roots and intermediates.
cat tlsca.crt rootA.crt rootB.crt chain.pem >clients.pem
start_leased() { # CERTD-URL ON-ERROR [EXTRA-[certd]-LINE]
	{
		server_conf leased
		printf '[pool]\nprefix = 2001:db8:ff::/48\n[kernel]\nsync = off\n'
		certd_conf "$1"
		printf 'on_error = %s\n%s\n' "$2" "${3:-}"
	} >leased.conf
	start_daemon leased "$leased" && LEASED=$(cat leased.port)
	LPID=$DPID
}
stop_leased() {
	kill "$LPID" && wait "$LPID" 2>/dev/null
}
start_leased "https://[::1]:$CERTD" deny
ok $? "guise-leased starts ([certd] check on by default, on_error deny)"
subscribed leased
ok $? "guise-leased subscribed to certd's event stream"

call() { # CERT METHOD PATH [BODY]: the HTTP code, the body in CERT.out
	curl -s --max-time 20 --cacert tlsca.crt --cert "$1.crt" \
		--key "$1.key" -o "$1.out" -w '%{http_code}' -X "$2" \
		${4:+-H 'Content-Type: application/json' -d "$4"} \
		"https://[::1]:$LEASED$3"
}
admin() { local_api leased "$@"; }
metric() { # NAME: a guise_leased_ counter
	admin /v1/metrics | sed -n "s/^guise_leased_$1 //p"
}
certd_calls() { # certd's validation requests
	curl -s --max-time 20 --cacert tlsca.crt --cert client.crt \
		--key client.key "https://[::1]:$CERTD/v1/metrics" |
		sed -n 's/^guise_certd_validations_total //p'
}

[ "$(call a_good POST /v1/rent '{"peer":"2001:db8:3::20"}')" = 201 ]
ok $? "a_good (certd: good) rents a lease"
[ "$(call b_good POST /v1/rent '{"peer":"2001:db8:3::20"}')" = 201 ]
ok $? "b_good (certd: good) rents a lease"
[ "$(metric certcheck_misses_total)" = 2 ]
ok $? "metrics: two cache misses, one per certificate"

v0=$(certd_calls)
h0=$(metric certcheck_hits_total)
codes=""
for i in 1 2 3; do
	codes="$codes$(call b_good GET /v1/health)"
done
[ "$codes" = 200200200 ]
ok $? "b_good is served three more times"
h1=$(metric certcheck_hits_total)
[ "$h1" -eq $((h0 + 3)) ]
ok $? "cache hits $h0 -> $h1"
v1=$(certd_calls)
[ -n "$v0" ] && [ "$v0" = "$v1" ]
ok $? "no further call to certd ($v0 -> $v1 validations)"

# The CA revokes b_good and publishes a CRL; guise-crlwatch notifies certd.
revoke_publish intB1 b_good
ok $? "guise-crlwatch --once notified certd"
i=0
while admin /v1/list | grep -q '2001:db8:2::10' && [ $i -lt 400 ]; do
	sleep 0.025
	i=$((i + 1))
done
[ "$(metric revocation_events_total)" -ge 1 ]
ok $? "guise-leased received the revocation event"
code=$(call b_good GET /v1/health)
t1=$(now_ms)
[ "$code" = 403 ] && grep -q '"error": *"certificate revoked"' b_good.out
ok $? "b_good is refused 403 certificate revoked on /v1/health ($code)"
echo "# gencrl to refusal: $((t1 - T0)) ms"
code=$(call b_good POST /v1/reveal '{"virtual":"2001:db8:ff::1"}')
[ "$code" = 403 ] && grep -q 'certificate revoked' b_good.out
ok $? "b_good is refused on /v1/reveal too ($code)"
[ "$(call a_good GET /v1/health)" = 200 ]
ok $? "a_good is still served"
[ "$(metric certcheck_denied_total)" -ge 2 ]
ok $? "metrics: certcheck_denied_total counts the refusals"

code=$(call u_leaf GET /v1/health)
[ "$code" = 403 ] && grep -q 'unknown' u_leaf.out
ok $? "u_leaf (no CRL: unknown) is refused with on_error deny ($code)"

# SIGHUP with another [certd] section: the running clients keep theirs
# (a change needs a restart), and the daemon says so.
sed -i 's/^on_error = deny$/on_error = allow/' leased.conf
kill -HUP "$LPID"
wait_count leased.log 'and .certd. changes need a restart' 1
ok $? "SIGHUP: a [certd] change is logged as needing a restart"
[ "$(call u_leaf GET /v1/health)" = 403 ]
ok $? "after SIGHUP on_error is still deny (u_leaf refused)"

# certd restarts on the same port: the stream reconnects, the cache goes.
m0=$(metric certcheck_misses_total)
kill "$CPID" && wait "$CPID" 2>/dev/null
start_certd "[::1]:$CERTD"
ok $? "guise-certd restarts"
subscribed leased 2
ok $? "the event stream reconnects"
[ "$(call a_good GET /v1/health)" = 200 ] &&
	[ "$(metric certcheck_misses_total)" -eq $((m0 + 1)) ]
ok $? "after the reconnection a_good is asked about again (cache flushed)"

# A certd that accepts connections and never answers.
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0))
s.listen(64)
open("hole.port", "w").write("%d\n" % s.getsockname()[1])
time.sleep(120)
' &
hole=$!
pids="$pids $hole"
wait_file hole.port
stop_leased
start_leased "https://[::1]:$(cat hole.port)" deny "timeout = 2s"
ok $? "guise-leased restarts towards a certd that never answers"
t0=$(now_ms)
call a_good GET /v1/health >hole.code &
parked=$!
sleep 0.5
t1=$(now_ms)
admin /v1/health | grep -q '"status"'
t2=$(now_ms)
ok $? "the loop serves others while a request waits for certd ($((t2 - t1)) ms)"
wait "$parked"
t3=$(now_ms)
[ "$(cat hole.code)" = 503 ] && grep -q 'certd unreachable' a_good.out &&
	[ $((t3 - t0)) -ge 1500 ]
ok $? "after the timeout: 503 certd unreachable ($((t3 - t0)) ms)"
# A client that gives up while its request waits; then one that waits
# through a shutdown: both requests must be let go cleanly.
curl -s --max-time 0.5 --cacert tlsca.crt --cert a_good.crt --key a_good.key \
	-o /dev/null "https://[::1]:$LEASED/v1/health"
sleep 2
call a_good GET /v1/health >hole.code &
parked=$!
sleep 0.5
stop_leased
wait "$parked"
code=$(cat hole.code)
[ "$code" = 503 ] || [ "$code" = 000 ]
ok $? "a request waiting at shutdown is answered or closed ($code)"
kill "$hole" 2>/dev/null

# certd stopped: the policy decides.
kill "$CPID" && wait "$CPID" 2>/dev/null
start_leased "https://[::1]:$CERTD" deny
code=$(call a_good GET /v1/health)
[ "$code" = 503 ] && grep -q 'certd unreachable' a_good.out
ok $? "certd down, on_error deny: a_good refused ($code: $(cat a_good.out))"
[ "$(metric certcheck_errors_total)" -ge 1 ]
ok $? "metrics: certcheck_errors_total counts it"
stop_leased
start_leased "https://[::1]:$CERTD" allow
[ "$(call a_good GET /v1/health)" = 200 ]
ok $? "certd down, on_error allow: a_good served"
[ "$(admin /v1/health | grep -c status)" = 1 ]
ok $? "the UNIX socket is never checked"
stop_leased

! grep -q 'Sanitizer' leased.log
ok $? "no sanitizer report from guise-leased"

cleanup
pids=""
echo "1..$n"
[ $failed -eq 0 ]
