#!/usr/bin/env bash
# Builds with clippy linting the workspace's own crates as they compile (clippy-driver as
# rustc's workspace wrapper, warnings denied), so one compilation gives both the lint verdict
# and the artefacts the next steps run. `cargo clippy` itself only checks (no code
# generation), so CI would compile the whole dependency graph twice: once to lint it, once to
# test it.
#   scripts/lint-build.sh cargo test --workspace --all-targets --no-run    (runs the command)
#   source scripts/lint-build.sh                                           (sets the variables)
# Cargo counts the workspace wrapper in the fingerprints of workspace crates: a later cargo
# command without these variables compiles our crates again (dependencies are reused), so
# .ci/run sources this once and every step runs under it. Dependencies are compiled by plain
# rustc, as in any build. Crates already built without the wrapper count as changed and are
# linted; on a warm target folder `cargo clippy --workspace --all-targets -- -D warnings` is
# the quicker check.
if ! K2CSE_CLIPPY_DRIVER=$(rustup which clippy-driver 2>/dev/null); then
  K2CSE_CLIPPY_DRIVER=$(command -v clippy-driver) || {
    echo "lint-build: clippy-driver is missing (rustup component add clippy)" >&2
    # Sourced by a script: the script stops (.ci/run runs with set -e).
    return 1 2>/dev/null || exit 1
  }
fi
# The form cargo-clippy hands its arguments to clippy-driver in (`cargo clippy -- -D warnings`).
export RUSTC_WORKSPACE_WRAPPER=$K2CSE_CLIPPY_DRIVER
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"
unset K2CSE_CLIPPY_DRIVER
# Sourced: the variables stay set in the caller's shell.
if (return 0 2>/dev/null); then
  return 0
fi
set -euo pipefail
exec "$@"
