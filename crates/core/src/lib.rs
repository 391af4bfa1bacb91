//! k2cse-core: the product behind the `k2cse` command line and desktop editor.
//!
//! It reads and edits the `connectionStrings` section of K2's `K2HostServer.exe.config` (and
//! any .NET config file) without touching a byte it was not asked to change:
//!
//! - [`connstr`]: .NET connection strings, parsed exactly as `DbConnectionStringBuilder` does,
//!   with spans so that one value can be rewritten in place;
//! - [`entry`]: entry names (`Type:Entity`), the kinds K2 knows and their keys;
//! - [`config`]: the config file, its encoding and the section, edited by byte splicing;
//! - [`lint`]: rules that catch what would break K2's mail;
//! - [`edit`]: the load → change → preview → save model shared by every front end;
//! - [`save`]: atomic writes with backups and lost-update protection;
//! - [`backup`]: backups of the file and the database rows, verification, restore;
//! - [`db`]: the K2 database's configuration tokens, over TDS, and their drift from the file;
//! - [`credentials`]: secrets kept in the OS keyring;
//! - [`policy`]: backup folder, retention and encryption, and the secret lookup chain
//!   (environment → keyring → the front end's question), the same for every front end;
//! - [`report`]: the JSON documents front ends emit, one typed struct per schema.
//!
//! The crate prints nothing and owns no runtime; it returns data and [`Error`]s.

pub mod backup;
pub mod bounded;
pub mod cleanup;
pub mod config;
pub mod connstr;
pub mod credentials;
pub mod db;
pub mod diff;
pub mod edit;
pub mod entry;
mod error;
mod filelock;
pub mod lint;
pub mod platform;
pub mod policy;
pub mod protect;
pub mod report;
pub mod sample;
pub mod save;
pub mod secret;
pub mod xml;

pub use config::Document;
pub use edit::{Change, EditSession};
pub use error::{Error, Location, Result};
