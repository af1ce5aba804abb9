import hashlib
import json
import os
import subprocess
import sys

from mesh.settings import DOMAINS, Scenario
from mesh.world import World, generate_world
from mesh.world._build import build_facts

_DIGEST_SCRIPT = """
import hashlib, json
from mesh.settings import DOMAINS
from mesh.world import generate_world
world = generate_world(7, "volatile")
tables = {domain: world.domain_tables(domain) for domain in DOMAINS}
print(hashlib.sha256(json.dumps(tables).encode()).hexdigest())
"""


def _dump(world: World) -> str:
    return json.dumps({domain: world.domain_tables(domain) for domain in DOMAINS})


def test_same_seed_and_scenario_rebuild_identical_tables() -> None:
    for scenario in Scenario:
        rebuilt = World(build_facts(7, scenario))
        assert _dump(rebuilt) == _dump(generate_world(7, scenario))


def test_tables_are_identical_across_processes_with_different_hash_seeds() -> None:
    expected = hashlib.sha256(_dump(generate_world(7, Scenario.VOLATILE)).encode()).hexdigest()
    result = subprocess.run(
        [sys.executable, "-c", _DIGEST_SCRIPT],
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert result.stdout.strip() == expected


def test_different_seeds_give_different_demand() -> None:
    first = generate_world(7, Scenario.STABLE).domain_tables("demand")["hourly_demand"]
    second = generate_world(8, Scenario.STABLE).domain_tables("demand")["hourly_demand"]
    assert [row["units"] for row in first] != [row["units"] for row in second]


def test_scenario_accepts_enum_or_its_value() -> None:
    assert generate_world(7, "volatile") is generate_world(7, Scenario.VOLATILE)
    assert generate_world(7, "disruption").scenario is Scenario.DISRUPTION


def test_returned_tables_are_copies() -> None:
    world = generate_world(7, Scenario.STABLE)
    world.domain_tables("demand")["skus"][0]["name"] = "tampered"
    world.skus.clear()
    assert world.domain_tables("demand")["skus"][0]["name"] != "tampered"
    assert len(world.skus) == 12
