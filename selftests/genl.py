#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Raw generic netlink for tests: send deliberately malformed guise requests.

The CLI refuses bad input before it reaches the kernel, so the policy tests
build messages by hand here. Usage:

  genl.py expect-error ERRNO 'EXTACK SUBSTRING' CMD ATTRS-HEX
      send one request, require an error ack with that errno (name, e.g.
      EINVAL) whose extended-ack message contains the substring ('' = any).

  genl.py listen SECONDS
      join the "events" multicast group and print one line per event,
      "cmd=N", for SECONDS seconds (flushing after each line).

  genl.py join
      only try to join the "events" group: print "joined" (exit 0), or
      the errno's name, e.g. "EPERM" (exit 1).

ATTRS-HEX is the request payload after the genl header, built with the
helpers below from the command line as a small expression language:

  nest(TYPE, ...), u8(TYPE, V), u16(..), u32(..), u64(..), raw(TYPE, HEX)

e.g. "nest(1, u8(1, 7))" is GUISE_A_CONFIG { GUISE_A_CONFIG_ENABLED = 7 }.
"""
import errno
import os
import socket
import struct
import sys

NETLINK_GENERIC = 16
NETLINK_CAP_ACK, NETLINK_EXT_ACK = 10, 11
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLMSG_ERROR = 2
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 3, 1, 2
CTRL_ATTR_MCAST_GROUPS, CTRL_ATTR_MCAST_GRP_NAME, CTRL_ATTR_MCAST_GRP_ID = 7, 1, 2
NLMSGERR_ATTR_MSG = 1
NLA_F_NESTED = 0x8000


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * (-len(a) % 4)


def nest(t, *children):
    return attr(t | NLA_F_NESTED, b"".join(children))


def u8(t, v):
    return attr(t, struct.pack("=B", v))


def u16(t, v):
    return attr(t, struct.pack("=H", v))


def u32(t, v):
    return attr(t, struct.pack("=I", v))


def u64(t, v):
    return attr(t, struct.pack("=Q", v))


def raw(t, hexstr):
    return attr(t, bytes.fromhex(hexstr))


def attrs(buf):
    while len(buf) >= 4:
        ln, t = struct.unpack_from("=HH", buf)
        if ln < 4:
            break
        yield t & 0x3FFF, buf[4:ln]
        buf = buf[(ln + 3) & ~3:]


class Genl:
    def __init__(self):
        self.sk = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW,
                                NETLINK_GENERIC)
        self.sk.setsockopt(270, NETLINK_EXT_ACK, 1)  # SOL_NETLINK
        self.sk.setsockopt(270, NETLINK_CAP_ACK, 1)
        self.sk.bind((0, 0))
        self.seq = 1

    def request(self, family, cmd, payload, version=1):
        self.seq += 1
        body = struct.pack("=BBH", cmd, version, 0) + payload
        hdr = struct.pack("=IHHII", 16 + len(body), family,
                          NLM_F_REQUEST | NLM_F_ACK, self.seq, 0)
        self.sk.send(hdr + body)
        replies = []
        while True:
            data = self.sk.recv(65536)
            while data:
                ln, typ, _flags, _seq, _pid = struct.unpack_from("=IHHII", data)
                msg = data[16:ln]
                data = data[(ln + 3) & ~3:]
                if typ != NLMSG_ERROR:
                    replies.append(msg)
                    continue
                err = -struct.unpack_from("=i", msg)[0]
                # Error ack (capped): errno, the request's nlmsghdr, then
                # the extended-ack TLVs.
                ext = dict(attrs(msg[20:]))
                text = ext.get(NLMSGERR_ATTR_MSG, b"").rstrip(b"\0").decode()
                return err, text, replies

    def family(self, name, group=None):
        err, _, replies = self.request(
            GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
            attr(CTRL_ATTR_FAMILY_NAME, name.encode() + b"\0"))
        if err:
            raise OSError(err, "family %s: %s" % (name, os.strerror(err)))
        fam, grp = None, None
        for t, v in attrs(replies[0][4:]):
            if t == CTRL_ATTR_FAMILY_ID:
                fam = struct.unpack("=H", v[:2])[0]
            if t == CTRL_ATTR_MCAST_GROUPS:
                for _, g in attrs(v):
                    d = dict(attrs(g))
                    if d.get(CTRL_ATTR_MCAST_GRP_NAME, b"").rstrip(b"\0") \
                            == (group or "").encode():
                        grp = struct.unpack("=I", d[CTRL_ATTR_MCAST_GRP_ID])[0]
        if fam is None:
            raise OSError(errno.ENOENT, "no family id")
        return (fam, grp) if group else fam


def listen(seconds):
    import select
    import time
    g = Genl()
    _, grp = g.family("guise", "events")
    g.sk.setsockopt(270, 1, grp)  # NETLINK_ADD_MEMBERSHIP
    print("listening", flush=True)
    end = time.time() + seconds
    while time.time() < end:
        if not select.select([g.sk], [], [], max(0, end - time.time()))[0]:
            continue
        data = g.sk.recv(65536)
        while len(data) >= 20:
            ln = struct.unpack_from("=I", data)[0]
            print("cmd=%d" % data[16], flush=True)
            data = data[(ln + 3) & ~3:]
    return 0


def join():
    g = Genl()
    _, grp = g.family("guise", "events")
    try:
        g.sk.setsockopt(270, 1, grp)  # NETLINK_ADD_MEMBERSHIP
    except OSError as e:
        print(errno.errorcode.get(e.errno, e.errno))
        return 1
    print("joined")
    return 0


def main(argv):
    if len(argv) == 3 and argv[1] == "listen":
        return listen(float(argv[2]))
    if len(argv) == 2 and argv[1] == "join":
        return join()
    if len(argv) != 6 or argv[1] != "expect-error":
        print(__doc__, file=sys.stderr)
        return 2
    want = getattr(errno, argv[2])
    payload = eval(argv[5], {"nest": nest, "u8": u8, "u16": u16,
                             "u32": u32, "u64": u64, "raw": raw})
    g = Genl()
    err, text, _ = g.request(g.family("guise"), int(argv[4]), payload)
    ok = err == want and argv[3] in text
    print("%s: errno %s (%s), extack %r; wanted %s with %r" % (
        "ok" if ok else "MISMATCH", errno.errorcode.get(err, err),
        os.strerror(err) if err else "success", text, argv[2], argv[3]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
