# mp_semaphore.py - the tutorial's Semaphore: 4 processes share a semaphore of
# 2, so at most two are inside the critical section (0.1 s each) at once.
# Start method: fork (explicit; no resource tracker process with fork).
# Tree: root -> w1, w2, w3, w4 (all started before any join).
# FACT procs: 5 (root, w1..w4)
# FACT wN.parent: root (via fork, no exec)
# FACT wN.exit: exited 0
# FACT root.wait: waitpid(w1, 0) .. waitpid(w4, 0) in order, all exited 0
# FACT wN.reap: wait by root
# FACT duration: two rounds of 0.1 s: root lives >= 0.2 s
# FACT root.wait.polls: Process.start() also polls earlier children with waitpid(pid, WNOHANG) -> 0
# FACT root.exit: exited 0
# FACT nondeterministic: which two workers enter first
# OUTPUT: 4 lines "task done".
import multiprocessing as mp
import os
import time

ctx = mp.get_context("fork")
sem = ctx.Semaphore(2)


def task():
    with sem:
        time.sleep(0.1)
        os.write(1, b"task done\n")  # one write: lines never interleave


if __name__ == "__main__":
    ps = [ctx.Process(target=task) for _ in range(4)]
    for p in ps:
        p.start()
    for p in ps:
        p.join()
