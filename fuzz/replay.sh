#!/usr/bin/env bash
# CI: replays every seed and found input of every fuzz target (a regression check), then runs
# each target for SECONDS more (default 30). Fails on any crash, hang or leak.
#   fuzz/replay.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-30}
targets=(connstr config_edit xmlenc rsa_key backup tds)
cargo +nightly fuzz build >/dev/null
# New inputs go to a scratch folder (libFuzzer writes to the first corpus folder), so the
# committed corpora stay as they are.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
  mkdir -p "$scratch/$t"
  start=$(date +%s)
  # -runs=0 executes every corpus input once and stops.
  cargo +nightly fuzz run "$t" "corpus/$t" -- -runs=0 -timeout=10 >/dev/null 2>"logs-$t.replay" \
    || { cat "logs-$t.replay"; exit 1; }
  cargo +nightly fuzz run "$t" "$scratch/$t" "corpus/$t" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    >/dev/null 2>"logs-$t.run" || { tail -40 "logs-$t.run"; exit 1; }
  echo "$t: corpus replayed, ${seconds}s of fuzzing clean ($(( $(date +%s) - start ))s)"
  rm -f "logs-$t.replay" "logs-$t.run"
done
