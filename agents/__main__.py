"""Run one domain agent, or write its Agent Card files.

    python -m agents <domain> --port P --gateway-url URL [--nats-url URL] [--host H] [--public-url URL]
    python -m agents cards [--check] [--dir DIR]

Mesh-wide settings (data dir, log level, tracing, the model) come from `MESH_*` variables, as the
supervisor sets them; the command line says which agent, where it listens and where the gateway is.
With a model (`MESH_MODEL`), the agent answers free-text questions too, and records their token use
in the audit ledger.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn
from a2a.types import AgentCard
from nats.aio.client import Client as NATS

from agents import (
    AgentConfigError,
    AgentSpec,
    CardError,
    GatewayTools,
    agent_spec,
    all_specs,
    build_agent_app,
    load_or_create_card_key,
    stale_card_files,
    write_card_files,
)
from agents._answer import prompt_key
from agents._bus import NatsBinding
from agents._cards import CARDS_DIR
from agents._deferred import DeferredFreeText
from agents._signing import public_keys_dir
from mesh.bus import SenderSigner
from mesh.identity import IdentityError
from mesh.registry import CardAnnouncer
from mesh.settings import DOMAINS, MeshSettings, load_settings
from mesh.tracing import configure_tracing, exit_on_sigterm, shutdown_tracing

if TYPE_CHECKING:
    from agents._ask import FreeText
    from mesh.audit import Ledger

log = logging.getLogger("agents")


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m agents", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for domain in DOMAINS:
        run = commands.add_parser(domain, help=f"run the {domain} agent")
        run.add_argument("--host", default="127.0.0.1")
        run.add_argument("--port", type=int, required=True)
        run.add_argument("--gateway-url", required=True, help="the governance gateway's base URL")
        run.add_argument("--public-url", help="the URL clients use (default: http://HOST:PORT)")
        run.add_argument(
            "--nats-url",
            help="serve A2A over NATS too, and take part in decision cycles (nats://HOST:PORT)",
        )
    cards = commands.add_parser("cards", help="write (or --check) capability_cards/<domain>.json")
    cards.add_argument("--check", action="store_true", help="exit 1 when a file differs from the code")
    cards.add_argument("--dir", type=Path, default=CARDS_DIR)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    if args.command == "cards":
        return cards(args)
    settings = load_settings()
    logging.basicConfig(
        level=settings.log_level, format=f"%(asctime)s agent-{args.command} %(levelname)s %(message)s"
    )
    for chatty in ("httpx", "httpx2", "httpcore", "mcp"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    configure_tracing(
        f"agent-{args.command}",
        span_store=settings.span_store if settings.local_traces else None,
        otlp_endpoint=settings.otlp_endpoint,
        resource_attributes={"mesh.domain": args.command},
    )
    exit_on_sigterm()
    try:
        return serve(args, settings)
    finally:
        shutdown_tracing()


def serve(args: argparse.Namespace, settings: MeshSettings) -> int:
    """Serve until SIGTERM; exit 2 with the reason when the agent cannot start."""
    spec = agent_spec(args.command)
    host = f"[{args.host}]" if ":" in args.host else args.host
    ledger: Ledger | None = None
    try:
        key = load_or_create_card_key(settings.key_dir, spec.domain)
        tools = GatewayTools.from_clients_file(
            args.gateway_url,
            client_id=spec.client_id,
            clients_file=settings.oauth_clients_file,
            scopes=spec.reaches,
        )
        free_text, ledger = free_text_for(spec, tools, settings)
        bindings = []
        signed: list[AgentCard] = []  # the signed card, once built: what the agent announces
        if args.nats_url:
            signer = SenderSigner(spec.domain, key.key)

            def announcer(connection: NATS) -> CardAnnouncer:
                return CardAnnouncer(connection, signed[0], signer=signer)

            bindings.append(
                NatsBinding(
                    args.nats_url,
                    spec.domain,
                    signer=signer,
                    pinned_keys_dir=public_keys_dir(settings.key_dir),
                    proposer=spec.proposer(tools) if spec.proposer is not None else None,
                    extras=(announcer,),
                )
            )
        agent = build_agent_app(
            spec,
            public_url=args.public_url or f"http://{host}:{args.port}",
            signing_key=key,
            tools=tools,
            bindings=bindings,
            free_text=free_text,
        )
        signed.append(agent.card)
    except (CardError, IdentityError, AgentConfigError) as error:
        print(f"error: {spec.domain} agent not started: {error}", file=sys.stderr)
        if ledger is not None:
            ledger.close()
        return 2
    log.info("card signed with key %s; %d skills", key.kid, len(spec.skills))
    if free_text is None:
        log.info("no model (MESH_MODEL is empty): free-text questions are refused; see docs/models.md")
    else:
        log.info("free-text questions answered with %s (building it in the background)", free_text.model_name)
        free_text.start()
    try:
        uvicorn.run(
            agent.asgi, host=args.host, port=args.port, log_level=settings.log_level.lower(), access_log=False
        )
    finally:
        if ledger is not None:
            ledger.close()
    return 0


def free_text_for(
    spec: AgentSpec, tools: GatewayTools, settings: MeshSettings
) -> tuple[DeferredFreeText | None, Ledger | None]:
    """The agent's free-text answerer and the ledger it records in, when a model is configured;
    `AgentConfigError` saying why when what can be checked at once is wrong (no prompt asset, a
    broken asset, a ledger that does not open). The model itself is built after the agent started
    (`DeferredFreeText`): a model name litellm does not route is reported in the log then, and to
    every question."""
    if not settings.model.strip():
        return None, None  # the model layer (pydantic-ai, litellm) is not even imported
    from mesh.assets import AssetError, load_assets
    from mesh.audit import AuditError, open_ledger

    key = prompt_key(spec.domain)
    try:
        assets = load_assets()
        if key not in assets:
            raise AgentConfigError(
                f"free-text answers need the prompt asset {key!r} "
                f"(agents/prompts/{spec.domain}.md), and there is none"
            )
        ledger = open_ledger(settings)
    except (AssetError, AuditError, OSError) as error:
        raise AgentConfigError(f"free-text answers: {error}") from None

    def build() -> FreeText:
        from agents._ask import FreeText
        from mesh.models import ModelConfig, build_model

        config = ModelConfig.from_settings(settings)
        model = build_model(config, feature=f"the {spec.domain} agent's free text")
        return FreeText(spec, tools, model, assets=assets.with_model(config), ledger=ledger)

    return DeferredFreeText(build, model_name=settings.model.strip()), ledger


def cards(args: argparse.Namespace) -> int:
    specs = all_specs()
    if args.check:
        stale = stale_card_files(specs, args.dir)
        for path in stale:
            print(f"{path} differs from the code; run `python -m agents cards`", file=sys.stderr)
        return 1 if stale else 0
    for path in write_card_files(specs, args.dir):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
