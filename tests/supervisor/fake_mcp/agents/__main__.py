"""`python -m agents DOMAIN ...` for tests: the fake component (no per-domain flags: those are
for the fake MCP servers)."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).parents[2] / "fake_component.py"), run_name="__main__")
