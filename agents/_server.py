"""One agent as an ASGI app: its signed card at the well-known path, A2A JSON-RPC and REST (with
the SDK's 0.3 compatibility on), `/healthz`, and a hook for further protocol bindings."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from a2a.server.request_handlers import RequestHandler
from a2a.server.routes import create_agent_card_routes, create_jsonrpc_routes, create_rest_routes
from a2a.server.tasks import InMemoryTaskStore
from a2a.types import AgentCard, AgentInterface
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp

from agents._cards import JSONRPC_PATH, REST_PATH, build_card
from agents._executor import SkillExecutor, SkillRequestHandler
from agents._mcp import GatewayTools
from agents._signing import sign_card
from agents._skills import AgentSpec
from mesh.identity import SigningKey
from mesh.tracing import TraceContextMiddleware

if TYPE_CHECKING:
    from agents._answer import Answerer


class ProtocolBinding(Protocol):
    """Another way to reach the agent, such as A2A over NATS: it is listed first in the card's
    `supported_interfaces` (before JSON-RPC and REST) and served, for as long as the app runs, by
    the same request handler as the HTTP bindings."""

    def interface(self) -> AgentInterface:
        """The card entry: URL, protocol binding (a URI of the binding's own) and protocol version."""
        ...

    def serve(self, handler: RequestHandler) -> AbstractAsyncContextManager[None]:
        """Serve `handler` from entry to exit of the returned context (entered at app start-up)."""
        ...


@dataclass(frozen=True)
class AgentApp:
    """A built agent: `asgi` to serve, with the signed `card` it publishes and its `handler`."""

    spec: AgentSpec
    card: AgentCard
    handler: SkillRequestHandler
    asgi: ASGIApp


def build_agent_app(
    spec: AgentSpec,
    *,
    public_url: str,
    signing_key: SigningKey,
    tools: GatewayTools,
    bindings: Sequence[ProtocolBinding] = (),
    free_text: Answerer | None = None,
) -> AgentApp:
    """The agent answering at `public_url`: card signed with `signing_key` at
    `/.well-known/agent-card.json`, JSON-RPC at `/a2a/jsonrpc`, REST at `/a2a/rest` (0.3 REST
    under `/a2a/rest/v1`), `GET /healthz`; tasks kept in memory; every request traced. With
    `free_text` (the agent has a model) it answers text-only messages too (`agents._ask`)."""
    card = sign_card(
        build_card(spec, public_url, extra_interfaces=[binding.interface() for binding in bindings]),
        signing_key,
    )
    handler = SkillRequestHandler(
        spec,
        answers_questions=free_text is not None,
        agent_executor=SkillExecutor(spec, tools, free_text=free_text),
        task_store=InMemoryTaskStore(),
        agent_card=card,
    )

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse(
            {
                "agent": spec.domain,
                "skills": [s.id for s in spec.skills],
                "card_kid": signing_key.kid,
                "model": free_text.model_name if free_text is not None else None,
            }
        )

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            stack.push_async_callback(handler.aclose)
            for binding in bindings:
                await stack.enter_async_context(binding.serve(handler))
            yield

    # REST comes last: its tenant mount (`/{tenant}/...`) would shadow any route after it.
    routes: list[BaseRoute] = [
        Route("/healthz", healthz, methods=["GET"]),
        *create_agent_card_routes(card),
        *create_jsonrpc_routes(handler, JSONRPC_PATH, enable_v0_3_compat=True),
        *create_rest_routes(handler, enable_v0_3_compat=True, path_prefix=REST_PATH),
    ]
    return AgentApp(spec, card, handler, TraceContextMiddleware(Starlette(routes=routes, lifespan=lifespan)))
