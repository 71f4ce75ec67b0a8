#!/usr/bin/env bash
# Usage: scripts/gallery.sh [-o DIR] [--render-only] [BIN] [NAME...]   (BIN defaults to .build/release/proctrace)
#
# Records each gallery workload into DIR/traces/NAME.jsonl with `BIN record -o
# DIR/traces/NAME.jsonl -- CMD` (Python ones run by /usr/bin/python3, C ones from
# traces/workloads/bin/NAME, a directory with a Makefile by `make -s -j2 -C DIR OUT=TMP`), then
# renders it with `BIN render DIR/traces/NAME.jsonl -o DIR/render/` (NAME.tree.svg,
# NAME.timeline.svg) and `-f html` (NAME.html, the viewer). With NAMEs, only those.
# DIR defaults to the repository itself: `make gallery` regenerates the committed traces/ and
# render/; `make demo` passes -o out/demo, so a newcomer's first run changes no tracked file.
# --render-only records nothing: it re-renders DIR/render/ from the traces already in
# DIR/traces/ (`make gallery-render`, after a change to a reader or the renderer: the
# committed pictures are then what the committed traces give, which GalleryCurrentTests checks).
# A failing record is an error (the script goes on with the others and exits 1 at the end);
# a failing render is only a warning (render may not exist yet).
# The workloads' own output is discarded; their stderr is shown when a record fails.
set -uo pipefail

cd "$(dirname "$0")/.." || exit 1
OUT=.
if [ "${1:-}" = -o ]; then
  [ $# -ge 2 ] || { echo "gallery.sh: -o needs a directory" >&2; exit 2; }
  OUT=${2%/}; shift 2
fi
RECORD=1
if [ "${1:-}" = --render-only ]; then RECORD=0; shift; fi
BIN=${1:-.build/release/proctrace}
[ $# -gt 0 ] && shift
PY=/usr/bin/python3
W=traces/workloads

# The gallery: every scenario workload. Not here: the bench workloads (spawn_loop.sh,
# syscall_loop, pool_bench.py: scripts/bench.sh; seccomp_allow: scripts/syscall-floor.sh), exit_code (a helper for tests of
# proctrace's own exit status), pidns, nskill, pid_reuse, bigargv and pingpong (run by the
# tests: pidns and pid_reuse under unshare, nskill makes a pid namespace, bigargv makes a 1.3 MB
# trace, pingpong a flood of tens of thousands of lines).
GALLERY=(
  fork_basic fork_vars getpid exit_status zombie wait_status double_fork orphan
  sigchld_ignore mp_process mp_pool mp_pipe mp_queue mp_value_array mp_semaphore
  joblib_parallel
  vfork_exec clone_parent subreaper thread_exec stop_continue killed deep_chain burst
  waitid sa_nocldwait setsid threads daemon eintr_wait busy_pair make_j
)

if [ ! -x "$BIN" ]; then
  echo "gallery.sh: $BIN is not an executable (build it with 'make release')" >&2
  exit 1
fi

names=("$@")
[ ${#names[@]} -eq 0 ] && names=("${GALLERY[@]}")

tmp=$(mktemp -d /tmp/proctrace-gallery.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$OUT/traces" "$OUT/render" || exit 1

recorded=0 rendered=0
failed=() unrendered=()
for name in "${names[@]}"; do
  out=$OUT/traces/$name.jsonl
  if [ $RECORD = 0 ]; then
    if [ ! -f "$out" ]; then
      echo "gallery.sh: $out is missing: record it first (scripts/gallery.sh without --render-only)" >&2
      failed+=("$name"); continue
    fi
    printf '%-16s' "$name" >&2
  else
    if [ -f "$W/$name.py" ]; then
      cmd=("$PY" "$W/$name.py")
    elif [ -f "$W/$name/Makefile" ]; then
      mkdir -p "$tmp/$name"
      cmd=(make -s -j2 -C "$W/$name" "OUT=$tmp/$name")
    elif [ -f "$W/$name.c" ]; then
      if [ ! -x "$W/bin/$name" ]; then
        echo "gallery.sh: $W/bin/$name is missing: run 'make workloads'" >&2
        failed+=("$name"); continue
      fi
      cmd=("$W/bin/$name")
    else
      echo "gallery.sh: no workload named $name in $W" >&2
      failed+=("$name"); continue
    fi
    printf '%-16s record' "$name" >&2
    rm -f "$out"  # record refuses to overwrite; the gallery is always re-recorded
    if "$BIN" record -o "$out" -- "${cmd[@]}" >/dev/null 2>"$tmp/err" </dev/null; then
      recorded=$((recorded + 1))
      printf ' ok (%s lines)' "$(wc -l <"$out")" >&2
    else
      rc=$?
      echo " FAILED (status $rc): $BIN record -o $out -- ${cmd[*]}" >&2
      sed 's/^/    /' "$tmp/err" | tail -n 20 >&2
      failed+=("$name")
      continue
    fi
  fi
  if "$BIN" render "$out" -o "$OUT/render/" >/dev/null 2>"$tmp/err" </dev/null \
     && "$BIN" render "$out" -f html -o "$OUT/render/" >/dev/null 2>"$tmp/err" </dev/null; then
    rendered=$((rendered + 1))
    echo ", rendered" >&2
  else
    echo ", render failed (warning): $(head -n 1 "$tmp/err")" >&2
    unrendered+=("$name")
  fi
done

echo "gallery: recorded $recorded of ${#names[@]} into $OUT/traces/, rendered $rendered (SVG pictures and HTML viewer) into $OUT/render/" >&2
[ ${#unrendered[@]} -gt 0 ] && echo "gallery: warning: render failed for: ${unrendered[*]}" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "gallery: $([ $RECORD = 1 ] && echo record || echo render) failed for: ${failed[*]}" >&2
  exit 1
fi
exit 0
