//! Saved conversations: `/save NAME`, `/load NAME`, `/sessions`, `--resume`, `--continue`.
//!
//! A conversation is saved as one JSON file under `$XDG_STATE_HOME/chatbot-otel/sessions/`:
//! its messages (thinking and tool messages included), model, system prompt, parameters
//! and — what makes it one conversation in a tracing backend across restarts — its
//! conversation id. (`ollama run`'s `/save` makes a server-side model instead; this saves
//! the chat.) Files hold prompts, so they are created `0600` in a `0700` directory, and
//! written atomically (a temporary file renamed over the old one), so a crash never leaves
//! half a file. A format version guards against reading a file a newer program wrote.
//!
//! "Most recent" (`/sessions`' order, `--continue`'s pick) is by `saved_at`, written to the
//! nanosecond so that two saves in the same second are told apart (files of older versions
//! carry whole seconds and are still read); a file that cannot be read counts by its
//! modification time, and so do ties.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::ollama::wire::{ChatOptions, Message, Role, Think};

/// The format this program writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The largest file we read back (a saved chat is text; megabytes mean something else).
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// One saved conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    pub format_version: u32,
    pub conversation_id: String,
    /// RFC 3339, UTC, with nanoseconds (older files: whole seconds).
    pub saved_at: String,
    pub model: String,
    pub system_prompt: Option<String>,
    pub options: ChatOptions,
    pub think: Option<Think>,
    pub messages: Vec<Message>,
}

impl Saved {
    /// User prompts in the conversation (what `/sessions` calls turns).
    pub fn turns(&self) -> usize {
        self.messages
            .iter()
            .filter(|m| m.role == Role::User)
            .count()
    }
}

/// A `/sessions` row.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed {
    pub name: String,
    /// When it was saved, RFC 3339 UTC to the second: what a person reads in a column.
    pub saved_at: String,
    pub model: String,
    pub turns: usize,
}

/// Why a save or load did not happen, in one line for the user.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    #[error("invalid session name {0:?}: use at most 64 letters, digits, '.', '_' or '-', not starting with '.'")]
    BadName(String),
    #[error("no saved session named {0:?} (see /sessions)")]
    NotFound(String),
    #[error("{path} is not a saved conversation ({why}); it was left as it is")]
    Corrupt { path: String, why: String },
    #[error("{path} was saved by a newer chatbot-otel (format {found}, this one reads {FORMAT_VERSION}); it was left as it is")]
    FutureVersion { path: String, found: u32 },
    #[error("cannot write {path}: {why}")]
    Write { path: String, why: String },
    #[error("no saved sessions yet (use /save NAME)")]
    NoneSaved,
}

