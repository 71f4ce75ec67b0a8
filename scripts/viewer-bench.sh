#!/usr/bin/env bash
# Usage: scripts/viewer-bench.sh [BIN] [PROCESSES] [EVENTS]
# The HTML viewer at scale (issue 12): generates a trace of PROCESSES processes and EVENTS
# events (default 50,000 and 1,100,000) with scripts/gen-trace.py, renders it with
# `BIN render -f html`, and opens the page in headless Chromium (--dump-dom, which returns
# once the page's script has run: data-ready is checked). Prints the page size, the render's
# wall and CPU time and peak memory, and Chromium's wall time for the big page and for a small
# one (the zombie gallery trace): the difference is the time the big page needs to be ready.
# Targets: page <= 40 MB, render <= 20 s, ready <= 15 s.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/proctrace}
P=${2:-50000}
E=${3:-1100000}
tmp=$(mktemp -d /tmp/proctrace-viewer-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
python3 scripts/gen-trace.py -n "$E" -p "$P" -o "$tmp/big.jsonl" 2>/dev/null
trace_mb=$(awk -v b="$(stat -c %s "$tmp/big.jsonl")" 'BEGIN{printf "%.1f", b/1e6}')
/usr/bin/time -f '%e %U %S %M' -o "$tmp/time" "$BIN" render "$tmp/big.jsonl" -f html -o "$tmp/big.html" >/dev/null
read -r wall user sys rss <"$tmp/time"
page_mb=$(awk -v b="$(stat -c %s "$tmp/big.html")" 'BEGIN{printf "%.1f", b/1e6}')
chrome() {
  local t0 t1
  t0=$(date +%s.%N)
  chromium --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir="$tmp/profile" \
    --virtual-time-budget=60000 --window-size=1400,900 --dump-dom "file://$1#t=0.5" 2>/dev/null >"$tmp/dom"
  t1=$(date +%s.%N)
  grep -q 'data-ready="1"' "$tmp/dom" || { echo "viewer-bench: $1 never set data-ready" >&2; exit 1; }
  awk -v a="$t1" -v b="$t0" 'BEGIN{printf "%.1f", a-b}'
}
"$BIN" render traces/zombie.jsonl -f html -o "$tmp/small.html" >/dev/null
small=$(chrome "$tmp/small.html")
big=$(chrome "$tmp/big.html")
printf '| trace | page | render wall | render CPU | render peak RSS | Chromium wall: big page | small page | ready (difference) |\n'
printf '|---|---|---|---|---|---|---|---|\n'
printf '| %s processes, %s events, %s MB | %s MB | %s s | %s s | %d MB | %s s | %s s | %s s |\n' \
  "$P" "$E" "$trace_mb" "$page_mb" "$wall" "$(awk -v a="$user" -v b="$sys" 'BEGIN{print a+b}')" "$((rss / 1024))" \
  "$big" "$small" "$(awk -v a="$big" -v b="$small" 'BEGIN{printf "%.1f", a-b}')"
