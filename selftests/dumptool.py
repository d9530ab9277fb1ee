#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Dump consistency under churn, for content_keytable and lease_dump.

Run inside the test's namespace (ip netns exec NS python3 ...). A table
holds a set of *stable* entries, never touched while the test runs, and
*churning* ones that another process adds and deletes in bursts. A dump
must then either show every stable entry exactly once (and no entry
twice), or be marked NLM_F_DUMP_INTR.

  dumptool.py fill {key|lease} N
      install the N stable entries (keys: N/3 flows of 3 keys, one in 20
      AES-GCM, the others ChaCha20-Poly1305 as the churning ones)

  dumptool.py churn {key|lease} N SECONDS [PAUSE]
      for SECONDS: add N churning entries, delete them again (in another
      order), pause PAUSE seconds (0.3), and so on; print "cycles C"

  dumptool.py check {key|lease} N SECONDS
      dump the table again and again for SECONDS with this raw client,
      which does not retry: small reads (so the kernel fills small skbs,
      many passes per dump) and a short sleep between them (so passes
      interleave with the churn). Print the counts and exit 1 unless
      some dump was interrupted and every dump not marked was consistent.

  dumptool.py cli {key|lease} N SECONDS [retried]
      run "guise -v -j {key|lease} show" again and again for SECONDS:
      each run must print a consistent set, or fail with the message
      that its GUISE_NL_DUMP_TRIES dumps were all interrupted; retries
      are counted from the -v diagnostics. Exit 1 on any other outcome,
      if no run printed a set, or (with "retried") if no run retried.
