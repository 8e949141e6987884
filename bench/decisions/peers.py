#!/usr/bin/env python3
"""The peers of `npm run bench:decisions` on the streams of streams.py: river's ADWIN and DDM on
the champion's matured error stream, and Evidently's default data-drift preset.

    .tools/peers-venv/bin/python bench/decisions/peers.py [OUT] [--only NAME,...] [--jobs 2]
        [--evidently-every 24] [--evidently-verify 1] [--evidently-full]

Reads OUT/<stream>/ (written by streams.py) and writes
    OUT/<stream>/peers/<peer>.json   one record per evaluated check: {checkTime, alarm, ...}
                                     (feed it to scoring.py --alarms as it is)
    OUT/peers-summary.json           scores per stream and peer (scoring.py), pooled per peer,
                                     Evidently's timings and the fast/full-report cross-check
and prints the table.

Checks: hourly, from day 31 00:00 to day 60 23:00 UTC (meta.checks: 720). A check at t sees
only what exists before t.

ADWIN (river.drift.ADWIN(), delta 0.002) and DDM (river.drift.binary.DDM(), defaults) are fed,
in prediction-time order, the champion's 0/1 errors (1 = wrong) of the predictions whose label
had arrived by t (label_ts <= t) and that were not fed before: with label.delay 1d, the
predictions up to t - 1 day. A detection while feeding a check's batch is an alarm at that
check; the detector is then replaced by a fresh one (as a retrain would restart it) that takes
the rest of the batch. One check raises at most one alarm.

Evidently: DataDriftPreset() with its defaults (dataset drift when at least half the columns
drift; per column the test Evidently picks: Wasserstein distance (normed, 0.1) for numerical
columns with more than 5 values, Jensen-Shannon (0.1) for categorical or <= 5-valued ones, given
a reference of more than 1,000 rows), reference = the training rows (days 1-30, features only),
current = the predictions of the last 24 h. A full report (plots included) takes seconds on this
machine, so it runs every --evidently-every checks (default 24: daily at 00:00, the first check
with a full 24 h of served predictions being day 32 00:00), and the decision is computed with
Evidently's own column tests and rule (the stattest Evidently's registry picks per column, its
default threshold, share >= 0.5) without building the report's plots. On --evidently-verify
checks per stream (default 1: the check with the most drifted columns; more add the first and
evenly spread ones) the full Report([DataDriftPreset()]) is run too; its drifted-column count and
verdict must equal the fast path's (the run stops otherwise), and its time is the "one report"
figure. --evidently-full runs the full report at every Evidently check instead.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
import scoring  # noqa: E402

HOUR_MS = scoring.HOUR_MS
DAY_MS = scoring.DAY_MS
WINDOW_MS = DAY_MS
PEERS = ("adwin", "ddm", "evidently")


def to_epoch_ms(series: pd.Series) -> np.ndarray:
    return series.dt.tz_convert("UTC").dt.tz_localize(None).astype("datetime64[ms]").astype("int64").to_numpy()


# ----------------------------------------------------------------------------- river detectors


def make_detector(name: str):
    from river import drift

    if name == "adwin":
        return drift.ADWIN(delta=0.002)
    if name == "ddm":
        return drift.binary.DDM()
    raise ValueError(name)


def run_error_detector(name: str, checks: list[int], pred_ts: np.ndarray, label_ts: np.ndarray, errors: np.ndarray) -> tuple[list[dict], dict]:
    """One record per check. Predictions are fed once, when their label has arrived (label_ts <= t),
    each check's new arrivals in prediction-time order."""
    order = np.lexsort((pred_ts, label_ts))  # by arrival, then prediction time
    arrival = label_ts[order]
    detector = make_detector(name)
    fed_total, resets, records = 0, 0, []
    cursor = 0
    for t in checks:
        upto = int(np.searchsorted(arrival, t, side="right"))
        batch = order[cursor:upto]
        cursor = upto
        if len(batch) > 1:
            batch = batch[np.argsort(pred_ts[batch], kind="stable")]
        alarm = False
        for e in errors[batch]:
            detector.update(bool(e) if name == "ddm" else float(e))
            if detector.drift_detected:
                alarm = True
                resets += 1
                detector = make_detector(name)
        fed_total += len(batch)
        records.append({"checkTime": scoring.iso(t), "alarm": alarm, "fed": len(batch), "fedTotal": fed_total})
    return records, {"resets": resets, "fed": fed_total}


# ----------------------------------------------------------------------------- Evidently


