#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# check.sh: what `make check` runs. Installs what is missing, builds, runs
# the host tests (abi_spec, fuzz_smoke, the userspace unit tests cli_*) and the kernel
# tests in the QEMU guest (selftests/vm/run.sh), and ends with the line
#   N passed, N failed, N skipped
# TESTS (space- or comma-separated; "config" selects config and config_*)
# picks a subset. Exit 0 iff nothing failed and at least one test ran.
# Logs: build/check/.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD
LOGS=$REPO/build/check
TESTS=${TESTS:-}
export TESTS
start=$(date +%s)
passed=0 failed=0 skipped=0 programs=0

finish() {
	local secs=$(($(date +%s) - start))
	echo "check: wall time $((secs / 60))m$((secs % 60))s"
	if [ "$programs" -eq 0 ] && [ "$failed" -eq 0 ]; then
		echo "check: no test matches TESTS='$TESTS'"
		failed=1
	fi
	echo "$passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ] && exit 0
	exit 1
}

# selected NAME: does NAME match TESTS (empty = everything)?
selected() {
	local p
	[ -z "${TESTS//[ ,]/}" ] && return 0
	for p in ${TESTS//,/ }; do
		[ "$1" = "$p" ] || [[ "$1" == "$p"_* ]] && return 0
	done
	return 1
}
# count_tap LOG RC NAME: add LOG's TAP results to the totals; a failing
# exit code without a "not ok" line (crash) counts as one failure.
count_tap() {
	local log=$1 rc=$2 name=$3 p s f
	p=$(grep -E '^ *ok [0-9]+' "$log" | grep -cvE '#[[:space:]]*(SKIP|skip)' || true)
	s=$(grep -E '^ *ok [0-9]+' "$log" | grep -cE '#[[:space:]]*(SKIP|skip)' || true)
	f=$(grep -cE '^ *not ok [0-9]+' "$log" || true)
	case $rc in
	0) [ $((p + s + f)) -eq 0 ] && p=1 ;;
	4) [ $((p + s + f)) -eq 0 ] && s=1 ;;
	*) [ "$f" -eq 0 ] && f=1 ;;
	esac
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	programs=$((programs + 1))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name: $p passed, $f failed, $s skipped (exit $rc)"
		grep -E '^ *not ok [0-9]+' "$log" | cut -c1-300 | sed 's/^ */    /' | head -n 30 || true
		echo "    --- last lines of ${log#"$REPO"/}:"
		tail -n 15 "$log" | cut -c1-300 | sed 's/^/    | /'
	else
		echo "PASS $name: $p passed, $s skipped"
	fi
}

mkdir -p "$LOGS"
echo "check: TESTS='${TESTS}'"

# 1. dependencies ---------------------------------------------------------------
if ! scripts/deps.sh all; then
	echo "check: installing the dependencies failed"
	failed=1
	finish
fi

# 2. build ------------------------------------------------------------------------
for what in module userspace; do
	if ! make -j"$(nproc)" "$what" >"$LOGS/build-$what.log" 2>&1; then
		tail -n 30 "$LOGS/build-$what.log" | sed 's/^/    | /'
		echo "check: FAIL: 'make $what' failed (log: build/check/build-$what.log)"
		failed=1
		finish
	fi
done
echo "check: built kmod/guise.ko and userspace"

# 3. kernel tests in the VM, started first and run in the background: the
# guest spends most of its time waiting (receiver windows, timers, python
# starting under TCG), about one host CPU on average, so the host tests
# run meanwhile. Its log is printed when it is done (step 4).
vm_pid=
# (its own session: leaving early ends QEMU too)
trap '[ -z "$vm_pid" ] || kill -- "-$vm_pid" 2>/dev/null || true' EXIT
if [ -n "$(selftests/vm/run.sh --list)" ]; then
	rm -f build/vm/results/summary
	setsid selftests/vm/run.sh --timeout "${VM_TIMEOUT:-2400}" >"$LOGS/vm.log" 2>&1 &
	vm_pid=$!
	echo "check: kernel tests running in the VM (log: build/check/vm.log)"
fi

# host tests (meanwhile) ---------------------------------------------------------
if selected abi_spec; then
	rc=0
	python3 selftests/spec_check.py >"$LOGS/abi_spec.log" 2>&1 || rc=$?
	count_tap "$LOGS/abi_spec.log" "$rc" abi_spec
fi
# Every libFuzzer harness (userspace/fuzz/) for a few seconds: a crash,
# leak or sanitizer report fails the test.
if selected fuzz_smoke; then
	rc=0
	timeout 600 env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		make -j"$(nproc)" -C userspace fuzz FUZZ_SECONDS=4 >"$LOGS/fuzz_smoke.log" 2>&1 || rc=$?
	count_tap "$LOGS/fuzz_smoke.log" "$rc" fuzz_smoke
fi
# The userspace tests (userspace/tests/<area>_*.c, ASan+UBSan): all of
# them through `make -C userspace check`, or the selected ones one by one.
# (MAKEFLAGS is dropped: a `make check TESTS=...` would override the
# userspace Makefile's own TESTS variable.)
umake=(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -j"$(nproc)" -C userspace)
if [ -z "${TESTS//[ ,]/}" ] || [[ " ${TESTS//,/ } " == *" cli "* ]]; then
	rc=0
	timeout 900 "${umake[@]}" check >"$LOGS/userspace.log" 2>&1 || rc=$?
	count_tap "$LOGS/userspace.log" "$rc" "userspace tests (cli_*, <daemon>_*)"
	# A program that crashed before printing "not ok" still counts.
	extra=$(awk '/^# [a-z]+_[A-Za-z0-9_]+$/ { prog = $2 }
		/^not ok [0-9]+/ { bad[prog] = 1 }
		/^# [0-9]+ of [0-9]+ test programs failed/ { k = $2 }
		END { n = 0; for (p in bad) n++; print (k > n + 1 ? k - n - 1 : 0) }' \
		"$LOGS/userspace.log")
	failed=$((failed + extra))
else
	for src in userspace/tests/*_*.c; do
		[ -f "$src" ] || continue
		t=$(basename "$src" .c)
		selected "$t" || continue
		rc=0
		{ "${umake[@]}" "$REPO/build/asan/$t" >/dev/null &&
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
			UBSAN_OPTIONS=print_stacktrace=1 timeout 300 "build/asan/$t"; } \
			>"$LOGS/$t.log" 2>&1 || rc=$?
		count_tap "$LOGS/$t.log" "$rc" "$t"
	done
fi

# 4. the kernel tests' results ------------------------------------------------------
if [ -n "$vm_pid" ]; then
	rc=0
	wait "$vm_pid" || rc=$?
	vm_pid=
	cat "$LOGS/vm.log"
	read -r p f s <"build/vm/results/summary" || { p=0 f=0 s=0; }
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	programs=$((programs + 1))
	# A runner that failed without counting a failure (bad setup) still fails.
	[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && failed=$((failed + 1))
fi

finish
