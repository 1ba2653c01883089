//! The terminal, borrowed and given back: raw mode and the alternate screen on entry, and
//! restored on every way out — normal exit, error, Ctrl-Z (and back), and panics.
//!
//! Panic policy: the UI runs on one thread. A panic there restores the terminal first, then
//! prints the usual panic message and where the log is, and the process exits. A panic in
//! any other thread (engine and server tasks, client pumps) is written to the log only —
//! the screen still belongs to the UI — and tokio ends just that task; the console then
//! shows the engine as stopped (nothing accepted is lost: it was on disk before any 2xx).

use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture,
};
use crossterm::terminal::{
    disable_raw_mode, enable_raw_mode, EnterAlternateScreen, LeaveAlternateScreen,
};
use crossterm::{cursor, execute};
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether the terminal is currently in our hands (so restoring twice is harmless).
static ACTIVE: AtomicBool = AtomicBool::new(false);
static MOUSE: AtomicBool = AtomicBool::new(false);

/// Takes the terminal: raw mode, alternate screen, hidden cursor, optional mouse.
pub fn enter(mouse: bool) -> io::Result<()> {
    enable_raw_mode()?;
    ACTIVE.store(true, Ordering::SeqCst);
    let mut stdout = io::stdout();
    execute!(
        stdout,
        EnterAlternateScreen,
        EnableBracketedPaste,
        cursor::Hide
    )?;
    set_mouse(mouse)?;
    Ok(())
}

pub fn set_mouse(on: bool) -> io::Result<()> {
    let mut stdout = io::stdout();
    if on {
        execute!(stdout, EnableMouseCapture)?;
    } else if MOUSE.load(Ordering::SeqCst) {
        execute!(stdout, DisableMouseCapture)?;
    }
    MOUSE.store(on, Ordering::SeqCst);
    Ok(())
}

/// Gives the terminal back as it was. Safe to call any number of times, from anywhere.
pub fn restore() {
    if !ACTIVE.swap(false, Ordering::SeqCst) {
        return;
    }
    let mut stdout = io::stdout();
    if MOUSE.load(Ordering::SeqCst) {
        let _ = execute!(stdout, DisableMouseCapture);
    }
    let _ = execute!(
        stdout,
        DisableBracketedPaste,
        LeaveAlternateScreen,
        cursor::Show
    );
    let _ = disable_raw_mode();
    let _ = stdout.flush();
}

/// Restores the terminal when dropped: covers `?` and early returns.
pub struct Guard;

impl Drop for Guard {
    fn drop(&mut self) {
        restore();
    }
}

/// Installs the panic hook described in the module docs. `log` is shown to the person.
pub fn install_panic_hook(log: Option<PathBuf>) {
    let ui_thread = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info.location().map(|at| at.to_string()).unwrap_or_default();
        tracing::error!(panic = %info, %location, "panic");
        if std::thread::current().id() == ui_thread {
            restore();
            previous(info);
            if let Some(log) = &log {
                eprintln!(
                    "klaxon: the console stopped on a bug; the log is {}",
                    log.display()
                );
            }
        }
    }));
}

/// Ctrl-Z: give the terminal back, stop until `fg`, then take it again.
#[cfg(unix)]
pub fn suspend(mouse: bool) -> io::Result<()> {
    restore();
    // SAFETY: raising a signal at our own process; SIGTSTP's default action stops it until
    // SIGCONT, after which `raise` returns.
    unsafe {
        libc::raise(libc::SIGTSTP);
    }
    enter(mouse)
}

#[cfg(not(unix))]
pub fn suspend(_mouse: bool) -> io::Result<()> {
    Ok(())
}
