#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# content_bench: the protected-content datapath benchmark. Runs INSIDE the
# test VM (bench/content_run.sh starts it with selftests/vm/run.sh --demo),
# working directory = the checkout, $MODULE = the module to load, the tools
# of bench/src/ already built into build/bench/ by the host.
#
#   S  s0 fd00:cb::1/64 ---veth--- r0 fd00:cb::2/64  R
#
# Two such pairs, so that every case runs in namespaces holding only what
# it needs: cbp-s/cbp-r (plaintext, ESP, relay; guise never enabled) and
# cbg-s/cbg-r (guise enabled in both). The flow: 1200-byte UDP payloads to
# [ff3e::cb:1]:5000.
#
# Receive cases: the sender (build/bench/mcast_send) sends, as fast as the
# receive path takes them, datagrams ENCRYPTED BEFOREHAND with OpenSSL (one
# file per algorithm and format, reused by every sample: each sample
# installs a fresh key or SA, so a fresh replay window), so the sender only
# sends bytes and the receive path is the bottleneck:
#   plain  plaintext, R has no keys
#   guise  guise's content format; R has a guise rx key, the application
#          is a plain socket
#   esp    ESP transport-mode packets (raw socket); R has the SA and an
#          inbound policy for the flow (ip xfrm, manual keys, replay
#          window 32): rfc7539esp(chacha20,poly1305) / rfc4106(gcm(aes))
#   relay  guise's format; in R, build/bench/relay (OpenSSL EVP, 64-entry
#          replay window) decrypts and re-sends over [::1] to the app
# The application (build/bench/udp_count) counts the 1200-byte datagrams it
# reads in SECS s after WARM s: the rate is what the application really
# gets (payload goodput), not the interface's.
#
# Send cases: R drops everything at tc ingress; the sender sends plaintext
# with a guise tx key in S, with an ESP SA + outbound policy in S, or
# neither: datagrams/s that leave S, the kernel encrypting in the sender's
# context.
#
# CPUs: the sender is pinned to CPU 0; all receive-side work to CPU 1: RPS
# steers r0's packets there (IPv6 input, guise's or ESP's decryption, UDP)
# and the application and the relay are pinned there. The sender is
# flow-controlled by its send buffer (a datagram charges it until R's IPv6
# input takes it off CPU 1's input queue), so a slow receive path slows
# the sender instead of being flooded. Each sample reports both CPUs' busy
# share; an rx CPU below 90% means the case did not saturate its receive
# path (the plaintext baseline usually: then it is a lower bound). With
# CBENCH_RT=1 the application (priority 20) and the relay (10) run
# SCHED_FIFO, above ksoftirqd.
#
# One block per algorithm: ROUNDS rounds of all its cases, interleaved
# (host noise hits all alike), the median of the rounds reported; ratios
# compare cases of one block. A case that cannot run prints "skipped:
# why". The report is between "=== results" and "=== end".
#
# Crypto: the header's "crypto:" line says which code the guest kernel
# picked from the CPU flags (chacha20 AVX-512VL/AVX2/SSSE3/generic C,
# poly1305 AVX-512/AVX2/AVX/scalar asm, AES-GCM AES-NI or C), "crypto
# drivers:" the highest-priority /proc/crypto drivers; the report ends
# with the AEAD instances the guise and ESP cases held. Under TCG the
# SIMD code is emulated: the guest CPU model (GUISE_VM_CPU on the host,
# see bench/run.sh; default max) decides which code runs.
#
# Parameters (environment, or build/bench/content_params.env):
#   CBENCH_SECS    counting window per sample, seconds (5)
#   CBENCH_ROUNDS  rounds per algorithm (3)
#   CBENCH_ALGS    algorithms (chacha20-poly1305 aes128-gcm aes256-gcm)
#   CBENCH_TX      1: also the send cases (1)
#   CBENCH_RT      1: SCHED_FIFO receivers, see above (0)
#   CBENCH_PREGEN  datagrams pre-encrypted per algorithm and format
#                  (default: from the plaintext send rate, memory-capped)
#   CBENCH_DEADLINE  seconds: each algorithm gets an equal share of what
#                  is left of it and starts no round past its share
#                  (default: none); round 1 always runs
#   CBENCH_BASE    a second build of the module (path in the checkout;
#                  bench/run.sh copies BENCH_BASE_MODULE there): adds the
#                  cases "guise-base" (receive and send), run with that
#                  module loaded instead, in the same rounds, so two
#                  builds are compared side by side (guise/base ratios)
#   CBENCH_TCRYPT  1: at the end, the AEADs' own speed in this guest
#                  (tcrypt modes 211 and 213, 1 s per size; about 80 s),
#                  information only (0)
#   CBENCH_PERF    1: after an algorithm's rounds, one more receive sample
#                  of each of CBENCH_PERF_CASES (default "guise esp plain")
#                  under perf (cpu-clock, 1 kHz, on the rx CPU only):
#                  the top 25 symbols by self time, in the report (0)
set -uo pipefail

