#!/usr/bin/env bash
# Usage: scripts/bench.sh [BIN]      (BIN defaults to .build/release/proctrace)
#
# Wall-time benchmark of `proctrace record` against the untraced run and against
# `strace -f --seccomp-bpf -e trace=process`, on the three bench workloads of issue 2:
#   spawn   /bin/sh traces/workloads/spawn_loop.sh 1000   (a shell spawning 1000 /bin/true)
#   syscall traces/workloads/bin/syscall_loop 200000      (200,000 write(2)s, no forks)
#   pool    /usr/bin/python3 traces/workloads/pool_bench.py (Pool(8), one task per worker)
#   startup /bin/true                                     (the fixed cost of starting a trace)
#   probe   /bin/sh traces/workloads/path_probe.sh 200    (200 `env true` through a 4-directory PATH:
#           600 failed execs and 400 that succeed, what recording failed execs costs)
# Variants, measured side by side in one run: untraced; `BIN record --states none`;
# `BIN record` (default states); strace. Runs are interleaved (each round runs every variant
# once, in a rotating order) so machine noise hits all variants alike; figures are medians.
#
# Environment: BENCH_RUNS (rounds per workload; default 7 for spawn, 21 for the short ones), BENCH_WORKLOADS (space-separated
# subset of "spawn syscall pool startup probe"), BENCH_SPAWN_N, BENCH_SYSCALL_N, BENCH_POOL_N, BENCH_PROBE_N.
# Exit status: 0 when every variant ran; 2 when proctrace (or strace) could not be measured
# (the table is still printed, with n/a); 1 when a workload itself fails untraced.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
BIN=${1:-.build/release/proctrace}
WORKLOADS=${BENCH_WORKLOADS:-"spawn syscall pool startup probe"}
SPAWN_N=${BENCH_SPAWN_N:-1000}
SYSCALL_N=${BENCH_SYSCALL_N:-200000}
POOL_N=${BENCH_POOL_N:-8}
PROBE_N=${BENCH_PROBE_N:-200}
PY=/usr/bin/python3
W=traces/workloads

if [ -z "${EPOCHREALTIME:-}" ]; then
  echo "bench.sh: needs bash 5 (EPOCHREALTIME)" >&2
  exit 1
fi

tmp=$(mktemp -d /tmp/proctrace-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

warn() { echo "bench.sh: $*" >&2; }

workload_cmd() {  # name -> prints the command words, one per line
  case $1 in
    spawn) printf '%s\n' /bin/sh "$W/spawn_loop.sh" "$SPAWN_N" ;;
    syscall) printf '%s\n' "$W/bin/syscall_loop" "$SYSCALL_N" ;;
    pool) printf '%s\n' "$PY" "$W/pool_bench.py" "$POOL_N" ;;
    startup) printf '%s\n' /bin/true ;;
    probe) printf '%s\n' /bin/sh "$W/path_probe.sh" "$PROBE_N" ;;
    *) return 1 ;;
  esac
}

describe() {
  case $1 in
    spawn) echo "shell loop spawning $SPAWN_N /bin/true" ;;
    syscall) echo "$SYSCALL_N write(2)s, no forks" ;;
    pool) echo "Python Pool($POOL_N), one task per worker" ;;
    startup) echo "/bin/true: fixed cost per trace" ;;
    probe) echo "$PROBE_N env true through a 4-directory PATH (3 failed execs each)" ;;
  esac
}

# Variant prefixes. The workload's words follow.
VARIANTS=(untraced proctrace states strace)
prefix() {  # variant -> prints prefix words, one per line
  case $1 in
    untraced) ;;
    proctrace) printf '%s\n' "$BIN" record --states none -o "$tmp/$1.jsonl" -- ;;
    states) printf '%s\n' "$BIN" record -o "$tmp/$1.jsonl" -- ;;
    strace) printf '%s\n' strace -f --seccomp-bpf -e trace=process -o /dev/null ;;
  esac
}

# run_timed VARIANT CMD... : runs once, prints elapsed seconds; returns the command's status.
run_timed() {
  local v=$1; shift
  local -a pre=()
  mapfile -t pre < <(prefix "$v")
  local t0 t1 rc
  rm -f "$tmp/$v.jsonl"  # record refuses to overwrite an existing trace
  t0=$EPOCHREALTIME
  "${pre[@]}" "$@" >/dev/null 2>"$tmp/err.$v" </dev/null
  rc=$?
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f\n", b - a }'
  return $rc
}

median() {  # numbers on stdin -> median
  sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) { print "" } else if (NR % 2) { print a[(NR + 1) / 2] } else { printf "%.6f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 } }'
}

# Which variants can run at all?
declare -A usable
usable[untraced]=1
status=0
if [ ! -x "$BIN" ]; then
  warn "$BIN is not an executable: proctrace columns will be n/a (build it with 'make release')"
  usable[proctrace]=0; usable[states]=0; status=2
