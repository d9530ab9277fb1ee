#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A daemon out of file descriptors (daemon/http.c, shared by all four):
# more connections than its descriptor limit allows. accept() then fails
# with EMFILE and the listening socket stays readable; the daemon must
# pause accepting, not spin on it, and serve again once the connections
# close. Run by certd_accept_flood.c (TAP): sh certd_accept_flood.sh DIR
# CERTD.
set -u

dir=${1:?usage: certd_accept_flood.sh DIR CERTD}
certd=${2:?}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
pki_setup

cat >certd.conf <<CONF
[server]
listen = [::1]:0
cert = $dir/server.crt
key = $dir/server.key
ca = $dir/tlsca.crt
[trust]
anchors = $dir/rootA.crt
CONF
# 64 descriptors: the daemon's own (about 20) leave room for a few
# dozen connections.
(ulimit -n 64 && exec "$certd" --foreground --config certd.conf \
	--port-file certd.port 2>>certd.log) &
CPID=$!
pids="$pids $CPID"
wait_file certd.port
ok $? "certd started with 64 file descriptors"
PORT=$(sed -n 1p certd.port)

health() {
	curl -s --max-time 10 --cacert tlsca.crt --cert client.crt \
		--key client.key "https://[::1]:$PORT/v1/health" |
		grep -q '"status":"ok"'
}
health
ok $? "it answers"

# 100 TCP connections that say nothing, held until flood.stop exists.
python3 - "$PORT" <<'PY' &
import os, socket, sys, time
socks = []
for _ in range(100):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.connect(("::1", int(sys.argv[1])))
    socks.append(s)
open("flood.ready", "w").write("%d\n" % len(socks))
while not os.path.exists("flood.stop"):
    time.sleep(0.05)
for s in socks:
    s.close()
PY
FPID=$!
pids="$pids $FPID"
wait_file flood.ready
ok $? "100 connections open (the kernel's backlog holds what certd cannot accept)"

# Within certd's 10 s idle timeout, which frees the descriptors of the
# connections it accepted. A daemon retrying accept() at once burns a
# whole CPU: about 200 ticks in these 2 s. Paused, it makes ten
# attempts a second.
ticks() { awk '{ print $14 + $15 }' "/proc/$CPID/stat"; }
t0=$(ticks)
sleep 2
t1=$(ticks)
kill -0 "$CPID" && [ $((t1 - t0)) -lt 50 ]
ok $? "no busy loop while out of descriptors ($((t1 - t0)) ticks of CPU in 2 s)"
grep -q "not accepting" certd.log
ok $? "certd ran out of descriptors and said it pauses accepting"
[ "$(grep -c "not accepting" certd.log)" -eq 1 ]
ok $? "one warning, not one per attempt"

touch flood.stop
wait "$FPID"
# Connections already accepted end at certd's 10 s idle timeout; those
# still in the backlog were closed by the client: a new one gets through.
w=0
until health || [ $w -ge 30 ]; do
	sleep 1
	w=$((w + 1))
done
health
ok $? "after the flood certd serves again"

kill "$CPID"
wait "$CPID"
ok $? "exit 0 after SIGTERM"
echo "1..$n"
[ "$failed" -eq 0 ]
