# pool_bench.py - bench workload: a multiprocessing Pool whose workers each
# serve exactly one task. Pool(N) (argv[1], default 8, start method fork)
# maps N tasks with chunksize 1; every task waits on a shared Barrier(N), so
# no worker can take a second task before all N workers hold one.
# Tree: root -> worker1 .. workerN (fork, no exec); 3 Pool handler threads in the root.
# FACT procs: N+1 (root + N workers)
# FACT root.threads: 3 extra threads (Pool handlers)
# FACT workerN.tasks: exactly one each
# FACT workerN.exit: exited 0; workerN.reap: wait by root (join)
# FACT root.exit: exited 0
# FACT purpose: measures the cost of tracing Python worker processes
# OUTPUT: "8 tasks on 8 workers".
import multiprocessing as mp
import os
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 8
ctx = mp.get_context("fork")
barrier = ctx.Barrier(N)


def task(i):
    barrier.wait(timeout=30)
    return os.getpid()


if __name__ == "__main__":
    pool = ctx.Pool(N)
    pids = pool.map(task, range(N), chunksize=1)
    pool.close()
    pool.join()
    print("%d tasks on %d workers" % (N, len(set(pids))), flush=True)
