#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The `make demo` script: runs in the test VM (selftests/vm/run.sh --demo),
# on the console, with the checkout as working directory and $MODULE the
# module to load. Every command is echoed before its output; any failing
# step ends the demo with a non-zero exit.
set -uo pipefail

MODULE=${MODULE:-kmod/guise.ko}
A=demo-a
B=demo-b

step() { printf '\n== %s\n' "$*"; }
run() {
	local rc=0
	printf '$ %s\n' "$*"
	"$@" || rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "demo: FAILED (exit $rc): $*"
		exit 1
	fi
}
cleanup() {
	ip netns delete "$A" 2>/dev/null
	ip netns delete "$B" 2>/dev/null
}
trap cleanup EXIT

step "module: load guise.ko into the guest's kernel ($(uname -r))"
# insmod does not load dependencies; modprobe them first.
run modprobe -a $(modinfo -F depends "$MODULE" | tr ',' ' ')
run insmod "$MODULE"
run modinfo -F description "$MODULE"
run modinfo -F vermagic "$MODULE"
run grep -w '^guise' /proc/modules
run ls /sys/module/guise

step "namespaces: two network namespaces, A=$A and B=$B"
run ip netns add "$A"
run ip netns add "$B"
run ip netns list

step "config: enable guise in A with a virtual prefix and a miss rule"
run guise -n "$A" config set enabled on vprefix 2001:db8:ff::/48 \
	miss 2001:db8:1::/64 upcall
run guise -n "$A" config show
run guise -n "$A" -j config show

step "isolation: namespace B still has the defaults"
run guise -n "$B" config show

step "leases: a host H (real 2001:db8:1::10) behind gateway G talks to peer P"
H=demo-h G=demo-g P=demo-p T=demo-t
cleanup_leases() { for n in $H $G $P $T; do ip netns delete "$n" 2>/dev/null; done; }
trap 'cleanup; cleanup_leases' EXIT
for n in $H $G $P $T; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip link add h0 netns $H type veth peer name g0 netns $G
ip link add g1 netns $G type veth peer name p0 netns $P
ip link add g2 netns $G type veth peer name t0 netns $T
ip -n $H addr add 2001:db8:1::10/64 dev h0 nodad
ip -n $G addr add 2001:db8:1::1/64 dev g0 nodad
ip -n $G addr add 2001:db8:3::1/64 dev g1 nodad
ip -n $P addr add 2001:db8:3::20/64 dev p0 nodad
ip -n $G addr add 2001:db8:4::1/64 dev g2 nodad
ip -n $T addr add 2001:db8:4::30/64 dev t0 nodad
for l in "$H h0" "$G g0" "$G g1" "$P p0" "$G g2" "$T t0"; do set -- $l; ip -n $1 link set $2 up; done
ip netns exec $G sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n $H route add default via 2001:db8:1::1
# P and T know the virtual prefix (via G) but not H's real prefix.
ip -n $P route add 2001:db8:ff::/48 via 2001:db8:3::1
ip -n $T route add 2001:db8:ff::/48 via 2001:db8:4::1
run guise -n $G config set enabled on vprefix 2001:db8:ff::/48
echo "# without a lease, P cannot answer H's real address:"
printf '$ %s\n' "ip netns exec $H ping -c 1 -W 1 2001:db8:3::20"
ip netns exec $H ping -6 -c 1 -W 1 2001:db8:3::20 | grep -E 'transmitted'

step "leases: rent 2001:db8:ff::1234 to (H, P) for 10 s"
# Listen for the expiry event from now on: on a loaded TCG host the steps
# below can take longer than the lease lives.
guise -n $G monitor lease count 1 >/tmp/demo-events.txt &
mon=$!
run guise -n $G lease add 2001:db8:1::10 2001:db8:3::20 2001:db8:ff::1234 lifetime 10
ip netns exec $P tcpdump -i p0 -n -c 2 icmp6 and 'ip6[40] == 128 or ip6[40] == 129' 2>/dev/null >/tmp/demo-cap.txt &
cap=$!
sleep 1
run ip netns exec $H ping -6 -c 2 -i 0.3 2001:db8:3::20
wait $cap
echo "# what P sees on its wire (never 2001:db8:1::10):"
sed 's/^/    /' /tmp/demo-cap.txt
run guise -n $G lease show

