//! Generated local credentials: the built-in integrations' keys and the local admin token,
//! created once in `<data_dir>/secrets.toml` (mode 0600) and reused on every later start.
//! Depends on `toml`, `rand`, `hex` and `config::diagnostic`.

use super::diagnostic::ConfigError;
use super::{MAX_KEY_LENGTH, MAX_TOKEN_LENGTH, MIN_SECRET_LENGTH};
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// The name of the secrets file inside the data directory.
pub const SECRETS_FILE_NAME: &str = "secrets.toml";

/// Credentials klaxon generated for this machine, so the local CLI and TUI work without
/// anyone copying a token around.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSecrets {
    /// The token of the generated local user `admin`.
    pub admin_token: String,
    /// Integration name -> key, for the integrations of the built-in default config.
    pub integration_keys: BTreeMap<String, String>,
}

/// Reads the secrets file in `data_dir`; `None` if it is missing or unusable. Never creates
/// anything, so it is safe for read-only commands.
pub fn local_secrets(data_dir: &Path) -> Option<LocalSecrets> {
    let path = data_dir.join(SECRETS_FILE_NAME);
    match read(&path) {
        Ok(Some(secrets)) => secrets.admin_token.map(|admin_token| LocalSecrets {
            admin_token,
            integration_keys: secrets.integration_keys,
        }),
        _ => None,
    }
}

/// Returns the local secrets, generating the admin token and the keys of `integrations`
/// that do not exist yet. Existing values are never changed.
pub(crate) fn ensure(data_dir: &Path, integrations: &[&str]) -> Result<LocalSecrets, ConfigError> {
    let path = data_dir.join(SECRETS_FILE_NAME);
    // Two klaxon processes may start at once on a fresh machine; the loser of the race to
    // create the file reads the winner's, so both end up with the same credentials.
    for _ in 0..3 {
        let existing = read(&path)?;
        let created = existing.is_none();
        let mut secrets = existing.unwrap_or_default();
        let mut changed = false;
        if secrets.admin_token.is_none() {
            secrets.admin_token = Some(generate());
            changed = true;
        }
        for name in integrations {
            if !secrets.integration_keys.contains_key(*name) {
                secrets
                    .integration_keys
                    .insert((*name).to_string(), generate());
                changed = true;
            }
        }
        if changed {
            match write(&path, &secrets, created) {
                Ok(()) => {}
                Err(error) if created && error.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(error) => {
                    return Err(ConfigError::Secrets {
                        path,
                        message: "cannot write the generated secrets".to_string(),
                        source: error,
                    })
                }
            }
        }
        return Ok(LocalSecrets {
            admin_token: secrets.admin_token.unwrap_or_default(),
            integration_keys: secrets.integration_keys,
        });
    }
    Err(ConfigError::SecretsInvalid {
        path,
        message: "the secrets file keeps appearing and disappearing; is another klaxon starting?"
            .to_string(),
    })
}

/// 32 random bytes from the operating system-seeded CSPRNG, hex-encoded: 64 characters that
/// are safe in URLs and headers.
fn generate() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The secrets file's contents. Unknown keys are kept so that a file written by a newer klaxon
/// survives being updated by an older one.
#[derive(Debug, Default)]
struct SecretsFile {
    admin_token: Option<String>,
    integration_keys: BTreeMap<String, String>,
    other: toml::Table,
}

fn read(path: &Path) -> Result<Option<SecretsFile>, ConfigError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => {
            return Err(ConfigError::Secrets {
                path: path.to_path_buf(),
                message: "cannot read the generated secrets".to_string(),
                source: error,
            })
        }
    };
    let invalid = |message: String| ConfigError::SecretsInvalid {
        path: path.to_path_buf(),
        message: format!("{message}; fix it, or delete the file to generate new keys and tokens"),
    };
    let mut table: toml::Table = toml::from_str(&text)
        .map_err(|error| invalid(format!("not valid TOML: {}", error.message().trim())))?;

    let admin_token = match table.remove("admin_token") {
        None => None,
        Some(toml::Value::String(token)) => {
            check_secret(&token, MAX_TOKEN_LENGTH)
                .map_err(|problem| invalid(format!("admin_token {problem}")))?;
            Some(token)
        }
        Some(_) => return Err(invalid("admin_token must be a string".to_string())),
    };

    let mut integration_keys = BTreeMap::new();
    match table.remove("integration_keys") {
        None => {}
        Some(toml::Value::Table(keys)) => {
            for (name, key) in keys {
                let toml::Value::String(key) = key else {
                    return Err(invalid(format!("integration_keys.{name} must be a string")));
                };
                check_secret(&key, MAX_KEY_LENGTH)
                    .map_err(|problem| invalid(format!("integration_keys.{name} {problem}")))?;
                integration_keys.insert(name, key);
            }
        }
        Some(_) => return Err(invalid("integration_keys must be a table".to_string())),
    }

    Ok(Some(SecretsFile {
        admin_token,
        integration_keys,
        other: table,
    }))
}

