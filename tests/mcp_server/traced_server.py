"""A small MCP server that joins the chatbot's trace: the far side of the `mcp_real::` tests.

It is written with the official Python SDK (`mcp`) and the OpenTelemetry Python SDK, as a
real tool server would be. The SDK's server middleware reads `params._meta.traceparent`
(and `tracestate`) from every request and starts its SERVER span `tools/call {tool}` as a
child of the client's span; this file only gives the SDK a tracer provider that exports
over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`, and adds one INTERNAL span of its own
inside the tool. So a test's OTLP receiver gets, in the chatbot's trace:

    tools/call traced_echo   CLIENT  (chatbot-otel, Rust)
    └── tools/call traced_echo   SERVER  (this process)
        └── traced_echo.work     INTERNAL

Tools:
  traced_echo(text)   returns the text and the `traceparent` the request carried
  fail(reason)        raises: the SDK turns it into a result with isError: true
  reject(code)        answers with a JSON-RPC error of that code instead of a result
  sleep(seconds)      sleeps, for timeout and cancellation tests; writes "started" and,
                      when the client's notifications/cancelled stops it, "cancelled" as
                      lines of the file named by $TRACED_SERVER_EVENTS
  crash()             exits the process mid-call, for the "server crashed" path
  busy(seconds)       blocks for that long without yielding, as a CPU-bound tool would: the
                      process neither notices end-of-file on stdin nor exits meanwhile;
                      writes "busy PID" to $TRACED_SERVER_EVENTS first

Run: python3 tests/mcp_server/traced_server.py (stdio). Nothing but JSON-RPC goes to stdout.
"""

import asyncio
import os
import sys
import time

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError

# A simple (synchronous) processor: each span is exported as it ends, so the test need not
# wait for a batch timer, and nothing is lost when the client closes the pipe.
provider = TracerProvider(resource=Resource.create({"service.name": "mcp-traced-server"}))
if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter()))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("mcp-traced-server")

server = MCPServer("traced")


@server.tool(description="Echo the text, with the traceparent this request carried.")
def traced_echo(text: str, ctx: Context) -> str:
    meta = ctx.request_context.meta or {}
    with tracer.start_as_current_span("traced_echo.work"):
        return f"{text} (traceparent {meta.get('traceparent', 'none')})"


@server.tool(description="Always fails, with the given reason.")
def fail(reason: str) -> str:
    raise ToolError(reason)


@server.tool(description="Answer with a JSON-RPC error instead of a result.")
def reject(code: int) -> str:
    raise MCPError(code, f"rejected with code {code}")


@server.tool(description="Sleep for the given number of seconds.")
async def sleep(seconds: float) -> str:
    note("started")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        note("cancelled")
        raise
    return f"slept {seconds} s"


def note(event: str) -> None:
    path = os.environ.get("TRACED_SERVER_EVENTS")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(event + "\n")


@server.tool(description="Block for the given number of seconds.")
def busy(seconds: float) -> str:
    note(f"busy {os.getpid()}")
    time.sleep(seconds)
    return f"was busy {seconds} s"


@server.tool(description="Exit the server process in the middle of the call.")
def crash() -> str:
    print("traced server: crashing on purpose", file=sys.stderr, flush=True)
    os._exit(3)


if __name__ == "__main__":
    print("traced server: starting", file=sys.stderr, flush=True)
    server.run("stdio")
