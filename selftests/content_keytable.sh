#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 600
#
# content_keytable: the content-key table under churn.
#
# Dumps: KEY_GET dumps run while another process adds and deletes keys in
# bursts (whole flows, and keys behind the stable ones of a flow, growing
# and shrinking the flow table). A raw client that does
# not retry (dumptool.py) must see every dump either complete with each
# stable key exactly once and no key twice, or marked NLM_F_DUMP_INTR, and
# some marked; `guise key show` (libguise dumps again when the kernel marks
# a dump) must print consistent sets, or fail saying that every try was
# interrupted, and must have retried at least once.
#
# Freeing: unlinked keys are freed a grace period later by a work item (the
# AEAD transforms are freed in process context, not in an RCU callback). The
# module is unloaded right after a flush of all of them (AES-GCM ones too),
# their frees still pending: the unload must wait for them (clean, no leak;
# the runner fails on any WARN).
source "$(dirname "$0")/lib.sh"
require_cmd python3

STABLE=${STABLE:-600}
CHURN=${CHURN:-600}
SECS=${SECS:-25}
# Any change marks a key dump: pauses in the churn let some complete.
PAUSE=${PAUSE:-1.5}

setup_ns G
defer cleanup_all_ns
gx() { guise -n "$G" "$@"; }
dt() { ip netns exec "$G" python3 selftests/dumptool.py "$@"; }

check_logged "install $STABLE stable keys (chacha20-poly1305; aes128-gcm, aes256-gcm)" \
	dt fill key "$STABLE"
dt churn key "$CHURN" $((SECS + 3)) "$PAUSE" >/tmp/keytable-churn.log 2>&1 &
churn=$!
defer kill "$churn"
sleep 1
dt check key "$STABLE" "$SECS" >/tmp/keytable-check.log 2>&1 &
checker=$!
defer kill "$checker"
check_logged "guise key show under churn: a consistent set or \"every try interrupted\"; some retried" \
	dt cli key "$STABLE" "$SECS" retried
rc=0
wait "$checker" || rc=$?
sed 's/^/# /' /tmp/keytable-check.log
log_test "$rc" "raw dumps under churn: consistent unless marked interrupted; some marked"
rc=0
wait "$churn" || rc=$?
sed 's/^/# /' /tmp/keytable-churn.log
log_test "$rc" "the churn ran throughout"
check "all $STABLE stable keys are left" \
	[ "$(gx -j key show | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$STABLE" ]

before=$(dmesg | grep -c 'guise: unloaded' || true)
check "flush every key" gx key flush
check "unload at once, with the frees pending" rmmod guise
check "the unload waited for them: clean" \
	[ "$(dmesg | grep -c 'guise: unloaded')" -eq $((before + 1)) ]
check "no leak reported" bash -c "! dmesg | grep -q 'guise: leaked'"
check "insmod again" insmod kmod/guise.ko

exit_status
