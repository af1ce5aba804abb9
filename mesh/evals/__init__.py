"""The eval harness: golden and adversarial cases as versioned data files (evals/), replayed
through the real embedded mesh with recorded model responses (or a live model), reported per case
with utility and attack success, and gated against a stored baseline (`mesh eval`).

`load_cases` reads cases (a bad file names its path and field), `run_cases` runs them on a fresh
mesh, `regressions` compares results with the baseline. See evals/README.md.
"""

from typing import Any

from mesh.evals._errors import EvalError, EvalFileError, ReplayError
from mesh.evals._gate import baseline_of, regressions, write_baseline
from mesh.evals._load import EVALS_DIR, load_baseline, load_case, load_cases, load_recording
from mesh.evals._wire import Baseline, CaseResult, Check, EvalCase, Recording


def __getattr__(name: str) -> Any:
    """The runner and the replay server load the agents package: imported when first asked for."""
    if name in ("RunOptions", "run_cases"):
        from mesh.evals import _runner

        return getattr(_runner, name)
    if name == "ReplayServer":
        from mesh.evals._replay import ReplayServer

        return ReplayServer
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "EVALS_DIR",
    "Baseline",
    "CaseResult",
    "Check",
    "EvalCase",
    "EvalError",
    "EvalFileError",
    "Recording",
    "ReplayError",
    "ReplayServer",
    "RunOptions",
    "baseline_of",
    "load_baseline",
    "load_case",
    "load_cases",
    "load_recording",
    "regressions",
    "run_cases",
    "write_baseline",
]
