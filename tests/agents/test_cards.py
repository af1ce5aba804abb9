"""Agent Cards: generated from code and committed, signed with each agent's own ES256 key, and
verified against pinned keys only (A2A card signing: JWS over the RFC 8785 canonical card)."""

from __future__ import annotations

import base64
import json
import socket
import stat
from pathlib import Path
from typing import Any, cast

import pytest
from a2a.server.request_handlers.response_helpers import agent_card_to_dict
from a2a.types import AgentCard, AgentInterface, AgentSkill
from a2a.utils.signing import ProtectedHeader, create_agent_card_signer
from jwt.api_jwk import PyJWK

from agents import (
    SKILL_SCHEMAS_EXTENSION,
    CardKeyError,
    CardVerificationError,
    PinnedCardKeys,
    agent_spec,
    all_specs,
    build_card,
    card_verifier,
    load_or_create_card_key,
    public_keys_dir,
    sign_card,
    stale_card_files,
    verify_card,
)
from agents.__main__ import main
from agents._cards import card_file, render_card_file
from mesh.identity import SigningKey
from mesh.settings import DOMAINS

BASE = "http://127.0.0.1:8201"


@pytest.fixture
def key_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def signed(key_dir: Path) -> AgentCard:
    return sign_card(build_card(agent_spec("logistics"), BASE), load_or_create_card_key(key_dir, "logistics"))


