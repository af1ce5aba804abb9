"""The guard against real model requests (tests/model_guard.py) itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import httpx
import httpx2
import pytest
from pydantic import SecretStr

from mesh.models import ModelConfig, ModelProviderError, build_mesh_agent
from tests.model_guard import ModelRequestGuard, UnmockedRequestError

REPO = Path(__file__).resolve().parents[2]


async def test_an_unmocked_request_by_httpx_fails_where_it_is_sent(model_guard: ModelRequestGuard) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(UnmockedRequestError, match=r"api\.openai\.com"):
            await http.post("https://api.openai.com/v1/chat/completions", json={})
    assert model_guard.take_violations() == ["POST https://api.openai.com/v1/chat/completions"]


async def test_an_unmocked_request_by_httpx2_fails_where_it_is_sent(model_guard: ModelRequestGuard) -> None:
    async with httpx2.AsyncClient() as http:
        with pytest.raises(UnmockedRequestError, match=r"api\.anthropic\.com"):
            await http.post("https://api.anthropic.com/v1/messages", json={})
    assert model_guard.take_violations() == ["POST https://api.anthropic.com/v1/messages"]


async def test_aiohttp_and_raw_sockets_are_refused_too(model_guard: ModelRequestGuard) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(UnmockedRequestError, match="aiohttp"):
            await session.post("https://api.openai.com/v1/chat/completions")
    with pytest.raises(UnmockedRequestError, match=r"name lookup of api\.mistral\.ai"):
        socket.getaddrinfo("api.mistral.ai", 443)
    with socket.socket() as raw, pytest.raises(UnmockedRequestError, match=r"connection to 192\.0\.2\.7:443"):
        raw.connect(("192.0.2.7", 443))
    assert len(model_guard.take_violations()) == 3


async def test_a_model_call_nobody_mocked_is_caught_even_when_the_error_is_swallowed(
    model_guard: ModelRequestGuard,
) -> None:
    """litellm turns the guard's error into a provider error; the guard still remembers it."""
    agent = build_mesh_agent(
        ModelConfig(name="openai/gpt-4.1-mini", api_key=SecretStr("sk-test-unmocked-000000"))
    )

    with pytest.raises(ModelProviderError):
        await agent.run("Hello?")

    with pytest.raises(UnmockedRequestError, match=r"POST https://api\.openai\.com/v1/chat/completions"):
        model_guard.check()
    model_guard.take_violations()


def test_a_test_that_sent_an_unmocked_request_fails(tmp_path: Path) -> None:
    """End to end with pytest itself: the swallowed request fails the test that sent it."""
    (tmp_path / "test_sends.py").write_text(
        "import httpx\n\n"
        "def test_sends_and_swallows():\n"
        "    try:\n"
        "        httpx.post('https://api.openai.com/v1/chat/completions', json={})\n"
        "    except Exception:\n"
        "        pass\n\n"
        "def test_sends_nothing():\n"
        "    assert True\n"
    )
    environment = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.model_guard",
            "-p",
            "no:cacheprovider",
            "-q",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "2 passed, 1 error" in result.stdout  # the one that sent it passed its body, then errored
    assert "ERROR test_sends.py::test_sends_and_swallows" in result.stdout
    assert "unmocked request(s) were sent: POST https://api.openai.com/v1/chat/completions" in result.stdout
