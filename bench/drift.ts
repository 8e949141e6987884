/**
 * Drift statistics benchmark: 1,000,000 reference and 1,000,000 current rows,
 * 20 numerical and 5 categorical features (seeded; some drifted, some with
 * missing values), the TypeScript implementation against numpy/scipy (and
 * Evidently's DataDriftPreset when it installs) on the same data.
 *
 *   npx tsx bench/drift.ts            (npm run bench:drift)
 *   options: --rows N  --reps R  --no-peer  --no-evidently  --no-install
 *   env:     DRIFT_BENCH_PYTHON=/path/to/python (with numpy + scipy) skips the venv
 *
 * The Python peers live in <tmpdir>/drift-bench: a venv with the versions pinned
 * in scripts/drift-fixtures/requirements.txt, and Evidently installed with
 * `pip install --target` (plus pandas<3, which Evidently 0.7 needs). They are
 * created on first run unless --no-install; failures are reported, not fatal.
 * All TypeScript work runs on the main thread (one core). Times are medians;
 * numpy/scipy runs in a long-lived peer process and its repetitions alternate
 * with the TypeScript ones, so both sides see the same load on a shared box.
 * Wall and process-CPU times are both printed.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  buildProfile, compareToProfile, countCategories, jensenShannon, jensenShannonFromProportions, ksTest, mulberry32, psi, wasserstein,
  type Columns, type FeatureSpec,
} from '../src/drift/index.js';


const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const flag = (name: string): boolean => args.includes(name);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROWS = opt('--rows', 1_000_000);
const REPS = opt('--reps', 5);
const SUBSET = [0, 1, 2, 3, 4]; // one numerical feature of each distribution family
const NUM = 20;
const CAT = 5;
const CARD = [4, 12, 50, 300, 2000];

// ------------------------------------------------------------------ memory
let heapMax = 0;
function mem(): void {
  const h = process.memoryUsage().heapUsed;
  if (h > heapMax) heapMax = h;
}
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MB`;

// ------------------------------------------------------------------ data
function normal(r: () => number): number {
  return r() + r() + r() + r() - 2; // Irwin-Hall(4): bell-shaped, sd ~0.577
}

function numericalColumn(i: number, seed: number, drift: boolean, missingRate: number): Float64Array {
  const r = mulberry32(seed);
  const x = new Float64Array(ROWS);
  const shift = drift ? 0.35 : 0;
  for (let k = 0; k < ROWS; k++) {
    switch (i % 5) {
      case 0: x[k] = 50 + 10 * (normal(r) + shift); break;
      case 1: x[k] = Math.exp(0.8 * normal(r) + shift); break; // skewed, lognormal-like
      case 2: x[k] = 1000 * r() + (drift ? 150 * r() : 0); break;
      case 3: x[k] = Math.floor(r() * (drift ? 24 : 20)); break; // counts: heavy ties
      default: x[k] = Math.floor((normal(r) + shift) / 0.05) * 0.05; break; // quantised
    }
    if (missingRate > 0 && r() < missingRate) x[k] = NaN;
  }
  return x;
}

function categoricalCodes(j: number, seed: number, drift: boolean): Uint16Array {
  const r = mulberry32(seed);
  const k = CARD[j];
  const w = Array.from({ length: k }, (_, c) => 1 / (c + 1) ** (drift && j === 1 ? 0.6 : 1.1));
  const total = w.reduce((a, b) => a + b, 0);
  const cdf = new Float64Array(k);
  let acc = 0;
  for (let c = 0; c < k; c++) { acc += w[c] / total; cdf[c] = acc; }
  const out = new Uint16Array(ROWS);
  for (let n = 0; n < ROWS; n++) {
    const u = r();
    let lo = 0;
    let hi = k - 1;
    while (lo < hi) { const m = (lo + hi) >> 1; if (cdf[m] > u) hi = m; else lo = m + 1; }
    out[n] = lo;
    if (drift && j === 3 && r() < 0.05) out[n] = k + Math.floor(r() * 20); // 20 categories unseen in reference
    if (j === 2 && r() < 0.01) out[n] = 65535; // missing
  }
  return out;
}

const DRIFTED_NUM = new Set([0, 3, 7, 12, 16]);
const DRIFTED_CAT = new Set([1, 3]);
const numNames = Array.from({ length: NUM }, (_, i) => `num_${String(i).padStart(2, '0')}`);
const catNames = Array.from({ length: CAT }, (_, j) => `cat_${j}`);
const catLabels = CARD.map((k, j) => Array.from({ length: k + 20 }, (_, c) => `${catNames[j]}_v${c}`));

function makeSide(current: boolean): { cols: Columns; num: Float64Array[]; codes: Uint16Array[] } {
  const cols: Columns = {};
  const num: Float64Array[] = [];
  const codes: Uint16Array[] = [];
  for (let i = 0; i < NUM; i++) {
    const missing = i === 1 || i === 6 ? (current ? 0.02 : 0.01) : 0;
    const x = numericalColumn(i, (current ? 2000 : 1000) + i, current && DRIFTED_NUM.has(i), missing);
    num.push(x);
    // two columns as plain arrays with nulls, as they arrive from JSON
    cols[numNames[i]] = i === 6 || i === 9 ? Array.from(x, (v) => (Number.isNaN(v) ? null : v)) : x;
  }
  for (let j = 0; j < CAT; j++) {
    const c = categoricalCodes(j, (current ? 4000 : 3000) + j, current && DRIFTED_CAT.has(j));
    codes.push(c);
    const labels = catLabels[j];
    cols[catNames[j]] = Array.from(c, (v) => (v === 65535 ? null : labels[v]));
  }
  return { cols, num, codes };
}

// ------------------------------------------------------------------ timing
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
/** Wall-clock and process CPU time (the latter is steadier on a shared, loaded machine). */
interface T { wall: number; cpu: number }
function timeMs(fn: () => unknown, reps = REPS): T {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c = process.cpuUsage();
    const s = performance.now();
    fn();
    wall.push(performance.now() - s);
    const d = process.cpuUsage(c);
    cpu.push((d.user + d.system) / 1000);
    mem();
  }
  return { wall: median(wall), cpu: median(cpu) };
}
const meanT = (ts: T[]): T => ({ wall: ts.reduce((a, t) => a + t.wall, 0) / ts.length, cpu: ts.reduce((a, t) => a + t.cpu, 0) / ts.length });

