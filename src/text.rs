//! Small text helpers shared by the terminal and the telemetry code.

use std::borrow::Cow;

/// Cuts `text` to at most `max_chars` characters (never inside a UTF-8 character),
/// saying how much was dropped.
pub fn truncate(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((cut, _)) => {
            let dropped = text[cut..].chars().count();
            format!("{}… [{dropped} more characters]", &text[..cut])
        }
    }
}

/// Makes untrusted text (a model's reply, a server's error) safe to print on a terminal:
/// printable characters, `\n` and `\t` pass; every other control character is shown the
/// way `cat -v` shows it (`ESC` → `^[`, `CR` → `^M`, DEL → `^?`, C1 `U+009B` → `M-^[`), so an
/// escape sequence can neither run (clear the screen, set the title, write the clipboard)
/// nor hide. Stateless per character, so text cut into chunks anywhere gives the same
/// result; borrows when there is nothing to change (the common case, on the per-chunk path).
pub fn printable(text: &str) -> Cow<'_, str> {
    fn is_control(c: char) -> bool {
        (c.is_control() && c != '\n' && c != '\t') || c == '\u{7f}'
    }
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c as u32 {
            _ if !is_control(c) => out.push(c),
            0x7f => out.push_str("^?"),
            n @ 0..=0x1f => {
                out.push('^');
                out.push(char::from(b'@' + n as u8));
            }
            n => {
                // C1 controls, U+0080..U+009F.
                out.push_str("M-^");
                out.push(char::from(b'@' + (n - 0x80) as u8));
            }
        }
    }
    Cow::Owned(out)
}

/// `url` as it may be shown or recorded: credentials become `REDACTED:REDACTED@`, as the
/// HTTP semantic conventions require for `url.full`, and a query's values are kept (Ollama
/// URLs have none that matter). The request itself still uses the real URL.
pub fn redacted_url(url: &url::Url) -> String {
    if url.username().is_empty() && url.password().is_none() {
        return url.to_string();
    }
    let mut shown = url.clone();
    let _ = shown.set_username("REDACTED");
    let _ = shown.set_password(Some("REDACTED"));
    shown.to_string()
}

/// `text` (an error message, say) with `url`'s credentials masked wherever they appear:
/// the `user:password@` part as in [`redacted_url`], and the password anywhere else.
pub fn redact_credentials(text: &str, url: &url::Url) -> String {
    let (user, password) = (url.username(), url.password());
    if user.is_empty() && password.is_none() {
        return text.to_string();
    }
    let userinfo = match password {
        Some(p) => format!("{user}:{p}@"),
        None => format!("{user}@"),
    };
    let mut out = text.replace(&userinfo, "REDACTED:REDACTED@");
    if let Some(p) = password.filter(|p| !p.is_empty()) {
        out = out.replace(p, "REDACTED");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{printable, redact_credentials, redacted_url, truncate};

    /// User and password never show; a URL without them is unchanged.
    #[test]
    fn urls_lose_their_credentials() {
        let url = url::Url::parse("http://alice:pw@host:11434/api/chat").unwrap();
        assert_eq!(
            redacted_url(&url),
            "http://REDACTED:REDACTED@host:11434/api/chat"
        );
        let url = url::Url::parse("http://alice@host/").unwrap();
        assert_eq!(redacted_url(&url), "http://REDACTED:REDACTED@host/");
        let url = url::Url::parse("http://host:1/").unwrap();
        assert_eq!(redacted_url(&url), "http://host:1/");
    }

    /// Escape sequences and bare CRs become visible; text, newlines and tabs pass.
    #[test]
    fn printable_neutralises_controls() {
        assert_eq!(printable("plain\ttext\n"), "plain\ttext\n");
        assert!(matches!(printable("héllo"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(printable("\x1b]52;c;SGVsbG8=\x07"), "^[]52;c;SGVsbG8=^G");
        assert_eq!(printable("\x1b[2J"), "^[[2J");
        assert_eq!(printable("ok\rgone"), "ok^Mgone");
        assert_eq!(printable("\u{9b}6n\u{7f}"), "M-^[6n^?");
    }

    /// Short text is unchanged; long text is cut on a character boundary.
    #[test]
    fn truncates_on_char_boundary() {
        assert_eq!(truncate("héllo", 10), "héllo");
        assert_eq!(truncate("héllo", 2), "hé… [3 more characters]");
    }

    #[test]
    fn credentials_in_a_message_are_masked() {
        let url = url::Url::parse("http://bob:hunter2@collector:4318/v1/traces").unwrap();
        assert_eq!(
            redact_credentials(
                "cannot send to http://bob:hunter2@collector:4318/v1/traces",
                &url
            ),
            "cannot send to http://REDACTED:REDACTED@collector:4318/v1/traces"
        );
        assert_eq!(
            redact_credentials("auth hunter2 refused", &url),
            "auth REDACTED refused"
        );
        let plain = url::Url::parse("http://collector:4318").unwrap();
        assert_eq!(redact_credentials("as is", &plain), "as is");
    }
}
