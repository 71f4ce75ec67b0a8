# sigchld_ignore.py - the tutorial's method 3 against zombies: with SIGCHLD
# set to SIG_IGN the kernel reaps children itself as they exit; a wait finds
# nothing and fails with ECHILD once the last child is gone.
# Tree: root -> child1, child2, child3 (forked back to back).
# FACT procs: 4 (root, child1, child2, child3)
# FACT root.sigchld: SIG_IGN before the forks
# FACT childN.exit: exited N-1 (child1 0, child2 1, child3 2), after sleeping 0.05*N s
# FACT childN.reap: auto (no zombie: zombie duration ~0)
# FACT root.wait: one os.wait() = wait4(-1, 0), begins before any child exits, blocks until all are gone, result ECHILD
# FACT root.exit: exited 0
# OUTPUT: "wait: ECHILD".
import errno
import os
import signal
import time

signal.signal(signal.SIGCHLD, signal.SIG_IGN)
for n in range(1, 4):
    if os.fork() == 0:
        time.sleep(0.05 * n)
        os._exit(n - 1)
try:
    os.wait()
    print("wait: returned a child (unexpected)", flush=True)
except ChildProcessError as e:
    print("wait:", errno.errorcode[e.errno], flush=True)
