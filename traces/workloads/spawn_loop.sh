#!/bin/sh
# spawn_loop.sh - bench workload: a shell loop spawning N short processes
# ($1, default 1000) of /bin/true. Run it as `/bin/sh spawn_loop.sh [N]`.
# Tree: root (/bin/sh = dash) -> seqchild (fork, exec /usr/bin/seq for the command
#   substitution), then N children one after another (vfork, exec /bin/true).
# FACT procs: N+2 (root, seqchild, N children)
# FACT seqchild.via: fork; seqchild.exec: /usr/bin/seq
# FACT child.via: vfork; child.exec: /bin/true; child.exit: exited 0
# FACT root.wait: per child wait4(-1, 0) -> that child exited 0, then wait4(-1, WNOHANG) -> ECHILD
# FACT child.reap: wait by root
# FACT root.exit: exited 0
# FACT purpose: measures the per-process cost of tracing
# OUTPUT: none.
n=${1:-1000}
for i in $(seq "$n"); do /bin/true; done
