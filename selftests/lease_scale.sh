#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# lease_scale: 100,000 leases go in over one socket (guise lease load),
# come back whole in a dump, are counted by CONFIG_GET, respect
# max-leases, and flush. Then lease load's errors, with its requests
# pipelined many per sendmsg(): a refused line in the middle of a file of
# thousands is named with the kernel's reason, so is a second one sent in
# the same batch, loading stops, and exactly the lines sent and not
# refused are in the kernel; a line that does not parse stops the load
# with everything before it loaded and nothing after it sent.
# shellcheck disable=SC2317 # functions below run through check
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

# E leases fd00:ff::e:LINE; line 1000's virtual address is outside the
# served prefix, line 1003 takes line 10's for another (real, peer).
E=3000
python3 - "$E" >/tmp/leases_bad.txt <<'PY'
import sys
for i in range(1, int(sys.argv[1]) + 1):
    v = {1000: "2001:db8:ee::1", 1003: "fd00:ff::e:a"}.get(i, "fd00:ff::e:%x" % i)
    print("2001:db8:1::e:%x 2001:db8:2::1 %s lifetime 1h" % (i, v))
PY
check "max-leases back to 1048576" gx config set max-leases 1048576
rc=0
gx -j lease load /tmp/leases_bad.txt >/tmp/load.out 2>/tmp/load.err || rc=$?
sed 's/^/# /' /tmp/load.err
check "refused line: exit status 1" [ "$rc" = 1 ]
# has FILE TEXT: FILE contains TEXT (which may span lines)
has() { [[ "$(cat "$1")" == *"$2"* ]]; }
check "... line 1000 named with the kernel's reason" has /tmp/load.err \
	$'guise: lease load: line 1000\nguise: lease load: Invalid argument: guise: virtual address outside the served prefixes'

# loaded_check FILE OUT ERR: the kernel holds exactly the leases of the lines
# of FILE sent (up to the last line ERR says went out), less those ERR names
# as refused, and OUT ("loaded") counts them
loaded_check() {
	gx -j lease show >/tmp/lease_dump.json || return 1
	python3 - "$@" /tmp/lease_dump.json <<'PY'
import json, re, sys
lines = open(sys.argv[1]).read().splitlines()
out, err = open(sys.argv[2]).read(), open(sys.argv[3]).read()
refused = {int(n) for n in re.findall(r"^guise: lease load: line (\d+)$", err, re.M)}
went = re.search(r"^guise: lease load: lines (\d+)-(\d+) went with line (\d+), before", err, re.M)
bad = re.search(r"^guise: lease load: line (\d+): ", err, re.M)
if went:
    last = int(went.group(2))
    assert int(went.group(1)) == int(went.group(3)) + 1 == min(refused) + 1, err
    assert last - min(refused) < 256, "batch larger than 256: %s" % err
elif bad:
    last = int(bad.group(1)) - 1
else:
    last = min(refused)
assert last < len(lines), "loading did not stop: %s" % err
want = set()
for i in range(1, last + 1):
    if i not in refused:
        w = lines[i - 1].split()
        want.add((w[0], w[1], w[2]))
have = {(x["real"], x["peer"], x["virt"]) for x in json.load(open(sys.argv[4]))}
assert have == want, "kernel has %d leases, want %d: %s missing, %s extra" % (
    len(have), len(want), sorted(want - have)[:3], sorted(have - want)[:3])
assert json.loads(out)["loaded"] == len(want), out
print("lines 1-%d sent, refused %s, %d loaded" % (last, sorted(refused), len(want)))
PY
}
check "... exactly the lines sent and not refused are loaded" \
	loaded_check /tmp/leases_bad.txt /tmp/load.out /tmp/load.err
# line 1003 is refused too when it went in line 1000's batch
second_named() {
	local last
	last=$(sed -n 's/^guise: lease load: lines 1001-\([0-9]*\) went with line 1000,.*/\1/p' /tmp/load.err)
	[ -n "$last" ] || return 0 # line 1000 ended its batch: 1003 not sent
	[ "$last" -lt 1003 ] ||
		has /tmp/load.err $'guise: lease load: line 1003\nguise: lease load: File exists: guise: virtual address is leased to another (real, peer)'
}
check "... line 1003, when sent with line 1000, named too" second_named
check "flush" gx lease flush

# A line that does not parse: lines before it go in, nothing after it.
sed '2000s/.*/2001:db8:1::f:1 2001:db8:2::1 not-an-address/' /tmp/leases_bad.txt |
	sed '1000s/2001:db8:ee::1/fd00:ff::e:3e8/; 1003s/ fd00:ff::e:a / fd00:ff::e:3eb /' >/tmp/leases_syntax.txt
rc=0
gx -j lease load /tmp/leases_syntax.txt >/tmp/load.out 2>/tmp/load.err || rc=$?
sed 's/^/# /' /tmp/load.err
check "unparsable line: exit status 2" [ "$rc" = 2 ]
check "... line 2000 named" grep -q '^guise: lease load: line 2000: ' /tmp/load.err
check "... lines 1-1999 loaded, nothing after line 2000" \
	loaded_check /tmp/leases_syntax.txt /tmp/load.out /tmp/load.err
check "flush" gx lease flush

exit_status
