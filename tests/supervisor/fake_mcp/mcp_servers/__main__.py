"""`python -m mcp_servers DOMAIN ...` for tests: the fake component, plus flags per domain.

FAKE_MCP_FLAGS holds a JSON object from domain to extra fake-component flags.
"""

import json
import os
import runpy
import sys
from pathlib import Path

domain = sys.argv[1] if len(sys.argv) > 1 else ""
sys.argv += json.loads(os.environ.get("FAKE_MCP_FLAGS", "{}")).get(domain, [])
runpy.run_path(str(Path(__file__).parents[2] / "fake_component.py"), run_name="__main__")
