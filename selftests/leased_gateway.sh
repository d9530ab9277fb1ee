#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 900
#
# leased_gateway: guise-leased programs a real kernel.
#
# The lease network of leasenet.sh; the daemon runs beside it with the
# kernel sync in gateway G's namespace and gateway mode on. Checked: the
# first packet of a new flow H -> P gets a lease on demand (LEASE_MISS ->
# rent -> LEASE_NEW releases the held packet); an API rent by host mTLS
# identity installs its (ingress) lease and a return removes it; the
# peer alone learns the real address; after kill -9 the daemon reconciles:
# a lease the kernel lost comes back, a lease the store never made goes;
# after rmmod/insmod (and G configured again) it reinstalls every lease
# and gateway mode works again; the sweeper removes an expired lease from
# the kernel.
source "$(dirname "$0")/lib.sh"
require_cmd curl openssl guise-leased
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

[gateway]
enabled = on
CONF

check "G serves the pool, upcall for H's prefix" gx config set enabled on \
	vprefix 2001:db8:ff::/48 miss 2001:db8:1::/64 upcall upcall-timeout 3000

start_daemon() {
	rm -f "$tmp/port"
	guise-leased -v --foreground --config "$tmp/leased.conf" --port-file "$tmp/port" \
		>>"$tmp/leased.log" 2>&1 &
	echo $! >"$tmp/pid"
	for _ in $(seq 100); do [ -s "$tmp/port" ] && return 0; sleep 0.1; done
	return 1
}
# kill -9: no chance to clean up, as in a crash.
stop_daemon() {
	local pid
	pid=$(cat "$tmp/pid" 2>/dev/null) || return 0
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}
defer stop_daemon
api() { # api CLIENT PATH JSON
	curl -sS --cacert "$tmp/ca.crt" --cert "$tmp/$1.crt" --key "$tmp/$1.key" \
		-H 'Content-Type: application/json' -d "$3" \
		"https://[::1]:$(cat "$tmp/port")$2"
}
kernel_has() { gx -j lease show | python3 -c "
import json, sys
sys.exit(0 if any(l['real'] == '$1' and l['peer'] == '$2' for l in json.load(sys.stdin)) else 1)"; }
kernel_virt() { gx -j lease show | python3 -c "
import json, sys
print(''.join(l['virt'] for l in json.load(sys.stdin) if l['real'] == '$1'))"; }

start_daemon
check "guise-leased starts and programs G" [ -s "$tmp/port" ]

check "first contact H -> P: held, leased on demand, answered" \
	ip netns exec "$H" ping -6 -c 1 -W 5 $PEER
check "the kernel holds the daemon's lease for (H, P)" kernel_has $REAL $PEER
check "... with a virtual address from the pool" \
	bash -c "[[ \$(guise -n $G -j lease show | python3 -c 'import json,sys; print(json.load(sys.stdin)[0][\"virt\"])') == 2001:db8:ff:* ]]"

out=$(api host2 /v1/rent "{\"peer\": \"$PEER\", \"lifetime\": 600}")
echo "# rent: $out"
V2=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual"])' 2>/dev/null)
check "host mode: a rent by mTLS identity 2001:db8:1::11 installs its lease" \
	kernel_has 2001:db8:1::11 $PEER
check "... under the virtual address the API returned" \
	[ "$(kernel_virt 2001:db8:1::11)" = "$V2" ]
check "only the peer learns who is behind it" \
	bash -c "$(declare -f api); tmp=$tmp; api peer /v1/reveal '{\"virtual\": \"$V2\"}' | grep -q '2001:db8:1::11'"
check "anyone else gets not found" \
	bash -c "$(declare -f api); tmp=$tmp; api host1 /v1/reveal '{\"virtual\": \"$V2\"}' | grep -q 'not found'"
check "return removes it from the kernel" \
	bash -c "$(declare -f api gx kernel_has); tmp=$tmp G=$G; api host2 /v1/return '{\"virtual\": \"$V2\"}' >/dev/null; ! kernel_has 2001:db8:1::11 $PEER"

# --- kill -9, then reconcile ------------------------------------------------------
stop_daemon
check "the kernel loses the daemon's lease" gx lease del $REAL $PEER
check "a stray lease the store never made" \
	gx lease add 2001:db8:1::99 $PEER 2001:db8:ff::99 lifetime 600
check "the old daemon is gone" bash -c "! kill -0 $(cat "$tmp/pid")"
start_daemon
check "guise-leased restarts" [ -s "$tmp/port" ]
sleep 1
check "reconcile: the lost lease is back" kernel_has $REAL $PEER
check "reconcile: the stray lease is gone" \
	bash -c "$(declare -f gx kernel_has); G=$G; ! kernel_has 2001:db8:1::99 $PEER"

# --- module reload -----------------------------------------------------------------
# The module comes back empty, with a new family id: the daemon notices
# (controller notification), and once the operator has configured G
# again, reconciles on its own: both leases back under the same V, and
# gateway mode (the events group has a new id too) rents again.
out=$(api host2 /v1/rent "{\"peer\": \"$PEER\", \"lifetime\": 600}")
V3=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["virtual"])' 2>/dev/null)
check "a host-mode lease before the reload" kernel_has 2001:db8:1::11 $PEER
check "rmmod while the daemon runs" rmmod guise
check "insmod again" insmod kmod/guise.ko
sleep 0.5
check "G configured again" gx config set enabled on \
	vprefix 2001:db8:ff::/48 miss 2001:db8:1::/64 upcall upcall-timeout 3000
check "module reload: the daemon reinstalls the gateway lease" \
	busywait 15000 kernel_has $REAL $PEER
check "... and the host-mode lease, under the same virtual address" \
	busywait 5000 bash -c "$(declare -f gx kernel_virt); G=$G; [ \"\$(kernel_virt 2001:db8:1::11)\" = '$V3' ]"
check "... and says so" grep -q "kernel reconciled with the store" "$tmp/leased.log"
check "gateway mode after the reload: a new flow is leased on demand" \
	ip netns exec "$H" ping -6 -c 1 -W 5 $T_ADDR
check "... the kernel holds the daemon's lease for (H, T)" kernel_has $REAL $T_ADDR
api host2 /v1/return "{\"virtual\": \"$V3\"}" >/dev/null

# 6 s: long enough to see it installed on a loaded TCG guest (a 2 s lease
# could be gone before the first look), short enough to wait out.
out=$(api host2 /v1/rent "{\"peer\": \"$PEER\", \"lifetime\": 6}")
check "a 6 s lease is installed" kernel_has 2001:db8:1::11 $PEER
check "... and gone from the kernel after expiry" \
	busywait 20000 bash -c "$(declare -f gx kernel_has); G=$G; ! kernel_has 2001:db8:1::11 $PEER"
check "the daemon is still running" kill -0 "$(cat "$tmp/pid")" ||
	{ wait "$(cat "$tmp/pid")"; echo "# guise-leased exited with $?"; }
sed 's/^/# leased: /' "$tmp/leased.log" | tail -n 20

exit_status
