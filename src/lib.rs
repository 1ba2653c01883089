//! klaxon: an on-call and incident-response engine with a terminal console, in one crate.

pub mod api;
pub mod cli;
pub mod client;
pub mod config;
pub mod domain;
pub mod engine;
pub mod ingest;
pub mod notify;
pub mod protocol;
pub mod search;
pub mod store;
pub mod tui;
