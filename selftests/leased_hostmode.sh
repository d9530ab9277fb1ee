#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# leased_hostmode: host mode end to end (the seed's connecting and
# terminating programs). H runs its own lease table; guise-leased programs
# gateway G. `guise -n H lease acquire` rents over mutual TLS as H's
# certificate identity and installs the egress half in H; the daemon
# installs the ingress half in G. Checked: both halves are there, H's
# traffic to P leaves as V and P's answers come back, only the peer learns
# who is behind V, `guise lease release` removes both halves and the
# traffic stops.
source "$(dirname "$0")/lib.sh"
require_cmd curl openssl guise-leased python3
source "$(dirname "$0")/leasenet.sh"

tmp=$(mktemp -d)
defer rm -rf "$tmp"
sh userspace/tests/leased_certs.sh "$tmp" >/dev/null 2>&1
cat >"$tmp/leased.conf" <<CONF
[server]
listen = [::1]:0
cert = $tmp/server.crt
key = $tmp/server.key
ca = $tmp/ca.crt
db = $tmp/leased.db

[pool]
prefix = 2001:db8:ff::/48
default_lifetime = 10m

[kernel]
sync = on
netns = $G
CONF

hx() { guise -n "$H" "$@"; }
check "G serves the pool" gx config set enabled on vprefix 2001:db8:ff::/48
check "H serves the pool too (its own egress half)" \
	hx config set enabled on vprefix 2001:db8:ff::/48
check "without a lease H cannot reach P (X has no route back to H)" no_ping_p

guise-leased -v --foreground --config "$tmp/leased.conf" --port-file "$tmp/port" \
	>>"$tmp/leased.log" 2>&1 &
pid=$!
defer kill "$pid"
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
check "guise-leased starts" [ -s "$tmp/port" ]
URL="https://[::1]:$(cat "$tmp/port")"
TLS=(--cert "$tmp/host1.crt" --key "$tmp/host1.key" --ca "$tmp/ca.crt")

# The HTTPS request leaves from this namespace; -n H only moves the netlink
# part (the local lease) into H.
out=$(hx -j lease acquire --server "$URL" --peer $PEER --lifetime 10m "${TLS[@]}")
echo "# acquire: $out"
V=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual"])' 2>/dev/null)
check "acquire: a virtual address from the pool" bash -c "[[ '$V' == 2001:db8:ff:* ]]"

flags_of() { # flags_of NS: the flags of the (REAL, PEER) lease there
	guise -n "$1" -j lease show | python3 -c "
import json, sys
print(' '.join(','.join(l['flags']) if isinstance(l['flags'], list) else str(l['flags'])
      for l in json.load(sys.stdin) if l['real'] == '$REAL' and l['peer'] == '$PEER' and l['virt'] == '$V'))"
}
echo "# H: $(flags_of "$H")   G: $(flags_of "$G")"
check "H holds the egress half" bash -c "[[ '$(flags_of "$H")' == *egress* && '$(flags_of "$H")' != *ingress* ]]"
check "G holds the ingress half" bash -c "[[ '$(flags_of "$G")' == *ingress* && '$(flags_of "$G")' != *egress* ]]"

check "traffic: H reaches P through its lease" ping_p
tx=$(hx -j lease show | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats"]["tx_packets"])')
rx=$(gx -j lease show | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["stats"]["rx_packets"])')
check "H rewrote its egress ($tx packets), G its ingress ($rx packets)" \
	bash -c "[ ${tx:-0} -ge 1 ] && [ ${rx:-0} -ge 1 ]"

reveal() { # reveal CLIENT
	curl -sS --cacert "$tmp/ca.crt" --cert "$tmp/$1.crt" --key "$tmp/$1.key" \
		-d "{\"virtual\": \"$V\"}" "$URL/v1/reveal"
}
check "the peer learns who is behind V" bash -c "[[ '$(reveal peer)' == *'\"real\":\"$REAL\"'* ]]"
check "anyone else gets not found" bash -c "[[ '$(reveal host2)' == *'not found'* ]]"

out=$(hx lease release --server "$URL" --virtual "$V" "${TLS[@]}" 2>&1)
check "release: $out" bash -c '[[ $1 == released* ]]' _ "$out"
check "H's half is gone" bash -c "[ -z '$(flags_of "$H")' ]"
check "G's half is gone" bash -c "[ -z '$(flags_of "$G")' ]"
check "after release H no longer reaches P" no_ping_p
check "the daemon is still running" kill -0 "$pid"
sed 's/^/# leased: /' "$tmp/leased.log" | tail -n 10

exit_status
