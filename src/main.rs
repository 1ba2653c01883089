//! The `klaxon` command line: parses arguments (clap) and wires the pieces; no logic lives here.

use clap::{Args, Parser, Subcommand};
use klaxon::cli;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "klaxon",
    version,
    about = "Terminal-native on-call and incident response: an alert engine and its console in one binary",
    long_about = "Terminal-native on-call and incident response.\n\n\
        With no command, klaxon opens its full-screen console on an embedded engine with the \
        built-in default configuration (listening on 127.0.0.1:9800, data under the XDG data dir); \
        the console shows where to send alerts. With --connect URL --token T the console works \
        against a remote engine instead. `klaxon serve` runs the engine alone.\n\n\
        The scriptable verbs (send, incidents, show, ack, resolve, note, snooze, reassign) talk \
        to a running engine over its REST API; on the engine's own machine they find the URL, \
        the local admin token and the integration keys by themselves."
)]
struct Command {
    #[command(flatten)]
    engine: EngineFlags,
    #[command(flatten)]
    remote: RemoteFlags,
    #[command(flatten)]
    console: ConsoleFlags,
    #[command(subcommand)]
    verb: Option<Verb>,
}

#[derive(Args, Clone)]
struct EngineFlags {
    /// Configuration file (default: ~/.config/klaxon/klaxon.toml if it exists, else built in)
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory (default: ~/.local/share/klaxon)
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Address to listen on (default: 127.0.0.1:9800)
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<SocketAddr>,
}

#[derive(Args, Clone)]
struct RemoteFlags {
    /// The engine's URL (default: the local engine of this machine's configuration)
    #[arg(long, global = true, env = "KLAXON_URL", value_name = "URL")]
    url: Option<String>,
    /// A user token (default: the local admin token kept in the data directory)
    #[arg(
        long,
        global = true,
        env = "KLAXON_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    token: Option<String>,
}

/// Flags of the console (`klaxon` with no command).
#[derive(Args, Clone)]
struct ConsoleFlags {
    /// Open the console on a remote engine (http://host:9800) instead of an embedded one
    #[arg(long, value_name = "URL")]
    connect: Option<String>,
    /// Who the embedded console acts as (a configured user; default: the local admin).
    /// With --connect, the name shown for the token's user
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// Look, do not touch: no action that changes incidents or silences
    #[arg(long)]
    read_only: bool,
    /// Theme: default, dark, light, high-contrast, mono, a name in ~/.config/klaxon/themes, or a file
    #[arg(long, value_name = "NAME")]
    theme: Option<String>,
    /// Do not ring the terminal bell for new critical and error incidents
    #[arg(long)]
    no_bell: bool,
    /// Click to select, wheel to scroll (the terminal's own text selection then needs Shift)
    #[arg(long)]
    mouse: bool,
}

