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

step "stats: datapath counters"
run guise stats

step "unload: remove the namespaces and the module"
cleanup
run rmmod guise
run test ! -d /sys/module/guise
run sh -c 'dmesg | tail -n 3'
echo
echo "== demo finished: every step succeeded"
