"""The real policy set, compiled once per session, and inputs built from a benign baseline.

- `engine`: `RegoPolicyEngine` on `policies/`, without a decision cache (every call evaluates).
- `make_input(caller=..., request=..., data_products=..., context=...)`: a `PolicyInput` whose
  parts are the baseline's with the given fields replaced (`tests/policy/inputs.py`).
- `policy_dir(tmp_path)`: write a small policy set (`tests/policy/inputs.py: write_policy_set`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mesh.policy import RegoPolicyEngine

POLICIES = Path(__file__).resolve().parents[2] / "policies"


@pytest.fixture(scope="session")
def engine() -> RegoPolicyEngine:
    return RegoPolicyEngine.from_directory(POLICIES, cache_size=0)