@pytest.fixture
def pinned(key_dir: Path, signed: AgentCard) -> PinnedCardKeys:
    return PinnedCardKeys.from_directory(public_keys_dir(key_dir))


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every attempt to open a connection, refused and recorded."""
    attempts: list[Any] = []

    def refuse(_self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError(f"the test forbids connecting to {address}")

    def refuse_create(address: Any, *_args: Any, **_kwargs: Any) -> socket.socket:
        attempts.append(address)
        raise OSError(f"the test forbids connecting to {address}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse_create)
    return attempts


# --- generated from code, and committed -----------------------------------------------------------


@pytest.mark.parametrize("domain", DOMAINS)
def test_each_capability_card_file_is_what_the_code_generates(domain: str) -> None:
    assert card_file(domain).read_text() == render_card_file(agent_spec(domain)), (
        f"capability_cards/{domain}.json is stale: run `uv run python -m agents cards`"
    )


def test_the_cards_command_checks_and_writes_the_files(tmp_path: Path) -> None:
    assert main(["cards", "--check"]) == 0
    assert main(["cards", "--check", "--dir", str(tmp_path)]) == 1
    assert main(["cards", "--dir", str(tmp_path)]) == 0
    assert stale_card_files(all_specs(), tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{d}.json" for d in DOMAINS)


def test_a_card_lists_extra_bindings_first_then_json_rpc_and_rest_for_a2a_1_0_then_0_3() -> None:
    nats = AgentInterface(
        url="nats://127.0.0.1:4222/agents.logistics", protocol_binding="urn:x:nats", protocol_version="1.0"
    )
    card = build_card(agent_spec("logistics"), BASE, extra_interfaces=[nats])

    assert [(i.protocol_binding, i.protocol_version, i.url) for i in card.supported_interfaces] == [
        ("urn:x:nats", "1.0", "nats://127.0.0.1:4222/agents.logistics"),
        ("JSONRPC", "1.0", f"{BASE}/a2a/jsonrpc"),
        ("HTTP+JSON", "1.0", f"{BASE}/a2a/rest"),
        ("JSONRPC", "0.3", f"{BASE}/a2a/jsonrpc"),
        ("HTTP+JSON", "0.3", f"{BASE}/a2a/rest"),
    ]


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_card_describes_every_skill_with_its_input_and_output_schema(domain: str) -> None:
    spec = agent_spec(domain)
    card = build_card(spec, BASE)

    assert (card.name, card.version) == (spec.name, spec.version)
    assert card.capabilities.streaming
    assert not card.capabilities.push_notifications
    assert list(card.default_input_modes) == ["application/json", "text/plain"]
    assert [s.id for s in card.skills] == [*(s.id for s in spec.skills), "ask"]
    *structured, ask = card.skills
    assert list(ask.input_modes) == ["text/plain"]
    assert "model" in ask.description
    for skill in structured:
        assert skill.tags
        assert skill.examples
        assert list(skill.input_modes) == ["application/json"]
        assert list(skill.output_modes) == ["application/json", "text/plain"]
    (extension,) = card.capabilities.extensions
    assert extension.uri == SKILL_SCHEMAS_EXTENSION
    schemas = json.loads(card_file(domain).read_text())["capabilities"]["extensions"][0]["params"]["skills"]
    for skill in spec.skills:
        assert schemas[skill.id]["input"]["title"] == skill.input_model.__name__
        assert schemas[skill.id]["output"]["title"] == skill.output_model.__name__
        assert schemas[skill.id]["acts"] == skill.acts


# --- signing --------------------------------------------------------------------------------------


def test_a_signed_card_verifies_with_the_pinned_public_key(signed: AgentCard, pinned: PinnedCardKeys) -> None:
    verify_card(signed, pinned)
    card_verifier(pinned)(signed)  # the hook the SDK's card resolver and client factory take
    (signature,) = signed.signatures
    header = json.loads(_b64(signature.protected))
    assert header == {"alg": "ES256", "kid": next(iter(pinned.kids)), "typ": "JOSE"}


def test_the_served_json_with_its_0_3_fields_still_verifies(
    signed: AgentCard, pinned: PinnedCardKeys
) -> None:
    served = agent_card_to_dict(signed)
    assert served["url"] == f"{BASE}/a2a/jsonrpc"

    verify_card(json.loads(json.dumps(served)), pinned)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda card: setattr(card, "description", card.description + " Trust me."),
        lambda card: card.supported_interfaces[0].__setattr__("url", "http://evil.example/a2a/jsonrpc"),
        lambda card: card.skills.append(AgentSkill(id="wire_money", name="x", description="x", tags=["x"])),
        lambda card: card.capabilities.__setattr__("push_notifications", True),
    ],
    ids=["description", "interface-url", "added-skill", "capability"],
)
def test_a_tampered_card_fails_verification(signed: AgentCard, pinned: PinnedCardKeys, tamper: Any) -> None:
    tamper(signed)

    with pytest.raises(CardVerificationError) as caught:
        verify_card(signed, pinned)
    assert caught.value.reason == "bad_signature"


def test_an_unsigned_card_fails_verification(pinned: PinnedCardKeys) -> None:
    with pytest.raises(CardVerificationError) as caught:
        verify_card(build_card(agent_spec("logistics"), BASE), pinned)
    assert caught.value.reason == "unsigned"


def test_a_card_signed_by_a_key_that_is_not_pinned_fails(pinned: PinnedCardKeys) -> None:
    other = sign_card(build_card(agent_spec("logistics"), BASE), SigningKey.generate())

    with pytest.raises(CardVerificationError) as caught:
        verify_card(other, pinned)
    assert caught.value.reason == "untrusted_key"


def test_a_jku_in_a_card_is_never_fetched_and_without_a_pinned_key_the_card_fails(
    pinned: PinnedCardKeys, no_network: list[Any]
) -> None:
    forged = _signed_with_header(
        build_card(agent_spec("logistics"), BASE),
        SigningKey.generate(),
        jku="https://keys.attacker.example/jwks.json",
    )

    with pytest.raises(CardVerificationError) as caught:
        verify_card(forged, pinned)
    assert caught.value.reason == "untrusted_key"
    assert no_network == []


def test_a_jku_does_not_help_a_card_that_borrows_a_pinned_kid(
    pinned: PinnedCardKeys, no_network: list[Any]
) -> None:
    (kid,) = pinned.kids
    forged = _signed_with_header(
        build_card(agent_spec("logistics"), BASE),
        SigningKey.generate(),
        jku="https://keys.attacker.example/jwks.json",
        kid=kid,
    )

    with pytest.raises(CardVerificationError) as caught:
        verify_card(forged, pinned)
    assert caught.value.reason == "bad_signature"
    assert no_network == []


def test_verification_takes_pinned_keys_as_a_plain_mapping_of_jwks(signed: AgentCard, key_dir: Path) -> None:
    key = load_or_create_card_key(key_dir, "logistics")

    verify_card(signed, {key.kid: key.public_jwk()})
    with pytest.raises(CardVerificationError):
        verify_card(signed, {})


def test_json_that_is_not_a_card_is_malformed(pinned: PinnedCardKeys) -> None:
    with pytest.raises(CardVerificationError) as caught:
        verify_card({"name": 7, "skills": "many"}, pinned)
    assert caught.value.reason == "malformed"


# --- the agent's key --------------------------------------------------------------------------------


def test_the_card_key_is_created_once_private_and_reused(key_dir: Path) -> None:
    first = load_or_create_card_key(key_dir, "demand")
    again = load_or_create_card_key(key_dir, "demand")

    assert first.kid == again.kid
    private = key_dir / "agent-cards" / "demand.es256.jwk.json"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(private.parent.stat().st_mode) == 0o700
    public = json.loads((public_keys_dir(key_dir) / "demand.jwk.json").read_text())
    assert public["kid"] == first.kid
    assert "d" not in public
    assert load_or_create_card_key(key_dir, "inventory").kid != first.kid


def test_a_card_key_readable_by_others_is_refused(key_dir: Path) -> None:
    load_or_create_card_key(key_dir, "demand")
    (key_dir / "agent-cards" / "demand.es256.jwk.json").chmod(0o644)

    with pytest.raises(CardKeyError, match="chmod 600"):
        load_or_create_card_key(key_dir, "demand")


def test_pinned_keys_drop_private_members(key_dir: Path) -> None:
    key = load_or_create_card_key(key_dir, "demand")
    private = {**key.key.as_dict(private=True), "kid": key.kid}

    pinned = PinnedCardKeys([private])
    found = pinned.key_for(key.kid)
    assert found is not None
    assert "d" not in found._jwk_data


def _signed_with_header(card: AgentCard, key: SigningKey, *, jku: str, kid: str | None = None) -> AgentCard:
    private = {**key.key.as_dict(private=True), "kid": key.kid, "alg": "ES256"}
    header = cast(ProtectedHeader, {"alg": "ES256", "kid": kid or key.kid, "jku": jku, "typ": "JOSE"})
    return create_agent_card_signer(PyJWK(private), header)(card)


def _b64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
