from __future__ import annotations

import hashlib
import random


def entity_rng(seed: int, *key: str) -> random.Random:
    """A random stream owned by one entity: stable across runs, processes and Python versions."""
    material = "\x1f".join((str(seed), *key)).encode()
    digest = hashlib.sha256(material).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))
