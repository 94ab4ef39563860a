//! The `chatbot-otel` binary: everything happens in [`chatbot_otel::app::run`].

fn main() -> std::process::ExitCode {
    chatbot_otel::app::run()
}
