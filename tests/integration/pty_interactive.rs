//! The interactive mode on a real pseudo-terminal.

use std::time::Duration;

use crate::support::pty::{chatbot_command, Pty};

const BIN: &str = env!("CARGO_BIN_EXE_chatbot-otel");
const WAIT: Duration = Duration::from_secs(15);

/// The prompt appears on a terminal and `/bye` exits 0.
#[test]
fn prompt_and_bye() {
    let home = tempfile::tempdir().unwrap();
    let mut pty = Pty::spawn(
        chatbot_command(BIN, home.path(), &crate::support::closed_port_url()),
        100,
        30,
    );
    pty.expect(">>> ", WAIT);
    pty.send("/bye\r");
    let status = pty.wait(WAIT);
    assert_eq!(status.code(), Some(0), "screen:\n{}", pty.text());
}
