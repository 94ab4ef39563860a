//! What the "model" says: the lines of a reply, before any of them is written.
//!
//! A stream is a list of pieces, one `done:false` line each, then the
//! `done:true` line (written by `chat`, which also decides how many pieces a
//! fault lets through):
//!
//! 1. **Thinking** (when the model thinks, see `thinking`): the
//!    [`Thinking`](crate::Thinking) text cut into pieces like the reply, each
//!    line with `message.thinking` set and `content` `""`.
//! 2. Then one of:
//!    * after a **tool result** (the last message has role `tool`): content
//!      quoting each trailing tool message, `<tool_name> returned: <content>`,
//!      one per line;
//!    * when the request offers **tools** and the last user message names some
//!      (see `tools`): one line per call (or one for all, see
//!      [`ToolCallChunks`](crate::ToolCallChunks)) with `message.tool_calls`
//!      and `content` `""`; `done_reason` is still `stop`, as in Ollama;
//!    * otherwise the [`Reply`](crate::Reply), cut into content pieces.
//!
//! Each piece knows what it adds to `eval_count`: one per thinking or content
//! chunk (Ollama has no separate thinking count), and for a tool call the
//! pieces of its name and of its arguments' JSON.

use crate::request::ChatRequest;
use crate::thinking;
use crate::tools;
use crate::wire::{FunctionJson, OrderedJson, ToolCallJson};
use crate::{text, Options, Reply, Thinking, ToolCall, ToolCallChunks};

/// One `done:false` line of a reply.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Piece {
    /// A `message.thinking` chunk.
    Thinking(String),
    /// A `message.content` chunk.
    Content(String),
    /// A `message.tool_calls` chunk.
    ToolCalls(Vec<PlannedCall>),
}

impl Piece {
    /// What this piece adds to `eval_count`.
    pub fn tokens(&self) -> u64 {
        match self {
            Piece::Thinking(_) | Piece::Content(_) => 1,
            Piece::ToolCalls(calls) => calls.iter().map(PlannedCall::tokens).sum(),
        }
    }
}

/// A tool call the reply will make.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlannedCall {
    id: String,
    index: usize,
    name: String,
    arguments: OrderedJson,
}

impl PlannedCall {
    pub fn wire(&self) -> ToolCallJson<'_> {
        ToolCallJson {
            id: &self.id,
            function: FunctionJson {
                index: self.index,
                name: &self.name,
                arguments: &self.arguments,
            },
        }
    }

    fn tokens(&self) -> u64 {
        let arguments = serde_json::to_string(&self.arguments).unwrap_or_default();
        (text::tokenize(&self.name).len() + text::tokenize(&arguments).len()) as u64
    }

    pub fn public(&self) -> ToolCall {
        ToolCall {
            id: self.id.clone(),
            index: self.index,
            name: self.name.clone(),
            arguments: self.arguments.to_value(),
        }
    }
}

/// The pieces of the reply to `chat` by the listed model `model`, in order:
/// thinking, then a tool result's quote, tool calls, or the reply (see the
/// module docs).
pub(crate) fn compose(opts: &Options, model: &str, chat: &ChatRequest) -> Vec<Piece> {
    let last_user = chat.last_user_message().unwrap_or("");
    let tool_results = chat.trailing_tool_results();
    let mut pieces = Vec::new();

    if thinking::thinks(model, &chat.think) {
        let thought = match &opts.thinking {
            Thinking::Echo => match tool_results.first() {
                Some(result) => format!("Okay, {} returned: {}", result.tool(), result.content),
                None => format!("Okay, the user said: {last_user}"),
            },
            Thinking::Text(t) => t.clone(),
            Thinking::Words(n) => text::musing(*n),
        };
        pieces.extend(text::tokenize(&thought).into_iter().map(Piece::Thinking));
    }

    if !tool_results.is_empty() {
        let quote: Vec<String> = tool_results
            .iter()
            .map(|r| format!("{} returned: {}", r.tool(), r.content))
            .collect();
        pieces.extend(
            text::tokenize(&quote.join("\n"))
                .into_iter()
                .map(Piece::Content),
        );
        return pieces;
    }

    let named = tools::named_in(last_user, &chat.tools);
    if !named.is_empty() {
        let calls: Vec<PlannedCall> = named
            .iter()
            .enumerate()
            .map(|(index, tool)| PlannedCall {
                id: tools::call_id(&tool.name, index, chat.messages.len()),
                index,
                name: tool.name.clone(),
                arguments: tools::arguments(tool, last_user),
            })
            .collect();
        match opts.tool_call_chunks {
            ToolCallChunks::OnePerChunk => {
                pieces.extend(calls.into_iter().map(|c| Piece::ToolCalls(vec![c])));
            }
            ToolCallChunks::AllInOne => pieces.push(Piece::ToolCalls(calls)),
        }
        return pieces;
    }

    let reply = match &opts.reply {
        Reply::Echo => format!("You said: {last_user}"),
        Reply::Text(text) => text.clone(),
        Reply::Words(n) => text::lorem(*n),
    };
    pieces.extend(text::tokenize(&reply).into_iter().map(Piece::Content));
    pieces
}
