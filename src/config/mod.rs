//! Configuration: the TOML schema, built-in defaults, generated secrets kept in the data dir,
//! and validation that reports every error with file:line:column.

mod diagnostic;
mod secrets;
mod validate;

pub use diagnostic::{ConfigError, Diagnostic};
pub use secrets::{local_secrets, LocalSecrets, SECRETS_FILE_NAME};

use crate::ingest::Source;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the engine listens unless told otherwise: loopback only, so a fresh install is not
/// reachable from the network.
pub const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9800));
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// Bounds of `max_body_bytes`: 1 KiB to 64 MiB.
pub const MIN_BODY_BYTES: usize = 1024;
pub const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Longest chat message or note, in bytes, unless `max_message_bytes` says otherwise.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024;
/// Bounds of `max_message_bytes`: 256 bytes to 1 MiB.
pub const MIN_MESSAGE_BYTES: usize = 256;
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
pub const DEFAULT_HEADER_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_REPLAY_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Requests per second per integration when `rate_limit` is not set; `burst` defaults to twice
/// the rate.
pub const DEFAULT_RATE_LIMIT: u32 = 1000;
/// Shortest accepted integration key or user token, in characters.
pub const MIN_SECRET_LENGTH: usize = 16;
pub const MAX_KEY_LENGTH: usize = 256;
pub const MAX_TOKEN_LENGTH: usize = 1024;
/// Longest integration or user name, in characters.
pub const MAX_NAME_LENGTH: usize = 64;
/// The user added when a configuration defines no `[[users]]`.
pub const LOCAL_ADMIN_NAME: &str = "admin";
/// The integrations of the built-in default configuration (name, source).
pub const DEFAULT_INTEGRATIONS: [(&str, Source); 2] = [
    ("generic", Source::Generic),
    ("alertmanager", Source::Alertmanager),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Responder,
    Admin,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub server: ServerConfig,
    pub integrations: Vec<IntegrationConfig>,
    pub users: Vec<UserConfig>,
    pub oncall: OnCallConfig,
}

/// Who gets paged, how and when: people's contact methods and rules, teams, schedules,
/// escalation policies, routing, maintenance windows and overrides from the file, and how
/// the notification channels reach the world.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OnCallConfig {
    /// One person per `[[users]]` entry, with their contact methods and rules.
    pub directory: crate::domain::escalation::Directory,
    pub routing: crate::domain::routing::Routing,
    /// `[[silences]]`: maintenance windows, identified by their names.
    pub maintenance: Vec<crate::domain::silence::Silence>,
    /// `[[schedules.overrides]]`, identified as `config-N` in file order.
    pub overrides: Vec<crate::domain::schedule::Override>,
    pub notify: crate::notify::NotifySettings,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Largest request body accepted, in bytes (413 above it).
    pub max_body_bytes: usize,
    /// Longest chat message or note accepted, in bytes.
    pub max_message_bytes: usize,
    /// How long a client may take to send the request headers.
    pub header_timeout: Duration,
    /// How long a whole request (headers, body, answer) may take.
    pub request_timeout: Duration,
    /// How long an exact redelivery of an accepted payload is recognised as one.
    pub replay_window: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct IntegrationConfig {
    pub name: String,
    pub source: Source,
    pub key: String,
    pub service: Option<String>,
    /// `None`: unlimited.
    pub rate_limit: Option<RateLimit>,
    /// Source-specific options (Grafana's HMAC secret, CloudWatch's signature checks…).
    pub options: crate::ingest::Options,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UserConfig {
    pub name: String,
    pub token: String,
    pub role: Role,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: DEFAULT_LISTEN,
            data_dir: default_data_dir(),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            replay_window: DEFAULT_REPLAY_WINDOW,
        }
    }
}

/// What the command line says about where the configuration comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// `--config FILE`; without it the default file is used if it exists, else the built-in
    /// default configuration.
    pub config_file: Option<PathBuf>,
    /// `--data DIR`; wins over `[server] data_dir`.
    pub data_dir: Option<PathBuf>,
    /// `--listen ADDR`; wins over `[server] listen`.
    pub listen: Option<SocketAddr>,
}

