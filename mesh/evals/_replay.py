"""A loopback OpenAI-compatible model server that answers from a recording, turn by turn; and
its twin that makes recordings by asking a live model.

The mesh is pointed at it like at any OpenAI-compatible server (`MESH_MODEL=openai/<name>`,
`MESH_MODEL_BASE_URL=<url>/v1`): agents and the operator chat call it through litellm exactly as
they would call a live model. A recording that ran out, or whose next turn expects text the
request does not hold, answers HTTP 400 with the reason (a model error the caller reports).
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

from mesh.evals._wire import Recording
from mesh.models import ModelConfig, load_litellm

REPLAY_MODEL = "eval-replay"


class ReplayServer:
    """Serves `/v1/chat/completions` from the loaded recording; `load` switches recordings."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._lock = threading.Lock()
        self._recording: Recording | None = None
        self._next = 0
        self.errors: list[str] = []
        self.requests: list[dict[str, Any]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                    self._send(HTTPStatus.NOT_FOUND, _error(f"no route {self.path}"))
                    return
                try:
                    request = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(HTTPStatus.BAD_REQUEST, _error("request body is not JSON"))
                    return
                status, body = server._answer(request)
                self._send(status, body)

            def _send(self, status: HTTPStatus, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="eval-replay", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def load(self, recording: Recording | None) -> None:
        with self._lock:
            self._recording, self._next = recording, 0
            self.errors, self.requests = [], []

    @property
    def turns_used(self) -> int:
        return self._next

    def _answer(self, request: dict[str, Any]) -> tuple[HTTPStatus, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            recording = self._recording
            if recording is None:
                return self._refuse("no recording is loaded for this case (a model call was not expected)")
            if self._next >= len(recording.turns):
                return self._refuse(
                    f"recording {recording.id} ran out after {len(recording.turns)} turn(s); "
                    "the model was asked once more"
                )
            turn = recording.turns[self._next]
            if turn.expect_in_request is not None and turn.expect_in_request not in json.dumps(request):
                return self._refuse(
                    f"recording {recording.id} turn {self._next + 1} expects {turn.expect_in_request!r} "
                    "in the request, which does not hold it (the replay drifted)"
                )
            self._next += 1
        if turn.tool_calls:
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{self._next}_{index}",
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                    for index, call in enumerate(turn.tool_calls)
                ],
            }
            finish = "tool_calls"
        else:
            message, finish = {"role": "assistant", "content": turn.content}, "stop"
        return HTTPStatus.OK, {
            "id": f"chatcmpl-{recording.id}-{self._next}",
            "object": "chat.completion",
            "created": 1_800_000_000,
            "model": REPLAY_MODEL,
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    def _refuse(self, reason: str) -> tuple[HTTPStatus, dict[str, Any]]:
        self.errors.append(reason)
        return HTTPStatus.BAD_REQUEST, _error(reason)


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": "eval_replay"}}


class RecordingServer(ReplayServer):
    """Makes recordings with a live model: the mesh calls it as it calls the replay server, it
    asks the live model (through litellm, keys from the environment) and answers with what the
    model said, keeping each answer as a turn of the recording `begin` named; `end` returns the
    recording (None when the model was not asked)."""

    def __init__(self, model: ModelConfig, host: str = "127.0.0.1") -> None:
        super().__init__(host)
        self.model = model
        self._recording_id: str | None = None
        self._turns: list[dict[str, Any]] = []

    def begin(self, recording_id: str) -> None:
        with self._lock:
            self._recording_id, self._turns = recording_id, []
            self.errors, self.requests = [], []

    def end(self) -> Recording | None:
        with self._lock:
            recording_id, turns = self._recording_id, self._turns
            self._recording_id, self._turns = None, []
        if recording_id is None or not turns:
            return None
        return Recording.model_validate(
            {
                "format": "eval-recording/1",
                "id": recording_id,
                "version": 1,
                "description": f"Recorded from {self.model.name} on {datetime.now(UTC):%Y-%m-%d}.",
                "made_with": self.model.name,
                "turns": turns,
            }
        )

    def _answer(self, request: dict[str, Any]) -> tuple[HTTPStatus, dict[str, Any]]:
        with self._lock:
            self.requests.append(request)
            if self._recording_id is None:
                return self._refuse(
                    "no recording is being made for this case (a model call was not expected)"
                )
        try:
            body = self._ask_live(request)
        except Exception as error:  # the provider's failure is the mesh's model error
            return self._refuse(
                f"the live model {self.model.name} failed: {type(error).__name__}: {error}"[:500]
            )
        message = body["choices"][0]["message"]
        turn: dict[str, Any]
        if message.get("tool_calls"):
            turn = {
                "tool_calls": [
                    {
                        "name": call["function"]["name"],
                        "arguments": json.loads(call["function"]["arguments"] or "{}"),
                    }
                    for call in message["tool_calls"]
                ]
            }
        else:
            turn = {"content": message.get("content") or ""}
        with self._lock:
            self._turns.append(turn)
        return HTTPStatus.OK, body

    def _ask_live(self, request: dict[str, Any]) -> dict[str, Any]:
        litellm: Any = load_litellm()
        asked = {key: request[key] for key in FORWARDED if key in request}
        response = litellm.completion(
            model=self.model.name,
            api_base=self.model.base_url,
            api_key=self.model.api_key.get_secret_value() if self.model.api_key else None,
            timeout=self.model.timeout,
            **asked,
        )
        body: dict[str, Any] = response.model_dump()
        return body


FORWARDED = ("messages", "tools", "tool_choice", "temperature", "max_tokens", "max_completion_tokens")
"""What of the mesh's request the recording server passes on to the live model."""


def _recorded_call(function: dict[str, Any]) -> dict[str, Any]:
    return {"name": function["name"], "arguments": json.loads(function.get("arguments") or "{}")}
