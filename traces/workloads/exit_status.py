# exit_status.py - the tutorial's ways to leave a process: os._exit(N),
# sys.exit(N), sys.exit("message") (status 1, message on stderr), and a
# SystemExit caught so the process goes on. Children run one after another.
# Tree: root -> child1, child2, child3 (forked in this order, each waited for
# before the next fork).
# FACT procs: 4 (root, child1, child2, child3)
# FACT child1.exit: exited 4 (os._exit(4))
# FACT child2.exit: exited 5 (sys.exit(5))
# FACT child3.exit: exited 1 (sys.exit("bye from child3"); prints that on stderr)
# FACT root.wait: 3 waits, each waitpid(childN, 0) -> childN, statuses exited 4, 5, 1 in order
# FACT childN.reap: wait by root (all three)
# FACT root.exit: exited 0 (its own sys.exit("...") is caught and ignored)
# OUTPUT: stdout "child1 4", "child2 5", "child3 1", "caught: root stays";
#   stderr "bye from child3".
import os
import sys


def c1():
    os._exit(4)


def c2():
    sys.exit(5)


def c3():
    sys.exit("bye from child3")


def fork_child(body):
    pid = os.fork()
    if pid == 0:
        body()  # always leaves the process: os._exit or SystemExit up to the top
    return pid


for name, body in (("child1", c1), ("child2", c2), ("child3", c3)):
    pid = fork_child(body)
    _, status = os.waitpid(pid, 0)
    print(name, os.waitstatus_to_exitcode(status), flush=True)

try:
    sys.exit("root stays")
except SystemExit as e:
    print("caught:", e, flush=True)
