/**
 * `npm test`: starts the Temporal servers once for the whole run, bundles the workflow code once,
 * then runs the test files on Node's test runner: pure tests in parallel, Temporal tests one file
 * at a time per server, as each file's `// @server` marker says. Ends with "N passed, N failed".
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from 'node:test';
import { spec as SpecReporter } from 'node:test/reporters';
import { startDevServer, startTimeSkippingServer } from '../src/runtime/dev-server.js';
import { ensureSearchAttributes } from '../src/runtime/search-attributes.js';
import { resolveTemporalTool } from '../src/runtime/temporal-binaries.js';
import { bundleWorkflows } from '../src/worker.js';
import { ensureBuilt } from './build.js';
import { planTests, testFiles } from './test-markers.js';

/**
 * Each test file declares the Temporal server it needs in a `// @server ...` comment among its first
 * lines (scripts/test-markers.ts): time-skipping files run one at a time (they share that server's
 * clock), dev-server files one at a time (their real processes are CPU-hungry), the two streams side
 * by side, the `dev concurrent` files after the time-skipping ones in theirs; files without a marker
 * are pure and run two at a time first. `--list` prints the plan.
 */
const args = process.argv.slice(2);
const listOnly = args.includes('--list');
const filter = args.filter((a) => a !== '--list');
const all = testFiles('test').filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
const { timeSkipping, devServer, devConcurrent, pure, needsServers } = planTests(all);
if (listOnly) {
  for (const [name, files] of Object.entries({ 'time-skipping, then dev concurrent': [...timeSkipping, ...devConcurrent], dev: devServer, pure })) console.log(`## ${name}\n${files.join('\n')}`);
  process.exit(0);
}

const scratch = mkdtempSync(path.join(tmpdir(), 'retrain-test-'));
const stops: Array<() => Promise<void>> = [];

async function startServers(): Promise<void> {
  const cli = resolveTemporalTool('cli');
  const testServer = resolveTemporalTool('test-server');
  console.log(`# ${cli.description}\n# ${testServer.description}`);
  const [dev, timeSkipping, bundle] = await Promise.all([
    startDevServer({ dataDir: scratch, port: 0, persistent: false, tool: cli }),
    startTimeSkippingServer(testServer),
    bundleWorkflows(),
  ]);
  stops.push(() => dev.stop(), () => timeSkipping.teardown());
  await ensureSearchAttributes(timeSkipping.connection, 'default');
  const bundlePath = path.join(scratch, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  // A key exported in the shell would encrypt every payload the tests' plain clients must read.
  for (const name of ['RETRAIN_PAYLOAD_KEY', 'RETRAIN_PAYLOAD_KEY_ID', 'RETRAIN_PAYLOAD_OLD_KEYS', 'RETRAIN_CODEC_TOKEN']) delete process.env[name];
  process.env.RETRAIN_TEST_DEV_ADDRESS = dev.address;
  process.env.RETRAIN_TEST_TIME_SKIPPING_ADDRESS = timeSkipping.address;
  process.env.RETRAIN_TEST_WORKFLOW_BUNDLE = bundlePath;
  process.env.RETRAIN_TEST_TEMPORAL_CLI = cli.executable.type === 'existing-path' ? cli.executable.path : '';
}

/** Every test file and test helper the planned files import, directly or not (relative imports under test/). */
function reachable(files: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = files.map((f) => path.resolve(f));
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)) {
      const target = path.resolve(path.dirname(file), m[1].replace(/\.js$/, '.ts'));
      if (target.startsWith(path.resolve('test') + path.sep)) stack.push(target);
    }
  }
  return seen;
}

/**
 * The outside servers the planned files use, started once for the whole run (as the Temporal ones
 * are) instead of once per test file: PostgreSQL (each caller still gets a database of its own) and
 * MLflow (each registry a model prefix of its own). The helpers use them through
 * RETRAIN_TEST_POSTGRES_URL / RETRAIN_TEST_MLFLOW_URI; run alone, a file starts its own.
 */
