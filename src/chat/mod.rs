//! The conversation: model, parameters, thinking mode, system prompt and history.
//!
//! [`ChatSession`] owns the state that survives between turns and decides what a turn
//! leaves behind: a completed reply joins the history (with the model's reasoning, which is
//! sent back on later turns as `ollama run` does); a failed or cancelled turn leaves the
//! history exactly as it was, so the user can simply send the message again. The
//! instrumented request itself lives in [`turn`].

mod attributes;
pub mod capture;
pub mod feedback;
pub mod parameters;
pub mod reply;
pub mod sessions;
pub mod tools;
pub mod turn;

pub use reply::ReplySink;

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;

use opentelemetry::trace::{SpanContext, TraceId};

use crate::ollama::wire::{ChatOptions, Message, Role, Think};
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
    /// The model's reasoning received before (or instead of) the reply; empty if none.
    pub thinking: String,
    /// The assistant's tool calls and the tools' results, in order, when the turn ran
    /// tools (they join the history before the final reply).
    pub tool_messages: Vec<Message>,
    /// Writing the reply out failed (the first error's kind). `BrokenPipe` cancelled the
    /// turn: nobody reads stdout any more.
    pub output_error: Option<std::io::ErrorKind>,
    /// The turn's trace id, when telemetry is on and the trace was sampled.
    pub trace_id: Option<TraceId>,
    /// The `chat_interaction` span, for `/trace` and for feedback links (when recorded).
    pub root: Option<SpanContext>,
}

/// One chat with one Ollama server.
pub struct ChatSession {
    client: OllamaClient,
    telemetry: Arc<Telemetry>,
    model: String,
    /// Ollama's `options`: temperature and whatever `/set parameter` set.
    options: ChatOptions,
    /// The request's `think`; `None` sends none and lets the server decide.
    think: Option<Think>,
    system_prompt: Option<String>,
    history: Vec<Message>,
    turns: u64,
    capture_content: bool,
    /// The root span of each turn, by turn number − 1 (`None` when nothing was recorded).
    roots: Vec<Option<SpanContext>>,
    /// `gen_ai.conversation.id` and `session.id` of every span: one id per conversation,
    /// so a backend shows its turns together. We own the history, so we make the id (a
    /// random UUID); `/clear` starts a new conversation, `/load` resumes a saved one's.
    conversation_id: String,
    /// MCP tools, when servers are configured (see [`tools`]).
    tools: Option<tools::ToolBox>,
    /// Who approves tool calls (the front end sets it; by default nothing may run).
    approver: Box<dyn tools::Approver>,
    /// Models known to lack the `tools` capability (asked once per model).
    tool_capable: std::collections::HashMap<String, bool>,
}

