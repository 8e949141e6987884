#!/usr/bin/env python3
"""A small multiclass ONNX model under the trainer contract (docs/trainer-contract.md: one input per
feature, a float output "probabilities" shaped [N, k]), for the ONNX scorer's multiclass test:
scikit-learn's LogisticRegression on the trainer data of test/fixtures/multiclass-fixtures.json,
exported by skl2onnx. Writes test/fixtures/multiclass-model.onnx and, beside it,
multiclass-onnx.json with scikit-learn's own probabilities for the first holdout rows.

Usage (from the repository root), in the scikit-learn example trainer's environment
(examples/trainers/sklearn/requirements.txt, installed by its install.ts under .tools/sklearn-trainer):

    PYTHONPATH=.tools/sklearn-trainer python3 scripts/multiclass-fixtures/onnx_model.py
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "test" / "fixtures"

try:
    import numpy as np
    import pandas as pd
    import sklearn
    import skl2onnx
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
except ImportError as e:  # pragma: no cover
    sys.exit(f"multiclass ONNX fixture: {e}; install examples/trainers/sklearn/requirements.txt (see the docstring)")


def main() -> None:
    data = json.loads((FIXTURES / "multiclass-fixtures.json").read_text())["trainer"]
    columns, n_train = data["columns"], data["train"]
    frame = pd.DataFrame({name: columns[name] for name in ("x1", "x2", "x3", "region")})
    for name in ("x1", "x2", "x3"):
        frame[name] = frame[name].astype("float32")
    label = np.array(columns["label"])
    pre = ColumnTransformer([("num", StandardScaler(), ["x1", "x2", "x3"]), ("cat", OneHotEncoder(handle_unknown="ignore"), ["region"])])
    pipe = Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=1000))])
    pipe.fit(frame.iloc[:n_train], label[:n_train])
    rows = frame.iloc[n_train : n_train + 3]
    types = [(name, FloatTensorType([None, 1])) for name in ("x1", "x2", "x3")] + [("region", StringTensorType([None, 1]))]
    model = to_onnx(pipe, initial_types=types, options={id(pipe.steps[-1][1]): {"zipmap": False}}, target_opset={"": 17, "ai.onnx.ml": 3})
    (FIXTURES / "multiclass-model.onnx").write_bytes(model.SerializeToString())
    expected = {
        "generator": "scripts/multiclass-fixtures/onnx_model.py",
        "versions": {"scikit-learn": sklearn.__version__, "skl2onnx": skl2onnx.__version__},
        "rows": rows.astype({"x1": float, "x2": float, "x3": float}).to_dict(orient="records"),
        "probabilities": pipe.predict_proba(rows).tolist(),
    }
    (FIXTURES / "multiclass-onnx.json").write_text(json.dumps(expected, indent=1) + "\n")
    print("wrote test/fixtures/multiclass-model.onnx and multiclass-onnx.json")


if __name__ == "__main__":
    main()
