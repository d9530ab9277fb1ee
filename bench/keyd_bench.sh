#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# keyd_bench.sh: build and run bench/src/keyd_bench.c (host only: the
# codecs and the revocation cost model need no kernel). The report goes
# to stdout and build/bench/keyd_bench.txt.
#
#   bench/keyd_bench.sh [SECONDS-PER-RATE]
set -euo pipefail
cd "$(dirname "$0")/.."
out=build/bench
mkdir -p "$out"
cc -O2 -std=gnu11 -Wall -Wextra -Werror -D_GNU_SOURCE -Iinclude/uapi \
	-Iuserspace/lib -o "$out/keyd_bench" bench/src/keyd_bench.c \
	userspace/lib/keying.c -lcrypto
"$out/keyd_bench" "${1:-2}" | tee "$out/keyd_bench.txt"
