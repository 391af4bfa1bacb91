//! The edit model every front end shares: load, apply changes, preview (diff and lint), save.

mod change;
mod session;

pub use change::{Change, Pick, Values, parse_batch, read_batch};
pub use session::{Check, EditSession};
