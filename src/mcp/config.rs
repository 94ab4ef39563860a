//! The `mcpServers` file: which MCP servers to start, in the format other MCP clients
//! (Claude Desktop, VS Code, Cursor) already use, so a user can copy their file as is.
//!
//! ```json
//! {"mcpServers": {"time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}}}}
//! ```
//!
//! Only the stdio transport is supported: an entry with a `url`, or a `type` other than
//! `stdio`, is refused with a one-line error rather than silently skipped. Unknown keys
//! (`disabled`, `autoApprove`, … from other clients) are ignored, except `disabled: true`,
//! which leaves the server out.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

/// One configured server: the command line that starts it and extra environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// The key in `mcpServers`, used in messages and to prefix clashing tool names.
    pub name: String,
    pub command: String,
    pub args: Vec<String>,
    /// Added to (and overriding) the chatbot's own environment.
    pub env: BTreeMap<String, String>,
}

/// The servers of one `mcpServers` file, in the file's order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct McpConfig {
    pub servers: Vec<ServerConfig>,
}

/// A file that cannot be used; its `Display` is one line naming the file and the problem.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("MCP config {path}: {problem}")]
pub struct ConfigError {
    pub path: String,
    pub problem: String,
}

/// The wire shape of one entry; checked further in [`McpConfig::parse`].
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawServer {
    command: Option<String>,
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(rename = "type")]
    transport: Option<String>,
    url: Option<String>,
    #[serde(default)]
    disabled: bool,
}

impl McpConfig {
    /// Reads and parses the file at `path`.
    pub fn load(path: &Path) -> Result<McpConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.display().to_string(),
            problem: format!("cannot read it: {e}"),
        })?;
        Self::parse(&text).map_err(|problem| ConfigError {
            path: path.display().to_string(),
            problem,
        })
    }

    /// Parses the text of an `mcpServers` file; the error is the problem, without the path.
    pub fn parse(text: &str) -> Result<McpConfig, String> {
        let root: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
        let Some(object) = root.as_object() else {
            return Err(r#"expected a JSON object like {"mcpServers": {...}}"#.to_string());
        };
        let Some(servers) = object.get("mcpServers") else {
            return Err(r#"no "mcpServers" key"#.to_string());
        };
        let Some(servers) = servers.as_object() else {
            return Err(r#""mcpServers" must be an object of name → server"#.to_string());
        };
        let mut out = Vec::with_capacity(servers.len());
        for (name, entry) in servers {
            if name.trim().is_empty() {
                return Err("a server has an empty name".to_string());
            }
            let raw: RawServer = serde_json::from_value(entry.clone())
                .map_err(|e| format!("server \"{name}\": {e}"))?;
            if raw.disabled {
                continue;
            }
            if let Some(kind) = raw.transport.as_deref().filter(|t| *t != "stdio") {
                return Err(format!(
                    "server \"{name}\": only stdio servers are supported (type \"{kind}\")"
                ));
            }
            if raw.url.is_some() {
                return Err(format!(
                    "server \"{name}\": only stdio servers are supported (it has a \"url\")"
                ));
            }
            let command = raw
                .command
                .filter(|c| !c.trim().is_empty())
                .ok_or_else(|| format!("server \"{name}\": missing \"command\""))?;
            out.push(ServerConfig {
                name: name.clone(),
                command,
                args: raw.args,
                env: raw.env,
            });
        }
        Ok(McpConfig { servers: out })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_common_format_in_file_order() {
        let config = McpConfig::parse(
            r#"{"mcpServers": {
                "time": {"command": "uvx", "args": ["mcp-server-time"], "env": {"TZ": "UTC"}},
                "everything": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"]}
            }}"#,
        )
        .unwrap();
        let names: Vec<_> = config.servers.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["time", "everything"]);
        assert_eq!(config.servers[0].command, "uvx");
        assert_eq!(config.servers[0].args, ["mcp-server-time"]);
        assert_eq!(
            config.servers[0].env.get("TZ").map(String::as_str),
            Some("UTC")
        );
        assert!(config.servers[1].env.is_empty());
    }

    #[test]
    fn ignores_other_clients_keys_and_skips_disabled_servers() {
        let config = McpConfig::parse(
            r#"{"mcpServers": {
                "a": {"command": "a", "type": "stdio", "autoApprove": ["x"]},
                "b": {"command": "b", "disabled": true}
            }, "other": 1}"#,
        )
        .unwrap();
        assert_eq!(config.servers.len(), 1);
        assert_eq!(config.servers[0].name, "a");
    }

    #[test]
    fn bad_files_get_one_line_errors() {
        let cases = [
            ("{", "invalid JSON"),
            ("[]", "expected a JSON object"),
            ("{}", "no \"mcpServers\" key"),
            (r#"{"mcpServers": []}"#, "must be an object"),
            (
                r#"{"mcpServers": {"t": {"args": []}}}"#,
                "server \"t\": missing \"command\"",
            ),
            (
                r#"{"mcpServers": {"t": {"command": 3}}}"#,
                "server \"t\": invalid type",
            ),
            (
                r#"{"mcpServers": {"t": {"command": "x", "args": "y"}}}"#,
                "server \"t\"",
            ),
            (
                r#"{"mcpServers": {"t": {"url": "http://x"}}}"#,
                "only stdio",
            ),
            (
                r#"{"mcpServers": {"t": {"command": "x", "type": "sse"}}}"#,
                "type \"sse\"",
            ),
        ];
        for (text, expected) in cases {
            let err = McpConfig::parse(text).unwrap_err();
            assert!(err.contains(expected), "{text}: {err}");
            assert!(!err.contains('\n'), "{text}: multi-line error {err:?}");
        }
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mcp.json");
        std::fs::write(&path, "{oops").unwrap();
        let err = McpConfig::load(&path).unwrap_err().to_string();
        assert!(err.starts_with(&format!("MCP config {}: invalid JSON", path.display())));
        let missing = McpConfig::load(&dir.path().join("absent.json")).unwrap_err();
        assert!(missing.to_string().contains("cannot read it"), "{missing}");
    }
}
