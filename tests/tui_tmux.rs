//! End-to-end runs of the real binary in tmux (`send-keys`, `capture-pane`): a first start
//! with an empty HOME, an alert arriving live, acknowledge, a note, resolve with its y/n,
//! quit — each checked on the screen and through the REST API; and a remote console that
//! survives its engine being killed and restarted. No sleeps for synchronisation: every
//! wait polls the screen (or the API) until a deadline.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(20);

fn tmux_available() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|output| output.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is needed for the console's end-to-end tests"
        );
        eprintln!("tmux is not installed: skipping the end-to-end console test");
    }
    found
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One tmux server of our own (its own socket, no user configuration) with one window.
struct Tmux {
    socket: String,
    /// One line per terminal bell, written by a tmux hook.
    bells: PathBuf,
}

impl Tmux {
    fn start(name: &str, command: &str) -> Tmux {
        let socket = format!("klaxon-test-{}-{name}", std::process::id());
        // -u and a UTF-8 locale: the screen's ● and ✕ must come back as themselves.
        let status = Command::new("tmux")
            .env("LANG", "C.UTF-8")
            .args([
                "-u",
                "-L",
                &socket,
                "-f",
                "/dev/null",
                "new-session",
                "-d",
                "-x",
                "120",
                "-y",
                "40",
                command,
            ])
            .status()
            .unwrap();
        assert!(status.success());
        let bells = std::env::temp_dir().join(format!("{socket}.bells"));
        let _ = std::fs::remove_file(&bells);
        let hook = format!("run-shell \"echo rang >> {}\"", bells.display());
        let status = Command::new("tmux")
            .args(["-L", &socket, "set-hook", "-g", "alert-bell", &hook])
            .status()
            .unwrap();
        assert!(status.success());
        Tmux { socket, bells }
    }

    fn bells(&self) -> usize {
        std::fs::read_to_string(&self.bells).map_or(0, |text| text.lines().count())
    }

