# joblib_parallel.py - the tutorial's joblib.Parallel(n_jobs=2) with joblib's
# default backend, loky (Debian python3-joblib 1.2.0). Loky does not fork
# workers from the parent's memory: it fork()s and execs a fresh
# /usr/bin/python3 for each worker and for its resource tracker. Python's own
# multiprocessing resource tracker is also started (vfork + exec). Both
# trackers outlive the root: they exit when the root's end of their pipe
# closes, so they are orphaned and adopted by pid 1.
# Optional argv[1]: another joblib backend, e.g. "multiprocessing" (a fork
# Pool of 2 workers without exec, plus the loky tracker) - the FACTS below
# are for the default, loky.
# Tree (loky): root -> lokytracker (fork, then exec python3 -B -c "...loky...resource_tracker...")
#              root -> mptracker (vfork, then exec python3 -B -c "...multiprocessing.resource_tracker...")
#              root -> worker1, worker2 (fork, then exec python3 -m joblib.externals.loky.backend.popen_loky_posix)
# FACT procs: 5 (root, lokytracker, mptracker, worker1, worker2)
# FACT execs: every child execs /usr/bin/python3 exactly once
# FACT mptracker.via: vfork; the others: fork
# FACT root.threads: 2 extra threads (loky's executor manager and a queue feeder)
# FACT workerN.exit: exited 0, before the root exits
# FACT workerN.reap: wait by root (waitpid(workerN, 0) from the executor-manager thread;
#   WNOHANG polls -> 0 before that)
# FACT root.exit: exited 0
# FACT lokytracker, mptracker: reparent root -> 1 at root's exit; exit exited 0 after the root; reap adopted by 1
# FACT duration: ~0.8 s untraced
# FACT nondeterministic: which worker runs which task; the two trackers' exit order
# OUTPUT: "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]".
import sys

from joblib import Parallel, delayed


def square(x):
    return x ** 2


if __name__ == "__main__":
    backend = sys.argv[1] if len(sys.argv) > 1 else "loky"
    results = Parallel(n_jobs=2, backend=backend)(delayed(square)(i) for i in range(10))
    print(results, flush=True)