async function startSharedServers(files: string[]): Promise<void> {
  const reached = reachable(files);
  const uses = (helper: string) => reached.has(path.resolve('test', 'helpers', helper));
  const starts: Array<Promise<void>> = [];
  if (uses('postgres.ts') && !process.env.RETRAIN_TEST_POSTGRES_URL) {
    starts.push(
      (async () => {
        const { startPostgres, stopPostgres } = await import('../test/helpers/postgres.js');
        process.env.RETRAIN_TEST_POSTGRES_URL = await startPostgres();
        stops.push(() => stopPostgres());
      })(),
    );
  }
  if (uses('mlflow.ts') && !process.env.RETRAIN_TEST_MLFLOW_URI) {
    starts.push(
      (async () => {
        const { startMlflow, stopMlflow } = await import('../test/helpers/mlflow.js');
        process.env.RETRAIN_TEST_MLFLOW_URI = await startMlflow();
        stops.push(() => stopMlflow());
      })(),
    );
  }
  await Promise.all(starts);
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  /** Seconds of top-level tests per file, for the slowest-files line at the end. */
  fileSeconds: Map<string, number>;
}

async function runFiles(files: string[], concurrency: number, counts: Counts): Promise<void> {
  if (files.length === 0) return;
  // Child test processes load TypeScript through tsx.
  if (!process.env.NODE_OPTIONS?.includes('--import tsx')) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import tsx`.trim();
  const stream = run({ files, concurrency, timeout: 8 * 60_000 });
  const timeFile = (data: { nesting: number; file?: string; details?: { duration_ms?: number } }) => {
    if (data.nesting === 0 && data.file) counts.fileSeconds.set(data.file, (counts.fileSeconds.get(data.file) ?? 0) + (data.details?.duration_ms ?? 0) / 1000);
  };
  stream.on('test:pass', (data) => {
    timeFile(data);
    if (data.details?.type === 'suite') return;
    if (data.skip || data.todo) counts.skipped++;
    else counts.passed++;
  });
  stream.on('test:fail', (data) => {
    timeFile(data);
    if (data.details?.type !== 'suite') counts.failed++;
  });
  const done = new Promise<void>((resolve) => stream.on('end', resolve));
  stream.compose(new SpecReporter()).pipe(process.stdout, { end: false });
  await done;
}

const counts: Counts = { passed: 0, failed: 0, skipped: 0, fileSeconds: new Map() };
/**
 * Pure files three at a time: most of their time is spent waiting on real servers and child
 * processes (PostgreSQL, S3, MLflow, Ray, the CLI), so a third keeps the two cores busy.
 */
const PURE_CONCURRENCY = 3;
/** Runs one phase and says how long it took, so a slow phase is visible in every run's output. */
const phases: string[] = [];
async function phase(name: string, files: string[], work: () => Promise<void>): Promise<void> {
  const at = Date.now();
  await work();
  if (files.length > 0) phases.push(`${name} ${((Date.now() - at) / 1000).toFixed(0)} s (${files.length} files)`);
}
const started = Date.now();
try {
  // The tests spawn bin/retrain.js, which runs dist/ only while it matches src (else tsx: seconds a start).
  // A source that does not compile fails its own tests; the others still run, through tsx.
  const built = await ensureBuilt().catch((err: Error) => console.log(`# dist/ not built, the CLI runs its sources through tsx: ${err.message.split('\n')[0]}`));
  if (typeof built === 'number') console.log(`# built dist/ from src/ in ${(built / 1000).toFixed(1)} s`);
  await Promise.all([needsServers ? startServers() : undefined, startSharedServers(all)]);
  await phase('pure', pure, () => runFiles(pure, PURE_CONCURRENCY, counts));
  // Two streams side by side: time-skipping files then the self-contained dev-server files, and the
  // dev-server files that must not share the server's CPU with another of their kind.
  await Promise.all([
    phase('time-skipping + dev concurrent', [...timeSkipping, ...devConcurrent], () => runFiles(timeSkipping, 1, counts).then(() => runFiles(devConcurrent, 1, counts))),
    phase('dev', devServer, () => runFiles(devServer, 1, counts)),
  ]);
} finally {
  await Promise.allSettled(stops.map((stop) => stop()));
  rmSync(scratch, { recursive: true, force: true });
}
const slowest = [...counts.fileSeconds].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([file, sec]) => `${path.relative(process.cwd(), file)} ${sec.toFixed(0)} s`);
if (phases.length > 0) console.log(`\n# phases: ${phases.join('; ')}\n# slowest files: ${slowest.join(', ')}`);
console.log(`\n# ${((Date.now() - started) / 1000).toFixed(1)} s, ${all.length} files`);
console.log(`${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}`);
process.exitCode = counts.failed > 0 || counts.passed === 0 ? 1 : 0;
