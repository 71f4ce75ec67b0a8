# zombie.py - fork without wait: the child exits at once, the parent never
# waits, so the child is a zombie until the parent exits; then it is
# reparented to pid 1, which reaps it.
# Tree: root -> child.
# FACT procs: 2 (root, child)
# FACT child.parent: root
# FACT child.via: fork
# FACT child.exit: exited 0, immediately after the fork
# FACT root.waits: none
# FACT root.exit: exited 0, ~0.5 s after the fork
# FACT child.zombie: from child exit until at least root exit: >= 0.4 s
# FACT child.reparent: root -> 1 when root exits (the child is a zombie by then)
# FACT child.reap: adopted by 1 (pid 1 may reap late; here it is up to ~2 s)
# OUTPUT: "child exits", then "parent exits without waiting".
import os
import time

pid = os.fork()
if pid == 0:
    print("child exits", flush=True)
    os._exit(0)
time.sleep(0.5)
print("parent exits without waiting", flush=True)
