#!/usr/bin/env python3
"""libbridgetower exports exactly the functions its installed headers mark
BT_API: nothing internal leaks, nothing public is hidden. TAP output.

usage: test-exports.py LIBRARY HEADER..."""
import re
import subprocess
import sys


def main():
    lib, headers = sys.argv[1], sys.argv[2:]
    out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                         capture_output=True, text=True).stdout
    exported = {f[2] for f in (l.split() for l in out.splitlines())
                if len(f) == 3 and f[1] == "T" and f[2].startswith("bt_")}
    declared = set()
    for h in headers:
        text = open(h, encoding="utf-8").read()
        declared |= set(re.findall(r"^BT_API\n[^(;]*?\b(bt_\w+) \(", text,
                                   re.M))
    print("1..3")
    print("%s 1 - %d functions declared BT_API"
          % ("ok" if declared else "not ok", len(declared)))
    hidden = sorted(declared - exported)
    print("%s 2 - every BT_API function is exported%s"
          % ("not ok" if hidden else "ok",
             "" if not hidden else ": missing " + ", ".join(hidden)))
    extra = sorted(exported - declared)
    print("%s 3 - nothing else is exported%s"
          % ("not ok" if extra else "ok",
             "" if not extra else ": " + ", ".join(extra)))


main()
