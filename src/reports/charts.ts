/**
 * Charts as static SVG: Vega-Lite specs compiled and rendered by Vega in Node at write time, so a
 * report needs neither JavaScript nor network to show them.
 *
 * Offline by construction: every spec carries its data inline, the Vega loader refuses every URL
 * or file, and no spec refers to an image or a web font (text is measured by Vega's built-in
 * estimate, since no `canvas` package is installed). User strings (feature and category names)
 * only ever go into data values, never into Vega expressions, and Vega escapes them in the SVG.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { FeatureDrift } from '../drift/index.js';
import { html, raw, type SafeHtml } from './html.js';

/** Baseline (reference data, champion) in grey, the newcomer (current data, challenger) in blue. */
export const BASELINE_COLOR = '#9aa5b1';
export const CURRENT_COLOR = '#1f6fb2';
const THRESHOLD_COLOR = '#d64545';

const CONFIG = {
  // No per-mark ARIA descriptions: they double the SVG size; the <figure> carries a label instead.
  aria: false,
  font: 'Helvetica, Arial, sans-serif',
  background: 'white',
  padding: 6,
  view: { stroke: null },
  axis: {
    labelFontSize: 11, titleFontSize: 11, titleFontWeight: 'normal', labelColor: '#3e4c59', titleColor: '#52606d',
    gridColor: '#eef1f4', domainColor: '#9aa5b1', tickColor: '#9aa5b1',
  },
  legend: { labelFontSize: 11, titleFontSize: 11, orient: 'top', title: null },
  title: { fontSize: 12, fontWeight: 'bold', anchor: 'start', color: '#1f2933' },
} as const;

/**
 * A Vega loader that loads nothing: each attempt is recorded and fails, so a spec that tries to
 * fetch data or an image fails the render instead of reaching out.
 */
function offlineLoader(refused: string[]): vega.Loader {
  const refuse = (what: unknown): Promise<never> => {
    refused.push(String(what));
    return Promise.reject(new Error(`report charts render offline: refused to load ${String(what)}`));
  };
  return Object.assign(vega.loader(), { load: refuse, sanitize: refuse, http: refuse, file: refuse }) as unknown as vega.Loader;
}

const quietLogger = vega.logger(vega.Error);

/** Name of the dataset that carries a spec's top-level inline rows once they are taken out. */
const ROWS = 'rows';
const MAX_CACHED_RUNTIMES = 64;
/**
 * Parsed Vega runtimes by spec shape (the spec minus its top-level rows): the charts of one report
 * mostly share a few shapes (every numerical feature with the same bins), and compiling and
 * parsing is over half the cost of a chart. Least recently used first.
 */
const runtimes = new Map<string, vega.Runtime>();

function runtimeFor(spec: TopLevelSpec): { runtime: vega.Runtime; rows?: object[] } {
  const values = (spec as { data?: { values?: unknown } }).data?.values;
  const rows = Array.isArray(values) ? (values as object[]) : undefined;
  const shape = rows ? ({ ...spec, data: { name: ROWS } } as TopLevelSpec) : spec;
  const key = JSON.stringify(shape);
  let runtime = runtimes.get(key);
  if (runtime) {
    runtimes.delete(key);
  } else {
    runtime = vega.parse(compile({ config: CONFIG, ...shape } as TopLevelSpec, { logger: quietLogger }).spec);
    if (runtimes.size >= MAX_CACHED_RUNTIMES) runtimes.delete(runtimes.keys().next().value as string);
  }
  runtimes.set(key, runtime);
  return { runtime, rows };
}

/** Compiles a Vega-Lite spec and renders it to an SVG string (no XML namespace attributes, for inline HTML). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const { runtime, rows } = runtimeFor(spec);
  const refused: string[] = [];
  const view = new vega.View(runtime, { renderer: 'none', loader: offlineLoader(refused), logger: quietLogger });
  try {
    // Vega tags the tuples it ingests: give it copies.
    if (rows) view.data(ROWS, rows.map((r) => ({ ...r })));
    const svg = await view.toSVG();
    if (refused.length > 0) throw new Error(`report charts render offline: refused to load ${refused.join(', ')}`);
    return compactSvg(svg.replace(/^<svg[^>]*>/, (open) => open.replace(/\s+xmlns(?::xlink)?="[^"]*"/g, '')));
  } finally {
    view.finalize();
  }
}

/**
 * Rounds the coordinates of path data and transforms to 2 decimals (Vega writes full doubles),
 * which roughly halves the size of a chart. Only tags are touched (text content never holds a raw
 * "<"), so labels stay as they are.
 */
function compactSvg(svg: string): string {
  const round = (attr: string) => attr.replace(/-?\d+\.\d{3,}(?:e-?\d+)?/g, (n) => String(Math.round(Number(n) * 100) / 100));
  return svg.replace(/<[^>]+>/g, (tag) => tag.replace(/ (d|transform|points)="([^"]*)"/g, (_, name: string, value: string) => ` ${name}="${round(value)}"`));
}

