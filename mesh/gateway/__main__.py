"""Run the governance gateway: `python -m mesh.gateway --port P --upstream demand=URL ...`.

Mesh-wide settings come from `MESH_*` variables, as the supervisor sets them."""

from __future__ import annotations

import argparse
import logging
import sys

import uvicorn

from mesh.audit import AuditError, open_ledger
from mesh.gateway._app import build_gateway, traced
from mesh.gateway._errors import GatewayError
from mesh.identity import IdentityError
from mesh.policy import PolicyError
from mesh.settings import DOMAINS, load_settings
from mesh.tracing import configure_tracing, exit_on_sigterm, shutdown_tracing


def _upstream(text: str) -> tuple[str, str]:
    domain, _, url = text.partition("=")
    if domain not in DOMAINS or not url.startswith(("http://", "https://")):
        raise argparse.ArgumentTypeError(f"expected DOMAIN=URL with DOMAIN in {list(DOMAINS)}, got {text!r}")
    return domain, url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mesh.gateway", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--public-url", help="the URL clients use (default: http://HOST:PORT)")
    parser.add_argument("--upstream", type=_upstream, action="append", required=True, metavar="DOMAIN=URL")
    parser.add_argument("--nats-url", help="NATS for the agent directory (without it the directory is empty)")
    args = parser.parse_args(argv)
    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s gateway %(levelname)s %(message)s")
    configure_tracing(
        "gateway",
        span_store=settings.span_store if settings.local_traces else None,
        otlp_endpoint=settings.otlp_endpoint,
    )
    exit_on_sigterm()
    host = f"[{args.host}]" if ":" in args.host else args.host
    try:
        ledger = open_ledger(settings)
    except AuditError as error:
        print(f"error: gateway not started: {error}", file=sys.stderr)
        return 2
    try:
        gateway = build_gateway(
            settings,
            public_base_url=args.public_url or f"http://{host}:{args.port}",
            upstreams=dict(args.upstream),
            ledger=ledger,
            nats_url=args.nats_url,
        )
        uvicorn.run(
            traced(gateway),
            host=args.host,
            port=args.port,
            log_level=settings.log_level.lower(),
            access_log=False,
            limit_concurrency=1000,
            timeout_keep_alive=15,
        )
    except (GatewayError, IdentityError, PolicyError) as error:
        print(f"error: gateway not started: {error}", file=sys.stderr)
        return 2
    finally:
        ledger.close()
        shutdown_tracing()
    return 0


if __name__ == "__main__":
    sys.exit(main())
