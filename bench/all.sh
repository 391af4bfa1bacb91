#!/usr/bin/env bash
# Regenerates every performance figure in one go and prints every goal of issue #15 with its
# ratio and PASS/FAIL (the last lines of the output):
#   docs/performance-db.md  database push time and round trips (bench/db.sh)
#   docs/performance.md     GUI open/undo/frame times (bench/gui.sh, goal 6), then every other
#                           goal against its anchor, paired in the same run (bench/run.sh):
#                           list/lint vs xmlstarlet sel, set vs xmlstarlet ed -L (+ fsyncs),
#                           encrypted vs plain set, db status vs FreeTDS tsql, apply of
#                           1/100/2,000 changes, per-entry cost at 1,000/10,000/100,000
# Needs scripts/setup.sh (xmlstarlet, FreeTDS tsql, strace, GNU time). RUNS sets the paired
# rounds per comparison (default 15).
set -euo pipefail
cd "$(dirname "$0")/.."
start=$SECONDS
# In this order: run.sh keeps gui.sh's section and reads its goal-6 figures. A failing step
# does not stop the others: every goal is still printed (a goal whose step failed says
# NOT MEASURED instead of showing the figures of an older run), and the exit status says so.
failed=()
bench/db.sh || failed+=(bench/db.sh)
rm -f bench/out/gui-frames.json
bench/gui.sh || failed+=(bench/gui.sh)
bench/run.sh --runs "${RUNS:-15}" || failed+=(bench/run.sh)
echo "bench/all.sh: done in $((SECONDS - start))s"
if ((${#failed[@]})); then
    echo "bench/all.sh: FAILED: ${failed[*]}" >&2
    exit 1
fi
