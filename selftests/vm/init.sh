#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs inside the test VM (as PID 1 after the initramfs's switch_root, or
# under vng) with the host's / mounted read-only. Usage: init.sh RESULTS_DIR.
# RESULTS_DIR/run.env (written by run.sh) says what to run; everything this
# script learns goes back to the host through RESULTS_DIR:
#   <test>.log      output of each test program
#   status          one line per finished test: NAME EXIT-CODE SECONDS
#   current         the test running now (names the culprit of a crash)
#   fatal           lines naming run-level failures (insmod, rmmod, dmesg)
#   dmesg.log       the kernel log at the end
#   done            written last: the run finished
set -uo pipefail

RESULTS=${1:?usage: init.sh RESULTS_DIR}
echo "guise-vm: init.sh started"
# shellcheck source=/dev/null
source "$RESULTS/run.env"
: "${REPO:?}" "${MODULE:?}" "${TEST_LIST:=}" "${DEMO:=}" "${TEST_TIMEOUT:=300}"
export PATH="$REPO/build/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export HOME=/root LANG=C.UTF-8 TERM=dumb
MODNAME=$(basename "$MODULE" .ko)

pid1=0
[ $$ -eq 1 ] && pid1=1

finish() {
	sync
	if [ "$pid1" -eq 1 ]; then
		poweroff -f >/dev/null 2>&1
		echo o >/proc/sysrq-trigger
	fi
	exit "${1:-0}"
}

fatal() {
	echo "guise-vm: FAIL: $*"
	echo "$*" >>"$RESULTS/fatal"
}

cd "$REPO" || { fatal "no checkout at $REPO in the guest"; finish 1; }

if [ "$pid1" -eq 1 ]; then
	hostname guise-vm
	# request_module() must find the host's modprobe (and its modules).
	echo /sbin/modprobe >/proc/sys/kernel/modprobe
	ip link set lo up
	mkdir -p /run/netns /run/lock
fi

# insmod does not resolve dependencies (modprobe would, once installed):
# load what modinfo names first, as modprobe would.
load_deps() {
	local deps
	deps=$(modinfo -F depends "$MODULE" 2>/dev/null | tr ',' ' ')
	[ -z "$deps" ] || modprobe -a $deps
}

load_module() {
	local out
	load_deps
	if ! out=$(insmod "$MODULE" 2>&1); then
		fatal "insmod $MODULE failed: $out"
		return 1
	fi
}

scan_dmesg() {
	local hits
	dmesg >"$RESULTS/dmesg.log" 2>&1
	hits=$(grep -E 'WARNING:|BUG:|Oops|general protection|KASAN|UBSAN|kmemleak|Call Trace|leaked' \
		"$RESULTS/dmesg.log" | head -n 5)
	if [ -n "$hits" ]; then
		while IFS= read -r l; do
			fatal "kernel log: $l"
		done <<<"$hits"
	fi
}

# --- demo: stream to the console ---------------------------------------------
if [ -n "$DEMO" ]; then
	MODULE=$MODULE bash "$DEMO" 2>&1 | tee "$RESULTS/demo.log"
	rc=${PIPESTATUS[0]}
	echo "demo $rc 0" >>"$RESULTS/status"
	[ "$rc" -eq 0 ] || fatal "demo script exited $rc"
	[ -d "/sys/module/$MODNAME" ] && { rmmod "$MODNAME" || fatal "rmmod $MODNAME failed"; }
	scan_dmesg
	echo ok >"$RESULTS/done"
	finish "$rc"
fi

# --- tests ---------------------------------------------------------------------
if ! load_module; then
	scan_dmesg
	echo ok >"$RESULTS/done"
	finish 1
fi
echo "guise-vm: $MODNAME loaded; running: ${TEST_LIST:-(none)}"

for t in $TEST_LIST; do
	if [ -f "selftests/$t.sh" ]; then
		cmd=(bash "selftests/$t.sh")
		src="selftests/$t.sh"
	else
		cmd=("$REPO/build/selftests/$t")
		src="selftests/$t.c"
	fi
	# A test may ask for a longer timeout with a "# timeout: SEC" line.
	tt=$(sed -n 's@^\(#\|//\) *timeout: *\([0-9][0-9]*\).*@\2@p' "$src" 2>/dev/null | head -n 1)
	tt=${tt:-$TEST_TIMEOUT}
	echo "$t" >"$RESULTS/current"
	start=$(date +%s%N)
	timeout -k 10 "$tt" "${cmd[@]}" >"$RESULTS/$t.log" 2>&1 </dev/null
	rc=$?
	secs=$(( ($(date +%s%N) - start) / 1000000 ))
	secs=$(printf '%d.%03d' $((secs / 1000)) $((secs % 1000)))
	[ "$rc" -eq 124 ] && echo "# runner: timed out after ${tt}s" >>"$RESULTS/$t.log"
	# Everything a test creates it must destroy.
	left=$(ip netns list 2>/dev/null | awk '{print $1}' | tr '\n' ' ')
	if [ -n "$left" ]; then
		echo "not ok 9999 - runner: test left network namespaces behind: $left" >>"$RESULTS/$t.log"
		for ns in $left; do ip netns delete "$ns" 2>/dev/null; done
	fi
	echo "$t $rc $secs" >>"$RESULTS/status"
	case $rc in
	0) res=ok ;; 4) res=skip ;; 124) res="TIMEOUT" ;; *) res="FAIL (exit $rc)" ;;
	esac
	echo "guise-vm: $t: $res (${secs}s)"
	# A test may unload the module (config_netlink does); put it back.
	if [ ! -d "/sys/module/$MODNAME" ]; then
		echo "# runner: $MODNAME was not loaded after the test; reloading" >>"$RESULTS/$t.log"
		load_module || break
	fi
done
rm -f "$RESULTS/current"

if [ -d "/sys/module/$MODNAME" ]; then
	if out=$(rmmod "$MODNAME" 2>&1); then
		[ -d "/sys/module/$MODNAME" ] && fatal "$MODNAME still present after rmmod"
	else
		fatal "rmmod $MODNAME failed: $out"
	fi
fi
scan_dmesg
echo ok >"$RESULTS/done"
finish 0
