//! The configuration corpus: every `tests/config_corpus/valid/*.toml` and the example in
//! `config/` must pass `config::check_file`; every `invalid/NAME.toml` must fail with exactly
//! the report in `invalid/NAME.expected` (`NAME.toml:LINE:COLUMN: message` lines).
//! Run with `KLAXON_BLESS=1` to rewrite the `.expected` files after a deliberate change,
//! then review the diff.

use klaxon::config::{check_file, ConfigError};
use std::fs;
use std::path::{Path, PathBuf};

fn corpus(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("config_corpus")
        .join(kind)
}

fn files_with_extension(directory: &Path, extension: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(directory)
        .unwrap_or_else(|error| panic!("{}: {error}", directory.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|found| found == extension))
        .collect();
    files.sort();
    files
}

/// The report with the file shown by name only, so expectations do not depend on where the
/// repository is checked out.
fn report(path: &Path, error: &ConfigError) -> String {
    let name = path.file_name().unwrap().to_string_lossy();
    error
        .diagnostics()
        .iter()
        .map(|diagnostic| {
            format!(
                "{name}:{}:{}: {}",
                diagnostic.line, diagnostic.column, diagnostic.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn valid_files_pass() {
    let files = files_with_extension(&corpus("valid"), "toml");
    assert!(files.len() >= 3, "the valid corpus is missing");
    for path in files {
        if let Err(error) = check_file(&path) {
            panic!("{} should be valid:\n{error}", path.display());
        }
    }
}

#[test]
fn the_example_passes() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join("klaxon.example.toml");
    let config = check_file(&path).unwrap_or_else(|error| panic!("{error}"));
    assert!(config.integrations.len() >= 3);
    assert!(config.users.len() >= 3);
    // Every on-call section is shown, so the example documents all of them.
    let oncall = &config.oncall;
    assert_eq!(oncall.directory.people.len(), config.users.len());
    assert!(!oncall.directory.teams.is_empty());
    assert!(!oncall.directory.schedules.is_empty());
    assert!(!oncall.directory.policies.is_empty());
    assert!(!oncall.routing.routes.is_empty());
    assert!(oncall.routing.default_policy.is_some());
    assert!(!oncall.maintenance.is_empty());
    assert!(!oncall.overrides.is_empty());
    assert!(oncall.notify.email.is_some());
    assert!(oncall.notify.sms.is_some() && oncall.notify.voice.is_some());
}

#[test]
fn invalid_files_fail_with_the_expected_report() {
    let directory = corpus("invalid");
    let files = files_with_extension(&directory, "toml");
    assert!(files.len() >= 20, "only {} invalid cases", files.len());
    let bless = std::env::var_os("KLAXON_BLESS").is_some();
    let mut failures = Vec::new();
    for path in &files {
        let expected_path = path.with_extension("expected");
        let error = match check_file(path) {
            Ok(_) => {
                failures.push(format!("{}: accepted, but should fail", path.display()));
                continue;
            }
            Err(error) => error,
        };
        assert!(
            matches!(error, ConfigError::Invalid { .. }),
            "{}: {error}",
            path.display()
        );
        let actual = report(path, &error);
        // The rendered error is the same report with the path as given.
        let shown = error.to_string();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        assert_eq!(
            shown.replace(&path.display().to_string(), &name),
            actual,
            "{}: Display and diagnostics disagree",
            path.display()
        );
        if bless {
            fs::write(&expected_path, format!("{actual}\n")).unwrap();
            continue;
        }
        let expected = fs::read_to_string(&expected_path)
            .unwrap_or_else(|error| panic!("{}: {error}", expected_path.display()));
        if expected.trim_end() != actual {
            failures.push(format!(
                "{}:\n--- expected\n{}\n--- actual\n{actual}",
                path.display(),
                expected.trim_end()
            ));
        }
    }
    // Every expectation belongs to a case, so none is silently skipped after a rename.
    for expected_path in files_with_extension(&directory, "expected") {
        if !expected_path.with_extension("toml").exists() {
            failures.push(format!("{}: no matching .toml", expected_path.display()));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}
