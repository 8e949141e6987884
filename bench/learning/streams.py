#!/usr/bin/env python3
"""Seeded drift streams for `npm run bench:learning` (issue 19, item 4).

    .tools/peers-venv/bin/python bench/learning/streams.py [OUT] [--only NAME[,NAME...]]

OUT defaults to bench/learning/.out. For every stream it writes OUT/<stream>/:

    rows.parquet   row (0-based order), <features>, label: the whole stream in serving order; the
                   first TRAIN_ROWS rows train the champion, the rest are served one by one
    meta.json      features and types, the calendar (rows a minute), drifts (served-row positions,
                   kind), the generator and its seed

plus OUT/streams.json (one line per stream). Everything is a function of the seeds below and the
pinned river (scripts/install-python-peers.ts): the same rows on every machine.

The calendar: ROWS_PER_MINUTE predictions a minute (2,880 a day, close to bench:decisions' 2,000),
each labelled right after it is served (label delay 0). The champion is trained on the first 3
days, then 35 days are served; drifts start on served day 10 and day 22.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROWS_PER_MINUTE = 2
ROWS_PER_DAY = ROWS_PER_MINUTE * 60 * 24  # 2,880
TRAIN_DAYS = 3
SERVED_DAYS = 35
TRAIN_ROWS = TRAIN_DAYS * ROWS_PER_DAY  # 8,640
SERVED_ROWS = SERVED_DAYS * ROWS_PER_DAY  # 100,800
N = TRAIN_ROWS + SERVED_ROWS
DRIFT_DAYS = (10, 22)  # served days (0-based) on which the drifts start
BASE_SEED = 20261201
SEA_NOISE = 0.1
STAGGER_LABEL_NOISE = 0.05
HYPERPLANE_FEATURES = 10
HYPERPLANE_MAG = 1e-4


def served_day_row(day: int) -> int:
    """Index in the whole stream of the first row of served day `day` (0-based)."""
    return TRAIN_ROWS + day * ROWS_PER_DAY


@dataclass
class Stream:
    name: str
    description: str
    generator: str
    features: list[dict]
    build: Callable[[int], tuple[dict[str, np.ndarray], np.ndarray]]
    drifts: list[dict] = field(default_factory=list)  # {kind, start (row index), end (row index, gradual), description}


def switched(make, variants: list, starts: list[int], seed: int) -> tuple[list[dict], np.ndarray]:
    """Abrupt drift: river's generator with variants[k] from starts[k] on (starts[0] = 0); each
    segment is its own seeded generator, as river's ConceptDriftStream with width -> 0."""
    xs: list[dict] = []
    ys = np.empty(N, dtype=np.int8)
    bounds = starts + [N]
    for k, variant in enumerate(variants):
        n = bounds[k + 1] - bounds[k]
        for j, (x, y) in enumerate(make(variant, seed + k).take(n)):
            xs.append(x)
            ys[bounds[k] + j] = int(y)
    return xs, ys


def sea_frame(xs: list[dict]) -> dict[str, np.ndarray]:
    return {f"x{i}": np.fromiter((x[i] for x in xs), dtype=np.float64, count=len(xs)) for i in range(3)}


SEA_FEATURES = [{"name": f"x{i}", "type": "numerical"} for i in range(3)]


def sea_recurring(seed: int):
    """SEA threshold 8 -> 9.5 -> 8: an abrupt drift, then the first concept comes back."""
    from river.datasets import synth

    starts = [0, served_day_row(DRIFT_DAYS[0]), served_day_row(DRIFT_DAYS[1])]
    xs, ys = switched(lambda v, s: synth.SEA(variant=v, noise=SEA_NOISE, seed=s), [0, 3, 0], starts, seed)
    return sea_frame(xs), ys


def sea_stable(seed: int):
    from river.datasets import synth

    xs, ys = switched(lambda v, s: synth.SEA(variant=v, noise=SEA_NOISE, seed=s), [0], [0], seed)
    return sea_frame(xs), ys


# river's own labels (STAGGER.size_labels, color_labels, shape_labels)
STAGGER_NAMES = {"size": ["small", "medium", "large"], "color": ["red", "blue", "green"], "shape": ["circle", "square", "triangle"]}
STAGGER_FEATURES = [{"name": n, "type": "categorical"} for n in STAGGER_NAMES]


def stagger_abrupt(seed: int):
    """STAGGER concept 0 -> 1 -> 2 (size small and colour red -> colour green or shape circle ->
    size medium or large), categorical features only, with STAGGER_LABEL_NOISE of labels flipped
    (river's STAGGER has no noise; without it every arm reaches 100 % and nothing separates them)."""
    from river.datasets import synth

    starts = [0, served_day_row(DRIFT_DAYS[0]), served_day_row(DRIFT_DAYS[1])]
    xs, ys = switched(lambda v, s: synth.STAGGER(classification_function=v, seed=s, balance_classes=False), [0, 1, 2], starts, seed)
    flip = np.random.default_rng(seed + 99).random(N) < STAGGER_LABEL_NOISE
    ys = np.where(flip, 1 - ys, ys).astype(np.int8)
    cols = {n: np.array([names[int(x[n])] for x in xs], dtype=object) for n, names in STAGGER_NAMES.items()}
    return cols, ys


