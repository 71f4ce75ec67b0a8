#!/usr/bin/env bash
# Usage: scripts/tracer-cost.sh [-n SPAWNS] [-r ROUNDS] BIN [BIN...]
#
# The recorder's own cost per traced process, for one or more proctrace binaries side by side
# (say, main's and a branch's), measured in ways that stay meaningful while other builds load
# the machine: counts and CPU time of the tracer itself, not the workload's wall time.
#
#   cpu      PROCTRACE_RUSAGE of `record` on the spawn loop (traces/workloads/spawn_loop.sh,
#            SPAWNS /bin/true, default 1000), with --states none and with the default states:
#            the tracer process's user and system CPU and its ptrace stops; the median of ROUNDS
#            rounds (default 5), the binaries interleaved round by round.
#   syscalls the system calls the tracer's threads make per traced process (perf's
#            raw_syscalls tracepoint, --states none, 200 spawns); skipped without perf.
#   in-stop  what a traced process waits for inside the tracer, per kind of stop (perf's
#            raw_syscalls tracepoints on the tracer, default states, 300 spawns): the time from
#            the ptrace thread's waitpid return to its resume request and to its next waitpid,
#            and each system call's.
#   start    `record --states none -o FILE -- /bin/true`: median wall of 20 runs spaced 0.2 s,
#            with /bin/true alone and `strace -f --seccomp-bpf -e trace=process` beside it.
#
# Prints a Markdown table on stdout, the load average with each part. Needs root (ptrace of
# the tracer's own children is enough for cpu and start; perf needs root or perf_event_paranoid).
# Not part of `make test` (measurements, not facts).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
spawns=1000
rounds=5
while getopts "n:r:" o; do
  case $o in
    n) spawns=$OPTARG ;;
    r) rounds=$OPTARG ;;
    *) echo "usage: scripts/tracer-cost.sh [-n SPAWNS] [-r ROUNDS] BIN [BIN...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: scripts/tracer-cost.sh [-n SPAWNS] [-r ROUNDS] BIN [BIN...]" >&2; exit 2; }
