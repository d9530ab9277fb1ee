# SPDX-License-Identifier: GPL-2.0
#
# The lease test network, sourced by the lease_* tests after lib.sh:
#
#   H (REAL) --- G (owns 2001:db8:ff::/48) --- X (router) ---- P (PEER)
#   2001:db8:1::10        2001:db8:2::/64       |  MTU 1280 on X's side
#                                               +---- T (third party)
#
# X knows a route to the virtual prefix (via G) but none to H's real
# prefix: only leased traffic can get an answer. Defines the namespaces
# $H $G $X $P $T, the addresses, and helpers gx (guise in G), gstat NAME
# (a global counter in G), lease_stat NAME (a counter of the first lease),
# ping_p / no_ping_p (H pings P once).

REAL=2001:db8:1::10 PEER=2001:db8:3::20 T_ADDR=2001:db8:4::30 VIRT=2001:db8:ff::1234

setup_ns H G X P T
defer cleanup_all_ns

link() { # link NS1 IF1 ADDR1 NS2 IF2 ADDR2
	ip link add "$2" netns "$1" type veth peer name "$5" netns "$4"
	ip -n "$1" addr add "$3" dev "$2" nodad
	ip -n "$4" addr add "$6" dev "$5" nodad
	ip -n "$1" link set "$2" up
	ip -n "$4" link set "$5" up
}
link "$H" h0 $REAL/64 "$G" g0 2001:db8:1::1/64
link "$G" g1 2001:db8:2::1/64 "$X" x0 2001:db8:2::2/64
link "$X" x1 2001:db8:3::1/64 "$P" p0 $PEER/64
link "$X" x2 2001:db8:4::1/64 "$T" t0 $T_ADDR/64
ip -n "$X" link set x1 mtu 1280	# P's side stays 1500: X must send PTB
for ns in "$G" "$X"; do
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.forwarding=1
done
ip -n "$H" route add default via 2001:db8:1::1
ip -n "$G" route add default via 2001:db8:2::2
ip -n "$X" route add 2001:db8:ff::/48 via 2001:db8:2::1
ip -n "$P" route add default via 2001:db8:3::1
ip -n "$T" route add default via 2001:db8:4::1

gx() { guise -n "$G" "$@"; }
# (gstat reads the "name value" lines: a python start to read JSON takes a
# second or two under emulation)
gstat() { gx stats | awk -v k="$1" '$1 == k { print $2; n++ } END { exit !n }'; }
lease_stat() { gx -j lease show | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['stats']['$1'])"; }
ping_p() { ip netns exec "$H" ping -6 -c 1 -W 2 $PEER >/dev/null; }
no_ping_p() { ! ping_p; }


# serve NS OUTFILE ARGS...: start `nettool.py ARGS` in NS in the background
# and wait (up to 20 s) until it says it is ready.
serve() {
	local ns=$1 out=$2
	shift 2
	: >"$out"
	ip netns exec "$ns" python3 selftests/nettool.py "$@" >"$out" 2>&1 &
	for _ in $(seq 200); do
		grep -q ready "$out" && return 0
		sleep 0.1
	done
	echo "# server $* never became ready"
	return 1
}