/// Loads the configuration the engine runs with: the given file (which must exist), else
/// [`default_config_file`] if it exists, else the built-in default. Command-line overrides
/// are applied, then generated credentials are created or reused in
/// `<data_dir>/secrets.toml`: the built-in integrations' keys, and a local `admin` user when
/// the configuration defines no users.
pub fn load(options: &LoadOptions) -> Result<Config, ConfigError> {
    let fallback = default_config_file().filter(|path| path.try_exists().unwrap_or(true));
    load_with_fallback(options, fallback.as_deref())
}

/// [`load`] with the default configuration file given, so tests do not depend on the home
/// directory of whoever runs them.
fn load_with_fallback(
    options: &LoadOptions,
    fallback_file: Option<&Path>,
) -> Result<Config, ConfigError> {
    let file = options.config_file.as_deref().or(fallback_file);
    let (mut config, generated_integrations) = match file {
        Some(path) => (check_file(path)?, Vec::new()),
        None => built_in(),
    };
    if let Some(data_dir) = &options.data_dir {
        config.server.data_dir.clone_from(data_dir);
    }
    if let Some(listen) = options.listen {
        config.server.listen = listen;
    }
    let needs_admin = config.users.is_empty();
    if needs_admin || !generated_integrations.is_empty() {
        let secrets = secrets::ensure(&config.server.data_dir, &generated_integrations)?;
        for integration in &mut config.integrations {
            if let Some(key) = secrets.integration_keys.get(&integration.name) {
                if generated_integrations.contains(&integration.name.as_str()) {
                    integration.key.clone_from(key);
                }
            }
        }
        if needs_admin {
            config.users.push(UserConfig {
                name: LOCAL_ADMIN_NAME.to_string(),
                token: secrets.admin_token,
                role: Role::Admin,
            });
        }
    }
    Ok(config)
}

/// The configuration used when there is no file, with empty keys for the caller to fill in
/// from the secrets file, and the names of those integrations.
fn built_in() -> (Config, Vec<&'static str>) {
    let integrations = DEFAULT_INTEGRATIONS
        .iter()
        .map(|(name, source)| IntegrationConfig {
            name: (*name).to_string(),
            source: *source,
            key: String::new(),
            service: None,
            rate_limit: Some(RateLimit {
                per_second: DEFAULT_RATE_LIMIT,
                burst: DEFAULT_RATE_LIMIT.saturating_mul(2),
            }),
            options: crate::ingest::Options::default(),
        })
        .collect();
    let config = Config {
        server: ServerConfig::default(),
        integrations,
        users: Vec::new(),
        oncall: OnCallConfig::default(),
    };
    (config, DEFAULT_INTEGRATIONS.map(|(name, _)| name).to_vec())
}

/// Reads and validates a configuration file, reporting every problem. Only reads: no
/// directory or secret is created, and no local admin is added (the result holds exactly
/// the users the file defines). Used by `klaxon config check`.
pub fn check_file(path: &Path) -> Result<Config, ConfigError> {
    let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    match String::from_utf8(bytes) {
        Ok(text) => check_text(&text, path),
        Err(error) => {
            let valid = error.utf8_error().valid_up_to();
            let prefix = String::from_utf8_lossy(&error.as_bytes()[..valid]);
            Err(ConfigError::Invalid {
                path: path.to_path_buf(),
                diagnostics: vec![Diagnostic::at(
                    &prefix,
                    valid,
                    "invalid TOML: the file is not valid UTF-8",
                )],
            })
        }
    }
}

/// Validates `text` as if read from `path` (used in reports, and as the base of a relative
/// `data_dir`). Does no I/O.
pub fn check_text(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let base_dir = path.parent().unwrap_or(Path::new(""));
    match validate::validate(text, base_dir) {
        Ok(file) => Ok(Config {
            server: file.server,
            integrations: file.integrations,
            users: file.users,
            oncall: file.oncall,
        }),
        Err(diagnostics) => Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            diagnostics,
        }),
    }
}

fn project_directories() -> Option<directories::ProjectDirs> {
    directories::ProjectDirs::from("", "", "klaxon")
}

