"""`mesh chat [QUESTION]`: the operator chat of the running mesh, in the terminal.

It asks the gateway (`POST /api/chat`) as the `mesh-cli` client with an operator token, so the
answer is the one the console gives and is recorded in the ledger the same way.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console
from rich.text import Text

from mesh._command import command_settings, err_console, fail, response_problem, running_gateway
from mesh.gateway._client import operator_token
from mesh.identity import IdentityError
from mesh.settings import MeshSettings

EXIT_ANSWERED = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
CHAT_TIMEOUT = httpx.Timeout(10.0, read=600.0)
"""A model may take several calls to answer: reading waits up to ten minutes."""

console = Console()


def chat_command(
    ctx: typer.Context,
    question: Annotated[
        str | None, typer.Argument(help="The question; without it, ask one after another (empty line ends).")
    ] = None,
    no_model: Annotated[
        bool,
        typer.Option("--no-model", help="Answer by the deterministic path even when a model is configured."),
    ] = False,
) -> None:
    """Ask the running mesh about its decisions, escalations and agents.

    Answers come from the ledger, traces, escalations and agent standings, citing decision ids;
    with MESH_MODEL set the gateway's model answers, otherwise the deterministic path does and
    says so. Exit 0: answered (even "not in the records"). Exit 1: no mesh runs or the gateway
    failed. Exit 2: a bad question (empty, or over 2000 characters).
    """
    settings = command_settings(ctx)
    gateway = running_gateway(settings)
    use_model = not no_model
    if question is not None:
        raise typer.Exit(asyncio.run(_ask_one(settings, gateway, question, use_model)))
    raise typer.Exit(asyncio.run(_repl(settings, gateway, use_model)))


async def _ask_one(settings: MeshSettings, gateway: str, question: str, use_model: bool) -> int:
    token = await _token(settings, gateway)
    async with httpx.AsyncClient(timeout=CHAT_TIMEOUT, trust_env=False) as http:
        return await _ask(http, gateway, token, question, use_model)


async def _repl(settings: MeshSettings, gateway: str, use_model: bool) -> int:
    token = await _token(settings, gateway)
    console.print("Ask about decisions, escalations and agents; an empty line ends.", style="dim")
    async with httpx.AsyncClient(timeout=CHAT_TIMEOUT, trust_env=False) as http:
        while True:
            try:
                question = await asyncio.to_thread(console.input, "[bold]?[/bold] ")
            except (EOFError, KeyboardInterrupt):
                console.print()
                return EXIT_ANSWERED
            if not question.strip():
                return EXIT_ANSWERED
            code = await _ask(http, gateway, token, question, use_model)
            if code == EXIT_FAILED:
                return code


async def _ask(http: httpx.AsyncClient, gateway: str, token: str, question: str, use_model: bool) -> int:
    try:
        response = await http.post(
            f"{gateway}/api/chat",
            json={"question": question, "use_model": use_model},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.HTTPError as error:
        fail(f"the gateway at {gateway} did not answer: {error or type(error).__name__}", EXIT_FAILED)
    if response.status_code == 422:
        err_console.print(Text(f"error: {response_problem(response)}", style="red"), soft_wrap=True)
        return EXIT_BAD_INPUT
    if response.status_code != 200:
        fail(f"the gateway answered {response.status_code}: {response_problem(response)}", EXIT_FAILED)
    print_answer(response.json())
    return EXIT_ANSWERED


def print_answer(answer: dict[str, Any]) -> None:
    """The answer, its citations and its note, as `mesh chat` prints them."""
    console.print(answer["answer"], highlight=False, soft_wrap=True, markup=False)
    if answer["citations"]:
        console.print("cited decisions:", style="bold")
        for decision_id in answer["citations"]:
            console.print(f"  {decision_id}", highlight=False, soft_wrap=True, markup=False)
    if answer.get("note"):
        console.print(Text(f"note: {answer['note']}", style="yellow"), soft_wrap=True)
    console.print(
        f"({answer['mode']} answer, recorded as {answer['decision_id']})", style="dim", highlight=False
    )


async def _token(settings: MeshSettings, gateway: str) -> str:
    try:
        return await operator_token(gateway, clients_file=settings.oauth_clients_file)
    except IdentityError as error:
        fail(f"no operator token from the gateway: {error}", EXIT_FAILED)
