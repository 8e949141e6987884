#!/usr/bin/env python3
"""Expected values for multiclass classification (issue 18 item 7), from scikit-learn: the metrics
(accuracy, macro F1, log loss) on fixed predictions, and the built-in softmax trainer's holdout
metrics against LogisticRegression (multinomial, L-BFGS) with the same penalty on the same
preprocessing. Writes test/fixtures/multiclass-fixtures.json; deterministic for the pinned versions.

Usage (from the repository root; .tools/ is git-ignored; the same environment as the decision fixtures):

    python3 -m venv .tools/pyenv
    .tools/pyenv/bin/pip install -r scripts/decision-fixtures/requirements.txt
    .tools/pyenv/bin/python scripts/multiclass-fixtures/generate.py

The trainer's data is stored in the fixture (3 000 rows), so the test needs no Python.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
OUT = ROOT / "test" / "fixtures" / "multiclass-fixtures.json"

try:
    import numpy as np
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score, log_loss
except ImportError as e:  # pragma: no cover
    sys.exit(f"multiclass fixtures: {e}; install scripts/decision-fixtures/requirements.txt (see the docstring)")


def metric_case(name: str, y_true: np.ndarray, proba: np.ndarray) -> dict:
    k = proba.shape[1]
    y_pred = proba.argmax(axis=1)
    return {
        "name": name,
        "classes": k,
        "yTrue": y_true.tolist(),
        "yPred": y_pred.tolist(),
        "probabilities": proba.ravel().tolist(),
        "expected": {
            "accuracy": float(accuracy_score(y_true, y_pred)),
            # sklearn's default: the mean over the labels present in y_true or y_pred.
            "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
            "log_loss": float(log_loss(y_true, proba, labels=list(range(k)))),
        },
    }


def metric_cases() -> list[dict]:
    rng = np.random.default_rng(20261130)
    cases = []
    # 1. Four classes, Dirichlet probabilities, labels drawn from them (a calibrated model).
    p = rng.dirichlet([1.0, 1.0, 1.0, 1.0], size=300)
    y = np.array([rng.choice(4, p=row) for row in p])
    cases.append(metric_case("four classes, calibrated", y, p))
    # 2. Five classes; class 3 is neither a label nor a prediction, class 4 is predicted but never a label.
    p = rng.dirichlet([2.0, 2.0, 2.0, 0.01, 1.0], size=60)
    p[:, 3] = 0.0
    p = p / p.sum(axis=1, keepdims=True)
    y = rng.choice([0, 1, 2], size=60)
    cases.append(metric_case("five classes, two absent from the labels", y, p))
    # 3. Hard probabilities: 0 and 1 exactly (log loss clips to machine epsilon).
    p = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])
    y = np.array([0, 1, 0, 2, 1])
    cases.append(metric_case("hard probabilities, clipped", y, p))
    return cases


def trainer_case() -> dict:
    rng = np.random.default_rng(7)
    n_train, n_holdout, k = 2400, 600, 4
    n = n_train + n_holdout
    x = rng.normal(size=(n, 3)) * np.array([2.0, 1.0, 0.5]) + np.array([5.0, -1.0, 0.0])
    regions = np.array(["north", "south", "east"])
    region = regions[rng.integers(0, 3, size=n)]
    coef = np.array([[1.0, -0.5, 0.0], [-1.0, 0.8, 0.5], [0.3, 0.3, -1.2], [0.0, -0.6, 0.7]])
    effect = {"north": np.array([0.5, 0.0, -0.5, 0.0]), "south": np.array([-0.5, 0.5, 0.0, 0.0]), "east": np.array([0.0, 0.0, 0.5, -0.5])}
    z = (x - x.mean(axis=0)) / x.std(axis=0) @ coef.T + np.stack([effect[r] for r in region]) + np.array([0.2, 0.0, -0.2, 0.1])
    prob = np.exp(z - z.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    label = np.array([rng.choice(k, p=row) for row in prob])
    x = np.round(x, 4)

    # The built-in trainer's preprocessing: numerical standardised by the training split's mean and
    # population std; categorical one-hot over the training vocabulary plus an unknown bucket.
    train, holdout = slice(0, n_train), slice(n_train, n)
    mean, std = x[train].mean(axis=0), x[train].std(axis=0)
    vocabulary = sorted(set(region[train]))

    def design(rows: slice) -> np.ndarray:
        num = (x[rows] - mean) / std
        onehot = np.array([[1.0 if r == v else 0.0 for v in vocabulary] + [0.0] for r in region[rows]])
        return np.hstack([num, onehot])

    l2 = 1e-3
    # Built-in objective: mean cross-entropy + l2/2 ‖W‖²; sklearn's: C · Σ cross-entropy + ½ ‖W‖².
    model = LogisticRegression(C=1.0 / (l2 * n_train), tol=1e-12, max_iter=100_000)
    model.fit(design(train), label[train])
    proba = model.predict_proba(design(holdout))
    pred = proba.argmax(axis=1)
    y = label[holdout]
    return {
        "classes": ["alpha", "beta", "gamma", "delta"],
        "l2": l2,
        # Column by column, training rows first.
        "columns": {"x1": x[:, 0].tolist(), "x2": x[:, 1].tolist(), "x3": x[:, 2].tolist(), "region": region.tolist(), "label": label.tolist()},
        "train": n_train,
        "expected": {
            "accuracy": float(accuracy_score(y, pred)),
            "macro_f1": float(f1_score(y, pred, average="macro", zero_division=0)),
            "log_loss": float(log_loss(y, proba, labels=list(range(k)))),
            "firstProbabilities": proba[:3].tolist(),
        },
    }


def main() -> None:
    out = {
        "generator": "scripts/multiclass-fixtures/generate.py",
        "versions": {"numpy": np.__version__, "scikit-learn": sklearn.__version__},
        "metrics": metric_cases(),
        "trainer": trainer_case(),
    }
    OUT.write_text(json.dumps(out, separators=(",", ":")) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(out['metrics'])} metric cases, {len(out['trainer']['columns']['label'])} trainer rows")


if __name__ == "__main__":
    main()
