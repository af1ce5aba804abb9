"""A second traced process for the tests: configures tracing, emits spans, shuts tracing down.

`python -m tests.tracing._span_emitter --service S [--span-store PATH] [--otlp-endpoint URL]
[--traceparent TP] [--spans N]` emits one span `emitter batch` (a child of `--traceparent` when
given) with N children `emitted <i>`, then calls `shutdown_tracing()` and prints its pid.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from opentelemetry import propagate, trace

from mesh.tracing import TRACER_NAME, configure_tracing, shutdown_tracing


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--service", required=True)
    parser.add_argument("--span-store", type=Path)
    parser.add_argument("--otlp-endpoint")
    parser.add_argument("--traceparent")
    parser.add_argument("--spans", type=int, default=1)
    args = parser.parse_args()
    configure_tracing(args.service, span_store=args.span_store, otlp_endpoint=args.otlp_endpoint)
    parent = propagate.extract({"traceparent": args.traceparent}) if args.traceparent else None
    tracer = trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span("emitter batch", context=parent):
        for index in range(args.spans):
            with tracer.start_as_current_span(f"emitted {index}"):
                pass
    shutdown_tracing()
    print(os.getpid(), flush=True)


if __name__ == "__main__":
    main()
