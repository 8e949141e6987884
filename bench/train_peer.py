#!/usr/bin/env python3
"""Peer for bench/train.ts: scikit-learn's LogisticRegression on the same dataset directory,
with the same preprocessing idea as the built-in trainer (mean imputation + standardisation for
numerical columns, one-hot with missing/unknown in their own bucket for categorical ones) and the
same regularisation (l2 on the mean loss ⇔ C = 1 / (l2 · n)).

Usage: python3 bench/train_peer.py <dataset-dir> <features-json> <label> <l2>
Prints one JSON line: wall time (read + preprocess + fit + validation scoring), peak RSS, and
validation and holdout metrics.
"""
import json
import resource
import sys
import time

started = time.perf_counter()

import numpy as np  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from sklearn.compose import ColumnTransformer  # noqa: E402
from sklearn.impute import SimpleImputer  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.metrics import accuracy_score, roc_auc_score  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import OneHotEncoder, StandardScaler  # noqa: E402


def load(path, features, label):
    frame = pq.read_table(path, columns=[f["name"] for f in features] + [label]).to_pandas()
    for f in features:
        if f["type"] == "categorical":
            frame[f["name"]] = frame[f["name"]].fillna("__missing__")
    y = frame.pop(label).to_numpy()
    return frame, y


def main():
    dataset, features, label, l2 = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    numerical = [f["name"] for f in features if f["type"] == "numerical"]
    categorical = [f["name"] for f in features if f["type"] == "categorical"]
    x_train, y_train = load(f"{dataset}/train.parquet", features, label)
    x_val, y_val = load(f"{dataset}/validation.parquet", features, label)
    read_s = time.perf_counter() - started
    pre = ColumnTransformer(
        [
            ("num", Pipeline([("impute", SimpleImputer(strategy="mean")), ("scale", StandardScaler())]), numerical),
            ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    model = Pipeline([("pre", pre), ("clf", LogisticRegression(C=1.0 / (l2 * len(y_train)), max_iter=100))])
    fit_started = time.perf_counter()
    model.fit(x_train, y_train)
    fit_s = time.perf_counter() - fit_started
    val_proba = model.predict_proba(x_val)[:, 1]
    wall_s = time.perf_counter() - started

    x_hold, y_hold = load(f"{dataset}/holdout.parquet", features, label)
    hold_proba = model.predict_proba(x_hold)[:, 1]
    print(
        json.dumps(
            {
                "wall_s": wall_s,
                "read_s": read_s,
                "fit_s": fit_s,
                "n_iter": int(np.max(model.named_steps["clf"].n_iter_)),
                "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "validation": {"accuracy": accuracy_score(y_val, val_proba >= 0.5), "roc_auc": roc_auc_score(y_val, val_proba)},
                "holdout": {"accuracy": accuracy_score(y_hold, hold_proba >= 0.5), "roc_auc": roc_auc_score(y_hold, hold_proba)},
            }
        )
    )


if __name__ == "__main__":
    main()