/** A rendered chart wrapped in a <figure>, ready for the page. */
export async function chart(spec: TopLevelSpec, label: string): Promise<SafeHtml> {
  const svg = await renderSvg(spec);
  return html`<figure class="chart" role="img" aria-label="${label}">${raw(svg)}</figure>`;
}

// ---------------------------------------------------------------------------------------------
// Distributions

/** Edge numbers with just enough significant digits that neighbouring edges read differently. */
function formatEdges(edges: number[]): string[] {
  const fmt = (x: number, p: number) => {
    const a = Math.abs(x);
    if (a !== 0 && (a >= 1e6 || a < 1e-4)) return x.toExponential(Math.max(p - 1, 1));
    return String(Number(x.toPrecision(p)));
  };
  for (let p = 3; p <= 10; p++) {
    const out = edges.map((e) => fmt(e, p));
    if (out.every((s, i) => i === 0 || s !== out[i - 1] || edges[i] === edges[i - 1])) return out;
  }
  return edges.map((e) => String(e));
}

/**
 * Readable labels for PSI bins (null ends = ±Infinity; bins are [low, high), the last one closed):
 * "< 1.2", "1.2 – 3.4", "≥ 3.4". Zero-width bins from tied reference values, which are always
 * empty, get a numbered label so every bin stays its own bar.
 */
export function binLabels(binEdges: Array<number | null>): string[] {
  const n = binEdges.length - 1;
  if (n < 1) return [];
  if (n === 1) return ['all values'];
  const inner = binEdges.slice(1, n).map((e) => e as number);
  const text = formatEdges(inner);
  const labels: string[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0) labels.push(`< ${text[0]}`);
    else if (i === n - 1) labels.push(`≥ ${text[n - 2]}`);
    else labels.push(`${text[i - 1]} – ${text[i]}`);
  }
  const seen = new Map<string, number>();
  return labels.map((l) => {
    const k = (seen.get(l) ?? 0) + 1;
    seen.set(l, k);
    return k === 1 ? l : `${l} (${k})`;
  });
}

/** Most categories drawn in one chart; the rest are summed into one bar. */
export const MAX_CHART_CATEGORIES = 30;

interface DistRow { label: string; order: number; series: string; value: number }

function distributionRows(labels: string[], reference: number[], current: number[] | null, names: [string, string]): DistRow[] {
  const rows: DistRow[] = [];
  labels.forEach((label, i) => {
    rows.push({ label, order: i, series: names[0], value: reference[i] ?? 0 });
    if (current) rows.push({ label, order: i, series: names[1], value: current[i] ?? 0 });
  });
  return rows;
}

/** Keeps the categories with the largest share on either side (in their original order) and sums the rest. */
export function topCategories(categories: string[], reference: number[], current: number[] | null, max = MAX_CHART_CATEGORIES): { labels: string[]; reference: number[]; current: number[] | null } {
  if (categories.length <= max) return { labels: categories, reference, current };
  const weight = (i: number) => Math.max(reference[i] ?? 0, current?.[i] ?? 0);
  const keep = new Set(categories.map((_, i) => i).sort((a, b) => weight(b) - weight(a)).slice(0, max - 1));
  const idx = categories.map((_, i) => i).filter((i) => keep.has(i));
  const rest = categories.map((_, i) => i).filter((i) => !keep.has(i));
  const sum = (arr: number[]) => rest.reduce((s, i) => s + (arr[i] ?? 0), 0);
  return {
    labels: [...idx.map((i) => categories[i]), `(${rest.length} more categories)`],
    reference: [...idx.map((i) => reference[i] ?? 0), sum(reference)],
    current: current ? [...idx.map((i) => current[i] ?? 0), sum(current)] : null,
  };
}

const SERIES_DIST: [string, string] = ['reference', 'current'];

function colorScale(names: [string, string]) {
  return { domain: names, range: [BASELINE_COLOR, CURRENT_COLOR] };
}

/**
 * Reference vs current share per PSI bin (numerical) or per category (categorical), as grouped
 * bars; null when the reference has no distribution to draw.
 */