else
  for v in proctrace states; do
    if run_timed "$v" /bin/true >/dev/null; then
      if [ -s "$tmp/$v.jsonl" ] && tail -n 1 "$tmp/$v.jsonl" | grep -q '"type" *: *"end"'; then
        usable[$v]=1
      else
        usable[$v]=1
        warn "$v: '$BIN record' ran but the trace has no final end event (measuring anyway)"
      fi
    else
      warn "$v: '$(prefix "$v" | tr '\n' ' ')/bin/true' failed: $(head -n 1 "$tmp/err.$v")"
      usable[$v]=0; status=2
    fi
  done
fi
if command -v strace >/dev/null && strace -f --seccomp-bpf -e trace=process -o /dev/null /bin/true 2>"$tmp/err.strace"; then
  usable[strace]=1
else
  warn "strace unusable: $(head -n 1 "$tmp/err.strace" 2>/dev/null) (install it: scripts/install-deps.sh)"
  usable[strace]=0; status=2
fi

declare -A med best rounds
for wl in $WORKLOADS; do
  mapfile -t cmd < <(workload_cmd "$wl") || { warn "unknown workload $wl"; exit 1; }
  if [ "$wl" = syscall ] && [ ! -x "$W/bin/syscall_loop" ]; then
    warn "$W/bin/syscall_loop is missing: run 'make workloads'"; exit 1
  fi
  if [ -n "${BENCH_RUNS:-}" ]; then RUNS=$BENCH_RUNS; elif [ "$wl" = spawn ] || [ "$wl" = probe ]; then RUNS=7; else RUNS=21; fi
  rounds[$wl]=$RUNS
  echo "== $wl: $(describe "$wl"), $RUNS rounds" >&2
  # warm-up (page cache, Python bytecode), also checks that the workload works
  if ! run_timed untraced "${cmd[@]}" >/dev/null; then
    warn "$wl fails untraced: $(head -n 1 "$tmp/err.untraced")"; exit 1
  fi
  declare -A times=()
  for ((r = 0; r < RUNS; r++)); do
    # rotate the order every round
    for ((k = 0; k < ${#VARIANTS[@]}; k++)); do
      v=${VARIANTS[$(((k + r) % ${#VARIANTS[@]}))]}
      [ "${usable[$v]}" = 1 ] || continue
      [ "${times[$v]:-}" = fail ] && continue  # gave up on this variant for this workload
      if t=$(run_timed "$v" "${cmd[@]}"); then
        times[$v]+="$t "
      else
        warn "$wl/$v run $((r + 1)) failed (status $?), not measuring it further: $(head -n 1 "$tmp/err.$v")"
        times[$v]=fail
      fi
    done
    printf '   round %d:' "$((r + 1))" >&2
    for v in "${VARIANTS[@]}"; do
      [ "${usable[$v]}" = 1 ] && printf ' %s %s' "$v" "$(awk '{ print $NF }' <<<"${times[$v]:-}")" >&2
    done
    echo >&2
  done
  for v in "${VARIANTS[@]}"; do
    if [ "${usable[$v]}" = 1 ] && [ "${times[$v]:-fail}" != fail ]; then
      med[$wl.$v]=$(tr ' ' '\n' <<<"${times[$v]}" | grep . | median)
      best[$wl.$v]=$(tr ' ' '\n' <<<"${times[$v]}" | grep . | sort -g | head -n 1)
    else
      med[$wl.$v]=""; best[$wl.$v]=""
      [ "${usable[$v]}" = 1 ] && status=2
    fi
  done
  unset times
done

ratio() {  # a b -> a/b formatted, or n/a
  if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; else echo "n/a"; fi
}
secs() { if [ -n "$1" ]; then printf '%.3f' "$1"; else echo "n/a"; fi; }
cell() {  # time base -> "1.234s (1.10x)" or n/a
  if [ -n "$1" ]; then echo "$(secs "$1")s ($(ratio "$1" "$2"))"; else echo "n/a"; fi
}

echo
echo "proctrace bench: medians of interleaved rounds ($(nproc) CPUs, $(uname -r)); BIN=$BIN"
printf '%-8s %6s %10s  %-18s %-18s %-18s %s\n' workload rounds "untraced" "proctrace" "proctrace+states" "strace" "proctrace/strace"
for wl in $WORKLOADS; do
  u=${med[$wl.untraced]}; p=${med[$wl.proctrace]}; s=${med[$wl.states]}; st=${med[$wl.strace]}
  printf '%-8s %6s %9ss  %-18s %-18s %-18s %s\n' "$wl" "${rounds[$wl]}" "$(secs "$u")" \
    "$(cell "$p" "$u")" "$(cell "$s" "$u")" "$(cell "$st" "$u")" \
    "$(ratio "$p" "$st")"
done
echo
echo "best runs (minimum of each variant; less sensitive to background load):"
for wl in $WORKLOADS; do
  u=${best[$wl.untraced]}
  printf '%-8s untraced %ss  proctrace %s  proctrace+states %s  strace %s  proctrace/strace %s\n' "$wl" "$(secs "$u")" \
    "$(ratio "${best[$wl.proctrace]}" "$u")" "$(ratio "${best[$wl.states]}" "$u")" \
    "$(ratio "${best[$wl.strace]}" "$u")" "$(ratio "${best[$wl.proctrace]}" "${best[$wl.strace]}")"
done
echo "aims (issue 2): spawn <= 1.30x, syscall <= 1.05x, proctrace/strace < 1.00x on all three"
exit $status
