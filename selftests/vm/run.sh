#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# run.sh: run guise's kernel selftests (or a demo) in a QEMU guest booted
# from Debian's linux-image-amd64, with the host's / shared read-only over
# 9p. See Documentation/testing.rst.
#
#   run.sh [--tests PATTERNS] [--demo SCRIPT] [--kvm] [--cpu MODEL]
#          [--timeout SEC] [--test-timeout SEC] [--module PATH] [--list]
#
# --tests   space- or comma-separated patterns; "config" selects tests named
#           config or config_*; default $TESTS, empty = all
# --demo    run SCRIPT (path in the checkout) on the console instead of tests
# --kvm     use KVM (hangs on nested-virtualisation hosts; TCG by default)
# --cpu     the TCG guest's CPU model, a QEMU -cpu value (default
#           $GUISE_VM_CPU, else max: every feature TCG emulates, AVX2,
#           AES-NI and PCLMULQDQ included). E.g. qemu64, or max minus
#           avx,avx2,fma,f16c,vaes,aes,pclmulqdq,ssse3,sse4.1,sse4.2: the
#           guest kernel then picks the scalar crypto (not max,-ssse3
#           alone: busybox dies of SIGILL). Ignored with --kvm (-cpu
#           host). `make check`/`make demo` use max.
# --timeout host-side limit for the whole VM run (default 900 s)
# --test-timeout  per-test limit in the guest (default 300 s; a test may say
#           "# timeout: SEC")
# --module  the module to load (default kmod/guise.ko)
# --results where results go (default build/vm/results; build/vm/demo for
#           --demo); runs sharing a results folder wait for each other
# --list    print the selected tests and exit
#
# Tests: selftests/<area>_<name>.sh (run with bash) and
# selftests/<area>_<name>.c (built here against the kselftest harness).
# Files without an underscore (lib.sh) and subdirectories are helpers.
#
# Results land in build/vm/results/; build/vm/results/summary holds
# "PASSED FAILED SKIPPED". Exit 0 iff nothing failed.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO"
VMDIR=$REPO/build/vm
RESULTS=$VMDIR/results

PATTERNS=${TESTS:-}
DEMO=
ACCEL=tcg
CPU_MODEL=${GUISE_VM_CPU:-max}
TIMEOUT=900
TEST_TIMEOUT=300
MODULE=kmod/guise.ko
LIST_ONLY=0

die() { echo "vm: error: $*" >&2; exit 2; }

while [ $# -gt 0 ]; do
	case "$1" in
	--tests) PATTERNS=${2-}; shift 2 ;;
	--tests=*) PATTERNS=${1#*=}; shift ;;
	--demo) DEMO=${2:?--demo needs a script}; shift 2 ;;
	--kvm) ACCEL=kvm; shift ;;
	--cpu) CPU_MODEL=${2:?--cpu needs a model}; shift 2 ;;
	--cpu=*) CPU_MODEL=${1#*=}; shift ;;
	--timeout) TIMEOUT=${2:?}; shift 2 ;;
	--test-timeout) TEST_TIMEOUT=${2:?}; shift 2 ;;
	--module) MODULE=${2:?}; shift 2 ;;
	--list) LIST_ONLY=1; shift ;;
	--results) RESULTS=${2:?}; shift 2 ;;
	-h|--help) sed -n '4,35p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown option '$1' (see --help)" ;;
	esac
done
[[ "$CPU_MODEL" =~ ^[A-Za-z0-9][A-Za-z0-9_.,=+-]*$ ]] ||
	die "bad CPU model '$CPU_MODEL' (a QEMU -cpu value: max, qemu64, Nehalem, max,-avx2...)"

# --- which tests ---------------------------------------------------------------

