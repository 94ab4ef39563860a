//! Runs the built `chatbot-otel` binary in piped mode with a clean environment.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::Value;
use tempfile::TempDir;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::check::{self, TraceLine};

/// The path of the binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_chatbot-otel");

/// How long a whole run may take before the child is killed and the test fails.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);

/// A builder for one run of the binary.
///
/// The environment starts empty (`env_clear`) and gets `PATH`, `HOME` and `XDG_STATE_HOME`
/// (both a fresh temporary directory), `LOG_FILE=<tmp>/chatbot.log`, `RUST_BACKTRACE=1`, and
/// `OLLAMA_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT` pointing at closed ports, so that nothing
/// ever reaches a real Ollama or collector by accident. Override with [`Chatbot::ollama`],
/// [`Chatbot::otlp`], [`Chatbot::env`], [`Chatbot::env_remove`].
pub struct Chatbot {
    dir: TempDir,
    envs: BTreeMap<String, String>,
    args: Vec<String>,
    stdin: String,
    timeout: Duration,
}

impl Default for Chatbot {
    fn default() -> Self {
        Self::new()
    }
}

impl Chatbot {
    pub fn new() -> Chatbot {
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().to_string_lossy().into_owned();
        let mut envs = BTreeMap::new();
        envs.insert(
            "PATH".to_string(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        );
        envs.insert("HOME".to_string(), home.clone());
        envs.insert("XDG_STATE_HOME".to_string(), home.clone());
        envs.insert("LOG_FILE".to_string(), format!("{home}/chatbot.log"));
        envs.insert("RUST_BACKTRACE".to_string(), "1".to_string());
        envs.insert("OLLAMA_ENDPOINT".to_string(), super::closed_port_url());
        envs.insert(
            "OTEL_EXPORTER_OTLP_ENDPOINT".to_string(),
            super::closed_port_url(),
        );
        Chatbot {
            dir,
            envs,
            args: Vec::new(),
            stdin: String::new(),
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Sets `OLLAMA_ENDPOINT`.
    pub fn ollama(self, url: impl Into<String>) -> Self {
        self.env("OLLAMA_ENDPOINT", url)
    }

    /// Sets `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn otlp(self, endpoint: impl Into<String>) -> Self {
        self.env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    }

    pub fn env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.envs.insert(key.into(), value.into());
        self
    }

    pub fn env_remove(mut self, key: &str) -> Self {
        self.envs.remove(key);
        self
    }

    pub fn arg(mut self, a: impl Into<String>) -> Self {
        self.args.push(a.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The whole stdin, written at once by [`Chatbot::run`].
    pub fn stdin(mut self, text: impl Into<String>) -> Self {
        self.stdin = text.into();
        self
    }

    /// Kill the child and fail the test if the run takes longer than this (default 20 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// The temporary HOME / XDG_STATE_HOME directory of this run.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Writes all of stdin, closes it and waits for the process to exit.
    pub async fn run(mut self) -> Output {
        let stdin = std::mem::take(&mut self.stdin);
        let mut s = self.spawn().await;
        s.write_raw(&stdin).await;
        s.finish().await
    }

    /// Starts the process with stdin, stdout and stderr piped; feed it line by line.
    pub async fn spawn(self) -> Session {
        let log_path = self
            .envs
            .get("LOG_FILE")
            .filter(|p| p.as_str() != "-")
            .map(PathBuf::from);
        let mut cmd = Command::new(BIN);
        cmd.env_clear()
            .envs(&self.envs)
            .args(&self.args)
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
        let stdin = child.stdin.take();
        let (out_tx, out_rx) = watch::channel(Vec::new());
        let (err_tx, err_rx) = watch::channel(Vec::new());
        let out_task = tokio::spawn(pump(child.stdout.take().unwrap(), out_tx));
        let err_task = tokio::spawn(pump(child.stderr.take().unwrap(), err_tx));
        Session {
            child,
            stdin,
            out_rx,
            err_rx,
            out_task,
            err_task,
            started,
            deadline: started + self.timeout,
            eof_at: None,
            log_path,
            args: self.args,
            envs: self.envs,
            dir: self.dir,
        }
    }
}

async fn pump(mut r: impl AsyncRead + Unpin, tx: watch::Sender<Vec<u8>>) {
    let mut buf = vec![0u8; 8192];
    loop {
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => tx.send_modify(|v| v.extend_from_slice(&buf[..n])),
        }
    }
}

/// A running child process.
pub struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    out_rx: watch::Receiver<Vec<u8>>,
    err_rx: watch::Receiver<Vec<u8>>,
    out_task: JoinHandle<()>,
    err_task: JoinHandle<()>,
    started: Instant,
    deadline: Instant,
    eof_at: Option<Instant>,
    log_path: Option<PathBuf>,
    args: Vec<String>,
    envs: BTreeMap<String, String>,
    dir: TempDir,
}

impl Session {
    /// Writes `line` and a newline to stdin (errors, e.g. the child already exited, are ignored).
    pub async fn send(&mut self, line: &str) {
        self.write_raw(&format!("{line}\n")).await;
    }

