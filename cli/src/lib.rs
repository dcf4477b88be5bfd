//! The `rapport` command as a library: the binary in `main.rs` is a thin shell around it, and
//! the fuzz targets under `fuzz/` reach the bridge and the native host through it.

pub mod accounts;
pub mod args;
pub mod bridge;
pub mod choice;
pub mod commands;
pub mod context;
pub mod demo;
pub mod doctor;
pub mod fmt;
pub mod import_cmd;
pub mod native_host;
pub mod paths;
pub mod print;
pub mod stop;
pub mod ui;
pub mod views;