MODULE=${MODULE:-kmod/guise.ko}
# shellcheck source=/dev/null
[ -f build/bench/content_params.env ] && source build/bench/content_params.env
# shellcheck source=bench/guest_lib.sh
source bench/guest_lib.sh
SECS=${CBENCH_SECS:-5}
ROUNDS=${CBENCH_ROUNDS:-3}
ALGS=${CBENCH_ALGS:-chacha20-poly1305 aes128-gcm aes256-gcm}
TX=${CBENCH_TX:-1}
RT=${CBENCH_RT:-0}
PREGEN=${CBENCH_PREGEN:-}
DEADLINE=${CBENCH_DEADLINE:-0}
BASE=${CBENCH_BASE:-}
TCRYPT=${CBENCH_TCRYPT:-0}
PERF=${CBENCH_PERF:-0}
PERF_CASES=${CBENCH_PERF_CASES:-guise esp plain}
WARM=0.5
SEND_SECS=$((SECS + 1))	# WARM + SECS + 0.5
SIZE=1200
BIN=build/bench
GROUP=ff3e::cb:1
PORT=5000
APP_PORT=6000
SADDR=fd00:cb::1
RADDR=fd00:cb::2
SPI=0xcb1
KEY32=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
SALT=c0c1c2c3
TMP=$(mktemp -d /tmp/content_bench.XXXXXX)
NSS=()
PIDS=()

# A process costs ~0.3 s to start under TCG: the helpers used per sample
# are bash builtins.
now() { printf '%(%s)T' -1; }
T0=$(now)
say() { printf '%s\n' "$*"; }
# log: progress lines, to stderr (measure_* print their results on stdout)
log() { printf '# [%4ds] %s\n' "$(($(now) - T0))" "$*" >&2; }

cleanup() {
	local p ns
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for ns in "${NSS[@]}"; do ip netns delete "$ns" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT

key_of() { # ALG: the secret (hex) for ALG
	case $1 in aes128-gcm) echo "${KEY32:0:32}" ;; *) echo "$KEY32" ;; esac
}
esp_name() { # ALG: the kernel's ESP AEAD for ALG
	case $1 in
	chacha20-poly1305) echo 'rfc7539esp(chacha20,poly1305)' ;;
	*) echo 'rfc4106(gcm(aes))' ;;
	esac
}

# --- module, tools, CPUs -------------------------------------------------------------

# best_driver NAME: the driver the crypto API picks for NAME (highest
# priority among the registered, non-internal ones)
best_driver() {
	awk -F' *: ' -v want="$1" '/^name/ { n = $2 } /^driver/ { d = $2 } /^priority/ { p = $2 }
		/^internal/ { i = $2 }
		/^$/ { if (n == want && i != "yes" && (bd == "" || p + 0 > bp)) { bp = p + 0; bd = d }
			n = d = p = i = "" }
		END { print (bd == "" ? "(none loaded yet)" : bd) }' /proc/crypto
}
# crypto_impls: the code paths the x86 glue of this kernel (6.1) selects
# from the CPU flags, for chacha20, poly1305 and AES-GCM
crypto_impls() {
	local f c p a
	f=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
	has() { [[ "$f" == *" $1 "* ]]; }
	if ! grep -q '^name *: chacha20$' /proc/crypto || [ "$(best_driver chacha20)" = chacha20-generic ]; then
		c="generic C"
	elif has avx512vl && has avx512bw && has avx2; then c=AVX-512VL
	elif has avx2 && has avx; then c=AVX2
	else c=SSSE3
	fi
	if [ "$(best_driver poly1305)" = poly1305-generic ]; then p="generic C"
	elif has avx512f && has avx2; then p=AVX-512
	elif has avx2 && has avx; then p=AVX2
	elif has avx; then p=AVX
	else p="scalar x86-64 asm"
	fi
	if has aes && has pclmulqdq && [ "$(best_driver aes)" = aes-aesni ]; then a="AES-NI+PCLMULQDQ asm"
	else a="$(best_driver aes) + $(best_driver ghash) (C)"
	fi
	echo "chacha20 $c; poly1305 $p; AES-GCM $a"
}

say "=== guise content datapath benchmark"
bench_load_module
# The best implementations first (the crypto API picks the highest
# priority loaded), then ESP and tc. Cases report what is missing.
for m in aesni_intel ghash_clmulni_intel chacha_x86_64 poly1305_x86_64 \
	chacha20poly1305 gcm esp6 xfrm_user sch_ingress cls_matchall act_gact; do
	modprobe "$m" 2>/dev/null
done
say "kernel $(uname -r), $(nproc) vCPUs, $(awk '/^MemTotal:/ { printf "%d MB", $2 / 1024 }' /proc/meminfo) RAM," \
	"$(grep -q hypervisor /proc/cpuinfo && echo "virtualised/emulated") ($(date -u '+%Y-%m-%d %H:%M UTC'))"
