# fork_vars.py - the tutorial's "variables after fork": the child gets a copy
# of the parent's memory; changing it in the child does not change the parent.
# Tree: root -> child.
# FACT procs: 2 (root, child)
# FACT child.parent: root
# FACT child.via: fork
# FACT child.exit: exited 0
# FACT root.wait: waitpid(child, 0) -> child, status exited 0 (blocks ~0.1 s)
# FACT child.reap: wait by root
# FACT root.exit: exited 0
# OUTPUT: "child a = 1", "child a = 10000", "parent a = 1" in this order.
import os
import time

a = 1
pid = os.fork()
if pid == 0:
    print("child a =", a, flush=True)
    a = 10000
    print("child a =", a, flush=True)
    time.sleep(0.1)
    os._exit(0)
os.waitpid(pid, 0)
print("parent a =", a, flush=True)
