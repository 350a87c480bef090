"""Named random streams derived from one root seed.

``rng(root, "cohort", "mentor")`` always gives the same independent stream for the
same root and names, whatever other streams exist, so adding a stream never shifts
another one (unlike positional ``SeedSequence.spawn``).
"""

from __future__ import annotations

import zlib

import numpy as np

from toolkit._validation import check_int

MAX_SEED = 2**63 - 1


def check_seed(seed: object, owner: str, name: str = "seed") -> int:
    """Validate a root seed: an int in [0, 2**63 - 1]."""
    return check_int(seed, name, owner, low=0, high=MAX_SEED)


def seed_sequence(root: int, *names: str | int) -> np.random.SeedSequence:
    """The SeedSequence of the stream called ``names`` under ``root``."""
    key = tuple(n if isinstance(n, int) else zlib.crc32(n.encode()) for n in names)
    return np.random.SeedSequence(entropy=root, spawn_key=key)


def rng(root: int, *names: str | int) -> np.random.Generator:
    """A PCG64 generator for the named stream under ``root``."""
    return np.random.Generator(np.random.PCG64(seed_sequence(root, *names)))


def int_seed(root: int, *names: str | int) -> int:
    """A 32-bit integer seed for libraries that need one (Faker.seed_instance)."""
    return int(seed_sequence(root, *names).generate_state(1, dtype=np.uint32)[0])
