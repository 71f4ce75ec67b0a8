# mp_process.py - the tutorial's multiprocessing.Process: start() forks a child
# that runs the target, join() reaps it; the child's global is a copy.
# Start method: fork (explicit), so the child is a plain fork without exec.
# Tree: root -> child (multiprocessing "Process-1").
# FACT procs: 2 (root, child)
# FACT child.parent: root (via fork; no exec)
# FACT child.exit: exited 0 (multiprocessing ends the child with os._exit(0))
# FACT root.wait: p.join() = waitpid(child, 0) -> child, status exited 0
# FACT child.reap: wait by root
# FACT root.wait.polls: Process.start() also polls earlier children with waitpid(pid, WNOHANG) -> 0
# FACT root.exit: exited 0
# OUTPUT: "child a = 10000" then "parent a = 1".
import multiprocessing as mp

a = 1


def fun():
    global a
    a = 10000
    print("child a =", a, flush=True)


if __name__ == "__main__":
    ctx = mp.get_context("fork")
    p = ctx.Process(target=fun)
    p.start()
    p.join()
    print("parent a =", a, flush=True)
