#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600) each, JOBS at a time (default 2), and
# prints each run's libFuzzer summary. New corpus entries are kept in fuzz/corpus/<target>.
#   fuzz/run.sh [SECONDS] [JOBS]
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
jobs=${2:-2}
targets=(connstr config_edit xmlenc rsa_key backup tds)
mkdir -p logs
cargo +nightly fuzz build >/dev/null
run() {
  local t=$1
  cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 >"logs/$t.log" 2>&1 && echo "$t: ok" || { echo "$t: FAILED (see fuzz/logs/$t.log)"; return 1; }
}
export -f run
export seconds
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run {}'
for t in "${targets[@]}"; do
  printf '%-12s ' "$t"
  grep -E '^stat::number_of_executed_units|^stat::average_exec_per_sec|^stat::new_units_added|^stat::peak_rss_mb' "logs/$t.log" \
    | tr '\n' ' '
  echo
done