say "CPU flags: $(grep -m1 '^flags' /proc/cpuinfo | grep -ow -e aes -e pclmulqdq -e avx -e avx2 -e avx512f | tr '\n' ' ')"
say "OpenSSL $(openssl version 2>/dev/null | awk '{ print $2 }'); module srcversion $(cat /sys/module/guise/srcversion 2>/dev/null)"
# Which crypto this guest's kernel picked, from the CPU flags (6.1's x86
# glue: chacha_glue.c, poly1305_glue.c, aesni-intel) and /proc/crypto's
# highest-priority drivers; the AEADs the cases really held are listed at
# the end of the report. Under TCG the SIMD code runs emulated (vector
# instructions in TCG helpers): GUISE_VM_CPU on the host picks the model.
say "crypto: $(crypto_impls)"
say "crypto drivers: chacha20 -> $(best_driver chacha20), poly1305 -> $(best_driver poly1305)," \
	"aes -> $(best_driver aes), ghash -> $(best_driver ghash)"
say "samples: $ROUNDS rounds x ${SECS} s (after ${WARM} s warm-up) per algorithm, $SIZE-byte payloads"

MISSING=
for t in mcast_send udp_count relay; do
	[ -x "$BIN/$t" ] || MISSING+="$BIN/$t "
done
if [ -n "$MISSING" ]; then
	say "error: missing $MISSING(build them on the host: bench/content_run.sh)"
	exit 1
fi
PIN_S=() PIN_APP=() PIN_RELAY=() RPS_MASK=
if [ "$(nproc)" -ge 2 ]; then
	PIN_S=(taskset -c 0) PIN_APP=(taskset -c 1) PIN_RELAY=(taskset -c 1) RPS_MASK=2
else
	say "note: one CPU: no pinning, no RPS; sender and receiver share it"
fi
if [ "$RT" = 1 ]; then
	PIN_APP+=(chrt -f 20)
	PIN_RELAY+=(chrt -f 10)
fi
say "sender: ${PIN_S[*]:-unpinned}; application: ${PIN_APP[*]:-unpinned};" \
	"relay: ${PIN_RELAY[*]:-unpinned}${RPS_MASK:+; RPS mask $RPS_MASK on r0}"

# --- topology -------------------------------------------------------------------------

# mkpair TAG: namespaces cbTAG-s, cbTAG-r joined by s0 <-> r0
mkpair() {
	local s=cb$1-s r=cb$1-r
	ip netns add "$s" && NSS+=("$s") || return 1
	ip netns add "$r" && NSS+=("$r") || return 1
	ip -n "$s" link set lo up
	ip -n "$r" link set lo up
	ip link add s0 netns "$s" type veth peer name r0 netns "$r" || return 1
	ip -n "$s" addr add $SADDR/64 dev s0 nodad
	ip -n "$r" addr add $RADDR/64 dev r0 nodad
	ip -n "$s" link set s0 up
	ip -n "$r" link set r0 up
	if [ -n "$RPS_MASK" ]; then
		ip netns exec "$r" sh -c "echo $RPS_MASK >/sys/class/net/r0/queues/rx-0/rps_cpus" ||
			say "warning: cannot set RPS on $r"
	fi
}
if ! mkpair p || ! mkpair g; then
	say "error: cannot create namespaces"
	exit 1
fi
for ns in cbg-s cbg-r; do
	guise -n $ns config set enabled on >/dev/null ||
		{ say "error: guise -n $ns config set enabled on failed"; exit 1; }
done

# use_module base|guise: load that build of the module (CBENCH_BASE or
# MODULE) unless it is loaded, and enable guise in cbg-s and cbg-r again.
LOADED=guise
use_module() {
	local ko=$MODULE ns
	[ "$1" = "$LOADED" ] && return 0
	[ "$1" = base ] && ko=$BASE
	rmmod guise && insmod "$ko" || { log "cannot load $ko"; return 1; }
	LOADED=$1
	for ns in cbg-s cbg-r; do
		guise -n $ns config set enabled on >/dev/null || return 1
	done
}
if [ -n "$BASE" ]; then
	if [ -f "$BASE" ]; then
		say "base module $BASE srcversion $(modinfo -F srcversion "$BASE" 2>/dev/null)"
	else
		say "warning: CBENCH_BASE=$BASE missing: no guise-base cases"
		BASE=
	fi
fi
RX_KINDS="plain guise esp relay${BASE:+ base}"
TX_KINDS="${BASE:+base }plain guise esp"

# --- setup per case --------------------------------------------------------------------
#
# setup rx|tx KIND ALG installs R's (rx) or S's (tx) side of the case,
# prints why it cannot and returns non-zero; unset KIND NS undoes it.

pair_of() { case $1 in guise | base) echo g ;; *) echo p ;; esac; }
side_of() { # rx|tx KIND: the namespace that gets the key or SA
	if [ "$1" = rx ]; then echo "cb$(pair_of "$2")-r"; else echo "cb$(pair_of "$2")-s"; fi
}

