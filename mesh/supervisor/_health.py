"""Readiness: `GET health_url` answers 200."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

PROBE_TIMEOUT = 1.0
_FIRST_DELAY = 0.01
_MAX_DELAY = 0.25


def health_client(timeout: float = PROBE_TIMEOUT) -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=timeout, trust_env=False)


async def is_ready(client: httpx.AsyncClient, health_url: str) -> bool:
    try:
        response = await client.get(health_url)
    except httpx.HTTPError:
        return False
    return response.status_code == httpx.codes.OK


async def poll_until_ready(client: httpx.AsyncClient, health_url: str) -> None:
    """Return once `health_url` answers 200; retries with a backoff from 10 ms up to 250 ms."""
    delay = _FIRST_DELAY
    while not await is_ready(client, health_url):
        await asyncio.sleep(delay)
        delay = min(delay * 2, _MAX_DELAY)


async def probe_ready(health_urls: Sequence[str], probe_timeout: float = PROBE_TIMEOUT) -> list[bool]:
    """One live probe per URL, concurrently, each bounded by `probe_timeout` seconds."""
    async with health_client(probe_timeout) as client:
        return list(await asyncio.gather(*(is_ready(client, url) for url in health_urls)))
