//! XML plumbing that keeps byte positions: decoding files, scanning them, attribute values.

pub mod attr;
pub mod lexer;
pub mod lines;
pub mod scan;
pub mod source;
