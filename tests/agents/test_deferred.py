"""The free-text answerer is built after the agent started: a question that comes first waits for
it, and a build that failed is reported to every question, not only in the log."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from agents._answer import Answer, TokenUse
from agents._deferred import DeferredFreeText


class _Built:
    model_name = "openai/gpt-4.1-mini"

    async def answer(self, question: str, *, decision_id: str) -> Answer:
        return Answer(
            answer=f"answered {question}",
            tool_calls=[],
            data=[],
            decision_id=decision_id,
            model=self.model_name,
            assets={},
            usage=TokenUse(input_tokens=0, output_tokens=0, requests=0, recorded=False),
        )


async def test_a_question_before_the_model_is_built_waits_for_it() -> None:
    release = threading.Event()
    built: list[str] = []

    def build() -> Any:
        release.wait(10)
        built.append(threading.current_thread().name)
        return _Built()

    deferred = DeferredFreeText(build, model_name="openai/gpt-4.1-mini")
    deferred.start()
    deferred.start()  # a second start builds nothing more
    asking = asyncio.ensure_future(deferred.answer("how much?", decision_id="d-1"))
    await asyncio.sleep(0.05)
    assert not asking.done()

    release.set()
    answer = await asyncio.wait_for(asking, 10)

    assert (answer.answer, answer.decision_id) == ("answered how much?", "d-1")
    assert built == ["free-text-model"]  # once, off the event loop


async def test_a_build_that_failed_is_raised_to_each_question_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def build() -> Any:
        raise ValueError("no provider routes 'gpt4'")

    deferred = DeferredFreeText(build, model_name="gpt4")

    for _ in range(2):
        with pytest.raises(ValueError, match="no provider routes"):
            await asyncio.wait_for(deferred.answer("hi", decision_id="d-2"), 10)
    assert "free-text answers unavailable: no provider routes 'gpt4'" in caplog.text
