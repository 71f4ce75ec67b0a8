#!/usr/bin/env bash
# The source's own rules, checked by `make test` before the suite runs: no line over 160
# characters in Sources/ (a reader sees a whole line without scrolling; issue 9), and no
# `import Foundation` there (one import links all of Foundation, its ICU data and
# CoreFoundation into the static binary: 36 MB -> 85 MB, ~1 ms more at every start; see
# docs/recorder.md, "What it costs"; tests may use it). Prints FILE:LINE: problem for each
# break and exits 1 if there is one.
set -euo pipefail
cd "$(dirname "$0")/.."
git ls-files -z -- 'Sources/*.swift' 'Sources/*.c' 'Sources/*.h' | python3 -c '
import sys
bad = 0
for path in sys.stdin.read().split("\0"):
    if not path:
        continue
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            width = len(line.rstrip("\n"))
            if width > 160:
                print(f"{path}:{n}: {width} characters (at most 160)")
                bad += 1
            if path.endswith(".swift") and line.split() in (["import", "Foundation"], ["@preconcurrency", "import", "Foundation"]):
                print(f"{path}:{n}: imports Foundation (links 49 MB into the binary, ~1 ms at every start)")
                bad += 1
if bad:
    print(f"check-source: {bad} problem(s)", file=sys.stderr)
sys.exit(1 if bad else 0)
'
