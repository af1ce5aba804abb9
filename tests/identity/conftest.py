from __future__ import annotations

import base64
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from starlette.types import ASGIApp

from mesh.identity import (
    TOKEN_EXCHANGE,
    AuthorizationServer,
    ClientConfig,
    ClientSpec,
    SigningKey,
    hash_secret,
)

ISSUER = "http://127.0.0.1:8000"
MCP = "http://127.0.0.1:8000/mcp"
DEMAND = "http://127.0.0.1:8000/mcp/demand"
INVENTORY = "http://127.0.0.1:8000/mcp/inventory"
UPSTREAM = "http://127.0.0.1:9101/mcp"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
START = 1_800_000_000.0
BOUND = 5.0

SPECS = (
    ClientSpec(
        client_id="operator",
        subject="operator:alice",
        allowed_scopes=("demand:read", "inventory:read", "inventory:write", "escalations:approve"),
        allowed_resources=(MCP,),
    ),
    ClientSpec(
        client_id="agent-inventory",
        subject="agent:inventory",
        allowed_scopes=("demand:read", "inventory:read", "inventory:write"),
        allowed_resources=(MCP + "/",),
        grant_types=("client_credentials", TOKEN_EXCHANGE),
    ),
    ClientSpec(
        client_id="agent-demand",
        subject="agent:demand",
        allowed_scopes=("demand:read", "inventory:read"),
        allowed_resources=(MCP,),
        grant_types=(TOKEN_EXCHANGE, "client_credentials"),
    ),
    ClientSpec(client_id="gateway", allowed_scopes=("mcp:call",), allowed_resources=(UPSTREAM,)),
)
SECRETS = {spec.client_id: f"secret-of-{spec.client_id}-{'x' * 20}" for spec in SPECS}


class Clock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def configs() -> list[ClientConfig]:
    """Client configs with cheap secret hashes (scrypt N=2**10): the tests do not measure cost."""
    return [
        ClientConfig(**spec.model_dump(), secret_hash=hash_secret(SECRETS[spec.client_id], cost=2**10))
        for spec in SPECS
    ]


@pytest.fixture(scope="session")
def signing_key() -> SigningKey:
    return SigningKey.generate()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def server(configs: list[ClientConfig], signing_key: SigningKey, clock: Clock) -> AuthorizationServer:
    return AuthorizationServer(issuer=ISSUER, clients=configs, signing_key=signing_key, clock=clock)


def app_for(server: AuthorizationServer) -> FastAPI:
    app = FastAPI()
    app.include_router(server.router)
    return app


@pytest.fixture
async def http(server: AuthorizationServer) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_for(server))
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


def basic(client_id: str, secret: str | None = None) -> dict[str, str]:
    pair = f"{client_id}:{SECRETS[client_id] if secret is None else secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: httpx.Headers

    @property
    def token(self) -> str:
        assert self.status == 200, self.body
        value: str = self.body["access_token"]
        return value


async def post_token(http: httpx.AsyncClient, client_id: str, **form: str) -> Answer:
    response = await http.post("/oauth/token", data=form, headers=basic(client_id))
    return Answer(response.status_code, response.json(), response.headers)


async def client_token(
    http: httpx.AsyncClient, client_id: str, *, resource: str = DEMAND, scope: str | None = None
) -> Answer:
    form = {"grant_type": "client_credentials", "resource": resource}
    if scope is not None:
        form["scope"] = scope
    return await post_token(http, client_id, **form)


async def exchange(
    http: httpx.AsyncClient, actor: str, subject_token: str, *, resource: str = DEMAND, **extra: str
) -> Answer:
    form = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": subject_token,
        "subject_token_type": ACCESS_TOKEN,
        "resource": resource,
        **extra,
    }
    return await post_token(http, actor, **form)


def claims_of(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Header and claims of a JWS, unverified (for asserting on what was issued)."""
    header, payload, _ = token.split(".")
    return _json(header), _json(payload)


def _json(part: str) -> dict[str, Any]:
    value: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return value


@contextmanager
def served(make_app: Callable[[str], ASGIApp], *, lifespan: Literal["on", "off"] = "off") -> Iterator[str]:
    """Serve `make_app(base_url)` with uvicorn on a free loopback port in a thread; yield the URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    app = make_app(f"http://127.0.0.1:{port}")
    config = uvicorn.Config(app, log_level="warning", access_log=False, ws="none", lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + BOUND
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start")
        time.sleep(0.005)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(BOUND)
        listener.close()
