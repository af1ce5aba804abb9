"""The operator's read APIs and chat on the gateway, for tokens whose audience is `<base>/api`
and that carry `mesh:operator`:

- `GET /api/decisions?limit=50&agent=&q=`: the newest decisions, one row each;
- `GET /api/decisions/{id}`: a decision's records, provenance and spans (404 when unknown);
- `GET /api/standings`: each agent's latest recorded credibility and autonomy;
- `POST /api/chat {"question": ...}`: the operator chat (mesh.chat), 422 naming a bad field.

The JSON shapes are in docs/chat.md; the operator console's page reads them.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mesh.chat import ChatService, DecisionNotFoundError, OperatorRecords, QuestionError
from mesh.chat._service import caller_of
from mesh.gateway._agents import AgentsService
from mesh.gateway._bearer import scoped_bearer
from mesh.gateway._clients import OPERATOR_SCOPE
from mesh.gateway._escalations import EscalationStore
from mesh.gateway._proxy import GovernedProxy
from mesh.identity import TokenVerifier
from mesh.settings import MeshSettings

MAX_LISTED = 200


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="1 to 2000 characters after stripping")
    use_model: bool = Field(
        default=True, description="false: answer by the deterministic path even when a model is configured"
    )


def operator_records(
    settings: MeshSettings, proxy: GovernedProxy, escalations: EscalationStore, agents: AgentsService
) -> OperatorRecords:
    """The gateway's view of the records: its ledger, the local span store, its escalation queue,
    its agent directory and the domains' catalogs as its own directory knows them."""
    domains = list(proxy.upstreams)

    async def catalog() -> list[dict[str, Any]]:
        found = await asyncio.gather(*(proxy.directory.facts(domain) for domain in domains))
        return [contract for facts in found for contract in facts.products.values()]

    return OperatorRecords(
        proxy.ledger,
        span_store=settings.span_store if settings.local_traces else None,
        escalations=escalations.list,
        directory=lambda: agents.directory.search(),
        directory_note=agents.note,
        catalog=catalog,
    )


def mount_operator(
    app: FastAPI,
    *,
    settings: MeshSettings,
    proxy: GovernedProxy,
    verifier: TokenVerifier,
    escalations: EscalationStore,
    agents: AgentsService,
) -> ChatService:
    """The operator routes on `app`; returns the chat service they use."""
    base = proxy.public_base_url.rstrip("/")
    operator = scoped_bearer(
        verifier,
        audience=f"{base}/api",
        resource_metadata=f"{base}/.well-known/oauth-protected-resource/api",
        scope=OPERATOR_SCOPE,
        who="operators only",
    )
    records = operator_records(settings, proxy, escalations, agents)
    chat = ChatService(records, ledger=proxy.ledger, settings=settings)

    @app.get("/api/decisions")
    async def list_decisions(
        request: Request,
        limit: Annotated[int, Query(ge=1, le=MAX_LISTED)] = 50,
        agent: Annotated[str | None, Query(max_length=200)] = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
    ) -> dict[str, Any]:
        operator(request)
        found = records.recent(limit, agent=agent or None, text=q or None)
        return {"decisions": [decision.summary() for decision in found]}

    @app.get("/api/decisions/{decision_id}")
    async def get_decision(request: Request, decision_id: str) -> dict[str, Any]:
        operator(request)
        try:
            return records.decision_document(decision_id)
        except DecisionNotFoundError as error:
            raise HTTPException(404, str(error)) from None

    @app.get("/api/standings")
    async def standings(request: Request) -> dict[str, Any]:
        operator(request)
        return records.standings_document()

    @app.post("/api/chat")
    async def ask(request: Request) -> JSONResponse:
        principal = operator(request)
        try:
            asked = ChatRequest.model_validate_json(await request.body())
        except ValidationError as error:
            return _unprocessable(error)
        caller = caller_of(principal.subject, principal.client_id, principal.scopes, principal.act_chain)
        try:
            answer = await chat.ask(asked.question, caller, use_model=asked.use_model)
        except QuestionError as error:
            return JSONResponse(
                {"detail": [{"loc": ["body", error.field], "msg": error.reason, "type": "value_error"}]},
                status_code=422,
            )
        return JSONResponse(answer.model_dump(mode="json"))

    return chat


def _unprocessable(error: ValidationError) -> JSONResponse:
    """422 naming each bad field as FastAPI does (`loc`, `msg`, `type`), the input left out."""
    problems = [
        {
            "loc": ["body", *[str(part) for part in problem["loc"]]],
            "msg": problem["msg"],
            "type": problem["type"],
        }
        for problem in error.errors(include_input=False, include_url=False)
    ]
    return JSONResponse({"detail": problems}, status_code=422)
