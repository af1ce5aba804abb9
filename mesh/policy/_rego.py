"""The in-process engine: the policy set compiled once by regopy (rego-cpp), queried per decision."""

from __future__ import annotations

import json
import re
import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from pydantic import ValidationError
from regopy import BundleFormat, Interpreter, LogLevel, RegoError  # type: ignore[import-untyped]

from mesh.policy._engine import ENGINE_POLICY_ID, combine, fail_closed
from mesh.policy._errors import PolicyLoadError
from mesh.policy._native import EvaluationError, RegoSession
from mesh.policy._policyset import ENTRYPOINT, PolicySet
from mesh.policy._types import PolicyDecision, PolicyInput, RuleResult

_ENTRYPOINT = ENTRYPOINT.encode()
_RULE = f"data.{ENTRYPOINT.replace('/', '.')}"
_KEY_ORDER = ("context", "request", "caller", "data_products", "input_format")
"""rego-cpp finds a key by scanning an object's keys in order: the most read first."""


class RegoPolicyEngine:
    """Decides in process with rego-cpp (through `regopy`), on a policy set compiled once.

    The policy set is compiled to a bundle when the engine is made; each thread that decides
    gets its own interpreter with its own copy of that compiled bundle, so decisions run in
    parallel without a lock and without sharing rego-cpp state. The last `cache_size` decisions
    are kept by input (0: none): the policy set never changes under an engine, and rules are
    pure functions of `input` and `data`.
    """

    def __init__(self, policy_set: PolicySet, *, cache_size: int = 1024) -> None:
        self._policy_set = policy_set
        self._version = policy_set.version
        self._compiled = _compile(policy_set)
        self._local = threading.local()
        self._cache_size = cache_size
        self._cache: OrderedDict[str, PolicyDecision] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._check_entrypoint()

    @classmethod
    def from_directory(cls, directory: Path, *, cache_size: int = 1024) -> RegoPolicyEngine:
        """Read, compile and check the policy set in `directory`; `PolicyLoadError` names the
        file at fault."""
        return cls(PolicySet.read(directory), cache_size=cache_size)

    @property
    def policy_version(self) -> str:
        return self._version

    @property
    def policy_set(self) -> PolicySet:
        return self._policy_set

    def decide(self, policy_input: PolicyInput) -> PolicyDecision:
        """The decision of the policy set on `policy_input`. Never raises: it fails closed.

        Queries `data.mesh.results` once with `policy_input` as `input` (fields that are null
        left out) and combines the results (`combine`). Anything but a set of well-formed
        results is a deny with one reason, "policy engine error: ...", and policy id
        `mesh.engine`: an evaluation error (builtin errors included), an undefined result, a
        result with an unknown outcome or a missing, mistyped or unknown field, or a failure of
        the engine itself. Such denies are not cached. Thread-safe.
        """
        key = self._cache_key(policy_input)
        if key is None:
            return self._evaluate(policy_input)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        decision = self._evaluate(policy_input)
        if decision.policy_ids != [ENGINE_POLICY_ID]:
            with self._cache_lock:
                self._cache[key] = decision
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return decision

    def _cache_key(self, policy_input: PolicyInput) -> str | None:
        if not self._cache_size:
            return None
        try:
            return policy_input.model_dump_json()
        except Exception:  # not cacheable: `_evaluate` fails closed on it
            return None

    def _evaluate(self, policy_input: PolicyInput) -> PolicyDecision:
        try:
            dumped = policy_input.model_dump(mode="json", exclude_none=True)
            document = {key: dumped[key] for key in _KEY_ORDER}
            output = self._session().evaluate(document, _ENTRYPOINT)
            results = _results(output)
        except EvaluationError as error:
            return fail_closed(str(error), self._version)
        except Exception as error:  # fail closed on anything, whatever its kind
            return fail_closed(f"{type(error).__name__}: {error}", self._version)
        return combine(results, self._version)

    def _session(self) -> RegoSession:
        session: RegoSession | None = getattr(self._local, "session", None)
        if session is None:
            with tempfile.TemporaryDirectory(prefix="mesh-policy-") as directory:
                bundle_file = Path(directory) / "policy.rbb"
                bundle_file.write_bytes(self._compiled)
                session = RegoSession(bundle_file)
            self._local.session = session
        return session

    def _check_entrypoint(self) -> None:
        """`data.mesh.results` must exist and be defined even for an empty input (a partial set
        rule is): a policy set that would deny everything for want of it does not load."""
        try:
            output = self._session().evaluate({}, _ENTRYPOINT)
        except EvaluationError as error:
            if "entrypoint not found" in str(error):
                raise PolicyLoadError(self._policy_set.directory, f"no rule {_RULE}: {error}") from None
            return
        if output == "undefined":
            raise PolicyLoadError(
                self._policy_set.directory,
                f"{_RULE} is undefined for an empty input: define it as a set, "
                "`results contains result if ...` in package mesh",
            )


