#!/usr/bin/env bash
# Usage: scripts/bench.sh [--quick] [BIN]      (BIN defaults to .build/release/proctrace)
#
# The performance table of issue 13, measured side by side in one run and printed as one
# Markdown table (stdout; progress on stderr). scripts/bench-readme.sh puts it in the README.
#
# Recorder rows: each workload untraced, under `BIN record` (the default: scheduler states
# on), under `BIN record --states none` and under `strace -f --seccomp-bpf -e trace=process`.
# Runs are interleaved (each round runs every variant once, in a rotating order) so machine
# noise hits all variants alike; figures are medians. Each run starts BENCH_GAP seconds (default
# 0.15) after the previous one ended: after `record` returns, its tracer still removes its tracefs
# instance, which holds the kernel's tracing locks for ~90 ms (docs/states.md, "Back to back: the
# floor"), and a recording started inside that window waits for it. A workload row measures what
# tracing that workload costs; the start-up row below measures the back-to-back case on its own.
#   spawn    /bin/sh traces/workloads/spawn_loop.sh 1000   (a shell spawning 1000 /bin/true)
#   syscall  traces/workloads/bin/syscall_loop 200000      (200,000 write(2)s, no forks)
#   pool     /usr/bin/python3 traces/workloads/pool_bench.py (Pool(8), a fork per task)
#   probe    /bin/sh traces/workloads/path_probe.sh 200    (200 `env true` through a 4-directory
#            PATH: 600 failed execs and 400 that succeed, what recording failed execs costs)
# States' own cost: default ÷ `--states none` on the spawn loop (same rounds).
# Start-up, back to back: /bin/true recorded again and again with no pause (a recording then
# starts while the previous one's instance is still being torn down), minus untraced /bin/true.
#
# Reader rows: each job on a generated trace against `validate` of the same trace (medians,
# peak RSS from /usr/bin/time): stats and perfetto export and the tree of 50,000 processes
# (1.1M events, scripts/gen-trace.py), the timeline of 10,000 processes (gen-trace.py's
# default, 1M events), and the timeline of a recorded flood of state events (two pipe
# ping-pong pairs under `BIN record`; its size is in the row).
#
# --quick (or BENCH_QUICK=1): small sizes and few rounds, to smoke-test the script under load
# (its numbers mean nothing). Environment: BENCH_RUNS (recorder rounds), BENCH_READER_RUNS,
# BENCH_WORKLOADS (subset of "spawn syscall pool probe startup readers"), BENCH_PINGPONG_MS,
# BENCH_GAP (seconds between two runs of the workload rows).
# Exit status: 0 when every cell was measured; 2 when some could not be (n/a in the table);
# 1 when a workload fails untraced.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
QUICK=${BENCH_QUICK:-0}
if [ "${1:-}" = --quick ]; then QUICK=1; shift; fi
BIN=${1:-.build/release/proctrace}
PY=/usr/bin/python3
W=traces/workloads
if [ "$QUICK" = 1 ]; then
  SPAWN_N=200; SYSCALL_N=50000; POOL_N=8; PROBE_N=50; RUNS=${BENCH_RUNS:-3}; SHORT_RUNS=$RUNS; READER_RUNS=${BENCH_READER_RUNS:-1}
  BIG_P=2000; BIG_N=44000; TL_P=1000; TL_N=100000; PINGPONG_MS=${BENCH_PINGPONG_MS:-100}; STARTUPS=5
else
  SPAWN_N=1000; SYSCALL_N=200000; POOL_N=8; PROBE_N=200; RUNS=${BENCH_RUNS:-7}; SHORT_RUNS=${BENCH_RUNS:-21}; READER_RUNS=${BENCH_READER_RUNS:-3}
  BIG_P=50000; BIG_N=1100000; TL_P=10000; TL_N=1000000; PINGPONG_MS=${BENCH_PINGPONG_MS:-3000}; STARTUPS=21
fi
WORKLOADS=${BENCH_WORKLOADS:-"spawn syscall pool probe startup readers"}
GAP=${BENCH_GAP:-0.15}

if [ -z "${EPOCHREALTIME:-}" ]; then
  echo "bench.sh: needs bash 5 (EPOCHREALTIME)" >&2
  exit 1
