"""Secret files (signing key, client secrets): created 0600 in a 0700 directory, published
atomically, refused when readable by group or others (as ssh refuses such a key)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path


def loose_permissions(path: Path) -> int | None:
    """The file's mode when group or others may access it, else None."""
    mode = stat.S_IMODE(path.stat().st_mode)
    return mode if mode & 0o077 else None


def _draft(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    return draft


def create_private_file(path: Path, data: bytes) -> bool:
    """Publish `data` at `path` unless it exists; True when this call created it.

    The draft is complete before link() publishes it, so no reader ever sees half a file, and
    link() fails when another process published first (that file then wins).
    """
    fresh_directory = not path.parent.exists()
    draft = _draft(path, data)
    if fresh_directory:
        path.parent.chmod(0o700)
    try:
        os.link(draft, path)
    except FileExistsError:
        return False
    finally:
        draft.unlink()
    return True


def replace_private_file(path: Path, data: bytes) -> None:
    """Replace `path` with `data` atomically (rename over it); the file stays 0600."""
    draft = _draft(path, data)
    try:
        draft.replace(path)
    except BaseException:
        draft.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold an advisory lock beside `path` (a `.<name>.lock` file) for a read-modify-write."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor = os.open(path.parent / f".{path.name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)