/// A new conversation id.
pub fn new_conversation_id() -> String {
    uuid::Uuid::new_v4().to_string()
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
            options: ChatOptions {
                temperature,
                ..ChatOptions::default()
            },
            think: None,
            system_prompt,
            history: Vec::new(),
            turns: 0,
            capture_content,
            roots: Vec::new(),
            conversation_id: new_conversation_id(),
            tools: None,
            approver: Box::new(tools::AllowList::default()),
            tool_capable: std::collections::HashMap::new(),
        }
    }

    /// Offers MCP tools to capable models from now on.
    pub fn set_tools(&mut self, tools: tools::ToolBox) {
        self.tools = Some(tools);
    }

    /// The MCP servers, for `/tools` and shutdown.
    pub fn tools(&self) -> Option<&tools::ToolBox> {
        self.tools.as_ref()
    }

    /// Who decides whether a tool call runs.
    pub fn set_approver(&mut self, approver: Box<dyn tools::Approver>) {
        self.approver = approver;
    }

    /// Whether to offer tools to the current model: it must say `tools` in `/api/show`
    /// (asked once per model; a model that cannot gets a plain chat and one hint).
    async fn offer_tools(&mut self, out: &mut dyn ReplySink) -> bool {
        let Some(tools) = &self.tools else {
            return false;
        };
        if tools.servers.tools().is_empty() {
            return false;
        }
        if let Some(capable) = self.tool_capable.get(&self.model) {
            return *capable;
        }
        let capable = match self
            .client
            .capabilities(&self.model, std::time::Duration::from_secs(5))
            .await
        {
            Ok(caps) => caps.iter().any(|c| c == "tools"),
            Err(_) => return false,
        };
        if !capable {
            let _ = out.note(&format!(
                "note: {} cannot call tools (its capabilities lack \"tools\"); chatting without them",
                self.model
            ));
        }
        self.tool_capable.insert(self.model.clone(), capable);
        capable
    }

    /// The id that ties this conversation's turns together in telemetry.
    pub fn conversation_id(&self) -> &str {
        &self.conversation_id
    }

    /// Continues a saved conversation: its id, history and settings.
    pub fn restore(&mut self, saved: sessions::Saved) {
        self.conversation_id = saved.conversation_id;
        self.model = saved.model;
        self.system_prompt = saved.system_prompt;
        self.options = saved.options;
        self.think = saved.think;
        self.history = saved.messages;
    }

    /// What `/save` writes: the conversation and the settings that shaped it.
    pub fn to_saved(&self) -> sessions::Saved {
        sessions::Saved {
            format_version: sessions::FORMAT_VERSION,
            conversation_id: self.conversation_id.clone(),
            saved_at: sessions::now(),
            model: self.model.clone(),
            system_prompt: self.system_prompt.clone(),
            options: self.options.clone(),
            think: self.think,
            messages: self.history.clone(),
        }
    }

    /// Sends `prompt` with the conversation so far, writing the reply to `out` as it
    /// streams. `cancel` completing (Ctrl-C) abandons the turn.
    pub async fn send(
        &mut self,
        prompt: &str,
        out: &mut dyn ReplySink,
        cancel: impl Future<Output = ()>,
    ) -> TurnReport {
        self.turns += 1;
        let mut messages = Vec::with_capacity(self.history.len() + 2);
        if let Some(system) = &self.system_prompt {
            messages.push(Message::new(Role::System, system.clone()));
        }
        messages.extend(self.history.iter().cloned());
        messages.push(Message::new(Role::User, prompt));

        let offer = self.offer_tools(out).await;
        let definitions = match (&self.tools, offer) {
            (Some(tools), true) => tools.definitions(),
            _ => Vec::new(),
        };
        let turn = turn::Turn {
            client: &self.client,
            telemetry: self.telemetry.as_ref(),
            model: &self.model,
            options: &self.options,
            think: self.think,
            conversation_id: &self.conversation_id,
            tools: self.tools.as_ref().filter(|_| offer),
            tool_definitions: &definitions,
            number: self.turns,
            capture_content: self.capture_content,
        };
        let report = turn
            .run(prompt, &messages, out, self.approver.as_mut(), pin!(cancel))
            .await;
        self.roots.push(report.root.clone());
        if report.status == TurnStatus::Success {
            self.history.push(Message::new(Role::User, prompt));
            self.history.extend(report.tool_messages.iter().cloned());
            self.history.push(Message::assistant(
                report.reply.clone(),
                Some(report.thinking.clone()),
            ));
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
        self.options.temperature
    }

    pub fn set_temperature(&mut self, t: f64) {
        self.options.temperature = t;
    }

    /// The model parameters sent as `options`.
    pub fn options(&self) -> &ChatOptions {
        &self.options
    }

    /// Sets one model parameter (`/set parameter NAME VALUE`, `--option NAME=VALUE`);
    /// nothing changes when the value is invalid.
    pub fn set_parameter(&mut self, name: &str, value: &str) -> Result<(), String> {
        parameters::set(&mut self.options, name, value)
    }

    /// Replaces all model parameters (from the command line).
    pub fn set_options(&mut self, options: ChatOptions) {
        self.options = options;
    }

    /// The `think` value sent with each request, `None` when the server decides.
    pub fn think(&self) -> Option<Think> {
        self.think
    }

    pub fn set_think(&mut self, think: Option<Think>) {
        self.think = think;
    }

    pub fn system_prompt(&self) -> Option<&str> {
        self.system_prompt.as_deref()
    }

    /// Replaces the system prompt (`None` removes it). It is sent first in every request.
    pub fn set_system_prompt(&mut self, system: Option<String>) {
        self.system_prompt = system;
    }

    /// Forgets the conversation (thinking included) but keeps the system prompt; what
    /// follows is a new conversation, with a new id.
    pub fn clear(&mut self) {
        self.history.clear();
        self.conversation_id = new_conversation_id();
    }

    /// The conversation so far: user, assistant and tool messages.
    pub fn history(&self) -> &[Message] {
        &self.history
    }

    /// The `chat_interaction` span of turn `number` (1-based), if it was recorded.
    pub fn turn_root(&self, number: u64) -> Option<&SpanContext> {
        let index = usize::try_from(number.checked_sub(1)?).ok()?;
        self.roots.get(index)?.as_ref()
    }

    /// Records the user's rating of a turn (by default the last one) as a linked span.
    /// Returns the feedback span's context, or why nothing was recorded.
    pub fn feedback(
        &self,
        rating: feedback::Rating,
        comment: Option<&str>,
        target: Option<SpanContext>,
    ) -> Result<SpanContext, String> {
        if !self.telemetry.enabled() {
            return Err("telemetry is off, so there is nothing to attach feedback to".into());
        }
        let target = match target {
            Some(target) => target,
            None => self
                .turn_root(self.turns)
                .cloned()
                .ok_or("no reply to rate yet (or its trace was not recorded); use --trace TRACE_ID SPAN_ID for an earlier one")?,
        };
        Ok(feedback::record(
            &self.telemetry,
            &self.model,
            rating,
            comment,
            target,
            self.capture_content,
            &self.conversation_id,
        ))
    }

    /// How many turns were attempted (the next one gets `chat.turn` = this + 1).
    pub fn turns(&self) -> u64 {
        self.turns
    }
}
