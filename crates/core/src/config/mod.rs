//! .NET config files: finding, reading, editing and indexing the `connectionStrings` section.

mod apply;
#[cfg(test)]
mod batch_tests;
mod discover;
mod document;
mod file;
mod layout;
mod new_entry;
mod open;
mod protected;
#[cfg(test)]
mod protected_tests;
mod section;
#[cfg(test)]
mod tests;

pub use discover::{DEFAULT_FILE_NAMES, discover_config, k2_folder_from_image_path};
pub use document::{Document, Protection};
pub use file::{ConfigFile, MAX_CONFIG_BYTES};
pub use layout::Layout;
pub use open::{Opened, Unlock, open};
pub use section::{SectionNames, SectionNote, SectionView, Slot};
