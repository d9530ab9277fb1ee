#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# demo.sh: what `make demo` runs. Installs what is missing, builds the
# module and the CLI, boots the test VM and runs selftests/vm/demo_guest.sh
# on its console (the output streams here). Exit non-zero if a step fails.
set -euo pipefail

cd "$(dirname "$0")/.."
mkdir -p build
scripts/deps.sh build vm
for what in module userspace; do
	if ! make -j"$(nproc)" "$what" >"build/demo-build-$what.log" 2>&1; then
		tail -n 30 "build/demo-build-$what.log"
		echo "demo: 'make $what' failed (log: build/demo-build-$what.log)"
		exit 1
	fi
done
exec selftests/vm/run.sh --demo selftests/vm/demo_guest.sh "$@"