setup() { # rx|tx KIND ALG
	local ns dir=in
	ns=$(side_of "$1" "$2")
	[ "$1" = tx ] && dir=out
	case $2 in
	guise | base)
		guise -n "$ns" key add $GROUP $PORT id 1 alg "$3" dir "$1" \
			secret "$(key_of "$3")" salt $SALT 2>&1 ;;
	esp)
		ip -n "$ns" -batch - 2>&1 <<-EOT
		xfrm state add src $SADDR dst $GROUP proto esp spi $SPI reqid 1 mode transport replay-window 32 aead $(esp_name "$3") 0x$(key_of "$3")$SALT 128
		xfrm policy add src $SADDR/128 dst $GROUP/128 proto udp dport $PORT dir $dir tmpl src $SADDR dst $GROUP proto esp reqid 1 mode transport
		EOT
		;;
	esac
}
unset_case() { # KIND NS
	case $1 in
	guise | base) guise -n "$2" key flush $GROUP $PORT ;;
	esp) printf 'xfrm policy flush\nxfrm state flush\n' | ip -n "$2" -batch - ;;
	esac
} >/dev/null 2>&1

# --- measuring ---------------------------------------------------------------------------

wait_ready() { # FILE: until its first line is "ready" (5 s at most)
	local _ line
	for _ in {1..50}; do
		line=
		read -r line <"$1" 2>/dev/null
		[ "$line" = ready ] && return 0
		sleep 0.1
	done
	return 1
}
# field FILE NAME: the word after NAME on FILE's last line ("-" if none)
field() {
	local line last='' w prev=''
	while IFS= read -r line || [ -n "$line" ]; do last=$line; done <"$1"
	for w in $last; do
		[ "$prev" = "$2" ] && { echo "$w"; return; }
		prev=$w
	done
	echo -
}
# backlog_drops: datagrams every CPU's input queue dropped, so far
backlog_drops() {
	local _p d _rest n=0
	while read -r _p d _rest; do n=$((n + 16#$d)); done </proc/net/softnet_stat
	echo "$n"
}

# measure_rx KIND ALG: one receive sample. Prints "pps mbps sent_pps other
# sock_drops backlog_drops valid sent cpu0 cpu1": the application's rate,
# the sender's, wrong-size datagrams/s, socket drops (application + relay)
# and input-queue drops during the sample, valid 0 if the sender ran out
# of datagrams before the window ended, datagrams sent, each CPU's busy %
# while the sender ran.
measure_rx() {
	local kind=$1 alg=$2 s r app relay='' file=() b0 b1 secs valid sock
	s=cb$(pair_of "$kind")-s r=cb$(pair_of "$kind")-r
	: >"$TMP/app"
	: >"$TMP/relay"
	: >"$TMP/send"
	if [ "$kind" = relay ]; then
		ip netns exec "$r" "${PIN_APP[@]}" "$BIN/udp_count" -s $SIZE -w $WARM -t "$SECS" \
			-W 30 ::1 $APP_PORT >"$TMP/app" 2>&1 &
	else
		ip netns exec "$r" "${PIN_APP[@]}" "$BIN/udp_count" -s $SIZE -w $WARM -t "$SECS" \
			-W 30 -g $GROUP -i r0 :: $PORT >"$TMP/app" 2>&1 &
	fi
	app=$!
	PIDS+=("$app")
	wait_ready "$TMP/app" || log "$kind $alg: the application did not start: $(head -c 200 "$TMP/app")"
	if [ "$kind" = relay ]; then
		ip netns exec "$r" "${PIN_RELAY[@]}" "$BIN/relay" -a "$alg" -k "$(key_of "$alg")" \
			-n $SALT -g $GROUP -i r0 -t 300 $PORT ::1 $APP_PORT >"$TMP/relay" 2>&1 &
		relay=$!
		PIDS+=("$relay")
		wait_ready "$TMP/relay" || log "relay $alg: did not start: $(head -c 200 "$TMP/relay")"
	fi
	case $kind in
	esp) file=(-f "$TMP/esp.bin") ;;
	guise|base|relay) file=(-f "$TMP/guise.bin") ;;
	esac
	b0=$(backlog_drops)
	ip netns exec "$s" "${PIN_S[@]}" "$BIN/mcast_send" "${file[@]}" -i s0 -s $SIZE -b 64 \
		-t $SEND_SECS $GROUP $PORT >"$TMP/send" 2>&1
	b1=$(backlog_drops)
	wait "$app"
	if [ -n "$relay" ]; then
		kill "$relay" 2>/dev/null
		wait "$relay" 2>/dev/null
	fi
	# valid: the sender did not run out before WARM + SECS (+0.2 s)
	secs=$(field "$TMP/send" secs)
	secs=${secs/./}
	valid=1
	if [ "$(field "$TMP/send" exhausted)" = 1 ] && [ "$((10#${secs:-0}))" -lt $((SECS * 1000 + 700)) ]; then
		valid=0
	fi
	sock=$(field "$TMP/app" sockdrops)
	[ -n "$relay" ] && sock=$((sock + $(field "$TMP/relay" sockdrops)))
	echo "$(field "$TMP/app" pps) $(field "$TMP/app" mbps) $(field "$TMP/send" pps)" \
		"$(field "$TMP/app" other) $sock $((b1 - b0)) $valid $(field "$TMP/send" sent)" \
		"$(field "$TMP/send" cpu0) $(field "$TMP/send" cpu1)"
	{
		echo "rx $kind $alg: app: $(tail -n 1 "$TMP/app")"
		echo "rx $kind $alg: sender: $(tail -n 1 "$TMP/send")"
		[ -n "$relay" ] && echo "rx $kind $alg: relay: $(tail -n 1 "$TMP/relay")"
	} >>"$TMP/raw.log"
}

