"""The free-text answerer, built after the agent is up.

Building it imports pydantic-ai and litellm and builds the model: seconds of CPU per process,
which five agents and a gateway starting at once on a small machine would pay before any of them
is ready. The agent therefore starts without it, serves its structured skills and decision
cycles at once, and builds it in a worker thread meanwhile; a question that arrives first waits
for it. What can be checked cheaply (the prompt asset, the ledger) is checked before the agent
starts."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING

from agents._answer import Answer

if TYPE_CHECKING:
    from agents._ask import FreeText

logger = logging.getLogger("agents")


class DeferredFreeText:
    """Answers like `agents._ask.FreeText`, once `build` (run by `start` in a worker thread) has
    made one. A failed build is logged when it happens and raised to every question after."""

    def __init__(self, build: Callable[[], FreeText], *, model_name: str) -> None:
        self.model_name = model_name
        self._build = build
        self._built: Future[FreeText] = Future()
        self._started = threading.Lock()

    def start(self) -> None:
        """Begin building in a daemon thread (again is a no-op)."""
        if self._started.acquire(blocking=False):
            threading.Thread(target=self._run, name="free-text-model", daemon=True).start()

    def _run(self) -> None:
        try:
            self._built.set_result(self._build())
        except BaseException as error:  # kept for the questions; the thread ends either way
            logger.error("free-text answers unavailable: %s", error)
            self._built.set_exception(error)
        else:
            logger.info("free-text model %s ready", self.model_name)

    async def answer(self, question: str, *, decision_id: str) -> Answer:
        self.start()
        free_text = await asyncio.wrap_future(self._built)
        return await free_text.answer(question, decision_id=decision_id)