/// The directory of saved conversations.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: PathBuf) -> Store {
        Store { dir }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, name: &str) -> Result<PathBuf, SessionError> {
        if !valid_name(name) {
            return Err(SessionError::BadName(name.to_string()));
        }
        Ok(self.dir.join(format!("{name}.json")))
    }

    /// Writes `saved` as `name`, atomically, `0600`. An existing file that is not ours to
    /// read (corrupt, or a newer format) is not overwritten.
    pub fn save(&self, name: &str, saved: &Saved) -> Result<PathBuf, SessionError> {
        let path = self.path(name)?;
        if path.exists() {
            match read(&path) {
                Ok(_) | Err(SessionError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let write_err = |e: std::io::Error| SessionError::Write {
            path: path.display().to_string(),
            why: e.to_string(),
        };
        create_private_dir(&self.dir).map_err(write_err)?;
        let json = serde_json::to_vec_pretty(saved).map_err(|e| SessionError::Write {
            path: path.display().to_string(),
            why: e.to_string(),
        })?;
        let tmp = self
            .dir
            .join(format!(".{name}.json.tmp{}", std::process::id()));
        let written = (|| {
            let mut file = create_private_file(&tmp)?;
            file.write_all(&json)?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(write_err(e));
        }
        Ok(path)
    }

    /// Reads the conversation saved as `name`.
    pub fn load(&self, name: &str) -> Result<Saved, SessionError> {
        let path = self.path(name)?;
        read(&path).map_err(|e| match e {
            SessionError::NotFound(_) => SessionError::NotFound(name.to_string()),
            other => other,
        })
    }

    /// Every readable saved conversation, newest first (unreadable files are skipped, and
    /// so are files whose name `/load` could not take, such as a hand-copied `a b.json`).
    pub fn list(&self) -> Vec<Listed> {
        self.scan()
            .into_iter()
            .filter_map(|found| {
                let saved = found.saved.ok()?;
                Some(Listed {
                    name: found.name,
                    turns: saved.turns(),
                    saved_at: to_the_second(&saved.saved_at),
                    model: saved.model,
                })
            })
            .collect()
    }

    /// The most recently saved conversation (`--continue`), with its name. When the newest
    /// file cannot be read, that is the answer: continuing an older conversation instead
    /// would be a surprise the user notices turns later.
    pub fn latest(&self) -> Result<(String, Saved), SessionError> {
        let newest = self
            .scan()
            .into_iter()
            .next()
            .ok_or(SessionError::NoneSaved)?;
        newest.saved.map(|saved| (newest.name, saved))
    }

    /// Every `NAME.json` with a valid name, read, newest first: by `saved_at` when the file
    /// is readable, else by its modification time; ties by modification time, then name.
    fn scan(&self) -> Vec<Found> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut found: Vec<Found> = entries
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                let name = path.file_name()?.to_str()?.strip_suffix(".json")?;
                if !valid_name(name) {
                    return None;
                }
                let modified = entry
                    .metadata()
                    .ok()
                    .and_then(|m| m.modified().ok())
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as i128);
                let saved = read(&path);
                let when = saved
                    .as_ref()
                    .ok()
                    .and_then(|s| unix_nanos(&s.saved_at))
                    .unwrap_or(modified);
                Some(Found {
                    name: name.to_string(),
                    saved,
                    when,
                    modified,
                })
            })
            .collect();
        found.sort_by(|a, b| {
            (b.when, b.modified)
                .cmp(&(a.when, a.modified))
                .then_with(|| a.name.cmp(&b.name))
        });
        found
    }
}

/// A saved file as [`Store::scan`] finds it.
struct Found {
    name: String,
    saved: Result<Saved, SessionError>,
    /// When it was saved, in nanoseconds since the epoch.
    when: i128,
    /// Its modification time, likewise.
    modified: i128,
}

/// What `/save` accepts: also what can be a file name in the directory without being
/// hidden, and never our temporary files (`.NAME.json.tmpPID`).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn read(path: &Path) -> Result<Saved, SessionError> {
    let corrupt = |why: String| SessionError::Corrupt {
        path: path.display().to_string(),
        why,
    };
    let meta = match fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(SessionError::NotFound(path.display().to_string()))
        }
        Err(e) => return Err(corrupt(e.to_string())),
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(corrupt(format!("{} bytes is too large", meta.len())));
    }
    let bytes = fs::read(path).map_err(|e| corrupt(e.to_string()))?;
    // The version first, so a newer format is named as such rather than as corrupt.
    #[derive(Deserialize)]
    struct Version {
        format_version: u32,
    }
    let version: Version = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if version.format_version > FORMAT_VERSION {
        return Err(SessionError::FutureVersion {
            path: path.display().to_string(),
            found: version.format_version,
        });
    }
    serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))
}

/// The current time as RFC 3339 UTC with nine fractional digits: two saves within one
/// second are still ordered, and a fixed width keeps the strings sortable by eye.
pub fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    now.replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .and_then(|whole| {
            let seconds = whole.strip_suffix('Z')?;
            Some(format!("{seconds}.{:09}Z", now.nanosecond()))
        })
        .unwrap_or_default()
}

/// `saved_at` (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`, as [`now`] writes it and older versions
/// wrote it without the fraction) in nanoseconds since the epoch; `None` for anything else,
/// such as a hand-edited date.
fn unix_nanos(saved_at: &str) -> Option<i128> {
    let field = |from: usize, to: usize| -> Option<u32> {
        let digits = saved_at.get(from..to)?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        digits.parse().ok()
    };
    let b = saved_at.as_bytes();
    let separators = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if b.len() < 20 || separators.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let rest = saved_at.get(19..)?;
    let (fraction, zone) = match rest.strip_prefix('.') {
        Some(after) => after.split_at(after.find(|c: char| !c.is_ascii_digit())?),
        None => ("", rest),
    };
    if zone != "Z" || fraction.len() > 9 {
        return None;
    }
    let nanos: u32 = format!("{fraction:0<9}").parse().ok()?;
    let date = time::Date::from_calendar_date(
        field(0, 4)? as i32,
        time::Month::try_from(field(5, 7)? as u8).ok()?,
        field(8, 10)? as u8,
    )
    .ok()?;
    let clock = time::Time::from_hms_nano(
        field(11, 13)? as u8,
        field(14, 16)? as u8,
        field(17, 19)? as u8,
        nanos,
    )
    .ok()?;
    Some(
        time::PrimitiveDateTime::new(date, clock)
            .assume_utc()
            .unix_timestamp_nanos(),
    )
}