# R of pair TAG drops everything at tc ingress: tc_drop TAG on|off
tc_drop() {
	if [ "$2" = on ]; then
		printf 'qdisc add dev r0 clsact\nfilter add dev r0 ingress matchall action drop\n' |
			tc -n "cb$1-r" -batch - 2>&1
	else
		tc -n "cb$1-r" qdisc del dev r0 clsact 2>/dev/null
	fi
}

# measure_tx KIND: one send sample (R drops at tc ingress). Prints "pps
# mbps cpu0".
measure_tx() {
	ip netns exec "cb$(pair_of "$1")-s" "${PIN_S[@]}" "$BIN/mcast_send" -i s0 -s $SIZE -b 64 \
		-t "$SECS" $GROUP $PORT >"$TMP/send" 2>&1
	echo "$(field "$TMP/send" pps) $(field "$TMP/send" mbps) $(field "$TMP/send" cpu0)"
	echo "tx $1: sender: $(tail -n 1 "$TMP/send")" >>"$TMP/raw.log"
}

# Which implementation the crypto API picked: name -> driver of the AEADs
# someone holds a transform of (refcnt > 1).
crypto_in_use() {
	awk -F': ' '/^name/ { n = $2 } /^driver/ { d = $2 } /^refcnt/ { r = $2 }
		/^$/ { if (n ~ /gcm|chacha20|rfc4106|rfc7539/ && r > 1) print n " -> " d; n = d = r = "" }' \
		/proc/crypto | sort -u | tr '\n' ';' | sed 's/;$//; s/;/; /g'
}

# --- how many datagrams to pre-encrypt ----------------------------------------------------
#
# Enough for the sender's run at its top rate (measured: the plaintext send
# rate) x 1.2, capped so an algorithm's two files take at most 40% of free
# memory and 90% of /tmp (1280 bytes a datagram). A sample whose sender
# runs out before the window ends is discarded, and reported.

TX_WHY=
if out=$(tc_drop p on); then
	tc_drop p off
else
	TX_WHY="tc cannot drop at ingress: $(echo "$out" | head -c 200)"
	log "send cases skipped: $TX_WHY"
fi
if [ -z "$PREGEN" ]; then
	rate=
	if [ -z "$TX_WHY" ]; then
		tc_drop p on >/dev/null
		rate=$(measure_tx plain | awk '{ print $1 }')
		tc_drop p off
	fi
	PREGEN=$(awk -v r="${rate:-0}" -v t=$SEND_SECS \
		-v m="$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)" \
		-v f="$(df -k --output=avail "$TMP" | tail -n 1)" 'BEGIN {
		n = r > 0 ? r * 1.2 * t : 150000
		cap = (0.2 * m < 0.45 * f ? 0.2 * m : 0.45 * f) * 1024 / 1280
		if (n > cap) n = cap; if (n < 20000) n = 20000; printf "%d\n", n }')
	log "plaintext send rate ${rate:-?} pps: pre-encrypting $PREGEN datagrams per algorithm and format"
fi

# make_files ALG: $TMP/guise.bin and $TMP/esp.bin for ALG
make_files() {
	"$BIN/mcast_send" -o "$TMP/guise.bin" -m guise -a "$1" -k "$(key_of "$1")" -n $SALT -K 1 \
		-c "$PREGEN" -s $SIZE $GROUP $PORT >&2 &&
	"$BIN/mcast_send" -o "$TMP/esp.bin" -m esp -a "$1" -k "$(key_of "$1")" -n $SALT -S $SPI \
		-A $SADDR -c "$PREGEN" -s $SIZE $GROUP $PORT >&2
}

# --- profile (CBENCH_PERF=1) ----------------------------------------------------------------
#
# profile_rx ALG: one receive sample of each case of PERF_CASES with perf
# recording the rx CPU (CPU 1: RPS, IPv6 input, decryption, UDP, the
# application); its top 25 symbols by self time go to PERF_OUT, printed
# at the end of the report.
PERF_OUT=
profile_rx() {
	local alg=$1 kind pd pp rx
	command -v perf >/dev/null || { PERF_OUT+="profile: no perf in the guest"$'\n'; return; }
	for kind in $PERF_CASES; do
		case $kind in
		guise | base) use_module "$kind" || continue ;;
		esac
		[ -n "${SKIP[$kind:$alg]:-}" ] && continue
		setup rx "$kind" "$alg" >/dev/null || { unset_case "$kind" "$(side_of rx "$kind")"; continue; }
		pd=$TMP/perf-$kind.data
		rm -f "$TMP/perfgo" && mkfifo "$TMP/perfgo"
		# perf is set up (seconds under TCG) once sh says "go"
		# shellcheck disable=SC2016
		perf record -q -e cpu-clock -F 1000 -C 1 -o "$pd" -- \
			sh -c 'echo go >"$0"; exec sleep "$1"' "$TMP/perfgo" $((SECS + 3)) \
			>/dev/null 2>"$TMP/perf.err" &
		pp=$!
		read -r -t 300 _ <"$TMP/perfgo"
		rx=$(measure_rx "$kind" "$alg")
		wait "$pp"
		unset_case "$kind" "$(side_of rx "$kind")"
		PERF_OUT+=$'\n'"profile rx $kind $alg (perf cpu-clock on the rx CPU; sample: pps mbps sent_pps other sockdrop backlogdrop valid sent cpu0% cpu1% = $rx):"$'\n'
		PERF_OUT+=$(perf report -i "$pd" --kallsyms=/proc/kallsyms --stdio --sort sym \
			--percentage relative 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 |
			sed 's/^/    /')$'\n'
		log "perf rx $kind $alg: $(head -c 300 "$TMP/perf.err")"
		rm -f "$pd"
	done
}

