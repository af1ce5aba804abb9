"""The agent directory over HTTP: `GET /api/agents` and `GET /api/agents/{agent}`, fed by the
agents' announcements on NATS (mesh.registry), for callers with the `mesh:directory` scope."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

import nats
from fastapi import FastAPI, HTTPException, Query, Request
from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError

from mesh.bus import public_keys_dir
from mesh.gateway._bearer import scoped_bearer
from mesh.gateway._clients import DIRECTORY_SCOPE
from mesh.identity import TokenVerifier
from mesh.registry import AgentDirectory, AgentStatus, PinnedAgentKeys, RegistryError, UnknownAgentError

logger = logging.getLogger(__name__)

RETRY_CONNECT = 2.0
"""Seconds between two attempts to reach NATS while the gateway runs without it."""

NatsState = Literal["disabled", "connecting", "connected"]


class AgentsService:
    """The gateway's agent directory and its NATS connection.

    Without a NATS URL the directory stays empty and says why. With one, the gateway connects in
    the background (it serves everything else meanwhile, retrying every `RETRY_CONNECT` s), then
    subscribes to the announcements and asks every agent to announce itself; after a reconnect
    it asks again. Pinned keys: the agents' public card keys under `key_dir`."""

    def __init__(self, key_dir: Path, nats_url: str | None) -> None:
        self.directory = AgentDirectory(PinnedAgentKeys(public_keys_dir(key_dir)))
        self.nats_url = nats_url
        self.state: NatsState = "disabled" if nats_url is None else "connecting"
        self.last_error: str | None = None
        self._nc: NATS | None = None

    def note(self) -> str | None:
        """Why the directory may be incomplete, in one sentence; None when it is live."""
        if self.state == "disabled":
            return "the gateway runs without NATS (no --nats-url): no agent can announce itself"
        if self.state == "connecting":
            reason = f" ({self.last_error})" if self.last_error else ""
            return f"the gateway is not connected to NATS yet{reason}: the directory may be incomplete"
        return None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The directory live for as long as the context is (the app's lifespan)."""
        if self.nats_url is None:
            logger.info("agent directory disabled: no NATS URL")
            yield
            return
        connecting = asyncio.create_task(self._connect(self.nats_url), name="registry-connect")
        try:
            yield
        finally:
            connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await connecting
            await self.directory.stop()
            if self._nc is not None and not self._nc.is_closed:
                with contextlib.suppress(NatsError, OSError):
                    await self._nc.drain()

    async def _connect(self, url: str) -> None:
        async def reconnected() -> None:
            with contextlib.suppress(NatsError, OSError, RegistryError):
                await self.directory.query()

        while True:
            try:
                self._nc = await nats.connect(
                    url,
                    name="gateway-registry",
                    connect_timeout=2,
                    allow_reconnect=True,
                    max_reconnect_attempts=-1,
                    reconnected_cb=reconnected,
                )
                break
            except (NatsError, OSError, TimeoutError) as error:
                if self.last_error is None:
                    logger.warning("agent directory: NATS at %s unreachable, retrying: %s", url, error)
                self.last_error = str(error) or type(error).__name__
                await asyncio.sleep(RETRY_CONNECT)
        await self.directory.start(self._nc)
        self.state, self.last_error = "connected", None
        logger.info("agent directory: listening on %s", self.directory.announce_subjects)


def mount_agents(app: FastAPI, service: AgentsService, verifier: TokenVerifier, public_base_url: str) -> None:
    """The directory's routes, for a token whose audience is `<base>/api` with `mesh:directory`."""
    base = public_base_url.rstrip("/")
    audience, metadata = f"{base}/api", f"{base}/.well-known/oauth-protected-resource/api"

    reader = scoped_bearer(
        verifier,
        audience=audience,
        resource_metadata=metadata,
        scope=DIRECTORY_SCOPE,
        who="directory readers only",
    )

    @app.get("/api/agents")
    async def list_agents(
        request: Request,
        skill: Annotated[str | None, Query(min_length=1, max_length=200, description="a skill id")] = None,
        tag: Annotated[str | None, Query(min_length=1, max_length=200, description="a skill tag")] = None,
        q: Annotated[str | None, Query(min_length=1, max_length=200, description="text, any case")] = None,
        status: Annotated[AgentStatus | None, Query()] = None,
    ) -> dict[str, Any]:
        reader(request)
        found = service.directory.search(skill=skill, tag=tag, text=q, status=status)
        return {
            "connected": service.state == "connected",
            "detail": service.note(),
            "agents": [entry.model_dump(mode="json") for entry in found],
        }

    @app.get("/api/agents/{agent}")
    async def get_agent(request: Request, agent: str) -> dict[str, Any]:
        reader(request)
        try:
            detail = service.directory.get(agent)
        except UnknownAgentError as error:
            note = service.note()
            raise HTTPException(404, f"{error}; {note}" if note else str(error)) from None
        return detail.model_dump(mode="json")
