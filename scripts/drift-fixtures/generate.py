#!/usr/bin/env python3
"""Expected values for the TypeScript drift statistics (src/drift), from numpy/scipy/sklearn.

Usage (from the repository root):

    python3 scripts/drift-fixtures/generate.py

The pinned reference versions are in requirements.txt next to this file. If the
running interpreter does not have exactly those versions, the script creates a
virtualenv (default /tmp/drift-fixtures-venv, override with DRIFT_FIXTURES_VENV),
installs requirements.txt into it with pip, and re-runs itself there. The
output, test/fixtures/drift/expected.json, is deterministic for a given set of
versions.

Large datasets are not stored in the JSON: they are described by a generator
spec that the tests rebuild bit-for-bit (test/drift/gen.ts). The generator
uses mulberry32 (a counter-based 32-bit PRNG, vectorised here with numpy) and
only +, -, *, floor, so IEEE-754 rounding gives identical doubles in Python
and JavaScript (no libm calls whose last bit could differ).
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "test" / "fixtures" / "drift" / "expected.json"
REQUIREMENTS = HERE / "requirements.txt"


def _pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, ver = line.split("==")
            pins[name.strip().lower()] = ver.strip()
    return pins


def _ensure_environment() -> None:
    pins = _pins()
    try:
        import numpy
        import scipy
        import sklearn

        have = {"numpy": numpy.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__}
        if all(have.get(k) == v for k, v in pins.items()):
            return
    except ImportError:
        pass
    if os.environ.get("DRIFT_FIXTURES_REEXEC"):
        sys.exit("drift fixtures: the virtualenv does not provide the pinned versions in requirements.txt")
    venv = Path(os.environ.get("DRIFT_FIXTURES_VENV", "/tmp/drift-fixtures-venv"))
    py = venv / "bin" / "python"
    if not py.exists():
        subprocess.check_call([sys.executable, "-m", "venv", str(venv)])
    subprocess.check_call([str(py), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)])
    env = dict(os.environ, DRIFT_FIXTURES_REEXEC="1")
    os.execve(str(py), [str(py), str(Path(__file__).resolve()), *sys.argv[1:]], env)


_ensure_environment()

import numpy as np  # noqa: E402
import scipy  # noqa: E402
import sklearn  # noqa: E402
from scipy import special, stats  # noqa: E402
from scipy.spatial.distance import jensenshannon  # noqa: E402
from sklearn import metrics  # noqa: E402

from datagen import data_ref, generate, materialise, mulberry32  # noqa: E402


def g(kind, n, seed, **kw):
    return {"kind": kind, "n": n, "seed": seed, **kw}


def fnum(x) -> float | str | None:
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return None
    return x


# ---------------------------------------------------------------- reference statistics


def psi_reference(ref: np.ndarray, cur: np.ndarray, bins: int):
    edges = np.percentile(ref, np.linspace(0, 100, bins + 1))
    edges[0] = -np.inf
    edges[-1] = np.inf
    e_counts = np.histogram(ref, edges)[0]
    a_counts = np.histogram(cur, edges)[0]
    e = e_counts / len(ref)
    a = a_counts / len(cur)
    e = np.where(e == 0, 1e-10, e)
    a = np.where(a == 0, 1e-10, a)
    value = float(np.sum((a - e) * np.log(a / e)))
    return value, edges, e_counts, a_counts


def chisquare_reference(ref_counts: dict, cur_counts: dict):
    """Mirror of src/drift/categorical.ts chiSquare: union of categories, zero-zero
    categories dropped, reference smoothed by +0.5 only when current has a category
    the reference never saw; then scipy.stats.chisquare(current, f_exp)."""
    cats = list(dict.fromkeys([*ref_counts.keys(), *cur_counts.keys()]))
    cats = [c for c in cats if ref_counts.get(c, 0) > 0 or cur_counts.get(c, 0) > 0]
    r = np.array([ref_counts.get(c, 0) for c in cats], dtype=np.float64)
    c = np.array([cur_counts.get(k, 0) for k in cats], dtype=np.float64)
    smoothed = bool(np.any(r == 0))
    alpha = 0.5 if smoothed else 0.0
    expected = (r + alpha) / (r.sum() + alpha * len(cats)) * c.sum()
    if len(cats) < 2:
        return 0.0, 1.0, smoothed
    res = stats.chisquare(c, f_exp=expected)
    return float(res.statistic), float(res.pvalue), smoothed


def js_reference(ref_counts: dict, cur_counts: dict, base):
    cats = list(dict.fromkeys([*ref_counts.keys(), *cur_counts.keys()]))
    p = np.array([ref_counts.get(c, 0) for c in cats], dtype=np.float64)
    q = np.array([cur_counts.get(c, 0) for c in cats], dtype=np.float64)
    return float(jensenshannon(p, q, base=base))


def counts_of(values) -> dict:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return out


def categorical_sample(seed: int, n: int, probs: dict) -> dict:
    names = list(probs.keys())
    p = np.array([probs[k] for k in names], dtype=np.float64)
    cdf = np.cumsum(p / p.sum())
    u = mulberry32(seed, n)
    idx = np.searchsorted(cdf, u, side="right")
    idx = np.minimum(idx, len(names) - 1)
    counts = np.bincount(idx, minlength=len(names))
    return {names[i]: int(counts[i]) for i in range(len(names)) if counts[i] > 0}


# ---------------------------------------------------------------- cases


def percentile_cases():
    qs = [0, 1, 5, 10, 12.5, 20, 25, 30, 33.3, 40, 50, 60, 66.7, 70, 75, 80, 90, 95, 99, 99.9, 100]
    datasets = [
        [3.0],
        [1.0, 2.0],
        [5.0, 1.0, 4.0, 2.0, 3.0, 3.0, 3.0, 9.5, -1.25, 0.0],
        g("normal", 1001, 11, loc=3.0, scale=2.0),
        g("int", 5000, 12, k=4),
        g("uniform", 123457, 13, loc=-5.0, scale=10.0),
        g("grid", 200000, 14, step=0.25),
    ]
    out = []
    for d in datasets:
        x = materialise(d)
        out.append({"data": data_ref(d), "q": qs, "expected": [float(v) for v in np.percentile(x, qs)]})
    return out


def psi_cases():
    pairs = [
        ("small", [0.5, 1.5, 2.5, 3.5, 1.0, 2.0, 3.0, 4.0, 4.5, 0.0, 2.2, 2.4, 3.3, 1.1, 0.7, 3.9, 2.8, 1.9, 0.2, 4.4],
         [0.1, 0.4, 1.2, 2.2, 2.9, 3.1, 3.3, 3.5, 3.7, 4.1, 4.9, 5.5, 2.2, 2.2, 1.0], 10),
        ("small-5bins", [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [3.0, 3.0, 3.0, 8.0], 5),
        ("identical", g("normal", 5000, 21), g("normal", 5000, 21), 10),
        ("normal-same", g("normal", 100000, 22), g("normal", 80000, 23), 10),
        ("normal-shift", g("normal", 100000, 24), g("normal", 100000, 25, loc=0.1), 10),
        ("normal-scale", g("normal", 50000, 26), g("normal", 50000, 27, scale=1.5), 20),
        ("uniform-vs-normal", g("uniform", 20000, 28), g("normal", 20000, 29, loc=0.5, scale=0.5), 10),
        ("ties-k3", g("int", 10000, 30, k=3), g("int", 10000, 31, k=3), 10),
        ("ties-k3-shift", g("int", 10000, 32, k=3), g("int", 10000, 33, k=4), 10),
        ("ties-k20", g("int", 30000, 34, k=20), g("int", 30000, 35, k=20, loc=1.0), 10),
        ("grid", g("grid", 40000, 36, step=0.5), g("grid", 40000, 37, step=0.5, loc=0.2), 10),
        ("constant-ref", [2.0] * 50, [1.0, 2.0, 2.0, 3.0], 10),
        ("outside-range", g("uniform", 3000, 38), g("uniform", 3000, 39, loc=5.0), 10),
        ("bins-1", g("normal", 1000, 40), g("normal", 1000, 41, loc=1.0), 1),
        ("bins-7", g("normal", 7777, 42), g("normal", 5555, 43, loc=0.05), 7),
    ]
    out = []
    for name, r, c, bins in pairs:
        ref, cur = materialise(r), materialise(c)
        value, edges, ec, ac = psi_reference(ref, cur, bins)
        out.append({
            "name": name, "reference": data_ref(r), "current": data_ref(c), "bins": bins, "psi": value,
            "edges": [fnum(e) for e in edges], "referenceCounts": [int(v) for v in ec],
            "currentCounts": [int(v) for v in ac],
        })
    return out


def ks_cases():
    pairs = [
        ("tiny", [1.0, 2.0, 3.0, 4.0, 5.0], [2.5, 3.5, 6.0, 7.0, 8.0, 9.0, 0.5]),
        ("tiny-equal-n", [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8], [0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.95, 1.05]),
        ("tiny-ties", [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 4.0, 4.0, 5.0], [1.0, 2.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 5.0, 6.0]),
        ("identical-small", [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]),
        ("disjoint", [1.0, 2.0, 3.0, 4.0], [10.0, 11.0, 12.0]),
        ("n1-one", [0.5], [0.1, 0.2, 0.3, 0.4, 0.6, 0.7]),
        ("30-45", g("normal", 30, 50), g("normal", 45, 51, loc=0.3)),
        ("100-100", g("normal", 100, 52), g("normal", 100, 53, loc=0.2)),
        ("100-250", g("normal", 100, 54), g("uniform", 250, 55, loc=-1.0, scale=2.0)),
        ("1000-1200", g("normal", 1000, 56), g("normal", 1200, 57, loc=0.05)),
        ("1000-1000-same", g("normal", 1000, 58), g("normal", 1000, 59)),
        ("2500-2500-shift", g("normal", 2500, 60), g("normal", 2500, 61, loc=0.08)),
        ("3000-4500", g("normal", 3000, 62), g("normal", 4500, 63, scale=1.1)),
        ("ties-exact", g("int", 2000, 64, k=5), g("int", 3000, 65, k=5)),
        ("ties-exact-shift", g("int", 2000, 66, k=5), g("int", 3000, 67, k=6)),
        ("grid-exact", g("grid", 4000, 68, step=0.1), g("grid", 6000, 69, step=0.1, loc=0.02)),
        ("9999-10000", g("normal", 9999, 70), g("normal", 10000, 71, loc=0.02)),
        ("10000-10000", g("normal", 10000, 72), g("normal", 10000, 73, loc=0.03)),
        ("10000-7000-same", g("normal", 10000, 74), g("normal", 7000, 75)),
        ("10000-10001-asymp", g("normal", 10000, 76), g("normal", 10001, 77, loc=0.03)),
        ("asymp-en20", g("normal", 20, 78), g("normal", 20000, 79, loc=0.4)),
        ("asymp-en20-same", g("normal", 20, 80), g("normal", 20000, 81)),
        ("asymp-en100", g("normal", 100, 82), g("normal", 15000, 83, loc=0.1)),
        ("asymp-en150", g("normal", 150, 84), g("normal", 15000, 85)),
        ("asymp-en1000", g("normal", 1000, 86), g("normal", 50000, 87, loc=0.02)),
        ("asymp-large-same", g("normal", 100000, 88), g("normal", 120000, 89)),
        ("asymp-large-shift", g("normal", 100000, 90), g("normal", 100000, 91, loc=0.01)),
        ("asymp-large-bigshift", g("normal", 50000, 92), g("normal", 60000, 93, loc=0.1)),
        ("asymp-pelzgood", g("normal", 250000, 94), g("normal", 250000, 95)),
        ("asymp-ties", g("int", 30000, 96, k=10), g("int", 40000, 97, k=10)),
        ("asymp-ties-shift", g("int", 30000, 98, k=10), g("int", 40000, 99, k=11)),
    ]
    out = []
    for name, r, c in pairs:
        ref, cur = materialise(r), materialise(c)
        res = stats.ks_2samp(ref, cur)
        out.append({"name": name, "reference": data_ref(r), "current": data_ref(c),
                    "statistic": float(res.statistic), "pValue": float(res.pvalue),
                    "method": "exact" if max(len(ref), len(cur)) <= 10000 else "asymp"})
    return out


def kstwo_cases():
    out = []
    ns = [1, 2, 3, 5, 10, 20, 50, 100, 140, 141, 200, 500, 1000, 4975, 20000, 100000, 100001, 500000]
    for n in ns:
        xs = {0.3 / n, 0.5 / n, 0.75 / n, 1.0 / n, 1.5 / n, 2.5 / n, 0.5, 0.55, 0.8, 0.99, 1 - 0.5 / n, 1 - 1.5 / n}
        for z in [0.05, 0.2, 0.4, 0.6, 0.8, 0.9, 1.0, 1.2, 1.36, 1.5, 1.63, 2.0, 2.5, 3.0, 4.0, 6.0, 10.0, 19.0, 25.0]:
            xs.add(z / math.sqrt(n))
        for x in sorted(xs):
            if 0 < x < 1:
                out.append({"n": n, "x": x, "sf": float(stats.kstwo.sf(x, n))})
    return out


def smirnov_cases():
    out = []
    for n in [1, 2, 5, 10, 37, 100, 1000, 12345, 500000, 2000000]:
        for x in [0.0, 0.3 / n, 1.0 / n, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.95, 1.0]:
            if 0 <= x <= 1:
                out.append({"n": n, "x": x, "sf": float(special.smirnov(n, x))})
    return out


def wasserstein_cases():
    pairs = [
        ("doc", [0.0, 1.0, 3.0], [5.0, 6.0, 8.0]),
        ("single", [1.5], [-2.0]),
        ("ties", [1.0, 1.0, 2.0, 2.0, 2.0, 3.0], [2.0, 2.0, 3.0, 3.0, 4.0]),
        ("identical", [3.0, 1.0, 2.0], [1.0, 2.0, 3.0]),
        ("normal", g("normal", 5000, 100), g("normal", 7000, 101, loc=0.3)),
        ("normal-large", g("normal", 200000, 102), g("normal", 150000, 103, scale=1.2)),
        ("ties-int", g("int", 30000, 104, k=7), g("int", 20000, 105, k=9)),
        ("grid", g("grid", 50000, 106, step=0.25, scale=10.0), g("grid", 50000, 107, step=0.25, scale=10.0, loc=1.0)),
        ("scale", g("uniform", 10000, 108, loc=1e6, scale=1e3), g("uniform", 10000, 109, loc=1e6 + 10.0, scale=1e3)),
    ]
    out = []
    for name, r, c in pairs:
        ref, cur = materialise(r), materialise(c)
        out.append({"name": name, "reference": data_ref(r), "current": data_ref(c),
                    "distance": float(stats.wasserstein_distance(ref, cur))})
    return out


def categorical_cases():
    base = {"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}
    shifted = {"a": 0.3, "b": 0.3, "c": 0.25, "d": 0.15}
    many = {f"cat{i:03d}": 1.0 / (i + 1) for i in range(150)}
    many_shift = {f"cat{i:03d}": 1.0 / (i + 1) ** 1.1 for i in range(150)}
    tables = [
        ("identical", {"a": 10, "b": 20, "c": 30}, {"a": 10, "b": 20, "c": 30}),
        ("proportional", {"a": 10, "b": 20, "c": 30}, {"a": 100, "b": 200, "c": 300}),
        ("sampled-same", categorical_sample(200, 5000, base), categorical_sample(201, 4000, base)),
        ("sampled-shift", categorical_sample(202, 5000, base), categorical_sample(203, 5000, shifted)),
        ("new-category", {"a": 500, "b": 300, "c": 200}, {"a": 450, "b": 300, "c": 200, "z": 50}),
        ("new-category-rare", {"a": 5000, "b": 3000}, {"a": 5000, "b": 2999, "new": 1}),
        ("vanished-category", {"a": 500, "b": 300, "c": 200}, {"a": 600, "b": 400}),
        ("new-and-vanished", {"a": 50, "b": 30, "c": 20}, {"a": 40, "x": 30, "y": 30}),
        ("disjoint", {"a": 5, "b": 5}, {"c": 3, "d": 7}),
        ("zero-count-entries", {"a": 10, "b": 0, "c": 5}, {"a": 8, "b": 0, "c": 9}),
        ("many", categorical_sample(204, 50000, many), categorical_sample(205, 30000, many_shift)),
        ("single-category", {"only": 10}, {"only": 7}),
    ]
    out = []
    for name, r, c in tables:
        stat, p, smoothed = chisquare_reference(r, c)
        out.append({
            "name": name, "reference": r, "current": c,
            "js2": js_reference(r, c, 2), "jsE": js_reference(r, c, math.e), "js10": js_reference(r, c, 10),
            "chiSquare": {"statistic": stat, "pValue": p, "smoothed": smoothed},
        })
    return out


def special_cases():
    gam = []
    for a in [0.5, 1.0, 1.5, 2.0, 3.0, 4.5, 10.0, 49.5, 100.0, 250.0, 1000.0]:
        for x in [0.0, 1e-3, 0.1, 0.5, 1.0, 2.0, a * 0.5, a * 0.9, a, a * 1.1, a * 1.5, a * 3 + 10]:
            gam.append({"a": a, "x": x, "q": float(special.gammaincc(a, x)), "p": float(special.gammainc(a, x))})
    lg = [{"x": x, "lgamma": float(special.gammaln(x))}
          for x in [1e-8, 0.1, 0.5, 1.0, 1.5, 2.0, 2.5, 3.7, 10.0, 33.3, 100.0, 1234.5, 1e5, 1e7]]
    chi2 = []
    for k in [1, 2, 3, 5, 10, 30, 149, 200]:
        for x in [0.01, 0.5, 1.0, k * 0.5, float(k), k + 2.0 * math.sqrt(2 * k), 3.0 * k + 20]:
            chi2.append({"k": k, "x": x, "sf": float(stats.chi2.sf(x, k))})
    return {"gammainc": gam, "lgamma": lg, "chi2": chi2}


def metric_cases():
    cases = []
    rng_specs = [(300, 1), (1000, 2), (5000, 3)]
    for n, seed in rng_specs:
        u = mulberry32(1000 + seed, 3 * n)
        y_true = (u[0::3] < 0.35).astype(np.float64)
        # scores correlated with the label and rounded to 1 decimal: many ties
        raw = 0.6 * y_true + 0.7 * u[1::3]
        score = np.round(raw / 1.3, 1)
        proba = np.clip(raw / 1.3, 0.0, 1.0)
        proba[:5] = [0.0, 1.0, 0.0, 1.0, 1e-20]
        y_pred = (proba >= 0.5).astype(np.float64)
        reg_true = 10.0 * u[2::3]
        reg_pred = reg_true + (u[1::3] - 0.5)
        cases.append({
            "name": f"binary-{n}", "yTrue": y_true.tolist(), "yPred": y_pred.tolist(), "yScore": score.tolist(),
            "yProba": proba.tolist(), "regTrue": reg_true.tolist(), "regPred": reg_pred.tolist(),
            "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
            "precision": float(metrics.precision_score(y_true, y_pred, zero_division=0)),
            "recall": float(metrics.recall_score(y_true, y_pred, zero_division=0)),
            "f1": float(metrics.f1_score(y_true, y_pred, zero_division=0)),
            "rocAuc": float(metrics.roc_auc_score(y_true, score)),
            "rocAucProba": float(metrics.roc_auc_score(y_true, proba)),
            "logLoss": float(metrics.log_loss(y_true, proba)),
            "mae": float(metrics.mean_absolute_error(reg_true, reg_pred)),
            "rmse": float(metrics.root_mean_squared_error(reg_true, reg_pred)),
        })
    # zero-division: nothing predicted positive -> precision/f1 are 0 (sklearn warns, returns 0)
    y_true = [0.0, 1.0, 0.0, 1.0]
    y_pred = [0.0, 0.0, 0.0, 0.0]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zero = {
            "name": "zero-division", "yTrue": y_true, "yPred": y_pred,
            "accuracy": float(metrics.accuracy_score(y_true, y_pred)),
            "precision": float(metrics.precision_score(y_true, y_pred)),
            "recall": float(metrics.recall_score(y_true, y_pred)),
            "f1": float(metrics.f1_score(y_true, y_pred)),
        }
    cases.append(zero)
    all_ties = {"name": "all-scores-tied", "yTrue": [0.0, 1.0, 1.0, 0.0, 1.0], "yScore": [0.5] * 5,
                "rocAuc": float(metrics.roc_auc_score([0, 1, 1, 0, 1], [0.5] * 5))}
    cases.append(all_ties)
    return cases


def summary_cases():
    out = []
    for spec in [g("normal", 100000, 300, loc=5.0, scale=3.0), g("int", 20000, 301, k=7), g("uniform", 54321, 302)]:
        x = generate(spec)
        out.append({"data": {"gen": spec}, "mean": float(np.mean(x)), "std": float(np.std(x)),
                    "min": float(np.min(x)), "max": float(np.max(x)),
                    "quantileLevels": [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99],
                    "quantiles": [float(v) for v in np.quantile(x, [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])]})
    return out


def main() -> None:
    # Self-check: the generator must match the TypeScript one; pin a few values.
    probe = mulberry32(42, 3)
    fixture = {
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__,
                     "python": sys.version.split()[0]},
        "mulberry32Probe": {"seed": 42, "values": [float(v) for v in probe]},
        "percentile": percentile_cases(),
        "psi": psi_cases(),
        "ks": ks_cases(),
        "kstwo": kstwo_cases(),
        "smirnov": smirnov_cases(),
        "wasserstein": wasserstein_cases(),
        "categorical": categorical_cases(),
        "special": special_cases(),
        "metrics": metric_cases(),
        "summary": summary_cases(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(fixture, separators=(",", ":"), allow_nan=False)
    OUT.write_text(text + "\n")
    print(f"wrote {OUT.relative_to(ROOT)} ({len(text) / 1024:.0f} KiB)")


if __name__ == "__main__":
    main()
