//! The console's runtime: starts the engine (embedded) or the link (remote), takes the
//! terminal, and runs one loop that turns terminal events, engine updates, answers and the
//! one-second tick into [`Message`]s, feeds them to [`update`], carries out the effects, and
//! redraws only when something changed — coalesced to at most one frame per 16 ms, never
//! a fixed frame rate or a busy loop.

use super::keymap::Keymap;
use super::state::State;
use super::terminal;
use super::theme::Theme;
use super::update::{update, Effect, Message};
use crate::client::{
    embedded, Client, EmbeddedClient, Endpoint, RemoteClient, RemoteOptions, Update,
};
use crate::config::{self, LoadOptions, Role};
use crate::engine::SystemClock;
use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEventKind, MouseEventKind};
use futures_util::StreamExt;
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Frames closer together than this are merged into one.
const FRAME: Duration = Duration::from_millis(16);
/// Engine updates handled before the screen gets a chance to redraw.
const UPDATES_PER_FRAME: usize = 4096;

/// How the console was asked to start (the command line).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub load: LoadOptions,
    /// `--connect URL`: a remote engine instead of the embedded one.
    pub connect: Option<String>,
    pub token: Option<String>,
    /// `--user NAME`: who the embedded console acts as (default: the local admin).
    pub user: Option<String>,
    pub read_only: bool,
    pub theme: Option<String>,
    pub no_bell: bool,
    pub mouse: bool,
}

/// `klaxon` with no command: the console, on an embedded engine or a remote one.
pub fn run(options: Options) -> Result<(), String> {
    if !io::stdout().is_terminal() || !io::stdin().is_terminal() {
        return Err("the console needs a terminal (stdin and stdout); to run the engine alone use `klaxon serve`, \
                    and for scripts `klaxon incidents`"
            .to_string());
    }
    // Bad keymap or theme files stop us here, before the screen is taken, with file:line.
    let mut keymap = match Keymap::user_file().filter(|file| file.exists()) {
        Some(file) => Keymap::load(&file).map_err(|error| error.to_string())?,
        None => Keymap::default(),
    };
    if options.read_only {
        keymap = keymap.read_only();
    }
    let mut theme = Theme::load(options.theme.as_deref().unwrap_or("default"))?;
    if Theme::no_colour_requested() {
        theme = theme.without_colour();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the async runtime: {error}"))?;
    runtime.block_on(async move {
        match options.connect.clone() {
            Some(url) => {
                let data = options
                    .load
                    .data_dir
                    .clone()
                    .unwrap_or_else(config::default_data_dir);
                let log = start_log(&data);
                // On the engine's own machine the local admin token is found, as the CLI does.
                let local = || config::local_secrets(&data).map(|secrets| secrets.admin_token);
                let (token, user) = match (options.token.clone(), options.user.clone()) {
                    (Some(token), user) => {
                        (Some(token), user.unwrap_or_else(|| "token".to_string()))
                    }
                    (None, user) => (
                        local(),
                        user.unwrap_or_else(|| config::LOCAL_ADMIN_NAME.to_string()),
                    ),
                };
                remote(&url, token, user, keymap, theme, &options, log).await
            }
            None => embedded(keymap, theme, &options).await,
        }
    })
}

async fn remote(
    url: &str,
    token: Option<String>,
    user: String,
    keymap: Keymap,
    theme: Theme,
    options: &Options,
    log: Option<PathBuf>,
) -> Result<(), String> {
    let (client, updates) = RemoteClient::start(url, token, user, RemoteOptions::default())?;
    console(Client::Remote(client), updates, keymap, theme, options, log).await
}

async fn embedded(keymap: Keymap, theme: Theme, options: &Options) -> Result<(), String> {
    let config = config::load(&options.load).map_err(|error| error.to_string())?;
    let log = start_log(&config.server.data_dir);
    let user = acting_user(&config, options.user.as_deref())?;
    let listen = config.server.listen;
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) if error.kind() == io::ErrorKind::AddrInUse => {
            // Most likely this machine's engine already runs (`klaxon serve`): open the
            // console on it, as the same user, rather than fail.
            tracing::info!(%listen, "the address is taken; connecting to the engine there");
            let token = options.token.clone().or(Some(user.token.clone()));
            let url = format!("http://{listen}");
            return remote(&url, token, user.name.clone(), keymap, theme, options, log).await;
        }
        Err(error) => {
            return Err(format!(
                "cannot listen on {listen}: {error} (try --listen or --connect)"
            ))
        }
    };
    let running = crate::api::launch(&config, listener, Arc::new(SystemClock))
        .await
        .map_err(|error| error.to_string())?;
    tracing::info!(address = %running.address, user = %user.name, "embedded engine started");
    let integrations = embedded::integration_views(&config, running.address);
    let (client, updates) =
        EmbeddedClient::start(running.engine.clone(), running.address, user, integrations);
    let result = console(
        Client::Embedded(client),
        updates,
        keymap,
        theme,
        options,
        log,
    )
    .await;
    running.stop().await;
    result
}