class EvidentlyPeer:
    def __init__(self, reference: pd.DataFrame, features: list[dict]):
        from evidently.legacy.core import ColumnType

        self.names = [f["name"] for f in features]
        self.types = {f["name"]: (ColumnType.Numerical if f["type"] == "numerical" else ColumnType.Categorical) for f in features}
        self.num = [f["name"] for f in features if f["type"] == "numerical"]
        self.cat = [f["name"] for f in features if f["type"] == "categorical"]
        self.reference = reference[self.names].reset_index(drop=True)
        # The same cleaning as evidently.legacy.calculations.data_drift.get_one_column_drift.
        self.ref_clean = {n: self.reference[n].replace([-np.inf, np.inf], np.nan).dropna() for n in self.names}
        self._ref_dataset = None

    def decide(self, current: pd.DataFrame) -> dict:
        """Evidently's default dataset-drift decision from its own per-column tests."""
        from evidently.legacy.calculations.stattests.registry import get_stattest

        drifted, columns = 0, {}
        for n in self.names:
            ref = self.ref_clean[n]
            cur = current[n].replace([-np.inf, np.inf], np.nan).dropna()
            test = get_stattest(ref, cur, self.types[n], None)
            r = test(ref, cur, self.types[n], None)
            drifted += int(bool(r.drifted))
            columns[n] = {"test": test.name, "score": round(float(r.drift_score), 5), "drifted": bool(r.drifted)}
        share = drifted / len(self.names)
        return {"alarm": bool(share >= 0.5), "driftedColumns": drifted, "share": round(share, 4), "columns": columns}

    def full_report(self, current: pd.DataFrame) -> dict:
        """Report([DataDriftPreset()]) as a user runs it; its DriftedColumnsCount value."""
        from evidently import DataDefinition, Dataset, Report
        from evidently.presets import DataDriftPreset

        definition = DataDefinition(numerical_columns=self.num, categorical_columns=self.cat)
        if self._ref_dataset is None:
            self._ref_dataset = Dataset.from_pandas(self.reference, data_definition=definition)
        t0 = time.perf_counter()
        cur = Dataset.from_pandas(current[self.names].reset_index(drop=True), data_definition=definition)
        snapshot = Report([DataDriftPreset()]).run(cur, self._ref_dataset)
        seconds = time.perf_counter() - t0
        metric = snapshot.dict()["metrics"][0]
        value = metric["value"]
        drift_share = float(metric.get("config", {}).get("drift_share", 0.5))
        return {"alarm": bool(float(value["share"]) >= drift_share), "driftedColumns": int(round(float(value["count"]))),
                "share": round(float(value["share"]), 4), "seconds": round(seconds, 3), "metric": metric.get("metric_name")}


def run_evidently(peer: EvidentlyPeer, checks: list[int], pred_ts: np.ndarray, served: pd.DataFrame, served_from: int,
                  every: int, verify: int, full: bool) -> tuple[list[dict], dict]:
    records, fast_seconds, report_seconds = [], [], []
    windows = {}
    for i, t in enumerate(checks):
        if i % every != 0 or t - WINDOW_MS < served_from:
            continue  # not an Evidently check, or the window would not hold 24 h of served predictions
        lo, hi = np.searchsorted(pred_ts, t - WINDOW_MS, side="left"), np.searchsorted(pred_ts, t, side="left")
        current = served.iloc[lo:hi]
        windows[t] = (lo, hi)
        t0 = time.perf_counter()
        if full:
            d = peer.full_report(current)
            report_seconds.append(d["seconds"])
        else:
            d = peer.decide(current)
        fast_seconds.append(time.perf_counter() - t0)
        records.append({"checkTime": scoring.iso(t), "alarm": d["alarm"], "driftedColumns": d["driftedColumns"], "share": d["share"],
                        "rows": int(hi - lo), **({"columns": d["columns"]} if "columns" in d else {})})

    cross = []
    if not full and verify > 0 and records:
        # The most-drifted check (latest on ties), then the first, then evenly spread ones.
        ranked = sorted(range(len(records)), key=lambda k: (records[k]["driftedColumns"], k), reverse=True)
        picks = [ranked[0]] + [k for k in [0] + list(np.linspace(0, len(records) - 1, verify).astype(int)) if k != ranked[0]]
        seen = []
        for k in picks:
            if k not in seen:
                seen.append(k)
            if len(seen) == verify:
                break
        for k in seen:
            t = scoring.to_ms(records[k]["checkTime"])
            lo, hi = windows[t]
            full_d = peer.full_report(served.iloc[lo:hi])
            report_seconds.append(full_d["seconds"])
            same = full_d["driftedColumns"] == records[k]["driftedColumns"] and full_d["alarm"] == records[k]["alarm"]
            cross.append({"checkTime": records[k]["checkTime"], "fast": {"driftedColumns": records[k]["driftedColumns"], "alarm": records[k]["alarm"]},
                          "fullReport": {"driftedColumns": full_d["driftedColumns"], "alarm": full_d["alarm"]}, "same": same,
                          "reportSeconds": full_d["seconds"]})
            if not same:
                raise RuntimeError(f"Evidently fast path and full report disagree at {records[k]['checkTime']}: {cross[-1]}")
    info = {
        "every": every, "checks": len(records), "mode": "full report" if full else "Evidently's column tests (no plots)",
        "decisionSecondsMean": round(float(np.mean(fast_seconds)), 3) if fast_seconds else None,
        "fullReportSeconds": [round(s, 3) for s in report_seconds],
        "crossCheck": cross,
    }
    return records, info


