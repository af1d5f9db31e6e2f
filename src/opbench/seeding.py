"""Random streams derived from names, so data never depends on workers, chunks or order.

Every random draw in opbench comes from ``stream(seed, *keys)``: the same keys give the same
stream in any process (Python's ``hash`` is salted per process, so strings are hashed with
BLAKE2 instead).
"""

from __future__ import annotations

import hashlib

import numpy as np


def _key_to_int(key: str | int) -> int:
    if isinstance(key, bool):  # bool is an int subclass; refuse the ambiguity
        raise TypeError("seeding keys must be str or int, not bool")
    if isinstance(key, int | np.integer):
        if key < 0:
            raise ValueError(f"seeding keys must be non-negative integers, got {key}")
        return int(key)
    digest = hashlib.blake2b(str(key).encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def stream(seed: int, *keys: str | int) -> np.random.Generator:
    """A generator determined by ``seed`` and the ordered ``keys`` alone."""
    entropy = [_key_to_int(seed), *(_key_to_int(k) for k in keys)]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(entropy)))


def sample_streams(seed: int, pde: str, split: str, indices) -> list[np.random.Generator]:
    """One generator per sample index of a (PDE, split): the unit of data determinism."""
    return [stream(seed, "data", pde, split, int(i)) for i in indices]
