"""Token buckets per client and per client and tool."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Rate:
    per_second: float
    burst: int


@dataclass(slots=True)
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """`check(client, tool)` takes one token from the client's bucket and, for a tool call, from
    the (client, tool) bucket; when either is empty nothing is taken and the seconds until a token
    is back are returned (the `Retry-After`). Buckets are created full and forgotten when full."""

    def __init__(
        self, per_client: Rate, per_tool: Rate, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rates = (per_client, per_tool)
        self._clock = clock
        self._buckets: dict[tuple[str, str | None], _Bucket] = {}
        self._lock = threading.Lock()

    def check(self, client: str, tool: str | None = None) -> float | None:
        """None when allowed; else seconds to wait."""
        keys: list[tuple[tuple[str, str | None], Rate]] = [((client, None), self._rates[0])]
        if tool is not None:
            keys.append(((client, tool), self._rates[1]))
        now = self._clock()
        with self._lock:
            buckets = [(self._refill(key, rate, now), rate) for key, rate in keys]
            waits = [(1 - bucket.tokens) / rate.per_second for bucket, rate in buckets if bucket.tokens < 1]
            if waits:
                return max(waits)
            for bucket, _ in buckets:
                bucket.tokens -= 1
        return None

    def _refill(self, key: tuple[str, str | None], rate: Rate, now: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(float(rate.burst), now)
            return bucket
        bucket.tokens = min(rate.burst, bucket.tokens + (now - bucket.updated) * rate.per_second)
        bucket.updated = now
        if len(self._buckets) > 10_000:
            self._forget_full(now)
        return bucket

    def _forget_full(self, now: float) -> None:
        for key, bucket in list(self._buckets.items()):
            rate = self._rates[0 if key[1] is None else 1]
            if bucket.tokens + (now - bucket.updated) * rate.per_second >= rate.burst:
                del self._buckets[key]


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
