#!/usr/bin/env python3
"""Seeded drift streams for `npm run bench:decisions` (issue 13, item 7).

    .tools/peers-venv/bin/python bench/decisions/streams.py [OUT] [--only NAME[,NAME...]]

OUT defaults to bench/decisions/.out. For every stream it writes OUT/<stream>/:

    training.parquet     days 1-30 with labels: request_id, ts, <features>, label
    predictions.parquet  days 31-60 as served by the champion: request_id, ts, model_version,
                         variant, <features>, prediction, score
    labels.parquet       labels of days 31-60: request_id, label, label_ts (= ts + 1 day)
    champion.json        the logistic champion: coefficients in the raw feature space,
                         intercept, feature order, one-hot mapping (enough to score it anywhere)
    meta.json            features and types, drift start(s), whether each drift is costly
                         (measured), validation accuracy, daily accuracy, check schedule

plus OUT/streams.json (one summary line per stream). Column types follow the lake
(src/backends/data/lake/columns.ts): ts/label_ts are UTC timestamps (ms), numbers are DOUBLE,
categoricals are text, so `retrain data import` takes the files as they are.

Everything is a function of the seeds below: the same versions (scripts/install-python-peers.ts)
write the same rows, byte for byte in the data, on every machine.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

# ----------------------------------------------------------------------------- the calendar

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
START_MS = int(pd.Timestamp("2026-01-01T00:00:00Z").value // 1_000_000)  # day 1, 00:00 UTC
DAYS = 60
PER_DAY = 2_000
TRAIN_DAYS = 30  # days 1-30 train the champion; days 31-60 are served and monitored
LABEL_DELAY_MS = DAY_MS  # label.delay: 1d, every label arrives exactly one day after its prediction
N = DAYS * PER_DAY
N_TRAIN = TRAIN_DAYS * PER_DAY
BASE_SEED = 20260101
MODEL_VERSION = "1"  # the registry numbers versions from 1; the champion is the first one
COST_BEFORE_DAYS = 7
COST_AFTER_DAYS = 3
COSTLY_POINTS = 2.0


def day_start_ms(day: int) -> int:
    """00:00 UTC of `day` (1-based: day 1 is 2026-01-01)."""
    return START_MS + (day - 1) * DAY_MS


def iso(ms: int) -> str:
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def timestamps(seed: int) -> np.ndarray:
    """2,000 predictions a day, one in each 43.2 s slot at a seeded uniform offset: uniform through
    the day, strictly increasing, integer milliseconds."""
    rng = np.random.default_rng(seed)
    slot = DAY_MS / PER_DAY
    i = np.arange(N)
    day = i // PER_DAY
    within = i % PER_DAY
    return (START_MS + day * DAY_MS + np.floor((within + rng.random(N)) * slot)).astype(np.int64)


# ----------------------------------------------------------------------------- river, sped up


@contextlib.contextmanager
def fast_agrawal():
    """river's Agrawal builds each row with `eval(name)` for its nine local variables, which
    recompiles a string per value (about 5,000 rows/s). Inside this block the module's `eval`
    reads the caller's local instead: same rows, same RNG sequence (each Agrawal stream first
    compares 300 rows with the stock generator), about 7x faster."""
    import river.datasets.synth.agrawal as agrawal_module

    def local_value(name: str):
        return sys._getframe(1).f_locals[name]

    had = "eval" in agrawal_module.__dict__
    old = agrawal_module.__dict__.get("eval")
    agrawal_module.eval = local_value
    try:
        yield
    finally:
        if had:
            agrawal_module.eval = old
        else:
            del agrawal_module.eval


def take(stream, n: int) -> tuple[list[dict], np.ndarray]:
    xs, ys = [], np.empty(n, dtype=np.int8)
    for k, (x, y) in enumerate(stream.take(n)):
        xs.append(x)
        ys[k] = int(y)
    return xs, ys


def take_switched(stream, drift_stream, position: int, n: int) -> tuple[list[dict], np.ndarray]:
    """Abrupt drift: rows 0..position-1 from `stream`, the rest from `drift_stream` (each
    generator runs its own seeded sequence). This is river's ConceptDriftStream with width -> 0;
    ConceptDriftStream itself cannot be used with width=1 this far into a stream (its sigmoid
    calls math.exp on -4 (t - position) / width and overflows)."""
    a_xs, a_ys = take(stream, position)
    b_xs, b_ys = take(drift_stream, n - position)
    return a_xs + b_xs, np.concatenate([a_ys, b_ys])


def take_accepted(stream, ts: np.ndarray, accept: Callable[[dict, int], float], seed: int) -> tuple[list[dict], np.ndarray]:
    """Rows of a river stream thinned by rejection sampling: row k (to be served at ts[k]) keeps
    the next generated (x, y) with probability accept(x, ts[k]). The acceptance depends on the
    features only, never on the label, so P(y | x), the concept, is the generator's own: only
    the feature distribution moves (covariate shift, a cycle, or a shift of the class prior
    through the region of x each class occupies)."""
    rng = np.random.default_rng(seed)
    it = iter(stream)
    xs, ys = [], np.empty(len(ts), dtype=np.int8)
    for k, t in enumerate(ts):
        while True:
            x, y = next(it)
            if rng.random() < accept(x, int(t)):
                break
        xs.append(x)
        ys[k] = int(y)
    return xs, ys


# ----------------------------------------------------------------------------- streams


@dataclass
class Feature:
    name: str
    type: str  # 'numerical' | 'categorical' (the product's feature types)
    relevant: bool  # does the label depend on it (in any concept of the stream)?
    note: str = ""


@dataclass
class Drift:
    kind: str
    day: int  # drift starts at 00:00 UTC of this day (gradual drifts begin there)
    description: str


@dataclass
class Stream:
    name: str
    family: str
    description: str
    features: list[Feature]
    build: Callable[[np.ndarray, int], tuple[pd.DataFrame, np.ndarray]]
    drifts: list[Drift] = field(default_factory=list)
    generator: str = ""
    expect: str = ""  # 'fire' (a drift that costs accuracy) or 'quiet'


SEA_NOISE = 0.1
SEA_FEATURES = [
    Feature("x0", "numerical", True, "uniform 0-10"),
    Feature("x1", "numerical", True, "uniform 0-10"),
    Feature("x2", "numerical", False, "uniform 0-10, never used by the label"),
]


def sea_frame(xs: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({"x0": [x[0] for x in xs], "x1": [x[1] for x in xs], "x2": [x[2] for x in xs]})


def rows_before(day: int) -> int:
    return (day - 1) * PER_DAY


def sea_abrupt(variant_after: int, day: int):
    def build(ts: np.ndarray, seed: int):
        from river.datasets import synth

        xs, ys = take_switched(synth.SEA(variant=0, noise=SEA_NOISE, seed=seed),
                               synth.SEA(variant=variant_after, noise=SEA_NOISE, seed=seed + 1), rows_before(day), len(ts))
        return sea_frame(xs), ys

    return build


AGRAWAL_PERTURBATION = 0.05
AGRAWAL_TYPES = {"car": "categorical", "zipcode": "categorical"}  # elevel (0-4) is ordinal: numeric
AGRAWAL_NOTES = {
    "elevel": "education level 0-4, ordinal: kept numeric",
    "car": "maker 1-20: categorical (one-hot in the champion)",
    "zipcode": "0-8: categorical (one-hot in the champion)",
    "hvalue": "river 0.26.1 with perturbation > 0 clamps it to 0 or (9 - zipcode) * 100000",
}
# The features each classification function reads (river's Agrawal._classification_function_N).
AGRAWAL_USES = {5: {"salary", "commission", "age"}, 6: {"salary", "commission", "loan"}, 8: {"salary", "commission", "elevel", "loan"}}
AGRAWAL_ORDER = ["salary", "commission", "age", "elevel", "car", "zipcode", "hvalue", "hyears", "loan"]


def agrawal_features(*functions: int) -> list[Feature]:
    """Agrawal's nine features; relevant = read by any of the stream's classification functions."""
    used = set().union(*(AGRAWAL_USES[f] for f in functions))
    return [Feature(n, AGRAWAL_TYPES.get(n, "numerical"), n in used, AGRAWAL_NOTES.get(n, "")) for n in AGRAWAL_ORDER]


AGRAWAL_FEATURES = agrawal_features(5, 6, 8)  # names and types (relevance differs per stream)


def agrawal_frame(xs: list[dict]) -> pd.DataFrame:
    cols = {}
    for f in AGRAWAL_FEATURES:
        values = [x[f.name] for x in xs]
        cols[f.name] = [str(int(v)) for v in values] if f.type == "categorical" else np.asarray(values, dtype=np.float64)
    return pd.DataFrame(cols)


def agrawal_abrupt(function_before: int, function_after: int, day: int):
    def build(ts: np.ndarray, seed: int):
        from river.datasets import synth

        stock = list(synth.Agrawal(classification_function=function_before, perturbation=AGRAWAL_PERTURBATION, seed=seed).take(300))
        with fast_agrawal():
            fast = list(synth.Agrawal(classification_function=function_before, perturbation=AGRAWAL_PERTURBATION, seed=seed).take(300))
            assert fast == stock, "the Agrawal speed-up changed river's rows"
            xs, ys = take_switched(
                synth.Agrawal(classification_function=function_before, perturbation=AGRAWAL_PERTURBATION, seed=seed),
                synth.Agrawal(classification_function=function_after, perturbation=AGRAWAL_PERTURBATION, seed=seed + 1),
                rows_before(day), len(ts))
        return agrawal_frame(xs), ys

    return build


HYPERPLANE_FEATURES = 10
HYPERPLANE_DRIFTING = 2
HYPERPLANE_NOISE = 0.05
HYPERPLANE_MAG = 4e-5


def hyperplane_gradual(day: int, mag_change: float):
    def build(ts: np.ndarray, seed: int):
        from river.datasets import synth

        # sigma=0: the drifting weights keep one direction, so the drift is steady rather than a
        # random walk whose size would depend on the seed.
        gen = synth.Hyperplane(seed=seed, n_features=HYPERPLANE_FEATURES, n_drift_features=HYPERPLANE_DRIFTING,
                               mag_change=0.0, noise_percentage=HYPERPLANE_NOISE, sigma=0.0)
        start = rows_before(day)
        xs, ys = [], np.empty(len(ts), dtype=np.int8)
        for k, (x, y) in enumerate(gen.take(len(ts))):
            # The generator moves its weights right after drawing each row (before yielding it)
            # and reads mag_change every time. Set while row start-2 is in hand, the first move
            # happens after row start-1 is drawn: row `start` is the first with moved weights.
            if k == start - 2:
                gen.mag_change = mag_change
            xs.append(x)
            ys[k] = y
        return pd.DataFrame({f"x{i}": [x[i] for x in xs] for i in range(HYPERPLANE_FEATURES)}), ys

    return build


HYPERPLANE_FEATURE_LIST = [
    Feature(f"x{i}", "numerical", True, "weight drifts from day 38" if i < HYPERPLANE_DRIFTING else "") for i in range(HYPERPLANE_FEATURES)
]


def sea_tilted(period_ms: int, amplitude: float = 1.0):
    """SEA (no concept change) with x0's distribution tilted by a cycle: row at time t accepts x0
    with probability (1 + a sin(2 pi t / period) (x0/5 - 1)) / (1 + a); the mean of x0 swings
    5 +- 1.67a (0.58 sd at a = 1) over the period. The concept (x0 + x1 > 8, 10 % noise) stays,
    so a model that learnt it over whole cycles keeps its accuracy; a window shorter than the
    period sees x0 drift."""

    def build(ts: np.ndarray, seed: int):
        from river.datasets import synth

        def accept(x: dict, t: int) -> float:
            phase = 2 * math.pi * ((t - START_MS) % period_ms) / period_ms
            return (1 + amplitude * math.sin(phase) * (x[0] / 5 - 1)) / (1 + amplitude)

        xs, ys = take_accepted(synth.SEA(variant=0, noise=SEA_NOISE, seed=seed), ts, accept, seed + 3)
        return sea_frame(xs), ys

    return build


PRIOR_SHIFT_DAY = 40
PRIOR_KEEP_POSITIVE = 0.25


def sea_prior_shift(day: int, keep_positive: float):
    """From `day` on, rows whose true class is positive (x0 + x1 > 8) are kept with probability
    keep_positive: P(true class positive) moves from about 0.68 to 0.35 (observed labels, 10 % flipped: 0.64 -> 0.38), P(x | class) and P(y | x) stay
    (the rows are the generator's own, noise included)."""

    def build(ts: np.ndarray, seed: int):
        from river.datasets import synth

        cut = day_start_ms(day)

        def accept(x: dict, t: int) -> float:
            return keep_positive if (t >= cut and x[0] + x[1] > 8) else 1.0

        xs, ys = take_accepted(synth.SEA(variant=0, noise=SEA_NOISE, seed=seed), ts, accept, seed + 3)
        return sea_frame(xs), ys

    return build


IRRELEVANT_DAY = 40
IRRELEVANT_SHIFT_SD = 3.0


def sea_irrelevant_shift(day: int, shift_sd: float):
    """SEA (no concept change) plus `aux` ~ N(0, 1), a feature the label never uses, whose mean
    moves to shift_sd from `day` on."""

    def build(ts: np.ndarray, seed: int):
        from river.datasets import synth

        xs, ys = take(synth.SEA(variant=0, noise=SEA_NOISE, seed=seed), len(ts))
        frame = sea_frame(xs)
        aux = np.random.default_rng(seed + 4).standard_normal(len(ts))
        aux[ts >= day_start_ms(day)] += shift_sd
        frame["aux"] = aux
        return frame, ys

    return build


def sea_stable():
    def build(ts: np.ndarray, seed: int):
        from river.datasets import synth

        xs, ys = take(synth.SEA(variant=0, noise=SEA_NOISE, seed=seed), len(ts))
        return sea_frame(xs), ys

    return build


STREAMS: list[Stream] = [
    Stream("sea_abrupt_d40", "SEA", "SEA, threshold 8 -> 9.5 (variant 0 -> 3) at day 40: fewer positives, abrupt concept drift",
           SEA_FEATURES, sea_abrupt(3, 40), [Drift("abrupt", 40, "SEA variant 0 -> 3 (x0 + x1 > 8 becomes > 9.5)")],
           f"SEA(variant=0, noise={SEA_NOISE}) for days 1-39, then SEA(variant=3, noise={SEA_NOISE})", "fire"),
    Stream("sea_abrupt_d47", "SEA", "SEA, threshold 8 -> 7 (variant 0 -> 2) at day 47: more positives, abrupt concept drift",
           SEA_FEATURES, sea_abrupt(2, 47), [Drift("abrupt", 47, "SEA variant 0 -> 2 (x0 + x1 > 8 becomes > 7)")],
           f"SEA(variant=0, noise={SEA_NOISE}) for days 1-46, then SEA(variant=2, noise={SEA_NOISE})", "fire"),
    Stream("agrawal_abrupt_d42", "Agrawal", "Agrawal, classification function 6 -> 8 at day 42 (disposable income gains an education term): a moderate abrupt drift",
           agrawal_features(6, 8), agrawal_abrupt(6, 8, 42), [Drift("abrupt", 42, "Agrawal function 6 -> 8")],
           f"Agrawal(classification_function=6, perturbation={AGRAWAL_PERTURBATION}) for days 1-41, then Agrawal(8, same perturbation)", "fire"),
    Stream("agrawal_abrupt_d52", "Agrawal", "Agrawal, classification function 6 -> 5 at day 52 (income rule -> age-banded salary rule): a severe abrupt drift",
           agrawal_features(6, 5), agrawal_abrupt(6, 5, 52), [Drift("abrupt", 52, "Agrawal function 6 -> 5")],
           f"Agrawal(classification_function=6, perturbation={AGRAWAL_PERTURBATION}) for days 1-51, then Agrawal(5, same perturbation)", "fire"),
    Stream("hyperplane_gradual_d38", "Hyperplane", f"Hyperplane, 10 features; from day 38 the weights of x0 and x1 grow by {HYPERPLANE_MAG} per row (gradual drift)",
           HYPERPLANE_FEATURE_LIST, hyperplane_gradual(38, HYPERPLANE_MAG), [Drift("gradual", 38, f"Hyperplane mag_change 0 -> {HYPERPLANE_MAG} (sigma 0) on 2 of 10 weights")],
           f"Hyperplane(n_features=10, n_drift_features=2, noise_percentage={HYPERPLANE_NOISE}, sigma=0), mag_change set to {HYPERPLANE_MAG} at the first row of day 38", "fire"),
    Stream("stable", "SEA", "SEA variant 0 for all 60 days: nothing changes",
           SEA_FEATURES, sea_stable(), [], f"SEA(variant=0, noise={SEA_NOISE})", "quiet"),
    Stream("daily_cycle", "SEA", "SEA variant 0; x0's distribution follows a 24 h cycle (mean 5 +- 1.67), the concept never changes",
           SEA_FEATURES, sea_tilted(DAY_MS), [], f"SEA(variant=0, noise={SEA_NOISE}) thinned by a 24 h cycle in x0", "quiet"),
    Stream("weekly_cycle", "SEA", "SEA variant 0; x0's distribution follows a 7-day cycle (mean 5 +- 1.67), the concept never changes",
           SEA_FEATURES, sea_tilted(7 * DAY_MS), [], f"SEA(variant=0, noise={SEA_NOISE}) thinned by a 7-day cycle in x0", "quiet"),
    Stream("irrelevant_shift_d40", "SEA", f"SEA variant 0 plus aux ~ N(0, 1), which the label never uses; aux's mean moves by {IRRELEVANT_SHIFT_SD:g} sd at day 40",
           SEA_FEATURES + [Feature("aux", "numerical", False, "N(0,1); mean +3 from day 40")], sea_irrelevant_shift(IRRELEVANT_DAY, IRRELEVANT_SHIFT_SD),
           [Drift("irrelevant-feature-shift", IRRELEVANT_DAY, f"aux mean 0 -> {IRRELEVANT_SHIFT_SD:g} (3 sd)")],
           f"SEA(variant=0, noise={SEA_NOISE}) + numpy normal aux", "quiet"),
    Stream("prior_shift_d40", "SEA", f"SEA variant 0; from day 40 positive-class rows are kept with probability {PRIOR_KEEP_POSITIVE} (observed positives ~64 % -> ~38 %), the concept never changes",
           SEA_FEATURES, sea_prior_shift(PRIOR_SHIFT_DAY, PRIOR_KEEP_POSITIVE),
           [Drift("class-prior-shift", PRIOR_SHIFT_DAY, f"P(positive) ~0.68 -> ~0.35 by keeping positive-class rows with probability {PRIOR_KEEP_POSITIVE}")],
           f"SEA(variant=0, noise={SEA_NOISE}) thinned from day 40", "quiet"),
]


# ----------------------------------------------------------------------------- the champion


def validation_mask(n_rows: int) -> np.ndarray:
    """Held-out part of days 1-30: every fifth prediction of each day (i % 5 == 4, i the row's
    index within its day), 20 % spread evenly over the 30 days. The other 80 % train."""
    return (np.arange(n_rows) % PER_DAY) % 5 == 4


def fit_champion(frame: pd.DataFrame, y: np.ndarray, features: list[Feature]):
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    num = [f.name for f in features if f.type == "numerical"]
    cat = [f.name for f in features if f.type == "categorical"]
    parts = [("num", StandardScaler(), num)]
    if cat:
        parts.append(("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), cat))
    model = Pipeline([("prep", ColumnTransformer(parts)), ("lr", LogisticRegression(C=1.0, max_iter=2000))])
    model.fit(frame[num + cat], y)
    return model, num, cat


def champion_json(model, num: list[str], cat: list[str], features: list[Feature]) -> dict:
    """The pipeline folded into one linear function of the raw features:
    score = 1 / (1 + exp(-(intercept + sum coef[f] * x[f] + sum oneHot[f][x[f]]))), unknown
    categories contribute 0 (as the encoder's handle_unknown='ignore')."""
    import sklearn

    prep = model.named_steps["prep"]
    lr = model.named_steps["lr"]
    w = lr.coef_[0]
    b = float(lr.intercept_[0])
    scaler = prep.named_transformers_["num"]
    coef, standard = {}, {}
    for j, name in enumerate(num):
        c = w[j] / scaler.scale_[j]
        coef[name] = float(c)
        b -= float(c * scaler.mean_[j])
        standard[name] = {"mean": float(scaler.mean_[j]), "scale": float(scaler.scale_[j]), "coefStandardised": float(w[j])}
    one_hot = {}
    if cat:
        enc = prep.named_transformers_["cat"]
        k = len(num)
        for name, cats in zip(cat, enc.categories_):
            one_hot[name] = {}
            for c in cats:
                one_hot[name][str(c)] = float(w[k])
                k += 1
    return {
        "kind": "logistic_regression",
        "positiveClass": 1,
        "featureOrder": [f.name for f in features],
        "numerical": coef,
        "oneHot": one_hot,
        "intercept": b,
        "threshold": 0.5,
        "formula": "score = sigmoid(intercept + sum(numerical[f] * x[f]) + sum(oneHot[f][x[f]] or 0)); prediction = score >= threshold",
        "trainedWith": {"sklearn": sklearn.__version__, "pipeline": "StandardScaler (numerical) + OneHotEncoder(handle_unknown='ignore') (categorical) + LogisticRegression(C=1, lbfgs)", "standardisation": standard},
    }


def score_json(champion: dict, frame: pd.DataFrame) -> np.ndarray:
    z = np.full(len(frame), champion["intercept"], dtype=np.float64)
    for name, c in champion["numerical"].items():
        z += c * frame[name].to_numpy(dtype=np.float64)
    for name, table in champion["oneHot"].items():
        z += frame[name].map(table).fillna(0.0).to_numpy(dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-z))


# ----------------------------------------------------------------------------- writing


def ts_array(ms: np.ndarray) -> pa.Array:
    return pa.array(ms, type=pa.timestamp("ms", tz="UTC"))


def feature_arrays(frame: pd.DataFrame, features: list[Feature]) -> dict[str, pa.Array]:
    return {f.name: pa.array(frame[f.name].to_numpy(), type=pa.string() if f.type == "categorical" else pa.float64()) for f in features}


def write_table(path: Path, columns: dict[str, pa.Array]) -> None:
    pq.write_table(pa.table(columns), path, compression="zstd")


def accuracy_between(ok: np.ndarray, ts: np.ndarray, start: int, end: int) -> float:
    sel = (ts >= start) & (ts < end)
    return float(ok[sel].mean())


def generate(stream: Stream, index: int, out: Path) -> dict:
    t0 = time.perf_counter()
    seed = BASE_SEED + 1000 * index
    ts = timestamps(seed + 7)
    frame, y = stream.build(ts, seed)
    assert len(frame) == N and len(y) == N
    names = [f.name for f in stream.features]
    frame = frame[names]
    request_id = np.array([f"{stream.name}-{d:02d}-{i:04d}" for d in range(1, DAYS + 1) for i in range(PER_DAY)], dtype=object)

    train = slice(0, N_TRAIN)
    served = slice(N_TRAIN, N)
    hold = validation_mask(N_TRAIN)
    tr_frame, tr_y = frame.iloc[train].reset_index(drop=True), y[train]
    model, num, cat = fit_champion(tr_frame[~hold], tr_y[~hold], stream.features)
    champion = champion_json(model, num, cat, stream.features)

    score = model.predict_proba(frame[num + cat])[:, 1]
    json_score = score_json(champion, frame)
    gap = float(np.max(np.abs(score - json_score)))
    assert gap < 1e-9, f"{stream.name}: champion.json scores differ from sklearn by {gap}"
    prediction = (score >= 0.5).astype(np.int8)
    ok = prediction == y

    validation_accuracy = float(ok[train][hold].mean())

    drifts = []
    for d in stream.drifts:
        s = day_start_ms(d.day)
        before = accuracy_between(ok, ts, s - COST_BEFORE_DAYS * DAY_MS, s)
        after = accuracy_between(ok, ts, s, s + COST_AFTER_DAYS * DAY_MS)
        cost = round((before - after) * 100, 2)
        drifts.append({
            "kind": d.kind, "day": d.day, "start": iso(s), "description": d.description,
            "accuracyBefore7d": round(before, 4), "accuracyAfter3d": round(after, 4),
            "costPoints": cost, "costly": bool(cost >= COSTLY_POINTS),
        })
    daily = []
    for d in range(TRAIN_DAYS + 1, DAYS + 1):
        s = day_start_ms(d)
        sel = (ts >= s) & (ts < s + DAY_MS)
        daily.append({"day": d, "date": iso(s)[:10], "accuracy": round(float(ok[sel].mean()), 4), "positiveRate": round(float(y[sel].mean()), 4)})

    folder = out / stream.name
    folder.mkdir(parents=True, exist_ok=True)
    feats = feature_arrays(frame, stream.features)
    write_table(folder / "training.parquet", {
        "request_id": pa.array(request_id[train], type=pa.string()), "ts": ts_array(ts[train]),
        **{k: v[:N_TRAIN] for k, v in feats.items()}, "label": pa.array(y[train].astype(np.float64)),
    })
    n_served = N - N_TRAIN
    write_table(folder / "predictions.parquet", {
        "request_id": pa.array(request_id[served], type=pa.string()), "ts": ts_array(ts[served]),
        "model_version": pa.array([MODEL_VERSION] * n_served, type=pa.string()),
        "variant": pa.array(["champion"] * n_served, type=pa.string()),
        **{k: v[N_TRAIN:] for k, v in feats.items()},
        "prediction": pa.array(prediction[served].astype(np.float64)), "score": pa.array(score[served]),
    })
    write_table(folder / "labels.parquet", {
        "request_id": pa.array(request_id[served], type=pa.string()), "label": pa.array(y[served].astype(np.float64)),
        "label_ts": ts_array(ts[served] + LABEL_DELAY_MS),
    })
    (folder / "champion.json").write_text(json.dumps(champion, indent=2) + "\n")

    first_check = day_start_ms(TRAIN_DAYS + 1)
    last_check = day_start_ms(DAYS) + 23 * HOUR_MS
    costly = any(d["costly"] for d in drifts)
    meta = {
        "stream": stream.name,
        "family": stream.family,
        "description": stream.description,
        "generator": stream.generator,
        "expect": stream.expect,
        "seed": seed,
        "task": "binary_classification",
        "label": {"name": "label", "delay": "1d", "positive": 1},
        "features": [{"name": f.name, "type": f.type, "relevant": f.relevant, **({"note": f.note} if f.note else {})} for f in stream.features],
        "calendar": {"start": iso(START_MS), "days": DAYS, "perDay": PER_DAY, "trainingDays": [1, TRAIN_DAYS], "servedDays": [TRAIN_DAYS + 1, DAYS],
                     "trainingFrom": iso(START_MS), "servedFrom": iso(day_start_ms(TRAIN_DAYS + 1)), "servedTo": iso(day_start_ms(DAYS + 1))},
        "checks": {"from": iso(first_check), "to": iso(last_check), "every": "1h", "count": (last_check - first_check) // HOUR_MS + 1},
        "drifts": drifts,
        "costly": costly,
        "costRule": f"a drift is costly when the champion's accuracy over the {COST_AFTER_DAYS} days after its start is at least {COSTLY_POINTS:g} points below its accuracy over the {COST_BEFORE_DAYS} days before",
        "champion": {
            "file": "champion.json", "modelVersion": MODEL_VERSION, "kind": "logistic_regression",
            "trainRows": int((~hold).sum()), "validationRows": int(hold.sum()),
            "split": "days 1-30; validation = every fifth prediction of each day (index within the day % 5 == 4), training = the rest",
            "validationAccuracy": round(validation_accuracy, 4),
            "servedAccuracy": round(float(ok[served].mean()), 4),
        },
        "dailyAccuracy": daily,
        "files": {"training": "training.parquet", "predictions": "predictions.parquet", "labels": "labels.parquet", "champion": "champion.json"},
        "seconds": round(time.perf_counter() - t0, 2),
    }
    (folder / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def versions() -> dict:
    import river
    import sklearn

    return {"python": sys.version.split()[0], "river": river.__version__, "scikit-learn": sklearn.__version__,
            "numpy": np.__version__, "pandas": pd.__version__, "pyarrow": pa.__version__}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=str(Path(__file__).resolve().parent / ".out"))
    ap.add_argument("--only", default="", help="comma-separated stream names (default: all)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    only = {s for s in args.only.split(",") if s}
    unknown = only - {s.name for s in STREAMS}
    if unknown:
        sys.exit(f"unknown stream(s): {', '.join(sorted(unknown))}; known: {', '.join(s.name for s in STREAMS)}")

    t0 = time.perf_counter()
    summary = []
    for index, stream in enumerate(STREAMS):
        if only and stream.name not in only:
            continue
        meta = generate(stream, index, out)
        line = {
            "stream": stream.name, "expect": stream.expect, "validationAccuracy": meta["champion"]["validationAccuracy"],
            "drifts": [{k: d[k] for k in ("kind", "start", "costPoints", "costly")} for d in meta["drifts"]],
            "costly": meta["costly"], "seconds": meta["seconds"],
        }
        summary.append(line)
        drift_text = "; ".join(f"{d['kind']} {d['start']} cost {d['costPoints']:+.2f} pts -> {'costly' if d['costly'] else 'not costly'}" for d in meta["drifts"]) or "no drift"
        print(f"{stream.name:24s} validation acc {meta['champion']['validationAccuracy']:.4f}  {drift_text}  ({meta['seconds']:.1f} s)", flush=True)
    index_file = out / "streams.json"
    previous = json.loads(index_file.read_text())["streams"] if (only and index_file.exists()) else []
    merged = {s["stream"]: s for s in previous}
    merged.update({s["stream"]: s for s in summary})
    ordered = [merged[s.name] for s in STREAMS if s.name in merged]
    index_file.write_text(json.dumps({"versions": versions(), "streams": ordered}, indent=2) + "\n")
    print(f"wrote {len(summary)} stream(s) to {out} in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
