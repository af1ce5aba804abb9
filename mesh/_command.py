"""What the `mesh` commands share, wherever they are written: the settings of the invocation,
the running mesh, and how a command fails (a red `error:` line on stderr and an exit code)."""

from __future__ import annotations

from typing import NoReturn

import httpx
import typer
from rich.console import Console
from rich.text import Text

from mesh.settings import MeshSettings, load_settings
from mesh.supervisor import MeshState, StateFileError, read_live_state

EXIT_FAILED = 1
"""No mesh runs, or it did not do what was asked."""
EXIT_BAD_INPUT = 2
"""Bad settings, options or arguments."""

err_console = Console(stderr=True)


def fail(message: str, code: int = EXIT_FAILED) -> NoReturn:
    err_console.print(Text(f"error: {message}", style="red"), soft_wrap=True)
    raise typer.Exit(code)


def command_settings(ctx: typer.Context) -> MeshSettings:
    """The settings for this invocation: `mesh`'s global `--config` and `--data-dir` over MESH_*
    over the TOML file; exit 2 naming the problem when they are invalid."""
    options = ctx.find_root().obj
    try:
        return load_settings(getattr(options, "config", None), data_dir=getattr(options, "data_dir", None))
    except (ValueError, OSError) as error:
        fail(f"invalid settings: {error}", EXIT_BAD_INPUT)


def running_state(settings: MeshSettings) -> MeshState:
    """The state of the mesh running from the data dir; exit 1 when none runs."""
    try:
        state = read_live_state(settings.state_file)
    except StateFileError as error:
        fail(str(error))
    if state is None or not state.components:
        fail(f"no mesh running from {settings.data_dir}; start one with `mesh up`")
    return state


def running_gateway(settings: MeshSettings) -> str:
    """The base URL of the running mesh's gateway; exit 1 when there is none."""
    gateway = running_state(settings).gateway_endpoint
    if gateway is None:
        fail("the running mesh has no gateway")
    return gateway.rstrip("/")


def response_problem(response: httpx.Response) -> str:
    """What a gateway API answer that is not a success says went wrong: its `detail` (a 422's
    list of fields and messages, joined), else its text or reason phrase."""
    try:
        detail = response.json().get("detail", response.text)
    except (ValueError, AttributeError):
        return response.text or response.reason_phrase
    if isinstance(detail, list):
        return "; ".join(
            f"{'.'.join(str(p) for p in item.get('loc', [])[1:]) or 'body'}: {item.get('msg')}"
            if isinstance(item, dict)
            else str(item)
            for item in detail
        )
    return str(detail)
