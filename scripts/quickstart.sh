#!/usr/bin/env bash
# Quick start: install dependencies, build (TypeScript + native addon), run mccd on the embedded default
# (SMB front door on 127.0.0.1:4450; single-node mode unless a ctdbd socket answers) together with one
# reference worker (`mcc worker`), so NEGOTIATE requests are answered. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
node dist/cli/mccd.js "$@" &
mccd=$!
worker=""
cleanup() {
  [ -n "$worker" ] && kill "$worker" 2>/dev/null || true
  kill "$mccd" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM
socket=$(node -e "import('./dist/coordinator/config.js').then((m) => console.log(m.defaultRunPath('workers.sock')))")
for _ in $(seq 1 100); do
  [ -S "$socket" ] && break
  kill -0 "$mccd" 2>/dev/null || exit 1
  sleep 0.1
done
node dist/cli/mcc.js worker --worker-socket "$socket" &
worker=$!
wait "$mccd"