/// `$XDG_DATA_HOME/klaxon` (`~/.local/share/klaxon`; the platform's equivalent elsewhere).
/// Without a home directory, `klaxon-data` in the working directory: never a temporary
/// directory, whose contents would vanish with accepted alerts in them.
pub fn default_data_dir() -> PathBuf {
    project_directories()
        .map(|directories| directories.data_dir().to_path_buf())
        .unwrap_or_else(|| PathBuf::from("klaxon-data"))
}

/// `$XDG_CONFIG_HOME/klaxon/klaxon.toml` (`~/.config/klaxon/klaxon.toml`), whether or not it
/// exists; `None` only when no home directory can be found.
pub fn default_config_file() -> Option<PathBuf> {
    project_directories().map(|directories| directories.config_dir().join("klaxon.toml"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn options(data_dir: &Path) -> LoadOptions {
        LoadOptions {
            data_dir: Some(data_dir.to_path_buf()),
            ..LoadOptions::default()
        }
    }

    #[test]
    fn built_in_default_generates_secrets_once_and_reuses_them() {
        let directory = tempfile::tempdir().unwrap();
        let data_dir = directory.path().join("a").join("klaxon");
        let first = load_with_fallback(&options(&data_dir), None).unwrap();

        assert_eq!(first.server.listen, DEFAULT_LISTEN);
        assert_eq!(first.server.data_dir, data_dir);
        assert_eq!(first.server.max_body_bytes, 1024 * 1024);
        assert_eq!(first.server.header_timeout, Duration::from_secs(10));
        assert_eq!(first.server.request_timeout, Duration::from_secs(30));
        assert_eq!(first.server.replay_window, Duration::from_secs(600));
        let integrations: Vec<_> = first
            .integrations
            .iter()
            .map(|integration| (integration.name.as_str(), integration.source))
            .collect();
        assert_eq!(
            integrations,
            vec![
                ("generic", Source::Generic),
                ("alertmanager", Source::Alertmanager)
            ]
        );
        for integration in &first.integrations {
            assert_eq!(integration.key.len(), 64);
        }
        assert_ne!(first.integrations[0].key, first.integrations[1].key);
        assert_eq!(first.users.len(), 1);
        assert_eq!(first.users[0].name, "admin");
        assert_eq!(first.users[0].role, Role::Admin);
        assert_eq!(first.users[0].token.len(), 64);

        let secrets_path = data_dir.join(SECRETS_FILE_NAME);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&secrets_path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let mode = fs::metadata(&data_dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
        let written = fs::read_to_string(&secrets_path).unwrap();

        let second = load_with_fallback(&options(&data_dir), None).unwrap();
        assert_eq!(first, second);
        assert_eq!(fs::read_to_string(&secrets_path).unwrap(), written);

        let local = local_secrets(&data_dir).unwrap();
        assert_eq!(local.admin_token, first.users[0].token);
        assert_eq!(local.integration_keys["generic"], first.integrations[0].key);
        assert_eq!(
            local.integration_keys["alertmanager"],
            first.integrations[1].key
        );
    }

    #[test]
    fn overrides_win_over_the_file() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("klaxon.toml");
        fs::write(
            &file,
            "[server]\nlisten = \"0.0.0.0:1234\"\ndata_dir = \"from-file\"\n",
        )
        .unwrap();
        let data_dir = directory.path().join("from-flag");
        let listen: SocketAddr = "127.0.0.1:4321".parse().unwrap();
        let options = LoadOptions {
            config_file: Some(file.clone()),
            data_dir: Some(data_dir.clone()),
            listen: Some(listen),
        };
        let config = load_with_fallback(&options, None).unwrap();
        assert_eq!(config.server.listen, listen);
        assert_eq!(config.server.data_dir, data_dir);
        assert!(!directory.path().join("from-file").exists());

        let without_overrides = LoadOptions {
            config_file: Some(file),
            ..LoadOptions::default()
        };
        let config = load_with_fallback(&without_overrides, None).unwrap();
        assert_eq!(config.server.listen, "0.0.0.0:1234".parse().unwrap());
        assert_eq!(config.server.data_dir, directory.path().join("from-file"));
    }

    #[test]
    fn the_default_file_is_used_when_present_and_a_given_file_wins() {
        let directory = tempfile::tempdir().unwrap();
        let fallback = directory.path().join("default.toml");
        fs::write(&fallback, "[server]\nlisten = \"127.0.0.1:1111\"\n").unwrap();
        let given = directory.path().join("given.toml");
        fs::write(&given, "[server]\nlisten = \"127.0.0.1:2222\"\n").unwrap();
        let data_dir = directory.path().join("data");

        let config = load_with_fallback(&options(&data_dir), Some(&fallback)).unwrap();
        assert_eq!(config.server.listen.port(), 1111);
        // A file defines its own integrations: the built-in ones are not added.
        assert!(config.integrations.is_empty());

        let with_given = LoadOptions {
            config_file: Some(given),
            ..options(&data_dir)
        };
        let config = load_with_fallback(&with_given, Some(&fallback)).unwrap();
        assert_eq!(config.server.listen.port(), 2222);
    }

    #[test]
    fn a_file_without_users_gets_the_local_admin() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("klaxon.toml");
        fs::write(
            &file,
            "[[integrations]]\nname = \"web\"\nsource = \"generic\"\nkey = \"0123456789abcdef\"\n",
        )
        .unwrap();
        let data_dir = directory.path().join("data");
        let options = LoadOptions {
            config_file: Some(file),
            ..options(&data_dir)
        };
        let config = load_with_fallback(&options, None).unwrap();
        assert_eq!(config.integrations[0].key, "0123456789abcdef");
        assert_eq!(config.users.len(), 1);
        assert_eq!(config.users[0].name, LOCAL_ADMIN_NAME);
        let local = local_secrets(&data_dir).unwrap();
        assert_eq!(local.admin_token, config.users[0].token);
        assert!(local.integration_keys.is_empty());
    }

    #[test]
    fn a_file_with_users_creates_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("klaxon.toml");
        fs::write(
            &file,
            "[[users]]\nname = \"alice\"\ntoken = \"0123456789abcdef\"\nrole = \"viewer\"\n",
        )
        .unwrap();
        let data_dir = directory.path().join("data");
        let options = LoadOptions {
            config_file: Some(file),
            ..options(&data_dir)
        };
        let config = load_with_fallback(&options, None).unwrap();
        assert_eq!(config.users.len(), 1);
        assert_eq!(config.users[0].role, Role::Viewer);
        assert!(!data_dir.exists());
    }

    #[test]
    fn a_missing_given_file_is_an_error() {
        let directory = tempfile::tempdir().unwrap();
        let options = LoadOptions {
            config_file: Some(directory.path().join("absent.toml")),
            ..options(directory.path())
        };
        let error = load_with_fallback(&options, None).unwrap_err();
        assert!(matches!(error, ConfigError::Read { .. }), "{error}");
        assert!(error.to_string().contains("absent.toml"), "{error}");
    }

    #[test]
    fn check_creates_nothing() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("klaxon.toml");
        fs::write(&file, "[server]\ndata_dir = \"data\"\n").unwrap();
        let config = check_file(&file).unwrap();
        assert!(config.users.is_empty());
        assert_eq!(config.server.data_dir, directory.path().join("data"));
        let entries: Vec<_> = fs::read_dir(directory.path()).unwrap().collect();
        assert_eq!(entries.len(), 1);
    }

    #[test]
    fn invalid_utf8_is_reported_with_its_position() {
        let directory = tempfile::tempdir().unwrap();
        let file = directory.path().join("klaxon.toml");
        fs::write(&file, b"[server]\nlisten = \"\xff\"\n").unwrap();
        let error = check_file(&file).unwrap_err();
        assert_eq!(
            error.diagnostics(),
            [Diagnostic {
                line: 2,
                column: 11,
                message: "invalid TOML: the file is not valid UTF-8".to_string()
            }]
        );
    }

    #[test]
    fn default_paths_end_in_klaxon() {
        assert!(
            default_data_dir().ends_with("klaxon") || default_data_dir().ends_with("klaxon-data")
        );
        if let Some(file) = default_config_file() {
            assert!(file.ends_with("klaxon/klaxon.toml"));
        }
    }
}
