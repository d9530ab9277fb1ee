#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# guise-certd loads a large CRL off its event loop, TAP output. Run by
# certd_crlload (the C driver, which is also HELPER), or by hand:
#   certd_crlload.sh DIR CERTD HELPER
#
# A CRL of intB1 with CRLLOAD_ENTRIES (default 300000) entries, b_good
# among them, arrives in a notification; while it loads (the daemon's
# guise_certd_crl_loading gauge says 1) a validation is answered with the
# old CRL, between two metrics reads that both still say "loading", on
# one connection: the answer came while the load ran (an order, no
# timing). A notification of the same CRL number (small: serials only)
# and a newer one arrive while it loads: the first is a duplicate (not
# processed, not forwarded), the newer one wins. An event stream open
# meanwhile gets every newly revoked serial, in lines a consumer takes
# (at most 10,000 serials each). Then the same for a SIGHUP reload of
# [trust] crl.
#
# Then the revocation rules with small CRLs of intA1: a delta CRL read
# again by a SIGHUP after a newer full CRL came is not used (stale);
# serials pushed by a notification stay revoked when an older full CRL
# arrives after it; a notification whose CRL could not be fetched does
# not make a later one of the same CRL number that carries the CRL a
# duplicate, and the copies this server forwards to itself end (no
# forwarding storm).
set -u

