#!/usr/bin/env bash
# Builds the XML scanner benchmark in release (in the workspace's target folder) and runs it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
[ -e "$here/Cargo.lock" ] || cp "$root/Cargo.lock" "$here/Cargo.lock"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" \
  cargo run --release --manifest-path "$here/Cargo.toml" -- "$root" "$@"
