#!/usr/bin/env python3
"""Writes a synthetic proctrace/1 trace with N processes, for render benchmarks.

  scripts/gen-render-bench.py N [build|flat] > big.jsonl

build: make forks sh -c 'gcc …' jobs two at a time; each gcc forks cc1 then as
       (no identical leaf siblings: the tree cannot be collapsed, the worst case for dot).
flat:  make forks N-1 gcc leaves (collapses to one node).
Scheduler states (sched) for every process: new, ready, running, blocked, terminated.
"""
import json, sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
shape = sys.argv[2] if len(sys.argv) > 2 else "build"
us = 1000
out = []
def E(t, typ, **kw):
    d = {"type": typ, "t": int(t)}; d.update(kw); out.append(d)
def st(t, pid, a, b, why=None):
    d = {"pid": pid, "from": a, "to": b}
    if why: d["why"] = why
    E(t, "state", **d)

E(0, "trace", schema="proctrace/1", argv=["make", "-j2"], cwd="/src", start="2026-11-26T22:00:00.000000Z",
  host={"kernel": "6.18.4", "arch": "x86_64", "cpus": 2}, tracer="proctrace 0.1.0", states="sched")
root = 10000
E(10 * us, "spawn", pid=root, argv=["make", "-j2"], ppid=9999)
st(10 * us, root, "new", "ready"); st(12 * us, root, "ready", "running")
E(20 * us, "exec", pid=root, path="/usr/bin/make", argv=["make", "-j2"])
pid = root
t = 100 * us

def life(p, parent, t, cmd, argv, dur):
    """fork, exec, run, exit, reap by parent; returns the exit time."""
    E(t, "fork", pid=parent, child=p, parent=parent, via="vfork")
    st(t, p, "new", "ready"); st(t + 5 * us, p, "ready", "running")
    E(t + 10 * us, "exec", pid=p, path="/usr/bin/" + cmd, argv=argv)
    st(t + dur * 0.4, p, "running", "blocked", "read"); st(t + dur * 0.6, p, "blocked", "ready")
    st(t + dur * 0.62, p, "ready", "running")
    E(t + dur, "exit", pid=p, status={"exited": 0}); st(t + dur, p, "running", "terminated")
    return t + dur

count = 1
job = 0
while count < n:
    if shape == "flat":
        pid += 1
        x = life(pid, root, t, "gcc", ["gcc", "-c", "f%d.c" % job], 300 * us)
        E(x + 20 * us, "reap", pid=pid, by=root, how="wait")
        count += 1; job += 1; t += 150 * us
        continue
    sh = pid + 1; pid += 1
    E(t, "fork", pid=root, child=sh, parent=root, via="vfork")
    st(t, sh, "new", "ready"); st(t + 5 * us, sh, "ready", "running")
    E(t + 10 * us, "exec", pid=sh, path="/usr/bin/gcc", argv=["gcc", "-O2", "-c", "src/f%d.c" % job])
    count += 1
    tt = t + 30 * us
    for cmd in ("cc1", "as"):
        if count >= n: break
        pid += 1
        x = life(pid, sh, tt, cmd, [cmd, "f%d" % job], 400 * us if cmd == "cc1" else 150 * us)
        # sh waits for it: a wait4 call that blocks, is woken by the exit and reaps it
        E(tt + 1 * us, "wait", pid=sh, phase="begin", call="wait4", target=-1, options=[])
        st(tt + 1 * us, sh, "running", "blocked", "wait4")
        st(x + 10 * us, sh, "blocked", "ready"); st(x + 12 * us, sh, "ready", "running")
        E(x + 15 * us, "wait", pid=sh, phase="end", call="wait4", target=-1, options=[], result=pid,
          status={"exited": 0})
        E(x + 15 * us, "reap", pid=pid, by=sh, how="wait")
        count += 1
        tt = x + 20 * us
    E(tt + 10 * us, "exit", pid=sh, status={"exited": 0}); st(tt + 10 * us, sh, "running", "terminated")
    E(tt + 40 * us, "reap", pid=sh, by=root, how="wait")
    job += 1
    t += 350 * us  # two jobs overlap: -j2
end = max(d["t"] for d in out) + 100 * us
E(end, "exit", pid=root, status={"exited": 0}); st(end, root, "running", "terminated")
E(end + 50 * us, "reap", pid=root, by=9999, how="wait")
E(end + 60 * us, "end", status={"exited": 0}, events=len(out) + 1, lost=0)
out.sort(key=lambda d: d["t"])
w = sys.stdout.write
for d in out:
    w(json.dumps(d, separators=(",", ":")) + "\n")
