#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Re-validation after certd's event stream was down, for guise-leased and
# guise-keyd on loopback, TAP output. Run by leased_revalidate (the C
# driver), or by hand:
#   leased_revalidate.sh DIR LEASED CERTD KEYD
#
# certd_pki.sh's PKI; guise-certd; guise-leased (sync off) and a guise-keyd
# server, both following certd's event stream with [certd] on_error =
# deny. a_good and b_good rent a lease each and enrol (keyd clients a1,
# b1, entitled to channel 1). Then:
#  1. certd goes down and comes back without the CRLs of intA1 and intB1:
#     its answers are "unknown"; nothing may end (a certd problem is not a
#     revocation);
#  2. certd goes down; the CA revokes b_good (openssl ca -revoke +
#     -gencrl); certd comes back with that CRL. No event is ever sent for
#     it: re-validation after the reconnection must end b_good's lease
#     and b1's entitlement, and leave a_good's alone.
set -u

dir=${1:?usage: leased_revalidate.sh DIR LEASED CERTD KEYD}
leased=${2:?}
certd=${3:?}
keyd=${4:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
pki_setup
cp crls.pem crls-full.pem
start_certd "[::1]:0"
ok $? "guise-certd starts"
CERTD=$(sed -n 1p certd.port)

cat tlsca.crt rootA.crt rootB.crt chain.pem >clients.pem
{
	server_conf leased
	printf '[pool]\nprefix = 2001:db8:ff::/48\n[kernel]\nsync = off\n'
	certd_conf
	echo "on_error = deny"
} >leased.conf
{
	printf '[keyd]\nrole = server\n'
	server_conf keyd
	printf '[control]\nport = 47393\nunicast = ::1\n[kernel]\nsync = off\n'
	certd_conf
	echo "on_error = deny"
} >keyd.conf
# guise-leased's store as the version before re-validation made it
# (without cert_chains), holding a lease with its certificate but no
# chain: it opens, and that lease is left alone (nothing to ask about).
old_db=1
if command -v python3 >/dev/null; then
	python3 - "$dir/leased.db" <<'PY' && old_db=0
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
db.executescript("""
PRAGMA journal_mode=WAL;
CREATE TABLE leases (virtual TEXT PRIMARY KEY, real TEXT NOT NULL,
 peer TEXT NOT NULL, expires INTEGER NOT NULL, created INTEGER NOT NULL,
 flags INTEGER NOT NULL DEFAULT 3, UNIQUE (real, peer));
CREATE INDEX leases_expires ON leases (expires);
CREATE TABLE history (virtual TEXT NOT NULL, real TEXT NOT NULL,
 peer TEXT NOT NULL, start INTEGER NOT NULL, end INTEGER NOT NULL,
 reason TEXT NOT NULL);
CREATE INDEX history_virtual ON history (virtual);
CREATE INDEX history_end ON history (end);
CREATE TABLE lease_certs (virtual TEXT PRIMARY KEY, issuer TEXT NOT NULL,
 serial TEXT NOT NULL);
CREATE INDEX lease_certs_cert ON lease_certs (issuer, serial);
""")
now = int(time.time())
db.execute("INSERT INTO leases VALUES ('2001:db8:ff::77', '2001:db8:9::9',"
           " '2001:db8:3::20', ?, ?, 2)", (now + 3600, now))
db.execute("INSERT INTO lease_certs VALUES ('2001:db8:ff::77', 'MAA=', '1')")
db.commit()
PY
fi
start_daemon leased "$leased" && start_daemon keyd "$keyd"
ok $? "guise-leased and guise-keyd start"
LEASED=$(cat leased.port)
KEYD=$(cat keyd.port)

# Each (re)connection of the event stream runs one re-validation, which
# ends with one "revalidation: N certificates: ..." line: wait for the
# COUNT-th (generous: the stream reconnects with a backoff of up to 30 s).
RUN='revalidation: [0-9]* certificates'
runs_done() { # COUNT
	local w=0
	while { [ "$(grep -c "$RUN" leased.log)" -lt "$1" ] ||
		[ "$(grep -c "$RUN" keyd.log)" -lt "$1" ]; } &&
		[ $w -lt 1200 ]; do
		sleep 0.1
		w=$((w + 1))
	done
	[ "$(grep -c "$RUN" leased.log)" -ge "$1" ] &&
		[ "$(grep -c "$RUN" keyd.log)" -ge "$1" ]
}
runs_done 1
ok $? "both re-validate once connected to certd at start"

ladmin() { local_api leased "$@"; }
kadmin() { local_api keyd "$@"; }
has_lease() { # REAL-ADDRESS
	ladmin /v1/list | grep -q "$1"
}
entitled() { # CLIENT
	kadmin /v1/clients | tr -d ' \n' |
		grep -q "\"id\":\"$1\",\"address\":\"[^\"]*\",\"channels\":\[1\]"
}
metric() { # NAME: guise-leased's value
	ladmin /v1/metrics | sed -n "s/^$1 //p"
}

if [ $old_db -eq 0 ]; then
	has_lease 2001:db8:9::9
	ok $? "a store from before re-validation opens, its lease kept"
else
	ok 0 "# SKIP no python3 to make an old store"
fi
[ "$(rent a_good)" = 201 ] && [ "$(rent b_good)" = 201 ]
ok $? "a_good and b_good rent a lease"
setup_ok=0
kadmin /v1/clients/add '{"id":"a1","address":"2001:db8:1::10"}' >/dev/null || setup_ok=1
kadmin /v1/clients/add '{"id":"b1","address":"2001:db8:2::10"}' >/dev/null || setup_ok=1
kadmin /v1/channels/add '{"id":1,"group":"ff3e::4243","port":5000}' >/dev/null || setup_ok=1
kadmin /v1/entitle '{"client":"a1","channel":1}' >/dev/null || setup_ok=1
kadmin /v1/entitle '{"client":"b1","channel":1}' >/dev/null || setup_ok=1
[ "$(enroll a_good)" = 200 ] && [ "$(enroll b_good)" = 200 ] || setup_ok=1
entitled a1 && entitled b1 || setup_ok=1
ok $setup_ok "a1 and b1 entitled to channel 1 and enrolled"

stop_certd() {
	kill "$CPID" && wait "$CPID" 2>/dev/null
	pids=$(echo "$pids" | sed "s/ $CPID\b//")
}

# 1. certd is away, then answers "unknown" for both: nothing ends.
stop_certd
cat rootA.crl rootB.crl intA2.crl intB2.crl >crls.pem
start_certd "[::1]:$CERTD"
ok $? "guise-certd comes back without intA1's and intB1's CRLs"
runs_done 2
ok $? "both re-validate after the reconnection"
last_run() { # LOG
	grep "$RUN" "$1" | tail -n 1 | sed 's/.*revalidation: //'
}
is "$(last_run leased.log)" \
	"2 certificates: 0 revoked or invalid, 2 unanswered" \
	"guise-leased: certd's answers are unknown"
is "$(last_run keyd.log)" \
	"2 certificates: 0 revoked or invalid, 2 unanswered" \
	"guise-keyd: certd's answers are unknown"
has_lease 2001:db8:1::10 && has_lease 2001:db8:2::10
ok $? "certd's unknown ends no lease (on_error = deny)"
entitled a1 && entitled b1
ok $? "certd's unknown ends no entitlement (on_error = deny)"
is "$(metric guise_leased_revalidation_ended_total)" 0 \
	"metrics: guise_leased_revalidation_ended_total 0"
[ "$(metric guise_leased_revalidation_errors_total)" -ge 2 ]
ok $? "metrics: guise_leased_revalidation_errors_total >= 2"

# 2. certd is away while the CA revokes b_good; no event is ever sent.
stop_certd
CADIR=intB1.d openssl ca -batch -config ca.cnf -revoke b_good.crt \
	-crl_reason keyCompromise 2>/dev/null
CADIR=intB1.d openssl ca -batch -config ca.cnf -gencrl -crlexts crl_ext \
	-out pub/intB1.crl 2>/dev/null
ok $? "the CA revokes b_good while certd is down"
cat rootA.crl rootB.crl intA1.crl intA2.crl pub/intB1.crl intB2.crl \
	>crls.pem
start_certd "[::1]:$CERTD"
ok $? "guise-certd comes back with the new CRL"
runs_done 3
ok $? "both re-validate after the reconnection"
i=0
while { has_lease 2001:db8:2::10 || entitled b1; } && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
! has_lease 2001:db8:2::10
ok $? "b_good's lease is ended"
has_lease 2001:db8:1::10
ok $? "a_good's lease stays"
! entitled b1
ok $? "b1's entitlement is revoked"
entitled a1
ok $? "a1 keeps its entitlement"
[ $old_db -ne 0 ] || has_lease 2001:db8:9::9
ok $? "the old store's lease (no chain kept) is left alone"
is "$(metric guise_leased_revalidation_ended_total)" 1 \
	"metrics: guise_leased_revalidation_ended_total 1"
is "$(metric guise_leased_revocation_events_total)" 0 \
	"metrics: no revocation event was received"
[ "$(metric guise_leased_revalidations_total)" -ge 3 ]
ok $? "metrics: guise_leased_revalidations_total >= 3"
ladmin /v1/audit | tr -d ' \n' >audit.json
grep -q '"action":"revoke"' audit.json &&
	grep -q 'reason=revalidation' audit.json
ok $? "guise-leased audits the revocation, reason revalidation"
kstatus=$(kadmin /v1/status | tr -d ' \n')
echo "$kstatus" | grep -q '"clients_ended":1'
ok $? "keyd status: revalidation clients_ended 1"
kadmin /v1/metrics | grep -q '^guise_keyd_revalidation_ended_total 1$'
ok $? "metrics: guise_keyd_revalidation_ended_total 1"
kadmin /v1/metrics | grep -q '^guise_keyd_certd_events_total 0$'
ok $? "metrics: guise_keyd_certd_events_total 0 (no event)"
code=$(curl -s --max-time 20 --cacert tlsca.crt --cert b_good.crt \
	--key b_good.key -o /dev/null -w '%{http_code}' -X POST \
	"https://[::1]:$KEYD/v1/enroll")
is "$code" 403 "b_good's next request is refused"

cleanup
pids=""
! grep -q 'Sanitizer' leased.log keyd.log
ok $? "no sanitizer report from guise-leased or guise-keyd"
echo "1..$n"
[ $failed -eq 0 ]
