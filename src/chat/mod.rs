//! The conversation: model, sampling settings, system prompt and history.
//!
//! [`ChatSession`] owns the state that survives between turns and decides what a turn
//! leaves behind: a completed reply joins the history; a failed or cancelled turn leaves the
//! history exactly as it was, so the user can simply send the message again. The
//! instrumented request itself lives in [`turn`].

pub mod turn;

use std::future::Future;
use std::io::Write;
use std::pin::pin;
use std::sync::Arc;

use opentelemetry::trace::TraceId;

use crate::ollama::wire::{Message, Role};
use crate::ollama::{OllamaClient, OllamaError};
use crate::telemetry::metrics::TurnStatus;
use crate::telemetry::Telemetry;

/// What the front end needs to know about a finished turn.
#[derive(Debug)]
pub struct TurnReport {
    pub status: TurnStatus,
    /// The failure, for the one-line message to the user.
    pub error: Option<OllamaError>,
    /// The reply text received (complete, or partial if the turn failed or was cancelled).
    pub reply: String,
    /// The turn's trace id, when telemetry is on and the trace was sampled.
    pub trace_id: Option<TraceId>,
}

/// One chat with one Ollama server.
pub struct ChatSession {
    client: OllamaClient,
    telemetry: Arc<Telemetry>,
    model: String,
    temperature: f64,
    system_prompt: Option<String>,
    history: Vec<Message>,
    turns: u64,
    capture_content: bool,
}

impl ChatSession {
    pub fn new(
        client: OllamaClient,
        telemetry: Arc<Telemetry>,
        model: String,
        temperature: f64,
        system_prompt: Option<String>,
        capture_content: bool,
    ) -> Self {
        ChatSession {
            client,
            telemetry,
            model,
            temperature,
            system_prompt,
            history: Vec::new(),
            turns: 0,
            capture_content,
        }
    }

    /// Sends `prompt` with the conversation so far, writing the reply to `out` as it
    /// streams. `cancel` completing (Ctrl-C) abandons the turn.
    pub async fn send(
        &mut self,
        prompt: &str,
        out: &mut dyn Write,
        cancel: impl Future<Output = ()>,
    ) -> TurnReport {
        self.turns += 1;
        let mut messages = Vec::with_capacity(self.history.len() + 2);
        if let Some(system) = &self.system_prompt {
            messages.push(Message::new(Role::System, system.clone()));
        }
        messages.extend(self.history.iter().cloned());
        messages.push(Message::new(Role::User, prompt));

        let turn = turn::Turn {
            client: &self.client,
            telemetry: self.telemetry.as_ref(),
            model: &self.model,
            temperature: self.temperature,
            number: self.turns,
            capture_content: self.capture_content,
        };
        let report = turn.run(prompt, &messages, out, pin!(cancel)).await;
        if report.status == TurnStatus::Success {
            self.history.push(Message::new(Role::User, prompt));
            self.history
                .push(Message::new(Role::Assistant, report.reply.clone()));
        }
        report
    }

    pub fn client(&self) -> &OllamaClient {
        &self.client
    }

    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    pub fn model(&self) -> &str {
        &self.model
    }

    /// Switches model; the conversation is kept (any model can continue it).
    pub fn set_model(&mut self, model: String) {
        self.model = model;
    }

    pub fn temperature(&self) -> f64 {
        self.temperature
    }

    pub fn set_temperature(&mut self, t: f64) {
        self.temperature = t;
    }

    pub fn system_prompt(&self) -> Option<&str> {
        self.system_prompt.as_deref()
    }

    /// Replaces the system prompt (`None` removes it). It is sent first in every request.
    pub fn set_system_prompt(&mut self, system: Option<String>) {
        self.system_prompt = system;
    }

    /// Forgets the conversation but keeps the system prompt.
    pub fn clear(&mut self) {
        self.history.clear();
    }

    /// The user/assistant messages exchanged so far.
    pub fn history(&self) -> &[Message] {
        &self.history
    }

    /// How many turns were attempted (the next one gets `chat.turn` = this + 1).
    pub fn turns(&self) -> u64 {
        self.turns
    }
}
