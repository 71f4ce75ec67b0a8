#!/usr/bin/env bash
# Usage: scripts/bpf-wait-probe.sh [-r ROUNDS] [-n WRITES]
#
# Can wait4 calls be read with BPF here instead of the syscall tracepoints that `--wait-source ring`
# enables (docs/recorder.md, "Cost, and when to choose --wait-source ptrace")? Builds
# scripts/bpf-wait-probe.c (no libbpf, bpftool or BPF clang: raw bpf(2)) and prints, in Markdown:
#   1. which BPF program kinds this kernel loads (a refusal before the verifier is the kind's);
#   2. the wait feed's programs as fentry/fexit on __x64_sys_wait4 (the per-function probe that
#      would cost only wait4 calls): load, attach, check, detach, or the refusal;
#   3. the same instructions as tp_btf programs on the raw tracepoints sys_enter/sys_exit (allowed
#      where trampolines are not): they prove the program, its in-kernel filter by tracer and the
#      ring buffer, but, like any syscall tracepoint, put every thread of the machine on the
#      syscall slow path;
#   4. what a process outside any recording pays per syscall (traces/workloads/bin/syscall_loop,
#      WRITES one-byte writes, `perf stat -e task-clock -r 5` per variant, ROUNDS interleaved
#      rounds, medians): nothing attached, an idle tracefs instance with syscalls/sys_enter_wait4
#      and sys_exit_wait4 on (what ring waits enable), the tp_btf programs attached, and the
#      fentry/fexit programs attached when the kernel took them.
# Needs root, perf and a C compiler. Measurements, not a test: run it on a quiet machine.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
rounds=5
n=200000
while getopts "r:n:" o; do
  case $o in
    r) rounds=$OPTARG ;;
    n) n=$OPTARG ;;
    *) echo "usage: scripts/bpf-wait-probe.sh [-r ROUNDS] [-n WRITES]" >&2; exit 2 ;;
  esac
done
loop=traces/workloads/bin/syscall_loop
[ -x "$loop" ] || { echo "bpf-wait-probe.sh: $loop missing (make workloads)" >&2; exit 2; }
command -v perf >/dev/null || { echo "bpf-wait-probe.sh: needs perf" >&2; exit 2; }
tracefs=/sys/kernel/tracing
tmp=$(mktemp -d)
inst="$tracefs/instances/proctrace-bpfprobe-$$"
holder=
cleanup() {
  [ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
  if [ -d "$inst" ]; then echo 0 >"$inst/events/enable"; rmdir "$inst"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
${CC:-cc} -O2 -Wall -Wextra -Werror -o "$tmp/probe" scripts/bpf-wait-probe.c || exit 1

echo "## BPF program kinds this kernel loads ($(uname -r))"
echo
"$tmp/probe" kinds
echo
echo "## The wait feed's programs as fentry/fexit on __x64_sys_wait4"
echo
"$tmp/probe" fentry | sed 's/^/    /'
fentry=${PIPESTATUS[0]}
echo
echo "## The same instructions as tp_btf on sys_enter/sys_exit (a check of the program, not a way out)"
echo
"$tmp/probe" tp | sed 's/^/    /'
echo

# 4. The cost to a process outside any recording.
mkdir "$inst" || exit 1
tp() {  # on|off: the two wait4 tracepoints of the idle instance
  local v=0; [ "$1" = on ] && v=1
  echo $v >"$inst/events/syscalls/sys_enter_wait4/enable" && echo $v >"$inst/events/syscalls/sys_exit_wait4/enable"
}
hold() {  # tp|fentry: attach the probe's programs and keep them attached until `unhold`
  "$tmp/probe" "$1" 3600 >"$tmp/hold.out" 2>&1 &
  holder=$!
  for _ in $(seq 200); do grep -q "holding" "$tmp/hold.out" && return 0; sleep 0.01; done
  echo "bpf-wait-probe.sh: $1 did not attach: $(cat "$tmp/hold.out")" >&2
  return 1
}
unhold() { kill "$holder"; wait "$holder" 2>/dev/null; holder=; }
variants=(nothing "tracefs wait4 events" "tp_btf sys_enter/exit")
[ "$fentry" = 0 ] && variants+=("fentry/fexit wait4")
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for r in $(seq "$rounds"); do
  for i in "${!variants[@]}"; do
    v=${variants[$(( (i + r) % ${#variants[@]} ))]}
    case $v in
      "tracefs wait4 events") tp on ;;
      "tp_btf sys_enter/exit") hold tp || continue ;;
      "fentry/fexit wait4") hold fentry || continue ;;
    esac
    perf stat -x, -r 5 -e task-clock -o "$tmp/stat" "$loop" "$n" >/dev/null
    case $v in
      "tracefs wait4 events") tp off ;;
      "tp_btf sys_enter/exit"|"fentry/fexit wait4") unhold ;;
    esac
    awk -F, -v v="$v" '/task-clock/ { print v "|" $1 }' "$tmp/stat" >>"$tmp/runs"
    sleep 0.2
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
base=$(awk -F'|' '$1 == "nothing" { print $2 }' "$tmp/runs" | median)
echo "## $n one-byte \`write\`s by a process outside any recording (task-clock, medians of $rounds rounds of 5; load $load_before before, $load_after after)"
echo
echo "| attached meanwhile | task-clock | over nothing | per syscall |"
echo "|---|---|---|---|"
for v in "${variants[@]}"; do
  t=$(awk -F'|' -v v="$v" '$1 == v { print $2 }' "$tmp/runs" | median)
  [ -n "$t" ] || continue
  awk -v v="$v" -v t="$t" -v b="$base" -v n="$n" 'BEGIN {
    printf "| %s | %.1f ms | %+.1f ms (%.2fx) | %+.0f ns |\n", v, t, t - b, t / b, (t - b) * 1e6 / n }'
done
