#!/usr/bin/env bash
# Usage: scripts/bench-readme.sh [TABLE] [README]
#
# Puts the table `scripts/bench.sh` printed (TABLE, default out/bench.md, as `make bench`
# leaves it; - for stdin) into README (default README.md), replacing what stands between the
# lines `<!-- bench:begin -->` and `<!-- bench:end -->`. Refuses a quick (smoke-test) table,
# a table without rows, or a README without exactly one pair of markers.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 1
table=${1:-out/bench.md}
readme=${2:-README.md}
if [ "$table" = - ]; then text=$(cat); else
  [ -r "$table" ] || { echo "bench-readme.sh: $table: cannot read it (run 'make bench' first)" >&2; exit 1; }
  text=$(cat "$table")
fi
grep -q '^| ' <<<"$text" || { echo "bench-readme.sh: $table: no table in it" >&2; exit 1; }
if grep -q '^proctrace bench, quick' <<<"$text"; then
  echo "bench-readme.sh: $table is a quick (smoke-test) run: its numbers mean nothing; run 'make bench'" >&2; exit 1
fi
begins=$(grep -c '^<!-- bench:begin -->$' "$readme" || true)
ends=$(grep -c '^<!-- bench:end -->$' "$readme" || true)
if [ "$begins" != 1 ] || [ "$ends" != 1 ]; then
  echo "$readme: needs exactly one '<!-- bench:begin -->' line and one '<!-- bench:end -->' line (found $begins and $ends)" >&2; exit 1
fi
out=$(mktemp "$readme.XXXXXX")
trap 'rm -f "$out"' EXIT
awk -v table="$text" '
  /^<!-- bench:begin -->$/ { print; print table; skip = 1; next }
  /^<!-- bench:end -->$/ { skip = 0 }
  !skip { print }
' "$readme" >"$out"
chmod --reference="$readme" "$out"
mv "$out" "$readme"
trap - EXIT
echo "bench-readme.sh: $readme: performance table replaced from $table" >&2