fi
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
tmp=$(mktemp -d /tmp/proctrace-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
warn() { echo "bench.sh: $*" >&2; }
status=0
has() { case " $WORKLOADS " in *" $1 "*) return 0 ;; esac; return 1; }

workload_cmd() {  # name -> the command words, one per line
  case $1 in
    spawn) printf '%s\n' /bin/sh "$W/spawn_loop.sh" "$SPAWN_N" ;;
    syscall) printf '%s\n' "$W/bin/syscall_loop" "$SYSCALL_N" ;;
    pool) printf '%s\n' "$PY" "$W/pool_bench.py" "$POOL_N" ;;
    probe) printf '%s\n' /bin/sh "$W/path_probe.sh" "$PROBE_N" ;;
    startup) printf '%s\n' /bin/true ;;
    *) return 1 ;;
  esac
}
describe() {
  case $1 in
    spawn) echo "$SPAWN_N × \`/bin/true\` from sh" ;;
    syscall) echo "$SYSCALL_N \`write\` calls, no forks" ;;
    pool) echo "Pool($POOL_N), a fork per task" ;;
    probe) echo "$PROBE_N \`env true\` through a 4-directory PATH (3 failed execs each)" ;;
  esac
}
aim() {
  case $1 in
    spawn) echo "≤ 1.5x and faster than strace" ;;
    syscall) echo "≤ 1.15x and faster than strace" ;;
    pool) echo "≤ 1.3x, faster than strace" ;;
    probe) echo "(what recording failed execs costs)" ;;
  esac
}

# Variants: prefix words, one per line; the workload's words follow.
VARIANTS=(untraced states none strace)
prefix() {
  case $1 in
    untraced) ;;
    states) printf '%s\n' "$BIN" record -o "$tmp/$1.jsonl" -- ;;
    none) printf '%s\n' "$BIN" record --states none -o "$tmp/$1.jsonl" -- ;;
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
ratio() {  # a b -> a/b as 1.23x, or n/a
  if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; else echo "n/a"; fi
}
secs() {  # seconds -> "0.123 s" / "12.3 s"
  if [ -z "$1" ]; then echo "n/a"; return; fi
  awk -v s="$1" 'BEGIN { if (s < 10) printf "%.3f s", s; else printf "%.1f s", s }'
}
msec() { if [ -n "$1" ]; then awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; else echo "n/a"; fi; }

# Which recorders can run at all?
declare -A usable
usable[untraced]=1
if [ ! -x "$BIN" ]; then
  warn "$BIN is not an executable: proctrace cells will be n/a (build it with 'make release')"
  usable[states]=0; usable[none]=0; status=2
else
  for v in states none; do
    if run_timed "$v" /bin/true >/dev/null && tail -n 1 "$tmp/$v.jsonl" | grep -q '"type" *: *"end"'; then
      usable[$v]=1
    else
      warn "$v: '$(prefix "$v" | tr '\n' ' ')/bin/true' failed: $(head -n 1 "$tmp/err.$v")"
      usable[$v]=0; status=2
    fi
  done
  if [ "${usable[states]}" = 1 ] && ! head -n 1 "$tmp/states.jsonl" | grep -q '"states" *: *"sched"'; then
    warn "the default recording did not get scheduler states here (not root?): the 'default' column is not what the issue measures"
  fi
fi
if command -v strace >/dev/null && strace -f --seccomp-bpf -e trace=process -o /dev/null /bin/true 2>"$tmp/err.strace"; then
  usable[strace]=1
else
  warn "strace unusable: $(head -n 1 "$tmp/err.strace" 2>/dev/null) (install it: scripts/install-deps.sh)"
  usable[strace]=0; status=2
fi

