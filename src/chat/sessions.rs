//! Saved conversations: `/save NAME`, `/load NAME`, `/sessions`, `--resume`, `--continue`.
//!
//! A conversation is saved as one JSON file under `$XDG_STATE_HOME/chatbot-otel/sessions/`:
//! its messages (thinking and tool messages included), model, system prompt, parameters
//! and — what makes it one conversation in a tracing backend across restarts — its
//! conversation id. (`ollama run`'s `/save` makes a server-side model instead; this saves
//! the chat.) Files hold prompts, so they are created `0600` in a `0700` directory, and
//! written atomically (a temporary file renamed over the old one), so a crash never leaves
//! half a file. A format version guards against reading a file a newer program wrote.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

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
    /// RFC 3339, UTC.
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
    pub saved_at: String,
    pub model: String,
    pub turns: usize,
}

/// Why a save or load did not happen, in one line for the user.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    #[error("invalid session name {0:?}: use letters, digits, '.', '_' or '-' (at most 64)")]
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
        let valid = !name.is_empty()
            && name.len() <= 64
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
        if !valid {
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

    /// Every readable saved conversation, newest first (unreadable files are skipped).
    pub fn list(&self) -> Vec<Listed> {
        let Ok(entries) = fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut rows: Vec<Listed> = entries
            .flatten()
            .filter_map(|entry| {
                let path = entry.path();
                let name = path
                    .file_name()?
                    .to_str()?
                    .strip_suffix(".json")?
                    .to_string();
                if name.starts_with('.') {
                    return None;
                }
                let saved = read(&path).ok()?;
                Some(Listed {
                    name,
                    turns: saved.turns(),
                    saved_at: saved.saved_at,
                    model: saved.model,
                })
            })
            .collect();
        rows.sort_by(|a, b| b.saved_at.cmp(&a.saved_at).then(a.name.cmp(&b.name)));
        rows
    }

    /// The most recently saved conversation (`--continue`), with its name.
    pub fn latest(&self) -> Result<(String, Saved), SessionError> {
        let newest = self
            .list()
            .into_iter()
            .next()
            .ok_or(SessionError::NoneSaved)?;
        let saved = self.load(&newest.name)?;
        Ok((newest.name, saved))
    }
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

/// The current time as RFC 3339 UTC (seconds).
pub fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
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
}
