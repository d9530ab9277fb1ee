#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""spec_check: the ynl spec and the uapi header must describe one ABI.

Every name the spec defines becomes a _Static_assert(NAME == value) that the
C compiler checks against include/uapi/linux/guise.h (so "1U << 2" and "7"
are compared as numbers, not as text); every GUISE_* name the header defines
must appear in the spec. Exit 0 when they agree, 1 otherwise (kselftest
codes; 4 = skip when python3-yaml or a C compiler is missing).
"""
import os
import re
import shutil
import subprocess
import sys

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPEC = os.path.join(TOP, "Documentation/netlink/specs/guise.yaml")
HDR = os.path.join(TOP, "include/uapi/linux/guise.h")
KSFT_PASS, KSFT_FAIL, KSFT_SKIP = 0, 1, 4

# Strings are checked textually; everything else numerically by the compiler.
STRING_DEFINES = {"GUISE_FAMILY_NAME", "GUISE_MCGRP_EVENTS"}


def c_name(*parts):
    return "".join(parts).upper().replace("-", "_")


def entries(defn):
    for e in defn.get("entries", []):
        yield (e, None) if isinstance(e, str) else (e["name"], e.get("value"))


def spec_names(spec):
    """Map C name -> C expression for every numeric name the spec defines."""
    fam = spec["name"]
    names = {c_name(fam, "-family-version"): str(spec["version"])}
    maxes = {}
    for d in spec.get("definitions", []):
        kind = d["type"]
        if kind == "const":
            names[c_name(fam, "-", d["name"])] = str(d["value"])
        elif kind in ("enum", "flags"):
            prefix = d.get("name-prefix", fam + "-" + d["name"] + "-")
            val = d.get("value-start", 0)
            for name, explicit in entries(d):
                if explicit is not None:
                    val = explicit
                expr = str(1 << val) + "U" if kind == "flags" else str(val)
                names[c_name(prefix, name)] = expr
                val += 1
            if kind == "enum":
                maxes[c_name(prefix, "max")] = str(val - 1)
    for aset in spec["attribute-sets"]:
        if aset["name"] == "stats":
            continue  # types are enum stat + 1; checked in check_stats()
        prefix = aset["name-prefix"]
        names[c_name(prefix, "unspec")] = "0"
        val = 1
        for attr in aset["attributes"]:
            val = attr.get("value", val)
            names[c_name(prefix, attr["name"])] = str(val)
            val += 1
        maxes[c_name(prefix, "max")] = str(val - 1)
    ops = spec["operations"]
    prefix = ops["name-prefix"]
    names[c_name(prefix, "unspec")] = "0"
    for i, op in enumerate(ops["list"], start=1):
        names[c_name(prefix, op["name"])] = str(op.get("value", i))
    maxes[c_name(prefix, "max")] = str(len(ops["list"]))
    return names, maxes


def struct_asserts(spec):
    """Offsets and size of every struct definition."""
    sizes = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}
    out = []
    for d in spec.get("definitions", []):
        if d["type"] != "struct":
            continue
        cstruct = "struct " + c_name(spec["name"], "-", d["name"]).lower()
        off = 0
        for m in d["members"]:
            field = m["name"].replace("-", "_")
            out.append((f"offsetof({cstruct}, {field}) == {off}",
                        f"{cstruct}.{field} at offset {off}"))
            off += m["len"] if m["type"] == "binary" else sizes[m["type"]]
        out.append((f"sizeof({cstruct}) == {off}", f"sizeof {cstruct} {off}"))
    return out


def check_stats(spec, errors):
    stat = next(d for d in spec["definitions"] if d["name"] == "stat")
    aset = next(a for a in spec["attribute-sets"] if a["name"] == "stats")
    want = [name for name, _ in entries(stat)]
    got = [a["name"] for a in aset["attributes"]]
    if want != got:
        errors.append("attribute-set stats does not list enum stat in order")
    if aset["attributes"][0].get("value") != 1:
        errors.append("attribute-set stats must start at value 1")


def header_names(text):
    """GUISE_* names the header defines (macros and enum members)."""
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    found = set(re.findall(r"^#define\s+(GUISE_\w+)", text, flags=re.M))
    for body in re.findall(r"enum\s+\w+\s*\{(.*?)\};", text, flags=re.S):
        found.update(re.findall(r"^\s*(_*GUISE_\w+)", body, flags=re.M))
    return found


def main():
    try:
        import yaml
    except ImportError:
        print("# SKIP spec_check: python3-yaml is not installed")
        return KSFT_SKIP
    cc = os.environ.get("CC", "cc")
    if not shutil.which(cc):
        print("# SKIP spec_check: no C compiler")
        return KSFT_SKIP
    with open(SPEC) as f:
        spec = yaml.safe_load(f)
    with open(HDR) as f:
        header = f.read()
    errors = []
    names, maxes = spec_names(spec)
    check_stats(spec, errors)

    for macro, want in (("GUISE_FAMILY_NAME", spec["name"]),
                        ("GUISE_MCGRP_EVENTS",
                         spec["mcast-groups"]["list"][0]["name"])):
        m = re.search(r'#define\s+%s\s+"([^"]*)"' % macro, header)
        if not m or m.group(1) != want:
            errors.append(f"{macro}: header {m and m.group(1)!r}, spec {want!r}")

    in_header = header_names(header)
    for name in sorted(in_header):
        if name.startswith("__") or name in STRING_DEFINES:
            continue
        if name in names or name in maxes:
            continue
        errors.append(f"{name}: in the header, not in the spec")
    for name in sorted(set(names) - in_header):
        errors.append(f"{name}: in the spec, not in the header")

    asserts = [(f"{n} == {v}", f"{n} == {v}") for n, v in names.items()
               if n in in_header]
    asserts += [(f"{n} == {v}", f"{n} == {v} (last value)")
                for n, v in maxes.items() if n in in_header]
    asserts += struct_asserts(spec)
    src = "#include <stddef.h>\n#include <linux/guise.h>\n" + "".join(
        f'_Static_assert({expr}, "spec says {msg}");\n'
        for expr, msg in asserts)
    res = subprocess.run([cc, "-std=gnu11", "-fsyntax-only", "-I",
                          os.path.join(TOP, "include/uapi"), "-x", "c", "-"],
                         input=src, capture_output=True, text=True)
    if res.returncode:
        msgs = re.findall(r'error: static assertion failed: "(.*?)"',
                          res.stderr) or [res.stderr.strip()]
        errors += ["header disagrees: " + m for m in msgs]

    for e in errors:
        print("# " + e)
    print(f"# {len(asserts)} names and offsets compared")
    return KSFT_FAIL if errors else KSFT_PASS


if __name__ == "__main__":
    sys.exit(main())
