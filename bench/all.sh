#!/usr/bin/env bash
# Regenerates every performance figure in one go, one after the other on a quiet machine:
#   docs/performance.md     real-size CLI runs (plain, encrypted), one edit at 100-10,000
#                           entries against xmlstarlet (bench/run.sh), GUI frame times (bench/gui.sh)
#   docs/performance-db.md  database push time and round trips (bench/db.sh)
# Needs scripts/setup.sh (hyperfine, xmlstarlet, GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
bench/run.sh --runs "${RUNS:-30}"
bench/gui.sh
bench/db.sh
echo "bench/all.sh: done in $((SECONDS - start))s"
