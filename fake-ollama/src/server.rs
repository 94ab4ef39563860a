//! Accepting connections, serving requests one after another on each, and
//! sending each request to its endpoint.
//!
//! Each connection gets its own task, which reads a request, answers it, and
//! loops while the connection is kept alive (reqwest pools connections and
//! reuses them). All of it runs on the server's own thread and runtime (see
//! [`crate::FakeOllama`]). Shutdown is a `watch` channel: the `FakeOllama` holds
//! the sender, and when it is dropped the accept loop's `changed()` returns, the
//! loop ends, and the thread drops its runtime, which cancels every connection
//! task, so even connections that are deliberately hanging get closed.
//!
//! State shared by all tasks lives in [`Shared`] behind `std::sync::Mutex`es:
//! they are held for a few instructions and never across an `.await`, which is
//! the case where a plain mutex is the right tool in async code.

use std::collections::VecDeque;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::http::{Connection, ReadError, Request, JSON, TEXT, TEXT_UTF8};
use crate::wire::{error_json, to_go_json, VersionResponse};
use crate::{catalog, chat, Behaviour, ChatOutcome, Options, RecordedRequest};

/// What the server knows and remembers: the options, the queue of pushed
/// behaviours, and the log of requests.
pub(crate) struct Shared {
    pub opts: Options,
    queue: Mutex<VecDeque<Behaviour>>,
    log: Mutex<Vec<RecordedRequest>>,
}

/// Locks a mutex, ignoring poisoning: a panicking test thread must not turn
/// every later call into a second panic.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    pub fn new(opts: Options) -> Shared {
        Shared {
            opts,
            queue: Mutex::new(VecDeque::new()),
            log: Mutex::new(Vec::new()),
        }
    }

    pub fn push(&self, b: Behaviour) {
        lock(&self.queue).push_back(b);
    }

    /// The behaviour for a chat request about to generate: pushed queue first,
    /// then a directive in the last user message, then the default.
    pub fn next_behaviour(&self, last_user_message: Option<&str>) -> Behaviour {
        if let Some(b) = lock(&self.queue).pop_front() {
            return b;
        }
        last_user_message
            .and_then(Behaviour::from_message)
            .unwrap_or_else(|| self.opts.default_behaviour.clone())
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.log).clone()
    }

    /// Appends a request to the log and returns its index there.
    fn record(&self, request: &Request) -> usize {
        let mut log = lock(&self.log);
        log.push(RecordedRequest {
            method: request.method.clone(),
            path: request.target.clone(),
            headers: request.headers.clone(),
            body: String::from_utf8_lossy(&request.body).into_owned(),
            outcome: None,
        });
        log.len() - 1
    }

    /// Sets the outcome of the request at `index` (see [`ChatOutcome`]).
    pub fn set_outcome(&self, index: usize, outcome: ChatOutcome) {
        if let Some(r) = lock(&self.log).get_mut(index) {
            r.outcome = Some(outcome);
        }
    }
}

/// Accepts connections until the shutdown sender is dropped. The connection
/// tasks it spawns end when the runtime is dropped after it returns.
pub(crate) async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut shutdown: watch::Receiver<()>,
) {
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _peer)) = accepted else {
                    // Accept errors (e.g. too many open files) are transient:
                    // back off a little, then try again.
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                };
                let shared = Arc::clone(&shared);
                tokio::spawn(async move { serve_connection(stream, &shared).await });
            }
            _ = shutdown.changed() => return,
        }
    }
}

/// Whether the connection can carry another request after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    KeepAlive,
    Close,
}

/// Serves requests on one connection until either side closes it. I/O errors
/// mean the client went away, which is normal here, so they end the task
/// silently.
async fn serve_connection(stream: TcpStream, shared: &Shared) {
    let mut conn = Connection::new(stream);
    loop {
        let request = match conn.read_request().await {
            Ok(Some(request)) => request,
            Ok(None) | Err(ReadError::Gone) => return,
            Err(ReadError::Malformed) => {
                let _ = conn.send_bad_request().await;
                conn.close().await;
                return;
            }
        };
        let index = shared.record(&request);
        let keep_alive = request.keep_alive();
        match route(&mut conn, shared, index, &request, !keep_alive).await {
            Ok(After::KeepAlive) if keep_alive => continue,
            Ok(_) => {
                conn.close().await;
                return;
            }
            Err(_) => return,
        }
    }
}

/// Sends one request to its endpoint. `close` asks the response to carry
/// `Connection: close`.
async fn route(
    conn: &mut Connection,
    shared: &Shared,
    index: usize,
    request: &Request,
    close: bool,
) -> io::Result<After> {
    let method = request.method.as_str();
    let with_body = method != "HEAD";
    match (method, request.path()) {
        ("GET" | "HEAD", "/") => {
            conn.send_full(200, TEXT_UTF8, b"Ollama is running", with_body, close)
                .await?;
        }
        ("GET" | "HEAD", "/api/version") => {
            let body = to_go_json(&VersionResponse {
                version: &shared.opts.version,
            });
            conn.send_full(200, JSON, body.as_bytes(), with_body, close)
                .await?;
        }
        ("GET" | "HEAD", "/api/tags") => {
            let body = to_go_json(&catalog::tags(&shared.opts.models));
            conn.send_full(200, JSON, body.as_bytes(), with_body, close)
                .await?;
        }
        ("POST", "/api/show") => show(conn, shared, request, close).await?,
        ("POST", "/api/chat") => return chat::handle(conn, shared, index, request, close).await,
        (_, "/" | "/api/version" | "/api/tags" | "/api/show" | "/api/chat") => {
            conn.send_full(405, TEXT, b"405 method not allowed", with_body, close)
                .await?;
        }
        _ => {
            conn.send_full(404, TEXT, b"404 page not found", with_body, close)
                .await?;
        }
    }
    Ok(After::KeepAlive)
}

/// `POST /api/show {"model": NAME}` (`name` is the deprecated alias).
async fn show(
    conn: &mut Connection,
    shared: &Shared,
    request: &Request,
    close: bool,
) -> io::Result<()> {
    let body: serde_json::Value = serde_json::from_slice(&request.body).unwrap_or_default();
    let requested = ["model", "name"].iter().find_map(|k| {
        body.get(k)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
    });
    let (status, body) = match requested {
        None => (400, error_json("model is required")),
        Some(name) => match catalog::find(&shared.opts.models, name) {
            Some(listed) => (200, to_go_json(&catalog::show(&shared.opts.models, listed))),
            // Unlike /api/chat, the message uses the canonical name:tag.
            None => (
                404,
                error_json(&format!("model '{}' not found", catalog::canonical(name))),
            ),
        },
    };
    conn.send_full(status, JSON, body.as_bytes(), true, close)
        .await
}
