#!/usr/bin/env python3
"""Checks an strace -f log against a unit's SystemCallFilter= lines.

usage: syscall_filter.py UNIT TRACE
Prints the system calls pprofd made and fails listing any the filter would
refuse. Groups (@system-service...) are expanded by systemd-analyze itself;
the lines apply in order as systemd applies them: the first (an allow list
here) sets the mode, later plain lines add, later ~ lines remove.
"""
import re
import subprocess
import sys

_groups = {}


def expand(name):
    if name in _groups:
        return _groups[name]
    out = subprocess.run(["systemd-analyze", "syscall-filter", "--no-pager", name],
                         capture_output=True, text=True, check=True).stdout
    calls = set()
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line == name:
            continue
        calls |= expand(line) if line.startswith("@") else {line}
    _groups[name] = calls
    return calls


def allowed(unit):
    allow = None
    for line in open(unit):
        m = re.match(r"\s*SystemCallFilter\s*=\s*(.*)", line)
        if not m:
            continue
        value = m.group(1).strip()
        deny = value.startswith("~")
        names = set()
        for tok in value.lstrip("~").split():
            names |= expand(tok) if tok.startswith("@") else {tok}
        if allow is None:
            if deny:
                sys.exit("the first SystemCallFilter= is a deny list: not what this checks")
            allow = set()
        allow = allow - names if deny else allow | names
    if allow is None:
        sys.exit("no SystemCallFilter= in " + unit)
    return allow


def used(trace):
    calls = set()
    for line in open(trace):
        # "1234 openat(...", "1234 <... read resumed>..."
        m = re.match(r"^\d+\s+(?:<\.\.\. )?([a-z_0-9]+)[( ]", line)
        if m and m.group(1) not in ("exit", "killed", "resumed"):
            calls.add(m.group(1))
    return calls


def main():
    allow, calls = allowed(sys.argv[1]), used(sys.argv[2])
    print("system calls made:", " ".join(sorted(calls)))
    refused = sorted(calls - allow)
    if refused:
        print("refused by the unit's SystemCallFilter:", " ".join(refused))
        sys.exit(1)
    if len(calls) < 20:
        sys.exit("too few system calls in the trace: is it pprofd's?")


main()
