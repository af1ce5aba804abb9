"""Sender identity over a real nats-server: who a request claims to be is checked, refusals are reported."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf.json_format import MessageToDict  # type: ignore[import-untyped]
from nats.aio.client import Client as NATS

from mesh.bus import (
    SENDER_REFUSED_CODE,
    RefusalReason,
    SenderRefusedError,
    SenderSigner,
    agent_subject,
)

from .conftest import BOUND, CALLER, MALLORY, Keys, ServeAgent, collect, nats_client, user_message

pytestmark = pytest.mark.e2e

Signer = Callable[[Keys], SenderSigner | None]


@pytest.mark.parametrize(
    ("make_signer", "claimed", "reason"),
    [
        pytest.param(lambda keys: None, None, RefusalReason.UNSIGNED, id="unsigned"),
        pytest.param(
            lambda keys: SenderSigner(CALLER, keys.mallory),
            CALLER,
            RefusalReason.BAD_SIGNATURE,
            id="signed-with-another-agents-key",
        ),
        pytest.param(
            lambda keys: SenderSigner("stranger", keys.stranger),
            "stranger",
            RefusalReason.UNKNOWN_SENDER,
            id="sender-without-a-pinned-key",
        ),
        pytest.param(
            lambda keys: SenderSigner(CALLER, keys.caller, clock=lambda: time.time() - 120),
            CALLER,
            RefusalReason.STALE,
            id="timestamp-outside-the-window",
        ),
    ],
)
async def test_a_sender_that_is_not_who_it_claims_is_refused_and_reported(
    serve_agent: ServeAgent,
    nc: NATS,
    keys: Keys,
    make_signer: Signer,
    claimed: str | None,
    reason: RefusalReason,
) -> None:
    agent = await serve_agent()
    client = nats_client(agent.card, nc, make_signer(keys))

    with pytest.raises(SenderRefusedError) as refused:
        await collect(client, user_message("let me in"))

    assert (refused.value.sender, refused.value.reason) == (claimed, reason)
    assert agent.refusals == [(claimed, reason)]
    assert agent.executor.executions == 0


async def test_the_verified_sender_reaches_the_handler(serve_agent: ServeAgent, nc: NATS, keys: Keys) -> None:
    agent = await serve_agent()
    client = nats_client(agent.card, nc, SenderSigner(MALLORY, keys.mallory))

    (event,) = await collect(client, user_message("as myself"))

    assert MessageToDict(event.task.artifacts[0].parts[1].data)["sender"] == MALLORY
    assert agent.refusals == []


def send_message_body(text: str, request_id: str = "1") -> bytes:
    message = {"role": "ROLE_USER", "messageId": f"m-{time.monotonic_ns()}", "parts": [{"text": text}]}
    return json.dumps(
        {"jsonrpc": "2.0", "id": request_id, "method": "SendMessage", "params": {"message": message}}
    ).encode()


async def raw_request(nc: NATS, subject: str, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
    reply = await nc.request(subject, body, timeout=BOUND, headers=headers)
    response: dict[str, Any] = json.loads(reply.data)
    return response


def refusal_reason(response: dict[str, Any]) -> str:
    error = response["error"]
    assert error["code"] == SENDER_REFUSED_CODE
    assert response["id"] is None
    (info,) = error["data"]
    assert info["@type"] == "type.googleapis.com/google.rpc.ErrorInfo"
    assert info["reason"] == "SENDER_REFUSED"
    reason: str = info["metadata"]["reason"]
    return reason


async def test_a_replayed_request_is_refused(serve_agent: ServeAgent, nc: NATS, signer: SenderSigner) -> None:
    agent = await serve_agent()
    body = send_message_body("once only")
    headers = signer.headers(agent.subject, body)

    first = await raw_request(nc, agent.subject, body, headers)
    second = await raw_request(nc, agent.subject, body, headers)

    assert first["result"]["task"]["status"]["state"] == "TASK_STATE_COMPLETED"
    assert refusal_reason(second) == "replayed-nonce"
    assert agent.refusals == [(CALLER, RefusalReason.REPLAYED)]
    assert agent.executor.executions == 1


async def test_a_changed_body_is_refused(serve_agent: ServeAgent, nc: NATS, signer: SenderSigner) -> None:
    agent = await serve_agent()
    headers = signer.headers(agent.subject, send_message_body("pay 10"))

    response = await raw_request(nc, agent.subject, send_message_body("pay 10000"), headers)

    assert refusal_reason(response) == "bad-signature"


async def test_a_request_signed_for_another_agent_is_refused(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    agent = await serve_agent()
    body = send_message_body("meant for procurement")
    headers = signer.headers(agent_subject("procurement"), body)

    response = await raw_request(nc, agent.subject, body, headers)

    assert refusal_reason(response) == "bad-signature"


async def test_a_malformed_identity_header_is_refused(
    serve_agent: ServeAgent, nc: NATS, signer: SenderSigner
) -> None:
    agent = await serve_agent()
    body = send_message_body("hello")
    headers = {**signer.headers(agent.subject, body), "A2A-Timestamp": "yesterday"}

    response = await raw_request(nc, agent.subject, body, headers)

    assert refusal_reason(response) == "malformed"
