"""Asking domains to refresh their data products, over NATS request/reply."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from nats.aio.client import Client as NatsClient
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeoutError

from mesh.dataproducts._refresh import RefreshReply, RefreshRequest, refresh_subject
from mesh.tracing import nats_producer_span

REFRESH_TIMEOUT = 60.0


async def request_refresh(
    connection: NatsClient,
    domains: Sequence[str],
    *,
    decision_id: str,
    requested_by: str,
    answer_within: float = REFRESH_TIMEOUT,
) -> list[RefreshReply]:
    """Ask each domain to refresh, concurrently; a domain that does not answer gets an error reply."""
    request = RefreshRequest(decision_id=decision_id, requested_by=requested_by)
    return list(await asyncio.gather(*(_ask(connection, d, request, answer_within) for d in domains)))


async def _ask(connection: NatsClient, domain: str, request: RefreshRequest, within: float) -> RefreshReply:
    subject = refresh_subject(domain)
    with nats_producer_span(subject, operation="request") as sent:
        try:
            message = await connection.request(
                subject, request.model_dump_json().encode(), timeout=within, headers=sent.headers
            )
        except NoRespondersError:
            problem = f"no {domain} MCP server listens on {subject}"
        except NatsTimeoutError:
            problem = f"{domain} did not answer within {within:g}s"
        else:
            return RefreshReply.model_validate_json(message.data)
    return RefreshReply(decision_id=request.decision_id, domain=domain, error=problem)