step "leases: a third party T cannot reach the virtual address"
printf '$ %s\n' "ip netns exec $T ping -c 1 -W 1 2001:db8:ff::1234"
ip netns exec $T ping -6 -c 1 -W 1 2001:db8:ff::1234 | grep -E 'transmitted'
run sh -c "guise -n $G stats | grep -E '^(lease_tx|lease_rx|drop_not_peer) '"

step "leases: expiry is enforced in the kernel, and announced"
echo "# waiting for the lease to run out ..."
wait $mon
sed 's/^/    /' /tmp/demo-events.txt
printf '$ %s\n' "ip netns exec $H ping -c 1 -W 1 2001:db8:3::20"
ip netns exec $H ping -6 -c 1 -W 1 2001:db8:3::20 | grep -E 'transmitted'

step "leases: upcall -- the first packet waits for a lease instead of leaking"
run guise -n $G config set miss 2001:db8:1::/64 upcall upcall-timeout 3000
( guise -n $G -j monitor lease count 1 >/tmp/demo-miss.txt &&
  guise -n $G lease add 2001:db8:1::10 2001:db8:3::20 2001:db8:ff::77 lifetime 60 ) &
sleep 1
run ip netns exec $H ping -6 -c 1 -W 5 2001:db8:3::20
wait
echo "# the event a lease daemon would answer:"
sed 's/^/    /' /tmp/demo-miss.txt
run sh -c "guise -n $G stats | grep -E '^miss_(event|queued|released) '"
cleanup_leases

step "content: sender S multicasts plain UDP; the kernel encrypts it"
SW=demo-sw S=demo-s R1=demo-r1 U=demo-u
cleanup_content() { for n in $SW $S $R1 $U; do ip netns delete "$n" 2>/dev/null; done; }
trap 'cleanup; cleanup_content' EXIT
for n in $SW $S $R1 $U; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n $SW link add br0 type bridge mcast_snooping 0
ip -n $SW link set br0 up
i=1
for n in $S $R1 $U; do
	ip link add eth0 netns $n type veth peer name p$i netns $SW
	ip -n $SW link set p$i master br0 up
	ip -n $n addr add fd00:c::$i/64 dev eth0 nodad
	ip -n $n link set eth0 up
	guise -n $n config set enabled on
	i=$((i + 1))
done
K=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
run guise -n $S key add ff3e::4242 5000 id 1 alg chacha20-poly1305 dir tx secret $K salt c0c1c2c3
run guise -n $R1 key add ff3e::4242 5000 id 1 alg chacha20-poly1305 dir rx secret $K salt c0c1c2c3
run guise -n $R1 key show
echo "# U has no key."
mrecv() { ip netns exec $1 python3 selftests/nettool.py mcast-recv ff3e::4242 5000 eth0 5 >/tmp/demo-$1.txt & }
mrecv $R1; mrecv $U
ip netns exec $SW tcpdump -i p1 -n -c 1 -X udp port 5000 2>/dev/null >/tmp/demo-wire.txt &
sleep 1
run ip netns exec $S python3 selftests/nettool.py mcast-send ff3e::4242 5000 eth0 20 1200
sleep 5
echo "# one datagram as it crosses the wire (header 47 01 01 01, key id, sequence, ciphertext):"
head -n 6 /tmp/demo-wire.txt | sed 's/^/    /'
echo "# the applications (plain UDP sockets) report good = byte-identical plaintext:"
echo "    R1 (key):    $(tail -n 1 /tmp/demo-$R1.txt)"
echo "    U  (no key): $(tail -n 1 /tmp/demo-$U.txt)"

step "content: revocation -- flush R1's keys and it gets nothing readable"
run guise -n $R1 key flush
mrecv $R1
sleep 1
ip netns exec $S python3 selftests/nettool.py mcast-send ff3e::4242 5000 eth0 5 600 >/dev/null
sleep 5
echo "    R1 after revocation: $(tail -n 1 /tmp/demo-$R1.txt)"
run sh -c "guise -n $S stats | grep -E '^content_encrypted '"
cleanup_content

# The daemons' scenes: selftests/vm/demo_<daemon>.sh, sourced in order
# (they use step/run and clean up after themselves).
for part in selftests/vm/demo_*.sh; do
	[ "$part" = selftests/vm/demo_guest.sh ] && continue
	[ -f "$part" ] || continue
	# shellcheck disable=SC1090
	. "$part"
done

step "stats: counters of the init namespace"
run guise stats

step "unload: remove the namespaces and the module"
cleanup
run rmmod guise
run test ! -d /sys/module/guise
run sh -c 'dmesg | tail -n 3'
echo
echo "== demo finished: every step succeeded"