#[derive(Subcommand)]
enum Verb {
    /// Run the engine alone: receive alerts and serve the API until Ctrl-C or SIGTERM
    Serve,
    /// Send a test alert through an integration (the generic format)
    Send(cli::SendArgs),
    /// List incidents (open ones unless --status or --all says otherwise)
    Incidents(cli::ListArgs),
    /// Show one incident with its alerts and whole timeline
    Show {
        id: u64,
        /// table (default) or json
        #[arg(long, default_value = "table")]
        output: cli::Output,
    },
    /// Acknowledge an incident
    Ack { id: u64 },
    /// Resolve an incident
    Resolve { id: u64 },
    /// Add a note to an incident's timeline
    Note {
        id: u64,
        /// The note; several words are joined with spaces
        #[arg(required = true, num_args = 1..)]
        text: Vec<String>,
    },
    /// Snooze an incident for a while (like 30m or 2h); it triggers again afterwards
    Snooze { id: u64, duration: String },
    /// Assign an incident to someone
    Reassign { id: u64, user: String },
    /// Search incidents and messages, open and resolved: words, "phrases", -exclusions and
    /// filters such as service:NAME sev:>=error status:resolved author:alice after:2026-01-01
    Search {
        #[arg(required = true, num_args = 1..)]
        query: Vec<String>,
        #[arg(long, default_value = "20")]
        limit: usize,
        /// table (default) or json
        #[arg(long, default_value = "table")]
        output: cli::Output,
    },
    /// Write a blameless postmortem draft (Markdown) of an incident
    Postmortem {
        id: u64,
        /// Write it to this file instead of standard output
        #[arg(long, short, value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Page the next escalation level of an incident now
    Escalate { id: u64 },
    /// Who is on call now and next, per schedule
    Oncall {
        /// table (default) or json
        #[arg(long, default_value = "table")]
        output: cli::Output,
    },
    /// List, add and expire silences (nobody is paged for what they match)
    Silence {
        #[command(subcommand)]
        verb: cli::SilenceVerb,
    },
    /// List, add and delete schedule overrides
    Override {
        #[command(subcommand)]
        verb: cli::OverrideVerb,
    },
    /// What would happen if an alert like this fired now: route, policy, who is paged how and when
    Explain(cli::ExplainArgs),
    /// Work with configuration files
    Config {
        #[command(subcommand)]
        verb: ConfigVerb,
    },
}

#[derive(Subcommand)]
enum ConfigVerb {
    /// Check a configuration file and report every error with file:line:column
    Check { file: PathBuf },
}

fn main() -> ExitCode {
    let command = Command::parse();
    let load = klaxon::config::LoadOptions {
        config_file: command.engine.config.clone(),
        data_dir: command.engine.data.clone(),
        listen: command.engine.listen,
    };
    let remote = cli::Remote {
        url: command.remote.url.clone(),
        token: command.remote.token.clone(),
        load: load.clone(),
    };
    let result = match command.verb {
        None => klaxon::tui::run(klaxon::tui::Options {
            load: load.clone(),
            connect: command.console.connect.clone(),
            token: command.remote.token.clone(),
            user: command.console.user.clone(),
            read_only: command.console.read_only,
            theme: command.console.theme.clone(),
            no_bell: command.console.no_bell,
            mouse: command.console.mouse,
        }),
        Some(Verb::Serve) => cli::serve(&load),
        Some(Verb::Config {
            verb: ConfigVerb::Check { file },
        }) => cli::check_config(&file),
        Some(Verb::Send(arguments)) => cli::run_remote(&remote, cli::Request::Send(arguments)),
        Some(Verb::Incidents(arguments)) => cli::run_remote(&remote, cli::Request::List(arguments)),
        Some(Verb::Show { id, output }) => {
            cli::run_remote(&remote, cli::Request::Show { id, output })
        }
        Some(Verb::Ack { id }) => cli::run_remote(&remote, cli::Request::act(id, "acknowledge")),
        Some(Verb::Resolve { id }) => cli::run_remote(&remote, cli::Request::act(id, "resolve")),
        Some(Verb::Note { id, text }) => cli::run_remote(
            &remote,
            cli::Request::Act {
                id,
                action: "notes",
                body: serde_json::json!({"text": text.join(" ")}),
            },
        ),
        Some(Verb::Snooze { id, duration }) => cli::run_remote(
            &remote,
            cli::Request::Act {
                id,
                action: "snooze",
                body: serde_json::json!({"duration": duration}),
            },
        ),
        Some(Verb::Search {
            query,
            limit,
            output,
        }) => cli::run_remote(
            &remote,
            cli::Request::Search {
                text: query.join(" "),
                limit,
                output,
            },
        ),
        Some(Verb::Postmortem { id, file }) => {
            cli::run_remote(&remote, cli::Request::Postmortem { id, file })
        }
        Some(Verb::Escalate { id }) => cli::run_remote(&remote, cli::Request::act(id, "escalate")),
        Some(Verb::Oncall { output }) => cli::run_remote(
            &remote,
            cli::Request::Paging(cli::PagingRequest::OnCall { output }),
        ),
        Some(Verb::Silence { verb }) => cli::run_remote(
            &remote,
            cli::Request::Paging(cli::PagingRequest::Silence(verb)),
        ),
        Some(Verb::Override { verb }) => cli::run_remote(
            &remote,
            cli::Request::Paging(cli::PagingRequest::Override(verb)),
        ),
        Some(Verb::Explain(arguments)) => cli::run_remote(
            &remote,
            cli::Request::Paging(cli::PagingRequest::Explain(arguments)),
        ),
        Some(Verb::Reassign { id, user }) => cli::run_remote(
            &remote,
            cli::Request::Act {
                id,
                action: "reassign",
                body: serde_json::json!({"to": user}),
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("klaxon: {message}");
            ExitCode::FAILURE
        }
    }
}