# --- the rounds ------------------------------------------------------------------------------
#
# One block per algorithm: its files, then ROUNDS rounds of plain, guise,
# esp, relay (receive) and plain, guise, esp (send). Ratios compare cases
# of one block, measured minutes apart at most.

declare -A SKIP=()
nalgs=$(wc -w <<<"$ALGS")
for alg in $ALGS; do
	log "--- $alg"
	alg_end=0
	[ "$DEADLINE" -gt 0 ] && alg_end=$(($(now) + (T0 + DEADLINE - $(now)) / nalgs))
	nalgs=$((nalgs - 1))
	if ! make_files "$alg"; then
		for k in guise esp relay; do SKIP[$k:$alg]="cannot pre-encrypt (see the log)"; done
	fi
	for round in $(seq "$ROUNDS"); do
		if [ "$round" -gt 1 ] && [ "$alg_end" -gt 0 ] && [ "$(now)" -gt "$alg_end" ]; then
			log "$alg: deadline, $((round - 1)) of $ROUNDS rounds"
			break
		fi
		for kind in $RX_KINDS; do
			c=$kind:$alg
			case $kind in
			guise | base) use_module "$kind" || SKIP[$c]="cannot load the $kind module" ;;
			esac
			[ -n "${SKIP[$c]:-}" ] && continue
			if ! out=$(setup rx "$kind" "$alg"); then
				SKIP[$c]="setup failed: $(echo "$out" | tr '\n' ' ' | head -c 200)"
				log "$c: ${SKIP[$c]}"
				unset_case "$kind" "$(side_of rx "$kind")"
				continue
			fi
			case $round:$kind in
			1:esp | 1:guise)
				inuse=$(crypto_in_use)
				log "$c: kernel AEADs in use: $inuse"
				echo "  $c: $inuse" >>"$TMP/inuse.txt" ;;
			esac
			rx=$(measure_rx "$kind" "$alg")
			log "$c round $round rx: pps mbps sent_pps other sockdrop backlogdrop valid sent cpu0% cpu1% = $rx"
			echo "$c $round $rx" >>"$TMP/rx.txt"
			if [ "$round" -eq 1 ]; then
				case $kind in
				guise) log "$c: R's guise counters: $(guise -n cbg-r -j stats 2>&1 | tr -d ' \n' |
					grep -o '"content_decrypted.*')" ;;
				esp) log "$c: R's SA: $(ip -n cbp-r -s xfrm state 2>&1 | grep -A1 -i 'lifetime current' |
					tail -n 1 | xargs); $(ip -n cbp-r -s xfrm state | grep -i -m1 'replay ' | xargs)"
					# shellcheck disable=SC2016
					log "$c: R's nonzero xfrm errors: $(ip netns exec cbp-r awk '$2 != 0' /proc/net/xfrm_stat | xargs)" ;;
				esac
			fi
			unset_case "$kind" "$(side_of rx "$kind")"
		done
		[ "$TX" = 1 ] || continue
		for kind in $TX_KINDS; do
			c=$kind:$alg
			case $kind in
			guise | base) use_module "$kind" || TX_WHY="cannot load the $kind module" ;;
			esac
			if [ -n "$TX_WHY" ]; then
				echo "$c $round - - $TX_WHY" >>"$TMP/tx.txt"
				continue
			fi
			if ! out=$(setup tx "$kind" "$alg"); then
				echo "$c $round - - setup failed: $(echo "$out" | tr '\n' ' ' | head -c 200)" >>"$TMP/tx.txt"
				unset_case "$kind" "$(side_of tx "$kind")"
				continue
			fi
			[ "$round" -eq 1 ] && [ "$kind" = guise ] && log "$c: kernel AEADs in use: $(crypto_in_use)"
			tc_drop "$(pair_of "$kind")" on >/dev/null
			tx=$(measure_tx "$kind")
			tc_drop "$(pair_of "$kind")" off
			log "$c round $round tx: pps mbps cpu0% = $tx"
			echo "$c $round $tx" >>"$TMP/tx.txt"
			unset_case "$kind" "$(side_of tx "$kind")"
		done
	done
	[ "$PERF" = 1 ] && profile_rx "$alg"
	rm -f "$TMP/guise.bin" "$TMP/esp.bin"
done
sed 's/^/# raw: /' "$TMP/raw.log" >&2

# --- report -----------------------------------------------------------------------------