HYPERPLANE_LIST = [{"name": f"x{i}", "type": "numerical"} for i in range(HYPERPLANE_FEATURES)]


def hyperplane_gradual(seed: int):
    """Hyperplane, 10 features; during served days 10-21 the weights of x0 and x1 move by
    HYPERPLANE_MAG a row (sigma 0: one direction, not a seed-dependent random walk), then stop."""
    from river.datasets import synth

    gen = synth.Hyperplane(seed=seed, n_features=HYPERPLANE_FEATURES, n_drift_features=2, mag_change=0.0, noise_percentage=0.05, sigma=0.0)
    start, end = served_day_row(DRIFT_DAYS[0]), served_day_row(DRIFT_DAYS[1])
    xs, ys = [], np.empty(N, dtype=np.int8)
    for k, (x, y) in enumerate(gen.take(N)):
        # The generator moves its weights right after drawing a row and reads mag_change each
        # time: set while row start-2 is in hand, row `start` is the first drawn with moved weights.
        if k == start - 2:
            gen.mag_change = HYPERPLANE_MAG
        if k == end - 2:
            gen.mag_change = 0.0
        xs.append(x)
        ys[k] = y
    return {f"x{i}": np.fromiter((x[i] for x in xs), dtype=np.float64, count=N) for i in range(HYPERPLANE_FEATURES)}, ys


def abrupt_drifts(what: list[str]) -> list[dict]:
    return [{"kind": "abrupt", "start": served_day_row(d), "description": w} for d, w in zip(DRIFT_DAYS, what)]


STREAMS = [
    Stream("sea_recurring", "SEA, threshold 8 -> 9.5 on served day 10, back to 8 on day 22: abrupt, then recurring",
           f"SEA(variant 0 -> 3 -> 0, noise={SEA_NOISE})", SEA_FEATURES, sea_recurring,
           abrupt_drifts(["SEA variant 0 -> 3 (x0 + x1 > 8 becomes > 9.5)", "SEA variant 3 -> 0 (the first concept recurs)"])),
    Stream("stagger_abrupt", "STAGGER, concept 0 -> 1 on served day 10, 1 -> 2 on day 22 (categorical features, 5 % label noise)",
           f"STAGGER(classification_function 0 -> 1 -> 2) + {STAGGER_LABEL_NOISE:.0%} seeded label flips", STAGGER_FEATURES, stagger_abrupt,
           abrupt_drifts(["STAGGER concept 0 -> 1", "STAGGER concept 1 -> 2"])),
    Stream("hyperplane_gradual", f"Hyperplane, 10 features; x0 and x1's weights move {HYPERPLANE_MAG} a row during served days 10-21 (gradual), then hold",
           f"Hyperplane(n_features=10, n_drift_features=2, noise_percentage=0.05, sigma=0), mag_change {HYPERPLANE_MAG} during served days 10-21",
           HYPERPLANE_LIST, hyperplane_gradual,
           [{"kind": "gradual", "start": served_day_row(DRIFT_DAYS[0]), "end": served_day_row(DRIFT_DAYS[1]), "description": f"2 of 10 weights move {HYPERPLANE_MAG} a row for 12 days"}]),
    Stream("sea_stable", "SEA variant 0 throughout: the no-drift control", f"SEA(variant=0, noise={SEA_NOISE})", SEA_FEATURES, sea_stable, []),
]


def generate(stream: Stream, index: int, out: Path) -> dict:
    t0 = time.perf_counter()
    seed = BASE_SEED + 1000 * index
    cols, ys = stream.build(seed)
    folder = out / stream.name
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"row": pa.array(np.arange(N, dtype=np.int64))}
    for f in stream.features:
        arrays[f["name"]] = pa.array(cols[f["name"]], type=pa.string() if f["type"] == "categorical" else pa.float64())
    arrays["label"] = pa.array(ys.astype(np.float64))
    pq.write_table(pa.table(arrays), folder / "rows.parquet", compression="zstd")
    meta = {
        "stream": stream.name, "description": stream.description, "generator": stream.generator, "seed": seed,
        "task": "binary_classification", "label": "label", "features": stream.features,
        "calendar": {"rowsPerMinute": ROWS_PER_MINUTE, "rowsPerDay": ROWS_PER_DAY, "labelDelay": "0 (each label arrives right after its prediction)"},
        "rows": N, "trainRows": TRAIN_ROWS, "servedRows": SERVED_ROWS, "drifts": stream.drifts,
        "positiveRate": round(float(ys.mean()), 4), "seconds": round(time.perf_counter() - t0, 2),
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=str(Path(__file__).resolve().parent / ".out"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = {s for s in args.only.split(",") if s}
    import river

    summary = []
    for index, stream in enumerate(STREAMS):
        if only and stream.name not in only:
            continue
        meta = generate(stream, index, out)
        summary.append({"stream": stream.name, "drifts": len(meta["drifts"]), "positiveRate": meta["positiveRate"]})
        print(f"{stream.name:20s} {N} rows, positives {meta['positiveRate']:.3f}, {len(meta['drifts'])} drift(s) ({meta['seconds']:.1f} s)", flush=True)
    (out / "streams.json").write_text(json.dumps({"river": river.__version__, "python": sys.version.split()[0], "streams": summary}, indent=2) + "\n")


if __name__ == "__main__":
    main()
