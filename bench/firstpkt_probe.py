#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""First-packet delay prober of bench/firstpkt_bench.sh (runs in the VM).

One process, one clock (CLOCK_MONOTONIC): it holds a UDP socket in the
peer's namespace P, the events socket (and, for "kernel", a request
socket) of the guise family in gateway G, and opens each probe's UDP
socket in host H. A probe sends one datagram from H (a new socket, so a
new flow) to one of P's addresses, waits until P's socket has it (t1:
the one-way delay), answers from P with that address as source
(IPV6_PKTINFO), and waits for the answer at H (t2: the round trip).
Probes are sequential: at most one is in flight.

  firstpkt_probe.py run MODE OUT --h NS --g NS --p NS --port N
                        --reals A,B,.. --pass-src S --peer-base X --n N
                        [--gap-ms MS] [--timeout S]
  firstpkt_probe.py report FILE...

MODE "leased": for flow i (peer X+i, real reals[i % len]) three probes:
  ondemand  the flow's first packet: no lease, G holds it (miss policy
            upcall), guise-leased rents and installs, G releases it;
  lease     the same (real, peer) again, a new socket: the lease exists;
  pass      from S (a source with no miss rule: plain forwarding through
            G's hooks, no lease, no rewrite).
MODE "kernel": no daemon runs; the prober answers each LEASE_MISS itself
  with a LEASE_NEW at once (the hold/release mechanism alone, the floor
  for any daemon); probes "kernel" and, per flow, "lease" again.
For every held probe the arrival of the LEASE_MISS event at the prober is
also recorded (t_miss).

OUT gets one line per probe: "MODE KIND I ONEWAY_US RTT_US MISS_US"
(-1 = lost / not seen). "report" prints p50/p99/max and the ratios.
"""
import ctypes
import os
import random
import select
import socket
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_ADD_MEMBERSHIP = 1
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY = 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME, CTRL_ATTR_MCAST_GROUPS = 1, 2, 7
CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_MCAST_GRP_ID = 1, 2
NLA_F_NESTED = 0x8000
# include/uapi/linux/guise.h
GUISE_CMD_LEASE_NEW, GUISE_CMD_LEASE_MISS = 3, 8
GUISE_A_LEASE = 2
A_REAL, A_PEER, A_VIRT, A_FLAGS, A_LIFETIME = 2, 3, 4, 5, 6
F_EGRESS_INGRESS = 3

libc = ctypes.CDLL(None, use_errno=True)


def setns(name):
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET):
            e = ctypes.get_errno()
            raise OSError(e, "setns %s: %s" % (name, os.strerror(e)))
    finally:
        os.close(fd)


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * (-len(a) % 4)


def attrs(buf):
    while len(buf) >= 4:
        ln, t = struct.unpack_from("=HH", buf)
        if ln < 4:
            break
        yield t & 0x3FFF, buf[4:ln]
        buf = buf[(ln + 3) & ~3:]


def nl_msgs(data):
    while len(data) >= 16:
        ln, typ = struct.unpack_from("=IH", data)
        if ln < 16:
            break
        yield typ, data[16:ln]
        data = data[(ln + 3) & ~3:]


class Genl:
    """The guise family in the current namespace."""

    def __init__(self):
        self.sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                NETLINK_GENERIC)
        self.sk.bind((0, 0))
        self.seq = 1
        self.fam, self.grp = self.family("guise", "events")

    def send(self, family, cmd, payload):
        self.seq += 1
        body = struct.pack("=BBH", cmd, 1, 0) + payload
        self.sk.send(struct.pack("=IHHII", 16 + len(body), family,
                                 NLM_F_REQUEST | NLM_F_ACK, self.seq, 0) + body)

    def family(self, name, group):
        self.send(GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                  attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"))
        fam = grp = None
        done = False
        while not done:
            for typ, msg in nl_msgs(self.sk.recv(65536)):
                if typ == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", msg)[0]
                    if err:
                        raise OSError(err, "genl family %s" % name)
                    done = True
                    continue
                for t, v in attrs(msg[4:]):
                    if t == CTRL_ATTR_FAMILY_ID:
                        fam = struct.unpack("=H", v[:2])[0]
                    if t == CTRL_ATTR_MCAST_GROUPS:
                        for _, g in attrs(v):
                            d = dict(attrs(g))
                            if d.get(CTRL_ATTR_MCAST_GRP_NAME, b"").rstrip(
                                    b"\0") == group.encode():
                                grp = struct.unpack(
                                    "=I", d[CTRL_ATTR_MCAST_GRP_ID])[0]
        if fam is None or grp is None:
            raise OSError(2, "no guise family/events group")
        return fam, grp

    def lease_new(self, real, peer, virt):
        self.send(self.fam, GUISE_CMD_LEASE_NEW, attr(
            GUISE_A_LEASE | NLA_F_NESTED,
            attr(A_REAL, real) + attr(A_PEER, peer) + attr(A_VIRT, virt) +
            attr(A_FLAGS, struct.pack("=I", F_EGRESS_INGRESS)) +
            attr(A_LIFETIME, struct.pack("=I", 600))))


def misses(data):
    """(real, peer) of the LEASE_MISS events in @data."""
    for _, msg in nl_msgs(data):
        if len(msg) < 4 or msg[0] != GUISE_CMD_LEASE_MISS:
            continue
        for t, v in attrs(msg[4:]):
            if t == GUISE_A_LEASE:
                d = dict(attrs(v))
                if A_REAL in d and A_PEER in d:
                    yield d[A_REAL], d[A_PEER]


def run(a):
    mode, out = a["mode"], a["out"]
    n, port, tmo = int(a["n"]), int(a["port"]), float(a.get("timeout", "4"))
    gap = float(a.get("gap-ms", "10")) / 1000
    reals = a["reals"].split(",")
    base = int.from_bytes(socket.inet_pton(socket.AF_INET6, a["peer-base"]),
                          "big")
    peers = [socket.inet_ntop(socket.AF_INET6, (base + i).to_bytes(16, "big"))
             for i in range(n)]

    setns(a["p"])
    sp = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    sp.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_RECVPKTINFO, 1)
    sp.bind(("::", port))
    setns(a["g"])
    ev = Genl()
    ev.sk.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, ev.grp)
    ev.sk.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    req = Genl() if mode == "kernel" else None
    setns(a["h"])
    errors = [0]
    vbase = 0x20010db800ffffff << 64   # 2001:db8:ff:ffff::/64, in the pool

    def probe(kind, i, src, dst):
        s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        s.bind((src, 0))
        want = (socket.inet_pton(socket.AF_INET6, src),
                socket.inet_pton(socket.AF_INET6, dst))
        msg = struct.pack("=I", i) + kind.encode()
        t_miss = t1 = t2 = -1
        t0 = time.monotonic_ns()
        s.sendto(msg, (dst, port))
        end = t0 + int(tmo * 1e9)
        waits = [sp, ev.sk] + ([req.sk] if req else [])
        while t1 < 0:
            left = (end - time.monotonic_ns()) / 1e9
            if left <= 0:
                break
            for r in select.select(waits, [], [], left)[0]:
                now = time.monotonic_ns()
                if r is ev.sk:
                    for rp in misses(ev.sk.recv(1 << 16)):
                        if rp == want and t_miss < 0:
                            t_miss = now
                            if req:
                                virt = (vbase + i + 1).to_bytes(16, "big")
                                req.lease_new(rp[0], rp[1], virt)
                elif req and r is req.sk:
                    for typ, m in nl_msgs(req.sk.recv(1 << 16)):
                        if typ == NLMSG_ERROR and struct.unpack_from("=i", m)[0]:
                            errors[0] += 1
                elif r is sp:
                    data, anc, _, frm = sp.recvmsg(2048, 256)
                    if data != msg:
                        continue        # a late answer of an earlier probe
                    t1 = now
                    info = [d for lv, ty, d in anc
                            if lv == socket.IPPROTO_IPV6 and ty == socket.IPV6_PKTINFO]
                    sp.sendmsg([data], [(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO,
                                         info[0])] if info else [], 0, frm)
        if t1 >= 0:
            while True:
                left = (end - time.monotonic_ns()) / 1e9
                if left <= 0 or not select.select([s], [], [], left)[0]:
                    break
                if s.recv(2048) == msg:
                    t2 = time.monotonic_ns()
                    break
        s.close()
        us = lambda t: -1 if t < 0 else (t - t0) // 1000
        return "%s %s %d %d %d %d\n" % (mode, kind, i, us(t1), us(t2), us(t_miss))

    with open(out, "w") as f:
        for i in range(n):
            real = reals[i % len(reals)]
            if mode == "kernel":
                kinds = [("kernel", real), ("lease", real)]
            else:
                kinds = [("ondemand", real), ("lease", real), ("pass", a["pass-src"])]
            for kind, src in kinds:
                f.write(probe(kind, i, src, peers[i]))
                # let the daemon and the softirqs settle; random phase
                time.sleep(gap * (0.5 + random.random()))
            if i % 50 == 49:
                print("# %s: %d flows" % (mode, i + 1), flush=True)
    if errors[0]:
        print("# %s: %d LEASE_NEW requests failed" % (mode, errors[0]))
    return 0


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))] if v else float("nan")


def report(files):
    rows = {}
    for p in files:
        for line in open(p):
            f = line.split()
            if len(f) == 6:
                rows.setdefault((f[0], f[1]), []).append([int(x) for x in f[2:]])
    names = [("leased", "ondemand", "first packet, on demand (guise-leased)"),
             ("leased", "lease", "same (real, peer), lease exists"),
             ("leased", "pass", "plain forwarding (no rule, no lease)"),
             ("kernel", "kernel", "first packet, LEASE_NEW by the prober"),
             ("kernel", "lease", "same (real, peer), lease exists [k]")]
    stat = {}
    print("%-42s %5s %4s %8s %8s %8s %8s %8s" % (
        "one-way H -> P, ms", "n", "lost", "p50", "p90", "p99", "max", "mean"))
    for mode, kind, title in names:
        r = rows.get((mode, kind), [])
        if not r:
            continue
        ow = [x[1] / 1000 for x in r if x[1] >= 0]
        stat[(mode, kind, "ow")] = ow
        stat[(mode, kind, "rtt")] = [x[2] / 1000 for x in r if x[2] >= 0]
        stat[(mode, kind, "miss")] = [x[3] / 1000 for x in r if x[3] >= 0]
        stat[(mode, kind, "tail")] = [(x[1] - x[3]) / 1000 for x in r
                                      if x[1] >= 0 and x[3] >= 0]
        print("%-42s %5d %4d %8.2f %8.2f %8.2f %8.2f %8.2f" % (
            title, len(r), len(r) - len(ow), pct(ow, .5), pct(ow, .9),
            pct(ow, .99), max(ow) if ow else float("nan"),
            sum(ow) / len(ow) if ow else float("nan")))
    print()
    print("%-42s %5s %8s %8s %8s" % ("round trip H -> P -> H, ms", "n", "p50", "p99", "max"))
    for mode, kind, title in names:
        v = stat.get((mode, kind, "rtt"))
        if v:
            print("%-42s %5d %8.2f %8.2f %8.2f" % (title, len(v), pct(v, .5),
                                                  pct(v, .99), max(v)))
    print()
    print("where the on-demand delay goes (ms):       p50      p99      max")
    for mode, kind, title in (("leased", "ondemand", "guise-leased"),
                              ("kernel", "kernel", "prober's LEASE_NEW")):
        m, t = stat.get((mode, kind, "miss")), stat.get((mode, kind, "tail"))
        if m:
            print("  %-38s %8.2f %8.2f %8.2f" % (
                "send -> LEASE_MISS seen (%s run)" % mode, pct(m, .5), pct(m, .99), max(m)))
        if t:
            print("  %-38s %8.2f %8.2f %8.2f" % (
                "LEASE_MISS -> at P (%s)" % title, pct(t, .5), pct(t, .99), max(t)))
    print("  (the split is where the prober saw the LEASE_MISS; in the leased run the")
    print("  daemon is woken by the same event and may delay the prober: approximate)")
    print()
    od, le = stat.get(("leased", "ondemand", "ow")), stat.get(("leased", "lease", "ow"))
    ps = stat.get(("leased", "pass", "ow"))
    if od and le:
        print("on demand vs lease exists: p50 %.1fx (+%.2f ms), p99 %.1fx (+%.2f ms)" % (
            pct(od, .5) / pct(le, .5), pct(od, .5) - pct(le, .5),
            pct(od, .99) / pct(le, .99), pct(od, .99) - pct(le, .99)))
    if od and ps:
        print("on demand vs plain forwarding: p50 %.1fx (+%.2f ms), p99 %.1fx (+%.2f ms)" % (
            pct(od, .5) / pct(ps, .5), pct(od, .5) - pct(ps, .5),
            pct(od, .99) / pct(ps, .99), pct(od, .99) - pct(ps, .99)))
    kk, kl = stat.get(("kernel", "kernel", "ow")), stat.get(("kernel", "lease", "ow"))
    if kk and kl:
        print("prober-answered upcall vs lease exists: p50 %.1fx (+%.2f ms), p99 %.1fx (+%.2f ms)" % (
            pct(kk, .5) / pct(kl, .5), pct(kk, .5) - pct(kl, .5),
            pct(kk, .99) / pct(kl, .99), pct(kk, .99) - pct(kl, .99)))
    if od and kk:
        print("guise-leased's share: on-demand p50 - prober-answered p50 = %.2f ms" % (
            pct(od, .5) - pct(kk, .5)))
    return 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "report":
        return report(argv[2:])
    if len(argv) >= 4 and argv[1] == "run" and argv[2] in ("leased", "kernel"):
        a = {"mode": argv[2], "out": argv[3]}
        rest = argv[4:]
        if len(rest) % 2 or not all(k.startswith("--") for k in rest[::2]):
            print(__doc__, file=sys.stderr)
            return 2
        a.update({k[2:]: v for k, v in zip(rest[::2], rest[1::2])})
        need = ("h", "g", "p", "port", "reals", "peer-base", "n")
        if any(k not in a for k in need) or (argv[2] == "leased" and "pass-src" not in a):
            print(__doc__, file=sys.stderr)
            return 2
        return run(a)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
