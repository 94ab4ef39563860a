//! Runs the binary on a pseudo-terminal, the way a person at a terminal runs it.
//!
//! Interactive behaviour (the spinner, the `Thinking...` markers, Ctrl-C during a reply,
//! colours) only happens when stdin and stdout are terminals, so these tests give the child
//! a real pty: it becomes a session leader with the pty as its controlling terminal, so a
//! `^C` byte typed into the master is turned into SIGINT by the line discipline, exactly as
//! a keyboard's Ctrl-C is. The test reads everything the child draws from the master.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A child process on a pty, and everything it has written so far.
pub struct Pty {
    master: File,
    child: Child,
    screen: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    /// Starts `command` on a new `cols`×`rows` pty (stdin, stdout and stderr all on it).
    pub fn spawn(mut command: Command, cols: u16, rows: u16) -> Pty {
        let size = nix::pty::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = nix::pty::openpty(&size, None).expect("openpty");
        let slave: OwnedFd = pty.slave;
        command
            .stdin(Stdio::from(slave.try_clone().expect("dup slave")))
            .stdout(Stdio::from(slave.try_clone().expect("dup slave")))
            .stderr(Stdio::from(slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                if libc::setsid() == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::ioctl(0, libc::TIOCSCTTY as _, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command.spawn().expect("spawn on pty");
        drop(command); // closes our copies of the slave
        let master = File::from(pty.master);
        let screen = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().expect("dup master");
        let sink = screen.clone();
        thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the child and every slave copy are gone: the end of the screen.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty {
            master,
            child,
            screen,
        }
    }

    /// Types `text` (use `"\r"` for Enter, `"\x03"` for Ctrl-C, `"\x04"` for Ctrl-D).
    pub fn send(&mut self, text: &str) {
        self.master
            .write_all(text.as_bytes())
            .expect("write to pty");
        self.master.flush().expect("flush pty");
    }

    /// Everything drawn so far, raw (escape sequences included).
    pub fn raw(&self) -> String {
        String::from_utf8_lossy(&self.screen.lock().unwrap()).into_owned()
    }

    /// Everything drawn so far with escape sequences removed and `\r\n` as `\n`.
    pub fn text(&self) -> String {
        strip_ansi(&self.raw())
    }

    /// Waits until the plain text contains `needle` after byte offset `from` of the
    /// plain text; returns the offset just past it. Panics with the screen on timeout.
    pub fn expect_after(&self, from: usize, needle: &str, timeout: Duration) -> usize {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.text();
            if let Some(i) = text.get(from..).and_then(|t| t.find(needle)) {
                return from + i + needle.len();
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {needle:?}; the screen was:\n{text}");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`Pty::expect_after`] from the start.
    pub fn expect(&self, needle: &str, timeout: Duration) -> usize {
        self.expect_after(0, needle, timeout)
    }

    /// Waits for the child to exit (killing it after `timeout`).
    pub fn wait(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Let the reader thread drain what is left.
                thread::sleep(Duration::from_millis(50));
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the child did not exit; the screen was:\n{}", self.text());
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The child's process id, e.g. to send it a signal.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The master side's fd, e.g. to resize the terminal.
    pub fn master_fd(&self) -> i32 {
        self.master.as_raw_fd()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A `Command` for the binary under test with a clean environment in `home`: `HOME`,
/// `XDG_STATE_HOME`, `LOG_FILE`, `TERM`, and a closed OTLP port.
pub fn chatbot_command(bin: &str, home: &Path, ollama_url: &str) -> Command {
    let mut c = Command::new(bin);
    c.env_clear()
        .env(
            "PATH",
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into()),
        )
        .env("HOME", home)
        .env("XDG_STATE_HOME", home)
        .env("LOG_FILE", home.join("chatbot.log"))
        .env("TERM", "xterm-256color")
        .env("OLLAMA_ENDPOINT", ollama_url)
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", super::closed_port_url());
    c
}

/// Removes CSI (`ESC [ … final`), OSC (`ESC ] … BEL|ST`) and two-byte escapes, turns
/// `\r\n` into `\n`, and drops other carriage returns.
pub fn strip_ansi(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    while let Some(c) = chars.next() {
                        if c == '\x07' || (c == '\x1b' && chars.next_if_eq(&'\\').is_some()) {
                            break;
                        }
                    }
                }
                _ => {}
            },
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}
