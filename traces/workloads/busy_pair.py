# Two CPU-bound children share one CPU: the scheduler must take turns, so each spends time
# ready (runnable, waiting for the CPU) as well as running.
# FACT procs: 3 (root, child1, child2)
# FACT root: pins itself to CPU 0 (inherited by the children), forks two children, waits for both
# FACT child1, child2: busy-loop until each has used 0.15 s of CPU time, exit 0 (CPU time, not
#   wall time: on a loaded machine they still run long enough, and wait longer for the CPU)
# FACT root.wait: wait4 -> child, status exited 0 (twice)
# FACT states (sched): both children alternate ready/running; ready time > 0 for each
import os
import time

os.sched_setaffinity(0, {0})
kids = []
for _ in range(2):
    pid = os.fork()
    if pid == 0:
        x = 0
        while time.process_time() < 0.15:
            x += 1
        os._exit(0)
    kids.append(pid)
for _ in kids:
    os.wait()
