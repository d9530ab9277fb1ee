#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# config_netlink: the per-netns configuration over generic netlink, end to
# end through the CLI and, for input the CLI refuses to send, raw messages.
#   - defaults, set/get round trip, list replacement and clearing
#   - a rejected CONFIG_SET changes nothing
#   - strict policies: bad lengths, ranges, unknown attributes, read-only
#     attributes are refused with an extended-ack message
#   - CAP_NET_ADMIN over the netns is required (and sufficient in a netns
#     owned by an unprivileged user namespace), to join the events group too
#   - one netns's configuration is invisible in another
#   - the module unloads while namespaces with configuration still exist
source "$(dirname "$0")/lib.sh"

cfg() { guise -j "$@" config show; }
# jq-less JSON field access: cfg_field NETNS-ARGS... -- PYTHON-EXPR
field() {
	python3 -c 'import json,sys; c=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}
genl() { python3 selftests/genl.py expect-error "$@"; }

# Attribute numbers (include/uapi/linux/guise.h), for the raw messages.
CMD_CONFIG_SET=2
A_CONFIG=1 A_STATS=4
C_ENABLED=1 C_VPREFIXES=2 C_MISS=3 C_MAX_LEASES=4 C_QLEN=5 C_TIMEOUT=6
C_LEASE_COUNT=7 C_ROUTING=9
P_ADDR=1 P_LEN=2 P_POLICY=3
ADDR=20010db8000000ff0000000000000000

setup_ns A B
defer cleanup_all_ns

# --- defaults --------------------------------------------------------------
out=$(cfg -n "$A")
check "defaults: disabled" [ "$(echo "$out" | field 'c["enabled"]')" = False ]
check "defaults: max leases 1048576" \
	[ "$(echo "$out" | field 'c["max_leases"]')" = 1048576 ]
check "defaults: upcall qlen 8, timeout 200 ms" \
	[ "$(echo "$out" | field '(c["upcall_qlen"], c["upcall_timeout_ms"])')" = "(8, 200)" ]
check "defaults: routing headers pass" \
	[ "$(echo "$out" | field 'c["routing_header"]')" = pass ]
check "defaults: no prefixes, no rules" \
	[ "$(echo "$out" | field 'len(c["vprefixes"]) + len(c["miss_rules"])')" = 0 ]

# --- round trip ------------------------------------------------------------
check "set everything" guise -n "$A" config set enabled on \
	vprefix 2001:db8:ff::/48 vprefix fd00:ff::/64 \
	miss 2001:db8:1::/64 upcall miss 2001:db8::/32 drop \
	max-leases 1000 upcall-qlen 16 upcall-timeout 500 routing-header drop
out=$(cfg -n "$A")
check "round trip: enabled" [ "$(echo "$out" | field 'c["enabled"]')" = True ]
check "round trip: vprefixes" \
	[ "$(echo "$out" | field 'sorted(c["vprefixes"])')" = "['2001:db8:ff::/48', 'fd00:ff::/64']" ]
check "round trip: miss rules" \
	[ "$(echo "$out" | field 'sorted((r["prefix"], r["policy"]) for r in c["miss_rules"])')" = \
	  "[('2001:db8:1::/64', 'upcall'), ('2001:db8::/32', 'drop')]" ]
check "round trip: numbers" \
	[ "$(echo "$out" | field '(c["max_leases"], c["upcall_qlen"], c["upcall_timeout_ms"])')" = "(1000, 16, 500)" ]
check "round trip: routing header drop" \
	[ "$(echo "$out" | field 'c["routing_header"]')" = drop ]

check "vprefix list is replaced" guise -n "$A" config set vprefix 2001:db8:aa::/56
check "replaced: one vprefix left" \
	[ "$(cfg -n "$A" | field 'c["vprefixes"]')" = "['2001:db8:aa::/56']" ]
check "miss rules untouched by a vprefix change" \
	[ "$(cfg -n "$A" | field 'len(c["miss_rules"])')" = 2 ]
check "novprefixes clears" guise -n "$A" config set novprefixes nomiss
check "cleared" [ "$(cfg -n "$A" | field 'len(c["vprefixes"]) + len(c["miss_rules"])')" = 0 ]
check "text output names the fields" \
	bash -c "guise -n $A config show | grep -q 'max-leases 1000'"
check "text output: routing-header drop" \
	bash -c "guise -n $A config show | grep -qx 'routing-header drop'"
check "routing header unchanged by a list change" \
	[ "$(cfg -n "$A" | field 'c["routing_header"]')" = drop ]
check "routing-header pass" guise -n "$A" config set routing-header pass
check "routing header back to pass" \
	[ "$(cfg -n "$A" | field 'c["routing_header"]')" = pass ]
check "the CLI refuses another routing header policy" \
	bash -c "! guise -n $A config set routing-header upcall 2>/dev/null"

# Policy violations of a range or length are ERANGE, others EINVAL.
# --- rejected requests change nothing --------------------------------------
before=$(cfg -n "$A")
ip netns exec "$A" python3 selftests/genl.py expect-error ERANGE "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, u8($C_ENABLED, 0), u32($C_QLEN, 100000))" >/dev/null
check "out-of-range qlen rejected, enabled not applied" \
	[ "$(cfg -n "$A")" = "$before" ]

nsgenl() { ip netns exec "$A" python3 selftests/genl.py expect-error "$@"; }
check "enabled must be 0 or 1" nsgenl ERANGE "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, u8($C_ENABLED, 7))"
check "address of 15 bytes" nsgenl ERANGE "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, nest($C_VPREFIXES, nest(1, raw($P_ADDR, '${ADDR:0:30}'), u8($P_LEN, 48))))"
check "prefix length 129" nsgenl ERANGE "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, nest($C_VPREFIXES, nest(1, raw($P_ADDR, '$ADDR'), u8($P_LEN, 129))))"
check "prefix without a length" nsgenl EINVAL "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, nest($C_VPREFIXES, nest(1, raw($P_ADDR, '$ADDR'))))"
check "miss policy out of range" nsgenl ERANGE "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, nest($C_MISS, nest(1, raw($P_ADDR, '$ADDR'), u8($P_LEN, 48), u8($P_POLICY, 9))))"
check "routing header policy out of range" nsgenl ERANGE "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, u8($C_ROUTING, 2))"
check "max leases 0" nsgenl ERANGE "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, u32($C_MAX_LEASES, 0))"
check "max leases over GUISE_MAX_MAX_LEASES (16777217)" nsgenl ERANGE "" \
	$CMD_CONFIG_SET "nest($A_CONFIG, u32($C_MAX_LEASES, 16777217))"
check "max leases 2^32-1" nsgenl ERANGE "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, u32($C_MAX_LEASES, 4294967295))"
check "upcall timeout 0" nsgenl ERANGE "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, u32($C_TIMEOUT, 0))"
check "read-only lease count (extack says why)" nsgenl EINVAL "read" \
	$CMD_CONFIG_SET "nest($A_CONFIG, u32($C_LEASE_COUNT, 5))"
check "unknown attribute in the nest" nsgenl EINVAL "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, u32(99, 1))"
check "unknown top-level attribute" nsgenl EINVAL "" $CMD_CONFIG_SET \
	"u32(42, 1)"
check "a statistics nest is read-only" nsgenl EINVAL "read-only" \
	$CMD_CONFIG_SET "u64($A_STATS, 1)"
check "virtual prefix ::/0 refused" nsgenl EINVAL "::/0" $CMD_CONFIG_SET \
	"nest($A_CONFIG, nest($C_VPREFIXES, nest(1, raw($P_ADDR, '$ADDR'), u8($P_LEN, 0))))"
check "multicast virtual prefix refused" nsgenl EINVAL "unicast" \
	$CMD_CONFIG_SET "nest($A_CONFIG, nest($C_VPREFIXES, nest(1, raw($P_ADDR, 'ff0e0000000000000000000000000000'), u8($P_LEN, 16))))"
check "duplicate virtual prefix refused" nsgenl EINVAL "duplicate" \
	$CMD_CONFIG_SET "nest($A_CONFIG, nest($C_VPREFIXES, nest(1, raw($P_ADDR, '$ADDR'), u8($P_LEN, 48)), nest(2, raw($P_ADDR, '$ADDR'), u8($P_LEN, 48))))"
check "miss rule without a policy refused" nsgenl EINVAL "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, nest($C_MISS, nest(1, raw($P_ADDR, '$ADDR'), u8($P_LEN, 48))))"
check "unknown command refused" nsgenl EOPNOTSUPP "" 99 'b""'
check "too many vprefixes (65)" nsgenl EINVAL "" $CMD_CONFIG_SET \
	"nest($A_CONFIG, nest($C_VPREFIXES, $(for i in $(seq 1 65); do
		printf 'nest(%d, raw(%d, \"20010db8%04x00000000000000000000\"), u8(%d, 64)), ' \
			"$i" $P_ADDR "$i" $P_LEN; done)))"