/// `saved_at` without its fraction of a second, for display.
fn to_the_second(saved_at: &str) -> String {
    match (saved_at.get(..19), saved_at.get(19..)) {
        (Some(seconds), Some(rest)) if rest.starts_with('.') && rest.ends_with('Z') => {
            format!("{seconds}Z")
        }
        _ => saved_at.to_string(),
    }
}

/// `mkdir -p` with `0700` for what it creates: saved chats are nobody else's business.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

fn create_private_file(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::ollama::wire::{ThinkLevel, ToolCall, ToolCallFunction};

    fn sample() -> Saved {
        let mut assistant = Message::assistant("It is noon.", Some("Check the clock.".into()));
        assistant.tool_calls.push(ToolCall {
            id: Some("call_abc12345".into()),
            function: ToolCallFunction {
                index: Some(0),
                name: "get_current_time".into(),
                arguments: serde_json::json!({"timezone": "UTC"}),
            },
        });
        Saved {
            format_version: FORMAT_VERSION,
            conversation_id: "0f8fad5b-d9cb-469f-a165-70867728950e".into(),
            saved_at: now(),
            model: "qwen3:0.6b".into(),
            system_prompt: Some("Be brief.".into()),
            options: ChatOptions {
                temperature: 0.2,
                num_ctx: Some(8192),
                stop: vec!["END".into()],
                ..ChatOptions::default()
            },
            think: Some(Think::Level(ThinkLevel::High)),
            messages: vec![
                Message::new(Role::User, "Time?"),
                assistant,
                Message::tool_result("get_current_time", "12:00"),
                Message::assistant("Noon.", None),
            ],
        }
    }

    /// Save then load gives back the same conversation, thinking and tools included; the
    /// file is 0600 in a 0700 directory and no temporary file is left.
    #[test]
    fn round_trip_with_modes() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().join("state/sessions"));
        let path = store.save("work", &sample()).unwrap();
        assert_eq!(
            store.load("work").unwrap(),
            sample_with(&store.load("work").unwrap())
        );
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(store.dir()), 0o700);
        let files: Vec<_> = fs::read_dir(store.dir()).unwrap().flatten().collect();
        assert_eq!(files.len(), 1, "no temporary file left");
        let rows = store.list();
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].name.as_str(), rows[0].turns), ("work", 1));
        assert_eq!(store.latest().unwrap().0, "work");
    }

    fn sample_with(loaded: &Saved) -> Saved {
        Saved {
            saved_at: loaded.saved_at.clone(),
            ..sample()
        }
    }

    /// Corrupt and future-version files are named as such and never overwritten.
    #[test]
    fn corrupt_and_future_files_are_left_alone() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf());
        fs::write(home.path().join("bad.json"), "{not json").unwrap();
        assert!(matches!(
            store.load("bad"),
            Err(SessionError::Corrupt { .. })
        ));
        assert!(matches!(
            store.save("bad", &sample()),
            Err(SessionError::Corrupt { .. })
        ));
        assert_eq!(
            fs::read_to_string(home.path().join("bad.json")).unwrap(),
            "{not json"
        );
        fs::write(home.path().join("new.json"), r#"{"format_version": 9}"#).unwrap();
        let e = store.load("new").unwrap_err();
        assert!(
            e.to_string().contains("newer chatbot-otel (format 9"),
            "{e}"
        );
        assert!(store.save("new", &sample()).is_err());
        assert_eq!(
            store.load("nope"),
            Err(SessionError::NotFound("nope".into()))
        );
        assert!(matches!(
            store.save("../x", &sample()),
            Err(SessionError::BadName(_))
        ));
        assert!(store.list().is_empty(), "unreadable files are not listed");
    }

    fn saved_at(when: &str) -> Saved {
        Saved {
            saved_at: when.into(),
            ..sample()
        }
    }

    /// Sets a file's modification time to `secs` after the epoch.
    fn set_mtime(path: &Path, secs: u64) {
        let file = fs::File::options().write(true).open(path).unwrap();
        file.set_modified(UNIX_EPOCH + std::time::Duration::from_secs(secs))
            .unwrap();
    }

    /// `saved_at` is written to the nanosecond and read back with or without a fraction.
    #[test]
    fn saved_at_has_nanoseconds_and_old_files_still_parse() {
        let now = now();
        assert_eq!(now.len(), "2025-01-01T10:00:00.123456789Z".len(), "{now}");
        assert!(unix_nanos(&now).is_some(), "{now}");
        assert_eq!(
            unix_nanos("1970-01-01T00:00:01.5Z"),
            Some(1_500_000_000),
            "a short fraction is tenths"
        );
        assert_eq!(unix_nanos("1970-01-01T00:00:02Z"), Some(2_000_000_000));
        for odd in [
            "yesterday",
            "1970-01-01T00:00:02+01:00",
            "1970-13-01T00:00:00Z",
            "",
        ] {
            assert_eq!(unix_nanos(odd), None, "{odd}");
        }
        assert_eq!(to_the_second(&now).len(), 20, "{now}");
        assert_eq!(
            to_the_second("2025-01-01T10:00:00Z"),
            "2025-01-01T10:00:00Z"
        );
    }

    /// Newest first within one second (an old whole-second file among them); equal
    /// `saved_at` goes by modification time, newest first, whatever the names.
    #[test]
    fn the_newest_save_comes_first_even_within_a_second() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf());
        store
            .save("zeta", &saved_at("2025-01-01T10:00:00.900000000Z"))
            .unwrap();
        store
            .save("alpha", &saved_at("2025-01-01T10:00:00.500000000Z"))
            .unwrap();
        store
            .save("old", &saved_at("2025-01-01T10:00:00Z"))
            .unwrap();
        let names =
            |store: &Store| -> Vec<String> { store.list().into_iter().map(|r| r.name).collect() };
        assert_eq!(names(&store), ["zeta", "alpha", "old"]);
        assert_eq!(store.list()[0].saved_at, "2025-01-01T10:00:00Z");
        assert_eq!(store.latest().unwrap().0, "zeta");

        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf());
        let same = "2025-01-01T10:00:00.500000000Z";
        let first = store.save("b", &saved_at(same)).unwrap();
        let second = store.save("a", &saved_at(same)).unwrap();
        set_mtime(&first, 1_000);
        set_mtime(&second, 2_000);
        assert_eq!(names(&store), ["a", "b"]);
        set_mtime(&first, 3_000);
        assert_eq!(names(&store), ["b", "a"]);
        assert_eq!(store.latest().unwrap().0, "b");
    }

    /// `--continue` takes the newest file even when it cannot be read, and says why.
    #[test]
    fn latest_reports_an_unreadable_newest_file() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf());
        store
            .save("good", &saved_at("2020-01-01T00:00:00Z"))
            .unwrap();
        fs::write(home.path().join("bad.json"), "{not json").unwrap();
        assert!(
            matches!(store.latest(), Err(SessionError::Corrupt { .. })),
            "{:?}",
            store.latest()
        );
        assert_eq!(store.latest(), Err(store.load("bad").unwrap_err()));
        fs::write(home.path().join("bad.json"), r#"{"format_version": 9}"#).unwrap();
        assert!(matches!(
            store.latest(),
            Err(SessionError::FutureVersion { found: 9, .. })
        ));
        // An older unreadable file does not stand in the way.
        set_mtime(&home.path().join("bad.json"), 1_000);
        assert_eq!(store.latest().unwrap().0, "good");
    }

    /// Files `/load` could not open are neither listed nor continued; the refusal of a
    /// leading '.' says so.
    #[test]
    fn only_loadable_names_are_listed() {
        let home = tempfile::tempdir().unwrap();
        let store = Store::new(home.path().to_path_buf());
        store
            .save("work", &saved_at("2020-01-01T00:00:00Z"))
            .unwrap();
        let json = fs::read(home.path().join("work.json")).unwrap();
        for odd in ["we ird.json", ".hidden.json", "é.json"] {
            fs::write(home.path().join(odd), &json).unwrap();
        }
        let rows: Vec<String> = store.list().into_iter().map(|r| r.name).collect();
        assert_eq!(rows, ["work"]);
        assert_eq!(store.latest().unwrap().0, "work");
        let e = store.save(".hidden", &sample()).unwrap_err();
        assert!(e.to_string().contains("not starting with '.'"), "{e}");
    }
}
