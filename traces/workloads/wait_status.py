# wait_status.py - the tutorial's method 1 against zombies: the parent blocks
# in os.wait() and reads the child's exit status. Two rounds: sys.exit(1),
# then os._exit(3). Each child is forked only after the previous was reaped.
# Tree: root -> child1, child2.
# FACT procs: 3 (root, child1, child2)
# FACT child1.parent: root
# FACT child1.exit: exited 1 (sys.exit(1)), ~0.05 s after its fork
# FACT child2.exit: exited 3 (os._exit(3)), ~0.05 s after its fork
# FACT root.wait: 2 waits, each os.wait() = wait4(-1, 0) -> child1 status exited 1, then -> child2 status exited 3
# FACT root.wait.blocked: each wait begins before the child exits (the child sleeps 0.05 s)
# FACT child1.reap: wait by root; child2.reap: wait by root
# FACT childN.zombie: < 0.1 s
# FACT root.exit: exited 0
# OUTPUT: "child N" lines and "reaped PID status S" with S = 1 then 3.
import os
import sys
import time

for n, how in ((1, "sys.exit"), (2, "os._exit")):
    pid = os.fork()
    if pid == 0:
        print("child %d pid %d" % (n, os.getpid()), flush=True)
        time.sleep(0.05)
        if how == "sys.exit":
            sys.exit(1)
        os._exit(3)
    got, status = os.wait()
    print("reaped %d status %d" % (got, os.WEXITSTATUS(status)), flush=True)