check "configuration unchanged by all of the above" [ "$(cfg -n "$A")" = "$before" ]

# --- counters --------------------------------------------------------------
check "stats: every counter, by name, zero in a new netns" \
	[ "$(guise -n "$B" -j stats | field '(len(c), sum(c.values()), "drop_not_peer" in c, "drop_too_big" in c, "drop_direct" in c, "drop_routing" in c, "drop_fragment" in c)')" = "(29, 0, True, True, True, True, True)" ]

# --- permissions -----------------------------------------------------------
ip netns exec "$A" unshare -U --map-root-user guise config show >/dev/null 2>&1
rc=$?
check "no CAP_NET_ADMIN over the netns: exit 4 (permission denied)" [ $rc -eq 4 ]
ip netns exec "$A" unshare -U --map-root-user \
	guise config set enabled on >/dev/null 2>&1
rc=$?
check "no CAP_NET_ADMIN: set refused too" [ $rc -eq 4 ]
check "owner of a new user+net namespace may configure it" \
	unshare -U -n --map-root-user sh -c \
	'guise config set enabled on && guise -j config show | grep -q "\"enabled\": true"'
# The events group names real addresses and peers: as private as leases.
check "root may join the events group" \
	ip netns exec "$A" python3 selftests/genl.py join
out=$(ip netns exec "$A" setpriv --reuid=nobody --regid=nogroup --clear-groups \
	python3 selftests/genl.py join 2>&1)
check "an unprivileged user may not join the events group (EPERM)" \
	[ "$out" = EPERM ]
out=$(ip netns exec "$A" unshare -U --map-root-user python3 selftests/genl.py join 2>&1)
check "no CAP_NET_ADMIN over the netns: may not join either (EPERM)" \
	[ "$out" = EPERM ]
check "owner of a new user+net namespace may join its events group" \
	unshare -U -n --map-root-user python3 selftests/genl.py join

# --- isolation -------------------------------------------------------------
check "set in A" guise -n "$A" config set enabled on vprefix 2001:db8:ff::/48
check "B does not see A's configuration" \
	[ "$(cfg -n "$B" | field '(c["enabled"], c["vprefixes"])')" = "(False, [])" ]
check "init netns does not see A's configuration" \
	[ "$(cfg | field 'c["vprefixes"]')" = "[]" ]

# --- unload with live namespaces --------------------------------------------
check "rmmod with configured namespaces" rmmod guise
check "insmod again" insmod kmod/guise.ko
check "A is back to defaults after reload" \
	[ "$(cfg -n "$A" | field '(c["enabled"], c["vprefixes"])')" = "(False, [])" ]

exit_status
