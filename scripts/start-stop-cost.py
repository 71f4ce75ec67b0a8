#!/usr/bin/python3
"""Usage: scripts/start-stop-cost.py [-n RUNS] [-r ROUNDS] [-s SPACING] [--states MODE] BIN [BIN...]

A recording's own start and stop (`record -- /bin/true`), for one or more proctrace binaries
side by side (say, main's and a branch's), measured in ways that stay meaningful while other
builds load the machine: CPU time and page faults of each process, the steps that
PROCTRACE_TIMES prints, and the wall time only as indicative (with the load average).

Each round runs RUNS recordings of every binary in a block (0.25 s apart by default, so that
each recording claims the instance the previous one parked), the binaries' blocks in turn,
each block once no parked instance is left (up to 15 s: an instance parked by one binary's
block is not claimed by the next; a block's first recording makes its own, and is left out). Per binary, the
median over all kept runs of:

  wall       the front's exit, from the fork of `proctrace` (what the shell waits for)
  front      the front's user+sys CPU and page faults (wait4: the process the shell started,
             up to the fork of the tracer, and its wait)
  tracer     the tracer's user+sys CPU and page faults (PROCTRACE_RUSAGE, at its `end` line)
  steps      each PROCTRACE_TIMES step (claim, formats, set-up, pid list, enable, ...)

Prints a Markdown table on stdout. Needs root (tracefs). Not part of `make test`.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time


def run_once(binary, out, states):
    env = dict(os.environ, PROCTRACE_TIMES="1", PROCTRACE_RUSAGE="1")
    err = tempfile.TemporaryFile()
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "record", "--states", states, "--force", "-o", out, "--", "/bin/true"],
                         stdout=subprocess.DEVNULL, stderr=err, env=env)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    # The tracer writes its lines before the front exits (its `end` line comes first).
    err.seek(0)
    text = err.read().decode(errors="replace")
    row = {"wall ms": wall * 1e3, "front CPU ms": (ru.ru_utime + ru.ru_stime) * 1e3, "front faults": ru.ru_minflt}
    m = re.search(r"proctrace self: user ([0-9.e-]+) s, sys ([0-9.e-]+) s", text)
    if m:
        row["tracer CPU ms"] = (float(m.group(1)) + float(m.group(2))) * 1e3
    m = re.search(r"page faults (\d+)", text)
    if m:
        row["tracer faults"] = int(m.group(1))
    m = re.search(r"states start (\d+) us", text)
    if m:
        row["states start"] = int(m.group(1)) / 1e3
    m = re.search(r"merger/states stop (\d+) us", text)
    if m:
        row["merger/states stop"] = int(m.group(1)) / 1e3
    m = re.search(r"proctrace sched: .*; ([^;]*)$", text, re.M)
    if m:
        for step in m.group(1).split(", "):
            s = re.match(r"(.+) (\d+) us$", step.strip())
            if s:
                row[s.group(1)] = int(s.group(2)) / 1e3
    return row


def settle(limit=15.0):
    """Waits (up to `limit` s) until no parked instance is left: each block starts on a fresh one."""
    inst = "/sys/kernel/tracing/instances"
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if not any(n.startswith("proctrace-pool-") for n in os.listdir(inst)):
                return
        except OSError:
            return
        time.sleep(0.1)


def main():
    ap = argparse.ArgumentParser(usage=__doc__.splitlines()[0][7:])
    ap.add_argument("-n", type=int, default=8, help="recordings per block")
    ap.add_argument("-r", type=int, default=3, help="rounds")
    ap.add_argument("-s", type=float, default=0.25, help="seconds between recordings")
    ap.add_argument("--states", default="sched")
    ap.add_argument("bins", nargs="+")
    a = ap.parse_args()
    for b in a.bins:
        if not os.access(b, os.X_OK):
            sys.exit(f"start-stop-cost.py: {b} is not an executable")
    rows = {b: [] for b in a.bins}
    loads = [open("/proc/loadavg").read().split()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "t.jsonl")
        for _ in range(a.r):
            for b in a.bins:
                time.sleep(1.2)
                settle()
                for i in range(a.n):
                    r = run_once(b, out, a.states)
                    if i > 0:
                        rows[b].append(r)
                    time.sleep(a.s)
            loads.append(open("/proc/loadavg").read().split()[0])
    keys = []
    for b in a.bins:
        for r in rows[b]:
            keys += [k for k in r if k not in keys]
    print(f"## `record --states {a.states} -- /bin/true`: medians of {a.r} rounds x {a.n - 1} runs "
          f"{a.s} s apart (load average {min(loads)}-{max(loads)})")
    print()
    print("| | " + " | ".join(a.bins) + " |")
    print("|---|" + "---|" * len(a.bins))
    for k in keys:
        cells = []
        for b in a.bins:
            v = [r[k] for r in rows[b] if k in r]
            if not v:
                cells.append("")
            elif k.endswith("faults"):
                cells.append(f"{statistics.median(v):.0f}")
            else:
                cells.append(f"{statistics.median(v):.2f}" + (f" ({len(v)})" if len(v) < len(rows[b]) else ""))
        print(f"| {k} | " + " | ".join(cells) + " |")
    print()
    print("Times in ms; steps from PROCTRACE_TIMES; (k): the step ran in k of the runs only.")


if __name__ == "__main__":
    main()
