#!/usr/bin/env bash
# Regenerates docs/performance.md (see bench/run.py for what is measured).
# Needs: scripts/setup.sh (xmlstarlet, FreeTDS tsql, strace, GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 bench/run.py "$@"
