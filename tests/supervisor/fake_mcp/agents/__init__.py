"""Shadows the real `mcp_servers` (via PYTHONPATH) in tests of `python -m mesh up`."""
