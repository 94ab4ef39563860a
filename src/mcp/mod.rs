//! Tools through the Model Context Protocol: the servers of an `mcpServers` file, started
//! over stdio with the official Rust SDK (`rmcp`), their tools offered to the model, and
//! each call traced across the process boundary.
//!
//! * [`config`]: the `mcpServers` JSON file other MCP clients use.
//! * [`McpServers`] (in `manager`): starts every server in the background, tracks its state,
//!   lists and names tools, and calls one with a timeout and cancellation.
//! * [`ToolOutcome`] (in `outcome`): every way a call ends, as text for the model plus a
//!   one-line notice for the user.
//! * `telemetry`: the `tools/call {tool}` CLIENT span with `traceparent` in `params._meta`,
//!   the `mcp.client.operation.duration` histogram, and the attributes of the GenAI
//!   `execute_tool {tool}` span the chat turn wraps around a call.
//! * `schema`: the shallow argument check done before a call; `server`: one child process.

pub mod config;
mod manager;
mod outcome;
mod schema;
mod server;
mod telemetry;

pub use config::{ConfigError, McpConfig, ServerConfig};
pub use manager::{
    CallTelemetry, McpServers, ServerState, ServerStatus, ToolInfo, DEFAULT_STARTUP_TIMEOUT,
    SHUTDOWN_BUDGET,
};
pub use outcome::{ToolOutcome, MAX_RESULT_BYTES};
pub use telemetry::{execute_tool_attributes, execute_tool_span_name, McpMetrics};
