/**
 * `npm test`: starts the Temporal servers once for the whole run, bundles the workflow code once,
 * then runs the test files on Node's test runner: pure tests in parallel, Temporal tests one file
 * at a time (they share the time-skipping server's clock). Ends with "N passed, N failed".
 */
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { run } from 'node:test';
import { spec as SpecReporter } from 'node:test/reporters';
import { startDevServer, startTimeSkippingServer } from '../src/runtime/dev-server.js';
import { ensureSearchAttributes } from '../src/runtime/search-attributes.js';
import { resolveTemporalTool } from '../src/runtime/temporal-binaries.js';
import { bundleWorkflows } from '../src/worker.js';
import { ensureBuilt } from './build.js';

/**
 * Tests that talk to a Temporal server run one file at a time per server: the time-skipping tests
 * share that server's clock, the dev-server tests its CPU-hungry real processes. The two streams
 * run side by side.
 */
const TIME_SKIPPING_DIRS = ['test/workflows'];
const DEV_SERVER_DIRS = ['test/integration', 'test/e2e', 'test/reliability', 'test/security/encryption'];

function testFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const full = path.join(dir, entry);
    if (statSync(full).isDirectory()) out.push(...testFiles(full));
    else if (entry.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

const filter = process.argv.slice(2);
const all = testFiles('test').filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)));
const under = (dirs: string[]) => (f: string) => dirs.some((d) => f.startsWith(d));
const timeSkipping = all.filter(under(TIME_SKIPPING_DIRS));
const devServer = all.filter(under(DEV_SERVER_DIRS));
const temporal = [...timeSkipping, ...devServer];
const pure = all.filter((f) => !temporal.includes(f));

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

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

async function runFiles(files: string[], concurrency: number, counts: Counts): Promise<void> {
  if (files.length === 0) return;
  // Child test processes load TypeScript through tsx.
  if (!process.env.NODE_OPTIONS?.includes('--import tsx')) process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --import tsx`.trim();
  const stream = run({ files, concurrency, timeout: 8 * 60_000 });
  stream.on('test:pass', (data) => {
    if (data.details?.type === 'suite') return;
    if (data.skip || data.todo) counts.skipped++;
    else counts.passed++;
  });
  stream.on('test:fail', (data) => {
    if (data.details?.type !== 'suite') counts.failed++;
  });
  const done = new Promise<void>((resolve) => stream.on('end', resolve));
  stream.compose(new SpecReporter()).pipe(process.stdout, { end: false });
  await done;
}

const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
const started = Date.now();
try {
  // The tests spawn bin/retrain.js, which runs dist/ only while it matches src (else tsx: seconds a start).
  // A source that does not compile fails its own tests; the others still run, through tsx.
  const built = await ensureBuilt().catch((err: Error) => console.log(`# dist/ not built, the CLI runs its sources through tsx: ${err.message.split('\n')[0]}`));
  if (typeof built === 'number') console.log(`# built dist/ from src/ in ${(built / 1000).toFixed(1)} s`);
  if (temporal.length > 0) await startServers();
  await runFiles(pure, 2, counts);
  await Promise.all([runFiles(timeSkipping, 1, counts), runFiles(devServer, 1, counts)]);
} finally {
  await Promise.allSettled(stops.map((stop) => stop()));
  rmSync(scratch, { recursive: true, force: true });
}
console.log(`\n# ${((Date.now() - started) / 1000).toFixed(1)} s, ${all.length} files`);
console.log(`${counts.passed} passed, ${counts.failed} failed${counts.skipped ? `, ${counts.skipped} skipped` : ''}`);
process.exitCode = counts.failed > 0 || counts.passed === 0 ? 1 : 0;
