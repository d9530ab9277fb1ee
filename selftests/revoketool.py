#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Timing helper of the revocation tests (revoke_e2e, bench/revoke_bench.sh,
the demo): publish a CRL and watch the kernel until the revoked client's
state is gone.

  revoketool.py publish SRC DST [--gencrl-start NS] [--lease NETNS REAL]...
                [--keys NETNS]... [--timeout SEC]

      Rename SRC to DST (the atomic publication of the CRL made by
      `openssl ca -gencrl -out SRC` into the directory guise-crlwatch
      watches: the moment it is published is the rename), then dump the
      kernel's tables over generic netlink in a tight loop (no process per
      poll) until every --lease (a lease of real address REAL in NETNS's
      lease table) and every --keys (any content key in NETNS) is gone.
      --gencrl-start is the wall clock (ns, date +%s%N) taken just before
      `openssl ca -gencrl` started, to report the time from there too.
      Prints one JSON object:
        {"ok": bool, "lease_ms": {"NETNS/REAL": ms}, "keys_ms": {...},
         "gencrl_ms": ms from --gencrl-start to the rename,
         "polls": n, "poll_us": mean time of one round of dumps}
      Times are from the rename; null = still there at the timeout.
      Exit 0 if everything went, 1 otherwise.

  revoketool.py count NETNS lease|key [REAL]
      Print the number of leases (of REAL) or keys in NETNS.

The lease and key dumps need CAP_NET_ADMIN (run as root). NETNS is a name
under /run/netns.
"""
import ctypes
import json
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import genl  # noqa: E402

CLONE_NEWNET = 0x40000000
NLM_F_REQUEST, NLM_F_DUMP, NLM_F_DUMP_INTR = 0x1, 0x300, 0x10
NLMSG_ERROR, NLMSG_DONE = 2, 3
GUISE_CMD_LEASE_GET, GUISE_CMD_KEY_GET = 5, 11

_libc = ctypes.CDLL(None, use_errno=True)


def setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


class NsGenl:
    """A generic netlink socket bound in network namespace NAME."""

    def __init__(self, name):
        self_fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        ns_fd = os.open("/run/netns/" + name, os.O_RDONLY)
        try:
            setns(ns_fd)
            self.g = genl.Genl()
            self.fam = self.g.family("guise")
        finally:
            setns(self_fd)
            os.close(ns_fd)
            os.close(self_fd)
        self.name = name

    def dump(self, cmd):
        """The payloads (genl header included) of one dump that the kernel
        did not mark interrupted (NLM_F_DUMP_INTR: it may have repeated or
        missed entries), dumping again until one is not."""
        while True:
            out, intr = self.dump_once(cmd)
            if not intr:
                return out

    def dump_once(self, cmd):
        g = self.g
        g.seq += 1
        body = struct.pack("=BBH", cmd, 1, 0)
        g.sk.send(struct.pack("=IHHII", 16 + len(body), self.fam,
                              NLM_F_REQUEST | NLM_F_DUMP, g.seq, 0) + body)
        out, intr = [], False
        while True:
            data = g.sk.recv(1 << 20)
            while len(data) >= 16:
                ln, typ, fl, _s, _p = struct.unpack_from("=IHHII", data)
                intr |= bool(fl & NLM_F_DUMP_INTR)
                if typ == NLMSG_DONE:
                    return out, intr
                if typ == NLMSG_ERROR:
                    err = -struct.unpack_from("=i", data, 16)[0]
                    raise OSError(err, "%s: dump: %s" % (self.name,
                                                         os.strerror(err)))
                out.append(data[16:ln])
                data = data[(ln + 3) & ~3:]


def lease_count(ns, real=None):
    msgs = ns.dump(GUISE_CMD_LEASE_GET)
    if real is None:
        return len(msgs)
    raw = socket.inet_pton(socket.AF_INET6, real)
    return sum(1 for m in msgs if raw in m)


def key_count(ns):
    return len(ns.dump(GUISE_CMD_KEY_GET))


def publish(argv):
    src, dst = argv[0], argv[1]
    leases, keys, timeout, gstart = [], [], 10.0, None
    socks = {}
    i = 2
    while i < len(argv):
        a = argv[i]
        if a == "--lease":
            leases.append((argv[i + 1], argv[i + 2]))
            i += 3
        elif a == "--keys":
            keys.append(argv[i + 1])
            i += 2
        elif a == "--timeout":
            timeout = float(argv[i + 1])
            i += 2
        elif a == "--gencrl-start":
            gstart = int(argv[i + 1]) / 1e9
            i += 2
        else:
            raise SystemExit("revoketool: unknown option " + a)
    for name, _ in leases:
        socks.setdefault(name, NsGenl(name))
    for name in keys:
        socks.setdefault(name, NsGenl(name))
    lease_ms = {"%s/%s" % lr: None for lr in leases}
    keys_ms = {k: None for k in keys}
    t0 = time.time()
    os.rename(src, dst)
    polls = 0
    while True:
        now = time.time()
        for name, real in leases:
            k = "%s/%s" % (name, real)
            if lease_ms[k] is None and lease_count(socks[name], real) == 0:
                lease_ms[k] = round((time.time() - t0) * 1000, 1)
        for name in keys:
            if keys_ms[name] is None and key_count(socks[name]) == 0:
                keys_ms[name] = round((time.time() - t0) * 1000, 1)
        polls += 1
        done = all(v is not None for v in list(lease_ms.values()) +
                   list(keys_ms.values()))
        if done or now - t0 > timeout:
            break
        time.sleep(0.001)
    span = time.time() - t0
    res = {"ok": done, "lease_ms": lease_ms, "keys_ms": keys_ms,
           "gencrl_ms": round((t0 - gstart) * 1000, 1) if gstart else None,
           "publish": t0, "polls": polls,
           "poll_us": round(span / max(polls, 1) * 1e6)}
    print(json.dumps(res), flush=True)
    return 0 if done else 1


def main(argv):
    if len(argv) >= 3 and argv[1] == "publish":
        return publish(argv[2:])
    if len(argv) >= 4 and argv[1] == "count":
        ns = NsGenl(argv[2])
        if argv[3] == "lease":
            print(lease_count(ns, argv[4] if len(argv) > 4 else None))
        else:
            print(key_count(ns))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
