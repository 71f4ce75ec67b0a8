# failed_exec.py - execs that fail, as a shell or execvp probing PATH makes them. Python's
# os.execvp tries each PATH directory in turn with execve(2) (no stat first), so every
# directory that lacks the program is one failed execve with ENOENT; a file there without
# the execute bit fails with EACCES and the search goes on.
# Tree: root -> finder, missing, direct, byfd (forked in this order, each waited for before
#   the next)
# FACT procs: 5 (root, finder, missing, direct, byfd)
# FACT finder.failed_execs: 3, in order ENOENT (DIR/none1/true), ENOENT (DIR/none2/true),
#   EACCES (DIR/noexec/true), each with argv ["true", "from-finder"]
# FACT finder.exec: /usr/bin/true (argv ["true", "from-finder"]), after its 3 failed execs
# FACT finder.exit: exited 0
# FACT missing.failed_execs: 3, ENOENT each, DIR/none1/proctrace-no-such-program,
#   DIR/none2/proctrace-no-such-program, DIR/noexec/proctrace-no-such-program; no exec
# FACT missing.exit: exited 127
# FACT direct.failed_execs: 1, ENOENT, path DIR/none1/nothing-here, argv ["nothing", "--flag", "two words"]
# FACT direct.exit: exited 126
# FACT byfd.failed_execs: 1, execveat(fd, "", AT_EMPTY_PATH) of DIR/noexec/true (os.execve on an
#   fd): EACCES, path "", argv ["byfd"]
# FACT byfd.exit: exited 124
# FACT root.wait: waitpid(child, 0) for each child in turn
# FACT root.exit: exited 0
# DIR is a fresh temporary directory (printed as "dir DIR" on stdout first).
import os
import sys
import tempfile

d = tempfile.mkdtemp(prefix="proctrace-failed-exec-")
for sub in ("none1", "none2", "noexec"):
    os.mkdir(os.path.join(d, sub))
with open(os.path.join(d, "noexec", "true"), "w") as f:
    f.write("#!/bin/sh\n")
os.chmod(os.path.join(d, "noexec", "true"), 0o644)
print("dir", d, flush=True)
search = ":".join(os.path.join(d, s) for s in ("none1", "none2", "noexec"))


def run(body):
    pid = os.fork()
    if pid == 0:
        try:
            body()
        finally:
            os._exit(125)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status), flush=True)


def finder():
    os.environ["PATH"] = search + ":/usr/bin"
    os.execvp("true", ["true", "from-finder"])


def missing():
    os.environ["PATH"] = search
    try:
        os.execvp("proctrace-no-such-program", ["proctrace-no-such-program"])
    except OSError:
        os._exit(127)


def direct():
    try:
        os.execv(os.path.join(d, "none1", "nothing-here"), ["nothing", "--flag", "two words"])
    except OSError:
        os._exit(126)


def byfd():
    fd = os.open(os.path.join(d, "noexec", "true"), os.O_RDONLY)
    try:
        os.execve(fd, ["byfd"], {})
    except OSError:
        os._exit(124)


run(finder)
run(missing)
run(direct)
run(byfd)
os.remove(os.path.join(d, "noexec", "true"))
for sub in ("none1", "none2", "noexec"):
    os.rmdir(os.path.join(d, sub))
os.rmdir(d)
