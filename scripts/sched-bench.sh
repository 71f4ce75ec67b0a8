#!/usr/bin/env bash
# Usage: scripts/sched-bench.sh BINDIR [spawn] [start] [idle] [pingpong]
#
# The state sources' own costs, measured in-process by BINDIR/SchedBench (built with the
# release build): wall and workload CPU of a 1000-spawn loop with no source, the scheduler
# source (and two of its variants) and the sampler; the reader thread's CPU and events; the
# cost of start() and of the trace-clock calibration; the idle polling cost; and the reader's
# throughput on `perf bench sched pipe` when perf is installed. Numbers go to stdout
# ("BENCH ..." lines); docs/states.md (Measurements) reads them. Needs root (tracefs).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
dir=${1:?usage: scripts/sched-bench.sh BINDIR [BENCH...]}
shift
if [ ! -x "$dir/SchedBench" ]; then
  echo "sched-bench.sh: $dir/SchedBench is missing (build it with 'make release')" >&2
  exit 1
fi
echo "== state sources: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
exec "$dir/SchedBench" "$@"
