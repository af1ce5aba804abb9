"""Run one domain's MCP server: refresh its store from the world, then serve streamable HTTP."""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

import uvicorn

from mesh.dataproducts import DataProductError
from mesh.settings import DOMAINS, Scenario
from mesh.world import generate_world

from . import DomainStore, build_server, domain_spec, refresh

log = logging.getLogger("mcp_servers")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mcp_servers", description=__doc__)
    parser.add_argument("domain", choices=DOMAINS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--data-dir", type=Path, required=True, help="this domain's own store directory")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scenario", choices=[s.value for s in Scenario], default=Scenario.VOLATILE.value)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format=f"%(asctime)s {args.domain} %(levelname)s %(message)s")

    spec = domain_spec(args.domain)
    store = DomainStore(args.data_dir / f"{args.domain}.sqlite")
    began = time.perf_counter()
    try:
        reports = refresh(spec, store, generate_world(args.seed, args.scenario))
        server = build_server(spec, store)
    except DataProductError as err:
        print(f"error: {args.domain} MCP server not started: {err}", file=sys.stderr)
        return 2
    failing = sorted(pid for pid, report in reports.items() if not report.passed)
    log.info(
        "refreshed %d products in %.2fs%s",
        len(reports),
        time.perf_counter() - began,
        f"; below contract: {failing}" if failing else "",
    )
    app = server.streamable_http_app(host=args.host)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level.lower(), access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
