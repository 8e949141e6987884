/**
 * Monitor load: N models (default 200) with hourly monitor schedules on ONE worker against the
 * dev server, small windows. How long does a full round of checks take, and how much memory does
 * the worker need?
 *
 *   npx tsx bench/monitor-load.ts [--models 200] [--rounds 2] [--concurrency 100] [--round-timeout 1200]
 *                                 [--in-memory-server]   (diagnosis: the server's SQLite in memory, not in a file)
 *
 * Setup (all in a temp dir, deleted at the end, also on failure or Ctrl-C):
 *   - a fresh dev server (startDevServer: persistent SQLite in the temp dir, no UI);
 *   - N copies of the fraud model (bench-mon-000 ...), production time profile, label delay 1h,
 *     monitor window 2h, drift minSamples 200 and performance minLabels 200, cooldown 24h, and an
 *     hourly cron monitor (`M * * * *` with M half an hour away, so no natural run lands inside
 *     the bench). Model 000 gets its champion from the demo's seedChampion (14-day generated
 *     history, built-in trainer, reference profile); the others register the same artifact,
 *     metrics and reference profile as their v1 and promote it (the registry takes any artifact
 *     URI under any model name);
 *   - recent traffic per model: 600 predictions over the last 3 h scored by that champion, and
 *     labels arriving 5 min after each prediction (those older than the 1 h delay are matured).
 *     Every 4th model's traffic is drifted (the simulator's sudden drift on amount, distance,
 *     merchant and device);
 *   - `retrain apply`'s code (desiredSchedules + reconcileSchedules) creates the N schedules;
 *   - ONE real worker process: `src/cli/main.ts worker` (createWorkers + buildActivities on
 *     openBackends), pointed at the dev server and the temp data dir.
 *
 * Why no pipeline starts: every check runs in full (drift on ~400 rows, performance on ~250
 * matured labels, label shift, volume, age), and the drifted models do fire their drift trigger,
 * but the cooldown (24 h, counted from the seed's promotion) holds them back: the monitor records
 * "cooldown" and starts nothing. So the bench measures checks and trigger decisions, not 50
 * trainings; the count of started pipelines is printed and must be 0.
 *
 * A round: trigger every schedule now (`handle.trigger()`), then wait until visibility shows N
 * closed monitorModel runs started after the trigger. Round time = trigger → last close (server
 * close times). Per check: workflow start → close, and from each run's history the breakdown
 * (first workflow task, activity queue wait, checkModel itself, the rest). Worker RSS is sampled
 * from /proc/<pid>/status every 100 ms; VmHWM is its whole-life peak (workflow bundling at start
 * included). CPU seconds of the worker and of the dev server per round come from /proc/<pid>/stat.
 *
 * Peer, in the same run: the same N checkModel calls made directly in a child process on the same
 * backends (openBackends + buildActivities, with a Temporal client for the cooldown's visibility
 * query, as in the worker) at the worker's activity concurrency (100 slots by default, --concurrency),
 * plus the same trigger decision. Temporal rounds and direct rounds alternate. What the direct round does
 * not pay is the orchestration: schedule dispatch, workflow tasks, activity task round trips and
 * history writes to the server's SQLite. That separates "the checks are slow" from "Temporal is
 * slow", which is what decides where to scale; a 50-vs-200 scaling ratio would not. The peer
 * also reports its event-loop delay (perf_hooks.monitorEventLoopDelay): the worker runs the same
 * activity code on the event loop its workflow tasks need, so this is what they wait behind.
 * Diagnosis rounds ("no report"): the same in-process calls with the check's HTML report skipped
 * (see directChild), to split a check's cost between measuring and rendering the report.
 * Failed runs, activity retries, workflow task timeouts/failures, started pipelines and in-process
 * errors are counted per round and make the exit code 1; warnings and errors in the worker's and
 * the server's logs are listed (ids folded) under the table.
 * Results also go to bench/.out/monitor-load-result.json.
 *
 * Layout (bench/monitor-load/): seed.ts (model file, champions, traffic), children.ts (spawning,
 * the dev server child), proc.ts and logs.ts (memory/CPU sampling, log scanning), temporal-round.ts,
 * direct-peer.ts (the in-process peer), outcomes.ts, table.ts, run.ts (the bench itself).
 */
import { fileURLToPath } from 'node:url';
import { devServerChild } from './monitor-load/children.js';
import { args } from './monitor-load/common.js';
import { directChild } from './monitor-load/direct-peer.js';
import { main } from './monitor-load/run.js';

// The bench re-runs this file as its dev server child and its in-process peer.
if (args.includes('--dev-server-child')) await devServerChild();
else if (args.includes('--direct-child')) await directChild();
else await main(fileURLToPath(import.meta.url));
