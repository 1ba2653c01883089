//! How the CLI (and later the TUI) reaches an engine. `http` is the REST client.

pub mod http;
