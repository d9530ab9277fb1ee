#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# guest.sh: the benchmarks of one `make bench` VM boot, in the guest
# (bench/run.sh starts it with selftests/vm/run.sh --demo; working
# directory = the checkout, $MODULE = the module, already loaded).
#
#   BENCH_WHAT (build/bench/params.env): all (default), lease, content,
#   revoke or firstpkt
#
# The lease benchmark (bench/lease_bench.sh) runs first, then the content
# benchmark (bench/content_bench.sh), then the revocation end-to-end
# benchmark (bench/revoke_bench.sh, issue 7 (e)), then the gateway-mode
# first-packet benchmark (bench/firstpkt_bench.sh, issue 5); each prints its own
# report between "=== results" and "=== end". Between the two, the lease benchmark's
# namespaces (up to a million leases) are freed by the kernel's netns
# cleanup worker: wait for it, so that it does not eat the content
# benchmark's CPU time.
set -uo pipefail

# shellcheck source=/dev/null
[ -f build/bench/params.env ] && source build/bench/params.env
WHAT=${BENCH_WHAT:-all}
# bench/run.sh's copy of the CLI, not build/bin's (rebuilt meanwhile?)
[ -x build/bench/bin/guise ] && export PATH=$PWD/build/bench/bin:$PATH

# settle_netns: until no namespace is left and unreclaimable slab stops
# shrinking (at most 120 s)
settle_netns() {
	local i prev=0 cur
	for ((i = 0; i < 60; i++)); do
		cur=$(awk '/^SUnreclaim:/ { print $2 }' /proc/meminfo)
		if [ -z "$(ip netns list 2>/dev/null)" ] && [ "$cur" -ge $((prev - 512)) ] &&
			[ "$prev" -ne 0 ]; then
			break
		fi
		prev=$cur
		sleep 2
	done
	echo "# netns cleanup settled after $((i * 2)) s (SUnreclaim ${cur} kB)"
}

rc=0
T0=$(date +%s)
echo "=== bench: guest $(uname -r), $(nproc) vCPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
case $WHAT in
all | lease) bash bench/lease_bench.sh || rc=1 ;;
esac
if [ "$WHAT" = all ]; then
	settle_netns
fi
case $WHAT in
all | content) bash bench/content_bench.sh || rc=1 ;;
esac
case $WHAT in
all | revoke) bash bench/revoke_bench.sh || rc=1 ;;
esac
case $WHAT in
all | firstpkt) bash bench/firstpkt_bench.sh || rc=1 ;;
esac
echo "=== bench: the parts took $(($(date +%s) - T0)) s in the guest"
exit "$rc"
