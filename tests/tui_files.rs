//! Keymap and theme files: the shipped ones and valid examples load; every invalid file in
//! `tests/tui_corpus/{keymap,theme}` fails with exactly the report in its `.expected` file
//! (`NAME.toml:LINE:COLUMN: message`). `KLAXON_BLESS=1` rewrites the expectations after a
//! deliberate change; review the diff.

use klaxon::tui::file_error::FileError;
use klaxon::tui::keymap::{short_report, Key, Keymap};
use klaxon::tui::theme::Theme;
use klaxon::tui::Action;
use std::path::{Path, PathBuf};

fn corpus(kind: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("tui_corpus")
        .join(kind)
}

fn files(directory: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension()
                .is_some_and(|extension| extension == "toml")
        })
        .collect();
    files.sort();
    files
}

fn check(kind: &str, load: impl Fn(&Path) -> Result<(), FileError>) {
    let files = files(&corpus(kind));
    assert!(files.len() >= 5, "the {kind} corpus is missing");
    let bless = std::env::var_os("KLAXON_BLESS").is_some();
    let mut failures = Vec::new();
    for path in files {
        let report = match load(&path) {
            Ok(()) => format!("{} loaded but should fail", path.display()),
            Err(error) => short_report(&error),
        };
        let expected_path = path.with_extension("expected");
        if bless {
            std::fs::write(&expected_path, format!("{report}\n")).unwrap();
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        if expected.trim_end() != report {
            failures.push(format!(
                "{}:\nexpected:\n{}\nfound:\n{report}",
                path.display(),
                expected.trim_end()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn invalid_keymaps_fail_with_file_line_and_reason() {
    check("keymap", |path| Keymap::load(path).map(|_| ()));
}

#[test]
fn invalid_themes_fail_with_file_line_and_reason() {
    check("theme", |path| {
        let text = std::fs::read_to_string(path).unwrap();
        Theme::parse("test", path, &text).map(|_| ())
    });
}

#[test]
fn valid_examples_load() {
    let keymap = Keymap::load(&corpus("valid").join("keymap.toml")).unwrap();
    assert_eq!(keymap.action(&Key::char('K')), Some(Action::Acknowledge));
    assert_eq!(keymap.action(&Key::char('a')), None);
    assert!(keymap.keys(Action::Escalate).is_empty());
    assert!(keymap.confirms(Action::Quit));
    let text = std::fs::read_to_string(corpus("valid").join("theme.toml")).unwrap();
    Theme::parse("mine", &corpus("valid").join("theme.toml"), &text).unwrap();
}

#[test]
fn the_shipped_keymap_file_is_the_built_in_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join("keymap.toml");
    assert_eq!(
        std::fs::read_to_string(path).unwrap(),
        klaxon::tui::keymap::DEFAULT_KEYMAP
    );
}

#[test]
fn themes_load_by_name_or_path_and_unknown_names_say_what_exists() {
    for name in ["default", "dark", "light", "high-contrast", "mono"] {
        assert_eq!(Theme::load(name).unwrap().name, name);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("themes")
        .join("dark.toml");
    assert_eq!(Theme::load(path.to_str().unwrap()).unwrap().name, "dark");
    let error = Theme::load("solarised").unwrap_err();
    assert!(
        error.contains("default, dark, light, high-contrast, mono"),
        "{error}"
    );
    let error = Theme::load("/nonexistent/theme.toml").unwrap_err();
    assert!(
        error.starts_with("/nonexistent/theme.toml:1:1: cannot read"),
        "{error}"
    );
}