bins=("$@")
for b in "${bins[@]}"; do [ -x "$b" ] || { echo "tracer-cost.sh: $b is not an executable" >&2; exit 2; }; done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
loop=traces/workloads/spawn_loop.sh
load() { cut -d' ' -f1-3 /proc/loadavg; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# cpu: "proctrace self: user U s, sys S s, context switches A+B, page faults F, ptrace stops N"
echo "## tracer CPU on $spawns spawns (median of $rounds rounds; load before: $(load))"
echo
echo "| binary | states | user | sys | user+sys | ptrace stops |"
echo "|---|---|---|---|---|---|"
for r in $(seq "$rounds"); do
  for i in "${!bins[@]}"; do
    for mode in none sched; do
      PROCTRACE_RUSAGE=1 "${bins[$i]}" record --states "$mode" --force -o "$tmp/t.jsonl" -- /bin/sh "$loop" "$spawns" \
        >/dev/null 2>"$tmp/err" || true
      grep -o 'user [0-9.e-]* s, sys [0-9.e-]* s, .*ptrace stops [0-9]*' "$tmp/err" |
        awk -v i="$i" -v m="$mode" '{ print i, m, $2, $5, $NF }' >>"$tmp/cpu"
    done
  done
done
for i in "${!bins[@]}"; do
  for mode in none sched; do
    u=$(awk -v i="$i" -v m="$mode" '$1 == i && $2 == m { print $3 }' "$tmp/cpu" | median)
    s=$(awk -v i="$i" -v m="$mode" '$1 == i && $2 == m { print $4 }' "$tmp/cpu" | median)
    t=$(awk -v i="$i" -v m="$mode" '$1 == i && $2 == m { print $3 + $4 }' "$tmp/cpu" | median)
    n=$(awk -v i="$i" -v m="$mode" '$1 == i && $2 == m { print $5 }' "$tmp/cpu" | median)
    printf '| %s | %s | %.3f s | %.3f s | %.3f s | %s |\n' "${bins[$i]}" "$mode" "${u:-0}" "${s:-0}" "${t:-0}" "$n"
  done
done
echo

if command -v perf >/dev/null && [ "$(perf list tracepoint 2>/dev/null | grep -c 'raw_syscalls:sys_enter')" -gt 0 ]; then
  n=200
  echo "## tracer syscalls per traced process (--states none, $n spawns, $((n + 2)) processes; load: $(load))"
  echo
  echo "| binary | all | ptrace | wait4 | write | process_vm_readv | readlink | newfstatat | other |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for b in "${bins[@]}"; do
    perf record -q -e raw_syscalls:sys_enter -c 1 -o "$tmp/s.data" -- \
      "$b" record --states none --force -o "$tmp/s.jsonl" -- /bin/sh "$loop" "$n" >/dev/null 2>&1
    # The tracer's threads carry proctrace's command name; the workload's are sh, seq, true.
    perf script -i "$tmp/s.data" -F comm,trace 2>/dev/null | awk -v name="$(basename "$b" | cut -c1-15)" -v bin="$b" '
      $1 == name { for (k = 2; k <= NF; k++) if ($k == "NR") { nr = $(k + 1); sub(",", "", nr); c[nr]++; all++ } }
      END {
        p = '"$((n + 2))"'
        # x86_64 numbers: ptrace 101, wait4 61, write 1, process_vm_readv 310, readlink 89, newfstatat 262
        other = all - c[101] - c[61] - c[1] - c[310] - c[89] - c[262]
        printf "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f |\n", bin, all / p, c[101] / p, c[61] / p,
          c[1] / p, c[310] / p, c[89] / p, c[262] / p, other / p
      }'
  done
  echo
fi

if command -v perf >/dev/null && [ "$(perf list tracepoint 2>/dev/null | grep -c 'raw_syscalls:sys_exit')" -gt 0 ]; then
  n=300
  echo "## what a traced process waits for in the tracer, per stop (default states, $n spawns; load: $(load))"
  echo
  echo "From the ptrace thread's waitpid return to its resume request (PTRACE_CONT, PTRACE_SYSCALL,"
  echo "PTRACE_LISTEN; an exit has none) and to its next waitpid, with the requests up to the resume;"
  echo "then the median time of each system call the ptrace thread makes. The kernel resumes a task"
  echo "on the tracer's own CPU (almost always here), so it runs only once the tracer waits again: it"
  echo "waits for the second column. perf's raw_syscalls tracepoints add ~1 µs to each call."
  echo
  for b in "${bins[@]}"; do
    perf record -q -e raw_syscalls:sys_enter,raw_syscalls:sys_exit -o "$tmp/l.data" -- \
      "$b" record --force -o "$tmp/l.jsonl" -- /bin/sh "$loop" "$n" >/dev/null 2>&1
    perf script -i "$tmp/l.data" -F comm,tid,time,event,trace 2>/dev/null | awk -v name="$(basename "$b" | cut -c1-15)" '
      # x86_64: wait4 61, ptrace 101; requests by number.
      function req(r) {
        if (r == "7") return "CONT"; if (r == "18") return "SYSCALL"; if (r == "4208") return "LISTEN"
        if (r == "4201") return "GETEVENTMSG"; if (r == "4202") return "GETSIGINFO"; if (r == "4204") return "GETREGSET"
        if (r == "420e") return "GET_SYSCALL_INFO"; if (r == "4207") return "INTERRUPT"; if (r == "3") return "PEEKUSER"
        return "ptrace:" r
      }
      function sc(nr) {
        if (nr == 310) return "process_vm_readv"; if (nr == 89) return "readlink"; if (nr == 262) return "newfstatat"
        if (nr == 257) return "openat"; if (nr == 0) return "read"; if (nr == 1) return "write"; if (nr == 3) return "close"
        return "syscall:" nr
      }
      $1 == name {
        tid = $2; t = $3; sub(":", "", t); nr = $6 + 0
        if ($4 ~ /sys_enter/) { a = $7; sub(/^\(/, "", a); sub(/,$/, "", a); e[tid] = t; ea[tid] = a; en[tid] = nr; lines[NR] = tid " enter " nr " " a " " t }
        else { lines[NR] = tid " exit " nr " " $8 " " t; if (en[tid] == nr && nr == 101) ptr[tid]++ }
      }
      END {
        best = 0; for (k in ptr) if (ptr[k] > best) { best = ptr[k]; pt = k }
        for (i = 1; i <= NR; i++) {
          if (!(i in lines)) continue
          split(lines[i], f, " ")
          if (f[1] != pt) continue
          if (f[2] == "exit") {
            if (f[3] == 61) { start = (f[4] + 0 > 0) ? f[5] : ""; kind = ""; label = "" }   # a stop or an exit
            else if (f[3] in open) { printf "syscall %s %.1f\n", open[f[3]], (f[5] - began[f[3]]) * 1e6; delete open[f[3]] }
            continue
          }
          s = (f[3] == 101) ? req(f[4]) : (f[3] == 61 ? "" : sc(f[3]))
          if (f[3] != 61) { open[f[3]] = s; began[f[3]] = f[5] }
          if (start == "") continue
          if (f[3] == 61) {
            if (label == "") { label = kind "(exit)"; resumed = f[5] }
            printf "stop %s %.1f %.1f\n", label, (resumed - start) * 1e6, (f[5] - start) * 1e6
            start = ""; label = ""
          } else if (label == "" && (s == "CONT" || s == "SYSCALL" || s == "LISTEN")) {
            label = kind s; resumed = f[5]
          } else if (label == "") kind = kind s "+"
        }
      }' >"$tmp/instop"
    echo "### $b"
    echo
    echo "| stop (requests up to the resume) | per process | median µs to the resume | median µs to the next waitpid |"
    echo "|---|---|---|---|"
    for k in $(awk '$1 == "stop" { print $2 }' "$tmp/instop" | sort | uniq -c | sort -rn | awk -v p=$((n + 2)) '$1 >= p / 10 { print $2 }'); do
      c=$(awk -v k="$k" '$1 == "stop" && $2 == k' "$tmp/instop" | wc -l)
      m=$(awk -v k="$k" '$1 == "stop" && $2 == k { print $3 }' "$tmp/instop" | median)
      w=$(awk -v k="$k" '$1 == "stop" && $2 == k { print $4 }' "$tmp/instop" | median)
      printf '| %s | %.2f | %.1f | %.1f |\n' "$k" "$(awk -v c="$c" -v p=$((n + 2)) 'BEGIN { print c / p }')" "$m" "$w"
    done
    echo
    echo "| system call | per process | median µs |"
    echo "|---|---|---|"
    for k in $(awk '$1 == "syscall" { print $2 }' "$tmp/instop" | sort | uniq -c | sort -rn | awk -v p=$((n + 2)) '$1 >= p / 10 { print $2 }'); do
      c=$(awk -v k="$k" '$1 == "syscall" && $2 == k' "$tmp/instop" | wc -l)
      m=$(awk -v k="$k" '$1 == "syscall" && $2 == k { print $3 }' "$tmp/instop" | median)
      printf '| %s | %.2f | %.1f |\n' "$k" "$(awk -v c="$c" -v p=$((n + 2)) 'BEGIN { print c / p }')" "$m"
    done
    echo
  done
fi

echo "## record --states none -- /bin/true: median wall of 20 runs spaced 0.2 s (load before: $(load))"
echo
echo "| command | median | min |"
echo "|---|---|---|"
wall() {  # prints the wall time of one run in ms (bash's own clock: no process around the run)
  local s e
  s=$EPOCHREALTIME
  "$@" >/dev/null 2>&1
  e=$EPOCHREALTIME
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.3f\n", (e - s) * 1000 }'
}
names=("/bin/true")
cmds=("/bin/true")
for b in "${bins[@]}"; do names+=("$b record --states none"); cmds+=("$b record --states none --force -o $tmp/w.jsonl -- /bin/true"); done
if command -v strace >/dev/null; then names+=("strace -f --seccomp-bpf"); cmds+=("strace -f --seccomp-bpf -e trace=process -o /dev/null /bin/true"); fi
for r in $(seq 20); do
  for i in "${!cmds[@]}"; do
    # shellcheck disable=SC2086
    echo "$i $(wall ${cmds[$i]})" >>"$tmp/wall"
    sleep 0.2
  done
done
for i in "${!cmds[@]}"; do
  m=$(awk -v i="$i" '$1 == i { print $2 }' "$tmp/wall" | median)
  lo=$(awk -v i="$i" '$1 == i { print $2 }' "$tmp/wall" | sort -g | head -1)
  printf '| %s | %.1f ms | %.1f ms |\n' "${names[$i]}" "$m" "$lo"
done
echo
echo "load after: $(load)"
