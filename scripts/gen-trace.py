#!/usr/bin/env python3
"""Writes a valid proctrace/1 trace of N events and P processes for benchmarks.

Usage: scripts/gen-trace.py [-n EVENTS] [-p PROCESSES] [-o FILE]

The root forks its children in batches of 100; every child execs, runs through rounds of
ready/running/blocked scheduler states, exits and is reaped by the root's wait4, so the
trace passes `proctrace validate`. Pids are reused once a previous holder is reaped. The
last lines are padded with SIGCHLD signals to the root to hit the exact event count.
"""
import argparse, json, sys

ap = argparse.ArgumentParser()
ap.add_argument("-n", "--events", type=int, default=1_000_000)
ap.add_argument("-p", "--processes", type=int, default=10_000)
ap.add_argument("-o", "--output", default="-")
args = ap.parse_args()

BATCH = 100
ROOT = 1000
PER_CHILD_FIXED = 12          # fork, new->ready, exec, ready->running, ->terminated, exit,
                              # wait begin/end, reap, 3 root states
budget = args.events - 6      # header, spawn, 2 root states, root exit state, exit, reap, end (+ pads)
rounds = max(0, (budget // args.processes - PER_CHILD_FIXED) // 3)

out = open(args.output, "w") if args.output != "-" else sys.stdout
dumps = json.JSONEncoder(separators=(",", ":")).encode
lines = 0
t = 0

def emit(o):
    global lines
    out.write(dumps(o))
    out.write("\n")
    lines += 1

def tick():
    global t
    t += 1000
    return t

emit({"type": "trace", "t": 0, "schema": "proctrace/1", "argv": ["make", "-j2"], "cwd": "/src/project",
      "start": "2026-11-26T22:00:00.000000Z", "host": {"kernel": "6.18.4", "arch": "x86_64", "cpus": 2},
      "tracer": "proctrace 0.1.0", "states": "sched"})
emit({"type": "spawn", "t": tick(), "pid": ROOT, "argv": ["make", "-j2"], "ppid": 999, "pgid": ROOT, "sid": ROOT})
emit({"type": "state", "t": t, "pid": ROOT, "tid": ROOT, "from": "new", "to": "ready"})
emit({"type": "state", "t": tick(), "pid": ROOT, "tid": ROOT, "from": "ready", "to": "running"})

next_pid = 0
def new_pid():
    global next_pid
    p = 2000 + next_pid % 5000   # reuse: 5000 pids for 10000 processes
    next_pid += 1
    return p

made = 0
while made < args.processes:
    batch = [new_pid() for _ in range(min(BATCH, args.processes - made))]
    made += len(batch)
    for c in batch:
        emit({"type": "fork", "t": tick(), "pid": ROOT, "child": c, "parent": ROOT, "via": "clone"})
        emit({"type": "state", "t": t, "pid": c, "tid": c, "from": "new", "to": "ready"})
    for c in batch:
        emit({"type": "state", "t": tick(), "pid": c, "tid": c, "from": "ready", "to": "running"})
        emit({"type": "exec", "t": tick(), "pid": c, "path": "/usr/bin/cc", "argv": ["cc", "-O2", "-c", f"src/file{c}.c", "-o", f"obj/file{c}.o"],
              "exe": "/usr/bin/x86_64-linux-gnu-gcc-12",
              "elf": {"class": "ELF64", "machine": "x86_64", "type": "DYN", "interp": "/lib64/ld-linux-x86-64.so.2"}})
    for r in range(rounds):
        for c in batch:
            emit({"type": "state", "t": tick(), "pid": c, "tid": c, "from": "running", "to": "blocked", "why": "read"})
            emit({"type": "state", "t": tick(), "pid": c, "tid": c, "from": "blocked", "to": "ready"})
            emit({"type": "state", "t": tick(), "pid": c, "tid": c, "from": "ready", "to": "running"})
    for c in batch:
        emit({"type": "wait", "t": tick(), "pid": ROOT, "tid": ROOT, "phase": "begin", "call": "wait4", "target": -1, "options": []})
        emit({"type": "state", "t": tick(), "pid": ROOT, "tid": ROOT, "from": "running", "to": "blocked", "why": "wait4"})
        emit({"type": "state", "t": tick(), "pid": c, "tid": c, "from": "running", "to": "terminated"})
        emit({"type": "exit", "t": t, "pid": c, "status": {"exited": 0}})
        emit({"type": "state", "t": tick(), "pid": ROOT, "tid": ROOT, "from": "blocked", "to": "ready", "why": "SIGCHLD"})
        emit({"type": "state", "t": tick(), "pid": ROOT, "tid": ROOT, "from": "ready", "to": "running"})
        emit({"type": "wait", "t": tick(), "pid": ROOT, "tid": ROOT, "phase": "end", "call": "wait4", "target": -1, "options": [],
              "result": c, "status": {"exited": 0}})
        emit({"type": "reap", "t": t, "pid": c, "by": ROOT, "how": "wait"})

while lines < args.events - 4:
    emit({"type": "signal", "t": tick(), "pid": ROOT, "sig": "SIGCHLD", "from": 2000, "code": "CLD_EXITED"})
emit({"type": "state", "t": tick(), "pid": ROOT, "tid": ROOT, "from": "running", "to": "terminated"})
emit({"type": "exit", "t": t, "pid": ROOT, "status": {"exited": 0}})
emit({"type": "reap", "t": tick(), "pid": ROOT, "by": 999, "how": "wait"})
emit({"type": "end", "t": tick(), "status": {"exited": 0}, "events": lines + 1, "lost": 0})
out.close()
print(f"{args.output}: {lines} events, {args.processes} processes, {rounds} state rounds per process", file=sys.stderr)
