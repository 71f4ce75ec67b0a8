#!/usr/bin/env bash
# Usage: scripts/syscall-floor.sh [-n WRITES] [-r ROUNDS] BIN
#
# The floor under issue 13's "200k writes" row: what the kernel charges each system call of a
# traced workload, apart from anything proctrace does. traces/workloads/bin/syscall_loop (WRITES
# one-byte write(2)s to /dev/null, default 200,000) run as:
#   untraced        alone
#   filter          under a seccomp filter that allows everything (traces/workloads/seccomp_allow,
#                   the shape of proctrace's filter): no tracer, no ptrace
#   tracepoints     alone, while an otherwise idle tracefs instance has syscalls/sys_enter_wait4 and
#                   sys_exit_wait4 on (what ring waits enable: every task of the machine then takes
#                   the syscall tracepoint path)
#   filter+tp       both
#   record none     BIN record --states none (the whole command: tracer, start and stop included)
#   record ptrace   BIN record --wait-source ptrace (states on, waits from stops)
#   record          BIN record (the default: states on, ring waits)
#   strace          strace -f --seccomp-bpf -e trace=process
# Each round runs every variant twice (interleaved, 0.2 s apart): once plain for its wall time, once
# under perf stat for its task-clock (the CPU time of every process of the command, less sensitive
# to other load than the wall); figures are medians, with the task-clock above the untraced run per
# write. Run it on a quiet machine: under load every variant's CPU time grows. Needs root and perf; prints a
# Markdown table with the load average. Measurements, not a test.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
n=200000
rounds=9
while getopts "n:r:" o; do
  case $o in
    n) n=$OPTARG ;;
    r) rounds=$OPTARG ;;
    *) echo "usage: scripts/syscall-floor.sh [-n WRITES] [-r ROUNDS] BIN" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
bin=${1:-}
[ -x "$bin" ] || { echo "usage: scripts/syscall-floor.sh [-n WRITES] [-r ROUNDS] BIN (an executable proctrace)" >&2; exit 2; }
command -v perf >/dev/null || { echo "syscall-floor.sh: needs perf" >&2; exit 2; }
loop=traces/workloads/bin/syscall_loop
allow=traces/workloads/bin/seccomp_allow
for w in "$loop" "$allow"; do [ -x "$w" ] || { echo "syscall-floor.sh: $w missing (make workloads)" >&2; exit 2; }; done
tracefs=/sys/kernel/tracing
[ -d "$tracefs/instances" ] || { echo "syscall-floor.sh: no tracefs at $tracefs" >&2; exit 2; }
tmp=$(mktemp -d)
inst="$tracefs/instances/proctrace-floor-$$"
cleanup() {
  if [ -d "$inst" ]; then
    echo 0 >"$inst/tracing_on"; echo 0 >"$inst/events/enable"; rmdir "$inst"
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
mkdir "$inst" || exit 1
echo 0 >"$inst/tracing_on"
tp() {  # on|off: the two wait4 tracepoints of the idle instance
  local v=0; [ "$1" = on ] && v=1
  echo $v >"$inst/events/syscalls/sys_enter_wait4/enable" && echo $v >"$inst/events/syscalls/sys_exit_wait4/enable"
}
tp off || exit 1
echo 1 >"$inst/tracing_on"

variants=(untraced filter tracepoints filter+tp "record none" "record ptrace" record strace)
run() {  # variant -> "wall_ms task_ms"
  local v=$1 t0 t1
  local -a pre=()
  case $v in
    untraced|tracepoints) ;;
    filter|filter+tp) pre=("$allow" shape) ;;
    "record none") pre=("$bin" record --states none --force -o "$tmp/t.jsonl" --) ;;
    "record ptrace") pre=("$bin" record --wait-source ptrace --force -o "$tmp/t.jsonl" --) ;;
    record) pre=("$bin" record --force -o "$tmp/t.jsonl" --) ;;
    strace) pre=(strace -f --seccomp-bpf -e trace=process -o /dev/null) ;;
  esac
  case $v in tracepoints|filter+tp) tp on ;; esac
  # The wall of a plain run (perf stat adds its own start), then the CPU of a run under perf.
  t0=$EPOCHREALTIME
  "${pre[@]}" "$loop" "$n" >/dev/null 2>"$tmp/err" || { echo "syscall-floor.sh: $v failed: $(cat "$tmp/err")" >&2; }
  t1=$EPOCHREALTIME
  sleep 0.2
  perf stat -x, -e task-clock -o "$tmp/stat" "${pre[@]}" "$loop" "$n" >/dev/null 2>"$tmp/err" || { echo "syscall-floor.sh: $v failed: $(cat "$tmp/err")" >&2; }
  case $v in tracepoints|filter+tp) tp off ;; esac
  awk -F, -v a="$t0" -v b="$t1" '/task-clock/ { printf "%.3f %.3f\n", (b - a) * 1000, $1 }' "$tmp/stat"
}
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$rounds"); do
  for i in "${!variants[@]}"; do
    v=${variants[$(( (i + r) % ${#variants[@]} ))]}
    sleep 0.2
    echo "$v|$(run "$v")" >>"$tmp/runs"
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

base=$(awk -F'|' '$1 == "untraced" { split($2, a, " "); print a[2] }' "$tmp/runs" | median)
echo "## $n one-byte \`write\`s: what each layer costs (medians of $rounds interleaved rounds; load $load_before before, $load_after after)"
echo
echo "| variant | task-clock | wall | task-clock over untraced | per write |"
echo "|---|---|---|---|---|"
for v in "${variants[@]}"; do
  task=$(awk -F'|' -v v="$v" '$1 == v { split($2, a, " "); print a[2] }' "$tmp/runs" | median)
  wall=$(awk -F'|' -v v="$v" '$1 == v { split($2, a, " "); print a[1] }' "$tmp/runs" | median)
  awk -v v="$v" -v t="$task" -v w="$wall" -v b="$base" -v n="$n" 'BEGIN {
    printf "| %s | %.1f ms | %.1f ms | %+.1f ms (%.2fx) | %+.0f ns |\n", v, t, w, t - b, t / b, (t - b) * 1e6 / n }'
done
