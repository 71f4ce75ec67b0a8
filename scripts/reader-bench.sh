#!/bin/sh
# Readers and pictures on big traces (issue 13's readers table, issue 12's picture sizes).
#
#   scripts/reader-bench.sh [-n REPEATS] [-d DIR] PROCTRACE
#
# Makes the traces in DIR (default: a fresh temporary directory), once: a synthetic 50,000-
# process / 1.1M-event trace (scripts/gen-trace.py), a synthetic 10,000-process build
# (scripts/gen-render-bench.py), make bench's 10,000-process / 1M-event timeline trace
# (gen-trace.py's default), and, recorded for real with PROCTRACE, two `xargs -P 8` fans
# (600 and 1,200 `sh -c "sleep 0.001; echo N"`, each sh forking its sleep: 1,203 and 2,403
# processes) and two pipe ping-pong pairs for 4 s (millions of state events). Then runs each
# job REPEATS times (default 3) and prints the best wall time, the CPU time (user + sys) of
# that run, the peak RSS and the output's size, with each reader's time against `validate`
# of the same trace. On a shared machine wall time is noise: read the CPU column.
set -eu
repeats=3
dir=""
while [ $# -gt 1 ]; do
    case "$1" in
        -n) repeats=$2; shift 2 ;;
        -d) dir=$2; shift 2 ;;
        *) break ;;
    esac
done
[ $# -eq 1 ] || { echo "usage: $0 [-n REPEATS] [-d DIR] PROCTRACE" >&2; exit 2; }
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")/.." && pwd)
[ -x /usr/bin/time ] || { echo "$0: needs /usr/bin/time (apt-get install time; scripts/install-deps.sh does)" >&2; exit 2; }
[ -n "$dir" ] || dir=$(mktemp -d /tmp/proctrace-reader-bench.XXXXXX)
mkdir -p "$dir"
cd "$dir"

[ -s big50k.jsonl ] || python3 "$here/scripts/gen-trace.py" -n 1100000 -p 50000 -o big50k.jsonl >/dev/null
[ -s build10k.jsonl ] || python3 "$here/scripts/gen-render-bench.py" 10000 build > build10k.jsonl
# make bench's timeline trace: 10,000 processes, 1M events (gen-trace.py's default), ~90 state
# changes per process where build10k has ~5: the same lanes, many more mixed bars.
[ -s tl10k.jsonl ] || python3 "$here/scripts/gen-trace.py" -o tl10k.jsonl >/dev/null
fan() {
    [ -s "fan$1.jsonl" ] || "$bin" record -o "fan$1.jsonl" -- sh -c "seq $1 | xargs -P 8 -I{} sh -c 'sleep 0.001; echo {} >/dev/null'" >/dev/null 2>&1
}
fan 600
fan 1200
[ -s pingpong.jsonl ] || "$bin" record -o pingpong.jsonl -- "$here/traces/workloads/bin/pingpong" 2 4000 >/dev/null 2>&1 || true

# best NAME TRACE ARGS...: runs `proctrace ARGS` REPEATS times, keeps the fastest run.
best() {
    name=$1; shift
    bestw=""; line=""
    i=0
    while [ $i -lt "$repeats" ]; do
        /usr/bin/time -f "%e %U %S %M" -o time.out "$bin" "$@" >/dev/null 2>err.out || { echo "$name: failed: $(tail -1 err.out)" >&2; return 0; }
        read -r w u s m < time.out
        if [ -z "$bestw" ] || awk "BEGIN{exit !($w < $bestw)}"; then bestw=$w; line="$w $u $s $m"; fi
        i=$((i + 1))
    done
    echo "$name $line"
}
size() { [ -f "$1" ] && stat -c %s "$1" || echo 0; }

results=results.txt
: > "$results"
for t in big50k build10k tl10k fan600 fan1200 pingpong; do
    [ -s "$t.jsonl" ] || continue
    lines=$(wc -l < "$t.jsonl")
    echo "$t lines $lines" >> "$results"
    best "$t validate" validate "$t.jsonl" >> "$results"
done
best "big50k stats" stats big50k.jsonl >> "$results"
best "big50k tree" render big50k.jsonl --tree -o big50k.tree.svg >> "$results"
best "big50k perfetto" export big50k.jsonl --format perfetto --force -o big50k.perfetto.json >> "$results"
best "build10k timeline" render build10k.jsonl --timeline -o build10k.timeline.svg >> "$results"
best "tl10k timeline" render tl10k.jsonl --timeline -o tl10k.timeline.svg >> "$results"
best "build10k tree" render build10k.jsonl --tree -o build10k.tree.svg >> "$results"
for f in 600 1200; do
    best "fan$f tree" render "fan$f.jsonl" --tree -o "fan$f.tree.svg" >> "$results"
    best "fan$f timeline" render "fan$f.jsonl" --timeline -o "fan$f.timeline.svg" >> "$results"
done
[ -s pingpong.jsonl ] && best "pingpong timeline" render pingpong.jsonl --timeline -o pingpong.timeline.svg >> "$results"

echo "Readers and pictures: $bin"
echo "(best of $repeats; traces in $dir; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| job | trace | wall | CPU (user+sys) | × validate (CPU) | peak RSS | output |"
echo "|---|---|---|---|---|---|---|"
awk -v dir="$dir" '
    $2 == "lines" { lines[$1] = $3; next }
    $2 == "validate" { vcpu[$1] = $4 + $5 }
    {
        job = $2; trace = $1; cpu = $4 + $5
        ratio = (job == "validate" || vcpu[trace] == 0) ? "" : sprintf("%.1fx", cpu / vcpu[trace])
        out = ""
        if (job == "tree" || job == "timeline") out = trace "." job ".svg"
        if (job == "perfetto") out = trace ".perfetto.json"
        sz = ""
        if (out != "") { cmd = "stat -c %s " dir "/" out " 2>/dev/null"; cmd | getline bytes; close(cmd)
                         sz = sprintf("%.1f MB", bytes / 1e6)
                         if (job != "perfetto") { cmd = "head -c 600 " dir "/" out " | grep -o \"width=\\\"[0-9]*pt\\\" height=\\\"[0-9]*pt\\\"\""
                                                  dims = ""; cmd | getline dims; close(cmd); gsub(/[a-z=\"]/, "", dims); sub(/ /, " × ", dims); if (dims != "") sz = sz ", " dims " pt" } }
        printf "| %s | %s (%s lines) | %.2f s | %.2f s | %s | %d MB | %s |\n", job, trace, lines[trace], $3, cpu, ratio, $6 / 1024, sz
    }' "$results"