/// The configured user the embedded console acts as.
fn acting_user(config: &config::Config, name: Option<&str>) -> Result<config::UserConfig, String> {
    let found = match name {
        Some(name) => config.users.iter().find(|user| user.name == name),
        None => config
            .users
            .iter()
            .find(|user| user.name == config::LOCAL_ADMIN_NAME)
            .or_else(|| config.users.iter().find(|user| user.role == Role::Admin)),
    };
    found.cloned().ok_or_else(|| {
        let names: Vec<&str> = config.users.iter().map(|user| user.name.as_str()).collect();
        match name {
            Some(name) => format!(
                "no user {name:?} in the configuration (users: {})",
                names.join(", ")
            ),
            None => format!(
                "no admin user to act as: pass --user NAME (users: {})",
                names.join(", ")
            ),
        }
    })
}

/// Logs go to `<data>/klaxon.log`, never to the screen.
fn start_log(data: &std::path::Path) -> Option<PathBuf> {
    if std::fs::create_dir_all(data).is_err() {
        return None;
    }
    let path = data.join("klaxon.log");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .ok()?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("KLAXON_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .try_init();
    Some(path)
}

/// Counts what reaches the terminal (reported in the log at exit).
struct Counting<W> {
    inner: W,
    written: Arc<std::sync::atomic::AtomicU64>,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.written
            .fetch_add(written as u64, std::sync::atomic::Ordering::Relaxed);
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

type Screen = Terminal<CrosstermBackend<Counting<io::Stdout>>>;

async fn console(
    client: Client,
    updates: mpsc::Receiver<Update>,
    keymap: Keymap,
    theme: Theme,
    options: &Options,
    log: Option<PathBuf>,
) -> Result<(), String> {
    let endpoint: Endpoint = client.endpoint();
    let mut state = State::new(endpoint, keymap, theme, Utc::now());
    state.read_only = options.read_only;
    state.bell = !options.no_bell
        && std::env::var("KLAXON_BELL").map_or(true, |value| value != "off" && value != "0");
    state.mouse = options.mouse;
    terminal::install_panic_hook(log);
    terminal::enter(state.mouse).map_err(|error| format!("cannot set up the terminal: {error}"))?;
    let _guard = terminal::Guard;
    let written = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let backend = CrosstermBackend::new(Counting {
        inner: io::stdout(),
        written: written.clone(),
    });
    let mut screen = Terminal::new(backend).map_err(|error| error.to_string())?;
    let size = screen.size().map_err(|error| error.to_string())?;
    update(
        &mut state,
        Message::Resize {
            width: size.width,
            height: size.height,
        },
    );
    let result = event_loop(&mut screen, &mut state, client, updates).await;
    drop(screen);
    let written = written.load(std::sync::atomic::Ordering::Relaxed);
    terminal::restore();
    tracing::info!(written, "console closed");
    result
}

/// When the next wall-clock second starts, so ages tick together with the clock.
fn next_second() -> Instant {
    let into = Utc::now().timestamp_subsec_millis() as u64;
    Instant::now() + Duration::from_millis(1000 - into.min(999))
}

fn draw(screen: &mut Screen, state: &mut State) -> io::Result<()> {
    state.settle();
    // Synchronized updates: the terminal shows the frame whole, never half drawn.
    crossterm::queue!(
        screen.backend_mut(),
        crossterm::terminal::BeginSynchronizedUpdate
    )?;
    screen.draw(|frame| super::view::draw(frame, state))?;
    crossterm::execute!(
        screen.backend_mut(),
        crossterm::terminal::EndSynchronizedUpdate
    )?;
    Ok(())
}

async fn event_loop(
    screen: &mut Screen,
    state: &mut State,
    client: Client,
    mut updates: mpsc::Receiver<Update>,
) -> Result<(), String> {
    let mut events = EventStream::new();
    let (answers, mut answered) = mpsc::unbounded_channel::<Message>();
    let mut tick_at = next_second();
    let mut dirty = true;
    let mut last_frame = Instant::now() - FRAME;
    let mut updates_open = true;
    #[cfg(unix)]
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| e.to_string())?;
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| e.to_string())?;
    run_effects(
        vec![Effect::LoadIntegrations],
        screen,
        state,
        &client,
        &answers,
    )?;
    loop {
        let mut frame_at = None;
        if dirty {
            let due = last_frame + FRAME;
            if Instant::now() >= due {
                draw(screen, state).map_err(|error| error.to_string())?;
                last_frame = Instant::now();
                dirty = false;
            } else {
                frame_at = Some(due);
            }
        }
        let mut messages = Vec::new();
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(event)) => messages.extend(terminal_message(event, state.mouse)),
                Some(Err(error)) => return Err(format!("reading the terminal failed: {error}")),
                None => return Ok(()),
            },
            update = updates.recv(), if updates_open => match update {
                Some(update) => {
                    messages.push(Message::Client(update));
                    // Take what else is waiting, so a burst is one frame.
                    while messages.len() < UPDATES_PER_FRAME {
                        match updates.try_recv() {
                            Ok(update) => messages.push(Message::Client(update)),
                            Err(_) => break,
                        }
                    }
                }
                None => updates_open = false,
            },
            Some(message) = answered.recv() => messages.push(message),
            _ = tokio::time::sleep_until(tick_at) => {
                tick_at = next_second();
                messages.push(Message::Tick(Utc::now()));
            }
            _ = tokio::time::sleep_until(frame_at.unwrap_or(tick_at)), if frame_at.is_some() => {}
            _ = hangup_or_terminate(#[cfg(unix)] &mut hangup, #[cfg(unix)] &mut terminate) => {
                tracing::info!("hangup or terminate: closing");
                return Ok(());
            }
        }
        let mut effects = Vec::new();
        let mut snapshots = false;
        for message in messages {
            dirty = true;
            snapshots |= matches!(message, Message::Client(Update::Snapshot(_)));
            effects.extend(update(state, message));
        }
        if snapshots {
            release_freed_memory();
        }
        // One bell for a burst, however many incidents it held.
        let bells = effects
            .iter()
            .filter(|effect| **effect == Effect::Bell)
            .count();
        effects.retain(|effect| *effect != Effect::Bell);
        if bells > 0 {
            effects.push(Effect::Bell);
        }
        if run_effects(effects, screen, state, &client, &answers)? {
            return Ok(());
        }
    }
}

