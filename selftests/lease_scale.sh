#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lease_scale: 100,000 leases go in over one socket (guise lease load),
# come back whole in a dump, are counted by CONFIG_GET, respect
# max-leases, and flush.
source "$(dirname "$0")/lib.sh"
require_cmd python3

N=${N:-100000}
setup_ns G
defer cleanup_all_ns
gx() { guise -n "$G" "$@"; }

check "serve fd00:ff::/32" gx config set enabled on vprefix fd00:ff::/32
python3 - "$N" >/tmp/leases.txt <<'PY'
import sys
n = int(sys.argv[1])
for i in range(n):
    print("2001:db8:1::%x:%x 2001:db8:2::1 fd00:ff::%x:%x lifetime 1h"
          % (i >> 16, i & 0xffff, i >> 16, i & 0xffff))
PY
start=$(date +%s.%N)
check "load $N leases" gx lease load /tmp/leases.txt
end=$(date +%s.%N)
echo "# loaded $N leases in $(echo "$end - $start" | bc 2>/dev/null || python3 -c "print($end - $start)") s"
check "CONFIG_GET counts $N" \
	[ "$(gx -j config show | python3 -c 'import json,sys; print(json.load(sys.stdin)["lease_count"])')" = "$N" ]
check "a dump returns every lease exactly once" \
	[ "$(gx -j lease show | python3 -c 'import json,sys; l=json.load(sys.stdin); print(len(l), len({x["virt"] for x in l}))')" = "$N $N" ]
check "get one by virtual address" gx lease show virt fd00:ff::1:2
check "max-leases set to the count" gx config set max-leases "$N"
check "one more lease is refused: table full" \
	bash -c "guise -n $G lease add 2001:db8:9::1 2001:db8:2::1 fd00:ff::ffff:ffff 2>&1 | grep -q 'table full'"
check "flush" gx lease flush
check "empty after flush" [ "$(gx -j lease show)" = "[]" ]

exit_status
