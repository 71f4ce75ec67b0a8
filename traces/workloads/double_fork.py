# double_fork.py - the tutorial's method 2 against zombies: the child forks a
# grandchild and exits at once; the parent waits for the child; the orphaned
# grandchild is adopted by pid 1 and does the second job.
# Tree: root -> child -> grandchild.
# FACT procs: 3 (root, child, grandchild)
# FACT child.parent: root; grandchild.parent: child (both via fork)
# FACT child.exit: exited 0, right after forking the grandchild
# FACT root.wait: os.wait() = wait4(-1, 0) -> child, status exited 0
# FACT child.reap: wait by root
# FACT grandchild.reparent: child -> 1 when child exits
# FACT grandchild.exit: exited 0, ~0.2 s after its fork (after root's exit)
# FACT grandchild.reap: adopted by 1
# FACT root.exit: exited 0, before the grandchild exits
# OUTPUT: "first job" (root), then "second job" (grandchild) ~0.2 s later.
import os
import time

pid = os.fork()
if pid == 0:
    pid0 = os.fork()
    if pid0 == 0:
        time.sleep(0.2)
        print("second job", flush=True)
        os._exit(0)
    os._exit(0)
os.wait()
print("first job", flush=True)