say ""
say "=== results"
for c in "${!SKIP[@]}"; do echo "$c ${SKIP[$c]}"; done >"$TMP/skip.txt"
python3 - "$TMP/rx.txt" "$TMP/tx.txt" "$TMP/skip.txt" "$ALGS" "$ROUNDS" "$SECS" "$TX" <<'PY'
import statistics, sys

rx_f, tx_f, skip_f, algs, rounds, secs, tx_on = sys.argv[1:8]
algs = algs.split()


def load(path):
    d = {}
    try:
        for line in open(path):
            f = line.split()
            d.setdefault(f[0], []).append(f[2:])
    except FileNotFoundError:
        pass
    return d


def num(x):
    try:
        return float(x)
    except ValueError:
        return None


def med(rows, i):
    v = [num(r[i]) for r in rows if i < len(r) and num(r[i]) is not None]
    return statistics.median(v) if v else None


rx, tx = load(rx_f), load(tx_f)
skip = dict(line.rstrip("\n").split(" ", 1) for line in open(skip_f))

# rx row: pps mbps sent_pps other sock backlog valid sent cpu0 cpu1


def rx_rows(c):
    """Samples whose sender did not run out and that delivered."""
    return [r for r in rx.get(c, []) if len(r) >= 10 and r[6] == "1" and num(r[0])]


def rxv(c):
    rows = rx_rows(c)
    if not rows or c in skip:
        return None
    norm = [num(r[0]) * 100 / num(r[9]) for r in rows if num(r[9])]
    return {"norm": statistics.median(norm) if norm else None,
            "pps": med(rows, 0), "mbps": med(rows, 1), "sent": med(rows, 2),
            "other": med(rows, 3), "sock": med(rows, 4), "backlog": med(rows, 5),
            "cpu0": med(rows, 8), "cpu1": med(rows, 9), "n": len(rows)}


def why_rx(c):
    if c in skip:
        return "skipped: " + skip[c]
    rows = rx.get(c, [])
    if not rows:
        return "skipped: did not run"
    if all(len(r) >= 7 and r[6] == "0" for r in rows):
        return "skipped: the sender ran out of pre-encrypted datagrams (raise CBENCH_PREGEN)"
    if med(rows, 3):
        return "skipped: the application got only datagrams of the wrong size (not decrypted)"
    if c.startswith("esp"):
        return "skipped: the application got nothing through ESP to a multicast group"
    return "skipped: the application got nothing"


def ratio(a, b):
    return "%.2fx" % (a / b) if a and b else "-"


def pct(x):
    return "%3.0f%%" % x if x is not None else "   ?"


LABEL = {"plain": "plaintext", "guise": "guise", "esp": "ESP", "relay": "relay",
         "base": "guise-base"}
RX_KINDS = [k for k in ("plain", "guise", "esp", "relay", "base")
            if k != "base" or any(c.startswith("base:") for c in rx)]
TX_KINDS = [k for k in ("plain", "guise", "esp", "base")
            if k != "base" or any(c.startswith("base:") for c in tx)]
print("Receive: datagrams/s and payload Mbit/s the application reads (median of %s x %s s)."
      % (rounds, secs))
print("CPU 1 (rx CPU) does all receive-side work, CPU 0 (tx CPU) the sender; busy % during")
print("the send. Drops/sample: backlog = input queue, before any decryption; socket = UDP")
print("receive buffers (the relay's own holds ciphertext).")
print("pps/rxCPU = pps / rx CPU busy share: datagrams per second of the rx CPU, i.e. the")
print("inverse cost of a datagram, fair also when a case leaves the rx CPU idle.")
print("us/dgram = 1e6 / (pps/rxCPU): rx CPU time per datagram.")
print("%-18s %-10s %7s %7s %8s %6s %6s %8s %8s %9s %8s" %
      ("alg", "case", "pps", "Mbit/s", "sent pps", "rx CPU", "tx CPU", "backlog", "socket",
       "pps/rxCPU", "us/dgram"))
for a in algs:
    for kind in RX_KINDS:
        c = "%s:%s" % (kind, a)
        v = rxv(c)
        if v is None:
            print("%-18s %-10s %s" % (a, LABEL[kind], why_rx(c)))
            continue
        note = ""
        if v["cpu1"] is not None and v["cpu1"] < 90:
            note += "  rx CPU not saturated"
        if v["other"]:
            note += "  (+%d/s of the wrong size)" % v["other"]
        if v["n"] < int(rounds):
            note += "  (%d of %s samples valid)" % (v["n"], rounds)
        print("%-18s %-10s %7.0f %7.1f %8.0f %6s %6s %8.0f %8.0f %9s %8s%s" %
              (a, LABEL[kind], v["pps"], v["mbps"], v["sent"] or 0, pct(v["cpu1"]),
               pct(v["cpu0"]), v["backlog"], v["sock"], "%.0f" % v["norm"] if v["norm"] else "-",
               "%.1f" % (1e6 / v["norm"]) if v["norm"] else "-", note))

print()
print("Receive ratios: guise against each case of its block [target; not asserted]")
print("%-18s %-18s %-18s %-18s %s" % ("alg", "guise/ESP", "guise/relay", "guise/plaintext",
                                      "guise/base" if "base" in RX_KINDS else ""))
