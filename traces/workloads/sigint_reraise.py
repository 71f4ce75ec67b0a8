# sigint_reraise.py - a child killed by a SIGINT it raised on itself: its parent sends it
# SIGINT; Python turns that into KeyboardInterrupt, and an uncaught KeyboardInterrupt ends
# the interpreter by raising SIGINT on itself again (what shells do with a Ctrl-C too), so
# that its parent sees it killed by SIGINT.
# Tree: root -> child (fork).
# FACT procs: 2 (root, child)
# FACT child.signals: SIGINT from root (~0.1 s after the fork), then SIGINT from child itself
# FACT child.exit: killed by SIGINT
# FACT child.reap: wait by root
# FACT root.exit: exited 0
# OUTPUT: "child killed by SIGINT".
import os
import signal
import time

r, w = os.pipe()
child = os.fork()
if child == 0:
    os.close(r)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 2)  # no traceback on the terminal
    os.write(w, b"x")
    time.sleep(5)
    os._exit(0)
os.close(w)
os.read(r, 1)  # the child runs Python code (its SIGINT handler is Python's)
time.sleep(0.1)
os.kill(child, signal.SIGINT)
_, status = os.waitpid(child, 0)
assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGINT, status
print("child killed by SIGINT", flush=True)
