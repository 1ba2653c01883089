//! Writing a postmortem draft to a file for the console: never over an existing file unless
//! asked (`:postmortem! FILE`), with errors in words that fit the status line.

use std::io::Write;
use std::path::Path;

/// Writes `markdown` to `path`; an existing file is replaced only when `overwrite`.
pub fn write_draft(path: &Path, markdown: &str, overwrite: bool) -> Result<(), String> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if overwrite {
        options.create(true).truncate(true);
    } else {
        // Checked by the file system in one step, so nothing between a check and the write
        // can be overwritten.
        options.create_new(true);
    }
    let shown = path.display();
    let mut file = options.open(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::AlreadyExists => format!(
            "{shown} already exists (:postmortem! {shown} replaces it, or name another file)"
        ),
        _ => format!("{shown}: {error}"),
    })?;
    file.write_all(markdown.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|error| format!("{shown}: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_existing_file_is_kept_unless_overwriting_is_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("incident-2-postmortem.md");
        write_draft(&path, "# first", false).unwrap();
        let refused = write_draft(&path, "# second", false).unwrap_err();
        assert!(refused.contains("already exists"), "{refused}");
        assert!(refused.contains(":postmortem!"), "{refused}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# first");
        write_draft(&path, "# second", true).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "# second");
        let missing = write_draft(&dir.path().join("no/such/dir.md"), "x", false).unwrap_err();
        assert!(missing.contains("no/such/dir.md"), "{missing}");
    }
}
