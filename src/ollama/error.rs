//! What can go wrong when talking to Ollama, classified the way telemetry needs it.
//!
//! Each failure has two faces: a low-cardinality [`ErrorKind`] that becomes the
//! `error.type` attribute and the `error_type` metric label (safe to aggregate on), and a
//! one-line message for the person at the prompt that says what happened *and what to do*.
//! Raw error text (which can echo the prompt) goes into the message and the span's
//! exception event, never into a metric label.

use std::fmt;
use std::time::Duration;

/// The `error.type` values this program emits. The set is closed on purpose: a new value
/// means a new series in every dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Nothing listens at the Ollama URL (or the host cannot be reached at all).
    ConnectionRefused,
    /// No answer within the configured timeout (first byte, or between two chunks).
    Timeout,
    /// HTTP 404 from `/api/chat`: the model is not pulled.
    ModelNotFound,
    /// HTTP 400 `"<model>" does not support thinking`: `think` was truthy for a model that
    /// cannot think.
    ThinkNotSupported,
    /// Any other HTTP error status; the label is `http_<status>`.
    Http(u16),
    /// An `{"error": …}` line in the stream.
    StreamError,
    /// The stream ended, or the connection broke, before the final `done:true` chunk.
    StreamInterrupted,
    /// A line that is not valid JSON, or not a chat chunk.
    InvalidResponse,
}

impl ErrorKind {
    /// The value of `error.type`.
    pub fn as_label(&self) -> String {
        match self {
            ErrorKind::ConnectionRefused => "connection_refused".into(),
            ErrorKind::Timeout => "timeout".into(),
            ErrorKind::ModelNotFound => "model_not_found".into(),
            ErrorKind::ThinkNotSupported => "think_not_supported".into(),
            ErrorKind::Http(status) => format!("http_{status}"),
            ErrorKind::StreamError => "stream_error".into(),
            ErrorKind::StreamInterrupted => "stream_interrupted".into(),
            ErrorKind::InvalidResponse => "invalid_response".into(),
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_label())
    }
}

/// A failed request to Ollama.
#[derive(Debug, thiserror::Error)]
pub enum OllamaError {
    #[error("cannot reach Ollama at {url}: {detail}")]
    Connect { url: String, detail: String },
    /// The scheme does not match the server: `https://` to a plain-HTTP server (the TLS
    /// handshake reads an HTTP answer), or `http://` to a TLS port (the answer is not
    /// HTTP). `error.type` stays in the closed set: `connection_refused` for a handshake
    /// that failed (no connection to talk over), `invalid_response` for a non-HTTP answer.
    #[error("TLS mismatch with {url}: {detail}")]
    Tls {
        url: String,
        detail: String,
        /// True when the URL is `https://` (the server speaks plain HTTP).
        https: bool,
    },
    #[error("Ollama did not answer within {} s", .after.as_secs_f64())]
    Timeout { after: Duration },
    #[error("model '{model}' not found")]
    ModelNotFound { model: String },
    #[error("model '{model}' does not support thinking")]
    ThinkNotSupported { model: String },
    /// An HTTP error status. `body` says whether the error text came from Ollama itself.
    #[error("{}", http_summary(*.status, .message, *.body))]
    Http {
        status: u16,
        message: String,
        body: ErrorBody,
        /// The server, credentials masked (a foreign body's message names it).
        url: String,
    },
    #[error("Ollama reported an error mid-stream: {message}")]
    Stream { message: String },
    #[error("the reply stream ended before the final chunk: {detail}")]
    Interrupted { detail: String },
    /// An answer that is not what Ollama sends. `detail` says what came instead ("a line
    /// that is not JSON (…)"); `html` is set when it looks like a web page, which is then
    /// named as such and never quoted.
    #[error("the server at {url} sent {detail}")]
    InvalidResponse {
        /// The server, credentials masked.
        url: String,
        detail: String,
        html: bool,
    },
}

/// What the body of an HTTP error was: Ollama's `{"error": …}`, or something else — the
/// sign that the URL reaches a server that is not Ollama (or not Ollama's API root).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorBody {
    /// `{"error": …}`, nothing at all, or an explanation of ours: `message` is shown.
    Ollama,
    /// An HTML page: a web server, a proxy's error page.
    Html,
    /// Some other text, such as a router's plain `404 page not found`.
    Text,
}

