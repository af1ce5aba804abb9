"""Revoked token ids, kept in memory until the tokens would have expired anyway."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RevocationList:
    """Token ids (`jti`) revoked before their expiry. An entry is dropped once its token can no
    longer be accepted (`until`, epoch seconds), so the list stays as small as the live tokens.

    In-process only: verifiers in other processes do not see it (their tokens are short-lived).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._until: dict[str, float] = {}
        self._lock = threading.Lock()

    def revoke(self, token_id: str, *, until: float) -> None:
        now = self._clock()
        with self._lock:
            self._until = {jti: end for jti, end in self._until.items() if end > now}
            if until > now:
                self._until[token_id] = max(until, self._until.get(token_id, until))

    def is_revoked(self, token_id: str) -> bool:
        with self._lock:
            until = self._until.get(token_id)
        return until is not None and until > self._clock()

    def __len__(self) -> int:
        now = self._clock()
        with self._lock:
            return sum(1 for end in self._until.values() if end > now)
