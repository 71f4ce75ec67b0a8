# stopped_in_wait.py - a parent stopped by job control while it sits in waitpid() for its
# child: the child sends its parent SIGSTOP, then SIGCONT 0.2 s later, then exits.
# Tree: root -> child (fork).
# FACT procs: 2 (root, child)
# FACT root.signals: SIGSTOP from child (~0.05 s after the fork), SIGCONT from child ~0.2 s later
# FACT root.stopped: ~0.2 s, inside its waitpid(child, 0) (the kernel restarts the call after
#   the stop: no handler)
# FACT root.wait: waitpid(child, 0) -> child, status exited 0
# FACT child.exit: exited 0, ~0.05 s after the SIGCONT
# FACT child.reap: wait by root
# FACT root.exit: exited 0
# OUTPUT: "stopped and continued in wait".
import os
import signal
import time

parent = os.getpid()
child = os.fork()
if child == 0:
    time.sleep(0.05)
    os.kill(parent, signal.SIGSTOP)
    time.sleep(0.2)
    os.kill(parent, signal.SIGCONT)
    time.sleep(0.05)
    os._exit(0)
_, status = os.waitpid(child, 0)
assert os.waitstatus_to_exitcode(status) == 0
print("stopped and continued in wait", flush=True)
