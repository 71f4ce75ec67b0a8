# getpid.py - the tutorial's os.getpid()/os.getppid(): the child's getppid()
# is the root's pid, the root's fork() return value is the child's pid.
# Tree: root -> child.
# FACT procs: 2 (root, child)
# FACT child.parent: root
# FACT child.via: fork
# FACT child.exit: exited 0
# FACT root.wait: waitpid(child, 0) -> child, status exited 0
# FACT child.reap: wait by root
# FACT root.exit: exited 0
# OUTPUT: "child pid=C ppid=R" then "parent pid=R child=C", where R and C are
#   the root's and the child's pids in the trace.
import os

pid = os.fork()
if pid == 0:
    print("child pid=%d ppid=%d" % (os.getpid(), os.getppid()), flush=True)
    os._exit(0)
os.waitpid(pid, 0)
print("parent pid=%d child=%d" % (os.getpid(), pid), flush=True)
