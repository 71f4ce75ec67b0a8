#!/usr/bin/env bash
# Installs the Debian packages proctrace needs, only those missing. Idempotent.
set -euo pipefail
need=(libelf-dev libgraphviz-dev graphviz python3-joblib python3-jsonschema pkg-config strace hyperfine tmux chromium time)
missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "installing: ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/proctrace-apt.log 2>&1 || { cat /tmp/proctrace-apt.log >&2; exit 1; }
