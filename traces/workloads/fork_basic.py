# fork_basic.py - the tutorial's first fork: os.fork() returns twice; the parent
# does not wait, so the child stays a zombie until the parent exits.
# Tree: root -> child.
# FACT procs: 2 (root, child)
# FACT child.parent: root
# FACT child.via: fork
# FACT child.exit: exited 0 (right after printing, ~0 s after the fork)
# FACT root.waits: none
# FACT root.exit: exited 0, ~0.2 s after the fork (sleeps 0.2 s first)
# FACT child.zombie: from child exit to root exit, >= 0.15 s
# FACT child.reparent: root -> 1 when root exits (the child is a zombie by then)
# FACT child.reap: adopted by 1
# OUTPUT: "child", "done" (from the child), then "parent", "done" (from the root).
import os
import time

pid = os.fork()
if pid < 0:
    print("fork failed")
elif pid == 0:
    print("child", flush=True)
else:
    time.sleep(0.2)
    print("parent", flush=True)
print("done", flush=True)
