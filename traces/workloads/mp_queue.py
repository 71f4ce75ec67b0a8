# mp_queue.py - the tutorial's Queue: a request process puts jobs, a handle
# process takes them and prints the sums (a None ends the stream instead of
# the tutorial's 2 s timeout, to keep it quick and deterministic).
# Start method: fork (explicit). Queue.put starts a feeder thread in the
# process that puts (the request child), which it joins before exiting.
# Tree: root -> request, handle (forked in this order).
# FACT procs: 3 (root, request, handle)
# FACT request.threads: 1 extra thread (the Queue feeder); it is joined before request exits,
#   but its kernel thread may still be finishing when request calls exit_group
# FACT request.exit: exited 0; handle.exit: exited 0
# FACT root.wait: waitpid(request, 0) -> exited 0, then waitpid(handle, 0) -> exited 0
# FACT request.reap, handle.reap: wait by root
# FACT root.wait.polls: Process.start() also polls earlier children with waitpid(pid, WNOHANG) -> 0
# FACT root.exit: exited 0
# FACT handle.blocked: ~0.05 s in q.get before each job arrives
# OUTPUT: "12 + 61 = 73" then "69 + 48 = 117".
import multiprocessing as mp
import time

ctx = mp.get_context("fork")
q = ctx.Queue(3)


def request():
    for x, y in ((12, 61), (69, 48)):
        # The handler waits for each job: blocked in q.get (a read on the queue's pipe).
        time.sleep(0.05)
        q.put((x, y))
    q.put(None)


def handle():
    while True:
        item = q.get(timeout=5)
        if item is None:
            break
        x, y = item
        print("%d + %d = %d" % (x, y, x + y), flush=True)


if __name__ == "__main__":
    p1 = ctx.Process(target=request)
    p2 = ctx.Process(target=handle)
    p1.start()
    p2.start()
    p1.join()
    p2.join()
