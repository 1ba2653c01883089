//! The full-screen console: state (`state`), a pure `update` from messages to effects, views
//! that draw from `&State`, the keymap and themes as data, and the runtime (`app`) that owns
//! the terminal and carries out effects through a [`crate::client::Client`]. Depends on
//! client, protocol and domain types, ratatui and crossterm; never on the engine directly.

pub mod action;
pub mod app;
pub mod file_error;
pub mod filter;
pub mod keymap;
pub mod postmortem;
pub mod state;
pub mod terminal;
pub mod testing;
pub mod text;
pub mod theme;
pub mod update;
pub mod view;

pub use action::Action;
pub use app::{run, Options};
pub use state::State;
pub use update::{update, Effect, Message};
