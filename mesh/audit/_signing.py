"""The Ed25519 key that signs checkpoints: created on first start, kept with restrictive permissions."""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from mesh.audit._errors import SigningKeyError

PRIVATE_KEY_FILE = "audit-ed25519.pem"
PUBLIC_KEY_FILE = "audit-ed25519.pub"


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class CheckpointSigner:
    private_key: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id(self.private_key.public_key())

    def sign(self, message: bytes) -> str:
        return self.private_key.sign(message).hex()


@dataclass(frozen=True)
class CheckpointVerifier:
    """Public keys by key id: the pinned keys a checkpoint may be signed with."""

    keys: dict[str, Ed25519PublicKey]

    def valid(self, key: str, message: bytes, signature_hex: str) -> bool:
        public_key = self.keys.get(key)
        if public_key is None:
            return False
        try:
            public_key.verify(bytes.fromhex(signature_hex), message)
        except (InvalidSignature, ValueError):
            return False
        return True


def load_or_create_signer(key_dir: Path) -> CheckpointSigner:
    """The signing key in `key_dir`, created (0600, directory 0700) if absent.

    A private key file readable by group or others is refused, as ssh refuses one.
    """
    private_path = key_dir / PRIVATE_KEY_FILE
    if not private_path.exists():
        _create_key(key_dir, private_path)
    mode = stat.S_IMODE(private_path.stat().st_mode)
    if mode & 0o077:
        raise SigningKeyError(f"{private_path} is readable by others (mode {mode:o}); chmod 600 it")
    try:
        loaded = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(f"{private_path} is not a PEM private key: {error}") from None
    if not isinstance(loaded, Ed25519PrivateKey):
        raise SigningKeyError(f"{private_path} is not an Ed25519 key")
    return CheckpointSigner(loaded)


def _create_key(key_dir: Path, private_path: Path) -> None:
    """Write a new key pair so that no process ever sees a half-written key: the private key is
    written to a temporary file and published with link(), which fails if another process won."""
    key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key_dir.chmod(0o700)
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    draft = key_dir / f".{PRIVATE_KEY_FILE}.{os.getpid()}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    try:
        os.link(draft, private_path)
    except FileExistsError:
        return  # another process created the key first; the caller loads that one
    finally:
        draft.unlink()
    public_draft = key_dir / f".{PUBLIC_KEY_FILE}.{os.getpid()}"
    public_draft.write_bytes(public)
    public_draft.replace(key_dir / PUBLIC_KEY_FILE)


def load_verifier(key_dir: Path) -> CheckpointVerifier:
    """The pinned public key(s) in `key_dir`: every `*.pub` file there."""
    keys: dict[str, Ed25519PublicKey] = {}
    for path in sorted(key_dir.glob("*.pub")):
        loaded = serialization.load_pem_public_key(path.read_bytes())
        if isinstance(loaded, Ed25519PublicKey):
            keys[key_id(loaded)] = loaded
    if not keys:
        raise SigningKeyError(f"no Ed25519 public key (*.pub) in {key_dir}")
    return CheckpointVerifier(keys)
