#!/usr/bin/env python3
"""A scikit-learn trainer for the `command` training backend (see docs/trainer-contract.md).

Reads the dataset snapshot's Parquet files, fits a HistGradientBoosting model behind a
ColumnTransformer (numerical columns pass through: the trees handle NaN natively; categorical
columns are one-hot encoded with unknown categories ignored), exports the whole pipeline to
ONNX with skl2onnx (one input per feature, as the contract requires) and writes metrics.json.

Usage: python3 train.py <request.json>
"""
import json
import math
import sys
import time

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    log_loss,
    mean_absolute_error,
    mean_squared_error,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from skl2onnx import to_onnx
from skl2onnx.common.data_types import FloatTensorType, StringTensorType


def progress(fraction, message, **metrics):
    """One JSON progress line on stdout; the backend turns it into a heartbeat."""
    line = {"progress": round(fraction, 4), "message": message}
    if metrics:
        line["metrics"] = metrics
    print(json.dumps(line), flush=True)


def load(path, features, label):
    columns = [f["name"] for f in features] + [label]
    frame = pq.read_table(path, columns=columns).to_pandas()
    for f in features:
        if f["type"] == "categorical":
            # The contract feeds a missing category as "" at scoring time; train the same way.
            frame[f["name"]] = frame[f["name"]].fillna("").astype(str)
        else:
            frame[f["name"]] = frame[f["name"]].astype("float64")
    y = frame.pop(label).to_numpy(dtype="float64")
    return frame, y


def main():
    request_path = sys.argv[-1]
    with open(request_path) as fh:
        req = json.load(fh)
    features, label, task = req["features"], req["label"]["name"], req["task"]
    params = req.get("params", {})
    seed = int(params.get("seed", 42))
    total_iter = int(params.get("max_iter", 100))
    steps = max(1, min(int(params.get("progress_steps", 5)), total_iter))

    started = time.time()
    x_train, y_train = load(req["trainPath"], features, label)
    x_val, y_val = load(req["validationPath"], features, label)
    progress(0.05, f"loaded {len(y_train)} training rows")

    numerical = [f["name"] for f in features if f["type"] == "numerical"]
    categorical = [f["name"] for f in features if f["type"] == "categorical"]
    pre = ColumnTransformer(
        [
            ("num", "passthrough", numerical),
            ("cat", OneHotEncoder(handle_unknown="ignore", sparse_output=False), categorical),
        ]
    )
    common = dict(
        learning_rate=float(params.get("learning_rate", 0.1)),
        max_leaf_nodes=int(params.get("max_leaf_nodes", 31)),
        random_state=seed,
        early_stopping=False,  # fixed iteration count: reproducible and honest progress
        warm_start=True,
    )
    if task == "binary_classification":
        model = HistGradientBoostingClassifier(**common)
    else:
        model = HistGradientBoostingRegressor(**common)

    xt = pre.fit_transform(x_train)
    # warm_start lets us grow the ensemble in steps and report progress between them.
    for step in range(1, steps + 1):
        model.max_iter = max(1, round(total_iter * step / steps))
        model.fit(xt, y_train)
        progress(0.05 + 0.8 * step / steps, f"boosting iteration {model.max_iter}/{total_iter}")

    pipe = Pipeline([("pre", pre), ("model", model)])
    metrics = {}
    if task == "binary_classification":
        proba = pipe.predict_proba(x_val)[:, 1]
        pred = (proba >= 0.5).astype("float64")
        metrics = {
            "accuracy": float(accuracy_score(y_val, pred)),
            "roc_auc": float(roc_auc_score(y_val, proba)) if len(set(y_val)) > 1 else float("nan"),
            "log_loss": float(log_loss(y_val, proba, labels=[0, 1])),
            "precision": float(precision_score(y_val, pred, zero_division=0)),
            "recall": float(recall_score(y_val, pred, zero_division=0)),
            "f1": float(f1_score(y_val, pred, zero_division=0)),
        }
    else:
        pred = pipe.predict(x_val)
        metrics = {
            "rmse": float(math.sqrt(mean_squared_error(y_val, pred))),
            "mae": float(mean_absolute_error(y_val, pred)),
        }
    metrics = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}

    initial_types = [
        (f["name"], FloatTensorType([None, 1]) if f["type"] == "numerical" else StringTensorType([None, 1]))
        for f in features
    ]
    options = {id(model): {"zipmap": False}} if task == "binary_classification" else None
    onx = to_onnx(pipe, initial_types=initial_types, options=options, target_opset={"": 17, "ai.onnx.ml": 3})
    out = req["outputDir"]
    with open(f"{out}/model.onnx", "wb") as fh:
        fh.write(onx.SerializeToString())
    with open(f"{out}/metrics.json", "w") as fh:
        json.dump(metrics, fh, indent=2)
    progress(1.0, "exported model.onnx", **{k: v for k, v in metrics.items() if v is not None})
    print(f"trained in {time.time() - started:.2f}s on {len(y_train)} rows", file=sys.stderr)


if __name__ == "__main__":
    main()
