#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# cpu_sampler.sh RESULTS_DIR PARENT_PID: host-side helper of
# bench/lease_bench.sh; bench/run.sh starts it next to the VM. It finds
# the QEMU process whose results export is RESULTS_DIR, then answers the
# guest's requests, made through files in RESULTS_DIR (the guest's
# writable 9p export):
#
#   guest writes cpu.req: "ID"
#   host writes cpu.ack:  "ID WALL_NS TID:RUN_NS TID:RUN_NS ..."
#
# RUN_NS is each QEMU thread's run time on this host (schedstat). The
# guest works out which threads are its vCPUs (it burns one vCPU and sees
# which thread grew) and so measures the CPU time its vCPUs really got.
# When that QEMU ends it looks for the next one (runs sharing RESULTS_DIR
# wait for each other); it exits when PARENT_PID has gone, or after 2 h.
set -uo pipefail

RES=${1:?usage: cpu_sampler.sh RESULTS_DIR PARENT_PID}
PARENT=${2:?usage: cpu_sampler.sh RESULTS_DIR PARENT_PID}
RES=$(cd "$RES" && pwd)

end=$(($(date +%s) + 7200))
while kill -0 "$PARENT" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do
	pid=''
	for p in $(pgrep qemu-system 2>/dev/null); do
		if tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "path=$RES,"; then
			pid=$p
			break
		fi
	done
	if [ -z "$pid" ]; then
		sleep 0.2
		continue
	fi
	last=''
	while [ -d "/proc/$pid" ] && kill -0 "$PARENT" 2>/dev/null; do
		id=''
		[ -f "$RES/cpu.req" ] && read -r id 2>/dev/null <"$RES/cpu.req"
		if [ -n "$id" ] && [ "$id" != "$last" ]; then
			line="$id $(date +%s%N)"
			for t in /proc/"$pid"/task/*; do
				read -r run _ 2>/dev/null <"$t/schedstat" && line+=" ${t##*/}:$run"
			done
			echo "$line" >"$RES/cpu.ack.tmp" && mv -f "$RES/cpu.ack.tmp" "$RES/cpu.ack"
			last=$id
		fi
		sleep 0.01
	done
done
exit 0
