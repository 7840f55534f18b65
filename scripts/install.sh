#!/usr/bin/env bash
# Installs npm dependencies from the lockfile and builds everything. Needs node >= 20, g++, make, python3
# (node-gyp builds the native addon offline against the installed Node headers).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v g++ >/dev/null || ! command -v make >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ make python3 >/dev/null
  else
    echo "install: g++ and make are needed to build native/ (apt-get install g++ make python3)" >&2
    exit 1
  fi
fi
# `npm ci` installs exactly the lockfile and never rewrites it, so a fresh clone stays clean. The lockfile
# carries every platform's optional packages (biome, rollup), as npm 11 writes it; re-run when it changed.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
