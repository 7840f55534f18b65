#!/usr/bin/env bash
# Quick start: install dependencies, build (TypeScript + native addon), run mccd on the embedded
# default (SMB front door on 127.0.0.1:4450; single-node mode unless a ctdbd socket answers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install.sh
exec node dist/cli/mccd.js "$@"
