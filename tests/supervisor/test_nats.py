from __future__ import annotations

import asyncio

import nats

from mesh.settings import MeshSettings
from mesh.supervisor import Supervisor, embedded_components

from .conftest import assert_nothing_left, pgids_of


async def test_real_nats_server_becomes_ready_and_serves_jetstream(settings: MeshSettings) -> None:
    nats_spec = embedded_components(settings)[0]

    async with asyncio.timeout(15), Supervisor([nats_spec], settings.run_dir, start_timeout=5) as supervisor:
        client = await nats.connect(nats_spec.endpoint, connect_timeout=2, max_reconnect_attempts=0)
        try:
            jetstream = client.jetstream()
            account = await jetstream.account_info()
            await jetstream.add_stream(name="probe", subjects=["probe.>"])
            ack = await jetstream.publish("probe.one", b"hello")
        finally:
            await client.close()

    assert account.limits is not None
    assert (ack.stream, ack.seq) == ("probe", 1)
    assert_nothing_left(pgids_of(supervisor.components))
