//! Fixture files.
