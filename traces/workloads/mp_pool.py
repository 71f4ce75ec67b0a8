# mp_pool.py - the tutorial's process pool: Pool(2) keeps two worker processes
# that serve all the tasks; close() + join() ends them.
# Start method: fork (explicit). Pool also starts 3 helper threads in the root
# (worker handler, task handler, result handler).
# Tree: root -> worker1, worker2 (both via fork, no exec).
# FACT procs: 3 (root, worker1, worker2)
# FACT root.threads: 3 extra threads (Pool handlers), all exit before the root
# FACT workerN.parent: root
# FACT workerN.exit: exited 0 (after the close() sentinel)
# FACT root.wait: from the worker-handler thread, WNOHANG polls waitpid(workerN) -> 0
#   while the pool runs; from the main thread, join() = waitpid(worker1, 0) -> exited 0,
#   then waitpid(worker2, 0) -> exited 0 (workers only exit after the handler stopped polling)
# FACT workerN.reap: wait by root (main thread)
# FACT root.exit: exited 0
# FACT nondeterministic: how many tasks each worker serves
# OUTPUT: "[0, 1, 4, 9, 16, 25]".
import multiprocessing as mp


def square(x):
    return x * x


if __name__ == "__main__":
    ctx = mp.get_context("fork")
    pool = ctx.Pool(2)
    print(pool.map(square, range(6)), flush=True)
    pool.close()
    pool.join()