dir=${1:?usage: certd_crlload.sh DIR CERTD HELPER}
certd=${2:?}
helper=${3:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
entries=${CRLLOAD_ENTRIES:-300000}

pki_setup
start_certd '[::1]:0'
ok $? "guise-certd starts"
url="https://[::1]:$(sed -n 1p certd.port)"

b64() { openssl x509 -in "$1" -outform DER | base64 -w0; }
api() { # PATH [curl args...]
	local path=$1
	shift
	curl -s --max-time 120 --cacert tlsca.crt --cert client.crt \
		--key client.key "$@" "$url$path"
}
validate() { # CERTFILE: the status
	api /v1/validate -d "{\"cert\":\"$(b64 "$1")\"}" |
		sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}
metric() { api /v1/metrics | sed -n "s/^guise_certd_$1 //p"; }
gauge() { sed -n "s/^guise_certd_$2 //p" "$1"; } # FILE NAME
crl_field() { # ISSUER-CN FIELD: from /v1/health
	api /v1/health | python3 -c '
import json, sys
for c in json.load(sys.stdin)["crls"]:
    if c["issuer"] == "/CN=guise test " + sys.argv[1]:
        print(c.get(sys.argv[2], ""))' "$1" "$2"
}
post_note() { # FILE OUT: POST /v1/notify in the background (pid in NPID)
	api /v1/notify -H 'Content-Type: application/cms' \
		--data-binary "@$1" -o "$2" &
	NPID=$!
}
wait_loading() { # up to 120 s for a load at the loader
	local end=$(($(date +%s) + 120))
	while [ "$(metric crl_loading)" != 1 ] && [ "$(date +%s)" -lt $end ]; do
		sleep 0.02
	done
	[ "$(metric crl_loading)" = 1 ]
}
# CERTFILE: metrics, a validation, metrics, one after the other on one
# connection (m1.txt, v.json, m2.txt).
probe() {
	local t="--cacert tlsca.crt --cert client.crt --key client.key"
	rm -f m1.txt v.json m2.txt
	curl -s --max-time 120 $t -o m1.txt "$url/v1/metrics" --next \
		$t -d "{\"cert\":\"$(b64 "$1")\"}" -o v.json "$url/v1/validate" \
		--next $t -o m2.txt "$url/v1/metrics"
}
answered_while_loading() { # CERTFILE STATUS WHAT
	probe "$1"
	[ "$(gauge m1.txt crl_loading)" = 1 ] &&
		grep -q "\"status\":\"$2\"" v.json &&
		[ "$(gauge m2.txt crl_loading)" = 1 ]
	ok $? "$3"
	[ "$(gauge m2.txt crl_loading)" = 1 ] ||
		echo "# loading before: $(gauge m1.txt crl_loading), after: $(gauge m2.txt crl_loading); $(cat v.json)"
}

updates0=$(metric crl_updates_total)
serial=$(openssl x509 -in b_good.crt -noout -serial | sed 's/.*=//')
is "$(validate b_good.crt)" good "b_good is good under the PKI's CRLs"
"$helper" mknote intB1.crt intB1.key "$entries" 2000 "$serial" big.cms \
	big.crl &&
	"$helper" mknote intB1.crt intB1.key none 2000 "$serial" dup.cms \
		dup.crl &&
	"$helper" mknote intB1.crt intB1.key 10 2001 "$serial" new.cms \
		new.crl &&
	"$helper" mknote intB1.crt intB1.key "$entries" 2002 "$serial" \
		big2.cms big2.crl
made=$?
ok $made "made CRLs of intB1 with $entries entries (b_good among them)"
[ $made -eq 0 ] || {
	echo "Bail out! cannot make the CRLs"
	exit 1
}

# An event stream consumer (as guise-leased and guise-keyd follow it).
curl -sN --max-time 600 --cacert tlsca.crt --cert client.crt \
	--key client.key "$url/v1/events" >events.ndjson &
pids="$pids $!"
w=0
while ! grep -q '"type":"hello"' events.ndjson 2>/dev/null && [ $w -lt 100 ]; do
	sleep 0.1
	w=$((w + 1))
done
grep -q '"type":"hello"' events.ndjson
ok $? "an event stream is open"

# 1. A notification carrying the large CRL.
post_note big.cms big.json
big_pid=$NPID
wait_loading
ok $? "the large CRL is loading (guise_certd_crl_loading 1)"
answered_while_loading b_good.crt good \
	"a validation is answered while the CRL loads, with the old CRL"
post_note dup.cms dup.json # CRL number 2000 again, without the CRL
dup_pid=$NPID
end=$(($(date +%s) + 60))
while [ "$(metric crl_loads_queued)" -lt 2 ] && [ "$(date +%s)" -lt $end ]; do
	sleep 0.02
done
api /v1/metrics >m3.txt
[ "$(gauge m3.txt crl_loads_queued)" -ge 2 ] &&
	[ "$(gauge m3.txt crl_loading)" = 1 ]
ok $? "a notification of the same CRL number waits while the first loads"
post_note new.cms new.json
new_pid=$NPID
wait $big_pid $dup_pid $new_pid
grep -q '"result":"accepted".*"updated":true' big.json
ok $? "the large CRL's notification: accepted, updated"
grep -q '"result":"duplicate"' dup.json
ok $? "the same CRL number during the load: a duplicate"
grep -q '"result":"accepted".*"crl_number":"2001".*"updated":true' new.json
ok $? "a newer CRL number during the load: accepted, updated"
is "$(metric notify_accepted_total)" 2 "two notifications accepted"
is "$(metric notify_duplicate_total)" 1 "one duplicate"
is "$(crl_field intB1 crl_number)" 2001 "the newer CRL is in force"
is "$(crl_field intB1 entries)" 11 "with its 11 entries"
is "$(validate b_good.crt)" revoked "b_good is revoked now"
is "$(metric crl_loading)" 0 "nothing loads any more"
# The stream: the large CRL's $((entries + 1)) newly revoked serials, in
# lines of at most 10,000 (EVENTS_REVOKED_CHUNK), each under the
# consumers' 1 MiB line cap (REVOCATION_LINE_MAX).
revoked_stats() { # CRL-NUMBER: lines serials distinct max-per-line max-bytes
	python3 -c '
import json, sys
lines = serials = most = longest = 0
seen = set()
for raw in open("events.ndjson", "rb"):
    try:
        o = json.loads(raw)
    except ValueError:
        continue
    if o.get("type") != "revoked" or o.get("crl_number") != sys.argv[1]:
        continue
    lines += 1
    serials += len(o["serials"])
    seen.update(o["serials"])
    most = max(most, len(o["serials"]))
    longest = max(longest, len(raw))
print(lines, serials, len(seen), most, longest)' "$1"
}
end=$(($(date +%s) + 60))
while [ "$(revoked_stats 2000 | cut -d" " -f3)" != $((entries + 1)) ] &&
	[ "$(date +%s)" -lt $end ]; do
	sleep 0.2
done
set -- $(revoked_stats 2000)
is "$3" $((entries + 1)) "the event stream got all $((entries + 1)) serials of the large CRL"
[ "$4" -le 10000 ] && [ "$5" -lt 1048576 ] &&
	[ "$1" -ge $(((entries + 1 + 9999) / 10000)) ]
ok $? "in $1 revoked lines of at most 10000 serials ($4), $5 bytes at most"
grep -q "\"type\":\"revoked\".*\"$serial\"" events.ndjson
ok $? "b_good's serial among them"

# 2. SIGHUP: [trust] crl now holds the large CRL number 2002.
cp big2.crl crls.pem
kill -HUP "$CPID"
wait_loading
ok $? "SIGHUP: the large CRL is loading"
answered_while_loading a_good.crt good \
	"a validation is answered during the SIGHUP reload"
end=$(($(date +%s) + 120))
while [ "$(crl_field intB1 crl_number)" != 2002 ] && [ "$(date +%s)" -lt $end ]; do
	sleep 0.1
done
is "$(crl_field intB1 crl_number)" 2002 "the reloaded CRL is in force"
is "$(crl_field intB1 entries)" $((entries + 1)) "with all its entries"
is "$(validate b_good.crt)" revoked "b_good stays revoked"
is "$(metric crl_updates_total)" $((updates0 + 3)) "three CRL updates counted"
is "$(metric crl_rejected_total)" 0 "no CRL rejected"

# 3. A delta CRL is used only over a full CRL older than itself (RFC 5280
# 5.2.4). [trust] crl: intA1's full CRL 1000 and its delta 1001 (a_delta
# revoked), and a marker CRL of intB1 (2003) that shows when a reload is
# done. A full CRL 1002 without a_delta comes by notification; a SIGHUP
# reads the delta 1001 again: stale, not used.
serial_of() { openssl x509 -in "$1" -noout -serial | sed 's/.*=//'; }
reload() { # NUMBER: [trust] crl is crls.pem + intB1's CRL NUMBER; SIGHUP
	"$helper" mknote intB1.crt intB1.key 0 "$1" "$serial" "b$1.cms" \
		"b$1.crl" &&
		openssl crl -inform DER -in "b$1.crl" >>crls.pem &&
		kill -HUP "$CPID"
	local end=$(($(date +%s) + 60))
	while [ "$(crl_field intB1 crl_number)" != "$1" ] &&
		[ "$(date +%s)" -lt $end ]; do
		sleep 0.1
	done
	[ "$(crl_field intB1 crl_number)" = "$1" ]
}
note() { # FILE: POST /v1/notify, the answer in FILE.json
	api /v1/notify -H 'Content-Type: application/cms' \
		--data-binary "@$1" -o "$1.json"
}
arev=$(serial_of a_revoked.crt)
agood=$(serial_of a_good.crt)
is "$(validate a_delta.crt)" good "a_delta is good without intA1's delta CRL"
cat intA1.crl intA1-delta.crl >crls.pem
reload 2003
ok $? "SIGHUP: intA1's full CRL 1000 and delta CRL 1001 read"
is "$(validate a_delta.crt)" revoked "the delta CRL 1001 is used: a_delta revoked"
"$helper" mknote intA1.crt intA1.key 0 1002 "$arev" a1002.cms a1002.crl &&
	note a1002.cms
grep -q '"result":"accepted".*"updated":true' a1002.cms.json
ok $? "a notification of intA1's full CRL 1002 (a_revoked only): taken"
is "$(validate a_delta.crt)" good "full CRL 1002 is in force, the delta 1001 gone"
cat intA1.crl intA1-delta.crl >crls.pem
reload 2004
ok $? "SIGHUP: the delta CRL 1001 read again"
is "$(validate a_delta.crt)" good \
	"the delta CRL 1001 is not newer than full CRL 1002: not used (a_delta good)"
is "$(crl_field intA1 crl_number)" 1002 "intA1's full CRL 1002 stays in force"
is "$(metric crl_rejected_total)" 0 "the stale delta is not counted as rejected"

# 4. Serials pushed by notification 1004 count as revoked until a full
# CRL at least as new arrives: not the full CRL 1003 that comes after.
"$helper" mknote intA1.crt intA1.key none 1004 "$agood" a1004.cms x &&
	"$helper" mknote intA1.crt intA1.key 0 1003 "$arev" a1003.cms \
		a1003.crl &&
	"$helper" mknote intA1.crt intA1.key 0 1005 "$arev" a1005.cms a1005.crl
ok $? "made intA1's notifications 1003, 1004 (a_good pushed), 1005"
note a1004.cms
grep -q '"result":"accepted"' a1004.cms.json
ok $? "notification 1004 pushes a_good's serial: taken"
is "$(validate a_good.crt)" revoked "a_good is revoked"
note a1003.cms
grep -q '"result":"accepted".*"updated":true' a1003.cms.json
ok $? "notification 1003 carrying full CRL 1003 (without a_good): taken"
is "$(crl_field intA1 crl_number)" 1003 "full CRL 1003 is in force"
is "$(validate a_good.crt)" revoked \
	"a_good stays revoked: full CRL 1003 is older than notification 1004"
is "$(crl_field intA1 pushed)" 1 "the pushed serial is kept"
note a1004.cms
grep -q '"result":"duplicate"' a1004.cms.json
ok $? "notification 1004 again: a duplicate"
is "$(validate a_good.crt)" revoked "a_good still revoked"
note a1005.cms
grep -q '"result":"accepted".*"updated":true' a1005.cms.json
ok $? "notification 1005 carrying full CRL 1005: taken"
is "$(crl_field intA1 pushed)/$(validate a_good.crt)" 0/good \
	"full CRL 1005 (as new as 1004) replaces the pushed serial: its entries count"

# 5. A notification whose CRL cannot be fetched (1006 naming a location
# where nothing answers) does not count as seen: the same number carrying
# the CRL is loaded. certd forwards to itself: every copy comes back as
# a duplicate (forwarding ends; each notification is forwarded once).
# It subscribes with its own certificate (server.crt names ::1): without
# [network] subscribe_allow a client may subscribe only a host its
# certificate names (client.crt names 2001:db8:9::1).
self="$url/v1/notify"
api /v1/subscribe --cert server.crt --key server.key \
	-d "{\"url\":\"$self\",\"topic\":\"crl\"}" |
	grep -q '"subscribed":true'
ok $? "certd subscribed to itself"
"$helper" mknote intA1.crt intA1.key 0 1006 "$agood" a1006l.cms a1006l.crl \
	"http://127.0.0.1:1/intA1.crl" &&
	"$helper" mknote intA1.crt intA1.key 0 1006 "$agood" a1006.cms a1006.crl
ok $? "made notification 1006 naming a location, and one carrying the CRL"
dup0=$(metric notify_duplicate_total)
fwd0=$(metric notify_forwarded_total)
fetch0=$(metric crl_fetch_errors_total)
wait_dup() { # COUNT: up to 30 s for COUNT more duplicates
	local end=$(($(date +%s) + 30))
	while [ "$(metric notify_duplicate_total)" != $((dup0 + $1)) ] &&
		[ "$(date +%s)" -lt $end ]; do
		sleep 0.1
	done
	[ "$(metric notify_duplicate_total)" = $((dup0 + $1)) ]
}
note a1006l.cms
grep -q '"result":"accepted".*"updated":false.*"forwarded":1' a1006l.cms.json
ok $? "1006 naming a location: accepted, not updated, forwarded"
is "$(metric crl_fetch_errors_total)" $((fetch0 + 1)) "the fetch failed"
wait_dup 1
ok $? "its forwarded copy came back: a duplicate, not forwarded again"
note a1006l.cms
grep -q '"result":"duplicate"' a1006l.cms.json
ok $? "the same notification again: a duplicate (no second fetch)"
is "$(metric crl_fetch_errors_total)" $((fetch0 + 1)) "... not fetched again"
note a1006.cms
grep -q '"result":"accepted".*"updated":true.*"forwarded":1' a1006.cms.json
ok $? "1006 carrying the CRL: accepted, updated, forwarded"
is "$(crl_field intA1 crl_number)" 1006 "full CRL 1006 is in force"
is "$(validate a_good.crt)" revoked "a_good is revoked by it"
wait_dup 3
ok $? "its forwarded copy came back: a duplicate"
note a1006.cms
grep -q '"result":"duplicate"' a1006.cms.json
ok $? "1006 carrying the CRL again: a duplicate"
sleep 1
is "$(metric notify_forwarded_total)/$(metric notify_duplicate_total)" \
	$((fwd0 + 2))/$((dup0 + 4)) "two forwards in all, then quiet (no storm)"
api /v1/unsubscribe --cert server.crt --key server.key \
	-d "{\"url\":\"$self\",\"topic\":\"crl\"}" |
	grep -q '"subscribed":false'
ok $? "unsubscribed again"

cleanup
pids=""
echo "1..$n"
[ $failed -eq 0 ]
