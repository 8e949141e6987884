"""Dataset generator shared by the drift fixtures; mirrored bit for bit by test/drift/helpers.ts.

mulberry32 is a counter-based 32-bit PRNG (vectorised here with numpy) and the
transforms use only +, -, *, floor, so IEEE-754 rounding gives identical
doubles in Python and JavaScript (no libm calls whose last bit could differ).
"""
from __future__ import annotations

import numpy as np

def mulberry32(seed: int, count: int) -> np.ndarray:
    """The first `count` outputs of mulberry32(seed), as in src/drift/random.ts."""
    M = np.uint64(0xFFFFFFFF)
    k = np.arange(1, count + 1, dtype=np.uint64)
    a = (np.uint64(seed & 0xFFFFFFFF) + k * np.uint64(0x6D2B79F5)) & M
    t = ((a ^ (a >> np.uint64(15))) * (a | np.uint64(1))) & M
    t = ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & M)) & M) ^ t
    r = (t ^ (t >> np.uint64(14))) & M
    return r.astype(np.float64) / 4294967296.0


def generate(spec: dict) -> np.ndarray:
    """Rebuild a dataset from its spec; mirrored by test/drift/gen.ts."""
    n, seed, kind = spec["n"], spec["seed"], spec["kind"]
    loc = float(spec.get("loc", 0.0))
    scale = float(spec.get("scale", 1.0))
    if kind == "uniform":
        u = mulberry32(seed, n)
        return loc + scale * u
    if kind == "normal":  # Irwin-Hall(4) - 2: bell-shaped, exactly reproducible
        u = mulberry32(seed, 4 * n)
        s = u[0::4] + u[1::4]
        s = s + u[2::4]
        s = s + u[3::4]
        return loc + scale * (s - 2.0)
    if kind == "int":  # discrete values loc, loc+1, ..., loc+k-1: heavy ties
        u = mulberry32(seed, n)
        return np.floor(u * spec["k"]) + loc
    if kind == "grid":  # normal values snapped to a grid of width `step`: ties everywhere
        x = generate({**spec, "kind": "normal"})
        return np.floor(x / spec["step"]) * spec["step"]
    raise ValueError(kind)


def data_ref(spec_or_list):
    """Fixture representation: small arrays inline, big ones as generator specs."""
    if isinstance(spec_or_list, dict):
        return {"gen": spec_or_list}
    return {"values": [float(v) for v in spec_or_list]}


def materialise(spec_or_list) -> np.ndarray:
    if isinstance(spec_or_list, dict):
        return generate(spec_or_list)
    return np.asarray(spec_or_list, dtype=np.float64)
