# mp_value_array.py - the tutorial's shared memory: a Value changed by two
# processes (fixed amounts, under its lock, so the result is deterministic),
# then an Array('c', b"hello") changed by a third process.
# Start method: fork (explicit).
# Tree: root -> man, girl (run together), then arr (after both were joined).
# FACT procs: 4 (root, man, girl, arr)
# FACT man/girl/arr.parent: root (via fork, no exec)
# FACT man/girl/arr.exit: exited 0
# FACT root.wait: waitpid(man, 0), waitpid(girl, 0), waitpid(arr, 0), in this order, all exited 0
# FACT man/girl/arr.reap: wait by root
# FACT root.wait.polls: Process.start() also polls earlier children with waitpid(pid, WNOHANG) -> 0
# FACT root.exit: exited 0
# OUTPUT: "balance: 5350" then "array: b'Hello'".
import multiprocessing as mp
import time

ctx = mp.get_context("fork")
money = ctx.Value("i", 5000)
shm = ctx.Array("c", b"hello")


def man():
    for _ in range(5):
        time.sleep(0.02)
        with money.get_lock():
            money.value += 100


def girl():
    for _ in range(5):
        time.sleep(0.015)
        with money.get_lock():
            money.value -= 30


def fun():
    shm[0] = b"H"


if __name__ == "__main__":
    m = ctx.Process(target=man)
    g = ctx.Process(target=girl)
    m.start()
    g.start()
    m.join()
    g.join()
    print("balance:", money.value, flush=True)
    p = ctx.Process(target=fun)
    p.start()
    p.join()
    print("array:", shm.value, flush=True)
