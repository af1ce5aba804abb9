"""Run one domain's MCP server: refresh its store from the world, then serve streamable HTTP.

Mesh-wide settings (data dir, seed, scenario, audit backend, tracing) come from `MESH_*`
variables, as the supervisor sets them; the command line says which domain and where to listen.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from datetime import timedelta
from pathlib import Path

import uvicorn

from mcp_servers import DomainStore, domain_spec
from mcp_servers._server import UpstreamAuth
from mcp_servers._service import DomainService, service_app, startup_request
from mesh.audit import AuditError, Ledger, open_ledger
from mesh.dataproducts import DataProductError
from mesh.identity import TokenVerifier
from mesh.settings import DOMAINS, MeshSettings, load_settings
from mesh.tracing import configure_tracing, exit_on_sigterm, shutdown_tracing
from mesh.world import WorldOverlayError, generate_world, load_overlay

log = logging.getLogger("mcp_servers")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m mcp_servers", description=__doc__)
    parser.add_argument("domain", choices=DOMAINS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument(
        "--data-dir", type=Path, help="this domain's store directory (default: under MESH_DATA_DIR)"
    )
    parser.add_argument("--nats-url", help="NATS server for refresh requests (none: refresh only at start)")
    parser.add_argument("--no-audit", action="store_true", help="do not record refreshes in the audit ledger")
    parser.add_argument(
        "--issuer",
        help="accept only this issuer's tokens for the gateway (none: no authentication, tests only)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format=f"%(asctime)s {args.domain} %(levelname)s %(message)s"
    )
    configure_tracing(
        f"mcp-{args.domain}",
        span_store=settings.span_store if settings.local_traces else None,
        otlp_endpoint=settings.otlp_endpoint,
        resource_attributes={"mesh.domain": args.domain},
    )
    exit_on_sigterm()
    try:
        return serve(args, settings)
    finally:
        shutdown_tracing()


def serve(args: argparse.Namespace, settings: MeshSettings) -> int:
    """Refresh, then serve until SIGTERM; exit 2 with the reason when the domain cannot start."""
    ledger: Ledger | None = None
    try:
        spec = domain_spec(args.domain)
        store = DomainStore((args.data_dir or settings.domain_dir(args.domain)) / f"{args.domain}.sqlite")
        ledger = None if args.no_audit else open_ledger(settings)
        world = generate_world(settings.seed, settings.scenario)
        if settings.world_overlay is not None:
            world = load_overlay(settings.world_overlay, world)
        service = DomainService(spec, store, world, ledger)
        reply = asyncio.run(service.refresh(startup_request(args.domain)))
        if reply.error is not None:
            print(f"error: {args.domain} MCP server not started: {reply.error}", file=sys.stderr)
            return 2
        failing = [p.product_id for p in reply.products if not p.passed]
        log.info(
            "refreshed %d products in %.2fs%s",
            len(reply.products),
            reply.seconds,
            f"; below contract: {failing}" if failing else "",
        )
        app = service_app(
            service, host=args.host, nats_url=args.nats_url, auth=_upstream_auth(args, settings)
        )
        uvicorn.run(
            app, host=args.host, port=args.port, log_level=settings.log_level.lower(), access_log=False
        )
    except (DataProductError, AuditError, WorldOverlayError) as error:
        print(f"error: {args.domain} MCP server not started: {error}", file=sys.stderr)
        return 2
    finally:
        if ledger is not None:
            ledger.close()
    return 0


def _upstream_auth(args: argparse.Namespace, settings: MeshSettings) -> UpstreamAuth | None:
    issuer = settings.oauth_issuer or args.issuer
    if issuer is None:
        return None
    jwks_url = settings.oauth_jwks_url or f"{issuer.rstrip('/')}/oauth/jwks.json"
    verifier = TokenVerifier.from_jwks_url(
        issuer=issuer,
        jwks_url=jwks_url,
        algorithms=tuple(settings.oauth_algorithms),
        leeway=timedelta(seconds=settings.oauth_leeway),
    )
    host = f"[{args.host}]" if ":" in args.host else args.host
    return UpstreamAuth(verifier=verifier, issuer=issuer, resource_url=f"http://{host}:{args.port}/mcp")


if __name__ == "__main__":
    sys.exit(main())
