#!/usr/bin/env bash
# Runs a cargo build command with clippy linting the workspace's own crates as they compile
# (clippy-driver as rustc's workspace wrapper, warnings denied), so one compilation gives both
# the lint verdict and the artefacts the next steps run. `cargo clippy` itself only checks
# (no code generation), so CI would compile the whole dependency graph twice: once to lint
# it, once to test it.
#   scripts/lint-build.sh cargo test --workspace --all-targets --no-run
#   scripts/lint-build.sh scripts/release-build.sh x86_64-pc-windows-gnu
# Cargo does not count the wrapper in its freshness check: crates already built without it are
# taken as fresh and not linted. CI starts from a clean clone, so everything is linted there;
# on a warm target folder use `cargo clippy --workspace --all-targets -- -D warnings`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! driver=$(rustup which clippy-driver 2>/dev/null); then
  driver=$(command -v clippy-driver) || {
    echo "lint-build: clippy-driver is missing (rustup component add clippy)" >&2
    exit 1
  }
fi
# The form cargo-clippy hands its arguments to clippy-driver in (`cargo clippy -- -D warnings`).
export RUSTC_WORKSPACE_WRAPPER=$driver
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
exec "$@"
