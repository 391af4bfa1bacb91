#!/usr/bin/env bash
# Regenerates every performance figure in one go, one after the other on a quiet machine:
#   docs/performance.md     real-size CLI runs (plain, encrypted), one edit at 100-10,000
#                           entries against xmlstarlet, database push round trips (bench/run.sh),
#                           GUI frame times (bench/gui.sh)
#   docs/performance-db.md  database push time and round trips in detail (bench/db.sh)
# Needs scripts/setup.sh (hyperfine, xmlstarlet, GNU time).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
# In this order: run.sh keeps gui.sh's section and summarizes db.sh's results.
bench/db.sh
bench/gui.sh
bench/run.sh --runs "${RUNS:-30}"
echo "bench/all.sh: done in $((SECONDS - start))s"
