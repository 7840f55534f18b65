#!/usr/bin/env bash
# Runs every test tier: installs the Debian packages the real-peer tests use (root), installs and builds
# the project, then typecheck, lint, and all vitest projects (unit + property + peers).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/provision-test.sh
bash scripts/install.sh
npm run --silent typecheck
npm run --silent lint
npx vitest run "$@"
