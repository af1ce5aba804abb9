"""`mesh token` over real HTTP: only the token on stdout, so `TOKEN=$(mesh token ...)` works."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from rich.console import Console

from mesh.identity import (
    CLIENTS_FILE,
    AuthorizationServer,
    ClientSpec,
    SigningKey,
    load_or_create_clients,
    token_command,
)

from .conftest import DEMAND, served


@dataclass
class Served:
    server: AuthorizationServer
    token_url: str
    clients_file: Path


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The embedded default as `mesh up` would start it: clients file in the keys dir, over HTTP."""
    clients_file = tmp_path_factory.mktemp("data") / "keys" / CLIENTS_FILE
    spec = ClientSpec(client_id="agent-demand", allowed_scopes=("demand:read",), allowed_resources=(DEMAND,))
    configs, _ = load_or_create_clients(clients_file, [spec])
    servers: list[AuthorizationServer] = []

    def make_app(base_url: str) -> FastAPI:
        servers.append(
            AuthorizationServer(issuer=base_url, clients=configs, signing_key=SigningKey.generate())
        )
        app = FastAPI()
        app.include_router(servers[0].router)
        return app

    with served(make_app) as base_url:
        yield Served(servers[0], f"{base_url}/oauth/token", clients_file)


def _run(embedded: Served, **overrides: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    arguments: dict[str, object] = {
        "token_url": embedded.token_url,
        "clients_file": embedded.clients_file,
        "client_id": "agent-demand",
        "scope": "demand:read",
        "resource": DEMAND,
    }
    code = token_command(
        **(arguments | overrides),  # type: ignore[arg-type]
        console=Console(file=out, width=40),
        err_console=Console(file=err, width=40),
    )
    return code, out.getvalue(), err.getvalue()


def test_token_command_prints_only_the_token_on_stdout(embedded: Served) -> None:
    code, out, err = _run(embedded)

    assert code == 0
    token = out.removesuffix("\n")
    assert "\n" not in token
    assert token.count(".") == 2
    assert token not in err
    assert "demand:read" in err
    principal = embedded.server.verifier().verify(token, audience=DEMAND)
    assert principal.client_id == "agent-demand"


def test_a_refused_request_prints_the_oauth_error_to_stderr_and_exits_1(embedded: Served) -> None:
    code, out, err = _run(embedded, scope="inventory:write")

    assert (code, out) == (1, "")
    assert "invalid_scope" in err


@pytest.mark.parametrize(
    "overrides",
    [{"client_id": "nobody"}, {"token_url": "http://127.0.0.1:1/oauth/token"}],
)
def test_no_secret_or_no_server_exits_2(embedded: Served, overrides: dict[str, object]) -> None:
    code, out, err = _run(embedded, **overrides)

    assert (code, out) == (2, "")
    assert "error" in err
