#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# timeout: 600
#
# lease_dump: LEASE_GET dumps while another process adds and deletes
# thousands of leases in bursts, so that the table grows and shrinks
# (rhashtable resizes) during dumps. A raw client that does not retry
# (dumptool.py) must see every dump either complete with each stable lease
# exactly once and no lease twice, or marked NLM_F_DUMP_INTR, and some
# marked (the kernel marks what can repeat or miss leases: a resize, or
# the lease a pass stopped at going away, not every change); `guise lease
# show` (libguise dumps again when the kernel marks a dump) must print
# consistent sets, or fail saying that every try was interrupted.
source "$(dirname "$0")/lib.sh"
require_cmd python3

STABLE=${STABLE:-1000}
CHURN=${CHURN:-2000}
SECS=${SECS:-25}
# Pauses in the churn let some dumps complete without a resize.
PAUSE=${PAUSE:-1}

setup_ns G
defer cleanup_all_ns
gx() { guise -n "$G" "$@"; }
dt() { ip netns exec "$G" python3 selftests/dumptool.py "$@"; }

check "serve fd00:ff::/32" gx config set vprefix fd00:ff::/32
check_logged "install $STABLE stable leases" dt fill lease "$STABLE"
dt churn lease "$CHURN" $((SECS + 3)) "$PAUSE" >/tmp/leasedump-churn.log 2>&1 &
churn=$!
defer kill "$churn"
sleep 1
dt check lease "$STABLE" "$SECS" >/tmp/leasedump-check.log 2>&1 &
checker=$!
defer kill "$checker"
check_logged "guise lease show under churn: a consistent set or \"every try interrupted\"" \
	dt cli lease "$STABLE" "$SECS"
rc=0
wait "$checker" || rc=$?
sed 's/^/# /' /tmp/leasedump-check.log
log_test "$rc" "raw dumps under churn: consistent unless marked interrupted; some marked"
rc=0
wait "$churn" || rc=$?
sed 's/^/# /' /tmp/leasedump-churn.log
log_test "$rc" "the churn ran throughout"
check "all $STABLE stable leases are left" \
	[ "$(gx -j lease show | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = "$STABLE" ]
check "flush" gx lease flush

exit_status
