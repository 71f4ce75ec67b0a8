# orphan.py - the parent exits while its child is still running: the child
# becomes an orphan, is reparented to pid 1 and reaped by it.
# Tree: root -> child.
# FACT procs: 2 (root, child)
# FACT child.parent: root (via fork)
# FACT root.waits: none
# FACT root.exit: exited 0, ~0.05 s after the fork
# FACT child.reparent: root -> 1 when root exits (the child is alive, sleeping)
# FACT child.exit: exited 0, ~0.3 s after the fork
# FACT child.reap: adopted by 1
# OUTPUT: "parent exits", then "orphan ppid 1" (child's getppid() after the reparent).
import os
import time

pid = os.fork()
if pid == 0:
    time.sleep(0.3)
    print("orphan ppid %d" % os.getppid(), flush=True)
    os._exit(0)
time.sleep(0.05)
print("parent exits", flush=True)