/// Does `text` (a body, a line) look like a web page: `<` first, after any whitespace
/// (`<!DOCTYPE html>`, `<html>`, `<?xml …>`)? A `<` further in (`x < y`) is not HTML.
pub fn looks_like_html(text: &str) -> bool {
    text.trim_start().starts_with('<')
}

impl ErrorBody {
    /// Classifies a non-JSON error body, without keeping any of it.
    pub fn of_foreign(body: &str) -> ErrorBody {
        let head = body.trim_start().to_ascii_lowercase();
        if head.starts_with('<') || head.contains("<html") {
            ErrorBody::Html
        } else {
            ErrorBody::Text
        }
    }

    fn describe(self) -> &'static str {
        match self {
            ErrorBody::Ollama => "Ollama's JSON",
            ErrorBody::Html => "an HTML page",
            ErrorBody::Text => "plain text",
        }
    }
}

/// The `Display` of [`OllamaError::Http`]: Ollama's own text when it sent one; otherwise
/// only what kind of body came back — a web page is never echoed.
fn http_summary(status: u16, message: &str, body: ErrorBody) -> String {
    match body {
        ErrorBody::Ollama => format!("Ollama answered HTTP {status}: {message}"),
        foreign => format!(
            "HTTP {status} with {} instead of Ollama's JSON: not Ollama?",
            foreign.describe()
        ),
    }
}

impl OllamaError {
    /// The telemetry class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            OllamaError::Connect { .. } => ErrorKind::ConnectionRefused,
            OllamaError::Tls { https: true, .. } => ErrorKind::ConnectionRefused,
            OllamaError::Tls { https: false, .. } => ErrorKind::InvalidResponse,
            OllamaError::Timeout { .. } => ErrorKind::Timeout,
            OllamaError::ModelNotFound { .. } => ErrorKind::ModelNotFound,
            OllamaError::ThinkNotSupported { .. } => ErrorKind::ThinkNotSupported,
            OllamaError::Http { status, .. } => ErrorKind::Http(*status),
            OllamaError::Stream { .. } => ErrorKind::StreamError,
            OllamaError::Interrupted { .. } => ErrorKind::StreamInterrupted,
            OllamaError::InvalidResponse { .. } => ErrorKind::InvalidResponse,
        }
    }

    /// One line for the user: what happened, then what to do about it.
    pub fn user_message(&self) -> String {
        match self {
            OllamaError::Connect { url, .. } => format!(
                "Cannot reach Ollama at {url}. Start it with `ollama serve` (or point --ollama-url / OLLAMA_HOST at it), then send your message again; or restart with --demo to try the built-in model."
            ),
            OllamaError::Tls {
                url,
                detail,
                https: true,
            } => format!(
                "The TLS handshake with {url} failed ({}): the server answers plain HTTP. Ollama itself serves http://; use http:// in --ollama-url / OLLAMA_HOST unless a TLS proxy is meant to be there.",
                one_line(detail)
            ),
            OllamaError::Tls {
                url,
                detail,
                https: false,
            } => format!(
                "The server at {url} does not answer plain HTTP ({}): it expects TLS. Use https:// in --ollama-url / OLLAMA_HOST.",
                one_line(detail)
            ),
            OllamaError::Timeout { after } => format!(
                "Ollama did not answer within {} s. The model may still be loading; try again, or raise --timeout.",
                after.as_secs_f64()
            ),
            OllamaError::ModelNotFound { model } => format!(
                "Model '{model}' is not available in Ollama. Run `ollama pull {model}`, or pick another with /models and /model NAME."
            ),
            OllamaError::ThinkNotSupported { model } => format!(
                "{model} does not think; /set nothink, or pick a thinking model (ollama list)"
            ),
            OllamaError::Http {
                status,
                message,
                body: ErrorBody::Ollama,
                ..
            } => format!(
                "Ollama answered HTTP {status}: {}. Check `ollama serve`'s log, then try again.",
                one_line(message)
            ),
            OllamaError::Http {
                status, body, url, ..
            } => format!(
                "The server at {url} answered HTTP {status} with {}, not Ollama's JSON: is it Ollama? Check --ollama-url / OLLAMA_HOST (Ollama's default is http://localhost:11434).",
                body.describe()
            ),
            OllamaError::Stream { message } => format!(
                "Ollama failed mid-reply: {}. Your conversation is kept; send the message again.",
                one_line(message)
            ),
            OllamaError::Interrupted { detail } => format!(
                "The reply was cut off ({}). Your conversation is kept; send the message again.",
                one_line(detail)
            ),
            OllamaError::InvalidResponse {
                url, html: true, ..
            } => format!(
                "The server at {url} sent an HTML page, not Ollama's JSON: is it Ollama? Check --ollama-url / OLLAMA_HOST (Ollama's default is http://localhost:11434)."
            ),
            OllamaError::InvalidResponse { url, detail, .. } => format!(
                "The server at {url} sent {}: is it Ollama? Check --ollama-url / OLLAMA_HOST (Ollama's default is http://localhost:11434).",
                one_line(detail)
            ),
        }
    }
}

