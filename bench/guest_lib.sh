# SPDX-License-Identifier: GPL-2.0
#
# Sourced by the benchmarks that run in the guest (lease_bench.sh,
# content_bench.sh, revoke_bench.sh, firstpkt_bench.sh), which define
# say() and MODULE first.

# Load MODULE unless guise is loaded, with its dependencies (insmod does
# not resolve them: nf_defrag_ipv6, ...); exit 1 if it cannot be loaded.
bench_load_module() {
	local dep
	[ -d /sys/module/guise ] && return 0
	for dep in $(modinfo -F depends "$MODULE" 2>/dev/null | tr ',' ' '); do
		modprobe "$dep" || say "warning: modprobe $dep failed"
	done
	insmod "$MODULE" || { say "error: insmod $MODULE failed"; exit 1; }
}

# The report's header lines: the guest and the module measured.
bench_describe() {
	say "kernel $(uname -r), $(nproc) vCPUs, $(awk '/^MemTotal:/ { printf "%d MB", $2 / 1024 }' /proc/meminfo) RAM ($(date -u '+%Y-%m-%d %H:%M UTC'))"
	say "module $MODULE srcversion $(cat /sys/module/guise/srcversion 2>/dev/null)"
}
