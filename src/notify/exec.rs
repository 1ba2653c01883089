//! The exec channel: runs a program (never through a shell) with the page document on its
//! standard input. Depends on the notify contract and tokio's process support.

use super::message::{attempt_name, one_line, page_document, shorten};
use super::{Delivered, Notification, Notifier, NotifySettings, SendError, SendFuture};
use crate::domain::escalation::{ContactAddress, ContactKind};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::Command;

/// What we keep of a program's output: the first line of stdout and the last of stderr are
/// all that is used, and a chatty program must not fill memory.
const OUTPUT_LIMIT: usize = 64 * 1024;

/// Runs the contact's command (`address = ["/usr/local/bin/page-me", "--loud"]`):
///
/// - standard input: the page document, as webhooks receive it (see
///   [`page_document`](super::message::page_document));
/// - environment: klaxon's own, plus `KLAXON_USER`, `KLAXON_INCIDENT_ID`, `KLAXON_SEVERITY`
///   (`critical|error|warning|info`), `KLAXON_TITLE` (on one line), `KLAXON_SERVICE` (empty
///   when none) and `KLAXON_ACK_COMMAND`;
/// - exit 0: delivered, with the first line of standard output as the detail;
/// - another exit status or a signal: temporary, with the status and the last line of
///   standard error;
/// - still running after the timeout: it and everything it started in its process group are
///   killed, temporary;
/// - a program that cannot be found or run: permanent.
///
/// Output is read until the program's pipes close, within the same timeout: something it
/// leaves running in the background that keeps them open delays the answer to the timeout,
/// but does not turn an exit 0 into a failure.
pub struct ExecNotifier {
    timeout: Duration,
    public_url: Option<String>,
}

impl ExecNotifier {
    pub fn new(settings: &NotifySettings) -> ExecNotifier {
        ExecNotifier {
            timeout: settings.timeout_or_default(),
            public_url: settings.public_url.clone(),
        }
    }
}

impl Notifier for ExecNotifier {
    fn kind(&self) -> ContactKind {
        ContactKind::Exec
    }

    fn send<'a>(&'a self, notification: &'a Notification) -> SendFuture<'a> {
        Box::pin(async move {
            let who = attempt_name(notification);
            let argv = match &notification.contact.address {
                ContactAddress::Command(argv) if !argv.is_empty() => argv,
                ContactAddress::Command(_) => {
                    return Err(SendError::Permanent(format!("{who}: the command is empty")))
                }
                ContactAddress::Text(_) => {
                    return Err(SendError::Permanent(format!(
                        "{who}: the address must be a command (a list of program and arguments)"
                    )))
                }
            };
            self.run(&who, argv, notification).await
        })
    }
}

impl ExecNotifier {
    async fn run(
        &self,
        who: &str,
        argv: &[String],
        notification: &Notification,
    ) -> Result<Delivered, SendError> {
        let incident = &notification.incident;
        let program = &argv[0];
        let mut command = Command::new(program);
        command
            .args(&argv[1..])
            .env("KLAXON_USER", &notification.user)
            .env("KLAXON_INCIDENT_ID", incident.id.to_string())
            .env("KLAXON_SEVERITY", incident.severity.as_str())
            .env("KLAXON_TITLE", one_line(&incident.title))
            .env(
                "KLAXON_SERVICE",
                incident.service.as_deref().unwrap_or_default(),
            )
            .env("KLAXON_ACK_COMMAND", &notification.ack_command)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so a timeout kills whatever it started too.
            .process_group(0)
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|error| {
            SendError::Permanent(format!("{who}: cannot run {program:?}: {error}"))
        })?;
        let group = child.id();
        let document = page_document(notification, self.public_url.as_deref());
        let feed = child.stdin.take().map(|mut stdin| {
            tokio::spawn(async move {
                // A program that does not read its input closes the pipe; that is fine.
                let _ = stdin.write_all(&document).await;
            })
        });
        let out = Captured::default();
        let err = Captured::default();
        let readers = [
            tokio::spawn(out.clone().read(child.stdout.take(), Keep::First)),
            tokio::spawn(err.clone().read(child.stderr.take(), Keep::Last)),
        ];
        let deadline = tokio::time::Instant::now() + self.timeout;
        let waited = tokio::time::timeout_at(deadline, child.wait()).await;
        if let Some(feed) = feed {
            feed.abort();
        }
        let Ok(status) = waited else {
            if let Some(group) = group.and_then(|id| i32::try_from(id).ok()) {
                // SAFETY: kill(2) with a negative pid signals the process group the child
                // leads; no memory is involved. The child is not reaped yet, so its group id
                // cannot have been reused by anyone else.
                unsafe {
                    libc::kill(-group, libc::SIGKILL);
                }
            }
            for reader in readers {
                reader.abort();
            }
            return Err(SendError::Temporary(format!(
                "{who}: {program:?} did not finish within {} and was killed",
                humantime::format_duration(self.timeout)
            )));
        };
        // The program has exited; something it left running may still hold its output open,
        // so the output is read until the deadline and no longer.
        for reader in readers {
            let abort = reader.abort_handle();
            if tokio::time::timeout_at(deadline, reader).await.is_err() {
                abort.abort();
            }
        }
        let (out, err) = (out.take(), err.take());
        let status = status.map_err(|error| {
            SendError::Temporary(format!("{who}: waiting for {program:?}: {error}"))
        })?;
        if status.success() {
            let detail = first_line(&out).map(|line| shorten(&line, 200));
            return Ok(Delivered { detail });
        }
        let how = match status.code() {
            Some(code) => format!("exited with status {code}"),
            None => {
                use std::os::unix::process::ExitStatusExt;
                match status.signal() {
                    Some(signal) => format!("was killed by signal {signal}"),
                    None => "failed".to_string(),
                }
            }
        };
        let mut text = format!("{who}: {program:?} {how}");
        if let Some(line) = last_line(&err) {
            text.push_str(": ");
            text.push_str(&shorten(&line, 200));
        }
        Err(SendError::Temporary(text))
    }
}

#[derive(Clone, Copy)]
enum Keep {
    First,
    Last,
}

/// Output read so far, shared with the task reading it so that a reader stopped at the
/// deadline still leaves what it had.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    /// Reads a pipe to its end, keeping at most `OUTPUT_LIMIT` bytes from its start or end.
    async fn read(self, pipe: Option<impl AsyncRead + Unpin>, keep: Keep) {
        let Some(mut pipe) = pipe else {
            return;
        };
        let mut buffer = [0u8; 8192];
        loop {
            let read = match pipe.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(read) => read,
            };
            let mut kept = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            kept.extend_from_slice(&buffer[..read]);
            if kept.len() > OUTPUT_LIMIT {
                match keep {
                    Keep::First => kept.truncate(OUTPUT_LIMIT),
                    Keep::Last => {
                        let excess = kept.len() - OUTPUT_LIMIT;
                        kept.drain(..excess);
                    }
                }
            }
        }
    }

    fn take(&self) -> Vec<u8> {
        std::mem::take(
            &mut *self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        )
    }
}

fn first_line(output: &[u8]) -> Option<String> {
    String::from_utf8_lossy(output)
        .lines()
        .map(one_line)
        .find(|line| !line.is_empty())
}

fn last_line(output: &[u8]) -> Option<String> {
    String::from_utf8_lossy(output)
        .lines()
        .rev()
        .map(one_line)
        .find(|line| !line.is_empty())
}
