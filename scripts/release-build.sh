#!/usr/bin/env bash
# The release programs (k2cse, k2cse-gui and the Ansible module), built once for a platform.
# Every script that needs them (gui-smoke/screenshot, wine-tests, package) calls this with the
# same package set, so cargo resolves the same features and reuses one set of artefacts instead
# of building the dependency graph again per script.
#   scripts/release-build.sh [TARGET] [CARGO ARGS...]     TARGET: host (default) or a triple
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:-host}
shift || true
args=(build --release --locked -p k2cse -p k2cse-gui -p k2cse-ansible)
if [ "$target" != host ]; then
  args+=(--target "$target")
fi
cargo "${args[@]}" "$@"
