#!/bin/sh
# path_probe.sh - bench workload: N programs ($1, default 200) started by name through
# execvp (GNU env) with a PATH of four directories, three of them without the program, as
# shells' children and gcc find theirs. Run it as `/bin/sh path_probe.sh [N]`.
# Tree: root (/bin/sh = dash) -> N children one after another (vfork, exec /usr/bin/env,
#   which execvp's `true`: three failed execve (ENOENT), then /usr/bin/true).
# FACT procs: N+1 (root, N children)
# FACT child.failed_execs: 3, ENOENT each: /nonexistent-a/true, /nonexistent-b/true, /nonexistent-c/true
# FACT child.exec: /usr/bin/env, then /usr/bin/true; child.exit: exited 0
# FACT child.reap: wait by root
# FACT root.exit: exited 0
# FACT purpose: measures what recording failed execs costs (two stops each, one more per exec)
n=${1:-200}
PATH=/nonexistent-a:/nonexistent-b:/nonexistent-c:/usr/bin
export PATH
i=0
while [ "$i" -lt "$n" ]; do
  env true
  i=$((i + 1))
done
