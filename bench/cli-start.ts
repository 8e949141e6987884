/**
 * CLI start-up benchmark: wall time of `retrain --help`, `retrain models list` and `retrain
 * validate` (local commands) and `retrain doctor --no-install`, each run by bin/retrain.js from the
 * compiled dist/ and from the TypeScript sources through tsx (RETRAIN_FROM_SOURCE=1), beside a
 * plain `node -e 0` start measured in the same rounds (so a busy machine shows as a slow baseline,
 * not as a slow CLI). The CPU time of each process (user + system, all its threads) is printed too:
 * on a shared machine it moves much less than the wall time.
 *
 *   npx tsx bench/cli-start.ts [--runs N]          (npm run bench:cli; N defaults to 9, at least 7)
 *
 * dist/ is rebuilt first if the sources changed. Rounds interleave the variants; each variant gets
 * one unmeasured warm-up run (file cache, tsx's compile cache). The registry and data directory are
 * a fresh temp dir. doctor asks a Temporal dev server started for the run (the CLI from .tools or
 * PATH, as `npm test` finds it); without one it waits out its 4 s connect deadline, which the
 * figures then include. Other commands are told a port where nothing listens.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { startDevServer, type RunningDevServer } from '../src/runtime/dev-server.js';
import { resolveTemporalTool } from '../src/runtime/temporal-binaries.js';
import { ensureBuilt, isFresh, ROOT } from '../scripts/build.js';

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const RUNS = Math.max(7, (runsAt >= 0 && Number(args[runsAt + 1])) || 9);

const built = await ensureBuilt();
if (built !== undefined) console.log(`# rebuilt dist/ first (${Math.round(built)} ms)`);

const dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-bench-cli-'));
const BIN = path.join(ROOT, 'bin', 'retrain.js');
// Preloaded into every measured process: its CPU time, written to fd 3 as it exits.
const CPU_HOOK = path.join(dataDir, 'cpu.cjs');
writeFileSync(CPU_HOOK, "process.on('exit', () => { const u = process.cpuUsage(); require('node:fs').writeSync(3, String((u.user + u.system) / 1000)); });\n");
const env = {
  ...process.env,
  NODE_OPTIONS: '', // tsx runs this script; its loader must not leak into the measured processes
  RETRAIN_DATA_DIR: dataDir,
  RETRAIN_LOG_PRETTY: '0',
  TEMPORAL_ADDRESS: '127.0.0.1:1',
};

let server: RunningDevServer | undefined;
try {
  server = await startDevServer({ dataDir, port: 0, persistent: false, tool: resolveTemporalTool('cli', { install: false }) });
} catch (err) {
  console.log(`# no Temporal dev server (${(err as Error).message.split('\n')[0]}): doctor waits out its connect deadline`);
}

const COMMANDS: Array<{ name: string; args: string[]; exit: number[]; env?: Record<string, string> }> = [
  { name: 'retrain --help', args: ['--help'], exit: [0] },
  { name: 'retrain models list', args: ['models', 'list'], exit: [0] },
  { name: 'retrain validate', args: ['validate'], exit: [0] },
  // Exit 5 when the Temporal binaries are not installed (or the server does not answer).
  { name: `retrain doctor --no-install${server ? '' : ' (no server)'}`, args: ['doctor', '--no-install'], exit: [0, 5], env: server ? { TEMPORAL_ADDRESS: server.address } : {} },
];
const VARIANTS = [
  { name: 'node -e 0', run: () => ['-e', '0'], env: {} },
  { name: 'dist', run: (a: string[]) => [BIN, ...a], env: {} },
  { name: 'tsx', run: (a: string[]) => [BIN, ...a], env: { RETRAIN_FROM_SOURCE: '1' } },
] as const;

let rebuilds = 0;

/** One run; the dist variant counts only if dist matched src before and after it (others may be editing src). */
interface Sample {
  wall: number;
  cpu: number;
}

async function timeOnce(variant: (typeof VARIANTS)[number], command: (typeof COMMANDS)[number], expected: number[]): Promise<Sample> {
  for (;;) {
    if (variant.name === 'dist' && (await ensureBuilt()) !== undefined) rebuilds++;
    const sample = runOnce(variant.run(command.args), { ...command.env, ...variant.env }, expected);
    if (variant.name !== 'dist' || isFresh()) return sample;
  }
}

function runOnce(argv: string[], extraEnv: Record<string, string>, expected: number[]): Sample {
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--require', CPU_HOOK, ...argv], { cwd: ROOT, env: { ...env, ...extraEnv }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const wall = performance.now() - started;
  if (!expected.includes(result.status ?? -1)) {
    throw new Error(`node ${argv.join(' ')} exited ${result.status}:\n${result.stderr || result.stdout}`);
  }
  return { wall, cpu: Number(result.output[3]) };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

console.log(`# node ${process.version}, ${availableParallelism()} CPUs, load average ${loadavg()[0].toFixed(2)}; median of ${RUNS} runs, ms (wall / CPU)`);
const rows: string[][] = [];
try {
  for (const command of COMMANDS) {
    const samples = VARIANTS.map(() => [] as Sample[]);
    const expected = (i: number) => (i === 0 ? [0] : command.exit);
    for (const [i, v] of VARIANTS.entries()) await timeOnce(v, command, expected(i)); // warm-up
    for (let r = 0; r < RUNS; r++) {
      for (const [i, v] of VARIANTS.entries()) samples[i].push(await timeOnce(v, command, expected(i)));
    }
    const [base, dist, tsx] = samples.map((s) => ({ wall: median(s.map((x) => x.wall)), cpu: median(s.map((x) => x.cpu)) }));
    const cell = (x: Sample) => `${x.wall.toFixed(0)} / ${x.cpu.toFixed(0)}`;
    rows.push([command.name, cell(base), cell(dist), cell(tsx), (dist.wall - base.wall).toFixed(0), (tsx.wall / dist.wall).toFixed(1)]);
  }
} finally {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
}

const header = ['command', 'node -e 0', 'dist', 'tsx', 'dist - node, wall', 'tsx / dist, wall'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(line(header));
for (const row of rows) console.log(line(row));
console.log(`# load average now ${loadavg()[0].toFixed(2)}${rebuilds ? `; dist/ rebuilt ${rebuilds} time(s) during the run (src changed)` : ''}`);
