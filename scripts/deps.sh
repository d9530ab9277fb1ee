#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# deps.sh [all|build|vm|lint|bench]...: install the Debian packages guise needs,
# only those that are missing, and extract the few kernel-source files the
# tests and lint use into build/ksrc/. Idempotent and quiet when nothing is
# missing. Exits non-zero, naming the package, when an install fails.
set -euo pipefail

cd "$(dirname "$0")/.."
REPO=$PWD

BUILD_PKGS=(gcc make pkg-config libmnl-dev libjansson-dev libssl-dev
	libevent-dev libcurl4-openssl-dev libsqlite3-dev libinih-dev
	libsystemd-dev clang linux-headers-amd64 python3 python3-yaml)
VM_PKGS=(qemu-system-x86 linux-image-amd64 busybox-static cpio kmod
	iproute2 iputils-ping tcpdump python3-scapy python3-cryptography smcroute curl openssl util-linux procps python3 libcap2-bin xz-utils
	nftables iptables ethtool)
LINT_PKGS=(sparse linux-source-6.1 clang-format xz-utils)
# Host-side benchmarks (bench/leased_bench.sh): ISC Kea DHCPv6 and its
# load generator perfdhcp, strace to check Kea's syncs. Their services are
# not started on install (see no_service_start). http-parser frames the
# answers in the OCSP load generator (bench/src/ocsp_load.c).
BENCH_PKGS=(kea-dhcp6-server kea-admin strace iproute2 curl
	libhttp-parser-dev)

KSRC=$REPO/build/ksrc
KSRC_TARBALL=/usr/src/linux-source-6.1.tar.xz
KSFT_FILES=(tools/testing/selftests/kselftest.h
	tools/testing/selftests/kselftest_harness.h
	tools/testing/selftests/kselftest_module.h)
LINT_FILES=(scripts/checkpatch.pl scripts/spelling.txt
	scripts/const_structs.checkpatch)

die() { echo "deps: error: $*" >&2; exit 1; }

want=()
ksrc_files=()
[ $# -eq 0 ] && set -- all
for set in "$@"; do
	case "$set" in
	all)
		want+=("${BUILD_PKGS[@]}" "${VM_PKGS[@]}" "${LINT_PKGS[@]}")
		ksrc_files+=("${KSFT_FILES[@]}" "${LINT_FILES[@]}") ;;
	build) want+=("${BUILD_PKGS[@]}") ;;
	vm)
		# The C tests need the kselftest headers from the kernel source.
		want+=("${VM_PKGS[@]}" linux-source-6.1)
		ksrc_files+=("${KSFT_FILES[@]}") ;;
	lint)
		want+=("${LINT_PKGS[@]}")
		ksrc_files+=("${KSFT_FILES[@]}" "${LINT_FILES[@]}") ;;
	bench) want+=("${BENCH_PKGS[@]}") ;;
	*) die "unknown package set '$set' (all, build, vm, lint, bench)" ;;
	esac
done

installed() {
	[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Wait for another apt/dpkg (e.g. unattended upgrades) instead of failing
# on the lock.
wait_for_dpkg() {
	local i
	for ((i = 0; i < 600; i++)); do
		pgrep -x apt-get >/dev/null || pgrep -x dpkg >/dev/null || return 0
		[ "$i" -eq 0 ] && echo "deps: waiting for another apt-get/dpkg to finish"
		sleep 2
	done
	die "apt-get/dpkg still running after 20 minutes"
}

missing=()
declare -A seen=()
for p in "${want[@]}"; do
	[ -n "${seen[$p]:-}" ] && continue
	seen[$p]=1
	installed "$p" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}) and not root; run: apt-get install ${missing[*]}"
	echo "deps: installing ${missing[*]}"
	wait_for_dpkg
	export DEBIAN_FRONTEND=noninteractive
	apt_install() {
		apt-get install -y -qq --no-install-recommends \
			-o Dpkg::Use-Pty=0 "$@" >"$REPO/build/deps-apt.log" 2>&1
	}
	mkdir -p "$REPO/build"
	# A package's postinst must not start its service (kea-dhcp6-server
	# would serve on every interface): deny starts while we install,
	# unless the machine has its own policy.
	policy=/usr/sbin/policy-rc.d
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		trap 'rm -f "$policy"' EXIT
	else
		policy=
	fi
	# Refresh the lists once if any missing package is unknown or the
	# first attempt fails (stale lists on a fresh machine).
	if ! apt_install "${missing[@]}"; then
		apt-get update -qq >/dev/null 2>&1 || echo "deps: warning: apt-get update failed" >&2
		if ! apt_install "${missing[@]}"; then
			for p in "${missing[@]}"; do
				installed "$p" && continue
				apt_install "$p" || {
					tail -n 5 "$REPO/build/deps-apt.log" >&2
					die "cannot install Debian package '$p' (log: build/deps-apt.log)"
				}
			done
		fi
	fi
	if [ -n "$policy" ]; then
		rm -f "$policy"
		trap - EXIT
	fi
	for p in "${missing[@]}"; do
		installed "$p" || die "Debian package '$p' is still not installed (log: build/deps-apt.log)"
	done
fi

# Kernel-source files: extract only what is missing, from the tarball that
# linux-source-6.1 ships.
need=()
for f in "${ksrc_files[@]}"; do
	[ -s "$KSRC/$f" ] || need+=("$f")
done
if [ ${#need[@]} -gt 0 ]; then
	[ -r "$KSRC_TARBALL" ] || die "$KSRC_TARBALL not found (package linux-source-6.1)"
	echo "deps: extracting ${#need[@]} files from $(basename "$KSRC_TARBALL") into build/ksrc/"
	mkdir -p "$REPO/build"
	tmp=$(mktemp -d "$REPO/build/ksrc.XXXXXX")
	trap 'rm -rf "$tmp"' EXIT
	pats=()
	for f in "${need[@]}"; do pats+=("*/$f"); done
	tar -xJf "$KSRC_TARBALL" -C "$tmp" --wildcards --strip-components=1 "${pats[@]}" ||
		die "cannot extract ${need[*]} from $KSRC_TARBALL"
	for f in "${need[@]}"; do
		[ -s "$tmp/$f" ] || die "$f is not in $KSRC_TARBALL"
		mkdir -p "$KSRC/$(dirname "$f")"
		mv "$tmp/$f" "$KSRC/$f"
	done
fi
exit 0