def _results(output: str) -> list[RuleResult]:
    if output == "undefined":
        raise EvaluationError(f"undefined result: {_RULE} has no value for this input")
    try:
        document = json.loads(output)
        value = document["expressions"][0]
    except (ValueError, KeyError, IndexError, TypeError) as error:
        raise EvaluationError(f"malformed result: cannot read the engine's output ({error})") from None
    if not isinstance(value, list):
        raise EvaluationError(f"malformed result: {_RULE} is a {type(value).__name__}, not a set of results")
    results = []
    for item in value:
        try:
            results.append(RuleResult.model_validate(item, strict=True))
        except ValidationError as error:
            culprit = item.get("policy_id") if isinstance(item, dict) else None
            source = f"from {culprit}" if isinstance(culprit, str) and culprit else "from an unnamed rule"
            raise EvaluationError(f"malformed result {source}: {_first_problem(error)}") from None
    return results


def _first_problem(error: ValidationError) -> str:
    problem = error.errors()[0]
    where = ".".join(str(part) for part in problem["loc"]) or "result"
    return f"{where}: {problem['msg']}"


def _compile(policy_set: PolicySet) -> bytes:
    interpreter = Interpreter()
    interpreter.log_level = LogLevel.NONE
    for name, source in policy_set.modules.items():
        try:
            interpreter.add_module(name, source)
        except RegoError as error:
            raise PolicyLoadError(policy_set.directory / name, _describe(str(error), policy_set)) from None
    try:
        interpreter.add_data_json(json.dumps(policy_set.data))
        bundle = interpreter.build(None, [ENTRYPOINT])
    except RegoError as error:
        raise PolicyLoadError(_blamed(str(error), policy_set), _describe(str(error), policy_set)) from None
    if not bundle.ok():
        raise PolicyLoadError(policy_set.directory, "the policy set did not compile")
    with tempfile.TemporaryDirectory(prefix="mesh-policy-") as directory:
        bundle_file = Path(directory) / "policy.rbb"
        interpreter.save_bundle(str(bundle_file), bundle, BundleFormat.Binary)
        return bundle_file.read_bytes()


_ERROR_AT = re.compile(r"\(error (\d+):")
_ERROR_MESSAGE = re.compile(r"\(errormsg (\d+):")


def _length_prefixed(text: str, pattern: re.Pattern[str]) -> list[tuple[str, str]]:
    """rego-cpp prints strings as `<length>:<text>`; the text runs on after it (`|pos|len` for a
    location)."""
    found = []
    for match in pattern.finditer(text):
        start = match.end()
        value = text[start : start + int(match.group(1))]
        found.append((value, text[start + len(value) :]))
    return found


def _blamed(error: str, policy_set: PolicySet) -> Path:
    for name, _ in _length_prefixed(error, _ERROR_AT):
        if name in policy_set.modules:
            return policy_set.directory / name
    return policy_set.directory


def _describe(error: str, policy_set: PolicySet) -> str:
    """`line:col: message` for each error rego-cpp reported, from its S-expression error text."""
    messages = [message for message, _ in _length_prefixed(error, _ERROR_MESSAGE)]
    places = []
    for name, rest in _length_prefixed(error, _ERROR_AT):
        position = re.match(r"\|(\d+)\|", rest)
        source = policy_set.modules.get(name)
        if position and source is not None:
            offset = int(position.group(1))
            line = source.count("\n", 0, offset) + 1
            column = offset - (source.rfind("\n", 0, offset) + 1) + 1
            places.append(f"line {line}, column {column}: ")
        else:
            places.append("")
    described = [place + message for place, message in zip(places, messages, strict=False)]
    described += messages[len(described) :]
    return "; ".join(described) or error.strip()
