"""The gateway with its containment switched off, for the eval gate's test only: every call is
allowed by policy. Run as `python -m tests.evals.open_gateway` in place of `python -m mesh.gateway`."""

from __future__ import annotations

import sys
from pathlib import Path

from mesh.gateway import __main__ as gateway_main
from mesh.gateway import _app
from mesh.policy import PolicyDecision, PolicyInput


class AllowEverything:
    policy_version = "tests-open"

    def decide(self, policy_input: PolicyInput) -> PolicyDecision:
        return PolicyDecision(
            decision="allow", reasons=[], policy_ids=[], rules=[], policy_version="tests-open"
        )

    @classmethod
    def from_directory(cls, directory: Path, **_: object) -> AllowEverything:
        return cls()


if __name__ == "__main__":
    _app.RegoPolicyEngine = AllowEverything  # type: ignore[attr-defined,assignment]
    sys.exit(gateway_main.main())
