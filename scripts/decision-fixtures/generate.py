#!/usr/bin/env python3
"""Expected values for the decision building blocks (src/drift/decisions), from scipy, statsmodels
and scikit-learn. Writes test/fixtures/decision-fixtures.json; deterministic for the pinned versions.

Usage (from the repository root; .tools/ is git-ignored):

    python3 -m venv .tools/pyenv
    .tools/pyenv/bin/pip install -r scripts/decision-fixtures/requirements.txt
    .tools/pyenv/bin/python scripts/decision-fixtures/generate.py

Simulated data is not stored: it is described by seeds and rebuilt bit for bit by the tests
(test/drift/decisions/fixture.ts). The generator is mulberry32 (src/drift/random.ts, vectorised
here) and the transforms use only +, -, *, < so IEEE-754 gives identical doubles in both languages.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "test" / "fixtures" / "decision-fixtures.json"

try:
    import numpy as np
    import scipy
    import sklearn
    import statsmodels
    from scipy import integrate, stats
    from sklearn.isotonic import IsotonicRegression
    from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
    from statsmodels.stats.multitest import multipletests
    from statsmodels.stats.proportion import proportion_confint
except ImportError as e:  # pragma: no cover
    sys.exit(f"decision fixtures: {e}; install scripts/decision-fixtures/requirements.txt (see the docstring)")


def mulberry32(seed: int, count: int) -> np.ndarray:
    """The first `count` outputs of mulberry32(seed), as in src/drift/random.ts."""
    M = np.uint64(0xFFFFFFFF)
    k = np.arange(1, count + 1, dtype=np.uint64)
    a = (np.uint64(seed & 0xFFFFFFFF) + k * np.uint64(0x6D2B79F5)) & M
    t = ((a ^ (a >> np.uint64(15))) * (a | np.uint64(1))) & M
    t = ((t + (((t ^ (t >> np.uint64(7))) * (t | np.uint64(61))) & M)) & M) ^ t
    r = (t ^ (t >> np.uint64(14))) & M
    return r.astype(np.float64) / 4294967296.0


# ---------------------------------------------------------------- simulated classifiers

POSITIVE_SHARE = 0.35


def probabilities(seed: int, n: int) -> np.ndarray:
    """Calibrated P(y=1): a mixture of confident positives (1 - b*b) and negatives (0.8*b*b)."""
    u = mulberry32(seed, 2 * n)
    a, b = u[0::2], u[1::2]
    return np.where(a < POSITIVE_SHARE, 1.0 - b * b, 0.8 * b * b)


def labels(seed: int, p: np.ndarray) -> np.ndarray:
    """y_i = 1 when v_i < p_i, so y_i ~ Bernoulli(p_i)."""
    return (mulberry32(seed, len(p)) < p).astype(np.int64)


def population_metrics(threshold: float = 0.5) -> dict:
    """Exact population accuracy, precision, recall, F1 of the mixture above (b ~ U(0, 1))."""
    def expect(f):  # E[f(p)] over the mixture
        pos = integrate.quad(lambda b: f(1.0 - b * b), 0, 1, epsabs=1e-13, epsrel=1e-13, limit=200, points=[0.5 ** 0.5])[0]
        neg = integrate.quad(lambda b: f(0.8 * b * b), 0, 1, epsabs=1e-13, epsrel=1e-13, limit=200, points=[(threshold / 0.8) ** 0.5])[0]
        return POSITIVE_SHARE * pos + (1 - POSITIVE_SHARE) * neg
    yhat = lambda p: 1.0 if p >= threshold else 0.0  # noqa: E731
    acc = expect(lambda p: p if p >= threshold else 1 - p)
    tp = expect(lambda p: p * yhat(p))
    pred_pos = expect(yhat)
    pos = expect(lambda p: p)
    return {"accuracy": acc, "precision": tp / pred_pos, "recall": tp / pos, "f1": 2 * tp / (pos + pred_pos)}


def cbpe_numpy(p: np.ndarray, threshold: float = 0.5) -> dict:
    """Independent CBPE point estimates (NannyML's formulas) and the expected-ROC AUC via sklearn
    with each row split into a positive of weight p and a negative of weight 1 - p."""
    yhat = (p >= threshold).astype(np.float64)
    tp, fp = np.sum(p * yhat), np.sum((1 - p) * yhat)
    fn, tn = np.sum(p * (1 - yhat)), np.sum((1 - p) * (1 - yhat))
    n = len(p)
    q = np.where(yhat == 1, p, 1 - p)
    auc = roc_auc_score(np.r_[np.ones(n), np.zeros(n)], np.r_[p, p], sample_weight=np.r_[p, 1 - p])
    return {
        "accuracy": float((tp + tn) / n), "precision": float(tp / (tp + fp)), "recall": float(tp / (tp + fn)),
        "f1": float(2 * tp / (2 * tp + fp + fn)), "rocAuc": float(auc),
        "accuracyLabelStdError": float(np.sqrt(np.sum(q * (1 - q))) / n),
        "accuracyTotalStdError": float(np.sqrt(np.mean(q) * (1 - np.mean(q)) / n)),
    }


def cbpe_fixture() -> dict:
    windows, n = 400, 1000
    realised = []
    for w in range(windows):
        p = probabilities(1000 + w, n)
        y = labels(5000 + w, p)
        yhat = (p >= 0.5).astype(np.int64)
        realised.append({
            "accuracy": float(accuracy_score(y, yhat)), "f1": float(f1_score(y, yhat)),
            "precision": float(precision_score(y, yhat)), "recall": float(recall_score(y, yhat)),
        })
    return {
        "windows": windows, "n": n, "probabilitySeed0": 1000, "labelSeed0": 5000, "positiveShare": POSITIVE_SHARE,
        "realised": realised, "population": population_metrics(),
        "numpyEstimates": {"window": 0, **cbpe_numpy(probabilities(1000, n))},
    }


# ---------------------------------------------------------------- isotonic calibration


def isotonic_case(name, scores, ys, test_points):
    model = IsotonicRegression(increasing=True, y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(scores, ys)
    return {
        "name": name, "scores": [float(s) for s in scores], "labels": [int(v) for v in ys],
        "x": model.X_thresholds_.tolist(), "y": model.y_thresholds_.tolist(),
        "testPoints": [float(t) for t in test_points], "predictions": model.predict(np.asarray(test_points, dtype=np.float64)).tolist(),
    }


def isotonic_generated(n: int, seed: int) -> dict:
    """An over-confident model: raw scores s ~ U(0, 1), rounded to 1/200 so ties occur as with real
    models, but the true P(y=1 | s) = 0.25 + 0.5 s. The model decides y_hat = 1[s >= 0.5]. Taking s
    as a probability, CBPE would expect accuracy 0.75; the truth is 0.625. Calibrated on a reference
    split, CBPE should land near the window's realised accuracy."""
    def rows(seed_s, seed_y, count):
        s = np.floor(mulberry32(seed_s, count) * 200.0) * 0.005
        return s, (mulberry32(seed_y, count) < 0.25 + 0.5 * s).astype(np.int64)
    s, y = rows(seed, seed + 1, n)
    model = IsotonicRegression(increasing=True, y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, y)
    tests = np.linspace(-0.1, 1.1, 61)
    window_s, window_y = rows(seed + 2, seed + 3, 2000)
    return {
        "n": n, "seed": seed, "x": model.X_thresholds_.tolist(), "y": model.y_thresholds_.tolist(),
        "testPoints": tests.tolist(), "predictions": model.predict(tests).tolist(),
        "window": {"n": 2000, "realisedAccuracy": float(accuracy_score(window_y, (window_s >= 0.5).astype(np.int64)))},
    }


# ---------------------------------------------------------------- multiple testing, quantiles, intervals


def multiple_testing_cases():
    rng = np.random.default_rng(7)
    cases = [
        ("hand", [0.01, 0.04, 0.03, 0.2, 0.5]),
        ("ties and extremes", [0.0, 0.02, 0.02, 0.02, 1.0, 0.7, 0.001]),
        ("single", [0.03]),
        ("forty features, three shifted", [*rng.uniform(size=37).tolist(), 1e-6, 2e-4, 0.004]),
    ]
    out = []
    for name, p in cases:
        arr = np.asarray(p, dtype=np.float64)
        out.append({
            "name": name, "pValues": [float(v) for v in arr],
            "bh": stats.false_discovery_control(arr, method="bh").tolist(),
            "holm": multipletests(arr, alpha=0.05, method="holm")[1].tolist(),
            "holmRejectedAt05": multipletests(arr, alpha=0.05, method="holm")[0].tolist(),
            "bhRejectedAt05": multipletests(arr, alpha=0.05, method="fdr_bh")[0].tolist(),
        })
    return out


def main() -> None:
    ps = [1e-300, 1e-20, 1e-10, 1e-5, 0.001, 0.01, 0.025, 0.05, 0.1, 0.3, 0.5, 0.6, 0.9, 0.975, 0.99, 0.995, 0.999999, 1 - 1e-12]
    wilson = [(3, 10, 0.95), (0, 50, 0.95), (50, 50, 0.99), (123, 1000, 0.95), (7.5, 40.25, 0.9)]
    fixture = {
        "versions": {"numpy": np.__version__, "scipy": scipy.__version__, "scikit-learn": sklearn.__version__, "statsmodels": statsmodels.__version__},
        "normalQuantile": {"p": ps, "ppf": stats.norm.ppf(ps).tolist()},
        "wilson": [{"successes": s, "n": n, "confidence": c, "interval": list(proportion_confint(s, n, alpha=1 - c, method="wilson"))} for s, n, c in wilson],
        "chi2ppf99": {str(k): float(stats.chi2.ppf(0.99, k)) for k in (4, 9, 19)},
        "multipleTesting": multiple_testing_cases(),
        "isotonic": {
            "cases": [
                isotonic_case("hand, with a violation and ties", [0.1, 0.2, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], [0, 1, 0, 0, 1, 0, 1, 1], [0.0, 0.15, 0.2, 0.35, 0.55, 0.7, 0.9]),
                isotonic_case("already monotone", [0.1, 0.4, 0.8], [0, 0, 1], [0.1, 0.25, 0.6, 1.0]),
                isotonic_case("all one label", [0.3, 0.1, 0.2], [1, 1, 1], [0.0, 0.15, 0.5]),
            ],
            "generated": isotonic_generated(5000, 321),
        },
        "cbpe": cbpe_fixture(),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
