"""The binding's names, key files, signatures and ClientFactory selection, without a network."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest
from a2a.client import ClientConfig, ClientFactory
from a2a.client.transports.jsonrpc import JsonRpcTransport
from a2a.utils.constants import TransportProtocol
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS

from mesh.bus import (
    NATS_BINDING_URI,
    InvalidInterfaceUrlError,
    NatsClientTransport,
    PinnedSenderKeys,
    RefusalReason,
    SenderKeyError,
    SenderRefusedError,
    SenderSigner,
    SenderVerifier,
    agent_subject,
    nats_agent_interface,
    nats_interface_url,
    register_nats_transport,
    subject_of,
)

from ._echo import echo_card
from .conftest import CALLER, Keys, interface


def test_an_agent_has_one_request_subject() -> None:
    assert agent_subject("inventory") == "a2a.inventory.rpc"
    for bad in ("", "in.ventory", "inv*", "inv entory", ">"):
        with pytest.raises(ValueError, match="subject token"):
            agent_subject(bad)


def test_an_interface_url_names_the_server_and_the_subject() -> None:
    url = nats_interface_url("nats://127.0.0.1:4222", "a2a.inventory.rpc")

    assert url == "nats://127.0.0.1:4222/a2a.inventory.rpc"
    assert subject_of(url) == "a2a.inventory.rpc"
    assert nats_interface_url("nats.mesh:4222", "a2a.x.rpc") == "nats://nats.mesh:4222/a2a.x.rpc"
    assert subject_of("tls://nats.example.com/a2a.x.rpc") == "a2a.x.rpc"


@pytest.mark.parametrize(
    "url",
    [
        "http://host/a2a.x.rpc",
        "nats://host/",
        "nats://host/a2a.*.rpc",
        "nats://host/a2a.x.rpc?q=1",
        "nats://host/a/b",
    ],
)
def test_an_interface_url_of_another_form_is_refused(url: str) -> None:
    with pytest.raises(InvalidInterfaceUrlError):
        subject_of(url)


def test_the_card_interface_declares_the_binding_and_a2a_1_0() -> None:
    entry = nats_agent_interface("nats://127.0.0.1:4222", "a2a.demand.rpc")

    assert entry.protocol_binding == NATS_BINDING_URI == "https://agentic-mesh.dev/a2a/bindings/nats/v1"
    assert entry.protocol_version == "1.0"
    assert entry.url == "nats://127.0.0.1:4222/a2a.demand.rpc"


def factory(config: ClientConfig) -> ClientFactory:
    made = ClientFactory(config)
    register_nats_transport(made, NATS(), signer=None)
    return made


NATS_FIRST = [
    nats_agent_interface("nats://127.0.0.1:4222", "a2a.echo.rpc"),
    interface("http://127.0.0.1:8000/a2a", TransportProtocol.JSONRPC),
]


def test_the_factory_picks_nats_when_the_card_lists_it_first() -> None:
    config = ClientConfig(supported_protocol_bindings=[NATS_BINDING_URI, TransportProtocol.JSONRPC])

    client = factory(config).create(echo_card(NATS_FIRST))

    transport = client._transport  # type: ignore[attr-defined]
    assert isinstance(transport, NatsClientTransport)
    assert transport.subject == "a2a.echo.rpc"


def test_the_factory_follows_the_cards_order_unless_the_client_prefers_its_own() -> None:
    http_first = echo_card(list(reversed(NATS_FIRST)))
    bindings = [NATS_BINDING_URI, TransportProtocol.JSONRPC]

    by_card = factory(ClientConfig(supported_protocol_bindings=bindings)).create(http_first)
    by_client = factory(
        ClientConfig(supported_protocol_bindings=bindings, use_client_preference=True)
    ).create(http_first)

    assert isinstance(by_card._transport, JsonRpcTransport)  # type: ignore[attr-defined]
    assert isinstance(by_client._transport, NatsClientTransport)  # type: ignore[attr-defined]


def test_a_factory_that_does_not_list_the_binding_never_picks_it() -> None:
    client = factory(ClientConfig()).create(echo_card(NATS_FIRST))

    assert isinstance(client._transport, JsonRpcTransport)  # type: ignore[attr-defined]


def write_jwk(path: Path, jwk: Mapping[str, object]) -> None:
    path.write_text(json.dumps(jwk))


def test_pinned_keys_load_one_public_jwk_per_agent_file(tmp_path: Path, keys: Keys) -> None:
    write_jwk(tmp_path / "caller.jwk.json", keys.caller.as_dict(private=False))
    write_jwk(tmp_path / "mallory.json", keys.mallory.as_dict(private=False))
    (tmp_path / "README.md").write_text("public keys of the mesh's agents\n")

    pinned = PinnedSenderKeys.from_directory(tmp_path)

    assert pinned.agents == {"caller", "mallory"}
    caller_key = pinned("caller")
    assert caller_key is not None
    assert caller_key.thumbprint() == keys.caller.thumbprint()
    assert pinned("nobody") is None


@pytest.mark.parametrize(
    ("name", "jwk", "complaint"),
    [
        ("caller.jwk.json", lambda keys: keys.caller.as_dict(private=True), "private key"),
        ("caller.jwk.json", lambda keys: ECKey.generate_key("P-384").as_dict(private=False), "P-256"),
        ("caller.jwk.json", lambda keys: {"kty": "oct", "k": "c2VjcmV0"}, "private key"),
        ("not.an.agent.jwk.json", lambda keys: keys.caller.as_dict(private=False), "not an agent id"),
    ],
)
def test_a_bad_key_file_stops_loading_the_pinned_keys(
    tmp_path: Path, keys: Keys, name: str, jwk: object, complaint: str
) -> None:
    write_jwk(tmp_path / name, jwk(keys))  # type: ignore[operator]

    with pytest.raises(SenderKeyError, match=complaint):
        PinnedSenderKeys.from_directory(tmp_path)


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


def test_the_signature_is_a_detached_es256_jws(keys: Keys) -> None:
    headers = SenderSigner(CALLER, keys.caller).headers("a2a.echo.rpc", b"{}")

    _protected, payload, signature = headers["A2A-Signature"].split(".")
    assert payload == ""
    assert signature
    assert set(headers) == {"A2A-Version", "A2A-Sender", "A2A-Timestamp", "A2A-Nonce", "A2A-Signature"}


def test_a_nonce_is_remembered_for_the_window_then_the_timestamp_refuses(keys: Keys) -> None:
    clock = Clock()
    signer = SenderSigner(CALLER, keys.caller, clock=clock)
    verifier = SenderVerifier(keys.pinned, window=60, clock=clock)
    headers = lower(signer.headers("a2a.echo.rpc", b"{}"))

    assert verifier.verify("a2a.echo.rpc", headers, b"{}") == CALLER
    with pytest.raises(SenderRefusedError) as replayed:
        verifier.verify("a2a.echo.rpc", headers, b"{}")
    clock.now += 61
    with pytest.raises(SenderRefusedError) as stale:
        verifier.verify("a2a.echo.rpc", headers, b"{}")
    verifier.verify("a2a.echo.rpc", lower(signer.headers("a2a.echo.rpc", b"{}")), b"{}")

    assert (replayed.value.reason, stale.value.reason) == (RefusalReason.REPLAYED, RefusalReason.STALE)
    assert verifier.remembered_nonces == 1


def test_a_full_nonce_cache_refuses_rather_than_forgets(keys: Keys) -> None:
    clock = Clock()
    signer = SenderSigner(CALLER, keys.caller, clock=clock)
    verifier = SenderVerifier(keys.pinned, max_nonces=1, clock=clock)
    verifier.verify("a2a.echo.rpc", lower(signer.headers("a2a.echo.rpc", b"{}")), b"{}")

    with pytest.raises(SenderRefusedError) as refused:
        verifier.verify("a2a.echo.rpc", lower(signer.headers("a2a.echo.rpc", b"{}")), b"{}")

    assert refused.value.reason == RefusalReason.REPLAY_CACHE_FULL


def test_the_stream_inbox_and_version_are_signed(keys: Keys) -> None:
    signer = SenderSigner(CALLER, keys.caller)
    verifier = SenderVerifier(keys.pinned)
    headers = lower(signer.headers("a2a.echo.rpc", b"{}", stream_inbox="_INBOX.mine"))

    for changed in ({"a2a-stream-inbox": "_INBOX.theirs"}, {"a2a-version": "0.3"}):
        with pytest.raises(SenderRefusedError) as refused:
            verifier.verify("a2a.echo.rpc", {**headers, **changed}, b"{}")
        assert refused.value.reason == RefusalReason.BAD_SIGNATURE
    assert verifier.verify("a2a.echo.rpc", headers, b"{}") == CALLER
