//! reportd: the server (`reportd`) and its configuration manager (`reportctl`).
//!
//! Both binaries are thin: `bin/reportd.rs` parses flags and calls [`serve`] (or
//! [`quickstart`]); `bin/reportctl.rs` parses flags and calls [`ctl`]. This crate wires the
//! libraries together; it owns no file format and no policy beyond exit codes and output.

pub mod ctl;
pub mod quickstart;
pub mod serve;