// ------------------------------------------------------------------ python peers
function run(cmd: string, argv: string[], env?: NodeJS.ProcessEnv, timeoutMs = 20 * 60_000): { ok: boolean; out: string; err: string } {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', env: env ?? process.env, timeout: timeoutMs, maxBuffer: 64 * 2 ** 20 });
  return { ok: r.status === 0, out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

const benchDir = join(tmpdir(), 'drift-bench');
function scipyPython(): { py: string | null; note: string } {
  const probe = (py: string): boolean => run(py, ['-c', 'import numpy, scipy'], undefined, 60_000).ok;
  if (process.env.DRIFT_BENCH_PYTHON) {
    const py = process.env.DRIFT_BENCH_PYTHON;
    return probe(py) ? { py, note: `python from DRIFT_BENCH_PYTHON` } : { py: null, note: `${py} cannot import numpy/scipy` };
  }
  const venvPy = join(benchDir, 'venv', 'bin', 'python');
  if (existsSync(venvPy) && probe(venvPy)) return { py: venvPy, note: 'venv ' + dirname(dirname(venvPy)) };
  if (flag('--no-install')) {
    return probe('python3') ? { py: 'python3', note: 'system python3' } : { py: null, note: 'python3 with numpy/scipy not found (--no-install)' };
  }
  mkdirSync(benchDir, { recursive: true });
  console.log(`installing numpy/scipy into ${join(benchDir, 'venv')} (first run only) ...`);
  const mk = run('python3', ['-m', 'venv', join(benchDir, 'venv')]);
  if (!mk.ok) return { py: null, note: `python3 -m venv failed: ${mk.err.trim().split('\n').pop()}` };
  const pip = run(venvPy, ['-m', 'pip', 'install', '-q', '-r', join(root, 'scripts', 'drift-fixtures', 'requirements.txt')]);
  if (!pip.ok || !probe(venvPy)) return { py: null, note: `pip install failed: ${pip.err.trim().split('\n').pop()}` };
  return { py: venvPy, note: 'venv ' + join(benchDir, 'venv') };
}

function evidentlyTarget(py: string): { path: string | null; note: string } {
  const target = join(benchDir, 'evidently-target');
  const env = { ...process.env, PYTHONPATH: target };
  const probe = (): boolean => run(py, ['-c', 'import evidently.presets'], env, 120_000).ok;
  if (existsSync(join(target, 'evidently')) && probe()) return { path: target, note: `pip --target ${target}` };
  if (flag('--no-install')) return { path: null, note: 'Evidently not installed (--no-install)' };
  console.log(`installing evidently into ${target} with pip --target (first run only) ...`);
  const pip = run(py, ['-m', 'pip', 'install', '-q', '--target', target, 'evidently', 'pandas<3']);
  if (!pip.ok) return { path: null, note: `pip install --target evidently failed: ${pip.err.trim().split('\n').pop()}` };
  if (!probe()) return { path: null, note: 'evidently installed but does not import' };
  return { path: target, note: `pip --target ${target}` };
}

function writePeerData(dir: string, ref: ReturnType<typeof makeSide>, cur: ReturnType<typeof makeSide>): void {
  const cat = (arrs: Uint16Array[]): Buffer => Buffer.concat(arrs.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  const num = (arrs: Float64Array[]): Buffer => Buffer.concat(arrs.map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('big-endian host: peer files would be wrong');
  writeFileSync(join(dir, 'ref_num.f64'), num(ref.num));
  writeFileSync(join(dir, 'cur_num.f64'), num(cur.num));
  writeFileSync(join(dir, 'ref_cat.u16'), cat(ref.codes));
  writeFileSync(join(dir, 'cur_cat.u16'), cat(cur.codes));
  writeFileSync(join(dir, 'meta.json'), JSON.stringify({ rows: ROWS, numerical: numNames, categorical: catNames, categories: catLabels }));
}

// ------------------------------------------------------------------ main
/** A long-lived numpy/scipy process answering "<statistic> <index>" with its timing. */
class ScipyServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  versions: Record<string, string> = {};

  constructor(py: string, dir: string) {
    this.child = spawn(py, [join(root, 'bench', 'drift_peer.py'), '--data', dir, '--mode', 'serve'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
  }

  async ready(): Promise<void> {
    const first = await this.lines.next();
    if (first.done) throw new Error('scipy peer exited before it was ready');
    const msg = JSON.parse(first.value);
    if (!msg.ready) throw new Error(msg.unavailable ?? 'scipy peer failed');
    this.versions = msg.versions;
  }

  async time(statistic: string, index: number): Promise<T> {
    this.child.stdin.write(`${statistic} ${index}\n`);
    const r = await this.lines.next();
    if (r.done) throw new Error('scipy peer exited');
    return JSON.parse(r.value) as T;
  }

  close(): void {
    this.child.stdin.end('quit\n');
  }
}

async function main(): Promise<void> {
  console.log(`drift bench: ${ROWS.toLocaleString('en')} reference + ${ROWS.toLocaleString('en')} current rows, ${NUM} numerical + ${CAT} categorical features, ${REPS} reps (median)`);
  const t0 = performance.now();
  const ref = makeSide(false);
  const cur = makeSide(true);
  mem();
  console.log(`load average at start: ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  console.log(`data generated in ${((performance.now() - t0) / 1000).toFixed(1)} s; rss ${mb(process.memoryUsage().rss)}`);

  const spec = {
    features: [...numNames.map((name): FeatureSpec => ({ name, type: 'numerical' })), ...catNames.map((name): FeatureSpec => ({ name, type: 'categorical' }))],
  };
  let profile = buildProfile(ref.cols, spec);
  const profileMs = timeMs(() => { profile = buildProfile(ref.cols, spec); });
  let report = compareToProfile(profile, cur.cols);
  const reportMs = timeMs(() => { report = compareToProfile(profile, cur.cols); });
  const reportKsMs = timeMs(() => compareToProfile(profile, cur.cols, { numericalMethod: 'ks' }), 3);
  const reportWMs = timeMs(() => compareToProfile(profile, cur.cols, { numericalMethod: 'wasserstein' }), 3);

  const jsStrings = (j: number): number => jensenShannon(countCategories(ref.cols[catNames[j]] as string[]).counts, countCategories(cur.cols[catNames[j]] as string[]).counts);
  // Integer-coded categories: the counting is a plain bincount, like numpy's
  // (65535 marks a missing value and is dropped after counting).
  const jsCodes = (j: number): number => {
    const k = CARD[j] + 20;
    const count = (c: Uint16Array): Float64Array => {
      const h = new Float64Array(65536);
      for (let i = 0; i < c.length; i++) h[c[i]]++;
      const total = c.length - h[65535];
      const p = h.subarray(0, k);
      for (let i = 0; i < k; i++) p[i] /= total;
      return p;
    };
    return jensenShannonFromProportions(count(ref.codes[j]), count(cur.codes[j]));
  };
  const col = (side: typeof ref, i: number): Float64Array => side.cols[numNames[i]] as Float64Array;
  const statistics: Array<[string, number[], (i: number) => unknown]> = [
    ['psi', SUBSET, (i) => psi(col(ref, i), col(cur, i))],
    ['ks', SUBSET, (i) => ksTest(col(ref, i), col(cur, i))],
    ['wasserstein', SUBSET, (i) => wasserstein(col(ref, i), col(cur, i))],
    ['js_strings', catNames.map((_, j) => j), jsStrings],
    ['js_codes', catNames.map((_, j) => j), jsCodes],
    ['report_equivalent', [0], () => {
      for (let i = 0; i < NUM; i++) psi(col(ref, i), col(cur, i));
      for (let j = 0; j < CAT; j++) jsStrings(j);
    }],
  ];

  // ---- peers: numpy/scipy is timed interleaved with TypeScript (one TS run,
  // one scipy run, repeated), so both sides see the same machine load.
  const ts: Record<string, T> = {};
  let scipy: { ms?: Record<string, number>; cpu?: Record<string, number>; versions?: Record<string, string>; unavailable?: string } = {};
  let evid: { ms?: Record<string, number>; cpu?: Record<string, number>; versions?: Record<string, string>; unavailable?: string; drifted?: unknown } = {};
  let peerNote = 'skipped (--no-peer)';
  let evNote = 'skipped';
  const { py, note } = flag('--no-peer') ? { py: null, note: peerNote } : scipyPython();
  peerNote = note;
  const dir = mkdtempSync(join(tmpdir(), 'drift-bench-data-'));
  try {
    let server: ScipyServer | null = null;
    if (py) {
      writePeerData(dir, ref, cur);
      try {
        server = new ScipyServer(py, dir);
        await server.ready();
        scipy = { ms: {}, cpu: {}, versions: server.versions };
      } catch (e) {
        scipy = { unavailable: String(e) };
        server = null;
      }
    } else {
      scipy = { unavailable: note };
    }
    console.log(server ? 'timing TypeScript and numpy/scipy, interleaved ...' : 'timing TypeScript ...');
    for (const [name, indices, fn] of statistics) {
      const mine: T[] = [];
      const theirs: T[] = [];
      for (const idx of indices) {
        const a: T[] = [];
        const b: T[] = [];
        for (let r = 0; r < REPS; r++) {
          a.push(timeMs(() => fn(idx), 1));
          if (server) b.push(await server.time(name, idx));
        }
        mine.push({ wall: median(a.map((x) => x.wall)), cpu: median(a.map((x) => x.cpu)) });
        if (server) theirs.push({ wall: median(b.map((x) => x.wall)), cpu: median(b.map((x) => x.cpu)) });
      }
      ts[name] = meanT(mine);
      if (server && scipy.ms && scipy.cpu) {
        const m = meanT(theirs);
        scipy.ms[name] = m.wall;
        scipy.cpu[name] = m.cpu;
      }
    }
    server?.close();
    if (py && !scipy.unavailable) {
      if (flag('--no-evidently')) {
        evNote = 'skipped (--no-evidently)';
      } else {
        const ev = evidentlyTarget(py);
        evNote = ev.note;
        if (ev.path) {
          console.log('running Evidently DataDriftPreset peer (one run, slow) ...');
          const e = run(py, [join(root, 'bench', 'drift_peer.py'), '--data', dir, '--mode', 'evidently'], { ...process.env, PYTHONPATH: ev.path });
          evid = e.ok ? JSON.parse(e.out.trim().split('\n').pop() as string) : { unavailable: e.err.trim().split('\n').slice(-3).join(' ') };
        }
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const peakRss = process.resourceUsage().maxRSS * 1024;

  // ---- output
  const f = (v: number | undefined): string => (v === undefined ? 'n/a' : v.toFixed(1));
  const ratio = (a: number, b: number | undefined): string => (b === undefined ? 'n/a' : `${(a / b).toFixed(2)}x`);
  console.log('');
  console.log(`TypeScript (node ${process.version}, single thread; 1-min load average ${loadavg()[0].toFixed(2)} on a ${availableParallelism()}-core machine)`);
  console.log(`  buildProfile, 25 features:                       ${f(profileMs.wall)} ms wall, ${f(profileMs.cpu)} ms cpu`);
  console.log(`  compareToProfile, default thresholds (PSI + JS): ${f(reportMs.wall)} ms wall, ${f(reportMs.cpu)} ms cpu   (${report.driftedFeatures}/${report.evaluatedFeatures} drifted: ${report.driftedFeatureNames.join(', ')})`);
  console.log(`  compareToProfile, numericalMethod 'ks':          ${f(reportKsMs.wall)} ms wall, ${f(reportKsMs.cpu)} ms cpu`);
  console.log(`  compareToProfile, numericalMethod 'wasserstein': ${f(reportWMs.wall)} ms wall, ${f(reportWMs.cpu)} ms cpu`);
  console.log(`  peak RSS ${mb(peakRss)} (includes ~${mb(2 * ROWS * (NUM * 8 + CAT * 10))} of generated input), max sampled heapUsed ${mb(heapMax)}`);
  console.log('');
  console.log(`peer: ${scipy.unavailable ? `numpy/scipy peer unavailable: ${scipy.unavailable}` : `numpy ${scipy.versions?.numpy}, scipy ${scipy.versions?.scipy} (${peerNote})`}`);
  const rows: Array<[string, T, number | undefined, number | undefined]> = [
    ['PSI, 10 quantile bins (per feature)', ts.psi, scipy.ms?.psi, scipy.cpu?.psi],
    ['KS 2-sample, ks_2samp (per feature)', ts.ks, scipy.ms?.ks, scipy.cpu?.ks],
    ['Wasserstein-1 (per feature)', ts.wasserstein, scipy.ms?.wasserstein, scipy.cpu?.wasserstein],
    ['Jensen-Shannon, count strings (per feature)', ts.js_strings, scipy.ms?.js_strings, scipy.cpu?.js_strings],
    ['Jensen-Shannon, count int codes (per feature)', ts.js_codes, scipy.ms?.js_codes, scipy.cpu?.js_codes],
    ['20 PSI + 5 JS from raw data (no profile)', ts.report_equivalent, scipy.ms?.report_equivalent, scipy.cpu?.report_equivalent],
  ];
  if (evid.ms?.data_drift_preset !== undefined) {
    rows.push(['full 25-feature report vs Evidently DataDriftPreset', reportMs, evid.ms.data_drift_preset, evid.cpu?.data_drift_preset]);
  }
  const title = `statistic (${ROWS >= 1e6 ? `${ROWS / 1e6}M` : ROWS.toLocaleString('en')} reference vs current rows)`;
  console.log('');
  console.log(`| ${title.padEnd(51)} | TS ms | scipy ms | ratio | TS cpu ms | scipy cpu ms | cpu ratio |`);
  console.log(`|${'-'.repeat(53)}|------:|---------:|------:|----------:|-------------:|----------:|`);
  for (const [name, a, b, bc] of rows) {
    console.log(`| ${name.padEnd(51)} | ${f(a.wall).padStart(5)} | ${f(b).padStart(8)} | ${ratio(a.wall, b).padStart(5)} | ${f(a.cpu).padStart(9)} | ${f(bc).padStart(12)} | ${ratio(a.cpu, bc).padStart(9)} |`);
  }
  if (evid.ms?.data_drift_preset !== undefined) {
    console.log(`  Evidently ${evid.versions?.evidently} (pandas ${evid.versions?.pandas}): DataDriftPreset with its default per-column tests, one run; the TS row is compareToProfile with a prebuilt profile.`);
  } else {
    console.log(`Evidently peer unavailable: ${evid.unavailable ?? evNote}`);
  }
  console.log(`  ratio = TS / scipy (below 1: TypeScript faster). Per-feature rows: mean over ${SUBSET.map((i) => numNames[i]).join(', ')} (numerical) or all 5 categorical features of the median of ${REPS} reps; TS and scipy runs alternate so both see the same load.`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
