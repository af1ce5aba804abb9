"""Loading cases, recordings and the baseline; a bad file fails with its path and field named."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from mesh.evals._errors import EvalFileError
from mesh.evals._wire import Baseline, EvalCase, Recording, Suite

EVALS_DIR = Path(__file__).resolve().parents[2] / "evals"
SUITES: tuple[Suite, ...] = ("golden", "adversarial")
_CASE = TypeAdapter[EvalCase](EvalCase)
M = TypeVar("M", bound=BaseModel)


def _document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EvalFileError(path, "(file)", f"cannot be read: {error.strerror or error}") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise EvalFileError(path, "(file)", f"not JSON: {error.msg} at line {error.lineno}") from None
    if not isinstance(document, dict):
        raise EvalFileError(path, "(file)", "must hold one JSON object")
    return document


def _field_error(path: Path, error: ValidationError) -> EvalFileError:
    first = error.errors()[0]
    location = [str(part) for part in first["loc"]]
    if location and location[0] in _KINDS and len(location) > 1:
        location = location[1:]  # the discriminated union's tag is not a field of the file
    return EvalFileError(path, ".".join(location) or "(file)", first["msg"])


_KINDS = {
    "agent_skill",
    "agent_text",
    "operator_question",
    "negotiation_cycle",
    "prompt_injection",
    "text_injection",
    "poisoned_tool",
    "scope_escalation",
    "token_misuse",
    "forged_card",
    "spoofed_sender",
    "byzantine_agent",
    "tampered_ledger",
    "oversized_input",
    "malformed_input",
    "failing_policy_engine",
}


def load_case(path: Path) -> EvalCase:
    """One case file; its `id` must be the file's stem and its `suite` the directory it sits in."""
    document = _document(path)
    if "kind" not in document:
        raise EvalFileError(path, "kind", f"missing; one of {sorted(_KINDS)}")
    if document["kind"] not in _KINDS:
        raise EvalFileError(path, "kind", f"unknown kind {document['kind']!r}; one of {sorted(_KINDS)}")
    try:
        case = _CASE.validate_python(document)
    except ValidationError as error:
        raise _field_error(path, error) from None
    if case.id != path.stem:
        raise EvalFileError(path, "id", f"{case.id!r} must equal the file name's stem {path.stem!r}")
    if path.parent.name in SUITES and case.suite != path.parent.name:
        raise EvalFileError(path, "suite", f"{case.suite!r} but the file is in {path.parent.name}/")
    return case


def load_cases(cases_dir: Path, suites: Iterable[Suite], *, include_retired: bool = False) -> list[EvalCase]:
    """Every case of `suites` under `cases_dir/<suite>/`, in file-name order; retired ones left out.

    A case that names a case it `supersedes` must name one that exists and is retired."""
    found: list[EvalCase] = []
    for suite in suites:
        for path in sorted((cases_dir / suite).glob("*.json")):
            found.append(load_case(path))
    by_id = {case.id: case for case in found}
    for case in found:
        if case.supersedes is not None:
            old = by_id.get(case.supersedes)
            path = cases_dir / case.suite / f"{case.id}.json"
            if old is None:
                raise EvalFileError(path, "supersedes", f"no case {case.supersedes!r}")
            if not old.retired:
                raise EvalFileError(
                    cases_dir / old.suite / f"{old.id}.json",
                    "retired",
                    f"superseded by {case.id!r}, so must be true",
                )
    return [case for case in found if include_retired or not case.retired]


def _load(path: Path, model: type[M], what: str) -> M:
    document = _document(path)
    try:
        loaded = model.model_validate(document)
    except ValidationError as error:
        raise _field_error(path, error) from None
    if what and getattr(loaded, "id", path.stem) != path.stem:
        raise EvalFileError(path, "id", f"must equal the file name's stem {path.stem!r}")
    return loaded


def load_recording(recordings_dir: Path, recording_id: str) -> Recording:
    path = recordings_dir / f"{recording_id}.json"
    if not path.is_file():
        raise EvalFileError(path, "(file)", f"no recording {recording_id!r} in {recordings_dir}")
    return _load(path, Recording, "recording")


def load_baseline(path: Path) -> Baseline | None:
    """The stored baseline, or None when there is none yet."""
    if not path.exists():
        return None
    return _load(path, Baseline, "")
