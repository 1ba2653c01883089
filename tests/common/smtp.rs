//! A real SMTP server for tests: Debian's aiosmtpd, which prints what it receives.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The Python that has aiosmtpd: `KLAXON_TEST_PYTHON`, Debian's, or the first on PATH.
pub fn python_with_aiosmtpd() -> String {
    let candidates = std::env::var("KLAXON_TEST_PYTHON")
        .into_iter()
        .chain(["/usr/bin/python3".to_string(), "python3".to_string()]);
    for python in candidates {
        let found = Command::new(&python)
            .args(["-c", "import aiosmtpd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        if found {
            return python;
        }
    }
    panic!(
        "the email tests need a real SMTP server, aiosmtpd, and no python3 here has it: \
         install it with `apt-get install python3-aiosmtpd` (Debian; .ci/run does this) or \
         `pip install aiosmtpd`, or point KLAXON_TEST_PYTHON at a python that has it"
    );
}

/// An SMTP server process whose standard output (where aiosmtpd prints what it receives)
/// arrives line by line; killed when dropped.
pub struct SmtpServer {
    child: Child,
    pub port: u16,
    lines: mpsc::Receiver<String>,
    /// Its standard error (tracebacks of sessions the tests break on purpose), shown when
    /// the server does not come up.
    errors: tempfile::NamedTempFile,
}

impl SmtpServer {
    /// `python -m aiosmtpd` on a free port with extra arguments (TLS certificates).
    pub fn start(extra: &[&str]) -> SmtpServer {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut arguments = vec!["-m", "aiosmtpd", "-n", "-l", &listen];
        arguments.extend_from_slice(extra);
        let server = SmtpServer::spawn(&arguments, port);
        server.await_listening();
        server
    }

    pub fn spawn(arguments: &[&str], port: u16) -> SmtpServer {
        let errors = tempfile::NamedTempFile::new().unwrap();
        let mut child = Command::new(python_with_aiosmtpd())
            .args(arguments)
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(errors.reopen().unwrap())
            .spawn()
            .expect("start aiosmtpd");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        SmtpServer {
            child,
            port,
            lines,
            errors,
        }
    }

    pub fn errors(&self) -> String {
        std::fs::read_to_string(self.errors.path()).unwrap_or_default()
    }

    /// Connects until the server accepts, with a deadline.
    pub fn await_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "aiosmtpd did not listen on port {} within 20s:\n{}",
                self.port,
                self.errors()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The next line the server prints, within a deadline.
    pub fn line(&self, deadline: Instant) -> String {
        let left = deadline.saturating_duration_since(Instant::now());
        self.lines.recv_timeout(left).unwrap_or_else(|_| {
            panic!(
                "the SMTP server printed nothing more before the deadline:\n{}",
                self.errors()
            )
        })
    }

    /// The next received message as aiosmtpd prints it: headers, the peer line, the body.
    pub fn message(&self) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.line(deadline) != "---------- MESSAGE FOLLOWS ----------" {}
        let mut message = String::new();
        loop {
            let line = self.line(deadline);
            if line == "------------ END MESSAGE ------------" {
                return message;
            }
            message.push_str(&line);
            message.push('\n');
        }
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
