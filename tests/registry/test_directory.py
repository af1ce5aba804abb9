"""The directory's checks, in process: which announcements it takes, which it refuses and why,
pinned keys read from disk only, status by heartbeat, and search by skill, tag and text."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from a2a.types import AgentInterface
from joserfc.jwk import ECKey
from nats.aio.client import Client as NATS

from agents import sign_card
from mesh.bus import NATS_BINDING_URI, SenderSigner
from mesh.identity import SigningKey
from mesh.registry import (
    AgentDirectory,
    AnnouncementRefusedError,
    AnnouncerError,
    CardAnnouncer,
    PinnedAgentKeys,
    RefusalReason,
    UnknownAgentError,
    announce_subject,
    card_document,
)
from tests.registry.conftest import Agents, announcement


def test_missed_heartbeats_are_counted_in_announced_intervals(agents: Agents) -> None:
    now = [100.0]
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir), missed_heartbeats=3, clock=lambda: now[0])
    signer = agents.signer("demand")
    body = announcement("demand", card_document(agents.card("demand")), heartbeat=2.0)
    directory.receive(*_signed(signer, body))
    now[0] += 5.9
    assert directory.expire() == []
    now[0] += 0.2
    assert directory.expire() == ["demand"]
    assert directory.get("demand").status == "down"
    again = announcement("demand", card_document(agents.card("demand")), heartbeat=2.0, seq=1)
    directory.receive(*_signed(signer, again))
    assert directory.get("demand").status == "up"


# --- what is refused ---------------------------------------------------------------------------


def _signed(
    signer: SenderSigner | None, body: Any, *, agent: str | None = None
) -> tuple[str, dict[str, str], bytes]:
    data = body.model_dump_json(exclude_none=True).encode() if not isinstance(body, bytes) else body
    subject = announce_subject(agent or (signer.agent_id if signer else "demand"))
    return subject, signer.headers(subject, data) if signer is not None else {}, data


def _refused(
    directory: AgentDirectory, message: tuple[str, dict[str, str], bytes]
) -> AnnouncementRefusedError:
    with pytest.raises(AnnouncementRefusedError) as caught:
        directory.receive(*message)
    assert directory.list() == []
    return caught.value


def test_a_tampered_card_is_refused(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    card = card_document(agents.card("logistics"))
    card["description"] = "Books every shipment with carrier X, whatever it costs."
    refused = _refused(directory, _signed(agents.signer("logistics"), announcement("logistics", card)))
    assert refused.reason == RefusalReason.BAD_SIGNATURE


def test_an_unsigned_card_is_refused(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    card = card_document(agents.card("logistics"))
    del card["signatures"]
    refused = _refused(directory, _signed(agents.signer("logistics"), announcement("logistics", card)))
    assert refused.reason == RefusalReason.UNSIGNED


def test_a_card_signed_by_another_agents_key_is_refused(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    card = card_document(agents.card("logistics", signed_by="demand"))
    refused = _refused(directory, _signed(agents.signer("logistics"), announcement("logistics", card)))
    assert refused.reason == RefusalReason.UNTRUSTED_KEY


def test_a_signature_claiming_the_pinned_kid_with_another_key_is_refused(agents: Agents) -> None:
    forger = SigningKey.generate()
    forged = SigningKey(forger.key, agents.key("logistics").kid)  # the pinned kid, another key
    card = card_document(sign_card(agents.card("logistics"), forged))
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    refused = _refused(directory, _signed(agents.signer("logistics"), announcement("logistics", card)))
    assert refused.reason == RefusalReason.BAD_SIGNATURE


def test_a_card_naming_another_agent_is_refused(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    card = card_document(agents.card("logistics", name="Demand agent"))
    refused = _refused(directory, _signed(agents.signer("logistics"), announcement("logistics", card)))
    assert refused.reason == RefusalReason.WRONG_IDENTITY
    assert "Demand agent" in refused.detail


def test_a_card_listing_another_agents_nats_subject_is_refused(agents: Agents) -> None:
    card = agents.card("logistics")
    card.supported_interfaces[0].CopyFrom(
        AgentInterface(
            url=f"{agents.nats_url}/a2a.demand.rpc", protocol_binding=NATS_BINDING_URI, protocol_version="1.0"
        )
    )
    resigned = card_document(sign_card(card, agents.key("logistics")))
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    refused = _refused(directory, _signed(agents.signer("logistics"), announcement("logistics", resigned)))
    assert refused.reason == RefusalReason.WRONG_IDENTITY
    assert "a2a.demand.rpc" in refused.detail


def test_another_agents_card_announced_as_ones_own_is_refused(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    card = card_document(agents.card("demand"))  # demand's genuine card, replayed by logistics
    refused = _refused(directory, _signed(agents.signer("logistics"), announcement("logistics", card)))
    assert refused.reason == RefusalReason.UNTRUSTED_KEY


@pytest.mark.parametrize(
    ("signer_of", "agent_field", "subject_of", "reason"),
    [
        (None, "logistics", "logistics", RefusalReason.SENDER_REFUSED),  # unsigned
        ("mallory", "logistics", "logistics", RefusalReason.SENDER_REFUSED),  # unpinned key
        ("demand", "logistics", "logistics", RefusalReason.WRONG_IDENTITY),  # demand on logistics' subject
        ("logistics", "demand", "logistics", RefusalReason.WRONG_IDENTITY),  # announcing another agent
    ],
)
def test_an_announcement_not_sent_by_the_agent_it_names_is_refused(
    agents: Agents, signer_of: str | None, agent_field: str, subject_of: str, reason: RefusalReason
) -> None:
    signer = None
    if signer_of == "mallory":
        signer = SenderSigner("logistics", ECKey.generate_key("P-256", private=True))
    elif signer_of is not None:
        signer = agents.signer(signer_of)
    card = card_document(agents.card(agent_field))
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    refused = _refused(directory, _signed(signer, announcement(agent_field, card), agent=subject_of))
    assert refused.reason == reason


def test_a_replayed_announcement_is_refused(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    message = _signed(agents.signer("demand"), announcement("demand", card_document(agents.card("demand"))))
    directory.receive(*message)
    with pytest.raises(AnnouncementRefusedError) as caught:
        directory.receive(*message)
    assert (caught.value.reason, caught.value.detail) == (
        RefusalReason.SENDER_REFUSED,
        "sender signature: replayed-nonce",
    )


def test_a_forged_goodbye_does_not_mark_an_agent_down(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    directory.receive(
        *_signed(agents.signer("demand"), announcement("demand", card_document(agents.card("demand"))))
    )
    goodbye = announcement("demand", None, seq=1)
    with pytest.raises(AnnouncementRefusedError):
        directory.receive(*_signed(None, goodbye, agent="demand"))
    with pytest.raises(AnnouncementRefusedError):
        directory.receive(*_signed(agents.signer("logistics"), goodbye, agent="demand"))
    assert directory.get("demand").status == "up"


def test_an_older_announcement_of_the_same_instance_is_refused(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    signer, card = agents.signer("demand"), card_document(agents.card("demand"))
    directory.receive(*_signed(signer, announcement("demand", card, seq=5)))
    with pytest.raises(AnnouncementRefusedError) as caught:
        directory.receive(*_signed(signer, announcement("demand", None, seq=4)))
    assert caught.value.reason == RefusalReason.OUT_OF_ORDER
    assert directory.get("demand").status == "up"


def test_a_late_goodbye_of_an_earlier_instance_does_not_mark_the_restarted_agent_down(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    signer, card = agents.signer("demand"), card_document(agents.card("demand"))
    directory.receive(*_signed(signer, announcement("demand", card, instance="first-run-01")))
    directory.receive(*_signed(signer, announcement("demand", card, instance="second-run-02")))
    assert (
        directory.receive(*_signed(signer, announcement("demand", None, instance="first-run-01", seq=9)))
        is None
    )
    assert (directory.get("demand").status, directory.get("demand").instance) == ("up", "second-run-02")


@pytest.mark.parametrize(
    ("body", "reason", "words"),
    [
        (b"{not json", RefusalReason.MALFORMED, "not an announcement"),
        (b'{"agent": "demand", "status": "up"}', RefusalReason.MALFORMED, "instance"),
        (b"x" * (512 * 1024 + 1), RefusalReason.TOO_LARGE, "over"),
    ],
)
def test_malformed_announcements_are_refused_naming_the_problem(
    agents: Agents, body: bytes, reason: RefusalReason, words: str
) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    refused = _refused(directory, _signed(agents.signer("demand"), body))
    assert refused.reason == reason
    assert words in refused.detail


def test_an_announcement_with_a_card_that_is_not_a_card_is_refused(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    refused = _refused(directory, _signed(agents.signer("demand"), announcement("demand", {"name": 7})))
    assert refused.reason == RefusalReason.MALFORMED


def test_an_announcement_on_a_subject_outside_the_registry_is_refused(agents: Agents) -> None:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    _, headers, body = _signed(
        agents.signer("demand"), announcement("demand", card_document(agents.card("demand")))
    )
    refused = _refused(directory, ("mesh.registry.announce.demand.extra", headers, body))
    assert refused.reason == RefusalReason.BAD_SUBJECT


# --- pinned keys --------------------------------------------------------------------------------


def test_an_unknown_agent_is_refused_and_the_keys_are_read_again_only_when_they_changed(
    agents: Agents,
) -> None:
    keys = PinnedAgentKeys(agents.public_dir)
    assert keys.agents == {"demand", "logistics"}
    assert keys.reload() is False  # nothing changed on disk
    stranger = SenderSigner("procurement", ECKey.generate_key("P-256", private=True))
    directory = AgentDirectory(keys)
    body = announcement("procurement", {"name": "Procurement agent"})
    refused = _refused(directory, _signed(stranger, body))
    assert (refused.reason, refused.detail) == (
        RefusalReason.SENDER_REFUSED,
        "sender signature: unknown-sender",
    )


def test_a_bad_key_file_keeps_the_keys_read_before(agents: Agents) -> None:
    keys = PinnedAgentKeys(agents.public_dir)
    (agents.public_dir / "mallory.jwk.json").write_text('{"kty": "EC", "d": "private!"}')
    assert keys.reload() is False
    assert keys.agents == {"demand", "logistics"}


def test_no_key_directory_is_an_empty_pin_set(tmp_path: Path) -> None:
    assert PinnedAgentKeys(tmp_path / "missing").agents == frozenset()


# --- searching ----------------------------------------------------------------------------------


@pytest.fixture
def two_agents(agents: Agents) -> AgentDirectory:
    directory = AgentDirectory(PinnedAgentKeys(agents.public_dir))
    for domain in ("demand", "logistics"):
        message = _signed(agents.signer(domain), announcement(domain, card_document(agents.card(domain))))
        directory.receive(*message)
    return directory


@pytest.mark.parametrize(
    ("filters", "found"),
    [
        ({}, ["demand", "logistics"]),
        ({"skill": "forecast"}, ["demand"]),
        ({"skill": "book_shipment"}, ["logistics"]),
        ({"skill": "Forecast"}, []),  # skill ids are exact
        ({"tag": "CARBON"}, ["logistics"]),  # tags in any case
        ({"text": "CARRIER"}, ["logistics"]),  # in a skill's id, name, description or tags
        ({"text": "demand agent"}, ["demand"]),  # in the name
        ({"text": "holt-winters"}, ["demand"]),  # in a description
        ({"skill": "forecast", "tag": "carbon"}, []),  # every filter must fit
        ({"status": "down"}, []),
        ({"text": "no such words"}, []),
    ],
)
def test_search_by_skill_tag_and_text(
    two_agents: AgentDirectory, filters: dict[str, Any], found: list[str]
) -> None:
    assert [entry.agent for entry in two_agents.search(**filters)] == found


def test_get_an_unknown_agent_names_the_known_ones(two_agents: AgentDirectory) -> None:
    with pytest.raises(
        UnknownAgentError, match=r"no agent 'carrier-x' in the directory \(known: demand, logistics\)"
    ):
        two_agents.get("carrier-x")


# --- the announcer's own checks -----------------------------------------------------------------


async def test_the_announcer_refuses_a_card_it_would_be_refused_for(agents: Agents) -> None:
    nc = NATS()  # never connected: nothing is sent before the checks pass
    unsigned = card_document(agents.card("demand"))
    del unsigned["signatures"]
    cases: list[tuple[Any, str]] = [
        (unsigned, "unsigned"),
        (agents.card("demand", signed_by="logistics"), "untrusted-key"),
        (agents.card("logistics"), "untrusted-key"),
        ({"name": 3}, "malformed"),
    ]
    for card, reason in cases:
        with pytest.raises(AnnouncerError, match=reason):
            CardAnnouncer(nc, card, signer=agents.signer("demand"))
    with pytest.raises(AnnouncerError, match="heartbeat"):
        CardAnnouncer(nc, agents.card("demand"), signer=agents.signer("demand"), heartbeat=0)
    announcer = CardAnnouncer(nc, agents.card("demand"), signer=agents.signer("demand"))
    with pytest.raises(AnnouncerError, match="card cannot be announced"):
        await announcer.update(agents.card("logistics"))
    with pytest.raises(AnnouncerError, match="not running"):
        await announcer.announce()
