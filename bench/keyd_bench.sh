#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# keyd_bench.sh: build and run bench/src/keyd_bench.c (host only: the
# codecs and the revocation cost model need no kernel), then measure the
# same revocation on the real guise-keyd for N = 10 and 1,000 with
# bench/src/keyd_measure.py (loopback, [kernel] sync = off, test-only
# [control] unicast = ::1; about 60 s, most of it two drains under the
# cap). N = 100,000 stays computed only. The report goes to stdout and
# build/bench/keyd_bench.txt.
#
#   bench/keyd_bench.sh [SECONDS-PER-RATE]
#   KEYD=path/to/guise-keyd (default build/bin/guise-keyd)
#   GUISE=path/to/guise (default build/bin/guise; only checked for)
#   KEYD_MEASURE=0 skips the measured part
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench
mkdir -p "$out"
cc -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude/uapi \
	-Iuserspace/lib -o "$out/keyd_bench" bench/src/keyd_bench.c \
	userspace/lib/keying.c -lcrypto
"$out/keyd_bench" "${1:-2}" | tee "$out/keyd_bench.txt"

[ "${KEYD_MEASURE:-1}" = 0 ] && exit 0
keyd=${KEYD:-build/bin/guise-keyd}
guise=${GUISE:-build/bin/guise}
if [ ! -x "$keyd" ] || [ ! -x "$guise" ]; then
	echo "no $keyd or $guise: the measured part is skipped" |
		tee -a "$out/keyd_bench.txt"
	exit 0
fi
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; exit 1' INT TERM HUP
# keyd_measure.py appends to the report; it stops its daemon and removes
# its temporary directory itself, on a signal too.
python3 bench/src/keyd_measure.py "$keyd" userspace/tests/keyd_certs.sh \
	"$out/keyd_bench.txt" 10 1000 &
pid=$!
wait "$pid"