    /// Writes raw text to stdin (errors are ignored).
    pub async fn write_raw(&mut self, text: &str) {
        if let Some(stdin) = self.stdin.as_mut() {
            let _ = stdin.write_all(text.as_bytes()).await;
            let _ = stdin.flush().await;
        }
    }

    /// Closes stdin (end of input) and remembers when.
    pub fn close_stdin(&mut self) {
        self.stdin = None;
        if self.eof_at.is_none() {
            self.eof_at = Some(Instant::now());
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the child is still running")
    }

    /// Sends a signal (`"TERM"`, `"INT"`, ...) to the child with `kill(1)`.
    pub fn signal(&self, name: &str) {
        let st = std::process::Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(st.success(), "kill -{name} failed");
    }

    /// Waits for the exit without closing stdin first (e.g. after a signal); `since_eof` is then
    /// measured from this call.
    pub async fn wait_exit(mut self) -> Output {
        self.eof_at = Some(Instant::now());
        self.finish().await
    }

    pub fn stdout_now(&self) -> String {
        String::from_utf8_lossy(&self.out_rx.borrow()).into_owned()
    }

    pub fn stderr_now(&self) -> String {
        String::from_utf8_lossy(&self.err_rx.borrow()).into_owned()
    }

    /// Waits until the stderr seen so far satisfies `pred` (fails the test at the deadline).
    pub async fn wait_stderr(&mut self, what: &str, pred: impl FnMut(&str) -> bool) -> String {
        let mut rx = self.err_rx.clone();
        self.wait_on(&mut rx, what, pred).await
    }

    /// Waits until the stdout seen so far satisfies `pred` (fails the test at the deadline).
    pub async fn wait_stdout(&mut self, what: &str, pred: impl FnMut(&str) -> bool) -> String {
        let mut rx = self.out_rx.clone();
        self.wait_on(&mut rx, what, pred).await
    }

    /// Waits until stderr has at least `n` complete lines starting with `prefix`.
    pub async fn wait_stderr_lines(&mut self, prefix: &str, n: usize) -> String {
        let what = format!("{n} stderr line(s) starting with {prefix:?}");
        self.wait_stderr(&what, |s| {
            s.split_inclusive('\n')
                .filter(|l| l.ends_with('\n') && l.starts_with(prefix))
                .count()
                >= n
        })
        .await
    }

    async fn wait_on(
        &mut self,
        rx: &mut watch::Receiver<Vec<u8>>,
        what: &str,
        mut pred: impl FnMut(&str) -> bool,
    ) -> String {
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let res = tokio::time::timeout(remaining, async {
            rx.wait_for(|b| pred(&String::from_utf8_lossy(b)))
                .await
                .map(|v| String::from_utf8_lossy(&v).into_owned())
        })
        .await;
        match res {
            Ok(Ok(v)) => v,
            Ok(Err(_)) => {
                let s = String::from_utf8_lossy(&rx.borrow()).into_owned();
                if pred(&s) {
                    return s;
                }
                self.fail(&format!("the stream closed before {what}")).await
            }
            Err(_) => self.fail(&format!("timed out waiting for {what}")).await,
        }
    }

    async fn fail(&mut self, why: &str) -> ! {
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.child.wait()).await;
        panic!(
            "{why} (after {:?})\nargs: {:?}\nenv: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.started.elapsed(),
            self.args,
            self.envs,
            self.stdout_now(),
            self.stderr_now()
        );
    }