/// Keeps a server-supplied text on one line and bounded in length.
fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    crate::text::truncate(&flat, 200)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `error.type` values are the documented, low-cardinality strings.
    #[test]
    fn labels() {
        assert_eq!(ErrorKind::Http(503).as_label(), "http_503");
        assert_eq!(ErrorKind::ModelNotFound.as_label(), "model_not_found");
        let e = OllamaError::Interrupted { detail: "x".into() };
        assert_eq!(e.kind().as_label(), "stream_interrupted");
    }

    /// A scheme that does not match the server names TLS and the fix, not `ollama serve`;
    /// `error.type` stays a connection or response failure.
    #[test]
    fn tls_mismatch_names_tls() {
        let e = OllamaError::Tls {
            url: "https://h:11434".into(),
            detail: "received corrupt message of type InvalidContentType".into(),
            https: true,
        };
        let m = e.user_message();
        assert!(m.contains("TLS") && m.contains("http://"), "{m}");
        assert!(!m.contains("ollama serve"), "{m}");
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused);
        let e = OllamaError::Tls {
            url: "http://h:443".into(),
            detail: "invalid HTTP version parsed".into(),
            https: false,
        };
        assert!(
            e.user_message().contains("https://"),
            "{}",
            e.user_message()
        );
        assert_eq!(e.kind(), ErrorKind::InvalidResponse);
    }

    /// The user's message is one line even when the server's text is not.
    #[test]
    fn user_message_is_one_line() {
        let e = OllamaError::Http {
            status: 500,
            message: "line one\nline two".into(),
            body: ErrorBody::Ollama,
            url: "http://h:1".into(),
        };
        assert!(!e.user_message().contains('\n'));
        assert!(e.user_message().contains("line one line two"));
    }

    /// A web page in place of Ollama's JSON is diagnosed, never printed.
    #[test]
    fn foreign_body_means_not_ollama() {
        let page = "<!DOCTYPE html><html><title>Welcome to nginx!</title></html>";
        assert_eq!(ErrorBody::of_foreign(page), ErrorBody::Html);
        assert_eq!(ErrorBody::of_foreign("404 page not found"), ErrorBody::Text);
        let e = OllamaError::Http {
            status: 404,
            message: page.into(),
            body: ErrorBody::Html,
            url: "http://h:1".into(),
        };
        for text in [e.user_message(), e.to_string()] {
            assert!(text.contains("not Ollama"), "{text}");
            assert!(!text.contains("nginx") && !text.contains('<'), "{text}");
            assert!(!text.contains("ollama serve"), "{text}");
        }
        assert_eq!(e.kind(), ErrorKind::Http(404), "error.type is unchanged");
        let e = OllamaError::InvalidResponse {
            url: "http://h:1".into(),
            detail: "a line that is not JSON (expected value in \"<html><body>\")".into(),
            html: true,
        };
        assert!(!e.user_message().contains("<html"), "{}", e.user_message());
        assert!(e.user_message().contains("http://h:1 sent an HTML page"));
    }

    /// Only text that starts with `<` (after whitespace) is taken for a web page.
    #[test]
    fn html_is_recognised_by_its_start() {
        for page in [
            "<!DOCTYPE html>",
            "  \n<HTML>",
            "<html><body>",
            "<?xml version",
        ] {
            assert!(looks_like_html(page), "{page:?}");
        }
        for text in ["x < y", "oops <html>", "{\"a\": \"<b>\"}", ""] {
            assert!(!looks_like_html(text), "{text:?}");
        }
    }
}
