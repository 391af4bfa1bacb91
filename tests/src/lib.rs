//! Shared helpers for the end-to-end tests: fixtures, the `k2cse` binary, and the .NET
//! oracles that run under Mono.
//!
//! The oracles are the point of several tests: they check k2cse against an implementation no
//! one here wrote. When Mono is missing these tests fail with an explanation; they never pass
//! silently. `scripts/setup.sh` installs it.
// Test support code: a panic with a clear message is how a helper reports failure.
#![allow(clippy::missing_panics_doc, clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;
pub mod mono;
pub mod sim;
pub mod wine;