# ----------------------------------------------------------------------------- one stream


def run_stream(args: tuple) -> dict:
    folder, every, verify, full = args
    warnings.filterwarnings("ignore")
    t_start = time.perf_counter()
    meta = json.loads((folder / "meta.json").read_text())
    names = [f["name"] for f in meta["features"]]
    preds = pd.read_parquet(folder / "predictions.parquet")
    labels = pd.read_parquet(folder / "labels.parquet")
    training = pd.read_parquet(folder / "training.parquet", columns=names)
    joined = preds[["request_id", "ts", "prediction"]].merge(labels, on="request_id", how="inner", validate="one_to_one")
    if len(joined) != len(preds):
        raise RuntimeError(f"{meta['stream']}: {len(preds) - len(joined)} predictions have no label")
    pred_ts = to_epoch_ms(joined["ts"])
    label_ts = to_epoch_ms(joined["label_ts"])
    errors = (joined["prediction"].to_numpy() != joined["label"].to_numpy()).astype(np.int8)
    checks = scoring.schedule(meta)

    out_dir = folder / "peers"
    out_dir.mkdir(exist_ok=True)
    result = {"stream": meta["stream"], "expect": meta["expect"], "peers": {}, "info": {}}
    timings = {}
    for peer in ("adwin", "ddm"):
        t0 = time.perf_counter()
        records, info = run_error_detector(peer, checks, pred_ts, label_ts, errors)
        timings[peer] = round(time.perf_counter() - t0, 2)
        (out_dir / f"{peer}.json").write_text(json.dumps(records, indent=1) + "\n")
        alarms, evaluated = scoring.read_alarms(records, meta)
        result["peers"][peer] = scoring.score(meta, alarms, evaluated)
        result["info"][peer] = info

    t0 = time.perf_counter()
    served_ts = to_epoch_ms(preds["ts"])
    if np.any(np.diff(served_ts) < 0):
        order = np.argsort(served_ts, kind="stable")
        preds, served_ts = preds.iloc[order].reset_index(drop=True), served_ts[order]
    peer = EvidentlyPeer(training, meta["features"])
    records, info = run_evidently(peer, checks, served_ts, preds[names], scoring.to_ms(meta["calendar"]["servedFrom"]), every, verify, full)
    timings["evidently"] = round(time.perf_counter() - t0, 2)
    (out_dir / "evidently.json").write_text(json.dumps(records, indent=1) + "\n")
    alarms, evaluated = scoring.read_alarms(records, meta)
    result["peers"]["evidently"] = scoring.score(meta, alarms, evaluated)
    result["info"]["evidently"] = info
    result["seconds"] = {**timings, "total": round(time.perf_counter() - t_start, 2)}
    return result


# ----------------------------------------------------------------------------- table


def fmt_delay(h) -> str:
    return "—" if h is None else f"{h:.0f}"


def fmt_rate(r) -> str:
    return "—" if r is None else f"{r:.1f}"


def table(results: list[dict], pooled: dict) -> str:
    head = f"{'stream':24s} {'peer':10s} {'detected':>9s} {'delay h':>8s} {'FA/100':>7s} {'pipes/mo':>9s} {'checks':>7s} {'alarms':>7s}"
    lines = [head, "-" * len(head)]
    for r in results:
        for p in PEERS:
            s = r["peers"][p]
            lines.append(f"{r['stream']:24s} {p:10s} {str(s['detected']) + '/' + str(s['needed']):>9s} {fmt_delay(s['medianDelayHours']):>8s} "
                         f"{fmt_rate(s['falseAlarmsPer100Checks']):>7s} {fmt_rate(s['pipelinesPerMonth']):>9s} {s['checks']:>7d} {s['alarms']:>7d}")
    lines.append("-" * len(head))
    for p in PEERS:
        a = pooled[p]
        pm = a["pipelinesPerMonthStable"]
        pm_text = "—" if pm is None else (f"{pm['min']:g}" if pm["min"] == pm["max"] else f"{pm['min']:g}–{pm['max']:g}")
        lines.append(f"{'all streams':24s} {p:10s} {str(a['detected']) + '/' + str(a['needed']):>9s} {fmt_delay(a['medianDelayHours']):>8s} "
                     f"{fmt_rate(a['falseAlarmsPer100Checks']):>7s} {pm_text:>9s}")
    return "\n".join(lines)