"""
import ipaddress
import json
import random
import struct
import subprocess
import sys
import time

from genl import Genl, attrs, nest, u8, u16, u32, attr

NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLM_F_DUMP_INTR = 0x10
NLMSG_ERROR, NLMSG_DONE = 2, 3
MSG_TRUNC = 0x20

CMD = {"lease": {"new": 3, "del": 4, "get": 5},
       "key": {"new": 9, "del": 10, "get": 11}}
A_LEASE, A_KEY = 2, 3
A_LEASE_REAL, A_LEASE_PEER, A_LEASE_VIRT, A_LEASE_LIFETIME = 2, 3, 4, 6
A_KEY_GROUP, A_KEY_PORT, A_KEY_ID, A_KEY_ALG, A_KEY_DIR = 2, 3, 4, 5, 6
A_KEY_SECRET, A_KEY_SALT = 7, 8
DIR_RX = 1
PORT = 5000
# libguise's GUISE_NL_DUMP_TRIES: a CLI run that gives up retried one less.
DUMP_TRIES = 5


def addr(s):
    return ipaddress.IPv6Address(s).packed


# The entries, as the identity a dump reports: keys (group, port, id),
# all rx; leases their virtual address.
def stable(kind, n):
    if kind == "key":
        return [("ff3e::1:%x" % (i // 3), PORT, 1 + i % 3) for i in range(n)]
    return ["fd00:ff::1:%x" % i for i in range(n)]


# Churning keys: on flows of their own (whole flows come and go) and
# added to the stable flows behind their keys.
def churning(kind, n):
    if kind == "key":
        return [("ff3e::2:%x" % (i // 2), PORT, 1 + i % 2)
                if i % 3 else ("ff3e::1:%x" % (i // 3), PORT, 100 + i)
                for i in range(n)]
    return ["fd00:ff::2:%x" % i for i in range(n)]


def new_req(kind, e, mixed=False):
    if kind == "key":
        group, port, kid = e
        # ChaCha20-Poly1305; with @mixed one in 20 AES-128-GCM or -256-GCM
        # (few: without AES-NI in the guest, each AES key costs a failed
        # lookup of "__gcm(aes)", a modprobe, 0.4 s under TCG).
        h = (int(ipaddress.IPv6Address(group)) + kid) % 40 if mixed else 1
        alg = 2 if h == 0 else 3 if h == 20 else 1
        return nest(A_KEY, attr(A_KEY_GROUP, addr(group)),
                    u16(A_KEY_PORT, port), u32(A_KEY_ID, kid),
                    u8(A_KEY_ALG, alg), u8(A_KEY_DIR, DIR_RX),
                    attr(A_KEY_SECRET, bytes(range(16 if alg == 2 else 32))),
                    attr(A_KEY_SALT, b"\xc0\xc1\xc2\xc3"))
    v = ipaddress.IPv6Address(e)
    real = ipaddress.IPv6Address("2001:db8:1::") + (int(v) & 0xffffffff)
    return nest(A_LEASE, attr(A_LEASE_REAL, real.packed),
                attr(A_LEASE_PEER, addr("2001:db8:2::1")),
                attr(A_LEASE_VIRT, v.packed),
                u32(A_LEASE_LIFETIME, 3600))


def del_req(kind, e):
    if kind == "key":
        group, port, kid = e
        return nest(A_KEY, attr(A_KEY_GROUP, addr(group)),
                    u16(A_KEY_PORT, port), u32(A_KEY_ID, kid),
                    u8(A_KEY_DIR, DIR_RX))
    return nest(A_LEASE, attr(A_LEASE_VIRT, addr(e)))


def apply(g, fam, kind, op, entries, mixed=False):
    for e in entries:
        req = new_req(kind, e, mixed) if op == "new" else del_req(kind, e)
        err, text, _ = g.request(fam, CMD[kind][op], req)
        if err:
            raise OSError(err, "%s %s %s: %s" % (kind, op, e, text))


# The identity of one dumped entry, from the payload after the genl header.
def identity(kind, payload):
    top = dict(attrs(payload))
    if kind == "key":
        a = dict(attrs(top[A_KEY]))
        return (str(ipaddress.IPv6Address(a[A_KEY_GROUP])),
                struct.unpack("=H", a[A_KEY_PORT][:2])[0],
                struct.unpack("=I", a[A_KEY_ID][:4])[0])
    a = dict(attrs(top[A_LEASE]))
    return str(ipaddress.IPv6Address(a[A_LEASE_VIRT]))


def norm(kind, e):
    if kind == "key":
        return (str(ipaddress.IPv6Address(e[0])), e[1], e[2])
    return str(ipaddress.IPv6Address(e))


def dump(g, fam, kind, bufsize, pause):
    """One dump without retry, reading @bufsize bytes at a time: (entries,
    interrupted, passes). @g must never have read with a larger buffer:
    the kernel sizes a dump's skbs by the largest read the socket has seen
    (max_recvmsg_len), at least about 4 KiB."""
    g.seq += 1
    body = struct.pack("=BBH", CMD[kind]["get"], 1, 0)
    g.sk.send(struct.pack("=IHHII", 16 + len(body), fam,
                          NLM_F_REQUEST | NLM_F_DUMP, g.seq, 0) + body)
    out, intr, passes = [], False, 0
    while True:
        data, _, flags, _ = g.sk.recvmsg(bufsize)
        if flags & MSG_TRUNC:
            raise OSError("netlink message truncated")
        passes += 1
        while len(data) >= 16:
            ln, typ, fl, seq, _pid = struct.unpack_from("=IHHII", data)
            msg, data = data[16:ln], data[(ln + 3) & ~3:]
            if seq != g.seq:
                continue
            if fl & NLM_F_DUMP_INTR:
                intr = True
            if typ == NLMSG_DONE:
                return out, intr, passes
            if typ == NLMSG_ERROR:
                raise OSError(-struct.unpack_from("=i", msg)[0], "dump")
            out.append(identity(kind, msg[4:]))
        time.sleep(pause)


def consistent(kind, n, entries):
    """'' if every stable entry is there once and none twice, else why."""
    seen = {}
    for e in entries:
        seen[e] = seen.get(e, 0) + 1
    twice = [e for e, c in seen.items() if c > 1]
    missing = [e for e in (norm(kind, s) for s in stable(kind, n))
               if e not in seen]
    if not twice and not missing:
        return ""
    return "%d entries twice (e.g. %s), %d stable missing (e.g. %s)" % (
        len(twice), twice[:2], len(missing), missing[:2])


def cmd_fill(kind, n):
    g = Genl()
    apply(g, g.family("guise"), kind, "new", stable(kind, n), True)
    print("installed %d stable %ss" % (n, kind))
    return 0


def cmd_churn(kind, n, seconds, pause=0.3):
    g = Genl()
    fam = g.family("guise")
    entries = churning(kind, n)
    end, cycles = time.time() + seconds, 0
    while time.time() < end:
        random.shuffle(entries)
        apply(g, fam, kind, "new", entries)
        random.shuffle(entries)
        apply(g, fam, kind, "del", entries)
        cycles += 1
        time.sleep(pause)
    print("cycles %d" % cycles)
    return 0


def cmd_check(kind, n, seconds):
    fam = Genl().family("guise")
    g = Genl()
    # Many passes per dump, but dumps short enough that some fit between
    # the bursts of churn (a lease's message is about twice a key's).
    bufsize = 4096 if kind == "key" else 16384
    end = time.time() + seconds
    dumps = intr = bad = caught = passes = 0
    while time.time() < end:
        entries, interrupted, p = dump(g, fam, kind, bufsize, 0.002)
        dumps += 1
        passes += p
        why = consistent(kind, n, entries)
        if interrupted:
            intr += 1
            caught += bool(why)
        elif why:
            bad += 1
            print("# dump %d not marked interrupted: %s" % (dumps, why))
    print("dumps %d (%d reads each on average), interrupted %d (%d of "
          "them with repeated or missing entries), inconsistent and not "
          "marked %d" % (dumps, passes // max(dumps, 1), intr, caught, bad))
    return 0 if dumps and intr and not bad else 1


def cmd_cli(kind, n, seconds, need_retry=False):
    end = time.time() + seconds
    runs = ok = retried = gave_up = bad = 0
    while time.time() < end:
        p = subprocess.run(["guise", "-v", "-j", kind, "show"],
                           capture_output=True, text=True)
        runs += 1
        retries = p.stderr.count("dumping again")
        retried += bool(retries)
        if p.returncode == 0:
            entries = [norm(kind, (x["group"], x["port"], x["id"])
                            if kind == "key" else x["virt"])
                       for x in json.loads(p.stdout)]
            why = consistent(kind, n, entries)
            if why:
                bad += 1
                print("# run %d printed an inconsistent set: %s" % (runs, why))
            else:
                ok += 1
        elif ("dumps in a row were interrupted" in p.stderr
              and retries == DUMP_TRIES - 1 and not p.stdout):
            gave_up += 1
        else:
            bad += 1
            print("# run %d: exit %d, stderr %r" % (runs, p.returncode,
                                                     p.stderr[-300:]))
    print("runs %d: consistent %d, retried %d, gave up after every try "
          "was interrupted %d, wrong %d" % (runs, ok, retried, gave_up, bad))
    return 0 if runs and ok and not bad and (retried or not need_retry) else 1


def main(argv):
    if len(argv) < 4 or argv[2] not in CMD:
        print(__doc__, file=sys.stderr)
        return 2
    kind, n = argv[2], int(argv[3])
    if argv[1] == "fill" and len(argv) == 4:
        return cmd_fill(kind, n)
    fns = {"churn": cmd_churn, "check": cmd_check, "cli": cmd_cli}
    if argv[1] in fns and len(argv) == 5:
        return fns[argv[1]](kind, n, float(argv[4]))
    if argv[1] == "cli" and len(argv) == 6 and argv[5] == "retried":
        return cmd_cli(kind, n, float(argv[4]), True)
    if argv[1] == "churn" and len(argv) == 6:
        return cmd_churn(kind, n, float(argv[4]), float(argv[5]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