    /// Closes stdin, waits for the exit (killing the child and failing the test at the deadline),
    /// then collects the output and the JSON log file.
    pub async fn finish(mut self) -> Output {
        let eof_at = self.eof_at.unwrap_or_else(Instant::now);
        self.close_stdin();
        let remaining = self.deadline.saturating_duration_since(Instant::now());
        let status = match tokio::time::timeout(remaining, self.child.wait()).await {
            Ok(Ok(st)) => st,
            Ok(Err(e)) => panic!("waiting for the child failed: {e}"),
            Err(_) => self.fail("the process did not exit in time").await,
        };
        let exited = Instant::now();
        // The pipes close when the process exits (unless it left children holding them).
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.out_task).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.err_task).await;
        let stdout = self.stdout_now();
        let stderr = self.stderr_now();
        let log_text = self
            .log_path
            .as_ref()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .unwrap_or_default();
        let mut log_lines = Vec::new();
        let mut log_invalid = Vec::new();
        for l in log_text.lines().filter(|l| !l.trim().is_empty()) {
            match serde_json::from_str::<Value>(l) {
                Ok(v) => log_lines.push(v),
                Err(_) => log_invalid.push(l.to_string()),
            }
        }
        #[cfg(unix)]
        let signal = std::os::unix::process::ExitStatusExt::signal(&status);
        #[cfg(not(unix))]
        let signal = None;
        Output {
            stdout,
            stderr,
            code: status.code(),
            signal,
            elapsed: exited - self.started,
            since_eof: exited.saturating_duration_since(eof_at),
            log_text,
            log_lines,
            log_invalid,
            args: self.args,
            envs: self.envs,
            dir: self.dir,
        }
    }
}

/// What a finished run produced.
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    /// The exit code (None when killed by a signal).
    pub code: Option<i32>,
    pub signal: Option<i32>,
    /// From spawn to exit.
    pub elapsed: Duration,
    /// From closing stdin to exit.
    pub since_eof: Duration,
    /// The raw content of the JSON log file (LOG_FILE), "" if none.
    pub log_text: String,
    /// The log file lines that parse as JSON.
    pub log_lines: Vec<Value>,
    /// The log file lines that do not parse as JSON.
    pub log_invalid: Vec<String>,
    pub args: Vec<String>,
    pub envs: BTreeMap<String, String>,
    /// The temporary HOME of the run (kept alive as long as the output).
    pub dir: TempDir,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit code {:?} (signal {:?}) after {:?} ({:?} after EOF)\nargs: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}\n--- log file ---\n{}",
            self.code,
            self.signal,
            self.elapsed,
            self.since_eof,
            self.args,
            self.stdout,
            self.stderr,
            self.log_text
        )
    }
}

impl Output {
    /// The stderr lines (without newlines).
    pub fn stderr_lines(&self) -> Vec<&str> {
        self.stderr.lines().collect()
    }

    /// The parsed `trace: <id>  <url>` lines of stderr, in order.
    pub fn trace_lines(&self) -> Vec<TraceLine> {
        check::trace_lines(&self.stderr)
    }

    /// The trace ids printed on stderr, in order.
    pub fn trace_ids(&self) -> Vec<String> {
        self.trace_lines().into_iter().map(|t| t.trace_id).collect()
    }

    /// The stderr lines starting with `error:`.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }

    /// Asserts exit code 0 and shows everything on failure.
    pub fn assert_exit(&self, code: i32) -> &Self {
        assert_eq!(self.code, Some(code), "unexpected exit status\n{self:?}");
        self
    }

    /// The log file lines whose `message` is `chat interaction` (one per turn).
    pub fn chat_logs(&self) -> Vec<&Value> {
        self.log_lines
            .iter()
            .filter(|v| v["message"] == "chat interaction")
            .collect()
    }
}