/// A hand-edited file must not smuggle in a weak secret: at least as long as configured keys
/// and tokens, in the key alphabet that generated values use.
fn check_secret(secret: &str, maximum: usize) -> Result<(), &'static str> {
    if secret.len() < MIN_SECRET_LENGTH {
        return Err("is too short");
    }
    if secret.len() > maximum {
        return Err("is too long");
    }
    if !secret
        .chars()
        .all(|character| character.is_ascii_alphanumeric() || character == '_' || character == '-')
    {
        return Err("contains characters other than letters, digits, \"_\" and \"-\"");
    }
    Ok(())
}

fn render(secrets: &SecretsFile) -> String {
    let mut table = secrets.other.clone();
    if let Some(token) = &secrets.admin_token {
        table.insert(
            "admin_token".to_string(),
            toml::Value::String(token.clone()),
        );
    }
    let keys: toml::Table = secrets
        .integration_keys
        .iter()
        .map(|(name, key)| (name.clone(), toml::Value::String(key.clone())))
        .collect();
    table.insert("integration_keys".to_string(), toml::Value::Table(keys));
    let body = toml::to_string(&table).unwrap_or_default();
    format!(
        "# Generated by klaxon: the local admin token and the keys of the built-in integrations.\n\
         # Keep this file private. Delete it to generate new ones.\n\n{body}"
    )
}

/// Writes through a private temporary file so that no reader ever sees half a file. A new
/// file is linked into place only if none exists yet (`AlreadyExists` otherwise); an update
/// replaces the old file.
fn write(path: &Path, secrets: &SecretsFile, create_only: bool) -> io::Result<()> {
    let directory = path.parent().unwrap_or(Path::new("."));
    create_private_directory(directory)?;
    let temporary = directory.join(format!(
        ".{SECRETS_FILE_NAME}.{}.{}.tmp",
        std::process::id(),
        hex::encode(rand::random::<[u8; 4]>())
    ));
    let result = write_private(&temporary, render(secrets).as_bytes()).and_then(|()| {
        if create_only {
            fs::hard_link(&temporary, path)
        } else {
            fs::rename(&temporary, path)
        }
    });
    // After a hard link, or after a failure, the temporary name is no longer wanted.
    let _ = fs::remove_file(&temporary);
    result?;
    sync_directory(directory);
    Ok(())
}

fn write_private(path: &Path, contents: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

/// The data directory holds credentials and incident history: only its owner may read it.
fn create_private_directory(directory: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(directory)
}

/// Makes the new directory entry durable; best effort, as not every platform allows it.
fn sync_directory(directory: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = fs::File::open(directory) {
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = directory;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_are_64_hex_characters_and_distinct() {
        let first = generate();
        assert_eq!(first.len(), 64);
        assert!(first.chars().all(|character| character.is_ascii_hexdigit()));
        assert_ne!(first, generate());
    }

    #[test]
    fn ensure_creates_once_then_reuses_and_extends() {
        let directory = tempfile::tempdir().unwrap();
        let data_dir = directory.path().join("nested").join("data");
        let first = ensure(&data_dir, &["generic"]).unwrap();
        let second = ensure(&data_dir, &["generic", "alertmanager"]).unwrap();
        assert_eq!(first.admin_token, second.admin_token);
        assert_eq!(
            first.integration_keys["generic"],
            second.integration_keys["generic"]
        );
        assert!(second.integration_keys.contains_key("alertmanager"));
        assert_eq!(local_secrets(&data_dir), Some(second));
        let leftovers: Vec<_> = fs::read_dir(&data_dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![SECRETS_FILE_NAME]);
    }

    #[test]
    fn unknown_keys_survive_an_update() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join(SECRETS_FILE_NAME);
        fs::write(
            &path,
            "future = \"x\"\nadmin_token = \"0123456789abcdef\"\n",
        )
        .unwrap();
        let secrets = ensure(directory.path(), &["generic"]).unwrap();
        assert_eq!(secrets.admin_token, "0123456789abcdef");
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains("future = \"x\""), "{text}");
    }

    #[test]
    fn a_damaged_file_is_refused_not_overwritten() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join(SECRETS_FILE_NAME);
        fs::write(&path, "admin_token = \"short\"\n").unwrap();
        let error = ensure(directory.path(), &[]).unwrap_err();
        assert!(
            error.to_string().contains("admin_token is too short"),
            "{error}"
        );
        assert_eq!(
            fs::read_to_string(&path).unwrap(),
            "admin_token = \"short\"\n"
        );
        assert_eq!(local_secrets(directory.path()), None);
    }

    #[test]
    fn missing_file_means_no_local_secrets() {
        let directory = tempfile::tempdir().unwrap();
        assert_eq!(local_secrets(directory.path()), None);
        assert!(fs::read_dir(directory.path()).unwrap().next().is_none());
    }
}
