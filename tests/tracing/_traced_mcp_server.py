"""An MCP server process wired for tracing exactly as `python -m mcp_servers` should be.

`python -m tests.tracing._traced_mcp_server --span-store PATH --port N` serves one tool, `add`,
over streamable HTTP until SIGTERM.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn
from mcp.server.mcpserver import MCPServer
from opentelemetry import trace

from mesh.tracing import (
    TRACER_NAME,
    TraceContextMiddleware,
    configure_tracing,
    exit_on_sigterm,
    shutdown_tracing,
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--span-store", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    configure_tracing("mcp-test", span_store=args.span_store)
    exit_on_sigterm()
    server = MCPServer("traced")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        with trace.get_tracer(TRACER_NAME).start_as_current_span("adding"):
            return a + b

    app = TraceContextMiddleware(server.streamable_http_app())
    try:
        uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
    finally:
        shutdown_tracing()


if __name__ == "__main__":
    main()
