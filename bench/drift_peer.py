#!/usr/bin/env python3
"""numpy/scipy (and optionally Evidently) timings for bench/drift.ts on the same data.

Invoked by bench/drift.ts; prints one JSON object on stdout.

    python bench/drift_peer.py --data DIR --mode serve      (reads "<statistic> <index>" lines)
    python bench/drift_peer.py --data DIR --mode scipy --reps 3 --features 0,1,2,3,4
    python bench/drift_peer.py --data DIR --mode evidently

DIR holds meta.json plus raw little-endian columns written by the TypeScript side:
ref_num.f64 / cur_num.f64 (column-major float64, NaN = missing) and
ref_cat.u16 / cur_cat.u16 (column-major uint16 category codes, 65535 = missing).
Every timed statistic starts from the raw column, drops non-finite values
(as the TypeScript functions do) and computes the statistic; medians of `reps` runs.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


def load(data: Path):
    import numpy as np

    meta = json.loads((data / "meta.json").read_text())
    rows, nn, nc = meta["rows"], len(meta["numerical"]), len(meta["categorical"])
    ref_num = np.fromfile(data / "ref_num.f64", dtype="<f8").reshape(nn, rows)
    cur_num = np.fromfile(data / "cur_num.f64", dtype="<f8").reshape(nn, rows)
    ref_cat = np.fromfile(data / "ref_cat.u16", dtype="<u2").reshape(nc, rows)
    cur_cat = np.fromfile(data / "cur_cat.u16", dtype="<u2").reshape(nc, rows)
    return meta, ref_num, cur_num, ref_cat, cur_cat


def median_ms(fn, reps: int) -> tuple[float, float]:
    """Median wall-clock and process-CPU milliseconds over `reps` runs."""
    wall, cpu = [], []
    for _ in range(reps):
        c = time.process_time()
        t = time.perf_counter()
        fn()
        wall.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    wall.sort()
    cpu.sort()
    return wall[len(wall) // 2], cpu[len(cpu) // 2]


def mean_pair(pairs):
    pairs = list(pairs)
    return sum(p[0] for p in pairs) / len(pairs), sum(p[1] for p in pairs) / len(pairs)


def scipy_statistics(data: Path):
    """The timed statistics, each computed from the raw columns: name -> fn(index)."""
    import numpy as np
    from scipy import stats
    from scipy.spatial.distance import jensenshannon

    meta, ref_num, cur_num, ref_cat, cur_cat = load(data)

    def finite(x):
        return x[np.isfinite(x)]

    def psi(i, bins=10):
        r, c = finite(ref_num[i]), finite(cur_num[i])
        edges = np.percentile(r, np.linspace(0, 100, bins + 1))
        edges[0], edges[-1] = -np.inf, np.inf
        e = np.histogram(r, edges)[0] / len(r)
        a = np.histogram(c, edges)[0] / len(c)
        e = np.where(e == 0, 1e-10, e)
        a = np.where(a == 0, 1e-10, a)
        return float(np.sum((a - e) * np.log(a / e)))

    def ks(i):
        return float(stats.ks_2samp(finite(ref_num[i]), finite(cur_num[i])).pvalue)

    def wd(i):
        return float(stats.wasserstein_distance(finite(ref_num[i]), finite(cur_num[i])))

    # Category strings as the TypeScript side holds them (numpy unicode arrays).
    names = [np.array(cats + ["<missing>"], dtype=str) for cats in meta["categories"]]
    ref_str = [names[j][np.minimum(ref_cat[j], len(names[j]) - 1)] for j in range(len(names))]
    cur_str = [names[j][np.minimum(cur_cat[j], len(names[j]) - 1)] for j in range(len(names))]

    def js_strings(j):
        ru, rc = np.unique(ref_str[j][ref_str[j] != "<missing>"], return_counts=True)
        cu, cc = np.unique(cur_str[j][cur_str[j] != "<missing>"], return_counts=True)
        cats = np.union1d(ru, cu)
        p = np.zeros(len(cats))
        q = np.zeros(len(cats))
        p[np.searchsorted(cats, ru)] = rc
        q[np.searchsorted(cats, cu)] = cc
        return float(jensenshannon(p, q, base=2))

    def js_codes(j):
        k = len(meta["categories"][j])
        r = ref_cat[j][ref_cat[j] < k]
        c = cur_cat[j][cur_cat[j] < k]
        return float(jensenshannon(np.bincount(r, minlength=k), np.bincount(c, minlength=k), base=2))

    def report_equivalent(_):  # the statistics of compareToProfile's default report, from raw data
        for i in range(ref_num.shape[0]):
            psi(i)
        for j in range(len(meta["categorical"])):
            js_strings(j)

    return {"psi": psi, "ks": ks, "wasserstein": wd, "js_strings": js_strings, "js_codes": js_codes,
            "report_equivalent": report_equivalent}


def run_scipy(args) -> dict:
    """One-shot mode: medians over reps for each statistic."""
    import numpy as np
    import scipy

    fns = scipy_statistics(Path(args.data))
    feats = [int(f) for f in args.features.split(",")]
    res = {name: mean_pair(median_ms(lambda i=i: fns[name](i), args.reps) for i in feats)
           for name in ["psi", "ks", "wasserstein"]}
    for name in ["js_strings", "js_codes"]:
        res[name] = mean_pair(median_ms(lambda j=j: fns[name](j), args.reps) for j in range(5))
    res["report_equivalent"] = median_ms(lambda: fns["report_equivalent"](0), args.reps)
    return {"versions": {"numpy": np.__version__, "scipy": scipy.__version__, "python": sys.version.split()[0]},
            "ms": {k: v[0] for k, v in res.items()}, "cpu": {k: v[1] for k, v in res.items()}}


def serve(args) -> None:
    """Line protocol for interleaved timing: "<statistic> <index>" -> {"wall": ms, "cpu": ms}."""
    import numpy as np
    import scipy

    fns = scipy_statistics(Path(args.data))
    print(json.dumps({"ready": True, "versions": {"numpy": np.__version__, "scipy": scipy.__version__,
                                                  "python": sys.version.split()[0]}}), flush=True)
    for line in sys.stdin:
        parts = line.split()
        if not parts or parts[0] == "quit":
            break
        fn, idx = fns[parts[0]], int(parts[1])
        c = time.process_time()
        t = time.perf_counter()
        fn(idx)
        wall = (time.perf_counter() - t) * 1000
        print(json.dumps({"wall": wall, "cpu": (time.process_time() - c) * 1000}), flush=True)


def run_evidently(args) -> dict:
    import numpy as np
    import pandas as pd
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    meta, ref_num, cur_num, ref_cat, cur_cat = load(Path(args.data))

    def frame(num, cat):
        d = {name: num[i] for i, name in enumerate(meta["numerical"])}
        for j, name in enumerate(meta["categorical"]):
            names = np.array(meta["categories"][j] + [None], dtype=object)
            d[name] = names[np.minimum(cat[j], len(names) - 1)]
        return pd.DataFrame(d)

    ref, cur = frame(ref_num, ref_cat), frame(cur_num, cur_cat)
    dd = DataDefinition(numerical_columns=meta["numerical"], categorical_columns=meta["categorical"])
    r = Dataset.from_pandas(ref, data_definition=dd)
    c = Dataset.from_pandas(cur, data_definition=dd)
    cpu = time.process_time()
    t = time.perf_counter()
    result = Report([DataDriftPreset()]).run(c, r)
    ms = (time.perf_counter() - t) * 1000
    cpu = (time.process_time() - cpu) * 1000
    drifted = None
    try:
        drifted = result.dict()["metrics"][0]["value"]
        drifted = {k: float(v) for k, v in drifted.items()}
    except Exception:  # the summary shape is informational only
        pass
    return {"versions": {"evidently": evidently.__version__, "pandas": pd.__version__, "numpy": np.__version__},
            "ms": {"data_drift_preset": ms}, "cpu": {"data_drift_preset": cpu}, "drifted": drifted}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--mode", choices=["scipy", "serve", "evidently"], default="scipy")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--features", default="0,1,2,3,4")
    args = ap.parse_args()
    try:
        if args.mode == "serve":
            serve(args)
            return
        out = run_scipy(args) if args.mode == "scipy" else run_evidently(args)
    except ImportError as e:
        out = {"unavailable": f"{type(e).__name__}: {e}"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