# selected NAME: does NAME match one of $PATTERNS (empty = everything)?
selected() {
	local p
	[ -z "${PATTERNS//[ ,]/}" ] && return 0
	for p in ${PATTERNS//,/ }; do
		[ "$1" = "$p" ] && return 0
		[[ "$1" == "$p"_* ]] && return 0
	done
	return 1
}

TEST_LIST=
C_TESTS=()
[ -n "$DEMO" ] && [ "$LIST_ONLY" -eq 0 ] && PATTERNS=-	# a demo runs no tests
for f in selftests/*_*.sh selftests/*_*.c; do
	[ -f "$f" ] || continue
	name=$(basename "$f")
	name=${name%.*}
	selected "$name" || continue
	TEST_LIST+="$name "
	[[ "$f" == *.c ]] && C_TESTS+=("$name")
done
TEST_LIST=${TEST_LIST% }

if [ "$LIST_ONLY" -eq 1 ]; then
	# shellcheck disable=SC2086
	[ -n "$TEST_LIST" ] && printf '%s\n' $TEST_LIST
	exit 0
fi
if [ -z "$DEMO" ] && [ -z "$TEST_LIST" ]; then
	echo "vm: no kernel test matches TESTS='$PATTERNS'"
	mkdir -p "$RESULTS"
	echo "0 0 0" >"$RESULTS/summary"
	exit 0
fi

# --- kernel, module --------------------------------------------------------------

KERNEL=
for k in $(printf '%s\n' /boot/vmlinuz-*-amd64 | sort -V -r); do
	v=${k#/boot/vmlinuz-}
	if [ -d "/lib/modules/$v/kernel" ]; then
		KERNEL=$k
		KVER=$v
		break
	fi
done
[ -n "$KERNEL" ] || die "no /boot/vmlinuz-*-amd64 with /lib/modules (run scripts/deps.sh vm)"

case "$MODULE" in /*) ;; *) MODULE=$REPO/$MODULE ;; esac
[ -f "$MODULE" ] || die "module $MODULE not found (run make first)"
case "$MODULE" in
/tmp/*|/run/*|/var/tmp/*) die "the guest has its own /tmp, /run, /var/tmp: put $MODULE in the checkout" ;;
esac
if [ -n "$DEMO" ]; then
	case "$DEMO" in /*) ;; *) DEMO=$REPO/$DEMO ;; esac
	[ -f "$DEMO" ] || die "demo script $DEMO not found"
fi
if [ -n "$DEMO" ] && [ "$RESULTS" = "$VMDIR/results" ]; then
	RESULTS=$VMDIR/demo
fi
mkdir -p "$RESULTS"
RESULTS=$(cd "$RESULTS" && pwd)
case "$RESULTS" in
/tmp/*|/run/*|/var/tmp/*) die "the guest cannot see $RESULTS: use a folder in the checkout" ;;
esac
[[ "$REPO$RESULTS" =~ [[:space:]] ]] && die "the checkout path must not contain spaces"

# One run at a time per results folder (the lead, CI and `make demo` may
# overlap).
exec 9>"$RESULTS.lock"
if ! flock -n 9; then
	echo "vm: waiting for another run using ${RESULTS#"$REPO"/}"
	flock 9
fi

# --- C tests, built on the host --------------------------------------------------

mkdir -p "$RESULTS" "$REPO/build/selftests"
declare -A build_failed=()
KSFT_INC=$REPO/build/ksrc/tools/testing/selftests
for t in "${C_TESTS[@]}"; do
	[ -f "$KSFT_INC/kselftest_harness.h" ] || die "kselftest headers missing (run scripts/deps.sh vm)"
	src=selftests/$t.c
	# Extra libraries: a "// LDLIBS: -lmnl" line in the source.
	ldlibs=$(sed -n 's|^// *LDLIBS: *||p' "$src" | head -n 1)
	# shellcheck disable=SC2086
	if ! gcc -O2 -g -Wall -D_GNU_SOURCE -I"$KSFT_INC" -I"$REPO/include/uapi" \
		-I"$REPO/include" -o "build/selftests/$t" "$src" -lpthread $ldlibs \
		>"build/selftests/$t.build.log" 2>&1; then
		build_failed[$t]=1
	fi
done

# --- initramfs (cached) -------------------------------------------------------------

MODS="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p"
BUSYBOX=/bin/busybox	# busybox-static: runs without the host's libraries
[ -x "$BUSYBOX" ] || die "busybox not found (package busybox-static)"
INITRD=$VMDIR/initramfs-$KVER.cpio
key=$( { echo "$KVER $MODS"; sha256sum "$BUSYBOX" selftests/vm/initramfs-init selftests/vm/run.sh; } | sha256sum | cut -c1-16)
if [ ! -s "$INITRD" ] || [ "$(cat "$INITRD.key" 2>/dev/null)" != "$key" ]; then
	stage=$(mktemp -d "$VMDIR/initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,dev,proc,sys,modules,newroot}
	cp "$BUSYBOX" "$stage/bin/busybox"
	cp selftests/vm/initramfs-init "$stage/init"
	chmod 755 "$stage/init"
	mknod -m 600 "$stage/dev/console" c 5 1
	mknod -m 666 "$stage/dev/null" c 1 3
	for m in $MODS; do
		ko=$(find "/lib/modules/$KVER/kernel" -name "$m.ko" -o -name "$m.ko.xz" \
			-o -name "$m.ko.zst" | head -n 1)
		[ -n "$ko" ] || die "module $m not found under /lib/modules/$KVER"
		case "$ko" in
		*.xz) xz -dc "$ko" >"$stage/modules/$m.ko" ;;
		*.zst) zstd -qdc "$ko" >"$stage/modules/$m.ko" ;;
		*) cp "$ko" "$stage/modules/$m.ko" ;;
		esac
		echo "$m" >>"$stage/modules.order"
	done
	(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) >"$stage.cpio"
	mv "$stage.cpio" "$INITRD"
	echo "$key" >"$INITRD.key"
	rm -rf "$stage"
fi

# --- run ------------------------------------------------------------------------------

find "$RESULTS" -mindepth 1 -delete
run_list=
for t in $TEST_LIST; do
	[ -n "${build_failed[$t]:-}" ] || run_list+="$t "
done
{
	printf 'REPO=%q\n' "$REPO"
	printf 'MODULE=%q\n' "$MODULE"
	printf 'TEST_LIST=%q\n' "${run_list% }"
	printf 'DEMO=%q\n' "$DEMO"
	printf 'TEST_TIMEOUT=%q\n' "$TEST_TIMEOUT"
} >"$RESULTS/run.env"

if [ "$ACCEL" = kvm ]; then
	accel=(-accel kvm -cpu host)
else
	accel=(-accel tcg -cpu "$CPU_MODEL")
fi
append="console=ttyS0 panic_on_warn=1 panic=-1 oops=panic quiet rdinit=/init"
append+=" guise_repo=$REPO guise_results=$RESULTS"

if command -v vng >/dev/null 2>&1 && [ -z "${GUISE_NO_VNG:-}" ]; then
	cmd=(vng --run "$KERNEL" --cpus 2 --memory 1G --rwdir "$RESULTS"
		--append "panic_on_warn=1 panic=-1 oops=panic"
		--exec "$REPO/selftests/vm/init.sh $RESULTS")
	[ "$ACCEL" = kvm ] || cmd+=(--disable-kvm)
	# (untested: vng is not installed here) a later -cpu overrides vng's
	[ "$ACCEL" = kvm ] || [ "$CPU_MODEL" = max ] || cmd+=(--qemu-opts "-cpu $CPU_MODEL")
else
	# shellcheck disable=SC2054
	cmd=(qemu-system-x86_64 "${accel[@]}" -m 1024 -smp 2 -nographic -no-reboot
		-nic none -kernel "$KERNEL" -initrd "$INITRD" -append "$append"
		-fsdev "local,id=r,path=/,security_model=none,readonly=on,multidevs=remap"
		-device virtio-9p-pci,fsdev=r,mount_tag=hostroot
		-fsdev "local,id=res,path=$RESULTS,security_model=none,multidevs=remap"
		-device virtio-9p-pci,fsdev=res,mount_tag=results)
fi

what=$ACCEL
[ "$ACCEL" = kvm ] || what+=", -cpu $CPU_MODEL"
if [ -n "$DEMO" ]; then
	echo "vm: booting $KVER ($what) for the demo $(basename "$DEMO")"
else
	echo "vm: booting $KVER ($what) for: ${run_list% }"
fi
t0=$(date +%s%N)
{
	rc=0
	timeout -k 10 "$TIMEOUT" "${cmd[@]}" </dev/null 2>&1 || rc=$?
	echo "$rc" >"$RESULTS/qemu.rc"
} | {
	# Until init.sh starts, the console has only firmware noise (and on
	# failure the log's tail is shown below): keep it out of the terminal.
	booted=0
	while IFS= read -r line; do
	line=${line%$'\r'}
	printf '%s\n' "$line" >>"$RESULTS/console.log"
	if [ "$booted" -eq 0 ] && [[ "$line" == *"guise-vm: init.sh started"* ]]; then
		booted=1
		t1=$(date +%s%N)
		ms=$(( (t1 - t0) / 1000000 ))
		printf '%d.%01d\n' $((ms / 1000)) $((ms % 1000 / 100)) >"$RESULTS/boot_time"
		echo "vm: guest booted in $(cat "$RESULTS/boot_time") s (QEMU start to init.sh)"
		continue
	fi
	[[ "$line" == *"reboot: Power down"* ]] && continue
	if [ "$booted" -eq 1 ]; then printf '%s\n' "$line"; fi
	done
	true
}
touch "$RESULTS/console.log"
qemu_rc=$(cat "$RESULTS/qemu.rc" 2>/dev/null || echo 1)
t2=$(date +%s%N)
echo "vm: VM ran $(( (t2 - t0) / 1000000000 )) s"

# --- results --------------------------------------------------------------------------

passed=0 failed=0 skipped=0
show_fail() {	# NAME LOG: print the not-ok lines and the log's tail
	[ -f "$2" ] || return 0
	grep -E '^not ok [0-9]+' "$2" | cut -c1-300 | sed 's/^/    /' || true
	echo "    --- last lines of ${RESULTS#"$REPO"/}/$1.log:"
	tail -n 15 "$2" | cut -c1-300 | sed 's/^/    | /'
}

if [ -n "$DEMO" ]; then
	rc=$(awk '$1 == "demo" {print $2}' "$RESULTS/status" 2>/dev/null)
	if [ "${rc:-1}" = 0 ]; then passed=1; else failed=1; fi
fi

for t in $TEST_LIST; do
	log=$RESULTS/$t.log
	if [ -n "${build_failed[$t]:-}" ]; then
		echo "FAIL $t: does not compile"
		sed 's/^/    | /' "build/selftests/$t.build.log" | tail -n 15
		failed=$((failed + 1))
		continue
	fi
	rc='' secs=''
	read -r _ rc secs < <(awk -v t="$t" '$1 == t' "$RESULTS/status" 2>/dev/null) || true
	if [ -z "${rc:-}" ]; then
		if [ "$(cat "$RESULTS/current" 2>/dev/null)" = "$t" ]; then
			echo "FAIL $t: the VM died while it ran"
			show_fail "$t" "$log"
		else
			echo "FAIL $t: did not run"
		fi
		failed=$((failed + 1))
		continue
	fi
	p=$(grep -E '^ok [0-9]+' "$log" | grep -cvE '#[[:space:]]*(SKIP|skip)' || true)
	s=$(grep -E '^ok [0-9]+' "$log" | grep -cE '#[[:space:]]*(SKIP|skip)' || true)
	f=$(grep -cE '^not ok [0-9]+' "$log" || true)
	case $rc in
	0) [ $((p + s + f)) -eq 0 ] && p=1 ;;
	4) [ $((p + s + f)) -eq 0 ] && s=1 ;;
	*) [ "$f" -eq 0 ] && f=1 ;;
	esac
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
	if [ "$f" -gt 0 ]; then
		what="exit $rc"
		[ "$rc" = 124 ] && what="timed out"
		echo "FAIL $t: $p passed, $f failed, $s skipped ($what, ${secs}s)"
		show_fail "$t" "$log"
	elif [ "$rc" = 4 ] && [ "$p" -eq 0 ]; then
		echo "SKIP $t: $(grep -m1 -E 'SKIP' "$log" | sed 's/^# *//')"
	else
		echo "PASS $t: $p passed, $s skipped (${secs}s)"
	fi
done

if [ -f "$RESULTS/fatal" ]; then
	while IFS= read -r l; do
		echo "FAIL vm: $l"
		failed=$((failed + 1))
	done <"$RESULTS/fatal"
	grep -qE '^kernel log:' "$RESULTS/fatal" && echo "    (full kernel log: ${RESULTS#"$REPO"/}/dmesg.log)"
fi
if [ ! -f "$RESULTS/done" ]; then
	if [ "$qemu_rc" = 124 ] || [ "$qemu_rc" = 137 ]; then
		echo "FAIL vm: timed out after ${TIMEOUT}s and was killed"
	else
		echo "FAIL vm: the guest did not finish (panic, oops or WARN?); QEMU exit $qemu_rc"
	fi
	echo "    --- last lines of ${RESULTS#"$REPO"/}/console.log:"
	tail -n 40 "$RESULTS/console.log" | sed 's/^/    | /'
	failed=$((failed + 1))
fi

echo "$passed $failed $skipped" >"$RESULTS/summary"
echo "vm: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
