# mp_pipe.py - the tutorial's Pipe: two processes talk over a duplex pipe
# created by the parent before the forks.
# Start method: fork (explicit).
# Tree: root -> child1 (fun1), child2 (fun2), forked in this order.
# FACT procs: 3 (root, child1, child2)
# FACT childN.parent: root (via fork, no exec)
# FACT childN.exit: exited 0
# FACT root.wait: p1.join() = waitpid(child1, 0) -> exited 0, then p2.join() = waitpid(child2, 0) -> exited 0
# FACT childN.reap: wait by root
# FACT root.wait.polls: Process.start() also polls earlier children with waitpid(pid, WNOHANG) -> 0
# FACT root.exit: exited 0
# FACT child1.blocked: ~0.05 s in recv (read on the pipe) until child2 sends
# OUTPUT: "fun1 got: from fun2" then "fun2 got: from fun1".
import multiprocessing as mp
import time

ctx = mp.get_context("fork")
fd1, fd2 = ctx.Pipe()


def fun1():
    data = fd1.recv()
    print("fun1 got:", data, flush=True)
    fd1.send("from fun1")


def fun2():
    # Make fun1 wait visibly: it sits blocked in recv (a read on the pipe) meanwhile.
    time.sleep(0.05)
    fd2.send("from fun2")
    data = fd2.recv()
    print("fun2 got:", data, flush=True)


if __name__ == "__main__":
    p1 = ctx.Process(target=fun1)
    p2 = ctx.Process(target=fun2)
    p1.start()
    p2.start()
    p1.join()
    p2.join()