export function distributionSpec(f: FeatureDrift, names: [string, string] = SERIES_DIST): TopLevelSpec | null {
  if (f.referenceProportions.length === 0) return null;
  const axisPct = { format: '.0%', title: 'share of rows' };
  const color = { field: 'series', type: 'nominal', scale: colorScale(names), sort: names } as const;
  if (f.type === 'numerical') {
    if (f.binEdges.length < 2) return null;
    const labels = binLabels(f.binEdges);
    const rows = distributionRows(labels, f.referenceProportions, f.currentProportions, names);
    return {
      width: Math.max(320, labels.length * 46),
      height: 170,
      data: { values: rows },
      mark: { type: 'bar', tooltip: false },
      encoding: {
        x: { field: 'label', type: 'nominal', sort: { field: 'order', op: 'min' }, title: 'bin of the reference (low ≤ x < high)', axis: { labelAngle: labels.length > 6 ? -35 : 0, labelLimit: 160 } },
        xOffset: { field: 'series', type: 'nominal', sort: names },
        y: { field: 'value', type: 'quantitative', axis: axisPct },
        color,
      },
    } as TopLevelSpec;
  }
  const top = topCategories(f.categories, f.referenceProportions, f.currentProportions);
  const rows = distributionRows(top.labels, top.reference, top.current, names);
  const perRow = top.current ? 20 : 13;
  return {
    width: 380,
    height: Math.max(40, top.labels.length * perRow),
    data: { values: rows },
    mark: { type: 'bar', tooltip: false },
    encoding: {
      y: { field: 'label', type: 'nominal', sort: { field: 'order', op: 'min' }, title: null, axis: { labelLimit: 180 } },
      yOffset: { field: 'series', type: 'nominal', sort: names },
      x: { field: 'value', type: 'quantitative', axis: axisPct },
      color,
    },
  } as TopLevelSpec;
}

// ---------------------------------------------------------------------------------------------
// Over time

export interface TimePoint { at: string; value: number }

export interface TimeSeriesOptions {
  title: string;
  /** d3-format string for the y axis, e.g. '.0%' or '.3f'. */
  format: string;
  threshold?: number;
  /** Fixed y domain, e.g. [0, 1] for shares. */
  domain?: [number, number];
}

/** One line over check time (UTC axis), with an optional dashed threshold rule. */
export function timeSeriesSpec(points: TimePoint[], o: TimeSeriesOptions): TopLevelSpec {
  const values = points.filter((p) => Number.isFinite(p.value) && !Number.isNaN(Date.parse(p.at))).map((p) => ({ at: p.at, value: p.value }));
  const y = {
    field: 'value', type: 'quantitative', title: o.title, axis: { format: o.format },
    scale: o.domain ? { domain: o.domain } : { zero: false },
  };
  const layers: unknown[] = [{
    mark: { type: 'line', point: values.length <= 60 ? { size: 28, filled: true } : false, color: CURRENT_COLOR, strokeWidth: 1.6 },
    encoding: {
      x: { field: 'at', type: 'temporal', title: 'check time (UTC)', scale: { type: 'utc' }, axis: { format: '%b %d %H:%M', labelAngle: 0, labelOverlap: true } },
      y,
    },
  }];
  if (o.threshold !== undefined && Number.isFinite(o.threshold)) {
    layers.push({
      data: { values: [{}] },
      mark: { type: 'rule', color: THRESHOLD_COLOR, strokeDash: [5, 4], strokeWidth: 1.2 },
      encoding: { y: { datum: o.threshold, type: 'quantitative' } },
    });
  }
  return { width: 640, height: 170, data: { values }, layer: layers } as TopLevelSpec;
}

// ---------------------------------------------------------------------------------------------
// Small multiples of grouped bars (holdout metrics, canary steps)

export interface BarPanel {
  title: string;
  /** d3-format string for the panel's axis. */
  format: string;
  /** One bar per group and series; null values are left out. */
  bars: Array<{ group: string; series: string; value: number | null | undefined }>;
}

/**
 * Side-by-side grouped bar charts, one panel per measure, each with its own scale, sharing one
 * colour legend; panels with nothing to draw are dropped. Null when no panel has a bar.
 */
export function smallMultiplesSpec(panels: BarPanel[], names: [string, string], columns = 4): TopLevelSpec | null {
  const specs = panels
    .map((p) => {
      const groups: string[] = [];
      for (const b of p.bars) if (!groups.includes(b.group)) groups.push(b.group);
      const values = p.bars
        .filter((b) => typeof b.value === 'number' && Number.isFinite(b.value))
        .map((b) => ({ group: b.group, order: groups.indexOf(b.group), series: b.series, value: b.value }));
      if (values.length === 0) return null;
      return {
        title: p.title,
        width: Math.max(110, groups.length * 56),
        height: 150,
        data: { values },
        mark: { type: 'bar', tooltip: false },
        encoding: {
          x: { field: 'group', type: 'nominal', sort: { field: 'order', op: 'min' }, title: null, axis: { labelAngle: groups.length > 1 ? -30 : 0, labelLimit: 130 } },
          xOffset: { field: 'series', type: 'nominal', sort: names },
          y: { field: 'value', type: 'quantitative', title: null, axis: { format: p.format } },
          color: { field: 'series', type: 'nominal', scale: colorScale(names), sort: names },
        },
      };
    })
    .filter((s) => s !== null);
  if (specs.length === 0) return null;
  return { columns, concat: specs, resolve: { scale: { y: 'independent' } } } as TopLevelSpec;
}
