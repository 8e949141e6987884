#!/usr/bin/env python3
"""river's online logistic regression on the bench:learning streams: the peer (issue 19, item 4).

    .tools/peers-venv/bin/python bench/learning/peer.py [OUT] [--only NAME[,NAME...]]

As a river user would build it: StandardScaler on the numerical features, OneHotEncoder on the
categorical ones, LogisticRegression() with river's defaults (SGD, lr 0.01). It learns the
champion's training rows once (learn_one, in order), then runs prequentially over the served rows:
predict_one, then learn_one with the label (label delay 0, as the product's arms). Writes
OUT/<stream>/peer.json: one 0/1 per served row (right or wrong), the CPU seconds of the warm-up and
of the served rows (time.process_time, the loop only: reading the Parquet file is not counted), and
prints the accuracy per 10,000 served rows.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import pyarrow.parquet as pq


def model_for(features: list[dict]):
    from river import compose, linear_model, preprocessing

    num = [f["name"] for f in features if f["type"] == "numerical"]
    cat = [f["name"] for f in features if f["type"] == "categorical"]
    parts = []
    if num:
        parts.append(compose.Select(*num) | preprocessing.StandardScaler())
    if cat:
        parts.append(compose.Select(*cat) | preprocessing.OneHotEncoder())
    prep = parts[0] if len(parts) == 1 else compose.TransformerUnion(*parts)
    return prep | linear_model.LogisticRegression()


def run(folder: Path) -> dict:
    meta = json.loads((folder / "meta.json").read_text())
    table = pq.read_table(folder / "rows.parquet")
    names = [f["name"] for f in meta["features"]]
    columns = {n: table.column(n).to_pylist() for n in names}
    labels = [v == 1.0 for v in table.column("label").to_pylist()]
    rows = [{n: columns[n][i] for n in names} for i in range(len(labels))]
    model = model_for(meta["features"])
    n_train = meta["trainRows"]

    t0 = time.process_time()
    for i in range(n_train):
        model.learn_one(rows[i], labels[i])
    warmup = time.process_time() - t0

    correct = bytearray(len(labels) - n_train)
    t0 = time.process_time()
    for i in range(n_train, len(labels)):
        x, y = rows[i], labels[i]
        correct[i - n_train] = 1 if model.predict_one(x) == y else 0
        model.learn_one(x, y)
    served = time.process_time() - t0

    result = {
        "peer": "river LogisticRegression (StandardScaler / OneHotEncoder pipeline, river defaults)",
        "correct": "".join("1" if c else "0" for c in correct),
        "cpuSecondsWarmup": round(warmup, 3),
        "cpuSecondsServed": round(served, 3),
        "learnedRows": len(labels),
    }
    (folder / "peer.json").write_text(json.dumps(result) + "\n")
    windows = [sum(correct[k:k + 10_000]) / len(correct[k:k + 10_000]) for k in range(0, len(correct), 10_000)]
    print(f"{meta['stream']:20s} river LR accuracy {sum(correct) / len(correct):.4f}; per 10,000 served rows "
          f"{' '.join(f'{w:.3f}' for w in windows)}; CPU {warmup:.2f} s warm-up + {served:.2f} s served", flush=True)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", nargs="?", default=str(Path(__file__).resolve().parent / ".out"))
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    out = Path(args.out)
    only = {s for s in args.only.split(",") if s}
    streams = json.loads((out / "streams.json").read_text())["streams"]
    for s in streams:
        if not only or s["stream"] in only:
            run(out / s["stream"])


if __name__ == "__main__":
    main()
