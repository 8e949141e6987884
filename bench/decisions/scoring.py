#!/usr/bin/env python3
"""Scores a policy's alarms on one stream of bench/decisions (issue 13's metrics).

    python bench/decisions/scoring.py --meta OUT/<stream>/meta.json --alarms alarms.json [--checks checks.json]
    python bench/decisions/scoring.py --aggregate scored1.json scored2.json ...

Standard library only, so any python3 runs it (the peers' venv is not needed).

alarms.json is either
  * a list of check times at which the policy alarmed (would start a retrain): ISO 8601 strings
    ("2026-02-10T07:00:00Z") or epoch milliseconds; the checks are then the hourly schedule of
    meta.json (meta.checks: from, to, every), or
  * a list of {"checkTime": ..., "alarm": bool} records, one per check the policy evaluated; the
    checks are then exactly those records (a policy that runs daily is judged on its daily checks).
checks.json (optional) overrides the list of evaluated check times.

Definitions (all times UTC; a check at time t sees data strictly before t):
  needed drift     a drift of meta.drifts with costly = true (it costs >= 2 accuracy points:
                   champion accuracy over the 3 days after its start vs the 7 days before).
  detection        the first alarm in (start, start + 7 d] of a needed drift (cut at the next
                   needed drift's start); delay = alarm time - start, in hours. The check at the
                   start itself cannot have seen the drift and does not count.
  nothing-needed   the checks at or before the first needed drift's start; all checks on a
  checks           stream without a needed drift.
  false alarm      an alarm at a nothing-needed check. Alarms after the first needed drift's start
                   are never false: the benchmark never replaces the champion, so from then on it
                   does need retraining; those that are not the detection are counted as
                   `alarmsWhileNeeded` (repeats within the same drift, or late ones).
  false alarms per 100 checks
                   100 * false alarms / nothing-needed checks.
  pipelines        alarms at nothing-needed checks that would start a pipeline with a 1 d
                   cooldown (an alarm less than 24 h after the last started pipeline starts none).
  pipelines a month
                   pipelines * 30 / days spanned by the nothing-needed period (from the first
                   check to the first needed drift's start, or to the end of the checks).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
DETECTION_HORIZON_MS = 7 * DAY_MS
COOLDOWN_MS = DAY_MS


def to_ms(value: Any) -> int:
    """ISO 8601 string (Z or offset; naive = UTC), epoch milliseconds, or a datetime."""
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, (int, float)):
        return int(value)
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
        return int(round(dt.timestamp() * 1000))
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("Z") or text.endswith("z"):
            text = text[:-1] + "+00:00"
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        return int(round(dt.timestamp() * 1000))
    raise ValueError(f"not a time: {value!r}")


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_duration_ms(text: str) -> int:
    units = {"ms": 1, "s": 1000, "m": 60_000, "h": HOUR_MS, "d": DAY_MS}
    for suffix in ("ms", "s", "m", "h", "d"):
        if text.endswith(suffix):
            return int(float(text[: -len(suffix)]) * units[suffix])
    raise ValueError(f"not a duration: {text!r}")


def schedule(meta: dict) -> list[int]:
    """The hourly (meta.checks.every) check times of meta, first and last included."""
    c = meta["checks"]
    start, end, step = to_ms(c["from"]), to_ms(c["to"]), parse_duration_ms(c.get("every", "1h"))
    return list(range(start, end + 1, step))


def read_alarms(data: Any, meta: dict) -> tuple[list[int], list[int]]:
    """(alarm times, evaluated check times) from either accepted alarms.json shape."""
    if isinstance(data, dict) and "checks" in data:
        data = data["checks"]
    if not isinstance(data, list):
        raise ValueError("alarms must be a list of times or of {checkTime, alarm} records")
    if data and isinstance(data[0], dict):
        checks = sorted(to_ms(r["checkTime"]) for r in data)
        alarms = sorted(to_ms(r["checkTime"]) for r in data if r.get("alarm"))
        return alarms, checks
    return sorted(to_ms(t) for t in data), schedule(meta)


def score(meta: dict, alarms: Iterable[Any], checks: Iterable[Any] | None = None) -> dict:
    """Metrics of one policy on one stream. `alarms`: alarm check times; `checks`: the evaluated
    check times (default: meta's hourly schedule). Alarms that are not among the checks are
    scored anyway (and counted in `alarmsOffSchedule`)."""
    alarm_ms = sorted(set(to_ms(a) for a in alarms))
    check_ms = sorted(set(to_ms(c) for c in checks)) if checks is not None else schedule(meta)
    period_start = to_ms(meta["checks"]["from"])
    period_end = to_ms(meta["checks"]["to"]) + parse_duration_ms(meta["checks"].get("every", "1h"))

    needed = sorted((to_ms(d["start"]), d) for d in meta.get("drifts", []) if d.get("costly"))
    first_needed = needed[0][0] if needed else None

    def nothing_needed(t: int) -> bool:
        return first_needed is None or t <= first_needed

    drifts_out = []
    detection_times = set()
    for k, (start, d) in enumerate(needed):
        end = start + DETECTION_HORIZON_MS
        if k + 1 < len(needed):
            end = min(end, needed[k + 1][0])
        hit = next((a for a in alarm_ms if start < a <= end), None)
        if hit is not None:
            detection_times.add(hit)
        drifts_out.append({
            "start": iso(start), "kind": d.get("kind"), "costPoints": d.get("costPoints"),
            "detected": hit is not None, "detectedAt": iso(hit) if hit is not None else None,
            "delayHours": round((hit - start) / HOUR_MS, 2) if hit is not None else None,
        })
    delays = [d["delayHours"] for d in drifts_out if d["detected"]]

    nn_checks = [c for c in check_ms if nothing_needed(c)]
    false_alarms = [a for a in alarm_ms if nothing_needed(a)]
    pipelines, last = [], None
    for a in false_alarms:
        if last is None or a - last >= COOLDOWN_MS:
            pipelines.append(a)
            last = a
    span_end = min(first_needed, period_end) if first_needed is not None else period_end
    span_days = max(0.0, (span_end - period_start) / DAY_MS)
    check_set = set(check_ms)

    return {
        "stream": meta.get("stream"),
        "checks": len(check_ms),
        "alarms": len(alarm_ms),
        "alarmsOffSchedule": sum(1 for a in alarm_ms if a not in check_set),
        "needed": len(needed),
        "detected": len(delays),
        "delaysHours": delays,
        "medianDelayHours": statistics.median(delays) if delays else None,
        "drifts": drifts_out,
        "nothingNeededChecks": len(nn_checks),
        "falseAlarms": len(false_alarms),
        "falseAlarmsPer100Checks": round(100 * len(false_alarms) / len(nn_checks), 3) if nn_checks else None,
        "firstFalseAlarm": iso(false_alarms[0]) if false_alarms else None,
        "alarmsWhileNeeded": sum(1 for a in alarm_ms if not nothing_needed(a) and a not in detection_times),
        "pipelines": len(pipelines),
        "nothingNeededDays": round(span_days, 3),
        "pipelinesPerMonth": round(len(pipelines) * 30 / span_days, 2) if span_days > 0 else None,
        "stable": first_needed is None,
    }


def aggregate(results: list[dict]) -> dict:
    """Pooled metrics over streams scored by `score` (one policy): drifts detected / needed,
    median delay over all detected drifts, false alarms per 100 nothing-needed checks pooled
    (sum of false alarms / sum of nothing-needed checks), and pipelines a month on the streams
    without a needed drift (mean, min, max)."""
    delays = [h for r in results for h in r["delaysHours"]]
    nn = sum(r["nothingNeededChecks"] for r in results)
    fa = sum(r["falseAlarms"] for r in results)
    stable = [r["pipelinesPerMonth"] for r in results if r["stable"] and r["pipelinesPerMonth"] is not None]
    return {
        "streams": len(results),
        "needed": sum(r["needed"] for r in results),
        "detected": sum(r["detected"] for r in results),
        "medianDelayHours": statistics.median(delays) if delays else None,
        "nothingNeededChecks": nn,
        "falseAlarms": fa,
        "falseAlarmsPer100Checks": round(100 * fa / nn, 3) if nn else None,
        "stableStreams": len(stable),
        "pipelinesPerMonthStable": {"mean": round(sum(stable) / len(stable), 2), "min": min(stable), "max": max(stable)} if stable else None,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Score a policy's alarms on a bench/decisions stream; prints JSON.")
    ap.add_argument("--meta", help="the stream's meta.json")
    ap.add_argument("--alarms", help="alarms.json: alarm times, or {checkTime, alarm} records")
    ap.add_argument("--checks", help="optional checks.json: the evaluated check times")
    ap.add_argument("--aggregate", nargs="+", metavar="SCORED", help="pool outputs of this script (one policy, several streams)")
    args = ap.parse_args(argv)
    try:
        if args.aggregate:
            results = []
            for f in args.aggregate:
                data = json.loads(Path(f).read_text())
                results.extend(data if isinstance(data, list) else [data])
            out = aggregate(results)
        else:
            if not args.meta or not args.alarms:
                ap.error("--meta and --alarms are required (or --aggregate)")
            meta = json.loads(Path(args.meta).read_text())
            alarms, checks = read_alarms(json.loads(Path(args.alarms).read_text()), meta)
            if args.checks:
                listed = json.loads(Path(args.checks).read_text())
                checks = [c["checkTime"] if isinstance(c, dict) else c for c in listed]
            out = score(meta, alarms, checks)
    except (OSError, ValueError, KeyError, TypeError) as err:
        print(f"scoring.py: {err}", file=sys.stderr)
        return 2
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
