"""The agents' public keys the directory trusts, pinned on disk: never taken from a message."""

from __future__ import annotations

import logging
from pathlib import Path

from joserfc.jwk import ECKey

from mesh.bus import PinnedSenderKeys, SenderKeyError

logger = logging.getLogger(__name__)

_Fingerprint = tuple[tuple[str, int, int], ...]


class PinnedAgentKeys:
    """Agent id -> P-256 public key, from one `<agent-id>.jwk.json` per agent in `directory` (on
    one machine, the agents' card keys: `agents.public_keys_dir(settings.key_dir)`). Callable, so
    it is a `mesh.bus.KeyResolver`.

    `reload()` reads the directory again, but only when it changed since the last read (names,
    sizes and modification times), so a stream of messages from unknown agents cannot make it
    re-read the files each time. Asked for an agent it does not know, it reloads first, so keys
    pinned after start-up (the coordinator's, a new agent's) are found. A directory that cannot be
    read as a whole (a file that is not a public P-256 JWK) keeps the keys read before and logs
    which file; a missing directory is an empty set. Keys are never fetched from anywhere else.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._keys = PinnedSenderKeys({})
        self._seen: _Fingerprint | None = None
        self.reload()

    def __call__(self, agent: str) -> ECKey | None:
        key = self._keys(agent)
        if key is None and self.reload():
            key = self._keys(agent)
        return key

    @property
    def agents(self) -> frozenset[str]:
        return self._keys.agents

    def reload(self) -> bool:
        """Read the directory again if it changed; True when it was read and loaded."""
        fingerprint = self._fingerprint()
        if fingerprint == self._seen:
            return False
        self._seen = fingerprint
        if not fingerprint:
            changed = bool(self._keys.agents)
            self._keys = PinnedSenderKeys({})
            return changed
        try:
            self._keys = PinnedSenderKeys.from_directory(self.directory)
        except SenderKeyError as error:
            logger.error("pinned agent keys not reloaded, keeping %d: %s", len(self._keys), error)
            return False
        logger.info("pinned agent keys loaded from %s: %s", self.directory, sorted(self._keys.agents))
        return True

    def _fingerprint(self) -> _Fingerprint:
        try:
            stats = [(path.name, path.stat()) for path in sorted(self.directory.glob("*.json"))]
            return tuple((name, stat.st_size, stat.st_mtime_ns) for name, stat in stats)
        except OSError:
            return ()