declare -A med rounds
for wl in spawn syscall pool probe; do
  has "$wl" || continue
  mapfile -t cmd < <(workload_cmd "$wl")
  if [ "$wl" = syscall ] && [ ! -x "$W/bin/syscall_loop" ]; then
    warn "$W/bin/syscall_loop is missing: run 'make workloads'"; exit 1
  fi
  n=$SHORT_RUNS; { [ "$wl" = spawn ] || [ "$wl" = probe ]; } && n=$RUNS
  rounds[$wl]=$n
  echo "== $wl: $(describe "$wl"), $n rounds" >&2
  # warm-up (page cache, Python bytecode), also checks that the workload works
  if ! run_timed untraced "${cmd[@]}" >/dev/null; then
    warn "$wl fails untraced: $(head -n 1 "$tmp/err.untraced")"; exit 1
  fi
  declare -A times=()
  for ((r = 0; r < n; r++)); do
    for ((k = 0; k < ${#VARIANTS[@]}; k++)); do
      v=${VARIANTS[$(((k + r) % ${#VARIANTS[@]}))]}
      [ "${usable[$v]}" = 1 ] || continue
      [ "${times[$v]:-}" = fail ] && continue
      sleep "$GAP"
      if t=$(run_timed "$v" "${cmd[@]}"); then
        times[$v]+="$t "
      else
        warn "$wl/$v run $((r + 1)) failed, not measuring it further: $(head -n 1 "$tmp/err.$v")"
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
    else
      med[$wl.$v]=""; status=2
    fi
  done
  unset times
done

# Start-up: each variant STARTUPS times in a row, with no pause; the blocks alternate.
if has startup; then
  echo "== startup: /bin/true, $STARTUPS back to back per block" >&2
  declare -A st=()
  for block in 1 2 3; do
    for v in untraced states strace; do
      [ "${usable[$v]}" = 1 ] || continue
      for ((i = 0; i < STARTUPS; i++)); do
        if t=$(run_timed "$v" /bin/true); then st[$v]+="$t "; fi
      done
    done
  done
  for v in untraced states strace; do med[startup.$v]=$(tr ' ' '\n' <<<"${st[$v]:-}" | grep . | median); done
  unset st
fi

# Readers: the job's time and peak RSS (median of READER_RUNS) against validate's time.
declare -A rtime rrss rnote
timed_job() {  # KEY CMD... : runs READER_RUNS times; median seconds and peak RSS (MB) in rtime/rrss
  local key=$1; shift
  local ts="" rss="" i
  for ((i = 0; i < READER_RUNS; i++)); do
    rm -rf "$tmp/out"; mkdir -p "$tmp/out"
    if /usr/bin/time -f '%e %M' -o "$tmp/time" "$@" >/dev/null 2>"$tmp/err.job"; then
      ts+="$(cut -d' ' -f1 "$tmp/time") "; rss+="$(cut -d' ' -f2 "$tmp/time") "
    else
      warn "$key failed: $(grep -v '^Command exited' "$tmp/err.job" | head -n 1)"; status=2; rtime[$key]=""; rrss[$key]=""; return
    fi
  done
  rtime[$key]=$(tr ' ' '\n' <<<"$ts" | grep . | median)
  rrss[$key]=$(tr ' ' '\n' <<<"$rss" | grep . | median | awk '{ printf "%.0f", $1 / 1024 }')
}
if has readers && [ -x "$BIN" ] && [ -x /usr/bin/time ]; then
  echo "== readers: generating traces ($BIG_P processes / $BIG_N events; $TL_P / $TL_N; ping-pong $PINGPONG_MS ms)" >&2
  $PY scripts/gen-trace.py -p "$BIG_P" -n "$BIG_N" -o "$tmp/big.jsonl" 2>/dev/null
  $PY scripts/gen-trace.py -p "$TL_P" -n "$TL_N" -o "$tmp/tl.jsonl" 2>/dev/null
  # A real flood of state events; a larger ring so that the kernel keeps them all.
  PROCTRACE_SCHED_BUFFER_KB=65536 "$BIN" record -o "$tmp/pp.jsonl" -- "$W/bin/pingpong" 2 "$PINGPONG_MS" >/dev/null 2>"$tmp/err.pp" \
    || warn "recording the ping-pong failed: $(head -n 1 "$tmp/err.pp")"
  pp_states=$(grep -c '"type":"state"' "$tmp/pp.jsonl" 2>/dev/null || true)
  pp_lost=$(tail -n 1 "$tmp/pp.jsonl" 2>/dev/null | sed -n 's/.*"lost":\([0-9]*\).*/\1/p')
  for tr in big tl pp; do
    echo "   validate $tr" >&2
    timed_job "validate.$tr" "$BIN" validate "$tmp/$tr.jsonl"
  done
  echo "   stats, tree, perfetto ($BIG_P processes)" >&2
  timed_job stats "$BIN" stats "$tmp/big.jsonl"
  timed_job tree "$BIN" render --tree -o "$tmp/out/" "$tmp/big.jsonl"
  timed_job perfetto "$BIN" export -o "$tmp/out/p.json" "$tmp/big.jsonl"
  echo "   timelines" >&2
  timed_job timeline.tl "$BIN" render --timeline -o "$tmp/out/" "$tmp/tl.jsonl"
  timed_job timeline.pp "$BIN" render --timeline -o "$tmp/out/" "$tmp/pp.jsonl"
  rnote[pp]="$(printf "%'d" "$pp_states") state events${pp_lost:+, lost $pp_lost}"
fi

# The table.
fmt_k() { awk -v n="$1" 'BEGIN { if (n >= 1000000) printf "%.1fM", n / 1e6; else if (n >= 1000) printf "%dk", n / 1000; else printf "%d", n }'; }
mode=full; [ "$QUICK" = 1 ] && mode="quick (smoke test: small sizes, numbers mean nothing)"
echo "proctrace bench, $mode: $(nproc) CPUs, Linux $(uname -r), $(date -u +%Y-%m-%d), load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after; medians; recorder: interleaved rounds"
echo
echo "| workload | untraced | proctrace (default) | strace \`--seccomp-bpf\` | proctrace ÷ strace | aim |"
echo "|---|---|---|---|---|---|"
for wl in spawn syscall pool probe; do
  has "$wl" || continue
  u=${med[$wl.untraced]}; s=${med[$wl.states]}; x=${med[$wl.strace]}
  echo "| $(describe "$wl") (${rounds[$wl]} rounds) | $(secs "$u") | $(ratio "$s" "$u") | $(ratio "$x" "$u") | $(ratio "$s" "$x") | $(aim "$wl") |"
done
if has spawn; then
  echo "| states' own cost (default ÷ \`--states none\`, spawn loop) | | $(ratio "${med[spawn.states]}" "${med[spawn.none]}") | | | ≤ 1.10x |"
fi
if has startup; then
  u=${med[startup.untraced]}
  pd=""; sd=""
  [ -n "$u" ] && [ -n "${med[startup.states]}" ] && pd=$(awk -v a="${med[startup.states]}" -v b="$u" 'BEGIN { print a - b }')
  [ -n "$u" ] && [ -n "${med[startup.strace]}" ] && sd=$(awk -v a="${med[startup.strace]}" -v b="$u" 'BEGIN { print a - b }')
  echo "| start-up, back to back (\`/bin/true\` − untraced $(msec "$u")) | | $(msec "$pd") | $(msec "$sd") | | ≤ 10 ms |"
fi
if has readers && [ -n "${rtime[validate.big]+x}" ]; then
  echo
  echo "| job | time (peak RSS) | validate of the same trace | ÷ validate | aim |"
  echo "|---|---|---|---|---|"
  big="$(fmt_k "$BIG_P") processes / $(fmt_k "$BIG_N") events"
  row() {  # label key trace aim
    local t=${rtime[$2]:-} v=${rtime[validate.$3]:-}
    local cell="n/a"; [ -n "$t" ] && cell="$(secs "$t") (${rrss[$2]} MB)"
    echo "| $1 | $cell | $(secs "$v") | $(ratio "$t" "$v") | $4 |"
  }
  row "\`stats\`, $big" stats big "≤ 3x validate"
  row "\`render --tree\`, $big" tree big "≤ 15 s"
  row "\`render --timeline\`, $(fmt_k "$TL_P") processes / $(fmt_k "$TL_N") events" timeline.tl tl "≤ 3 s, ≤ 400 MB"
  row "\`render --timeline\`, two pipe ping-pong pairs ($PINGPONG_MS ms recorded: ${rnote[pp]:-?})" timeline.pp pp "≤ 10 s, ≤ 1 GB"
  row "\`export --format perfetto\`, $big" perfetto big "≤ 2 s"
fi
exit $status