    fn wait_bells(&self, count: usize) {
        let started = Instant::now();
        while self.bells() < count {
            assert!(
                started.elapsed() < DEADLINE,
                "waited for {count} bell(s), heard {}",
                self.bells()
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn screen(&self) -> String {
        let output = Command::new("tmux")
            .env("LANG", "C.UTF-8")
            .args(["-u", "-L", &self.socket, "capture-pane", "-p"])
            .output()
            .unwrap();
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Polls the screen until `wanted` holds; fails with the last screen after the deadline.
    fn wait(&self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if wanted(&screen) {
                return screen;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "waited {DEADLINE:?} for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    fn wait_for(&self, needle: &str) -> String {
        self.wait(needle, |screen| screen.contains(needle))
    }

    fn keys(&self, keys: &[&str]) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys"])
            .args(keys)
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn type_text(&self, text: &str) {
        let status = Command::new("tmux")
            .args(["-L", &self.socket, "send-keys", "-l", text])
            .status()
            .unwrap();
        assert!(status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .status();
    }
}

/// The console's command line in a clean environment: HOME is the test's, nothing else.
fn console_command(home: &Path, arguments: &str) -> String {
    format!(
        "env -i PATH=/usr/bin:/bin HOME={home} TERM=xterm-256color LANG=C.UTF-8 {binary} {arguments}; \
         echo KLAXON-EXITED $?; sleep 600",
        home = home.display(),
        binary = env!("CARGO_BIN_EXE_klaxon"),
    )
}

fn admin_token(data: &Path) -> String {
    klaxon::config::local_secrets(data)
        .expect("secrets were created")
        .admin_token
}

/// A small synchronous REST helper on a current-thread runtime (the tests are synchronous:
/// tmux is driven with blocking commands).
struct Api {
    base: String,
    token: String,
    runtime: tokio::runtime::Runtime,
    http: reqwest::Client,
}

impl Api {
    fn new(base: String, token: String) -> Api {
        Api {
            base,
            token,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            // No pooled connections: the engine is killed and restarted under them.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .build()
                .unwrap(),
        }
    }

    fn get(&self, path: &str) -> serde_json::Value {
        let url = format!("{}{path}", self.base);
        self.runtime.block_on(async {
            let response = self
                .http
                .get(&url)
                .bearer_auth(&self.token)
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_success(),
                "{url}: {}",
                response.status()
            );
            response.json().await.unwrap()
        })
    }

    fn post(&self, url: &str, body: serde_json::Value) -> serde_json::Value {
        self.runtime.block_on(async {
            let response = self
                .http
                .post(url)
                .bearer_auth(&self.token)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert!(
                response.status().is_success(),
                "{url}: {}",
                response.status()
            );
            response.json().await.unwrap()
        })
    }

    /// Polls the incident until `wanted` holds.
    fn wait_incident(
        &self,
        id: u64,
        what: &str,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let started = Instant::now();
        loop {
            let incident = self.get(&format!("/v1/incidents/{id}"));
            if wanted(&incident) {
                return incident;
            }
            assert!(
                started.elapsed() < DEADLINE,
                "waited for {what}: {incident:#}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

fn url_on(screen: &str, port: u16) -> String {
    let prefix = format!("http://127.0.0.1:{port}/v1/integrations/");
    let start = screen.find(&prefix).expect("the test alert URL is shown");
    screen[start..]
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

fn rows_with(screen: &str, needle: &str) -> usize {
    screen.lines().filter(|line| line.contains(needle)).count()
}

#[test]
fn first_start_alert_ack_note_resolve_quit() {
    if !tmux_available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let tmux = Tmux::start(
        "first",
        &console_command(home.path(), &format!("--listen 127.0.0.1:{port}")),
    );
    // An empty, friendly console that says how to send an alert.
    let screen = tmux.wait("the first-start screen", |screen| {
        screen.contains("No incidents. All quiet.")
            && screen.contains("/v1/integrations/")
            && screen.contains("● live")
    });
    assert!(
        screen.contains("curl -H 'Content-Type: application/json'"),
        "{screen}"
    );
    assert!(screen.contains("as admin"), "{screen}");
    let data: PathBuf = home.path().join(".local/share/klaxon");
    let api = Api::new(format!("http://127.0.0.1:{port}"), admin_token(&data));

    // The alert, sent to the URL the screen shows, appears live.
    let alert_url = url_on(&screen, port);
    let accepted = api.post(
        &alert_url,
        serde_json::json!({"summary": "disk full on db-1", "severity": "critical"}),
    );
    let id = accepted["incidents"][0].as_u64().unwrap();
    let screen = tmux.wait("the new incident", |screen| {
        screen.contains("disk full on db-1") && screen.contains("triggered")
    });
    assert!(
        screen.contains(&format!("●CRIT #{id}")),
        "new and critical: marked\n{screen}"
    );
    // It rang once; a warning does not ring.
    tmux.wait_bells(1);
    api.post(
        &alert_url,
        serde_json::json!({"summary": "cpu warm", "severity": "warning"}),
    );
    tmux.wait_for("cpu warm");
    assert_eq!(tmux.bells(), 1);

    tmux.keys(&["a"]);
    tmux.wait("acknowledged on screen", |screen| {
        screen.contains("acked") && screen.contains(&format!("#{id} acknowledged"))
    });
    let incident = api.wait_incident(id, "acknowledged", |incident| {
        incident["status"] == "acknowledged"
    });
    assert_eq!(incident["acknowledged_by"], "admin");

    tmux.keys(&["c"]);
    tmux.wait_for(&format!("message #{id}:"));
    tmux.type_text("failing over to db-2");
    tmux.keys(&["Enter"]);
    tmux.wait_for(&format!("#{id} noted"));
    let incident = api.wait_incident(id, "the note", |incident| {
        incident["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|entry| entry["text"] == "failing over to db-2")
    });
    let note = incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["kind"] == "note")
        .unwrap()
        .clone();
    assert_eq!(
        note["actor"],
        serde_json::json!({"type": "user", "name": "admin"})
    );

    // The detail shows the whole timeline, note included.
    tmux.keys(&["Enter"]);
    // Triggered, routing's "nobody paged" (no policies by default), acknowledged, the note.
    let screen = tmux.wait("the detail", |screen| screen.contains("Timeline (4)"));
    assert!(
        screen.contains("› failing over to db-2") && screen.contains("acknowledged"),
        "{screen}"
    );
    tmux.keys(&["Escape"]);

    tmux.keys(&["r"]);
    tmux.wait_for(&format!("resolve #{id} disk full on db-1? y yes  n no"));
    tmux.keys(&["y"]);
    tmux.wait("resolved on screen", |screen| {
        screen.contains(&format!("#{id} resolved"))
            && screen.contains("open 1 ")
            && screen.contains("resolved 1 ")
    });
    let incident = api.wait_incident(id, "resolved", |incident| incident["status"] == "resolved");
    assert_eq!(incident["resolved_by"], "admin");

    tmux.keys(&["q"]);
    let screen = tmux.wait_for("KLAXON-EXITED 0");
    assert!(
        !screen.contains("● live"),
        "the alternate screen is gone after quitting:\n{screen}"
    );
    let log = std::fs::read_to_string(data.join("klaxon.log")).unwrap();
    assert!(
        log.contains("embedded engine started"),
        "logs go to the file:\n{log}"
    );
}

#[test]
fn silences_are_made_listed_and_expired_and_on_call_is_shown() {
    if !tmux_available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let tmux = Tmux::start(
        "paging",
        &console_command(home.path(), &format!("--listen 127.0.0.1:{port}")),
    );
    tmux.wait_for("● live");
    let data: PathBuf = home.path().join(".local/share/klaxon");
    let api = Api::new(format!("http://127.0.0.1:{port}"), admin_token(&data));

    // The built-in configuration has no schedules, and says so.
    tmux.keys(&["O"]);
    tmux.wait_for("No schedules.");

    tmux.keys(&["M"]);
    tmux.wait_for("No silences: everything pages.");
    tmux.keys(&[":"]);
    tmux.type_text("silence svc=batch 2h nightly run");
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the new silence, listed", |screen| {
        screen.contains("added: service=batch until")
            && screen.contains("Silences (1)")
            && screen.contains("nightly run")
    });
    assert!(screen.contains("active"), "{screen}");
    let silences = api.get("/v1/silences");
    assert_eq!(
        silences[0]["matchers"],
        serde_json::json!(["service=batch"])
    );
    assert_eq!(silences[0]["created_by"], "admin");
    let id = silences[0]["id"].as_str().unwrap().to_string();

    // A mistake is explained and left to be put right.
    tmux.keys(&["m"]);
    tmux.type_text("batch 2h");
    tmux.keys(&["Enter"]);
    tmux.wait_for("\"batch\" is not a matcher");
    tmux.keys(&["Escape"]);

    tmux.keys(&["X"]);
    tmux.wait_for(&format!("expire silence {id} (service=batch)? y yes  n no"));
    tmux.keys(&["y"]);
    tmux.wait("the silence, expired", |screen| {
        screen.contains(&format!("silence {id} expired")) && screen.contains("ended")
    });
    assert_eq!(api.get("/v1/silences")[0]["state"], "expired");
    tmux.keys(&["q"]);
    tmux.wait_for("KLAXON-EXITED 0");
}

struct Engine(Child);

impl Engine {
    fn start(home: &Path, port: u16) -> Engine {
        let child = Command::new(env!("CARGO_BIN_EXE_klaxon"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", home)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(started.elapsed() < DEADLINE, "the engine did not start");
            std::thread::sleep(Duration::from_millis(25));
        }
        Engine(child)
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_remote_console_survives_an_engine_restart() {
    if !tmux_available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let engine = Engine::start(home.path(), port);
    let data = home.path().join(".local/share/klaxon");
    let token = admin_token(&data);
    let console_home = tempfile::tempdir().unwrap();
    let arguments = format!("--connect http://127.0.0.1:{port} --token {token} --user admin");
    let tmux = Tmux::start("remote", &console_command(console_home.path(), &arguments));
    tmux.wait_for("● live");
    let api = Api::new(format!("http://127.0.0.1:{port}"), token.clone());
    let generic = klaxon::config::local_secrets(&data)
        .unwrap()
        .integration_keys["generic"]
        .clone();
    let url = format!("http://127.0.0.1:{port}/v1/integrations/{generic}");
    let accepted = api.post(
        &url,
        serde_json::json!({"summary": "payments queue stuck", "severity": "error"}),
    );
    let id = accepted["incidents"][0].as_u64().unwrap();
    tmux.wait_for("payments queue stuck");

    // kill -9: the link drops, the console says so and counts down to the next try.
    drop(engine);
    tmux.wait("the link down with a countdown", |screen| {
        screen.contains("link down") && screen.contains("retry in")
    });
    tmux.keys(&["a"]);
    tmux.wait_for(&format!(
        "#{id} not acknowledged: not connected to the engine; nothing was sent"
    ));

    let engine = Engine::start(home.path(), port);
    let screen = tmux.wait("live again", |screen| {
        screen.contains("● live") && screen.contains("payments queue stuck")
    });
    assert_eq!(
        rows_with(&screen, "payments queue stuck"),
        1,
        "resynced without duplicates:\n{screen}"
    );
    tmux.keys(&["a"]);
    tmux.wait_for(&format!("#{id} acknowledged"));
    api.wait_incident(id, "acknowledged", |incident| {
        incident["status"] == "acknowledged"
    });
    // A second alert after the restart arrives live too.
    api.post(
        &url,
        serde_json::json!({"summary": "second after restart", "severity": "warning"}),
    );
    tmux.wait_for("second after restart");
    tmux.keys(&["q"]);
    tmux.wait_for("KLAXON-EXITED 0");
    drop(engine);
}

#[test]
fn without_a_terminal_it_says_to_use_serve() {
    let home = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_klaxon"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", home.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let error = String::from_utf8_lossy(&output.stderr);
    assert!(
        error.contains("the console needs a terminal") && error.contains("klaxon serve"),
        "{error}"
    );
    assert!(
        output.stdout.is_empty(),
        "nothing drawn when there is no terminal"
    );
}

#[test]
fn a_bad_keymap_stops_the_start_with_file_and_line() {
    let home = tempfile::tempdir().unwrap();
    let directory = home.path().join(".config/klaxon");
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(
        directory.join("keymap.toml"),
        "# mine\nacknowlege = { keys = [\"x\"] }\n",
    )
    .unwrap();
    if !tmux_available() {
        return;
    }
    let port = free_port();
    let tmux = Tmux::start(
        "keymap",
        &console_command(home.path(), &format!("--listen 127.0.0.1:{port}")),
    );
    let screen = tmux.wait_for("KLAXON-EXITED 1");
    assert!(
        screen.contains(
            "keymap.toml:2:1: unknown action \"acknowlege\" (did you mean \"acknowledge\"?)"
        ),
        "{screen}"
    );
}

#[test]
fn klaxon_on_a_machine_whose_engine_already_runs_opens_the_console_on_it() {
    if !tmux_available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let _engine = Engine::start(home.path(), port);
    let tmux = Tmux::start(
        "joins",
        &console_command(home.path(), &format!("--listen 127.0.0.1:{port}")),
    );
    let screen = tmux.wait("live on the running engine", |screen| {
        screen.contains("● live")
    });
    assert!(
        screen.contains("as admin") && !screen.contains(" engine 127.0.0.1"),
        "{screen}"
    );
    let data = home.path().join(".local/share/klaxon");
    let api = Api::new(format!("http://127.0.0.1:{port}"), admin_token(&data));
    let generic = klaxon::config::local_secrets(&data)
        .unwrap()
        .integration_keys["generic"]
        .clone();
    let url = format!("http://127.0.0.1:{port}/v1/integrations/{generic}");
    let accepted = api.post(
        &url,
        serde_json::json!({"summary": "seen by the second console"}),
    );
    let id = accepted["incidents"][0].as_u64().unwrap();
    tmux.wait_for("seen by the second console");
    tmux.keys(&["a"]);
    let incident = api.wait_incident(id, "acknowledged", |incident| {
        incident["status"] == "acknowledged"
    });
    assert_eq!(incident["acknowledged_by"], "admin");
    tmux.keys(&["q"]);
    tmux.wait_for("KLAXON-EXITED 0");
}

/// Run by `a_panic_in_the_ui_gives_the_terminal_back` inside tmux: takes the terminal the
/// way the console does, then panics on the UI thread. Does nothing in a normal test run.
#[test]
fn panic_helper() {
    if std::env::var_os("KLAXON_PANIC_HELPER").is_none() {
        return;
    }
    klaxon::tui::terminal::install_panic_hook(Some(PathBuf::from("/tmp/klaxon-panic-helper.log")));
    klaxon::tui::terminal::enter(true).unwrap();
    print!("\x1b[2J\x1b[Hdrawn on the alternate screen");
    std::io::Write::flush(&mut std::io::stdout()).unwrap();
    panic!("a bug in the console");
}

#[test]
fn a_panic_in_the_ui_gives_the_terminal_back() {
    if !tmux_available() {
        return;
    }
    let test_binary = std::env::current_exe().unwrap();
    // After the panic the shell reports whether the terminal is back in canonical mode.
    let command = format!(
        "env KLAXON_PANIC_HELPER=1 {} --exact panic_helper --nocapture --test-threads 1; \
         stty -a | grep -o -- '-icanon\\|icanon' | sed 's/^/TTY-/'; echo HELPER-DONE; sleep 600",
        test_binary.display()
    );
    let tmux = Tmux::start("panic", &command);
    let screen = tmux.wait_for("HELPER-DONE");
    assert!(
        screen.contains("a bug in the console"),
        "the panic message is readable:\n{screen}"
    );
    assert!(
        screen.contains("the log is /tmp/klaxon-panic-helper.log"),
        "{screen}"
    );
    assert!(
        screen.contains("TTY-icanon") && !screen.contains("TTY--icanon"),
        "raw mode is off again:\n{screen}"
    );
    assert!(
        !screen.contains("drawn on the alternate screen"),
        "the alternate screen is left:\n{screen}"
    );
}

#[test]
fn ctrl_z_suspends_to_the_shell_fg_resumes_and_resizes_are_followed() {
    if !tmux_available() {
        return;
    }
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    // A shell of its own, so that there is job control to suspend to.
    let shell = format!(
        "env -i PATH=/usr/bin:/bin HOME={} TERM=xterm-256color LANG=C.UTF-8 PS1='shell$ ' bash --norc --noprofile -i",
        home.path().display()
    );
    let tmux = Tmux::start("suspend", &shell);
    tmux.wait_for("shell$");
    tmux.type_text(&format!(
        "{} --listen 127.0.0.1:{port}",
        env!("CARGO_BIN_EXE_klaxon")
    ));
    tmux.keys(&["Enter"]);
    tmux.wait_for("No incidents. All quiet.");
    tmux.keys(&["C-z"]);
    let screen = tmux.wait("the shell after ctrl-z", |screen| {
        screen.contains("Stopped")
    });
    assert!(
        !screen.contains("All quiet"),
        "the console's screen is gone while suspended:\n{screen}"
    );
    tmux.type_text("fg");
    tmux.keys(&["Enter"]);
    tmux.wait_for("No incidents. All quiet.");
    let status = Command::new("tmux")
        .args(["-L", &tmux.socket, "resize-window", "-x", "80", "-y", "24"])
        .status()
        .unwrap();
    assert!(status.success());
    // Narrow: short tab names, and the hint line still ends with help and quit.
    let screen = tmux.wait("the narrow layout", |screen| screen.contains(" trig 0 "));
    assert!(
        screen
            .lines()
            .any(|line| line.trim_end().ends_with("? help  q quit")),
        "{screen}"
    );
    tmux.keys(&["q"]);
    tmux.type_text("echo exited $?");
    tmux.keys(&["Enter"]);
    tmux.wait_for("exited 0");
}
