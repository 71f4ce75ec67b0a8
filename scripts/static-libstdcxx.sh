#!/bin/sh
# Links gcc's static C++ runtime, alone, into .build/static-libstdc++/ (see Package.swift and
# the Makefile's deps target): the linker looks through -L directories in order, and in each
# for libstdc++.so before libstdc++.a, so a directory holding only the archive makes the
# Swift runtime's -lstdc++ static. Idempotent; does nothing if gcc has no libstdc++.a (then
# proctrace links libstdc++.so as before).
set -eu
cd "$(dirname "$0")/.."
lib=$(${CC:-cc} -print-file-name=libstdc++.a 2>/dev/null || true)
dir=.build/static-libstdc++
case "$lib" in
  /*) [ -f "$lib" ] || lib= ;;
  *) lib= ;;
esac
if [ -z "$lib" ]; then
  rm -f "$dir/libstdc++.a"
  exit 0
fi
mkdir -p "$dir"
[ "$(readlink "$dir/libstdc++.a" 2>/dev/null)" = "$lib" ] || ln -sfn "$lib" "$dir/libstdc++.a"
