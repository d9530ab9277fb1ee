#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shell helpers for guise selftests, in the style of the kernel's
# tools/testing/selftests/net/lib.sh and lib/sh/defer.sh. Every test sources
# this file first; it prints the TAP header, and the test ends with
# exit_status. Tests run with the repository root as the working directory.
#
#   setup_ns A B          create namespaces with random suffixes; $A, $B
#                         hold the real names; loopback is up in each
#   cleanup_all_ns        delete every namespace setup_ns created
#   defer CMD ARGS...     push a cleanup; cleanups run LIFO on EXIT
#   check DESC CMD...     run CMD; print "ok N - DESC" or "not ok N - DESC"
#                         (with CMD's output as "# " lines)
#   skip DESC REASON      print "ok N - DESC # SKIP REASON"
#   log_test RC DESC      record a result computed by the caller (0 pass,
#                         4 skip, else fail)
#   require_cmd CMD...    skip the whole test (exit 4) unless CMD exists
#   exit_status           print the totals and exit 0, 1 or 4 (kselftest)
#
# Deliberately no `set -e`: tests capture exit codes themselves.

ksft_pass=0
ksft_fail=1
# shellcheck disable=SC2034  # for the tests
ksft_xfail=2
ksft_skip=4

_lib_num=0
_lib_passed=0
_lib_failed=0
_lib_skipped=0
NS_LIST=()
_defer_stack=()

echo "TAP version 13"

# --- cleanups ---------------------------------------------------------------

# defer CMD ARGS...: run CMD ARGS at exit, most recent first.
defer()
{
	local cmd
	printf -v cmd '%q ' "$@"
	_defer_stack+=("$cmd")
}

defer_run_all()
{
	local i
	for ((i = ${#_defer_stack[@]} - 1; i >= 0; i--)); do
		eval "${_defer_stack[i]}" >/dev/null 2>&1
	done
	_defer_stack=()
}

_lib_on_exit()
{
	local rc=$?
	defer_run_all
	exit "$rc"
}
trap _lib_on_exit EXIT

# --- namespaces -------------------------------------------------------------

# setup_ns NAME...: for each NAME create netns "name-XXXXXX" (random
# suffix), assign its real name to the variable NAME and bring lo up.
setup_ns()
{
	local ns_name ns
	for ns_name in "$@"; do
		if [[ ! "$ns_name" =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then
			echo "# setup_ns: bad variable name '$ns_name'" >&2
			return 1
		fi
		ns="${ns_name,,}-$(mktemp -u XXXXXX)"
		if ! ip netns add "$ns"; then
			echo "# setup_ns: cannot create netns $ns" >&2
			exit "$ksft_skip"
		fi
		ip -n "$ns" link set lo up
		# The namespace's sysctls default to "forwarding off, DAD on";
		# DAD only delays tests, so switch it off.
		ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 \
			net.ipv6.conf.default.accept_dad=0 2>/dev/null
		printf -v "$ns_name" '%s' "$ns"
		NS_LIST+=("$ns")
	done
}

cleanup_ns()
{
	local ns
	for ns in "$@"; do
		ip netns delete "$ns" 2>/dev/null
	done
}

cleanup_all_ns()
{
	cleanup_ns "${NS_LIST[@]}"
	NS_LIST=()
}

# --- results ----------------------------------------------------------------

# log_test RC DESC: record one TAP result.
log_test()
{
	local rc=$1
	shift
	_lib_num=$((_lib_num + 1))
	case "$rc" in
	0)
		_lib_passed=$((_lib_passed + 1))
		echo "ok $_lib_num - $*"
		;;
	"$ksft_skip")
		_lib_skipped=$((_lib_skipped + 1))
		echo "ok $_lib_num - $* # SKIP"
		;;
	*)
		_lib_failed=$((_lib_failed + 1))
		echo "not ok $_lib_num - $* (exit $rc)"
		;;
	esac
}

# check DESC CMD ARGS...: run CMD (a command, function or `[ ... ]`), capture
# its stdout and stderr, and report one TAP line.
check()
{
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	_lib_num=$((_lib_num + 1))
	if [ "$rc" -eq 0 ]; then
		_lib_passed=$((_lib_passed + 1))
		echo "ok $_lib_num - $desc"
	else
		_lib_failed=$((_lib_failed + 1))
		echo "not ok $_lib_num - $desc"
		echo "# command (exit $rc): $*"
		[ -n "$out" ] && printf '%s\n' "$out" | sed 's/^/#   /'
	fi
	return "$rc"
}

# check_logged DESC CMD ARGS...: like check, and CMD's output goes to the
# log as comments whether it passes or not (counts worth reading anyway).
check_logged()
{
	local desc=$1 out rc
	shift
	out=$("$@" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
	log_test "$rc" "$desc"
	return "$rc"
}

# check_fail DESC CMD ARGS...: like check, but CMD must fail.
check_fail()
{
	local desc=$1
	shift
	check "$desc" _lib_not "$@"
}
_lib_not() { ! "$@"; }

# skip DESC REASON
skip()
{
	_lib_num=$((_lib_num + 1))
	_lib_skipped=$((_lib_skipped + 1))
	echo "ok $_lib_num - $1 # SKIP ${2:-}"
}

# require_cmd CMD...: skip the whole test when a tool is missing.
require_cmd()
{
	local c
	for c in "$@"; do
		if ! command -v "$c" >/dev/null 2>&1; then
			echo "# SKIP: $c is not installed"
			exit "$ksft_skip"
		fi
	done
}

# busywait TIMEOUT_MS CMD ARGS...: retry CMD until it succeeds.
busywait()
{
	local timeout_ms=$1 start now
	shift
	start=$(date +%s%3N)
	while true; do
		"$@" && return 0
		now=$(date +%s%3N)
		[ $((now - start)) -ge "$timeout_ms" ] && return 1
		sleep 0.1
	done
}

# exit_status: print the plan and totals, exit kselftest-style.
exit_status()
{
	echo "1..$_lib_num"
	echo "# $_lib_passed passed, $_lib_failed failed, $_lib_skipped skipped"
	if [ "$_lib_failed" -gt 0 ]; then
		exit "$ksft_fail"
	elif [ "$_lib_passed" -eq 0 ] && [ "$_lib_skipped" -gt 0 ]; then
		exit "$ksft_skip"
	fi
	exit "$ksft_pass"
}
