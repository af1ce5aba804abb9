"""Errors of the tracing package: one base, small leaves with structured fields.

Tracing never raises into the traced application: export failures are logged, not raised. These
errors come from the entry-point calls (`configure_tracing`) and from reading the span store.
"""

from __future__ import annotations

from pathlib import Path


class TracingError(Exception):
    """Base of every error the tracing package raises on purpose."""


class TracingAlreadyConfiguredError(TracingError):
    """`configure_tracing` was called again with other arguments, or another library set the provider."""

    def __init__(self, configured: str, requested: str) -> None:
        self.configured = configured
        self.requested = requested
        super().__init__(
            f"tracing is already configured in this process ({configured}); "
            f"it cannot be configured again as {requested}"
        )


class SpanStoreMissingError(TracingError):
    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"no span store at {path}: nothing has been traced from this data dir yet")


class SpanStoreUnreadableError(TracingError):
    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"span store {path} is unreadable ({reason})")


class InvalidTraceIdError(TracingError, ValueError):
    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(f"{text!r} is not a trace id (32 hexadecimal digits, not all zero)")
