"""`mesh console`: where the running mesh's operator console is, and how to log in to it."""

from __future__ import annotations

import json
from typing import Annotated

import httpx
import typer
from rich.console import Console

from mesh._command import command_settings, fail, running_gateway
from mesh.gateway._console import CONSOLE_PATH
from mesh.identity import IdentityError, read_client_secret

EXIT_SHOWN = 0
EXIT_FAILED = 1
EXIT_BAD_SETTINGS = 2
CLIENT_ID = "operator"
PROBE_TIMEOUT = 2.0

console = Console()


def console_command(
    ctx: typer.Context,
    show_secret: Annotated[
        bool,
        typer.Option(
            "--show-secret", help="Also print the operator client's secret (it is shown on request only)."
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object instead of text.")] = False,
) -> None:
    """Print the operator console's URL of the running mesh and how to log in to it.

    The console logs in with the `operator` OAuth client; its secret is in the mesh's clients
    file, printed here only with --show-secret. Exit 0: the gateway serves the console.
    Exit 1: no mesh runs from the data dir, or its gateway does not answer at the console URL.
    Exit 2: invalid settings.
    """
    settings = command_settings(ctx)
    url = f"{running_gateway(settings)}{CONSOLE_PATH}"
    problem = _probe(url)
    if problem is not None:
        fail(f"the gateway does not serve the console at {url}: {problem}", EXIT_FAILED)
    clients_file = settings.oauth_clients_file.resolve()
    secret = None
    if show_secret:
        try:
            secret = read_client_secret(clients_file, CLIENT_ID)
        except IdentityError as error:
            fail(f"the operator client's secret cannot be read: {error}", EXIT_FAILED)
    if as_json:
        document = {"url": url, "client_id": CLIENT_ID, "clients_file": str(clients_file)}
        if secret is not None:
            document["client_secret"] = secret
        typer.echo(json.dumps(document, indent=2))
        return
    console.print(f"Operator console: {url}", highlight=False, soft_wrap=True)
    console.print("Log in with the operator OAuth client:", highlight=False)
    console.print(f"  client id  {CLIENT_ID}", highlight=False)
    if secret is not None:
        console.print(f"  secret     {secret}", highlight=False, soft_wrap=True)
    else:
        console.print(
            f"  secret     clients.{CLIENT_ID}.secret in {clients_file}"
            " (or run `mesh console --show-secret`)",
            highlight=False,
            soft_wrap=True,
        )


def _probe(url: str) -> str | None:
    """None when the console page answers 200, else why not."""
    try:
        response = httpx.get(url, timeout=PROBE_TIMEOUT, trust_env=False, follow_redirects=False)
    except httpx.HTTPError as error:
        return str(error) or type(error).__name__
    if response.status_code != 200:
        return f"it answered {response.status_code}"
    return None