for a in algs:
    g, e, r, p, b = (rxv("%s:%s" % (k, a)) for k in ("guise", "esp", "relay", "plain", "base"))
    gp = g and g["pps"]
    print("%-18s %-18s %-18s %-18s %s" % (
        a, ratio(gp, e and e["pps"]) + " [>=0.95]",
        ratio(gp, r and r["pps"]) + " [>=2]",
        ratio(gp, p and p["pps"]) + " [>=0.6]",
        ratio(gp, b and b["pps"]) if "base" in RX_KINDS else ""))
print()
print("The same ratios per rx-CPU second (pps/rxCPU): cost per datagram, rx side")
print("%-18s %-18s %-18s %-18s %s" % ("alg", "guise/ESP", "guise/relay", "guise/plaintext",
                                      "guise/base" if "base" in RX_KINDS else ""))
for a in algs:
    g, e, r, p, b = (rxv("%s:%s" % (k, a)) for k in ("guise", "esp", "relay", "plain", "base"))
    gn = g and g["norm"]
    print("%-18s %-18s %-18s %-18s %s" % (
        a, ratio(gn, e and e["norm"]) + " [>=0.95]",
        ratio(gn, r and r["norm"]) + " [>=2]",
        ratio(gn, p and p["norm"]) + " [>=0.6]",
        ratio(gn, b and b["norm"]) if "base" in RX_KINDS else ""))

if tx_on == "1":
    def txv(c):
        rows = [r for r in tx.get(c, []) if num(r[0])]
        return (med(rows, 0), med(rows, 1), med(rows, 2)) if rows else None

    print()
    print("Send: datagrams/s leaving the sender, the kernel encrypting in its context (R drops")
    print("at tc ingress; median of %s x %s s) [target; not asserted]" % (rounds, secs))
    print("%-18s %-10s %7s %7s %6s   %-18s %-18s %s" %
          ("alg", "case", "pps", "Mbit/s", "tx CPU", "guise/ESP", "guise/plaintext",
           "guise/base" if "base" in TX_KINDS else ""))
    for a in algs:
        for kind in TX_KINDS:
            c = "%s:%s" % (kind, a)
            v = txv(c)
            if v is None:
                rows = tx.get(c)
                why = " ".join(rows[0][2:]) if rows else "did not run"
                print("%-18s %-10s skipped: %s" % (a, LABEL[kind], why or "nothing was sent"))
                continue
            r1 = r2 = r3 = ""
            if kind == "guise":
                e, p, b = txv("esp:" + a), txv("plain:" + a), txv("base:" + a)
                r1 = ratio(v[0], e and e[0]) + " [>=0.95]"
                r2 = ratio(v[0], p and p[0]) + " [>=0.6]"
                r3 = ratio(v[0], b and b[0]) if "base" in TX_KINDS else ""
            print("%-18s %-10s %7.0f %7.1f %6s   %-18s %-18s %s" %
                  (a, LABEL[kind], v[0], v[1], pct(v[2]), r1, r2, r3))
PY
if [ -s "$TMP/inuse.txt" ]; then
	say ""
	say "Kernel AEADs held during the receive cases (/proc/crypto, name -> driver):"
	cat "$TMP/inuse.txt"
fi
if [ "$TCRYPT" = 1 ]; then
	say ""
	say "AEAD speed in this guest (tcrypt, sec=1, on CPU 1; information only):"
	say "ops/s and us/op for 1024- and 1420-byte blocks (AAD 8 or 16 bytes, 16-byte tag), interpolated to 1216 bytes (1200-byte payload + header)"
	n0=$(dmesg | wc -l)
	for mode in 213 211; do
		taskset -c 1 modprobe tcrypt mode=$mode sec=1 2>/dev/null	# always "fails" (EAGAIN)
	done
	dmesg | tail -n +$((n0 + 1)) | awk '
		/testing speed of/ { alg = $0; sub(/.*testing speed of /, "", alg) }
		/byte blocks\)/ && / operations in / {
			for (i = 1; i <= NF; i++) {
				if ($i == "bit") kb = $(i - 1)
				if ($i == "byte") bs = $(i - 1)
				if ($(i + 1) == "operations") ops = $i
			}
			kb = substr(kb, 2)
			if (bs != 1024 && bs != 1420) next
			key = alg " " kb "-bit"
			o[key, bs] = ops; if (!(key in seen)) { seen[key] = 1; order[++n] = key }
		}
		END {
			for (i = 1; i <= n; i++) {
				k = order[i]; a = o[k, 1024]; b = o[k, 1420]
				if (!a || !b) continue
				ua = 1e6 / a; ub = 1e6 / b
				printf "  %-60s 1024 B %7d/s %6.1f us  1420 B %7d/s %6.1f us  1216 B ~%6.1f us\n",
					k, a, ua, b, ub, ua + (ub - ua) * (1216 - 1024) / (1420 - 1024)
			}
		}'
fi
[ -n "$PERF_OUT" ] && say "$PERF_OUT"
say "=== end"
say "bench: $(($(now) - T0)) s in the guest"
