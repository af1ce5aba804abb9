"""Key material of the embedded default: the clients file and the signing key, 0600, reused."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from mesh.identity import (
    CLIENTS_FILE,
    SIGNING_KEY_FILE,
    ClientsFileError,
    ClientSpec,
    SigningKeyError,
    load_or_create_clients,
    load_or_create_signing_key,
    read_client_secret,
)

DEMAND = "http://127.0.0.1:8000/mcp/demand"
AGENT = ClientSpec(client_id="agent-demand", allowed_scopes=("demand:read",), allowed_resources=(DEMAND,))
OPERATOR = ClientSpec(client_id="operator", subject="operator:alice", allowed_resources=(DEMAND,))


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_client_secrets_are_created_once_in_a_private_file_and_reused(tmp_path: Path) -> None:
    path = tmp_path / "keys" / CLIENTS_FILE

    configs, secrets = load_or_create_clients(path, [AGENT])
    again, secrets_again = load_or_create_clients(path, [AGENT])

    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert secrets == secrets_again
    assert len(secrets["agent-demand"]) >= 43
    assert configs[0].verify_secret(secrets["agent-demand"])
    assert not configs[0].verify_secret(secrets["agent-demand"] + "x")
    assert again[0].secret_hash == configs[0].secret_hash
    assert configs[0].subject == "client:agent-demand"
    assert secrets["agent-demand"] not in repr(configs[0])
    assert read_client_secret(path, "agent-demand") == secrets["agent-demand"]


def test_a_new_default_client_gets_a_secret_and_existing_ones_keep_theirs(tmp_path: Path) -> None:
    path = tmp_path / CLIENTS_FILE
    _, first = load_or_create_clients(path, [AGENT])

    configs, secrets = load_or_create_clients(path, [AGENT, OPERATOR])

    assert secrets["agent-demand"] == first["agent-demand"]
    assert set(secrets) == {"agent-demand", "operator"}
    assert [config.subject for config in configs] == ["client:agent-demand", "operator:alice"]
    assert set(json.loads(path.read_text())["clients"]) == {"agent-demand", "operator"}


def test_a_clients_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / CLIENTS_FILE
    load_or_create_clients(path, [AGENT])
    path.chmod(0o644)

    with pytest.raises(ClientsFileError, match="chmod 600"):
        load_or_create_clients(path, [AGENT])
    with pytest.raises(ClientsFileError, match="chmod 600"):
        read_client_secret(path, "agent-demand")


def test_reading_an_unknown_client_or_a_missing_file_names_the_problem(tmp_path: Path) -> None:
    path = tmp_path / CLIENTS_FILE
    with pytest.raises(ClientsFileError, match="no OAuth clients file"):
        read_client_secret(path, "agent-demand")
    load_or_create_clients(path, [AGENT])

    with pytest.raises(ClientsFileError, match="'nobody' is not in"):
        read_client_secret(path, "nobody")


def test_duplicate_default_clients_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="duplicate"):
        load_or_create_clients(tmp_path / CLIENTS_FILE, [AGENT, AGENT])


def test_client_specs_are_validated() -> None:
    with pytest.raises(ValueError, match="client_id"):
        ClientSpec(client_id="has space")
    with pytest.raises(ValueError, match="fragment"):
        ClientSpec(client_id="x", allowed_resources=("http://h/mcp#x",))
    with pytest.raises(ValueError, match="scope"):
        ClientSpec(client_id="x", allowed_scopes=('bad"scope',))


def test_the_signing_key_is_created_once_private_and_reused(tmp_path: Path) -> None:
    key_dir = tmp_path / "keys"

    key = load_or_create_signing_key(key_dir)
    again = load_or_create_signing_key(key_dir)

    path = key_dir / SIGNING_KEY_FILE
    assert _mode(path) == 0o600
    assert _mode(key_dir) == 0o700
    assert again.kid == key.kid
    assert json.loads(path.read_text())["kid"] == key.kid
    assert [p.name for p in key_dir.iterdir()] == [SIGNING_KEY_FILE]


def test_a_signing_key_readable_by_others_or_not_a_key_is_refused(tmp_path: Path) -> None:
    load_or_create_signing_key(tmp_path)
    path = tmp_path / SIGNING_KEY_FILE
    path.chmod(0o640)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        load_or_create_signing_key(tmp_path)

    path.chmod(0o600)
    path.write_text('{"kty": "oct", "k": "c2VjcmV0"}')
    with pytest.raises(SigningKeyError, match="not an EC private JWK"):
        load_or_create_signing_key(tmp_path)