def versions() -> dict:
    import evidently
    import river

    return {"python": sys.version.split()[0], "river": river.__version__, "evidently": evidently.__version__, "pandas": pd.__version__, "numpy": np.__version__}


def main() -> None:
    ap = argparse.ArgumentParser(description="river ADWIN/DDM and Evidently on the bench/decisions streams")
    ap.add_argument("out", nargs="?", default=str(Path(__file__).resolve().parent / ".out"))
    ap.add_argument("--only", default="")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--evidently-every", type=int, default=24, help="run Evidently at every N-th hourly check (default 24: daily)")
    ap.add_argument("--evidently-verify", type=int, default=1, help="checks per stream also run as a full Evidently report and compared (default 1: the most-drifted one)")
    ap.add_argument("--evidently-full", action="store_true", help="run the full Evidently report at every Evidently check (slow)")
    ap.add_argument("--json", action="store_true", help="print the summary JSON instead of the table")
    args = ap.parse_args()
    out = Path(args.out)
    index = out / "streams.json"
    if not index.exists():
        sys.exit(f"{index} not found: run streams.py first")
    names = [s["stream"] for s in json.loads(index.read_text())["streams"]]
    only = {s for s in args.only.split(",") if s}
    if only - set(names):
        sys.exit(f"unknown stream(s): {', '.join(sorted(only - set(names)))}")
    todo = [n for n in names if not only or n in only]

    t0 = time.perf_counter()
    jobs = [(out / n, args.evidently_every, args.evidently_verify, args.evidently_full) for n in todo]
    if args.jobs > 1 and len(jobs) > 1:
        with get_context("spawn").Pool(min(args.jobs, len(jobs))) as pool:
            results = pool.map(run_stream, jobs, chunksize=1)
    else:
        results = [run_stream(j) for j in jobs]
    elapsed = time.perf_counter() - t0

    pooled = {p: scoring.aggregate([r["peers"][p] for r in results]) for p in PEERS}
    reports = [s for r in results for s in r["info"]["evidently"]["fullReportSeconds"]]
    summary = {
        "versions": versions(),
        "settings": {"adwin": "river.drift.ADWIN(delta=0.002)", "ddm": "river.drift.binary.DDM() (warm_start 30, thresholds 2 / 3)",
                     "evidently": f"DataDriftPreset() defaults, reference = training days 1-30, current = last 24 h, every {args.evidently_every} checks"
                                  + (" (full report)" if args.evidently_full else " (Evidently's column tests, cross-checked against the full report)")},
        "streams": results,
        "pooled": pooled,
        "timing": {"seconds": round(elapsed, 1), "jobs": args.jobs,
                   "evidentlyFullReportSeconds": {"n": len(reports), "median": round(float(np.median(reports)), 2) if reports else None,
                                                  "min": round(min(reports), 2) if reports else None, "max": round(max(reports), 2) if reports else None},
                   "evidentlyDecisionSecondsMean": round(float(np.mean([r["info"]["evidently"]["decisionSecondsMean"] for r in results if r["info"]["evidently"]["decisionSecondsMean"] is not None])), 3)},
    }
    if not only:
        (out / "peers-summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    if args.json:
        print(json.dumps(summary, indent=1))
        return
    print(table(results, pooled))
    t = summary["timing"]
    fr = t["evidentlyFullReportSeconds"]
    print(f"\n{len(results)} stream(s) in {t['seconds']:.1f} s with {args.jobs} job(s); Evidently: decision {t['evidentlyDecisionSecondsMean']:.3f} s per check, "
          f"full report {fr['median']} s median ({fr['min']}–{fr['max']} s, n={fr['n']})" if fr["n"] else "")
    print("detected = needed drifts (cost >= 2 accuracy points) alarmed within 7 d; delay h = median hours from drift start to that alarm; "
          "FA/100 = false alarms per 100 checks where nothing needed retraining; pipes/mo = pipelines a month there (1 d cooldown).")


if __name__ == "__main__":
    main()
