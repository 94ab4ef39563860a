//! The Ollama server's address: `--ollama-url`, `OLLAMA_ENDPOINT`, then `OLLAMA_HOST`.
//!
//! Two things clap cannot do: fall back to a *second* variable (`OLLAMA_HOST`, the one
//! Ollama itself reads) when the first is unset, and read Ollama's own host format
//! (`host`, `host:port`, `:port`, `[v6]:port` or a full URL).

use url::Url;

use super::values::parse_http_url;

/// Ollama's default port, used when `OLLAMA_HOST` names a host without one.
const OLLAMA_PORT: u16 = 11434;

/// What every Ollama URL error ends with: an example of a valid value.
const EXAMPLE: &str = "expected e.g. http://localhost:11434 or localhost:11434";

/// `--ollama-url` / `OLLAMA_ENDPOINT` as clap parses them.
pub(crate) fn parse_ollama_url_arg(raw: &str) -> Result<Url, String> {
    parse_ollama_host(raw).map_err(|why| format!("{why}; {EXAMPLE}"))
}

/// `OLLAMA_HOST`, consulted only when neither the flag nor `OLLAMA_ENDPOINT` is set
/// (`explicit` is false). `Ok(None)`: keep the URL clap resolved.
pub(crate) fn ollama_host_fallback(
    explicit: bool,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Option<Url>, String> {
    if explicit {
        return Ok(None);
    }
    match env("OLLAMA_HOST") {
        None => Ok(None),
        Some(raw) => parse_ollama_host(&raw).map(Some).map_err(|why| {
            format!("invalid Ollama URL {raw:?} (from environment OLLAMA_HOST): {why}; {EXAMPLE}")
        }),
    }
}

/// Ollama's own `OLLAMA_HOST` format: `host`, `host:port`, `:port`, `[v6]:port`, or a full
/// URL. Without a scheme the default is `http` and port 11434; *with* a scheme but no port
/// the scheme's port applies (80/443), exactly as Ollama's Go and Python clients do.
pub(crate) fn parse_ollama_host(raw: &str) -> Result<Url, String> {
    let raw = raw.trim().trim_matches(|c| c == '"' || c == '\'');
    if raw.contains("://") {
        return parse_http_url(raw);
    }
    let (hostport, path) = match raw.find('/') {
        Some(i) => (&raw[..i], &raw[i..]),
        None => (raw, ""),
    };
    let (host, port) = split_host_port(hostport)?;
    let host = if host.is_empty() { "127.0.0.1" } else { host };
    let port = match port {
        None => OLLAMA_PORT,
        Some(p) => p
            .parse::<u16>()
            .map_err(|_| format!("{p:?} is not a port number"))?,
    };
    parse_http_url(&format!("http://{host}:{port}{path}"))
}

fn split_host_port(s: &str) -> Result<(&str, Option<&str>), String> {
    if let Some(rest) = s.strip_prefix('[') {
        let end = rest.find(']').ok_or("unclosed '[' in IPv6 address")?;
        let host = &s[..end + 2];
        return match &rest[end + 1..] {
            "" => Ok((host, None)),
            p => Ok((
                host,
                Some(p.strip_prefix(':').ok_or("expected ':' after ']'")?),
            )),
        };
    }
    Ok(match s.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OLLAMA_HOST accepts Ollama's own shorthand forms.
    #[test]
    fn ollama_host_forms() {
        let p = |s| parse_ollama_host(s).unwrap().to_string();
        assert_eq!(p("example.com"), "http://example.com:11434/");
        assert_eq!(p("0.0.0.0:9999"), "http://0.0.0.0:9999/");
        assert_eq!(p(":8080"), "http://127.0.0.1:8080/");
        assert_eq!(p("[::1]:5"), "http://[::1]:5/");
        assert_eq!(p("http://localhost"), "http://localhost/");
        assert_eq!(p("https://h/prefix"), "https://h/prefix");
        assert_eq!(p("\"h:1\""), "http://h:1/");
        assert!(parse_ollama_host("h:notaport").is_err());
        assert!(parse_ollama_host("ftp://h").is_err());
        assert!(parse_ollama_host("a b:c").is_err());
    }

    /// OLLAMA_HOST is read only when nothing more explicit is set; its errors name it and
    /// show a valid value.
    #[test]
    fn fallback_to_ollama_host() {
        let env = |name: &str| (name == "OLLAMA_HOST").then(|| "h:2".to_string());
        assert_eq!(
            ollama_host_fallback(false, &env).unwrap().unwrap().as_str(),
            "http://h:2/"
        );
        assert_eq!(ollama_host_fallback(true, &env), Ok(None));
        assert_eq!(ollama_host_fallback(false, &|_: &str| None), Ok(None));
        let bad = |_: &str| Some("h:notaport".to_string());
        let e = ollama_host_fallback(false, &bad).unwrap_err();
        assert!(
            e.contains("OLLAMA_HOST") && e.contains("localhost:11434"),
            "{e}"
        );
    }
}
