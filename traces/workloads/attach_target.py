# attach_target.py - a long-running program to attach to (`proctrace record -p PID`): it
# forks a short-lived child every 100 ms and reaps it with waitpid, and keeps one long-lived
# child (a sleeper) for its whole life. Runs until SIGTERM or until DURATION seconds
# (first argument, default 30) have passed.
# Tree: root -> keeper (forked first, lives until the root ends), then tick1, tick2, … (one
#   every 100 ms, each waited for with waitpid(tick, 0) before the next)
# FACT keeper.exit: exited 0 when the root ends (it is sent SIGTERM and exits 0; if the root
#   is killed, the keeper sees its parent change within 0.2 s and exits 0)
# FACT tickN.exit: exited N % 100 (each tick child sleeps 10 ms, then os._exit(N % 100))
# FACT tickN.reap: wait by root, waitpid(tickN, 0)
# FACT root.progress: writes "tick N" after each reap to the file given as the second
#   argument (default: stdout), so an observer can see that it still makes progress
# FACT root.exit: exited 0
# OUTPUT: "ready ROOT KEEPER" first; then one "tick N STATUS PID" line per reaped child.
import os
import signal
import sys
import time

duration = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
out = open(sys.argv[2], "a", buffering=1) if len(sys.argv) > 2 else sys.stdout
# Whoever started it may have signals blocked (a test runner): SIGTERM must end it.
signal.pthread_sigmask(signal.SIG_SETMASK, [])
root = os.getpid()

keeper = os.fork()
if keeper == 0:
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    # It never outlives the root, however the root ends (even by SIGKILL).
    while os.getppid() == root:
        time.sleep(0.2)
    os._exit(0)

stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
print("ready", os.getpid(), keeper, file=out, flush=True)
end = time.monotonic() + duration
n = 0
while not stop and time.monotonic() < end:
    n += 1
    pid = os.fork()
    if pid == 0:
        time.sleep(0.01)
        os._exit(n % 100)
    _, status = os.waitpid(pid, 0)
    print("tick", n, os.waitstatus_to_exitcode(status), pid, file=out, flush=True)
    time.sleep(0.09)
os.kill(keeper, signal.SIGTERM)
os.waitpid(keeper, 0)
