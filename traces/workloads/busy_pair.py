# Two CPU-bound children share one CPU: the scheduler must take turns, so each spends time
# ready (runnable, waiting for the CPU) as well as running.
# FACT procs: 3 (root, child1, child2)
# FACT root: pins itself to CPU 0 (inherited by the children), forks two children, waits for both
# FACT child1, child2: busy-loop for ~0.3 s of wall time each, exit 0
# FACT root.wait: wait4 -> child, status exited 0 (twice)
# FACT states (sched): both children alternate ready/running; ready time > 0 for each
import os
import time

os.sched_setaffinity(0, {0})
kids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        end = time.monotonic() + 0.3
        x = 0
        while time.monotonic() < end:
            x += 1
        os._exit(0)
    kids.append(pid)
for _ in kids:
    os.wait()