/// A snapshot of 100,000 incidents is built, handed over and dropped at once: give those
/// tens of megabytes back to the system rather than keep them in the allocator's free lists.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory at the top of glibc's heaps to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

async fn hangup_or_terminate(
    #[cfg(unix)] hangup: &mut tokio::signal::unix::Signal,
    #[cfg(unix)] terminate: &mut tokio::signal::unix::Signal,
) {
    #[cfg(unix)]
    tokio::select! {
        _ = hangup.recv() => {}
        _ = terminate.recv() => {}
    }
    #[cfg(not(unix))]
    std::future::pending::<()>().await
}

fn terminal_message(event: Event, mouse: bool) -> Option<Message> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => Some(Message::Key(key)),
        Event::Resize(width, height) => Some(Message::Resize { width, height }),
        Event::Mouse(event) if mouse => match event.kind {
            MouseEventKind::Down(_) => Some(Message::Click { row: event.row }),
            MouseEventKind::ScrollDown => Some(Message::Scroll(3)),
            MouseEventKind::ScrollUp => Some(Message::Scroll(-3)),
            _ => None,
        },
        Event::Paste(text) => Some(Message::Paste(text)),
        _ => None,
    }
}

/// Carries out effects; true when it is time to quit.
fn run_effects(
    effects: Vec<Effect>,
    screen: &mut Screen,
    state: &mut State,
    client: &Client,
    answers: &mpsc::UnboundedSender<Message>,
) -> Result<bool, String> {
    for effect in effects {
        match effect {
            Effect::Quit => return Ok(true),
            Effect::Act { id, action, what } => {
                let client = client.clone();
                let answers = answers.clone();
                tokio::spawn(async move {
                    let result = client.act(id, action).await;
                    let _ = answers.send(Message::Acted { id, what, result });
                });
            }
            Effect::LoadOnCall => {
                let client = client.clone();
                let answers = answers.clone();
                tokio::spawn(async move {
                    let _ = answers.send(Message::OnCallLoaded(client.oncall().await));
                });
            }
            Effect::LoadSilences => {
                let client = client.clone();
                let answers = answers.clone();
                tokio::spawn(async move {
                    let _ = answers.send(Message::SilencesLoaded(client.silences().await));
                });
            }
            Effect::AddSilence(request) => {
                let client = client.clone();
                let answers = answers.clone();
                tokio::spawn(async move {
                    let result = client
                        .add_silence(request.matchers, request.duration, request.comment)
                        .await;
                    let _ = answers.send(Message::SilenceAdded(result));
                });
            }
            Effect::ExpireSilence(id) => {
                let client = client.clone();
                let answers = answers.clone();
                tokio::spawn(async move {
                    let result = client.expire_silence(&id).await;
                    let _ = answers.send(Message::SilenceExpired { id, result });
                });
            }
            Effect::LoadDetail(id) => {
                let client = client.clone();
                let answers = answers.clone();
                tokio::spawn(async move {
                    let result = client.detail(id).await;
                    let _ = answers.send(Message::DetailLoaded { id, result });
                });
            }
            Effect::LoadIntegrations => {
                let client = client.clone();
                let answers = answers.clone();
                tokio::spawn(async move {
                    match client.integrations().await {
                        Ok(integrations) => {
                            let _ = answers.send(Message::Integrations(integrations));
                        }
                        Err(error) => tracing::info!(%error, "integrations not available"),
                    }
                });
            }
            Effect::Viewing(incident) => {
                let client = client.clone();
                tokio::spawn(async move {
                    if let Err(error) = client.viewing(incident).await {
                        // Presence is a courtesy: the console works on without it.
                        tracing::info!(%error, "presence not sent");
                    }
                });
            }
            Effect::WritePostmortem {
                id,
                path,
                overwrite,
            } => {
                let client = client.clone();
                let answers = answers.clone();
                tokio::spawn(async move {
                    let result = match client.postmortem(id).await {
                        Ok(markdown) => {
                            let target = path.clone();
                            tokio::task::spawn_blocking(move || {
                                super::postmortem::write_draft(&target, &markdown, overwrite)
                            })
                            .await
                            .unwrap_or_else(|error| Err(error.to_string()))
                            .map(|()| path)
                        }
                        Err(error) => Err(error.to_string()),
                    };
                    let _ = answers.send(Message::PostmortemWritten { id, result });
                });
            }
            Effect::LoadTheme(name) => {
                let answers = answers.clone();
                tokio::task::spawn_blocking(move || {
                    let _ = answers.send(Message::ThemeLoaded(Theme::load(&name)));
                });
            }
            Effect::Bell => {
                let writer = screen.backend_mut();
                let _ = writer.write_all(b"\x07").and_then(|()| writer.flush());
            }
            Effect::Redraw => {
                screen.clear().map_err(|error| error.to_string())?;
            }
            Effect::Suspend => {
                terminal::suspend(state.mouse).map_err(|error| error.to_string())?;
                screen.clear().map_err(|error| error.to_string())?;
            }
            Effect::SetMouse(on) => {
                terminal::set_mouse(on).map_err(|error| error.to_string())?;
            }
        }
    }
    Ok(false)
}
